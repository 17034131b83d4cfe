package webhooks

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
	"github.com/orgrbac/orgrbac/internal/events"
)

// The header parses as both SDKs parse it (split on ",", then "="), and v1 is
// the HMAC recomputed here independently.
func TestSignature(t *testing.T) {
	for _, tc := range []struct {
		secret, body string
		at           time.Time
	}{
		{"whsec_test", `{"object":"event"}`, time.UnixMilli(1700000000123)},
		{"", `{}`, time.UnixMilli(1)},
		{"ü-secret=,", `{"a":"b,c=d"}`, time.UnixMilli(1999999999999)},
	} {
		h := Signature([]byte(tc.secret), tc.at, []byte(tc.body))
		parts := strings.Split(h, ",")
		if len(parts) != 2 {
			t.Fatalf("%q: %d parts", h, len(parts))
		}
		ts, ok1 := strings.CutPrefix(strings.TrimSpace(parts[0]), "t=")
		v1, ok2 := strings.CutPrefix(strings.TrimSpace(parts[1]), "v1=")
		if !ok1 || !ok2 || !strings.HasPrefix(parts[1], " v1=") {
			t.Fatalf("header %q is not `t=<ms>, v1=<hex>`", h)
		}
		if want := strconv.FormatInt(tc.at.UnixMilli(), 10); ts != want {
			t.Errorf("t = %s, want %s", ts, want)
		}
		mac := hmac.New(sha256.New, []byte(tc.secret))
		mac.Write([]byte(ts + "." + tc.body))
		if want := hex.EncodeToString(mac.Sum(nil)); v1 != want {
			t.Errorf("v1 = %s, want %s", v1, want)
		}
	}
}

func TestBackoff(t *testing.T) {
	for _, tc := range []struct {
		n      int32
		jitter float64
		want   time.Duration
	}{
		{1, 0, time.Second},
		{2, 0, 2 * time.Second},
		{3, 0, 4 * time.Second},
		{9, 0, 256 * time.Second},
		{10, 0, 5 * time.Minute},
		{1000, 0, 5 * time.Minute},
		{1, 0.5, 900 * time.Millisecond},
		{10, 0.999999, 0},       // checked as a range below
		{3, 1, 4 * time.Second}, // out of range: no jitter
		{3, -1, 4 * time.Second},
	} {
		got := backoff(tc.n, time.Second, 5*time.Minute, tc.jitter)
		if tc.n == 10 && tc.jitter > 0.9 {
			// Up to a fifth off the cap.
			if got < 4*time.Minute || got > 5*time.Minute {
				t.Errorf("backoff(%d, %v) = %v, want within [4m, 5m]", tc.n, tc.jitter, got)
			}
			continue
		}
		if got != tc.want {
			t.Errorf("backoff(%d, %v) = %v, want %v", tc.n, tc.jitter, got, tc.want)
		}
	}
}

