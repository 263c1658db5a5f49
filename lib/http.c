/* SPDX-License-Identifier: MIT */
/*
 * HTTP/1.1 head parsing and formatting (RFC 9112) for the reporting
 * protocol; see http.h for the contract. The parsers are stateless: every
 * call reads buf from the start, strictly left to right, and stops at the
 * first byte that decides the outcome. A call only reports "need more" (0)
 * when it runs out of bytes before anything was decided, so feeding a head
 * in pieces gives the same answer as feeding it whole, and nothing past len
 * (or past KH_HTTP_HEAD_MAX) is ever read. The formatters refuse control
 * characters in anything they put on a header line (no header injection)
 * and never write past cap.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "lib/compiler.h"
#include "lib/err.h"
#include "lib/http.h"

/* Largest Content-Length / Retry-After accepted: exact in a double (JSON). */
#define HTTP_NUM_MAX ((int64_t)1 << 53)

/* ---- character classes (RFC 9110 5.6.2, 5.5) ---- */

static int is_tchar(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return 1;
	return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static int is_vchar(unsigned char c)
{
	return c > 0x20 && c < 0x7f;
}

/* field-vchar, SP or HTAB: what a field value or reason phrase may hold. */
static int is_field_char(unsigned char c)
{
	return is_vchar(c) || c == ' ' || c == '\t' || c >= 0x80;
}

/* uri-host [ ":" port ]: reg-name, IP literal and port characters only. */
static int is_host_char(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return 1;
	return c && strchr("-._~!$&'()*+,;=:%[]", c) != NULL;
}

static unsigned char ascii_lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 'a' - 'A') : c;
}

/* Case-insensitive match of s[0..n) against a lower-case literal. */
static int ieq(const char *s, size_t n, const char *lit)
{
	if (strlen(lit) != n)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (ascii_lower((unsigned char)s[i]) != (unsigned char)lit[i])
			return 0;
	return 1;
}

/* 1*DIGIT no greater than HTTP_NUM_MAX, else -EBADMSG. */
static int parse_num(const char *v, size_t n, int64_t *out)
{
	int64_t x = 0;

	if (n == 0)
		return -EBADMSG;
	for (size_t i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return -EBADMSG;
		x = x * 10 + (v[i] - '0');
		if (x > HTTP_NUM_MAX)
			return -EBADMSG;
	}
	*out = x;
	return 0;
}

/* ---- head parsing ---- */

/*
 * Internal results of the line parsers: < 0 error, 0 need more bytes, > 0
 * the offset just past the line's CRLF (never 0, a line is not empty).
 */

/* CRLF at b[i] (b[i] is known to be '\r'). */
static int crlf(const char *b, size_t i, size_t end)
{
	if (i + 1 >= end)
		return 0;
	return b[i + 1] == '\n' ? (int)(i + 2) : -EBADMSG;
}

/*
 * "HTTP/" DIGIT "." DIGIT at b[i], followed by term. Version 1.0 and 1.1
 * give the offset past term and *minor; any other well-formed version is
 * -EPROTONOSUPPORT (505), anything else -EBADMSG.
 */
static int parse_version(const char *b, size_t i, size_t end, char term, int *minor)
{
	static const char pat[] = "HTTP/D.D";

	for (size_t k = 0; k < sizeof(pat) - 1; k++, i++) {
		if (i == end)
			return 0;
		if (pat[k] == 'D' ? b[i] < '0' || b[i] > '9' : b[i] != pat[k])
			return -EBADMSG;
	}
	if (i == end)
		return 0;
	if (b[i] != term)
		return -EBADMSG;
	if (b[i - 3] != '1' || (b[i - 1] != '0' && b[i - 1] != '1'))
		return -EPROTONOSUPPORT;
	*minor = b[i - 1] - '0';
	return (int)(i + 1);
}

enum field_kind {
	F_STR,	 /* copied, trimmed, must fit */
	F_HOST,	 /* F_STR restricted to host characters */
	F_LEN,	 /* Content-Length */
	F_DELTA, /* Retry-After delta-seconds */
	F_CONN,	 /* Connection option list, may repeat */
	F_AUTH,	 /* a URL (Origin, Referer): its authority kept, "?" if it has none */
	F_FIT,	 /* F_STR, but left empty (not an error) when it does not fit: Cookie */
};

