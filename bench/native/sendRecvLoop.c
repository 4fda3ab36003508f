/*
 * The syscall-cost load: one process, one loopback TCP pair, and a loop of
 * send(client, size) + recv(server, size, MSG_WAITALL), two hooked syscalls
 * per iteration. Prints "ready <pid>" once the pair is connected and waits
 * for a line on stdin before the loop, so that a sensor filtered to this pid
 * is attached before the first hooked syscall. Prints one JSON line:
 * {"size", "iterations", "warmup", "nsPerSyscall", "cpuSeconds"}; the
 * warm-up is not timed, cpuSeconds is the process's CPU time since start.
 *
 * usage: sendRecvLoop <size> <iterations> [warmup]
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "loopback.h"


static void connected_pair(int *client, int *server)
{
	int one = 1;
	int listener = loopback_listener(1);

	loopback_pair(listener, client, server);
	close(listener);
	/* Without it, Nagle holds each small send until the delayed ACK. */
	if (setsockopt(*client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)))
		die("TCP_NODELAY");
}

static void round_trips(int client, int server, char *msg, char *buf, size_t size, long n)
{
	for (long i = 0; i < n; i++) {
		if (send(client, msg, size, 0) != (ssize_t)size)
			die("send");
		if (recv(server, buf, size, MSG_WAITALL) != (ssize_t)size)
			die("recv");
	}
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	char line[64];
	int client, server;

	if (argc < 3) {
		fprintf(stderr, "usage: %s <size> <iterations> [warmup]\n", argv[0]);
		return 2;
	}
	size_t size = strtoul(argv[1], NULL, 10);
	long iterations = strtol(argv[2], NULL, 10);
	long warmup = argc > 3 ? strtol(argv[3], NULL, 10) : iterations / 10;
	char *msg = malloc(size), *buf = malloc(size);

	if (!size || iterations <= 0 || warmup < 0 || !msg || !buf) {
		fprintf(stderr, "bad arguments\n");
		return 2;
	}
	for (size_t i = 0; i < size; i++)
		msg[i] = 'a' + i % 26;
	connected_pair(&client, &server);
	printf("ready %d\n", getpid());
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin))
		return 1;

	round_trips(client, server, msg, buf, size, warmup);
	double start = now_ns();
	round_trips(client, server, msg, buf, size, iterations);
	double elapsed = now_ns() - start;

	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	printf("{\"size\":%zu,\"iterations\":%ld,\"warmup\":%ld,\"nsPerSyscall\":%.1f,\"cpuSeconds\":%.6f}\n",
	       size, iterations, warmup, elapsed / (2.0 * iterations),
	       ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6);
	return 0;
}
