/* SPDX-License-Identifier: MIT */
/* khiend configuration file parsing and validation (see config.h, docs/CONFIG.md). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "agent/config.h"
#include "lib/err.h"
#include "lib/jsonfield.h"
#include "lib/log.h"
#include "lib/str.h"
#include "lib/tz.h"
#include "lib/version.h"
#include "platform/fs.h"
#include "platform/lan.h"
#include "policy/uci.h"

#define CONFIG_FILE_MAX (256 * 1024) /* the UCI parser's limit too; profiles make files larger */

static const char *const action_names[] = {"nxdomain", "nodata", "null", "blockpage",
					   "refused",  "drop",	 "allow"};

int kh_config_action(const char *s)
{
	for (size_t i = 0; i < KH_ARRAY_SIZE(action_names); i++)
		if (strcmp(s, action_names[i]) == 0)
			return (int)i;
	return -EINVAL;
}

const char *kh_config_action_name(int action)
{
	return action >= 0 && (size_t)action < KH_ARRAY_SIZE(action_names) ? action_names[action]
									   : "?";
}

/*
 * Private networks and loopback: where a home router's clients are. The
 * platform layer cannot list the listen interfaces' prefixes, so these
 * ranges, plus the /24 (IPv6: /64) around each listen address (agent/dns.c),
 * stand for "the LAN" unless dns.allow_clients says otherwise.
 */
static const char *const default_allow[] = {
	"127.0.0.0/8",	  "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16",
	"169.254.0.0/16", "::1/128",	"fc00::/7",	 "fe80::/10",
};

int kh_cidr_parse(const char *s, struct kh_cidr *out)
{
	char ip[64];
	const char *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);
	unsigned bits, max;
	char *end;

	if (n >= sizeof(ip))
		return -EINVAL;
	memcpy(ip, s, n);
	ip[n] = 0;
	memset(out, 0, sizeof(*out));
	if (kh_addr_parse_ip(ip, &out->net) < 0)
		return -EINVAL;
	max = out->net.family == KH_AF_INET6 ? 128 : 32;
	bits = max;
	if (slash) {
		unsigned long b = strtoul(slash + 1, &end, 10);
		if (!slash[1] || *end || b > max)
			return -EINVAL;
		bits = (unsigned)b;
	}
	out->bits = (uint8_t)bits;
	/* Host bits set ("192.168.1.1/24") would hide a typo: refuse them. */
	for (unsigned i = bits; i < max; i++)
		if (out->net.ip[i / 8] & (0x80 >> (i % 8)))
			return -EINVAL;
	return 0;
}

int kh_cidr_match(const struct kh_cidr *c, const struct kh_addr *a)
{
	unsigned full = c->bits / 8, rest = c->bits % 8;

	if (a->family != c->net.family || memcmp(a->ip, c->net.ip, full) != 0)
		return 0;
	return !rest || ((a->ip[full] ^ c->net.ip[full]) & (0xff00 >> rest) & 0xff) == 0;
}

void kh_config_defaults(struct kh_agent_config *c)
{
	memset(c, 0, sizeof(*c));
	kh_addr_parse("127.0.0.1:53", 0, &c->listen[0]);
	c->nlisten = 1;
	strcpy(c->control, "/run/khien/khiend.sock");
	strcpy(c->state_dir, "/var/lib/khien");
	strcpy(c->user, "khien");
	c->blocked_ttl = 60;
	c->default_action = KH_DNS_ACT_NXDOMAIN;
	c->canaries = 1;
	c->cache = CONFIG_DNS_CACHE_ENTRIES > 0;
	c->client_id_hash = 1;
	c->timeout_ms = 1500;
	c->tcp_idle_ms = 10000;
	c->tcp_message_ms = 3000;
	c->tcp_per_client = KH_MAX(CONFIG_DNS_TCP_MAX_CLIENTS / 4, 1);
	c->inflight_per_client = KH_MAX(CONFIG_DNS_MAX_INFLIGHT / 4, 1);
	c->rate_limit = 500;
	for (size_t i = 0; i < KH_ARRAY_SIZE(default_allow); i++)
		kh_cidr_parse(default_allow[i], &c->allow[c->nallow++]);
	c->log_level = KH_LOG_INFO;
	c->report_interval_s = 300;
	c->audit_interval_s = 6 * 3600;
	strcpy(c->audit_root, "/");
	c->integrity_interval_s = 3600;
	c->integrity_notify = 1;
	c->report_queue_events = CONFIG_REPORT_QUEUE_EVENTS;
	c->report_queue_kb = CONFIG_REPORT_QUEUE_KB;
	snprintf(c->firmware, sizeof(c->firmware), "khiend %s", KHIEN_VERSION);
	c->fw_interval_s = 24 * 3600;
	c->web_head_timeout_ms = 5000;
	c->web_send_timeout_ms = 10000;
	c->web_per_client = 4;
	c->web_rate = 5;
	kh_tz_utc(&c->tz);
	kh_strlcpy(c->time_zone, "UTC0", sizeof(c->time_zone));
	kh_profiles_init(&c->profiles);
}

struct uci_at;

struct ctx {
	const char *origin;
	char *err;
	size_t errlen;
	char path[128];
	const char *base;	  /* directory relative paths are taken from, or NULL */
	const struct uci_at *uci; /* the UCI section being read, or NULL for JSON */
};

static void uci_where(const struct ctx *x, char *out, size_t cap);

/* "origin: path" of JSON, or "origin:LINE: pkg.section.option[i]" of UCI, for messages. */
static void where(const struct ctx *x, char *out, size_t cap)
{
	if (x->uci)
		uci_where(x, out, cap);
	else
		snprintf(out, cap, "%s: %s", x->origin, x->path);
}

static int fail(struct ctx *x, const char *fmt, ...) KH_PRINTF(2, 3);