/* A header field kept in the result structure. */
struct kept_field {
	const char *name; /* lower case */
	size_t off;	  /* offset of the member in the result structure */
	size_t cap;	  /* its size */
	enum field_kind kind;
};

#define KEPT(type, member, name, kind)                                          \
	{                                                                       \
		name, offsetof(type, member), sizeof(((type *)0)->member), kind \
	}

static const struct kept_field req_fields[] = {
	KEPT(struct kh_http_req, host, "host", F_HOST),
	KEPT(struct kh_http_req, authorization, "authorization", F_STR),
	KEPT(struct kh_http_req, content_type, "content-type", F_STR),
	KEPT(struct kh_http_req, content_length, "content-length", F_LEN),
	KEPT(struct kh_http_req, if_none_match, "if-none-match", F_STR),
	KEPT(struct kh_http_req, range, "range", F_STR),
	KEPT(struct kh_http_req, if_range, "if-range", F_STR),
	KEPT(struct kh_http_req, accept_language, "accept-language", F_STR),
	KEPT(struct kh_http_req, cookie, "cookie", F_FIT),
	KEPT(struct kh_http_req, origin, "origin", F_AUTH),
	KEPT(struct kh_http_req, referer, "referer", F_AUTH),
	{"connection", 0, 0, F_CONN},
};

static const struct kept_field resp_fields[] = {
	KEPT(struct kh_http_resp, content_type, "content-type", F_STR),
	KEPT(struct kh_http_resp, content_length, "content-length", F_LEN),
	KEPT(struct kh_http_resp, etag, "etag", F_STR),
	KEPT(struct kh_http_resp, content_range, "content-range", F_STR),
	KEPT(struct kh_http_resp, retry_after, "retry-after", F_DELTA),
	{"connection", 0, 0, F_CONN},
};

KH_STATIC_ASSERT(KH_ARRAY_SIZE(req_fields) <= 32, "seen is a 32-bit mask");

/* Field-section parse state shared by requests and responses. */
struct head {
	const struct kept_field *fields;
	size_t nfields;
	char *obj;     /* the result structure */
	uint32_t seen; /* bit i: fields[i] was present */
	int conn_close, conn_keep;
};

/* #token list of Connection options (empty elements allowed, RFC 9110 5.6.1). */
static int parse_connection(struct head *h, const char *v, size_t n)
{
	size_t i = 0;

	while (i <= n) {
		size_t s, e;

		while (i < n && (v[i] == ' ' || v[i] == '\t'))
			i++;
		s = i;
		while (i < n && is_tchar((unsigned char)v[i]))
			i++;
		e = i;
		while (i < n && (v[i] == ' ' || v[i] == '\t'))
			i++;
		if (i < n && v[i] != ',')
			return -EBADMSG;
		if (ieq(v + s, e - s, "close"))
			h->conn_close = 1;
		else if (ieq(v + s, e - s, "keep-alive"))
			h->conn_keep = 1;
		i++; /* past ',' (or past the end, which ends the loop) */
	}
	return 0;
}

