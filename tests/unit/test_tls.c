/* SPDX-License-Identifier: MIT */
/*
 * crypto/tls.c and crypto/pki.c over real non-blocking sockets on
 * 127.0.0.1 (Linux backend, real entropy). A test PKI is issued with
 * kh_pki_*; client and server handshakes are driven alternately in one
 * process with poll(). Covers mutual TLS, ticket resumption, refusals
 * (other CA, expired, missing client certificate, wrong host), bulk data
 * with partial writes and buffered reads, and loading the PEM files.
 * Certificate parsing is in test_pki.c.
 */
#define _DEFAULT_SOURCE
#include <poll.h>
#include <stdlib.h>
#include <unistd.h>

#include "test_tls.h"
#include "platform/fs.h"

/* A connected pair of non-blocking TCP sockets over 127.0.0.1. */
struct pair {
	kh_sock l, c, s;
};

static int pair_open(struct pair *p)
{
	struct kh_addr a;
	struct pollfd pf;
	int err;

	p->l = p->c = p->s = -1;
	if (kh_addr_parse_ip("127.0.0.1", &a) || kh_net_tcp_listen(&a, 4, &p->l) ||
	    kh_net_local_addr(p->l, &a) || kh_net_tcp_connect(&a, &p->c))
		return -1;
	for (int i = 0; i < 50; i++) {
		err = kh_net_tcp_accept(p->l, &p->s, NULL);
		if (err != -EAGAIN)
			break;
		pf = (struct pollfd){.fd = p->l, .events = POLLIN};
		poll(&pf, 1, 100);
	}
	if (err)
		return -1;
	/* the connect must have completed before the first send */
	pf = (struct pollfd){.fd = p->c, .events = POLLOUT};
	return poll(&pf, 1, 1000) == 1 ? 0 : -1;
}

static void pair_close(struct pair *p)
{
	if (p->c >= 0)
		kh_net_close(p->c);
	if (p->s >= 0)
		kh_net_close(p->s);
	if (p->l >= 0)
		kh_net_close(p->l);
}

static short want_events(struct kh_tls *t)
{
	return kh_tls_want(t) == KH_TLS_WANT_WRITE ? POLLOUT : POLLIN;
}

/*
 * Run both handshakes until each has finished. When one side has failed,
 * the other gets a short grace period (it may be waiting for data that
 * will never come).
 */
static void drive(struct kh_tls *c, struct kh_tls *s, struct pair *p, int *rc, int *rs)
{
	*rc = *rs = -EAGAIN;
	for (int i = 0; i < 1000; i++) {
		struct pollfd pf[2];
		int n = 0;

		if (*rc == -EAGAIN)
			*rc = kh_tls_handshake(c);
		if (*rs == -EAGAIN)
			*rs = kh_tls_handshake(s);
		if (*rc != -EAGAIN && *rs != -EAGAIN)
			return;
		if (*rc == -EAGAIN)
			pf[n++] = (struct pollfd){.fd = p->c, .events = want_events(c)};
		if (*rs == -EAGAIN)
			pf[n++] = (struct pollfd){.fd = p->s, .events = want_events(s)};
		if (poll(pf, (nfds_t)n, n == 2 ? 2000 : 200) <= 0)
			return;
	}
}

struct conn {
	struct pair p;
	struct kh_tls *c, *s;
	int rc, rs;
};

static int conn_run(struct conn *k, struct kh_tls_conf *cc, struct kh_tls_conf *sc,
		    const char *host, const struct kh_tls_session *offer)
{
	memset(k, 0, sizeof(*k));
	if (pair_open(&k->p) || kh_tls_new(cc, k->p.c, host, &k->c) ||
	    kh_tls_new(sc, k->p.s, NULL, &k->s))
		return -1;
	if (offer && kh_tls_session_offer(k->c, offer))
		return -1;
	drive(k->c, k->s, &k->p, &k->rc, &k->rs);
	return 0;
}

static void conn_close(struct conn *k)
{
	kh_tls_free(k->c);
	kh_tls_free(k->s);
	pair_close(&k->p);
}

static int is_our_suite(const char *s)
{
	return !strcmp(s, "TLS-ECDHE-ECDSA-WITH-AES-128-GCM-SHA256") ||
	       !strcmp(s, "TLS-ECDHE-ECDSA-WITH-AES-256-GCM-SHA384") ||
	       !strcmp(s, "TLS-ECDHE-ECDSA-WITH-CHACHA20-POLY1305-SHA256");
}

/* ---- PKI ---- */

