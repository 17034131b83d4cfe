module github.com/orgrbac/orgrbac/test/bench/library

go 1.26.0

require (
	github.com/casbin/casbin/v2 v2.135.0
	github.com/orgrbac/orgrbac v0.0.0
)

require (
	github.com/bmatcuk/doublestar/v4 v4.6.1 // indirect
	github.com/casbin/govaluate v1.3.0 // indirect
	github.com/fsnotify/fsnotify v1.10.1 // indirect
	github.com/go-jose/go-jose/v4 v4.1.9 // indirect
	github.com/google/uuid v1.6.0 // indirect
	golang.org/x/sys v0.47.0 // indirect
)

replace github.com/orgrbac/orgrbac => ../../..
