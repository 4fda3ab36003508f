/* SPDX-License-Identifier: (Apache-2.0 OR GPL-2.0) */
/* TLS plaintext from uprobes on SSL_read, SSL_write, SSL_read_ex and
 * SSL_write_ex (OpenSSL's API, in libssl or linked into an executable).
 * User space attaches them per binary (not the generic attach loop).
 *
 * Which connection an SSL* belongs to, in order of trust:
 * 1. nested syscall: the socket syscall the library makes inside the call
 *    (socket BIO: curl, nginx, openssl s_server) records its fd in the
 *    thread's hp_tls_calls entry; the pair is kept in hp_tls_fds;
 * 2. hp_tls_fds: the pair learned earlier (an SSL_read served from the
 *    library's buffer makes no syscall);
 * 3. reads (memory BIO: the library never touches the socket): the
 *    thread's last socket read on a connection whose bytes looked like
 *    TLS, within HP_TLS_LAST_READ_NS (Node.js, grpc core, Python's
 *    SSLObject read the socket, feed the ciphertext to the SSL* and call
 *    SSL_read on the same thread); any SSL_read return consumes it, so one
 *    read is never attributed to two SSL*;
 * 3b. writes (memory BIO, and rustls, whose Writer::write only buffers the
 *    plaintext): the thread writes the records to the socket right after.
 *    An unresolved write waits for the thread's next socket write, outside
 *    any SSL_* call, on a connection that looks like TLS, within
 *    HP_TLS_PENDING_WRITE_NS; that write claims it and ties the key to its
 *    fd. An SSL_write's data record is built at its return and held
 *    (hp_tls_held_writes: Node.js frees the plaintext buffer before the
 *    socket write); rustls's plaintext is read at the claim
 *    (hp_tls_pending_writes: still the caller's buffer). A write is not
 *    given the thread's last read: grpc core encrypts on whichever pool
 *    thread runs the transport's writes, and that thread's last read may
 *    be another connection's. rustls's key is the connection state the
 *    Reader or Writer points to (their first field): one per connection
 *    and direction.
 * 4. fallback, for reads: the plaintext is still delivered, on a
 *    pseudo-connection keyed by the SSL* (fd -1, gen = SSL*, no open event,
 *    no addresses; counted in HP_CTR_TLS_UNKEYED). With a port filter it
 *    is dropped (counted as filtered): its ports are unknown. A write that
 *    no socket write claims is counted there too, not sent.
 * A connection tied to plaintext is marked HP_TLS_PLAIN: its socket bytes
 * (ciphertext) are no longer emitted, and its close event reports the
 * plaintext totals. */
#ifndef HP_LIB_TLS_H
#define HP_LIB_TLS_H

#define HP_TLS_LAST_READ_NS 50000000ULL /* 50 ms */
/* A handshake's round trip can come between a client's first rustls write
 * and its records' write (rustls buffers the plaintext until then). */
#define HP_TLS_PENDING_WRITE_NS 1000000000ULL /* 1 s */

/* At a data syscall's exit on a traced connection: true when the thread is
 * inside an SSL_* call, i.e. the bytes are the library's ciphertext. */
static __always_inline bool hp_tls_nested(__u64 pid_tgid, __s32 fd, struct hp_conn_state *st)
{
	struct hp_tls_call *call = bpf_map_lookup_elem(&hp_tls_calls, &pid_tgid);

	if (!call)
		return false;
	/* One SSL* does its I/O on one socket: a syscall on another fd is not
	 * the library's (a callback's, or a leftover entry whose return probe
	 * never ran, e.g. detached mid-call). */
	if (call->fd >= 0 && call->fd != fd)
		return false;
	call->fd = fd;
	st->tls = HP_TLS_PLAIN;
	return true;
}

/* At a socket read's exit outside any SSL_* call, on a connection that
 * looks like TLS: remembered for the memory-BIO heuristic. */
static __always_inline void hp_tls_note_read(__u64 pid_tgid, __s32 fd, const struct hp_conn_state *st)
{
	struct hp_tls_last_read lr = { .gen = st->id.gen, .ts_ns = bpf_ktime_get_ns(), .fd = fd };

	bpf_map_update_elem(&hp_tls_last_reads, &pid_tgid, &lr, BPF_ANY);
}

