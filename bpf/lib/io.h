/* SPDX-License-Identifier: (Apache-2.0 OR GPL-2.0) */
/* What every hooked syscall does, whichever way it is attached (syscall
 * tracepoints or kprobes): save the arguments at entry, act on the return
 * value at exit. The attachment files only unpack arguments and call these. */
#ifndef HP_LIB_IO_H
#define HP_LIB_IO_H

#define HP_EINPROGRESS 115

/* Whether fd of the current task may carry traffic we trace: a traced
 * connection, or a socket not seen yet. Files and pipes stop here, before
 * anything is written to a map. */
static __always_inline bool hp_fd_worth_tracing(__u32 tgid, __s32 fd)
{
	struct hp_conn_key key = { .tgid = tgid, .fd = fd };
	struct hp_conn_state *st = bpf_map_lookup_elem(&hp_conns, &key);

	if (st)
		return st->trace == HP_CONN_TRACED;
	return hp_fd_to_sock(fd) != NULL;
}

static __always_inline int hp_enter(__s32 fd, __u64 buf, __u64 count, __u8 syscall)
{
	const struct hp_config *cfg = hp_get_config();
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct hp_pending p = {};

	if (!cfg || !hp_process_wanted(cfg, pid_tgid >> 32))
		return 0;
	/* connect/accept: the fd (or its socket) only becomes interesting at exit. */
	if (syscall < HP_PENDING_CONNECT && !hp_fd_worth_tracing(pid_tgid >> 32, fd))
		return 0;
	p.buf = buf;
	p.entry_ns = bpf_ktime_get_ns();
	p.fd = fd;
	p.count = count > 0xffffffff ? 0xffffffff : count;
	p.syscall = syscall;
	bpf_map_update_elem(&hp_pending, &pid_tgid, &p, BPF_ANY);
	return 0;
}

/* Takes the thread's saved arguments (always removed, so a failed syscall
 * leaves nothing behind) and, for a positive return on a traced
 * connection, sets up the capture context. False: nothing to report. */
static __always_inline bool hp_data_begin(struct hp_data_ctx *c, struct hp_pending *p, long ret, __u8 dir)
{
	const struct hp_config *cfg = hp_get_config();
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct hp_pending *pp = bpf_map_lookup_elem(&hp_pending, &pid_tgid);
	struct hp_conn_state *st;

	if (!pp)
		return false;
	*p = *pp;
	bpf_map_delete_elem(&hp_pending, &pid_tgid);
	if (!cfg || ret <= 0)
		return false;
	st = hp_conn_for_data(cfg, pid_tgid, p->fd);
	if (!st)
		return false;
	/* TLS (lib/tls.h): ciphertext moved by a TLS library inside an SSL_*
	 * call ties the SSL* to this fd; a connection whose plaintext is known
	 * sends no socket bytes, so parsers never see its ciphertext. */
	if (hp_tls_nested(pid_tgid, p->fd, st))
		return false;
	if (dir == HP_DIR_EGRESS && hp_tls_claim_write(cfg, pid_tgid, p, st))
		return false;
	/* The first read of a connection is noted too: its bytes, TLS or not,
	 * are only examined when they are emitted, after this; a Go TLS read in
	 * progress when the probes came needs it (lib/goTls.h). */
	if (dir == HP_DIR_INGRESS && (st->tls != HP_TLS_NONE || st->pos[HP_STREAM_INGRESS] == 0))
		hp_tls_note_read(pid_tgid, p->fd, st);
	if (st->tls == HP_TLS_PLAIN)
		return false;
	if (!hp_ports_wanted(cfg, st->local_port, st->remote_port)) {
		hp_count(HP_CTR_FILTERED, 1);
		return false;
	}
	c->pid_tgid = pid_tgid;
	c->fd = p->fd;
	c->budget = cfg->capture_bytes > HP_CAPTURE_MAX ? HP_CAPTURE_MAX : cfg->capture_bytes;
	c->syscall = p->syscall;
	c->dir = dir;
	/* Sent bytes are timed when the process handed them over (entry), read
	 * bytes when the process got them (exit): on loopback the reader can
	 * return before the writer's syscall does, and spans must still nest. */
	c->ts_ns = dir == HP_DIR_EGRESS ? p->entry_ns : bpf_ktime_get_ns();
	return true;
}