static int fail(struct ctx *x, const char *fmt, ...)
{
	va_list ap;
	char at[KH_CFG_PATH_MAX + 160];
	int n;

	where(x, at, sizeof(at));
	n = snprintf(x->err, x->errlen, "%s: ", at);

	va_start(ap, fmt);
	if (n >= 0 && (size_t)n < x->errlen)
		vsnprintf(x->err + n, x->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* Push a path component (".key" or "[i]"); returns the length to restore. */
static size_t enter(struct ctx *x, const char *key, int index)
{
	size_t n = strlen(x->path);

	if (key)
		snprintf(x->path + n, sizeof(x->path) - n, "%s%s", n ? "." : "", key);
	else
		snprintf(x->path + n, sizeof(x->path) - n, "[%d]", index);
	return n;
}

static void leave(struct ctx *x, size_t n)
{
	x->path[n] = 0;
}

static int get_string(struct ctx *x, const cJSON *v, char *out, size_t cap)
{
	if (!cJSON_IsString(v))
		return fail(x, "expected a string");
	if (strlen(v->valuestring) >= cap)
		return fail(x, "longer than %zu characters", cap - 1);
	strcpy(out, v->valuestring);
	return 0;
}

/* A file path; a relative one is taken from the configuration file's directory. */
static int get_path(struct ctx *x, const cJSON *v, char *out, size_t cap)
{
	if (!cJSON_IsString(v))
		return fail(x, "expected a path");
	if (v->valuestring[0] != '/' && x->base && v->valuestring[0]) {
		if ((size_t)snprintf(out, cap, "%s/%s", x->base, v->valuestring) >= cap)
			return fail(x, "path longer than %zu characters", cap - 1);
		return 0;
	}
	return get_string(x, v, out, cap);
}

static int get_bool(struct ctx *x, const cJSON *v, int *out)
{
	if (!cJSON_IsBool(v))
		return fail(x, "expected true or false");
	*out = cJSON_IsTrue(v);
	return 0;
}

/* Numbers and switches, by table (lib/jsonfield.h): range and type in one row. */
#define CFG_UINT(name, lo, hi, member) \
	KH_JSON_F_UINT(name, 0, lo, hi, struct kh_agent_config, member)
#define CFG_BOOL(name, member) KH_JSON_F_BOOL(name, 0, struct kh_agent_config, member)

static const struct kh_json_field dns_fields[] = {
	CFG_UINT("blocked_ttl", 0, 86400, blocked_ttl),
	CFG_UINT("timeout_ms", 100, 10000, timeout_ms),
	CFG_UINT("tcp_idle_ms", 500, 300000, tcp_idle_ms),
	CFG_UINT("tcp_message_ms", 100, 60000, tcp_message_ms),
	CFG_UINT("tcp_per_client", 1, CONFIG_DNS_TCP_MAX_CLIENTS, tcp_per_client),
	CFG_UINT("inflight_per_client", 1, CONFIG_DNS_MAX_INFLIGHT, inflight_per_client),
	CFG_UINT("rate_limit", 0, 65535, rate_limit),
	CFG_BOOL("canaries", canaries),
	CFG_BOOL("cache", cache),
	CFG_BOOL("safe_search", safe_search),
};

static const struct kh_json_field report_fields[] = {
	CFG_UINT("interval_s", 10, 86400, report_interval_s),
	CFG_UINT("queue_events", 16, 1000000, report_queue_events),
	CFG_UINT("queue_kb", 16, 1048576, report_queue_kb),
};

static const struct kh_json_field audit_fields[] = {
	CFG_UINT("interval_s", 0, 604800, audit_interval_s),
};

static const struct kh_json_field fw_fields[] = {
	CFG_UINT("interval_s", 0, 604800, fw_interval_s),
	KH_JSON_F_STRBUF("part", 0, struct kh_agent_config, fw_part),
};

static const struct kh_json_field integrity_fields[] = {
	CFG_UINT("interval_s", 0, 604800, integrity_interval_s),
	CFG_BOOL("notify", integrity_notify),
};

static const struct kh_json_field web_fields[] = {
	CFG_UINT("head_timeout_ms", 100, 60000, web_head_timeout_ms),
	CFG_UINT("send_timeout_ms", 100, 120000, web_send_timeout_ms),
	CFG_UINT("per_client", 1, 256, web_per_client),
	CFG_UINT("rate", 1, 1000, web_rate),
	KH_JSON_F_STRBUF("isp_name", 0, struct kh_agent_config, web_isp_name),
	KH_JSON_F_STRBUF("isp_contact", 0, struct kh_agent_config, web_isp_contact),
};

#define FIND(tab, key) kh_json_field_find(tab, KH_ARRAY_SIZE(tab), key)

/* v as field f of the configuration. */
static int get_field(struct ctx *x, const struct kh_json_field *f, const cJSON *v,
		     struct kh_agent_config *c)
{
	char why[160], *colon;

	if (kh_json_field_get(f, v, c, x->path, why, sizeof(why)) < 0) {
		/* why is "PATH: reason": say where the way this source does */
		colon = strstr(why, ": ");
		return fail(x, "%s", colon ? colon + 2 : why);
	}
	return 0;
}

static int get_addrs(struct ctx *x, const cJSON *v, struct kh_addr *out, unsigned max, unsigned *n,
		     uint16_t default_port)
{
	const cJSON *e;
	int i = 0;

	if (!cJSON_IsArray(v))
		return fail(x, "expected an array of \"IP:PORT\" strings");
	if (cJSON_GetArraySize(v) > (int)max)
		return fail(x, "at most %u entries (CONFIG)", max);
	*n = 0;
	cJSON_ArrayForEach (e, v) {
		size_t save = enter(x, NULL, i++);
		if (!cJSON_IsString(e) || kh_addr_parse(e->valuestring, default_port, &out[*n]) < 0)
			return fail(x, "not an address (expected IP:PORT, IPv6 as [IP]:PORT)");
		(*n)++;
		leave(x, save);
	}
	return 0;
}

static int get_cidrs(struct ctx *x, const cJSON *v, struct kh_agent_config *c)
{
	const cJSON *e;
	int i = 0;

	if (!cJSON_IsArray(v))
		return fail(x, "expected an array of \"IP/BITS\" strings");
	if (cJSON_GetArraySize(v) > KH_CFG_MAX_ALLOW)
		return fail(x, "at most %u entries", KH_CFG_MAX_ALLOW);
	c->nallow = 0;
	c->allow_set = 1;
	cJSON_ArrayForEach (e, v) {
		size_t save = enter(x, NULL, i++);
		if (!cJSON_IsString(e) || kh_cidr_parse(e->valuestring, &c->allow[c->nallow]) < 0)
			return fail(x, "not a network (expected IP/BITS with no host bits set, "
				       "or an IP)");
		c->nallow++;
		leave(x, save);
	}
	return 0;
}

static int ede_code(const char *s)
{
	if (strcmp(s, "blocked") == 0)
		return KH_EDE_BLOCKED;
	if (strcmp(s, "censored") == 0)
		return KH_EDE_CENSORED;
	if (strcmp(s, "filtered") == 0)
		return KH_EDE_FILTERED;
	if (strcmp(s, "none") == 0)
		return 0;
	return -1;
}

static int parse_category(struct ctx *x, struct kh_agent_config *c, const cJSON *v)
{
	struct kh_cat_policy *p = NULL;
	const cJSON *f;

	if (strlen(v->string) > KH_CAT_NAME_MAX)
		return fail(x, "category name longer than %d characters", KH_CAT_NAME_MAX);
	if (!cJSON_IsObject(v))
		return fail(x, "expected an object with action, ede, event");
	for (unsigned i = 0; i < c->ncats; i++)
		if (strcmp(c->cats[i].name, v->string) == 0)
			p = &c->cats[i];
	if (!p) {
		if (c->ncats >= KH_ARRAY_SIZE(c->cats))
			return fail(x, "too many categories (CONFIG_INDEX_MAX_CATEGORIES)");
		p = &c->cats[c->ncats++];
		strcpy(p->name, v->string);
		p->action = p->ede = p->event = -1;
	}
	cJSON_ArrayForEach (f, v) {
		size_t save = enter(x, f->string, -1);
		if (strcmp(f->string, "action") == 0) {
			if (!cJSON_IsString(f) ||
			    (p->action = kh_config_action(f->valuestring)) < 0)
				return fail(x, "expected nxdomain, nodata, null, blockpage, "
					       "refused, drop or allow (off unless a profile "
					       "blocks it)");
		} else if (strcmp(f->string, "ede") == 0) {
			if (!cJSON_IsString(f) || (p->ede = ede_code(f->valuestring)) < 0)
				return fail(x, "expected blocked, censored, filtered or none");
		} else if (strcmp(f->string, "event") == 0) {
			if (get_bool(x, f, &p->event))
				return -EINVAL;
		} else {
			return fail(x, "unknown key");
		}
		leave(x, save);
	}
	return 0;
}

static int parse_dns(struct ctx *x, struct kh_agent_config *c, const cJSON *dns)
{
	const cJSON *v;

	if (!cJSON_IsObject(dns))
		return fail(x, "expected an object");
	cJSON_ArrayForEach (v, dns) {
		size_t save = enter(x, v->string, -1);
		const char *k = v->string;
		const struct kh_json_field *f = FIND(dns_fields, k);
		int err = 0;

		if (f)
			err = get_field(x, f, v, c);
		else if (strcmp(k, "listen") == 0)
			err = get_addrs(x, v, c->listen, CONFIG_DNS_MAX_LISTENERS, &c->nlisten, 53);
		else if (strcmp(k, "upstreams") == 0)
			err = get_addrs(x, v, c->upstream, CONFIG_DNS_MAX_UPSTREAMS, &c->nupstream,
					53);
		else if (strcmp(k, "index") == 0)
			err = get_path(x, v, c->index, sizeof(c->index));
		else if (strcmp(k, "allow_clients") == 0)
			err = get_cidrs(x, v, c);
		else if (strcmp(k, "neighbours") == 0)
			err = get_path(x, v, c->neighbours, sizeof(c->neighbours));
		else if (strcmp(k, "default_action") == 0) {
			if (!cJSON_IsString(v) ||
			    (c->default_action = kh_config_action(v->valuestring)) < 0 ||
			    c->default_action == KH_DNS_ACT_ALLOW)
				err = fail(x, "expected nxdomain, nodata, null, blockpage, refused "
					      "or drop");
		} else if (strcmp(k, "client_id") == 0) {
			if (!cJSON_IsString(v) || (strcmp(v->valuestring, "hash") != 0 &&
						   strcmp(v->valuestring, "address") != 0))
				err = fail(x, "expected \"hash\" (default, Decree 13/2023) or "
					      "\"address\"");
			else
				c->client_id_hash = strcmp(v->valuestring, "hash") == 0;
		} else if (strcmp(k, "blockpage") == 0) {
			const cJSON *b;
			if (!cJSON_IsObject(v))
				return fail(x, "expected {\"ipv4\": ..., \"ipv6\": ...}");
			cJSON_ArrayForEach (b, v) {
				size_t s2 = enter(x, b->string, -1);
				struct kh_addr a;
				int v6 = strcmp(b->string, "ipv6") == 0;
				if (!v6 && strcmp(b->string, "ipv4") != 0)
					return fail(x, "unknown key");
				if (!cJSON_IsString(b) ||
				    kh_addr_parse_ip(b->valuestring, &a) < 0 ||
				    a.family != (v6 ? KH_AF_INET6 : KH_AF_INET))
					return fail(x, "not an IPv%d address", v6 ? 6 : 4);
				if (v6) {
					memcpy(c->page6, a.ip, 16);
					c->has_page6 = 1;
				} else {
					memcpy(c->page4, a.ip, 4);
					c->has_page4 = 1;
				}
				leave(x, s2);
			}
		} else if (strcmp(k, "categories") == 0) {
			const cJSON *cat;
			if (!cJSON_IsObject(v))
				return fail(x, "expected an object of categories");
			cJSON_ArrayForEach (cat, v) {
				size_t s2 = enter(x, cat->string, -1);
				if (parse_category(x, c, cat))
					return -EINVAL;
				leave(x, s2);
			}
		} else {
			err = fail(x, "unknown key");
		}
		if (err)
			return err;
		leave(x, save);
	}
	return 0;
}

/* web: the block and status pages (docs/WEB.md) */
static int parse_web(struct ctx *x, struct kh_agent_config *c, const cJSON *v)
{
	const cJSON *f;
	int rc = 0;

	if (!cJSON_IsObject(v))
		return fail(x, "expected {\"listen\", \"isp_name\", \"isp_contact\", ...}");
	cJSON_ArrayForEach (f, v) {
		size_t s2 = enter(x, f->string, -1);
		const struct kh_json_field *tf = FIND(web_fields, f->string);

		if (tf)
			rc = get_field(x, tf, f, c);
		else if (strcmp(f->string, "listen") == 0)
			rc = get_addrs(x, f, c->web_listen, KH_CFG_WEB_LISTENERS, &c->nweb_listen,
				       80);
		else
			rc = fail(x, "unknown key");
		if (rc)
			return rc;
		leave(x, s2);
	}
	return 0;
}

/*
 * time_zone: an IANA name, read from the zone database (platform/lan.h),
 * or a POSIX TZ string as OpenWrt's /etc/config/system keeps it.
 */
static int get_time_zone(struct ctx *x, const cJSON *v, struct kh_agent_config *c)
{
	const char *why;
	uint8_t *buf;
	size_t len;
	int err;

	if (!cJSON_IsString(v))
		return fail(x, "expected an IANA zone name (Asia/Ho_Chi_Minh) or a POSIX TZ "
			       "string (<+07>-7)");
	if (strlen(v->valuestring) > KH_TZ_TEXT_MAX)
		return fail(x, "longer than %d characters", KH_TZ_TEXT_MAX);
	kh_strlcpy(c->time_zone, v->valuestring, sizeof(c->time_zone));
	if (!kh_tz_is_iana_name(v->valuestring)) {
		if (kh_tz_parse_posix(v->valuestring, strlen(v->valuestring), &c->tz, &why) < 0)
			return fail(x, "%s", why);
		return 0;
	}
	err = kh_zone_read(v->valuestring, KH_TZIF_MAX, &buf, &len);
	if (err == -ENOTSUP)
		return fail(x, "no zone database on this platform: give a POSIX TZ string "
			       "(<+07>-7)");
	if (err == -EINVAL) /* no zone name either: say what a POSIX string looks like */
		return fail(x, "not a POSIX TZ string (e.g. <+07>-7 or "
			       "CET-1CEST,M3.5.0,M10.5.0/3) nor an IANA zone name");
	if (err < 0)
		return fail(x, "unknown time zone (no zone file: %s)", kh_strerror(err));
	err = kh_tz_parse_tzif(buf, len, &c->tz, &why);
	free(buf);
	return err < 0 ? fail(x, "zone file: %s", why) : 0;
}

/* profiles (agent/profile.c): its messages carry the JSON path; say it the way this source does */
static int get_profiles(struct ctx *x, const cJSON *v, struct kh_agent_config *c)
{
	char why[KH_CFG_PATH_MAX + 160];
	const char *sep;

	if (kh_profiles_parse(&c->profiles, v, x->path, 0, why, sizeof(why)) == 0)
		return 0;
	sep = strstr(why, ": ");
	if (!sep)
		return fail(x, "%s", why);
	snprintf(x->path, sizeof(x->path), "%.*s", (int)(sep - why), why);
	return fail(x, "%s", sep + 2);
}

static int parse_report(struct ctx *x, struct kh_agent_config *c, const cJSON *v)
{
	const cJSON *f;
	int rc = 0;

	if (!cJSON_IsObject(v))
		return fail(x, "expected {\"url\", \"server_ca\", \"cert\", \"key\", ...}");
	cJSON_ArrayForEach (f, v) {
		size_t s2 = enter(x, f->string, -1);
		const char *k = f->string;
		struct kh_addr a;
		const struct kh_json_field *tf = FIND(report_fields, k);

		if (tf) {
			rc = get_field(x, tf, f, c);
		} else if (strcmp(k, "url") == 0) {
			rc = get_string(x, f, c->report_url, sizeof(c->report_url));
			if (!rc && strncmp(c->report_url, "https://", 8) != 0)
				rc = fail(x, "expected https://HOST:PORT");
		} else if (strcmp(k, "connect") == 0) {
			rc = get_string(x, f, c->report_connect, sizeof(c->report_connect));
			if (!rc && kh_addr_parse(c->report_connect, 0, &a) < 0)
				rc = fail(x, "expected IP:PORT");
		} else if (strcmp(k, "serial") == 0)
			rc = get_string(x, f, c->report_serial, sizeof(c->report_serial));
		else if (strcmp(k, "server_ca") == 0)
			rc = get_path(x, f, c->report_ca, sizeof(c->report_ca));
		else if (strcmp(k, "cert") == 0)
			rc = get_path(x, f, c->report_cert, sizeof(c->report_cert));
		else if (strcmp(k, "key") == 0)
			rc = get_path(x, f, c->report_key, sizeof(c->report_key));
		else if (strcmp(k, "firmware") == 0)
			rc = get_string(x, f, c->firmware, sizeof(c->firmware));
		else
			rc = fail(x, "unknown key");
		if (rc)
			return rc;
		leave(x, s2);
	}
	return 0;
}

/*
 * A section of numbers (table) and at most one path (path_key into path):
 * audit {"interval_s", "root"}, firmware {"interval_s", "part", "partition"},
 * integrity {"interval_s", "notify"} (no path).
 */
static int parse_section(struct ctx *x, struct kh_agent_config *c, const cJSON *v,
			 const struct kh_json_field *table, size_t n, const char *path_key,
			 char *path, size_t cap, const char *expected)
{
	const cJSON *f;
	int rc = 0;

	if (!cJSON_IsObject(v))
		return fail(x, "%s", expected);
	cJSON_ArrayForEach (f, v) {
		size_t s2 = enter(x, f->string, -1);
		const struct kh_json_field *tf = kh_json_field_find(table, n, f->string);
		if (tf)
			rc = get_field(x, tf, f, c);
		else if (path_key && strcmp(f->string, path_key) == 0)
			rc = get_path(x, f, path, cap);
		else
			rc = fail(x, "unknown key");
		if (rc)
			return rc;
		leave(x, s2);
	}
	return 0;
}

int kh_config_parse(struct kh_agent_config *c, const char *json, size_t len, const char *origin,
		    char *why, size_t whylen)
{
	return kh_config_parse_in(c, json, len, origin, NULL, why, whylen);
}

static int walk(struct ctx *x, struct kh_agent_config *c, const cJSON *root);

int kh_config_parse_in(struct kh_agent_config *c, const char *json, size_t len, const char *origin,
		       const char *base, char *why, size_t whylen)
{
	struct ctx x = {origin, why, whylen, "", base, NULL};
	const char *end = NULL;
	cJSON *root = cJSON_ParseWithLengthOpts(json, len, &end, 0);
	int rc;

	if (!root) {
		unsigned line = 1;
		const char *at = end ? end : cJSON_GetErrorPtr();
		for (const char *p = json; at && p < at && p < json + len; p++)
			line += *p == '\n';
		/* The text need not be NUL-terminated: quote at most what is left of it. */
		if (at && at >= json && at < json + len)
			snprintf(why, whylen, "%s:%u: invalid JSON near '%.*s'", origin, line,
				 (int)KH_MIN((size_t)20, (size_t)(json + len - at)), at);
		else
			snprintf(why, whylen, "%s:%u: invalid JSON near the end", origin, line);
		return -EINVAL;
	}
	rc = walk(&x, c, root);
	cJSON_Delete(root);
	return rc;
}

/* The configuration tree root (JSON's, or one UCI section's) over c. */
static int walk(struct ctx *x_, struct kh_agent_config *c, const cJSON *root)
{
	struct ctx x = *x_;
	const cJSON *v;
	int rc = 0;

	if (!cJSON_IsObject(root))
		return fail(&x, "expected a JSON object at the top");
	cJSON_ArrayForEach (v, root) {
		size_t save = enter(&x, v->string, -1);
		const char *k = v->string;

		if (strcmp(k, "dns") == 0)
			rc = parse_dns(&x, c, v);
		else if (strcmp(k, "state_dir") == 0)
			rc = get_path(&x, v, c->state_dir, sizeof(c->state_dir));
		else if (strcmp(k, "time_zone") == 0)
			rc = get_time_zone(&x, v, c);
		else if (strcmp(k, "profiles") == 0)
			rc = get_profiles(&x, v, c);
		else if (strcmp(k, "audit") == 0)
			rc = parse_section(&x, c, v, audit_fields, KH_ARRAY_SIZE(audit_fields),
					   "root", c->audit_root, sizeof(c->audit_root),
					   "expected {\"interval_s\", \"root\"}");
		else if (strcmp(k, "firmware") == 0)
			rc = parse_section(&x, c, v, fw_fields, KH_ARRAY_SIZE(fw_fields),
					   "partition", c->fw_partition, sizeof(c->fw_partition),
					   "expected {\"partition\", \"part\", \"interval_s\"}");
		else if (strcmp(k, "integrity") == 0)
			rc = parse_section(&x, c, v, integrity_fields,
					   KH_ARRAY_SIZE(integrity_fields), NULL, NULL, 0,
					   "expected {\"interval_s\", \"notify\"}");
		else if (strcmp(k, "user") == 0) {
			rc = get_string(&x, v, c->user, sizeof(c->user));
			c->user_set = 1;
		} else if (strcmp(k, "log_level") == 0) {
			if (!cJSON_IsString(v) ||
			    (c->log_level = kh_log_parse_level(v->valuestring)) < 0)
				rc = fail(&x, "expected error, warn, notice, info or debug");
		} else if (strcmp(k, "policy") == 0) {
			const cJSON *f;
			if (!cJSON_IsObject(v)) {
				rc = fail(&x,
					  "expected {\"trust_root\", \"hardware_id\", \"bundle\"}");
				goto out;
			}
			cJSON_ArrayForEach (f, v) {
				size_t s2 = enter(&x, f->string, -1);
				if (strcmp(f->string, "trust_root") == 0)
					rc = get_path(&x, f, c->trust_root, sizeof(c->trust_root));
				else if (strcmp(f->string, "hardware_id") == 0)
					rc = get_string(&x, f, c->hardware_id,
							sizeof(c->hardware_id));
				else if (strcmp(f->string, "bundle") == 0)
					rc = get_path(&x, f, c->first_bundle,
						      sizeof(c->first_bundle));
				else
					rc = fail(&x, "unknown key");
				if (rc)
					goto out;
				leave(&x, s2);
			}
		} else if (strcmp(k, "report") == 0) {
			rc = parse_report(&x, c, v);
		} else if (strcmp(k, "web") == 0) {
			rc = IS_ENABLED(CONFIG_WEB) ? parse_web(&x, c, v)
						    : fail(&x, "this khiend is built without the "
							       "web pages (CONFIG_WEB)");
		} else if (strcmp(k, "control") == 0) {
			const cJSON *f;
			if (!cJSON_IsObject(v)) {
				rc = fail(&x, "expected {\"socket\": ..., \"group\": ...}");
				goto out;
			}
			cJSON_ArrayForEach (f, v) {
				size_t s2 = enter(&x, f->string, -1);
				if (strcmp(f->string, "socket") == 0)
					rc = get_string(&x, f, c->control, sizeof(c->control));
				else if (strcmp(f->string, "group") == 0)
					rc = get_string(&x, f, c->control_group,
							sizeof(c->control_group));
				else
					rc = fail(&x, "unknown key");
				if (rc)
					goto out;
				leave(&x, s2);
			}
		} else {
			rc = fail(&x, "unknown key");
		}
		if (rc)
			goto out;
		leave(&x, save);
	}
out:
	return rc;
}

/*
 * UCI (/etc/config/khien, docs/CONFIG.md): each section becomes the JSON
 * tree the same settings would have ("config dns" → {"dns": {...}},
 * "config category 'adult'" → {"dns": {"categories": {"adult": {...}}}})
 * and goes through walk(), so both forms share every check and limit.
 * Messages name the UCI place instead: "khien.dns.upstream[1]".
 */
struct uci_sect_map {
	const char *type;
	const char *json;	 /* key of the tree; NULL: the top (config khien) */
	const char *const *only; /* keys allowed at the top, or NULL */
};

/* UCI list and option names that differ from the JSON keys (dns section). */
static const struct {
	const char *uci, *json;
} uci_renames[] = {
	{"upstream", "upstreams"},
	{"allow_client", "allow_clients"},
	{"blockpage_ipv4", "blockpage.ipv4"},
	{"blockpage_ipv6", "blockpage.ipv6"},
	/* profile and schedule sections */
	{"client", "clients"},
	{"allow_name", "allow_names"},
	{"block_name", "block_names"},
	{"day", "days"},
};
static const char *const uci_lists[] = {"listen", "upstream", "allow_client"};
/* list options of profile and schedule sections */
static const char *const uci_prof_lists[] = {"client",	   "block", "allow_name",
					     "block_name", "day",   "block_all_except"};
static const char *const uci_top_keys[] = {"state_dir", "user", "log_level", "time_zone", NULL};
static const struct uci_sect_map uci_sects[] = {
	{"khien", NULL, uci_top_keys},	  {"dns", "dns", NULL},
	{"category", "dns", NULL},	  {"policy", "policy", NULL},
	{"report", "report", NULL},	  {"control", "control", NULL},
	{"audit", "audit", NULL},	  {"firmware", "firmware", NULL},
	{"integrity", "integrity", NULL}, {"web", "web", NULL},
	{"profile", "profiles", NULL},	  {"schedule", "profiles", NULL},
};

struct uci_at {
	const struct kh_uci *u;
	int sect;
	const char *pkg;
	char name[80];	  /* "dns" or "@dns[0]" */
	char prefix[112]; /* the JSON path that stands for the section ("dns") */
	size_t skip;	  /* its length */
	int raw;	  /* the path names the UCI option as written */
};

static const char *uci_rename(const char *name, int to_json)
{
	for (size_t i = 0; i < KH_ARRAY_SIZE(uci_renames); i++)
		if (strcmp(name, to_json ? uci_renames[i].uci : uci_renames[i].json) == 0)
			return to_json ? uci_renames[i].json : uci_renames[i].uci;
	return NULL;
}

/* The line of value index (or the last) of option name in the section, 0 if none. */
static int uci_line(const struct uci_at *a, const char *name, long index)
{
	int line = 0, n = 0;

	for (int k = 0; k < kh_uci_options(a->u); k++) {
		const char *on, *ov;
		int l;
		if (kh_uci_option(a->u, k, &on, &ov, &l) != a->sect || strcmp(on, name) != 0)
			continue;
		if (index < 0 || n++ <= index)
			line = l;
	}
	return line ? line : kh_uci_section_line(a->u, a->sect);
}

static void uci_where(const struct ctx *x, char *out, size_t cap)
{
	const struct uci_at *a = x->uci;
	const char *rest = x->path + KH_MIN(strlen(x->path), a->skip), *idx;
	char opt[128];
	size_t n;
	long index = -1;

	while (*rest == '.')
		rest++;
	/* the option: the first component, or blockpage.ipv4 as one */
	n = strcspn(rest, ".[");
	if (strncmp(rest, "blockpage.", 10) == 0)
		n = 10 + strcspn(rest + 10, ".[");
	snprintf(opt, sizeof(opt), "%.*s", (int)n, rest);
	if (!a->raw && uci_rename(opt, 0))
		kh_strlcpy(opt, uci_rename(opt, 0), sizeof(opt));
	idx = rest + n;
	if (*idx == '[')
		index = strtol(idx + 1, NULL, 10);
	snprintf(out, cap, "%s:%d: %s.%s%s%s%s", x->origin, uci_line(a, opt, index), a->pkg,
		 a->name, opt[0] ? "." : "", opt, idx);
}

static int uci_is(const char *v, const char *const *words, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v, words[i]) == 0)
			return 1;
	return 0;
}

