/*
 * The delivery load: one process writes <count> messages of <size> bytes,
 * as fast as it can, into <connections> loopback TCP connections (one
 * writer thread each, the count split between them), while one reader
 * thread per connection drains the other end, reading at most 16 KiB (the
 * sensor's default capture) per read so that every byte of both directions
 * can be captured. Both ends belong to this pid, so a sensor filtered to it
 * reports one egress event per write and one ingress event per read.
 *
 * Prints "ready <pid>" once connected and waits for a line on stdin; the
 * threads start only then (a read already blocked when the sensor attaches
 * would have no entry to match its exit). Prints one JSON line:
 * {"size", "count", "connections", "writes", "reads", "bytesWritten",
 *  "bytesRead", "seconds", "cpuSeconds"}.
 *
 * usage: firehose <size> <count> [connections]
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "loopback.h"

#define READ_MAX 16384
#define CONNECTIONS_MAX 16

struct connection {
	int client, server;
	const char *msg;
	size_t size;
	long count;
	pthread_t writer, reader;
	long long written, read;
	long writes, reads;
};



static void *write_all(void *arg)
{
	struct connection *c = arg;

	for (long i = 0; i < c->count; i++) {
		size_t off = 0;

		/* A blocking stream write may still return short on a signal. */
		while (off < c->size) {
			ssize_t n = write(c->client, c->msg + off, c->size - off);

			if (n <= 0)
				die("write");
			off += n;
			c->written += n;
			c->writes++;
		}
	}
	return NULL;
}

static void *drain(void *arg)
{
	struct connection *c = arg;
	const long long expected = (long long)c->size * c->count;
	char *buf = malloc(READ_MAX);

	if (!buf)
		die("malloc");
	while (c->read < expected) {
		ssize_t n = read(c->server, buf, READ_MAX);

		if (n <= 0)
			die("read");
		c->read += n;
		c->reads++;
	}
	free(buf);
	return NULL;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	struct connection conns[CONNECTIONS_MAX] = {};
	char line[64];
	struct rusage ru;

	if (argc < 3) {
		fprintf(stderr, "usage: %s <size> <count> [connections]\n", argv[0]);
		return 2;
	}
	size_t size = strtoul(argv[1], NULL, 10);
	long count = strtol(argv[2], NULL, 10);
	int n = argc > 3 ? atoi(argv[3]) : 1;
	char *msg = malloc(size);

	if (!size || count < n || n < 1 || n > CONNECTIONS_MAX || !msg) {
		fprintf(stderr, "bad arguments\n");
		return 2;
	}
	for (size_t i = 0; i < size; i++)
		msg[i] = 'a' + i % 26;
	int listener = loopback_listener(n);
	for (int i = 0; i < n; i++) {
		loopback_pair(listener, &conns[i].client, &conns[i].server);
		conns[i].msg = msg;
		conns[i].size = size;
		conns[i].count = count / n + (i < count % n);
	}
	close(listener);
	printf("ready %d\n", getpid());
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin))
		return 1;

	double start = now_s();

	for (int i = 0; i < n; i++) {
		if (pthread_create(&conns[i].reader, NULL, drain, &conns[i]) ||
		    pthread_create(&conns[i].writer, NULL, write_all, &conns[i]))
			die("pthread_create");
	}
	long long written = 0, bytes_read = 0;
	long writes = 0, reads = 0;

	for (int i = 0; i < n; i++) {
		pthread_join(conns[i].writer, NULL);
		pthread_join(conns[i].reader, NULL);
		written += conns[i].written;
		bytes_read += conns[i].read;
		writes += conns[i].writes;
		reads += conns[i].reads;
	}
	double seconds = now_s() - start;

	getrusage(RUSAGE_SELF, &ru);
	printf("{\"size\":%zu,\"count\":%ld,\"connections\":%d,\"writes\":%ld,\"reads\":%ld,"
	       "\"bytesWritten\":%lld,\"bytesRead\":%lld,\"seconds\":%.6f,\"cpuSeconds\":%.6f}\n",
	       size, count, n, writes, reads, written, bytes_read, seconds,
	       ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6);
	return 0;
}
