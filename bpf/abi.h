/* SPDX-License-Identifier: (Apache-2.0 OR GPL-2.0) */
/*
 * The event ABI: every struct that crosses the ring buffer from bpf/ to
 * native/ and on to TypeScript (src/source/bpf/eventLayout.ts). This header is
 * the single source of truth; the TypeScript layout is checked against the
 * sizeof/offsetof values the addon exports (native/src/abi.cc), so the two
 * cannot drift.
 *
 * Rules: fixed-width types only, explicit padding, every struct a multiple of
 * 8 bytes, the kind tag in the first byte. Implicit padding is an error on
 * both sides (the pragma below), whatever flags the includer uses. Both the BPF build (vmlinux.h types) and the host build
 * (<linux/types.h>) provide the __u8.. __u64 / __s32 names used here.
 */
#ifndef HYDROPHONE_ABI_H
#define HYDROPHONE_ABI_H

#pragma GCC diagnostic push
#pragma GCC diagnostic error "-Wpadded"

/* Bumped whenever a struct below changes; recordings carry it. */
enum hp_abi_version { HP_ABI_VERSION = 1 };

/* First byte of every ring buffer record. */
enum hp_event_kind {
	HP_EVENT_CONN_OPEN = 1,  /* a TCP (or Unix) connection became known */
	HP_EVENT_DATA = 2,       /* bytes sent or received on a connection */
	HP_EVENT_CONN_CLOSE = 3, /* close(2) on a tracked connection */
	HP_EVENT_PROC_EXEC = 4,  /* a process image was replaced (execve) */
	HP_EVENT_PROC_EXIT = 5,  /* a whole process (thread group) exited */
	HP_EVENT_H2_HEADERS = 6, /* an HTTP/2 header block, decoded by the program (Go uprobes) */
};

/* Who opened the connection, from the traced process's point of view. */
enum hp_role {
	HP_ROLE_UNKNOWN = 0, /* existed before the sensor: user space infers */
	HP_ROLE_CLIENT = 1,  /* connect(2) */
	HP_ROLE_SERVER = 2,  /* accept(2) / accept4(2) */
};

/* How the connection was first seen. */
enum hp_conn_origin {
	HP_ORIGIN_CONNECT = 1,
	HP_ORIGIN_ACCEPT = 2,
	HP_ORIGIN_EXISTING = 3, /* first seen in a data syscall */
};

enum hp_direction {
	HP_DIR_EGRESS = 1,  /* written by the traced process */
	HP_DIR_INGRESS = 2, /* read by the traced process */
};

/* The syscall that produced a data event (for debugging and benchmarks). */
enum hp_syscall {
	HP_SYS_READ = 1,
	HP_SYS_WRITE = 2,
	HP_SYS_READV = 3,
	HP_SYS_WRITEV = 4,
	HP_SYS_SENDTO = 5, /* also send(2): libc implements it as sendto */
	HP_SYS_RECVFROM = 6, /* also recv(2) */
	HP_SYS_SENDMSG = 7,
	HP_SYS_RECVMSG = 8,
	HP_SYS_SENDMMSG = 9,
	HP_SYS_RECVMMSG = 10,
	HP_SYS_SENDFILE = 11, /* length only, never payload */
	/* TLS plaintext from a TLS library's API (uprobes), not a syscall:
	 * SSL_read / SSL_read_ex, SSL_write / SSL_write_ex. */
	HP_SYS_SSL_READ = 12,
	HP_SYS_SSL_WRITE = 13,
	/* Go's crypto/tls.(*Conn).Read / Write (uprobes at entry and at each
	 * return instruction, lib/goTls.h). */
	HP_SYS_GO_TLS_READ = 14,
	HP_SYS_GO_TLS_WRITE = 15,
};

enum hp_data_flags {
	/* Bytes of this direction were lost (ring buffer full) since the last
	 * delivered event; the position gap says how many. */
	HP_DATA_AFTER_LOSS = 1,
	/* No payload on purpose (sendfile): the bytes exist but were not read. */
	HP_DATA_LENGTH_ONLY = 2,
	/* TLS plaintext (uprobes on the TLS library): positions count the
	 * plaintext stream of this direction, separate from the socket's bytes.
	 * A connection whose plaintext is known sends no more socket bytes. When
	 * the socket could not be learned, conn is a pseudo-connection:
	 * fd = -1 and gen = the SSL* (see HP_CTR_TLS_UNKEYED). */
	HP_DATA_TLS = 4,
};

