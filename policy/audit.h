/* SPDX-License-Identifier: MIT */
/*
 * Configuration audit rules (docs/AUDIT.md): the ISP's signed checks of a
 * device's configuration. The ISP writes JSON, which khien-policy
 * compiles (tools/khien-policy/audit_json.c) into a compact binary form;
 * the device decodes that form here, without a JSON parser and without
 * copying strings, and policy/audit_eval.c evaluates it on the device, in
 * khien-policy against an unpacked image, and on lwIP boards against the
 * facts the board reports. Rules only read: no rule runs a command or
 * writes anything.
 */
#ifndef KHIEN_POLICY_AUDIT_H
#define KHIEN_POLICY_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/crypto.h"
#include "lib/severity.h"

#define KH_AUDIT_MAX_TEXT (1024 * 1024) /* a rules file or component */
#define KH_AUDIT_MAX_CHECKS 512
#define KH_AUDIT_MAX_RULES 32 /* per check */
#define KH_AUDIT_MAX_ID 64
#define KH_AUDIT_MAX_EVIDENCE 192
#define KH_AUDIT_MAX_FILE (1024 * 1024) /* largest file a rule reads */

enum kh_audit_result {
	KH_AUDIT_PASS = 0,
	KH_AUDIT_FAIL,
	KH_AUDIT_NA,
	KH_AUDIT_ERROR,
};

const char *kh_audit_result_name(enum kh_audit_result r);
/* The result named s ("pass", "fail", "na", "error"), or -EINVAL. */
int kh_audit_result_parse(const char *s);
/* A policy or check id: [a-z0-9][a-z0-9._-]*, at most KH_AUDIT_MAX_ID bytes. */
int kh_audit_id_ok(const char *s);

struct kh_audit_rule;

/* A list of strings (refs, "in", "passwords", "except", "skip"). */
struct kh_audit_list {
	const char *const *v;
	int n;
};

struct kh_audit_check {
	const char *id, *title, *remediation; /* title, remediation: NULL when absent */
	enum kh_severity severity;
	struct kh_audit_list refs;
	enum {
		KH_AUDIT_ALL,
		KH_AUDIT_ANY,
		KH_AUDIT_NONE
	} condition;
	int na_if_missing;
	struct kh_audit_rule *rules;
	int nrules;
};

struct kh_audit_policy {
	const char *id, *title;
	uint64_t version;
	struct kh_audit_list passwords; /* defaults.passwords */
	struct kh_audit_check *checks;
	int nchecks;
	void *mem; /* private: what kh_audit_free releases besides p */
};

/*
 * Decode the binary form (policy/audit_priv.h, docs/AUDIT.md) of rules:
 * signed by the ISP but parsed as untrusted, so every length, count,
 * reference, enumeration and regular-expression program is checked. The
 * policy points into bin, which must stay valid until kh_audit_free();
 * owned, when not NULL, is freed with the policy (or at once on error).
 * On error returns -EBADMSG (-ENOMEM, -E2BIG) and writes the record and
 * what was expected to err ("check 3 rule 1: kind 12 (expected 0..8)").
 */
int kh_audit_decode(const uint8_t *bin, size_t len, void *owned, struct kh_audit_policy **out,
		    char *err, size_t errlen);
void kh_audit_free(struct kh_audit_policy *p);

/* What the rules read: a confined file system, or (lwIP) the board's facts. */
struct kh_fsroot;
struct kh_audit_src {
	struct kh_fsroot *root; /* NULL: no file system; file rules are "missing" */
	/* The value of a board fact, or NULL if the board does not report it. */
	const char *(*fact)(void *ctx, const char *name);
	void *fact_ctx;
};

struct kh_audit_outcome {
	const struct kh_audit_check *check;
	enum kh_audit_result result;
	char evidence[KH_AUDIT_MAX_EVIDENCE]; /* never a password */
};

/*
 * An evaluation in slices: each kh_audit_step() does about `budget` units
 * of work (a rule, or a file of a directory walk) and returns 1 while more
 * remains, 0 when every check has its outcome. Run on the event loop
 * between DNS work, so an audit never stalls answers.
 */
struct kh_audit_run;
struct kh_audit_run *kh_audit_start(const struct kh_audit_policy *p,
				    const struct kh_audit_src *src);
int kh_audit_step(struct kh_audit_run *run, unsigned budget);
const struct kh_audit_outcome *kh_audit_outcomes(const struct kh_audit_run *run, int *n);
void kh_audit_end(struct kh_audit_run *run);

/*
 * The digest of a result set, as the device and the server both compute
 * it, so the server can tell when its copy differs: SHA-256 over the policy
 * id and version, then each check's id, result and evidence in strcmp order
 * of the ids, every field followed by a NUL. Hex, 64 characters.
 */
struct kh_audit_digest {
	struct kh_sha256 h;
};
void kh_audit_digest_init(struct kh_audit_digest *d, const char *policy, uint64_t version);
void kh_audit_digest_add(struct kh_audit_digest *d, const char *id, const char *result,
			 const char *evidence);
void kh_audit_digest_final(struct kh_audit_digest *d, char hex[2 * KH_SHA256_LEN + 1]);

#endif
