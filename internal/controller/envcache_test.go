package controller

import (
	"errors"
	"testing"

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