/* A uprobe on libcrypto's BIO_read/BIO_write(_ex) (lib/sslBio.h). Only an
 * SSL BIO (BIO_f_ssl(): its method's type is HP_BIO_TYPE_SSL) is followed;
 * where a BIO keeps its method and data differs between OpenSSL versions,
 * so user space picks the offsets per version (src/source/bpf/sslBio.ts)
 * and packs them into the probe's cookie, one byte each at these shifts;
 * then the direction (enum hp_direction) and 1 for the _ex functions. */
enum hp_ssl_bio {
	HP_BIO_TYPE_SSL = 0x207, /* BIO_TYPE_SSL: 7 | BIO_TYPE_FILTER */
	HP_SSL_BIO_COOKIE_METHOD_SHIFT = 0, /* offsetof(struct bio_st, method) */
	HP_SSL_BIO_COOKIE_PTR_SHIFT = 8, /* offsetof(struct bio_st, ptr): the BIO_SSL */
	HP_SSL_BIO_COOKIE_TYPE_SHIFT = 16, /* offsetof(struct bio_method_st, type) */
	HP_SSL_BIO_COOKIE_SSL_SHIFT = 24, /* offsetof(BIO_SSL, ssl): the SSL* */
	HP_SSL_BIO_COOKIE_DIR_SHIFT = 32,
	HP_SSL_BIO_COOKIE_EX_SHIFT = 40,
};

enum hp_family {
	HP_AF_UNIX = 1,
	HP_AF_INET = 2,
	HP_AF_INET6 = 10,
};

enum hp_limits {
	HP_COMM_LEN = 16,
	/* Default and ceiling of payload bytes captured per syscall. */
	HP_CAPTURE_DEFAULT = 16384,
	HP_CAPTURE_MAX = 65536,
	/* One data event carries at most this much payload; a larger capture
	 * is split into consecutive events (consecutive positions). */
	HP_CHUNK_MAX = 16384,
	/* Go binaries with crypto/tls probes at once (struct hp_go_tls_binary). */
	HP_GO_TLS_MAX_BINARIES = 512,
	/* A Go TLS uprobe's cookie: the binary's index in bits 0-31, the
	 * direction (enum hp_direction: Read ingress, Write egress) in bits
	 * 32-39, and for a return probe the return instruction's offset in its
	 * function in bits 40-63. */
	HP_GO_TLS_COOKIE_DIR_SHIFT = 32,
	HP_GO_TLS_COOKIE_OFF_SHIFT = 40,
	/* An HTTP/2 header event carries at most this many fields, each name
	 * and value cut at these lengths (truncation is flagged, never hidden). */
	HP_H2_MAX_FIELDS = 16,
	HP_H2_NAME_MAX = 48,
	HP_H2_VALUE_MAX = 200,
	/* A Go HTTP/2 header uprobe's cookie: the binary's index (the same as
	 * its Go TLS index) in bits 0-31, the probed function (enum
	 * hp_h2_probe) in bits 32-39. */
	HP_H2_COOKIE_PROBE_SHIFT = 32,
};

