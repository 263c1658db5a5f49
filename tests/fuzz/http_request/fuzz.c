/* SPDX-License-Identifier: MIT */
/*
 * Fuzz request-head parsing as khien-server runs it on bytes from the
 * network. Oracles: no crash or over-read (the prefix is parsed from an
 * exact-size copy); a prefix answers 0 or the whole input's answer; a
 * complete head parses the same from its own bytes alone; results respect
 * the documented invariants; and an accepted head, formatted again with
 * kh_http_format_request, parses back to the same fields.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/err.h"
#include "lib/http.h"
#include "tests/fuzz/http_fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define TERMINATED(f) (memchr((f), 0, sizeof(f)) != NULL)

static void check(const struct kh_http_req *r, int rc, const char *buf, size_t len)
{
	if (!TERMINATED(r->method) || !TERMINATED(r->path) || !TERMINATED(r->query) ||
	    !TERMINATED(r->host) || !TERMINATED(r->authorization) || !TERMINATED(r->content_type) ||
	    !TERMINATED(r->if_none_match) || !TERMINATED(r->range) || !TERMINATED(r->if_range) ||
	    !TERMINATED(r->accept_language))
		abort();
	if (rc < 0) {
		if (rc != -EBADMSG && rc != -ENAMETOOLONG && rc != -E2BIG && rc != -ENOTSUP &&
		    rc != -EPROTONOSUPPORT)
			abort();
		return;
	}
	if (rc == 0)
		return;
	if ((size_t)rc > len || rc > KH_HTTP_HEAD_MAX || rc < 4 ||
	    memcmp(buf + rc - 4, "\r\n\r\n", 4) != 0 || memchr(buf, 0, (size_t)rc))
		abort();
	if (r->path[0] != '/' || !r->method[0] || (r->minor != 0 && r->minor != 1) ||
	    (r->keep_alive != 0 && r->keep_alive != 1) || r->content_length < -1 ||
	    r->content_length > ((int64_t)1 << 53))
		abort();
	if (strlen(r->path) + (r->query[0] ? 1 + strlen(r->query) : 0) > KH_HTTP_TARGET_MAX)
		abort();
	if (r->minor == 1 && !r->host[0])
		abort();
}

static int same(const struct kh_http_req *a, const struct kh_http_req *b)
{
	return !strcmp(a->method, b->method) && !strcmp(a->path, b->path) &&
	       !strcmp(a->query, b->query) && a->minor == b->minor &&
	       a->keep_alive == b->keep_alive && a->content_length == b->content_length &&
	       !strcmp(a->host, b->host) && !strcmp(a->authorization, b->authorization) &&
	       !strcmp(a->content_type, b->content_type) &&
	       !strcmp(a->if_none_match, b->if_none_match) && !strcmp(a->range, b->range) &&
	       !strcmp(a->if_range, b->if_range) && !strcmp(a->accept_language, b->accept_language);
}

static void add(char *extra, size_t cap, const char *name, const char *value)
{
	size_t n = strlen(extra);

	if (value[0] && n < cap)
		snprintf(extra + n, cap - n, "%s: %s\r\n", name, value);
}

/* Format the parsed request again and parse that: the same fields back. */
static void round_trip(const struct kh_http_req *r)
{
	static char out[2 * KH_HTTP_HEAD_MAX];
	char target[2 * KH_HTTP_TARGET_MAX + 2], extra[1024] = "";
	const char *ct = r->content_type[0] ? r->content_type : NULL;
	struct kh_http_req back, want = *r;
	int n;

	if (!r->host[0])
		return;
	snprintf(target, sizeof(target), "%s%s%s", r->path, r->query[0] ? "?" : "", r->query);
	add(extra, sizeof(extra), "Authorization", r->authorization);
	add(extra, sizeof(extra), "If-None-Match", r->if_none_match);
	add(extra, sizeof(extra), "Range", r->range);
	add(extra, sizeof(extra), "If-Range", r->if_range);
	add(extra, sizeof(extra), "Accept-Language", r->accept_language);
	if (!r->keep_alive)
		add(extra, sizeof(extra), "Connection", "close");
	n = kh_http_format_request(out, sizeof(out), r->method, target, r->host, ct,
				   r->content_length < 0 ? 0 : (uint64_t)r->content_length, extra);
	if (n <= 0)
		abort(); /* everything the parser accepts must be writable */
	want.minor = 1;
	want.content_length = ct ? (r->content_length < 0 ? 0 : r->content_length) : -1;
	if (kh_http_parse_request(out, (size_t)n, &back) != n || !same(&back, &want))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	(void)KH_HTTP_FUZZ_CONSISTENT(struct kh_http_req, kh_http_parse_request, data, size);
	return 0;
}
