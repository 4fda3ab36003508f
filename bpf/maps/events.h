/* SPDX-License-Identifier: (Apache-2.0 OR GPL-2.0) */
/* The ring buffer every record travels through, and the per-CPU counters
 * that account for what did not fit. */
#ifndef HP_MAPS_EVENTS_H
#define HP_MAPS_EVENTS_H

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	/* Resized by the loader (ringBufferBytes) before load. */
	__uint(max_entries, 8 * 1024 * 1024);
} hp_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, HP_CTR__COUNT);
	__type(key, __u32);
	__type(value, __u64);
} hp_counters SEC(".maps");

static __always_inline void hp_count(__u32 counter, __u64 by)
{
	__u64 *v = bpf_map_lookup_elem(&hp_counters, &counter);

	if (v)
		*v += by; /* per-CPU slot: no other writer */
}

#endif