/* Which function a Go HTTP/2 header probe sits on. */
enum hp_h2_probe {
	/* grpc-go internal/transport.(*http2Client).operateHeaders(frame):
	 * a response header block or trailers the client decoded. */
	HP_H2_GRPC_CLIENT_READ = 1,
	/* (*http2Server).operateHeaders(ctx, frame, handle): a request the
	 * server decoded. */
	HP_H2_GRPC_SERVER_READ = 2,
	/* (*loopyWriter).writeHeader(streamID, endStream, hf, onWrite): a block
	 * about to be encoded and written, by either side. */
	HP_H2_GRPC_WRITE = 3,
	/* net/http's bundled HTTP/2 (net/http.http2*, lib/goH2.h):
	 * (*http2serverConn).processHeaders(f): a request the server decoded. */
	HP_H2_NETHTTP_SERVER_READ = 4,
	/* (*http2clientConnReadLoop).processHeaders(f): a response the client decoded. */
	HP_H2_NETHTTP_CLIENT_READ = 5,
	/* (*http2writeResHeaders).writeFrame(ctx): the server starts encoding a block. */
	HP_H2_NETHTTP_SERVER_START = 6,
	/* (*http2writeResHeaders).writeHeaderBlock(ctx, frag, first, last): its
	 * first fragment is about to be written; the fields encoded since the
	 * start go out. */
	HP_H2_NETHTTP_SERVER_WRITE = 7,
	/* (*http2clientStream).encodeAndWriteHeaders(req) and
	 * (*http2ClientConn).encodeTrailers(trailer): the client starts a block. */
	HP_H2_NETHTTP_CLIENT_START = 8,
	/* (*http2ClientConn).writeHeaders(streamID, endStream, max, hdrs): the
	 * client writes the block it encoded since the start. */
	HP_H2_NETHTTP_CLIENT_WRITE = 9,
	/* vendor/golang.org/x/net/http2/hpack.(*Encoder).WriteField(f): one
	 * field of the block its goroutine started. */
	HP_H2_NETHTTP_FIELD = 10,
};

enum hp_h2_flags {
	HP_H2_END_STREAM = 1,      /* the block ends its stream (END_STREAM) */
	HP_H2_FIELDS_TRUNCATED = 2, /* more fields than HP_H2_MAX_FIELDS: field_total says how many */
	HP_H2_LIST_TRUNCATED = 4,  /* the stack itself cut the list (MetaHeadersFrame.Truncated) */
};

enum hp_h2_field_flags {
	HP_H2_NAME_TRUNCATED = 1,  /* name_len bytes carried of a longer name */
	HP_H2_VALUE_TRUNCATED = 2, /* value_len bytes carried of a longer value */
	/* HPACK never-indexed (Sensitive): the value is not read at all. */
	HP_H2_VALUE_WITHHELD = 4,
	HP_H2_UNREADABLE = 8,      /* the field's memory could not be read */
};

/* A connection's identity: survives fd reuse because gen is the kernel
 * timestamp at which this (tgid, fd) pair became this connection. */
struct hp_conn_id {
	__u32 tgid;
	__s32 fd;
	__u64 gen;
};

/* Addresses in network byte order, IPv4 in the first 4 bytes; ports host
 * order. For Unix sockets both are zero. */
struct hp_tuple {
	__u8 local_addr[16];
	__u8 remote_addr[16];
	__u16 local_port;
	__u16 remote_port;
	__u16 family; /* enum hp_family */
	__u16 _pad0;
};

/* Common to every record: 16 bytes. */
struct hp_event_header {
	__u8 kind; /* enum hp_event_kind */
	__u8 _pad0[3];
	__u32 tid; /* thread that made the syscall */
	__u64 ts_ns; /* CLOCK_MONOTONIC (bpf_ktime_get_ns); data: egress at the
		      * syscall's entry, ingress at its exit */
};

struct hp_conn_open_event {
	struct hp_event_header hdr;
	struct hp_conn_id conn;
	struct hp_tuple tuple;
	__u64 cgroup_id;
	char comm[HP_COMM_LEN];
	__u8 role; /* enum hp_role */
	__u8 origin; /* enum hp_conn_origin */
	__u8 _pad1[6];
};

/* Followed by `captured` payload bytes. */
struct hp_data_event {
	struct hp_event_header hdr;
	struct hp_conn_id conn;
	__u64 pos; /* offset of the first byte in this direction's stream */
	__u32 len; /* bytes the syscall really moved */
	__u32 captured; /* bytes that follow (<= len) */
	__u8 direction; /* enum hp_direction */
	__u8 syscall; /* enum hp_syscall */
	__u8 flags; /* enum hp_data_flags */
	__u8 _pad1[5];
};

struct hp_conn_close_event {
	struct hp_event_header hdr;
	struct hp_conn_id conn;
	__u64 egress_bytes; /* totals, lost bytes included */
	__u64 ingress_bytes;
	__u8 role;
	__u8 _pad1[7];
};

