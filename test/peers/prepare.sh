#!/bin/sh
# Builds the gRPC echo peers (see README.md) into the cache and prints
# where they are, one `name=path` a line:
#   go=<cache>/peers/go-<hash>/echo-peer        echo-peer server PORT | client HOST:PORT
#                                               | https-server PORT | https-client URL h1|h2
#   go_nodwarf=, go_pie=                        the same built with -ldflags=-w, -buildmode=pie
#   python=<cache>/peers/python-<hash>/bin/python   (a venv with grpcio; run python/echo.py)
#   python_grpcio_2022=                         the same with grpcio 1.50 (2022)
#   rustls=<cache>/peers/rust-<hash>/rustls-peer  https-server PORT CERT.der KEY.der
#                                               | https-client PORT CA.der (requests on stdin)
#   rustls_stripped=                            the same, stripped
# Each is keyed by a hash of what it is built from (sources, pins, toolchain
# version), so a warm run only hashes a few files and builds nothing. The
# Go module and build caches live in the same place, so a source change
# rebuilds in seconds. Progress goes to stderr, only when something builds.
# The cache is $HYDROPHONE_CACHE, else $XDG_CACHE_HOME/hydrophone, else ~/.cache/hydrophone.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
cache=${HYDROPHONE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/hydrophone}
mkdir -p "$cache/peers"

# ---- Go: one static binary, server and client ----
go=$(command -v go || true)
[ -n "$go" ] || [ ! -x /usr/local/go/bin/go ] || go=/usr/local/go/bin/go
if [ -z "$go" ]; then
	echo "prepare: no Go toolchain (need go >= 1.21 on PATH or in /usr/local/go; go.mod's toolchain comes from the module proxy)" >&2
	exit 1
fi
export GOMODCACHE="$cache/go/mod" GOCACHE="$cache/go/build" GOFLAGS="-mod=readonly -buildvcs=false" CGO_ENABLED=0
# In the module directory, so a go older than go.mod asks for switches (GOTOOLCHAIN=auto) first.
goversion=$(cd "$here/go" && "$go" env GOVERSION)
gokey=$( (cd "$here/go" && echo "$goversion" && cat go.mod go.sum ./*.go) | sha256sum | cut -c1-16)
gobin="$cache/peers/go-$gokey/echo-peer"
if [ ! -x "$gobin" ]; then
	echo "prepare: building the Go echo peer ($goversion)" >&2
	start=$(date +%s)
	mkdir -p "$(dirname "$gobin")"
	# The same program twice more for the Go TLS uprobes: without DWARF
	# (-w: reported, not traced) and position-independent (addresses move
	# by the load base). Built first: echo-peer's presence says all three are.
	(cd "$here/go" && "$go" build -trimpath -ldflags=-w -o "$gobin-nodwarf" .)
	(cd "$here/go" && "$go" build -trimpath -buildmode=pie -o "$gobin-pie" .)
	(cd "$here/go" && "$go" build -trimpath -o "$gobin.tmp.$$" .)
	mv -f "$gobin.tmp.$$" "$gobin"
	echo "prepare: built $gobin in $(( $(date +%s) - start )) s" >&2
fi

# ---- Rust: HTTPS over rustls (the rustls uprobes) ----
cargo=$(command -v cargo || true)
[ -n "$cargo" ] || [ ! -x "$HOME/.cargo/bin/cargo" ] || cargo=$HOME/.cargo/bin/cargo
if [ -z "$cargo" ]; then
	echo "prepare: no Rust toolchain (need cargo >= 1.71 on PATH or in ~/.cargo/bin; crates come from crates.io)" >&2
	exit 1
fi
export CARGO_HOME="$cache/cargo" CARGO_TARGET_DIR="$cache/cargo-target"
rustversion=$("$cargo" --version) || { echo "prepare: $cargo --version failed" >&2; exit 1; }
rustkey=$( (cd "$here/rust" && echo "$rustversion" && cat Cargo.toml Cargo.lock src/*.rs) | sha256sum | cut -c1-16)
rustbin="$cache/peers/rust-$rustkey/rustls-peer"
if [ ! -x "$rustbin" ]; then
	echo "prepare: building the rustls peer ($rustversion)" >&2
	start=$(date +%s)
	mkdir -p "$(dirname "$rustbin")"
	(cd "$here/rust" && PATH="$(dirname "$cargo"):$PATH" "$cargo" build --release --locked --quiet) >&2
	# And stripped (reported, not traced). Made first: rustls-peer's presence says both are.
	strip -o "$rustbin-stripped" "$CARGO_TARGET_DIR/release/rustls-peer"
	cp "$CARGO_TARGET_DIR/release/rustls-peer" "$rustbin.tmp.$$"
	mv -f "$rustbin.tmp.$$" "$rustbin"
	echo "prepare: built $rustbin in $(( $(date +%s) - start )) s" >&2
fi

# ---- Python: venvs with pinned grpcio (wheels only) ----
python=$(command -v python3 || true)
if [ -z "$python" ]; then
	echo "prepare: no python3 on PATH" >&2
	exit 1
fi
pyversion=$("$python" -c 'import sys; print(sys.executable, sys.version)')
# pyvenv REQUIREMENTS: a venv built from that file, printed as its python.
pyvenv() {
	pykey=$( (echo "$pyversion" && cat "$1") | sha256sum | cut -c1-16)
	venv="$cache/peers/python-$pykey"
	# Built in place (a venv knows its own path); the marker says it finished.
	if [ ! -f "$venv/.ready" ]; then
		echo "prepare: creating the Python venv ($(tr '\n' ' ' <"$1"))" >&2
		start=$(date +%s)
		rm -rf "$venv"
		"$python" -m venv "$venv" || { echo "prepare: python3 -m venv failed (on Debian: apt-get install python3-venv)" >&2; exit 1; }
		"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input --only-binary=:all: -r "$1" >&2
		"$venv/bin/python" -c 'import grpc'
		touch "$venv/.ready"
		echo "prepare: created $venv in $(( $(date +%s) - start )) s" >&2
	fi
	echo "$venv/bin/python"
}
pyrecent=$(pyvenv "$here/python/requirements.txt")
# grpcio of 2022: its BoringSSL's SSL_write has another error fingerprint
# (src/source/bpf/boringsslFunctions.ts), so the stripped-library probes
# are tested on both.
py2022=$(pyvenv "$here/python/requirements-grpcio-2022.txt")

echo "go=$gobin"
echo "go_nodwarf=$gobin-nodwarf"
echo "go_pie=$gobin-pie"
echo "rustls=$rustbin"
echo "rustls_stripped=$rustbin-stripped"
echo "python=$pyrecent"
echo "python_grpcio_2022=$py2022"