/* One exit handler per argument shape, so that each attached program only
 * carries (and the verifier only walks) the code its syscall needs. */

/* read, write, sendto, recvfrom: one buffer. */
static __always_inline int hp_exit_buf(long ret, __u8 dir)
{
	struct hp_data_ctx c = {};
	struct hp_pending p;

	if (hp_data_begin(&c, &p, ret, dir))
		hp_emit_segment(&c, p.buf, ret);
	return 0;
}

/* readv, writev: an iovec array. */
static __always_inline int hp_exit_iov(long ret, __u8 dir)
{
	struct hp_data_ctx c = {};
	struct hp_pending p;

	if (hp_data_begin(&c, &p, ret, dir))
		hp_emit_uncaptured(&c, hp_emit_iov(&c, p.buf, p.count, ret));
	return 0;
}

/* sendmsg, recvmsg: a msghdr. */
static __always_inline int hp_exit_msg(long ret, __u8 dir)
{
	struct hp_data_ctx c = {};
	struct hp_pending p;

	if (hp_data_begin(&c, &p, ret, dir))
		hp_emit_uncaptured(&c, hp_emit_msghdr(&c, p.buf, ret));
	return 0;
}

/* sendfile: length only, the payload never passes through user memory. */
static __always_inline int hp_exit_len(long ret, __u8 dir)
{
	struct hp_data_ctx c = {};
	struct hp_pending p;

	if (hp_data_begin(&c, &p, ret, dir)) {
		c.flags = HP_DATA_LENGTH_ONLY;
		hp_emit_uncaptured(&c, ret);
	}
	return 0;
}

/* sendmmsg, recvmmsg: return a message count; each mmsghdr says its length. */
static __always_inline int hp_exit_mmsg(long nmsgs, __u8 dir)
{
	struct hp_data_ctx c = {};
	struct hp_pending p;
	__u64 rest = 0;

	if (!hp_data_begin(&c, &p, nmsgs, dir))
		return 0;
	for (int i = 0; i < HP_MMSG_MAX; i++) {
		struct mmsghdr m = {};

		if (i >= nmsgs)
			break;
		if (bpf_probe_read_user(&m, sizeof(m), (const void *)(p.buf + i * sizeof(m))))
			break;
		rest += hp_emit_iov(&c, (__u64)m.msg_hdr.msg_iov, m.msg_hdr.msg_iovlen, m.msg_len);
	}
	if (nmsgs > HP_MMSG_MAX) {
		/* Lengths of the messages not walked are unknown without reading
		 * them: counted, and the position gap shows at the next event. */
		hp_count(HP_CTR_IOV_TRUNCATED, nmsgs - HP_MMSG_MAX);
	}
	hp_emit_uncaptured(&c, rest);
	return 0;
}

/* Exit of connect. */
static __always_inline int hp_exit_conn(long ret)
{
	const struct hp_config *cfg = hp_get_config();
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct hp_pending *pp = bpf_map_lookup_elem(&hp_pending, &pid_tgid);
	struct hp_pending p;

	if (!pp)
		return 0;
	p = *pp;
	bpf_map_delete_elem(&hp_pending, &pid_tgid);
	if (!cfg)
		return 0;
	if (p.syscall == HP_PENDING_CONNECT && (ret == 0 || ret == -HP_EINPROGRESS))
		hp_conn_begin(cfg, pid_tgid, p.fd, HP_ROLE_CLIENT, HP_ORIGIN_CONNECT);
	return 0;
}

/* Exit of accept/accept4. The return value alone names the new socket, so
 * an accept whose entry came before the sensor (a server blocked in
 * accept when it started) still opens its connection from the start. */
static __always_inline int hp_exit_accept(long ret)
{
	const struct hp_config *cfg = hp_get_config();
	__u64 pid_tgid = bpf_get_current_pid_tgid();

	bpf_map_delete_elem(&hp_pending, &pid_tgid);
	if (!cfg || ret < 0 || !hp_process_wanted(cfg, pid_tgid >> 32))
		return 0;
	hp_conn_begin(cfg, pid_tgid, ret, HP_ROLE_SERVER, HP_ORIGIN_ACCEPT);
	return 0;
}

static __always_inline int hp_close(__s32 fd)
{
	const struct hp_config *cfg = hp_get_config();

	if (cfg)
		hp_conn_end(cfg, bpf_get_current_pid_tgid(), fd);
	return 0;
}

#endif
