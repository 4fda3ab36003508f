/* SPDX-License-Identifier: (Apache-2.0 OR GPL-2.0) */
/* Data events: user memory of a syscall, cut into records of at most
 * HP_CHUNK_MAX payload bytes. Every byte the syscall moved is accounted in
 * the direction's position, captured or not, so user space always sees
 * where the stream has holes. */
#ifndef HP_LIB_EMIT_H
#define HP_LIB_EMIT_H

/* iovec entries walked per syscall, messages walked per sendmmsg/recvmmsg. */
#define HP_IOV_MAX 32
/* Once a syscall's capture budget is spent, each further iovec entry still
 * has its first HP_IOV_HEAD bytes captured: writev-based writers (node,
 * nginx, envoy) put each protocol frame header in an entry of its own, and
 * a parser that keeps the headers can skip the bodies between them. */
#define HP_IOV_HEAD 64
#define HP_MMSG_MAX 4

/* What one data syscall reports, on the stack of the exit program. Scalars
 * only: it is the argument of hp_emit_segment, a global function, which the
 * verifier checks once on its own instead of once per path through the
 * callers' loops (iovec and mmsg walks would otherwise exceed its limit). */
struct hp_data_ctx {
	__u64 pid_tgid;
	__u64 ts_ns; /* the time every record of this syscall carries */
	__s32 fd;
	__u32 budget; /* payload bytes this syscall may still capture */
	__u8 dir;
	__u8 syscall;
	__u8 flags; /* extra hp_data_flags for every record of this syscall */
	__u8 _pad[5];
	__u64 ssl; /* HP_DATA_TLS with fd -1: the SSL* keying a pseudo-connection */
};

/* Whether a buffer starts with a TLS record header: content type 20-23
 * (change_cipher_spec, alert, handshake, application_data), version 3.1-3.4. */
static __always_inline bool hp_looks_like_tls(const __u8 *b)
{
	return b[0] >= 20 && b[0] <= 23 && b[1] == 3 && b[2] >= 1 && b[2] <= 4;
}

/* Sends one record covering `span` stream bytes, the first `cap` of which
 * are read from user memory at ptr. */
static __always_inline void hp_emit_record(const struct hp_config *cfg, struct hp_conn_state *st,
					   const struct hp_data_ctx *c, __u64 ptr, __u64 span, __u32 cap,
					   const int tls)
{
	__u32 zero = 0;
	struct hp_data_scratch *s = bpf_map_lookup_elem(&hp_scratch, &zero);
	/* enum hp_stream; tls is a constant in each caller. */
	int d = (c->dir == HP_DIR_EGRESS ? HP_STREAM_EGRESS : HP_STREAM_INGRESS) + (tls ? HP_STREAM_TLS_EGRESS : 0);
	__u64 pos;

	if (!s)
		return;
	pos = __sync_fetch_and_add(&st->pos[d], span);
	if (cap > HP_CHUNK_MAX)
		cap = HP_CHUNK_MAX;
	if (cap && bpf_probe_read_user(s->payload, cap, (const void *)ptr))
		cap = 0; /* paged out or bad pointer: keep the length, lose the bytes */
	if (!tls && st->tls == HP_TLS_NONE && cap >= 3 && hp_looks_like_tls(s->payload))
		st->tls = HP_TLS_SEEN;
	hp_header(&s->ev.hdr, HP_EVENT_DATA, c->pid_tgid);
	s->ev.hdr.ts_ns = c->ts_ns;
	s->ev.conn = st->id;
	s->ev.pos = pos;
	s->ev.len = span > 0xffffffff ? 0xffffffff : span;
	s->ev.captured = cap;
	s->ev.direction = c->dir;
	s->ev.syscall = c->syscall;
	s->ev.flags = c->flags | (st->lost[d] ? HP_DATA_AFTER_LOSS : 0);
	__builtin_memset(s->ev._pad1, 0, sizeof(s->ev._pad1));
	if (hp_output(cfg, s, sizeof(s->ev) + cap)) {
		st->lost[d] = 1;
		hp_count(HP_CTR_BYTES_LOST, cap);
	} else {
		st->lost[d] = 0;
	}
}

static __always_inline void hp_emit_chunks(const struct hp_config *cfg, struct hp_conn_state *st,
					   struct hp_data_ctx *c, __u64 ptr, __u64 len, const int tls)
{
	for (int i = 0; i < HP_CAPTURE_MAX / HP_CHUNK_MAX; i++) {
		__u32 chunk = len < HP_CHUNK_MAX ? len : HP_CHUNK_MAX;
		__u32 cap = chunk < c->budget ? chunk : c->budget;
		__u64 span = chunk;

		if (len == 0)
			break;
		/* The record that exhausts the budget, or the last one allowed,
		 * covers the rest of the segment. */
		if (cap < chunk || cap == c->budget || i == HP_CAPTURE_MAX / HP_CHUNK_MAX - 1)
			span = len;
		hp_emit_record(cfg, st, c, ptr, span, cap, tls);
		c->budget -= cap;
		ptr += span;
		len -= span;
	}
}

