/* SPDX-License-Identifier: MIT */
/*
 * khiend: the Khien agent daemon. Reads its configuration, binds the DNS
 * listeners and the control socket while it still has the privileges to,
 * then drops to an unprivileged user and serves from one event loop.
 *
 * Exit codes: 0 stopped by a signal; 1 configuration error; 2 usage error;
 * 3 runtime failure (cannot bind, cannot drop privileges, no entropy).
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "agent/agent.h"
#include "agent/audit.h"
#include "agent/auditor.h"
#include "agent/category.h"
#include "agent/owner.h"
#include "agent/config.h"
#include "agent/control.h"
#include "agent/dns.h"
#include "agent/policy_store.h"
#include "agent/privsep.h"
#include "agent/event.h"
#include "agent/firmware.h"
#include "agent/fw_store.h"
#include "agent/integrity.h"
#include "agent/report.h"
#include "agent/web.h"
#include "crypto/crypto.h"
#include "firmware/baseline.h"
#include "lib/err.h"
#include "lib/ipaddr.h"
#include "lib/jsonnum.h"
#include "lib/log.h"
#include "lib/str.h"
#include "platform/fs.h"
#include "platform/fsroot.h"
#include "platform/lan.h"
#include "platform/log.h"
#include "platform/loop.h"
#include "platform/proc.h"
#include "platform/rand.h"
#include "platform/time.h"
#include "policy/audit.h"

#include "lib/version.h"
#define EXIT_CONFIG 1
#define EXIT_USAGE 2
#define EXIT_RUNTIME 3

struct agent {
	struct kh_agent_config cfg;
	struct kh_loop *loop;
	struct kh_dns *dns;
	struct kh_web *web; /* block and status pages (CONFIG_WEB), NULL when off */
	struct kh_control *ctl;
	struct kh_priv *priv; /* the trust state's owner: here, or the parent process */
	struct kh_report *report;
	struct kh_events *events; /* every module's events: recent list, gate, queue */
	struct kh_agent_audit *audit;
	struct kh_agent_fw *fw; /* firmware checks (agent/firmware.h) */
	int fw_part_fd;		/* firmware.partition, opened by root before the split; -1 */
	int auditor_chan;	/* the auditor process, forked by the root process; -1 if none */
	struct kh_integrity *integrity;
	int integrity_chan; /* the auditor process that runs baseline scans; -1 if none */
	uint64_t started;
	/* the owner's login and the status page's own state (docs/WEB.md) */
	int owner_chan;		/* the password helper (agent/owner.h), forked by root; -1 */
	struct kh_owner *owner; /* the engine's client of it */
	struct kh_web_auth auth;
	struct {
		struct kh_addr ip;
		char name[KH_WEB_NAME_MAX + 1];
	} names[KH_WEB_CLIENTS];
	struct kh_web_threat threats[KH_WEB_THREATS]; /* infected devices, count 0: free */
	char notice[KH_WEB_NOTICE_MAX + 1];	      /* the ISP's, from a server command */
	struct kh_timer keep;			      /* writes the infected list when it moved */
	int keep_dirty;				      /* 0, 1 counts moved, 2 a device is new */
	cJSON *owner_prof; /* the owner's profile settings (STATE/spool/profiles.local), NULL */
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: khiend [options]\n"
		"\n"
		"  -c, --config FILE      configuration, JSON or UCI by content (docs/CONFIG.md)\n"
		"      --uci FILE         UCI configuration (/etc/config/khien)\n"
		"  -f, --foreground       stay in the foreground, log to stderr\n"
		"  -l, --listen ADDR:PORT DNS listen address, UDP and TCP (repeatable)\n"
		"  -u, --upstream ADDR:PORT  upstream resolver (repeatable, in order of "
		"preference)\n"
		"      --web-listen ADDR:PORT  block and status pages over HTTP (repeatable)\n"
		"  -i, --index FILE       blocklist index (khien-policy compile)\n"
		"  -s, --state-dir DIR    persistent state (policy slots, trust root, client key)\n"
		"      --trust-root FILE  the firmware's root of trust for signed policy, needed\n"
		"                         at every start: stored roots are re-verified from it\n"
		"      --hardware-id ID   this device's hardware id, for targeted bundles\n"
		"      --bundle FILE      apply this signed policy bundle at start (first boot)\n"
		"      --audit-root DIR   audit the file system under DIR instead of /\n"
		"      --control PATH     control socket (default /run/khien/khiend.sock,\n"
		"                         or $KHIEN_CONTROL)\n"
		"      --user USER        run as USER after binding (\"\" keeps root)\n"
		"      --log-level LEVEL  error, warn, notice, info, debug\n"
		"      --check-config     validate the configuration and exit\n"
		"      --print            check the configuration, print the effective settings as "
		"JSON\n"
		"  -h, --help             this text\n"
		"\n"
		"Command-line options override the configuration file. Signals: SIGHUP\n"
		"reloads the blocklist, SIGTERM/SIGINT stop. Exit codes: 0 stopped,\n"
		"1 configuration error, 2 usage error, 3 runtime failure.\n");
}

static void on_stop(struct kh_loop *loop, int signo, void *arg)
{
	(void)arg;
	log_notice("signal %d: stopping", signo);
	kh_loop_stop(loop);
}

/* The blocklist in force: the active signed policy's, else dns.index. */
static const char *index_path(struct agent *a)
{
	const char *p = kh_priv_component(a->priv, "blocklist");
	return p ? p : a->cfg.index;
}

static int reload(struct agent *a, const char *path, const char **why)
{
	int err;

	if (!path || !*path) {
		*why = "no index configured (dns.index or --index)";
		return -ENOENT;
	}
	err = kh_dns_load_index(a->dns, path, why);
	if (err < 0)
		log_error("index %s not loaded, keeping the current one: %s", path, *why);
	else
		log_notice("index %s loaded", path);
	return err;
}

static void on_hup(struct kh_loop *loop, int signo, void *arg)
{
	struct agent *a = arg;
	const char *why;

	(void)loop;
	(void)signo;
	reload(a, index_path(a), &why);
}

/*
 * The ISP's profiles (the active policy's `profiles` component, JSON
 * {"profiles": {...}} in the configuration's schema) over the local ones
 * (docs/PROFILES.md). Signed, but still parsed with every limit; one that
 * does not parse or fit leaves the table in force.
 */
static void isp_profiles(struct agent *a)
{
	const char *path = kh_priv_component(a->priv, "profiles");
	struct kh_profiles *t = NULL;
	char why[320];
	uint8_t *buf = NULL;
	size_t len;
	cJSON *root = NULL;
	int err;

	if (!IS_ENABLED(CONFIG_PROFILES))
		return;
	if (!path) {
		kh_dns_set_isp_profiles(a->dns, NULL, why, sizeof(why));
		return;
	}
	if ((err = kh_fs_read(path, 256 * 1024, &buf, &len)) < 0) {
		log_error("profiles of the policy: %s", kh_strerror(err));
		return;
	}
	if (!(t = calloc(1, sizeof(*t))) || !(root = cJSON_ParseWithLength((char *)buf, len))) {
		log_error("profiles of the policy refused: not JSON");
		goto out;
	}
	kh_profiles_init(t);
	if (!cJSON_IsObject(root) || cJSON_GetArraySize(root) != 1 ||
	    !cJSON_GetObjectItem(root, "profiles")) {
		log_error("profiles of the policy refused: expected {\"profiles\": {...}}");
		goto out;
	}
	if (kh_profiles_parse(t, cJSON_GetObjectItem(root, "profiles"), "profiles", 1, why,
			      sizeof(why)) < 0 ||
	    kh_dns_set_isp_profiles(a->dns, t, why, sizeof(why)) < 0) {
		log_error("profiles of the policy refused: %s", why);
		goto out;
	}
	log_notice("profiles of the policy: %u profile(s)", t->nprof);
out:
	cJSON_Delete(root);
	free(buf);
	free(t);
}

/*
 * The audit rules of the active policy to the audit (none: results are
 * cleared). Rules that do not parse leave the previous ones running.
 */
static void audit_rules(struct agent *a)
{
	const char *path = kh_priv_component(a->priv, "audit");
	char why[256];
	uint8_t *buf = NULL;
	size_t len = 0;
	int err, slot;

	if (!a->audit)
		return;
	if (path && (err = kh_fs_read(path, KH_AUDIT_MAX_TEXT, &buf, &len)) < 0) {
		log_error("audit rules %s: %s", path, kh_strerror(err));
		return;
	}
	/* which slot: the auditor reads the rules there itself, never from the engine */
	slot = path && strstr(path, "/slot-b/") ? 1 : 0;
	if (kh_agent_audit_set_rules(a->audit, buf, len, slot, why, sizeof(why)) < 0)
		log_error("audit rules of the policy refused: %s", why);
	free(buf);
}

