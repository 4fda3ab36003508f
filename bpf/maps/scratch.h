/* SPDX-License-Identifier: (Apache-2.0 OR GPL-2.0) */
#ifndef HP_MAPS_SCRATCH_H
#define HP_MAPS_SCRATCH_H

struct hp_data_scratch {
	struct hp_data_event ev;
	__u8 payload[HP_CHUNK_MAX];
};

/* Where a data record is assembled before bpf_ringbuf_output copies the
 * used part: the ring buffer only reserves constant sizes, and a per-CPU
 * array value is capped at 32 KiB, hence chunks of HP_CHUNK_MAX. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct hp_data_scratch);
} hp_scratch SEC(".maps");

#endif
