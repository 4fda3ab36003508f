#!/bin/sh
# Resolves a real Apache Kafka broker (KRaft) from Maven Central into the
# cache and prints where it is, one `name=path` a line:
#   kafka-classpath=<cache>/peers/kafka-<version>-<hash>/lib   every jar; run with java -cp '<dir>/*'
#   java=/usr/lib/jvm/.../bin/java                             a java >= 17 (Kafka 4's broker needs 17)
# Installs a JDK and Maven from Debian when missing, then lets Maven resolve
# org.apache.kafka:kafka_2.13 with every runtime dependency (a throwaway
# pom.xml, `dependency:copy-dependencies -DincludeScope=runtime`). That is
# the whole broker: kafka.Kafka, kafka.tools.StorageTool (format, with
# --add-scram) and the kafka-server/-raft/-metadata/-storage/coordinator
# modules all come with it; only an slf4j binding is added. Maven's local
# repository is in the cache too, so nothing lands in ~/.m2.
# Keyed by a hash of the pom (the versions), so a warm run checks one
# marker file and prints the two lines. Progress goes to stderr, only when
# something is installed or resolved; Maven's output only when it fails.
# With --no-build it only says where they are, or exits 3 with the reason
# on stderr when they are not resolved (what tests use to skip).
# The cache is $HYDROPHONE_CACHE, else $XDG_CACHE_HOME/hydrophone, else ~/.cache/hydrophone.
set -eu
# The newest 4.x Maven Central served whole when we chose it.
KAFKA_VERSION=${HYDROPHONE_KAFKA_VERSION:-4.4.0}
# The slf4j binding Kafka's own distribution ships (log4j-slf4j-impl, for
# slf4j 1.7): the Maven artifacts have none, so the broker would log nothing.
# Kept at the log4j-core version that kafka_2.13 4.4.0 pulls in.
LOG4J_VERSION=2.25.5
build=1
for arg in "$@"; do
	case "$arg" in
	--no-build) build="" ;;
	*) echo "prepare-kafka: unknown option $arg (known: --no-build)" >&2; exit 2 ;;
	esac
done
cache=${HYDROPHONE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/hydrophone}
pom=$(cat <<POM
<?xml version="1.0" encoding="UTF-8"?>
<!-- Written by test/peers/kafka/prepare.sh: resolves a Kafka broker's classpath. -->
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>dev.hydrophone.test</groupId>
  <artifactId>kafka-broker-classpath</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>$KAFKA_VERSION</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j-impl</artifactId><version>$LOG4J_VERSION</version></dependency>
  </dependencies>
</project>
POM
)
key=$(printf '%s\n' "$pom" | sha256sum | cut -c1-12)
dir="$cache/peers/kafka-$KAFKA_VERSION-$key"
lib="$dir/lib"
marker="$dir/.ready"

# The first java whose major version is at least 17 (resolved path), or nothing.
find_java() {
	for j in "${JAVA_HOME:+$JAVA_HOME/bin/java}" "$(command -v java || true)" /usr/lib/jvm/java-17-openjdk-*/bin/java /usr/lib/jvm/java-*-openjdk-*/bin/java; do
		[ -n "$j" ] && [ -x "$j" ] || continue
		major=$("$j" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java\.specification\.version = \([0-9]*\).*/\1/p')
		if [ -n "$major" ] && [ "$major" -ge 17 ]; then
			readlink -f "$j"
			return 0
		fi
	done
}

java=$(find_java)
if [ -f "$marker" ] && [ -n "$java" ]; then
	echo "kafka-classpath=$lib"
	echo "java=$java"
	exit 0
fi
if [ -z "$build" ]; then
	if [ -z "$java" ]; then
		echo "prepare-kafka: no java >= 17 (run sh test/peers/kafka/prepare.sh as root, or apt-get install openjdk-17-jdk-headless)" >&2
	else
		echo "prepare-kafka: the Kafka $KAFKA_VERSION jars are not resolved (run sh test/peers/kafka/prepare.sh: under a minute cold)" >&2
	fi
	exit 3
fi

apt_updated=""
apt_install() {
	if [ "$(id -u)" -ne 0 ]; then
		echo "prepare-kafka: $* missing and not root: apt-get install $*, or run this as root" >&2
		exit 1
	fi
	echo "prepare-kafka: apt-get install $*" >&2
	[ -n "$apt_updated" ] || { apt-get update -qq >&2; apt_updated=1; }
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >&2
}
if [ -z "$java" ]; then
	# Debian 12 has 17; later releases may only have their default (21+).
	if [ -n "$(apt-cache policy openjdk-17-jdk-headless 2>/dev/null | sed -n 's/^ *Candidate: \([^(].*\)/\1/p')" ]; then
		apt_install openjdk-17-jdk-headless
	else
		apt_install default-jdk-headless
	fi
	java=$(find_java)
	[ -n "$java" ] || { echo "prepare-kafka: installed a JDK but found no java >= 17" >&2; exit 1; }
fi
command -v mvn >/dev/null 2>&1 || apt_install maven

# One resolver at a time (two test runs starting together); the second
# finds the first one's marker.
mkdir -p "$cache/peers"
if command -v flock >/dev/null 2>&1; then
	exec 9>"$cache/peers/kafka.lock"
	flock 9
	if [ -f "$marker" ]; then
		echo "kafka-classpath=$lib"
		echo "java=$java"
		exit 0
	fi
fi
echo "prepare-kafka: resolving org.apache.kafka:kafka_2.13:$KAFKA_VERSION and its runtime dependencies from Maven Central" >&2
start=$(date +%s)
rm -rf "$dir"
mkdir -p "$dir"
printf '%s\n' "$pom" >"$dir/pom.xml"
if ! JAVA_HOME=$(dirname "$(dirname "$java")") mvn -B -f "$dir/pom.xml" \
	-Dmaven.repo.local="$cache/maven/repository" \
	dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$lib" >"$dir/maven.log" 2>&1; then
	tail -n 40 "$dir/maven.log" >&2
	echo "prepare-kafka: Maven could not resolve kafka_2.13:$KAFKA_VERSION (full log: $dir/maven.log)" >&2
	exit 1
fi
for class in kafka/Kafka.class kafka/tools/StorageTool.class; do
	unzip -l "$lib/kafka_2.13-$KAFKA_VERSION.jar" "$class" >/dev/null 2>&1 || [ ! -x "$(command -v unzip)" ] || {
		echo "prepare-kafka: kafka_2.13-$KAFKA_VERSION.jar has no $class: this helper needs updating for that version" >&2
		exit 1
	}
done
touch "$marker"
echo "prepare-kafka: resolved $(ls "$lib" | wc -l) jars into $lib in $(( $(date +%s) - start )) s" >&2
echo "kafka-classpath=$lib"
echo "java=$java"
