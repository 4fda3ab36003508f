#!/bin/sh
# Installs what Hydrophone needs on this machine and builds it. Idempotent:
# each step checks before it acts, so a second run only rebuilds what changed.
#   sh scripts/bootstrap.sh               # build deps, Node 24, BPF + addon
#   sh scripts/bootstrap.sh --test-peers  # also the real peers the tests run
# Used by `npm start`, `npm test` and Dockerfile.sensor.
set -eu
cd "$(dirname "$0")/.."

build_pkgs="clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev pkg-config make g++ python3 ca-certificates"
test_pkgs="openjdk-17-jdk-headless maven nginx-light curl wrk python3-venv tshark tcpdump"

pkgs="$build_pkgs"
test_peers=""
for arg in "$@"; do
	case "$arg" in
	--test-peers) pkgs="$pkgs $test_pkgs"; test_peers=1 ;;
	*) echo "bootstrap: unknown option $arg (known: --test-peers)" >&2; exit 2 ;;
	esac
done

missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
	echo "bootstrap: installing system packages:$missing"
	if [ "$(id -u)" -eq 0 ]; then sudo=""; elif command -v sudo >/dev/null; then sudo="sudo"; else
		echo "bootstrap: need root to install$missing (run as root, or install them yourself)" >&2; exit 1
	fi
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

# Node 24 and the JavaScript dependencies, from the lock file. The stamp
# makes a second run skip npm entirely.
stamp=node_modules/.hydrophone-lock
if [ ! -f "$stamp" ] || ! cmp -s package-lock.json "$stamp"; then
	echo "bootstrap: installing npm dependencies (Node 24 included)"
	npm ci --no-audit --no-fund --loglevel=error
	cp package-lock.json "$stamp"
fi

sh scripts/build.sh

# The gRPC echo peers (Go binary, Python venv), cached under ~/.cache/hydrophone
# by a hash of their sources: silent, and a few file hashes, when warm.
if [ -n "$test_peers" ]; then
	sh test/peers/prepare.sh >/dev/null
	# A real kube-apiserver and etcd for the enrichment tests (~7 min cold, cached).
	sh test/peers/kube/prepare.sh >/dev/null
	# A real Apache Kafka 4 broker (jars from Maven Central, a JDK) for the export tests.
	sh test/peers/kafka/prepare.sh >/dev/null
	sh test/peers/otlpProto/prepare.sh >/dev/null # the official OTLP .proto files (Maven Central), to decode what the Kafka sink wrote
	# A real OpenTelemetry Collector (built with ocb from Go modules, ~4 min cold) for the OTLP exporter tests.
	sh test/peers/otelcol/prepare.sh >/dev/null
	# The gateway's collector (its Deployment's components), for the deploy tests (shares the Go caches above).
	sh test/peers/gateway/prepare.sh >/dev/null
fi
