/* SPDX-License-Identifier: MIT */
/*
 * The file baseline (firmware/baseline.c) and the agent's integrity check
 * (agent/integrity.c): the table's writer and checks (each refusal with
 * its reason), the walk's filters and limits, the scan's drifts, the
 * dnsmasq and /proc/net readers, the auditor's baseline requests (a real
 * forked auditor, and requests out of protocol), and the in-process check
 * on a loop reporting each drift once.
 */
#define _DEFAULT_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "agent/auditor.h"
#include "agent/integrity.h"
#include "agent/privsep_wire.h"
#include "firmware/baseline.h"
#include "lib/compiler.h"
#include "lib/hex.h"
#include "crypto/crypto.h"
#include "platform/fs.h"
#include "platform/loop.h"
#include "platform/proc.h"
#include "tests/unit/kt.h"

static char dir[64], root[96], slot[96];

static void put(const char *rel, const char *text, unsigned mode)
{
	char p[256];
	FILE *f;

	snprintf(p, sizeof(p), "%s%s", root, rel);
	f = fopen(p, "w");
	if (!f)
		abort();
	fputs(text, f);
	fclose(f);
	chmod(p, mode);
}

static void mk(const char *rel)
{
	char p[256];
	snprintf(p, sizeof(p), "%s%s", root, rel);
	mkdir(p, 0755);
}

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/khien-baseline.XXXXXX");
	if (!mkdtemp(dir))
		abort();
	snprintf(root, sizeof(root), "%s/root", dir);
	snprintf(slot, sizeof(slot), "%s/slot-a", dir);
	mkdir(root, 0755);
	mkdir(slot, 0755);
	mk("/etc");
	mk("/etc/init.d");
	mk("/etc/config");
	mk("/usr");
	mk("/usr/lib");
	mk("/proc");
	mk("/proc/net");
	put("/etc/init.d/network", "#!/bin/sh\nstart() { :; }\n", 0755);
	put("/etc/shadow", "root:$1$x$y:1::\n", 0600);
	put("/etc/dnsmasq.conf", "domain-needed\n  server=9.9.9.9 # quad9\nserver=1.1.1.1\n", 0644);
	put("/etc/config/dhcp",
	    "config dnsmasq\n\tlist server '8.8.8.8'\n\toption server \"1.1.1.1\"\n", 0644);
	put("/usr/lib/libx.so.1",
	    "\x7f"
	    "ELF",
	    0644);
	put("/usr/lib/notes", "text", 0644);
	put("/usr/lib/tool",
	    "\x7f"
	    "ELF",
	    0755);
	put("/proc/net/tcp",
	    "  sl  local_address rem_address   st\n"
	    "   0: 0100007F:0035 00000000:0000 0A 0\n"
	    "   1: 0100007F:9C40 0200000A:01BB 01 0\n",
	    0644);
	put("/proc/net/udp",
	    "  sl  local_address rem_address   st\n"
	    "   0: 00000000:0035 00000000:0000 07 0\n"
	    "   1: 00000000:D431 00000000:0000 07 0\n",
	    0644);
}

static const struct kh_bl_watch watches[] = {
	{"/etc/init.d", 11, KH_BLW_PERSIST | KH_BLW_RECURSIVE},
	{"/etc/shadow", 11, KH_BLW_PERSIST},
	{"/etc/dnsmasq.conf", 17, KH_BLW_PERSIST},
	{"/usr/lib", 8, KH_BLW_EXEC | KH_BLW_RECURSIVE},
};

struct rec {
	struct kh_bl_entry e[64];
	char path[64][128];
	int n;
};

static void on_entry(void *ctx, const struct kh_bl_entry *e, const struct kh_bl_watch *w)
{
	struct rec *r = ctx;
	(void)w;
	if (r->n >= 64)
		abort();
	snprintf(r->path[r->n], sizeof(r->path[0]), "%.*s", (int)e->path_len, e->path);
	r->e[r->n] = *e;
	r->e[r->n].path = r->path[r->n];
	r->n++;
}

