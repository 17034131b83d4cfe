package tokens

import (
	"crypto/rsa"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	clocktesting "k8s.io/utils/clock/testing"
)

func TestPlan(t *testing.T) {
	o, err := testOptions(clocktesting.NewFakeClock(epoch)).withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	period, overlap, delay := o.RotationPeriod, o.Overlap, o.PublishDelay
	a := keyAt(t, 0, epoch)
	b := keyAt(t, 1, epoch.Add(period))
	c := keyAt(t, 2, epoch.Add(2*period))
	type want struct {
		keys    int // kept keys, then new ones
		kept    []string
		changed bool
		due     time.Time
	}
	for _, tc := range []struct {
		name string
		keys []signingKey
		at   time.Time
		want want
	}{
		{"no key: a first one, signing at once", nil, epoch,
			want{1, nil, true, epoch.Add(period - delay)}},
		{"nothing due", []signingKey{a}, epoch.Add(time.Hour),
			want{1, []string{a.id}, false, epoch.Add(period - delay)}},
		{"rotation due", []signingKey{a}, epoch.Add(period - delay),
			want{2, []string{a.id}, true, epoch.Add(period + overlap)}},
		{"rotation long overdue", []signingKey{a}, epoch.Add(10 * period),
			want{2, []string{a.id}, true, epoch.Add(10*period + delay + overlap)}},
		{"successor published, not signing: removal after its overlap", []signingKey{a, b}, epoch.Add(period - time.Second),
			want{2, []string{a.id, b.id}, false, epoch.Add(period + overlap)}},
		{"within the overlap", []signingKey{a, b}, epoch.Add(period + overlap - time.Second),
			want{2, []string{a.id, b.id}, false, epoch.Add(period + overlap)}},
		{"overlap over", []signingKey{a, b}, epoch.Add(period + overlap),
			want{1, []string{b.id}, true, epoch.Add(2*period - delay)}},
		{"two old keys go at once", []signingKey{a, b, c}, epoch.Add(2*period + overlap),
			want{1, []string{c.id}, true, epoch.Add(3*period - delay)}},
		{"only the oldest goes", []signingKey{a, b, c}, epoch.Add(period + overlap),
			want{2, []string{b.id, c.id}, true, epoch.Add(2*period + overlap)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, changed, due, err := plan(tc.keys, tc.at, o, cycling(t))
			if err != nil {
				t.Fatal(err)
			}
			if len(out) != tc.want.keys || changed != tc.want.changed || !due.Equal(tc.want.due) {
				t.Errorf("keys %d changed %v due %s, want %d %v %s", len(out), changed, due, tc.want.keys, tc.want.changed, tc.want.due)
			}
			if got := ids(out)[:min(len(tc.want.kept), len(out))]; tc.want.kept != nil && !cmp.Equal(got, tc.want.kept) {
				t.Errorf("kept %v, want %v", got, tc.want.kept)
			}
			if n := len(out); n > len(tc.want.kept) && tc.want.changed {
				added := out[n-1]
				wantActive := tc.at
				if len(tc.keys) > 0 {
					wantActive = tc.at.Add(delay)
				}
				if !added.activeFrom.Equal(wantActive) || !added.createdAt.Equal(tc.at) {
					t.Errorf("the new key: created %s active %s, want %s and %s", added.createdAt, added.activeFrom, tc.at, wantActive)
				}
			}
		})
	}
}

func TestPlanReportsGenerationErrors(t *testing.T) {
	o, err := testOptions(clocktesting.NewFakeClock(epoch)).withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	boom := errors.New("no entropy")
	if _, _, _, err := plan(nil, epoch, o, func() (*rsa.PrivateKey, error) { return nil, boom }); !errors.Is(err, boom) {
		t.Errorf("error %v, want the generator's", err)
	}
}

func TestKeysRoundTrip(t *testing.T) {
	keys := []signingKey{keyAt(t, 0, epoch), keyAt(t, 1, epoch.Add(time.Minute))}
	data, err := encodeKeys([]signingKey{keys[1], keys[0]})
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodeKeys(data)
	if err != nil {
		t.Fatal(err)
	}
	if !cmp.Equal(ids(got), ids(keys)) {
		t.Errorf("ids %v, want %v sorted by activeFrom", ids(got), ids(keys))
	}
	for i := range got {
		if !got[i].private.Equal(keys[i].private) || !got[i].activeFrom.Equal(keys[i].activeFrom) || !got[i].createdAt.Equal(keys[i].createdAt) {
			t.Errorf("key %d did not round-trip", i)
		}
	}
}

func TestOptions(t *testing.T) {
	for _, tc := range []struct {
		name  string
		opts  Options
		valid bool
	}{
		{"defaults", Options{Namespace: "ns"}, true},
		{"no namespace", Options{}, false},
		{"overlap shorter than the token lifetime", Options{Namespace: "ns", Overlap: time.Minute, TokenTTL: 5 * time.Minute}, false},
		{"overlap equal to the token lifetime", Options{Namespace: "ns", Overlap: 5 * time.Minute}, true},
		{"default overlap, long tokens", Options{Namespace: "ns", TokenTTL: 2 * time.Hour}, false},
		{"publish delay as long as the period", Options{Namespace: "ns", RotationPeriod: time.Minute, Overlap: 5 * time.Minute}, false},
		{"no publish delay", Options{Namespace: "ns", RotationPeriod: time.Minute, Overlap: 5 * time.Minute, PublishDelay: -1}, true},
		{"negative period", Options{Namespace: "ns", RotationPeriod: -time.Hour}, false},
		{"too many keys kept", Options{Namespace: "ns", RotationPeriod: 10 * time.Minute, Overlap: 24 * time.Hour}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, err := tc.opts.withDefaults()
			if (err == nil) != tc.valid {
				t.Fatalf("error %v, want valid %v", err, tc.valid)
			}
			if tc.valid && (o.SecretName != DefaultSecretName || o.Clock == nil || o.RotationPeriod <= 0 || o.Overlap < o.TokenTTL) {
				t.Errorf("defaults not applied: %+v", o)
			}
		})
	}
}
