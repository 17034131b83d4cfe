package api

import (
	"github.com/go-logr/logr"
	"k8s.io/utils/clock"

	"github.com/orgrbac/orgrbac/internal/api/store"
	"github.com/orgrbac/orgrbac/internal/api/store/storetest"
)

// contentOf indexes in as the environment of namespace videos, as the store's
// first batch does, and returns its content. No writer runs: the test reads
// the content alone, outside the read lock.
func contentOf(in *storetest.Objects) *store.Content {
	x := store.New(nil, clock.RealClock{}, logr.Discard())
	x.Load("videos", in.Objects, in.Memberships, 0)
	var c *store.Content
	x.Get("videos").Read(func(v *store.Content) { c = v })
	return c
}