/* The table of root as it is now, into *out (malloc). */
static size_t record(uint8_t **out)
{
	static struct rec r;
	struct kh_fsroot *fr;
	struct kh_bl_walk *w;
	struct kh_bl_listen l[8];
	char servers[512];
	unsigned nl;
	size_t len;

	memset(&r, 0, sizeof(r));
	if (kh_fsroot_open(root, &fr) < 0 ||
	    !(w = kh_bl_walk_new(fr, watches, KH_ARRAY_SIZE(watches), on_entry, &r)))
		abort();
	while (kh_bl_walk_step(w, 1))
		;
	kh_bl_walk_free(w);
	kh_bl_listeners(fr, l, 8, &nl);
	kh_bl_servers(fr, servers, sizeof(servers));
	struct kh_bl_build b = {.version = 5,
				.created = 1,
				.flags = KH_BL_LISTEN_KNOWN | KH_BL_SERVERS_KNOWN,
				.entries = r.e,
				.nentries = (uint32_t)r.n,
				.watch = watches,
				.nwatch = KH_ARRAY_SIZE(watches),
				.listen = l,
				.nlisten = nl,
				.servers = servers};
	if (kh_bl_write(&b, out, &len) < 0)
		abort();
	kh_fsroot_close(fr);
	return len;
}

static void test_table_roundtrip(void)
{
	struct kh_baseline b;
	struct kh_bl_entry e;
	char why[160];
	uint8_t *t;
	size_t len = record(&t);

	KT_EQ(kh_bl_parse(t, len, &b, why, sizeof(why)), 0);
	KT_EQ(b.version, 5);
	/* the walk keeps executables and libraries of /usr/lib, not its data files */
	KT_CHECK(kh_bl_find(&b, "/usr/lib/tool", 13) >= 0);
	KT_CHECK(kh_bl_find(&b, "/usr/lib/libx.so.1", 18) >= 0);
	KT_EQ(kh_bl_find(&b, "/usr/lib/notes", 14), -1);
	KT_CHECK(kh_bl_find(&b, "/etc/shadow", 11) >= 0);
	KT_EQ(kh_bl_find(&b, "/etc/shado", 10), -1);
	kh_bl_entry_get(&b, (uint32_t)kh_bl_find(&b, "/etc/init.d/network", 19), &e);
	KT_EQ(e.type, KH_FS_FILE);
	KT_EQ(e.mode, 0755);
	KT_EQ(e.size, 25);
	/* entries sorted bytewise, every one found at its index */
	for (uint32_t i = 0; i < b.nentries; i++) {
		kh_bl_entry_get(&b, i, &e);
		KT_EQ(kh_bl_find(&b, e.path, e.path_len), (long)i);
	}
	/* the same path twice is refused by the writer */
	struct kh_bl_entry two[2] = {{.path = "/a", .path_len = 2}, {.path = "/a", .path_len = 2}};
	struct kh_bl_build bb = {.entries = two, .nentries = 2};
	uint8_t *o = NULL;
	size_t ol;
	KT_EQ(kh_bl_write(&bb, &o, &ol), -EINVAL);
	two[1].path = "/a/../b";
	two[1].path_len = 7;
	KT_EQ(kh_bl_write(&bb, &o, &ol), -EINVAL);
	free(t);
}

static void test_table_refusals(void)
{
	static const struct {
		size_t at;
		uint8_t val;
		const char *why;
	} cases[] = {
		{0, 'X', "magic"},
		{4, 2, "format 2"},
		{6, 0x80, "unknown header flags"},
		{16, 0xff, "the header's counts"},
		{48 + 6, 7, "type 7"},
		{48 + 7, 4, "unknown flags"},
		{48 + 3, 0xff, "outside the string area"},
	};
	struct kh_baseline b;
	char why[160];
	uint8_t *t;
	size_t len = record(&t);

	for (size_t i = 0; i < KH_ARRAY_SIZE(cases); i++) {
		uint8_t save = t[cases[i].at];
		t[cases[i].at] = cases[i].val;
		KT_EQ(kh_bl_parse(t, len, &b, why, sizeof(why)), -EBADMSG);
		if (!strstr(why, cases[i].why)) {
			printf("#   case %zu: %s (want %s)\n", i, why, cases[i].why);
			kt_case_failed = 1;
		}
		t[cases[i].at] = save;
	}
	KT_EQ(kh_bl_parse(t, 20, &b, why, sizeof(why)), -EBADMSG);
	KT_CHECK(strstr(why, "shorter than the 48-byte header") != NULL);
	KT_EQ(kh_bl_parse(t, len - 1, &b, why, sizeof(why)), -EBADMSG);
	/* two entries swapped: not sorted */
	{
		uint8_t e[KH_BL_ENTRY_LEN];
		memcpy(e, t + 48, sizeof(e));
		memcpy(t + 48, t + 48 + KH_BL_ENTRY_LEN, sizeof(e));
		memcpy(t + 48 + KH_BL_ENTRY_LEN, e, sizeof(e));
		KT_EQ(kh_bl_parse(t, len, &b, why, sizeof(why)), -EBADMSG);
		KT_CHECK(strstr(why, "entry 1") && strstr(why, "not sorted"));
	}
	free(t);
}