/* The traced connection (tgid, fd) if it is still generation gen. */
static __always_inline struct hp_conn_state *hp_tls_conn(__u32 tgid, __s32 fd, __u64 gen, bool any_gen)
{
	struct hp_conn_key key = { .tgid = tgid, .fd = fd };
	struct hp_conn_state *st = bpf_map_lookup_elem(&hp_conns, &key);

	if (!st || st->trace != HP_CONN_TRACED)
		return NULL;
	if (!any_gen && st->id.gen != gen)
		return NULL;
	return st;
}

static __always_inline struct hp_conn_state *
hp_tls_remember(const struct hp_tls_key *key, struct hp_conn_state *st, __u8 source)
{
	struct hp_tls_fd v = { .gen = st->id.gen, .fd = st->id.fd, .source = source };

	bpf_map_update_elem(&hp_tls_fds, key, &v, BPF_ANY);
	return st;
}

/* The connection of this call's SSL*, or NULL (then: the fallback).
 * *learned: a read found the pair by the thread's last read (3), the one
 * way an SSL* with a write still held (3b) learns its socket first; not
 * set for 1, which every call of a socket-BIO stack takes. */
static __always_inline struct hp_conn_state *hp_tls_resolve(__u64 pid_tgid, const struct hp_tls_call *call, bool *learned)
{
	__u32 tgid = pid_tgid >> 32;
	struct hp_tls_key key = { .tgid = tgid, .ssl = call->ssl };
	struct hp_tls_fd *known;
	struct hp_tls_last_read *lr;
	struct hp_conn_state *st;

	*learned = false;
	if (call->fd >= 0) {
		st = hp_tls_conn(tgid, call->fd, 0, true);
		return st ? hp_tls_remember(&key, st, HP_TLS_FD_NESTED) : NULL;
	}
	known = bpf_map_lookup_elem(&hp_tls_fds, &key);
	if (known) {
		st = hp_tls_conn(tgid, known->fd, known->gen, false);
		if (st)
			return st;
		bpf_map_delete_elem(&hp_tls_fds, &key); /* closed, or fd reused */
	}
	if (call->dir == HP_DIR_EGRESS)
		return NULL; /* 3b: the thread's next TLS write claims it */
	lr = bpf_map_lookup_elem(&hp_tls_last_reads, &pid_tgid);
	if (!lr || bpf_ktime_get_ns() - lr->ts_ns > HP_TLS_LAST_READ_NS)
		return NULL;
	st = hp_tls_conn(tgid, lr->fd, lr->gen, false);
	/* A connection's first read is noted before its bytes are looked at
	 * (lib/io.h): only one that looked like TLS records counts here. */
	if (!st || st->tls == HP_TLS_NONE)
		return NULL;
	*learned = true;
	return hp_tls_remember(&key, st, HP_TLS_FD_LAST_READ);
}

/* The pseudo-connection of an SSL* whose socket is unknown. */
static __always_inline struct hp_conn_state *hp_tls_orphan(__u64 pid_tgid, __u64 ssl)
{
	struct hp_tls_key key = { .tgid = pid_tgid >> 32, .ssl = ssl };
	struct hp_conn_state *st = bpf_map_lookup_elem(&hp_tls_orphans, &key);
	struct hp_conn_state fresh = {};

	if (st)
		return st;
	fresh.id.tgid = key.tgid;
	fresh.id.fd = -1;
	fresh.id.gen = ssl;
	fresh.trace = HP_CONN_TRACED;
	fresh.tls = HP_TLS_PLAIN;
	bpf_map_update_elem(&hp_tls_orphans, &key, &fresh, BPF_NOEXIST);
	return bpf_map_lookup_elem(&hp_tls_orphans, &key);
}

/* 3b for an SSL_write (or BIO_write) whose socket is not known: its data
 * record, built now (hp_tls_held_writes), waits for the thread's next TLS
 * socket write. Further writes of the same SSL* before that (grpc core
 * encrypts a large write in several SSL_write calls of its frame buffer)
 * lengthen the held record: their bytes are counted in its length, not
 * captured, as the capture budget does for a large syscall. One SSL* at a
 * time per thread: a held write of another SSL* is lost (counted). */