static __always_inline int hp_emit_conn_segment(struct hp_data_ctx *c, __u64 ptr, __u64 len, const int tls)
{
	const struct hp_config *cfg = hp_get_config();
	struct hp_conn_key key;
	struct hp_conn_state *st;

	if (!c || !cfg)
		return 0;
	key.tgid = c->pid_tgid >> 32;
	key.fd = c->fd;
	st = bpf_map_lookup_elem(&hp_conns, &key);
	if (st)
		hp_emit_chunks(cfg, st, c, ptr, len, tls);
	return 0;
}

/* [ptr, ptr+len) of user memory, captured up to c->budget (decremented).
 * The stream position advances by len whatever is captured. The socket's
 * bytes, TLS plaintext, and TLS plaintext of an unknown socket each have a
 * global function of their own: one taking a stream or a map as a runtime
 * choice would double the verifier's paths in every program. */
__noinline int hp_emit_segment(struct hp_data_ctx *c, __u64 ptr, __u64 len)
{
	return hp_emit_conn_segment(c, ptr, len, 0);
}

/* TLS plaintext of the connection (c->pid_tgid, c->fd) (lib/tls.h). */
__noinline int hp_emit_tls_segment(struct hp_data_ctx *c, __u64 ptr, __u64 len)
{
	return hp_emit_conn_segment(c, ptr, len, 1);
}

/* The same for TLS plaintext whose socket is unknown: the pseudo-connection
 * of the SSL* in c->ssl (lib/tls.h). */
__noinline int hp_emit_orphan_segment(struct hp_data_ctx *c, __u64 ptr, __u64 len)
{
	const struct hp_config *cfg = hp_get_config();
	struct hp_tls_key key = {};
	struct hp_conn_state *st;

	if (!c || !cfg)
		return 0;
	key.tgid = c->pid_tgid >> 32;
	key.ssl = c->ssl;
	st = bpf_map_lookup_elem(&hp_tls_orphans, &key);
	if (st)
		hp_emit_chunks(cfg, st, c, ptr, len, 1);
	return 0;
}

/* Stream bytes that were moved but are not captured at all. */
static __always_inline void hp_emit_uncaptured(struct hp_data_ctx *c, __u64 len)
{
	__u32 budget = c->budget;

	if (!len)
		return;
	c->budget = 0;
	hp_emit_segment(c, 0, len);
	c->budget = budget;
}

enum hp_emit_to {
	HP_EMIT_SOCKET = 0, /* hp_emit_segment */
	HP_EMIT_TLS = 1, /* hp_emit_tls_segment */
	HP_EMIT_ORPHAN = 2, /* hp_emit_orphan_segment */
};

/* An iovec array in user memory holding `total` bytes (a syscall's, or a
 * rustls write_vectored's plaintext), sent to `to`: a constant at every
 * call site, so each keeps only its own branch. Returns how many bytes it
 * did not reach (more entries than walked). */
static __always_inline __u64 hp_emit_iov_to(struct hp_data_ctx *c, __u64 iov_ptr, __u64 iovcnt, __u64 total, const int to)
{
	__u64 left = total;

	for (int i = 0; i < HP_IOV_MAX; i++) {
		struct iovec iov = {};
		__u32 budget = c->budget;
		__u64 seg;

		if (i >= iovcnt || left == 0)
			break;
		if (bpf_probe_read_user(&iov, sizeof(iov), (const void *)(iov_ptr + i * sizeof(iov))))
			break;
		seg = iov.iov_len < left ? iov.iov_len : left;
		if (!budget && !seg)
			continue;
		if (!budget)
			c->budget = seg < HP_IOV_HEAD ? seg : HP_IOV_HEAD;
		if (to == HP_EMIT_TLS)
			hp_emit_tls_segment(c, (__u64)iov.iov_base, seg);
		else if (to == HP_EMIT_ORPHAN)
			hp_emit_orphan_segment(c, (__u64)iov.iov_base, seg);
		else
			hp_emit_segment(c, (__u64)iov.iov_base, seg);
		if (!budget)
			c->budget = 0;
		left -= seg;
	}
	if (left)
		hp_count(HP_CTR_IOV_TRUNCATED, 1);
	return left;
}

static __always_inline __u64 hp_emit_iov(struct hp_data_ctx *c, __u64 iov_ptr, __u64 iovcnt, __u64 total)
{
	return hp_emit_iov_to(c, iov_ptr, iovcnt, total, HP_EMIT_SOCKET);
}

/* A struct user_msghdr in user memory: its iovecs hold `total` bytes. */
static __always_inline __u64 hp_emit_msghdr(struct hp_data_ctx *c, __u64 msg_ptr, __u64 total)
{
	struct user_msghdr msg = {};

	if (bpf_probe_read_user(&msg, sizeof(msg), (const void *)msg_ptr))
		return total;
	return hp_emit_iov(c, (__u64)msg.msg_iov, msg.msg_iovlen, total);
}

#endif
