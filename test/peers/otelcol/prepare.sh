#!/bin/sh
# Builds a real OpenTelemetry Collector for the OTLP exporter tests, with the
# OpenTelemetry Collector Builder (ocb) from the Go module proxy, and prints
# where it is:
#   otelcol=<cache>/otelcol/<hash>/otelcol-hydrophone
# The components are the ones builder.yaml (beside this script) names: the
# OTLP receiver, the file and debug exporters, the basicauth extension.
# ocb itself is `go install`ed from the module proxy into the cache (no
# release binary is downloaded); it generates a Go module from the manifest,
# `go mod tidy`s it and builds it. Keyed by a hash of builder.yaml, the ocb
# version and the Go toolchain version, so a warm run hashes one file and
# builds nothing. The Go module and build caches are the ones
# test/peers/prepare.sh uses. A cold build takes minutes; progress goes to
# stderr, only when something builds.
# With --no-build it only says where it is, or exits 3 with the reason on
# stderr when it is not built (what tests use to skip).
# The cache is $HYDROPHONE_CACHE, else $XDG_CACHE_HOME/hydrophone, else ~/.cache/hydrophone.
set -eu
# ocb's version: the core collector release of the components in builder.yaml.
OCB_VERSION=v0.165.0
build=1
here=$(cd "$(dirname "$0")" && pwd)
# Other collectors (test/peers/gateway) are built by this same script from
# their own manifest: where it is, the cache directory and output label,
# the binary's name (ocb's dist.name) and the components it must list.
manifest="$here/builder.yaml"
name=otelcol
binary_name=otelcol-hydrophone
label=otelcol
required="otlp file debug basicauth"
while [ $# -gt 0 ]; do
	case "$1" in
	--no-build) build="" ;;
	--manifest) manifest=$2; shift ;;
	--name) name=$2; shift ;;
	--binary) binary_name=$2; shift ;;
	--label) label=$2; shift ;;
	--components) required=$2; shift ;;
	*) echo "prepare-otelcol: unknown option $1 (known: --no-build, --manifest F, --name N, --binary B, --label L, --components 'A B')" >&2; exit 2 ;;
	esac
	shift
done
cache=${HYDROPHONE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/hydrophone}

go=$(command -v go || true)
[ -n "$go" ] || [ ! -x /usr/local/go/bin/go ] || go=/usr/local/go/bin/go
if [ -z "$go" ]; then
	echo "prepare-otelcol: no Go toolchain (need go >= 1.21 on PATH or in /usr/local/go; a newer toolchain comes from the module proxy)" >&2
	exit 1
fi
# No -mod=readonly here, unlike the other peers: ocb runs `go mod tidy` on
# the module it generates. -e is for that tidy (commands without an -e flag
# ignore it in GOFLAGS): tidy also wants the test-only dependencies of every
# imported package, and the file exporter's tests import
# otlpencodingextension, whose source the module proxy here does not serve.
# The build itself needs none of them, and fails loudly if a real one is missing.
export GOMODCACHE="$cache/go/mod" GOCACHE="$cache/go/build" GOFLAGS="-buildvcs=false -e" CGO_ENABLED=0
# ocb and the collector modules need a recent Go (their go.mod `go` line):
# an older local go fetches that toolchain from the module proxy.
export GOTOOLCHAIN="${GOTOOLCHAIN:-auto}"
goversion=$("$go" env GOVERSION)
key=$( (echo "$goversion" && echo "$OCB_VERSION" && cat "$manifest") | sha256sum | cut -c1-16)
dir="$cache/$name/$key"
otelcol="$dir/$binary_name"

if [ -x "$otelcol" ]; then
	echo "$label=$otelcol"
	exit 0
fi
if [ -z "$build" ]; then
	echo "prepare-otelcol: the $name collector is not built for $manifest and $goversion (run sh $0 without --no-build: a few minutes cold)" >&2
	exit 3
fi

# One build at a time (two test runs starting together); the second finds
# the first one's binary.
mkdir -p "$cache/$name" "$cache/otelcol"
if command -v flock >/dev/null 2>&1; then
	exec 9>"$cache/$name/build.lock"
	flock 9
	if [ -x "$otelcol" ]; then
		echo "$label=$otelcol"
		exit 0
	fi
fi

start=$(date +%s)
ocb="$cache/otelcol/ocb-$OCB_VERSION/builder"
if [ ! -x "$ocb" ]; then
	echo "prepare-otelcol: installing ocb (go.opentelemetry.io/collector/cmd/builder@$OCB_VERSION, $goversion)" >&2
	GOBIN="$(dirname "$ocb")" "$go" install "go.opentelemetry.io/collector/cmd/builder@$OCB_VERSION"
fi

echo "prepare-otelcol: building the collector from $manifest ($goversion); a cold build takes a few minutes" >&2
# ocb writes the module (main.go, components.go, go.mod, go.sum) into its
# output_path, `.` in the manifest: this scratch directory, kept beside the
# binary as the record of what went into it.
src="$dir/src"
rm -rf "$src"
mkdir -p "$src"
cp "$manifest" "$src/builder.yaml"
# ocb runs the `go` on PATH (the manifest names none). TMPDIR: ocb makes
# an empty default output directory there on every run, used or not.
mkdir -p "$dir/tmp"
if ! (cd "$src" && PATH="$(dirname "$go"):$PATH" TMPDIR="$dir/tmp" "$ocb" --config=builder.yaml >"$dir/ocb.log" 2>&1); then
	tail -n 40 "$dir/ocb.log" >&2
	echo "prepare-otelcol: ocb failed (full log: $dir/ocb.log)" >&2
	exit 1
fi
# The binary proves itself: every component the tests configure is in it.
components=$("$src/$binary_name" components 2>&1) || {
	echo "$components" >&2
	echo "prepare-otelcol: the built collector does not run" >&2
	exit 1
}
for component in $required; do
	echo "$components" | grep -q "name: $component\$" || {
		echo "prepare-otelcol: the built collector has no $component component ($src/$binary_name components)" >&2
		exit 1
	}
done
rm -rf "$dir/tmp"
mv -f "$src/$binary_name" "$otelcol.tmp.$$"
mv -f "$otelcol.tmp.$$" "$otelcol"
echo "prepare-otelcol: built $otelcol in $(( $(date +%s) - start )) s" >&2
echo "$label=$otelcol"
