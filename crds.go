// Package orgrbac embeds the orgrbac CustomResourceDefinitions, generated into
// config/crd/bases, so that Go programs and tests can install them without the
// source tree. Use pkg/orgrbactest in tests.
package orgrbac

import "embed"

// CRDFiles holds config/crd/bases/*.yaml.
//
//go:embed config/crd/bases/*.yaml
var CRDFiles embed.FS