static void test_conf_rejects_bad_keys(void)
{
	struct kh_tls_conf_opts o = {
		.role = KH_TLS_SERVER,
		.ca_pem = P.ca_crt,
		.ca_len = strlen(P.ca_crt),
		.cert_pem = P.srv_crt,
		.cert_len = strlen(P.srv_crt),
		.key_pem = "this is not a key",
		.key_len = strlen("this is not a key"),
		.require_peer_cert = 1,
	};
	struct kh_tls_conf *c = NULL;
	struct kh_tls *t = NULL;
	char why[128];

	KT_EQ(kh_tls_conf_new(&o, &c, why, sizeof(why)), -EINVAL);
	KT_STREQ(why, "key: not PEM");
	KT_CHECK(c == NULL);
	o.key_pem = p384_key;
	o.key_len = strlen(p384_key);
	KT_EQ(kh_tls_conf_new(&o, &c, why, sizeof(why)), -EINVAL);
	KT_STREQ(why, "key: not a P-256 key");
	o.key_pem = P.cli_key; /* a P-256 key, but not the certificate's */
	o.key_len = strlen(P.cli_key);
	KT_EQ(kh_tls_conf_new(&o, &c, why, sizeof(why)), -EINVAL);
	KT_STREQ(why, "key: does not match the certificate");
	o.cert_pem = NULL; /* a server needs a certificate */
	KT_EQ(kh_tls_conf_new(&o, &c, why, sizeof(why)), -EINVAL);
	KT_CHECK(why[0] != 0);
	o.cert_pem = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
	o.cert_len = strlen(o.cert_pem);
	KT_EQ(kh_tls_conf_new(&o, &c, why, sizeof(why)), -EINVAL);
	KT_CHECK(strncmp(why, "cert: ", 6) == 0);

	/* a client must name the host it checks */
	c = conf_new(KH_TLS_CLIENT, P.cli_crt, P.cli_key, 0, 0);
	KT_CHECK(c != NULL);
	KT_EQ(kh_tls_new(c, 0, NULL, &t), -EINVAL);
	KT_CHECK(t == NULL);
	kh_tls_conf_free(c);
	kh_tls_conf_free(NULL);
}

/* ---- handshakes ---- */

static void test_mutual_tls_and_resumption(void)
{
	struct kh_tls_conf *sc = conf_new(KH_TLS_SERVER, P.srv_crt, P.srv_key, 1, 3600);
	struct kh_tls_conf *cc = conf_new(KH_TLS_CLIENT, P.cli_crt, P.cli_key, 0, 0);
	struct kh_tls_session *sess = NULL;
	struct kh_cert_info ci, si;
	struct conn k;
	uint8_t fp[32];
	char cn[65], why[128];

	KT_CHECK(sc && cc);
	if (!sc || !cc)
		goto out;
	KT_EQ(kh_pki_cert_info(P.cli_crt, &ci, why, sizeof(why)), 0);
	KT_EQ(kh_pki_cert_info(P.srv_crt, &si, why, sizeof(why)), 0);

	KT_EQ(conn_run(&k, cc, sc, SERVER_HOST, NULL), 0);
	KT_EQ(k.rc, 0);
	KT_EQ(k.rs, 0);
	if (k.rc || k.rs)
		printf("# client: %s; server: %s\n", kh_tls_error(k.c), kh_tls_error(k.s));
	KT_EQ(kh_tls_resumed(k.c), 0);
	KT_EQ(kh_tls_resumed(k.s), 0);
	KT_CHECK(is_our_suite(kh_tls_suite(k.c)));
	KT_STREQ(kh_tls_suite(k.c), kh_tls_suite(k.s));
	KT_EQ(kh_tls_peer_cn(k.s, cn, sizeof(cn)), 0);
	KT_STREQ(cn, CLIENT_CN);
	KT_EQ(kh_tls_peer_cn(k.s, cn, 5), -ENOSPC);
	KT_EQ(kh_tls_peer_fingerprint(k.s, fp), 0);
	KT_MEMEQ(fp, ci.sha256, 32);
	KT_EQ(kh_tls_peer_cn(k.c, cn, sizeof(cn)), 0);
	KT_STREQ(cn, SERVER_HOST);
	KT_EQ(kh_tls_peer_fingerprint(k.c, fp), 0);
	KT_MEMEQ(fp, si.sha256, 32);
	KT_STREQ(kh_tls_error(k.c), "");
	/* a few bytes each way, so that the client also receives the ticket */
	KT_EQ(kh_tls_write(k.c, "ping", 4), 4);
	{
		char b[16];
		int n = -EAGAIN;
		struct pollfd pf = {.fd = k.p.s, .events = POLLIN};

		for (int i = 0; i < 20 && n == -EAGAIN; i++) {
			n = kh_tls_read(k.s, b, sizeof(b));
			if (n == -EAGAIN)
				poll(&pf, 1, 200);
		}
		KT_EQ(n, 4);
		KT_CHECK(n == 4 && !memcmp(b, "ping", 4));
	}
	KT_EQ(kh_tls_session_save(k.c, &sess), 0);
	KT_EQ(kh_tls_session_save(k.s, &(struct kh_tls_session *){NULL}), -EINVAL);
	KT_EQ(kh_tls_close_notify(k.c), 0);
	conn_close(&k);

	/* second connection: resumed from the ticket, identity still known */
	KT_EQ(conn_run(&k, cc, sc, SERVER_HOST, sess), 0);
	KT_EQ(k.rc, 0);
	KT_EQ(k.rs, 0);
	KT_EQ(kh_tls_resumed(k.c), 1);
	KT_EQ(kh_tls_resumed(k.s), 1);
	KT_EQ(kh_tls_peer_cn(k.s, cn, sizeof(cn)), 0);
	KT_STREQ(cn, CLIENT_CN);
	KT_EQ(kh_tls_peer_fingerprint(k.s, fp), 0);
	KT_MEMEQ(fp, ci.sha256, 32);
	KT_EQ(kh_tls_peer_cn(k.c, cn, sizeof(cn)), 0);
	KT_STREQ(cn, SERVER_HOST);
	KT_CHECK(is_our_suite(kh_tls_suite(k.s)));
	conn_close(&k);

	/* a session offered to a server with other ticket keys: full handshake */
	{
		struct kh_tls_conf *sc2 = conf_new(KH_TLS_SERVER, P.srv_crt, P.srv_key, 1, 3600);

		KT_EQ(conn_run(&k, cc, sc2, SERVER_HOST, sess), 0);
		KT_EQ(k.rc, 0);
		KT_EQ(k.rs, 0);
		KT_EQ(kh_tls_resumed(k.c), 0);
		KT_EQ(kh_tls_resumed(k.s), 0);
		KT_EQ(kh_tls_peer_cn(k.s, cn, sizeof(cn)), 0);
		KT_STREQ(cn, CLIENT_CN);
		conn_close(&k);
		kh_tls_conf_free(sc2);
	}
out:
	kh_tls_session_free(sess);
	kh_tls_conf_free(cc);
	kh_tls_conf_free(sc);
}

