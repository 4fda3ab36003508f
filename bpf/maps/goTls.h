/* SPDX-License-Identifier: (Apache-2.0 OR GPL-2.0) */
/* Go crypto/tls plaintext (lib/goTls.h): the layout of each probed binary,
 * and the calls in progress per goroutine. */
#ifndef HP_MAPS_GO_TLS_H
#define HP_MAPS_GO_TLS_H

/* Per binary, not per process: a uprobe on a file fires in every process
 * that maps it, now or later, so the cookie of the probe (its binary's
 * index here) is what tells the program which layout to read. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, HP_GO_TLS_MAX_BINARIES);
	__type(key, __u32);
	__type(value, struct hp_go_tls_binary);
} hp_go_tls_bins SEC(".maps");

/* A goroutine, not a thread: a goroutine parked inside Read (waiting for
 * the socket) resumes on any thread, and a thread runs many goroutines. */
struct hp_go_tls_key {
	__u32 tgid;
	__u32 _pad;
	__u64 g; /* the runtime.g pointer (R14 in Go's register ABI on x86-64) */
};

/* A Read or Write in progress, saved at entry, taken at a return. */
struct hp_go_tls_call {
	__u64 buf; /* the []byte's data pointer */
	__u64 gen; /* hp_conn_id.gen of the connection at entry */
	__u64 entry_ns;
	__u64 ret_addr; /* the caller's return address: tells a re-entry after
			 * stack growth (same call) from a nested call */
	__s32 fd; /* -1: the conn is not a traced socket (a wrapper, TLS in TLS) */
	__u8 dir; /* enum hp_direction */
	__u8 depth; /* nested Read/Write calls of untraced conns inside this one */
	__u8 _pad[2];
};

struct {
	/* LRU: a call unwound by a panic never reaches a return probe. */
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct hp_go_tls_key);
	__type(value, struct hp_go_tls_call);
} hp_go_tls_calls SEC(".maps");

#endif
