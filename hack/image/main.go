// Command imagetool builds reproducible OCI image tarballs without Docker, for
// `make image`.
//
//	imagetool build -ref localhost/orgrbac/manager:TAG -file bin/rootfs/manager=/manager \
//	    -entrypoint /manager -label org.opencontainers.image.title=manager \
//	    -created 1767225600 -o bin/images/manager.tar
//	imagetool list -o bin/images/images.json bin/images/manager.tar ...
//
// build writes one image, FROM scratch, with a single layer holding the given
// files, as an OCI image-layout tarball whose index entry carries the
// reference (io.containerd.image.name) and its tag
// (org.opencontainers.image.ref.name): `ctr images import` keeps the manifest
// digest, which build prints as <ref>@<digest>. Every timestamp (file mtimes,
// config and history creation, the created label) is -created, so the same
// inputs give the same digest.
//
// list reads the index of each tarball and writes a JSON array of
// {"name","ref","digest","file"}.
package main

import (
	"archive/tar"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "build":
		err = runBuild(os.Args[2:])
	case "list":
		err = runList(os.Args[2:])
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "imagetool %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: imagetool build [flags] | imagetool list -o images.json FILE.tar...")
	os.Exit(2)
}

// multiFlag collects a repeated string flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func runBuild(args []string) error {
	fs := flag.NewFlagSet("build", flag.ExitOnError)
	var files, entrypoint, cmd, labels, env multiFlag
	fs.Var(&files, "file", "HOST=IMAGE: copy the host file HOST to the absolute path IMAGE (repeatable; executables keep mode 0755, others get 0644, owner root)")
	fs.Var(&entrypoint, "entrypoint", "one element of the entrypoint (repeatable, in order)")
	fs.Var(&cmd, "cmd", "one element of the default arguments (repeatable, in order)")
	fs.Var(&labels, "label", "KEY=VALUE config label (repeatable)")
	fs.Var(&env, "env", "KEY=VALUE environment variable (repeatable)")
	ref := fs.String("ref", "", "the image reference, e.g. localhost/orgrbac/manager:dev-0123456789ab (required)")
	user := fs.String("user", "65532:65532", "the user the image runs as")
	workdir := fs.String("workdir", "/", "the working directory")
	created := fs.String("created", os.Getenv("SOURCE_DATE_EPOCH"), "creation time in Unix seconds, used for every timestamp (default $SOURCE_DATE_EPOCH)")
	goos := fs.String("os", "linux", "the image's OS")
	arch := fs.String("arch", runtime.GOARCH, "the image's architecture")
	out := fs.String("o", "", "the tarball to write (required)")
	_ = fs.Parse(args)
	if fs.NArg() != 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if *ref == "" || *out == "" || len(files) == 0 {
		return errors.New("-ref, -o and at least one -file are required")
	}
	if *created == "" {
		return errors.New("-created (or SOURCE_DATE_EPOCH) is required: the image's timestamps come from it")
	}
	secs, err := strconv.ParseInt(*created, 10, 64)
	if err != nil {
		return fmt.Errorf("-created %q: not Unix seconds", *created)
	}

	spec := imageSpec{
		Ref:        *ref,
		Entrypoint: entrypoint,
		Cmd:        cmd,
		User:       *user,
		WorkingDir: *workdir,
		Env:        env,
		Labels:     map[string]string{},
		Created:    time.Unix(secs, 0).UTC(),
		Platform:   v1.Platform{OS: *goos, Architecture: *arch},
	}
	for _, f := range files {
		host, dst, ok := strings.Cut(f, "=")
		if !ok || host == "" || !path.IsAbs(dst) {
			return fmt.Errorf("-file %q: want HOST=/absolute/path/in/image", f)
		}
		spec.Files = append(spec.Files, fileSpec{Host: host, Path: dst})
	}
	for _, l := range labels {
		k, v, ok := strings.Cut(l, "=")
		if !ok || k == "" {
			return fmt.Errorf("-label %q: want KEY=VALUE", l)
		}
		spec.Labels[k] = v
	}

	digest, err := writeImage(spec, *out)
	if err != nil {
		return err
	}
	fmt.Printf("%s@%s\n", spec.Ref, digest)
	return nil
}

// entry is one line of images.json.
type entry struct {
	Name   string `json:"name"`
	Ref    string `json:"ref"`
	Digest string `json:"digest"`
	File   string `json:"file"`
}

func runList(args []string) error {
	fs := flag.NewFlagSet("list", flag.ExitOnError)
	out := fs.String("o", "", "the JSON file to write (default: standard output)")
	_ = fs.Parse(args)
	entries := []entry{}
	for _, file := range fs.Args() {
		abs, err := filepath.Abs(file)
		if err != nil {
			return err
		}
		idx, err := readIndex(abs)
		if err != nil {
			return fmt.Errorf("%s: %w", file, err)
		}
		if len(idx.Manifests) != 1 {
			return fmt.Errorf("%s: index has %d manifests, want 1", file, len(idx.Manifests))
		}
		m := idx.Manifests[0]
		entries = append(entries, entry{
			Name:   strings.TrimSuffix(filepath.Base(file), ".tar"),
			Ref:    m.Annotations[annotationImageName],
			Digest: m.Digest.String(),
			File:   abs,
		})
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name < entries[j].Name })
	data, err := json.MarshalIndent(entries, "", "  ")
	if err != nil {
		return err
	}
	data = append(data, '\n')
	if *out == "" {
		_, err = os.Stdout.Write(data)
		return err
	}
	return writeFileAtomic(*out, data)
}

// readIndex reads index.json out of an OCI image-layout tarball.
func readIndex(file string) (*v1.IndexManifest, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil, errors.New("no index.json: not an OCI image-layout tarball")
		}
		if err != nil {
			return nil, err
		}
		if path.Clean(h.Name) == "index.json" {
			return v1.ParseIndexManifest(tr)
		}
	}
}

func writeFileAtomic(name string, data []byte) error {
	tmp := name + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, name)
}
