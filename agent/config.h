/* SPDX-License-Identifier: MIT */
/*
 * khiend configuration: a JSON file (schema in docs/CONFIG.md) merged over
 * built-in defaults, then command-line overrides. Every unknown key and bad
 * value is reported with its path ("dns.upstreams[1]: not an address") and
 * the daemon refuses to start; nothing is silently ignored.
 */
#ifndef KHIEN_AGENT_CONFIG_H
#define KHIEN_AGENT_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "agent/dns_wire.h"
#include "agent/profile.h"
#include "lib/compiler.h"
#include "platform/net.h"

#define KH_CFG_PATH_MAX 256
#define KH_CAT_NAME_MAX 32

/* Per-category policy; -1 in a field means "use the default". */
struct kh_cat_policy {
	char name[KH_CAT_NAME_MAX + 1];
	int action; /* enum kh_dns_action */
	int ede;    /* RFC 8914 code, 0 = none */
	int event;  /* 1: blocked hits become events */
};

/* An address prefix: the first bits of net (family and ip) match. */
struct kh_cidr {
	struct kh_addr net;
	uint8_t bits;
};
#define KH_CFG_MAX_ALLOW 16
/* web.listen slots: there even when CONFIG_WEB is off, so the parser stays one */
#if defined(CONFIG_WEB_MAX_LISTENERS)
#define KH_CFG_WEB_LISTENERS CONFIG_WEB_MAX_LISTENERS
#else
#define KH_CFG_WEB_LISTENERS 1
#endif

/* 1 if a's address (not port) lies in c. */
int kh_cidr_match(const struct kh_cidr *c, const struct kh_addr *a);
/* "IP/BITS" (no host bits set) or a bare IP (all bits) into c: 0 or -EINVAL. */
int kh_cidr_parse(const char *s, struct kh_cidr *c);

struct kh_agent_config {
	struct kh_addr listen[CONFIG_DNS_MAX_LISTENERS];
	unsigned nlisten;
	struct kh_addr upstream[CONFIG_DNS_MAX_UPSTREAMS];
	unsigned nupstream;
	char index[KH_CFG_PATH_MAX];
	char state_dir[KH_CFG_PATH_MAX];
	char control[108];
	char control_group[33];
	char user[33];
	int user_set;
	uint32_t blocked_ttl;
	int default_action;
	struct kh_cat_policy cats[CONFIG_INDEX_MAX_CATEGORIES];
	unsigned ncats;
	int has_page4, has_page6;
	uint8_t page4[4], page6[16];
	int canaries, cache, client_id_hash;
	uint32_t timeout_ms;
	/* DNS over TCP: idle and whole-message deadlines, connections per client address */
	uint32_t tcp_idle_ms, tcp_message_ms, tcp_per_client;
	uint32_t inflight_per_client; /* forwarded queries one client address may have pending */
	uint32_t rate_limit;	      /* UDP queries per second per client address, 0 = none */
	struct kh_cidr allow[KH_CFG_MAX_ALLOW]; /* client networks served */
	unsigned nallow;
	int allow_set; /* 0: the defaults, which add the /24 (/64) of each listen address */
	int log_level;
	/* signed policy (docs/POLICY.md) */
	char trust_root[KH_CFG_PATH_MAX];
	char hardware_id[65];
	char first_bundle[KH_CFG_PATH_MAX];
	/* reporting to the central server (docs/PROTOCOL.md) */
	char report_url[256];
	char report_connect[KH_ADDR_STRLEN]; /* address to dial when the URL names a host */
	char report_serial[65];
	char report_ca[KH_CFG_PATH_MAX], report_cert[KH_CFG_PATH_MAX], report_key[KH_CFG_PATH_MAX];
	uint32_t report_interval_s;
	/* audit: how often the rules run (0: at start and policy changes only), on which root */
	uint32_t audit_interval_s;
	char audit_root[KH_CFG_PATH_MAX];
	/* integrity: full baseline scans every interval_s (0: at start and new baselines only) */
	uint32_t integrity_interval_s;
	int integrity_notify; /* inotify on the persistence points */
	uint32_t report_queue_events, report_queue_kb;
	char firmware[65];
	/* the running image (docs/FIRMWARE.md): where it is, which manifest part, how often */
	char fw_partition[KH_CFG_PATH_MAX];
	char fw_part[33];
	uint32_t fw_interval_s;
	/* block and status pages (docs/WEB.md) */
	struct kh_addr web_listen[KH_CFG_WEB_LISTENERS];
	unsigned nweb_listen;
	char web_isp_name[IS_ENABLED(CONFIG_WEB) ? 97 : 1],
		web_isp_contact[IS_ENABLED(CONFIG_WEB) ? 161 : 1];
	uint32_t web_head_timeout_ms; /* a request head must be complete within this */
	uint32_t web_send_timeout_ms; /* the answer must be taken within this */
	uint32_t web_per_client;      /* connections one client address may hold */
	uint32_t web_rate;	      /* requests per second per client address (burst: 4x) */
	/* home profiles (docs/PROFILES.md) */
	char time_zone[KH_TZ_TEXT_MAX + 1]; /* as written: an IANA name or a POSIX TZ string */
	struct kh_tz tz;		    /* resolved */
	int safe_search;		    /* dns.safe_search: for clients without a profile */
	char neighbours
		[KH_CFG_PATH_MAX]; /* dns.neighbours: the neighbour table file ("": the system's) */
	struct kh_profiles profiles;
};

