package authz

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/orgrbac/orgrbac/internal/publish"
)

// ErrNotLoaded is returned by FileSource.Check before a snapshot was loaded.
var ErrNotLoaded = errors.New("no snapshot loaded yet")

// ErrStale is recorded when the directory holds an older revision than the one
// in memory; the newer one is kept, for at most FileSourceOptions.StaleGrace.
var ErrStale = errors.New("stale snapshot")

// ErrTooOld is returned by FileSource.Check when the loaded snapshot was last
// confirmed current longer ago than FileSourceOptions.MaxStaleness.
var ErrTooOld = errors.New("snapshot too old")

// DefaultStaleGrace is how long the directory must hold an older revision than
// the one in memory before a FileSource loads it (FileSourceOptions.StaleGrace).
const DefaultStaleGrace = 2 * time.Minute

// dataLink is the symlink through which kubelet swaps a ConfigMap volume's
// content atomically.
const dataLink = "..data"

// FileSourceOptions tune a FileSource.
type FileSourceOptions struct {
	// Debounce is how long to wait after a change in the directory before
	// reloading, so that a burst of events costs one read (100ms when zero).
	Debounce time.Duration
	// Resync reloads periodically even without events, as a safety net
	// (one minute when zero, never when negative).
	Resync time.Duration
	// OnReload, when set, is called after every reload attempt with the revision
	// in memory and the attempt's error (nil on success).
	OnReload func(revision int64, err error)
	// MaxStaleness, when positive, bounds how old the loaded snapshot may be:
	// once the publisher last confirmed it current (its publishedAt, refreshed
	// every 10 minutes while nothing changes) longer ago than this, Check returns
	// ErrTooOld and Allowed false, so a workload whose publisher stopped, or
	// whose volume misses shards, denies instead of granting from stale data. A
	// snapshot without publishedAt (an operator older than this library) counts
	// as too old. Choose at least 15 minutes: the refresh interval plus kubelet's
	// volume sync delay.
	MaxStaleness time.Duration
	// StaleGrace is how long the directory must keep holding a revision lower
	// than the one in memory before it is loaded anyway (DefaultStaleGrace when
	// zero; never when negative). The publisher only goes back when it restarts
	// its revisions (the Environment's Published condition says RevisionReset),
	// for example after a forged snapshot with an absurd revision: without this,
	// one forged revision would pin every reader until it restarts.
	StaleGrace time.Duration

	// now is the clock (time.Now when nil); tests set it.
	now func() time.Time
}

// FileSource answers from the snapshot mounted in a directory: the ConfigMap
// orgrbac-permissions and its shards projected into one volume, or any
// directory holding their files.
//
// Call Run to load the snapshot and follow its changes. A bad, torn or older
// snapshot never replaces the good one in memory; Err reports why.
type FileSource struct {
	dir  string
	opts FileSourceOptions

	current atomic.Pointer[decisions]

	mu  sync.Mutex // serializes reloads and guards err and lowerSince
	err error
	// lowerSince is when the directory started holding revisions lower than
	// the one in memory (zero when it does not).
	lowerSince time.Time
}

// NewFileSource returns a source reading dir. Nothing is read until Reload or Run.
func NewFileSource(dir string, opts FileSourceOptions) *FileSource {
	if opts.Debounce <= 0 {
		opts.Debounce = 100 * time.Millisecond
	}
	if opts.Resync == 0 {
		opts.Resync = time.Minute
	}
	if opts.StaleGrace == 0 {
		opts.StaleGrace = DefaultStaleGrace
	}
	if opts.now == nil {
		opts.now = time.Now
	}
	return &FileSource{dir: dir, opts: opts}
}

// tooOld reports whether d is older than MaxStaleness allows.
func (s *FileSource) tooOld(d *decisions) bool {
	return s.opts.MaxStaleness > 0 && (d.publishedAt.IsZero() || s.opts.now().Sub(d.publishedAt) > s.opts.MaxStaleness)
}

// Allowed reports whether user of org (its name or external id) holds
// permission in the loaded snapshot; false before one is loaded, and once it is
// older than MaxStaleness. It is safe for concurrent use and does not allocate.
func (s *FileSource) Allowed(org, user, permission string) bool {
	d := s.current.Load()
	return d != nil && !s.tooOld(d) && d.allowed(org, user, permission)
}

// Check implements Decider: ErrNotLoaded before a snapshot is loaded, ErrTooOld
// once it is older than MaxStaleness.
func (s *FileSource) Check(_ context.Context, org, user, permission string) (bool, error) {
	d := s.current.Load()
	if d == nil {
		return false, ErrNotLoaded
	}
	if s.tooOld(d) {
		return false, fmt.Errorf("%w: revision %d in %s was last confirmed current at %s, more than %s ago",
			ErrTooOld, d.snapshot.Revision, s.dir, publishedAtString(d.publishedAt), s.opts.MaxStaleness)
	}
	return d.allowed(org, user, permission), nil
}

func publishedAtString(t time.Time) string {
	if t.IsZero() {
		return "an unknown time (no publishedAt)"
	}
	return t.UTC().Format(time.RFC3339)
}

// PublishedAt is when the publisher last confirmed the loaded snapshot current
// (its publishedAt); zero when none is loaded or it carries no time.
func (s *FileSource) PublishedAt() time.Time {
	if d := s.current.Load(); d != nil {
		return d.publishedAt
	}
	return time.Time{}
}

