/* SPDX-License-Identifier: MIT */
/*
 * The operator's dashboard (docs/SERVER.md "Dashboard"): server-rendered
 * HTML pages on the operator side of khien-server, over the same TLS port
 * as the API. A browser logs in by exchanging the operator token for a
 * session cookie (HttpOnly, Secure, SameSite=Strict, a random 256-bit id,
 * idle and absolute expiry); the bearer header opens the pages too. Failed
 * logins are rate-limited as the device's own login is (agent/web_auth.c:
 * 5 in 30 s lock it for 5 minutes). Every form that changes something
 * (logout, revoke) carries the session's CSRF token and is refused without
 * it, and with an Origin or Referer that is not the server's.
 *
 * Pages are Vietnamese unless ?lang=en or Accept-Language prefers English,
 * readable without JavaScript, never cached, and forbid scripts and any
 * outside resource (Content-Security-Policy). Everything from the store is
 * HTML-escaped: serials, firmware names, threat names and payloads come
 * from devices. Every query is one bounded store call (LIMIT, keyset
 * paging), never a fleet's worth of rows. Sessions live in this instance's
 * memory: behind a load balancer, make it sticky or use the bearer header.
 */
#define _GNU_SOURCE /* memmem */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "agent/web_auth.h"
#include "crypto/crypto.h"
#include "lib/civil.h"
#include "lib/compiler.h"
#include "lib/err.h"
#include "lib/hex.h"
#include "lib/http.h"
#include "lib/log.h"
#include "lib/severity.h"
#include "lib/str.h"
#include "platform/rand.h"
#include "platform/time.h"
#include "server/api_priv.h"
#include "server/render.h"
#include "server/rollout.h"
#include "server/warnings.h"

#define SESSIONS 32
#define SESSION_IDLE_MS (30ull * 60 * 1000)
#define SESSION_ABSOLUTE_MS (8ull * 60 * 60 * 1000)
#define ID_HEX 64 /* 256 random bits */
#define COOKIE "khien_op"
#define PAGE_ROWS 50	  /* rows of a device or event list page */
#define TOP 10		  /* top threats, top devices */
#define WARN_EVENTS 20000 /* the customers-to-warn page reads the newest this many */
#define FAILING_ROWS 100  /* devices failing critical or high checks, shown */
#define DEVICE_EVENTS 20  /* recent events on a device's page */
#define DEVICE_COMMANDS 8 /* pending commands on a device's page */

struct dash_session {
	char id[ID_HEX + 1]; /* "" when free */
	char csrf[ID_HEX + 1];
	uint64_t created, last; /* monotonic ms */
};

struct kh_dash {
	struct dash_session s[SESSIONS];
	struct kh_lockout lock; /* failed logins, all clients together */
};

void kh_dash_free(struct kh_dash *d)
{
	if (!d)
		return;
	kh_memzero(d, sizeof(*d));
	free(d);
}

static struct kh_dash *dash(struct kh_srv *s)
{
	if (!s->dash)
		s->dash = calloc(1, sizeof(*s->dash));
	return s->dash;
}

/* ---------------------------------------------------------------- sessions */

static int random_hex(char out[ID_HEX + 1])
{
	uint8_t r[ID_HEX / 2];

	if (kh_rand_bytes(r, sizeof(r)) < 0)
		return -EIO;
	kh_hex_encode(r, sizeof(r), out);
	out[ID_HEX] = 0;
	kh_memzero(r, sizeof(r));
	return 0;
}

static int expired(const struct dash_session *x, uint64_t now)
{
	return now - x->last >= SESSION_IDLE_MS || now - x->created >= SESSION_ABSOLUTE_MS;
}

static struct dash_session *session_new(struct kh_dash *d, uint64_t now)
{
	struct dash_session *x = &d->s[0];

	for (unsigned i = 0; i < SESSIONS; i++) {
		if (!d->s[i].id[0] || expired(&d->s[i], now)) {
			x = &d->s[i];
			break;
		}
		if (d->s[i].last < x->last)
			x = &d->s[i]; /* all taken: the idlest goes */
	}
	if (random_hex(x->id) < 0 || random_hex(x->csrf) < 0) {
		memset(x, 0, sizeof(*x));
		return NULL;
	}
	x->created = x->last = now;
	return x;
}

/* The live session the request's cookie names, touched; NULL if none. Constant time. */
static struct dash_session *session_find(struct kh_srv *s, const struct kh_http_req *req)
{
	char id[ID_HEX + 2];
	struct kh_dash *d = s->dash;
	struct dash_session *found = NULL;
	uint64_t now = kh_time_mono_ms();

	if (!d || kh_web_cookie_get(req->cookie, COOKIE, id, sizeof(id)) != ID_HEX)
		return NULL;
	for (unsigned i = 0; i < SESSIONS; i++) {
		struct dash_session *x = &d->s[i];
		if (!x->id[0])
			continue;
		if (expired(x, now)) {
			memset(x, 0, sizeof(*x));
			continue;
		}
		if (kh_ct_memeq(x->id, id, ID_HEX))
			found = x;
	}
	if (found)
		found->last = now;
	return found;
}

int kh_dash_session_ok(struct kh_srv *s, const struct kh_http_req *req)
{
	return session_find(s, req) != NULL;
}

/* ---------------------------------------------------------------- output */

struct html {
	char *p;
	size_t len, cap;
	int oom;
	int english;
	const char *self; /* the request's path, for the other language's link */
};

static void putn(struct html *h, const char *s, size_t n)
{
	if (h->oom)
		return;
	if (h->len + n + 1 > h->cap) {
		size_t cap = h->cap ? h->cap : 16384;
		char *m;
		while (cap < h->len + n + 1)
			cap *= 2;
		if (!(m = realloc(h->p, cap))) {
			h->oom = 1;
			return;
		}
		h->p = m;
		h->cap = cap;
	}
	memcpy(h->p + h->len, s, n);
	h->len += n;
	h->p[h->len] = 0;
}

static void put(struct html *h, const char *s)
{
	putn(h, s, strlen(s));
}