/* Built-in defaults (docs/CONFIG.md). */
void kh_config_defaults(struct kh_agent_config *c);

/*
 * Parse JSON text over c. origin names the source in messages (a file
 * name). On error returns -EINVAL and writes "origin: path: reason" (or
 * "origin:LINE: ..." for syntax errors) into why.
 */
int kh_config_parse(struct kh_agent_config *c, const char *json, size_t len, const char *origin,
		    char *why, size_t whylen);
/* The same, with relative paths taken from directory base (NULL: as written). */
int kh_config_parse_in(struct kh_agent_config *c, const char *json, size_t len, const char *origin,
		       const char *base, char *why, size_t whylen);

/*
 * Read and parse a file (at most 256 KiB). Relative paths in it (index,
 * state_dir, policy.*, report.*) are taken relative to the file's directory,
 * so a provisioned directory can be installed anywhere.
 */
int kh_config_load(struct kh_agent_config *c, const char *path, char *why, size_t whylen);

/* kh_config_load_as formats: by content (a JSON object, else UCI), or forced. */
enum {
	KH_CONFIG_AUTO,
	KH_CONFIG_JSON,
	KH_CONFIG_UCI
};
int kh_config_load_as(struct kh_agent_config *c, const char *path, int format, char *why,
		      size_t whylen);

/*
 * Parse UCI text (/etc/config/khien; the mapping is in docs/CONFIG.md) over
 * c, with the same checks as the JSON form. The package name in messages
 * is origin's file name: "/etc/config/khien:7: khien.dns.upstream[1]: not an
 * address"; syntax errors are "origin:LINE: why". -EINVAL or -ENOMEM.
 */
int kh_config_parse_uci(struct kh_agent_config *c, const char *text, size_t len, const char *origin,
			const char *base, char *why, size_t whylen);
/* 1 if text starts (after blanks) with '{' or is empty: the JSON form. */
int kh_config_is_json(const char *text, size_t len);

/*
 * The effective settings as a JSON object in the JSON form's schema
 * (parsing it again gives the same settings); the caller frees it with
 * cJSON_free. NULL when out of memory.
 */
char *kh_config_print(const struct kh_agent_config *c);

/* Parse an action name ("nxdomain", "nodata", "null", "blockpage", "refused", "drop"). */
int kh_config_action(const char *s);
const char *kh_config_action_name(int action);

#endif
