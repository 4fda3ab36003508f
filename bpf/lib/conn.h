/* SPDX-License-Identifier: (Apache-2.0 OR GPL-2.0) */
/* Connection lifecycle: a connection becomes known at connect/accept, or at
 * its first data syscall when it predates the sensor; it is forgotten at
 * close. Each becoming-known emits HP_EVENT_CONN_OPEN with a fresh gen, so
 * a reused fd never continues an old connection. */
#ifndef HP_LIB_CONN_H
#define HP_LIB_CONN_H

static __always_inline void hp_header(struct hp_event_header *h, __u8 kind, __u64 pid_tgid)
{
	h->kind = kind;
	h->_pad0[0] = h->_pad0[1] = h->_pad0[2] = 0;
	h->tid = (__u32)pid_tgid;
	h->ts_ns = bpf_ktime_get_ns();
}

/* The process's name: its main thread's comm. A thread's own comm can be
 * anything the program named it ("MainThread", "grpc_global_tim"). */
static __always_inline void hp_process_comm(char comm[HP_COMM_LEN])
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();

	if (BPF_CORE_READ_STR_INTO((char (*)[HP_COMM_LEN])comm, task, group_leader, comm) < 0)
		bpf_get_current_comm(comm, HP_COMM_LEN);
}

/* Ring buffer output with adaptive wake-up (see hp_config.wakeup_bytes):
 * only the record that makes the unread data cross the threshold wakes
 * user space. Waking on every record above it (the backlog stays above
 * under load) costs an interrupt per record; the addon's poll timeout
 * collects whatever no record woke it for. */
static __always_inline long hp_output(const struct hp_config *cfg, void *rec, __u64 size)
{
	__u64 flags = 0;
	long err;

	if (cfg->wakeup_bytes) {
		__u64 before = bpf_ringbuf_query(&hp_events, BPF_RB_AVAIL_DATA);

		flags = before < cfg->wakeup_bytes && before + size >= cfg->wakeup_bytes
				? BPF_RB_FORCE_WAKEUP
				: BPF_RB_NO_WAKEUP;
	}
	err = bpf_ringbuf_output(&hp_events, rec, size, flags);
	if (err) {
		hp_count(HP_CTR_RINGBUF_LOST, 1);
		return err;
	}
	hp_count(HP_CTR_EVENTS, 1);
	return 0;
}

/* Starts tracking (tgid, fd) as a new connection of the given role, whether
 * or not it was known before. Returns the stored state, or NULL when fd is
 * not a traced socket (then it is remembered as ignored). */
static __always_inline struct hp_conn_state *
hp_conn_begin(const struct hp_config *cfg, __u64 pid_tgid, __s32 fd, __u8 role, __u8 origin)
{
	struct hp_conn_key key = { .tgid = pid_tgid >> 32, .fd = fd };
	struct hp_conn_state st = {};
	struct hp_conn_open_event ev = {};
	struct sock *sk = hp_fd_to_sock(fd);

	if (!sk)
		return NULL;
	if (!hp_sock_traced(sk, cfg->flags & HP_CONFIG_UNIX)) {
		st.trace = HP_CONN_IGNORED;
		bpf_map_update_elem(&hp_conns, &key, &st, BPF_ANY);
		return NULL;
	}
	hp_sock_tuple(sk, &ev.tuple);
	st.id.tgid = key.tgid;
	st.id.fd = fd;
	st.id.gen = bpf_ktime_get_ns();
	st.local_port = ev.tuple.local_port;
	st.remote_port = ev.tuple.remote_port;
	st.role = role;
	st.trace = HP_CONN_TRACED;
	if (bpf_map_update_elem(&hp_conns, &key, &st, BPF_ANY)) {
		hp_count(HP_CTR_CONN_MAP_FULL, 1);
		return NULL;
	}
	if (hp_ports_wanted(cfg, st.local_port, st.remote_port)) {
		hp_header(&ev.hdr, HP_EVENT_CONN_OPEN, pid_tgid);
		ev.conn = st.id;
		ev.cgroup_id = bpf_get_current_cgroup_id();
		hp_process_comm(ev.comm);
		ev.role = role;
		ev.origin = origin;
		hp_output(cfg, &ev, sizeof(ev));
	}
	return bpf_map_lookup_elem(&hp_conns, &key);
}

/* The connection behind fd for a data syscall: known, or first seen now. */
static __always_inline struct hp_conn_state *
hp_conn_for_data(const struct hp_config *cfg, __u64 pid_tgid, __s32 fd)
{
	struct hp_conn_key key = { .tgid = pid_tgid >> 32, .fd = fd };
	struct hp_conn_state *st = bpf_map_lookup_elem(&hp_conns, &key);

	if (st)
		return st->trace == HP_CONN_TRACED ? st : NULL;
	return hp_conn_begin(cfg, pid_tgid, fd, HP_ROLE_UNKNOWN, HP_ORIGIN_EXISTING);
}

static __always_inline void hp_conn_end(const struct hp_config *cfg, __u64 pid_tgid, __s32 fd)
{
	struct hp_conn_key key = { .tgid = pid_tgid >> 32, .fd = fd };
	struct hp_conn_state *st = bpf_map_lookup_elem(&hp_conns, &key);
	struct hp_conn_close_event ev = {};

	if (!st)
		return;
	if (st->trace == HP_CONN_TRACED && hp_ports_wanted(cfg, st->local_port, st->remote_port)) {
		hp_header(&ev.hdr, HP_EVENT_CONN_CLOSE, pid_tgid);
		ev.conn = st->id;
		/* The totals of the stream user space was given: the plaintext
		 * once TLS took over, the socket's bytes otherwise. */
		bool tls = st->tls == HP_TLS_PLAIN;

		ev.egress_bytes = st->pos[tls ? HP_STREAM_TLS_EGRESS : HP_STREAM_EGRESS];
		ev.ingress_bytes = st->pos[tls ? HP_STREAM_TLS_INGRESS : HP_STREAM_INGRESS];
		ev.role = st->role;
		hp_output(cfg, &ev, sizeof(ev));
	}
	bpf_map_delete_elem(&hp_conns, &key);
}

#endif