static void putf(struct html *h, const char *fmt, ...) KH_PRINTF(2, 3);
static void putf(struct html *h, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n > 0)
		putn(h, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

/* Text from the store or the request: & < > " ' escaped, control characters as spaces. */
static void esc(struct html *h, const char *s)
{
	for (; *s; s++) {
		const char *e = kh_html_entity(*s);
		if (e)
			put(h, e);
		else
			putn(h, (unsigned char)*s < 0x20 || *s == 0x7f ? " " : s, 1);
	}
}

#define L(vi_, en_) (h->english ? (en_) : (vi_))

static void put_time(struct html *h, int64_t t)
{
	char b[32];

	if (!t) {
		put(h, L("chưa bao giờ", "never"));
		return;
	}
	kh_fmt_utc(t, b, sizeof(b));
	put(h, b);
}

/* An audit result (pass, fail, na, error) in words; anything else as it is. */
static void put_result(struct html *h, const char *r)
{
	put(h, "<td>");
	if (!strcmp(r, "pass"))
		put(h, L("đạt", "pass"));
	else if (!strcmp(r, "fail"))
		put(h, L("<b>không đạt</b>", "<b>fail</b>"));
	else if (!strcmp(r, "na"))
		put(h, L("không áp dụng", "n/a"));
	else if (!strcmp(r, "error"))
		put(h, L("lỗi", "error"));
	else
		esc(h, r);
	put(h, "</td>");
}

static void put_sev(struct html *h, int sev)
{
	static const char *const vi[KH_SEV_COUNT] = {"thấp", "trung bình", "cao", "nghiêm trọng"};

	putf(h, "<span class=\"sev%d\">", sev >= 0 && sev < KH_SEV_COUNT ? sev : 0);
	put(h, sev >= 0 && sev < KH_SEV_COUNT ? L(vi[sev], kh_severity_name(sev)) : "?");
	put(h, "</span>");
}

/* "&lang=en" for links when the page is English, else "". */
static const char *lq(const struct html *h)
{
	return h->english ? "&amp;lang=en" : "";
}

/* English if the query says lang=en, else if Accept-Language names en before vi. */
static int wants_english(const struct kh_http_req *r)
{
	char v[4];

	if (kh_api_query(r->query, "lang", v, sizeof(v)) == 0)
		return strcmp(v, "en") == 0;
	return kh_http_prefers_english(r->accept_language);
}

static const char css[] =
	"body{font-family:system-ui,sans-serif;margin:0;color:#222;background:#f6f7f9}"
	"header{background:#0d3b66;color:#fff;padding:.6em 1em}header a{color:#fff;"
	"margin-right:1em}header a.on{font-weight:bold;text-decoration:underline}"
	"header form{display:inline;float:right}main{padding:1em;max-width:72em}"
	"h1{font-size:1.4em;margin:.2em 0}h2{font-size:1.1em;margin-top:1.4em}"
	".cards{display:flex;flex-wrap:wrap;gap:1em}.card{background:#fff;border:1px solid #ddd;"
	"border-radius:8px;padding:.8em 1.2em;min-width:12em}.card b{display:block;"
	"font-size:1.8em}table{border-collapse:collapse;background:#fff;margin:.4em 0}"
	"td,th{text-align:left;padding:.3em .6em;border-bottom:1px solid #e4e4e4;"
	"word-break:break-word;vertical-align:top}th{background:#eef1f5}td.n{text-align:right}"
	".bar{background:#c62828;height:.8em;display:inline-block}"
	".sev3{color:#b71c1c;font-weight:bold}.sev2{color:#c62828}.sev1{color:#e65100}"
	".msg{background:#fff3cd;border:1px solid #e0c36a;padding:.6em;border-radius:6px}"
	"dl{display:grid;grid-template-columns:max-content auto;gap:.2em 1em}dt{font-weight:bold}"
	"dd{margin:0;word-break:break-all}.lang{float:right;margin-left:1em}"
	"button.danger{background:#b71c1c;color:#fff;border:0;padding:.5em 1em;border-radius:4px}";

static const char *const nav[][3] = {
	{"/dashboard/", "Tổng quan", "Overview"},
	{"/dashboard/incidents", "Sự cố", "Incidents"},
	{"/dashboard/compliance", "Tuân thủ", "Compliance"},
	{"/dashboard/warnings", "Khách hàng cần cảnh báo", "Customers to warn"},
	{"/dashboard/devices", "Thiết bị", "Devices"},
	{"/dashboard/events", "Sự kiện", "Events"},
};

/* A CSRF field for the session's forms (none with the bearer header: it cannot be forged). */
static void csrf_field(struct html *h, const struct dash_session *x)
{
	if (x)
		putf(h, "<input type=\"hidden\" name=\"csrf\" value=\"%s\">", x->csrf); /* hex */
}

/* The page up to its <main>; path: this page (the language link keeps it). */
static void page_start(struct html *h, const char *path, const char *title,
		       const struct dash_session *x, int logged_in)
{
	put(h, "<!DOCTYPE html>\n<html lang=\"");
	put(h, L("vi", "en"));
	put(h, "\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" "
	       "content=\"width=device-width,initial-scale=1\"><title>");
	esc(h, title);
	put(h, " · Khiên</title><style>");
	put(h, css);
	put(h, "</style></head><body><header><a class=\"lang\" href=\"");
	esc(h, h->self ? h->self : path);
	put(h, h->english ? "?lang=vi\">Tiếng Việt</a>" : "?lang=en\">English</a>");
	if (logged_in) {
		for (size_t i = 0; i < KH_ARRAY_SIZE(nav); i++) {
			putf(h, "<a href=\"%s%s\"%s>", nav[i][0], h->english ? "?lang=en" : "",
			     strcmp(nav[i][0], path) == 0 ? " class=\"on\"" : "");
			put(h, L(nav[i][1], nav[i][2]));
			put(h, "</a>");
		}
		if (x) {
			put(h, "<form method=\"post\" action=\"/dashboard/logout\">");
			csrf_field(h, x);
			put(h, "<button>");
			put(h, L("Đăng xuất", "Log out"));
			put(h, "</button></form>");
		}
	} else {
		put(h, "<b>Khiên</b>");
	}
	put(h, "</header><main><h1>");
	esc(h, title);
	put(h, "</h1>\n");
}

static const char security_headers[] =
	"Cache-Control: no-store\r\n"
	"X-Content-Type-Options: nosniff\r\n"
	"X-Frame-Options: DENY\r\n"
	"Referrer-Policy: same-origin\r\n"
	"Content-Security-Policy: default-src 'none'; style-src 'unsafe-inline'; "
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'\r\n";

/* The page as the answer (h's buffer is handed over); extra: more header lines or "". */
static void send_page(struct kh_api_resp *resp, int status, struct html *h, const char *extra)
{
	put(h, "</main></body></html>\n");
	if (h->oom) {
		free(h->p);
		return kh_api_error(resp, 500, "out of memory");
	}
	resp->status = status;
	resp->content_type = "text/html; charset=utf-8";
	resp->body = (uint8_t *)h->p;
	resp->data = resp->body;
	resp->len = h->len;
	snprintf(resp->extra, sizeof(resp->extra), "%s%s", security_headers, extra);
}

/* 303 to where, with cookie ("" none) among the headers. */
static void see_other(struct kh_api_resp *resp, const char *where, const char *cookie)
{
	resp->status = 303;
	snprintf(resp->extra, sizeof(resp->extra), "Location: %s\r\n%s%s", where, security_headers,
		 cookie);
}

/* ---------------------------------------------------------------- who asks */

struct page {
	struct html h;
	struct dash_session *sess; /* NULL: the bearer header */
	int ok;			   /* the operator */
};

/*
 * Who is asking: the bearer header, else a session cookie. A page for
 * nobody sends the browser to the login form (and answers 0).
 */
static int page_begin(struct kh_srv *s, const struct call *rq, struct kh_api_resp *resp,
		      struct page *p)
{
	memset(p, 0, sizeof(*p));
	p->h.english = wants_english(rq->req);
	p->h.self = rq->req->path;
	if (kh_api_operator_ok(s, rq->req->authorization))
		return p->ok = 1;
	if ((p->sess = session_find(s, rq->req)) != NULL)
		return p->ok = 1;
	see_other(resp, p->h.english ? "/dashboard/login?lang=en" : "/dashboard/login", "");
	return 0;
}

/* 1 if Origin and Referer, where present, name the Host the request was sent to. */
static int same_origin(const struct kh_http_req *r)
{
	for (int i = 0; i < 2; i++) {
		const char *v = i ? r->referer : r->origin;
		if (v[0] && strcasecmp(v, r->host) != 0)
			return 0;
	}
	return 1;
}

/* A page saying why a request was refused. */
static void refused(struct kh_api_resp *resp, struct page *p, int status, const char *vi,
		    const char *en)
{
	struct html *h = &p->h;

	page_start(h, "/dashboard/", L("Bị từ chối", "Refused"), p->sess, p->ok);
	put(h, "<p class=\"msg\">");
	put(h, L(vi, en));
	put(h, "</p>");
	send_page(resp, status, h, "");
}

/*
 * A form that changes something: the operator, from our own pages, and with
 * a session the session's CSRF token (the bearer header needs none: a page
 * elsewhere cannot make a browser send it). 1 if it may go on; else the
 * refusal is answered.
 */
static int form_ok(struct kh_srv *s, const struct call *rq, struct kh_api_resp *resp,
		   struct page *p)
{
	char tok[ID_HEX + 2];

	memset(p, 0, sizeof(*p));
	p->h.english = wants_english(rq->req);
	if (kh_api_operator_ok(s, rq->req->authorization))
		return p->ok = 1;
	p->sess = session_find(s, rq->req);
	p->ok = p->sess != NULL;
	if (!p->sess) {
		refused(resp, p, 403, "Chưa đăng nhập hoặc phiên đã hết hạn.",
			"Not logged in, or the session has expired.");
		return 0;
	}
	if (!same_origin(rq->req)) {
		refused(resp, p, 403, "Yêu cầu không đến từ trang của máy chủ này.",
			"The request did not come from this server's pages.");
		return 0;
	}
	if (kh_web_form_get((const char *)rq->body, rq->len, "csrf", tok, sizeof(tok)) != ID_HEX ||
	    !kh_ct_memeq(tok, p->sess->csrf, ID_HEX)) {
		refused(resp, p, 403, "Thiếu mã chống giả mạo (CSRF) hoặc mã không đúng.",
			"The anti-forgery (CSRF) token is missing or wrong.");
		return 0;
	}
	return 1;
}

/* ---------------------------------------------------------------- login */

static void login_page(struct kh_api_resp *resp, struct html *h, int status, const char *msg)
{
	page_start(h, "/dashboard/login", L("Đăng nhập bảng điều khiển", "Dashboard login"), NULL,
		   0);
	if (msg) {
		put(h, "<p class=\"msg\">");
		put(h, msg);
		put(h, "</p>");
	}
	putf(h, "<form method=\"post\" action=\"/dashboard/login%s\"><p><label>",
	     h->english ? "?lang=en" : "");
	put(h, L("Mã truy cập của nhà vận hành (tệp operator.token)",
		 "Operator token (the operator.token file)"));
	put(h, "<br><input type=\"password\" name=\"password\" autocomplete=\"off\" size=\"48\" "
	       "required></label></p><p><button>");
	put(h, L("Đăng nhập", "Log in"));
	put(h, "</button></p></form>");
	send_page(resp, status, h, "");
}

void kh_dash_login_form(struct kh_srv *s, const struct call *rq, struct kh_api_resp *resp)
{
	struct html h = {.english = wants_english(rq->req)};

	(void)s;
	login_page(resp, &h, 200, NULL);
}

void kh_dash_login(struct kh_srv *s, const struct call *rq, struct kh_api_resp *resp)
{
	struct html hh = {.english = wants_english(rq->req)}, *h = &hh;
	struct kh_dash *d = dash(s);
	char tok[KH_HTTP_VALUE_MAX + 1], auth[KH_HTTP_VALUE_MAX + 16], cookie[200], msg[160];
	uint64_t now = kh_time_mono_ms(), wait;
	struct dash_session *x;
	int ok;

	if (!d)
		return kh_api_error(resp, 503, "out of memory");
	if ((wait = kh_lockout_wait(&d->lock, now)) > 0) {
		snprintf(msg, sizeof(msg),
			 h->english ? "Too many failed attempts: try again in %llu s."
				    : "Quá nhiều lần thử sai: hãy thử lại sau %llu giây.",
			 (unsigned long long)(wait + 999) / 1000);
		login_page(resp, h, 429, msg);
		snprintf(resp->extra + strlen(resp->extra),
			 sizeof(resp->extra) - strlen(resp->extra), "Retry-After: %llu\r\n",
			 (unsigned long long)(wait + 999) / 1000);
		return;
	}
	if (!same_origin(rq->req))
		return login_page(resp, h, 403,
				  L("Yêu cầu không đến từ trang của máy chủ này.",
				    "The request did not come from this server's pages."));
	ok = kh_web_form_get((const char *)rq->body, rq->len, "password", tok, sizeof(tok)) > 0;
	if (ok) {
		snprintf(auth, sizeof(auth), "Bearer %s", tok);
		ok = kh_api_operator_ok(s, auth); /* hashed, compared in constant time */
	}
	kh_memzero(tok, sizeof(tok));
	kh_memzero(auth, sizeof(auth));
	if (!ok) {
		if (kh_lockout_fail(&d->lock, now))
			log_notice("dashboard: %u failed logins in %u s: logins locked for %u s "
				   "(last from %s)",
				   KH_LOCK_FAILS, KH_LOCK_WINDOW_MS / 1000, KH_LOCK_MS / 1000,
				   rq->peer ? rq->peer->addr : "?");
		return login_page(resp, h, 401, L("Sai mã truy cập.", "Wrong token."));
	}
	kh_lockout_ok(&d->lock);
	if (!(x = session_new(d, now)))
		return kh_api_error(resp, 503, "no randomness");
	log_notice("dashboard: operator logged in from %s", rq->peer ? rq->peer->addr : "?");
	snprintf(cookie, sizeof(cookie),
		 "Set-Cookie: " COOKIE "=%s; Path=/dashboard; Max-Age=%llu; HttpOnly; Secure; "
		 "SameSite=Strict\r\n",
		 x->id, SESSION_ABSOLUTE_MS / 1000);
	see_other(resp, h->english ? "/dashboard/?lang=en" : "/dashboard/", cookie);
}

void kh_dash_logout(struct kh_srv *s, const struct call *rq, struct kh_api_resp *resp)
{
	struct page p;

	if (!form_ok(s, rq, resp, &p))
		return;
	if (p.sess)
		memset(p.sess, 0, sizeof(*p.sess));
	see_other(resp, p.h.english ? "/dashboard/login?lang=en" : "/dashboard/login",
		  "Set-Cookie: " COOKIE "=; Path=/dashboard; Max-Age=0; HttpOnly; Secure; "
		  "SameSite=Strict\r\n");
}

/* ---------------------------------------------------------------- tables */

/* "<table><tr><th>..." with n columns, each a Vietnamese and an English title. */
static void table_head(struct html *h, const char *const *cols, unsigned n)
{
	put(h, "<table><tr>");
	for (unsigned i = 0; i < n; i++) {
		put(h, "<th>");
		put(h, L(cols[2 * i], cols[2 * i + 1]));
		put(h, "</th>");
	}
	put(h, "</tr>");
}

static void td_text(struct html *h, const char *t)
{
	put(h, "<td>");
	esc(h, t);
	put(h, "</td>");
}

static void td_num(struct html *h, uint64_t n)
{
	putf(h, "<td class=\"n\">%llu</td>", (unsigned long long)n);
}

/* A link to a device's page, its serial escaped (a serial is [A-Za-z0-9._-], but still). */
static void td_device(struct html *h, const char *serial)
{
	put(h, "<td><a href=\"/dashboard/device/");
	esc(h, serial);
	put(h, h->english ? "?lang=en\">" : "\">");
	esc(h, serial);
	put(h, "</a></td>");
}

static void none_row(struct html *h, unsigned cols)
{
	putf(h, "<tr><td colspan=\"%u\">", cols);
	put(h, L("(không có)", "(none)"));
	put(h, "</td></tr>");
}

struct count_rows {
	struct html *h;
	unsigned rows;
	int link; /* the key is a serial */
};

static int count_row(void *arg, const struct kh_count *c)
{
	struct count_rows *t = arg;
	struct html *h = t->h;

	put(h, "<tr>");
	if (t->link)
		td_device(h, c->key);
	else
		td_text(h, c->key[0] ? c->key : L("(chưa báo)", "(not reported)"));
	td_num(h, c->n);
	put(h, "</tr>");
	t->rows++;
	return 0;
}

/* A two-column table of one count (key, number), at most limit rows. */
static int count_table(struct kh_srv *s, struct html *h, enum kh_count_by by, int64_t since,
		       unsigned limit, const char *const cols[4], int link)
{
	struct count_rows t = {h, 0, link};
	int err;

	table_head(h, cols, 2);
	err = kh_store_counts(s->store, by, since, 1, limit, count_row, &t);
	if (!t.rows)
		none_row(h, 2);
	put(h, "</table>");
	return err;
}

static void store_failed(struct html *h)
{
	put(h, "<p class=\"msg\">");
	put(h,
	    L("Kho dữ liệu không trả lời; hãy thử lại.", "The store did not answer; try again."));
	put(h, "</p>");
}

/* ---------------------------------------------------------------- overview */

struct status_counts {
	uint64_t active, recent, revoked;
};

static int take_status(void *arg, const struct kh_count *c)
{
	struct status_counts *t = arg;

	if (strcmp(c->key, "active") == 0) {
		t->active = c->n;
		t->recent = c->recent;
	} else {
		t->revoked += c->n;
	}
	return 0;
}

static void card(struct html *h, uint64_t n, const char *vi, const char *en)
{
	putf(h, "<div class=\"card\"><b>%llu</b>", (unsigned long long)n);
	put(h, L(vi, en));
	put(h, "</div>");
}

static const char *jstr(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsString(v) ? v->valuestring : "";
}

static uint64_t jnum(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsNumber(v) && v->valuedouble >= 0 ? (uint64_t)v->valuedouble : 0;
}

static void rollouts(struct kh_srv *s, struct html *h, int64_t now)
{
	static const char *const cols[] = {
		"Nhóm",	     "Group",	 "Phiên bản", "Version", "Trạng thái", "State",
		"Giai đoạn", "Stage",	 "Thiết bị",  "Devices", "Đã áp dụng", "Applied",
		"Từ chối",   "Rejected", "Im lặng",   "Silent",
	};
	cJSON *arr = kh_srv_rollouts_json(s, NULL, now), *r;

	put(h, "<h2>");
	put(h, L("Triển khai chính sách theo giai đoạn", "Staged policy rollouts"));
	put(h, "</h2>");
	if (!arr)
		return store_failed(h);
	table_head(h, cols, 8);
	cJSON_ArrayForEach (r, arr) {
		const cJSON *t = cJSON_GetObjectItemCaseSensitive(r, "total");
		const char *st = jstr(r, "state");
		put(h, "<tr>");
		td_text(h, jstr(r, "group"));
		td_num(h, jnum(r, "version"));
		td_text(h, !strcmp(st, "active")   ? L("đang chạy", "active")
			   : !strcmp(st, "halted") ? L("đã dừng", "halted")
			   : !strcmp(st, "done")   ? L("hoàn tất", "done")
						   : st);
		td_text(h, jstr(r, "stage"));
		td_num(h, jnum(t, "devices"));
		td_num(h, jnum(t, "applied"));
		td_num(h, jnum(t, "rejected"));
		td_num(h, jnum(t, "silent"));
		put(h, "</tr>");
		if (jstr(r, "reason")[0]) {
			put(h, "<tr><td colspan=\"8\">");
			esc(h, jstr(r, "reason"));
			put(h, "</td></tr>");
		}
	}
	if (!cJSON_GetArraySize(arr))
		none_row(h, 8);
	put(h, "</table>");
	cJSON_Delete(arr);
}

void kh_dash_overview(struct kh_srv *s, const struct call *rq, struct kh_api_resp *resp)
{
	static const char *const fw_cols[] = {"Firmware", "Firmware", "Thiết bị", "Devices"};
	static const char *const pol_cols[] = {"Phiên bản chính sách", "Policy version", "Thiết bị",
					       "Devices"};
	struct status_counts c = {0};
	struct page p;
	struct html *h = &p.h;
	int err;

	if (!page_begin(s, rq, resp, &p))
		return;
	page_start(h, "/dashboard/", L("Tổng quan đội thiết bị", "Fleet overview"), p.sess, 1);
	err = kh_store_counts(s->store, KH_COUNT_DEV_STATUS, rq->now - (int64_t)s->cfg.interval_s,
			      1, 8, take_status, &c);
	put(h, "<div class=\"cards\">");
	card(h, c.active, "thiết bị đang hoạt động", "active devices");
	putf(h, "<div class=\"card\"><b>%llu</b>", (unsigned long long)c.recent);
	putf(h,
	     L("trực tuyến trong chu kỳ vừa qua (%u giây)", "online in the last interval (%u s)"),
	     s->cfg.interval_s);
	put(h, "</div>");
	card(h, c.revoked, "đã thu hồi", "revoked");
	put(h, "</div><h2>");
	put(h, L("Theo phiên bản firmware", "By firmware version"));
	put(h, "</h2>");
	err |= count_table(s, h, KH_COUNT_DEV_FIRMWARE, 0, 20, fw_cols, 0);
	put(h, "<h2>");
	put(h, L("Theo phiên bản chính sách đang chạy", "By policy version running"));
	put(h, "</h2>");
	err |= count_table(s, h, KH_COUNT_DEV_POLICY, 0, 20, pol_cols, 0);
	rollouts(s, h, rq->now);
	if (err)
		store_failed(h);
	send_page(resp, 200, h, "");
}

/* ---------------------------------------------------------------- incidents */

#define BUCKETS_MAX 24

struct timeline {
	int64_t first;
	unsigned bucket_s, n;
	uint64_t c[BUCKETS_MAX][KH_SEV_COUNT];
};

static int take_time(void *arg, const struct kh_count *c)
{
	struct timeline *t = arg;
	int64_t i = (c->bucket - t->first) / t->bucket_s;

	if (i >= 0 && i < t->n && c->severity >= 0 && c->severity < KH_SEV_COUNT)
		t->c[i][c->severity] += c->n;
	return 0;
}

#define CATS_MAX 64
struct cats {
	unsigned n;
	struct {
		char key[KH_SERIAL_MAX + 1];
		uint64_t c[KH_SEV_COUNT], total;
	} k[CATS_MAX];
};

static int take_cat(void *arg, const struct kh_count *c)
{
	struct cats *t = arg;
	unsigned i;

	for (i = 0; i < t->n && strcmp(t->k[i].key, c->key) != 0; i++)
		;
	if (i == t->n) {
		if (t->n == CATS_MAX)
			return 0;
		kh_strlcpy(t->k[t->n++].key, c->key, sizeof(t->k[0].key));
	}
	if (c->severity >= 0 && c->severity < KH_SEV_COUNT)
		t->k[i].c[c->severity] += c->n;
	t->k[i].total += c->n;
	return 0;
}

/* A table's head: the first column, one per severity (highest first), the total, and extra. */
static void sev_heads(struct html *h, const char *vi, const char *en, int extra)
{
	put(h, "<table><tr><th>");
	put(h, L(vi, en));
	put(h, "</th>");
	for (int k = KH_SEV_COUNT - 1; k >= 0; k--) {
		put(h, "<th>");
		put_sev(h, k);
		put(h, "</th>");
	}
	put(h, "<th>");
	put(h, L("Tổng", "Total"));
	put(h, extra ? "</th><th></th></tr>" : "</th></tr>");
}

void kh_dash_incidents(struct kh_srv *s, const struct call *rq, struct kh_api_resp *resp)
{
	static const char *const threat_cols[] = {"Tên miền bị chặn", "Blocked name", "Sự kiện",
						  "Events"};
	static const char *const dev_cols[] = {"Thiết bị", "Device", "Sự kiện", "Events"};
	static struct timeline tl;
	static struct cats cats;
	struct page p;
	struct html *h = &p.h;
	char range[4] = "24h";
	int week, err;
	uint64_t max = 1;

	if (!page_begin(s, rq, resp, &p))
		return;
	kh_api_query(rq->req->query, "range", range, sizeof(range));
	week = strcmp(range, "7d") == 0;
	memset(&tl, 0, sizeof(tl));
	memset(&cats, 0, sizeof(cats));
	tl.bucket_s = week ? 86400 : 3600;
	tl.n = week ? 7 : 24;
	tl.first = (rq->now / tl.bucket_s - (tl.n - 1)) * tl.bucket_s;
	page_start(h, "/dashboard/incidents", L("Sự cố", "Incidents"), p.sess, 1);
	putf(h, "<p><a href=\"/dashboard/incidents?range=24h%s\">", lq(h));
	put(h, L("24 giờ qua", "Last 24 hours"));
	putf(h, "</a> · <a href=\"/dashboard/incidents?range=7d%s\">", lq(h));
	put(h, L("7 ngày qua", "Last 7 days"));
	put(h, "</a> — ");
	put(h, week ? L("7 ngày qua, theo ngày (UTC)", "last 7 days, by day (UTC)")
		    : L("24 giờ qua, theo giờ (UTC)", "last 24 hours, by hour (UTC)"));
	put(h, "</p><h2>");
	put(h, L("Sự kiện theo thời gian và mức độ", "Events over time by severity"));
	put(h, "</h2>");
	err = kh_store_counts(s->store, KH_COUNT_EV_TIME, tl.first, tl.bucket_s,
			      tl.n * KH_SEV_COUNT, take_time, &tl);
	for (unsigned i = 0; i < tl.n; i++) {
		uint64_t t = 0;
		for (int k = 0; k < KH_SEV_COUNT; k++)
			t += tl.c[i][k];
		max = t > max ? t : max;
	}
	sev_heads(h, "Từ", "From", 1);
	for (unsigned i = 0; i < tl.n; i++) {
		uint64_t t = 0;
		put(h, "<tr><td>");
		put_time(h, tl.first + (int64_t)i * tl.bucket_s);
		put(h, "</td>");
		for (int k = KH_SEV_COUNT - 1; k >= 0; k--) {
			td_num(h, tl.c[i][k]);
			t += tl.c[i][k];
		}
		td_num(h, t);
		putf(h, "<td><span class=\"bar\" style=\"width:%llupx\"></span></td></tr>",
		     (unsigned long long)(t * 200 / max));
	}
	put(h, "</table><h2>");
	put(h, L("Theo loại và mức độ", "By category and severity"));
	put(h, "</h2>");
	err |= kh_store_counts(s->store, KH_COUNT_EV_CATEGORY, tl.first, 1, CATS_MAX * KH_SEV_COUNT,
			       take_cat, &cats);
	sev_heads(h, "Loại", "Category", 0);
	for (unsigned i = 0; i < cats.n; i++) {
		put(h, "<tr>");
		td_text(h, cats.k[i].key);
		for (int k = KH_SEV_COUNT - 1; k >= 0; k--)
			td_num(h, cats.k[i].c[k]);
		td_num(h, cats.k[i].total);
		put(h, "</tr>");
	}
	if (!cats.n)
		none_row(h, KH_SEV_COUNT + 2);
	put(h, "</table><h2>");
	put(h, L("Mối đe dọa hàng đầu", "Top threats"));
	put(h, "</h2>");
	err |= count_table(s, h, KH_COUNT_EV_THREAT, tl.first, TOP, threat_cols, 0);
	put(h, "<h2>");
	put(h, L("Thiết bị có nhiều sự kiện nhất", "Top devices"));
	put(h, "</h2>");
	err |= count_table(s, h, KH_COUNT_EV_DEVICE, tl.first, TOP, dev_cols, 1);
	if (err)
		store_failed(h);
	send_page(resp, 200, h, "");
}

/* ---------------------------------------------------------------- compliance */

static int comp_row(void *arg, const struct kh_compliance *c)
{
	struct count_rows *t = arg;
	struct html *h = t->h;

	put(h, "<tr>");
	td_text(h, c->check);
	put(h, "<td>");
	put_sev(h, kh_severity_parse(c->severity));
	put(h, "</td>");
	td_num(h, c->pass);
	td_num(h, c->fail);
	td_num(h, c->na);
	td_num(h, c->error);
	put(h, "</tr>");
	t->rows++;
	return 0;
}

static int failing_row(void *arg, const struct kh_audit_rec *r)
{
	struct count_rows *t = arg;
	struct html *h = t->h;
	int sev = kh_severity_parse(r->severity);

	if (sev < KH_SEV_HIGH)
		return 0;
	put(h, "<tr>");
	td_device(h, r->serial);
	td_text(h, r->check);
	put(h, "<td>");
	put_sev(h, sev);
	put(h, "</td>");
	put_result(h, r->result);
	td_text(h, r->evidence);
	put(h, "</tr>");
	return ++t->rows >= FAILING_ROWS;
}

/* The integrity check's and the firmware's event types (docs/PROTOCOL.md). */
static const char *const integrity_types[] = {
	"file_changed",	    "file_added", "file_removed",	"process_suspicious",
	"socket_listening", "dns_hijack", "integrity_overflow", "firmware_mismatch",
};

void kh_dash_compliance(struct kh_srv *s, const struct call *rq, struct kh_api_resp *resp)
{
	static const char *const cols[] = {"Kiểm tra",	    "Check", "Mức độ",	  "Severity",
					   "Đạt",	    "Pass",  "Không đạt", "Fail",
					   "Không áp dụng", "N/A",   "Lỗi",	  "Error"};
	static const char *const fcols[] = {"Thiết bị",	  "Device",   "Kiểm tra", "Check",
					    "Mức độ",	  "Severity", "Kết quả",  "Result",
					    "Bằng chứng", "Evidence"};
	static const char *const icols[] = {"Loại sự kiện", "Event type", "Sự kiện (7 ngày)",
					    "Events (7 days)"};
	static struct cats cats;
	struct count_rows t = {NULL, 0, 0};
	struct page p;
	struct html *h = &p.h;
	int err;

	if (!page_begin(s, rq, resp, &p))
		return;
	t.h = h;
	page_start(h, "/dashboard/compliance", L("Tuân thủ", "Compliance"), p.sess, 1);
	put(h, "<h2>");
	put(h, L("Theo từng kiểm tra cấu hình (số thiết bị)", "Per audit check (devices)"));
	put(h, "</h2>");
	table_head(h, cols, 6);
	err = kh_store_compliance(s->store, comp_row, &t);
	if (!t.rows)
		none_row(h, 6);
	put(h, "</table><h2>");
	put(h, L("Thiết bị không đạt kiểm tra mức nghiêm trọng hoặc cao",
		 "Devices failing critical or high checks"));
	put(h, "</h2>");
	t.rows = 0;
	table_head(h, fcols, 5);
	if (kh_store_audits(s->store, NULL, NULL, 1, failing_row, &t) < 0)
		err = -EIO;
	if (!t.rows)
		none_row(h, 5);
	put(h, "</table>");
	if (t.rows >= FAILING_ROWS)
		putf(h, L("<p>%u đầu tiên.</p>", "<p>The first %u.</p>"), FAILING_ROWS);
	put(h, "<h2>");
	put(h, L("Toàn vẹn và firmware", "Integrity and firmware"));
	put(h, "</h2>");
	memset(&cats, 0, sizeof(cats));
	err |= kh_store_counts(s->store, KH_COUNT_EV_TYPE, rq->now - 7 * 86400, 1,
			       CATS_MAX * KH_SEV_COUNT, take_cat, &cats);
	table_head(h, icols, 2);
	for (size_t i = 0; i < KH_ARRAY_SIZE(integrity_types); i++) {
		uint64_t n = 0;
		for (unsigned k = 0; k < cats.n; k++)
			if (strcmp(cats.k[k].key, integrity_types[i]) == 0)
				n = cats.k[k].total;
		put(h, "<tr>");
		td_text(h, integrity_types[i]);
		td_num(h, n);
		put(h, "</tr>");
	}
	put(h, "</table>");
	if (err)
		store_failed(h);
	send_page(resp, 200, h, "");
}

/* ---------------------------------------------------------------- customers to warn */

static int newest_id(void *arg, const struct kh_event_rec *e)
{
	*(int64_t *)arg = e->id;
	return 1;
}

void kh_dash_warnings(struct kh_srv *s, const struct call *rq, struct kh_api_resp *resp)
{
	static const char *const cols[] = {"Thiết bị",
					   "Device",
					   "Máy khách (bí danh)",
					   "Client (pseudonym)",
					   "Mối đe dọa",
					   "Threat",
					   "Lần đầu (đồng hồ thiết bị)",
					   "First seen (device clock)",
					   "Lần cuối",
					   "Last seen",
					   "Số lần",
					   "Count"};
	struct kh_warning *w = NULL;
	struct page p;
	struct html *h = &p.h;
	int64_t newest = 0;
	size_t n = 0;
	int err;

	if (!page_begin(s, rq, resp, &p))
		return;
	page_start(h, "/dashboard/warnings", L("Khách hàng cần cảnh báo", "Customers to warn"),
		   p.sess, 1);
	putf(h,
	     L("<p>Máy khách trong mạng của khách hàng đã truy vấn tên miền độc hại (sự kiện "
	       "dns_blocked mức trung bình trở lên; Chỉ thị 18/CT-TTg §5), trong %u sự kiện mới "
	       "nhất. Danh sách đầy đủ: <code>khien-server warnings</code>.</p>",
	       "<p>LAN clients that asked for names of a security category (dns_blocked events "
	       "of severity medium or above; Directive 18/CT-TTg §5), among the newest %u "
	       "events. The full list: <code>khien-server warnings</code>.</p>"),
	     WARN_EVENTS);
	err = kh_store_events_before(s->store, 0, NULL, 1, newest_id, &newest);
	if (!err)
		err = kh_warnings_collect(s->store, NULL,
					  newest > WARN_EVENTS ? newest - WARN_EVENTS : 0,
					  WARN_EVENTS, &w, &n);
	table_head(h, cols, 6);
	for (size_t i = 0; i < n && i < 500; i++) {
		put(h, "<tr>");
		td_device(h, w[i].serial);
		td_text(h, w[i].client);
		td_text(h, w[i].category);
		put(h, "<td>");
		put_time(h, w[i].first);
		put(h, "</td><td>");
		put_time(h, w[i].last);
		put(h, "</td>");
		td_num(h, w[i].count);
		put(h, "</tr>");
	}
	if (!n)
		none_row(h, 6);
	put(h, "</table>");
	free(w);
	if (err)
		store_failed(h);
	send_page(resp, 200, h, "");
}

/* ---------------------------------------------------------------- lists */

struct dev_rows {
	struct html *h;
	int64_t online_since;
	unsigned rows;
	char last[KH_SERIAL_MAX + 1];
};

static int dev_row(void *arg, const struct kh_device *d)
{
	struct dev_rows *t = arg;
	struct html *h = t->h;

	if (t->rows == PAGE_ROWS) {
		t->rows++; /* one more exists: there is a next page */
		return 1;
	}
	put(h, "<tr>");
	td_device(h, d->serial);
	td_text(h, d->group);
	td_text(h, d->status == KH_DEV_REVOKED	     ? L("đã thu hồi", "revoked")
		   : d->last_seen >= t->online_since ? L("trực tuyến", "online")
						     : L("hoạt động", "active"));
	put(h, "<td>");
	put_time(h, d->last_seen);
	put(h, "</td>");
	td_text(h, d->firmware);
	td_num(h, d->policy_version);
	td_num(h, d->checkins);
	put(h, "</tr>");
	kh_strlcpy(t->last, d->serial, sizeof(t->last));
	t->rows++;
	return 0;
}

void kh_dash_devices(struct kh_srv *s, const struct call *rq, struct kh_api_resp *resp)
{
	static const char *const cols[] = {
		"Số sê-ri",	     "Serial",	  "Nhóm",     "Group",	  "Trạng thái", "Status",
		"Lần cuối liên lạc", "Last seen", "Firmware", "Firmware", "Chính sách", "Policy",
		"Lần check-in",	     "Check-ins",
	};
	char after[KH_SERIAL_MAX + 2] = "";
	struct page p;
	struct html *h = &p.h;
	struct dev_rows t = {.h = NULL};
	int err = kh_api_query(rq->req->query, "after", after, sizeof(after));

	if (!page_begin(s, rq, resp, &p))
		return;
	if (err == -E2BIG || (err == 0 && after[0] && !kh_srv_serial_ok(after)))
		return refused(resp, &p, 400, "Tham số after không phải số sê-ri.",
			       "after: not a serial.");
	t.h = h;
	t.online_since = rq->now - (int64_t)s->cfg.interval_s;
	page_start(h, "/dashboard/devices", L("Thiết bị", "Devices"), p.sess, 1);
	table_head(h, cols, 7);
	err = kh_store_devices_after(s->store, after, PAGE_ROWS + 1, dev_row, &t);
	if (!t.rows)
		none_row(h, 7);
	put(h, "</table><p>");
	if (after[0]) {
		putf(h, "<a href=\"/dashboard/devices%s\">", h->english ? "?lang=en" : "");
		put(h, L("Trang đầu", "First page"));
		put(h, "</a> ");
	}
	if (t.rows > PAGE_ROWS) {
		put(h, "<a rel=\"next\" href=\"/dashboard/devices?after=");
		esc(h, t.last);
		put(h, lq(h));
		put(h, "\">");
		put(h, L("Trang sau →", "Next page →"));
		put(h, "</a>");
	}
	put(h, "</p>");
	if (err)
		store_failed(h);
	send_page(resp, 200, h, "");
}

struct ev_rows {
	struct html *h;
	unsigned rows, limit;
	int64_t last;
	int device_col;
};

/* The payload's name and category, or what it is when not an object. */
static void payload_words(struct html *h, const char *payload)
{
	cJSON *o = cJSON_Parse(payload);
	const char *keys[] = {"category", "name", "reason", "check", "version", "source"};
	int any = 0;

	for (size_t i = 0; o && i < KH_ARRAY_SIZE(keys); i++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, keys[i]);
		if (!cJSON_IsString(v) && !cJSON_IsNumber(v))
			continue;
		put(h, any ? " · " : "");
		esc(h, keys[i]);
		put(h, ": ");
		if (cJSON_IsString(v)) {
			char cut[161];
			kh_strlcpy(cut, v->valuestring, sizeof(cut));
			esc(h, cut);
		} else {
			putf(h, "%.0f", v->valuedouble);
		}
		any = 1;
	}
	cJSON_Delete(o);
}

