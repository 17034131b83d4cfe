package controller

import (
	"errors"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/types"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/orgrbac/orgrbac/internal/resolve"
)

func TestEnvCache(t *testing.T) {
	c := newEnvCache()
	builds := 0
	build := func() (*resolve.Env, error) {
		builds++
		return resolve.Compile(resolve.Input{}), nil
	}
	first, err := c.get("a", build)
	if err != nil || first == nil {
		t.Fatalf("get: %v, %v", first, err)
	}
	if again, _ := c.get("a", build); again != first || builds != 1 {
		t.Errorf("a second get compiled again (builds=%d)", builds)
	}
	if other, _ := c.get("b", build); other == first || builds != 2 {
		t.Errorf("namespaces share a compilation (builds=%d)", builds)
	}
	c.invalidate("a")
	if fresh, _ := c.get("a", build); fresh == first || builds != 3 {
		t.Errorf("an invalidated namespace was not compiled again (builds=%d)", builds)
	}

	// A change during a build leaves that build stale.
	racing := func() (*resolve.Env, error) {
		c.invalidate("a")
		return build()
	}
	c.invalidate("a")
	raced, _ := c.get("a", racing)
	if next, _ := c.get("a", build); next == raced {
		t.Error("a compilation that raced with a change was reused")
	}

	// Errors are not cached.
	failed := errors.New("cache not synced")
	if _, err := c.get("c", func() (*resolve.Env, error) { return nil, failed }); !errors.Is(err, failed) {
		t.Errorf("get = %v, want %v", err, failed)
	}
	if env, err := c.get("c", build); err != nil || env == nil {
		t.Errorf("after an error: %v, %v", env, err)
	}
}

func TestThrottleHoldOff(t *testing.T) {
	clk := clocktesting.NewFakePassiveClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	th := newThrottle(clk)
	key := types.NamespacedName{Namespace: "a", Name: "b"}
	if d := th.wait(key); d != 0 {
		t.Fatalf("first wait = %v, want 0", d)
	}
	th.holdOff(key, 10*time.Second)
	clk.SetTime(clk.Now().Add(3 * time.Second))
	if d := th.wait(key); d != 7*time.Second {
		t.Errorf("wait during a hold = %v, want 7s", d)
	}
	clk.SetTime(clk.Now().Add(7 * time.Second))
	if d := th.wait(key); d != 0 {
		t.Errorf("wait after the hold = %v, want 0", d)
	}
	if d := th.wait(key); d != countInterval {
		t.Errorf("then the interval applies again: %v, want %v", d, countInterval)
	}
}