// jsJSON's output is what JSON.stringify(JSON.parse(in)) prints (the expected
// values were produced with node).
func TestJSJSON(t *testing.T) {
	for in, want := range map[string]string{
		`{"a": 1, "b": [true, false, null]}`:                              `{"a":1,"b":[true,false,null]}`,
		`{"html":"<a href=\"x\">&amp;</a>"}`:                              `{"html":"<a href=\"x\">&amp;</a>"}`,
		`"\u003c\u0026\u003e"`:                                            `"<&>"`,
		`"\u2028\u2029\u00e9é\u007f"`:                                     "\"\u2028\u2029éé\u007f\"",
		`"\b\f\n\r\t\u0000\u001f\/\\"`:                                    `"\b\f\n\r\t\u0000\u001f/\\"`,
		`[1.0, 1e2, 1E21, 1e-7, 0.000001, -0, -0.0, 1.5]`:                 `[1,100,1e+21,1e-7,0.000001,0,0,1.5]`,
		`[123456789012345678901234, 0.1, 1e400, -1e400]`:                  `[1.2345678901234569e+23,0.1,null,null]`,
		`[100000000000000000000, 1e20, 12345e-10]`:                        `[100000000000000000000,100000000000000000000,0.0000012345]`,
		`{"b":1,"10":2,"a":3,"2":4,"01":5,"4294967295":6,"4294967294":7}`: `{"2":4,"10":2,"4294967294":7,"b":1,"a":3,"01":5,"4294967295":6}`,
		`{"a":1,"b":2,"a":3}`:                                             `{"a":3,"b":2}`,
		`{}`:                                                              `{}`,
		`[]`:                                                              `[]`,
		`{"x":{"y":[{"z":"\ud83d\ude00"}]}}`:                              `{"x":{"y":[{"z":"😀"}]}}`,
	} {
		got, err := jsJSON([]byte(in))
		if err != nil {
			t.Errorf("jsJSON(%s): %v", in, err)
			continue
		}
		if string(got) != want {
			t.Errorf("jsJSON(%s) = %s, want %s", in, got, want)
		}
		// A fixed point.
		again, err := jsJSON(got)
		if err != nil || string(again) != string(got) {
			t.Errorf("jsJSON is not idempotent on %s: %s, %v", got, again, err)
		}
	}
	for _, bad := range []string{``, `{`, `{"a":}`, `[1,]`, `{} {}`, `nul`, strings.Repeat("[", 2000) + strings.Repeat("]", 2000)} {
		if _, err := jsJSON([]byte(bad)); err == nil {
			t.Errorf("jsJSON(%.40s) accepted", bad)
		}
	}
}

