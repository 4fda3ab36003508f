/*
 * Checks the SSL BIO offsets the sensor's BIO uprobes use
 * (src/source/bpf/sslBio.ts) against the OpenSSL this is linked with: an
 * SSL BIO and a socket BIO are made, and each offset is read the way
 * bpf/lib/sslBio.h reads it and compared with what the library's own API
 * answers (BIO_f_ssl(), BIO_method_type(), BIO_get_ssl()).
 *
 * usage: sslBioLayout METHOD_OFF PTR_OFF TYPE_OFF SSL_OFF
 * Prints one JSON line; exits 0 whatever the result (the test judges).
 */
#include <openssl/bio.h>
#include <openssl/opensslv.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const void *pointer_at(const void *base, long off)
{
	const void *p;

	memcpy(&p, (const char *)base + off, sizeof(p));
	return p;
}

static int int_at(const void *base, long off)
{
	int v;

	memcpy(&v, (const char *)base + off, sizeof(v));
	return v;
}

int main(int argc, char **argv)
{
	long method_off, ptr_off, type_off, ssl_off;
	SSL_CTX *ctx;
	SSL *ssl, *got = NULL;
	BIO *bio, *sock;
	const void *method, *sock_method, *bio_ssl;

	if (argc != 5) {
		fprintf(stderr, "usage: %s METHOD_OFF PTR_OFF TYPE_OFF SSL_OFF\n", argv[0]);
		return 2;
	}
	method_off = strtol(argv[1], NULL, 0);
	ptr_off = strtol(argv[2], NULL, 0);
	type_off = strtol(argv[3], NULL, 0);
	ssl_off = strtol(argv[4], NULL, 0);
	ctx = SSL_CTX_new(TLS_method());
	ssl = ctx ? SSL_new(ctx) : NULL;
	bio = BIO_new(BIO_f_ssl());
	sock = BIO_new(BIO_s_socket());
	if (!ssl || !bio || !sock) {
		fprintf(stderr, "sslBioLayout: cannot make an SSL and its BIOs\n");
		return 1;
	}
	BIO_set_ssl(bio, ssl, BIO_NOCLOSE);
	BIO_get_ssl(bio, &got);
	method = pointer_at(bio, method_off);
	sock_method = pointer_at(sock, method_off);
	bio_ssl = pointer_at(bio, ptr_off);
	printf("{\"version\":\"%s\",\"method\":%s,\"type\":%s,\"ssl\":%s,\"socketMethod\":%s,\"socketType\":%d}\n",
	       OPENSSL_VERSION_TEXT,
	       method == (const void *)BIO_f_ssl() ? "true" : "false",
	       method == (const void *)BIO_f_ssl() && int_at(method, type_off) == BIO_TYPE_SSL && BIO_method_type(bio) == BIO_TYPE_SSL ? "true" : "false",
	       got == ssl && bio_ssl && pointer_at(bio_ssl, ssl_off) == (const void *)ssl ? "true" : "false",
	       sock_method == (const void *)BIO_s_socket() ? "true" : "false",
	       sock_method == (const void *)BIO_s_socket() ? int_at(sock_method, type_off) : -1);
	BIO_free(sock);
	BIO_free(bio);
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	return 0;
}