static int ev_row(void *arg, const struct kh_event_rec *e)
{
	struct ev_rows *t = arg;
	struct html *h = t->h;

	if (t->rows == t->limit) {
		t->rows++;
		return 1;
	}
	putf(h, "<tr><td class=\"n\">%lld</td><td>", (long long)e->id);
	put_time(h, e->received);
	put(h, "</td>");
	if (t->device_col)
		td_device(h, e->serial);
	td_text(h, e->type);
	put(h, "<td>");
	put_sev(h, e->severity);
	put(h, "</td><td>");
	payload_words(h, e->payload);
	put(h, "</td></tr>");
	t->last = e->id;
	t->rows++;
	return 0;
}

static const char *const ev_cols[] = {"Mã",	  "Id",	      "Nhận lúc", "Received",
				      "Thiết bị", "Device",   "Loại",	  "Type",
				      "Mức độ",	  "Severity", "Chi tiết", "Details"};

/* the same without the device column (a device's own page) */
static const char *const dev_ev_cols[] = {"Mã",	  "Id",	    "Nhận lúc", "Received", "Loại",
					  "Type", "Mức độ", "Severity", "Chi tiết", "Details"};

void kh_dash_events(struct kh_srv *s, const struct call *rq, struct kh_api_resp *resp)
{
	char v[24], dev[KH_SERIAL_MAX + 2] = "";
	int64_t before = 0;
	struct page p;
	struct html *h = &p.h;
	struct ev_rows t = {.limit = PAGE_ROWS, .device_col = 1};
	int err;

	if (!page_begin(s, rq, resp, &p))
		return;
	if (kh_api_query(rq->req->query, "before", v, sizeof(v)) == 0) {
		char *end;
		before = strtoll(v, &end, 10);
		if (*end || before < 0)
			return refused(resp, &p, 400, "Tham số before không phải mã sự kiện.",
				       "before: not an event id.");
	}
	err = kh_api_query(rq->req->query, "device", dev, sizeof(dev));
	if (err == -E2BIG || (err == 0 && dev[0] && !kh_srv_serial_ok(dev)))
		return refused(resp, &p, 400, "Tham số device không phải số sê-ri.",
			       "device: not a serial.");
	t.h = h;
	page_start(h, "/dashboard/events", L("Sự kiện", "Events"), p.sess, 1);
	if (dev[0]) {
		put(h, "<p>");
		put(h, L("Của thiết bị ", "Of device "));
		esc(h, dev);
		put(h, "</p>");
	}
	table_head(h, ev_cols, 6);
	err = kh_store_events_before(s->store, before, dev[0] ? dev : NULL, PAGE_ROWS + 1, ev_row,
				     &t);
	if (!t.rows)
		none_row(h, 6);
	put(h, "</table><p>");
	if (before) {
		put(h, "<a href=\"/dashboard/events?device=");
		esc(h, dev);
		put(h, lq(h));
		put(h, "\">");
		put(h, L("Mới nhất", "Newest"));
		put(h, "</a> ");
	}
	if (t.rows > PAGE_ROWS) {
		putf(h, "<a rel=\"next\" href=\"/dashboard/events?before=%lld&amp;device=",
		     (long long)t.last);
		esc(h, dev);
		put(h, lq(h));
		put(h, "\">");
		put(h, L("Cũ hơn →", "Older →"));
		put(h, "</a>");
	}
	put(h, "</p>");
	if (err)
		store_failed(h);
	send_page(resp, 200, h, "");
}