/* A UCI value as JSON: the type its field has (uci itself only has strings). */
static cJSON *uci_value(const char *key, const char *v)
{
	static const char *const yes[] = {"1", "true", "yes", "on", "enabled"};
	static const char *const no[] = {"0", "false", "no", "off", "disabled"};
	static const char *const bools[] = {"canaries",	   "cache", "notify",	"event",
					    "safe_search", "child", "block_all"};
	static const char *const nums[] = {"blocked_ttl",     "timeout_ms",
					   "tcp_idle_ms",     "tcp_message_ms",
					   "tcp_per_client",  "inflight_per_client",
					   "rate_limit",      "interval_s",
					   "queue_events",    "queue_kb",
					   "head_timeout_ms", "send_timeout_ms",
					   "per_client",      "rate"};
	char *end;
	double d;

	if (uci_is(key, bools, KH_ARRAY_SIZE(bools))) {
		if (uci_is(v, yes, KH_ARRAY_SIZE(yes)))
			return cJSON_CreateTrue();
		if (uci_is(v, no, KH_ARRAY_SIZE(no)))
			return cJSON_CreateFalse();
	} else if (uci_is(key, nums, KH_ARRAY_SIZE(nums)) && v[0] >= '0' && v[0] <= '9') {
		d = strtod(v, &end);
		if (!*end)
			return cJSON_CreateNumber(d);
	}
	return cJSON_CreateString(v); /* and walk() says what was expected */
}

