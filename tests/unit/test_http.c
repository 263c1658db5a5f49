/* SPDX-License-Identifier: MIT */
/*
 * HTTP/1.1 heads: a table of requests and responses (valid ones and every
 * rejection rule), each also fed byte by byte from exact-size heap copies so
 * an over-read trips ASan and an early or different answer is caught;
 * limits, pipelining, kept fields, formatter round trips and refusals, and
 * the single byte range.
 */
#include "kt.h"
#include "lib/compiler.h"
#include "lib/err.h"
#include "lib/http.h"

#define HEAD 1 /* expected result: the whole string is the head */

struct tcase {
	const char *in;
	size_t len; /* some hold a NUL */
	int want;
};
#define T(s, want)                     \
	{                              \
		s, sizeof(s) - 1, want \
	}

static const struct tcase req_cases[] = {
	/* valid */
	T("GET / HTTP/1.1\r\nHost: a\r\n\r\n", HEAD),
	T("POST /v1/checkin HTTP/1.1\r\nHost: khien.isp.example:8443\r\n"
	  "Content-Type: application/json\r\nContent-Length: 17\r\n\r\n",
	  HEAD),
	T("GET /v1/policy?device=hw-1&v=3 HTTP/1.1\r\nHost: x\r\nRange: bytes=0-1023\r\n"
	  "If-Range: \"abc\"\r\nIf-None-Match: \"e1\", \"e2\"\r\n\r\n",
	  HEAD),
	T("GET / HTTP/1.0\r\n\r\n", HEAD),
	T("GET /a HTTP/1.1\r\nhOsT:\t a \t\r\nX-Empty:\r\nX-Utf8: caf\xc3\xa9\r\n\r\n", HEAD),
	T("GET / HTTP/1.1\r\nHost: [::1]:80\r\nConnection: , Keep-Alive ,, CLOSE\r\n\r\n", HEAD),
	T("PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: 9007199254740992\r\n\r\n", HEAD),
	T("PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: 000\r\n\r\n", HEAD),
	T("GET /%7e/a?b?c#d HTTP/1.1\r\nHost: a\r\nRetry-After: x y\r\n\r\n", HEAD),
	/* incomplete */
	T("", 0),
	T("GET / HTTP/1.1\r\nHost: a\r\n", 0),
	T("GET / HTTP/1.1\r\nHost: a\r\n\r", 0),
	T("GET / HTTP/1.", 0),
	/* 400: line endings, white space, version syntax */
	T("GET / HTTP/1.1\nHost: a\r\n\r\n", -EBADMSG),
	T("GET / HTTP/1.1\r\nHost: a\n\r\n", -EBADMSG),
	T("GET / HTTP/1.1\r\nHost: a\r\n\n", -EBADMSG),
	T("GET / HTTP/1.1\rHost: a\r\n\r\n", -EBADMSG),
	T("GET / HTTP/1.1\r\nHost: a\r\n\rx", -EBADMSG),
	T("\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", -EBADMSG),
	T("GET  / HTTP/1.1\r\nHost: a\r\n\r\n", -EBADMSG),
	T("GET /  HTTP/1.1\r\nHost: a\r\n\r\n", -EBADMSG),
	T("GET / HTTP/1.1 \r\nHost: a\r\n\r\n", -EBADMSG),
	T("GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n", -EBADMSG),
	T(" GET / HTTP/1.1\r\nHost: a\r\n\r\n", -EBADMSG),
	T("GET / http/1.1\r\nHost: a\r\n\r\n", -EBADMSG),
	T("GET / HTTP/1.10\r\nHost: a\r\n\r\n", -EBADMSG),
	T("GET / HTTP/1\r\nHost: a\r\n\r\n", -EBADMSG),
	T("GET / HTTP/11\r\nHost: a\r\n\r\n", -EBADMSG),
	T("GE(T / HTTP/1.1\r\nHost: a\r\n\r\n", -EBADMSG),
	T("GET /a\x7f HTTP/1.1\r\nHost: a\r\n\r\n", -EBADMSG),
	T("GET /caf\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n", -EBADMSG),
	/* 400: field syntax */
	T("GET / HTTP/1.1\r\nHost : a\r\n\r\n", -EBADMSG),
	T("GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n c\r\n\r\n", -EBADMSG),
	T("GET / HTTP/1.1\r\nHost: a\r\n\tX-A: b\r\n\r\n", -EBADMSG),
	T("GET / HTTP/1.1\r\nHost: a\r\n: b\r\n\r\n", -EBADMSG),
	T("GET / HTTP/1.1\r\nHost: a\r\nX-A\r\n\r\n", -EBADMSG),
	T("GET / HTTP/1.1\r\nHost: a\r\nX(A): b\r\n\r\n", -EBADMSG),
	T("GET / HTTP/1.1\r\nHost: a\r\nX-A: b\x01\r\n\r\n", -EBADMSG),
	T("GET / HTTP/1.1\r\nHost: a\r\nX-A: b\x7f\r\n\r\n", -EBADMSG),
	T("GET / HTTP/1.1\r\nHost: a\r\nX-A: b\rc\r\n\r\n", -EBADMSG),
	/* 400: kept fields */
	T("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1a\r\n\r\n", -EBADMSG),
	T("POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n", -EBADMSG),
	T("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", -EBADMSG),
	T("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +1\r\n\r\n", -EBADMSG),
	T("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1, 1\r\n\r\n", -EBADMSG),
	T("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1 1\r\n\r\n", -EBADMSG),
	T("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 9007199254740993\r\n\r\n", -EBADMSG),
	T("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999999\r\n\r\n",
	  -EBADMSG),
	T("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\ncontent-length: 5\r\n\r\n", -EBADMSG),
	T("GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", -EBADMSG),
	T("GET / HTTP/1.1\r\nHost: a\r\nAuthorization: x\r\nAuthorization: x\r\n\r\n", -EBADMSG),
	T("GET / HTTP/1.1\r\n\r\n", -EBADMSG),
	T("GET / HTTP/1.1\r\nX-Host: a\r\n\r\n", -EBADMSG),
	T("GET / HTTP/1.1\r\nHost: a b\r\n\r\n", -EBADMSG),
	T("GET / HTTP/1.1\r\nHost:\r\n\r\n", -EBADMSG),
	T("GET / HTTP/1.0\r\nHost:  \r\n\r\n", -EBADMSG),
	T("GET / HTTP/1.1\r\nHost: evil/x\r\n\r\n", -EBADMSG),
	T("GET / HTTP/1.1\r\nHost: u@a\r\n\r\n", -EBADMSG),
	T("GET / HTTP/1.1\r\nHost: a\r\nConnection: close x\r\n\r\n", -EBADMSG),
	T("GET / HTTP/1.1\r\nHost: a\r\nConnection: \"close\"\r\n\r\n", -EBADMSG),
	/* NUL anywhere */
	T("G\0T / HTTP/1.1\r\nHost: a\r\n\r\n", -EBADMSG),
	T("GET /\0 HTTP/1.1\r\nHost: a\r\n\r\n", -EBADMSG),
	T("GET / HTTP/1.1\0\r\nHost: a\r\n\r\n", -EBADMSG),
	T("GET / HTTP/1.1\r\nHo\0st: a\r\n\r\n", -EBADMSG),
	T("GET / HTTP/1.1\r\nHost: a\0\r\n\r\n", -EBADMSG),
	T("GET / HTTP/1.1\r\nHost: a\r\n\0\r\n", -EBADMSG),
	/* 501: Transfer-Encoding, method too long, target forms we do not serve */
	T("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n", -ENOTSUP),
	T("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\ntransfer-ENCODING: x\r\n\r\n",
	  -ENOTSUP),
	T("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\r\n\r\n", -ENOTSUP),
	T("PROPFIND / HTTP/1.1\r\nHost: a\r\n\r\n", -ENOTSUP),
	T("CONNECT a.example:443 HTTP/1.1\r\nHost: a\r\n\r\n", -ENOTSUP),
	T("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", -ENOTSUP),
	T("GET http://a.example/ HTTP/1.1\r\nHost: a\r\n\r\n", -ENOTSUP),
	/* 505 */
	T("GET / HTTP/2.0\r\nHost: a\r\n\r\n", -EPROTONOSUPPORT),
	T("GET / HTTP/1.2\r\nHost: a\r\n\r\n", -EPROTONOSUPPORT),
	T("GET / HTTP/0.9\r\n\r\n", -EPROTONOSUPPORT),
	/* 431: kept values too long for their fields */
	T("POST / HTTP/1.1\r\nHost: a\r\nContent-Type: "
	  "0123456789012345678901234567890123456789012345678901234567890123\r\n\r\n",
	  -E2BIG),
};