static void test_readers(void)
{
	struct kh_fsroot *fr;
	struct kh_bl_listen l[8];
	char s[256];
	unsigned n;

	KT_EQ(kh_fsroot_open(root, &fr), 0);
	KT_EQ(kh_bl_servers(fr, s, sizeof(s)), 0);
	KT_STREQ(s, "1.1.1.1\n8.8.8.8\n9.9.9.9\n");
	kh_fsroot_close(fr);
	/* what else redirects names: address=, rev-server=, resolv-file=, conf-dir=, in both syntaxes */
	put("/etc/dnsmasq.conf",
	    "server=9.9.9.9\n address=/bank.example/198.51.100.9 # hijack\n"
	    "rev-server=10.0.0.0/8,198.51.100.53\nresolv-file=/tmp/evil.conf\n"
	    "conf-dir=/tmp/dnsmasq.d\naddress-not=1\n",
	    0644);
	put("/etc/config/dhcp",
	    "config dnsmasq\n\tlist server '8.8.8.8'\n\tlist address '/u.example/198.51.100.7'\n"
	    "\toption resolvfile \"/tmp/r\"\n\toption addressx 'no'\n",
	    0644);
	KT_EQ(kh_fsroot_open(root, &fr), 0);
	KT_EQ(kh_bl_servers(fr, s, sizeof(s)), 0);
	KT_STREQ(s, "8.8.8.8\n9.9.9.9\naddress=/bank.example/198.51.100.9\n"
		    "address=/u.example/198.51.100.7\nconf-dir=/tmp/dnsmasq.d\n"
		    "resolv-file=/tmp/evil.conf\nresolv-file=/tmp/r\n"
		    "rev-server=10.0.0.0/8,198.51.100.53\n");
	kh_fsroot_close(fr);
	put("/etc/config/dhcp",
	    "config dnsmasq\n\tlist server '8.8.8.8'\n\toption server \"1.1.1.1\"\n", 0644);
	put("/etc/dnsmasq.conf", "domain-needed\n  server=9.9.9.9 # quad9\nserver=1.1.1.1\n", 0644);
	KT_EQ(kh_fsroot_open(root, &fr), 0);
	KT_EQ(kh_bl_listeners(fr, l, 8, &n), 0);
	/* tcp 53 listening; the connected socket and the ephemeral UDP port are not */
	KT_EQ(n, 2);
	KT_CHECK(l[0].proto == 6 && l[0].port == 53);
	KT_CHECK(l[1].proto == 17 && l[1].port == 53);
	kh_fsroot_close(fr);
}

struct seen {
	char type[24][32], path[24][128], what[24][64];
	int sev[24], n;
};

static void on_drift(void *ctx, const struct kh_drift *d)
{
	struct seen *s = ctx;
	if (s->n >= 24)
		return;
	snprintf(s->type[s->n], 32, "%s", kh_drift_type(d->kind));
	snprintf(s->path[s->n], 128, "%s", d->path);
	snprintf(s->what[s->n], 64, "%s", d->what);
	s->sev[s->n++] = d->sev;
}

static int has(const struct seen *s, const char *type, const char *path, const char *what, int sev)
{
	for (int i = 0; i < s->n; i++)
		if (!strcmp(s->type[i], type) && !strcmp(s->path[i], path) &&
		    !strcmp(s->what[i], what) && s->sev[i] == sev)
			return 1;
	return 0;
}