/* One complete field line: keep it, validate it or ignore it. */
static int take_field(struct head *h, const char *name, size_t nlen, const char *v, size_t vlen)
{
	const struct kept_field *f = NULL;
	int64_t num;
	size_t i;
	int err;

	for (i = 0; i < h->nfields; i++) {
		if (ieq(name, nlen, h->fields[i].name)) {
			f = &h->fields[i];
			break;
		}
	}
	if (!f)
		return 0;
	if (f->kind == F_CONN)
		return parse_connection(h, v, vlen);
	/* Two values for a field we act on is ambiguous (smuggling, RFC 9112 6.3). */
	if (h->seen & (UINT32_C(1) << i))
		return -EBADMSG;
	h->seen |= UINT32_C(1) << i;
	switch (f->kind) {
	case F_LEN:
	case F_DELTA:
		err = parse_num(v, vlen, &num);
		if (err)
			return err;
		memcpy(h->obj + f->off, &num, sizeof(num));
		return 0;
	case F_AUTH: {
		/* scheme "://" authority [ "/" | "?" | "#" ...]: only the authority matters */
		const char *sep = NULL, *a;
		size_t n = 0;
		for (size_t k = 1; k + 3 <= vlen && !sep; k++)
			if (memcmp(v + k, "://", 3) == 0)
				sep = v + k;
		if (!sep) {
			v = "?";
			vlen = 1;
			break;
		}
		a = sep + 3;
		while ((size_t)(a + n - v) < vlen && !strchr("/?#", a[n]))
			n++;
		v = n ? a : "?";
		vlen = n ? n : 1;
		break;
	}
	case F_HOST:
		/* Our clients always name the server: an empty Host is invalid. */
		if (vlen == 0)
			return -EBADMSG;
		for (size_t k = 0; k < vlen; k++)
			if (!is_host_char((unsigned char)v[k]))
				return -EBADMSG;
		break;
	case F_FIT:
		if (vlen >= f->cap)
			vlen = 0; /* other sites' cookies on the same host must not make a page fail */
		break;
	default:
		break;
	}
	if (vlen >= f->cap)
		return -E2BIG;
	memcpy(h->obj + f->off, v, vlen);
	h->obj[f->off + vlen] = 0;
	return 0;
}

/*
 * Field lines from b[i] to the blank line that ends the head. A name is a
 * token immediately followed by ':'; this also refuses obs-fold (a line
 * starting with white space) and white space before the colon.
 */
static int parse_fields(struct head *h, const char *b, size_t i, size_t end)
{
	unsigned lines = 0;

	for (;;) {
		size_t name, nlen, v, vend;
		int err;

		if (i == end)
			return 0;
		if (b[i] == '\r')
			return crlf(b, i, end);
		if (lines++ == KH_HTTP_MAX_HEADERS)
			return -E2BIG;
		name = i;
		while (i < end && is_tchar((unsigned char)b[i]))
			i++;
		if (i == end)
			return 0;
		if (b[i] != ':' || i == name)
			return -EBADMSG;
		/* Content-Length is the only framing we do; refuse the other. */
		nlen = i - name;
		if (ieq(b + name, nlen, "transfer-encoding"))
			return -ENOTSUP;
		i++;
		while (i < end && (b[i] == ' ' || b[i] == '\t'))
			i++;
		v = vend = i;
		for (; i < end && b[i] != '\r'; i++) {
			if (!is_field_char((unsigned char)b[i]))
				return -EBADMSG;
			if (b[i] != ' ' && b[i] != '\t')
				vend = i + 1;
		}
		if (i == end)
			return 0;
		err = crlf(b, i, end);
		if (err <= 0)
			return err;
		err = take_field(h, b + name, nlen, b + v, vend - v);
		if (err)
			return err;
		i += 2;
	}
}

/*
 * method SP origin-form SP HTTP-version CRLF. A method longer than the
 * struct holds and the target forms we do not serve (absolute, authority,
 * asterisk) are 501; the target is checked for length while it arrives.
 */
static int parse_request_line(const char *b, size_t end, struct kh_http_req *r)
{
	size_t i = 0, n, q = 0;
	int rc;

	for (n = 0; i < end && is_tchar((unsigned char)b[i]); i++, n++) {
		if (n == sizeof(r->method) - 1)
			return -ENOTSUP;
		r->method[n] = b[i];
	}
	if (i == end)
		return 0;
	if (b[i] != ' ' || n == 0)
		return -EBADMSG;
	if (++i == end)
		return 0;
	if (b[i] != '/')
		return is_vchar((unsigned char)b[i]) ? -ENOTSUP : -EBADMSG;
	for (n = 0; i < end && is_vchar((unsigned char)b[i]); i++, n++) {
		if (n == KH_HTTP_TARGET_MAX)
			return -ENAMETOOLONG;
		if (q)
			r->query[n - q] = b[i];
		else if (b[i] == '?')
			q = n + 1;
		else
			r->path[n] = b[i];
	}
	if (i == end)
		return 0;
	if (b[i] != ' ')
		return -EBADMSG;
	rc = parse_version(b, i + 1, end, '\r', &r->minor);
	return rc > 0 ? crlf(b, (size_t)rc - 1, end) : rc;
}