/* ---------------------------------------------------------------- one device */

static void dt(struct html *h, const char *vi, const char *en)
{
	put(h, "<dt>");
	put(h, L(vi, en));
	put(h, "</dt><dd>");
}

static int audit_row(void *arg, const struct kh_audit_rec *r)
{
	struct count_rows *t = arg;
	struct html *h = t->h;

	put(h, "<tr>");
	td_text(h, r->check);
	put_result(h, r->result);
	put(h, "<td>");
	put_sev(h, kh_severity_parse(r->severity));
	put(h, "</td>");
	td_text(h, r->evidence);
	put(h, "<td>");
	put_time(h, r->updated_at);
	put(h, "</td></tr>");
	t->rows++;
	return 0;
}

/* The device's last reported counters (a JSON object from the device), as a table. */
static void health(struct html *h, const char *status_json)
{
	cJSON *o = cJSON_Parse(status_json), *v, *obj;
	int rows = 0;

	obj = cJSON_IsObject(o) ? o : NULL;
	put(h, "<table>");
	cJSON_ArrayForEach (v, obj) {
		put(h, "<tr>");
		td_text(h, v->string ? v->string : "");
		if (cJSON_IsNumber(v)) {
			putf(h, "<td class=\"n\">%.15g</td>", v->valuedouble);
		} else {
			char *t = cJSON_IsString(v) ? NULL : cJSON_PrintUnformatted(v);
			char cut[201];
			kh_strlcpy(cut,
				   cJSON_IsString(v) ? v->valuestring
				   : t		     ? t
						     : "",
				   sizeof(cut));
			td_text(h, cut);
			free(t);
		}
		put(h, "</tr>");
		if (++rows == 64)
			break;
	}
	if (!rows)
		none_row(h, 2);
	put(h, "</table>");
	cJSON_Delete(o);
}