/* Section i as its JSON tree in *out; 0, or -EINVAL with the place in x. */
static int uci_tree(struct ctx *x, struct uci_at *a, const struct uci_sect_map *m, cJSON **out)
{
	cJSON *root = cJSON_CreateObject(), *obj = root;
	const char *name = kh_uci_section_name(a->u, a->sect);
	int rc = 0;

	*out = root;
	if (!root)
		return -ENOMEM;
	kh_strlcpy(a->prefix, m->json ? m->json : "", sizeof(a->prefix));
	if (m->json)
		obj = cJSON_AddObjectToObject(root, m->json);
	if (strcmp(m->type, "category") == 0) {
		if (!name)
			return fail(x, "a category section needs a name: config category 'NAME'");
		obj = cJSON_AddObjectToObject(cJSON_AddObjectToObject(obj, "categories"), name);
		snprintf(a->prefix, sizeof(a->prefix), "dns.categories.%s", name);
	} else if (strcmp(m->type, "profile") == 0) {
		if (!name)
			return fail(x, "a profile section needs a name: config profile 'NAME'");
		obj = cJSON_AddObjectToObject(obj, name);
		snprintf(a->prefix, sizeof(a->prefix), "profiles.%s", name);
	} else if (strcmp(m->type, "schedule") == 0) {
		const char *prof = NULL;
		for (int k = 0; k < kh_uci_options(a->u); k++) {
			const char *on, *ov;
			int line;
			if (kh_uci_option(a->u, k, &on, &ov, &line) == a->sect &&
			    strcmp(on, "profile") == 0)
				prof = ov;
		}
		if (!prof || strlen(prof) > KH_PROF_NAME_MAX)
			return fail(x, "a schedule section needs option profile 'NAME'");
		obj = cJSON_AddObjectToObject(obj, prof);
		obj = cJSON_AddArrayToObject(obj, "schedules");
		if (obj && !cJSON_AddItemToArray(obj, cJSON_CreateObject()))
			return -ENOMEM;
		obj = obj ? cJSON_GetArrayItem(obj, 0) : NULL;
		snprintf(a->prefix, sizeof(a->prefix), "profiles.%s.schedules[0]", prof);
	}
	a->skip = strlen(a->prefix);
	for (int k = 0; k < kh_uci_options(a->u) && obj; k++) {
		const char *on, *ov, *key;
		int line;
		cJSON *v, *into = obj;

		if (kh_uci_option(a->u, k, &on, &ov, &line) != a->sect)
			continue;
		snprintf(x->path, sizeof(x->path), "%s%s%s", a->prefix, a->skip ? "." : "", on);
		key = (strcmp(m->type, "dns") == 0 ||
		       strcmp(m->json ? m->json : "", "profiles") == 0) &&
				      uci_rename(on, 1)
			      ? uci_rename(on, 1)
			      : on;
		if (strcmp(m->type, "schedule") == 0 && strcmp(on, "profile") == 0)
			continue; /* which profile: the section's place in the tree */
		if ((!m->json && strcmp(on, "enabled") == 0))
			continue; /* the init script's switch */
		if ((m->only && !uci_is(on, m->only, 4)) ||
		    (!strcmp(m->type, "dns") && uci_rename(on, 0)) ||
		    (!strcmp(m->type, "dns") && !strcmp(on, "categories")) ||
		    (!strcmp(m->type, "dns") && !strcmp(on, "blockpage"))) {
			/* JSON's own names are not UCI's: upstreams is list upstream */
			a->raw = 1;
			rc = fail(x, "unknown option");
			break;
		}
		if (strncmp(key, "blockpage.", 10) == 0) {
			into = cJSON_GetObjectItem(obj, "blockpage");
			if (!into)
				into = cJSON_AddObjectToObject(obj, "blockpage");
			key += 10;
		}
		if ((strcmp(m->type, "dns") == 0 &&
		     uci_is(on, uci_lists, KH_ARRAY_SIZE(uci_lists))) ||
		    (strcmp(m->type, "web") == 0 && strcmp(on, "listen") == 0) ||
		    (strcmp(m->json ? m->json : "", "profiles") == 0 &&
		     uci_is(on, uci_prof_lists, KH_ARRAY_SIZE(uci_prof_lists)))) {
			cJSON *arr = cJSON_GetObjectItem(into, key);
			if (!arr)
				arr = cJSON_AddArrayToObject(into, key);
			if (!arr || !cJSON_AddItemToArray(arr, cJSON_CreateString(ov)))
				rc = -ENOMEM;
		} else {
			if (into && cJSON_GetObjectItem(into, key)) {
				rc = fail(x, "one value (option), not a list");
				break;
			}
			v = uci_value(key, ov);
			if (!into || !v || !cJSON_AddItemToObject(into, key, v)) {
				cJSON_Delete(v);
				rc = -ENOMEM;
			}
		}
		if (rc)
			break;
	}
	x->path[0] = 0;
	if (!rc && !obj)
		rc = -ENOMEM;
	return rc;
}

