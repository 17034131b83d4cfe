package controller

import (
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
)

func TestBoundMessage(t *testing.T) {
	const limit = orgrbacv1alpha1.MaxConditionMessage
	tests := map[string]struct {
		in       string
		wantTail string // "" when the message stays as it is
	}{
		"empty":                        {in: ""},
		"short":                        {in: "no such role: ghost (Manual)"},
		"exactly the limit":            {in: strings.Repeat("a", limit)},
		"one byte over":                {in: strings.Repeat("a", limit+1), wantTail: "... (22 more bytes)"},
		"36052 bytes (review proof C)": {in: strings.Repeat("x", 36052), wantTail: "... (35050 more bytes)"},
		// 3-byte runes: a cut at a byte count would split one.
		"multi-byte characters":            {in: strings.Repeat("é€", 600), wantTail: " more bytes)"},
		"4-byte characters":                {in: strings.Repeat("𝄞", 400), wantTail: " more bytes)"},
		"invalid UTF-8 stays byte-bounded": {in: strings.Repeat("\xff", 2000), wantTail: "... (997 more bytes)"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := boundMessage(tc.in)
			if tc.wantTail == "" {
				if got != tc.in {
					t.Fatalf("a message within the limit changed: %q", got)
				}
				return
			}
			if len(got) > limit {
				t.Errorf("%d bytes, more than %d", len(got), limit)
			}
			if !strings.HasSuffix(got, tc.wantTail) {
				t.Errorf("ends %q, want suffix %q", got[max(0, len(got)-40):], tc.wantTail)
			}
			kept, _, _ := strings.Cut(got, "... (")
			if !strings.HasPrefix(tc.in, kept) {
				t.Errorf("the kept part is not a prefix of the message")
			}
			if utf8.ValidString(tc.in) && !utf8.ValidString(got) {
				t.Errorf("cut inside a character: %q", got[len(got)-40:])
			}
			if n := fmt.Sprintf("(%d more bytes)", len(tc.in)-len(kept)); !strings.HasSuffix(got, n) {
				t.Errorf("ends %q, want it to count the %d bytes left out", got[len(got)-30:], len(tc.in)-len(kept))
			}
			if len(got) < limit-4 {
				t.Errorf("%d bytes: more cut than needed", len(got))
			}
		})
	}
}

// TestMergeConditionsFits: whatever a status held before (a forged one with many
// conditions, or messages written by an older version), the merged conditions fit
// the CRD, and the ones written win.
func TestMergeConditionsFits(t *testing.T) {
	t0 := metav1.NewTime(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	var existing []metav1.Condition
	for i := range orgrbacv1alpha1.MaxConditions + 4 {
		existing = append(existing, metav1.Condition{Type: fmt.Sprintf("Forged%d", i), Status: metav1.ConditionTrue, Reason: "X"})
	}
	ready := readyCondition(orgrbacv1alpha1.ReasonTooManyRoles, strings.Repeat("m", 40000), 1)
	refs := referencesCondition("", "", 1)
	got := mergeConditions(existing, t0, ready, refs)
	if len(got) != orgrbacv1alpha1.MaxConditions {
		t.Fatalf("%d conditions, want %d", len(got), orgrbacv1alpha1.MaxConditions)
	}
	r := meta.FindStatusCondition(got, orgrbacv1alpha1.ConditionReady)
	if r == nil || r.Reason != orgrbacv1alpha1.ReasonTooManyRoles || len(r.Message) > orgrbacv1alpha1.MaxConditionMessage {
		t.Errorf("Ready = %+v", r)
	}
	if meta.FindStatusCondition(got, orgrbacv1alpha1.ConditionReferencesResolved) == nil {
		t.Error("ReferencesResolved dropped")
	}
	for i := range orgrbacv1alpha1.MaxConditions - 2 {
		if meta.FindStatusCondition(got, fmt.Sprintf("Forged%d", i)) == nil {
			t.Errorf("Forged%d dropped: the last ones go first", i)
		}
	}

	// A status within the limit keeps every condition.
	few := mergeConditions(existing[:3], t0, refs)
	if len(few) != 4 {
		t.Errorf("%d conditions, want 4", len(few))
	}
}