static const struct tcase resp_cases[] = {
	T("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n", HEAD),
	T("HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 0-9/100\r\nETag: \"v1\"\r\n"
	  "Content-Length: 10\r\n\r\n",
	  HEAD),
	T("HTTP/1.1 304 Not Modified\r\nETag: \"v1\"\r\n\r\n", HEAD),
	T("HTTP/1.1 503 Service Unavailable\r\nRetry-After: 120\r\nConnection: close\r\n\r\n",
	  HEAD),
	T("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n\r\n", HEAD),
	T("HTTP/1.1 204 \r\n\r\n", HEAD),
	T("HTTP/1.1 204\r\n\r\n", HEAD),
	T("HTTP/1.1 404 Not\tFound \xc3\xa9\r\nServer: x\r\n\r\n", HEAD),
	T("HTTP/1.1 599 \r\n\r\n", HEAD),
	T("HTTP/1.1 200 OK\r\n", 0),
	T("HTTP/1.1 200 OK\r\n\r", 0),
	T("HTTP/1.1 20", 0),
	T("HTTP/1.1 20 OK\r\n\r\n", -EBADMSG),
	T("HTTP/1.1 2000 OK\r\n\r\n", -EBADMSG),
	T("HTTP/1.1 099 OK\r\n\r\n", -EBADMSG),
	T("HTTP/1.1 600 OK\r\n\r\n", -EBADMSG),
	T("HTTP/1.1  200 OK\r\n\r\n", -EBADMSG),
	T("HTTP/1.1 200 OK\n\r\n", -EBADMSG),
	T("HTTP/1.1 200 O\x01K\r\n\r\n", -EBADMSG),
	T("HTTP/1.1 200 O\0K\r\n\r\n", -EBADMSG),
	T("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n", -EBADMSG),
	T("HTTP/1.1 200 OK\r\nETag: \"a\"\r\nEtag: \"a\"\r\n\r\n", -EBADMSG),
	T("HTTP/1.1 503 x\r\nRetry-After: Wed, 21 Oct 2015 07:28:00 GMT\r\n\r\n", -EBADMSG),
	T("HTTP/1.1 200 OK\r\n Folded: x\r\n\r\n", -EBADMSG),
	T("http/1.1 200 OK\r\n\r\n", -EBADMSG),
	T("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", -ENOTSUP),
	T("HTTP/2.0 200 OK\r\n\r\n", -EPROTONOSUPPORT),
	T("HTTP/1.1 200 OK\r\nETag: "
	  "\"01234567890123456789012345678901234567890123456789012345678901234567890123456789"
	  "01234567890123\"\r\n\r\n", /* 96 bytes, etag holds 95 */
	  -E2BIG),
};

/* The table's expected result for a string of n bytes. */
static int want_of(const struct tcase *c, size_t n)
{
	return c->want == HEAD ? (int)n : c->want;
}

typedef int (*parse_fn)(const char *, size_t, void *);

static int parse_req(const char *b, size_t n, void *r)
{
	return kh_http_parse_request(b, n, r);
}

static int parse_resp(const char *b, size_t n, void *r)
{
	return kh_http_parse_response(b, n, r);
}

/* Parse an exact-size heap copy (ASan catches any read past n). */
static int parse_copy(parse_fn fn, const char *in, size_t n, void *r)
{
	char *copy = malloc(n ? n : 1);
	int rc;

	memcpy(copy, in, n);
	rc = fn(copy, n, r);
	free(copy);
	return rc;
}

/*
 * Whole input, then every prefix: a prefix answers 0 until the first prefix
 * that answers anything else, and from there on it is the whole's answer.
 */
static int check_incremental(parse_fn fn, const char *in, size_t n, void *r)
{
	int whole = parse_copy(fn, in, n, r), decided = 0;

	for (size_t k = 0; k <= n; k++) {
		int rc = parse_copy(fn, in, k, r);
		if (rc == 0 && !decided)
			continue;
		if (rc != whole) {
			printf("#   prefix %zu of %zu: got %d, whole %d\n", k, n, rc, whole);
			return 0;
		}
		decided = 1;
	}
	return 1;
}

