/* SPDX-License-Identifier: (Apache-2.0 OR GPL-2.0) */
/* HTTP/2 header blocks of Go programs, in plaintext, from the functions of
 * grpc-go's transport that hold them as name/value pairs: the block the
 * transport decoded (operateHeaders, client and server, reading a
 * *http2.MetaHeadersFrame) and the block it is about to encode
 * ((*loopyWriter).writeHeader). The bytes on the wire need the
 * connection's HPACK dynamic table to be read, which a sensor that joined
 * an open connection never saw; these need nothing.
 *
 * Entry uprobes only (no return probe needed), Go register ABI on x86-64
 * (lib/goTls.h): receiver in RAX, then RBX, RCX, RDI, RSI, R8...
 *   (*http2Client).operateHeaders(frame)                RAX t, RBX frame
 *   (*http2Server).operateHeaders(ctx, frame, handle)   RAX t, RBX:RCX ctx, RDI frame
 *   (*loopyWriter).writeHeader(id, end, hf, onWrite)    RAX l, RBX id, RCX end, RDI:RSI:R8 hf
 *
 * The socket: the receiver's net.Conn field (http2Client.conn,
 * http2Server.conn, loopyWriter.conn), followed through the wrappers the
 * binary has: grpc-go's credentials.syscallConn (its Conn field), a
 * *tls.Conn (its conn field, lib/goTls.h), down to *net.TCPConn or
 * *net.UnixConn and its fd. Offsets and itabs come from user space
 * (struct hp_go_h2_binary and the binary's hp_go_tls_binary). */
#ifndef HP_LIB_GO_H2_H
#define HP_LIB_GO_H2_H

#if HP_GO_TLS_ARCH

#define HP_GO_ARG3(ctx) ((ctx)->cx)
#define HP_GO_ARG4(ctx) ((ctx)->di)
#define HP_GO_ARG5(ctx) ((ctx)->si)

/* Wrappers unwrapped at most (syscallConn -> *tls.Conn -> *net.TCPConn). */
#define HP_GO_CONN_DEPTH 3

/* The fd under the net.Conn interface stored at `at`, or -1. */
static __always_inline __s32 hp_go_h2_fd(const struct hp_go_tls_binary *tb, const struct hp_go_h2_binary *hb, __u64 at,
					 __u64 base)
{
	__u64 iface[2] = {}; /* itab, data */
	__u64 netfd = 0;
	__s32 fd = -1;

	if (bpf_probe_read_user(iface, sizeof(iface), (const void *)at))
		return -1;
	for (int i = 0; i < HP_GO_CONN_DEPTH; i++) {
		if (!iface[0] || !iface[1])
			return -1;
		if (iface[0] == tb->itab_tcp + base || (tb->itab_unix && iface[0] == tb->itab_unix + base)) {
			if (bpf_probe_read_user(&netfd, sizeof(netfd), (const void *)(iface[1] + tb->fd_off)) || !netfd)
				return -1;
			if (bpf_probe_read_user(&fd, sizeof(fd), (const void *)(netfd + tb->sysfd_off)))
				return -1;
			return fd;
		}
		if (iface[0] == hb->itab_tls + base)
			at = iface[1] + tb->conn_off;
		else if (hb->itab_syscall_conn && iface[0] == hb->itab_syscall_conn + base)
			at = iface[1] + hb->syscall_conn_off;
		else
			return -1; /* a net.Conn of a type not followed */
		if (bpf_probe_read_user(iface, sizeof(iface), (const void *)at))
			return -1;
	}
	return -1;
}

/* Go's string header. */
struct hp_go_string {
	__u64 data;
	__u64 len;
};

/* Copies field i of the []hpack.HeaderField at `fields` into ev->fields[i]. */
static __always_inline void hp_go_h2_field(struct hp_h2_headers_event *ev, __u32 i, const struct hp_go_h2_binary *hb,
					   __u64 fields)
{
	struct hp_h2_header_field *f;
	struct hp_go_string name = {}, value = {};
	__u64 at = fields + (__u64)i * hb->field_size;
	__u8 sensitive = 0;
	__u32 n;

	if (i >= HP_H2_MAX_FIELDS)
		return;
	f = &ev->fields[i];
	f->flags = 0;
	f->name_len = 0;
	f->value_len = 0;
	f->_pad[0] = f->_pad[1] = f->_pad[2] = 0;
	if (bpf_probe_read_user(&name, sizeof(name), (const void *)(at + hb->field_name_off)) ||
	    bpf_probe_read_user(&value, sizeof(value), (const void *)(at + hb->field_value_off)) ||
	    bpf_probe_read_user(&sensitive, sizeof(sensitive), (const void *)(at + hb->field_sensitive_off))) {
		f->flags = HP_H2_UNREADABLE;
		return;
	}
	n = name.len > HP_H2_NAME_MAX ? HP_H2_NAME_MAX : name.len;
	if (name.len > HP_H2_NAME_MAX)
		f->flags |= HP_H2_NAME_TRUNCATED;
	if (n && bpf_probe_read_user(f->name, n, (const void *)name.data)) {
		f->flags = HP_H2_UNREADABLE;
		return;
	}
	f->name_len = n;
	if (sensitive) {
		f->flags |= HP_H2_VALUE_WITHHELD;
		return;
	}
	n = value.len > HP_H2_VALUE_MAX ? HP_H2_VALUE_MAX : value.len;
	if (value.len > HP_H2_VALUE_MAX)
		f->flags |= HP_H2_VALUE_TRUNCATED;
	if (n && bpf_probe_read_user(f->value, n, (const void *)value.data)) {
		f->flags = HP_H2_UNREADABLE;
		return;
	}
	f->value_len = n;
}

