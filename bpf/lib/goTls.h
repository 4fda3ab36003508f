/* SPDX-License-Identifier: (Apache-2.0 OR GPL-2.0) */
/* Go crypto/tls plaintext: uprobes on crypto/tls.(*Conn).Read and Write,
 * one at the entry and one at each return instruction (user space finds
 * them by disassembling the function). A uretprobe is not an option: it
 * rewrites the return address on the stack, and Go moves and walks its
 * stacks.
 *
 * Go's register ABI (1.17+) on x86-64: at entry the receiver *Conn is in
 * RAX and the []byte in RBX (data), RCX (length); at a return n is in RAX;
 * R14 always holds the current goroutine (g). A call is keyed by (tgid, g):
 * Read parks while the socket has nothing, and resumes on any thread.
 *
 * The socket: *Conn -> conn (net.Conn: itab, data) -> *net.TCPConn ->
 * conn.fd (*net.netFD) -> pfd.Sysfd, at offsets from the binary's DWARF
 * (struct hp_go_tls_binary, by the probe's cookie). The itab must be
 * *net.TCPConn's (or *net.UnixConn's, same layout): a conn of another type
 * (a wrapper, TLS inside TLS) is not followed. The socket's connection in
 * hp_conns (created here for a connection older than the sensor) is marked
 * HP_TLS_PLAIN at entry, so the ciphertext the call reads or writes never
 * reaches user space; the plaintext goes out with hp_emit_tls_segment,
 * exactly like OpenSSL's (lib/tls.h).
 *
 * When: Write's bytes at its entry (they are all in the buffer then, and a
 * request must reach user space before its response: in Go the response is
 * often read by another goroutine, whose Read can return before the writer
 * reaches Write's return), counted as the length asked (tls.Conn.Write
 * writes it all or fails the connection); Read's at its return, n bytes. */
#ifndef HP_LIB_GO_TLS_H
#define HP_LIB_GO_TLS_H

#if defined(__TARGET_ARCH_x86)
#define HP_GO_RECEIVER(ctx) ((ctx)->ax)
#define HP_GO_BUF(ctx) ((ctx)->bx)
#define HP_GO_LEN(ctx) ((long)(ctx)->cx)
#define HP_GO_RESULT(ctx) ((long)(ctx)->ax)
#define HP_GO_G(ctx) ((ctx)->r14)
#define HP_GO_SP(ctx) ((ctx)->sp)
#define HP_GO_PC(ctx) ((ctx)->ip)
#define HP_GO_TLS_ARCH 1
#else
/* Other architectures: the programs load and do nothing; user space
 * reports Go binaries there as not traced. */
#define HP_GO_TLS_ARCH 0
#endif

#if HP_GO_TLS_ARCH

/* The fd under a *tls.Conn, or -1. base: the load base (PIE), else 0. */
static __always_inline __s32 hp_go_tls_fd(const struct hp_go_tls_binary *bin, __u64 conn, __u64 base)
{
	__u64 iface[2] = {}; /* itab, data */
	__u64 netfd = 0;
	__s32 fd = -1;

	if (bpf_probe_read_user(iface, sizeof(iface), (const void *)(conn + bin->conn_off)))
		return -1;
	if (iface[0] != bin->itab_tcp + base && !(bin->itab_unix && iface[0] == bin->itab_unix + base))
		return -1;
	if (bpf_probe_read_user(&netfd, sizeof(netfd), (const void *)(iface[1] + bin->fd_off)) || !netfd)
		return -1;
	/* Sysfd is a Go int (8 bytes); any fd fits in its low half. */
	if (bpf_probe_read_user(&fd, sizeof(fd), (const void *)(netfd + bin->sysfd_off)))
		return -1;
	return fd;
}

/* The load base of a PIE binary, from the address this probe fired at
 * (the kernel sets the pc to the probed instruction before running the
 * program) and where that instruction was linked. */
static __always_inline __u64 hp_go_tls_base(struct pt_regs *ctx, const struct hp_go_tls_binary *bin, __u64 cookie)
{
	__u8 dir = cookie >> HP_GO_TLS_COOKIE_DIR_SHIFT;
	__u64 linked = (dir == HP_DIR_INGRESS ? bin->read_addr : bin->write_addr) + (cookie >> HP_GO_TLS_COOKIE_OFF_SHIFT);

	return bin->pie ? HP_GO_PC(ctx) - linked : 0;
}