static void scan(const uint8_t *t, size_t len, int mode, struct seen *s)
{
	struct kh_baseline b;
	struct kh_fsroot *fr;
	struct kh_bl_scan *sc;
	char why[160];

	memset(s, 0, sizeof(*s));
	if (kh_bl_parse(t, len, &b, why, sizeof(why)) < 0 || kh_fsroot_open(root, &fr) < 0 ||
	    !(sc = kh_bl_scan_new(&b, fr, mode, on_drift, s)))
		abort();
	while (kh_bl_scan_step(sc, 1))
		;
	kh_bl_scan_free(sc);
	kh_fsroot_close(fr);
}

static void test_scan_drifts(void)
{
	struct seen s;
	uint8_t *t;
	size_t len = record(&t);
	char p[256];

	scan(t, len, KH_BL_SCAN_FULL, &s);
	KT_EQ(s.n, 0);
	put("/etc/init.d/network", "#!/bin/sh\nstart() { /tmp/x; }\n", 0755);
	put("/usr/lib/.hidden",
	    "\x7f"
	    "ELF",
	    0700);
	put("/usr/lib/more-notes", "text", 0644); /* not code: not watched */
	snprintf(p, sizeof(p), "%s/usr/lib/tool", root);
	unlink(p);
	snprintf(p, sizeof(p), "%s/usr/lib/libx.so.1", root);
	chmod(p, 0666);
	put("/etc/dnsmasq.conf", "server=6.6.6.6\n", 0644);
	put("/proc/net/tcp",
	    "  sl  local_address rem_address   st\n   0: 0100007F:0035 00000000:0000 0A 0\n"
	    "   1: 00000000:115C 00000000:0000 0A 0\n",
	    0644);
	mk("/proc/77");
	snprintf(p, sizeof(p), "%s/proc/77/exe", root);
	KT_EQ(symlink("/dev/shm/.m (deleted)", p), 0);
	/* OpenWrt: an executable put into the writable layer over the image, and one of the image */
	mk("/proc/78");
	mk("/proc/79");
	mk("/overlay");
	mk("/overlay/upper");
	mk("/overlay/upper/usr");
	mk("/overlay/upper/usr/sbin");
	put("/overlay/upper/usr/sbin/evil",
	    "\x7f"
	    "ELF",
	    0755);
	snprintf(p, sizeof(p), "%s/proc/78/exe", root);
	KT_EQ(symlink("/usr/sbin/evil", p), 0);
	snprintf(p, sizeof(p), "%s/proc/79/exe", root);
	KT_EQ(symlink("/usr/sbin/good", p), 0);
	scan(t, len, KH_BL_SCAN_FULL, &s);
	KT_CHECK(has(&s, "process_suspicious", "/usr/sbin/evil", "overlay", KH_SEV_CRITICAL));
	KT_CHECK(!has(&s, "process_suspicious", "/usr/sbin/good", "overlay", KH_SEV_CRITICAL));
	for (int i = 78; i <= 79; i++) { /* gone before the tests that follow */
		snprintf(p, sizeof(p), "%s/proc/%d/exe", root, i);
		unlink(p);
	}
	KT_CHECK(has(&s, "file_changed", "/etc/init.d/network", "size,hash", KH_SEV_CRITICAL));
	KT_CHECK(has(&s, "file_added", "/usr/lib/.hidden", "new", KH_SEV_CRITICAL));
	KT_CHECK(has(&s, "file_removed", "/usr/lib/tool", "removed", KH_SEV_MEDIUM));
	KT_CHECK(has(&s, "file_changed", "/usr/lib/libx.so.1", "mode", KH_SEV_HIGH));
	KT_CHECK(has(&s, "file_changed", "/etc/dnsmasq.conf", "size,hash", KH_SEV_HIGH));
	KT_CHECK(has(&s, "dns_hijack", "dnsmasq", "servers", KH_SEV_CRITICAL));
	KT_CHECK(has(&s, "socket_listening", "tcp:4444", "new", KH_SEV_HIGH));
	KT_CHECK(
		has(&s, "process_suspicious", "/dev/shm/.m (deleted)", "deleted", KH_SEV_CRITICAL));
	KT_EQ(s.n, 9); /* with the overlay executable */
	/* a notified scan looks at the persistence points and the upstreams only */
	scan(t, len, KH_BL_SCAN_PERSIST, &s);
	KT_EQ(s.n, 3);
	KT_CHECK(has(&s, "file_changed", "/etc/init.d/network", "size,hash", KH_SEV_CRITICAL));
	struct kh_baseline b;
	char why[160];
	KT_EQ(kh_bl_parse(t, len, &b, why, sizeof(why)), 0);
	KT_EQ(kh_bl_scan_covers(&b, KH_BL_SCAN_PERSIST, KH_DRIFT_ADDED, "/usr/lib/.hidden"), 0);
	KT_EQ(kh_bl_scan_covers(&b, KH_BL_SCAN_PERSIST, KH_DRIFT_ADDED, "/etc/init.d/x"), 1);
	KT_EQ(kh_bl_scan_covers(&b, KH_BL_SCAN_PERSIST, KH_DRIFT_PROCESS, "/tmp/x"), 0);
	free(t);
}