/* Fills ev's fields from a []hpack.HeaderField (data, len) and sends it. */
static __always_inline void hp_go_h2_send(const struct hp_config *cfg, struct hp_h2_headers_event *ev,
					  const struct hp_go_h2_binary *hb, __u64 fields, __u64 count)
{
	__u32 carried = count > HP_H2_MAX_FIELDS ? HP_H2_MAX_FIELDS : count;

	ev->field_total = count > 0xffffffff ? 0xffffffff : count;
	if (count > HP_H2_MAX_FIELDS)
		ev->flags |= HP_H2_FIELDS_TRUNCATED;
	for (__u32 i = 0; i < HP_H2_MAX_FIELDS; i++) {
		if (i >= carried)
			break;
		hp_go_h2_field(ev, i, hb, fields);
	}
	ev->field_count = carried;
	hp_output(cfg, ev, sizeof(*ev) - sizeof(ev->fields) + (__u64)carried * sizeof(ev->fields[0]));
}

static __always_inline int hp_go_h2_probe(struct pt_regs *ctx)
{
	const struct hp_config *cfg = hp_get_config();
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u64 cookie = bpf_get_attach_cookie(ctx);
	__u32 index = (__u32)cookie;
	__u8 probe = cookie >> HP_H2_COOKIE_PROBE_SHIFT;
	const struct hp_go_tls_binary *tb;
	const struct hp_go_h2_binary *hb;
	struct hp_h2_headers_event *ev;
	struct hp_conn_state *st;
	__u64 receiver = HP_GO_RECEIVER(ctx);
	__u64 base = 0, linked, conn_at, frame = 0, hf = 0, fields[2] = {};
	__u32 zero = 0;
	__u8 end = 0;
	__s32 fd;

	if (!cfg || !hp_process_wanted(cfg, pid_tgid >> 32))
		return 0;
	tb = bpf_map_lookup_elem(&hp_go_tls_bins, &index);
	hb = bpf_map_lookup_elem(&hp_go_h2_bins, &index);
	if (!tb || !hb)
		return 0;
	switch (probe) {
	case HP_H2_GRPC_CLIENT_READ:
		linked = hb->client_read_addr;
		conn_at = receiver + hb->client_conn_off;
		frame = HP_GO_BUF(ctx);
		break;
	case HP_H2_GRPC_SERVER_READ:
		linked = hb->server_read_addr;
		conn_at = receiver + hb->server_conn_off;
		frame = HP_GO_ARG4(ctx);
		break;
	case HP_H2_GRPC_WRITE:
		linked = hb->write_addr;
		conn_at = receiver + hb->loopy_conn_off;
		hf = HP_GO_ARG4(ctx);
		break;
	default:
		return 0;
	}
	if (hb->pie)
		base = HP_GO_PC(ctx) - linked;
	fd = hp_go_h2_fd(tb, hb, conn_at, base);
	st = fd >= 0 ? hp_conn_for_data(cfg, pid_tgid, fd) : NULL;
	if (!st) {
		hp_count(HP_CTR_H2_UNKEYED, 1);
		return 0;
	}
	if (!hp_ports_wanted(cfg, st->local_port, st->remote_port)) {
		hp_count(HP_CTR_FILTERED, 1);
		return 0;
	}
	ev = bpf_map_lookup_elem(&hp_h2_scratch, &zero);
	if (!ev)
		return 0;
	hp_header(&ev->hdr, HP_EVENT_H2_HEADERS, pid_tgid);
	ev->conn = st->id;
	ev->probe = probe;
	ev->flags = 0;
	ev->field_count = 0;
	ev->field_total = 0;
	__builtin_memset(ev->_pad1, 0, sizeof(ev->_pad1));
	if (probe == HP_H2_GRPC_WRITE) {
		ev->direction = HP_DIR_EGRESS;
		ev->stream_id = (__u32)HP_GO_BUF(ctx);
		if ((__u8)HP_GO_ARG3(ctx))
			ev->flags |= HP_H2_END_STREAM;
		hp_go_h2_send(cfg, ev, hb, hf, HP_GO_ARG5(ctx));
		return 0;
	}
	/* A *MetaHeadersFrame: its *HeadersFrame (stream id, flags), Fields, Truncated. */
	__u64 hdrs = 0;
	__u8 truncated = 0;

	if (bpf_probe_read_user(&hdrs, sizeof(hdrs), (const void *)(frame + hb->meta_frame_off)) || !hdrs ||
	    bpf_probe_read_user(fields, sizeof(fields), (const void *)(frame + hb->meta_fields_off)) ||
	    bpf_probe_read_user(&ev->stream_id, sizeof(ev->stream_id), (const void *)(hdrs + hb->stream_id_off)) ||
	    bpf_probe_read_user(&end, sizeof(end), (const void *)(hdrs + hb->frame_flags_off))) {
		hp_count(HP_CTR_H2_UNKEYED, 1);
		return 0;
	}
	if (!bpf_probe_read_user(&truncated, sizeof(truncated), (const void *)(frame + hb->meta_truncated_off)) && truncated)
		ev->flags |= HP_H2_LIST_TRUNCATED;
	ev->direction = HP_DIR_INGRESS;
	if (end & 0x1) /* http2.FlagHeadersEndStream */
		ev->flags |= HP_H2_END_STREAM;
	hp_go_h2_send(cfg, ev, hb, fields[0], fields[1]);
	return 0;
}

#else

static __always_inline int hp_go_h2_probe(struct pt_regs *ctx)
{
	return 0;
}

#endif

#endif
