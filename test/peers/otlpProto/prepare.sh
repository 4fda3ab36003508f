#!/bin/sh
# Fetches the official OTLP .proto files, the ones the Kafka sink's tests
# decode messages with, and prints where they are:
#   otlp-proto=<cache>/otlp-proto/<version>     holds opentelemetry/proto/**/*.proto
# They come from Maven Central, where the OpenTelemetry project publishes
# them with each opentelemetry-proto release (the jar carries the .proto
# sources beside the generated classes): Maven fetches the jar
# (`dependency:copy`, its local repository in the cache, as for the Kafka
# broker) and unzip takes the .proto files out. A warm run checks one
# marker file. Progress goes to stderr only when something is fetched;
# Maven's output only when it fails.
# With --no-build it only says where they are, or exits 3 with the reason
# on stderr when they are not fetched (what tests use to skip).
# The cache is $HYDROPHONE_CACHE, else $XDG_CACHE_HOME/hydrophone, else ~/.cache/hydrophone.
set -eu
# opentelemetry-proto 1.11.0 (OTLP 1.11), as published to Maven Central.
OTLP_PROTO_VERSION=${HYDROPHONE_OTLP_PROTO_VERSION:-1.11.0-alpha}
build=1
for arg in "$@"; do
	case "$arg" in
	--no-build) build="" ;;
	*) echo "prepare-otlp-proto: unknown option $arg (known: --no-build)" >&2; exit 2 ;;
	esac
done
cache=${HYDROPHONE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/hydrophone}
dir="$cache/otlp-proto/$OTLP_PROTO_VERSION"
marker="$dir/.ready"
trace_service=opentelemetry/proto/collector/trace/v1/trace_service.proto

if [ -f "$marker" ]; then
	echo "otlp-proto=$dir"
	exit 0
fi
if [ -z "$build" ]; then
	echo "prepare-otlp-proto: the OTLP $OTLP_PROTO_VERSION .proto files are not fetched (run sh test/peers/otlpProto/prepare.sh: seconds, needs Maven)" >&2
	exit 3
fi
for tool in mvn unzip; do
	command -v "$tool" >/dev/null 2>&1 || {
		echo "prepare-otlp-proto: $tool is missing (apt-get install maven unzip, or sh scripts/bootstrap.sh --test-peers as root)" >&2
		exit 1
	}
done

# One fetcher at a time (two test runs starting together); the second finds the first one's marker.
mkdir -p "$cache/otlp-proto"
if command -v flock >/dev/null 2>&1; then
	exec 9>"$cache/otlp-proto/.lock"
	flock 9
	if [ -f "$marker" ]; then
		echo "otlp-proto=$dir"
		exit 0
	fi
fi
echo "prepare-otlp-proto: fetching io.opentelemetry.proto:opentelemetry-proto:$OTLP_PROTO_VERSION from Maven Central" >&2
rm -rf "$dir"
mkdir -p "$dir/jar"
# dependency:copy needs no project: run it from the empty directory so no stray pom.xml is picked up.
if ! (cd "$dir/jar" && mvn -B -Dmaven.repo.local="$cache/maven/repository" \
	dependency:copy -Dartifact="io.opentelemetry.proto:opentelemetry-proto:$OTLP_PROTO_VERSION:jar" \
	-DoutputDirectory="$dir/jar" >"$dir/maven.log" 2>&1); then
	tail -n 40 "$dir/maven.log" >&2
	echo "prepare-otlp-proto: Maven could not fetch opentelemetry-proto:$OTLP_PROTO_VERSION (full log: $dir/maven.log)" >&2
	exit 1
fi
unzip -q -o "$dir/jar/opentelemetry-proto-$OTLP_PROTO_VERSION.jar" 'opentelemetry/proto/*' -d "$dir"
find "$dir/opentelemetry" -type f ! -name '*.proto' -delete
if [ ! -f "$dir/$trace_service" ]; then
	echo "prepare-otlp-proto: opentelemetry-proto-$OTLP_PROTO_VERSION.jar has no $trace_service: this helper needs updating for that version" >&2
	exit 1
fi
rm -rf "$dir/jar"
touch "$marker"
echo "prepare-otlp-proto: $(find "$dir/opentelemetry" -name '*.proto' | wc -l) .proto files in $dir" >&2
echo "otlp-proto=$dir"