/* A check of severity high or critical failing: an event for the ISP. */
static void on_audit_fail(void *arg, const char *check, enum kh_severity sev, const char *evidence)
{
	struct agent *a = arg;
	const struct kh_event ev = {
		.type = "audit_failed",
		.severity = sev,
		.check = check,
		.evidence = evidence,
	};

	log_warn("audit: %s fails: %s", check, evidence);
	kh_event_emit(a->events, &ev);
}

/*
 * The baseline of the active policy to the integrity check (none: drifts
 * are cleared). A table that does not parse leaves the previous one.
 */
static void integrity_baseline(struct agent *a)
{
	const char *path = kh_priv_component(a->priv, "baseline");
	char why[256];

	if (!a->integrity)
		return;
	/* which slot: the auditor maps the table there itself, never from the engine */
	if (kh_integrity_set_baseline(a->integrity, path, path && strstr(path, "/slot-b/") ? 1 : 0,
				      why, sizeof(why)) < 0)
		log_error("baseline of the policy refused: %s", why);
}

/* A drift seen for the first time: an event for the ISP (docs/INTEGRITY.md). */
static void on_drift(void *arg, const struct kh_drift *d)
{
	struct agent *a = arg;
	const struct kh_event ev = {
		.type = kh_drift_type(d->kind),
		.severity = d->sev,
		.name = d->path,
		.reason = d->what,
		.evidence = d->evidence,
	};

	kh_event_emit(a->events, &ev);
}

static int integrity_procs(void *ctx, long after, struct kh_proc_info *out, unsigned max,
			   unsigned *n, long *next)
{
	return kh_priv_procs(((struct agent *)ctx)->priv, after, out, max, n, next);
}

static int integrity_kill(void *ctx, long pid, uint64_t dev, uint64_t ino, char *why, size_t whylen)
{
	return kh_priv_kill(((struct agent *)ctx)->priv, pid, dev, ino, why, whylen);
}

static int start_integrity(struct agent *a)
{
	char reported[KH_CFG_PATH_MAX + 32];
	struct kh_integrity_cfg c = {.root = a->cfg.audit_root,
				     .interval_s = a->cfg.integrity_interval_s,
				     .auditor_chan = a->integrity_chan,
				     .notify = a->cfg.integrity_notify,
				     .on_drift = on_drift,
				     .ctx = a,
				     .proc_ctx = a};
	int err;

	/*
	 * The live system only (a fixture's /proc is not the parent's): the
	 * root parent lists the processes the auditor may not look at, and
	 * stops a suspicious one when the signed baseline says so.
	 */
	if (strcmp(a->cfg.audit_root, "/") == 0) {
		if (a->integrity_chan >= 0)
			c.procs = integrity_procs;
		c.kill = integrity_kill;
	}

	/* the engine's own file: it survives restarts so a drift is reported once */
	if (a->cfg.state_dir[0]) {
		snprintf(reported, sizeof(reported), "%s/spool/integrity.reported",
			 a->cfg.state_dir);
		c.reported_path = reported;
	}
	err = kh_integrity_new(a->loop, &c, &a->integrity);

	if (err < 0) {
		log_error_err(err, "integrity root %s", a->cfg.audit_root);
		return err;
	}
	integrity_baseline(a);
	return 0;
}

/* The firmware's part of `khienctl integrity`: what `khienctl firmware status` shows. */
static void integrity_firmware_status(struct agent *a, cJSON *resp)
{
	cJSON *fw = cJSON_AddObjectToObject(resp, "firmware");

	if (fw && a->fw)
		kh_agent_fw_status(a->fw, fw);
}

static const char *hook_audit_digest(void *arg)
{
	struct agent *a = arg;
	return a->audit ? kh_agent_audit_acked_digest(a->audit) : NULL;
}

static cJSON *hook_audit_changes(void *arg, int full, uint64_t *gen)
{
	struct agent *a = arg;
	return a->audit ? kh_agent_audit_changes(a->audit, full, gen) : NULL;
}

static int hook_audit_stored(void *arg, uint64_t gen, const char *sent, const char *digest)
{
	struct agent *a = arg;
	return a->audit ? kh_agent_audit_stored(a->audit, gen, sent, digest) : 0;
}

static int start_audit(struct agent *a)
{
	struct kh_agent_audit_cfg c = {.root = a->cfg.audit_root,
				       .interval_s = a->cfg.audit_interval_s,
				       .auditor_chan = a->auditor_chan,
				       .on_fail = on_audit_fail,
				       .ctx = a};
	int err = kh_agent_audit_new(a->loop, &c, &a->audit);

	if (err < 0) {
		log_error_err(err, "audit root %s", a->cfg.audit_root);
		return err;
	}
	audit_rules(a);
	return 0;
}

/*
 * Verify and apply a bundle (from a file, the server or the factory); on
 * success the DNS filter switches to its index. The one path every bundle
 * takes, whoever delivered it.
 */
static int apply_bundle_bytes(struct agent *a, const uint8_t *buf, size_t len, const char *from,
			      char *why, size_t whylen)
{
	const char *w;
	int err;

	err = kh_priv_apply(a->priv, buf, len, why, whylen);
	if (err < 0) {
		log_error("policy from %s refused: %s", from, why);
		return err;
	}
	log_notice("policy from %s: %s", from, why);
	if (kh_priv_component(a->priv, "blocklist") && reload(a, index_path(a), &w) < 0)
		snprintf(why, whylen, "applied, but its blocklist does not load: %s", w);
	audit_rules(a);
	integrity_baseline(a);
	isp_profiles(a);
	return 0;
}

/* A bundle from a descriptor (khienctl's, or the first-boot file); path is for messages. */
static int apply_bundle_fd(struct agent *a, int fd, const char *path, char *why, size_t whylen)
{
	struct kh_fs_map map;
	int err;

	/* a pipe or a device would block the one loop that answers DNS */
	if (!kh_fs_fd_regular(fd)) {
		snprintf(why, whylen, "%s: not a regular file (a pipe or device is not read)",
			 path);
		return -EINVAL;
	}
	/* mapped, not copied: a bundle of several MiB on a 64 MiB device */
	err = kh_fs_map_fd(fd, (size_t)CONFIG_POLICY_MAX_BUNDLE_MB << 20, &map);
	if (err < 0) {
		snprintf(why, whylen, "cannot read %s: %s", path, kh_strerror(err));
		return err;
	}
	err = apply_bundle_bytes(a, map.data, map.len, path, why, whylen);
	kh_fs_unmap(&map);
	return err;
}

static int apply_bundle(struct agent *a, const char *path, char *why, size_t whylen)
{
	int fd = kh_fs_open_read(path), err;

	if (fd == -ENOTSUP) {
		/* a store without descriptors (lwIP's flash store): the file by its key */
		struct kh_fs_map map;

		if ((err = kh_fs_map(path, (size_t)CONFIG_POLICY_MAX_BUNDLE_MB << 20, &map)) < 0) {
			snprintf(why, whylen, "cannot read %s: %s", path, kh_strerror(err));
			return err;
		}
		err = apply_bundle_bytes(a, map.data, map.len, path, why, whylen);
		kh_fs_unmap(&map);
		return err;
	}
	if (fd < 0) {
		snprintf(why, whylen, "cannot read %s: %s", path, kh_strerror(fd));
		return fd;
	}
	err = apply_bundle_fd(a, fd, path, why, whylen);
	kh_fs_close_fd(fd);
	return err;
}

/* ---- what reporting needs from the agent ---- */

static uint64_t hook_policy_version(void *arg)
{
	struct agent *a = arg;
	return kh_priv_version(a->priv);
}

static uint64_t hook_root_version(void *arg)
{
	struct agent *a = arg;
	return kh_priv_root_version(a->priv);
}

static int hook_apply(void *arg, const uint8_t *bundle, size_t len, char *why, size_t whylen)
{
	return apply_bundle_bytes(arg, bundle, len, "server", why, whylen);
}

static void hook_health(void *arg, cJSON *out)
{
	struct agent *a = arg;

	cJSON_AddNumberToObject(out, "uptime_s", (double)(kh_time_mono_ms() - a->started) / 1000.0);
	kh_dns_health(a->dns, out);
	kh_agent_fw_report(a->fw, out); /* the running image's verified version and counter */
}

static int same_ip(const struct kh_addr *x, const struct kh_addr *y)
{
	return x->family == y->family &&
	       memcmp(x->ip, y->ip, x->family == KH_AF_INET6 ? 16 : 4) == 0;
}