int kh_config_parse_uci(struct kh_agent_config *c, const char *text, size_t len, const char *origin,
			const char *base, char *why, size_t whylen)
{
	struct ctx x = {origin, why, whylen, "", base, NULL};
	struct kh_uci *u;
	struct uci_at a;
	const char *slash = strrchr(origin, '/');
	char perr[128];
	int rc;

	/* the package is the file's name, as uci has it: /etc/config/khien → khien */
	a.pkg = slash ? slash + 1 : origin;
	if ((rc = kh_uci_parse(text, len, &u, perr, sizeof(perr))) < 0) {
		/* "line N: why" → "origin:N: why", as for JSON syntax errors */
		if (strncmp(perr, "line ", 5) == 0) {
			const char *colon = strchr(perr, ':');
			snprintf(why, whylen, "%s:%.*s: %s", origin,
				 (int)(colon ? colon - perr - 5 : 0), perr + 5,
				 colon ? colon + 2 : perr);
		} else {
			snprintf(why, whylen, "%s: %s", origin, perr);
		}
		return rc == -ENOMEM ? -ENOMEM : -EINVAL;
	}
	a.u = u;
	for (int i = 0; i < kh_uci_sections(u) && rc == 0; i++) {
		const char *type = kh_uci_section_type(u, i), *name = kh_uci_section_name(u, i);
		const struct uci_sect_map *m = NULL;
		cJSON *tree = NULL;
		int nth = 0;

		for (int k = 0; k < i; k++)
			nth += strcmp(kh_uci_section_type(u, k), type) == 0;
		if (name)
			snprintf(a.name, sizeof(a.name), "%s", name);
		else
			snprintf(a.name, sizeof(a.name), "@%s[%d]", type, nth);
		a.sect = i;
		a.skip = 0;
		a.raw = 0;
		x.uci = &a;
		for (size_t k = 0; k < KH_ARRAY_SIZE(uci_sects); k++)
			if (strcmp(uci_sects[k].type, type) == 0)
				m = &uci_sects[k];
		if (!m) {
			rc = fail(&x,
				  "unknown section type '%s' (expected khien, dns, category, "
				  "policy, report, control, audit, firmware, integrity, web, "
				  "profile or schedule)",
				  type);
			break;
		}
		rc = uci_tree(&x, &a, m, &tree);
		if (rc == -ENOMEM)
			snprintf(why, whylen, "%s: out of memory", origin);
		if (!rc)
			rc = walk(&x, c, tree);
		cJSON_Delete(tree);
	}
	kh_uci_free(u);
	return rc;
}

