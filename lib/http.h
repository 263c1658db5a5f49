/* SPDX-License-Identifier: MIT */
/*
 * HTTP/1.1 message framing for Khien's reporting protocol
 * (docs/PROTOCOL.md): the server parses request heads, the agent parses
 * response heads, both write heads with these helpers. Bodies are framed by
 * Content-Length only: Transfer-Encoding is refused (501), which also closes
 * the request-smuggling door. Portable C, no I/O: callers feed the bytes
 * they have received so far.
 *
 * Limits (hard, checked while parsing): head <= KH_HTTP_HEAD_MAX bytes,
 * <= KH_HTTP_MAX_HEADERS header lines, request target <= KH_HTTP_TARGET_MAX.
 * Only the headers the protocol uses are kept; others are validated
 * (token name, no control characters in the value) and skipped. A
 * repeated Content-Length, a line folded with leading white space, a bare
 * LF inside the head or a NUL byte anywhere is a malformed message.
 *
 * Parse results: > 0 the head is complete and that many bytes long (the
 * body starts there); 0 more bytes are needed; < 0 malformed, with the
 * status the server should answer in kh_http_error_status().
 */
#ifndef KHIEN_LIB_HTTP_H
#define KHIEN_LIB_HTTP_H

#include <stddef.h>
#include <stdint.h>

#define KH_HTTP_HEAD_MAX 8192
#define KH_HTTP_MAX_HEADERS 32
#define KH_HTTP_TARGET_MAX 512
#define KH_HTTP_VALUE_MAX 256

struct kh_http_req {
	char method[8];			    /* "GET", "POST", ... (token, <= 7 chars) */
	char path[KH_HTTP_TARGET_MAX + 1];  /* target up to '?', starts with '/' */
	char query[KH_HTTP_TARGET_MAX + 1]; /* after '?', "" if none */
	int minor;			    /* HTTP/1.minor: 0 or 1 */
	int keep_alive;		/* 1.1 default on, "Connection: close" off; 1.0 opposite */
	int64_t content_length; /* -1 when absent */
	char host[KH_HTTP_VALUE_MAX + 1]; /* "" when absent */
	char authorization[KH_HTTP_VALUE_MAX + 1];
	char content_type[64];
	char if_none_match[96];
	char range[64];
	char if_range[96];
	char accept_language[128]; /* the agent's pages choose their language by it */
	char cookie[384];	   /* the agent's owner session (docs/WEB.md); "" if longer */
	/* Origin and Referer: their authority ("host[:port]"), "?" when not a URL ("null") */
	char origin[KH_HTTP_VALUE_MAX + 1];
	char referer[KH_HTTP_VALUE_MAX + 1];
};

struct kh_http_resp {
	int status; /* 100-599 */
	int minor;
	int keep_alive;
	int64_t content_length; /* -1 when absent */
	char content_type[64];
	char etag[96];
	char content_range[96];
	int64_t retry_after; /* seconds, -1 when absent */
};

/* Parse a request head from buf[0..len). See the header comment for results. */
int kh_http_parse_request(const char *buf, size_t len, struct kh_http_req *r);
/* Parse a response head from buf[0..len). Same results. */
int kh_http_parse_response(const char *buf, size_t len, struct kh_http_resp *r);

/*
 * The status a server answers to a parse error: 400 malformed, 414 target
 * too long, 431 head too large or too many headers, 501 Transfer-Encoding
 * or an unknown method form, 505 not HTTP/1.x.
 */
int kh_http_error_status(int err);
/* Reason phrase for a status ("OK", "Not Found", ...; "Unknown" otherwise). */
const char *kh_http_reason(int status);

/*
 * Write a response head: status line, Content-Type (if not NULL),
 * Content-Length, Connection: keep-alive/close, then extra (already
 * formatted "Name: value\r\n" lines, or NULL), then the blank line.
 * Returns its length, or -ENOSPC if cap is too small.
 */
int kh_http_format_response(char *buf, size_t cap, int status, const char *content_type,
			    uint64_t content_length, int keep_alive, const char *extra);
/*
 * Write a request head: "METHOD target HTTP/1.1", Host, Content-Type and
 * Content-Length when a body follows (content_type not NULL), extra lines,
 * blank line. Returns its length or -ENOSPC.
 */
int kh_http_format_request(char *buf, size_t cap, const char *method, const char *target,
			   const char *host, const char *content_type, uint64_t content_length,
			   const char *extra);

/*
 * "https://HOST:PORT" or "https://[IPv6]:PORT" (nothing after the port):
 * HOST (letters, digits, '.', '-', ':' for IPv6; without brackets) into
 * host (cap bytes) and the port. 0, or -EINVAL.
 */
int kh_http_parse_url(const char *url, char *host, size_t cap, uint16_t *port);

/*
 * A bundle mirror's URL (docs/PROTOCOL.md): "http://" or "https://", an IP
 * literal host (IPv6 in brackets; the agent resolves no names), an optional
 * port (default 80 or 443) and a path of URL characters (no query, no
 * fragment, no "..", no spaces or quotes), at most KH_HTTP_MIRROR_URL_MAX
 * bytes in all. *tls says which scheme, host gets the address without
 * brackets (cap bytes), *path points into url ("/" when there is none
 * becomes ""). 0, or -EINVAL.
 */
#define KH_HTTP_MIRROR_URL_MAX 200
int kh_http_parse_mirror(const char *url, int *tls, char *host, size_t cap, uint16_t *port,
			 const char **path);

/*
 * 1 if an Accept-Language value puts English before Vietnamese (the first
 * of en or vi in the list wins: q-values come descending in practice; a
 * q=0 "en" is a refusal), else 0. Both sites' pages are Vietnamese first.
 */
int kh_http_prefers_english(const char *accept_language);

/* The HTML entity for c where text or an attribute value needs one (& < > " '), else NULL. */
static inline const char *kh_html_entity(char c)
{
	switch (c) {
	case '&':
		return "&amp;";
	case '<':
		return "&lt;";
	case '>':
		return "&gt;";
	case '"':
		return "&quot;";
	case '\'':
		return "&#39;";
	default:
		return NULL;
	}
}

/*
 * A Content-Range answer "bytes A-B/TOTAL" (digits only, each < 2^53,
 * A <= B < TOTAL). 0, or -EINVAL.
 */
int kh_http_parse_content_range(const char *v, uint64_t *first, uint64_t *last, uint64_t *total);

/*
 * A single byte range "bytes=A-B", "bytes=A-" or "bytes=-N" against a
 * resource of size bytes: [*first, *last] inclusive. 0 ok, -ERANGE when it
 * cannot be satisfied (416), -EINVAL when the header is not one range.
 */
int kh_http_parse_range(const char *v, uint64_t size, uint64_t *first, uint64_t *last);

#endif
