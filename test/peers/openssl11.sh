#!/bin/sh
# Builds OpenSSL 1.1.1 as shared libraries (libssl.so.1.1, libcrypto.so.1.1)
# and its openssl CLI into the cache, for the live test of the sensor's
# libssl.so.1.1 uprobes (test/live/tlsLegacySpans.test.ts). Debian 12 has
# no libssl1.1 package; the Rust crate openssl-src (versions 111.x) bundles
# the 1.1.1 source, and crates.io serves it with a checksum in its index.
#
# Prints one line, in test/peers/prepare.sh's format:
#   openssl11=<cache>/openssl-<version>     lib/libssl.so.1.1, lib/libcrypto.so.1.1,
#                                           include/openssl, bin/openssl (rpath set)
# A marker file says the build finished: a warm run only checks it and
# prints the line. Cold, it downloads 5 MB and builds with make -j$(nproc):
# 75 s to 3 min on our 2-core VM, depending on its other load (about
# 100 s of CPU; measured 2026-11-23).
# Progress goes to stderr, only when something builds. The cache is
# $HYDROPHONE_CACHE, else $XDG_CACHE_HOME/hydrophone, else ~/.cache/hydrophone.
#
# usage: sh test/peers/openssl11.sh
set -eu
cache=${HYDROPHONE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/hydrophone}
# The last 1.1.1 release (1.1.1w, September 2023), as the crate packs it.
crate=openssl-src
version=111.28.2+1.1.1w
openssl=${version#*+}
dest="$cache/openssl-$openssl"

if [ -f "$dest/.ready" ]; then
	echo "openssl11=$dest"
	exit 0
fi
for tool in curl sha256sum tar perl make cc; do
	command -v "$tool" >/dev/null || { echo "openssl11: $tool is missing (on Debian: apt-get install curl coreutils tar perl make gcc)" >&2; exit 1; }
done
mkdir -p "$cache"
# Two runs at once would build into the same prefix: the second waits.
if command -v flock >/dev/null && [ -z "${HP_OPENSSL11_LOCKED:-}" ]; then
	HP_OPENSSL11_LOCKED=1 exec flock "$cache/openssl-$openssl.lock" sh "$0"
fi
[ ! -f "$dest/.ready" ] || { echo "openssl11=$dest"; exit 0; }

start=$(date +%s)
work=$(mktemp -d "$cache/openssl-$openssl.build.XXXXXX")
trap 'rm -rf "$work"' EXIT

# The checksum cargo would check: the sparse index's line for this version.
# (Prefixes of the index path: first two letters, next two.)
index=$(curl -sSfL "https://index.crates.io/op/en/$crate") || { echo "openssl11: cannot read the crates.io index (https://index.crates.io/op/en/$crate)" >&2; exit 1; }
# One JSON object a line; mirrors differ in spacing, so no exact key match.
sum=$(printf '%s\n' "$index" | grep -F "\"$version\"" | sed -n 's/.*"cksum": *"\([0-9a-f]\{64\}\)".*/\1/p' | head -1)
[ -n "$sum" ] || { echo "openssl11: $crate $version is not in the crates.io index: pick a 111.x version listed there" >&2; exit 1; }

echo "openssl11: downloading $crate $version" >&2
encoded=$(printf '%s' "$version" | sed 's/+/%2B/g')
# The API answers with a redirect to static.crates.io; where crates.io
# itself does not resolve, the static host alone still serves the file.
got=
for url in "https://crates.io/api/v1/crates/$crate/$encoded/download" "https://static.crates.io/crates/$crate/$crate-$encoded.crate"; do
	if curl -sSfL --retry 2 -o "$work/crate.tar.gz" "$url" 2>"$work/curl.err"; then got=$url; break; fi
done
[ -n "$got" ] || { echo "openssl11: download failed: $(cat "$work/curl.err")" >&2; exit 1; }
actual=$(sha256sum "$work/crate.tar.gz" | cut -d' ' -f1)
if [ "$actual" != "$sum" ]; then
	echo "openssl11: $got: sha256 $actual, the index says $sum: refusing to build it" >&2
	exit 1
fi
tar -xzf "$work/crate.tar.gz" -C "$work"
src="$work/$crate-$version/openssl"
[ -x "$src/config" ] || { echo "openssl11: no openssl/config in the crate" >&2; exit 1; }

echo "openssl11: building OpenSSL $openssl (shared, no tests) into $dest" >&2
rm -rf "$dest"
# rpath: bin/openssl finds this libssl.so.1.1, not the system's 3.
(cd "$src" && ./config shared no-tests --prefix="$dest" --openssldir="$dest/ssl" "-Wl,-rpath,$dest/lib" >"$work/config.log" 2>&1) ||
	{ tail -20 "$work/config.log" >&2; echo "openssl11: ./config failed" >&2; exit 1; }
(cd "$src" && make -j"$(nproc)" >"$work/make.log" 2>&1 && make install_sw >>"$work/make.log" 2>&1) ||
	{ tail -30 "$work/make.log" >&2; echo "openssl11: make failed" >&2; exit 1; }
for f in lib/libssl.so.1.1 lib/libcrypto.so.1.1 bin/openssl; do
	[ -f "$dest/$f" ] || { echo "openssl11: $dest/$f missing after make install_sw" >&2; exit 1; }
done
"$dest/bin/openssl" version >&2
touch "$dest/.ready"
echo "openssl11: built $dest in $(( $(date +%s) - start )) s" >&2
echo "openssl11=$dest"
