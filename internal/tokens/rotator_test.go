package tokens

import (
	"context"
	"errors"
	"maps"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	k8stesting "k8s.io/client-go/testing"
)

func TestRotatorCreatesTheFirstKey(t *testing.T) {
	r, client, clock := newTestRotator(t)
	wait, err := r.reconcile(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	secret, keys := storedKeys(t, client)
	if secret.Type != corev1.SecretTypeOpaque || secret.Labels[managedByLabel] != managedByValue {
		t.Errorf("type %q labels %v, want Opaque managed by orgrbac", secret.Type, secret.Labels)
	}
	if len(keys) != 1 {
		t.Fatalf("%d keys, want 1", len(keys))
	}
	if !keys[0].activeFrom.Equal(clock.Now()) {
		t.Errorf("the first key signs from %s, want at once (%s)", keys[0].activeFrom, clock.Now())
	}
	if want := DefaultRotationPeriod - DefaultPublishDelay; wait != want {
		t.Errorf("next pass in %s, want %s", wait, want)
	}
}

func TestRotatorDoesNotWriteWhenNothingIsDue(t *testing.T) {
	r, client, clock := newTestRotator(t)
	if _, err := r.reconcile(t.Context()); err != nil {
		t.Fatal(err)
	}
	_, before := storedKeys(t, client)
	for _, step := range []time.Duration{0, time.Minute, time.Hour, DefaultRotationPeriod - DefaultPublishDelay - time.Hour - time.Minute - time.Second} {
		clock.Step(step)
		if _, err := r.reconcile(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	if n := writes(client); n != 1 {
		t.Errorf("%d writes, want only the creation", n)
	}
	if _, after := storedKeys(t, client); len(after) != 1 || after[0].id != before[0].id {
		t.Errorf("keys %v, want %v", ids(after), ids(before))
	}
}

func TestRotatorRotatesAndRemovesAfterTheOverlap(t *testing.T) {
	r, client, clock := newTestRotator(t)
	ks, err := NewKeySet(client, testOptions(clock))
	if err != nil {
		t.Fatal(err)
	}
	pass := func() []signingKey {
		t.Helper()
		if _, err := r.reconcile(t.Context()); err != nil {
			t.Fatal(err)
		}
		secret, keys := storedKeys(t, client)
		secret.ResourceVersion = "" // the fake clientset keeps none: always reload
		ks.load(secret)
		return keys
	}
	first := pass()[0].id

	// The period is due: a second key is published, the first still signs.
	clock.Step(DefaultRotationPeriod - DefaultPublishDelay)
	keys := pass()
	if len(keys) != 2 || keys[0].id != first {
		t.Fatalf("keys %v after the period, want the first and a new one", ids(keys))
	}
	second := keys[1].id
	if got := ks.signingKeyID(clock.Now()); got != first {
		t.Errorf("signing with %s before the new key is due, want %s", got, first)
	}
	clock.Step(DefaultPublishDelay)
	pass()
	if got := ks.signingKeyID(clock.Now()); got != second {
		t.Errorf("signing with %s once the new key is due, want %s", got, second)
	}
	if n := writes(client); n != 2 {
		t.Errorf("%d writes, want the creation and the rotation", n)
	}

	// Both keys stay through the overlap, then the first goes.
	clock.Step(DefaultOverlap - time.Second)
	if keys := pass(); len(keys) != 2 {
		t.Errorf("keys %v during the overlap, want both", ids(keys))
	}
	clock.Step(time.Second)
	if keys := pass(); len(keys) != 1 || keys[0].id != second {
		t.Errorf("keys %v after the overlap, want only %s", ids(keys), second)
	}
	if n := writes(client); n != 3 {
		t.Errorf("%d writes, want the creation, the rotation and the removal", n)
	}
}

func TestRotatorRereadsOnConflict(t *testing.T) {
	r, client, clock := newTestRotator(t)
	if _, err := r.reconcile(t.Context()); err != nil {
		t.Fatal(err)
	}
	conflicts := 0
	client.PrependReactor("update", "secrets", func(k8stesting.Action) (bool, runtime.Object, error) {
		if conflicts == 0 {
			conflicts++
			return true, nil, apierrors.NewConflict(schema.GroupResource{Resource: "secrets"}, testSecret, errors.New("stale"))
		}
		return false, nil, nil
	})
	clock.Step(DefaultRotationPeriod)
	if _, err := r.reconcile(t.Context()); err != nil {
		t.Fatal(err)
	}
	gets := 0
	for _, a := range client.Actions() {
		if a.GetVerb() == "get" {
			gets++
		}
	}
	// One get for the creation, two for the rotation: the conflict re-reads.
	if conflicts != 1 || gets != 3 {
		t.Errorf("conflicts %d gets %d, want 1 conflict and a re-read (3 gets)", conflicts, gets)
	}
	if _, keys := storedKeys(t, client); len(keys) != 2 {
		t.Errorf("keys %v, want the rotation written after the conflict", ids(keys))
	}
}

func TestRotatorCreatesWhenAnotherWriterWins(t *testing.T) {
	r, client, _ := newTestRotator(t)
	raced := false
	client.PrependReactor("create", "secrets", func(k8stesting.Action) (bool, runtime.Object, error) {
		if !raced {
			raced = true
			return true, nil, apierrors.NewAlreadyExists(schema.GroupResource{Resource: "secrets"}, testSecret)
		}
		return false, nil, nil
	})
	if _, err := r.reconcile(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, keys := storedKeys(t, client); len(keys) != 1 {
		t.Errorf("keys %v, want one", ids(keys))
	}
}

func TestRotatorReplacesAnUnreadableSecret(t *testing.T) {
	for name, data := range map[string][]byte{
		"empty":    nil,
		"not JSON": []byte("{"),
		"no keys":  []byte(`{"version":1,"keys":[]}`),
	} {
		t.Run(name, func(t *testing.T) {
			secret := secretWith(data, "")
			secret.Data["other"] = []byte("kept")
			r, client, _ := newTestRotator(t, secret)
			if _, err := r.reconcile(t.Context()); err != nil {
				t.Fatal(err)
			}
			got, keys := storedKeys(t, client)
			if len(keys) != 1 || string(got.Data["other"]) != "kept" {
				t.Errorf("keys %v other %q, want one new key and the other data kept", ids(keys), got.Data["other"])
			}
		})
	}
}

func TestRotatorReportsReadErrors(t *testing.T) {
	r, client, _ := newTestRotator(t)
	client.PrependReactor("get", "secrets", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "secrets"}, testSecret, errors.New("no"))
	})
	if _, err := r.reconcile(t.Context()); !apierrors.IsForbidden(err) {
		t.Errorf("error %v, want the Forbidden", err)
	}
	if n := writes(client); n != 0 {
		t.Errorf("%d writes, want none", n)
	}
}

func TestRotatorStartRunsOnScheduleUntilCancelled(t *testing.T) {
	r, client, clock := newTestRotator(t)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- r.Start(ctx) }()

	waitFor(t, func() bool { return clock.HasWaiters() })
	if _, keys := storedKeys(t, client); len(keys) != 1 {
		t.Fatalf("keys %v after start, want one", ids(keys))
	}
	// Every pass waits at most maxWait; step through a rotation period.
	for elapsed := time.Duration(0); elapsed < DefaultRotationPeriod; elapsed += maxWait {
		waitFor(t, func() bool { return clock.HasWaiters() })
		clock.Step(maxWait)
	}
	waitFor(t, func() bool {
		s, err := client.CoreV1().Secrets(testNamespace).Get(t.Context(), testSecret, metav1.GetOptions{})
		if err != nil {
			return false
		}
		keys, err := decodeKeys(s.Data[DataKey])
		return err == nil && len(keys) == 2
	})
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Start returned %v, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Start did not return after the cancel")
	}
}