/* UCI unless the first thing in the file is a JSON object. */
int kh_config_is_json(const char *text, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (text[i] != ' ' && text[i] != '\t' && text[i] != '\r' && text[i] != '\n')
			return text[i] == '{';
	return 1;
}

int kh_config_load(struct kh_agent_config *c, const char *path, char *why, size_t whylen)
{
	return kh_config_load_as(c, path, KH_CONFIG_AUTO, why, whylen);
}

int kh_config_load_as(struct kh_agent_config *c, const char *path, int format, char *why,
		      size_t whylen)
{
	uint8_t *buf;
	size_t len;
	int rc = kh_fs_read(path, CONFIG_FILE_MAX, &buf, &len);

	if (rc < 0) {
		snprintf(why, whylen, "%s: cannot read: %s", path, kh_strerror(rc));
		return rc;
	}
	{
		char base[KH_CFG_PATH_MAX];
		const char *slash = strrchr(path, '/');
		if (!slash)
			kh_strlcpy(base, ".", sizeof(base));
		else if (slash == path)
			kh_strlcpy(base, "/", sizeof(base));
		else
			snprintf(base, sizeof(base), "%.*s", (int)(slash - path), path);
		if (format == KH_CONFIG_UCI ||
		    (format == KH_CONFIG_AUTO && !kh_config_is_json((const char *)buf, len)))
			rc = kh_config_parse_uci(c, (const char *)buf, len, path, base, why,
						 whylen);
		else
			rc = kh_config_parse_in(c, (const char *)buf, len, path, base, why, whylen);
	}
	free(buf);
	return rc;
}

