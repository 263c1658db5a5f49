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

#include "crypto/crypto.h"
#include "agent/category.h"
#include "agent/web.h"
#include "lib/err.h"
#include "lib/http.h"
#include "lib/str.h"
#include "platform/time.h"
#include "policy/name.h"

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
		const char *e = kh_html_entity(*s);
		one[0] = *s;
		put(o, e ? e : one);
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

static void threat_advice(struct out *o, const struct kh_web_threat *t, int en_);

static void block_page(struct out *o, const struct kh_agent_config *cfg, const char *name,
		       const struct kh_dns_verdict *v, const struct kh_web_threat *t, int en_)
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
	put(o, "</div>\n");
	if (t) {
		put(o, "<div class=\"box bad\"><h2>");
		put(o,
		    L("Thiết bị của bạn có thể đã bị nhiễm mã độc", "Your device may be infected"));
		put(o, "</h2>");
		threat_advice(o, t, en_);
		put(o, "</div>\n");
	}
	put(o, "<h2>");
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

/* "<table><tr><th>..." with n columns, each a Vietnamese and an English title in cols. */
static void table_head(struct out *o, int en_, const char *const *cols, unsigned n)
{
	put(o, "<table><tr>");
	for (unsigned i = 0; i < n; i++) {
		put(o, "<th>");
		put(o, L(cols[2 * i], cols[2 * i + 1]));
		put(o, "</th>");
	}
	put(o, "</tr>");
}

/* An address without its port. */
static void ip_text(const struct kh_addr *addr, char *a, size_t cap)
{
	struct kh_addr ip = *addr;

	ip.port = 0;
	kh_addr_format(&ip, a, cap);
	a[strlen(a) - 2] = 0; /* ":0" */
	if (a[0] == '[') {
		memmove(a, a + 1, strlen(a));
		a[strlen(a) - 1] = 0;
	}
}

/* What the device did and what its owner should do, in the page's language. */
static void threat_advice(struct out *o, const struct kh_web_threat *t, int en_)
{
	put(o, "<p>");
	putf(o,
	     en_ ? "It asked %u times for names of the category "
		 : "Thiết bị đã %u lần truy vấn tên miền thuộc loại ",
	     (unsigned)t->count);
	put(o, "<strong>");
	esc(o, category_words(t->category, en_));
	put(o, "</strong> (");
	esc(o, t->name);
	put(o, L(")", ")"));
	put(o, L(". Các truy vấn đã bị chặn, nhưng một chương trình trên thiết bị vẫn đang cố "
		 "kết nối tới máy chủ độc hại.</p>",
		 ". The queries were blocked, but a program on the device keeps trying to reach "
		 "a malicious server.</p>"));
	put(o, L("<p><strong>Nên làm:</strong> cập nhật hệ điều hành và ứng dụng; quét bằng phần "
		 "mềm diệt vi-rút; gỡ các ứng dụng, tiện ích trình duyệt lạ; đổi mật khẩu các tài "
		 "khoản quan trọng từ một thiết bị khác; nếu không tự xử lý được, hãy liên hệ nhà "
		 "mạng.</p>",
		 "<p><strong>What to do:</strong> update the operating system and apps; scan with "
		 "antivirus software; remove unknown apps and browser extensions; change the "
		 "passwords of important accounts from another device; if you cannot fix it, "
		 "contact your ISP.</p>"));
}

/* A form posting to action with the session's CSRF token (when there is a session). */
static void form_start(struct out *o, const char *action, const struct kh_web_session *s)
{
	put(o, "<form method=\"post\" action=\"");
	put(o, action);
	put(o, "\">");
	if (s) {
		put(o, "<input type=\"hidden\" name=\"csrf\" value=\"");
		put(o, s->csrf); /* hex */
		put(o, "\">");
	}
}