func TestBody(t *testing.T) {
	e := orgrbacv1alpha1.StoredEvent{ID: "event_01J", Event: "organization.updated", CreatedAtMillis: 1700000000123,
		Data: runtime.RawExtension{Raw: []byte(`{"name":"A & <B>","id":"org_1","domains":[]}`)}}
	got, err := Body(&e)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"object":"event","id":"event_01J","event":"organization.updated",` +
		`"data":{"name":"A & <B>","id":"org_1","domains":[]},"created_at":"2023-11-14T22:13:20.123Z"}`
	if string(got) != want {
		t.Errorf("Body = %s\nwant   %s", got, want)
	}
}

func TestNextBatch(t *testing.T) {
	ev := func(id, typ string, at int64) orgrbacv1alpha1.StoredEvent {
		return orgrbacv1alpha1.StoredEvent{ID: id, Event: typ, CreatedAtMillis: at}
	}
	log := []orgrbacv1alpha1.StoredEvent{
		ev("event_01", "role.created", 1000), ev("event_02", "organization.updated", 2000),
		ev("event_03", "role.updated", 3000), ev("event_04", "role.created", 3000),
		ev("event_05", "role.updated", 4000), ev("event_06", "role.updated", 4000),
	}
	ids := func(es []*orgrbacv1alpha1.StoredEvent) string {
		var s []string
		for _, e := range es {
			s = append(s, e.ID)
		}
		return strings.Join(s, ",")
	}
	for _, tc := range []struct {
		cursor    string
		since     int64
		filter    []string
		max       int
		want      string
		wantLast  string
		splitting bool // the log in runs of two, as segments
	}{
		{"", 0, nil, 100, "event_01,event_02,event_03,event_04,event_05,event_06", "event_06", false},
		{"", 2500, nil, 100, "event_03,event_04,event_05,event_06", "event_06", true},
		{"", 9999, nil, 100, "", "", false},
		{"event_02", 0, nil, 100, "event_03,event_04,event_05,event_06", "event_06", true},
		{"event_02", 9999, nil, 100, "event_03,event_04,event_05,event_06", "event_06", false}, // the cursor wins over the creation time
		{"event_025", 0, nil, 100, "event_03,event_04,event_05,event_06", "event_06", false},   // a pruned cursor still places
		{"event_00", 0, nil, 100, "event_01,event_02,event_03,event_04,event_05,event_06", "event_06", false},
		{"event_06", 0, nil, 100, "", "", true},
		// The filter: the skipped events after the batch's last are passed too.
		{"", 0, []string{"role.created"}, 100, "event_01,event_04", "event_06", true},
		{"event_01", 0, []string{"role.created", "organization.updated"}, 100, "event_02,event_04", "event_06", false},
		// Nothing matches: the cursor may move past every event scanned.
		{"", 0, []string{"permission.deleted"}, 100, "", "event_06", false},
		{"event_03", 0, []string{"permission.deleted"}, 100, "", "event_06", true},
		// Bounded: the scan stops before the first match past max.
		{"", 0, nil, 2, "event_01,event_02", "event_02", false},
		{"", 0, []string{"role.created"}, 1, "event_01", "event_03", true},
		{"", 0, []string{"role.updated"}, 2, "event_03,event_05", "event_05", true},
		{"", 0, []string{"role.updated"}, 3, "event_03,event_05,event_06", "event_06", false},
	} {
		tail := events.Tail{log}
		if tc.splitting {
			tail = events.Tail{log[0:2], log[2:4], log[4:6]}
		}
		batch, last := nextBatch(tail, tc.cursor, tc.since, tc.filter, tc.max)
		if got := ids(batch); got != tc.want || last != tc.wantLast {
			t.Errorf("nextBatch(%q, %d, %v, %d) = %s, last %q; want %s, last %q",
				tc.cursor, tc.since, tc.filter, tc.max, got, last, tc.want, tc.wantLast)
		}
		for _, e := range batch {
			if i := slices.IndexFunc(log, func(x orgrbacv1alpha1.StoredEvent) bool { return x.ID == e.ID }); &log[i] != e {
				t.Errorf("nextBatch copied %s", e.ID)
			}
		}
	}
}

// An event is given up for its age, from its creation: a restart does not
// reset it.
func TestExpired(t *testing.T) {
	created := time.UnixMilli(1_700_000_000_000)
	e := &orgrbacv1alpha1.StoredEvent{ID: "event_01", CreatedAtMillis: created.UnixMilli()}
	for _, tc := range []struct {
		age    time.Duration
		window time.Duration
		want   bool
	}{
		{0, time.Minute, false},
		{time.Minute, time.Minute, false},
		{time.Minute + time.Millisecond, time.Minute, true},
		{-time.Hour, time.Minute, false}, // a clock behind the emitter's
		{72 * time.Hour, defaultRetryWindow, false},
		{73 * time.Hour, defaultRetryWindow, true},
	} {
		if got := expired(e, created.Add(tc.age), tc.window); got != tc.want {
			t.Errorf("expired(age %v, window %v) = %v, want %v", tc.age, tc.window, got, tc.want)
		}
	}
	ep := &orgrbacv1alpha1.WebhookEndpoint{}
	if got := retryWindow(ep); got != defaultRetryWindow {
		t.Errorf("retryWindow() = %v, want the default", got)
	}
	ep.Spec.RetryWindowSeconds = 60
	if got := retryWindow(ep); got != time.Minute {
		t.Errorf("retryWindow(60) = %v", got)
	}
}

// One Warning event names a run of given-up events.
func TestGivenUpRunMessage(t *testing.T) {
	a := &orgrbacv1alpha1.StoredEvent{ID: "event_01", Event: "role.created"}
	b := &orgrbacv1alpha1.StoredEvent{ID: "event_09", Event: "role.deleted"}
	var r givenUpRun
	r.add(a, "the destination answered HTTP 503")
	if got, want := r.message(time.Minute, "x"), "event event_01 (role.created) given up: older than spec.retryWindowSeconds "+
		"(1m0s) while the destination fails: the destination answered HTTP 503"; got != want {
		t.Errorf("message = %q\nwant      %q", got, want)
	}
	r.add(b, "")
	if got, want := r.message(time.Minute, "x"), "2 events, event_01 (role.created) to event_09 (role.deleted), given up: "+
		"older than spec.retryWindowSeconds (1m0s) while the destination fails: the destination answered HTTP 503"; got != want {
		t.Errorf("message = %q\nwant      %q", got, want)
	}
	r = givenUpRun{}
	r.add(b, "")
	if got := r.message(time.Minute, "the request timed out"); !strings.HasSuffix(got, ": the request timed out") {
		t.Errorf("message = %q, want the last failure of the status", got)
	}
}

// A status write never moves the cursor back: a status ahead of ours (a newer
// leader's) is kept.
func TestKeepTheirs(t *testing.T) {
	for _, tc := range []struct {
		ours, theirs string
		want         bool
	}{
		{"event_05", "event_04", false},
		{"event_05", "event_05", false},
		{"event_05", "event_06", true},
		{"", "event_01", true},
		{"event_01", "", false},
		{"", "", false},
	} {
		if got := keepTheirs(tc.ours, tc.theirs); got != tc.want {
			t.Errorf("keepTheirs(%q, %q) = %v, want %v", tc.ours, tc.theirs, got, tc.want)
		}
	}
}

func TestDestinations(t *testing.T) {
	type check struct {
		host, ip string
		allow    bool
	}
	for _, tc := range []struct {
		policy string
		checks []check
	}{
		{"any", []check{
			{"example.com", "93.184.216.34", true}, {"x", "10.1.2.3", true}, {"x", "2001:db8::1", true},
			{"x", "127.0.0.1", false}, {"localhost", "::1", false}, {"x", "169.254.169.254", false},
			{"x", "fe80::1", false}, {"x", "0.0.0.0", false}, {"x", "::", false}, {"x", "224.0.0.1", false},
			{"x", "255.255.255.255", false}, {"x", "::ffff:169.254.169.254", false}, {"x", "::ffff:127.0.0.1", false},
			// Cloud metadata outside link-local.
			{"x", "fd00:ec2::254", false}, {"x", "100.100.100.200", false}, {"x", "100.100.100.201", true},
			// IPv6 ranges that embed an IPv4 address.
			{"x", "64:ff9b::a9fe:a9fe", false}, {"x", "64:ff9b::808:808", false}, {"x", "64:ff9b:1::1", false},
			{"x", "2002:a9fe:a9fe::1", false}, {"x", "2002:808:808::1", false},
			{"x", "::a9fe:a9fe", false}, {"x", "::808:808", false}, {"x", "::2", false},
		}},
		{"cluster", []check{
			{"a.svc", "10.96.0.1", true}, {"a", "172.16.0.1", true}, {"a", "172.31.255.255", true},
			{"a", "172.32.0.1", false}, {"a", "192.168.1.1", true}, {"a", "fd00::1", true},
			{"a", "8.8.8.8", false}, {"a", "127.0.0.1", false}, {"a", "169.254.169.254", false},
			{"a", "::ffff:10.0.0.1", true},
			// fc00::/7 does not open the AWS IPv6 metadata address.
			{"a", "fd00:ec2::254", false}, {"a", "fd00:ec2::253", true},
			// An embedded private IPv4 address is not cluster-wide.
			{"a", "64:ff9b::a00:1", false}, {"a", "2002:a00:1::1", false}, {"a", "::a00:1", false},
		}},
		{"fd00:ec2::254,100.100.100.200", []check{
			{"x", "fd00:ec2::254", true}, {"x", "100.100.100.200", true}, {"x", "fd00:ec2::1", false},
		}},
		{"any,64:ff9b::/96,2002::/16", []check{
			// Listed: allowed when the embedded IPv4 address is.
			{"x", "64:ff9b::808:808", true}, {"x", "2002:808:808::1", true},
			{"x", "64:ff9b::a9fe:a9fe", false}, {"x", "64:ff9b::7f00:1", false}, {"x", "2002:a9fe:a9fe::1", false},
			{"x", "2002:6464:64c8::1", false}, // 100.100.100.200
			{"x", "::808:808", false},         // ::/96 is not listed
		}},
		{"cluster,64:ff9b::/96", []check{
			{"x", "64:ff9b::a00:1", true}, {"x", "64:ff9b::808:808", false},
		}},
		{"::/96,0.0.0.0/0", []check{
			{"x", "::808:808", true}, {"x", "::a9fe:a9fe", false}, {"x", "::1", false}, {"x", "::", false},
		}},
		{"::1", []check{
			{"localhost", "::1", true}, {"localhost", "::2", false},
		}},
		{"cluster,127.0.0.1", []check{
			{"localhost", "127.0.0.1", true}, {"localhost", "127.0.0.2", false}, {"a", "10.0.0.1", true},
		}},
		{"0.0.0.0/0,::/0", []check{
			{"a", "8.8.8.8", true}, {"a", "127.0.0.1", false}, {"a", "169.254.169.254", false}, {"a", "2001:db8::1", true},
		}},
		{"169.254.169.254/32", []check{
			{"metadata", "169.254.169.254", true}, {"metadata", "169.254.169.253", false},
		}},
		{"hooks.example.com, *.svc.cluster.local", []check{
			{"hooks.example.com", "93.184.216.34", true}, {"HOOKS.example.com.", "93.184.216.34", true},
			{"a.hooks.example.com", "93.184.216.34", false}, {"x.ns.svc.cluster.local", "10.0.0.1", true},
			{"svc.cluster.local", "10.0.0.1", false}, {"evil.com", "93.184.216.34", false},
			// A name that resolves to a special address is still refused (DNS rebinding).
			{"hooks.example.com", "169.254.169.254", false}, {"hooks.example.com", "127.0.0.1", false},
			// An IP-literal host never matches a name entry.
			{"93.184.216.34", "93.184.216.34", false},
		}},
		{"10.0.0.0/8,2001:db8::/32", []check{
			{"a", "10.255.0.1", true}, {"a", "11.0.0.1", false}, {"a", "2001:db8:1::1", true}, {"a", "2001:db9::1", false},
		}},
	} {
		d, err := ParseDestinations(tc.policy)
		if err != nil {
			t.Fatalf("ParseDestinations(%q): %v", tc.policy, err)
		}
		for _, c := range tc.checks {
			err := d.Allow(c.host, netip.MustParseAddr(c.ip))
			var refused *RefusedError
			if err != nil && !errors.As(err, &refused) {
				t.Errorf("%q: Allow(%s, %s): %v is not a RefusedError", tc.policy, c.host, c.ip, err)
			}
			if (err == nil) != c.allow {
				t.Errorf("%q: Allow(%s, %s) = %v, want allowed %v", tc.policy, c.host, c.ip, err, c.allow)
			}
		}
	}
	for _, bad := range []string{"", " ", "any,", ",cluster", "10.0.0.0/33", "10.0.0.1/8/2", "fe80::1%eth0",
		"*.", "*", "a..b", "-a.com", "a_b c", "http://x", "*.*.com", strings.Repeat("a", 64) + ".com",
		strings.Repeat("a,", 300) + "a"} {
		if _, err := ParseDestinations(bad); err == nil {
			t.Errorf("ParseDestinations(%q) accepted", bad)
		}
	}
}

// Whatever the flag says, parsing never panics and a parsed policy never
// opens a link-local or loopback address that no entry within that range lists.
func FuzzParseDestinations(f *testing.F) {
	for _, s := range []string{"any", "cluster", "cluster,127.0.0.1", "10.0.0.0/8,*.svc", "hooks.example.com",
		"::ffff:169.254.0.0/112", "0.0.0.0/0", "169.254.0.0/15", "fe80::/9,::/0", "127.0.0.0/7",
		"fc00::/7", "fd00:ec2::/32", "100.64.0.0/10", "any,64:ff9b::/96,2002::/16,::/96", "64:ff9b::/64", "::/0,::/95"} {
		f.Add(s)
	}
	probes := []netip.Addr{netip.MustParseAddr("169.254.169.254"), netip.MustParseAddr("127.0.0.1"),
		netip.MustParseAddr("fe80::1"), netip.MustParseAddr("::ffff:169.254.169.254"), netip.MustParseAddr("0.0.0.0"),
		netip.MustParseAddr("fd00:ec2::254"), netip.MustParseAddr("100.100.100.200"),
		netip.MustParseAddr("64:ff9b::a9fe:a9fe"), netip.MustParseAddr("64:ff9b::a00:1"),
		netip.MustParseAddr("2002:a9fe:a9fe::1"), netip.MustParseAddr("::a9fe:a9fe"), netip.MustParseAddr("::7f00:1")}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDestinations(s)
		if err != nil {
			return
		}
		if d.String() != s {
			t.Errorf("String() = %q, want %q", d.String(), s)
		}
		for _, ip := range probes {
			if d.Allow("metadata.google.internal", ip) != nil {
				continue
			}
			// Allowed: some entry must be an explicit CIDR within the narrowest
			// special range, and so for an embedded special IPv4 address.
			if !listed(s, ip.Unmap()) {
				t.Errorf("policy %q opens %s without listing it", s, ip)
			}
			if v4, ok := embeddedIPv4(ip); ok && !listed(s, v4) {
				t.Errorf("policy %q opens %s (embedding %s) without listing %s", s, ip, v4, v4)
			}
		}
	})
}

// listed reports whether ip, when in a special range, is inside an IP or CIDR
// entry of policy s within the narrowest special range that holds it.
func listed(s string, ip netip.Addr) bool {
	bits := -1
	for _, r := range specialRanges {
		if r.Contains(ip) {
			bits = max(bits, r.Bits())
		}
	}
	if bits < 0 {
		return true
	}
	for _, e := range strings.Split(s, ",") {
		e = strings.TrimSpace(e)
		p, err := netip.ParsePrefix(e)
		if err != nil {
			a, err := netip.ParseAddr(e)
			if err != nil {
				continue
			}
			p = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
		}
		p = unmapPrefix(p.Masked())
		if p.Contains(ip) && p.Bits() >= bits {
			return true
		}
	}
	return false
}

// The lag is computed at scrape time: it grows while an event waits.
func TestLagCollector(t *testing.T) {
	now := time.Unix(1000, 0)
	c := &lagCollector{oldest: map[types.NamespacedName]time.Time{}, now: func() time.Time { return now }}
	a, b := types.NamespacedName{Namespace: "n", Name: "a"}, types.NamespacedName{Namespace: "n", Name: "b"}
	c.set(a, time.Unix(990, 0))
	c.set(b, time.Time{})
	if v, ok := c.lag(a); !ok || v != 10 {
		t.Errorf("lag(a) = %v, %v", v, ok)
	}
	now = now.Add(5 * time.Second)
	if v, _ := c.lag(a); v != 15 {
		t.Errorf("lag(a) later = %v, want 15", v)
	}
	if v, ok := c.lag(b); !ok || v != 0 {
		t.Errorf("lag(b) = %v, %v, want 0 (caught up)", v, ok)
	}
	collect := func() float64 {
		t.Helper()
		ch := make(chan prometheus.Metric, 4)
		c.Collect(ch)
		if len(ch) != 1 {
			t.Fatalf("%d series, want 1 (no label per endpoint)", len(ch))
		}
		var m dto.Metric
		if err := (<-ch).Write(&m); err != nil {
			t.Fatal(err)
		}
		return m.GetGauge().GetValue()
	}
	if v := collect(); v != 15 {
		t.Errorf("collected %v, want the most, 15", v)
	}
	c.forget(a)
	if _, ok := c.lag(a); ok {
		t.Error("a forgotten endpoint keeps its lag")
	}
	if v := collect(); v != 0 {
		t.Errorf("collected %v once a is forgotten, want 0", v)
	}
}
