/* SPDX-License-Identifier: MIT */
/*
 * khien-testhttps: one HTTPS request with Khien's own TLS (crypto/tls.h),
 * for integration tests that need to act as a device with any certificate
 * (a wrong CA, an expired or revoked one) or as an operator. Prints the
 * status line's code on the first line, then the body.
 *
 * usage: khien-testhttps --connect IP:PORT --host NAME --ca CA.pem
 *            [--cert C.pem --key K.pem] [--header "Name: value"]...
 *            [--body FILE] [--raw FILE] METHOD PATH
 * --raw sends the file's bytes as the whole request (malformed-input tests).
 * Exit: 0 a response arrived (any status), 1 the TLS handshake or the
 * connection failed (the reason on stderr), 2 usage.
 *
 *        khien-testhttps --serve IP:PORT --ca DEVICE-CA.pem --cert S.pem
 *            --key S.key --answer FILE --for SECONDS
 * plays a hostile server: every request of a device (mutual TLS) gets
 * 200 and FILE's bytes as its JSON body, whatever it asked; after SECONDS
 * it prints "requests N checkins M" and exits 0.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/tls.h"
#include "lib/err.h"
#include "lib/http.h"
#include "platform/fs.h"
#include "platform/loop.h"
#include "platform/net.h"
#include "platform/time.h"

static int g_ready;

static void on_io(struct kh_loop *loop, int fd, unsigned events, void *arg)
{
	(void)loop;
	(void)fd;
	(void)events;
	(void)arg;
	g_ready = 1;
}

/* Wait until the connection's socket is ready for what TLS wants (10 s at most). */
static int wait_for(struct kh_loop *loop, struct kh_tls *t, kh_sock s)
{
	uint64_t end = kh_time_mono_ms() + 10000;

	kh_loop_fd_mod(loop, s, kh_tls_want(t) == KH_TLS_WANT_WRITE ? KH_EV_WRITE : KH_EV_READ);
	g_ready = 0;
	while (!g_ready && kh_time_mono_ms() < end)
		kh_loop_run_once(loop, 100);
	return g_ready ? 0 : -ETIMEDOUT;
}

static char *slurp(const char *path, size_t *len)
{
	uint8_t *b = NULL;

	if (kh_fs_read(path, 64u << 20, &b, len) < 0) {
		fprintf(stderr, "khien-testhttps: cannot read %s\n", path);
		exit(2);
	}
	return (char *)b;
}

/* Read one request head and its body (Content-Length) from t; 1 done, 0 closed, -1 error. */
static int serve_read_request(struct kh_loop *loop, struct kh_tls *t, kh_sock s, char *in,
			      size_t cap, int *checkin)
{
	size_t got = 0;
	char *end;

	for (;;) {
		int r = kh_tls_read(t, in + got, cap - 1 - got);
		if (r == -EAGAIN) {
			if (wait_for(loop, t, s) < 0)
				return -1;
			continue;
		}
		if (r <= 0)
			return got ? -1 : 0;
		got += (size_t)r;
		in[got] = 0;
		if ((end = strstr(in, "\r\n\r\n"))) {
			const char *cl = strstr(in, "Content-Length: ");
			size_t need =
				(size_t)(end + 4 - in) + (cl ? strtoul(cl + 16, NULL, 10) : 0);
			if (got >= need) {
				*checkin = strncmp(in, "POST /v1/checkin ", 17) == 0;
				return 1;
			}
		}
		if (got + 1 >= cap)
			return -1;
	}
}