/*
 * What the status page keeps in the engine's spool across a restart
 * (agent/web_state.c): the infected devices and the ISP's notice, each
 * written atomically when it changes and read back through
 * kh_fs_read_private(), so a file that is not the engine's own or does
 * not parse is refused with a log line and the page starts without it.
 */
#define KEEP_NEW_MS 1000     /* a new infected device: kept within a second */
#define KEEP_COUNTS_MS 60000 /* only counts moved: at most one write a minute */

static void spool_path(const struct agent *a, const char *name, char *path, size_t cap)
{
	snprintf(path, cap, "%s/spool/%s", a->cfg.state_dir, name);
}

static void infected_save(struct agent *a)
{
	char path[KH_CFG_PATH_MAX + 16], buf[KH_WEB_INFECTED_MAX];
	int n = kh_web_threats_format(a->threats, buf, sizeof(buf));

	a->keep_dirty = 0;
	if (!a->cfg.state_dir[0])
		return;
	spool_path(a, "infected", path, sizeof(path));
	if (n < 0 || kh_fs_write_atomic(path, buf, (size_t)n, 0600) < 0)
		log_warn("cannot keep the infected devices in %s", path);
}

static void on_keep(struct kh_loop *loop, void *arg)
{
	(void)loop;
	infected_save(arg);
}

/* A state file of the engine's spool, refused unless the spool's owner alone has it. */
static int spool_read(struct agent *a, const char *name, size_t max, char *path, size_t cap,
		      uint8_t **buf, size_t *len)
{
	char dir[KH_CFG_PATH_MAX + 16];
	uint32_t uid;
	unsigned mode;
	int err;

	spool_path(a, name, path, cap);
	spool_path(a, "", dir, sizeof(dir));
	if ((err = kh_fs_dir_owner(dir, &uid, &mode)) < 0 ||
	    (err = kh_fs_read_private(path, uid, max, buf, len)) < 0) {
		if (err != -ENOENT)
			log_error("%s: %s: refused", path,
				  kh_fs_private_why(err) ? kh_fs_private_why(err)
							 : kh_strerror(err));
		return err;
	}
	return 0;
}

static void keep_load(struct agent *a)
{
	char path[KH_CFG_PATH_MAX + 16], why[96];
	uint8_t *buf;
	size_t len;

	kh_timer_init(&a->keep, on_keep, a);
	if (!a->cfg.state_dir[0])
		return;
	if (spool_read(a, "infected", KH_WEB_INFECTED_MAX, path, sizeof(path), &buf, &len) == 0) {
		if (memchr(buf, 0, len) ||
		    kh_web_threats_parse((char *)buf, a->threats, why, sizeof(why)) < 0)
			log_error("%s: %s: refused; the infected-device list starts empty", path,
				  memchr(buf, 0, len) ? "a NUL byte" : why);
		free(buf);
	}
	if (spool_read(a, "notice", KH_WEB_NOTICE_MAX, path, sizeof(path), &buf, &len) == 0) {
		if (kh_web_notice_check((char *)buf, len) < 0)
			log_error("%s: not a notice (a control byte): refused", path);
		else
			memcpy(a->notice, buf, len + 1);
		free(buf);
	}
}

/*
 * A LAN client asked for a name of a security category: an infected
 * device for the status page and its block page (the oldest-seen one
 * makes room). Its event carries the pseudonym, for the ISP's warnings.
 * Kept soon when the device is new, within a minute when only counted.
 */
static void threat_seen(struct agent *a, const struct kh_dns_event *e)
{
	struct kh_category cat;
	int how;

	kh_category_resolve(&a->cfg, e->category, &cat);
	if (!cat.security)
		return;
	how = kh_web_threat_seen(a->threats, e->addr, e->category, e->name,
				 e->time ? e->time : kh_time_wall());
	if (!a->web || !a->cfg.state_dir[0] || how <= a->keep_dirty)
		return; /* no pages (the timer is theirs), no state directory, or already due */
	if (!a->keep_dirty || how == 2)
		kh_timer_arm(a->loop, &a->keep, how == 2 ? KEEP_NEW_MS : KEEP_COUNTS_MS);
	a->keep_dirty = how;
}

static const char *device_name(const struct agent *a, const struct kh_addr *ip)
{
	for (unsigned i = 0; i < KH_WEB_CLIENTS; i++)
		if (a->names[i].name[0] && same_ip(&a->names[i].ip, ip))
			return a->names[i].name;
	return "";
}

/* A blocked hit in an event-producing category: to the event owner. */
static void on_dns_event(void *arg, const struct kh_dns_event *e)
{
	struct agent *a = arg;
	const struct kh_event ev = {
		.type = "dns_blocked",
		.severity = (enum kh_severity)e->severity, /* from the category table */
		.time = e->time,
		.client = e->client,
		.rule = e->rule,
		.name = e->name,
		.category = e->category,
		.qtype = e->qtype,
		.source = e->source,
	};

	kh_event_emit(a->events, &ev);
	if (IS_ENABLED(CONFIG_WEB) && e->addr)
		threat_seen(a, e);
}

/* ---- what the web pages need from the agent (agent/web.h) ---- */

static void web_verdict(void *arg, const char *name, const struct kh_addr *client,
			struct kh_dns_verdict *v)
{
	struct agent *a = arg;

	(void)client; /* per-client profiles: a later slice of issue 14 */
	kh_dns_verdict(a->dns, name, v);
}

static void web_facts(void *arg, struct kh_web_facts *f)
{
	struct agent *a = arg;
	int64_t loaded = 0;

	f->protecting = kh_dns_index_info(a->dns, &loaded, &f->index_entries);
	f->lists_age_s = f->protecting && loaded > 0 && kh_time_wall() >= loaded
				 ? kh_time_wall() - loaded
				 : -1;
	f->policy_version = kh_priv_version(a->priv);
	f->ncats = kh_dns_recent_blocked(a->dns, f->cats, KH_WEB_CATS);
	f->nclients = kh_dns_recent_clients(a->dns, f->clients, KH_WEB_CLIENTS);
	for (unsigned i = 0; i < f->nclients; i++)
		kh_strlcpy(f->names[i], device_name(a, &f->clients[i].addr), sizeof(f->names[i]));
	for (unsigned i = 0; i < KH_WEB_THREATS; i++)
		if (a->threats[i].count) {
			kh_strlcpy(f->threat_names[f->nthreats],
				   device_name(a, &a->threats[i].addr), sizeof(f->threat_names[0]));
			f->threats[f->nthreats++] = a->threats[i];
		}
	f->notice = a->notice;
	if (IS_ENABLED(CONFIG_PROFILES)) {
		const cJSON *profs =
			a->owner_prof ? cJSON_GetObjectItemCaseSensitive(a->owner_prof, "profiles")
				      : NULL;
		f->isp_profiles = kh_dns_isp_profiles(a->dns);
		f->profiles = kh_dns_profiles(a->dns);
		for (unsigned i = 0; i < a->cfg.profiles.nprof && i < 64; i++)
			if (cJSON_GetObjectItemCaseSensitive(profs, a->cfg.profiles.prof[i].name))
				f->owner_edited |= 1ull << i;
		for (unsigned i = 0; i < a->cfg.ncats && f->nhousehold < KH_WEB_HOUSEHOLD - 1; i++)
			if (a->cfg.cats[i].action == KH_DNS_ACT_ALLOW &&
			    strcmp(a->cfg.cats[i].name, "bypass") != 0)
				kh_strlcpy(f->household[f->nhousehold++], a->cfg.cats[i].name,
					   sizeof(f->household[0]));
		kh_strlcpy(f->household[f->nhousehold++], "bypass", sizeof(f->household[0]));
	}
}

static int web_threat(void *arg, const struct kh_addr *client, struct kh_web_threat *t)
{
	struct agent *a = arg;

	for (unsigned i = 0; i < KH_WEB_THREATS; i++)
		if (a->threats[i].count && same_ip(&a->threats[i].addr, client)) {
			*t = a->threats[i];
			return 1;
		}
	return 0;
}

/* The names the owner gave devices, kept in STATE/spool/names (one "ADDR NAME" a line). */
static void names_save(struct agent *a)
{
	char path[KH_CFG_PATH_MAX + 16],
		buf[KH_WEB_CLIENTS * (KH_ADDR_STRLEN + KH_WEB_NAME_MAX + 2)];
	size_t n = 0;

	if (!a->cfg.state_dir[0])
		return;
	for (unsigned i = 0; i < KH_WEB_CLIENTS; i++) {
		char ip[KH_ADDR_STRLEN];
		if (!a->names[i].name[0])
			continue;
		kh_addr_format(&a->names[i].ip, ip, sizeof(ip));
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s %s\n", ip, a->names[i].name);
	}
	snprintf(path, sizeof(path), "%s/spool/names", a->cfg.state_dir);
	if (kh_fs_write_atomic(path, buf, n, 0600) < 0)
		log_warn("cannot keep device names in %s", path);
}