/* ---- the auditor's side ---- */

static char *ask(int chan, const char *req)
{
	uint32_t type;
	uint8_t *b;
	size_t n;

	if (kh_chan_send(chan, KH_AUDITOR_INTEGRITY, req, strlen(req)) < 0 ||
	    kh_chan_recv(chan, KH_AUDITOR_REPLY_MAX, &type, &b, &n) < 0)
		return NULL;
	if (type != (KH_AUDITOR_INTEGRITY | KH_PRIV_REPLY)) {
		free(b);
		return NULL;
	}
	return (char *)b;
}

static void test_auditor_scans_its_slot(void)
{
	static const char *const attacks[] = {"2f", "0x", "0f/etc/shadow", "0", ""};
	const char *slots[2] = {slot, NULL};
	char p[160], *r;
	uint8_t *t;
	size_t len = record(&t);
	long pid;
	int chan;

	snprintf(p, sizeof(p), "%s/baseline", slot);
	KT_EQ(kh_fs_write_atomic(p, t, len, 0644), 0);
	put("/etc/shadow", "root:$1$x$z:1::\n", 0600);
	KT_EQ(kh_auditor_spawn(NULL, root, slots, &chan, &pid), 0);
	r = ask(chan, "0f");
	KT_CHECK(r && strstr(r, "\"drifts\":[") && strstr(r, "/etc/shadow"));
	/* what leaves the auditor: digests' prefixes, never the file's text */
	KT_CHECK(r && !strstr(r, "$1$x$z"));
	free(r);
	r = ask(chan, "0p");
	KT_CHECK(r && strstr(r, "/etc/shadow") && !strstr(r, "process_suspicious"));
	free(r);
	close(chan);
	KT_EQ(kh_proc_wait_child(pid), 0);
	for (size_t i = 0; i < KH_ARRAY_SIZE(attacks); i++) {
		KT_EQ(kh_auditor_spawn(NULL, root, slots, &chan, &pid), 0);
		r = ask(chan, attacks[i]);
		if (r) {
			printf("#   request %zu answered: %.100s\n", i, r);
			kt_case_failed = 1;
		}
		free(r);
		close(chan);
		KT_EQ(kh_proc_wait_child(pid), 3);
	}
	free(t);
}

/* ---- the agent's check, in-process on a loop ---- */

static void on_new(void *ctx, const struct kh_drift *d)
{
	(*(int *)ctx)++;
	(void)d;
}

static void spin(struct kh_loop *loop)
{
	for (int i = 0; i < 2000; i++)
		kh_loop_run_once(loop, 0);
}