static void owner_box(struct out *o, const struct kh_web_hooks *h, const struct kh_web_session *s,
		      int en_)
{
	put(o, "<h2>");
	put(o, L("Chủ thiết bị", "Owner"));
	put(o, "</h2><div class=\"box\">");
	if (!h->auth) {
		put(o, L("<p>Đăng nhập không khả dụng trên thiết bị này.</p>",
			 "<p>Owner login is not available on this device.</p>"));
	} else if (s) {
		put(o,
		    L("<p>Bạn đã đăng nhập. <a href=\"/profiles\">Sửa hồ sơ thiết bị</a></p>",
		      "<p>You are logged in. <a href=\"/profiles\">Edit device profiles</a></p>"));
		form_start(o, "/logout", s);
		put(o, "<button type=\"submit\">");
		put(o, L("Đăng xuất", "Log out"));
		put(o, "</button></form>");
	} else if (h->auth->owner_set == 0) {
		put(o,
		    L("<p>Chưa có mật khẩu. Hãy đặt mật khẩu chủ thiết bị: ít nhất 8 ký tự, có chữ "
		      "hoa, chữ thường, chữ số và ký hiệu.</p>",
		      "<p>No password is set yet. Set the owner's password: at least 8 characters "
		      "with an upper-case and a lower-case letter, a digit and a symbol.</p>"));
		put(o,
		    L("<p>Mã cài đặt dùng một lần: in trên nhãn thiết bị, hoặc quản trị viên xem "
		      "bằng lệnh <code>khienctl web setup-code</code>.</p>",
		      "<p>The one-time setup code: on the device's sticker, or shown to the "
		      "administrator by <code>khienctl web setup-code</code>.</p>"));
		form_start(o, "/setup", NULL);
		put(o, "<label>");
		put(o, L("Mã cài đặt", "Setup code"));
		put(o, " <input name=\"code\" autocomplete=\"one-time-code\" maxlength=\"24\" "
		       "required></label><br><label>");
		put(o, L("Mật khẩu mới", "New password"));
		put(o, " <input type=\"password\" name=\"password\" autocomplete=\"new-password\" "
		       "required></label><br><label>");
		put(o, L("Nhập lại", "Repeat it"));
		put(o, " <input type=\"password\" name=\"confirm\" autocomplete=\"new-password\" "
		       "required></label><br><button type=\"submit\">");
		put(o, L("Đặt mật khẩu", "Set password"));
		put(o, "</button></form>");
	} else {
		form_start(o, "/login", NULL);
		put(o, "<label>");
		put(o, L("Mật khẩu", "Password"));
		put(o,
		    " <input type=\"password\" name=\"password\" autocomplete=\"current-password\" "
		    "required></label> <button type=\"submit\">");
		put(o, L("Đăng nhập", "Log in"));
		put(o, "</button></form>");
	}
	put(o, "</div>\n");
}

/* What the rest of a page needs after a repeated part (rows, profiles) stops. */
#define ROOM_RESERVE 3072
#define ROW_MAX 420 /* a device row without its profile select, at most */

static int prof_in(const struct kh_profiles *t, const char *name)
{
	for (unsigned i = 0; t && i < t->nprof; i++)
		if (strcmp(t->prof[i].name, name) == 0)
			return 1;
	return 0;
}

/* The device's profile, chosen from the household's ("" none); was: the one in force. */
static void profile_select(struct out *o, const struct kh_profiles *t, const char *cur, int en_)
{
	put(o, "<input type=\"hidden\" name=\"was\" value=\"");
	esc(o, cur);
	put(o, "\"><select name=\"profile\"><option value=\"\">");
	put(o, L("không có", "none"));
	put(o, "</option>");
	if (cur[0] && !prof_in(t, cur)) { /* the ISP's profile: kept as it is */
		put(o, "<option value=\"");
		esc(o, cur);
		put(o, "\" selected>");
		esc(o, cur);
		put(o, L(" (nhà mạng)", " (ISP)"));
		put(o, "</option>");
	}
	for (unsigned k = 0; k < t->nprof; k++) {
		put(o, "<option value=\"");
		esc(o, t->prof[k].name);
		put(o, strcmp(cur, t->prof[k].name) == 0 ? "\" selected>" : "\">");
		esc(o, t->prof[k].name);
		put(o, "</option>");
	}
	put(o, "</select>");
}

static void names_text(struct out *o, const struct kh_profiles *t, const struct kh_prof_names *r,
		       const char *sep)
{
	for (unsigned k = 0; k < r->n; k++) {
		const struct kh_prof_name *nm = &t->name[r->first + k];
		char buf[256]; /* len is at most 255 */
		memcpy(buf, t->pool + nm->off, nm->len);
		buf[nm->len] = 0;
		if (k)
			put(o, sep);
		esc(o, buf);
	}
}

/*
 * A names box: a textarea with the list, or, for a list longer than the
 * form takes (KH_WEB_PROF_NAMES names, 400 bytes), its count and no box
 * (the form then leaves that list as it is).
 */
static void names_box(struct out *o, const struct kh_profiles *t, const struct kh_prof_names *r,
		      const char *field, int en_)
{
	size_t bytes = 0;

	for (unsigned k = 0; k < r->n; k++)
		bytes += t->name[r->first + k].len + 1u;
	if (r->n > KH_WEB_PROF_NAMES || bytes > 400) {
		putf(o,
		     en_ ? "<br><em>%u names: too many to edit here; change them in the "
			   "configuration.</em>"
			 : "<br><em>%u tên: quá nhiều để sửa ở đây; hãy sửa trong cấu hình.</em>",
		     r->n);
		return;
	}
	putf(o, "<br><textarea name=\"%s\" rows=\"2\" cols=\"40\">", field);
	names_text(o, t, r, " ");
	put(o, "</textarea>");
}

static int prof_blocks(const struct kh_profiles *t, const struct kh_prof *p, const char *cat)
{
	for (unsigned c = 0; c < p->ncats; c++)
		if (!p->cats[c].isp && strcmp(t->cat[p->cats[c].id], cat) == 0)
			return 1;
	return 0;
}

