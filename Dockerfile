# Builds the orgrbac manager: the same binary `make image` puts in
# localhost/orgrbac/manager (bin/rootfs/manager), with the same flags: static,
# no paths, no VCS stamp, no symbols, no build ID, so it is byte-identical for a
# given commit, Go release and GOARCH. It runs as a non-root user on distroless.
# `make image` builds the images without Docker (docs/development.md, "Images").
#
# Base images are pinned by digest (nothing here can pull them to check):
# - golang:1.26 (Go 1.26.8, Debian trixie), the multi-platform index digest
#   published in docker-library/repo-info repos/golang/remote/1.26.md at commit
#   e243c7edb883107b26904e1bfd094b120b43b9a8 (image built 2026-09-01).
# - gcr.io/distroless/static:nonroot (= static-debian13:nonroot), the index
#   digest public Dockerfiles pinned in autumn 2026 (next to golang 1.26.8 and
#   1.27 pins); distroless publishes no dated digest list to cite.
FROM golang:1.26@sha256:94fd8220c2175e9e148561a10b45b41da2807a8f9b3b3c8cf9873ec23b576599 AS builder
ARG TARGETOS=linux
ARG TARGETARCH=amd64
WORKDIR /workspace
COPY go.mod go.sum ./
RUN go mod download
COPY api/ api/
COPY cmd/ cmd/
COPY internal/ internal/
COPY pkg/ pkg/
RUN CGO_ENABLED=0 GOOS=${TARGETOS} GOARCH=${TARGETARCH} \
    go build -trimpath -buildvcs=false -ldflags "-s -w -buildid=" -o manager ./cmd

FROM gcr.io/distroless/static:nonroot@sha256:e2e927ec666bae08560abb3c55d0659eceabb657f56b6782ab500a9fc7f555e3
LABEL org.opencontainers.image.source="https://github.com/orgrbac/orgrbac" \
      org.opencontainers.image.title="orgrbac manager"
WORKDIR /
COPY --from=builder /workspace/manager .
USER 65532:65532
ENTRYPOINT ["/manager"]
