/*
 * Loopback TCP pairs for the C helper programs of the tests (test/helpers)
 * and the load generators of the benchmarks (bench/native): one process
 * holds both ends, so the sensor sees both directions of one connection.
 */
#ifndef HP_TEST_LOOPBACK_H
#define HP_TEST_LOOPBACK_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>

static void die(const char *what)
{
	perror(what);
	exit(1);
}

/* A socket listening on 127.0.0.1 at a port the kernel picks. */
static int loopback_listener(int backlog)
{
	struct sockaddr_in addr = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int listener = socket(AF_INET, SOCK_STREAM, 0);

	if (listener < 0 || bind(listener, (struct sockaddr *)&addr, sizeof(addr)) || listen(listener, backlog))
		die("listen");
	return listener;
}

/* Connects to the listener and accepts: both ends of one connection. */
static void loopback_pair(int listener, int *client, int *server)
{
	struct sockaddr_in addr;
	socklen_t len = sizeof(addr);

	if (getsockname(listener, (struct sockaddr *)&addr, &len))
		die("getsockname");
	*client = socket(AF_INET, SOCK_STREAM, 0);
	if (*client < 0 || connect(*client, (struct sockaddr *)&addr, sizeof(addr)))
		die("connect");
	*server = accept(listener, NULL, NULL);
	if (*server < 0)
		die("accept");
}

#endif
