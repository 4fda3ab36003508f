/* SPDX-License-Identifier: (Apache-2.0 OR GPL-2.0) */
/*
 * Hydrophone's socket sensor. Two attachment kinds carry the same logic
 * (lib/io.h): syscall tracepoints (any kernel with tracefs) and kprobes on
 * the syscall entry points (ksyscall, where the kernel has kprobes). The
 * loader autoloads one kind, chosen by probing the kernel at start; the
 * process tracepoints (raw_tracepoint/sched_*) are always on.
 *
 * send(2)/recv(2) have no syscall of their own on x86-64 and arm64: libc
 * calls sendto/recvfrom, which are hooked.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>

#include "abi.h"
#include "maps/events.h"
#include "maps/config.h"
#include "maps/conns.h"
#include "maps/pending.h"
#include "maps/scratch.h"
#include "maps/tls.h"
#include "maps/goTls.h"
#include "maps/goH2.h"
#include "lib/socket.h"
#include "lib/filter.h"
#include "lib/conn.h"
#include "lib/emit.h"
#include "lib/tls.h"
#include "lib/sslBio.h"
#include "lib/goTls.h"
#include "lib/goH2.h"
#include "lib/io.h"
#include "lib/proc.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* ---- syscall tracepoints: args[] are the syscall's arguments ---- */

