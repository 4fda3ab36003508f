/* SPDX-License-Identifier: (Apache-2.0 OR GPL-2.0) */
/* Go HTTP/2 header blocks (lib/goH2.h): the layout of each probed binary,
 * and where a header event is assembled. */
#ifndef HP_MAPS_GO_H2_H
#define HP_MAPS_GO_H2_H

/* Same index as hp_go_tls_bins: a binary's probes share one slot. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, HP_GO_TLS_MAX_BINARIES);
	__type(key, __u32);
	__type(value, struct hp_go_h2_binary);
} hp_go_h2_bins SEC(".maps");

/* A header event is 4 KiB at most: too large for the BPF stack. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct hp_h2_headers_event);
} hp_h2_scratch SEC(".maps");

/* net/http's blocks are encoded field by field (hpack WriteField): each is
 * gathered here, by goroutine (tgid, g: the calls of one block run on
 * one goroutine), from the function that starts the block to the one that
 * writes it. An LRU: a block started and never written (an encoding error)
 * is overwritten by the goroutine's next start or ages out. */
struct hp_go_h2_block {
	/* The previous field's call: its return address, stack pointer and
	 * strings, to know a morestack restart of WriteField (lib/goH2.h). */
	__u64 last_ret;
	__u64 last_sp;
	__u64 last_name;
	__u64 last_value;
	struct hp_h2_headers_event ev;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 512);
	__type(key, struct hp_go_tls_key);
	__type(value, struct hp_go_h2_block);
} hp_go_h2_blocks SEC(".maps");

/* A zeroed block to start one from (too large for the stack). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct hp_go_h2_block);
} hp_go_h2_block_scratch SEC(".maps");

#endif
