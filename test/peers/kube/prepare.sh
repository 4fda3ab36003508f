#!/bin/sh
# Builds a real Kubernetes API server and its etcd into the cache, from the
# Go module proxy (apiserver/go.mod pins the release), and prints where they
# are, one `name=path` a line:
#   kube-apiserver=<cache>/peers/kube-<hash>/kube-apiserver
#   etcd=<cache>/peers/kube-<hash>/etcd
# Keyed by a hash of apiserver/go.mod, go.sum and the Go toolchain version,
# so a warm run only hashes two files and builds nothing. The Go module and
# build caches are the ones test/peers/prepare.sh uses. A cold build takes
# minutes (kube-apiserver is a large program); progress goes to stderr, only
# when something builds.
# With --no-build it only says where they are, or exits 3 with the reason
# on stderr when they are not built (what tests use to skip).
# The cache is $HYDROPHONE_CACHE, else $XDG_CACHE_HOME/hydrophone, else ~/.cache/hydrophone.
set -eu
build=1
for arg in "$@"; do
	case "$arg" in
	--no-build) build="" ;;
	*) echo "prepare-kube: unknown option $arg (known: --no-build)" >&2; exit 2 ;;
	esac
done
here=$(cd "$(dirname "$0")" && pwd)
module="$here/apiserver"
cache=${HYDROPHONE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/hydrophone}
mkdir -p "$cache/peers"

go=$(command -v go || true)
[ -n "$go" ] || [ ! -x /usr/local/go/bin/go ] || go=/usr/local/go/bin/go
if [ -z "$go" ]; then
	echo "prepare-kube: no Go toolchain (need go >= 1.21 on PATH or in /usr/local/go; go.mod's toolchain comes from the module proxy)" >&2
	exit 1
fi
export GOMODCACHE="$cache/go/mod" GOCACHE="$cache/go/build" GOFLAGS="-mod=readonly -buildvcs=false" CGO_ENABLED=0
# Kubernetes needs a recent Go (go.mod's `go` line): an older local go fetches
# that toolchain from the module proxy, even where `go env -w GOTOOLCHAIN=local`.
export GOTOOLCHAIN="${GOTOOLCHAIN:-auto}"
# In the module directory, so a go older than go.mod asks for switches (GOTOOLCHAIN=auto) first.
goversion=$(cd "$module" && "$go" env GOVERSION)
key=$( (cd "$module" && echo "$goversion" && cat go.mod go.sum) | sha256sum | cut -c1-16)
dir="$cache/peers/kube-$key"
apiserver="$dir/kube-apiserver"
etcd="$dir/etcd"
if { [ ! -x "$apiserver" ] || [ ! -x "$etcd" ]; } && [ -z "$build" ]; then
	echo "prepare-kube: kube-apiserver and etcd are not built for this go.mod and $goversion (run sh test/peers/kube/prepare.sh: several minutes cold)" >&2
	exit 3
fi
if [ ! -x "$apiserver" ] || [ ! -x "$etcd" ]; then
	# The release, for `kube-apiserver --version` and /version (Kubernetes'
	# own build stamps these the same way).
	kversion=$(sed -n 's/^[[:space:]]*k8s\.io\/kubernetes \(v[0-9][^ ]*\).*/\1/p' "$module/go.mod" | head -n 1)
	kmajor=$(echo "$kversion" | sed 's/^v\([0-9]*\)\..*/\1/')
	kminor=$(echo "$kversion" | sed 's/^v[0-9]*\.\([0-9]*\)\..*/\1/')
	stamp=""
	for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
		stamp="$stamp -X $pkg.gitVersion=$kversion -X $pkg.gitMajor=$kmajor -X $pkg.gitMinor=$kminor -X $pkg.gitTreeState=clean"
	done
	echo "prepare-kube: building kube-apiserver $kversion and etcd ($goversion); a cold build takes several minutes" >&2
	start=$(date +%s)
	mkdir -p "$dir"
	(cd "$module" && "$go" build -trimpath -ldflags="-s -w" -o "$etcd.tmp.$$" go.etcd.io/etcd/server/v3)
	mv -f "$etcd.tmp.$$" "$etcd"
	(cd "$module" && "$go" build -trimpath -ldflags="-s -w$stamp" -o "$apiserver.tmp.$$" k8s.io/kubernetes/cmd/kube-apiserver)
	mv -f "$apiserver.tmp.$$" "$apiserver"
	echo "prepare-kube: built $dir in $(( $(date +%s) - start )) s" >&2
fi

echo "kube-apiserver=$apiserver"
echo "etcd=$etcd"
