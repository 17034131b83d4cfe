package api

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// informerCounter is a cache that counts the informers asked of it; every other
// method is the nil embedded interface's (it panics: none may be called).
type informerCounter struct {
	cache.Cache
	informers atomic.Int32
}

func (c *informerCounter) GetInformer(context.Context, client.Object, ...cache.InformerGetOption) (cache.Informer, error) {
	c.informers.Add(1)
	return nil, context.Canceled
}

// With BindAddress "0" the API runs elsewhere (its own Deployment): the server
// builds no index, asks the cache for no informer (none of the orgrbac kinds is
// cached for it), is ready at once and returns from Start without serving.
func TestDisabledServerBuildsNoIndex(t *testing.T) {
	c := &informerCounter{}
	s, err := NewServer(Options{BindAddress: "0", Cache: c, Config: &rest.Config{Host: "https://127.0.0.1:1"}})
	if err != nil {
		t.Fatal(err)
	}
	if s.store != nil {
		t.Error("a disabled server built an index")
	}
	if err := s.ReadyzCheck()(nil); err != nil {
		t.Errorf("a disabled server is not ready: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- s.Start(ctx) }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Start: %v", err)
		}
	case <-ctx.Done():
		t.Fatal("a disabled server's Start did not return")
	}
	if n := c.informers.Load(); n != 0 {
		t.Errorf("a disabled server asked the cache for %d informers", n)
	}

	// The same server enabled asks for the informers of its index.
	on, err := NewServer(Options{BindAddress: "127.0.0.1:0", Insecure: true, Cache: c, Config: &rest.Config{Host: "https://127.0.0.1:1"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := on.ReadyzCheck()(nil); err == nil {
		t.Error("an enabled server is ready before its index is built")
	}
	if err := on.Start(ctx); err == nil {
		t.Error("Start succeeded without informers")
	}
	if n := c.informers.Load(); n == 0 {
		t.Error("an enabled server asked the cache for no informer")
	}
}