static __always_inline void hp_go_tls_ctx(struct hp_data_ctx *c, __u64 pid_tgid, __s32 fd, __u8 dir, __u64 ts_ns,
					  __u32 budget)
{
	c->pid_tgid = pid_tgid;
	c->fd = fd;
	c->budget = budget;
	c->dir = dir;
	c->syscall = dir == HP_DIR_EGRESS ? HP_SYS_GO_TLS_WRITE : HP_SYS_GO_TLS_READ;
	c->flags = HP_DATA_TLS;
	c->ts_ns = ts_ns;
}

static __always_inline __u32 hp_go_tls_budget(const struct hp_config *cfg)
{
	return cfg->capture_bytes > HP_CAPTURE_MAX ? HP_CAPTURE_MAX : cfg->capture_bytes;
}

static __always_inline int hp_go_tls_enter(struct pt_regs *ctx)
{
	const struct hp_config *cfg = hp_get_config();
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u64 cookie = bpf_get_attach_cookie(ctx);
	__u32 index = (__u32)cookie;
	__u8 dir = cookie >> HP_GO_TLS_COOKIE_DIR_SHIFT;
	struct hp_go_tls_key key = { .tgid = pid_tgid >> 32, .g = HP_GO_G(ctx) };
	const struct hp_go_tls_binary *bin;
	struct hp_go_tls_call call = {};
	struct hp_go_tls_call *prev;
	struct hp_conn_state *st = NULL;
	struct hp_data_ctx c = {};
	long len = HP_GO_LEN(ctx);
	__s32 fd;

	if (!cfg || !hp_process_wanted(cfg, key.tgid))
		return 0;
	bin = bpf_map_lookup_elem(&hp_go_tls_bins, &index);
	if (!bin)
		return 0;
	if (bpf_probe_read_user(&call.ret_addr, sizeof(call.ret_addr), (const void *)HP_GO_SP(ctx)))
		call.ret_addr = 0;
	call.buf = HP_GO_BUF(ctx);
	call.dir = dir;
	prev = bpf_map_lookup_elem(&hp_go_tls_calls, &key);
	/* The prologue found the stack too small: runtime.morestack copied it
	 * and jumped back to the entry. Same call, same arguments: already
	 * counted (and, for Write, already sent). */
	if (prev && prev->ret_addr == call.ret_addr && prev->buf == call.buf && prev->dir == dir)
		return 0;
	fd = hp_go_tls_fd(bin, HP_GO_RECEIVER(ctx), hp_go_tls_base(ctx, bin, cookie));
	if (fd >= 0)
		st = hp_conn_for_data(cfg, pid_tgid, fd);
	if (!st) {
		/* Not a traced socket. Inside a traced call (TLS inside TLS) it
		 * is counted so that the outer call keeps its entry; alone, a
		 * marker that its return removes. */
		if (prev && prev->fd >= 0) {
			if (prev->depth < 255)
				prev->depth++;
			return 0;
		}
		call.fd = -1;
		bpf_map_update_elem(&hp_go_tls_calls, &key, &call, BPF_ANY);
		return 0;
	}
	st->tls = HP_TLS_PLAIN;
	call.fd = fd;
	call.gen = st->id.gen;
	call.entry_ns = bpf_ktime_get_ns();
	bpf_map_update_elem(&hp_go_tls_calls, &key, &call, BPF_ANY);
	if (dir != HP_DIR_EGRESS || len <= 0)
		return 0;
	if (!hp_ports_wanted(cfg, st->local_port, st->remote_port)) {
		hp_count(HP_CTR_FILTERED, 1);
		return 0;
	}
	hp_go_tls_ctx(&c, pid_tgid, fd, dir, call.entry_ns, hp_go_tls_budget(cfg));
	hp_emit_tls_segment(&c, call.buf, len);
	return 0;
}

/* A Read in progress when its probes were attached returns n bytes without
 * an entry. Where Read keeps its receiver and buffer in their spill slots
 * (user space checked its code), they are read back above the return
 * address and the call is reported whole. Otherwise the socket read the
 * thread just made tells the connection, and its n plaintext bytes go out
 * uncaptured (a record of length n, nothing captured), at this moment: user
 * space sees a hole of the exact size where it happened, instead of a
 * stream that silently lacks a message (which would pair the next response
 * with the wrong request). */
