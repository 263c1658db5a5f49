/* SPDX-License-Identifier: MIT */
/*
 * agent/auditor.c as a compromised engine sees it: a real forked auditor
 * on its channel. It evaluates only the rules in its fixed policy slots,
 * over its fixed root; rules or paths sent by the engine end it without
 * being evaluated (they would make it an oracle for files only it can read).
 */
#define _DEFAULT_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/auditor.h"
#include "agent/privsep_wire.h"
#include "platform/proc.h"
#include "policy/audit.h"
#include "tools/khien-policy/audit_json.h"
#include "tests/unit/kt.h"

static char dir[64], root[96], slot_a[96], slot_b[96];

static void put_bytes(const char *path, const void *b, size_t n)
{
	FILE *f = fopen(path, "w");
	fwrite(b, 1, n, f);
	fclose(f);
}

static void put(const char *path, const char *text)
{
	put_bytes(path, text, strlen(text));
}

/* Rules as a slot holds them: compiled (khien-policy audit compile). */
static void put_rules(const char *path, const char *json)
{
	char err[256];
	uint8_t *bin;
	size_t len;

	if (kh_audit_compile_json(json, strlen(json), &bin, &len, err, sizeof(err)) < 0)
		abort();
	put_bytes(path, bin, len);
	free(bin);
}

static const char slot_rules[] =
	"{\"policy\": {\"id\": \"t\", \"version\": 1}, \"checks\": [{\"id\": \"c\", \"title\": "
	"\"t\", \"severity\": \"low\", \"rules\": [{\"file\": \"/etc/secret\", \"exists\": "
	"true}]}]}";

static void setup(void)
{
	char p[160];

	snprintf(dir, sizeof(dir), "/tmp/khien-auditor.XXXXXX");
	if (!mkdtemp(dir))
		abort();
	snprintf(root, sizeof(root), "%s/root", dir);
	snprintf(slot_a, sizeof(slot_a), "%s/slot-a", dir);
	snprintf(slot_b, sizeof(slot_b), "%s/slot-b", dir);
	mkdir(root, 0755);
	mkdir(slot_a, 0755);
	mkdir(slot_b, 0755);
	snprintf(p, sizeof(p), "%s/etc", root);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/etc/secret", root);
	put(p, "root:$1$abc$hash:1::\n");
	snprintf(p, sizeof(p), "%s/audit", slot_a);
	put_rules(p, slot_rules);
}

/* A reply's body, or NULL if the auditor ended instead. */
static char *ask(int chan, const void *body, size_t len)
{
	uint32_t type;
	uint8_t *b;
	size_t n;

	if (kh_chan_send(chan, KH_AUDITOR_RUN, body, len) < 0)
		return NULL;
	if (kh_chan_recv(chan, KH_AUDITOR_REPLY_MAX, &type, &b, &n) < 0)
		return NULL;
	if (type != (KH_AUDITOR_RUN | KH_PRIV_REPLY)) {
		free(b);
		return NULL;
	}
	return (char *)b;
}

/* The reply of the slot a rules: version 1, one check, passed, with its evidence. */
static int passes(const char *r)
{
	static const char want[] = "R\1\0\0\0\1\0\0/etc/secret exists";
	return r && memcmp(r, want, sizeof(want)) == 0 && r[7] == KH_AUDIT_PASS;
}

static int spawn(const char *const slots[2], int *chan, long *pid)
{
	return kh_auditor_spawn(NULL, root, slots, chan, pid);
}

static void test_auditor_runs_its_slot(void)
{
	const char *slots[2] = {slot_a, slot_b};
	char *r, p[160];
	long pid;
	int chan;

	KT_EQ(spawn(slots, &chan, &pid), 0);
	r = ask(chan, "0", 1);
	KT_CHECK(passes(r));
	free(r);
	/* slot b has no rules: an error answer, and the auditor stays */
	r = ask(chan, "1", 1);
	KT_CHECK(r && r[0] == 'E' && strstr(r + 1, "slot-b/audit"));
	free(r);
	r = ask(chan, "0", 1);
	KT_CHECK(passes(r));
	free(r);
	/* rules in slot b that are JSON, not the compiled form: refused with the reason */
	snprintf(p, sizeof(p), "%s/audit", slot_b);
	put(p, slot_rules);
	r = ask(chan, "1", 1);
	KT_CHECK(r && r[0] == 'E' && strstr(r + 1, "not compiled audit rules"));
	free(r);
	unlink(p);
	close(chan);
	KT_EQ(kh_proc_wait_child(pid), 0); /* the engine closed: it ends cleanly */
}