static __always_inline void hp_tls_hold_write(const struct hp_config *cfg, __u64 pid_tgid, const struct hp_tls_call *call, __u64 bytes)
{
	__u32 zero = 0;
	struct hp_data_scratch *s;
	struct hp_data_scratch *older = bpf_map_lookup_elem(&hp_tls_held_writes, &pid_tgid);
	__u64 want = bytes < cfg->capture_bytes ? bytes : cfg->capture_bytes;
	__u32 cap = want;

	if (older && older->ev.conn.gen == call->ssl) {
		__u64 len = (__u64)older->ev.len + bytes;

		older->ev.len = len > 0xffffffff ? 0xffffffff : len;
		return;
	}
	if (older)
		hp_count(HP_CTR_TLS_UNKEYED, 1);
	s = bpf_map_lookup_elem(&hp_scratch, &zero);
	if (!s)
		return;
	/* Last, right before the read: the verifier needs the bound there. */
	if (cap > HP_CHUNK_MAX)
		cap = HP_CHUNK_MAX;
	if (cap && bpf_probe_read_user(s->payload, cap, (const void *)call->buf))
		cap = 0; /* paged out or bad pointer: keep the length, lose the bytes */
	hp_header(&s->ev.hdr, HP_EVENT_DATA, pid_tgid);
	s->ev.hdr.ts_ns = call->entry_ns;
	s->ev.conn.tgid = pid_tgid >> 32;
	s->ev.conn.fd = -1;
	s->ev.conn.gen = call->ssl;
	s->ev.pos = 0;
	s->ev.len = bytes > 0xffffffff ? 0xffffffff : bytes;
	s->ev.captured = cap;
	s->ev.direction = HP_DIR_EGRESS;
	s->ev.syscall = HP_SYS_SSL_WRITE;
	s->ev.flags = HP_DATA_TLS;
	__builtin_memset(s->ev._pad1, 0, sizeof(s->ev._pad1));
	bpf_map_update_elem(&hp_tls_held_writes, &pid_tgid, s, BPF_ANY);
}

/* A held SSL_write claimed by this socket write: its record, keyed now. */
static __always_inline void hp_tls_claim_held(const struct hp_config *cfg, __u64 pid_tgid, struct hp_conn_state *st, struct hp_data_scratch *held)
{
	struct hp_tls_key key = { .tgid = pid_tgid >> 32, .ssl = held->ev.conn.gen };
	__u32 cap = held->ev.captured;

	hp_tls_remember(&key, st, HP_TLS_FD_NEXT_WRITE);
	st->tls = HP_TLS_PLAIN;
	if (!hp_ports_wanted(cfg, st->local_port, st->remote_port)) {
		hp_count(HP_CTR_FILTERED, 1);
		return;
	}
	if (cap > HP_CHUNK_MAX)
		cap = HP_CHUNK_MAX;
	held->ev.conn = st->id;
	held->ev.pos = __sync_fetch_and_add(&st->pos[HP_STREAM_TLS_EGRESS], held->ev.len);
	if (st->lost[HP_STREAM_TLS_EGRESS])
		held->ev.flags |= HP_DATA_AFTER_LOSS;
	if (hp_output(cfg, held, sizeof(held->ev) + cap)) {
		st->lost[HP_STREAM_TLS_EGRESS] = 1;
		hp_count(HP_CTR_BYTES_LOST, cap);
	} else {
		st->lost[HP_STREAM_TLS_EGRESS] = 0;
	}
}

/* The thread's held write of this SSL*, if any, sent now on st: the
 * SSL*'s socket was learned before a socket write claimed it. */
static __always_inline void hp_tls_flush_held(const struct hp_config *cfg, __u64 pid_tgid, __u64 ssl, struct hp_conn_state *st)
{
	struct hp_data_scratch *held = bpf_map_lookup_elem(&hp_tls_held_writes, &pid_tgid);

	if (!cfg || !held || held->ev.conn.gen != ssl)
		return;
	if (bpf_ktime_get_ns() - held->ev.hdr.ts_ns <= HP_TLS_PENDING_WRITE_NS)
		hp_tls_claim_held(cfg, pid_tgid, st, held);
	else
		hp_count(HP_CTR_TLS_UNKEYED, 1);
	bpf_map_delete_elem(&hp_tls_held_writes, &pid_tgid);
}

/* sp: the stack pointer at entry; via: enum hp_tls_call_via. */
static __always_inline int hp_tls_enter_via(__u64 ssl, __u64 buf, __u64 size_ptr, __u8 dir, __u64 sp, __u8 via)
{
	const struct hp_config *cfg = hp_get_config();
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct hp_tls_call call = {};

	if (!cfg || !hp_process_wanted(cfg, pid_tgid >> 32))
		return 0;
	call.ssl = ssl;
	call.buf = buf;
	call.size_ptr = size_ptr;
	call.entry_ns = bpf_ktime_get_ns();
	call.sp = sp;
	call.fd = -1;
	call.dir = dir;
	call.via = via;
	/* Overwrites a leftover of a call whose return probe never ran. */
	bpf_map_update_elem(&hp_tls_calls, &pid_tgid, &call, BPF_ANY);
	return 0;
}

