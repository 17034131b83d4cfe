package main

import (
	"strings"
	"testing"

	"github.com/orgrbac/orgrbac/internal/api"
)

// The access-token flags: off by default, the issuer derived from the API's
// Service, and every setting that could not work refused with its reason.
func TestTokenFlags(t *testing.T) {
	const secret = "--token-signing-secret=orgrbac-system/orgrbac-token-signing-keys"
	for _, tc := range []struct {
		name       string
		args       []string
		wantErr    string // empty: valid
		wantIssuer string
	}{
		{name: "off by default", args: nil},
		{name: "on, default issuer", args: []string{secret}, wantIssuer: api.DefaultTokenIssuer},
		{name: "on, issuer from the API's Service", args: []string{secret, "--api-service=orgrbac-api", "--api-cert-dir=/certs"},
			wantIssuer: "https://orgrbac-api.orgrbac-system.svc"},
		{name: "on, given issuer", args: []string{secret, "--token-issuer=https://authz.example.com/videos"},
			wantIssuer: "https://authz.example.com/videos"},
		{name: "no namespace", args: []string{"--token-signing-secret=keys"}, wantErr: "NAMESPACE/NAME"},
		{name: "bad namespace", args: []string{"--token-signing-secret=Orgrbac/keys"}, wantErr: "NAMESPACE/NAME"},
		{name: "too many parts", args: []string{"--token-signing-secret=a/b/c"}, wantErr: "NAMESPACE/NAME"},
		{name: "plain http issuer", args: []string{secret, "--token-issuer=http://orgrbac-api"}, wantErr: "https URL"},
		{name: "issuer with a user", args: []string{secret, "--token-issuer=https://me@orgrbac-api"}, wantErr: "https URL"},
		{name: "issuer with a query", args: []string{secret, "--token-issuer=https://orgrbac-api/?a=b"}, wantErr: "https URL"},
		{name: "ttl too short", args: []string{secret, "--token-ttl=1s"}, wantErr: "--token-ttl"},
		{name: "ttl too long", args: []string{secret, "--token-ttl=48h"}, wantErr: "--token-ttl"},
		{name: "overlap shorter than the ttl", args: []string{secret, "--token-ttl=10m", "--token-key-overlap=5m"},
			wantErr: "--token-key-overlap"},
		{name: "rotation shorter than the overlap", args: []string{secret, "--token-key-rotation=30m"},
			wantErr: "--token-key-rotation"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, err := parseFlags(tc.args)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v; want one naming %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if o.tokens.enabled() != (tc.wantIssuer != "") || o.tokens.issuer != tc.wantIssuer {
				t.Errorf("enabled %v, issuer %q; want issuer %q", o.tokens.enabled(), o.tokens.issuer, tc.wantIssuer)
			}
			if o.tokens.ttl != api.DefaultTokenTTL && !strings.Contains(strings.Join(tc.args, " "), "--token-ttl") {
				t.Errorf("ttl %s; want the default %s", o.tokens.ttl, api.DefaultTokenTTL)
			}
		})
	}
	if defaultKeyOverlap < api.DefaultTokenTTL || defaultKeyRotation < defaultKeyOverlap {
		t.Errorf("the defaults refuse themselves: ttl %s, overlap %s, rotation %s", api.DefaultTokenTTL, defaultKeyOverlap, defaultKeyRotation)
	}
}
