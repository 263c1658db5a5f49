/* SPDX-License-Identifier: MIT */
/*
 * Fuzz response-head parsing as the agent runs it on the server's bytes,
 * and the Range and mirror-URL parsers on the input's first line. Oracles: no crash or
 * over-read (the prefix is parsed from an exact-size copy); a prefix
 * answers 0 or the whole input's answer; a complete head parses the same
 * from its own bytes alone; documented invariants; an accepted head,
 * formatted again, parses back to the same fields; a range inside the
 * resource, and a syntax verdict that does not depend on the size.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/err.h"
#include "lib/http.h"
#include "tests/fuzz/http_fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define TERMINATED(f) (memchr((f), 0, sizeof(f)) != NULL)
#define NUM_MAX ((int64_t)1 << 53)

static void check(const struct kh_http_resp *r, int rc, const char *buf, size_t len)
{
	if (!TERMINATED(r->content_type) || !TERMINATED(r->etag) || !TERMINATED(r->content_range))
		abort();
	if (rc < 0) {
		if (rc != -EBADMSG && rc != -E2BIG && rc != -ENOTSUP && rc != -EPROTONOSUPPORT)
			abort();
		return;
	}
	if (rc == 0)
		return;
	if ((size_t)rc > len || rc > KH_HTTP_HEAD_MAX || rc < 4 ||
	    memcmp(buf + rc - 4, "\r\n\r\n", 4) != 0 || memchr(buf, 0, (size_t)rc))
		abort();
	if (r->status < 100 || r->status > 599 || (r->minor != 0 && r->minor != 1) ||
	    (r->keep_alive != 0 && r->keep_alive != 1) || r->content_length < -1 ||
	    r->content_length > NUM_MAX || r->retry_after < -1 || r->retry_after > NUM_MAX)
		abort();
}

static int same(const struct kh_http_resp *a, const struct kh_http_resp *b)
{
	return a->status == b->status && a->minor == b->minor && a->keep_alive == b->keep_alive &&
	       a->content_length == b->content_length && a->retry_after == b->retry_after &&
	       !strcmp(a->content_type, b->content_type) && !strcmp(a->etag, b->etag) &&
	       !strcmp(a->content_range, b->content_range);
}

static void add(char *extra, size_t cap, const char *name, const char *value)
{
	size_t n = strlen(extra);

	if (value[0] && n < cap)
		snprintf(extra + n, cap - n, "%s: %s\r\n", name, value);
}

static void round_trip(const struct kh_http_resp *r)
{
	static char out[2 * KH_HTTP_HEAD_MAX];
	char extra[512] = "", num[24];
	const char *ct = r->content_type[0] ? r->content_type : NULL;
	struct kh_http_resp back, want = *r;
	int n, bodyless = r->status < 200 || r->status == 204;

	add(extra, sizeof(extra), "ETag", r->etag);
	add(extra, sizeof(extra), "Content-Range", r->content_range);
	if (r->retry_after >= 0) {
		snprintf(num, sizeof(num), "%lld", (long long)r->retry_after);
		add(extra, sizeof(extra), "Retry-After", num);
	}
	n = kh_http_format_response(out, sizeof(out), r->status, ct,
				    r->content_length < 0 ? 0 : (uint64_t)r->content_length,
				    r->keep_alive, extra);
	if (n <= 0)
		abort();
	want.minor = 1;
	want.content_length = bodyless ? -1 : r->content_length < 0 ? 0 : r->content_length;
	if (kh_http_parse_response(out, (size_t)n, &back) != n || !same(&back, &want))
		abort();
}

/* The first line of the input as a Range value against a few sizes. */
static void fuzz_range(const uint8_t *data, size_t size)
{
	static const uint64_t sizes[] = {0, 1, 2, 1000, (uint64_t)1 << 53, UINT64_MAX};
	char v[256];
	size_t n = 0;
	int syntax_bad = -1;

	while (n < size && n < sizeof(v) - 1 && data[n] != '\n')
		n++;
	memcpy(v, data, n);
	v[n] = 0;
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		uint64_t first = 7, last = 7;
		int rc = kh_http_parse_range(v, sizes[i], &first, &last);

		if (rc != 0 && rc != -ERANGE && rc != -EINVAL)
			abort();
		if (rc == 0 && (first > last || last >= sizes[i]))
			abort();
		if (syntax_bad >= 0 && syntax_bad != (rc == -EINVAL))
			abort();
		syntax_bad = rc == -EINVAL;
	}
}

/*
 * The first line as a mirror URL (a check-in answer's policy.mirrors):
 * accepted ones are short, name a scheme, a host of address characters
 * that fits, a port, and a path inside the URL that starts with '/' or is
 * empty and never climbs ("/..").
 */
static void fuzz_mirror(const uint8_t *data, size_t size)
{
	char v[300], host[64];
	const char *path = NULL;
	uint16_t port = 0;
	size_t n = 0;
	int tls = -1;

	while (n < size && n < sizeof(v) - 1 && data[n] != '\n')
		n++;
	memcpy(v, data, n);
	v[n] = 0;
	if (kh_http_parse_mirror(v, &tls, host, sizeof(host), &port, &path) != 0)
		return;
	if (strlen(v) > KH_HTTP_MIRROR_URL_MAX || (tls != 0 && tls != 1) || port == 0 || !host[0] ||
	    strlen(host) >= sizeof(host) ||
	    strspn(host, "0123456789abcdefABCDEF.:") != strlen(host) || !path || path < v ||
	    path > v + strlen(v) || (path[0] && path[0] != '/') || strstr(path, "/../") ||
	    strchr(path, '?') || strchr(path, ' ') || strchr(path, '"'))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	(void)KH_HTTP_FUZZ_CONSISTENT(struct kh_http_resp, kh_http_parse_response, data, size);
	fuzz_range(data, size);
	fuzz_mirror(data, size);
	return 0;
}