static void run_table(const struct tcase *cases, size_t ncases, parse_fn fn, void *r)
{
	for (size_t i = 0; i < ncases; i++) {
		size_t n = cases[i].len;
		int rc = parse_copy(fn, cases[i].in, n, r);

		if (rc != want_of(&cases[i], n)) {
			printf("#   case %zu \"%.40s\": got %d, want %d\n", i, cases[i].in, rc,
			       want_of(&cases[i], n));
			kt_case_failed = 1;
		}
		if (!check_incremental(fn, cases[i].in, n, r)) {
			printf("#   case %zu \"%.40s\": incremental mismatch\n", i, cases[i].in);
			kt_case_failed = 1;
		}
	}
}

static void test_request_table(void)
{
	struct kh_http_req r;

	run_table(req_cases, KH_ARRAY_SIZE(req_cases), parse_req, &r);
}

static void test_response_table(void)
{
	struct kh_http_resp r;

	run_table(resp_cases, KH_ARRAY_SIZE(resp_cases), parse_resp, &r);
}

static void test_request_fields(void)
{
	static const char post[] = "POST /v1/checkin?x=1&y HTTP/1.1\r\n"
				   "Host: khien.isp.example:8443\r\n"
				   "Authorization: Bearer abc.def\r\n"
				   "Content-Type:   application/json  \r\n"
				   "Content-Length: 17\r\n"
				   "X-Other: ignored\r\n\r\n"
				   "{\"ok\":true,\"n\":1}";
	static const char get[] = "GET /v1/policy HTTP/1.0\r\n"
				  "Range: bytes=100-\r\n"
				  "If-Range: \"v7\"\r\n"
				  "If-None-Match: W/\"v6\"\r\n"
				  "Connection: keep-alive\r\n\r\n";
	struct kh_http_req r;
	int n = kh_http_parse_request(post, sizeof(post) - 1, &r);

	KT_EQ(n, sizeof(post) - 1 - 17);
	KT_STREQ(r.method, "POST");
	KT_STREQ(r.path, "/v1/checkin");
	KT_STREQ(r.query, "x=1&y");
	KT_EQ(r.minor, 1);
	KT_EQ(r.keep_alive, 1);
	KT_EQ(r.content_length, 17);
	KT_STREQ(r.host, "khien.isp.example:8443");
	KT_STREQ(r.authorization, "Bearer abc.def");
	KT_STREQ(r.content_type, "application/json");
	KT_STREQ(r.range, "");
	KT_STREQ(r.if_none_match, "");

	KT_EQ(kh_http_parse_request(get, sizeof(get) - 1, &r), sizeof(get) - 1);
	KT_STREQ(r.method, "GET");
	KT_STREQ(r.path, "/v1/policy");
	KT_STREQ(r.query, "");
	KT_EQ(r.minor, 0);
	KT_EQ(r.keep_alive, 1);
	KT_EQ(r.content_length, -1);
	KT_STREQ(r.host, "");
	KT_STREQ(r.range, "bytes=100-");
	KT_STREQ(r.if_range, "\"v7\"");
	KT_STREQ(r.if_none_match, "W/\"v6\"");
}

static void test_keep_alive(void)
{
	static const struct {
		const char *in;
		int keep;
	} cases[] = {
		{"GET / HTTP/1.1\r\nHost: a\r\n\r\n", 1},
		{"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", 0},
		{"GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, CLOSE\r\n\r\n", 0},
		{"GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive\r\n\r\n", 1},
		{"GET / HTTP/1.1\r\nHost: a\r\nConnection: closed\r\n\r\n", 1},
		{"GET / HTTP/1.0\r\n\r\n", 0},
		{"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", 1},
		{"GET / HTTP/1.0\r\nConnection: keep-alive\r\nConnection: close\r\n\r\n", 0},
	};
	struct kh_http_req r;

	for (size_t i = 0; i < KH_ARRAY_SIZE(cases); i++) {
		KT_EQ(kh_http_parse_request(cases[i].in, strlen(cases[i].in), &r),
		      strlen(cases[i].in));
		KT_EQ(r.keep_alive, cases[i].keep);
	}
}

static void test_response_fields(void)
{
	static const char ok[] = "HTTP/1.1 206 Partial Content\r\n"
				 "Content-Type: application/octet-stream\r\n"
				 "Content-Range: bytes 0-9/100\r\n"
				 "ETag: \"p42\"\r\n"
				 "Content-Length: 10\r\n\r\n"
				 "0123456789";
	static const char busy[] = "HTTP/1.0 503 Service Unavailable\r\nRetry-After: 30\r\n\r\n";
	struct kh_http_resp r;

	KT_EQ(kh_http_parse_response(ok, sizeof(ok) - 1, &r), sizeof(ok) - 1 - 10);
	KT_EQ(r.status, 206);
	KT_EQ(r.minor, 1);
	KT_EQ(r.keep_alive, 1);
	KT_EQ(r.content_length, 10);
	KT_STREQ(r.content_type, "application/octet-stream");
	KT_STREQ(r.content_range, "bytes 0-9/100");
	KT_STREQ(r.etag, "\"p42\"");
	KT_EQ(r.retry_after, -1);

	KT_EQ(kh_http_parse_response(busy, sizeof(busy) - 1, &r), sizeof(busy) - 1);
	KT_EQ(r.status, 503);
	KT_EQ(r.minor, 0);
	KT_EQ(r.keep_alive, 0);
	KT_EQ(r.content_length, -1);
	KT_EQ(r.retry_after, 30);
	KT_STREQ(r.etag, "");
}

static void test_pipelined(void)
{
	static const char two[] = "POST /v1/events HTTP/1.1\r\nHost: a\r\nContent-Type: "
				  "application/json\r\nContent-Length: 2\r\n\r\n{}"
				  "GET /v1/policy HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";
	struct kh_http_req r;
	size_t len = sizeof(two) - 1;
	int n1 = kh_http_parse_request(two, len, &r), n2;

	KT_CHECK(n1 > 0);
	KT_STREQ(r.path, "/v1/events");
	KT_EQ(r.content_length, 2);
	KT_CHECK(memcmp(two + n1, "{}", 2) == 0);
	n2 = kh_http_parse_request(two + n1 + 2, len - (size_t)n1 - 2, &r);
	KT_EQ(n2, len - (size_t)n1 - 2);
	KT_STREQ(r.method, "GET");
	KT_STREQ(r.path, "/v1/policy");
	KT_EQ(r.keep_alive, 0);
	KT_EQ(r.content_length, -1);
	/* a partial second request needs more, the first head is unaffected */
	KT_EQ(kh_http_parse_request(two, len - 5, &r), n1);
	KT_EQ(kh_http_parse_request(two + n1 + 2, len - (size_t)n1 - 7, &r), 0);
}

