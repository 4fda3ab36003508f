/* SPDX-License-Identifier: (Apache-2.0 OR GPL-2.0) */
/* Connections the sensor knows, keyed by (tgid, fd). An LRU map: a process
 * that exits without close(2) cannot make it grow without bound. */
#ifndef HP_MAPS_CONNS_H
#define HP_MAPS_CONNS_H

struct hp_conn_key {
	__u32 tgid;
	__s32 fd;
};

enum hp_conn_trace {
	HP_CONN_IGNORED = 0, /* a socket we do not trace (UDP, netlink...) */
	HP_CONN_TRACED = 1,
};

struct hp_conn_state {
	struct hp_conn_id id;
	__u64 pos[2]; /* next byte position: [0] egress, [1] ingress */
	__u16 local_port;
	__u16 remote_port;
	__u8 role;
	__u8 trace; /* enum hp_conn_trace */
	__u8 lost[2]; /* per direction: a record was lost since the last one delivered */
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct hp_conn_key);
	__type(value, struct hp_conn_state);
} hp_conns SEC(".maps");

#endif