static int serve(const char *listen, const char *ca, const char *cert, const char *key,
		 const char *answer, int seconds)
{
	static char in[1 << 20];
	size_t cal, cpl, kpl, al;
	char *cap = slurp(ca, &cal), *cp = slurp(cert, &cpl), *kp = slurp(key, &kpl);
	char *body = slurp(answer, &al), head[512], why[256];
	struct kh_tls_conf_opts o = {KH_TLS_SERVER, cap, cal, cp, cpl, kp, kpl, 1, 0};
	struct kh_tls_conf *conf;
	struct kh_loop *loop;
	struct kh_addr a;
	kh_sock ls;
	uint64_t end = kh_time_mono_ms() + (uint64_t)seconds * 1000;
	unsigned requests = 0, checkins = 0;

	if (kh_addr_parse(listen, 0, &a) < 0 || kh_tls_conf_new(&o, &conf, why, sizeof(why)) < 0 ||
	    kh_loop_new(&loop) < 0 || kh_net_tcp_listen(&a, 16, &ls) < 0) {
		fprintf(stderr, "khien-testhttps: cannot serve on %s\n", listen);
		return 2;
	}
	int hl = snprintf(head, sizeof(head),
			  "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
			  "Content-Length: %zu\r\n\r\n",
			  al);
	while (kh_time_mono_ms() < end) {
		struct kh_tls *t;
		kh_sock s;
		int n, checkin;
		if (kh_net_tcp_accept(ls, &s, NULL) < 0) {
			kh_time_sleep_ms(5);
			continue;
		}
		if (kh_loop_fd_add(loop, s, KH_EV_READ, on_io, NULL) < 0 ||
		    kh_tls_new(conf, s, NULL, &t) < 0) {
			kh_net_close(s);
			continue;
		}
		while ((n = kh_tls_handshake(t)) == -EAGAIN)
			if (wait_for(loop, t, s) < 0)
				break;
		while (n == 0 && kh_time_mono_ms() < end &&
		       serve_read_request(loop, t, s, in, sizeof(in), &checkin) == 1) {
			requests++;
			checkins += (unsigned)checkin;
			if (kh_tls_write(t, head, (size_t)hl) < 0 || kh_tls_write(t, body, al) < 0)
				break;
		}
		kh_tls_free(t);
		kh_loop_fd_del(loop, s);
		kh_net_close(s);
	}
	printf("requests %u checkins %u\n", requests, checkins);
	kh_net_close(ls);
	kh_tls_conf_free(conf);
	kh_loop_free(loop);
	free(cap);
	free(cp);
	free(kp);
	free(body);
	return 0;
}