/* "GET /aaa... HTTP/1.1" with a target of n bytes, plus Host. */
static size_t long_target(char *buf, size_t n)
{
	size_t k = 0;

	memcpy(buf, "GET /", 5);
	k = 5;
	memset(buf + k, 'a', n - 1);
	k += n - 1;
	memcpy(buf + k, " HTTP/1.1\r\nHost: a\r\n\r\n", 22);
	return k + 22;
}

static void test_target_limit(void)
{
	char buf[KH_HTTP_TARGET_MAX + 64];
	struct kh_http_req r;
	size_t n = long_target(buf, KH_HTTP_TARGET_MAX);

	KT_EQ(kh_http_parse_request(buf, n, &r), n);
	KT_EQ(strlen(r.path), KH_HTTP_TARGET_MAX);
	n = long_target(buf, KH_HTTP_TARGET_MAX + 1);
	KT_EQ(kh_http_parse_request(buf, n, &r), -ENAMETOOLONG);
	KT_CHECK(check_incremental(parse_req, buf, n, &r));
	/* known as soon as the target is one byte too long, head incomplete */
	KT_EQ(kh_http_parse_request(buf, 5 + KH_HTTP_TARGET_MAX, &r), -ENAMETOOLONG);
	KT_EQ(kh_http_parse_request(buf, 4 + KH_HTTP_TARGET_MAX, &r), 0);
	/* a query counts toward the target and fills query */
	n = long_target(buf, KH_HTTP_TARGET_MAX);
	buf[5] = '?';
	KT_EQ(kh_http_parse_request(buf, n, &r), n);
	KT_STREQ(r.path, "/");
	KT_EQ(strlen(r.query), KH_HTTP_TARGET_MAX - 2);
}

/* Head with nfields "X-N: v" lines of vlen value bytes each. */
static size_t many_fields(char *buf, size_t cap, int nfields, size_t vlen, int terminate)
{
	size_t k = (size_t)snprintf(buf, cap, "GET / HTTP/1.1\r\nHost: a\r\n");

	for (int i = 0; i < nfields && k + vlen + 16 < cap; i++) {
		k += (size_t)snprintf(buf + k, cap - k, "X-%d: ", i);
		memset(buf + k, 'v', vlen);
		k += vlen;
		memcpy(buf + k, "\r\n", 2);
		k += 2;
	}
	if (terminate) {
		memcpy(buf + k, "\r\n", 2);
		k += 2;
	}
	return k;
}

static void test_header_limits(void)
{
	static char buf[3 * KH_HTTP_HEAD_MAX];
	struct kh_http_req r;
	size_t n;

	/* Host plus 31 others is 32 lines; one more is 431 */
	n = many_fields(buf, sizeof(buf), KH_HTTP_MAX_HEADERS - 1, 1, 1);
	KT_EQ(kh_http_parse_request(buf, n, &r), n);
	n = many_fields(buf, sizeof(buf), KH_HTTP_MAX_HEADERS, 1, 1);
	KT_EQ(kh_http_parse_request(buf, n, &r), -E2BIG);
	KT_CHECK(check_incremental(parse_req, buf, n, &r));

	/* a head of exactly KH_HTTP_HEAD_MAX bytes is fine */
	n = many_fields(buf, sizeof(buf), 20, 300, 1);
	KT_CHECK(n < KH_HTTP_HEAD_MAX);
	{
		/* grow the last value so the head totals KH_HTTP_HEAD_MAX */
		size_t grow = KH_HTTP_HEAD_MAX - n;
		memmove(buf + n - 4 + grow, buf + n - 4, 4);
		memset(buf + n - 4, 'w', grow);
		n += grow;
	}
	KT_EQ(n, KH_HTTP_HEAD_MAX);
	KT_EQ(kh_http_parse_request(buf, n, &r), KH_HTTP_HEAD_MAX);
	/* one byte more and it is too large, whether complete or not */
	memmove(buf + n - 3, buf + n - 4, 4);
	buf[n - 4] = 'w';
	n++;
	KT_EQ(kh_http_parse_request(buf, n, &r), -E2BIG);
	KT_EQ(kh_http_parse_request(buf, n - 1, &r), -E2BIG);
	KT_EQ(kh_http_parse_request(buf, n - 2, &r), 0);
	KT_CHECK(check_incremental(parse_req, buf, n, &r));

	/* a stream that never ends its head */
	n = many_fields(buf, sizeof(buf), 30, 500, 0);
	KT_CHECK(n > KH_HTTP_HEAD_MAX);
	KT_EQ(kh_http_parse_request(buf, n, &r), -E2BIG);
	KT_EQ(kh_http_parse_request(buf, KH_HTTP_HEAD_MAX - 1, &r), 0);

	/* kept values: exactly fitting and one byte over */
	n = (size_t)snprintf(buf, sizeof(buf),
			     "GET / HTTP/1.1\r\nHost: a\r\nAuthorization: %0*d\r\n\r\n",
			     KH_HTTP_VALUE_MAX, 0);
	KT_EQ(kh_http_parse_request(buf, n, &r), n);
	KT_EQ(strlen(r.authorization), KH_HTTP_VALUE_MAX);
	n = (size_t)snprintf(buf, sizeof(buf),
			     "GET / HTTP/1.1\r\nHost: a\r\nAuthorization: %0*d\r\n\r\n",
			     KH_HTTP_VALUE_MAX + 1, 0);
	KT_EQ(kh_http_parse_request(buf, n, &r), -E2BIG);
	n = (size_t)snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\nHost: %0*d\r\n\r\n",
			     KH_HTTP_VALUE_MAX + 1, 0);
	KT_EQ(kh_http_parse_request(buf, n, &r), -E2BIG);
	/* trailing white space does not count toward the field */
	n = (size_t)snprintf(buf, sizeof(buf),
			     "GET / HTTP/1.1\r\nHost: a\r\nRange: %0*d      \r\n\r\n",
			     (int)sizeof(r.range) - 1, 0);
	KT_EQ(kh_http_parse_request(buf, n, &r), n);
	KT_EQ(strlen(r.range), sizeof(r.range) - 1);
	/* an unknown field may be long, as long as the head fits */
	n = (size_t)snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\nHost: a\r\nX-Long: %0*d\r\n\r\n",
			     4000, 0);
	KT_EQ(kh_http_parse_request(buf, n, &r), n);
	/* a Cookie too long to keep is dropped, not an error; one that fits is kept */
	n = (size_t)snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\nHost: a\r\nCookie: %0*d\r\n\r\n",
			     4000, 0);
	KT_EQ(kh_http_parse_request(buf, n, &r), n);
	KT_STREQ(r.cookie, "");
	n = (size_t)snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\nHost: a\r\nCookie: k=v\r\n\r\n");
	KT_EQ(kh_http_parse_request(buf, n, &r), n);
	KT_STREQ(r.cookie, "k=v");
	/* Origin and Referer: the authority of the URL, "?" for anything else */
	n = (size_t)snprintf(buf, sizeof(buf),
			     "GET / HTTP/1.1\r\nHost: a\r\nOrigin: http://r.lan:8080\r\n"
			     "Referer: https://x.example/p?q#f\r\n\r\n");
	KT_EQ(kh_http_parse_request(buf, n, &r), n);
	KT_STREQ(r.origin, "r.lan:8080");
	KT_STREQ(r.referer, "x.example");
	n = (size_t)snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\nHost: a\r\nOrigin: null\r\n\r\n");
	KT_EQ(kh_http_parse_request(buf, n, &r), n);
	KT_STREQ(r.origin, "?");
}

