#!/bin/sh
# Builds and installs authos-credential-helper from this checkout.
#   ./install.sh [--prefix DIR] [--run]
#   ./install.sh --from FILE.tar.gz [--checksums FILE] [--prefix DIR] [--run]
# DIR defaults to ~/.local (binaries go to DIR/bin). --run then runs the main
# job: sign in and get a token, against the built-in dev server (auto-approved
# as alice@acme.example) when no AuthOS server is configured; that demo then
# logs out and leaves no key in the kernel keyring.
# Needs only Go. Idempotent: running it again replaces the binaries and
# leaves everything else alone. It never touches client configuration.
# On Linux authos-credential-helper is a small front door that answers cache
# hits and hands everything else to authos-credential-helper-full, which must
# sit beside it: both are installed (the full helper first, so a new front
# door never starts without it).
# --from installs a release archive instead, without Go, after checking it
# against checksums.txt beside it (or --checksums FILE).
set -eu

prefix="${HOME}/.local"
run=0
from=
checksums=
while [ $# -gt 0 ]; do
	case "$1" in
	--prefix) [ $# -ge 2 ] || { echo "install.sh: --prefix needs a directory" >&2; exit 2; }; prefix="$2"; shift 2 ;;
	--prefix=*) prefix="${1#--prefix=}"; shift ;;
	--run) run=1; shift ;;
	--from) [ $# -ge 2 ] || { echo "install.sh: --from needs a release archive" >&2; exit 2; }; from="$2"; shift 2 ;;
	--from=*) from="${1#--from=}"; shift ;;
	--checksums) [ $# -ge 2 ] || { echo "install.sh: --checksums needs a file" >&2; exit 2; }; checksums="$2"; shift 2 ;;
	--checksums=*) checksums="${1#--checksums=}"; shift ;;
	-h|--help) sed -n '2,12p' "$0"; exit 0 ;;
	*) echo "install.sh: unknown argument $1" >&2; exit 2 ;;
	esac
