/* SPDX-License-Identifier: (Apache-2.0 OR GPL-2.0) */
/* TLS plaintext from uprobes on a TLS library (lib/tls.h): the call in
 * progress per thread, the socket each SSL* was tied to, and what stands in
 * for a socket when none could be learned. */
#ifndef HP_MAPS_TLS_H
#define HP_MAPS_TLS_H

/* An SSL_read/SSL_write(_ex), or a BIO_read/BIO_write(_ex) on an SSL BIO,
 * in progress on a thread: saved at entry, read
 * and removed at return. A socket syscall the thread makes meanwhile is the
 * library doing the I/O of this SSL*: it records its fd here. */
struct hp_tls_call {
	__u64 ssl; /* the SSL* (opaque: its layout is never read) */
	__u64 buf; /* plaintext buffer (user) */
	/* _ex only: where the library writes the byte count. rustls's
	 * write_vectored: the IoSlice count (buf is then the IoSlice array,
	 * laid out as struct iovec). */
	__u64 size_ptr;
	__u64 entry_ns;
	/* Stack pointer at entry: a BIO_read/BIO_write return belongs to this
	 * call only if it is not deeper (the same functions run nested inside,
	 * on the socket BIO, and their returns fire too; lib/sslBio.h). */
	__u64 sp;
	__s32 fd; /* from a nested socket syscall; -1 until one happens */
	__u8 dir; /* enum hp_direction */
	__u8 via; /* enum hp_tls_call_via: whose return probe takes it */
	__u8 _pad[2];
};

enum hp_tls_call_via {
	HP_TLS_VIA_SSL = 0, /* SSL_read/SSL_write(_ex) */
	HP_TLS_VIA_BIO = 1, /* BIO_read/BIO_write(_ex) on an SSL BIO */
	HP_TLS_VIA_RUSTLS = 2, /* rustls's Reader::read / Writer::write */
};

struct {
	/* Plain hash like hp_pending; removed at return and at thread exit. */
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64); /* pid_tgid */
	__type(value, struct hp_tls_call);
} hp_tls_calls SEC(".maps");

struct hp_tls_key {
	__u32 tgid;
	__u32 _pad;
	__u64 ssl;
};

enum hp_tls_fd_source {
	HP_TLS_FD_NESTED = 1, /* a syscall inside an SSL_* call on this SSL* */
	HP_TLS_FD_LAST_READ = 2, /* the thread's last read before SSL_read (memory BIO) */
	HP_TLS_FD_NEXT_WRITE = 3, /* the thread's next TLS write after a write (lib/tls.h, 3b) */
};

/* The socket an SSL* was tied to. gen is the connection's (hp_conn_id.gen):
 * after close or fd reuse it no longer matches, and the entry is dropped
 * at its next use. */
struct hp_tls_fd {
	__u64 gen;
	__s32 fd;
	__u8 source; /* enum hp_tls_fd_source */
	__u8 _pad[3];
};

struct {
	/* LRU: an SSL* freed without a later call leaves its entry behind. */
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct hp_tls_key);
	__type(value, struct hp_tls_fd);
} hp_tls_fds SEC(".maps");

/* The last socket read of a thread, outside any SSL_* call, on a connection
 * whose bytes looked like TLS records (or the connection's first read: its
 * TLS state is checked at use). Stacks that feed ciphertext to the library
 * through a memory BIO (Node.js's TLSWrap) read the socket and then call
 * SSL_read on the same thread, with no syscall inside it; a Go TLS Read in
 * progress when its probes came names its socket this way (lib/goTls.h).
 * Any SSL_read or Go Read return on the thread consumes it. */
struct hp_tls_last_read {
	__u64 gen;
	__u64 ts_ns; /* older than HP_TLS_LAST_READ_NS: not used */
	__s32 fd;
	__u32 _pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64); /* pid_tgid; removed at thread exit */
	__type(value, struct hp_tls_last_read);
} hp_tls_last_reads SEC(".maps");

/* A rustls Writer::write whose socket is not known yet: rustls only buffers
 * the plaintext, and the same thread writes its records to the socket right
 * after (StreamOwned, tokio-rustls: still inside the caller's write, so the
 * buffer is still the caller's). That write claims it (lib/tls.h). */
struct hp_tls_pending_write {
	__u64 ssl; /* the connection's key (lib/tls.h, rustls) */
	__u64 buf;
	__u64 iovcnt; /* 0: buf is the plaintext; else buf is an IoSlice array */
	__u64 bytes;
	__u64 entry_ns; /* older than HP_TLS_PENDING_WRITE_NS: not claimed */
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64); /* pid_tgid; removed when claimed and at thread exit */
	__type(value, struct hp_tls_pending_write);
} hp_tls_pending_writes SEC(".maps");

/* An SSL_write whose socket is not known yet (memory BIO: the ciphertext
 * waits in the BIO until the program writes it to the socket, on the same
 * thread right after: Node.js, grpc core, asyncio). Its data record is
 * built at SSL_write's return, because the plaintext buffer may be freed
 * by then (Node.js frees it), and sent when the socket write claims it
 * (lib/tls.h, 3b). Until then ev.conn = { tgid, -1, the SSL* }. One per
 * thread (256 x 16 KiB: 4.2 MiB); LRU, as a thread may die between. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 256);
	__type(key, __u64); /* pid_tgid; removed at thread exit */
	__type(value, struct hp_data_scratch);
} hp_tls_held_writes SEC(".maps");

/* rustls's Reader::into_first_chunk in progress or just returned on a
 * thread: the plaintext chunk it handed over, until the caller's
 * <Reader as BufRead>::consume says how much of it was used (tokio-rustls
 * reads this way, not through io::Read). */
struct hp_tls_chunk {
	__u64 key; /* the connection's ChunkVecBuffer (lib/tls.h, rustls) */
	__u64 ptr; /* 0 until the return: then the chunk */
	__u64 len;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64); /* pid_tgid; removed at consume and at thread exit */
	__type(value, struct hp_tls_chunk);
} hp_tls_chunks SEC(".maps");

/* Fallback when no socket is known for an SSL*: the plaintext is still
 * delivered, on a pseudo-connection (fd -1, gen = the SSL*) with positions
 * of its own. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct hp_tls_key);
	__type(value, struct hp_conn_state);
} hp_tls_orphans SEC(".maps");

#endif
