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

func TestAPITokenAudienceFlag(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
		ok   bool
	}{
		{nil, api.DefaultTokenAudience, true},
		{[]string{"--api-token-audience=videos.example/orgrbac"}, "videos.example/orgrbac", true},
		{[]string{"--api-token-audience="}, "", true}, // no audience: the weaker setting
		{[]string{"--api-token-audience=orgrbac dev"}, "", false},
		{[]string{"--api-token-audience=orgrbac\n"}, "", false},
	} {
		o, err := parseFlags(tc.args)
		if (err == nil) != tc.ok || (err == nil && o.apiTokenAudience != tc.want) {
			t.Errorf("%q: %+v, %v; want %q (valid: %v)", tc.args, o, err, tc.want, tc.ok)
		}
	}
}