static int add_addrs(cJSON *o, const char *key, const struct kh_addr *a, unsigned n)
{
	cJSON *arr = cJSON_AddArrayToObject(o, key);
	char buf[KH_ADDR_STRLEN];

	for (unsigned i = 0; arr && i < n; i++) {
		kh_addr_format(&a[i], buf, sizeof(buf));
		if (!cJSON_AddItemToArray(arr, cJSON_CreateString(buf)))
			return -ENOMEM;
	}
	return arr ? 0 : -ENOMEM;
}

static const char *ede_name(int code)
{
	return code == KH_EDE_BLOCKED	 ? "blocked"
	       : code == KH_EDE_CENSORED ? "censored"
	       : code == KH_EDE_FILTERED ? "filtered"
					 : "none";
}

/* A table's numbers and switches out of c: the rows say which member is which. */
static void add_fields(cJSON *o, const struct kh_json_field *t, size_t n,
		       const struct kh_agent_config *c)
{
	for (size_t i = 0; i < n; i++) {
		const char *p = (const char *)c + t[i].off;
		if (t[i].type == KH_JSON_BOOL)
			cJSON_AddBoolToObject(o, t[i].name, *(const int *)(const void *)p);
		else if (t[i].type == KH_JSON_STRING && t[i].size)
			cJSON_AddStringToObject(o, t[i].name, p);
		else if (t[i].type == KH_JSON_UINT && t[i].size == sizeof(uint32_t))
			cJSON_AddNumberToObject(o, t[i].name, *(const uint32_t *)(const void *)p);
	}
}

