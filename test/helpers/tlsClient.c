/*
 * A minimal HTTPS/1.1 client on OpenSSL's SSL_write/SSL_read, built against
 * whichever OpenSSL the compiler is pointed at (the live test of the
 * sensor's libssl.so.1.1 uprobes links it with the OpenSSL 1.1.1 of
 * test/peers/openssl11.sh). Every GET goes over ONE keep-alive connection
 * to 127.0.0.1:PORT, certificate not verified; each response is read
 * through its Content-Length.
 *
 *   --wait    print "ready <pid>" and wait for a line on stdin before
 *             connecting (a test waits until a sensor started after this
 *             process has attached to its libssl);
 *   --hold N  after the first N requests print "held" and wait for a line
 *             on stdin before the rest (the connection is then older than
 *             a sensor started in between).
 *
 * Prints one JSON line: {"statuses": [...], "library": "...", "local_port": P}.
 *
 * usage: tlsClient PORT [--wait] [--hold N] PATH...
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#define MAX_REQUESTS 64

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static void die_ssl(const char *what)
{
	fprintf(stderr, "%s: ", what);
	ERR_print_errors_fp(stderr);
	fputc('\n', stderr);
	exit(1);
}

static void wait_line(const char *say)
{
	char line[64];

	printf("%s\n", say);
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin))
		exit(1);
}

/* Reads one response; returns its status. */
static int read_response(SSL *ssl)
{
	static char buf[65536];
	size_t have = 0;
	char *end = NULL;

	while (!end) {
		if (have == sizeof(buf) - 1) {
			fprintf(stderr, "response head larger than %zu bytes\n", sizeof(buf));
			exit(1);
		}
		int r = SSL_read(ssl, buf + have, (int)(sizeof(buf) - 1 - have));

		if (r <= 0)
			die_ssl("SSL_read (head)");
		have += (size_t)r;
		buf[have] = 0;
		end = strstr(buf, "\r\n\r\n");
	}
	int status = 0;
	long length = 0;

	if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1) {
		fprintf(stderr, "not an HTTP/1 response: %.40s\n", buf);
		exit(1);
	}
	for (char *line = strstr(buf, "\r\n"); line && line < end; line = strstr(line + 2, "\r\n")) {
		if (!strncasecmp(line + 2, "content-length:", 15))
			length = strtol(line + 2 + 15, NULL, 10);
	}
	long body = (long)(have - (size_t)(end + 4 - buf));

	while (body < length) {
		int r = SSL_read(ssl, buf, (int)(length - body < (long)sizeof(buf) ? length - body : (long)sizeof(buf)));

		if (r <= 0)
			die_ssl("SSL_read (body)");
		body += r;
	}
	return status;
}

int main(int argc, char **argv)
{
	int statuses[MAX_REQUESTS], n = 0, hold = -1, wait = 0, first = 2;

	if (argc < 3) {
		fprintf(stderr, "usage: %s PORT [--wait] [--hold N] PATH...\n", argv[0]);
		return 2;
	}
	int port = atoi(argv[1]);

	for (; first < argc && !strncmp(argv[first], "--", 2); first++) {
		if (!strcmp(argv[first], "--wait"))
			wait = 1;
		else if (!strcmp(argv[first], "--hold") && first + 1 < argc)
			hold = atoi(argv[++first]);
		else {
			fprintf(stderr, "unknown option %s\n", argv[first]);
			return 2;
		}
	}
	if (argc - first > MAX_REQUESTS || argc == first) {
		fprintf(stderr, "1 to %d paths\n", MAX_REQUESTS);
		return 2;
	}
	if (wait) {
		char ready[32];

		snprintf(ready, sizeof(ready), "ready %d", getpid());
		wait_line(ready);
	}

	struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)))
		die("connect");

	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	SSL *ssl = ctx ? SSL_new(ctx) : NULL;

	if (!ssl || !SSL_set_fd(ssl, fd) || SSL_connect(ssl) != 1)
		die_ssl("TLS handshake");
	for (int i = first; i < argc; i++, n++) {
		char req[2048];

		if (n == hold)
			wait_line("held");
		int len = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUser-Agent: hp-tls-client\r\n\r\n", argv[i], port);

		if (len >= (int)sizeof(req) || SSL_write(ssl, req, len) != len)
			die_ssl("SSL_write");
		statuses[n] = read_response(ssl);
	}

	struct sockaddr_in local;
	socklen_t local_len = sizeof(local);

	getsockname(fd, (struct sockaddr *)&local, &local_len);
	SSL_shutdown(ssl);
	close(fd);
	printf("{\"statuses\":[");
	for (int i = 0; i < n; i++)
		printf("%s%d", i ? "," : "", statuses[i]);
	printf("],\"library\":\"%s\",\"local_port\":%d}\n", OpenSSL_version(OPENSSL_VERSION), ntohs(local.sin_port));
	return 0;
}