/* A full handshake on sc that leaves the client's session (with its ticket) in *sess. */
static void full_session(struct kh_tls_conf *cc, struct kh_tls_conf *sc,
			 struct kh_tls_session **sess)
{
	struct pollfd pf;
	struct conn k;
	char b[8];
	int n = -EAGAIN;

	KT_EQ(conn_run(&k, cc, sc, SERVER_HOST, NULL), 0);
	KT_CHECK(k.rc == 0 && k.rs == 0 && !kh_tls_resumed(k.s));
	pf = (struct pollfd){.fd = k.p.s, .events = POLLIN};
	KT_EQ(kh_tls_write(k.c, "ping", 4), 4); /* the client has the ticket by then */
	for (int i = 0; i < 20 && n == -EAGAIN; i++)
		if ((n = kh_tls_read(k.s, b, sizeof(b))) == -EAGAIN)
			poll(&pf, 1, 200);
	KT_EQ(n, 4);
	KT_EQ(kh_tls_session_save(k.c, sess), 0);
	conn_close(&k);
}

/* The session offered to sc: 1 resumed, 0 full (and still working), -1 failed. */
static int resumes(struct kh_tls_conf *cc, struct kh_tls_conf *sc,
		   const struct kh_tls_session *sess)
{
	struct conn k;
	char cn[65];
	int r;

	if (conn_run(&k, cc, sc, SERVER_HOST, sess) < 0 || k.rc || k.rs) {
		conn_close(&k);
		return -1;
	}
	r = kh_tls_resumed(k.s) && kh_tls_resumed(k.c);
	/* either way the server knows the device */
	if (kh_tls_peer_cn(k.s, cn, sizeof(cn)) < 0 || strcmp(cn, CLIENT_CN) != 0)
		r = -1;
	conn_close(&k);
	return r;
}

/*
 * Ticket keys given by the server's store: a ticket one instance issued
 * resumes on another with the same keys, and on one that rotated (the
 * previous key still accepted); a ticket under a key of the same id but
 * other material (forged), an unknown id or an expired key gives a full
 * handshake, never a failure.
 */