/* the old protocol: a root, then rules of the engine's own asking about a file it cannot read */
static const char own_rules[] =
	"/\0{\"policy\": {\"id\": \"t\", \"version\": 1}, \"checks\": [{\"id\": \"c\", \"title\": "
	"\"t\", \"severity\": \"low\", \"rules\": [{\"file\": \"/etc/secret\", \"line\": "
	"\"^root:.1.a\"}]}]}";

static void test_auditor_refuses_engine_rules(void)
{
	static const char *const attacks[] = {
		own_rules,
		"2",		    /* no such slot */
		"../../etc/shadow", /* a path */
		"",
	};
	const char *slots[2] = {slot_a, slot_b};

	for (size_t i = 0; i < sizeof(attacks) / sizeof(attacks[0]); i++) {
		size_t len = i == 0 ? sizeof(own_rules) - 1 : strlen(attacks[i]);
		long pid;
		int chan;
		char *r;

		KT_EQ(spawn(slots, &chan, &pid), 0);
		r = ask(chan, attacks[i], len);
		if (r) {
			printf("#   attack %zu answered: %.120s\n", i, r);
			kt_case_failed = 1;
		}
		free(r);
		close(chan);
		KT_EQ(kh_proc_wait_child(pid), 3); /* out of protocol: it ended */
	}
	/* a slot the store does not have (no policy yet) */
	{
		const char *none[2] = {NULL, NULL};
		long pid;
		int chan;
		char *r;
		KT_EQ(spawn(none, &chan, &pid), 0);
		r = ask(chan, "0", 1);
		KT_CHECK(r == NULL);
		free(r);
		close(chan);
		KT_EQ(kh_proc_wait_child(pid), 3);
	}
}

/* every check's evidence at its longest: the reply holds them all (ASan sees an overrun) */
static void test_auditor_long_evidence(void)
{
	const char *slots[2] = {slot_a, slot_b};
	char rules[8192], path[160], *r;
	size_t at = 7, n = 0;
	long pid;
	int chan;

	n += (size_t)snprintf(rules, sizeof(rules),
			      "{\"policy\": {\"id\": \"t\", \"version\": 2}, \"checks\": [");
	for (int c = 0; c < 8; c++) {
		n += (size_t)snprintf(
			rules + n, sizeof(rules) - n,
			"%s{\"id\": \"c%d\", \"title\": \"t\", \"severity\": \"low\", "
			"\"rules\": [",
			c ? ", " : "", c);
		for (int k = 0; k < 4; k++)
			n += (size_t)snprintf(
				rules + n, sizeof(rules) - n,
				"%s{\"file\": "
				"\"/etc/%d-%d-a-rather-long-name-of-a-file-that-is-not-"
				"there\", \"exists\": false}",
				k ? ", " : "", c, k);
		n += (size_t)snprintf(rules + n, sizeof(rules) - n, "]}");
	}
	snprintf(rules + n, sizeof(rules) - n, "]}");
	snprintf(path, sizeof(path), "%s/audit", slot_b);
	put_rules(path, rules);
	KT_EQ(spawn(slots, &chan, &pid), 0);
	r = ask(chan, "1", 1);
	KT_CHECK(r && r[0] == 'R' && r[5] == 8);
	for (int c = 0; r && r[0] == 'R' && c < 8; c++) {
		KT_EQ(r[at], KH_AUDIT_PASS);
		KT_EQ(strlen(r + at + 1), (size_t)KH_AUDIT_MAX_EVIDENCE - 1);
		at += 2 + strlen(r + at + 1);
	}
	free(r);
	unlink(path);
	close(chan);
	KT_EQ(kh_proc_wait_child(pid), 0);
}

int main(void)
{
	setup();
	KT_RUN(test_auditor_runs_its_slot);
	KT_RUN(test_auditor_refuses_engine_rules);
	KT_RUN(test_auditor_long_evidence);
	{
		char cmd[128];
		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		if (system(cmd) != 0)
			printf("# could not remove %s\n", dir);
	}
	return KT_DONE();
}
