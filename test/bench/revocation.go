package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/client"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
	"github.com/orgrbac/orgrbac/internal/resolve"
)

// ensureCaller sets up the decision API's caller once: ServiceAccount, RoleBinding
// to api-caller, tokens, and waits until the API answers it (the first
// SubjectAccessReview may precede the RoleBinding reaching the authorizer; a
// denial is cached for 10 s).
func (b *bench) ensureCaller(ctx context.Context) error {
	if b.api != nil {
		return nil
	}
	cs, err := kubernetes.NewForConfig(b.cl.Config())
	if err != nil {
		return fmt.Errorf("creating a clientset: %w", err)
	}
	tokens, err := setupCaller(ctx, cs, b.cfg.repo, b.w.Namespace, b.cfg.apiTokens)
	if err != nil {
		return err
	}
	hc, err := newAPIHTTPClient(b.certPEM, 256)
	if err != nil {
		return err
	}
	a := &apiCaller{http: hc, url: b.mgr.apiURL, tokens: tokens}
	m := b.w.Memberships[0]
	q := checkRequest{Organization: m.Spec.Organization, User: m.Spec.User, Permission: "none:none"}
	deadline := time.Now().Add(time.Minute)
	for {
		_, err := a.check(ctx, q)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the decision API does not answer the benchmark's ServiceAccount: %w", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
	b.api = a
	return nil
}

// resolution resolves the generated world with the pure resolver once.
func (b *bench) resolution() []resolve.Result {
	if b.resolved == nil {
		_, b.resolved = resolveAll(b.w)
	}
	return b.resolved
}

// holdersByRole lists, for every environment role, the active and Ready
// memberships (indexes into w.Memberships) that hold it.
func holdersByRole(results []resolve.Result) map[string][]int {
	out := map[string][]int{}
	for i, r := range results {
		if !r.Ready || !r.Active {
			continue
		}
		for _, role := range r.Roles {
			out[role] = append(out[role], i)
		}
	}
	return out
}

// revocationRole picks the role of the revocation trials: the environment role,
// other than the excluded ones, with the most holders (the lowest slug on a tie).
func revocationRole(holders map[string][]int, isEnvRole func(string) bool, exclude ...string) (string, []int) {
	best := ""
	for _, slug := range slices.Sorted(maps.Keys(holders)) {
		if !isEnvRole(slug) || slices.Contains(exclude, slug) {
			continue
		}
		if best == "" || len(holders[slug]) > len(holders[best]) {
			best = slug
		}
	}
	return best, holders[best]
}

// spread picks up to n items of list, evenly spaced.
func spread[T any](list []T, n int) []T {
	if len(list) <= n {
		return slices.Clone(list)
	}
	out := make([]T, 0, n)
	for i := range n {
		out = append(out, list[i*len(list)/n])
	}
	return out
}

// pollUntil asks the decision API about each query until its answer's allowed
// equals want, and returns for each query the time since start at which it
// first did. Queries are split over at most workers goroutines, each asking
// every pollEvery.
func (b *bench) pollUntil(ctx context.Context, qs []checkRequest, want bool, start time.Time,
	timeout time.Duration, workers int) ([]time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	out := make([]time.Duration, len(qs))
	var mu sync.Mutex
	var first error
	var wg sync.WaitGroup
	for w := range min(workers, len(qs)) {
		wg.Go(func() {
			var pending []int
			for i := w; i < len(qs); i += workers {
				pending = append(pending, i)
			}
			for len(pending) > 0 {
				i := pending[0]
				ans, err := b.api.check(ctx, qs[i])
				now := time.Now()
				switch {
				case ctx.Err() != nil:
					mu.Lock()
					if first == nil {
						first = fmt.Errorf("%d queries still not %v after %s: %w", len(pending), want, timeout, ctx.Err())
					}
					mu.Unlock()
					return
				case err != nil:
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
					cancel()
					return
				case ans.Allowed == want:
					out[i] = now.Sub(start)
					pending = pending[1:]
					continue
				}
				pending = append(pending[1:], i) // round robin
				select {
				case <-ctx.Done():
				case <-time.After(pollEvery):
				}
			}
		})
	}
	wg.Wait()
	return out, first
}

// setRolePermission adds or removes permission from an environment Role.
func (b *bench) setRolePermission(ctx context.Context, slug, permission string, present bool) error {
	var role orgrbacv1alpha1.Role
	if err := b.c.Get(ctx, types.NamespacedName{Namespace: b.w.Namespace, Name: slug}, &role); err != nil {
		return fmt.Errorf("reading role %s: %w", slug, err)
	}
	patched := role.DeepCopy()
	perms := slices.DeleteFunc(slices.Clone(role.Spec.Permissions), func(p string) bool { return p == permission })
	if present {
		perms = append(perms, permission)
	}
	patched.Spec.Permissions = perms
	if err := b.c.Patch(ctx, patched, client.MergeFrom(&role)); err != nil {
		return fmt.Errorf("editing role %s: %w", slug, err)
	}
	return nil
}

// createMarkerPermission creates the Permission object of a marker slug.
func (b *bench) createMarkerPermission(ctx context.Context, marker string) error {
	perm := &orgrbacv1alpha1.Permission{
		ObjectMeta: metav1.ObjectMeta{Namespace: b.w.Namespace, Name: strings.NewReplacer(":", "-").Replace(marker)},
		Spec:       orgrbacv1alpha1.PermissionSpec{Slug: marker},
	}
	if err := b.c.Create(ctx, perm); err != nil {
		return fmt.Errorf("creating permission %s: %w", marker, err)
	}
	return nil
}

// queriesFor builds the /v1/check questions about memberships (indexes into
// w.Memberships) for one permission.
func (b *bench) queriesFor(idx []int, permission string) []checkRequest {
	qs := make([]checkRequest, 0, len(idx))
	for _, i := range idx {
		m := b.w.Memberships[i]
		qs = append(qs, checkRequest{Organization: m.Spec.Organization, User: m.Spec.User, Permission: permission})
	}
	return qs
}

// Polling of the revocation phase: each poller asks every pollEvery, a few
// hundred checks per second in all, so that the polling does not slow the
// manager it measures. At fan-out scale 4 pollers share 64 sampled memberships
// (each asked about every 0.16 s); in the trials each of the 8 sampled has its
// own poller.
const (
	pollEvery            = 10 * time.Millisecond
	fullScaleSample      = 64
	fullScalePollers     = 4
	trialSample          = 8
	trialTimeout         = 5 * time.Minute
	revocationMarkerName = "revoke-"
)

// revocation measures how long the decision API keeps allowing a permission
// after it is removed from a role:
//
//   - at fan-out scale, once: the fan-out's permission is removed from the
//     fan-out role (held by ~10k memberships); the API is polled for a sample of
//     them until each denies, and the statuses are followed until all lost it;
//   - in trials (--revocation-trials): a marker permission of the most-held
//     other environment role is removed, the API polled for a sample of its
//     holders until all deny, then restored and polled until all allow.
func (b *bench) revocation(ctx context.Context) error {
	if err := b.ensureCaller(ctx); err != nil {
		return err
	}
	r := &revocationResult{}
	b.res.Revocation = r
	if b.res.FanOut != nil {
		if err := b.revokeFullScale(ctx, r); err != nil {
			return err
		}
	} else {
		logf("  the fan-out did not run: no revocation at fan-out scale")
	}
	return b.revocationTrials(ctx, r)
}

func (b *bench) revokeFullScale(ctx context.Context, r *revocationResult) error {
	marker := markerPrefix + "fanout-" + strconv.FormatUint(b.cfg.seed, 10)
	names := b.w.fanOutNames()
	byName := make(map[string]int, len(b.w.Memberships))
	for i, m := range b.w.Memberships {
		byName[m.Name] = i
	}
	var sample []int
	for _, n := range spread(names, fullScaleSample) {
		sample = append(sample, byName[n])
	}
	qs := b.queriesFor(sample, marker)
	if _, err := b.waitQuiet(ctx); err != nil {
		return err
	}
	cpu0 := b.cpu.read()
	t0 := time.Now()
	g := b.t.await(names, t0, func(_ string, s *mstate) bool { return !s.hasMarker(marker) })
	if err := b.setRolePermission(ctx, fanOutRole, marker, false); err != nil {
		return err
	}
	denied, err := b.pollUntil(ctx, qs, false, t0, b.cfg.timeout, fullScalePollers)
	if err != nil {
		return fmt.Errorf("revocation at fan-out scale: %w", err)
	}
	times, err := b.t.wait(ctx, g, b.cfg.timeout, "revocation at fan-out scale")
	if err != nil {
		return err
	}
	slices.Sort(denied)
	f := &fullScaleRevocation{
		Holders:             len(names),
		Sampled:             len(qs),
		DeniedP50Seconds:    round3(percentile(denied, 50).Seconds()),
		DeniedP99Seconds:    round3(percentile(denied, 99).Seconds()),
		DeniedMaxSeconds:    round3(denied[len(denied)-1].Seconds()),
		StatusesSeconds:     round3(times[len(times)-1].Seconds()),
		StatusesP50Seconds:  round3(percentile(times, 50).Seconds()),
		CPUSeconds:          roundAll(delta(cpu0, b.cpu.read())),
		PollIntervalSeconds: round3((pollEvery * time.Duration(fullScaleSample/fullScalePollers)).Seconds()),
	}
	r.FullScale = f
	logf("  fan-out scale: %d of %d holders sampled deny after p50 %.2f s, p99 %.2f s; every status after %.1f s",
		f.Sampled, f.Holders, f.DeniedP50Seconds, f.DeniedP99Seconds, f.StatusesSeconds)
	return nil
}

func (b *bench) revocationTrials(ctx context.Context, r *revocationResult) error {
	if b.cfg.revocationTrials == 0 {
		return nil
	}
	results := b.resolution()
	envRoles := map[string]bool{}
	for _, role := range b.w.Roles {
		envRoles[role.Spec.Slug] = true
	}
	slug, holders := revocationRole(holdersByRole(results), func(s string) bool { return envRoles[s] },
		orgrbacv1alpha1.DefaultRoleSlug, fanOutRole)
	if slug == "" {
		return errors.New("no environment role to revoke from")
	}
	names := make([]string, 0, len(holders))
	for _, i := range holders {
		names = append(names, b.w.Memberships[i].Name)
	}
	marker := markerPrefix + revocationMarkerName + strconv.FormatUint(b.cfg.seed, 10)
	logf("  trials on role %s (%d holders), permission %s", slug, len(holders), marker)

	// Give the role the marker, and wait until every holder's status shows it.
	if err := b.createMarkerPermission(ctx, marker); err != nil {
		return err
	}
	g := b.t.await(names, time.Now(), func(_ string, s *mstate) bool { return s.hasMarker(marker) })
	if err := b.setRolePermission(ctx, slug, marker, true); err != nil {
		return err
	}
	if _, err := b.t.wait(ctx, g, b.cfg.timeout, "revocation setup"); err != nil {
		return err
	}
	if _, err := b.waitQuiet(ctx); err != nil {
		return err
	}
	qs := b.queriesFor(spread(holders, trialSample), marker)
	if _, err := b.pollUntil(ctx, qs, true, time.Now(), time.Minute, len(qs)); err != nil {
		return fmt.Errorf("the API does not allow %s before the trials: %w", marker, err)
	}

	t := &revocationTrials{Role: slug, Holders: len(holders), Sampled: len(qs)}
	cpu0 := b.cpu.read()
	var deny, allow []time.Duration
	for i := range b.cfg.revocationTrials {
		t0 := time.Now()
		if err := b.setRolePermission(ctx, slug, marker, false); err != nil {
			return err
		}
		d, err := b.pollUntil(ctx, qs, false, t0, trialTimeout, len(qs))
		if err != nil {
			return fmt.Errorf("trial %d, denial: %w", i+1, err)
		}
		t1 := time.Now()
		if err := b.setRolePermission(ctx, slug, marker, true); err != nil {
			return err
		}
		a, err := b.pollUntil(ctx, qs, true, t1, trialTimeout, len(qs))
		if err != nil {
			return fmt.Errorf("trial %d, allow again: %w", i+1, err)
		}
		deny = append(deny, slices.Max(d))
		allow = append(allow, slices.Max(a))
	}
	t.CPUSeconds = roundAll(delta(cpu0, b.cpu.read()))
	t.Trials = len(deny)
	t.DenySeconds = secondsOf(deny)
	slices.Sort(deny)
	slices.Sort(allow)
	t.DenyP50Seconds, t.DenyP99Seconds = round3(percentile(deny, 50).Seconds()), round3(percentile(deny, 99).Seconds())
	t.DenyMaxSeconds = round3(deny[len(deny)-1].Seconds())
	t.AllowP50Seconds, t.AllowP99Seconds = round3(percentile(allow, 50).Seconds()), round3(percentile(allow, 99).Seconds())
	r.Trials = t
	logf("  %d trials: denied after p50 %.3f s, p99 %.3f s (max %.3f s); allowed again after p50 %.3f s, p99 %.3f s",
		t.Trials, t.DenyP50Seconds, t.DenyP99Seconds, t.DenyMaxSeconds, t.AllowP50Seconds, t.AllowP99Seconds)

	// The role holds the marker again: wait for the statuses to settle.
	g = b.t.await(names, time.Now(), func(_ string, s *mstate) bool { return s.hasMarker(marker) })
	if _, err := b.t.wait(ctx, g, b.cfg.timeout, "revocation settle"); err != nil {
		return err
	}
	_, err := b.waitQuiet(ctx)
	return err
}

// secondsOf converts durations to rounded seconds.
func secondsOf(ds []time.Duration) []float64 {
	out := make([]float64, len(ds))
	for i, d := range ds {
		out[i] = round3(d.Seconds())
	}
	return out
}