static void test_ticket_keys_from_store(void)
{
	struct kh_tls_conf *sa = conf_new(KH_TLS_SERVER, P.srv_crt, P.srv_key, 1, 3600);
	struct kh_tls_conf *sb = conf_new(KH_TLS_SERVER, P.srv_crt, P.srv_key, 1, 3600);
	struct kh_tls_conf *sx = conf_new(KH_TLS_SERVER, P.srv_crt, P.srv_key, 1, 3600);
	struct kh_tls_conf *s0 = conf_new(KH_TLS_SERVER, P.srv_crt, P.srv_key, 1, 0);
	struct kh_tls_conf *cc = conf_new(KH_TLS_CLIENT, P.cli_crt, P.cli_key, 0, 0);
	struct kh_tls_ticket_key k1 = {.id = 7, .not_after = P.now + 3600}, forged, k9, ring[2];
	struct kh_tls_session *sess = NULL;

	KT_CHECK(sa && sb && sx && s0 && cc);
	if (!sa || !sb || !sx || !s0 || !cc)
		goto out;
	memset(k1.key, 0x11, 32);
	forged = k1;
	memset(forged.key, 0x22, 32);
	k9 = k1;
	k9.id = 9;
	memset(k9.key, 0x99, 32);
	KT_EQ(kh_tls_conf_set_ticket_keys(cc, &k1, 1), -EINVAL);
	KT_EQ(kh_tls_conf_set_ticket_keys(s0, &k1, 1), -EINVAL); /* tickets off */
	KT_EQ(kh_tls_conf_set_ticket_keys(sa, &k1, 0), -EINVAL);
	KT_EQ(kh_tls_conf_set_ticket_keys(sa, &k1, KH_TLS_TICKET_KEYS + 1), -EINVAL);
	KT_EQ(kh_tls_conf_set_ticket_keys(sa, &k1, 1), 0);
	KT_EQ(kh_tls_conf_set_ticket_keys(sb, &k1, 1), 0);
	full_session(cc, sa, &sess);
	KT_EQ(resumes(cc, sa, sess), 1);
	KT_EQ(resumes(cc, sb, sess), 1); /* another instance, the same key */
	KT_EQ(kh_tls_conf_set_ticket_keys(sx, &forged, 1), 0);
	KT_EQ(resumes(cc, sx, sess), 0); /* same id, other key: does not authenticate */
	KT_EQ(kh_tls_conf_set_ticket_keys(sx, &k9, 1), 0);
	KT_EQ(resumes(cc, sx, sess), 0); /* unknown key id */
	ring[0] = k9;
	ring[1] = k1;
	KT_EQ(kh_tls_conf_set_ticket_keys(sx, ring, 2), 0);
	KT_EQ(resumes(cc, sx, sess), 1); /* rotated: the previous key still accepted */
	ring[1].not_after = P.now - 1;
	KT_EQ(kh_tls_conf_set_ticket_keys(sx, ring, 2), 0);
	KT_EQ(resumes(cc, sx, sess), 0); /* the previous key expired */
	KT_EQ(resumes(cc, s0, sess), 0); /* a server without tickets */
out:
	kh_tls_session_free(sess);
	kh_tls_conf_free(cc);
	kh_tls_conf_free(s0);
	kh_tls_conf_free(sx);
	kh_tls_conf_free(sb);
	kh_tls_conf_free(sa);
}

/* No tickets configured: the saved session cannot resume. */
static void test_no_tickets_no_resumption(void)
{
	struct kh_tls_conf *sc = conf_new(KH_TLS_SERVER, P.srv_crt, P.srv_key, 1, 0);
	struct kh_tls_conf *cc = conf_new(KH_TLS_CLIENT, P.cli_crt, P.cli_key, 0, 0);
	struct kh_tls_session *sess = NULL;
	struct conn k;

	KT_CHECK(sc && cc);
	if (!sc || !cc)
		goto out;
	KT_EQ(conn_run(&k, cc, sc, SERVER_HOST, NULL), 0);
	KT_EQ(k.rc, 0);
	KT_EQ(k.rs, 0);
	KT_EQ(kh_tls_session_save(k.c, &sess), 0);
	conn_close(&k);
	KT_EQ(conn_run(&k, cc, sc, SERVER_HOST, sess), 0);
	KT_EQ(k.rc, 0);
	KT_EQ(k.rs, 0);
	KT_EQ(kh_tls_resumed(k.c), 0);
	KT_EQ(kh_tls_resumed(k.s), 0);
	conn_close(&k);
out:
	kh_tls_session_free(sess);
	kh_tls_conf_free(cc);
	kh_tls_conf_free(sc);
}

/* Client certificate refusals; for each, both the required and the optional server. */
static void check_client_refused(const char *crt, const char *reason)
{
	for (int require = 1; require >= 0; require--) {
		struct kh_tls_conf *sc = conf_new(KH_TLS_SERVER, P.srv_crt, P.srv_key, require, 0);
		struct kh_tls_conf *cc = conf_new(KH_TLS_CLIENT, crt, P.cli_key, 0, 0);
		struct conn k;
		char cn[65];

		KT_CHECK(sc && cc);
		if (sc && cc) {
			KT_EQ(conn_run(&k, cc, sc, SERVER_HOST, NULL), 0);
			KT_EQ(k.rs, -EACCES);
			KT_CHECK(k.rc != 0 || require == 0); /* optional: may finish first */
			KT_CHECK(strstr(kh_tls_error(k.s), reason) != NULL);
			printf("# %s server: %s\n", require ? "required" : "optional",
			       kh_tls_error(k.s));
			KT_EQ(kh_tls_peer_cn(k.s, cn, sizeof(cn)), -ENOENT);
			/* the failure is sticky */
			KT_EQ(kh_tls_handshake(k.s), -EACCES);
			KT_EQ(kh_tls_read(k.s, cn, sizeof(cn)), -EACCES);
			conn_close(&k);
		}
		kh_tls_conf_free(cc);
		kh_tls_conf_free(sc);
	}
}

