module github.com/orgrbac/orgrbac/test/workos-go

go 1.26.0

require github.com/workos/workos-go/v9 v9.6.0

require (
	github.com/google/go-querystring v1.2.0 // indirect
	github.com/google/uuid v1.6.0 // indirect
)