/* One header field: the first name_len / value_len bytes of each. */
struct hp_h2_header_field {
	__u16 name_len;
	__u16 value_len;
	__u8 flags; /* enum hp_h2_field_flags */
	__u8 _pad[3];
	char name[HP_H2_NAME_MAX];
	char value[HP_H2_VALUE_MAX];
};

/* A whole HTTP/2 header block as the program saw it, before encoding
 * (egress) or after decoding (ingress): unlike the frame's bytes, it needs
 * no HPACK state, so it names streams of connections older than the
 * sensor. Followed by nothing; only the first field_count entries of
 * fields[] are sent (the record is shorter). */
struct hp_h2_headers_event {
	struct hp_event_header hdr;
	struct hp_conn_id conn;
	__u32 stream_id;
	__u32 field_total; /* fields the block had */
	__u8 direction; /* enum hp_direction: egress encoded, ingress decoded */
	__u8 flags; /* enum hp_h2_flags */
	__u8 probe; /* enum hp_h2_probe */
	__u8 field_count; /* entries of fields[] carried */
	__u8 _pad1[4];
	struct hp_h2_header_field fields[HP_H2_MAX_FIELDS];
};

struct hp_proc_event {
	struct hp_event_header hdr;
	__u32 tgid;
	__u32 ppid;
	__u64 cgroup_id;
	char comm[HP_COMM_LEN];
};

/* Per-CPU counters (array map "hp_counters", one __u64 per index), read by
 * the addon for doctor/stats and, later, the metrics endpoint. */
enum hp_counter {
	HP_CTR_EVENTS = 0,        /* records submitted */
	HP_CTR_RINGBUF_LOST = 1,  /* records that did not fit in the ring buffer */
	HP_CTR_BYTES_LOST = 2,    /* payload bytes in those records */
	HP_CTR_CONN_MAP_FULL = 3, /* connections not tracked: map full */
	HP_CTR_IOV_TRUNCATED = 4, /* iovec/mmsg entries beyond the walk limit */
	HP_CTR_FILTERED = 5,      /* data syscalls dropped by a filter */
	HP_CTR_TLS_UNKEYED = 6,   /* TLS calls whose socket was not learned: sent under the SSL* */
	HP_CTR_H2_UNKEYED = 7,    /* Go HTTP/2 header blocks whose socket was not learned: not sent */
	HP_CTR__COUNT = 8,
};

/* Runtime configuration (array map "hp_config", one entry), written by user
 * space before attach and whenever a filter changes while running. */
enum hp_config_flags {
	HP_CONFIG_PID_ALLOW = 1,    /* only pids in hp_pid_allow */
	HP_CONFIG_PORT_ALLOW = 2,   /* only ports (either end) in hp_port_allow */
	HP_CONFIG_CGROUP_ALLOW = 4, /* only cgroup ids in hp_cgroup_allow */
	HP_CONFIG_UNIX = 8,         /* also trace Unix stream sockets */
};

struct hp_config {
	__u32 self_tgid; /* the sensor itself: always excluded */
	__u32 flags; /* enum hp_config_flags */
	__u32 capture_bytes; /* payload bytes per syscall, <= HP_CAPTURE_MAX */
	/* Wake user space only once this many bytes wait in the ring buffer;
	 * below it the addon's poll timeout picks records up. Saves a wakeup
	 * per record under load. 0 wakes on every record. */
	__u32 wakeup_bytes;
};

/* Go crypto/tls, one per probed binary (array map "hp_go_tls_bins", index
 * in the uprobes' cookie), written by user space from the binary's symbols
 * and DWARF before its probes are attached (src/source/golang/). Addresses
 * are link-time; in a position-independent binary the probe adds the load
 * base, learned from where the entry probe fired. */