func TestRunnablesLeaderElection(t *testing.T) {
	r, client, clock := newTestRotator(t)
	ks, err := NewKeySet(client, testOptions(clock))
	if err != nil {
		t.Fatal(err)
	}
	if !r.NeedLeaderElection() || ks.NeedLeaderElection() {
		t.Error("the Rotator must run on the leader only and the KeySet on every replica")
	}
}

// waitFor polls cond for up to 10 seconds.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out waiting")
		}
		time.Sleep(time.Millisecond)
	}
}

// The Secret as the chart and config/default ship it: empty, for the Rotator to
// fill with its first key (an update: the Rotator's RBAC has no create).
func TestRotatorFillsTheShippedEmptySecret(t *testing.T) {
	shipped := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: testSecret, Namespace: testNamespace,
		Labels: map[string]string{"app.kubernetes.io/managed-by": "Helm"}}, Type: corev1.SecretTypeOpaque}
	r, client, _ := newTestRotator(t, shipped)
	if _, err := r.reconcile(t.Context()); err != nil {
		t.Fatal(err)
	}
	got, keys := storedKeys(t, client)
	if len(keys) != 1 {
		t.Fatalf("%d keys, want the first one", len(keys))
	}
	// The install's labels are its own: Helm applies them again on upgrades.
	if want := map[string]string{"app.kubernetes.io/managed-by": "Helm"}; !maps.Equal(got.Labels, want) {
		t.Errorf("labels %v; want the install's %v untouched", got.Labels, want)
	}
	for _, a := range client.Actions() {
		if a.GetVerb() == "create" {
			t.Errorf("the Rotator created the Secret (%v); want it filled with an update", a)
		}
	}
}