int main(int argc, char **argv)
{
	const char *connect = NULL, *host = NULL, *ca = NULL, *cert = NULL, *key = NULL,
		   *bodyf = NULL, *method = NULL, *path = NULL, *rawf = NULL;
	char extra[2048] = "", head[4096], *cap = NULL, *cp = NULL, *kp = NULL, *body = NULL;
	size_t cal = 0, cpl = 0, kpl = 0, bl = 0, got = 0, need = 0;
	static char in[(64 << 20) + 8192];
	struct kh_tls_conf_opts o;
	struct kh_tls_conf *conf;
	struct kh_tls *t;
	struct kh_loop *loop;
	struct kh_http_resp resp;
	struct kh_addr a;
	char why[256];
	kh_sock s;
	int n, hl = 0;

	const char *serve_on = NULL, *answer = NULL;
	int seconds = 5;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--serve") && i + 1 < argc)
			serve_on = argv[++i];
		else if (!strcmp(argv[i], "--answer") && i + 1 < argc)
			answer = argv[++i];
		else if (!strcmp(argv[i], "--for") && i + 1 < argc)
			seconds = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--connect") && i + 1 < argc)
			connect = argv[++i];
		else if (!strcmp(argv[i], "--host") && i + 1 < argc)
			host = argv[++i];
		else if (!strcmp(argv[i], "--ca") && i + 1 < argc)
			ca = argv[++i];
		else if (!strcmp(argv[i], "--cert") && i + 1 < argc)
			cert = argv[++i];
		else if (!strcmp(argv[i], "--key") && i + 1 < argc)
			key = argv[++i];
		else if (!strcmp(argv[i], "--body") && i + 1 < argc)
			bodyf = argv[++i];
		else if (!strcmp(argv[i], "--raw") && i + 1 < argc)
			rawf = argv[++i];
		else if (!strcmp(argv[i], "--header") && i + 1 < argc) {
			size_t l = strlen(extra);
			snprintf(extra + l, sizeof(extra) - l, "%s\r\n", argv[++i]);
		} else if (!method)
			method = argv[i];
		else if (!path)
			path = argv[i];
		else
			method = NULL, i = argc;
	}
	if (serve_on && ca && cert && key && answer)
		return serve(serve_on, ca, cert, key, answer, seconds);
	if (!connect || !host || !ca || !method || !path || kh_addr_parse(connect, 0, &a) < 0) {
		fprintf(stderr, "usage: khien-testhttps --connect IP:PORT --host NAME --ca CA.pem "
				"[--cert C --key K] [--header H]... [--body FILE] METHOD PATH\n");
		return 2;
	}
	cap = slurp(ca, &cal);
	if (cert)
		cp = slurp(cert, &cpl);
	if (key)
		kp = slurp(key, &kpl);
	if (bodyf)
		body = slurp(bodyf, &bl);
	o = (struct kh_tls_conf_opts){KH_TLS_CLIENT, cap, cal, cp, cpl, kp, kpl, 1, 0};
	if (kh_tls_conf_new(&o, &conf, why, sizeof(why)) < 0) {
		fprintf(stderr, "khien-testhttps: %s\n", why);
		return 2;
	}
	if (kh_loop_new(&loop) < 0 || kh_net_tcp_connect(&a, &s) < 0 ||
	    kh_loop_fd_add(loop, s, KH_EV_WRITE, on_io, NULL) < 0 ||
	    kh_tls_new(conf, s, host, &t) < 0) {
		fprintf(stderr, "khien-testhttps: cannot connect to %s\n", connect);
		return 1;
	}
	while ((n = kh_tls_handshake(t)) == -EAGAIN)
		if (wait_for(loop, t, s) < 0)
			break;
	if (n < 0) {
		fprintf(stderr, "khien-testhttps: TLS handshake failed: %s\n", kh_tls_error(t));
		return 1;
	}
	if (rawf) {
		free(body);
		body = slurp(rawf, &bl);
		n = 0;
	} else {
		n = kh_http_format_request(head, sizeof(head), method, path, host,
					   body ? "application/octet-stream" : NULL, bl,
					   extra[0] ? extra : NULL);
	}
	if (n < 0) {
		fprintf(stderr, "khien-testhttps: request head too long\n");
		return 2;
	}
	/* head and body in one buffer: one record, so a refusal cannot land between them */
	char *req = malloc((size_t)n + bl + 1);
	if (!req)
		return 2;
	memcpy(req, head, (size_t)n);
	if (bl)
		memcpy(req + n, body, bl);
	for (size_t off = 0, total = (size_t)n + bl; off < total;) {
		const char *p = req + off;
		size_t left = total - off;
		int w = kh_tls_write(t, p, left);
		if (w == -EAGAIN) {
			if (wait_for(loop, t, s) < 0)
				break;
			continue;
		}
		if (w < 0) {
			/* the server may have said why before closing: read its alert */
			char alert[64];
			kh_tls_read(t, alert, sizeof(alert));
			fprintf(stderr, "khien-testhttps: send failed: %s\n", kh_tls_error(t));
			return 1;
		}
		off += (size_t)w;
	}
	for (;;) {
		int r = kh_tls_read(t, in + got, sizeof(in) - got);
		if (r == -EAGAIN) {
			if (wait_for(loop, t, s) < 0)
				break;
			continue;
		}
		if (r <= 0)
			break;
		got += (size_t)r;
		if (!hl) {
			hl = kh_http_parse_response(in, got, &resp);
			if (hl < 0)
				break;
			if (hl > 0)
				need = (size_t)hl +
				       (resp.content_length > 0 ? (size_t)resp.content_length : 0);
		}
		if (hl > 0 && got >= need)
			break;
	}
	if (hl <= 0) {
		fprintf(stderr, "khien-testhttps: no valid response (%s)\n",
			got ? "malformed" : kh_tls_error(t));
		return 1;
	}
	printf("%d\n", resp.status);
	fwrite(in + hl, 1, got - (size_t)hl, stdout);
	if (got > (size_t)hl && in[got - 1] != '\n')
		putchar('\n');
	kh_tls_close_notify(t);
	kh_tls_free(t);
	kh_net_close(s);
	kh_tls_conf_free(conf);
	kh_loop_free(loop);
	free(cap);
	free(cp);
	free(kp);
	free(body);
	free(req);
	return 0;
}
