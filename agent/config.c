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
#include "lib/version.h"
#include "platform/fs.h"

#define CONFIG_FILE_MAX (64 * 1024)

static const char *const action_names[] = {"nxdomain",	"nodata",  "null",
					   "blockpage", "refused", "drop"};

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

static int cidr_parse(const char *s, struct kh_cidr *out)
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
		cidr_parse(default_allow[i], &c->allow[c->nallow++]);
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
}

struct ctx {
	const char *origin;
	char *err;
	size_t errlen;
	char path[128];
	const char *base; /* directory relative paths are taken from, or NULL */
};

static int fail(struct ctx *x, const char *fmt, ...) KH_PRINTF(2, 3);

static int fail(struct ctx *x, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(x->err, x->errlen, "%s: %s: ", x->origin, x->path);

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
	char why[160];

	if (kh_json_field_get(f, v, c, x->path, why, sizeof(why)) < 0) {
		snprintf(x->err, x->errlen, "%s: %s", x->origin, why);
		return -EINVAL;
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
		if (!cJSON_IsString(e) || cidr_parse(e->valuestring, &c->allow[c->nallow]) < 0)
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
					       "refused or drop");
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
		else if (strcmp(k, "default_action") == 0) {
			if (!cJSON_IsString(v) ||
			    (c->default_action = kh_config_action(v->valuestring)) < 0)
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

int kh_config_parse_in(struct kh_agent_config *c, const char *json, size_t len, const char *origin,
		       const char *base, char *why, size_t whylen)
{
	struct ctx x = {origin, why, whylen, "", base};
	const char *end = NULL;
	cJSON *root = cJSON_ParseWithLengthOpts(json, len, &end, 0), *v;
	int rc = 0;

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
	if (!cJSON_IsObject(root)) {
		rc = fail(&x, "expected a JSON object at the top");
		goto out;
	}
	cJSON_ArrayForEach (v, root) {
		size_t save = enter(&x, v->string, -1);
		const char *k = v->string;

		if (strcmp(k, "dns") == 0)
			rc = parse_dns(&x, c, v);
		else if (strcmp(k, "state_dir") == 0)
			rc = get_path(&x, v, c->state_dir, sizeof(c->state_dir));
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
	cJSON_Delete(root);
	return rc;
}

int kh_config_load(struct kh_agent_config *c, const char *path, char *why, size_t whylen)
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
		rc = kh_config_parse_in(c, (const char *)buf, len, path, base, why, whylen);
	}
	free(buf);
	return rc;
}
