#!/bin/sh
# Builds a real OpenTelemetry Collector with the gateway's components
# (builder.yaml beside this script: the OTLP receiver, the otlp_grpc
# exporter, memory_limiter and batch, health_check), for the tests of
# deploy/gateway, and prints where it is:
#   otelcol-gateway=<cache>/gateway/<hash>/otelcol-gateway
# The same way as test/peers/otelcol/prepare.sh, and with its ocb and Go
# caches: ocb `go install`ed from the module proxy, the collector module it
# generates built with the Go toolchain. Keyed by a hash of builder.yaml,
# the ocb version and the Go version: warm, it builds nothing. About half a
# minute when the other collector's modules are cached, minutes cold.
# With --no-build it only says where it is, or exits 3 with the reason on
# stderr (what tests use to skip).
set -eu
OCB_VERSION=v0.165.0
build=1
for arg in "$@"; do
	case "$arg" in
	--no-build) build="" ;;
	*) echo "prepare-gateway: unknown option $arg (known: --no-build)" >&2; exit 2 ;;
	esac
done
here=$(cd "$(dirname "$0")" && pwd)
manifest="$here/builder.yaml"
cache=${HYDROPHONE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/hydrophone}

go=$(command -v go || true)
[ -n "$go" ] || [ ! -x /usr/local/go/bin/go ] || go=/usr/local/go/bin/go
if [ -z "$go" ]; then
	echo "prepare-gateway: no Go toolchain (need go >= 1.21 on PATH or in /usr/local/go)" >&2
	exit 1
fi
export GOMODCACHE="$cache/go/mod" GOCACHE="$cache/go/build" GOFLAGS="-buildvcs=false -e" CGO_ENABLED=0
export GOTOOLCHAIN="${GOTOOLCHAIN:-auto}"
goversion=$("$go" env GOVERSION)
key=$( (echo "$goversion" && echo "$OCB_VERSION" && cat "$manifest") | sha256sum | cut -c1-16)
dir="$cache/gateway/$key"
binary="$dir/otelcol-gateway"

if [ -x "$binary" ]; then
	echo "otelcol-gateway=$binary"
	exit 0
fi
if [ -z "$build" ]; then
	echo "prepare-gateway: the gateway collector is not built for this builder.yaml and $goversion (run sh test/peers/gateway/prepare.sh)" >&2
	exit 3
fi

mkdir -p "$cache/gateway"
if command -v flock >/dev/null 2>&1; then
	exec 9>"$cache/gateway/build.lock"
	flock 9
	if [ -x "$binary" ]; then
		echo "otelcol-gateway=$binary"
		exit 0
	fi
fi

start=$(date +%s)
ocb="$cache/otelcol/ocb-$OCB_VERSION/builder"
if [ ! -x "$ocb" ]; then
	echo "prepare-gateway: installing ocb (go.opentelemetry.io/collector/cmd/builder@$OCB_VERSION)" >&2
	GOBIN="$(dirname "$ocb")" "$go" install "go.opentelemetry.io/collector/cmd/builder@$OCB_VERSION"
fi
echo "prepare-gateway: building the collector from $manifest ($goversion)" >&2
src="$dir/src"
rm -rf "$src"
mkdir -p "$src" "$dir/tmp"
cp "$manifest" "$src/builder.yaml"
if ! (cd "$src" && PATH="$(dirname "$go"):$PATH" TMPDIR="$dir/tmp" "$ocb" --config=builder.yaml >"$dir/ocb.log" 2>&1); then
	tail -n 40 "$dir/ocb.log" >&2
	echo "prepare-gateway: ocb failed (full log: $dir/ocb.log)" >&2
	exit 1
fi
# Every component deploy/gateway/configmap.yaml names must be in it.
components=$("$src/otelcol-gateway" components 2>&1) || {
	echo "$components" >&2
	echo "prepare-gateway: the built collector does not run" >&2
	exit 1
}
for name in otlp otlp_grpc memory_limiter batch health_check; do
	echo "$components" | grep -q "name: $name\$" || {
		echo "prepare-gateway: the built collector has no $name component" >&2
		exit 1
	}
done
rm -rf "$dir/tmp"
mv -f "$src/otelcol-gateway" "$binary.tmp.$$"
mv -f "$binary.tmp.$$" "$binary"
echo "prepare-gateway: built $binary in $(( $(date +%s) - start )) s" >&2
echo "otelcol-gateway=$binary"
