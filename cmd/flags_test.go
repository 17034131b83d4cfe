package main

import (
	"slices"
	"strings"
	"testing"
	"time"

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

func TestCacheSyncTimeoutFlag(t *testing.T) {
	o, err := parseFlags(nil)
	if err != nil || o.cacheSyncTimeout != defaultCacheSyncTimeout {
		t.Fatalf("default: %+v, %v; want %s", o, err, defaultCacheSyncTimeout)
	}
	if o, err := parseFlags([]string{"--cache-sync-timeout=30m"}); err != nil || o.cacheSyncTimeout != 30*time.Minute {
		t.Errorf("--cache-sync-timeout=30m: %v, %v", o, err)
	}
	for _, bad := range []string{"0s", "-1m"} {
		if _, err := parseFlags([]string{"--cache-sync-timeout=" + bad}); err == nil {
			t.Errorf("--cache-sync-timeout=%s was accepted", bad)
		}
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

// API-only mode (--enable-controllers=false --enable-webhooks=false) runs the
// decision API alone; what it does not do is refused with a clear error rather
// than ignored.
func TestAPIOnlyFlags(t *testing.T) {
	apiOnly := []string{"--enable-controllers=false", "--enable-webhooks=false"}
	with := func(args ...string) []string { return append(append([]string{}, apiOnly...), args...) }
	for _, tc := range []struct {
		name    string
		args    []string
		wantErr string // empty: valid
	}{
		{name: "default: the manager", args: nil},
		{name: "API only", args: apiOnly},
		{name: "API only with a mounted certificate and metrics certificate",
			args: with("--api-cert-dir=/certs", "--metrics-cert-dir=/certs", "--api-token-audience=videos.example/orgrbac")},
		{name: "controllers off, webhooks on", args: []string{"--enable-controllers=false"}, wantErr: "--enable-webhooks=false"},
		{name: "API only without the API", args: with("--api-bind-address=0"), wantErr: "--api-bind-address=0"},
		{name: "API only with leader election", args: with("--leader-elect"), wantErr: "--leader-elect"},
		{name: "API only with --api-service", args: with("--api-service=orgrbac-api"), wantErr: "--api-cert-dir"},
		{name: "API only with --api-service and a certificate folder",
			args: with("--api-service=orgrbac-api", "--api-cert-dir=/certs"), wantErr: "--api-service"},
		{name: "API only publishing the CA", args: with("--api-cert-dir=/certs", "--api-ca-configmap=orgrbac-api-ca"),
			wantErr: "--api-ca-configmap"},
		{name: "API only with --metrics-service", args: with("--metrics-service=orgrbac-metrics"), wantErr: "--metrics-cert-dir"},
		{name: "API only rotating the webhook certificate", args: with("--webhook-cert-secret=orgrbac-system/cert"),
			wantErr: "--webhook-cert-secret"},
		{name: "API only with --remove-finalizers", args: with("--remove-finalizers"), wantErr: "--remove-finalizers"},
		// The other side: the manager when the API runs elsewhere.
		{name: "manager without the API, rotating the certificate for the API's Service",
			args: []string{"--api-bind-address=0", "--webhook-cert-secret=orgrbac-system/cert", "--api-service=orgrbac-api",
				"--api-ca-configmap=orgrbac-api-ca"}},
		{name: "manager without the API, --api-service without rotation",
			args: []string{"--api-bind-address=0", "--api-service=orgrbac-api"}, wantErr: "--webhook-cert-secret"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, err := parseFlags(tc.args)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("%q: %v", tc.args, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%q: %+v, error %v; want an error naming %s", tc.args, o, err, tc.wantErr)
			}
		})
	}

	o, err := parseFlags(apiOnly)
	if err != nil || !o.apiOnly() || !o.servesAPI() || o.leaderElect {
		t.Errorf("API only: %+v, %v", o, err)
	}
	t.Setenv("ENABLE_CONTROLLERS", "false")
	t.Setenv("ENABLE_WEBHOOKS", "false")
	if o, err := parseFlags(nil); err != nil || !o.apiOnly() {
		t.Errorf("ENABLE_CONTROLLERS=false ENABLE_WEBHOOKS=false: %+v, %v; want API-only mode", o, err)
	}
}

// With --api-bind-address=0 the manager does not serve the API, yet its rotated
// certificate stays valid for the API's Service (which the API Deployment serves
// from the mounted Secret) and the leader publishes that certificate's CA.
func TestAPICertificateWhenServedElsewhere(t *testing.T) {
	o, err := parseFlags([]string{"--api-bind-address=0", "--webhook-cert-secret=orgrbac-system/cert",
		"--webhook-cert-dir=/certs", "--api-service=orgrbac-api", "--api-ca-configmap=orgrbac-api-ca"})
	if err != nil {
		t.Fatal(err)
	}
	if o.servesAPI() {
		t.Error("--api-bind-address=0: the manager serves the decision API")
	}
	dir, ready, caFile := o.apiCertificate()
	if dir != "/certs" || ready == nil || caFile != "/certs/ca.crt" {
		t.Errorf("certificate %q (ready channel %v), CA file %q; want the rotated /certs and /certs/ca.crt", dir, ready, caFile)
	}
	if !slices.Contains(o.webhook.extraServices, "orgrbac-api") {
		t.Errorf("the rotated certificate's extra Services %v lack the API's", o.webhook.extraServices)
	}

	// API-only mode reads the mounted certificate and adds no name to rotate.
	o, err = parseFlags([]string{"--enable-controllers=false", "--enable-webhooks=false", "--api-cert-dir=/mounted"})
	if err != nil {
		t.Fatal(err)
	}
	dir, ready, caFile = o.apiCertificate()
	if dir != "/mounted" || ready != nil || caFile != "" || len(o.webhook.extraServices) != 0 {
		t.Errorf("API only: certificate %q, ready %v, CA file %q, extra Services %v", dir, ready, caFile, o.webhook.extraServices)
	}
}
