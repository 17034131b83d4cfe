package testenv

import (
	"os"
	"path/filepath"
	"testing"
)

// Root finds the module's root from a package folder, and config/ is there.
func TestRoot(t *testing.T) {
	root, err := Root()
	if err != nil {
		t.Fatal(err)
	}
	want, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if root != want {
		t.Errorf("Root() = %s, want %s", root, want)
	}
	for _, dir := range []string{"config/crd/bases", "config/webhook"} {
		if _, err := os.Stat(filepath.Join(root, dir)); err != nil {
			t.Error(err)
		}
	}
}

func TestDeclares(t *testing.T) {
	for gomod, want := range map[string]bool{
		"module github.com/orgrbac/orgrbac\n\ngo 1.26\n": true,
		"// x\nmodule \"github.com/orgrbac/orgrbac\"\n":  true,
		"module github.com/orgrbac/orgrbac/test/chart\n": false,
		"require github.com/orgrbac/orgrbac v0.0.0\n":    false,
	} {
		if got := declares(gomod, modulePath); got != want {
			t.Errorf("declares(%q) = %v, want %v", gomod, got, want)
		}
	}
}
