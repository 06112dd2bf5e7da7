#!/bin/sh
# Plugin benchmark: a token through a started authos-credential-plugin, plugin
# start + first call, and exec-ing `token`, median and p95 over RUNS (default
# 300) interleaved runs. Builds the binaries exactly as install.sh does (the
# helper's front door and full helper into one folder, beside the plugin).
set -eu
cd "$(dirname "$0")/.."
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
case "$(go env GOOS)" in darwin) cgo=1 ;; *) cgo=0 ;; esac
CGO_ENABLED=$cgo go build -trimpath -ldflags "-s -w" -o "$out/" . ./cmd/authos-credential-helper-full ./cmd/authos-credential-plugin
go run ./bench/plugin -bin "$out/authos-credential-helper" -plugin "$out/authos-credential-plugin" -runs "${RUNS:-300}"