/* /profiles: each household profile with the owner's form, the ISP's part shown as fixed. */
static void profiles_page(struct out *o, const struct kh_web_facts *f,
			  const struct kh_web_session *s, const char *msg, unsigned from, int en_)
{
	const struct kh_profiles *t = f->profiles, *isp = f->isp_profiles;

	page_start(o, L("Khiên — hồ sơ thiết bị", "Khiên — device profiles"),
		   L("/profiles?lang=en", "/profiles?lang=vi"), en_);
	if (msg) {
		put(o, "<p class=\"box bad\" id=\"msg\">");
		esc(o, msg);
		put(o, "</p>\n");
	}
	put(o, "<h1>");
	put(o, L("Hồ sơ thiết bị", "Device profiles"));
	put(o, "</h1><p><a href=\"/\">");
	put(o, L("← Trang trạng thái", "← Status page"));
	put(o, "</a></p>");
	put(o, L("<p>Cấu hình của bộ định tuyến là nền; cài đặt của chủ thiết bị đè lên trên. "
		 "Những gì nhà mạng chặn không thể bỏ chặn ở đây.</p>",
		 "<p>The router's configuration is the base; the owner's settings are a layer on "
		 "top. What the ISP blocks cannot be unblocked here.</p>"));
	if (!t || !t->nprof) {
		put(o, L("<p>Chưa có hồ sơ nào trong cấu hình.</p>",
			 "<p>The configuration has no profiles.</p>"));
		put(o, "</body></html>\n");
		return;
	}
	for (unsigned i = from; i < t->nprof; i++) {
		const struct kh_prof *p = &t->prof[i], *ip = NULL;
		/* a profile's box is at most about 2 KiB: the rest on the next page */
		if (i > from && o->cap - o->len < ROOM_RESERVE + 2048) {
			putf(o, "<p><a href=\"/profiles?from=%u%s\">", i,
			     en_ ? "&amp;lang=en" : "");
			put(o, L("Các hồ sơ tiếp theo →", "More profiles →"));
			put(o, "</a></p>");
			break;
		}
		put(o, "<div class=\"box\"><h2>");
		esc(o, p->name);
		put(o, "</h2><p><em>");
		put(o, i < 64 && (f->owner_edited >> i & 1)
			       ? L("Cài đặt của chủ thiết bị (đè lên cấu hình)",
				   "Owner's settings (over the configuration)")
			       : L("Theo cấu hình", "As configured"));
		put(o, "</em></p>");
		for (unsigned k = 0; isp && k < isp->nprof; k++)
			if (strcmp(isp->prof[k].name, p->name) == 0)
				ip = &isp->prof[k];
		if (ip && (ip->ncats || ip->isp_block.n)) {
			put(o, "<p class=\"isp\">");
			put(o, L("Nhà mạng chặn (không thể bỏ): ", "Blocked by the ISP (fixed): "));
			for (unsigned c = 0; c < ip->ncats; c++) {
				esc(o, category_words(isp->cat[ip->cats[c].id], en_));
				put(o, c + 1 < ip->ncats || ip->isp_block.n ? ", " : "");
			}
			names_text(o, isp, &ip->isp_block, ", ");
			put(o, "</p>");
		}
		form_start(o, "/profile", s);
		put(o, "<input type=\"hidden\" name=\"profile\" value=\"");
		esc(o, p->name);
		put(o, "\"><label><input type=\"checkbox\" name=\"safe_search\" value=\"1\"");
		put(o, p->safe_search ? " checked> " : "> ");
		put(o, L("Tìm kiếm an toàn", "Safe search"));
		put(o, "</label><br>");
		put(o, L("Chặn các loại: ", "Block the categories: "));
		for (unsigned c = 0; c < f->nhousehold && c < KH_WEB_HOUSEHOLD; c++) {
			const char *cat = f->household[c];
			int on = strcmp(cat, "bypass") == 0 ? p->child || prof_blocks(t, p, cat)
							    : prof_blocks(t, p, cat);
			put(o, "<label><input type=\"checkbox\" name=\"cat_");
			esc(o, cat);
			put(o, on ? "\" value=\"1\" checked> " : "\" value=\"1\"> ");
			esc(o, category_words(cat, en_));
			put(o, "</label> ");
		}
		put(o, "<br><label>");
		put(o, L("Luôn cho phép (tên miền, cách nhau bởi dấu cách)",
			 "Always allow (domain names, separated by spaces)"));
		names_box(o, t, &p->allow, "allow_names", en_);
		put(o, "</label><br><label>");
		put(o, L("Luôn chặn", "Always block"));
		names_box(o, t, &p->block, "block_names", en_);
		put(o, "</label><br><button type=\"submit\">");
		put(o, L("Lưu", "Save"));
		put(o, "</button></form></div>\n");
	}
	put(o, "</body></html>\n");
}

