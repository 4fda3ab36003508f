/*
 * The TLS-cost load: one process, one loopback TCP pair with an OpenSSL
 * (libssl.so.3) client on one end and a server on the other, and a loop of
 * SSL_write(client, size) + SSL_read(server) until those bytes arrived.
 * Each SSL_write and each SSL_read is timed on its own (clock_gettime, a
 * vDSO call: its few tens of ns are the same with and without the sensor,
 * so they cancel in the difference the bench reports).
 *
 * The handshake (TLS 1.3, no session tickets, so the client never has
 * unread bytes) runs on non-blocking sockets before "ready <pid>" is
 * printed; the loop waits for a line on stdin, so a sensor filtered to
 * this pid attaches between the two and sees only the measured calls.
 * Prints one JSON line: {"size", "iterations", "warmup", "writeNs",
 * "readNs", "writeCalls", "readCalls", "cipher", "library", "cpuSeconds"};
 * the call counts include the warm-up, the times do not.
 *
 * usage: sslLoop <cert.pem> <key.pem> <size> <iterations> [warmup]
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "loopback.h"

static void die_ssl(const char *what)
{
	fprintf(stderr, "%s: ", what);
	ERR_print_errors_fp(stderr);
	fputc('\n', stderr);
	exit(1);
}

static void set_blocking(int fd, int blocking)
{
	int flags = fcntl(fd, F_GETFL);

	if (flags < 0 || fcntl(fd, F_SETFL, blocking ? flags & ~O_NONBLOCK : flags | O_NONBLOCK))
		die("fcntl");
}

/* Both ends in one thread: step each side of the handshake until both are done. */
static void handshake(SSL *client, SSL *server, int cfd, int sfd)
{
	int client_done = 0, server_done = 0;

	set_blocking(cfd, 0);
	set_blocking(sfd, 0);
	for (int steps = 0; !(client_done && server_done); steps++) {
		if (steps > 1000) {
			fprintf(stderr, "handshake: no progress after %d steps\n", steps);
			exit(1);
		}
		if (!client_done) {
			int r = SSL_connect(client);

			if (r == 1)
				client_done = 1;
			else if (SSL_get_error(client, r) != SSL_ERROR_WANT_READ && SSL_get_error(client, r) != SSL_ERROR_WANT_WRITE)
				die_ssl("SSL_connect");
		}
		if (!server_done) {
			int r = SSL_accept(server);

			if (r == 1)
				server_done = 1;
			else if (SSL_get_error(server, r) != SSL_ERROR_WANT_READ && SSL_get_error(server, r) != SSL_ERROR_WANT_WRITE)
				die_ssl("SSL_accept");
		}
	}
	set_blocking(cfd, 1);
	set_blocking(sfd, 1);
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

struct totals {
	double write_ns, read_ns;
	long writes, reads;
};

static void round_trips(SSL *client, SSL *server, const char *msg, char *buf, size_t size, long n, struct totals *t)
{
	for (long i = 0; i < n; i++) {
		double a = now_ns();

		if (SSL_write(client, msg, (int)size) != (int)size)
			die_ssl("SSL_write");
		double b = now_ns();

		t->write_ns += b - a;
		t->writes++;
		for (size_t got = 0; got < size;) {
			double c = now_ns();
			int r = SSL_read(server, buf + got, (int)(size - got));
			double d = now_ns();

			if (r <= 0)
				die_ssl("SSL_read");
			got += (size_t)r;
			t->read_ns += d - c;
			t->reads++;
		}
	}
}

int main(int argc, char **argv)
{
	char line[64];
	int one = 1, cfd, sfd;

	if (argc < 5) {
		fprintf(stderr, "usage: %s <cert.pem> <key.pem> <size> <iterations> [warmup]\n", argv[0]);
		return 2;
	}
	size_t size = strtoul(argv[3], NULL, 10);
	long iterations = strtol(argv[4], NULL, 10);
	long warmup = argc > 5 ? strtol(argv[5], NULL, 10) : iterations / 10;
	char *msg = malloc(size), *buf = malloc(size);

	/* One SSL_write is one TLS record at most 16 KiB of plaintext. */
	if (!size || size > 16384 || iterations <= 0 || warmup < 0 || !msg || !buf) {
		fprintf(stderr, "bad arguments (size 1..16384, iterations > 0)\n");
		return 2;
	}
	for (size_t i = 0; i < size; i++)
		msg[i] = 'a' + i % 26;

	SSL_CTX *sctx = SSL_CTX_new(TLS_server_method()), *cctx = SSL_CTX_new(TLS_client_method());

	if (!sctx || !cctx)
		die_ssl("SSL_CTX_new");
	if (SSL_CTX_use_certificate_file(sctx, argv[1], SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_use_PrivateKey_file(sctx, argv[2], SSL_FILETYPE_PEM) != 1)
		die_ssl("loading the certificate and key");
	/* Tickets would sit unread in the client's socket: none. */
	SSL_CTX_set_num_tickets(sctx, 0);
	SSL_CTX_set_min_proto_version(sctx, TLS1_3_VERSION);

	int listener = loopback_listener(1);

	loopback_pair(listener, &cfd, &sfd);
	close(listener);
	/* Without it, Nagle holds each small record until the delayed ACK. */
	if (setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)))
		die("TCP_NODELAY");

	SSL *client = SSL_new(cctx), *server = SSL_new(sctx);

	if (!client || !server || !SSL_set_fd(client, cfd) || !SSL_set_fd(server, sfd))
		die_ssl("SSL_new");
	handshake(client, server, cfd, sfd);

	printf("ready %d\n", getpid());
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin))
		return 1;

	struct totals warm = { 0 }, timed = { 0 };

	round_trips(client, server, msg, buf, size, warmup, &warm);
	round_trips(client, server, msg, buf, size, iterations, &timed);

	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	printf("{\"size\":%zu,\"iterations\":%ld,\"warmup\":%ld,\"writeNs\":%.1f,\"readNs\":%.1f,"
	       "\"writeCalls\":%ld,\"readCalls\":%ld,\"cipher\":\"%s %s\",\"library\":\"%s\",\"cpuSeconds\":%.6f}\n",
	       size, iterations, warmup, timed.write_ns / timed.writes, timed.read_ns / timed.reads,
	       warm.writes + timed.writes, warm.reads + timed.reads, SSL_get_version(client),
	       SSL_CIPHER_get_name(SSL_get_current_cipher(client)), OpenSSL_version(OPENSSL_VERSION),
	       ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6);
	return 0;
}