// Age is how long ago the loaded snapshot was last confirmed current, for
// readiness probes and metrics; 0 when PublishedAt is zero.
func (s *FileSource) Age() time.Duration {
	at := s.PublishedAt()
	if at.IsZero() {
		return 0
	}
	return s.opts.now().Sub(at)
}

// Ready reports whether a snapshot is loaded.
func (s *FileSource) Ready() bool { return s.current.Load() != nil }

// Revision is the revision of the loaded snapshot, 0 when none is.
func (s *FileSource) Revision() int64 {
	if d := s.current.Load(); d != nil {
		return d.snapshot.Revision
	}
	return 0
}

// Snapshot returns the loaded snapshot (nil when none is). It is shared: do
// not modify it.
func (s *FileSource) Snapshot() *Snapshot {
	if d := s.current.Load(); d != nil {
		return d.snapshot
	}
	return nil
}

// Err returns the error of the last reload, nil when it succeeded.
func (s *FileSource) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Reload reads the directory now. On success the snapshot in memory is replaced
// when the directory holds a newer revision; on failure, or when the directory
// holds an older revision (ErrStale), the snapshot in memory is kept. The
// error is also kept for Err.
func (s *FileSource) Reload() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	err := s.reload()
	s.err = err
	if s.opts.OnReload != nil {
		rev := int64(0)
		if d := s.current.Load(); d != nil {
			rev = d.snapshot.Revision
		}
		s.opts.OnReload(rev, err)
	}
	return err
}

func (s *FileSource) reload() error {
	files, err := readDir(s.dir)
	if err != nil {
		return err
	}
	snap, info, err := publish.DecodeInfo(files)
	if err != nil {
		return fmt.Errorf("reading the snapshot in %s: %w", s.dir, err)
	}
	if cur := s.current.Load(); cur != nil {
		switch {
		case snap.Revision < cur.snapshot.Revision:
			now := s.opts.now()
			if s.lowerSince.IsZero() {
				s.lowerSince = now
			}
			if s.opts.StaleGrace < 0 || now.Sub(s.lowerSince) < s.opts.StaleGrace {
				return fmt.Errorf("%w: %s holds revision %d, revision %d is loaded", ErrStale, s.dir, snap.Revision, cur.snapshot.Revision)
			}
			// The publisher restarted its revisions (or repaired a forgery
			// with an absurd one) StaleGrace ago: follow it.
		case snap.Revision == cur.snapshot.Revision:
			s.lowerSince = time.Time{}
			if info.PublishedAt.After(cur.publishedAt) {
				// The same snapshot, confirmed current again.
				refreshed := *cur
				refreshed.publishedAt = info.PublishedAt
				s.current.Store(&refreshed)
			}
			return nil
		}
	}
	s.lowerSince = time.Time{}
	d := compile(snap)
	d.publishedAt = info.PublishedAt
	s.current.Store(d)
	return nil
}

// readDir reads the regular files of dir, following kubelet's ..data link when
// there is one so that every file comes from the same atomic update.
func readDir(dir string) (map[string][]byte, error) {
	root := dir
	if target, err := filepath.EvalSymlinks(filepath.Join(dir, dataLink)); err == nil {
		root = target
	}
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", dir, err)
	}
	files := make(map[string][]byte, len(entries))
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, "..") || !strings.HasSuffix(name, ".json") {
			continue
		}
		path := filepath.Join(root, name)
		info, err := os.Stat(path)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				continue // removed while listing
			}
			return nil, fmt.Errorf("reading %s: %w", path, err)
		}
		if !info.Mode().IsRegular() {
			continue
		}
		data, err := os.ReadFile(path) //nolint:gosec // the workload names the directory it mounted
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", path, err)
		}
		files[name] = data
	}
	return files, nil
}

// Run loads the snapshot and reloads it whenever the directory changes, until
// ctx is done. It watches the directory itself, not the files, so kubelet's
// atomic ..data swaps are seen; every event restarts a debounce timer. A failed
// load does not stop Run (see Err); only a directory that cannot be watched does.
func (s *FileSource) Run(ctx context.Context) error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("watching %s: %w", s.dir, err)
	}
	defer func() { _ = w.Close() }()
	if err := w.Add(s.dir); err != nil {
		return fmt.Errorf("watching %s: %w", s.dir, err)
	}
	_ = s.Reload() // recorded for Err

	debounce := time.NewTimer(s.opts.Debounce)
	debounce.Stop()
	defer debounce.Stop()
	var resync <-chan time.Time
	if s.opts.Resync > 0 {
		t := time.NewTicker(s.opts.Resync)
		defer t.Stop()
		resync = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case _, ok := <-w.Events:
			if !ok {
				return fmt.Errorf("watching %s: the watcher closed", s.dir)
			}
			debounce.Reset(s.opts.Debounce)
		case err, ok := <-w.Errors:
			if !ok {
				return fmt.Errorf("watching %s: the watcher closed", s.dir)
			}
			// Events may have been lost (e.g. a queue overflow): read again.
			s.mu.Lock()
			s.err = fmt.Errorf("watching %s: %w", s.dir, err)
			s.mu.Unlock()
			debounce.Reset(s.opts.Debounce)
		case <-debounce.C:
			_ = s.Reload()
		case <-resync:
			_ = s.Reload()
		}
	}
}