static void names_load(struct agent *a)
{
	char path[KH_CFG_PATH_MAX + 16];
	uint8_t *buf;
	size_t len;
	unsigned k = 0;

	snprintf(path, sizeof(path), "%s/spool/names", a->cfg.state_dir);
	if (!a->cfg.state_dir[0] || kh_fs_read(path, 4096, &buf, &len) < 0)
		return;
	for (char *line = (char *)buf, *next; line && *line && k < KH_WEB_CLIENTS; line = next) {
		char *sp = strchr(line, ' ');
		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		if (!sp)
			continue;
		*sp = 0;
		if (kh_addr_parse(line, 0, &a->names[k].ip) < 0 || strlen(sp + 1) > KH_WEB_NAME_MAX)
			continue;
		kh_strlcpy(a->names[k].name, sp + 1, sizeof(a->names[k].name));
		for (char *c = a->names[k].name; *c; c++)
			if ((unsigned char)*c < 0x20)
				*c = ' ';
		k++;
	}
	free(buf);
}

static int web_set_name(void *arg, const struct kh_addr *device, const char *name)
{
	struct agent *a = arg;
	int slot = -1;

	for (unsigned i = 0; i < KH_WEB_CLIENTS; i++) {
		if (a->names[i].name[0] && same_ip(&a->names[i].ip, device)) {
			slot = (int)i;
			break;
		}
		if (slot < 0 && !a->names[i].name[0])
			slot = (int)i;
	}
	if (slot < 0)
		return -ENOSPC;
	a->names[slot].ip = *device;
	a->names[slot].ip.port = 0;
	kh_strlcpy(a->names[slot].name, name, sizeof(a->names[slot].name));
	names_save(a);
	return 0;
}

/*
 * The owner's profile settings (docs/WEB.md): a layer over the
 * configuration's profiles, kept in STATE/spool/profiles.local as
 * {"profiles": {...}, "clients": {...}} and parsed with the profiles
 * parser and its limits (kh_profiles_owner). The ISP's part is merged
 * over it by the engine, and checked first.
 */
#define OWNER_PROF_MAX (16 * 1024)

static void owner_prof_path(const struct agent *a, char *path, size_t cap)
{
	snprintf(path, cap, "%s/spool/profiles.local", a->cfg.state_dir);
}

/* doc over the configuration's profiles, swapped into the engine: 0 or -EINVAL with why. */
static int owner_prof_apply(struct agent *a, const cJSON *doc, char *why, size_t whylen)
{
	struct kh_profiles *t;
	int err;

	if (!IS_ENABLED(CONFIG_PROFILES))
		return -ENOTSUP;
	if (!(t = malloc(sizeof(*t)))) {
		snprintf(why, whylen, "out of memory");
		return -ENOMEM;
	}
	*t = a->cfg.profiles;
	if ((err = kh_profiles_owner(t, doc, why, whylen)) == 0)
		err = kh_dns_set_local_profiles(a->dns, t, why, whylen);
	free(t);
	return err;
}

static void owner_prof_load(struct agent *a)
{
	char path[KH_CFG_PATH_MAX + 24], why[320];
	uint8_t *buf = NULL;
	size_t len;
	cJSON *doc;
	int err;

	if (!IS_ENABLED(CONFIG_PROFILES) || !a->cfg.state_dir[0])
		return;
	owner_prof_path(a, path, sizeof(path));
	if ((err = kh_fs_read(path, OWNER_PROF_MAX, &buf, &len)) < 0) {
		if (err != -ENOENT)
			log_error("%s: %s: the configured profiles stay", path, kh_strerror(err));
		return;
	}
	doc = cJSON_ParseWithLength((const char *)buf, len);
	free(buf);
	if (!doc) {
		log_error("%s: not JSON: the configured profiles stay", path);
		return;
	}
	if (owner_prof_apply(a, doc, why, sizeof(why)) < 0) {
		log_error("%s: %s: the configured profiles stay", path, why);
		cJSON_Delete(doc);
		return;
	}
	cJSON_Delete(a->owner_prof);
	a->owner_prof = doc;
	log_notice("%s: the owner's profile settings applied", path);
}

/* doc becomes the owner's layer: applied, then kept (atomically); on error nothing changes. */
static int owner_prof_commit(struct agent *a, cJSON *doc, char *why, size_t whylen)
{
	char path[KH_CFG_PATH_MAX + 24];
	char *text = cJSON_PrintUnformatted(doc);
	int err;

	if (!text) {
		cJSON_Delete(doc);
		snprintf(why, whylen, "out of memory");
		return -ENOMEM;
	}
	if (strlen(text) > OWNER_PROF_MAX) {
		snprintf(why, whylen, "the owner's settings exceed %d bytes", OWNER_PROF_MAX);
		err = -E2BIG;
	} else if ((err = owner_prof_apply(a, doc, why, whylen)) == 0 && a->cfg.state_dir[0]) {
		owner_prof_path(a, path, sizeof(path));
		if ((err = kh_fs_write_atomic(path, text, strlen(text), 0600)) < 0) {
			char w2[320];
			snprintf(why, whylen, "cannot write %s", path);
			/* back to what is kept */
			if (!a->owner_prof ||
			    owner_prof_apply(a, a->owner_prof, w2, sizeof(w2)) < 0)
				kh_dns_set_local_profiles(a->dns, NULL, w2, sizeof(w2));
		}
	}
	free(text);
	if (err < 0) {
		log_warn("the owner's profile settings refused: %s", why);
		cJSON_Delete(doc);
		return err;
	}
	cJSON_Delete(a->owner_prof);
	a->owner_prof = doc;
	return 0;
}

/* A copy of the owner's layer and its object key (created). */
static cJSON *owner_prof_copy(const struct agent *a, cJSON **part, const char *key)
{
	cJSON *doc = a->owner_prof ? cJSON_Duplicate(a->owner_prof, 1) : cJSON_CreateObject();

	*part = NULL;
	if (!doc)
		return NULL;
	if (!(*part = cJSON_GetObjectItemCaseSensitive(doc, key)))
		*part = cJSON_AddObjectToObject(doc, key);
	if (!*part) {
		cJSON_Delete(doc);
		return NULL;
	}
	return doc;
}

static int web_set_profile(void *arg, const struct kh_addr *device, const char *profile, char *why,
			   size_t whylen)
{
	struct agent *a = arg;
	static struct kh_neigh neigh[256]; /* one loop thread */
	char key[KH_ADDR_STRLEN];
	cJSON *doc, *clients;
	int n = kh_neigh_read(a->cfg.neighbours[0] ? a->cfg.neighbours : NULL, neigh, 256);

	/* the device by its MAC when the neighbour table knows it, else its address */
	kh_ip_format(device->ip, device->family == KH_AF_INET6, key, sizeof(key));
	for (int i = 0; i < n; i++)
		if (same_ip(&neigh[i].ip, device)) {
			const uint8_t *m = neigh[i].mac;
			if (m[0] | m[1] | m[2] | m[3] | m[4] | m[5])
				snprintf(key, sizeof(key), "%02x:%02x:%02x:%02x:%02x:%02x", m[0],
					 m[1], m[2], m[3], m[4], m[5]);
			break;
		}
	{ /* a device the ISP's signed profiles place stays there: the owner cannot move it out */
		const struct kh_profiles *isp = kh_dns_isp_profiles(a->dns);
		uint8_t mac[6];
		int by_mac = strchr(key, ':') && !strchr(key, '.') && strlen(key) == 17 &&
			     sscanf(key, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &mac[0], &mac[1], &mac[2],
				    &mac[3], &mac[4], &mac[5]) == 6;
		int p = isp ? kh_profile_find(isp, device, by_mac ? mac : NULL) : -1;
		if (p >= 0) {
			snprintf(why, whylen, "the ISP's profiles put this device in profile %s",
				 isp->prof[p].name);
			return -EPERM;
		}
	}
	if (!(doc = owner_prof_copy(a, &clients, "clients"))) {
		snprintf(why, whylen, "out of memory");
		return -ENOMEM;
	}
	cJSON_DeleteItemFromObjectCaseSensitive(clients, key);
	if (!cJSON_AddStringToObject(clients, key, profile)) {
		cJSON_Delete(doc);
		snprintf(why, whylen, "out of memory");
		return -ENOMEM;
	}
	return owner_prof_commit(a, doc, why, whylen);
}