static void status_page(struct out *o, const struct kh_agent_config *cfg,
			const struct kh_web_hooks *h, const struct kh_web_facts *f,
			const struct kh_web_session *s, const char *msg, int en_)
{
	char a[KH_ADDR_STRLEN];

	page_start(o, L("Khiên — trạng thái bảo vệ", "Khiên — protection status"),
		   L("/?lang=en", "/?lang=vi"), en_);
	if (msg) {
		put(o, "<p class=\"box bad\" id=\"msg\">");
		put(o, msg); /* a fixed text of this file */
		put(o, "</p>\n");
	}
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
	put(o, L("Cảnh báo", "Warnings"));
	put(o, "</h2>");
	if (f->notice && f->notice[0]) {
		put(o, "<div class=\"box bad\" id=\"notice\"><strong>");
		put(o, L("Thông báo của nhà mạng: ", "Notice from your ISP: "));
		put(o, "</strong>");
		esc(o, f->notice);
		put(o, "</div>");
	}
	for (unsigned i = 0; i < f->nthreats && i < KH_WEB_THREATS; i++) {
		ip_text(&f->threats[i].addr, a, sizeof(a));
		put(o, "<div class=\"box bad threat\"><h3>");
		put(o, L("Thiết bị có thể bị nhiễm mã độc: ", "Device may be infected: "));
		esc(o, f->threat_names[i][0] ? f->threat_names[i] : a);
		if (f->threat_names[i][0]) {
			put(o, " (");
			esc(o, a);
			put(o, ")");
		}
		put(o, "</h3>");
		threat_advice(o, &f->threats[i], en_);
		put(o, "</div>");
	}
	if (!f->nwarnings && !f->nthreats && !(f->notice && f->notice[0]))
		put(o, L("<p>Không có cảnh báo.</p>", "<p>No warnings.</p>"));
	for (unsigned i = 0; i < f->nwarnings && i < KH_WEB_WARNINGS; i++) {
		put(o, "<p class=\"box bad\">");
		esc(o, f->warnings[i]);
		put(o, "</p>");
	}
	put(o, "\n<h2>");
	put(o, L("Truy vấn bị chặn", "Blocked queries"));
	put(o, "</h2>");
	table_head(
		o, en_,
		(const char *const[]){"Loại", "Category", "24 giờ", "24 hours", "7 ngày", "7 days"},
		3);
	for (unsigned i = 0; i < f->ncats && i < KH_WEB_CATS; i++) {
		put(o, "<tr><td>");
		esc(o, category_words(f->cats[i].name, en_));
		putf(o, "</td><td>%llu</td><td>%llu</td></tr>", (unsigned long long)f->cats[i].day,
		     (unsigned long long)f->cats[i].week);
	}
	put(o, "</table>\n<h2>");
	put(o, L("Thiết bị trong mạng", "Devices on the network"));
	put(o, "</h2>");
	if (!s) {
		putf(o,
		     en_ ? "<p>%u devices. Log in to see them in detail.</p>"
			 : "<p>%u thiết bị. Đăng nhập để xem chi tiết.</p>",
		     f->nclients);
	} else {
		table_head(o, en_,
			   (const char *const[]){"Tên", "Name", "Địa chỉ", "Address", "Truy vấn",
						 "Queries", "Bị chặn", "Blocked", "Lần cuối",
						 "Last seen", "Hồ sơ", "Profile"},
			   6);
		for (unsigned i = 0; i < f->nclients && i < KH_WEB_CLIENTS; i++) {
			ip_text(&f->clients[i].addr, a, sizeof(a));
			put(o, "<tr><td>");
			form_start(o, "/device", s);
			put(o, "<input type=\"hidden\" name=\"ip\" value=\"");
			esc(o, a);
			put(o, "\"><input name=\"name\" maxlength=\"32\" size=\"10\" value=\"");
			esc(o, f->names[i]);
			put(o, "\">");
			/* the select only while the page has room for it (16 KiB in all) */
			if (f->profiles && f->profiles->nprof && h->set_profile &&
			    o->cap - o->len > ROOM_RESERVE + 160 + f->profiles->nprof * 90u +
						      ROW_MAX * (f->nclients - i))
				profile_select(o, f->profiles, f->clients[i].profile, en_);
			put(o, "<button type=\"submit\">");
			put(o, L("Lưu", "Save"));
			put(o, "</button></form></td><td>");
			esc(o, a);
			putf(o, "</td><td>%u</td><td>%u</td><td>", f->clients[i].queries,
			     f->clients[i].blocked);
			age_words(o, (int64_t)(f->clients[i].idle_ms / 1000), en_);
			put(o, "</td><td>");
			{
				/* the engine's own mapping (docs/PROFILES.md), else the hook's */
				const char *prof =
					f->clients[i].profile[0] ? f->clients[i].profile
					: h->profile_of ? h->profile_of(h->arg, &f->clients[i].addr)
							: NULL;
				if (prof)
					esc(o, prof);
				else
					put(o, L("không có", "none"));
			}
			put(o, "</td></tr>");
		}
		put(o, "</table>");
	}
	put(o, "\n");
	owner_box(o, h, s, en_);
	isp_contact(o, cfg, en_);
	put(o, "</body></html>\n");
}

/* ---------------------------------------------------------------- requests */

/* from=N in the query (the profiles page's start), else 0. */
static unsigned query_from(const char *q)
{
	for (const char *p = q; p && *p; p = strchr(p, '&') ? strchr(p, '&') + 1 : NULL)
		if (strncmp(p, "from=", 5) == 0) {
			unsigned n = 0;
			for (p += 5; *p >= '0' && *p <= '9' && n < 1000; p++)
				n = n * 10 + (unsigned)(*p - '0');
			return n;
		}
	return 0;
}