static __always_inline void hp_go_tls_in_flight(struct pt_regs *ctx, const struct hp_config *cfg, __u64 pid_tgid,
						__u64 cookie, long n)
{
	__u32 index = (__u32)cookie;
	const struct hp_go_tls_binary *bin = bpf_map_lookup_elem(&hp_go_tls_bins, &index);
	struct hp_tls_last_read *lr = bpf_map_lookup_elem(&hp_tls_last_reads, &pid_tgid);
	struct hp_tls_last_read seen = {};
	struct hp_data_ctx c = {};
	struct hp_conn_state *st = NULL;
	__u64 spill[2] = {}; /* receiver, buffer */
	__u64 buf = 0;
	__u32 budget = 0;
	__s32 fd = -1;

	if (lr) {
		seen = *lr;
		bpf_map_delete_elem(&hp_tls_last_reads, &pid_tgid);
	}
	if (bin && bin->read_spills &&
	    !bpf_probe_read_user(spill, sizeof(spill), (const void *)(HP_GO_SP(ctx) + 8))) {
		fd = hp_go_tls_fd(bin, spill[0], hp_go_tls_base(ctx, bin, cookie));
		if (fd >= 0)
			st = hp_conn_for_data(cfg, pid_tgid, fd);
		if (st) {
			buf = spill[1];
			budget = hp_go_tls_budget(cfg);
		}
	}
	if (!st) {
		if (!lr || bpf_ktime_get_ns() - seen.ts_ns > HP_TLS_LAST_READ_NS)
			return;
		fd = seen.fd;
		st = hp_tls_conn(pid_tgid >> 32, fd, seen.gen, false);
		if (!st || st->tls == HP_TLS_NONE)
			return;
	}
	st->tls = HP_TLS_PLAIN;
	if (!hp_ports_wanted(cfg, st->local_port, st->remote_port))
		return;
	hp_go_tls_ctx(&c, pid_tgid, fd, HP_DIR_INGRESS, bpf_ktime_get_ns(), budget);
	hp_emit_tls_segment(&c, buf, n);
}

static __always_inline int hp_go_tls_return(struct pt_regs *ctx)
{
	const struct hp_config *cfg = hp_get_config();
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u64 cookie = bpf_get_attach_cookie(ctx);
	__u8 dir = cookie >> HP_GO_TLS_COOKIE_DIR_SHIFT;
	struct hp_go_tls_key key = { .tgid = pid_tgid >> 32, .g = HP_GO_G(ctx) };
	long n = HP_GO_RESULT(ctx);
	struct hp_data_ctx c = {};
	struct hp_go_tls_call *cp;
	struct hp_go_tls_call call;
	struct hp_conn_state *st;

	if (!cfg || !hp_process_wanted(cfg, key.tgid))
		return 0;
	cp = bpf_map_lookup_elem(&hp_go_tls_calls, &key);
	if (!cp) {
		if (dir == HP_DIR_INGRESS && n > 0)
			hp_go_tls_in_flight(ctx, cfg, pid_tgid, cookie, n);
		return 0;
	}
	if (cp->depth) {
		cp->depth--;
		return 0;
	}
	call = *cp;
	bpf_map_delete_elem(&hp_go_tls_calls, &key);
	/* As for SSL_read: a read's return consumes the thread's last socket
	 * read, so it is never taken for another call. */
	if (dir == HP_DIR_INGRESS)
		bpf_map_delete_elem(&hp_tls_last_reads, &pid_tgid);
	/* Write was reported at its entry. */
	if (dir != HP_DIR_INGRESS || call.fd < 0 || call.dir != dir || n <= 0)
		return 0;
	st = hp_tls_conn(key.tgid, call.fd, call.gen, false);
	if (!st)
		return 0;
	if (!hp_ports_wanted(cfg, st->local_port, st->remote_port)) {
		hp_count(HP_CTR_FILTERED, 1);
		return 0;
	}
	hp_go_tls_ctx(&c, pid_tgid, call.fd, dir, bpf_ktime_get_ns(), hp_go_tls_budget(cfg));
	hp_emit_tls_segment(&c, call.buf, n);
	return 0;
}

#else

static __always_inline int hp_go_tls_enter(struct pt_regs *ctx)
{
	return 0;
}

static __always_inline int hp_go_tls_return(struct pt_regs *ctx)
{
	return 0;
}

#endif

#endif
