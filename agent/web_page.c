/* SPDX-License-Identifier: MIT */
/*
 * The agent's pages, rendered (see web.h): one request head in, one whole
 * HTTP response out, no I/O. The Host decides which page: a name the
 * policy blocks gets the block page whatever the path; anything else (the
 * router's address, its name, no Host) gets the status page at "/".
 * Everything that comes from the request or the policy is HTML-escaped,
 * and the answer forbids scripts and framing (Content-Security-Policy) as
 * a second wall. Pages are UTF-8, Vietnamese unless the client asks for
 * English, small inline CSS, no external resource, never cacheable.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "agent/category.h"
#include "agent/web.h"
#include "lib/err.h"
#include "lib/http.h"
#include "lib/ipaddr.h"
#include "lib/str.h"

/* ---------------------------------------------------------------- output */

struct out {
	char *p;
	size_t cap, len;
};

static void put(struct out *o, const char *s)
{
	size_t n = strlen(s);

	if (o->len + n < o->cap) {
		memcpy(o->p + o->len, s, n);
		o->len += n;
	} else {
		o->len = o->cap; /* overflow: the caller answers 500 */
	}
}

static void putf(struct out *o, const char *fmt, ...) KH_PRINTF(2, 3);
static void putf(struct out *o, const char *fmt, ...)
{
	char tmp[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	put(o, tmp);
}

/* s with & < > " ' escaped: text and attribute values alike. */
static void esc(struct out *o, const char *s)
{
	char one[2] = {0, 0};

	for (; *s; s++) {
		switch (*s) {
		case '&':
			put(o, "&amp;");
			break;
		case '<':
			put(o, "&lt;");
			break;
		case '>':
			put(o, "&gt;");
			break;
		case '"':
			put(o, "&quot;");
			break;
		case '\'':
			put(o, "&#39;");
			break;
		default:
			one[0] = *s;
			put(o, one);
		}
	}
}

/* ---------------------------------------------------------------- words */

#define L(vi, en) (en_ ? (en) : (vi))

/* A category in words; unknown ones by their name. */
static const char *category_words(const char *name, int en_)
{
	static const struct {
		const char *name, *vi, *en;
	} t[] = {
		{"adult", "Nội dung người lớn", "Adult content"},
		{"gambling", "Cờ bạc", "Gambling"},
		{"malware", "Phần mềm độc hại", "Malware"},
		{"phishing", "Lừa đảo giả mạo (phishing)", "Phishing"},
		{"threat", "Mối đe dọa an ninh", "Security threat"},
		{"botnet", "Máy chủ điều khiển mạng ma (botnet)", "Botnet command and control"},
		{"c2", "Máy chủ điều khiển mã độc", "Malware command and control"},
		{"ads", "Quảng cáo", "Advertising"},
		{"tracking", "Theo dõi người dùng", "Tracking"},
		{"authority", "Theo yêu cầu của cơ quan có thẩm quyền",
		 "By order of the authorities"},
		{"bypass", "Vượt bộ lọc (DNS mã hóa, VPN)", "Filter bypass (encrypted DNS, VPN)"},
		{"fakeshop", "Cửa hàng lừa đảo", "Fake shop"},
		{"scam", "Lừa đảo", "Scam"},
		{"other", "Khác", "Other"},
	};

	for (size_t i = 0; i < KH_ARRAY_SIZE(t); i++)
		if (strcmp(t[i].name, name) == 0)
			return L(t[i].vi, t[i].en);
	return name;
}

/* "3 giờ trước" / "3 hours ago". */
static void age_words(struct out *o, int64_t s, int en_)
{
	if (s < 0) {
		put(o, L("không rõ", "unknown"));
		return;
	}
	if (s < 120)
		putf(o, "%lld %s", (long long)s, L("giây trước", "seconds ago"));
	else if (s < 7200)
		putf(o, "%lld %s", (long long)(s / 60), L("phút trước", "minutes ago"));
	else if (s < 172800)
		putf(o, "%lld %s", (long long)(s / 3600), L("giờ trước", "hours ago"));
	else
		putf(o, "%lld %s", (long long)(s / 86400), L("ngày trước", "days ago"));
}

static const char css[] =
	"body{font-family:system-ui,sans-serif;margin:0;padding:1em;max-width:40em;"
	"line-height:1.5;color:#222;background:#fafafa}"
	"h1{font-size:1.4em;margin:.2em 0}h2{font-size:1.1em;margin-top:1.4em}"
	".box{background:#fff;border:1px solid #ddd;border-radius:8px;padding:1em}"
	".bad{border-left:6px solid #c62828}.good{border-left:6px solid #2e7d32}"
	"table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:.3em;"
	"border-bottom:1px solid #eee;word-break:break-all}"
	"dt{font-weight:bold}dd{margin:0 0 .6em 0;word-break:break-all}"
	".lang{float:right;font-size:.9em}";

static void page_start(struct out *o, const char *title, const char *query_other, int en_)
{
	put(o, "<!DOCTYPE html>\n<html lang=\"");
	put(o, L("vi", "en"));
	put(o, "\"><head><meta charset=\"utf-8\">"
	       "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
	       "<title>");
	esc(o, title);
	put(o, "</title><style>");
	put(o, css);
	put(o, "</style></head><body><p class=\"lang\"><a href=\"");
	put(o, query_other);
	put(o, "\">");
	put(o, L("English", "Tiếng Việt"));
	put(o, "</a></p>\n");
}

static void isp_contact(struct out *o, const struct kh_agent_config *cfg, int en_)
{
	const char *name = cfg->web_isp_name[0] ? cfg->web_isp_name : L("nhà mạng", "your ISP");

	put(o, "<p>");
	put(o, L("Liên hệ: ", "Contact: "));
	put(o, "<strong>");
	esc(o, name);
	put(o, "</strong>");
	if (cfg->web_isp_contact[0]) {
		put(o, " — ");
		esc(o, cfg->web_isp_contact);
	}
	put(o, "</p>\n");
}

/* ---------------------------------------------------------------- pages */

static void block_page(struct out *o, const struct kh_agent_config *cfg, const char *name,
		       const struct kh_dns_verdict *v, int en_)
{
	struct kh_category cat;

	kh_category_resolve(cfg, v->category, &cat);
	page_start(o, L("Trang này đã bị chặn", "This page has been blocked"),
		   L("?lang=en", "?lang=vi"), en_);
	put(o, "<div class=\"box bad\"><h1>");
	put(o, L("Trang này đã bị chặn", "This page has been blocked"));
	put(o, "</h1><dl><dt>");
	put(o, L("Tên miền", "Name"));
	put(o, "</dt><dd>");
	esc(o, name);
	put(o, "</dd><dt>");
	put(o, L("Loại", "Category"));
	put(o, "</dt><dd>");
	esc(o, category_words(v->category, en_));
	put(o, " (");
	esc(o, v->category);
	put(o, ")</dd><dt>");
	put(o, L("Danh sách", "List"));
	put(o, "</dt><dd>");
	esc(o, v->source[0] ? v->source : "-");
	put(o, "</dd><dt>");
	put(o, L("Quy tắc", "Rule"));
	put(o, "</dt><dd>");
	esc(o, v->rule);
	put(o, "</dd></dl>");
	if (cat.security)
		put(o, L("<p>Trang này có thể gây hại cho thiết bị hoặc dữ liệu của bạn. Đừng nhập "
			 "mật khẩu hay thông tin cá nhân ở đó.</p>",
			 "<p>This site can harm your device or your data. Do not enter passwords "
			 "or personal details there.</p>"));
	put(o, "</div>\n<h2>");
	put(o, L("Nếu bạn cho rằng đây là nhầm lẫn", "If you think this is a mistake"));
	put(o, "</h2><p>");
	put(o, L("Hãy liên hệ nhà mạng và cho biết tên miền, danh sách và quy tắc ở trên. Chặn "
		 "nhầm sẽ được gỡ trong bản cập nhật chính sách tiếp theo.",
		 "Contact your ISP and quote the name, list and rule above. A wrong block is "
		 "lifted by the next policy update."));
	put(o, "</p>\n");
	isp_contact(o, cfg, en_);
	put(o, "</body></html>\n");
}

static void status_page(struct out *o, const struct kh_agent_config *cfg,
			const struct kh_web_facts *f, int en_)
{
	char a[KH_ADDR_STRLEN];

	page_start(o, L("Khiên — trạng thái bảo vệ", "Khiên — protection status"),
		   L("/?lang=en", "/?lang=vi"), en_);
	putf(o, "<div class=\"box %s\"><h1>", f->protecting ? "good" : "bad");
	put(o, f->protecting ? L("Bảo vệ đang bật", "Protection is on")
			     : L("Bảo vệ đang tắt: chưa có danh sách chặn",
				 "Protection is off: no blocklist is loaded"));
	put(o, "</h1><p>");
	put(o, L("Phiên bản chính sách: ", "Policy version: "));
	if (f->policy_version)
		putf(o, "%llu", (unsigned long long)f->policy_version);
	else
		put(o, L("chưa có (danh sách cục bộ)", "none (local lists)"));
	put(o, "<br>");
	put(o, L("Danh sách cập nhật: ", "Lists updated: "));
	age_words(o, f->lists_age_s, en_);
	putf(o, "<br>%s%llu</p></div>\n",
	     L("Số tên miền trong danh sách: ", "Names on the lists: "),
	     (unsigned long long)f->index_entries);

	put(o, "<h2>");
	put(o, L("Truy vấn bị chặn", "Blocked queries"));
	put(o, "</h2><table><tr><th>");
	put(o, L("Loại", "Category"));
	put(o, "</th><th>");
	put(o, L("24 giờ", "24 hours"));
	put(o, "</th><th>");
	put(o, L("7 ngày", "7 days"));
	put(o, "</th></tr>");
	for (unsigned i = 0; i < f->ncats && i < KH_WEB_CATS; i++) {
		put(o, "<tr><td>");
		esc(o, category_words(f->cats[i].name, en_));
		putf(o, "</td><td>%llu</td><td>%llu</td></tr>", (unsigned long long)f->cats[i].day,
		     (unsigned long long)f->cats[i].week);
	}
	put(o, "</table>\n<h2>");
	put(o, L("Thiết bị trong mạng", "Devices on the network"));
	put(o, "</h2><table><tr><th>");
	put(o, L("Địa chỉ", "Address"));
	put(o, "</th><th>");
	put(o, L("Truy vấn", "Queries"));
	put(o, "</th><th>");
	put(o, L("Bị chặn", "Blocked"));
	put(o, "</th><th>");
	put(o, L("Lần cuối", "Last seen"));
	put(o, "</th></tr>");
	for (unsigned i = 0; i < f->nclients && i < KH_WEB_CLIENTS; i++) {
		const struct kh_addr *ip = &f->clients[i].addr;
		kh_ip_format(ip->ip, ip->family == KH_AF_INET6, a, sizeof(a)); /* no port, no [] */
		put(o, "<tr><td>");
		esc(o, a);
		putf(o, "</td><td>%u</td><td>%u</td><td>", f->clients[i].queries,
		     f->clients[i].blocked);
		age_words(o, (int64_t)(f->clients[i].idle_ms / 1000), en_);
		put(o, "</td></tr>");
	}
	put(o, "</table>\n<h2>");
	put(o, L("Cảnh báo", "Warnings"));
	put(o, "</h2>");
	if (!f->nwarnings)
		put(o, L("<p>Không có cảnh báo.</p>", "<p>No warnings.</p>"));
	for (unsigned i = 0; i < f->nwarnings && i < KH_WEB_WARNINGS; i++) {
		put(o, "<p class=\"box bad\">");
		esc(o, f->warnings[i]);
		put(o, "</p>");
	}
	put(o, "\n");
	isp_contact(o, cfg, en_);
	put(o, "</body></html>\n");
}

/* ---------------------------------------------------------------- requests */

/* English if the query says lang=en, else if Accept-Language prefers en over vi. */
static int wants_english(const struct kh_http_req *r)
{
	const char *q = r->query, *s = r->accept_language;

	for (const char *p = q; p && *p; p = strchr(p, '&') ? strchr(p, '&') + 1 : NULL) {
		if (strncmp(p, "lang=en", 7) == 0 && (!p[7] || p[7] == '&'))
			return 1;
		if (strncmp(p, "lang=vi", 7) == 0 && (!p[7] || p[7] == '&'))
			return 0;
	}
	/* the first of vi or en in the list wins (q-values are in practice descending); q=0 is "not" */
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

/* Host without port or trailing dot, lower case, into name; 1 if it is an IP literal. */
static int host_name(const char *host, char *name, size_t cap)
{
	struct kh_addr a;
	size_t n;

	if (host[0] == '[') {
		kh_strlcpy(name, host + 1, cap);
		name[strcspn(name, "]")] = 0;
		return 1;
	}
	kh_strlcpy(name, host, cap);
	if (strchr(name, ':') == strrchr(name, ':'))
		name[strcspn(name, ":")] = 0; /* one colon: a port */
	n = strlen(name);
	if (n && name[n - 1] == '.')
		name[n - 1] = 0;
	for (char *p = name; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	return kh_addr_parse_ip(name, &a) == 0;
}

static const char security_headers[] =
	"Cache-Control: no-store\r\n"
	"X-Content-Type-Options: nosniff\r\n"
	"X-Frame-Options: DENY\r\n"
	"Referrer-Policy: no-referrer\r\n"
	"Content-Security-Policy: default-src 'none'; style-src 'unsafe-inline'\r\n";

/* A short error answer: status line, no-store, a one-line text body. */
static int error_answer(int status, char *out, size_t cap)
{
	char body[64];
	int n = snprintf(body, sizeof(body), "%d %s\n", status, kh_http_reason(status)), h;

	h = kh_http_format_response(out, cap, status, "text/plain; charset=utf-8", (uint64_t)n, 0,
				    status == 405
					    ? "Allow: GET, HEAD\r\nCache-Control: no-store\r\n"
					    : "Cache-Control: no-store\r\n");
	if (h < 0 || (size_t)(h + n) > cap)
		return -ENOSPC;
	memcpy(out + h, body, (size_t)n);
	return h + n;
}

int kh_web_answer(const struct kh_agent_config *cfg, const struct kh_web_hooks *hk, const char *buf,
		  size_t len, int full, const struct kh_addr *peer, char *out, size_t cap)
{
	static struct kh_web_facts facts; /* one loop thread: no need for 3 KiB of stack */
	struct kh_http_req r;
	struct kh_dns_verdict v;
	char name[KH_HTTP_VALUE_MAX + 1];
	struct out o;
	int rc = kh_http_parse_request(buf, len, &r), en_, head, ip;

	if (rc == 0 && !full)
		return 0;
	if (rc == 0)
		return error_answer(431, out, cap);
	if (rc < 0)
		return error_answer(kh_http_error_status(rc), out, cap);
	if (strcmp(r.method, "GET") != 0 && strcmp(r.method, "HEAD") != 0)
		return error_answer(405, out, cap);
	if (cap < KH_WEB_PAGE_MAX)
		return -ENOSPC;
	en_ = wants_english(&r);
	ip = host_name(r.host, name, sizeof(name));
	memset(&v, 0, sizeof(v));
	if (name[0] && !ip && hk->verdict)
		hk->verdict(hk->arg, name, peer, &v);
	/* the body first, after room for the head; then the head in front of it */
	o = (struct out){out + 1024, cap - 1024, 0};
	if (v.blocked) {
		block_page(&o, cfg, name, &v, en_);
	} else {
		if (strcmp(r.path, "/") != 0 && strcmp(r.path, "/index.html") != 0)
			return error_answer(404, out, cap);
		memset(&facts, 0, sizeof(facts));
		if (hk->facts)
			hk->facts(hk->arg, &facts);
		status_page(&o, cfg, &facts, en_);
	}
	if (o.len >= o.cap)
		return error_answer(500, out, cap);
	{
		char hbuf[1024];
		head = kh_http_format_response(hbuf, sizeof(hbuf), 200, "text/html; charset=utf-8",
					       o.len, 0, security_headers);
		if (head < 0)
			return error_answer(500, out, cap);
		if (strcmp(r.method, "HEAD") == 0)
			o.len = 0;
		memmove(out + head, out + 1024, o.len);
		memcpy(out, hbuf, (size_t)head);
	}
	return head + (int)o.len;
}