/* HTTP-version SP 3DIGIT [ SP reason-phrase ] CRLF */
static int parse_status_line(const char *b, size_t end, struct kh_http_resp *r)
{
	int i = parse_version(b, 0, end, ' ', &r->minor);

	if (i <= 0)
		return i;
	r->status = 0;
	for (int k = 0; k < 3; k++, i++) {
		if ((size_t)i == end)
			return 0;
		if (b[i] < '0' || b[i] > '9')
			return -EBADMSG;
		r->status = r->status * 10 + (b[i] - '0');
	}
	if (r->status < 100 || r->status > 599)
		return -EBADMSG;
	if ((size_t)i == end)
		return 0;
	if (b[i] == ' ') {
		for (i++; (size_t)i < end && b[i] != '\r'; i++)
			if (!is_field_char((unsigned char)b[i]))
				return -EBADMSG;
		if ((size_t)i == end)
			return 0;
	}
	if (b[i] != '\r')
		return -EBADMSG;
	return crlf(b, (size_t)i, end);
}

/* Head-size limit: running out of bytes at the limit is a head too large. */
static size_t head_end(size_t len)
{
	return len < KH_HTTP_HEAD_MAX ? len : KH_HTTP_HEAD_MAX;
}

static int need_more(int rc, size_t len)
{
	return rc == 0 && len >= KH_HTTP_HEAD_MAX ? -E2BIG : rc;
}

int kh_http_parse_request(const char *buf, size_t len, struct kh_http_req *r)
{
	struct head h = {req_fields, KH_ARRAY_SIZE(req_fields), (char *)r, 0, 0, 0};
	size_t end = head_end(len);
	int rc;

	if (!r)
		return -EINVAL;
	memset(r, 0, sizeof(*r));
	r->content_length = -1;
	if (!buf)
		return len ? -EINVAL : 0;
	rc = parse_request_line(buf, end, r);
	if (rc > 0)
		rc = parse_fields(&h, buf, (size_t)rc, end);
	if (rc <= 0)
		return need_more(rc, len);
	/* RFC 9112 3.2: an HTTP/1.1 request without Host is a 400. */
	if (r->minor == 1 && !(h.seen & 1))
		return -EBADMSG;
	r->keep_alive = r->minor ? !h.conn_close : h.conn_keep && !h.conn_close;
	return rc;
}

int kh_http_parse_response(const char *buf, size_t len, struct kh_http_resp *r)
{
	struct head h = {resp_fields, KH_ARRAY_SIZE(resp_fields), (char *)r, 0, 0, 0};
	size_t end = head_end(len);
	int rc;

	if (!r)
		return -EINVAL;
	memset(r, 0, sizeof(*r));
	r->content_length = -1;
	r->retry_after = -1;
	if (!buf)
		return len ? -EINVAL : 0;
	rc = parse_status_line(buf, end, r);
	if (rc > 0)
		rc = parse_fields(&h, buf, (size_t)rc, end);
	if (rc <= 0)
		return need_more(rc, len);
	r->keep_alive = r->minor ? !h.conn_close : h.conn_keep && !h.conn_close;
	return rc;
}

int kh_http_error_status(int err)
{
	switch (err) {
	case -EBADMSG:
	case -EINVAL:
		return 400;
	case -ENAMETOOLONG:
		return 414;
	case -ERANGE:
		return 416;
	case -E2BIG:
		return 431;
	case -ENOTSUP:
		return 501;
	case -EPROTONOSUPPORT:
		return 505;
	default:
		return 500;
	}
}