static __always_inline int hp_tls_enter(__u64 ssl, __u64 buf, __u64 size_ptr, __u8 dir)
{
	return hp_tls_enter_via(ssl, buf, size_ptr, dir, 0, HP_TLS_VIA_SSL);
}

/* ret: SSL_read/SSL_write's byte count, or the _ex functions' 1/0 (then
 * the count is read from size_ptr); the BIO functions' are the same. via:
 * whose return this is; a call saved by the other kind is left alone. sp:
 * the stack pointer at a BIO return (a nested call's is below the entry's). */
static __always_inline int hp_tls_exit_via(long ret, bool ex, __u8 via, __u64 sp)
{
	const struct hp_config *cfg = hp_get_config();
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct hp_tls_call *cp = bpf_map_lookup_elem(&hp_tls_calls, &pid_tgid);
	struct hp_data_ctx c = {};
	struct hp_tls_call call;
	struct hp_conn_state *st;
	bool learned = false;
	__u64 bytes = 0;

	if (!cp || cp->via != via || (via == HP_TLS_VIA_BIO && sp < cp->sp))
		return 0;
	call = *cp;
	bpf_map_delete_elem(&hp_tls_calls, &pid_tgid);
	if (!cfg)
		return 0;
	if (!ex)
		bytes = ret > 0 ? ret : 0;
	else if (ret != 1 || !call.size_ptr || bpf_probe_read_user(&bytes, sizeof(bytes), (const void *)call.size_ptr))
		bytes = 0;
	/* Resolved even without bytes: a handshake's SSL_read ties the SSL*
	 * to its socket before the first plaintext. */
	st = hp_tls_resolve(pid_tgid, &call, &learned);
	/* A write of this SSL* still held (3b) goes first: its bytes come
	 * before any later write's in the stream. */
	if (st && learned)
		hp_tls_flush_held(cfg, pid_tgid, call.ssl, st);
	if (call.dir == HP_DIR_INGRESS)
		bpf_map_delete_elem(&hp_tls_last_reads, &pid_tgid);
	if (st) {
		st->tls = HP_TLS_PLAIN;
		c.fd = st->id.fd;
	} else {
		c.fd = -1;
		c.ssl = call.ssl;
	}
	if (!bytes)
		return 0;
	if (!st && call.dir == HP_DIR_EGRESS && via == HP_TLS_VIA_RUSTLS) {
		struct hp_tls_pending_write pw = { .ssl = call.ssl, .buf = call.buf, .iovcnt = call.size_ptr, .bytes = bytes, .entry_ns = call.entry_ns };

		/* One waits per thread: an older one never claimed is lost. */
		if (bpf_map_lookup_elem(&hp_tls_pending_writes, &pid_tgid))
			hp_count(HP_CTR_TLS_UNKEYED, 1);
		bpf_map_update_elem(&hp_tls_pending_writes, &pid_tgid, &pw, BPF_ANY);
		return 0;
	}
	if (!st && call.dir == HP_DIR_EGRESS) {
		hp_tls_hold_write(cfg, pid_tgid, &call, bytes);
		return 0;
	}
	if (!st) {
		hp_count(HP_CTR_TLS_UNKEYED, 1);
		if (cfg->flags & HP_CONFIG_PORT_ALLOW) {
			hp_count(HP_CTR_FILTERED, 1);
			return 0;
		}
		if (!hp_tls_orphan(pid_tgid, call.ssl))
			return 0;
	} else if (!hp_ports_wanted(cfg, st->local_port, st->remote_port)) {
		hp_count(HP_CTR_FILTERED, 1);
		return 0;
	}
	c.pid_tgid = pid_tgid;
	c.budget = cfg->capture_bytes > HP_CAPTURE_MAX ? HP_CAPTURE_MAX : cfg->capture_bytes;
	c.dir = call.dir;
	c.syscall = call.dir == HP_DIR_EGRESS ? HP_SYS_SSL_WRITE : HP_SYS_SSL_READ;
	c.flags = HP_DATA_TLS;
	c.ts_ns = call.dir == HP_DIR_EGRESS ? call.entry_ns : bpf_ktime_get_ns();
	if (via == HP_TLS_VIA_RUSTLS && call.size_ptr) {
		if (st)
			hp_emit_iov_to(&c, call.buf, call.size_ptr, bytes, HP_EMIT_TLS);
		else
			hp_emit_iov_to(&c, call.buf, call.size_ptr, bytes, HP_EMIT_ORPHAN);
	} else if (st) {
		hp_emit_tls_segment(&c, call.buf, bytes);
	} else {
		hp_emit_orphan_segment(&c, call.buf, bytes);
	}
	return 0;
}

