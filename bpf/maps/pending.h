/* SPDX-License-Identifier: (Apache-2.0 OR GPL-2.0) */
/* Arguments of a syscall in progress, keyed by thread: saved at entry, read
 * at exit, where the return value says how many bytes really moved. */
#ifndef HP_MAPS_PENDING_H
#define HP_MAPS_PENDING_H

struct hp_pending {
	__u64 buf; /* buffer, iovec array, msghdr or mmsghdr array (user) */
	__u64 entry_ns; /* when the syscall began */
	__s32 fd;
	__u32 count; /* iovcnt or vlen where it applies */
	__u8 syscall; /* enum hp_syscall, or HP_PENDING_* below */
	__u8 _pad[7];
};

enum hp_pending_kind {
	HP_PENDING_CONNECT = 100,
	HP_PENDING_ACCEPT = 101,
};

struct {
	/* A plain hash: an LRU update costs a few hundred ns more on every
	 * hooked syscall. A thread that dies inside a syscall never reaches the
	 * exit hook; its entry is removed when the thread exits (lib/proc.h). */
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct hp_pending);
} hp_pending SEC(".maps");

#endif