/* English if the query says lang=en, else if Accept-Language prefers en over vi. */
static int wants_english(const struct kh_http_req *r)
{
	const char *q = r->query;

	for (const char *p = q; p && *p; p = strchr(p, '&') ? strchr(p, '&') + 1 : NULL) {
		if (strncmp(p, "lang=en", 7) == 0 && (!p[7] || p[7] == '&'))
			return 1;
		if (strncmp(p, "lang=vi", 7) == 0 && (!p[7] || p[7] == '&'))
			return 0;
	}
	return kh_http_prefers_english(r->accept_language);
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

/*
 * 1 if name (host_name's output) can only be the router itself: an IP
 * literal, no Host, a single label, or a name under a suffix no public DNS
 * delegates. Any other name may be an attacker's, rebound to the router's
 * address (DNS rebinding): its page would send its own Origin and Host, and
 * could read the status page and post the owner's forms.
 */
static int own_name(const char *name, int ip)
{
	static const char *const local[] = {".lan", ".home.arpa", ".internal", ".local",
					    ".localhost"};
	size_t n = strlen(name);

	if (ip || !strchr(name, '.'))
		return 1;
	for (size_t i = 0; i < KH_ARRAY_SIZE(local); i++) {
		size_t k = strlen(local[i]);
		if (n > k && memcmp(name + n - k, local[i], k) == 0)
			return 1;
	}
	return 0;
}

static const char security_headers[] =
	"Cache-Control: no-store\r\n"
	"X-Content-Type-Options: nosniff\r\n"
	"X-Frame-Options: DENY\r\n"
	"Referrer-Policy: same-origin\r\n"
	"Content-Security-Policy: default-src 'none'; style-src 'unsafe-inline'; "
	"form-action 'self'; frame-ancestors 'none'\r\n";

/* A short error answer: status line, no-store, a one-line text body. */
static int error_answer(int status, char *out, size_t cap)
{
	char body[64];
	int n = snprintf(body, sizeof(body), "%d %s\n", status, kh_http_reason(status)), h;

	h = kh_http_format_response(
		out, cap, status, "text/plain; charset=utf-8", (uint64_t)n, 0,
		status == 405 ? "Allow: GET, HEAD, POST\r\nCache-Control: no-store\r\n"
			      : "Cache-Control: no-store\r\n");
	if (h < 0 || (size_t)(h + n) > cap)
		return -ENOSPC;
	memcpy(out + h, body, (size_t)n);
	return h + n;
}

/* 303 to "/" (after a POST that worked), setting or clearing the session cookie. */
static int see_other(const struct kh_web_session *s, int clear, const char *where, char *out,
		     size_t cap)
{
	char extra[512];
	int n;

	n = snprintf(extra, sizeof(extra), "Location: %s\r\n%s%s%s%s%s", where, security_headers,
		     s || clear ? "Set-Cookie: " KH_WEB_COOKIE "=" : "", s ? s->id : "",
		     s || clear ? "; HttpOnly; SameSite=Strict; Path=/" : "",
		     clear ? "; Max-Age=0\r\n"
		     : s   ? "\r\n"
			   : "");
	if (n < 0 || (size_t)n >= sizeof(extra))
		return error_answer(500, out, cap);
	n = kh_http_format_response(out, cap, 303, NULL, 0, 0, extra);
	return n < 0 ? error_answer(500, out, cap) : n;
}

/* 1 if Origin and Referer, where present, name the Host the request was sent to. */
static int same_origin(const struct kh_http_req *r)
{
	for (int i = 0; i < 2; i++) {
		const char *v = i ? r->referer : r->origin;
		size_t n = strlen(v);
		if (!v[0])
			continue;
		if (n != strlen(r->host))
			return 0;
		for (size_t k = 0; k < n; k++)
			if ((v[k] | 32) != (r->host[k] | 32))
				return 0;
	}
	return 1;
}

/* A POST's answer: the status page with msg, or a redirect. */
struct post {
	int status;	 /* 0: redirect */
	const char *msg; /* for the page */
	struct kh_web_session *login;
	int logout;
	int page; /* 1: the profiles page (/profiles) */
};

static char post_why[320];	  /* the engine's reason for a refusal (one loop thread) */
static struct kh_web_facts facts; /* one loop thread: no need for 3 KiB of stack */

static int prof_name_known(const struct kh_web_facts *f, const char *name)
{
	return prof_in(f->profiles, name);
}

/* /device's profile select: a change puts the device in that profile ("": none). */
static void post_device_profile(const struct kh_web_hooks *hk, const char *body, size_t blen,
				const struct kh_addr *a, struct post *p, int en_)
{
	char prof[KH_PROF_NAME_MAX + 2], was[KH_PROF_NAME_MAX + 2];
	int n = kh_web_form_get(body, blen, "profile", prof, sizeof(prof));

	p->status = 0;
	if (n == -ENOENT || !hk->set_profile)
		return; /* a name alone */
	if (kh_web_form_get(body, blen, "was", was, sizeof(was)) < 0)
		was[0] = 0;
	memset(&facts, 0, sizeof(facts));
	if (hk->facts)
		hk->facts(hk->arg, &facts);
	p->status = 400;
	if (n < 0 || (prof[0] && !prof_name_known(&facts, prof))) {
		p->msg = L("Không có hồ sơ này.", "No such profile.");
		return;
	}
	if (strcmp(prof, was) == 0) {
		p->status = 0;
		return;
	}
	if ((n = hk->set_profile(hk->arg, a, prof, post_why, sizeof(post_why))) < 0) {
		p->status = n == -EPERM ? 403 : 503;
		p->msg = n == -EPERM
				 ? L("Nhà mạng đã xếp thiết bị này vào một hồ sơ: không đổi được ở "
				     "đây.",
				     "Your ISP has put this device in a profile: it cannot be "
				     "changed here.")
				 : L("Không lưu được hồ sơ của thiết bị.",
				     "Could not save the device's profile.");
		return;
	}
	p->status = 0;
}

/*
 * A names field ("a.example b.example", spaces, commas or new lines
 * between): at most KH_WEB_PROF_NAMES names, each a valid DNS name, into
 * out canonical with one space between. 0 or -1.
 */
static int names_field(const char *body, size_t blen, const char *key, char *out, size_t cap)
{
	char in[KH_WEB_FORM_MAX + 1];
	size_t w = 0;
	unsigned count = 0;
	int n = kh_web_form_get(body, blen, key, in, sizeof(in));

	out[0] = 0;
	if (n == -ENOENT)
		return 0;
	if (n < 0)
		return -1;
	for (char *t = strtok(in, " ,\t\r\n"); t; t = strtok(NULL, " ,\t\r\n")) {
		char canon[KH_NAME_MAX + 1];
		size_t len;
		if (++count > KH_WEB_PROF_NAMES ||
		    kh_name_canon(t, strlen(t), canon, &len, NULL) != KH_NAME_OK ||
		    w + len + 2 > cap)
			return -1;
		if (w)
			out[w++] = ' ';
		memcpy(out + w, canon, len);
		w += len;
		out[w] = 0;
	}
	return 0;
}

/* /profile: the owner's safe search, household categories and names of one profile. */
static void post_profile(const struct kh_web_hooks *hk, const char *body, size_t blen,
			 struct post *p, int en_)
{
	static struct kh_web_prof_edit e;
	char v[8];

	memset(&e, 0, sizeof(e));
	memset(&facts, 0, sizeof(facts));
	if (hk->facts)
		hk->facts(hk->arg, &facts);
	p->status = 400;
	if (kh_web_form_get(body, blen, "profile", e.name, sizeof(e.name)) < 0 ||
	    !prof_name_known(&facts, e.name) || !hk->edit_profile) {
		p->msg = L("Không có hồ sơ này.", "No such profile.");
		return;
	}
	e.safe_search = kh_web_form_get(body, blen, "safe_search", v, sizeof(v)) >= 0;
	for (unsigned c = 0; c < facts.nhousehold && c < KH_WEB_HOUSEHOLD; c++) {
		char key[KH_CAT_NAME_MAX + 8];
		snprintf(key, sizeof(key), "cat_%s", facts.household[c]);
		if (kh_web_form_get(body, blen, key, v, sizeof(v)) < 0)
			continue;
		if (strcmp(facts.household[c], "bypass") == 0)
			e.child = 1; /* a child profile blocks bypass */
		else
			kh_strlcpy(e.cats[e.ncats++], facts.household[c], sizeof(e.cats[0]));
	}
	e.has_allow = kh_web_form_get(body, blen, "allow_names", v, 1) != -ENOENT;
	e.has_block = kh_web_form_get(body, blen, "block_names", v, 1) != -ENOENT;
	if (names_field(body, blen, "allow_names", e.allow, sizeof(e.allow)) < 0 ||
	    names_field(body, blen, "block_names", e.block, sizeof(e.block)) < 0) {
		p->msg = L("Tên miền không hợp lệ (tối đa 16 tên mỗi ô).",
			   "Invalid domain names (16 at most in each box).");
		return;
	}
	if (hk->edit_profile(hk->arg, &e, post_why, sizeof(post_why)) < 0) {
		p->status = 400;
		p->msg = post_why;
		return;
	}
	p->status = 0;
}

static void post_form(const struct kh_web_hooks *hk, const struct kh_http_req *r, const char *body,
		      size_t blen, const struct kh_owner_reply *told, struct kh_web_ask *ask,
		      struct kh_web_session **sess, struct post *p, int en_)
{
	struct kh_web_auth *auth = hk->auth;
	uint64_t now = kh_time_mono_ms();
	char pw[KH_WEB_PASSWORD_MAX + 2], confirm[KH_WEB_PASSWORD_MAX + 2],
		tok[KH_WEB_TOKEN_HEX + 2], code[KH_OWNER_CODE_MAX + 10] = "";
	int login = strcmp(r->path, "/login") == 0, setup = strcmp(r->path, "/setup") == 0;

	p->status = 403;
	/* no Origin and no Referer: only an old browser, lured by another site, posts so */
	if (!same_origin(r) || ((login || setup) && !r->origin[0] && !r->referer[0])) {
		p->msg = L("Yêu cầu bị từ chối: gửi từ một trang khác.",
			   "Request refused: it came from another site.");
		return;
	}
	if (!auth) {
		p->status = 503;
		p->msg = L("Đăng nhập không khả dụng trên thiết bị này.",
			   "Owner login is not available on this device.");
		return;
	}
	if (login || setup) {
		int n = kh_web_form_get(body, blen, "password", pw, sizeof(pw));
		p->status = 400;
		if (n < 0 || n > KH_WEB_PASSWORD_MAX) {
			p->msg = L("Thiếu mật khẩu.", "The password is missing.");
			return;
		}
		if (setup) {
			if (kh_web_form_get(body, blen, "confirm", confirm, sizeof(confirm)) < 0 ||
			    strcmp(pw, confirm) != 0) {
				p->msg = L("Hai mật khẩu không khớp.", "The two passwords differ.");
				goto wipe;
			}
			if (kh_web_password_weak(pw)) {
				p->msg = L(
					"Mật khẩu quá yếu: cần ít nhất 8 ký tự, có chữ hoa, chữ "
					"thường, chữ số và ký hiệu.",
					"Password too weak: it needs at least 8 characters with an "
					"upper-case and a lower-case letter, a digit and a "
					"symbol.");
				goto wipe;
			}
			if (kh_web_form_get(body, blen, "code", code, sizeof(code)) <= 0) {
				p->msg = L("Thiếu mã cài đặt.", "The setup code is missing.");
				goto wipe;
			}
		}
		if (!told) {
			if (!ask) {
				p->status = 503;
				p->msg = L("Đăng nhập không khả dụng.", "Login unavailable.");
				goto wipe;
			}
			/* the helper decides: a login, or a first password (code, NUL, new) */
			ask->type = login ? KH_OWNER_LOGIN : KH_OWNER_SETUP;
			ask->len = 0;
			if (setup) {
				size_t cl = strlen(code);
				memcpy(ask->body, code, cl + 1);
				ask->len = cl + 1;
			}
			memcpy(ask->body + ask->len, pw, (size_t)n);
			ask->len += (size_t)n;
			p->status = -1; /* ask */
			goto wipe;
		}
		auth->owner_set = told->set;
		if (told->rc == 0) {
			if (!(p->login = kh_web_session_new(auth, now))) {
				p->status = 500;
				p->msg = L("Lỗi nội bộ.", "Internal error.");
			} else {
				p->status = 0;
			}
		} else if (told->rc == -EBUSY) {
			p->status = 429;
			p->msg =
				L("Đăng nhập tạm khóa 5 phút sau 5 lần sai mật khẩu trong 30 giây. "
				  "Hãy thử lại sau.",
				  "Logins are locked for 5 minutes after 5 wrong passwords within "
				  "30 seconds. Try again later.");
		} else if (told->rc == -EACCES && setup) {
			p->status = 403;
			p->msg = L("Sai mã cài đặt.", "Wrong setup code.");
		} else if (told->rc == -EACCES) {
			p->status = 403;
			p->msg = L("Sai mật khẩu.", "Wrong password.");
		} else if (told->rc == -EEXIST) {
			p->status = 409;
			p->msg = L("Mật khẩu đã được đặt: hãy đăng nhập.",
				   "A password is already set: log in.");
		} else if (told->rc == -ENOENT) {
			p->status = 409;
			p->msg = L("Chưa có mật khẩu: hãy đặt mật khẩu trước.",
				   "No password is set yet: set one first.");
		} else if (told->rc == -EINVAL) {
			p->status = 400;
			p->msg = L("Mật khẩu quá yếu.", "Password too weak.");
		} else {
			p->status = 503;
			p->msg = L("Đăng nhập không khả dụng.", "Login unavailable.");
		}
	wipe:
		kh_memzero(pw, sizeof(pw));
		kh_memzero(confirm, sizeof(confirm));
		kh_memzero(code, sizeof(code));
		return;
	}
	/* everything else needs a session and its CSRF token */
	if (!*sess) {
		p->msg = L("Cần đăng nhập.", "You need to log in.");
		return;
	}
	if (kh_web_form_get(body, blen, "csrf", tok, sizeof(tok)) < 0 ||
	    !kh_web_csrf_ok(*sess, tok)) {
		p->msg = L("Yêu cầu bị từ chối: thiếu hoặc sai mã chống giả mạo (CSRF).",
			   "Request refused: missing or wrong anti-forgery (CSRF) token.");
		return;
	}
	if (strcmp(r->path, "/logout") == 0) {
		kh_web_session_end(*sess);
		*sess = NULL;
		p->status = 0;
		p->logout = 1;
		return;
	}
	if (strcmp(r->path, "/device") == 0) {
		char ip[KH_ADDR_STRLEN], name[KH_WEB_NAME_MAX + 2];
		struct kh_addr a;
		int n = kh_web_form_get(body, blen, "name", name, sizeof(name));
		p->status = 400;
		if (kh_web_form_get(body, blen, "ip", ip, sizeof(ip)) < 0 ||
		    kh_addr_parse_ip(ip, &a) < 0 || n == -E2BIG || n == -EINVAL) {
			p->msg = L("Tên thiết bị không hợp lệ (tối đa 32 byte).",
				   "Invalid device name (32 bytes at most).");
			return;
		}
		if (n < 0)
			name[0] = 0;
		for (const unsigned char *c = (const unsigned char *)name; *c; c++)
			if (*c < 0x20 || *c == 0x7f) {
				p->msg = L("Tên thiết bị không hợp lệ.", "Invalid device name.");
				return;
			}
		if (!hk->set_name || hk->set_name(hk->arg, &a, name) < 0) {
			p->status = 503;
			p->msg = L("Không lưu được tên thiết bị.", "Could not save the name.");
			return;
		}
		post_device_profile(hk, body, blen, &a, p, en_);
		return;
	}
	if (strcmp(r->path, "/profile") == 0) {
		post_profile(hk, body, blen, p, en_);
		p->page = 1;
		return;
	}
	p->status = 404;
	p->msg = L("Không có trang này.", "No such page.");
}

int kh_web_answer(const struct kh_agent_config *cfg, const struct kh_web_hooks *hk, const char *buf,
		  size_t len, int full, const struct kh_addr *peer, char *out, size_t cap)
{
	return kh_web_answer_owner(cfg, hk, buf, len, full, peer, NULL, NULL, out, cap);
}

int kh_web_answer_owner(const struct kh_agent_config *cfg, const struct kh_web_hooks *hk,
			const char *buf, size_t len, int full, const struct kh_addr *peer,
			const struct kh_owner_reply *told, struct kh_web_ask *ask, char *out,
			size_t cap)
{
	struct kh_http_req r;
	struct kh_dns_verdict v;
	struct kh_web_threat t;
	struct kh_web_session *sess = NULL;
	struct post p = {200, NULL, NULL, 0, 0};
	char name[KH_HTTP_VALUE_MAX + 1];
	struct out o;
	int rc = kh_http_parse_request(buf, len, &r), en_, head, ip, has_t = 0, post;

	if (rc == 0 && !full)
		return 0;
	if (rc == 0)
		return error_answer(431, out, cap);
	if (rc < 0)
		return error_answer(kh_http_error_status(rc), out, cap);
	post = strcmp(r.method, "POST") == 0;
	if (strcmp(r.method, "GET") != 0 && strcmp(r.method, "HEAD") != 0 && !post)
		return error_answer(405, out, cap);
	if (cap < KH_WEB_PAGE_MAX)
		return -ENOSPC;
	if (post) {
		if (r.content_length < 0)
			return error_answer(411, out, cap);
		if (r.content_length > KH_WEB_FORM_MAX)
			return error_answer(413, out, cap);
		if ((size_t)r.content_length > len - (size_t)rc)
			return full ? error_answer(413, out, cap) : 0;
	}
	en_ = wants_english(&r);
	ip = host_name(r.host, name, sizeof(name));
	memset(&v, 0, sizeof(v));
	if (name[0] && !ip && hk->verdict)
		hk->verdict(hk->arg, name, peer, &v);
	if (!v.blocked && !own_name(name, ip))
		return error_answer(421, out,
				    cap); /* not the router's name: no status page, no login */
	if (hk->auth)
		sess = kh_web_session_find(hk->auth, r.cookie, kh_time_mono_ms());
	if (post && !v.blocked) {
		if (strncmp(r.content_type, "application/x-www-form-urlencoded", 33) != 0)
			return error_answer(415, out, cap);
		post_form(hk, &r, buf + rc, (size_t)r.content_length, told, ask, &sess, &p, en_);
		if (p.status == -1)
			return KH_WEB_ASK;
		if (p.status == 0)
			return see_other(p.login, p.logout, p.page ? "/profiles" : "/", out, cap);
	} else if (post) {
		return error_answer(405, out, cap);
	}
	/* the body first, after room for the head; then the head in front of it */
	o = (struct out){out + 1024, cap - 1024, 0};
	if (v.blocked) {
		if (hk->threat)
			has_t = hk->threat(hk->arg, peer, &t);
		block_page(&o, cfg, name, &v, has_t ? &t : NULL, en_);
	} else {
		int prof_page = p.page || (!post && strcmp(r.path, "/profiles") == 0);
		if (!post && !prof_page && strcmp(r.path, "/") != 0 &&
		    strcmp(r.path, "/index.html") != 0)
			return error_answer(404, out, cap);
		if (prof_page && !sess) {
			p.status = 403;
			p.msg = L("Cần đăng nhập.", "You need to log in.");
			prof_page = 0;
		}
		memset(&facts, 0, sizeof(facts));
		if (hk->facts)
			hk->facts(hk->arg, &facts);
		if (prof_page)
			profiles_page(&o, &facts, sess, p.msg, query_from(r.query), en_);
		else
			status_page(&o, cfg, hk, &facts, sess, p.msg, en_);
	}
	if (o.len >= o.cap)
		return error_answer(500, out, cap);
	{
		char hbuf[1024];
		head = kh_http_format_response(hbuf, sizeof(hbuf), p.status,
					       "text/html; charset=utf-8", o.len, 0,
					       security_headers);
		if (head < 0)
			return error_answer(500, out, cap);
		if (strcmp(r.method, "HEAD") == 0)
			o.len = 0;
		memmove(out + head, out + 1024, o.len);
		memcpy(out, hbuf, (size_t)head);
	}
	return head + (int)o.len;
}