done
[ -n "$from" ] || [ -z "$checksums" ] || { echo "install.sh: --checksums goes with --from" >&2; exit 2; }
# Paths given relative to where we were started, before the cd below.
case "$from" in "" | /*) ;; *) from="$PWD/$from" ;; esac
case "$checksums" in "" | /*) ;; *) checksums="$PWD/$checksums" ;; esac

[ -n "$from" ] || command -v go >/dev/null 2>&1 || { echo "install.sh: Go is needed (https://go.dev/dl/)" >&2; exit 1; }
cd "$(dirname "$0")"

version=$(git describe --tags --always --dirty 2>/dev/null || echo 0.1.0-dev)
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
# The OS the binaries are for: this one (an archive must run here).
if [ -n "$from" ]; then
	goos=$(uname -s | tr '[:upper:]' '[:lower:]')
else
	goos=$(go env GOOS)
fi
# cgo only where a keyring needs it (the macOS Keychain); elsewhere a static
# binary starts about 1 ms faster (no dynamic loader).
case "$goos" in
darwin) cgo=1 ;;
*) cgo=0 ;;
esac
# What is installed, in this order: on Linux the full helper before the
# front door that runs it.
names="authos-credential-helper authos-credential-plugin"
[ "$goos" != linux ] || names="authos-credential-helper-full $names"

bindir="$prefix/bin"
mkdir -p "$bindir"
tmp=$(mktemp -d)
server_pid=
demo=0
# The demo's keys in the Linux kernel keyring, one "id name" line each: the
# data key's kernel copy, and the data key itself when the keyctl backend
# holds it. Both are named after the demo's token folder (the hash is
# internal/wiring's shortHash), and would outlive $tmp. Keys invalidated,
# revoked or dead (flags i, R, D) are on their way out.
demo_keys() {
	[ -r /proc/keys ] && command -v sha256sum >/dev/null 2>&1 || return 0
	item="cache-key-$(printf %s "$XDG_CACHE_HOME/authos-credential-helper/tokens" | sha256sum | cut -c1-16)"
	awk -v a="$item:" -v b="authos-credential-helper:$item:" \
		'$8 == "user" && ($9 == a || $9 == b) && $2 !~ /[iRD]/ { print $1, substr($9, 1, length($9) - 1) }' /proc/keys
}
# forget_demo_keys removes what logout left of them, where keyctl (Debian's
# keyutils) is installed.
forget_demo_keys() {
	command -v keyctl >/dev/null 2>&1 || return 0
	demo_keys | while read -r id name; do
		if keyctl invalidate "0x$id" >/dev/null 2>&1; then echo "removed the demo's kernel key $name"; fi
	done
}
cleanup() {
	[ "$demo" = 0 ] || forget_demo_keys || true
	[ -z "$server_pid" ] || kill "$server_pid" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT
# replace SRC DEST puts a complete copy of SRC beside DEST, then renames it
# over DEST: a rename within one directory is atomic, so a running git fetch
# never sees a half-written binary ($tmp may be on another file system, where
# mv would copy into DEST in place).
replace() {
	cp "$1" "$2.new.$$"
	chmod 755 "$2.new.$$"
	mv -f "$2.new.$$" "$2"
}

# The release archive's SHA-256 must match its line in checksums.txt, and its
# helper must run here, before anything in $bindir is replaced.
install_from_archive() {
	[ -f "$from" ] || { echo "install.sh: $from: no such file" >&2; exit 1; }
	case "$from" in
	*.tar.gz) ;;
	*.zip) echo "install.sh: $from is a Windows archive; unzip it, or use scoop" >&2; exit 1 ;;
	*) echo "install.sh: --from takes a release .tar.gz" >&2; exit 1 ;;
	esac
	sums=${checksums:-$(dirname "$from")/checksums.txt}
	[ -f "$sums" ] || { echo "install.sh: no $sums to check $from against; download checksums.txt from the same release, or give --checksums FILE" >&2; exit 1; }
	base=$(basename "$from")
	want=$(awk -v f="$base" '$2 == f || $2 == "*" f { print $1; exit }' "$sums")
	[ -n "$want" ] || { echo "install.sh: $base is not listed in $sums" >&2; exit 1; }
	if command -v sha256sum >/dev/null 2>&1; then
		got=$(sha256sum "$from" | cut -d' ' -f1)
	elif command -v shasum >/dev/null 2>&1; then
		got=$(shasum -a 256 "$from" | cut -d' ' -f1)
	else
		echo "install.sh: need sha256sum or shasum to check $from" >&2; exit 1
	fi
	[ "$got" = "$want" ] || { echo "install.sh: $from does not match $sums (sha256 $got, expected $want); not installed" >&2; exit 1; }
	echo "checked $base against $(basename "$sums"): sha256 $got"
	mkdir "$tmp/archive"
	tar -xzf "$from" -C "$tmp/archive"
	for name in $names; do
		[ -f "$tmp/archive/$name" ] && [ ! -L "$tmp/archive/$name" ] && continue
		case "$name" in
		authos-credential-helper-full) echo "install.sh: $base has no $name, which Linux needs beside authos-credential-helper (is it a Linux release archive?)" >&2 ;;
		*) echo "install.sh: $base has no $name" >&2 ;;
		esac
		exit 1
	done
	out=$("$tmp/archive/authos-credential-helper" version 2>&1) || { echo "install.sh: the helper in $base does not run here ($(uname -s)/$(uname -m)): $out" >&2; exit 1; }
	version=$(printf '%s\n' "$out" | sed -n '1s/^authos-credential-helper \([^ ]*\).*/\1/p')
	for name in $names; do
		replace "$tmp/archive/$name" "$bindir/$name"
		echo "installed $bindir/$name ($version)"
	done
}

ldflags="-s -w -X github.com/authos/authos-credential-helper/internal/version.Version=$version -X github.com/authos/authos-credential-helper/internal/version.Commit=$commit"
# The per-call helper (on Linux the front door and the full helper), and
# the go-plugin server Go programs start (tokensource); separate so gRPC
# never slows the helper's start.
if [ -n "$from" ]; then
	install_from_archive