static void test_client_cert_other_ca_refused(void)
{
	check_client_refused(P.other_cli_crt, "peer certificate: ");
}

static void test_client_cert_expired_refused(void)
{
	check_client_refused(P.expired_cli_crt, "expired");
}

static void test_client_without_cert(void)
{
	struct kh_tls_conf *req = conf_new(KH_TLS_SERVER, P.srv_crt, P.srv_key, 1, 0);
	struct kh_tls_conf *opt = conf_new(KH_TLS_SERVER, P.srv_crt, P.srv_key, 0, 0);
	struct kh_tls_conf *cc = conf_new(KH_TLS_CLIENT, NULL, NULL, 0, 0);
	struct conn k;
	uint8_t fp[32];
	char cn[65];

	KT_CHECK(req && opt && cc);
	if (!req || !opt || !cc)
		goto out;
	KT_EQ(conn_run(&k, cc, req, SERVER_HOST, NULL), 0);
	KT_EQ(k.rs, -EACCES);
	KT_EQ(k.rc, -EPROTO); /* told by an alert, not left waiting */
	KT_STREQ(kh_tls_error(k.s), "peer certificate: none presented");
	KT_CHECK(strstr(kh_tls_error(k.c), "alert 40") != NULL);
	printf("# no client certificate: server: %s; client: %s\n", kh_tls_error(k.s),
	       kh_tls_error(k.c));
	conn_close(&k);

	KT_EQ(conn_run(&k, cc, opt, SERVER_HOST, NULL), 0);
	KT_EQ(k.rc, 0);
	KT_EQ(k.rs, 0);
	KT_EQ(kh_tls_peer_cn(k.s, cn, sizeof(cn)), -ENOENT);
	KT_EQ(kh_tls_peer_fingerprint(k.s, fp), -ENOENT);
	KT_EQ(kh_tls_peer_cn(k.c, cn, sizeof(cn)), 0);
	conn_close(&k);
out:
	kh_tls_conf_free(cc);
	kh_tls_conf_free(opt);
	kh_tls_conf_free(req);
}

static void check_host(struct kh_tls_conf *sc, struct kh_tls_conf *cc, const char *host, int want)
{
	struct conn k;

	KT_EQ(conn_run(&k, cc, sc, host, NULL), 0);
	KT_EQ(k.rc, want);
	if (want == 0) {
		KT_EQ(k.rs, 0);
	} else {
		KT_CHECK(k.rs != 0);
		KT_CHECK(strstr(kh_tls_error(k.c), "peer certificate: ") != NULL);
	}
	if (k.rc != 0 || k.rc != want)
		printf("# host %s: %d %s\n", host, k.rc, kh_tls_error(k.c));
	conn_close(&k);
}

static void test_hostname_checked(void)
{
	struct kh_tls_conf *sc = conf_new(KH_TLS_SERVER, P.srv_crt, P.srv_key, 1, 0);
	struct kh_tls_conf *sc6 = conf_new(KH_TLS_SERVER, P.srv6_crt, P.srv_key, 1, 0);
	struct kh_tls_conf *cc = conf_new(KH_TLS_CLIENT, P.cli_crt, P.cli_key, 0, 0);

	KT_CHECK(sc && sc6 && cc);
	if (sc && sc6 && cc) {
		check_host(sc, cc, "127.0.0.1", 0);
		check_host(sc, cc, "127.0.0.2", -EACCES);
		check_host(sc, cc, "other.example", -EACCES);
		/* the name is checked, not the address connected to */
		check_host(sc6, cc, "::1", 0);
		check_host(sc6, cc, "::2", -EACCES);
		check_host(sc6, cc, "127.0.0.1", -EACCES);
	}
	kh_tls_conf_free(cc);
	kh_tls_conf_free(sc6);
	kh_tls_conf_free(sc);
}

