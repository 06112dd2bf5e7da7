#!/bin/sh
# Client benchmark: what the helper adds to each real client command
# (kubectl, git, docker, terraform on PATH) on a warm cache, against the same
# token given statically; median and p95 over RUNS (default 30) interleaved
# runs, and how many times each client runs the helper per command. Builds
# the helper exactly as install.sh does (the front door and the full helper
# into one folder).
set -eu
cd "$(dirname "$0")/.."
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
case "$(go env GOOS)" in darwin) cgo=1 ;; *) cgo=0 ;; esac
CGO_ENABLED=$cgo go build -trimpath -ldflags "-s -w" -o "$out/" . ./cmd/authos-credential-helper-full
CGO_ENABLED=$cgo go build -trimpath -ldflags "-s -w" -o "$out/nullhelper" ./bench/clients/nullhelper
go run ./bench/clients -bin "$out/authos-credential-helper" -null "$out/nullhelper" -runs "${RUNS:-30}"
