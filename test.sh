#!/usr/bin/env bash
# Runs every check CI runs: formatting, vet, staticcheck, all tests (unit,
# fuzz seeds, end-to-end against the built binary, its dev server and the real
# clients), then each fuzz target briefly (FUZZTIME, default 20000 inputs: an
# iteration budget, since a time budget can end a run with a spurious
# "context deadline exceeded").
# On a fresh Debian machine it first installs what the tests need (as root,
# or through sudo).
set -euo pipefail
cd "$(dirname "$0")"

command -v go >/dev/null || { echo "test.sh: Go is needed (https://go.dev/dl/)" >&2; exit 1; }

# Debian packages the tests use: git (the real git client, and module
# fetches by VCS), a D-Bus session bus and gnome-keyring (a real Secret
# Service), GNU time (bench/startup's peak RSS), Chromium (the activation
# pages in a real browser; screenshots land in test-artifacts/).
need=()
command -v git >/dev/null || need+=(git)
command -v dbus-run-session >/dev/null || need+=(dbus-daemon)
command -v gnome-keyring-daemon >/dev/null || need+=(gnome-keyring)
[ -x /usr/bin/time ] || need+=(time)
command -v chromium >/dev/null || need+=(chromium) # the activation pages' browser tests
if [ ${#need[@]} -gt 0 ]; then
	sudo=""
	[ "$(id -u)" = 0 ] || sudo=sudo
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi

go mod download
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
	echo "gofmt would change:" >&2
	echo "$unformatted" >&2
	exit 1
fi
go vet ./...
go run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...
go test -race -count=1 ./...
echo "test.sh: screenshots of the activation pages are in test-artifacts/"

# Each decoder of client input, fuzzed briefly beyond its seeds.
for target in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' protocol/*_test.go | cut -c6-); do
	go test -run='^$' -fuzz="^${target}\$" -fuzztime="${FUZZTIME:-20000x}" ./protocol/
done
go test -run='^$' -fuzz='^FuzzString$' -fuzztime="${FUZZTIME:-20000x}" ./internal/redact/
# The release: goreleaser check, a linux/amd64 snapshot and its smoke test, cross-compiles for macOS and Windows (RELEASE_CHECK=0 skips it).
.ci/release-check