static const char *const log_names[] = {"error", "warn", "notice", "info", "debug"};

char *kh_config_print(const struct kh_agent_config *c)
{
	cJSON *r = cJSON_CreateObject(), *dns, *o;
	char buf[64], *out = NULL;
	int bad = !r;

	dns = cJSON_AddObjectToObject(r, "dns");
	bad |= !dns || add_addrs(dns, "listen", c->listen, c->nlisten) < 0 ||
	       add_addrs(dns, "upstreams", c->upstream, c->nupstream) < 0;
	if (bad)
		goto out;
	if (c->index[0])
		cJSON_AddStringToObject(dns, "index", c->index);
	add_fields(dns, dns_fields, KH_ARRAY_SIZE(dns_fields), c);
	cJSON_AddStringToObject(dns, "default_action", kh_config_action_name(c->default_action));
	cJSON_AddStringToObject(dns, "client_id", c->client_id_hash ? "hash" : "address");
	if (c->allow_set) { /* else the defaults, which depend on the listen addresses */
		cJSON *arr = cJSON_AddArrayToObject(dns, "allow_clients");
		for (unsigned i = 0; arr && i < c->nallow; i++) {
			char ip[KH_ADDR_STRLEN];
			struct kh_addr a = c->allow[i].net;
			kh_addr_format(&a, ip, sizeof(ip));
			/* "IP:0" / "[IP]:0" → IP */
			if (a.family == KH_AF_INET6)
				snprintf(buf, sizeof(buf), "%.*s/%u",
					 (int)(strchr(ip, ']') - ip - 1), ip + 1, c->allow[i].bits);
			else
				snprintf(buf, sizeof(buf), "%.*s/%u", (int)strcspn(ip, ":"), ip,
					 c->allow[i].bits);
			cJSON_AddItemToArray(arr, cJSON_CreateString(buf));
		}
	}
	if (c->has_page4 || c->has_page6) {
		struct kh_addr a = {0};
		o = cJSON_AddObjectToObject(dns, "blockpage");
		if (c->has_page4) {
			a.family = KH_AF_INET;
			memcpy(a.ip, c->page4, 4);
			kh_addr_format(&a, buf, sizeof(buf));
			buf[strcspn(buf, ":")] = 0;
			cJSON_AddStringToObject(o, "ipv4", buf);
		}
		if (c->has_page6) {
			a.family = KH_AF_INET6;
			memcpy(a.ip, c->page6, 16);
			kh_addr_format(&a, buf, sizeof(buf));
			*strchr(buf, ']') = 0;
			cJSON_AddStringToObject(o, "ipv6", buf + 1);
		}
	}
	if (c->ncats) {
		o = cJSON_AddObjectToObject(dns, "categories");
		for (unsigned i = 0; o && i < c->ncats; i++) {
			const struct kh_cat_policy *p = &c->cats[i];
			cJSON *cat = cJSON_AddObjectToObject(o, p->name);
			if (p->action >= 0)
				cJSON_AddStringToObject(cat, "action",
							kh_config_action_name(p->action));
			if (p->ede >= 0)
				cJSON_AddStringToObject(cat, "ede", ede_name(p->ede));
			if (p->event >= 0)
				cJSON_AddBoolToObject(cat, "event", p->event);
		}
	}
	o = cJSON_AddObjectToObject(r, "policy");
	cJSON_AddStringToObject(o, "trust_root", c->trust_root);
	cJSON_AddStringToObject(o, "hardware_id", c->hardware_id);
	cJSON_AddStringToObject(o, "bundle", c->first_bundle);
	o = cJSON_AddObjectToObject(r, "report");
	if (c->report_url[0]) /* an empty url is refused: absent means off */
		cJSON_AddStringToObject(o, "url", c->report_url);
	if (c->report_connect[0])
		cJSON_AddStringToObject(o, "connect", c->report_connect);
	cJSON_AddStringToObject(o, "serial", c->report_serial);
	cJSON_AddStringToObject(o, "server_ca", c->report_ca);
	cJSON_AddStringToObject(o, "cert", c->report_cert);
	cJSON_AddStringToObject(o, "key", c->report_key);
	cJSON_AddStringToObject(o, "firmware", c->firmware);
	add_fields(o, report_fields, KH_ARRAY_SIZE(report_fields), c);
	o = cJSON_AddObjectToObject(r, "control");
	cJSON_AddStringToObject(o, "socket", c->control);
	cJSON_AddStringToObject(o, "group", c->control_group);
	o = cJSON_AddObjectToObject(r, "audit");
	add_fields(o, audit_fields, KH_ARRAY_SIZE(audit_fields), c);
	cJSON_AddStringToObject(o, "root", c->audit_root);
	o = cJSON_AddObjectToObject(r, "firmware");
	add_fields(o, fw_fields, KH_ARRAY_SIZE(fw_fields), c);
	cJSON_AddStringToObject(o, "partition", c->fw_partition);
	o = cJSON_AddObjectToObject(r, "integrity");
	add_fields(o, integrity_fields, KH_ARRAY_SIZE(integrity_fields), c);
	if (IS_ENABLED(CONFIG_WEB)) { /* a build without the pages refuses the section */
		o = cJSON_AddObjectToObject(r, "web");
		if (!o || add_addrs(o, "listen", c->web_listen, c->nweb_listen) < 0)
			goto out;
		add_fields(o, web_fields, KH_ARRAY_SIZE(web_fields), c);
	}
	cJSON_AddStringToObject(r, "time_zone", c->time_zone);
	if (c->profiles.nprof) {
		o = cJSON_AddObjectToObject(r, "profiles");
		if (o)
			kh_profiles_print(&c->profiles, o);
	}
	if (c->neighbours[0])
		cJSON_AddStringToObject(dns, "neighbours", c->neighbours);
	cJSON_AddStringToObject(r, "state_dir", c->state_dir);
	cJSON_AddStringToObject(r, "user", c->user);
	cJSON_AddStringToObject(r, "log_level",
				c->log_level >= 0 && c->log_level < (int)KH_ARRAY_SIZE(log_names)
					? log_names[c->log_level]
					: "info");
	out = cJSON_Print(r);
out:
	cJSON_Delete(r);
	return out;
}