static void test_response_limits(void)
{
	static char buf[2 * KH_HTTP_HEAD_MAX];
	struct kh_http_resp r;
	size_t n;

	n = (size_t)snprintf(buf, sizeof(buf), "HTTP/1.1 200 OK\r\nContent-Range: %0*d\r\n\r\n",
			     (int)sizeof(r.content_range) - 1, 0);
	KT_EQ(kh_http_parse_response(buf, n, &r), n);
	n = (size_t)snprintf(buf, sizeof(buf), "HTTP/1.1 200 OK\r\nContent-Range: %0*d\r\n\r\n",
			     (int)sizeof(r.content_range), 0);
	KT_EQ(kh_http_parse_response(buf, n, &r), -E2BIG);
	n = (size_t)snprintf(buf, sizeof(buf), "HTTP/1.1 200 OK\r\n");
	for (int i = 0; i < KH_HTTP_MAX_HEADERS + 1; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "X-%d: y\r\n", i);
	memcpy(buf + n, "\r\n", 2);
	KT_EQ(kh_http_parse_response(buf, n + 2, &r), -E2BIG);
	n = (size_t)snprintf(buf, sizeof(buf), "HTTP/1.1 200 OK\r\nX: %0*d", KH_HTTP_HEAD_MAX, 0);
	KT_EQ(kh_http_parse_response(buf, n, &r), -E2BIG);
	KT_CHECK(check_incremental(parse_resp, buf, n, &r));
}

static void test_bad_args(void)
{
	struct kh_http_req q;
	struct kh_http_resp p;

	KT_EQ(kh_http_parse_request("GET", 3, NULL), -EINVAL);
	KT_EQ(kh_http_parse_request(NULL, 0, &q), 0);
	KT_EQ(kh_http_parse_request(NULL, 4, &q), -EINVAL);
	KT_EQ(kh_http_parse_response(NULL, 4, &p), -EINVAL);
	KT_EQ(q.content_length, -1);
	KT_EQ(p.retry_after, -1);
}

static void test_error_status(void)
{
	KT_EQ(kh_http_error_status(-EBADMSG), 400);
	KT_EQ(kh_http_error_status(-ENAMETOOLONG), 414);
	KT_EQ(kh_http_error_status(-E2BIG), 431);
	KT_EQ(kh_http_error_status(-ENOTSUP), 501);
	KT_EQ(kh_http_error_status(-EPROTONOSUPPORT), 505);
	KT_EQ(kh_http_error_status(-ERANGE), 416);
	KT_EQ(kh_http_error_status(-ENOMEM), 500);
	/* every parser error in the tables maps to a 4xx/5xx the server can send */
	for (size_t i = 0; i < KH_ARRAY_SIZE(req_cases); i++) {
		int st = req_cases[i].want < 0 ? kh_http_error_status(req_cases[i].want) : 400;
		KT_CHECK(st == 400 || st == 414 || st == 431 || st == 501 || st == 505);
	}
}

static void test_reason(void)
{
	static const int codes[] = {200, 204, 206, 304, 400, 401, 403, 404, 405, 408, 409,
				    411, 413, 414, 416, 429, 431, 500, 501, 503, 505};

	for (size_t i = 0; i < KH_ARRAY_SIZE(codes); i++)
		KT_CHECK(strcmp(kh_http_reason(codes[i]), "Unknown") != 0);
	KT_STREQ(kh_http_reason(200), "OK");
	KT_STREQ(kh_http_reason(404), "Not Found");
	KT_STREQ(kh_http_reason(431), "Request Header Fields Too Large");
	KT_STREQ(kh_http_reason(299), "Unknown");
	KT_STREQ(kh_http_reason(-1), "Unknown");
}

/* The pages' language choice and escaping, shared by khiend's pages and the dashboard. */
static void test_language_and_entities(void)
{
	KT_EQ(kh_http_prefers_english(""), 0);
	KT_EQ(kh_http_prefers_english("en-US,en;q=0.9"), 1);
	KT_EQ(kh_http_prefers_english("vi-VN,vi;q=0.9,en;q=0.8"), 0);
	KT_EQ(kh_http_prefers_english("fr, EN;q=0.5, vi;q=0.4"), 1);
	KT_EQ(kh_http_prefers_english("en;q=0, vi"), 0);
	KT_EQ(kh_http_prefers_english("en;q=0.0"), 0);
	KT_EQ(kh_http_prefers_english("en;q=0.3"), 1);
	KT_EQ(kh_http_prefers_english("enx, vie"), 0);
	KT_STREQ(kh_html_entity('<'), "&lt;");
	KT_STREQ(kh_html_entity('\''), "&#39;");
	KT_CHECK(kh_html_entity('a') == NULL);
}

