/* SPDX-License-Identifier: (Apache-2.0 OR GPL-2.0) */
/* From a file descriptor of the current task to the kernel socket behind it,
 * and from the socket to its address tuple. CO-RE reads only: runs on any
 * BTF kernel without headers of that kernel. */
#ifndef HP_LIB_SOCKET_H
#define HP_LIB_SOCKET_H

#define HP_S_IFMT 00170000
#define HP_S_IFSOCK 0140000
#define HP_AF_UNIX_K 1
#define HP_AF_INET_K 2
#define HP_AF_INET6_K 10
#define HP_SOCK_STREAM 1
#define HP_IPPROTO_TCP 6

/* The struct sock behind fd in the current task, or NULL if fd is not a
 * socket. Reads task->files->fdt->fd[fd]->private_data->sk. */
static __always_inline struct sock *hp_fd_to_sock(__s32 fd)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
	struct file **fds;
	struct file *file = NULL;
	struct socket *sock;
	umode_t mode;

	if (!fdt || fd < 0)
		return NULL;
	if ((__u32)fd >= BPF_CORE_READ(fdt, max_fds))
		return NULL;
	fds = BPF_CORE_READ(fdt, fd);
	if (bpf_probe_read_kernel(&file, sizeof(file), &fds[fd]) || !file)
		return NULL;
	mode = BPF_CORE_READ(file, f_inode, i_mode);
	if ((mode & HP_S_IFMT) != HP_S_IFSOCK)
		return NULL;
	sock = BPF_CORE_READ(file, private_data);
	if (!sock)
		return NULL;
	return BPF_CORE_READ(sock, sk);
}

/* Whether the socket is one we trace: TCP over IPv4/IPv6, or a Unix stream
 * socket when the user asked for those. */
static __always_inline bool hp_sock_traced(struct sock *sk, bool want_unix)
{
	__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);
	/* sk_type and sk_protocol were bitfields before 5.6: the probed
	 * bitfield read handles both layouts. */
	__u16 type = BPF_CORE_READ_BITFIELD_PROBED(sk, sk_type);

	if (type != HP_SOCK_STREAM)
		return false;
	if (family == HP_AF_UNIX_K)
		return want_unix;
	if (family != HP_AF_INET_K && family != HP_AF_INET6_K)
		return false;
	return BPF_CORE_READ_BITFIELD_PROBED(sk, sk_protocol) == HP_IPPROTO_TCP;
}

static __always_inline void hp_sock_tuple(struct sock *sk, struct hp_tuple *t)
{
	__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);

	__builtin_memset(t, 0, sizeof(*t));
	if (family == HP_AF_INET_K) {
		__u32 local = BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr);
		__u32 remote = BPF_CORE_READ(sk, __sk_common.skc_daddr);

		t->family = HP_AF_INET;
		__builtin_memcpy(t->local_addr, &local, sizeof(local));
		__builtin_memcpy(t->remote_addr, &remote, sizeof(remote));
	} else if (family == HP_AF_INET6_K) {
		t->family = HP_AF_INET6;
		BPF_CORE_READ_INTO((struct in6_addr *)t->local_addr, sk, __sk_common.skc_v6_rcv_saddr);
		BPF_CORE_READ_INTO((struct in6_addr *)t->remote_addr, sk, __sk_common.skc_v6_daddr);
	} else {
		t->family = HP_AF_UNIX;
		return;
	}
	t->local_port = BPF_CORE_READ(sk, __sk_common.skc_num);
	t->remote_port = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
}

#endif