static void test_agent_reports_once(void)
{
	struct kh_loop *loop;
	struct kh_integrity *in;
	char p[160], why[160];
	uint8_t *t;
	size_t len;
	int n = 0;

	put("/usr/lib/tool",
	    "\x7f"
	    "ELF",
	    0755);
	snprintf(p, sizeof(p), "%s/proc/77/exe", root);
	unlink(p); /* the process of the scan test is gone */
	len = record(&t);
	snprintf(p, sizeof(p), "%s/baseline", slot);
	KT_EQ(kh_fs_write_atomic(p, t, len, 0644), 0);
	KT_EQ(kh_loop_new(&loop), 0);
	char reported[160];
	snprintf(reported, sizeof(reported), "%s/reported", dir);
	struct kh_integrity_cfg c = {.root = root,
				     .auditor_chan = -1,
				     .on_drift = on_new,
				     .ctx = &n,
				     .reported_path = reported};
	KT_EQ(kh_integrity_new(loop, &c, &in), 0);
	KT_EQ(kh_integrity_set_baseline(in, p, 0, why, sizeof(why)), 0);
	spin(loop);
	KT_EQ(n, 0);
	put("/etc/init.d/evil", "#!/bin/sh\n", 0755);
	kh_integrity_run(in);
	spin(loop);
	KT_EQ(n, 1);
	kh_integrity_run(in);
	spin(loop);
	KT_EQ(n, 1); /* the same drift: not again */
	/* nor after a restart: the reported file remembers it */
	kh_integrity_free(in);
	KT_EQ(kh_integrity_new(loop, &c, &in), 0);
	KT_EQ(kh_integrity_set_baseline(in, p, 0, why, sizeof(why)), 0);
	spin(loop);
	KT_EQ(n, 1);
	/* the same table applied again changes nothing; a bad one is refused */
	KT_EQ(kh_integrity_set_baseline(in, p, 0, why, sizeof(why)), 0);
	spin(loop);
	KT_EQ(n, 1);
	KT_EQ(kh_fs_write_atomic(p, "KHBL", 4, 0644), 0);
	KT_EQ(kh_integrity_set_baseline(in, p, 0, why, sizeof(why)), -EBADMSG);
	KT_CHECK(strstr(why, "shorter") != NULL);
	/* changed again: a new drift */
	put("/etc/init.d/evil", "#!/bin/sh\nrm -rf /\n", 0755);
	kh_integrity_run(in);
	spin(loop);
	KT_EQ(n, 2);
	kh_integrity_free(in);
	kh_loop_free(loop);
	free(t);
}

/* ---- attacks on the walk (a root-read auditor must not read for someone else) ---- */

struct evid {
	char all[16384];
	size_t o;
};

static void on_evid(void *ctx, const struct kh_drift *d)
{
	struct evid *e = ctx;
	int k = snprintf(e->all + e->o, sizeof(e->all) - e->o, "%s %s %s %s\n",
			 kh_drift_type(d->kind), d->path, d->what, d->evidence);
	if (k > 0 && e->o + (size_t)k < sizeof(e->all))
		e->o += (size_t)k;
}

static const char secret[] = "config wifi-iface\n\toption key 'hunter22'\n";

/* A scan of a root whose table lists nothing: everything found is a drift with its hash. */
static struct kh_bl_scan *attack_scan(const char *r, const struct kh_bl_watch *w, unsigned nw,
				      struct evid *ev, uint8_t **t, struct kh_baseline *b,
				      struct kh_fsroot **fr)
{
	struct kh_bl_build bb = {.version = 1, .watch = w, .nwatch = nw};
	size_t len;
	char why[160];
	struct kh_bl_scan *s;

	memset(ev, 0, sizeof(*ev));
	if (kh_bl_write(&bb, t, &len) < 0 || kh_bl_parse(*t, len, b, why, sizeof(why)) < 0 ||
	    kh_fsroot_open(r, fr) < 0 ||
	    !(s = kh_bl_scan_new(b, *fr, KH_BL_SCAN_PERSIST, on_evid, ev)))
		abort();
	return s;
}

static void scan_done(struct kh_bl_scan *s, struct kh_fsroot *fr, uint8_t *t)
{
	while (kh_bl_scan_step(s, 1))
		;
	kh_bl_scan_free(s);
	kh_fsroot_close(fr);
	free(t);
}