/* "a b c" (validated by the page) into a JSON array of strings. */
static cJSON *word_array(const char *s)
{
	cJSON *arr = cJSON_CreateArray();

	while (arr && *s) {
		const char *e = strchr(s, ' ');
		size_t n = e ? (size_t)(e - s) : strlen(s);
		char w[256];
		if (n && n < sizeof(w)) {
			memcpy(w, s, n);
			w[n] = 0;
			cJSON_AddItemToArray(arr, cJSON_CreateString(w));
		}
		s += n + (e != NULL);
	}
	return arr;
}

static int web_edit_profile(void *arg, const struct kh_web_prof_edit *e, char *why, size_t whylen)
{
	struct agent *a = arg;
	cJSON *doc, *profs, *o, *cats;

	if (!(doc = owner_prof_copy(a, &profs, "profiles")) || !(o = cJSON_CreateObject())) {
		cJSON_Delete(doc);
		snprintf(why, whylen, "out of memory");
		return -ENOMEM;
	}
	{ /* a list the form did not carry stays as the owner last set it (or as configured) */
		cJSON *was = cJSON_GetObjectItemCaseSensitive(profs, e->name);
		for (int k = 0; k < 2; k++) {
			const char *key = k ? "block_names" : "allow_names";
			cJSON *l = cJSON_GetObjectItemCaseSensitive(was, key);
			if (!(k ? e->has_block : e->has_allow) && l)
				cJSON_AddItemToObject(o, key, cJSON_Duplicate(l, 1));
		}
	}
	cJSON_DeleteItemFromObjectCaseSensitive(profs, e->name);
	cJSON_AddItemToObject(profs, e->name, o);
	cJSON_AddBoolToObject(o, "safe_search", e->safe_search);
	cJSON_AddBoolToObject(o, "child", e->child);
	if ((cats = cJSON_AddArrayToObject(o, "block")))
		for (unsigned i = 0; i < e->ncats; i++)
			cJSON_AddItemToArray(cats, cJSON_CreateString(e->cats[i]));
	if (e->has_allow)
		cJSON_AddItemToObject(o, "allow_names", word_array(e->allow));
	if (e->has_block)
		cJSON_AddItemToObject(o, "block_names", word_array(e->block));
	return owner_prof_commit(a, doc, why, whylen);
}