static const struct {
	short status;
	const char *text;
} reasons[] = {
	{100, "Continue"},
	{200, "OK"},
	{201, "Created"},
	{202, "Accepted"},
	{204, "No Content"},
	{206, "Partial Content"},
	{301, "Moved Permanently"},
	{302, "Found"},
	{303, "See Other"},
	{304, "Not Modified"},
	{307, "Temporary Redirect"},
	{308, "Permanent Redirect"},
	{400, "Bad Request"},
	{401, "Unauthorized"},
	{403, "Forbidden"},
	{404, "Not Found"},
	{405, "Method Not Allowed"},
	{406, "Not Acceptable"},
	{408, "Request Timeout"},
	{409, "Conflict"},
	{410, "Gone"},
	{411, "Length Required"},
	{412, "Precondition Failed"},
	{413, "Content Too Large"},
	{414, "URI Too Long"},
	{415, "Unsupported Media Type"},
	{416, "Range Not Satisfiable"},
	{421, "Misdirected Request"},
	{422, "Unprocessable Content"},
	{426, "Upgrade Required"},
	{428, "Precondition Required"},
	{429, "Too Many Requests"},
	{431, "Request Header Fields Too Large"},
	{500, "Internal Server Error"},
	{501, "Not Implemented"},
	{502, "Bad Gateway"},
	{503, "Service Unavailable"},
	{504, "Gateway Timeout"},
	{505, "HTTP Version Not Supported"},
};

const char *kh_http_reason(int status)
{
	for (size_t i = 0; i < KH_ARRAY_SIZE(reasons); i++)
		if (reasons[i].status == status)
			return reasons[i].text;
	return "Unknown";
}

/* ---- head formatting ---- */

/* Output cursor: the first overflow sticks as -ENOSPC. */
struct out {
	char *buf;
	size_t cap, len;
	int err;
};

static void put(struct out *o, const char *s)
{
	size_t n = strlen(s);

	if (o->err)
		return;
	if (n >= o->cap - o->len) { /* keep room for the NUL */
		o->err = -ENOSPC;
		return;
	}
	memcpy(o->buf + o->len, s, n);
	o->len += n;
	o->buf[o->len] = 0;
}

static void put_u64(struct out *o, uint64_t v)
{
	char num[24];

	snprintf(num, sizeof(num), "%llu", (unsigned long long)v);
	put(o, num);
}

static int finish(struct out *o)
{
	put(o, "\r\n");
	return o->err ? o->err : (int)o->len;
}

/* A header value we write: field characters only, so no CR or LF. */
static int value_ok(const char *s)
{
	for (; *s; s++)
		if (!is_field_char((unsigned char)*s))
			return 0;
	return 1;
}

static int host_ok(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!is_host_char((unsigned char)*s))
			return 0;
	return 1;
}

/*
 * Caller-formatted "Name: value\r\n" lines: each must be a well-formed
 * field line (so no blank line ending the head early, no bare CR or LF),
 * and none may be one we write ourselves or that changes the framing.
 */
static int extra_ok(const char *s, int request)
{
	while (*s) {
		const char *name = s;
		size_t n;

		while (is_tchar((unsigned char)*s))
			s++;
		n = (size_t)(s - name);
		if (n == 0 || *s != ':')
			return 0;
		if (ieq(name, n, "content-length") || ieq(name, n, "transfer-encoding") ||
		    (request && ieq(name, n, "host")))
			return 0;
		for (s++; is_field_char((unsigned char)*s); s++)
			;
		if (s[0] != '\r' || s[1] != '\n')
			return 0;
		s += 2;
	}
	return 1;
}

int kh_http_format_response(char *buf, size_t cap, int status, const char *content_type,
			    uint64_t content_length, int keep_alive, const char *extra)
{
	struct out o = {buf, cap, 0, 0};
	char line[32];

	if (!buf || status < 100 || status > 599 || content_length > (uint64_t)HTTP_NUM_MAX)
		return -EINVAL;
	if ((content_type && !value_ok(content_type)) || (extra && !extra_ok(extra, 0)))
		return -EINVAL;
	if (cap == 0)
		return -ENOSPC;
	buf[0] = 0;
	snprintf(line, sizeof(line), "HTTP/1.1 %d ", status);
	put(&o, line);
	put(&o, kh_http_reason(status));
	put(&o, "\r\n");
	if (content_type) {
		put(&o, "Content-Type: ");
		put(&o, content_type);
		put(&o, "\r\n");
	}
	/* RFC 9110 8.6: a 1xx or 204 response must not carry Content-Length. */
	if (status >= 200 && status != 204) {
		put(&o, "Content-Length: ");
		put_u64(&o, content_length);
		put(&o, "\r\n");
	}
	put(&o, keep_alive ? "Connection: keep-alive\r\n" : "Connection: close\r\n");
	if (extra)
		put(&o, extra);
	return finish(&o);
}