#define HP_TP_ENTER(sys) \
	SEC("tracepoint/syscalls/sys_enter_" #sys) int hp_tp_in_##sys(struct trace_event_raw_sys_enter *ctx)
#define HP_TP_EXIT(sys, handler, ...) \
	SEC("tracepoint/syscalls/sys_exit_" #sys) int hp_tp_out_##sys(struct trace_event_raw_sys_exit *ctx) \
	{ return handler(ctx->ret, ##__VA_ARGS__); }

/* A data syscall whose first three arguments are (fd, buffer, count). */
#define HP_TP_IO(sys, kind, shape, dir) \
	HP_TP_ENTER(sys) { return hp_enter(ctx->args[0], ctx->args[1], ctx->args[2], kind); } \
	HP_TP_EXIT(sys, hp_exit_##shape, dir)

HP_TP_IO(read, HP_SYS_READ, buf, HP_DIR_INGRESS)
HP_TP_IO(write, HP_SYS_WRITE, buf, HP_DIR_EGRESS)
HP_TP_IO(readv, HP_SYS_READV, iov, HP_DIR_INGRESS)
HP_TP_IO(writev, HP_SYS_WRITEV, iov, HP_DIR_EGRESS)
HP_TP_IO(sendto, HP_SYS_SENDTO, buf, HP_DIR_EGRESS)
HP_TP_IO(recvfrom, HP_SYS_RECVFROM, buf, HP_DIR_INGRESS)
HP_TP_IO(sendmsg, HP_SYS_SENDMSG, msg, HP_DIR_EGRESS)
HP_TP_IO(recvmsg, HP_SYS_RECVMSG, msg, HP_DIR_INGRESS)
HP_TP_IO(sendmmsg, HP_SYS_SENDMMSG, mmsg, HP_DIR_EGRESS)
HP_TP_IO(recvmmsg, HP_SYS_RECVMMSG, mmsg, HP_DIR_INGRESS)

/* sendfile(out_fd, in_fd, offset, count): the socket is out_fd. */
HP_TP_ENTER(sendfile64) { return hp_enter(ctx->args[0], 0, ctx->args[3], HP_SYS_SENDFILE); }
HP_TP_EXIT(sendfile64, hp_exit_len, HP_DIR_EGRESS)

HP_TP_ENTER(connect) { return hp_enter(ctx->args[0], 0, 0, HP_PENDING_CONNECT); }
HP_TP_EXIT(connect, hp_exit_conn)
HP_TP_ENTER(accept) { return hp_enter(-1, 0, 0, HP_PENDING_ACCEPT); }
HP_TP_EXIT(accept, hp_exit_accept)
HP_TP_ENTER(accept4) { return hp_enter(-1, 0, 0, HP_PENDING_ACCEPT); }
HP_TP_EXIT(accept4, hp_exit_accept)

SEC("tracepoint/syscalls/sys_enter_close")
int hp_tp_in_close(struct trace_event_raw_sys_enter *ctx)
{
	return hp_close(ctx->args[0]);
}

/* ---- kprobes on the syscall entry points (production kernels) ---- */

#define HP_KP_EXIT(sys, handler, ...) \
	SEC("kretsyscall/" #sys) int BPF_KRETPROBE(hp_kp_out_##sys, long ret) \
	{ return handler(ret, ##__VA_ARGS__); }

#define HP_KP_IO(sys, kind, shape, dir) \
	SEC("ksyscall/" #sys) int BPF_KSYSCALL(hp_kp_in_##sys, long fd, unsigned long buf, unsigned long count) \
	{ return hp_enter(fd, buf, count, kind); } \
	HP_KP_EXIT(sys, hp_exit_##shape, dir)

HP_KP_IO(read, HP_SYS_READ, buf, HP_DIR_INGRESS)
HP_KP_IO(write, HP_SYS_WRITE, buf, HP_DIR_EGRESS)
HP_KP_IO(readv, HP_SYS_READV, iov, HP_DIR_INGRESS)
HP_KP_IO(writev, HP_SYS_WRITEV, iov, HP_DIR_EGRESS)
HP_KP_IO(sendto, HP_SYS_SENDTO, buf, HP_DIR_EGRESS)
HP_KP_IO(recvfrom, HP_SYS_RECVFROM, buf, HP_DIR_INGRESS)
HP_KP_IO(sendmsg, HP_SYS_SENDMSG, msg, HP_DIR_EGRESS)
HP_KP_IO(recvmsg, HP_SYS_RECVMSG, msg, HP_DIR_INGRESS)
HP_KP_IO(sendmmsg, HP_SYS_SENDMMSG, mmsg, HP_DIR_EGRESS)
HP_KP_IO(recvmmsg, HP_SYS_RECVMMSG, mmsg, HP_DIR_INGRESS)

SEC("ksyscall/sendfile64")
int BPF_KSYSCALL(hp_kp_in_sendfile64, long out_fd, long in_fd, unsigned long off, unsigned long count)
{
	return hp_enter(out_fd, 0, count, HP_SYS_SENDFILE);
}
HP_KP_EXIT(sendfile64, hp_exit_len, HP_DIR_EGRESS)

SEC("ksyscall/connect")
int BPF_KSYSCALL(hp_kp_in_connect, long fd)
{
	return hp_enter(fd, 0, 0, HP_PENDING_CONNECT);
}
HP_KP_EXIT(connect, hp_exit_conn)

SEC("ksyscall/accept")
int BPF_KSYSCALL(hp_kp_in_accept, long fd)
{
	return hp_enter(-1, 0, 0, HP_PENDING_ACCEPT);
}
HP_KP_EXIT(accept, hp_exit_accept)

SEC("ksyscall/accept4")
int BPF_KSYSCALL(hp_kp_in_accept4, long fd)
{
	return hp_enter(-1, 0, 0, HP_PENDING_ACCEPT);
}
HP_KP_EXIT(accept4, hp_exit_accept)

SEC("ksyscall/close")
int BPF_KSYSCALL(hp_kp_in_close, long fd)
{
	return hp_close(fd);
}

/* ---- TLS libraries: uprobes, attached per binary by user space ---- */

/* Returns: the direction was saved at entry, so SSL_read and SSL_write
 * share one program, and the _ex pair another (their count is behind a
 * pointer). Fewer programs, less verification at load. */
SEC("uretprobe")
int BPF_KRETPROBE(hp_urp_ssl, int ret)
{
	return hp_tls_exit(ret, false);
}

SEC("uretprobe")
int BPF_KRETPROBE(hp_urp_ssl_ex, int ret)
{
	return hp_tls_exit(ret, true);
}

/* int SSL_write(SSL *ssl, const void *buf, int num) */
SEC("uprobe")
int BPF_KPROBE(hp_up_ssl_write, void *ssl, const void *buf, int num)
{
	return hp_tls_enter((__u64)ssl, (__u64)buf, 0, HP_DIR_EGRESS);
}

/* int SSL_read(SSL *ssl, void *buf, int num) */
SEC("uprobe")
int BPF_KPROBE(hp_up_ssl_read, void *ssl, void *buf, int num)
{
	return hp_tls_enter((__u64)ssl, (__u64)buf, 0, HP_DIR_INGRESS);
}

/* int SSL_write_ex(SSL *ssl, const void *buf, size_t num, size_t *written) */
SEC("uprobe")
int BPF_KPROBE(hp_up_ssl_write_ex, void *ssl, const void *buf, size_t num, size_t *written)
{
	return hp_tls_enter((__u64)ssl, (__u64)buf, (__u64)written, HP_DIR_EGRESS);
}

/* int SSL_read_ex(SSL *ssl, void *buf, size_t num, size_t *readbytes) */
SEC("uprobe")
int BPF_KPROBE(hp_up_ssl_read_ex, void *ssl, void *buf, size_t num, size_t *readbytes)
{
	return hp_tls_enter((__u64)ssl, (__u64)buf, (__u64)readbytes, HP_DIR_INGRESS);
}

/* rustls: <Writer as io::Write>::write(&mut self, buf: &[u8]) and
 * <Reader as io::Read>::read(&mut self, buf: &mut [u8]), both returning
 * io::Result<usize> in two registers (tag: 0 is Ok, then the count). self
 * points at a temporary whose first field points into the connection's
 * state: that address is the connection's key (lib/tls.h, 3b). */
#if defined(__TARGET_ARCH_x86)
#define HP_RUST_RESULT_TAG(ctx) ((ctx)->ax)
#define HP_RUST_RESULT_VALUE(ctx) ((ctx)->dx)
#elif defined(__TARGET_ARCH_arm64)
#define HP_RUST_RESULT_TAG(ctx) ((ctx)->regs[0])
#define HP_RUST_RESULT_VALUE(ctx) ((ctx)->regs[1])
#endif

/* iovcnt: write_vectored's IoSlice count (buf is then the array), else 0. */
static __always_inline int hp_rustls_enter(void *self, void *buf, __u64 iovcnt, __u8 dir)
{
	__u64 key = 0;

	if (bpf_probe_read_user(&key, sizeof(key), self) || !key)
		return 0;
	return hp_tls_enter_via(key, (__u64)buf, iovcnt, dir, 0, HP_TLS_VIA_RUSTLS);
}

SEC("uprobe")
int BPF_KPROBE(hp_up_rustls_write, void *self, const void *buf, __u64 len)
{
	return hp_rustls_enter(self, (void *)buf, 0, HP_DIR_EGRESS);
}

/* <Writer as io::Write>::write_vectored(&mut self, bufs: &[IoSlice]):
 * what tokio-rustls's poll_write_vectored calls, so hyper's writes. An
 * IoSlice is a struct iovec on Unix. */
SEC("uprobe")
int BPF_KPROBE(hp_up_rustls_writev, void *self, const void *bufs, __u64 count)
{
	if (!count)
		return 0;
	return hp_rustls_enter(self, (void *)bufs, count, HP_DIR_EGRESS);
}

SEC("uprobe")
int BPF_KPROBE(hp_up_rustls_read, void *self, void *buf, __u64 len)
{
	return hp_rustls_enter(self, buf, 0, HP_DIR_INGRESS);
}

SEC("uretprobe")
int BPF_KRETPROBE(hp_urp_rustls)
{
	long ret = HP_RUST_RESULT_TAG(ctx) == 0 ? (long)HP_RUST_RESULT_VALUE(ctx) : -1;

	return hp_tls_exit_via(ret, false, HP_TLS_VIA_RUSTLS, 0);
}

/* Reader::into_first_chunk(self) -> io::Result<&[u8]>, as rustc lays it
 * out on x86-64: the result is written through a hidden first argument
 * (returned again in the result register), { slice pointer or 0 for an
 * error, length }; self (a Reader) is passed by reference, its first field
 * the ChunkVecBuffer pointer. Then <Reader as BufRead>::consume(&mut self,
 * amt) says how much of the chunk the caller took: those bytes are the
 * plaintext read. */
SEC("uprobe")
int BPF_KPROBE(hp_up_rustls_chunk, void *result, void *self)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct hp_tls_chunk ch = {};

	if (bpf_probe_read_user(&ch.key, sizeof(ch.key), self) || !ch.key)
		return 0;
	bpf_map_update_elem(&hp_tls_chunks, &pid_tgid, &ch, BPF_ANY);
	return 0;
}

SEC("uretprobe")
int BPF_KRETPROBE(hp_urp_rustls_chunk)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct hp_tls_chunk *ch = bpf_map_lookup_elem(&hp_tls_chunks, &pid_tgid);
	__u64 slice[2] = {};

	if (!ch)
		return 0;
	if (bpf_probe_read_user(slice, sizeof(slice), (const void *)HP_RUST_RESULT_TAG(ctx))) {
		bpf_map_delete_elem(&hp_tls_chunks, &pid_tgid);
		return 0;
	}
	ch->ptr = slice[0] > 1 ? slice[0] : 0; /* 0: an error; 1: an empty slice's dangling pointer */
	ch->len = slice[1];
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(hp_up_rustls_consume, void *self, __u64 amt)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct hp_tls_chunk *cp = bpf_map_lookup_elem(&hp_tls_chunks, &pid_tgid);
	struct hp_tls_chunk ch;
	__u64 key = 0;

	if (!cp)
		return 0;
	ch = *cp;
	bpf_map_delete_elem(&hp_tls_chunks, &pid_tgid);
	if (!ch.ptr || bpf_probe_read_user(&key, sizeof(key), self) || key != ch.key)
		return 0;
	/* As if Read::read had copied it: the same call and return path. */
	hp_tls_enter_via(key, ch.ptr, 0, HP_DIR_INGRESS, 0, HP_TLS_VIA_RUSTLS);
	return hp_tls_exit_via(amt < ch.len ? amt : ch.len, false, HP_TLS_VIA_RUSTLS, 0);
}

/* libcrypto's BIO_read, BIO_write, BIO_read_ex, BIO_write_ex, followed only
 * on an SSL BIO (lib/sslBio.h): one program for the four entries and one
 * for their returns; the cookie says the direction, the _ex form and this
 * OpenSSL version's struct offsets. */
SEC("uprobe")
int BPF_KPROBE(hp_up_ssl_bio)
{
	return hp_ssl_bio_enter(ctx);
}

SEC("uretprobe")
int BPF_KRETPROBE(hp_urp_ssl_bio)
{
	return hp_ssl_bio_exit(ctx);
}

/* Go crypto/tls.(*Conn).Read and Write (lib/goTls.h): one program for both
 * entries and one for every return instruction of both; the cookie of each
 * probe says which binary and which direction. */
SEC("uprobe")
int BPF_KPROBE(hp_up_go_tls)
{
	return hp_go_tls_enter(ctx);
}

SEC("uprobe")
int BPF_KPROBE(hp_up_go_tls_ret)
{
	return hp_go_tls_return(ctx);
}

/* Go HTTP/2 header blocks (lib/goH2.h): one program for every probed
 * function; the cookie says which binary and which function. */
SEC("uprobe")
int BPF_KPROBE(hp_up_go_h2)
{
	return hp_go_h2_probe(ctx);
}

/* net/http's blocks, gathered field by field: where one starts, and each
 * hpack WriteField (kept apart: they run once per field). */
SEC("uprobe")
int BPF_KPROBE(hp_up_go_h2_start)
{
	return hp_go_nh2_start(ctx);
}

SEC("uprobe")
int BPF_KPROBE(hp_up_go_h2_field)
{
	return hp_go_nh2_field(ctx);
}

/* ---- processes: always on, no tracefs needed ---- */

SEC("raw_tracepoint/sched_process_exec")
int hp_proc_exec(struct bpf_raw_tracepoint_args *ctx)
{
	return hp_proc_event(HP_EVENT_PROC_EXEC);
}

SEC("raw_tracepoint/sched_process_exit")
int hp_proc_exit(struct bpf_raw_tracepoint_args *ctx)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();

	/* A thread killed inside a hooked syscall never reached its exit hook. */
	bpf_map_delete_elem(&hp_pending, &pid_tgid);
	bpf_map_delete_elem(&hp_tls_calls, &pid_tgid);
	bpf_map_delete_elem(&hp_tls_last_reads, &pid_tgid);
	/* A TLS write still waiting for its socket write is lost: counted. */
	if (!bpf_map_delete_elem(&hp_tls_pending_writes, &pid_tgid))
		hp_count(HP_CTR_TLS_UNKEYED, 1);
	if (!bpf_map_delete_elem(&hp_tls_held_writes, &pid_tgid))
		hp_count(HP_CTR_TLS_UNKEYED, 1);
	bpf_map_delete_elem(&hp_tls_chunks, &pid_tgid);
	/* Fires per thread: only the thread group's leader ends the process. */
	if ((__u32)pid_tgid != pid_tgid >> 32)
		return 0;
	return hp_proc_event(HP_EVENT_PROC_EXIT);
}