static void test_format_response(void)
{
	char buf[512];
	struct kh_http_resp r;
	int n;

	n = kh_http_format_response(buf, sizeof(buf), 200, "application/json", 1234, 1, NULL);
	KT_EQ(n, strlen(buf));
	KT_STREQ(buf, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
		      "1234\r\nConnection: keep-alive\r\n\r\n");
	KT_EQ(kh_http_parse_response(buf, (size_t)n, &r), n);
	KT_EQ(r.status, 200);
	KT_EQ(r.content_length, 1234);
	KT_EQ(r.keep_alive, 1);
	KT_STREQ(r.content_type, "application/json");

	n = kh_http_format_response(buf, sizeof(buf), 206, "application/octet-stream", 10, 0,
				    "Content-Range: bytes 10-19/100\r\nETag: \"v3\"\r\n");
	KT_CHECK(n > 0);
	KT_EQ(kh_http_parse_response(buf, (size_t)n, &r), n);
	KT_EQ(r.status, 206);
	KT_EQ(r.keep_alive, 0);
	KT_EQ(r.content_length, 10);
	KT_STREQ(r.content_range, "bytes 10-19/100");
	KT_STREQ(r.etag, "\"v3\"");

	n = kh_http_format_response(buf, sizeof(buf), 503, NULL, 0, 0, "Retry-After: 60\r\n");
	KT_EQ(kh_http_parse_response(buf, (size_t)n, &r), n);
	KT_EQ(r.retry_after, 60);
	KT_EQ(r.content_length, 0);
	KT_STREQ(r.content_type, "");

	/* no Content-Length where RFC 9110 forbids it */
	n = kh_http_format_response(buf, sizeof(buf), 204, NULL, 5, 1, NULL);
	KT_EQ(kh_http_parse_response(buf, (size_t)n, &r), n);
	KT_EQ(r.content_length, -1);
	n = kh_http_format_response(buf, sizeof(buf), 100, NULL, 5, 1, NULL);
	KT_EQ(kh_http_parse_response(buf, (size_t)n, &r), n);
	KT_EQ(r.content_length, -1);
	/* 304 keeps the caller's Content-Length (that of the full representation) */
	n = kh_http_format_response(buf, sizeof(buf), 304, NULL, 5, 1, "ETag: \"x\"\r\n");
	KT_EQ(kh_http_parse_response(buf, (size_t)n, &r), n);
	KT_EQ(r.content_length, 5);
	KT_STREQ(r.etag, "\"x\"");

	/* every status the server may send formats and parses back */
	for (int st = 100; st <= 599; st++) {
		n = kh_http_format_response(buf, sizeof(buf), st, "text/plain", 7, 1, NULL);
		KT_CHECK(n > 0 && kh_http_parse_response(buf, (size_t)n, &r) == n &&
			 r.status == st);
	}
	KT_EQ(kh_http_format_response(buf, sizeof(buf), 99, NULL, 0, 1, NULL), -EINVAL);
	KT_EQ(kh_http_format_response(buf, sizeof(buf), 600, NULL, 0, 1, NULL), -EINVAL);
	KT_EQ(kh_http_format_response(buf, sizeof(buf), 200, NULL, (1ull << 53) + 1, 1, NULL),
	      -EINVAL);
}

static void test_format_request(void)
{
	char buf[1024];
	struct kh_http_req r;
	int n;

	n = kh_http_format_request(buf, sizeof(buf), "POST", "/v1/checkin?d=hw-1",
				   "srv.example:443", "application/json", 17,
				   "Authorization: Bearer t0k\r\n");
	KT_EQ(n, strlen(buf));
	KT_STREQ(buf,
		 "POST /v1/checkin?d=hw-1 HTTP/1.1\r\nHost: srv.example:443\r\nContent-Type: "
		 "application/json\r\nContent-Length: 17\r\nAuthorization: Bearer t0k\r\n\r\n");
	KT_EQ(kh_http_parse_request(buf, (size_t)n, &r), n);
	KT_STREQ(r.method, "POST");
	KT_STREQ(r.path, "/v1/checkin");
	KT_STREQ(r.query, "d=hw-1");
	KT_STREQ(r.host, "srv.example:443");
	KT_STREQ(r.content_type, "application/json");
	KT_EQ(r.content_length, 17);
	KT_STREQ(r.authorization, "Bearer t0k");
	KT_EQ(r.keep_alive, 1);

	n = kh_http_format_request(
		buf, sizeof(buf), "GET", "/v1/policy", "[fe80::1]", NULL, 99,
		"Range: bytes=0-99\r\nIf-Range: \"v1\"\r\nConnection: close\r\n");
	KT_EQ(kh_http_parse_request(buf, (size_t)n, &r), n);
	KT_EQ(r.content_length, -1);
	KT_STREQ(r.range, "bytes=0-99");
	KT_STREQ(r.if_range, "\"v1\"");
	KT_EQ(r.keep_alive, 0);

	/* arguments that would not parse back are refused */
	KT_EQ(kh_http_format_request(buf, sizeof(buf), "", "/", "a", NULL, 0, NULL), -EINVAL);
	KT_EQ(kh_http_format_request(buf, sizeof(buf), "PROPFIND", "/", "a", NULL, 0, NULL),
	      -EINVAL);
	KT_EQ(kh_http_format_request(buf, sizeof(buf), "G T", "/", "a", NULL, 0, NULL), -EINVAL);
	KT_EQ(kh_http_format_request(buf, sizeof(buf), "GET", "x", "a", NULL, 0, NULL), -EINVAL);
	KT_EQ(kh_http_format_request(buf, sizeof(buf), "GET", "/a b", "a", NULL, 0, NULL), -EINVAL);
	KT_EQ(kh_http_format_request(buf, sizeof(buf), "GET", "/", "", NULL, 0, NULL), -EINVAL);
	KT_EQ(kh_http_format_request(buf, sizeof(buf), "GET", "/", NULL, NULL, 0, NULL), -EINVAL);
	KT_EQ(kh_http_format_request(buf, sizeof(buf), NULL, "/", "a", NULL, 0, NULL), -EINVAL);
}