struct hp_go_tls_binary {
	__u64 read_addr; /* crypto/tls.(*Conn).Read */
	__u64 write_addr; /* crypto/tls.(*Conn).Write */
	__u64 itab_tcp; /* go:itab.*net.TCPConn,net.Conn */
	__u64 itab_unix; /* go:itab.*net.UnixConn,net.Conn; 0: not in the binary */
	__u32 conn_off; /* tls.Conn.conn: the net.Conn interface (itab, data) */
	__u32 fd_off; /* *net.TCPConn -> *net.netFD: TCPConn.conn + conn.fd */
	__u32 sysfd_off; /* *net.netFD -> the fd: netFD.pfd + poll.FD.Sysfd */
	__u8 pie; /* ET_DYN: addresses move by the load base */
	/* Read keeps its receiver and buffer in their spill slots (checked by
	 * disassembly): a return can recover a call that began before the
	 * probes were attached. */
	__u8 read_spills;
	__u8 _pad[2];
};

/* Go HTTP/2 headers (grpc-go, net/http), one per probed binary (array
 * map "hp_go_h2_bins", same index as its hp_go_tls_binary, whose socket
 * offsets and itabs it uses too), from the binary's symbols and DWARF. */
struct hp_go_h2_binary {
	__u64 client_read_addr; /* (*http2Client).operateHeaders; 0: not probed */
	__u64 server_read_addr; /* (*http2Server).operateHeaders */
	__u64 write_addr; /* (*loopyWriter).writeHeader */
	__u64 itab_tls; /* go:itab.*crypto/tls.Conn,net.Conn */
	/* go:itab.*google.golang.org/grpc/internal/credentials.syscallConn,net.Conn:
	 * grpc-go's wrapper of a *tls.Conn; 0: not in the binary */
	__u64 itab_syscall_conn;
	__u32 client_conn_off; /* http2Client.conn (net.Conn) */
	__u32 server_conn_off; /* http2Server.conn */
	__u32 loopy_conn_off; /* loopyWriter.conn */
	__u32 syscall_conn_off; /* syscallConn.Conn (the wrapped net.Conn) */
	__u32 meta_frame_off; /* MetaHeadersFrame.HeadersFrame (a pointer) */
	__u32 meta_fields_off; /* MetaHeadersFrame.Fields ([]hpack.HeaderField) */
	__u32 meta_truncated_off; /* MetaHeadersFrame.Truncated */
	__u32 stream_id_off; /* HeadersFrame.FrameHeader + FrameHeader.StreamID */
	__u32 frame_flags_off; /* HeadersFrame.FrameHeader + FrameHeader.Flags */
	__u32 field_size; /* sizeof(hpack.HeaderField) */
	__u32 field_name_off; /* HeaderField.Name (string: data, len) */
	__u32 field_value_off; /* HeaderField.Value */
	__u32 field_sensitive_off; /* HeaderField.Sensitive (bool) */
	__u8 pie;
	__u8 _pad[3];
	/* net/http's bundled HTTP/2; addresses 0: not probed. The same
	 * offsets as above, of the bundle's own copies of the types. */
	__u64 nh_server_read_addr; /* (*http2serverConn).processHeaders */
	__u64 nh_client_read_addr; /* (*http2clientConnReadLoop).processHeaders */
	__u64 nh_server_write_addr; /* (*http2writeResHeaders).writeHeaderBlock */
	__u64 nh_client_write_addr; /* (*http2ClientConn).writeHeaders */
	__u64 nh_itab_server_ctx; /* go:itab.*net/http.http2serverConn,net/http.http2writeContext */
	__u32 nh_server_conn_off; /* http2serverConn.conn (net.Conn) */
	__u32 nh_read_loop_cc_off; /* http2clientConnReadLoop.cc (*http2ClientConn) */
	__u32 nh_client_conn_off; /* http2ClientConn.tconn (net.Conn) */
	__u32 nh_res_stream_id_off; /* http2writeResHeaders.streamID */
	__u32 nh_res_end_stream_off; /* http2writeResHeaders.endStream (bool) */
	__u32 nh_meta_frame_off;
	__u32 nh_meta_fields_off;
	__u32 nh_meta_truncated_off;
	__u32 nh_stream_id_off;
	__u32 nh_frame_flags_off;
	__u32 nh_field_size;
	__u32 nh_field_name_off;
	__u32 nh_field_value_off;
	__u32 nh_field_sensitive_off;
};

#pragma GCC diagnostic pop

#endif /* HYDROPHONE_ABI_H */
