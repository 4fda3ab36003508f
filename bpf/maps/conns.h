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

/* What is known of TLS on a connection (lib/tls.h). */
enum hp_conn_tls {
	HP_TLS_NONE = 0,
	/* A syscall buffer began with a TLS record header: a candidate for the
	 * memory-BIO heuristic, still emitted as bytes. */
	HP_TLS_SEEN = 1,
	/* A TLS library's plaintext was tied to it: its syscall bytes are
	 * ciphertext and are no longer emitted. */
	HP_TLS_PLAIN = 2,
};

/* Stream index into pos[] and lost[]: the socket's bytes per direction,
 * then the TLS plaintext per direction (positions of their own). */
enum hp_stream {
	HP_STREAM_EGRESS = 0,
	HP_STREAM_INGRESS = 1,
	HP_STREAM_TLS_EGRESS = 2,
	HP_STREAM_TLS_INGRESS = 3,
};

struct hp_conn_state {
	struct hp_conn_id id;
	__u64 pos[4]; /* next byte position per enum hp_stream */
	__u16 local_port;
	__u16 remote_port;
	__u8 role;
	__u8 trace; /* enum hp_conn_trace */
	__u8 tls; /* enum hp_conn_tls */
	__u8 _pad0;
	__u8 lost[4]; /* per stream: a record was lost since the last one delivered */
	__u8 _pad1[4];
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct hp_conn_key);
	__type(value, struct hp_conn_state);
} hp_conns SEC(".maps");

#endif
