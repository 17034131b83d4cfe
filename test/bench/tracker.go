package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
)

// markerPrefix starts the permission slugs the benchmark adds to the fan-out role;
// the tracker keeps only those of a membership's status permissions.
const markerPrefix = "bench:"

// mstate is what the tracker keeps of one membership.
type mstate struct {
	Generation         int64
	ObservedGeneration int64
	Ready              bool
	Source             orgrbacv1alpha1.RoleSource
	Markers            []string
	ResourceVersion    string
}

// readyAs reports whether the membership is resolved for its current spec, Ready,
// with the given source.
func (s *mstate) readyAs(src orgrbacv1alpha1.RoleSource) bool {
	return s.Ready && s.ObservedGeneration == s.Generation && s.Source == src
}

// hasMarker reports whether status.permissions holds the marker permission.
func (s *mstate) hasMarker(marker string) bool { return slices.Contains(s.Markers, marker) }

// compact shrinks a cached Membership to what the tracker reads, so that the
// benchmark's own cache of 100k memberships stays small.
func compact(obj any) (any, error) {
	m, ok := obj.(*orgrbacv1alpha1.Membership)
	if !ok {
		return obj, nil
	}
	out := &orgrbacv1alpha1.Membership{ObjectMeta: metav1.ObjectMeta{
		Namespace: m.Namespace, Name: m.Name, ResourceVersion: m.ResourceVersion, Generation: m.Generation,
	}}
	out.Status.ObservedGeneration = m.Status.ObservedGeneration
	out.Status.Source = m.Status.Source
	if c := meta.FindStatusCondition(m.Status.Conditions, orgrbacv1alpha1.ConditionReady); c != nil {
		out.Status.Conditions = []metav1.Condition{{Type: c.Type, Status: c.Status}}
	}
	for _, p := range m.Status.Permissions {
		if strings.HasPrefix(p, markerPrefix) {
			out.Status.Permissions = append(out.Status.Permissions, p)
		}
	}
	return out, nil
}

func stateOf(m *orgrbacv1alpha1.Membership) *mstate {
	return &mstate{
		Generation:         m.Generation,
		ObservedGeneration: m.Status.ObservedGeneration,
		Ready:              meta.IsStatusConditionTrue(m.Status.Conditions, orgrbacv1alpha1.ConditionReady),
		Source:             m.Status.Source,
		Markers:            m.Status.Permissions,
		ResourceVersion:    m.ResourceVersion,
	}
}

// goal waits for a set of memberships to satisfy a predicate, recording when the
// tracker first saw each one satisfy it.
type goal struct {
	pred    func(name string, s *mstate) bool
	start   time.Time
	pending map[string]struct{}
	times   []time.Duration
	done    chan struct{}
}

// tracker follows every membership of the namespace through an informer.
type tracker struct {
	mu      sync.Mutex
	states  map[string]*mstate
	updates map[string]int // resourceVersion changes per membership since resetUpdates
	goal    *goal
}

// startTracker starts a cache of compacted memberships of ns and feeds the tracker
// from its informer. The cache runs until ctx ends.
func startTracker(ctx context.Context, cfg *rest.Config, scheme *runtime.Scheme, ns string) (*tracker, error) {
	c, err := cache.New(cfg, cache.Options{
		Scheme:            scheme,
		DefaultNamespaces: map[string]cache.Config{ns: {}},
		ByObject:          map[client.Object]cache.ByObject{&orgrbacv1alpha1.Membership{}: {Transform: compact}},
	})
	if err != nil {
		return nil, fmt.Errorf("creating the membership cache: %w", err)
	}
	inf, err := c.GetInformer(ctx, &orgrbacv1alpha1.Membership{})
	if err != nil {
		return nil, fmt.Errorf("getting the membership informer: %w", err)
	}
	t := &tracker{states: map[string]*mstate{}, updates: map[string]int{}}
	if _, err := inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { t.observe(obj) },
		UpdateFunc: func(_, obj any) { t.observe(obj) },
		DeleteFunc: func(obj any) {
			if m, ok := obj.(*orgrbacv1alpha1.Membership); ok {
				t.mu.Lock()
				delete(t.states, m.Name)
				t.mu.Unlock()
			}
		},
	}); err != nil {
		return nil, fmt.Errorf("watching memberships: %w", err)
	}
	go func() { _ = c.Start(ctx) }()
	if !c.WaitForCacheSync(ctx) {
		return nil, fmt.Errorf("the membership cache did not sync: %w", ctx.Err())
	}
	return t, nil
}

func (t *tracker) observe(obj any) {
	m, ok := obj.(*orgrbacv1alpha1.Membership)
	if !ok {
		return
	}
	s := stateOf(m)
	now := time.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	if old, ok := t.states[m.Name]; ok && old.ResourceVersion != s.ResourceVersion {
		t.updates[m.Name]++
	}
	t.states[m.Name] = s
	if g := t.goal; g != nil {
		if _, waiting := g.pending[m.Name]; waiting && g.pred(m.Name, s) {
			g.satisfied(m.Name, now)
		}
	}
}

func (g *goal) satisfied(name string, at time.Time) {
	delete(g.pending, name)
	g.times = append(g.times, at.Sub(g.start))
	if len(g.pending) == 0 {
		close(g.done)
	}
}

// resetUpdates zeroes the per-membership write counts.
func (t *tracker) resetUpdates() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.updates = map[string]int{}
}

// updateCounts returns how many memberships changed since resetUpdates and how
// many changes there were in all.
func (t *tracker) updateCounts() (objects, changes int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, n := range t.updates {
		objects++
		changes += n
	}
	return objects, changes
}

// await sets the goal that every membership in names satisfies pred, counting
// time from start. Memberships that satisfy it already count as satisfied at 0.
// Only one goal is active at a time.
func (t *tracker) await(names []string, start time.Time, pred func(name string, s *mstate) bool) *goal {
	g := &goal{pred: pred, start: start, pending: make(map[string]struct{}, len(names)), done: make(chan struct{})}
	for _, n := range names {
		g.pending[n] = struct{}{}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, n := range names {
		if s, ok := t.states[n]; ok && pred(n, s) {
			delete(g.pending, n)
			g.times = append(g.times, 0)
		}
	}
	if len(g.pending) == 0 {
		close(g.done)
	}
	t.goal = g
	return g
}

// wait blocks until the goal is met, reporting progress every 15 seconds, and
// returns the sorted times at which each membership satisfied it.
func (t *tracker) wait(ctx context.Context, g *goal, timeout time.Duration, what string) ([]time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(15 * time.Second)
	defer tick.Stop()
	defer func() {
		t.mu.Lock()
		if t.goal == g {
			t.goal = nil
		}
		t.mu.Unlock()
	}()
	for {
		select {
		case <-g.done:
			t.mu.Lock()
			times := slices.Clone(g.times)
			t.mu.Unlock()
			slices.Sort(times)
			return times, nil
		case <-tick.C:
			t.mu.Lock()
			left, sample := len(g.pending), ""
			for n := range g.pending {
				sample = n
				break
			}
			t.mu.Unlock()
			logf("  %s: %d left after %s (e.g. %s)", what, left, time.Since(g.start).Round(time.Second), sample)
		case <-ctx.Done():
			t.mu.Lock()
			left := len(g.pending)
			t.mu.Unlock()
			return nil, fmt.Errorf("%s: %d memberships still pending after %s: %w", what, left, timeout, ctx.Err())
		}
	}
}

// percentile returns the p-th percentile (0..100) of sorted durations.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted)-1) * p / 100)
	return sorted[i]
}
