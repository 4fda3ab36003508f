/*
 * A loopback TCP pair driven through every data syscall the sensor hooks,
 * so a test can check each one's events against what was really sent.
 * Prints one JSON object per step: {"step", "fd", "peer_fd", "bytes"}.
 * Steps wait for a line on stdin first when -s is given, so a test can
 * start the sensor between "connected" and the traffic (pre-existing
 * connection).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "loopback.h"



static void report(const char *step, int fd, int peer, long bytes)
{
	printf("{\"step\":\"%s\",\"fd\":%d,\"peer_fd\":%d,\"bytes\":%ld}\n", step, fd, peer, bytes);
	fflush(stdout);
}

/* Reads exactly n bytes (the kernel may split a stream read). */
static void drain(int fd, long n)
{
	char buf[65536];

	while (n > 0) {
		ssize_t r = read(fd, buf, n < (long)sizeof(buf) ? n : (long)sizeof(buf));
		if (r <= 0)
			die("read");
		n -= r;
	}
}

int main(int argc, char **argv)
{
	int wait_stdin = argc > 1 && strcmp(argv[1], "-s") == 0;
	int listener = loopback_listener(8);
	int c, s;
	char line[16];

	loopback_pair(listener, &c, &s);
	report("connected", c, s, 0);
	if (wait_stdin && !fgets(line, sizeof(line), stdin))
		return 1;

	/* send/recv are sendto/recvfrom in libc. */
	{
		char buf[64];
		ssize_t n = send(c, "plain send", 10, 0);
		if (n != 10 || recv(s, buf, 10, MSG_WAITALL) != 10)
			die("recv");
		report("send", c, s, n);
	}
	{
		char a[] = "hello ", b[] = "vector ", d[] = "world";
		struct iovec out[3] = { { a, 6 }, { b, 7 }, { d, 5 } };
		char r1[4], r2[14];
		struct iovec in[2] = { { r1, 4 }, { r2, 14 } };
		ssize_t n = writev(c, out, 3);
		ssize_t m = readv(s, in, 2);
		if (n != 18 || m != 18)
			die("writev/readv");
		report("writev", c, s, n);
	}
	{
		char a[] = "message ", b[] = "in two";
		struct iovec out[2] = { { a, 8 }, { b, 6 } };
		struct msghdr msg = { .msg_iov = out, .msg_iovlen = 2 };
		char r[64];
		struct iovec in[1] = { { r, 14 } };
		struct msghdr rmsg = { .msg_iov = in, .msg_iovlen = 1 };
		ssize_t n = sendmsg(c, &msg, 0);
		ssize_t m = recvmsg(s, &rmsg, MSG_WAITALL);
		if (n != 14 || m != 14)
			die("sendmsg/recvmsg");
		report("sendmsg", c, s, n);
	}
	{
		char a[] = "first", b[] = "second";
		struct iovec o1 = { a, 5 }, o2 = { b, 6 };
		struct mmsghdr out[2] = { { .msg_hdr = { .msg_iov = &o1, .msg_iovlen = 1 } },
					  { .msg_hdr = { .msg_iov = &o2, .msg_iovlen = 1 } } };
		char r[11];
		struct iovec i1 = { r, 11 };
		struct mmsghdr in[1] = { { .msg_hdr = { .msg_iov = &i1, .msg_iovlen = 1 } } };
		int n = sendmmsg(c, out, 2, 0);
		int m = recvmmsg(s, in, 1, MSG_WAITALL, NULL);
		if (n != 2 || m != 1 || in[0].msg_len != 11)
			die("sendmmsg/recvmmsg");
		report("sendmmsg", c, s, 11);
	}
	{
		char path[] = "/tmp/hp-sockpeer-XXXXXX";
		int f = mkstemp(path);
		char block[4096];
		ssize_t n;

		memset(block, 'f', sizeof(block));
		if (f < 0 || write(f, block, sizeof(block)) != sizeof(block))
			die("tmpfile");
		unlink(path);
		lseek(f, 0, SEEK_SET);
		n = sendfile(c, f, NULL, sizeof(block));
		drain(s, n);
		close(f);
		report("sendfile", c, s, n);
	}
	/* fd reuse: the next connection gets the same fd numbers back. */
	close(c);
	close(s);
	loopback_pair(listener, &c, &s);
	{
		ssize_t n = write(c, "second connection", 17);
		drain(s, n);
		report("reused", c, s, n);
	}
	close(c);
	close(s);
	close(listener);
	report("done", -1, -1, 0);
	return 0;
}
