package certs

import (
	"net/http"
	"net/url"
	"testing"
)

type recordTrip struct{ got *http.Request }

func (r *recordTrip) RoundTrip(req *http.Request) (*http.Response, error) {
	r.got = req
	return &http.Response{StatusCode: http.StatusOK, Body: http.NoBody}, nil
}

func TestNameSelecting(t *testing.T) {
	names := map[string]string{"/api/v1/namespaces/ns/secrets": "cert",
		"/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations": "vwc",
		"/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations":   "mwc"}
	for _, tc := range []struct {
		method, url, want string // want: the fieldSelector sent
	}{
		{"GET", "https://h/api/v1/namespaces/ns/secrets?limit=500", "metadata.name=cert"},
		{"GET", "https://h/api/v1/namespaces/ns/secrets?watch=true&resourceVersion=7", "metadata.name=cert"},
		{"GET", "https://h/prefix/api/v1/namespaces/ns/secrets", "metadata.name=cert"},
		{"GET", "https://h/api/v1/namespaces/ns/secrets?fieldSelector=type%3Dx", "type=x,metadata.name=cert"},
		{"GET", "https://h/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations?watch=1", "metadata.name=vwc"},
		{"GET", "https://h/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations?limit=500", "metadata.name=mwc"},
		{"GET", "https://h/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/mwc", ""},
		// One object, another namespace, another kind, a write: untouched.
		{"GET", "https://h/api/v1/namespaces/ns/secrets/cert", ""},
		{"GET", "https://h/api/v1/namespaces/other/secrets", ""},
		{"GET", "https://h/api/v1/namespaces/ns/configmaps", ""},
		{"PUT", "https://h/api/v1/namespaces/ns/secrets", ""},
	} {
		rec := &recordTrip{}
		req, err := http.NewRequest(tc.method, tc.url, nil)
		if err != nil {
			t.Fatal(err)
		}
		orig := req.URL.String()
		res, err := (nameSelecting{next: rec, names: names}).RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = res.Body.Close()
		q, err := url.ParseQuery(rec.got.URL.RawQuery)
		if err != nil {
			t.Fatal(err)
		}
		if got := q.Get("fieldSelector"); got != tc.want {
			t.Errorf("%s %s: fieldSelector %q, want %q", tc.method, tc.url, got, tc.want)
		}
		if req.URL.String() != orig {
			t.Errorf("%s %s: the caller's request was modified to %s", tc.method, tc.url, req.URL)
		}
	}
}