/* The ISP's notice (server command "notice"): shown on the status page until replaced. */
static void hook_notice(void *arg, const char *text)
{
	struct agent *a = arg;

	char was[sizeof(a->notice)], path[KH_CFG_PATH_MAX + 16];
	int err;

	memcpy(was, a->notice, sizeof(was));
	kh_strlcpy(a->notice, text, sizeof(a->notice));
	for (char *c = a->notice; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = ' ';
	log_notice("notice from the ISP: %s", a->notice[0] ? a->notice : "(cleared)");
	if (!a->cfg.state_dir[0] || strcmp(was, a->notice) == 0)
		return; /* written only when it changes */
	spool_path(a, "notice", path, sizeof(path));
	err = a->notice[0] ? kh_fs_write_atomic(path, a->notice, strlen(a->notice), 0600)
			   : kh_fs_remove(path);
	if (err < 0)
		log_warn("cannot keep the ISP's notice in %s", path);
}

static void on_owner_state(void *ctx, const struct kh_owner_reply *r)
{
	struct agent *a = ctx;
	a->auth.owner_set = r->rc == 0 ? r->set : -1;
}

static int web_allowed(void *arg, const struct kh_addr *peer)
{
	struct agent *a = arg;
	return kh_dns_client_allowed(a->dns, peer);
}

static void web_status(struct agent *a, cJSON *resp)
{
	struct kh_web_stats st;
	cJSON *o;

	if (!IS_ENABLED(CONFIG_WEB) || !a->web) {
		cJSON_AddNullToObject(resp, "web");
		return;
	}
	kh_web_stats(a->web, &st);
	o = cJSON_AddObjectToObject(resp, "web");
	kh_json_add_uint(o, "accepted", st.accepted);
	kh_json_add_uint(o, "served", st.served);
	kh_json_add_uint(o, "open", st.open);
	kh_json_add_uint(o, "refused_full", st.refused_full);
	kh_json_add_uint(o, "refused_per_client", st.refused_client);
	kh_json_add_uint(o, "not_allowed", st.not_allowed);
	kh_json_add_uint(o, "rate_limited", st.rate_limited);
	kh_json_add_uint(o, "timed_out", st.timed_out);
	kh_json_add_uint(o, "evicted", st.evicted);
	kh_json_add_uint(o, "bad_requests", st.bad_request);
}

static void policy_status(struct agent *a, cJSON *resp)
{
	if (kh_priv_has_policy(a->priv))
		kh_priv_status(a->priv, cJSON_AddObjectToObject(resp, "policy"));
	else
		cJSON_AddNullToObject(resp, "policy");
}

static void control(void *arg, const cJSON *req, int fd[KH_CONTROL_FDS], cJSON *resp)
{
	struct agent *a = arg;
	const char *cmd = cJSON_GetObjectItem(req, "cmd")->valuestring;

	if (strcmp(cmd, "status") == 0) {
		cJSON_AddBoolToObject(resp, "ok", 1);
		cJSON_AddStringToObject(resp, "version", KHIEN_VERSION);
		cJSON_AddNumberToObject(resp, "pid", (double)kh_proc_pid());
		cJSON_AddNumberToObject(resp, "uptime_s",
					(double)(kh_time_mono_ms() - a->started) / 1000.0);
		cJSON *dns = cJSON_AddObjectToObject(resp, "dns");
		kh_dns_status(a->dns, dns);
		kh_events_status(a->events, dns);
		policy_status(a, resp);
		web_status(a, resp);
		if (IS_ENABLED(CONFIG_REPORT) && a->report)
			kh_report_status(a->report, cJSON_AddObjectToObject(resp, "report"));
		else
			cJSON_AddNullToObject(resp, "report");
	} else if (strcmp(cmd, "sync") == 0) {
		if (!IS_ENABLED(CONFIG_REPORT) || !a->report) {
			cJSON_AddBoolToObject(resp, "ok", 0);
			cJSON_AddStringToObject(resp, "error",
						"reporting is not configured (no report.url)");
			return;
		}
		cJSON_AddBoolToObject(resp, "ok", 1);
		cJSON_AddNumberToObject(resp, "sync", (double)kh_report_sync_now(a->report));
	} else if (strcmp(cmd, "check") == 0) {
		const cJSON *n = cJSON_GetObjectItem(req, "name");
		const cJSON *cl = cJSON_GetObjectItem(req, "client");
		struct kh_addr client;
		if (!cJSON_IsString(n) || strlen(n->valuestring) > 300) {
			cJSON_AddBoolToObject(resp, "ok", 0);
			cJSON_AddStringToObject(resp, "error", "check needs \"name\"");
			return;
		}
		if (cl && (!cJSON_IsString(cl) || kh_addr_parse_ip(cl->valuestring, &client) < 0)) {
			cJSON_AddBoolToObject(resp, "ok", 0);
			cJSON_AddStringToObject(resp, "error", "\"client\" is not an IP address");
			return;
		}
		cJSON_AddBoolToObject(resp, "ok", 1);
		kh_dns_check(a->dns, n->valuestring, cl ? &client : NULL, resp);
	} else if (strcmp(cmd, "reload") == 0) {
		const char *why;
		int err = reload(a, index_path(a), &why);
		cJSON_AddBoolToObject(resp, "ok", err == 0);
		if (err)
			cJSON_AddStringToObject(resp, "error", why);
		else
			kh_dns_status(a->dns, cJSON_AddObjectToObject(resp, "dns"));
	} else if (strcmp(cmd, "policy-apply") == 0) {
		char why[512];
		int err;
		/* the bundle comes as the client's open file: khiend opens no path it is given */
		if (fd[0] < 0) {
			cJSON_AddBoolToObject(resp, "ok", 0);
			cJSON_AddStringToObject(resp, "error",
						"policy-apply needs the bundle passed as an open "
						"file (khienctl policy apply BUNDLE)");
			return;
		}
		err = apply_bundle_fd(a, fd[0], "khienctl", why, sizeof(why));
		cJSON_AddBoolToObject(resp, "ok", err == 0);
		cJSON_AddStringToObject(resp, err ? "error" : "result", why);
		policy_status(a, resp);
	} else if (strcmp(cmd, "audit") == 0 || strcmp(cmd, "audit-run") == 0) {
		if (!a->audit) {
			cJSON_AddBoolToObject(resp, "ok", 0);
			cJSON_AddStringToObject(resp, "error",
						IS_ENABLED(CONFIG_AUDIT)
							? "the audit is not running"
							: "this khiend is built without the audit "
							  "(CONFIG_AUDIT)");
			return;
		}
		cJSON_AddBoolToObject(resp, "ok", 1);
		if (cmd[5])
			kh_json_add_uint(resp, "started", kh_agent_audit_run(a->audit));
		kh_agent_audit_json(a->audit, cJSON_AddObjectToObject(resp, "audit"));
	} else if (strcmp(cmd, "integrity") == 0 || strcmp(cmd, "integrity-run") == 0) {
		if (!a->integrity) {
			cJSON_AddBoolToObject(resp, "ok", 0);
			cJSON_AddStringToObject(
				resp, "error",
				IS_ENABLED(CONFIG_INTEGRITY)
					? "the integrity check is not running"
					: "this khiend is built without the integrity "
					  "check (CONFIG_INTEGRITY)");
			return;
		}
		cJSON_AddBoolToObject(resp, "ok", 1);
		if (cmd[9])
			kh_json_add_uint(resp, "started", kh_integrity_run(a->integrity));
		integrity_firmware_status(a, resp);
		kh_integrity_json(a->integrity, cJSON_AddObjectToObject(resp, "integrity"));
	} else if (strcmp(cmd, "events") == 0) {
		const cJSON *since = cJSON_GetObjectItem(req, "since");
		uint64_t from = 0;
		if (since && kh_json_uint(since, 0, KH_JSON_INT_MAX, &from) < 0) {
			cJSON_AddBoolToObject(resp, "ok", 0);
			cJSON_AddStringToObject(
				resp, "error",
				"events: \"since\" must be an integer from 0 to 2^53-1");
			return;
		}
		cJSON_AddBoolToObject(resp, "ok", 1);
		kh_events_recent(a->events, from, cJSON_AddArrayToObject(resp, "events"));
	} else if (strcmp(cmd, "web") == 0) {
		/*
		 * Where the setup code is, not the code: the engine cannot read
		 * it (root's, 0600), so khienctl reads it as its caller.
		 */
		char path[KH_CFG_PATH_MAX + 16];
		const int login = a->web && a->owner;
		cJSON_AddBoolToObject(resp, "ok", 1);
		cJSON_AddBoolToObject(resp, "owner_login", login);
		if (!login || a->auth.owner_set < 0)
			cJSON_AddNullToObject(resp, "owner_set");
		else
			cJSON_AddBoolToObject(resp, "owner_set", a->auth.owner_set);
		snprintf(path, sizeof(path), "%s/setup.code", a->cfg.state_dir);
		if (login && a->auth.owner_set == 0)
			cJSON_AddStringToObject(resp, "setup_code_file", path);
		else
			cJSON_AddNullToObject(resp, "setup_code_file");
		web_status(a, resp);
	} else if (kh_agent_fw_control(a->fw, cmd, fd, resp)) {
		; /* firmware-verify, -commit, -reset, -status */
	} else {
		cJSON_AddBoolToObject(resp, "ok", 0);
		cJSON_AddStringToObject(resp, "error",
					IS_ENABLED(CONFIG_FIRMWARE) || strncmp(cmd, "firmware-", 9)
						? "unknown command"
						: "this khiend is built without firmware checks "
						  "(CONFIG_FIRMWARE)");
	}
}

/*
 * The state directory's layout and owners (docs/ARCHITECTURE.md, "Who owns
 * what"). STATE and its policy tree belong to the trust-state owner (root
 * on a router): readable by all, writable by it alone. STATE/spool belongs
 * to the daemon user, for what the engine writes (the event journal, a
 * download in progress). Root works in STATE only, never in spool, so it
 * never follows anything the daemon user can create. A STATE that root
 * does not own alone (an older khiend gave it to the daemon user) is not
 * trusted: it is set aside, and signed policy starts again from the
 * firmware's root.
 */
static int prepare_state(const struct kh_agent_config *cfg, uint32_t uid, uint32_t gid)
{
	static const char *const trust[] = {"", "/policy", "/policy/slot-a", "/policy/slot-b",
					    "/firmware"};
	char path[KH_CFG_PATH_MAX + 32], aside[KH_CFG_PATH_MAX + 48];
	int root = kh_proc_is_root(), err;

	if (!cfg->state_dir[0])
		return 0;
	if ((err = kh_fs_mkdir_p(cfg->state_dir, 0755)) < 0)
		goto fail;
	for (size_t i = 0; root && i < KH_ARRAY_SIZE(trust); i++) {
		uint32_t owner;
		unsigned mode;
		snprintf(path, sizeof(path), "%s%s", cfg->state_dir, trust[i]);
		err = kh_fs_dir_owner(path, &owner, &mode);
		if (err == -ENOENT || (err == 0 && owner == 0 && !(mode & 022)))
			continue;
		snprintf(aside, sizeof(aside), "%s.untrusted.%lld", cfg->state_dir,
			 (long long)kh_time_wall());
		log_error("%s is %s: the state is not trusted; set aside as %s, signed policy "
			  "starts again from the firmware's root",
			  path, err ? "not a directory" : "writable by another user", aside);
		if ((err = kh_fs_rename(cfg->state_dir, aside)) < 0 ||
		    (err = kh_fs_mkdir_p(cfg->state_dir, 0755)) < 0)
			goto fail;
		break;
	}
	for (size_t i = 0; i < KH_ARRAY_SIZE(trust); i++) {
		snprintf(path, sizeof(path), "%s%s", cfg->state_dir, trust[i]);
		err = root ? kh_fs_dir_own(path, 0, 0, 0755) : kh_fs_mkdir_p(path, 0755);
		if (err < 0)
			goto fail;
	}
	snprintf(path, sizeof(path), "%s/spool", cfg->state_dir);
	err = root ? kh_fs_dir_own(path, uid, gid, 0700) : kh_fs_mkdir_p(path, 0700);
	if (err == 0)
		return 0;
fail:
	log_error_err(err, "state directory %s", cfg->state_dir);
	return err;
}

/* Signed policy: the store, owned by the trust-state owner, and the first-boot bundle. */
static int open_policy(struct agent *a)
{
	struct kh_policy *policy = NULL;
	char why[512];
	int err;

	if (a->cfg.state_dir[0]) {
		err = kh_policy_open(a->cfg.state_dir, a->cfg.trust_root, a->cfg.hardware_id,
				     &policy, why, sizeof(why));
		if (err == -ENOENT)
			log_notice("signed policy off: %s", why);
		else if (err < 0)
			log_error("policy store %s: %s", a->cfg.state_dir, why);
	}
	if ((err = kh_priv_new(policy, &a->priv)) < 0) {
		kh_policy_free(policy);
		return err;
	}
	/* the firmware counter and running manifest: the same owner, the same root */
	if (a->cfg.state_dir[0]) {
		struct kh_fw_store *fw;
		err = kh_fw_store_open(a->cfg.state_dir, policy ? kh_policy_root(policy) : NULL,
				       policy ? kh_policy_hwid(policy) : NULL, &fw);
		if (err < 0)
			log_error_err(err, "firmware state in %s", a->cfg.state_dir);
		else
			kh_priv_set_firmware(a->priv, fw);
	}
	if (policy && a->cfg.first_bundle[0] &&
	    apply_bundle(a, a->cfg.first_bundle, why, sizeof(why)) < 0 &&
	    kh_priv_version(a->priv) == 0)
		log_error("first-boot bundle refused and no policy installed: %s", why);
	return 0;
}

/* The key that turns client addresses into stable pseudonyms (Decree 13/2023). */
static int client_key(const struct kh_agent_config *cfg, uint8_t key[32])
{
	char path[KH_CFG_PATH_MAX + 16];
	uint8_t *buf;
	size_t len;
	int err;

	if (!cfg->state_dir[0])
		return kh_rand_bytes(key, 32);
	snprintf(path, sizeof(path), "%s/client.key", cfg->state_dir);
	if (kh_fs_read(path, 64, &buf, &len) == 0) {
		if (len == 32) {
			memcpy(key, buf, 32);
			free(buf);
			return 0;
		}
		free(buf);
	}
	if ((err = kh_rand_bytes(key, 32)) < 0)
		return err;
	if ((err = kh_fs_write_atomic(path, key, 32, 0600)) < 0)
		log_warn_err(err, "cannot keep the client key in %s (ids change on restart)",
			     cfg->state_dir);
	return 0;
}

int kh_agent_main(int argc, char **argv)
{
	static const struct option opts[] = {{"config", required_argument, 0, 'c'},
					     {"foreground", no_argument, 0, 'f'},
					     {"listen", required_argument, 0, 'l'},
					     {"upstream", required_argument, 0, 'u'},
					     {"index", required_argument, 0, 'i'},
					     {"state-dir", required_argument, 0, 's'},
					     {"control", required_argument, 0, 'C'},
					     {"user", required_argument, 0, 'U'},
					     {"log-level", required_argument, 0, 'L'},
					     {"trust-root", required_argument, 0, 'T'},
					     {"hardware-id", required_argument, 0, 'H'},
					     {"bundle", required_argument, 0, 'B'},
					     {"check-config", no_argument, 0, 'K'},
					     {"uci", required_argument, 0, 'Q'},
					     {"print", no_argument, 0, 'P'},
					     {"audit-root", required_argument, 0, 'A'},
					     {"web-listen", required_argument, 0, 'W'},
					     {"help", no_argument, 0, 'h'},
					     {0, 0, 0, 0}};
	static struct agent a;
	const char *config = NULL, *why;
	char err_text[512];
	int foreground = 0, check_only = 0, print = 0, format = KH_CONFIG_AUTO, opt,
	    rc = EXIT_RUNTIME, err, nl = 0, nu = 0, nw = 0;
	int log_level = -1;
	uint8_t key[32];
	uint32_t uid = 0, gid = 0;
	char rwhy_buf[512];

	kh_log_set_ident("khiend");
	kh_config_defaults(&a.cfg);
	/* First pass: find the config file, so the other options can override it. */
	while ((opt = getopt_long(argc, argv, "c:fl:u:i:s:h", opts, NULL)) != -1) {
		if (opt == 'c' || opt == 'Q') {
			config = optarg;
			format = opt == 'Q' ? KH_CONFIG_UCI : KH_CONFIG_AUTO;
		} else if (opt == 'P')
			print = 1;
		else if (opt == 'h') {
			usage(stdout);
			return 0;
		} else if (opt == '?') {
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "khiend: unexpected argument '%s'\n", argv[optind]);
		return EXIT_USAGE;
	}
	if (getenv("KHIEN_CONTROL"))
		kh_strlcpy(a.cfg.control, getenv("KHIEN_CONTROL"), sizeof(a.cfg.control));
	if (config && kh_config_load_as(&a.cfg, config, format, err_text, sizeof(err_text)) < 0) {
		fprintf(stderr, "khiend: %s\n", err_text);
		return EXIT_CONFIG;
	}
	optind = 1;
	while ((opt = getopt_long(argc, argv, "c:fl:u:i:s:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'f':
			foreground = 1;
			break;
		case 'l':
		case 'u': {
			struct kh_addr *list = opt == 'l' ? a.cfg.listen : a.cfg.upstream;
			unsigned *n = opt == 'l' ? &a.cfg.nlisten : &a.cfg.nupstream;
			int *seen = opt == 'l' ? &nl : &nu;
			unsigned max =
				opt == 'l' ? CONFIG_DNS_MAX_LISTENERS : CONFIG_DNS_MAX_UPSTREAMS;
			if (!(*seen)++)
				*n = 0; /* the command line replaces the file's list */
			if (*n >= max || kh_addr_parse(optarg, 53, &list[*n]) < 0) {
				fprintf(stderr, "khiend: --%s %s: %s\n",
					opt == 'l' ? "listen" : "upstream", optarg,
					*n >= max ? "too many" : "not an address (IP:PORT)");
				return EXIT_USAGE;
			}
			(*n)++;
			break;
		}
		case 'i':
			kh_strlcpy(a.cfg.index, optarg, sizeof(a.cfg.index));
			break;
		case 's':
			kh_strlcpy(a.cfg.state_dir, optarg, sizeof(a.cfg.state_dir));
			break;
		case 'C':
			kh_strlcpy(a.cfg.control, optarg, sizeof(a.cfg.control));
			break;
		case 'U':
			kh_strlcpy(a.cfg.user, optarg, sizeof(a.cfg.user));
			a.cfg.user_set = 1;
			break;
		case 'L':
			if ((log_level = kh_log_parse_level(optarg)) < 0) {
				fprintf(stderr, "khiend: --log-level: error, warn, notice, info or "
						"debug\n");
				return EXIT_USAGE;
			}
			break;
		case 'K':
			check_only = 1;
			break;
		case 'T':
			kh_strlcpy(a.cfg.trust_root, optarg, sizeof(a.cfg.trust_root));
			break;
		case 'H':
			kh_strlcpy(a.cfg.hardware_id, optarg, sizeof(a.cfg.hardware_id));
			break;
		case 'B':
			kh_strlcpy(a.cfg.first_bundle, optarg, sizeof(a.cfg.first_bundle));
			break;
		case 'A':
			kh_strlcpy(a.cfg.audit_root, optarg, sizeof(a.cfg.audit_root));
			break;
		case 'W':
			if (!nw++)
				a.cfg.nweb_listen =
					0; /* the command line replaces the file's list */
			if (!IS_ENABLED(CONFIG_WEB) || a.cfg.nweb_listen >= KH_CFG_WEB_LISTENERS ||
			    kh_addr_parse(optarg, 80, &a.cfg.web_listen[a.cfg.nweb_listen]) < 0) {
				fprintf(stderr, "khiend: --web-listen %s: %s\n", optarg,
					!IS_ENABLED(CONFIG_WEB) ? "built without CONFIG_WEB"
					: a.cfg.nweb_listen >= KH_CFG_WEB_LISTENERS
						? "too many"
						: "not an address (IP:PORT)");
				return EXIT_USAGE;
			}
			a.cfg.nweb_listen++;
			break;
		default:
			break;
		}
	}
	kh_log_set_level((enum kh_log_level)(log_level >= 0 ? log_level : a.cfg.log_level));
	if (a.cfg.nupstream == 0) {
		fprintf(stderr, "khiend: %s: dns.upstreams: at least one upstream is required\n",
			config ? config : "configuration");
		return EXIT_CONFIG;
	}
	if (print) { /* implies --check-config */
		char *json = kh_config_print(&a.cfg);
		if (!json)
			return EXIT_RUNTIME;
		printf("%s\n", json);
		cJSON_free(json);
		return 0;
	}
	if (check_only) {
		printf("configuration ok\n");
		return 0;
	}

	signal(SIGPIPE, SIG_IGN);
	if (kh_proc_is_root() && a.cfg.user[0] && kh_proc_user_ids(a.cfg.user, &uid, &gid) < 0) {
		log_error("user %s does not exist (create it, e.g. useradd --system %s, or set "
			  "\"user\")",
			  a.cfg.user, a.cfg.user);
		return EXIT_CONFIG;
	}
	if (prepare_state(&a.cfg, uid, gid) < 0)
		return EXIT_RUNTIME;
	if (client_key(&a.cfg, key) < 0) {
		log_error("no entropy for the client key");
		return EXIT_RUNTIME;
	}
	if ((err = kh_loop_new(&a.loop)) < 0)
		goto out;
	a.started = kh_time_mono_ms();
	if ((err = kh_dns_new(a.loop, &a.cfg, key, &a.dns, &why)) < 0) {
		log_error_err(err, "dns: %s", why);
		goto out;
	}
	kh_memzero(key, sizeof(key));
	/* bound now, like port 53: port 80 needs the privileges dropped below */
	if (IS_ENABLED(CONFIG_WEB) && a.cfg.nweb_listen) {
		/* the password helper runs where there is a state directory to keep the hash */
		const int login = IS_ENABLED(CONFIG_AGENT_PRIVSEP) && a.cfg.state_dir[0];
		const struct kh_web_hooks wh = {.arg = &a,
						.verdict = web_verdict,
						.facts = web_facts,
						.allowed = web_allowed,
						.threat = web_threat,
						.set_name = web_set_name,
						.set_profile = web_set_profile,
						.edit_profile = web_edit_profile,
						.auth = login ? &a.auth : NULL};
		a.auth.owner_set = -1;
		if ((err = kh_web_new(a.loop, &a.cfg, &wh, &a.web, &why)) < 0) {
			log_error_err(err, "web: %s", why);
			goto out;
		}
	} else if (a.cfg.nweb_listen) {
		log_warn("web.listen set, but khiend is built without CONFIG_WEB: no pages");
	}
	if ((err = kh_events_new(CONFIG_DNS_EVENT_QUEUE, &a.events)) < 0)
		goto out;
	kh_dns_set_event_hook(a.dns, on_dns_event, &a);
	if (open_policy(&a) < 0)
		goto out;
	/*
	 * The running image may be readable by root alone (an MTD partition):
	 * opened read-only now, and inherited by the engine across the split.
	 */
	a.fw_part_fd = -1;
	if (IS_ENABLED(CONFIG_FIRMWARE) && a.cfg.fw_partition[0] &&
	    (a.fw_part_fd = kh_fs_open_read(a.cfg.fw_partition)) < 0) {
		log_error_err(a.fw_part_fd, "firmware.partition %s", a.cfg.fw_partition);
		a.fw_part_fd = -1;
	}
	if (kh_dns_has_index(a.dns))
		; /* the first-boot bundle installed one */
	else if (kh_priv_component(a.priv, "blocklist"))
		reload(&a, index_path(&a), &why);
	else if (a.cfg.index[0] && reload(&a, a.cfg.index, &why) < 0) {
		/* a filter that starts without its list is a silent downgrade */
		fprintf(stderr, "khiend: dns.index %s: %s\n", a.cfg.index, why);
		rc = EXIT_CONFIG;
		goto out;
	} else if (!a.cfg.index[0])
		log_warn("no blocklist (signed policy or dns.index): nothing is blocked");
	owner_prof_load(&a);
	isp_profiles(&a);
	err = kh_control_new(a.loop, a.cfg.control, a.cfg.control_group, control, &a, &a.ctl);
	if (err == -ENOTSUP) {
		/* lwIP has no local sockets: status goes to the server (and the log) */
		log_notice("no control socket on this platform");
		a.ctl = NULL;
	} else if (err == -EADDRINUSE) {
		log_error("control socket %s is in use: another khiend is running", a.cfg.control);
		goto out;
	} else if (err == -EPERM) {
		rc = EXIT_CONFIG;
		goto out;
	} else if (err == -ENOENT && a.cfg.control_group[0]) {
		log_error("control.group %s does not exist", a.cfg.control_group);
		rc = EXIT_CONFIG;
		goto out;
	} else if (err < 0) {
		log_error_err(err, "control socket %s", a.cfg.control);
		goto out;
	}
	kh_loop_signal_add(a.loop, SIGTERM, on_stop, &a);
	kh_loop_signal_add(a.loop, SIGINT, on_stop, &a);
	kh_loop_signal_add(a.loop, SIGHUP, on_hup, &a);
	kh_control_allow(a.ctl, uid);
	if (IS_ENABLED(CONFIG_REPORT)) {
		const struct kh_report_hooks h = {
			.arg = &a,
			.policy_version = hook_policy_version,
			.root_version = hook_root_version,
			.apply = hook_apply,
			.health = hook_health,
			.events = a.events,
			.audit_digest = hook_audit_digest,
			.audit_changes = hook_audit_changes,
			.audit_stored = hook_audit_stored,
			.notice = hook_notice,
		};
		char rwhy[512];
		/* Keys and certificates are read now, while the files are readable. */
		err = kh_report_new(a.loop, &a.cfg, &h, &a.report, rwhy, sizeof(rwhy));
		if (err == -ENOENT)
			log_notice("reporting off (no report.url)");
		else if (err < 0)
			/* Reporting is not worth the filter: it keeps protecting the home. */
			log_error("reporting off: %s", rwhy);
		else
			log_notice("reporting to %s%s", a.cfg.report_urls[0],
				   a.cfg.nreport_urls > 1 ? " (and fallbacks)" : "");
	}
	if (!foreground) {
		if ((err = kh_proc_daemonize()) < 0)
			goto out;
		kh_platform_log_use_syslog("khiend");
	}
	/*
	 * The auditor reads root-only files for the audit: forked by root now,
	 * before the engine drops what it could read them with.
	 */
	a.auditor_chan = -1;
	a.integrity_chan = -1;
	if (IS_ENABLED(CONFIG_AGENT_PRIVSEP) && kh_proc_is_root() && a.cfg.user[0]) {
		struct kh_fsroot *fr;
		long apid;
		/* a missing root at start is an error here, not at the first run */
		if ((err = kh_fsroot_open(a.cfg.audit_root, &fr)) < 0) {
			log_error_err(err, "audit root %s", a.cfg.audit_root);
			rc = EXIT_CONFIG;
			goto out;
		}
		kh_fsroot_close(fr);
		const char *slots[2];
		kh_priv_slot_dirs(a.priv, slots);
		if (IS_ENABLED(CONFIG_AUDIT) &&
		    (err = kh_auditor_spawn(a.cfg.user, a.cfg.audit_root, slots, &a.auditor_chan,
					    &apid)) < 0) {
			log_error_err(err, "cannot start the auditor process");
			goto out;
		}
		/* a second one for baseline scans: each module owns its channel and its waits */
		if (IS_ENABLED(CONFIG_INTEGRITY) &&
		    (err = kh_auditor_spawn(a.cfg.user, a.cfg.audit_root, slots, &a.integrity_chan,
					    &apid)) < 0) {
			log_error_err(err, "cannot start the integrity auditor process");
			goto out;
		}
	}
	/* the owner's password: a root helper keeps the hash the engine's user cannot read */
	a.owner_chan = -1;
	if (IS_ENABLED(CONFIG_WEB) && IS_ENABLED(CONFIG_AGENT_PRIVSEP) && a.web &&
	    a.cfg.state_dir[0]) {
		long opid;
		if ((err = kh_owner_spawn(a.cfg.state_dir, &a.owner_chan, &opid)) < 0) {
			log_error_err(err,
				      "cannot start the owner-password helper: no owner login");
			a.owner_chan = -1;
		}
	}
	if (kh_proc_is_root() && a.cfg.user[0])
		kh_priv_set_user_uid(a.priv, uid);
	if (IS_ENABLED(CONFIG_AGENT_PRIVSEP) && (err = kh_priv_split(a.priv)) != 0) {
		if (err < 0) {
			log_error_err(err, "cannot start the engine process");
			goto out;
		}
		/* the parent: the trust state's owner, nothing else */
		kh_priv_detach(a.priv);
		if (!foreground)
			kh_platform_log_use_syslog("khiend-priv");
		rc = kh_priv_serve(a.priv);
		goto out;
	}
	/* Sockets are bound: nothing below needs root. */
	if ((err = kh_proc_drop_privileges(kh_proc_is_root() ? a.cfg.user : NULL)) < 0) {
		log_error_err(err, "cannot drop privileges to %s", a.cfg.user);
		goto out;
	}
	/* the engine never forks: a compromised one cannot leave a child holding port 53 */
	if (IS_ENABLED(CONFIG_AGENT_PRIVSEP) && kh_proc_forbid_fork() < 0)
		log_warn("cannot forbid the engine to fork");
	if (start_audit(&a) < 0) {
		rc = EXIT_CONFIG;
		goto out;
	}
	if (IS_ENABLED(CONFIG_WEB) && a.web) {
		names_load(&a);
		keep_load(&a);
		if (a.owner_chan >= 0 && kh_owner_new(a.loop, a.owner_chan, &a.owner) == 0) {
			kh_web_set_owner(a.web, a.owner);
			kh_owner_ask(a.owner, KH_OWNER_STATE, NULL, 0, on_owner_state, &a);
		}
	}
	{
		const struct kh_agent_fw_cfg fc = {.loop = a.loop,
						   .priv = a.priv,
						   .events = a.events,
						   .partition_fd = a.fw_part_fd,
						   .partition = a.cfg.fw_partition,
						   .part = a.cfg.fw_part,
						   .interval_s = a.cfg.fw_interval_s};
		if ((err = kh_agent_fw_new(&fc, &a.fw)) < 0)
			goto out;
		a.fw_part_fd = -1; /* the firmware checks own it now */
	}
	/* the filter is worth more than the check: without it, khiend still protects */
	if (start_integrity(&a) < 0)
		log_error("integrity check off");
	if (IS_ENABLED(CONFIG_REPORT) && a.report &&
	    (err = kh_report_start(a.report, rwhy_buf, sizeof(rwhy_buf))) < 0) {
		log_error("reporting off: %s", rwhy_buf);
		kh_report_free(a.report);
		a.report = NULL;
	}
	log_notice("khiend %s ready: %u listener(s), %u upstream(s)%s%s", KHIEN_VERSION,
		   a.cfg.nlisten, a.cfg.nupstream, kh_proc_is_root() ? "" : ", running as ",
		   kh_proc_is_root() ? "" : (a.cfg.user[0] ? a.cfg.user : "the invoking user"));
	err = kh_loop_run(a.loop);
	rc = err < 0 ? EXIT_RUNTIME : 0;
	if (IS_ENABLED(CONFIG_WEB) && a.keep_dirty) {
		kh_timer_cancel(a.loop, &a.keep);
		infected_save(&a); /* the counts of the last minute */
	}
out:
	kh_agent_fw_free(a.fw);
	kh_agent_audit_free(a.audit);
	kh_integrity_free(a.integrity);
	if (IS_ENABLED(CONFIG_REPORT))
		kh_report_free(a.report);
	kh_control_free(a.ctl);
	if (IS_ENABLED(CONFIG_WEB)) {
		kh_web_free(a.web);
		kh_owner_free(a.owner);
	}
	kh_priv_free(a.priv);
	kh_dns_free(a.dns);
	cJSON_Delete(a.owner_prof);
	kh_events_free(a.events);
	kh_loop_free(a.loop);
	return rc;
}
