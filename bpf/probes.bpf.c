// SPDX-License-Identifier: (Apache-2.0 OR GPL-2.0)
/*
 * One tiny program per attachment kind. `hydrophone doctor` asks the addon's
 * probeAttach() to load and attach each one on its own, so it can report
 * which kinds this kernel allows before the sensor chooses its probes.
 * Each program only counts its hits: doctor cares whether it loads and
 * attaches, not what it sees.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Hits per program, so a probe that attaches can also be seen firing. */
enum probe_slot {
	PROBE_TRACEPOINT,
	PROBE_RAW_TRACEPOINT,
	PROBE_TP_BTF,
	PROBE_KPROBE,
	PROBE_FENTRY,
	PROBE_UPROBE,
	PROBE_RINGBUF,
	PROBE__COUNT,
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, PROBE__COUNT);
	__type(key, __u32);
	__type(value, __u64);
} probe_hits SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} probe_events SEC(".maps");

static __always_inline void hit(__u32 slot)
{
	__u64 *count = bpf_map_lookup_elem(&probe_hits, &slot);

	if (count)
		__sync_fetch_and_add(count, 1);
}

SEC("tracepoint/syscalls/sys_enter_getpid")
int probe_tracepoint(void *ctx)
{
	hit(PROBE_TRACEPOINT);
	return 0;
}

SEC("raw_tracepoint/sys_enter")
int probe_raw_tracepoint(struct bpf_raw_tracepoint_args *ctx)
{
	hit(PROBE_RAW_TRACEPOINT);
	return 0;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(probe_tp_btf, struct pt_regs *regs, long id)
{
	hit(PROBE_TP_BTF);
	return 0;
}

/* libbpf 1.1's BPF_KSYSCALL leaves `regs` unused when there are no args. */
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wunused-variable"
SEC("ksyscall/getpid")
int BPF_KSYSCALL(probe_kprobe)
{
	hit(PROBE_KPROBE);
	return 0;
}
#pragma clang diagnostic pop

SEC("fentry/tcp_sendmsg")
int BPF_PROG(probe_fentry, struct sock *sk, struct msghdr *msg, size_t size)
{
	hit(PROBE_FENTRY);
	return 0;
}

/* Attached at run time to a binary and function chosen by doctor. */
SEC("uprobe")
int BPF_KPROBE(probe_uprobe)
{
	hit(PROBE_UPROBE);
	return 0;
}

SEC("raw_tracepoint/sys_enter")
int probe_ringbuf(struct bpf_raw_tracepoint_args *ctx)
{
	__u64 *record = bpf_ringbuf_reserve(&probe_events, sizeof(*record), 0);

	if (!record)
		return 0;
	*record = bpf_ktime_get_ns();
	bpf_ringbuf_submit(record, 0);
	hit(PROBE_RINGBUF);
	return 0;
}