static void test_walk_attacks(void)
{
	char r[128], p[256], q[256], hex[17];
	uint8_t d[32], *t;
	struct evid ev;
	struct kh_baseline b;
	struct kh_fsroot *fr;
	struct kh_bl_scan *s;
	FILE *f;
	static const struct kh_bl_watch wd[] = {
		{"/tmp/resolv.conf.d", 18, KH_BLW_PERSIST | KH_BLW_RECURSIVE}};
	static const struct kh_bl_watch wf[] = {{"/tmp/resolv.conf", 16, KH_BLW_PERSIST}};
	static const struct kh_bl_watch wl[] = {{"/tmp/link/wireless", 18, KH_BLW_PERSIST}};

	kh_sha256(secret, strlen(secret), d);
	kh_hex_encode(d, 8, hex);
	snprintf(r, sizeof(r), "%s/attack", dir);
	mkdir(r, 0755);
#define AT(rel) (snprintf(p, sizeof(p), "%s%s", r, rel), p)
	mkdir(AT("/etc"), 0755);
	mkdir(AT("/etc/config"), 0755);
	mkdir(AT("/tmp"), 0755);
	chmod(p, 01777);
	mkdir(AT("/tmp/resolv.conf.d"), 0755);
	f = fopen(AT("/etc/config/wireless"), "w");
	fputs(secret, f);
	fclose(f);
	chmod(p, 0600);
	f = fopen(AT("/tmp/resolv.conf.d/wireless"), "w");
	fputs("decoy\n", f);
	fclose(f);

	/* the directory's owner swaps it for a link between the listing and the visit */
	s = attack_scan(r, wd, 1, &ev, &t, &b, &fr);
	kh_bl_scan_step(s, 1); /* the watch */
	kh_bl_scan_step(s, 1); /* the directory: lists "wireless" */
	snprintf(q, sizeof(q), "%s/tmp/old", r);
	KT_EQ(rename(AT("/tmp/resolv.conf.d"), q), 0);
	KT_EQ(symlink("/etc/config", p), 0);
	scan_done(s, fr, t);
	KT_CHECK(strstr(ev.all, "/tmp/resolv.conf.d/wireless") != NULL); /* the listed one */
	KT_CHECK(strstr(ev.all, hex) == NULL);
	KT_CHECK(strstr(ev.all, "size 42") == NULL);
	unlink(p);
	KT_EQ(rename(q, p), 0);

	/* a hard link in the sticky /tmp to a file its maker cannot read */
	snprintf(q, sizeof(q), "%s/etc/config/wireless", r);
	KT_EQ(link(q, AT("/tmp/resolv.conf")), 0);
	s = attack_scan(r, wf, 1, &ev, &t, &b, &fr);
	scan_done(s, fr, t);
	KT_CHECK(strstr(ev.all, "/tmp/resolv.conf ") != NULL);
	KT_CHECK(strstr(ev.all, hex) == NULL);
	KT_CHECK(strstr(ev.all, "size 42") == NULL);
	unlink(AT("/tmp/resolv.conf"));

	/* a link in the sticky /tmp steering a watch point out of it */
	KT_EQ(symlink("/etc/config", AT("/tmp/link")), 0);
	s = attack_scan(r, wl, 1, &ev, &t, &b, &fr);
	scan_done(s, fr, t);
	KT_CHECK(strstr(ev.all, hex) == NULL);
	KT_CHECK(strstr(ev.all, "wireless") == NULL);
	unlink(AT("/tmp/link"));

	/* a watched directory others can write is recorded, not listed */
	chmod(AT("/tmp/resolv.conf.d"), 0777);
	s = attack_scan(r, wd, 1, &ev, &t, &b, &fr);
	scan_done(s, fr, t);
	KT_CHECK(strstr(ev.all, "file_added /tmp/resolv.conf.d new") != NULL);
	KT_CHECK(strstr(ev.all, "/tmp/resolv.conf.d/wireless") == NULL);
	chmod(AT("/tmp/resolv.conf.d"), 0755);

	/* the same tree, nobody else able to change it: read as before */
	s = attack_scan(r, wd, 1, &ev, &t, &b, &fr);
	scan_done(s, fr, t);
	KT_CHECK(strstr(ev.all, "/tmp/resolv.conf.d/wireless") != NULL);
#undef AT
}

/* ---- a flood of drifts in one directory (the reply and the open set have limits) ---- */

struct kinds {
	int overflow, evil, total;
};

static void on_kind(void *ctx, const struct kh_drift *d)
{
	struct kinds *k = ctx;
	k->total++;
	k->overflow += d->kind == KH_DRIFT_OVERFLOW && d->sev == KH_SEV_CRITICAL;
	k->evil += strcmp(d->path, "/usr/bin/evil") == 0;
}