static void test_format_injection(void)
{
	static const char *const bad_values[] = {
		"text/plain\r\nX-Injected: 1",	   "a\nb", "a\rb", "a\x01", "a\x7f",
		"x\r\n\r\nGET /smuggled HTTP/1.1",
	};
	static const char *const bad_extra[] = {
		"X-A: b",				    /* no CRLF */
		"X-A: b\n",				    /* bare LF */
		"X-A: b\r\n\r\n",			    /* blank line ends the head early */
		"X-A: b\r\n\r\nGET / HTTP/1.1\r\n",	    /* smuggled request */
		"X-A: b\rX-B: c\r\n",			    /* bare CR */
		"X-A: b\r\n c\r\n",			    /* obs-fold */
		"X A: b\r\n",				    /* not a token */
		": b\r\n",				    /* empty name */
		"Content-Length: 0\r\n",		    /* framing is ours */
		"X-A: b\r\ntransfer-encoding: chunked\r\n", /* framing is ours */
		"X-A: b\r\nX-B: \x01\r\n",
	};
	char buf[512];

	for (size_t i = 0; i < KH_ARRAY_SIZE(bad_values); i++) {
		const char *v = bad_values[i];
		KT_EQ(kh_http_format_response(buf, sizeof(buf), 200, v, 0, 1, NULL), -EINVAL);
		KT_EQ(kh_http_format_request(buf, sizeof(buf), "POST", "/", "a", v, 0, NULL),
		      -EINVAL);
		KT_EQ(kh_http_format_request(buf, sizeof(buf), "GET", "/", v, NULL, 0, NULL),
		      -EINVAL);
	}
	for (size_t i = 0; i < KH_ARRAY_SIZE(bad_extra); i++) {
		const char *x = bad_extra[i];
		KT_EQ(kh_http_format_response(buf, sizeof(buf), 200, NULL, 0, 1, x), -EINVAL);
		KT_EQ(kh_http_format_request(buf, sizeof(buf), "GET", "/", "a", NULL, 0, x),
		      -EINVAL);
	}
	KT_EQ(kh_http_format_request(buf, sizeof(buf), "GET", "/", "a", NULL, 0, "Host: b\r\n"),
	      -EINVAL);
	KT_EQ(kh_http_format_request(buf, sizeof(buf), "GET", "/\r\nX: 1", "a", NULL, 0, NULL),
	      -EINVAL);
	KT_EQ(kh_http_format_request(buf, sizeof(buf), "GET\r\n", "/", "a", NULL, 0, NULL),
	      -EINVAL);
	/* a valid extra and an empty one are accepted */
	KT_CHECK(kh_http_format_response(buf, sizeof(buf), 200, NULL, 0, 1, "X-A:\r\n") > 0);
	KT_CHECK(kh_http_format_response(buf, sizeof(buf), 200, NULL, 0, 1, "") > 0);
}

/* Every cap below the needed size is -ENOSPC without writing past cap. */
static void test_format_nospace(void)
{
	char full[256];
	int need = kh_http_format_request(full, sizeof(full), "POST", "/v1/x", "h", "a/b", 3,
					  "X-A: 1\r\n");
	int needr =
		kh_http_format_response(full, sizeof(full), 404, "text/plain", 9, 0, "X-A: 1\r\n");

	KT_CHECK(need > 0 && needr > 0);
	for (size_t cap = 0; cap <= (size_t)need + 1; cap++) {
		char *b = malloc(cap ? cap : 1);
		int n = kh_http_format_request(b, cap, "POST", "/v1/x", "h", "a/b", 3,
					       "X-A: 1\r\n");
		KT_EQ(n, cap > (size_t)need ? need : -ENOSPC);
		free(b);
	}
	for (size_t cap = 0; cap <= (size_t)needr + 1; cap++) {
		char *b = malloc(cap ? cap : 1);
		int n = kh_http_format_response(b, cap, 404, "text/plain", 9, 0, "X-A: 1\r\n");
		KT_EQ(n, cap > (size_t)needr ? needr : -ENOSPC);
		if (n > 0)
			KT_EQ(b[n], 0);
		free(b);
	}
}

static void test_range(void)
{
	static const struct {
		const char *v;
		uint64_t size;
		int rc;
		uint64_t first, last;
	} cases[] = {
		{"bytes=0-99", 1000, 0, 0, 99},
		{"bytes=0-0", 1, 0, 0, 0},
		{"bytes=100-", 1000, 0, 100, 999},
		{"bytes=0-", 1, 0, 0, 0},
		{"bytes=500-99999", 1000, 0, 500, 999},
		{"bytes=999-999", 1000, 0, 999, 999},
		{"bytes=-100", 1000, 0, 900, 999},
		{"bytes=-1000", 1000, 0, 0, 999},
		{"bytes=-5000", 1000, 0, 0, 999},
		{"BYTES=1-2", 10, 0, 1, 2},
		{"bytes=0-99999999999999999999999999", 10, 0, 0, 9},
		{"bytes=-99999999999999999999999999", 10, 0, 0, 9},
		{"bytes=1000-", 1000, -ERANGE},
		{"bytes=1000-2000", 1000, -ERANGE},
		{"bytes=99999999999999999999999-", 1000, -ERANGE},
		{"bytes=-0", 1000, -ERANGE},
		{"bytes=0-", 0, -ERANGE},
		{"bytes=-5", 0, -ERANGE},
		{"bytes=0-1,5-6", 1000, -EINVAL},
		{"bytes=0-1, 5-6", 1000, -EINVAL},
		{"bytes=-1,-2", 1000, -EINVAL},
		{"bytes=5-4", 1000, -EINVAL},
		{"bytes=", 1000, -EINVAL},
		{"bytes=-", 1000, -EINVAL},
		{"bytes=a-b", 1000, -EINVAL},
		{"bytes=1-2 ", 1000, -EINVAL},
		{"bytes= 1-2", 1000, -EINVAL},
		{"bytes=+1-2", 1000, -EINVAL},
		{"bytes=1--2", 1000, -EINVAL},
		{"bytes 1-2", 1000, -EINVAL},
		{"items=1-2", 1000, -EINVAL},
		{"byte=1-2", 1000, -EINVAL},
		{"", 1000, -EINVAL},
	};
	uint64_t first, last;

	for (size_t i = 0; i < KH_ARRAY_SIZE(cases); i++) {
		int rc;

		first = last = 12345;
		rc = kh_http_parse_range(cases[i].v, cases[i].size, &first, &last);
		if (rc != cases[i].rc)
			printf("#   range \"%s\": got %d\n", cases[i].v, rc);
		KT_EQ(rc, cases[i].rc);
		if (rc == 0) {
			KT_EQ(first, cases[i].first);
			KT_EQ(last, cases[i].last);
		}
	}
	KT_EQ(kh_http_parse_range(NULL, 10, &first, &last), -EINVAL);
	KT_EQ(kh_http_parse_range("bytes=0-1", UINT64_MAX, &first, &last), 0);
	KT_EQ(last, 1);
}

