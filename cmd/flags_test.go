package main

import (
	"testing"

	"github.com/orgrbac/orgrbac/internal/api"
)

func TestAPIMaxRequestsInFlightFlag(t *testing.T) {
	o, err := parseFlags(nil)
	if err != nil || o.apiMaxInFlight != api.DefaultMaxRequestsInFlight {
		t.Fatalf("default: %+v, %v; want %d", o, err, api.DefaultMaxRequestsInFlight)
	}
	for arg, want := range map[string]int{"32": 32, "-1": -1} {
		if o, err := parseFlags([]string{"--api-max-requests-inflight=" + arg}); err != nil || o.apiMaxInFlight != want {
			t.Errorf("--api-max-requests-inflight=%s: %v, %v", arg, o, err)
		}
	}
	if _, err := parseFlags([]string{"--api-max-requests-inflight=0"}); err == nil {
		t.Error("--api-max-requests-inflight=0 was accepted")
	}
}
