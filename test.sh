#!/usr/bin/env bash
# Runs every check CI runs, in both Go modules: the root (the product and its
# unit tests, fuzz seeds included) and e2e/ (the end-to-end tests against the
# built binary, its dev server and the real clients, whose libraries are that
# module's requirements only). go.mod and go.sum as go mod tidy leaves them,
# formatting, vet, staticcheck, the tests with the race detector; then each
# fuzz target of the root briefly (FUZZTIME, default 20000 inputs: an
# iteration budget, since a time budget can end a run with a spurious
# "context deadline exceeded").
# The unit suite alone: go test ./...  (at the top; seconds once built).
# On a fresh Debian machine it first installs what the tests need (as root,
# or through sudo).
set -euo pipefail
cd "$(dirname "$0")"

command -v go >/dev/null || { echo "test.sh: Go is needed (https://go.dev/dl/)" >&2; exit 1; }

# Debian packages the tests use: git (the real git client, and module
# fetches by VCS), a D-Bus session bus and gnome-keyring (a real Secret
# Service), GNU time (bench/startup's peak RSS), Chromium (the activation
# pages in a real browser; screenshots land in test-artifacts/), rpm (the
# release check lists the .rpm it builds).
need=()
command -v git >/dev/null || need+=(git)
command -v dbus-run-session >/dev/null || need+=(dbus-daemon)
command -v gnome-keyring-daemon >/dev/null || need+=(gnome-keyring)
[ -x /usr/bin/time ] || need+=(time)
command -v chromium >/dev/null || need+=(chromium) # the activation pages' browser tests
# the completion scripts run in each shell, the man page renders
command -v zsh >/dev/null || need+=(zsh)
command -v fish >/dev/null || need+=(fish)
command -v groff >/dev/null || need+=(groff-base)
command -v man >/dev/null || need+=(man-db)
command -v rpm >/dev/null || need+=(rpm) # .ci/release-check lists the .rpm's contents
if [ ${#need[@]} -gt 0 ]; then
	sudo=""
	[ "$(id -u)" = 0 ] || sudo=sudo
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi

modules=(. e2e)
for m in "${modules[@]}"; do (cd "$m" && go mod download); done
# The release tools (GoReleaser, cyclonedx-gomod) build beside the tests:
# on a fresh machine that is minutes of downloading and compiling, which the
# end-to-end tests' waiting hides. The release check at the end waits for it.
tools_log=$(mktemp)
trap 'rm -f "$tools_log"' EXIT
tools_pid=
if [ "${RELEASE_CHECK:-1}" != 0 ]; then
	.ci/release-check --tools >"$tools_log" 2>&1 &
	tools_pid=$!
fi
for m in "${modules[@]}"; do
	if ! (cd "$m" && go mod tidy -diff) >&2; then
		echo "test.sh: $m/go.mod or $m/go.sum is not what go mod tidy makes (diff or error above); run: (cd $m && go mod tidy)" >&2
		exit 1
	fi
done
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
	echo "gofmt would change:" >&2
	echo "$unformatted" >&2
	exit 1
fi
for m in "${modules[@]}"; do
	(cd "$m" && go vet ./... && go run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...)
done
go test -race -count=1 ./...
(cd e2e && go test -race -count=1 ./...)
echo "test.sh: screenshots of the activation pages are in test-artifacts/"

# Each decoder of client input, and setup's JSON and YAML editors, fuzzed
# briefly beyond their seeds.
for pkg in protocol internal/setup internal/config internal/termsafe helper; do
	for target in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' $pkg/*_test.go | cut -c6-); do
		go test -run='^$' -fuzz="^${target}\$" -fuzztime="${FUZZTIME:-20000x}" ./$pkg/
	done
done
go test -run='^$' -fuzz='^FuzzString$' -fuzztime="${FUZZTIME:-20000x}" ./internal/redact/
# The release: goreleaser check, a linux/amd64 snapshot and its smoke test, cross-compiles for macOS and Windows (RELEASE_CHECK=0 skips it).
if [ -n "$tools_pid" ] && ! wait "$tools_pid"; then
	cat "$tools_log" >&2
	echo "test.sh: building the release tools failed (above)" >&2
	exit 1
fi
.ci/release-check