void kh_dash_device(struct kh_srv *s, const struct call *rq, struct kh_api_resp *resp)
{
	static const char *const acols[] = {"Kiểm tra", "Check",    "Kết quả",	  "Result",
					    "Mức độ",	"Severity", "Bằng chứng", "Evidence",
					    "Cập nhật", "Updated"};
	static const char *const ccols[] = {"Mã", "Id", "Lệnh", "Command", "Tham số", "Argument"};
	static struct kh_device d;
	struct kh_command cmds[DEVICE_COMMANDS];
	struct kh_audit_head ah;
	struct count_rows t = {NULL, 0, 0};
	struct ev_rows et = {.limit = DEVICE_EVENTS};
	struct page p;
	struct html *h = &p.h;
	char fp[65], title[KH_SERIAL_MAX + 32];
	int n, err;

	if (!page_begin(s, rq, resp, &p))
		return;
	if (!kh_srv_serial_ok(rq->arg) ||
	    (err = kh_store_device_get(s->store, rq->arg, &d)) == -ENOENT)
		return refused(resp, &p, 404, "Không có thiết bị này.", "No such device.");
	if (err < 0)
		return refused(resp, &p, 503, "Kho dữ liệu không trả lời; hãy thử lại.",
			       "The store did not answer; try again.");
	t.h = et.h = h;
	snprintf(title, sizeof(title), "%s %s", L("Thiết bị", "Device"), d.serial);
	page_start(h, "/dashboard/devices", title, p.sess, 1);
	put(h, "<h2>");
	put(h, L("Danh tính", "Identity"));
	put(h, "</h2><dl>");
	dt(h, "Số sê-ri", "Serial");
	esc(h, d.serial);
	dt(h, "Nhóm", "Group");
	esc(h, d.group);
	dt(h, "Trạng thái", "Status");
	put(h, d.status == KH_DEV_REVOKED ? L("đã thu hồi", "revoked") : L("hoạt động", "active"));
	dt(h, "Phần cứng", "Hardware");
	esc(h, d.hardware_id);
	dt(h, "Firmware", "Firmware");
	esc(h, d.firmware);
	dt(h, "Chính sách đang chạy", "Policy running");
	putf(h, "%llu", (unsigned long long)d.policy_version);
	dt(h, "Đăng ký lúc", "Registered");
	put_time(h, d.created);
	dt(h, "Lần cuối liên lạc", "Last seen");
	put_time(h, d.last_seen);
	dt(h, "Số lần check-in", "Check-ins");
	putf(h, "%llu", (unsigned long long)d.checkins);
	dt(h, "Chứng chỉ hết hạn", "Certificate expires");
	put_time(h, d.cert_not_after);
	dt(h, "Dấu vân tay chứng chỉ (SHA-256)", "Certificate fingerprint (SHA-256)");
	kh_hex_encode(d.cert_sha256, 32, fp);
	put(h, fp);
	dt(h, "Sự kiện: đã lưu / thiết bị bỏ / vượt hạn mức",
	   "Events: stored up to / dropped on the device / refused over quota");
	putf(h, "%llu / %llu / %llu", (unsigned long long)d.last_seq,
	     (unsigned long long)d.events_dropped, (unsigned long long)d.events_refused);
	put(h, "</dd></dl><h2>");
	put(h, L("Tình trạng (lần check-in cuối)", "Health (last check-in)"));
	put(h, "</h2>");
	health(h, d.status_json);
	put(h, "<h2>");
	put(h, L("Kết quả kiểm tra cấu hình", "Audit results"));
	put(h, "</h2>");
	if (kh_store_audit_head(s->store, d.serial, &ah) == 0) {
		put(h, "<p>");
		esc(h, ah.policy);
		putf(h, " v%llu: ", (unsigned long long)ah.version);
		putf(h,
		     L("%u đạt, %u không đạt, %u không áp dụng, %u lỗi",
		       "%u pass, %u fail, %u n/a, %u error"),
		     ah.pass, ah.fail, ah.na, ah.error);
		put(h, "</p>");
	}
	table_head(h, acols, 5);
	err = kh_store_audits(s->store, d.serial, NULL, 0, audit_row, &t);
	if (!t.rows)
		none_row(h, 5);
	put(h, "</table><h2>");
	put(h, L("Sự kiện gần đây", "Recent events"));
	put(h, "</h2>");
	table_head(h, dev_ev_cols, 5);
	err |= kh_store_events_before(s->store, 0, d.serial, DEVICE_EVENTS + 1, ev_row, &et);
	if (!et.rows)
		none_row(h, 5);
	put(h, "</table><p><a href=\"/dashboard/events?device=");
	esc(h, d.serial);
	put(h, lq(h));
	put(h, "\">");
	put(h, L("Mọi sự kiện của thiết bị →", "All events of this device →"));
	put(h, "</a></p><h2>");
	put(h, L("Lệnh đang chờ", "Pending commands"));
	put(h, "</h2>");
	table_head(h, ccols, 3);
	n = kh_store_commands_pending(s->store, d.serial, cmds, DEVICE_COMMANDS);
	for (int i = 0; i < n; i++) {
		putf(h, "<tr><td class=\"n\">%lld</td>", (long long)cmds[i].id);
		td_text(h, cmds[i].type);
		td_text(h, cmds[i].arg);
		put(h, "</tr>");
	}
	if (n <= 0)
		none_row(h, 3);
	put(h, "</table>");
	if (d.status != KH_DEV_REVOKED) {
		put(h, "<h2>");
		put(h, L("Thu hồi", "Revoke"));
		put(h, "</h2><form class=\"revoke\" method=\"post\" action=\"/dashboard/device/");
		esc(h, d.serial);
		put(h, h->english ? "/revoke?lang=en\">" : "/revoke\">");
		csrf_field(h, p.sess);
		put(h, "<p>");
		put(h, L("Thiết bị bị thu hồi không thể check-in hay tải chính sách nữa.",
			 "A revoked device can no longer check in or fetch policy."));
		put(h, "</p><button class=\"danger\">");
		put(h, L("Thu hồi thiết bị", "Revoke device"));
		put(h, "</button></form>");
	}
	if (err || n < 0)
		store_failed(h);
	send_page(resp, 200, h, "");
}

void kh_dash_revoke(struct kh_srv *s, const struct call *rq, struct kh_api_resp *resp)
{
	char where[KH_SERIAL_MAX + 40];
	struct page p;

	if (!form_ok(s, rq, resp, &p))
		return;
	if (!kh_srv_serial_ok(rq->arg) ||
	    kh_store_device_set_status(s->store, rq->arg, KH_DEV_REVOKED) < 0)
		return refused(resp, &p, 404, "Không có thiết bị này.", "No such device.");
	log_notice("operator revoked device %s (dashboard)", rq->arg);
	snprintf(where, sizeof(where), "/dashboard/device/%s%s", rq->arg,
		 p.h.english ? "?lang=en" : "");
	see_other(resp, where, "");
}