else
	pkgs=
	for name in $names; do
		case "$name" in
		authos-credential-helper) pkgs="$pkgs ." ;;
		*) pkgs="$pkgs ./cmd/$name" ;;
		esac
	done
	# One go command, so the packages compile in parallel.
	# shellcheck disable=SC2086 # $pkgs is a list of words
	CGO_ENABLED=$cgo go build -trimpath -ldflags "$ldflags" -o "$tmp/" $pkgs
	for name in $names; do
		replace "$tmp/$name" "$bindir/$name"
		echo "installed $bindir/$name ($version)"
	done
fi
# The names git, docker and Terraform look for (setup puts Terraform's in its plugin dir).
for name in git-credential-authos docker-credential-authos terraform-credentials-authos; do
	link="$bindir/$name"
	if [ -L "$link" ] && [ "$(readlink "$link")" = authos-credential-helper ]; then
		continue
	fi
	if [ -e "$link" ] && [ ! -L "$link" ]; then
		echo "install.sh: $link exists and is not our symlink; left alone" >&2
		continue
	fi
	ln -sfn authos-credential-helper "$link"
	echo "linked $link -> authos-credential-helper"
done

case ":${PATH}:" in
*":$bindir:"*) ;;
*) echo "note: $bindir is not on your PATH; add it, e.g. export PATH=\"$bindir:\$PATH\"" ;;
esac

[ "$run" = 1 ] || exit 0

# The main job: a token for the configured identity, or for the dev server's.
bin="$bindir/authos-credential-helper"
config="${XDG_CONFIG_HOME:-$HOME/.config}/authos-credential-helper/config.toml"
if [ -z "${AUTHOS_SERVER:-}${AUTHOS_PROFILE:-}" ] && [ ! -f "$config" ]; then
	echo "no AuthOS server configured: starting the built-in dev server (it approves as alice@acme.example)"
	"$bin" dev-server --listen 127.0.0.1:0 --auto-approve alice@acme.example >"$tmp/server.out" 2>"$tmp/server.log" &
	server_pid=$!
	i=0
	until grep -q listening "$tmp/server.out" 2>/dev/null; do
		i=$((i + 1))
		[ "$i" -lt 100 ] || { cat "$tmp/server.log" >&2; echo "install.sh: the dev server did not start" >&2; exit 1; }
		sleep 0.1
	done
	AUTHOS_SERVER=$(sed -n 's/^authos dev server listening on //p' "$tmp/server.out")
	export AUTHOS_SERVER AUTHOS_ORG=acme AUTHOS_SERVICE=cli AUTHOS_CLIENT_ID=acme-cli
	# Keep the demo's cache out of the user's own.
	export XDG_CACHE_HOME="$tmp/cache" XDG_STATE_HOME="$tmp/state" XDG_DATA_HOME="$tmp/data" XDG_CONFIG_HOME="$tmp/config"
	demo=1
fi
echo "\$ authos-credential-helper token   (the token goes to stdout, here /dev/null)"
"$bin" token >/dev/null
echo "\$ authos-credential-helper token   (again: served from the encrypted cache, no network)"
"$bin" token >/dev/null
echo "\$ authos-credential-helper status"
"$bin" status

[ "$demo" = 1 ] || exit 0
# The demo leaves nothing behind: its session, its token, its keys.
echo "\$ authos-credential-helper logout --all   (the demo's sign-in ends here)"
"$bin" logout --all || true
# A key unlinked by logout stays listed in /proc/keys until the kernel's
# garbage collector has run, a moment later.
i=0
while [ -n "$(demo_keys)" ] && [ "$i" -lt 20 ]; do
	i=$((i + 1))
	sleep 0.1
done
forget_demo_keys
left=$(demo_keys)
if [ -n "$left" ]; then
	echo "install.sh: the demo's keys are still in the kernel keyring; to remove them (keyctl is in the keyutils package):" >&2
	echo "$left" | while read -r id name; do echo "  keyctl invalidate 0x$id   # $name" >&2; done
fi
