#!/bin/sh
# Builds a real OpenTelemetry Collector with the gateway's components
# (builder.yaml beside this script: the OTLP receiver, the otlp_grpc
# exporter, memory_limiter and batch, health_check), for the tests of
# deploy/gateway, and prints where it is:
#   otelcol-gateway=<cache>/gateway/<hash>/otelcol-gateway
# test/peers/otelcol/prepare.sh does the building (ocb from the module
# proxy, the Go caches, the cache key of builder.yaml, ocb and Go versions,
# one build at a time); this names the manifest, the binary and the
# components it must list. About half a minute when the other collector's
# modules are cached, minutes cold. With --no-build it only says where it
# is, or exits 3 with the reason on stderr (what tests use to skip).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
exec sh "$here/../otelcol/prepare.sh" --manifest "$here/builder.yaml" --name gateway --binary otelcol-gateway \
	--label otelcol-gateway --components "otlp otlp_grpc memory_limiter batch health_check" "$@"