static __always_inline int hp_tls_exit(long ret, bool ex)
{
	return hp_tls_exit_via(ret, ex, HP_TLS_VIA_SSL, 0);
}

/* Whether the bytes a write syscall sent start with a TLS record header:
 * write/sendto's buffer, or the first iovec of writev/sendmsg (what rustls
 * on a std TcpStream uses). */
static __always_inline bool hp_written_looks_like_tls(const struct hp_pending *p)
{
	struct user_msghdr msg = {};
	struct iovec iov = {};
	__u64 base = p->buf;
	__u8 head[3] = {};

	if (p->syscall == HP_SYS_WRITEV || p->syscall == HP_SYS_SENDMSG) {
		__u64 iovp = p->buf;

		if (p->syscall == HP_SYS_SENDMSG) {
			if (bpf_probe_read_user(&msg, sizeof(msg), (const void *)p->buf))
				return false;
			iovp = (__u64)msg.msg_iov;
		}
		if (bpf_probe_read_user(&iov, sizeof(iov), (const void *)iovp))
			return false;
		base = (__u64)iov.iov_base;
	} else if (p->syscall != HP_SYS_WRITE && p->syscall != HP_SYS_SENDTO) {
		return false;
	}
	if (bpf_probe_read_user(head, sizeof(head), (const void *)base))
		return false;
	return hp_looks_like_tls(head);
}

/* At a socket write's exit on a traced connection: the thread's waiting
 * TLS plaintext (a held SSL_write record, or rustls plaintext), if any, is
 * this connection's (3b) when the connection looks like TLS, or these
 * bytes do (a connection older than the sensor).
 * True when claimed: the bytes written are its ciphertext. */
static __always_inline bool hp_tls_claim_write(const struct hp_config *cfg, __u64 pid_tgid, const struct hp_pending *p, struct hp_conn_state *st)
{
	struct hp_tls_pending_write *pp = bpf_map_lookup_elem(&hp_tls_pending_writes, &pid_tgid);
	struct hp_data_scratch *held = bpf_map_lookup_elem(&hp_tls_held_writes, &pid_tgid);
	struct hp_tls_key key = { .tgid = pid_tgid >> 32 };
	struct hp_tls_pending_write pw;
	struct hp_data_ctx c = {};
	__s32 fd = p->fd;

	if (held) {
		if (st->tls == HP_TLS_NONE && !hp_written_looks_like_tls(p))
			return false;
		bool fresh = bpf_ktime_get_ns() - held->ev.hdr.ts_ns <= HP_TLS_PENDING_WRITE_NS;

		if (fresh)
			hp_tls_claim_held(cfg, pid_tgid, st, held);
		else
			hp_count(HP_CTR_TLS_UNKEYED, 1);
		bpf_map_delete_elem(&hp_tls_held_writes, &pid_tgid);
		return fresh;
	}
	if (!pp)
		return false;
	if (st->tls == HP_TLS_NONE && !hp_written_looks_like_tls(p))
		return false;
	pw = *pp;
	bpf_map_delete_elem(&hp_tls_pending_writes, &pid_tgid);
	if (bpf_ktime_get_ns() - pw.entry_ns > HP_TLS_PENDING_WRITE_NS) {
		hp_count(HP_CTR_TLS_UNKEYED, 1);
		return false;
	}
	key.ssl = pw.ssl;
	hp_tls_remember(&key, st, HP_TLS_FD_NEXT_WRITE);
	st->tls = HP_TLS_PLAIN;
	if (!hp_ports_wanted(cfg, st->local_port, st->remote_port)) {
		hp_count(HP_CTR_FILTERED, 1);
		return true;
	}
	c.pid_tgid = pid_tgid;
	c.fd = fd;
	c.budget = cfg->capture_bytes > HP_CAPTURE_MAX ? HP_CAPTURE_MAX : cfg->capture_bytes;
	c.dir = HP_DIR_EGRESS;
	c.syscall = HP_SYS_SSL_WRITE;
	c.flags = HP_DATA_TLS;
	c.ts_ns = pw.entry_ns;
	if (pw.iovcnt)
		hp_emit_iov_to(&c, pw.buf, pw.iovcnt, pw.bytes, HP_EMIT_TLS);
	else
		hp_emit_tls_segment(&c, pw.buf, pw.bytes);
	return true;
}

#endif