/* A server trusting another CA: the client refuses it as unknown. */
static void test_server_from_unknown_ca_refused(void)
{
	char *srv = issue(KH_CERT_SERVER, SERVER_HOST, SERVER_HOST, P.now - 60, P.now + 3600,
			  P.srv_key, P.other_key, P.other_crt);
	struct kh_tls_conf *sc = srv ? conf_new(KH_TLS_SERVER, srv, P.srv_key, 1, 0) : NULL;
	struct kh_tls_conf *cc = conf_new(KH_TLS_CLIENT, P.cli_crt, P.cli_key, 0, 0);
	struct conn k;

	KT_CHECK(sc && cc);
	if (sc && cc) {
		KT_EQ(conn_run(&k, cc, sc, SERVER_HOST, NULL), 0);
		KT_EQ(k.rc, -EACCES);
		KT_CHECK(strstr(kh_tls_error(k.c), "peer certificate: ") != NULL);
		conn_close(&k);
	}
	kh_tls_conf_free(cc);
	kh_tls_conf_free(sc);
	kh_pki_free(srv);
}

/* A client certificate from an intermediate CA, sent as a chain; the server trusts the root. */
static void test_intermediate_ca_chain(void)
{
	char *sub = issue(KH_CERT_CA, "Khien Sub CA", NULL, P.now - 60, P.now + 3600, P.other_key,
			  P.ca_key, P.ca_crt);
	char *leaf = sub ? issue(KH_CERT_CLIENT, "KH-DEVICE-0002", NULL, P.now - 60, P.now + 3600,
				 P.cli_key, P.other_key, sub)
			 : NULL;
	char *chain = NULL, cn[65], why[128];
	struct kh_tls_conf *sc = conf_new(KH_TLS_SERVER, P.srv_crt, P.srv_key, 1, 0), *cc = NULL;
	struct kh_cert_info ci;
	struct conn k;

	KT_CHECK(sub && leaf && sc);
	if (!sub || !leaf || !sc)
		goto out;
	KT_EQ(kh_pki_cert_info(sub, &ci, why, sizeof(why)), 0);
	KT_EQ(ci.is_ca, 1);
	KT_STREQ(ci.issuer_cn, CA_CN);
	chain = malloc(strlen(leaf) + strlen(sub) + 1);
	strcpy(chain, leaf);
	strcat(chain, sub);
	cc = conf_new(KH_TLS_CLIENT, chain, P.cli_key, 0, 0);
	KT_CHECK(cc != NULL);
	if (!cc)
		goto out;
	KT_EQ(conn_run(&k, cc, sc, SERVER_HOST, NULL), 0);
	KT_EQ(k.rc, 0);
	KT_EQ(k.rs, 0);
	KT_EQ(kh_tls_peer_cn(k.s, cn, sizeof(cn)), 0);
	KT_STREQ(cn, "KH-DEVICE-0002");
	conn_close(&k);
out:
	kh_tls_conf_free(cc);
	kh_tls_conf_free(sc);
	free(chain);
	kh_pki_free(leaf);
	kh_pki_free(sub);
}

/* ---- data ---- */

#define BULK (200 * 1024)

struct side {
	struct kh_tls *t;
	kh_sock fd;
	const uint8_t *out, *expect;
	size_t sent, got;
	int wblocked, err, partial, pending_seen, chunk;
};

static void side_write(struct side *x, int *progress)
{
	int n;

	if (x->sent == BULK || x->err)
		return;
	n = kh_tls_write(x->t, x->out + x->sent, BULK - x->sent);
	if (n > 0) {
		if ((size_t)n < BULK - x->sent)
			x->partial = 1;
		x->sent += (size_t)n;
		x->wblocked = 0;
		*progress = 1;
	} else if (n == -EAGAIN) {
		x->wblocked = kh_tls_want(x->t) == KH_TLS_WANT_WRITE;
	} else {
		x->err = n;
	}
}

static void side_read(struct side *x, int *progress)
{
	uint8_t buf[2048];

	while (x->got < BULK && !x->err) {
		/* odd chunk sizes leave decrypted bytes buffered in the record */
		size_t want = (size_t)(x->chunk++ % 1500) + 1;
		int n = kh_tls_read(x->t, buf, want);

		if (n == -EAGAIN)
			return;
		if (n <= 0 || x->got + (size_t)n > BULK) {
			x->err = n ? n : -EPIPE;
			return;
		}
		if (memcmp(buf, x->expect + x->got, (size_t)n) != 0)
			x->err = -EBADMSG;
		x->got += (size_t)n;
		*progress = 1;
		if (kh_tls_pending(x->t) > 0)
			x->pending_seen = 1; /* read on without waiting for the socket */
	}
}

