package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/orgrbac/orgrbac/internal/publish"
)

// publishedWatcher follows the published ConfigMaps of one namespace through an
// informer and decodes them on every change, as a workload's library would.
type publishedWatcher struct {
	mu   sync.Mutex
	cms  map[string]*corev1.ConfigMap
	snap *publish.Snapshot // the last snapshot that decoded, nil before one did
	err  error             // the last decode error (a torn read mid-update)
	// decodes counts decode attempts.
	decodes int
	goal    *publishGoal
}

// publishGoal waits for the decoded snapshot to satisfy pred.
type publishGoal struct {
	pred  func(*publish.Snapshot) bool
	start time.Time
	at    time.Duration
	snap  *publish.Snapshot
	done  chan struct{}
}

// startPublishedWatcher starts a cache of ns's ConfigMaps labelled
// orgrbac.dev/published=true; it runs until ctx ends.
func startPublishedWatcher(ctx context.Context, cfg *rest.Config, scheme *runtime.Scheme, ns string) (*publishedWatcher, error) {
	c, err := cache.New(cfg, cache.Options{
		Scheme:            scheme,
		DefaultNamespaces: map[string]cache.Config{ns: {}},
		ByObject: map[client.Object]cache.ByObject{&corev1.ConfigMap{}: {
			Label: labels.SelectorFromSet(labels.Set{publish.LabelPublished: "true"}),
		}},
	})
	if err != nil {
		return nil, fmt.Errorf("creating the ConfigMap cache: %w", err)
	}
	inf, err := c.GetInformer(ctx, &corev1.ConfigMap{})
	if err != nil {
		return nil, fmt.Errorf("getting the ConfigMap informer: %w", err)
	}
	p := &publishedWatcher{cms: map[string]*corev1.ConfigMap{}}
	if _, err := inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { p.observe(obj, false) },
		UpdateFunc: func(_, obj any) { p.observe(obj, false) },
		DeleteFunc: func(obj any) {
			if d, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
				obj = d.Obj
			}
			p.observe(obj, true)
		},
	}); err != nil {
		return nil, fmt.Errorf("watching ConfigMaps: %w", err)
	}
	go func() { _ = c.Start(ctx) }()
	if !c.WaitForCacheSync(ctx) {
		return nil, fmt.Errorf("the ConfigMap cache did not sync: %w", ctx.Err())
	}
	return p, nil
}

func (p *publishedWatcher) observe(obj any, deleted bool) {
	cm, ok := obj.(*corev1.ConfigMap)
	if !ok {
		return
	}
	now := time.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	if deleted {
		delete(p.cms, cm.Name)
	} else {
		p.cms[cm.Name] = cm
	}
	p.decodes++
	snap, err := publish.Decode(configMapFiles(p.cms))
	if err != nil {
		p.err = err
		return
	}
	p.snap, p.err = snap, nil
	if g := p.goal; g != nil && g.snap == nil && g.pred(snap) {
		g.at, g.snap = now.Sub(g.start), snap
		close(g.done)
	}
}

// settled waits until the ConfigMaps as last seen decode, which they do not
// while a publication is between writing its shards and its index (a torn
// read: a workload's library keeps its last good snapshot then and reads again
// on the next change). It returns that snapshot.
func (p *publishedWatcher) settled(ctx context.Context, timeout time.Duration) (*publish.Snapshot, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		p.mu.Lock()
		snap, err := p.snap, p.err
		p.mu.Unlock()
		if snap != nil && err == nil {
			return snap, nil
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			if err == nil {
				err = errors.New("no ConfigMap published yet")
			}
			return nil, fmt.Errorf("the published ConfigMaps do not decode after %s (last decode error: %w): %w", timeout, err, ctx.Err())
		}
	}
}

// configMapFiles merges the data of the ConfigMaps into one file set, as a
// projected volume does.
func configMapFiles(cms map[string]*corev1.ConfigMap) map[string][]byte {
	files := map[string][]byte{}
	for _, name := range slices.Sorted(maps.Keys(cms)) {
		for k, v := range cms[name].Data {
			files[k] = []byte(v)
		}
	}
	return files
}

// current returns the last snapshot that decoded and facts about the
// ConfigMaps: their count, the bytes of their data and the highest revision
// annotation.
func (p *publishedWatcher) current() (snap *publish.Snapshot, configMaps, bytes int, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, cm := range p.cms {
		for k, v := range cm.Data {
			bytes += len(k) + len(v)
		}
	}
	return p.snap, len(p.cms), bytes, p.err
}

// await sets the goal that the decoded snapshot satisfies pred, counting time
// from start; a snapshot that satisfies it already counts at 0.
func (p *publishedWatcher) await(start time.Time, pred func(*publish.Snapshot) bool) *publishGoal {
	g := &publishGoal{pred: pred, start: start, done: make(chan struct{})}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.snap != nil && pred(p.snap) {
		g.snap = p.snap
		close(g.done)
	}
	p.goal = g
	return g
}

// wait blocks until the goal is met and returns the time it took and the
// snapshot that met it.
func (p *publishedWatcher) wait(ctx context.Context, g *publishGoal, timeout time.Duration) (time.Duration, *publish.Snapshot, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	select {
	case <-g.done:
		p.mu.Lock()
		defer p.mu.Unlock()
		return g.at, g.snap, nil
	case <-ctx.Done():
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.err != nil {
			return 0, nil, fmt.Errorf("the published ConfigMaps do not reflect the change after %s (last decode error: %w): %w",
				timeout, p.err, ctx.Err())
		}
		return 0, nil, fmt.Errorf("the published ConfigMaps do not reflect the change after %s: %w", timeout, ctx.Err())
	}
}

// roleHas reports whether the snapshot's environment role slug lists permission.
func roleHas(s *publish.Snapshot, slug, permission string) bool {
	for _, r := range s.Roles {
		if r.Organization == "" && r.Slug == slug {
			return slices.Contains(r.Permissions, permission)
		}
	}
	return false
}
