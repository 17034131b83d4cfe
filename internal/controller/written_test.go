package controller

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
)

func TestWrittenVersions(t *testing.T) {
	at := func(name, rv string) *orgrbacv1alpha1.Membership {
		return &orgrbacv1alpha1.Membership{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name, ResourceVersion: rv}}
	}
	w := newWrittenVersions()

	if w.stale(at("a", "5")) {
		t.Error("an object never written is stale")
	}

	w.wrote(at("a", "10"))
	for _, rv := range []string{"9", "1"} {
		if !w.stale(at("a", rv)) {
			t.Errorf("a copy at %s is not stale after a write at 10", rv)
		}
	}
	if w.stale(at("b", "1")) {
		t.Error("another object is stale")
	}
	if w.stale(at("a", "10")) {
		t.Error("the copy of the write itself is stale")
	}
	if _, kept := w.v[types.NamespacedName{Namespace: "ns", Name: "a"}]; kept {
		t.Error("the record outlived the cache catching up")
	}
	if w.stale(at("a", "9")) {
		t.Error("an older copy is stale once the record is forgotten")
	}

	w.wrote(at("a", "20"))
	if w.stale(at("a", "25")) {
		t.Error("a later version (someone else's write after ours) is stale")
	}

	// A resourceVersion that is not a number is never compared.
	w.wrote(at("c", "30"))
	if w.stale(at("c", "opaque")) {
		t.Error("a copy with a non-numeric resourceVersion is stale")
	}
	w.wrote(at("d", "opaque"))
	if w.stale(at("d", "1")) {
		t.Error("a write with a non-numeric resourceVersion made a copy stale")
	}

	w.wrote(at("e", "40"))
	w.forget(types.NamespacedName{Namespace: "ns", Name: "e"})
	if w.stale(at("e", "39")) {
		t.Error("a forgotten object is stale")
	}
	if len(w.v) != 0 {
		t.Errorf("records left: %v", w.v)
	}
}