int kh_http_format_request(char *buf, size_t cap, const char *method, const char *target,
			   const char *host, const char *content_type, uint64_t content_length,
			   const char *extra)
{
	struct out o = {buf, cap, 0, 0};
	size_t n;

	if (!buf || !method || !target || !host || content_length > (uint64_t)HTTP_NUM_MAX)
		return -EINVAL;
	for (n = 0; method[n]; n++)
		if (!is_tchar((unsigned char)method[n]))
			return -EINVAL;
	if (n == 0 || n >= sizeof(((struct kh_http_req *)0)->method))
		return -EINVAL;
	for (n = 0; target[n]; n++)
		if (!is_vchar((unsigned char)target[n]))
			return -EINVAL;
	if (target[0] != '/' || n > KH_HTTP_TARGET_MAX || !host_ok(host) ||
	    strlen(host) > KH_HTTP_VALUE_MAX)
		return -EINVAL;
	if ((content_type && !value_ok(content_type)) || (extra && !extra_ok(extra, 1)))
		return -EINVAL;
	if (cap == 0)
		return -ENOSPC;
	buf[0] = 0;
	put(&o, method);
	put(&o, " ");
	put(&o, target);
	put(&o, " HTTP/1.1\r\nHost: ");
	put(&o, host);
	put(&o, "\r\n");
	if (content_type) {
		put(&o, "Content-Type: ");
		put(&o, content_type);
		put(&o, "\r\nContent-Length: ");
		put_u64(&o, content_length);
		put(&o, "\r\n");
	}
	if (extra)
		put(&o, extra);
	return finish(&o);
}

/* ---- Range (RFC 9110 14.1.2) ---- */

/* 1*DIGIT, saturating: a huge position is simply past any resource. */
static const char *range_num(const char *s, uint64_t *out)
{
	uint64_t x = 0;
	const char *start = s;

	for (; *s >= '0' && *s <= '9'; s++) {
		unsigned d = (unsigned)(*s - '0');
		x = x > (UINT64_MAX - d) / 10 ? UINT64_MAX : x * 10 + d;
	}
	*out = x;
	return s == start ? NULL : s;
}

int kh_http_parse_range(const char *v, uint64_t size, uint64_t *first, uint64_t *last)
{
	uint64_t a, b;

	if (!v || !first || !last)
		return -EINVAL;
	for (int k = 0; k < 6; k++, v++) /* the unit is case-insensitive */
		if (ascii_lower((unsigned char)*v) != (unsigned char)"bytes="[k])
			return -EINVAL;
	if (*v == '-') { /* suffix: the last N bytes */
		v = range_num(v + 1, &b);
		if (!v || *v)
			return -EINVAL;
		if (b == 0 || size == 0)
			return -ERANGE;
		*first = b >= size ? 0 : size - b;
		*last = size - 1;
		return 0;
	}
	v = range_num(v, &a);
	if (!v || *v != '-')
		return -EINVAL;
	v++;
	b = UINT64_MAX;
	if (*v) {
		v = range_num(v, &b);
		if (!v || *v || b < a)
			return -EINVAL;
	}
	if (a >= size)
		return -ERANGE;
	*first = a;
	*last = b >= size ? size - 1 : b;
	return 0;
}

int kh_http_parse_url(const char *url, char *host, size_t cap, uint16_t *port)
{
	const char *h, *colon;
	unsigned long p = 0;
	size_t n;

	if (strncmp(url, "https://", 8) != 0)
		return -EINVAL;
	h = url + 8;
	if (*h == '[') {
		const char *close = strchr(h, ']');
		if (!close || close[1] != ':')
			return -EINVAL;
		n = (size_t)(close - h - 1);
		h++;
		colon = close + 1;
	} else {
		colon = strrchr(h, ':');
		if (!colon)
			return -EINVAL;
		n = (size_t)(colon - h);
	}
	if (n == 0 || n >= cap || !colon[1] || strlen(colon + 1) > 5)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (!((h[i] >= 'a' && h[i] <= 'z') || (h[i] >= 'A' && h[i] <= 'Z') ||
		      (h[i] >= '0' && h[i] <= '9') || h[i] == '.' || h[i] == '-' || h[i] == ':'))
			return -EINVAL;
	for (const char *d = colon + 1; *d; d++) {
		if (*d < '0' || *d > '9')
			return -EINVAL;
		p = p * 10 + (unsigned long)(*d - '0');
	}
	if (p == 0 || p > 65535)
		return -EINVAL;
	memcpy(host, h, n);
	host[n] = 0;
	*port = (uint16_t)p;
	return 0;
}

