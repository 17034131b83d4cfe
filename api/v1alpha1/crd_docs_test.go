package v1alpha1_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/yaml"
)

// TestCRDDescriptions checks the text kubectl explain shows for every field of
// every CRD generated into config/crd/bases (run make manifests after editing a
// doc comment): each property has a description that starts with its JSON name,
// kubebuilder style ("slug is ..."); a defaulted field states its default, an
// enum field names its values and an immutable field says so.
func TestCRDDescriptions(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "..", "config", "crd", "bases", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no CRDs in config/crd/bases: run make manifests")
	}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var crd apiextensionsv1.CustomResourceDefinition
		if err := yaml.UnmarshalStrict(src, &crd); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if len(crd.Spec.Versions) == 0 {
			t.Errorf("%s: no versions", f)
		}
		for _, v := range crd.Spec.Versions {
			if v.Schema == nil || v.Schema.OpenAPIV3Schema == nil {
				t.Errorf("%s %s: no schema", crd.Name, v.Name)
				continue
			}
			root := v.Schema.OpenAPIV3Schema
			if strings.TrimSpace(root.Description) == "" {
				t.Errorf("%s %s: the kind has no description", crd.Name, v.Name)
			}
			for _, p := range describe(crd.Spec.Names.Kind, root, true) {
				t.Errorf("%s %s: %s", crd.Name, v.Name, p)
			}
		}
	}
}

// describe returns the problems of the descriptions of s's properties, and of
// their properties and list items, recursively; path names s.
func describe(path string, s *apiextensionsv1.JSONSchemaProps, root bool) []string {
	var problems []string
	names := make([]string, 0, len(s.Properties))
	for name := range s.Properties {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		p := s.Properties[name]
		at := path + "." + name
		if root && slices.Contains([]string{"apiVersion", "kind", "metadata"}, name) {
			// Kubernetes' standard text ("APIVersion defines ...", "Kind is ..."),
			// and metadata's, which kubectl explain takes from ObjectMeta.
			continue
		}
		problems = append(problems, describeField(at, name, &p)...)
		problems = append(problems, describe(at, &p, false)...)
		if p.Items != nil && p.Items.Schema != nil {
			problems = append(problems, describe(at+"[]", p.Items.Schema, false)...)
		}
	}
	return problems
}

// describeField returns the problems of one property's description.
func describeField(at, name string, p *apiextensionsv1.JSONSchemaProps) []string {
	d := p.Description
	if strings.TrimSpace(d) == "" {
		return []string{at + ": no description (write a doc comment on the Go field)"}
	}
	var problems []string
	if !strings.HasPrefix(d, name+" ") {
		problems = append(problems, fmt.Sprintf("%s: the description does not start with %q: %q", at, name+" ", firstLine(d)))
	}
	if p.Default != nil {
		var def any
		if err := json.Unmarshal(p.Default.Raw, &def); err != nil {
			problems = append(problems, fmt.Sprintf("%s: default %s: %v", at, p.Default.Raw, err))
		} else if !strings.Contains(strings.ToLower(d), "default") || !strings.Contains(d, fmt.Sprint(def)) {
			problems = append(problems, fmt.Sprintf("%s: the description does not give the default %v", at, def))
		}
	}
	for _, e := range p.Enum {
		var v any
		if err := json.Unmarshal(e.Raw, &v); err == nil && !strings.Contains(d, fmt.Sprint(v)) {
			problems = append(problems, fmt.Sprintf("%s: the description does not name the value %v", at, v))
		}
	}
	for _, r := range p.XValidations {
		if r.Rule == "self == oldSelf" && !strings.Contains(d, "Immutable") {
			problems = append(problems, at+": immutable, and the description does not say so (\"Immutable.\")")
		}
	}
	return problems
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// TestDescribeFindsProblems keeps the check above honest: it reports each kind
// of bad description, and nothing for good ones.
func TestDescribeFindsProblems(t *testing.T) {
	raw := func(s string) apiextensionsv1.JSON { return apiextensionsv1.JSON{Raw: []byte(s)} }
	def := raw(`"Active"`)
	schema := &apiextensionsv1.JSONSchemaProps{Properties: map[string]apiextensionsv1.JSONSchemaProps{
		"apiVersion": {Description: "APIVersion defines the versioned schema."},
		"metadata":   {},
		"spec": {Description: "spec is fine.", Properties: map[string]apiextensionsv1.JSONSchemaProps{
			"missing": {},
			"capital": {Description: "Capital is not the JSON name."},
			"slugs":   {Description: "slugsies is another name."},
			"state":   {Description: "state is Active or Inactive.", Default: &def, Enum: []apiextensionsv1.JSON{raw(`"Active"`), raw(`"Inactive"`)}},
			"source":  {Description: "source is Directory.", Enum: []apiextensionsv1.JSON{raw(`"Directory"`), raw(`"SSO"`)}},
			"user":    {Description: "user is fixed.", XValidations: apiextensionsv1.ValidationRules{{Rule: "self == oldSelf"}}},
			"good":    {Description: "good is fine. Defaults to Active. Immutable.", Default: &def, XValidations: apiextensionsv1.ValidationRules{{Rule: "self == oldSelf"}}},
			"assigned": {Description: "assigned is a list.", Items: &apiextensionsv1.JSONSchemaPropsOrArray{Schema: &apiextensionsv1.JSONSchemaProps{
				Properties: map[string]apiextensionsv1.JSONSchemaProps{"role": {Description: "the role."}}}}},
		}},
	}}
	got := describe("Thing", schema, true)
	for _, want := range []string{
		"Thing.spec.missing: no description",
		"Thing.spec.capital: the description does not start with",
		"Thing.spec.slugs: the description does not start with",
		"Thing.spec.state: the description does not give the default Active",
		"Thing.spec.source: the description does not name the value SSO",
		"Thing.spec.user: immutable",
		"Thing.spec.assigned[].role: the description does not start with",
	} {
		if !slices.ContainsFunc(got, func(p string) bool { return strings.HasPrefix(p, want) }) {
			t.Errorf("no problem %q in %q", want, got)
		}
	}
	if len(got) != 7 {
		t.Errorf("want 7 problems, got %d: %q", len(got), got)
	}
}