static void test_bulk_both_ways(void)
{
	struct kh_tls_conf *sc = conf_new(KH_TLS_SERVER, P.srv_crt, P.srv_key, 1, 0);
	struct kh_tls_conf *cc = conf_new(KH_TLS_CLIENT, P.cli_crt, P.cli_key, 0, 0);
	uint8_t *a = malloc(BULK), *b = malloc(BULK);
	struct side cs, ss;
	struct conn k;
	char tmp[64];
	int n;

	KT_CHECK(sc && cc && a && b);
	if (!sc || !cc || !a || !b)
		goto out;
	for (size_t i = 0; i < BULK; i++) {
		a[i] = (uint8_t)(i * 7 + (i >> 9));
		b[i] = (uint8_t)(i * 13 + (i >> 11) + 1);
	}
	KT_EQ(conn_run(&k, cc, sc, SERVER_HOST, NULL), 0);
	KT_EQ(k.rc, 0);
	KT_EQ(k.rs, 0);
	cs = (struct side){.t = k.c, .fd = k.p.c, .out = a, .expect = b};
	ss = (struct side){.t = k.s, .fd = k.p.s, .out = b, .expect = a, .chunk = 700};
	for (int i = 0; i < 100000; i++) {
		struct pollfd pf[2];
		int progress = 0;

		if (cs.got == BULK && ss.got == BULK)
			break;
		side_write(&cs, &progress);
		side_write(&ss, &progress);
		side_read(&cs, &progress);
		side_read(&ss, &progress);
		if (cs.err || ss.err)
			break;
		if (progress)
			continue;
		pf[0] = (struct pollfd){.fd = cs.fd,
					.events = POLLIN | (cs.wblocked ? POLLOUT : 0)};
		pf[1] = (struct pollfd){.fd = ss.fd,
					.events = POLLIN | (ss.wblocked ? POLLOUT : 0)};
		if (poll(pf, 2, 2000) <= 0)
			break;
	}
	KT_EQ(cs.err, 0);
	KT_EQ(ss.err, 0);
	KT_EQ(cs.sent, BULK);
	KT_EQ(ss.sent, BULK);
	KT_EQ(cs.got, BULK);
	KT_EQ(ss.got, BULK);
	KT_CHECK(cs.partial && ss.partial);
	KT_CHECK(cs.pending_seen || ss.pending_seen);

	/* close_notify reads as 0 on the other side */
	KT_EQ(kh_tls_close_notify(k.c), 0);
	n = -EAGAIN;
	for (int i = 0; i < 20 && n == -EAGAIN; i++) {
		struct pollfd pf = {.fd = k.p.s, .events = POLLIN};
		n = kh_tls_read(k.s, tmp, sizeof(tmp));
		if (n == -EAGAIN)
			poll(&pf, 1, 200);
	}
	KT_EQ(n, 0);
	conn_close(&k);

	/* a plain EOF (no close_notify) also reads as 0 */
	KT_EQ(conn_run(&k, cc, sc, SERVER_HOST, NULL), 0);
	KT_EQ(k.rs, 0);
	kh_net_close(k.p.c);
	k.p.c = -1;
	n = -EAGAIN;
	for (int i = 0; i < 20 && n == -EAGAIN; i++) {
		struct pollfd pf = {.fd = k.p.s, .events = POLLIN};
		n = kh_tls_read(k.s, tmp, sizeof(tmp));
		if (n == -EAGAIN)
			poll(&pf, 1, 200);
	}
	KT_EQ(n, 0);
	/* and a read with nothing there waits for the socket */
	conn_close(&k);
	KT_EQ(conn_run(&k, cc, sc, SERVER_HOST, NULL), 0);
	KT_EQ(kh_tls_read(k.s, tmp, sizeof(tmp)), -EAGAIN);
	KT_EQ(kh_tls_want(k.s), KH_TLS_WANT_READ);
	KT_EQ(kh_tls_pending(k.s), 0);
	conn_close(&k);
out:
	free(a);
	free(b);
	kh_tls_conf_free(cc);
	kh_tls_conf_free(sc);
}

static uint8_t pat(size_t i)
{
	return (uint8_t)(i * 7 + (i >> 9));
}

/*
 * After -EAGAIN the record is already encrypted and queued; a retry that
 * offers more data must be told how much of it that record held.
 */
