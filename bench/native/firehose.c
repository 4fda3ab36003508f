/*
 * The delivery load: one process writes <count> messages of <size> bytes as
 * fast as it can into a loopback TCP connection while a second thread of
 * the same process drains the other end, reading at most 16 KiB (the
 * sensor's default capture) per read so that every byte of both directions
 * can be captured. Both ends belong to this pid, so a sensor filtered to it
 * reports one egress event per write and one ingress event per read.
 *
 * Prints "ready <pid>" once connected and waits for a line on stdin; the
 * reader thread starts only then (a read already blocked when the sensor
 * attaches would have no entry to match its exit). Prints one JSON line:
 * {"size", "count", "writes", "reads", "bytesWritten", "bytesRead",
 *  "seconds", "cpuSeconds"}.
 *
 * usage: firehose <size> <count>
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

#define READ_MAX 16384

struct reader {
	int fd;
	long long expected;
	long long bytes;
	long reads;
};

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static void loopback_pair(int *client, int *server)
{
	struct sockaddr_in addr = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(addr);
	int listener = socket(AF_INET, SOCK_STREAM, 0);

	if (listener < 0 || bind(listener, (struct sockaddr *)&addr, sizeof(addr)) || listen(listener, 1))
		die("listen");
	if (getsockname(listener, (struct sockaddr *)&addr, &len))
		die("getsockname");
	*client = socket(AF_INET, SOCK_STREAM, 0);
	if (*client < 0 || connect(*client, (struct sockaddr *)&addr, sizeof(addr)))
		die("connect");
	*server = accept(listener, NULL, NULL);
	if (*server < 0)
		die("accept");
	close(listener);
}

static void *drain(void *arg)
{
	struct reader *r = arg;
	static char buf[READ_MAX];

	while (r->bytes < r->expected) {
		ssize_t n = read(r->fd, buf, sizeof(buf));

		if (n <= 0)
			die("read");
		r->bytes += n;
		r->reads++;
	}
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
	char line[64];
	int client, server;
	pthread_t thread;
	struct rusage ru;

	if (argc < 3) {
		fprintf(stderr, "usage: %s <size> <count>\n", argv[0]);
		return 2;
	}
	size_t size = strtoul(argv[1], NULL, 10);
	long count = strtol(argv[2], NULL, 10);
	char *msg = malloc(size);
	long long written = 0;
	long writes = 0;

	if (!size || count <= 0 || !msg) {
		fprintf(stderr, "bad arguments\n");
		return 2;
	}
	for (size_t i = 0; i < size; i++)
		msg[i] = 'a' + i % 26;
	loopback_pair(&client, &server);
	printf("ready %d\n", getpid());
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin))
		return 1;

	struct reader r = { .fd = server, .expected = (long long)size * count };
	double start = now_s();

	if (pthread_create(&thread, NULL, drain, &r))
		die("pthread_create");
	for (long i = 0; i < count; i++) {
		size_t off = 0;

		/* A blocking stream write may still return short on a signal. */
		while (off < size) {
			ssize_t n = write(client, msg + off, size - off);

			if (n <= 0)
				die("write");
			off += n;
			written += n;
			writes++;
		}
	}
	pthread_join(thread, NULL);
	double seconds = now_s() - start;

	getrusage(RUSAGE_SELF, &ru);
	printf("{\"size\":%zu,\"count\":%ld,\"writes\":%ld,\"reads\":%ld,\"bytesWritten\":%lld,"
	       "\"bytesRead\":%lld,\"seconds\":%.6f,\"cpuSeconds\":%.6f}\n",
	       size, count, writes, r.reads, written, r.bytes, seconds,
	       ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6);
	return 0;
}
