/* SPDX-License-Identifier: (Apache-2.0 OR GPL-2.0) */
/* TLS plaintext that goes through an SSL BIO (BIO_f_ssl(): openssl
 * s_server -www, BIO_new_ssl_connect users). Its read and write methods
 * call libssl's internal ssl_read_internal/ssl_write_internal, never
 * SSL_read/SSL_write, so the uprobes of lib/tls.h miss them: these sit on
 * libcrypto's exported BIO_read, BIO_write, BIO_read_ex and BIO_write_ex.
 *
 * Those run for every BIO, the socket BIO inside each SSL_read included:
 * the entry reads the BIO's method type and stops unless it is an SSL
 * BIO. An SSL BIO's call is then an SSL call like the others (lib/tls.h),
 * keyed by its SSL* (bio->ptr is a BIO_SSL whose first field is the SSL*),
 * so the nested socket syscall ties it to its fd and the events are the
 * same ssl_read/ssl_write data. The offsets come from the cookie (abi.h,
 * enum hp_ssl_bio), set per OpenSSL version by user space.
 *
 * The return probe fires for every BIO call too: one nested in an SSL
 * call (the socket BIO's) has a deeper stack than the entry saved and is
 * left alone, and an SSL_read's saved call is never taken (via). */
#ifndef HP_LIB_SSL_BIO_H
#define HP_LIB_SSL_BIO_H

static __always_inline __u64 hp_ssl_bio_field(__u64 cookie, int shift)
{
	return (cookie >> shift) & 0xff;
}

/* Entry of BIO_read/BIO_write(BIO *b, void *buf, int len) and the _ex
 * forms (..., size_t len, size_t *done). */
static __always_inline int hp_ssl_bio_enter(struct pt_regs *ctx)
{
	__u64 cookie = bpf_get_attach_cookie(ctx);
	__u64 bio = PT_REGS_PARM1(ctx);
	__u64 method = 0, bio_ssl = 0, ssl = 0;
	__s32 type = 0;
	bool ex = (cookie >> HP_SSL_BIO_COOKIE_EX_SHIFT) & 1;

	if (!bio || bpf_probe_read_user(&method, sizeof(method), (const void *)(bio + hp_ssl_bio_field(cookie, HP_SSL_BIO_COOKIE_METHOD_SHIFT))) || !method)
		return 0;
	if (bpf_probe_read_user(&type, sizeof(type), (const void *)(method + hp_ssl_bio_field(cookie, HP_SSL_BIO_COOKIE_TYPE_SHIFT))) ||
	    type != HP_BIO_TYPE_SSL)
		return 0;
	if (bpf_probe_read_user(&bio_ssl, sizeof(bio_ssl), (const void *)(bio + hp_ssl_bio_field(cookie, HP_SSL_BIO_COOKIE_PTR_SHIFT))) || !bio_ssl)
		return 0;
	if (bpf_probe_read_user(&ssl, sizeof(ssl), (const void *)(bio_ssl + hp_ssl_bio_field(cookie, HP_SSL_BIO_COOKIE_SSL_SHIFT))) || !ssl)
		return 0;
	return hp_tls_enter_via(ssl, PT_REGS_PARM2(ctx), ex ? PT_REGS_PARM4(ctx) : 0,
				hp_ssl_bio_field(cookie, HP_SSL_BIO_COOKIE_DIR_SHIFT), PT_REGS_SP(ctx), HP_TLS_VIA_BIO);
}

static __always_inline int hp_ssl_bio_exit(struct pt_regs *ctx)
{
	__u64 cookie = bpf_get_attach_cookie(ctx);

	return hp_tls_exit_via((int)PT_REGS_RC(ctx), (cookie >> HP_SSL_BIO_COOKIE_EX_SHIFT) & 1, HP_TLS_VIA_BIO, PT_REGS_SP(ctx));
}

#endif