static void test_write_retry_with_more_data(void)
{
	struct kh_tls_conf *sc = conf_new(KH_TLS_SERVER, P.srv_crt, P.srv_key, 1, 0);
	struct kh_tls_conf *cc = conf_new(KH_TLS_CLIENT, P.cli_crt, P.cli_key, 0, 0);
	static uint8_t out[5000], in[4096];
	size_t sent = 0, got = 0;
	struct conn k;
	int n = 0, bad = 0;

	KT_CHECK(sc && cc);
	if (!sc || !cc)
		goto out;
	KT_EQ(conn_run(&k, cc, sc, SERVER_HOST, NULL), 0);
	KT_EQ(k.rc, 0);
	KT_EQ(k.rs, 0);
	/* fill the socket buffers with small records while nobody reads */
	for (int i = 0; i < 200000; i++) {
		for (size_t j = 0; j < 100; j++)
			out[j] = pat(sent + j);
		n = kh_tls_write(k.c, out, 100);
		if (n != 100)
			break;
		sent += 100;
	}
	KT_EQ(n, -EAGAIN);
	KT_EQ(kh_tls_want(k.c), KH_TLS_WANT_WRITE);
	/* retry with the same start and more data behind it */
	for (size_t j = 0; j < sizeof(out); j++)
		out[j] = pat(sent + j);
	for (int i = 0; i < 100000 && (n == -EAGAIN || got < sent); i++) {
		int r;

		if (n == -EAGAIN) {
			n = kh_tls_write(k.c, out, sizeof(out));
			if (n > 0)
				sent += (size_t)n;
		}
		r = kh_tls_read(k.s, in, sizeof(in));
		if (r > 0) {
			for (int j = 0; j < r; j++)
				bad |= in[j] != pat(got + (size_t)j);
			got += (size_t)r;
		} else if (r != -EAGAIN) {
			break;
		} else if (n != -EAGAIN) {
			struct pollfd pf = {.fd = k.p.s, .events = POLLIN};
			if (poll(&pf, 1, 2000) != 1)
				break;
		}
	}
	KT_EQ(n, 100);
	KT_EQ(got, sent);
	KT_EQ(bad, 0);
	conn_close(&k);
out:
	kh_tls_conf_free(cc);
	kh_tls_conf_free(sc);
}

/* kh_tls_conf_load: three PEM files in, a configuration that handshakes out. */
static void test_conf_load(void)
{
	char dir[] = "/tmp/kh-tls-XXXXXX", p[3][64], why[256];
	const char *pem[3] = {p[0], p[1], p[2]};
	const char *const what[3] = {"report.server_ca", "report.cert", "report.key"};
	const char *text[3] = {P.ca_crt, P.cli_crt, P.cli_key};
	struct kh_tls_conf_opts o = {.role = KH_TLS_CLIENT};
	struct kh_tls_conf *cc = NULL, *sc;
	struct conn k;

	KT_CHECK(mkdtemp(dir) != NULL);
	for (int i = 0; i < 3; i++) {
		snprintf(p[i], sizeof(p[i]), "%s/%d.pem", dir, i);
		KT_EQ(kh_fs_write_atomic(p[i], text[i], strlen(text[i]), 0600), 0);
	}
	KT_EQ(kh_tls_conf_load(&o, pem, what, &cc, why, sizeof(why)), 0);
	sc = conf_new(KH_TLS_SERVER, P.srv_crt, P.srv_key, 1, 0);
	KT_CHECK(cc && sc);
	if (cc && sc) {
		/* the loaded configuration is a working client: mutual TLS succeeds */
		KT_EQ(conn_run(&k, cc, sc, SERVER_HOST, NULL), 0);
		KT_EQ(k.rc, 0);
		KT_EQ(k.rs, 0);
		conn_close(&k);
	}
	kh_tls_conf_free(cc);
	kh_tls_conf_free(sc);
	/* a missing key: why names the setting and the path */
	kh_fs_remove(p[2]);
	cc = NULL;
	KT_EQ(kh_tls_conf_load(&o, pem, what, &cc, why, sizeof(why)), -ENOENT);
	KT_CHECK(cc == NULL);
	KT_CHECK(strncmp(why, "report.key ", 11) == 0 && strstr(why, p[2]) != NULL);
	KT_EQ(kh_tls_conf_load(&o, pem, NULL, &cc, why, sizeof(why)), -ENOENT);
	KT_CHECK(strncmp(why, p[2], strlen(p[2])) == 0);
	/* a file that is not PEM: kh_tls_conf_new's reason */
	KT_EQ(kh_fs_write_atomic(p[2], "not a key", 9, 0600), 0);
	KT_EQ(kh_tls_conf_load(&o, pem, what, &cc, why, sizeof(why)), -EINVAL);
	KT_STREQ(why, "key: not PEM");
	for (int i = 0; i < 3; i++)
		kh_fs_remove(p[i]);
	rmdir(dir);
}

int main(void)
{
	if (pki_setup()) {
		printf("not ok - pki_setup\n");
		pki_teardown();
		return 1;
	}
	KT_RUN(test_conf_rejects_bad_keys);
	KT_RUN(test_conf_load);
	KT_RUN(test_mutual_tls_and_resumption);
	KT_RUN(test_no_tickets_no_resumption);
	KT_RUN(test_ticket_keys_from_store);
	KT_RUN(test_client_cert_other_ca_refused);
	KT_RUN(test_client_cert_expired_refused);
	KT_RUN(test_client_without_cert);
	KT_RUN(test_hostname_checked);
	KT_RUN(test_server_from_unknown_ca_refused);
	KT_RUN(test_intermediate_ca_chain);
	KT_RUN(test_bulk_both_ways);
	KT_RUN(test_write_retry_with_more_data);
	pki_teardown();
	return KT_DONE();
}