#!/bin/sh
# Start-up benchmark: cache hits (every protocol, 1 and 1,000 profiles), unknown
# hosts and `version` against hello-world, as ms and ratios, median and
# p95 over RUNS (default 300) interleaved runs, and peak RSS. Builds the helper
# exactly as install.sh does (on Linux the front door and the full helper,
# into one folder: the front door hands the full helper what it does not
# answer).
set -eu
cd "$(dirname "$0")/.."
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
case "$(go env GOOS)" in darwin) cgo=1 ;; *) cgo=0 ;; esac
CGO_ENABLED=$cgo go build -trimpath -ldflags "-s -w" -o "$out/" . ./cmd/authos-credential-helper-full
CGO_ENABLED=$cgo go build -trimpath -ldflags "-s -w" -o "$out/hello" ./bench/hello
go run ./bench/startup -bin "$out/authos-credential-helper" -hello "$out/hello" -runs "${RUNS:-300}"
