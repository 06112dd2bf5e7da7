#!/bin/sh
# Builds and installs authos-credential-helper from this checkout.
#   ./install.sh [--prefix DIR]     (default DIR: ~/.local; binaries go to DIR/bin)
# Needs only Go. Idempotent: running it again replaces the binaries and
# leaves everything else alone. It never touches client configuration.
set -eu

prefix="${HOME}/.local"
while [ $# -gt 0 ]; do
	case "$1" in
	--prefix) [ $# -ge 2 ] || { echo "install.sh: --prefix needs a directory" >&2; exit 2; }; prefix="$2"; shift 2 ;;
	--prefix=*) prefix="${1#--prefix=}"; shift ;;
	-h|--help) sed -n '2,5p' "$0"; exit 0 ;;
	*) echo "install.sh: unknown argument $1" >&2; exit 2 ;;
	esac
done

command -v go >/dev/null 2>&1 || { echo "install.sh: Go is needed (https://go.dev/dl/)" >&2; exit 1; }
cd "$(dirname "$0")"

version=$(git describe --tags --always --dirty 2>/dev/null || echo 0.1.0-dev)
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
# cgo only where a keyring needs it (the macOS Keychain); elsewhere a static
# binary starts about 1 ms faster (no dynamic loader).
case "$(go env GOOS)" in
darwin) cgo=1 ;;
*) cgo=0 ;;
esac

bindir="$prefix/bin"
mkdir -p "$bindir"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
CGO_ENABLED=$cgo go build -trimpath \
	-ldflags "-s -w -X github.com/authos/authos-credential-helper/internal/version.Version=$version -X github.com/authos/authos-credential-helper/internal/version.Commit=$commit" \
	-o "$tmp/authos-credential-helper" .
# Replace atomically so a running git fetch never sees a half-written binary.
mv -f "$tmp/authos-credential-helper" "$bindir/authos-credential-helper"
echo "installed $bindir/authos-credential-helper ($version)"

case ":${PATH}:" in
*":$bindir:"*) ;;
*) echo "note: $bindir is not on your PATH; add it, e.g. export PATH=\"$bindir:\$PATH\"" ;;
esac