static int open_drifts(struct kh_integrity *in)
{
	cJSON *j = cJSON_CreateObject();
	int n;

	kh_integrity_json(in, j);
	n = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "drifts"));
	cJSON_Delete(j);
	return n;
}

static void test_drift_flood(void)
{
	char r[128], p[256], why[160], *reply;
	uint8_t *t;
	size_t len;
	FILE *f;
	struct kh_loop *loop;
	struct kh_integrity *in;
	struct kinds k = {0};
	int before;
	static const struct kh_bl_watch w[] = {
		{"/tmp/resolv.conf.d", 18, KH_BLW_PERSIST | KH_BLW_RECURSIVE},
		{"/usr/bin", 8, KH_BLW_EXEC | KH_BLW_RECURSIVE}};
	struct kh_bl_build bb = {.version = 1, .watch = w, .nwatch = 2};

	snprintf(r, sizeof(r), "%s/flood", dir);
	mkdir(r, 0755);
#define AT(rel) (snprintf(p, sizeof(p), "%s%s", r, rel), p)
	mkdir(AT("/tmp"), 0755);
	chmod(p, 01777);
	mkdir(AT("/tmp/resolv.conf.d"), 0755);
	mkdir(AT("/usr"), 0755);
	mkdir(AT("/usr/bin"), 0755);
	f = fopen(AT("/usr/bin/evil"), "w");
	fputs("#!/bin/sh\n", f);
	fclose(f);
	chmod(p, 0755);
	for (int i = 0; i < 1100; i++) {
		snprintf(p, sizeof(p), "%s/tmp/resolv.conf.d/x%04d", r, i);
		fclose(fopen(p, "w"));
	}
	KT_EQ(kh_bl_write(&bb, &t, &len), 0);

	/* the auditor's reply: the later critical drift is in it, and it says it is partial */
	reply = kh_integrity_scan_text(r, t, len, KH_BL_SCAN_FULL);
	KT_CHECK(reply && strstr(reply, "/usr/bin/evil") != NULL);
	KT_CHECK(reply && strstr(reply, "\"partial\":true") != NULL);
	free(reply);

	/* in process: one critical overflow drift, the new executable, and nothing closed */
	snprintf(p, sizeof(p), "%s/flood-baseline", dir);
	KT_EQ(kh_fs_write_atomic(p, t, len, 0644), 0);
	KT_EQ(kh_loop_new(&loop), 0);
	struct kh_integrity_cfg c = {.root = r, .auditor_chan = -1, .on_drift = on_kind, .ctx = &k};
	KT_EQ(kh_integrity_new(loop, &c, &in), 0);
	KT_EQ(kh_integrity_set_baseline(in, p, 0, why, sizeof(why)), 0);
	spin(loop);
	spin(loop);
	KT_EQ(k.overflow, 1);
	KT_EQ(k.evil, 1);
	before = open_drifts(in);
	KT_CHECK(before > 0 && before <= KH_INTEGRITY_MAX_DRIFTS + 1);
	/* the next flood keeps other names: those open before stay open */
	for (int i = 0; i < 600; i++) {
		snprintf(p, sizeof(p), "%s/tmp/resolv.conf.d/y%04d", r, i);
		fclose(fopen(p, "w"));
	}
	kh_integrity_run(in);
	spin(loop);
	spin(loop);
	KT_CHECK(open_drifts(in) >= before);
	KT_EQ(k.evil, 1);
	kh_integrity_free(in);
	kh_loop_free(loop);
	free(t);
#undef AT
}

int main(void)
{
	setup();
	KT_RUN(test_table_roundtrip);
	KT_RUN(test_table_refusals);
	KT_RUN(test_readers);
	KT_RUN(test_scan_drifts);
	KT_RUN(test_walk_attacks);
	KT_RUN(test_drift_flood);
	KT_RUN(test_auditor_scans_its_slot);
	KT_RUN(test_agent_reports_once);
	{
		char cmd[128];
		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		if (system(cmd) != 0)
			printf("# could not remove %s\n", dir);
	}
	return KT_DONE();
}