/* The server's URL as configured on both sides, and a download's Content-Range. */
static void test_url_and_content_range(void)
{
	char host[64];
	uint16_t port = 0;
	uint64_t a, b, t;

	KT_EQ(kh_http_parse_url("https://198.18.0.10:8443", host, sizeof(host), &port), 0);
	KT_STREQ(host, "198.18.0.10");
	KT_EQ(port, 8443);
	KT_EQ(kh_http_parse_url("https://[2001:db8::1]:443", host, sizeof(host), &port), 0);
	KT_STREQ(host, "2001:db8::1");
	KT_EQ(kh_http_parse_url("https://policy.isp.example:1", host, sizeof(host), &port), 0);
	KT_STREQ(host, "policy.isp.example");
	KT_EQ(kh_http_parse_url("http://1.2.3.4:80", host, sizeof(host), &port), -EINVAL);
	KT_EQ(kh_http_parse_url("https://1.2.3.4", host, sizeof(host), &port), -EINVAL);
	KT_EQ(kh_http_parse_url("https://1.2.3.4:0", host, sizeof(host), &port), -EINVAL);
	KT_EQ(kh_http_parse_url("https://1.2.3.4:+80", host, sizeof(host), &port), -EINVAL);
	KT_EQ(kh_http_parse_url("https://1.2.3.4:65536", host, sizeof(host), &port), -EINVAL);
	KT_EQ(kh_http_parse_url("https://a b:80", host, sizeof(host), &port), -EINVAL);
	KT_EQ(kh_http_parse_url("https://[::1:80", host, sizeof(host), &port), -EINVAL);
	KT_EQ(kh_http_parse_url("https://:80", host, sizeof(host), &port), -EINVAL);
	KT_EQ(kh_http_parse_url("https://1.2.3.4:80", host, 4, &port), -EINVAL);

	{
		const char *path;
		int tls;
		KT_EQ(kh_http_parse_mirror("http://198.18.0.7/khien/2.bundle", &tls, host,
					   sizeof(host), &port, &path),
		      0);
		KT_CHECK(tls == 0 && port == 80 && !strcmp(host, "198.18.0.7"));
		KT_STREQ(path, "/khien/2.bundle");
		KT_EQ(kh_http_parse_mirror("https://[2001:db8::7]:8443/", &tls, host, sizeof(host),
					   &port, &path),
		      0);
		KT_CHECK(tls == 1 && port == 8443 && !strcmp(host, "2001:db8::7") && !path[0]);
		KT_EQ(kh_http_parse_mirror("https://1.2.3.4", &tls, host, sizeof(host), &port,
					   &path),
		      0);
		KT_CHECK(port == 443 && !path[0]);
		static const char *const bad[] = {
			"ftp://1.2.3.4/x",	 "http://cdn.example/x", "http://1.2.3.4:0/x",
			"http://1.2.3.4:65536/", "http://1.2.3.4/a b",	 "http://1.2.3.4/x?y",
			"http://1.2.3.4/x#y",	 "http://1.2.3.4/../x",	 "http://1.2.3.4/a/..",
			"http://1.2.3.4x/",	 "http://[::1/x",	 "http:///x",
			"http://1.2.3.4/\"x",	 "http://1.2.3.4:/x",
		};
		for (size_t i = 0; i < KH_ARRAY_SIZE(bad); i++)
			KT_EQ(kh_http_parse_mirror(bad[i], &tls, host, sizeof(host), &port, &path),
			      -EINVAL);
		char big[KH_HTTP_MIRROR_URL_MAX + 2];
		memset(big, 'a', sizeof(big));
		memcpy(big, "http://1.2.3.4/", 15);
		big[sizeof(big) - 1] = 0;
		KT_EQ(kh_http_parse_mirror(big, &tls, host, sizeof(host), &port, &path), -EINVAL);
		big[sizeof(big) - 2] = 0; /* exactly the limit */
		KT_EQ(kh_http_parse_mirror(big, &tls, host, sizeof(host), &port, &path), 0);
	}

	KT_EQ(kh_http_parse_content_range("bytes 100-199/200", &a, &b, &t), 0);
	KT_CHECK(a == 100 && b == 199 && t == 200);
	KT_EQ(kh_http_parse_content_range("bytes 0-0/1", &a, &b, &t), 0);
	KT_EQ(kh_http_parse_content_range("bytes 5-4/10", &a, &b, &t), -EINVAL);
	KT_EQ(kh_http_parse_content_range("bytes 0-10/10", &a, &b, &t), -EINVAL);
	KT_EQ(kh_http_parse_content_range("bytes */10", &a, &b, &t), -EINVAL);
	KT_EQ(kh_http_parse_content_range("bytes -1-2/3", &a, &b, &t), -EINVAL);
	KT_EQ(kh_http_parse_content_range("bytes 0-1/99999999999999999", &a, &b, &t), -EINVAL);
	KT_EQ(kh_http_parse_content_range("items 0-1/2", &a, &b, &t), -EINVAL);
}

int main(void)
{
	KT_RUN(test_request_table);
	KT_RUN(test_response_table);
	KT_RUN(test_request_fields);
	KT_RUN(test_keep_alive);
	KT_RUN(test_response_fields);
	KT_RUN(test_pipelined);
	KT_RUN(test_target_limit);
	KT_RUN(test_header_limits);
	KT_RUN(test_response_limits);
	KT_RUN(test_bad_args);
	KT_RUN(test_error_status);
	KT_RUN(test_reason);
	KT_RUN(test_language_and_entities);
	KT_RUN(test_format_response);
	KT_RUN(test_format_request);
	KT_RUN(test_format_injection);
	KT_RUN(test_format_nospace);
	KT_RUN(test_range);
	KT_RUN(test_url_and_content_range);
	return KT_DONE();
}
