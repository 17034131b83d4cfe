package controller

import (
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/types"
	clocktesting "k8s.io/utils/clock/testing"
)

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
