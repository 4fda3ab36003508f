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
 * (struct hp_go_h2_binary and the binary's hp_go_tls_binary).
 *
 * net/http's bundled HTTP/2 (net/http.http2*, what every Go HTTPS server
 * and client with ALPN h2 runs) the same way where it holds a decoded
 * block: (*http2serverConn).processHeaders(f) and
 * (*http2clientConnReadLoop).processHeaders(f), RAX receiver, RBX f (a
 * *http2MetaHeadersFrame, the bundle's own types and offsets). It never
 * holds a block to send as a list: it encodes an http.Header field by
 * field, through its vendored hpack (*Encoder).WriteField(f), RAX e, RBX:RCX
 * f.Name, RDI:RSI f.Value, R8 f.Sensitive. So a block is gathered per
 * goroutine (the calls of one block all run on the goroutine that writes
 * it, holding the connection's write lock; R14 is g) between
 *   start: (*http2writeResHeaders).writeFrame (server),
 *          (*http2clientStream).encodeAndWriteHeaders and
 *          (*http2ClientConn).encodeTrailers (client)
 *   write: (*http2writeResHeaders).writeHeaderBlock(ctx, frag, first, last)
 *          RAX w, RBX:RCX ctx (*http2serverConn), R9 first: the first
 *          fragment, before any byte of it reaches the connection;
 *          (*http2ClientConn).writeHeaders(id, end, max, hdrs), RAX cc,
 *          RBX id, RCX end.
 * The write is where the stream id and the socket are known (the client's
 * stream id is given to writeHeaders), and it comes before the frame's
 * bytes reach crypto/tls: the block goes out there, exactly one per
 * HEADERS frame, keyed by its own stream id whatever else is in flight. */
#ifndef HP_LIB_GO_H2_H
#define HP_LIB_GO_H2_H

#if HP_GO_TLS_ARCH

#define HP_GO_ARG3(ctx) ((ctx)->cx)
#define HP_GO_ARG4(ctx) ((ctx)->di)
#define HP_GO_ARG5(ctx) ((ctx)->si)
#define HP_GO_ARG6(ctx) ((ctx)->r8)
#define HP_GO_ARG7(ctx) ((ctx)->r9)

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

/* Where a stack's MetaHeadersFrame and hpack.HeaderField keep what is read
 * (grpc-go's x/net copy or net/http's bundled one). */
struct hp_go_h2_frame_offs {
	__u32 meta_frame, meta_fields, meta_truncated, stream_id, frame_flags;
	__u32 field_size, field_name, field_value, field_sensitive;
};

static __always_inline void hp_go_h2_copy_field(struct hp_h2_header_field *f, struct hp_go_string name,
						struct hp_go_string value, __u8 sensitive);

/* Copies field i of the []hpack.HeaderField at `fields` into ev->fields[i]. */
static __always_inline void hp_go_h2_field(struct hp_h2_headers_event *ev, __u32 i,
					   const struct hp_go_h2_frame_offs *o, __u64 fields)
{
	struct hp_h2_header_field *f;
	struct hp_go_string name = {}, value = {};
	__u64 at = fields + (__u64)i * o->field_size;
	__u8 sensitive = 0;

	if (i >= HP_H2_MAX_FIELDS)
		return;
	f = &ev->fields[i];
	if (bpf_probe_read_user(&name, sizeof(name), (const void *)(at + o->field_name)) ||
	    bpf_probe_read_user(&value, sizeof(value), (const void *)(at + o->field_value)) ||
	    bpf_probe_read_user(&sensitive, sizeof(sensitive), (const void *)(at + o->field_sensitive))) {
		f->flags = HP_H2_UNREADABLE;
		f->name_len = 0;
		f->value_len = 0;
		f->_pad[0] = f->_pad[1] = f->_pad[2] = 0;
		return;
	}
	hp_go_h2_copy_field(f, name, value, sensitive);
}

/* One field's name and value (strings of the program) into f, cut at the
 * event's bounds; a sensitive (never-indexed) value is not read. */
static __always_inline void hp_go_h2_copy_field(struct hp_h2_header_field *f, struct hp_go_string name,
						struct hp_go_string value, __u8 sensitive)
{
	__u32 n;

	f->flags = 0;
	f->name_len = 0;
	f->value_len = 0;
	f->_pad[0] = f->_pad[1] = f->_pad[2] = 0;
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
					  const struct hp_go_h2_frame_offs *o, __u64 fields, __u64 count)
{
	__u32 carried = count > HP_H2_MAX_FIELDS ? HP_H2_MAX_FIELDS : count;

	ev->field_total = count > 0xffffffff ? 0xffffffff : count;
	if (count > HP_H2_MAX_FIELDS)
		ev->flags |= HP_H2_FIELDS_TRUNCATED;
	for (__u32 i = 0; i < HP_H2_MAX_FIELDS; i++) {
		if (i >= carried)
			break;
		hp_go_h2_field(ev, i, o, fields);
	}
	ev->field_count = carried;
	hp_output(cfg, ev, sizeof(*ev) - sizeof(ev->fields) + (__u64)carried * sizeof(ev->fields[0]));
}

/* The fd of the connection a net/http block is written on, from the
 * write probe's arguments, or -1. */
static __always_inline __s32 hp_go_nh2_write_fd(struct pt_regs *ctx, const struct hp_go_tls_binary *tb,
						const struct hp_go_h2_binary *hb, __u8 probe, __u64 base)
{
	__u64 receiver = HP_GO_RECEIVER(ctx);

	if (probe == HP_H2_NETHTTP_CLIENT_WRITE)
		return hp_go_h2_fd(tb, hb, receiver + hb->nh_client_conn_off, base);
	/* The server's writeContext is its *http2serverConn (checked by itab). */
	if (!hb->nh_itab_server_ctx || HP_GO_BUF(ctx) != hb->nh_itab_server_ctx + base)
		return -1;
	return hp_go_h2_fd(tb, hb, HP_GO_ARG3(ctx) + hb->nh_server_conn_off, base);
}

/* A net/http block's write: the fields gathered since its start go out
 * with the stream id and END_STREAM the write is given. */
static __always_inline int hp_go_nh2_write(struct pt_regs *ctx, const struct hp_config *cfg, __u64 pid_tgid,
					   const struct hp_go_tls_binary *tb, const struct hp_go_h2_binary *hb, __u8 probe)
{
	struct hp_go_tls_key key = { .tgid = pid_tgid >> 32, .g = HP_GO_G(ctx) };
	struct hp_go_h2_block *blk;
	struct hp_h2_headers_event *ev;
	struct hp_conn_state *st = NULL;
	__u64 linked, base = 0, w = HP_GO_RECEIVER(ctx);
	__u32 stream_id = 0, carried;
	__u8 end = 0;
	__s32 fd;

	/* Only the first fragment: CONTINUATIONs carry the same block on. */
	if (probe == HP_H2_NETHTTP_SERVER_WRITE && !(__u8)HP_GO_ARG7(ctx))
		return 0;
	blk = bpf_map_lookup_elem(&hp_go_h2_blocks, &key);
	if (!blk)
		return 0;
	linked = probe == HP_H2_NETHTTP_CLIENT_WRITE ? hb->nh_client_write_addr : hb->nh_server_write_addr;
	if (hb->pie)
		base = HP_GO_PC(ctx) - linked;
	if (probe == HP_H2_NETHTTP_CLIENT_WRITE) {
		stream_id = (__u32)HP_GO_BUF(ctx);
		end = (__u8)HP_GO_ARG3(ctx);
	} else if (bpf_probe_read_user(&stream_id, sizeof(stream_id), (const void *)(w + hb->nh_res_stream_id_off)) ||
		   bpf_probe_read_user(&end, sizeof(end), (const void *)(w + hb->nh_res_end_stream_off))) {
		stream_id = 0;
	}
	fd = stream_id ? hp_go_nh2_write_fd(ctx, tb, hb, probe, base) : -1;
	if (fd >= 0)
		st = hp_conn_for_data(cfg, pid_tgid, fd);
	if (!st) {
		hp_count(HP_CTR_H2_UNKEYED, 1);
	} else if (!hp_ports_wanted(cfg, st->local_port, st->remote_port)) {
		hp_count(HP_CTR_FILTERED, 1);
	} else {
		ev = &blk->ev;
		hp_header(&ev->hdr, HP_EVENT_H2_HEADERS, pid_tgid);
		ev->conn = st->id;
		ev->stream_id = stream_id;
		ev->direction = HP_DIR_EGRESS;
		ev->probe = probe;
		if (end)
			ev->flags |= HP_H2_END_STREAM;
		carried = ev->field_count;
		if (carried > HP_H2_MAX_FIELDS)
			carried = HP_H2_MAX_FIELDS;
		hp_output(cfg, ev, sizeof(*ev) - sizeof(ev->fields) + (__u64)carried * sizeof(ev->fields[0]));
	}
	bpf_map_delete_elem(&hp_go_h2_blocks, &key);
	return 0;
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
	struct hp_go_h2_frame_offs o;
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
	o = (struct hp_go_h2_frame_offs){
		.meta_frame = hb->meta_frame_off,
		.meta_fields = hb->meta_fields_off,
		.meta_truncated = hb->meta_truncated_off,
		.stream_id = hb->stream_id_off,
		.frame_flags = hb->frame_flags_off,
		.field_size = hb->field_size,
		.field_name = hb->field_name_off,
		.field_value = hb->field_value_off,
		.field_sensitive = hb->field_sensitive_off,
	};
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
	case HP_H2_NETHTTP_SERVER_WRITE:
	case HP_H2_NETHTTP_CLIENT_WRITE:
		return hp_go_nh2_write(ctx, cfg, pid_tgid, tb, hb, probe);
	case HP_H2_NETHTTP_SERVER_READ:
	case HP_H2_NETHTTP_CLIENT_READ:
		o = (struct hp_go_h2_frame_offs){
			.meta_frame = hb->nh_meta_frame_off,
			.meta_fields = hb->nh_meta_fields_off,
			.meta_truncated = hb->nh_meta_truncated_off,
			.stream_id = hb->nh_stream_id_off,
			.frame_flags = hb->nh_frame_flags_off,
			.field_size = hb->nh_field_size,
			.field_name = hb->nh_field_name_off,
			.field_value = hb->nh_field_value_off,
			.field_sensitive = hb->nh_field_sensitive_off,
		};
		frame = HP_GO_BUF(ctx);
		if (probe == HP_H2_NETHTTP_SERVER_READ) {
			linked = hb->nh_server_read_addr;
			conn_at = receiver + hb->nh_server_conn_off;
			break;
		}
		/* The read loop's *http2ClientConn, then its tconn. */
		linked = hb->nh_client_read_addr;
		if (bpf_probe_read_user(&conn_at, sizeof(conn_at), (const void *)(receiver + hb->nh_read_loop_cc_off)) ||
		    !conn_at) {
			hp_count(HP_CTR_H2_UNKEYED, 1);
			return 0;
		}
		conn_at += hb->nh_client_conn_off;
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
		hp_go_h2_send(cfg, ev, &o, hf, HP_GO_ARG5(ctx));
		return 0;
	}
	/* A *MetaHeadersFrame: its *HeadersFrame (stream id, flags), Fields, Truncated. */
	__u64 hdrs = 0;
	__u8 truncated = 0;

	if (bpf_probe_read_user(&hdrs, sizeof(hdrs), (const void *)(frame + o.meta_frame)) || !hdrs ||
	    bpf_probe_read_user(fields, sizeof(fields), (const void *)(frame + o.meta_fields)) ||
	    bpf_probe_read_user(&ev->stream_id, sizeof(ev->stream_id), (const void *)(hdrs + o.stream_id)) ||
	    bpf_probe_read_user(&end, sizeof(end), (const void *)(hdrs + o.frame_flags))) {
		hp_count(HP_CTR_H2_UNKEYED, 1);
		return 0;
	}
	if (!bpf_probe_read_user(&truncated, sizeof(truncated), (const void *)(frame + o.meta_truncated)) && truncated)
		ev->flags |= HP_H2_LIST_TRUNCATED;
	ev->direction = HP_DIR_INGRESS;
	if (end & 0x1) /* http2.FlagHeadersEndStream */
		ev->flags |= HP_H2_END_STREAM;
	hp_go_h2_send(cfg, ev, &o, fields[0], fields[1]);
	return 0;
}

static __always_inline void hp_go_nh2_empty(struct hp_go_h2_block *blk)
{
	blk->last_ret = blk->last_sp = blk->last_name = blk->last_value = 0;
	blk->ev.flags = 0;
	blk->ev.field_count = 0;
	blk->ev.field_total = 0;
	__builtin_memset(blk->ev._pad1, 0, sizeof(blk->ev._pad1));
}

/* A net/http block starts on this goroutine: an empty one replaces
 * whatever it had (a block started and never written). A morestack
 * restart of the start function starts it again, before any field. */
static __always_inline int hp_go_nh2_start(struct pt_regs *ctx)
{
	const struct hp_config *cfg = hp_get_config();
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct hp_go_tls_key key = { .tgid = pid_tgid >> 32, .g = HP_GO_G(ctx) };
	struct hp_go_h2_block *blk;
	__u32 zero = 0;

	if (!cfg || !hp_process_wanted(cfg, key.tgid))
		return 0;
	blk = bpf_map_lookup_elem(&hp_go_h2_blocks, &key);
	if (blk) {
		hp_go_nh2_empty(blk); /* in place: only this goroutine uses it */
		return 0;
	}
	blk = bpf_map_lookup_elem(&hp_go_h2_block_scratch, &zero);
	if (!blk)
		return 0;
	hp_go_nh2_empty(blk);
	bpf_map_update_elem(&hp_go_h2_blocks, &key, blk, BPF_ANY);
	return 0;
}

/* hpack (*Encoder).WriteField(f): appended to its goroutine's block, if
 * one was started (other encoders of the program have none). */
static __always_inline int hp_go_nh2_field(struct pt_regs *ctx)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct hp_go_tls_key key = { .tgid = pid_tgid >> 32, .g = HP_GO_G(ctx) };
	struct hp_go_string name = { .data = HP_GO_BUF(ctx), .len = HP_GO_ARG3(ctx) };
	struct hp_go_string value = { .data = HP_GO_ARG4(ctx), .len = HP_GO_ARG5(ctx) };
	struct hp_go_h2_block *blk = bpf_map_lookup_elem(&hp_go_h2_blocks, &key);
	__u64 ret = 0, sp = HP_GO_SP(ctx);
	__u32 i;

	if (!blk)
		return 0;
	if (bpf_probe_read_user(&ret, sizeof(ret), (const void *)sp))
		ret = 0;
	/* The prologue found the stack too small: runtime.morestack copied it
	 * elsewhere and restarted WriteField, same caller, same field. */
	if (blk->ev.field_total && ret == blk->last_ret && sp != blk->last_sp && name.data == blk->last_name &&
	    value.data == blk->last_value)
		return 0;
	blk->last_ret = ret;
	blk->last_sp = sp;
	blk->last_name = name.data;
	blk->last_value = value.data;
	i = blk->ev.field_total;
	if (i < 0xffffffff)
		blk->ev.field_total = i + 1;
	if (i >= HP_H2_MAX_FIELDS) {
		blk->ev.flags |= HP_H2_FIELDS_TRUNCATED;
		return 0;
	}
	hp_go_h2_copy_field(&blk->ev.fields[i], name, value, (__u8)HP_GO_ARG6(ctx));
	blk->ev.field_count = i + 1;
	return 0;
}

#else

static __always_inline int hp_go_h2_probe(struct pt_regs *ctx)
{
	return 0;
}

static __always_inline int hp_go_nh2_start(struct pt_regs *ctx)
{
	return 0;
}

static __always_inline int hp_go_nh2_field(struct pt_regs *ctx)
{
	return 0;
}

#endif

#endif
