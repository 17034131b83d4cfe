/*
Copyright 2026 The orgrbac Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

package resolve

import (
	"fmt"
	"testing"
)

// benchInput is an environment with 200 roles of 10 permissions each, and one
// organization with 20 organization roles and 50 group mappings.
func benchInput(multipleRoles bool) Input {
	in := Input{
		Environments:  []Environment{{Meta: meta("env", 0), DefaultRole: "role-0", RolePriority: []string{"role-150", "role-3"}, MultipleRoles: multipleRoles}},
		Organizations: []Organization{{Meta: meta("acme", 0), RolePriority: []string{"org-role-7", "role-42"}}},
	}
	for i := range 200 {
		perms := make([]string, 10)
		for j := range perms {
			perms[j] = fmt.Sprintf("resource-%d:action-%d", (i+j)%37, j)
		}
		in.Roles = append(in.Roles, role(fmt.Sprintf("role-%d", i), i, fmt.Sprintf("role-%d", i), perms...))
	}
	for i := range 20 {
		in.OrganizationRoles = append(in.OrganizationRoles,
			orgRole(fmt.Sprintf("acme-org-role-%d", i), i, "acme", fmt.Sprintf("org-role-%d", i), "org:read", fmt.Sprintf("org:%d", i)))
	}
	for i := range 50 {
		src := SourceDirectory
		if i%2 == 1 {
			src = SourceSSO
		}
		target := fmt.Sprintf("role-%d", i*4)
		if i%5 == 0 {
			target = fmt.Sprintf("org-role-%d", i%20)
		}
		in.GroupMappings = append(in.GroupMappings, mapping("acme", src, fmt.Sprintf("group-%d", i%25), target))
	}
	return in
}

// BenchmarkResolve resolves one membership in three directory groups (one of
// which maps to two roles) against a compiled environment.
func BenchmarkResolve(b *testing.B) {
	m := Membership{
		Meta: meta("m", 0), Organization: "acme", User: "alice",
		Roles:           []string{"role-10", "role-11"},
		DirectoryGroups: []string{"group-4", "group-10", "group-0"},
		SSOGroups:       []string{"group-1"},
	}
	for _, multipleRoles := range []bool{false, true} {
		env := Compile(benchInput(multipleRoles))
		if r := env.Resolve(m); !r.Ready || r.Source != SourceDirectory {
			b.Fatalf("unexpected result: %+v", r)
		}
		b.Run(fmt.Sprintf("multipleRoles=%v", multipleRoles), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				env.Resolve(m)
			}
		})
	}
}

// BenchmarkCompile compiles the environment of BenchmarkResolve.
func BenchmarkCompile(b *testing.B) {
	in := benchInput(true)
	b.ReportAllocs()
	for b.Loop() {
		Compile(in)
	}
}