int kh_http_parse_content_range(const char *v, uint64_t *first, uint64_t *last, uint64_t *total)
{
	uint64_t *out[3] = {first, last, total};
	const char sep[3] = {'-', '/', 0};

	if (strncmp(v, "bytes ", 6) != 0)
		return -EINVAL;
	v += 6;
	for (int i = 0; i < 3; i++) {
		uint64_t x = 0;
		int n = 0;
		for (; *v >= '0' && *v <= '9'; v++, n++) {
			if (n > 15)
				return -EINVAL;
			x = x * 10 + (uint64_t)(*v - '0');
		}
		if (n == 0 || *v != sep[i])
			return -EINVAL;
		*out[i] = x;
		if (sep[i])
			v++;
	}
	return *first <= *last && *last < *total ? 0 : -EINVAL;
}

/* RFC 3986 path characters, less those a static server or a log might read otherwise. */
static int path_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       (ch && strchr("/-._~%!$&()*+,;=:@", ch) != NULL);
}

int kh_http_parse_mirror(const char *url, int *tls, char *host, size_t cap, uint16_t *port,
			 const char **path)
{
	const char *h, *end, *p;
	unsigned long num = 0;
	size_t n, len = 0;

	while (len <= KH_HTTP_MIRROR_URL_MAX && url[len])
		len++;
	if (len > KH_HTTP_MIRROR_URL_MAX)
		return -EINVAL;
	if (strncmp(url, "https://", 8) == 0) {
		*tls = 1;
		h = url + 8;
	} else if (strncmp(url, "http://", 7) == 0) {
		*tls = 0;
		h = url + 7;
	} else {
		return -EINVAL;
	}
	if (*h == '[') {
		if (!(end = strchr(h, ']')))
			return -EINVAL;
		n = (size_t)(end - h - 1);
		h++;
		p = end + 1;
	} else {
		end = h + strcspn(h, ":/");
		n = (size_t)(end - h);
		p = end;
	}
	if (n == 0 || n >= cap)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (!((h[i] >= '0' && h[i] <= '9') || (h[i] >= 'a' && h[i] <= 'f') ||
		      (h[i] >= 'A' && h[i] <= 'F') || h[i] == '.' || h[i] == ':'))
			return -EINVAL; /* an IP literal: checked as one by the caller */
	*port = *tls ? 443 : 80;
	if (*p == ':') {
		const char *d = ++p;
		for (; *p >= '0' && *p <= '9' && p - d < 6; p++)
			num = num * 10 + (unsigned long)(*p - '0');
		if (p == d || num == 0 || num > 65535)
			return -EINVAL;
		*port = (uint16_t)num;
	}
	if (*p && *p != '/')
		return -EINVAL;
	for (const char *q = p; *q; q++)
		if (!path_char(*q) ||
		    (q[0] == '/' && q[1] == '.' && q[2] == '.' && (q[3] == '/' || q[3] == 0)))
			return -EINVAL;
	memcpy(host, h, n);
	host[n] = 0;
	*path = strcmp(p, "/") == 0 ? p + 1 : p;
	return 0;
}

int kh_http_prefers_english(const char *s)
{
	while (*s) {
		size_t seg;
		s += strspn(s, " ,");
		seg = strcspn(s, ",");
		if ((s[0] | 32) == 'v' && (s[1] | 32) == 'i' && (!s[2] || strchr("-;, ", s[2])))
			return 0;
		if ((s[0] | 32) == 'e' && (s[1] | 32) == 'n' && (!s[2] || strchr("-;, ", s[2]))) {
			const char *q0 = strstr(s, "q=0");
			if (!q0 || (size_t)(q0 - s) > seg || (q0[3] == '.' && q0[4] > '0'))
				return 1;
		}
		s += seg;
	}
	return 0;
}
