package main

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

const (
	// annotationImageName is the full reference containerd names an imported
	// image after.
	annotationImageName = "io.containerd.image.name"
	// annotationRefName is the OCI image-layout reference: the tag.
	annotationRefName = "org.opencontainers.image.ref.name"
	labelCreated      = "org.opencontainers.image.created"
)

// imageSpec is everything an image is made of.
type imageSpec struct {
	Ref        string
	Files      []fileSpec
	Entrypoint []string
	Cmd        []string
	User       string
	WorkingDir string
	Env        []string
	Labels     map[string]string
	Created    time.Time
	Platform   v1.Platform
}

type fileSpec struct {
	Host string // path on this machine
	Path string // absolute path in the image
}

// buildImage assembles the image: FROM scratch, one layer with the files,
// OCI media types, and every timestamp set to spec.Created.
func buildImage(spec imageSpec) (v1.Image, error) {
	raw, err := layerTar(spec.Files, spec.Created)
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(raw)), nil
	}, tarball.WithMediaType(types.OCILayer), tarball.WithCompressedCaching)
	if err != nil {
		return nil, fmt.Errorf("layer: %w", err)
	}

	created := v1.Time{Time: spec.Created}
	paths := make([]string, 0, len(spec.Files))
	for _, f := range spec.Files {
		paths = append(paths, f.Path)
	}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err = mutate.Append(img, mutate.Addendum{
		Layer: layer,
		History: v1.History{
			Created:   created,
			CreatedBy: "imagetool: COPY " + strings.Join(paths, " "),
			Comment:   "FROM scratch",
		},
	})
	if err != nil {
		return nil, err
	}

	labels := map[string]string{labelCreated: spec.Created.Format(time.RFC3339)}
	for k, v := range spec.Labels {
		labels[k] = v
	}
	img, err = mutate.Config(img, v1.Config{
		Entrypoint: spec.Entrypoint,
		Cmd:        spec.Cmd,
		User:       spec.User,
		WorkingDir: spec.WorkingDir,
		Env:        spec.Env,
		Labels:     labels,
	})
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS = spec.Platform.OS
	cf.Architecture = spec.Platform.Architecture
	cf.Variant = spec.Platform.Variant
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		return nil, err
	}
	return mutate.CreatedAt(img, created)
}

// writeImage writes the image as an OCI image-layout tarball at out and returns
// its manifest digest.
func writeImage(spec imageSpec, out string) (v1.Hash, error) {
	tag, err := name.NewTag(spec.Ref, name.StrictValidation)
	if err != nil {
		return v1.Hash{}, fmt.Errorf("reference %q: %w", spec.Ref, err)
	}
	img, err := buildImage(spec)
	if err != nil {
		return v1.Hash{}, err
	}
	digest, err := img.Digest()
	if err != nil {
		return v1.Hash{}, err
	}

	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return v1.Hash{}, err
	}
	dir, err := os.MkdirTemp(filepath.Dir(out), ".layout-")
	if err != nil {
		return v1.Hash{}, err
	}
	defer os.RemoveAll(dir)
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return v1.Hash{}, err
	}
	platform := spec.Platform
	if err := p.AppendImage(img,
		layout.WithPlatform(platform),
		layout.WithAnnotations(map[string]string{
			annotationImageName: tag.Name(),
			annotationRefName:   tag.TagStr(),
		}),
	); err != nil {
		return v1.Hash{}, fmt.Errorf("writing the image layout: %w", err)
	}

	tmp := out + ".tmp"
	if err := archiveDir(dir, tmp, spec.Created); err != nil {
		os.Remove(tmp)
		return v1.Hash{}, err
	}
	return digest, os.Rename(tmp, out)
}

// layerTar is the layer's uncompressed tar: the files, owned by root, with
// their parent directories, sorted, every mtime at t.
func layerTar(files []fileSpec, t time.Time) ([]byte, error) {
	dirs := map[string]bool{}
	byPath := map[string]string{}
	for _, f := range files {
		p := strings.TrimPrefix(path.Clean(f.Path), "/")
		if p == "" || p == "." {
			return nil, fmt.Errorf("%q is not a file path", f.Path)
		}
		if _, dup := byPath[p]; dup {
			return nil, fmt.Errorf("%q is given twice", f.Path)
		}
		byPath[p] = f.Host
		for d := path.Dir(p); d != "."; d = path.Dir(d) {
			dirs[d] = true
		}
	}
	names := make([]string, 0, len(dirs)+len(byPath))
	for d := range dirs {
		names = append(names, d+"/")
	}
	for p := range byPath {
		names = append(names, p)
	}
	sort.Strings(names)

	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, n := range names {
		if strings.HasSuffix(n, "/") {
			if err := tw.WriteHeader(header(n, tar.TypeDir, 0o755, 0, t)); err != nil {
				return nil, err
			}
			continue
		}
		data, mode, err := readHostFile(byPath[n])
		if err != nil {
			return nil, err
		}
		if err := tw.WriteHeader(header(n, tar.TypeReg, mode, int64(len(data)), t)); err != nil {
			return nil, err
		}
		if _, err := tw.Write(data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// readHostFile reads a regular file; the image keeps only whether it is
// executable.
func readHostFile(name string) ([]byte, int64, error) {
	st, err := os.Stat(name)
	if err != nil {
		return nil, 0, err
	}
	if !st.Mode().IsRegular() {
		return nil, 0, fmt.Errorf("%s is not a regular file", name)
	}
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, 0, err
	}
	if st.Mode().Perm()&0o111 != 0 {
		return data, 0o755, nil
	}
	return data, 0o644, nil
}

// header is a tar header with nothing from the machine that wrote it.
func header(name string, typ byte, mode, size int64, t time.Time) *tar.Header {
	return &tar.Header{
		Typeflag: typ,
		Name:     name,
		Mode:     mode,
		Size:     size,
		ModTime:  t,
		Format:   tar.FormatPAX,
	}
}

// archiveDir writes the image-layout folder dir as a tarball: regular files
// and folders only, sorted, owned by root, every mtime at t. go-containerregistry
// writes the layout (blobs, index.json, oci-layout) but has no writer for a
// layout tarball; this only packs its files.
func archiveDir(dir, out string, t time.Time) error {
	var names []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		switch {
		case d.IsDir():
			names = append(names, rel+"/")
		case d.Type().IsRegular():
			names = append(names, rel)
		default:
			return fmt.Errorf("%s: not a regular file", p)
		}
		return nil
	})
	if err != nil {
		return err
	}
	sort.Strings(names)

	f, err := os.Create(out)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(f)
	for _, n := range names {
		if strings.HasSuffix(n, "/") {
			if err := tw.WriteHeader(header(n, tar.TypeDir, 0o755, 0, t)); err != nil {
				f.Close()
				return err
			}
			continue
		}
		if err := copyInto(tw, filepath.Join(dir, filepath.FromSlash(n)), n, t); err != nil {
			f.Close()
			return err
		}
	}
	if err := tw.Close(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func copyInto(tw *tar.Writer, file, name string, t time.Time) error {
	src, err := os.Open(file)
	if err != nil {
		return err
	}
	defer src.Close()
	st, err := src.Stat()
	if err != nil {
		return err
	}
	if err := tw.WriteHeader(header(name, tar.TypeReg, 0o644, st.Size(), t)); err != nil {
		return err
	}
	_, err = io.Copy(tw, src)
	return err
}
