/* SPDX-License-Identifier: MIT */
/*
 * Evaluating audit rules (policy/audit.h) against a confined file system
 * or a board's facts, in slices. Each rule says whether it holds, that its
 * subject is missing, or why it could not be evaluated; a check combines
 * its rules by its condition. Files a run reads more than once (passwd,
 * shadow, UCI packages, the socket tables) are read once per run.
 * Evidence never carries a password or hash, and shows file content only
 * from world-readable files and UCI values only for options whose names do
 * not look secret (key, password, psk, secret, token).
 */
#define _DEFAULT_SOURCE
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/ipaddr.h"
#include "platform/fsroot.h"
#include "policy/audit_priv.h"
#include "policy/uci.h"

/*
 * Evidence quotes the image (UCI values, file names, lines): control bytes
 * become '?', so a hostile image cannot drive the terminal or the log that
 * shows it (ESC sequences, CR over the line, a forged line after LF).
 */
void kh_audit_ev(struct kh_audit_run *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->ev, sizeof(r->ev), fmt, ap);
	va_end(ap);
	for (char *p = r->ev; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
}

const char *kh_audit_errstr(int err)
{
	switch (err) {
	case -ENOENT:
		return "missing";
	case -E2BIG:
		return "larger than the limit";
	case -ELOOP:
		return "too many symbolic links";
	case -ENAMETOOLONG:
		return "path too long";
	case -ENOTDIR:
		return "a path component is not a directory";
	case -EACCES:
		return "permission denied";
	case -EINVAL:
		return "not a regular file";
	case -EISDIR:
		return "a directory";
	default:
		return strerror(-err);
	}
}

static int vmatch1(const struct kh_audit_vtest *t, const char *v)
{
	switch (t->op) {
	case KH_V_EQUALS:
		return strcmp(v, t->value) == 0;
	case KH_V_IN:
		for (int i = 0; i < t->in.n; i++)
			if (strcmp(v, t->in.v[i]) == 0)
				return 1;
		return 0;
	case KH_V_MATCHES:
		return kh_re_match(t->re, v, strlen(v));
	case KH_V_MISSING:
		return 0;
	}
	return 0;
}

/* The test against values (n of them, 0 = missing): holds, not, or missing. */
int kh_audit_vtest_values(const struct kh_audit_vtest *t, const char *const *vals, int n)
{
	if (t->op == KH_V_MISSING)
		return n == 0 ? R_HOLDS : R_NOT;
	if (n == 0)
		return R_MISSING;
	for (int i = 0; i < n; i++)
		if (vmatch1(t, vals[i]))
			return R_HOLDS;
	return R_NOT;
}

/*
 * Option or fact names whose values may be secrets (Wi-Fi keys key1..key4,
 * 802.1X priv_key_pwd, a SIM pincode, tokens): shown as "set", never as
 * text, unless the value is a plain switch (on/off, 0/1, ...), which
 * cannot be a secret and is what checks such as PasswordAuth are about.
 */
int kh_audit_secret_name(const char *s)
{
	static const char *const parts[] = {"key",   "pass", "pwd",  "psk", "secret",
					    "token", "pin",  "cred", "wep", "auth"};
	char low[64];
	size_t i;

	for (i = 0; s[i] && i < sizeof(low) - 1; i++)
		low[i] = (char)tolower((unsigned char)s[i]);
	low[i] = 0;
	for (size_t w = 0; w < sizeof(parts) / sizeof(parts[0]); w++)
		if (strstr(low, parts[w]))
			return 1;
	return 0;
}

static int plain_switch(const char *v)
{
	static const char *const sw[] = {"0",  "1",    "on",	"off",	   "yes",
					 "no", "true", "false", "enabled", "disabled"};
	for (size_t i = 0; i < sizeof(sw) / sizeof(sw[0]); i++)
		if (strcmp(v, sw[i]) == 0)
			return 1;
	return 0;
}

/* ---- files ---- */

int kh_audit_read_file(struct kh_audit_run *r, const char *path, char **text, size_t *len)
{
	uint8_t *b;
	int rc;

	*text = NULL;
	if (!r->src.root)
		return -ENOENT;
	rc = kh_fsroot_read(r->src.root, path, KH_AUDIT_MAX_FILE, &b, len);
	if (rc == 0)
		*text = (char *)b;
	return rc;
}

/* passwd or shadow, read once per run. */
static const char *account_file(struct kh_audit_run *r, int shadow)
{
	char **t = shadow ? &r->shadow : &r->passwd;
	int *e = shadow ? &r->shadow_err : &r->passwd_err;
	size_t len;

	if (*e == 0) {
		int rc = kh_audit_read_file(r, shadow ? "/etc/shadow" : "/etc/passwd", t, &len);
		*e = rc < 0 ? rc : 1;
	}
	return *e == 1 ? *t : NULL;
}

/* Field f (0-based, ':'-separated) of user's line in text into out; 0 if found. */
static int account_field(const char *text, const char *user, int f, char *out, size_t size)
{
	size_t ul = strlen(user);

	for (const char *l = text; l && *l;) {
		const char *end = l + strcspn(l, "\n"), *s = l, *e;
		if (strncmp(l, user, ul) == 0 && l[ul] == ':') {
			for (int i = 0; i < f; i++) {
				s = memchr(s, ':', (size_t)(end - s));
				if (!s)
					return -1;
				s++;
			}
			e = s + strcspn(s, ":\n");
			if ((size_t)(e - s) >= size)
				return -1;
			memcpy(out, s, (size_t)(e - s));
			out[e - s] = 0;
			return 0;
		}
		l = *end ? end + 1 : NULL;
	}
	return -1;
}

static void uid_name(struct kh_audit_run *r, uint32_t uid, char *out, size_t size)
{
	const char *pw = account_file(r, 0);

	snprintf(out, size, "uid %u", uid);
	for (const char *l = pw; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
		const char *c1 = strchr(l, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (c2 && strtoul(c2 + 1, NULL, 10) == uid && c2[1] >= '0' && c2[1] <= '9' &&
		    (size_t)(c1 - l) < size) {
			memcpy(out, l, (size_t)(c1 - l));
			out[c1 - l] = 0;
			return;
		}
	}
}

static int eval_lines(struct kh_audit_run *r, const struct kh_audit_rule *ru, const char *text,
		      int readable)
{
	int lineno = 0;

	for (const char *l = text; *l;) {
		const char *e = strchr(l, '\n');
		size_t n = e ? (size_t)(e - l) : strlen(l);
		lineno++;
		if (n >
		    4095) { /* lines are bounded as before (a tail could hide what no_line seeks) */
			kh_audit_ev(r, "%s:%d: line longer than 4095 bytes", ru->subject, lineno);
			return R_ERROR;
		}
		if (kh_re_match(ru->vt.re, l, n)) {
			if (readable)
				kh_audit_ev(r, "%s:%d: %.*s", ru->subject, lineno,
					    (int)(n < 80 ? n : 80), l);
			else
				kh_audit_ev(r, "%s:%d matches", ru->subject, lineno);
			return ru->ftest == KH_F_LINE ? R_HOLDS : R_NOT;
		}
		if (!e)
			break;
		l = e + 1;
	}
	kh_audit_ev(r, "%s: no line matches", ru->subject);
	return ru->ftest == KH_F_LINE ? R_NOT : R_HOLDS;
}

static int eval_file(struct kh_audit_run *r, const struct kh_audit_rule *ru)
{
	struct kh_fs_stat st;
	char name[64], *text;
	size_t len;
	int rc;

	rc = r->src.root ? kh_fsroot_stat(r->src.root, ru->subject, 1, &st) : -ENOENT;
	if (rc == -ENOENT || rc == -ENOTDIR) {
		kh_audit_ev(r, "%s missing", ru->subject);
		if (ru->ftest == KH_F_EXISTS)
			return ru->exists ? R_NOT : R_HOLDS;
		return R_MISSING;
	}
	if (rc < 0) {
		kh_audit_ev(r, "%s: %s", ru->subject, kh_audit_errstr(rc));
		return R_ERROR;
	}
	switch (ru->ftest) {
	case KH_F_EXISTS:
		kh_audit_ev(r, "%s exists", ru->subject);
		return ru->exists ? R_HOLDS : R_NOT;
	case KH_F_MODE_MAX:
		kh_audit_ev(r, "%s mode %04o", ru->subject, st.mode);
		return (st.mode & ~ru->mode) ? R_NOT : R_HOLDS;
	case KH_F_OWNER:
		uid_name(r, st.uid, name, sizeof(name));
		kh_audit_ev(r, "%s owner %s", ru->subject, name);
		return strcmp(name, ru->owner) == 0 ? R_HOLDS : R_NOT;
	case KH_F_LINE:
	case KH_F_NO_LINE:
		if (st.type != KH_FS_FILE) {
			kh_audit_ev(r, "%s: not a regular file", ru->subject);
			return R_ERROR;
		}
		rc = kh_audit_read_file(r, ru->subject, &text, &len);
		if (rc < 0) {
			kh_audit_ev(r, "%s: %s", ru->subject,
				    rc == -E2BIG ? "larger than 1 MiB" : kh_audit_errstr(rc));
			return R_ERROR;
		}
		if (memchr(text, 0, len)) { /* a NUL would end the matching early */
			free(text);
			kh_audit_ev(r, "%s: contains a NUL byte (not a text file)", ru->subject);
			return R_ERROR;
		}
		rc = eval_lines(r, ru, text, st.mode & 04);
		free(text);
		return rc;
	}
	return R_ERROR;
}

/* ---- UCI ---- */

static struct uci_cache *uci_pkg(struct kh_audit_run *r, const char *pkg)
{
	struct uci_cache *c;
	char path[64], *text;
	size_t len;

	for (int i = 0; i < r->nuci; i++)
		if (strcmp(r->uci[i].pkg, pkg) == 0)
			return &r->uci[i];
	if (r->nuci == MAX_UCI_CACHE) { /* rules rarely name more packages: drop the oldest */
		kh_uci_free(r->uci[0].u);
		memmove(&r->uci[0], &r->uci[1], sizeof(r->uci[0]) * (MAX_UCI_CACHE - 1));
		r->nuci--;
	}
	c = &r->uci[r->nuci++];
	memset(c, 0, sizeof(*c));
	snprintf(c->pkg, sizeof(c->pkg), "%s", pkg);
	snprintf(path, sizeof(path), "/etc/config/%s", pkg);
	c->err = kh_audit_read_file(r, path, &text, &len);
	if (c->err == 0) {
		c->err = kh_uci_parse(text, len, &c->u, c->why, sizeof(c->why));
		free(text);
	} else {
		snprintf(c->why, sizeof(c->why), "%s", kh_audit_errstr(c->err));
	}
	return c;
}

static void show_values(struct kh_audit_run *r, const char *what, const char *opt,
			const char *const *v, int n)
{
	if (n == 0)
		kh_audit_ev(r, "%s not set", what);
	else if (kh_audit_secret_name(opt) && !(n == 1 && plain_switch(v[0])))
		kh_audit_ev(r, "%s is set (value not shown)", what);
	else if (n == 1)
		kh_audit_ev(r, "%s = '%.60s'", what, v[0]);
	else
		kh_audit_ev(r, "%s = '%.40s' and %d more", what, v[0], n - 1);
}

static int eval_uci(struct kh_audit_run *r, const struct kh_audit_rule *ru)
{
	struct uci_cache *c = uci_pkg(r, ru->pkg);
	const char *vals[16];
	int s, n;

	if (c->err == -ENOENT) {
		kh_audit_ev(r, "/etc/config/%s missing", ru->pkg);
		return ru->vt.op == KH_V_MISSING ? R_HOLDS : R_MISSING;
	}
	if (c->err < 0) {
		kh_audit_ev(r, "/etc/config/%s: %s", ru->pkg, c->why);
		return R_ERROR;
	}
	s = kh_uci_section(c->u, ru->section);
	if (s < 0) {
		kh_audit_ev(r, "%s.%s: no such section", ru->pkg, ru->section);
		return ru->vt.op == KH_V_MISSING ? R_HOLDS : R_MISSING;
	}
	/* an option left unset is a finding (the program's default applies), not "na" */
	n = kh_uci_get(c->u, s, ru->option, vals, 16);
	show_values(r, ru->subject, ru->option, vals, n);
	if (n == 0)
		return ru->vt.op == KH_V_MISSING ? R_HOLDS : R_NOT;
	return kh_audit_vtest_values(&ru->vt, vals, n);
}

static int eval_uci_any(struct kh_audit_run *r, const struct kh_audit_rule *ru)
{
	struct uci_cache *c = uci_pkg(r, ru->pkg);
	int ns, idx = 0;

	if (c->err == -ENOENT) {
		kh_audit_ev(r, "/etc/config/%s missing", ru->pkg);
		return R_MISSING;
	}
	if (c->err < 0) {
		kh_audit_ev(r, "/etc/config/%s: %s", ru->pkg, c->why);
		return R_ERROR;
	}
	ns = kh_uci_sections(c->u);
	for (int s = 0; s < ns; s++) {
		int all = 1;
		if (strcmp(kh_uci_section_type(c->u, s), ru->section) != 0)
			continue;
		for (int w = 0; w < ru->nwhere && all; w++) {
			const char *vals[16];
			int n = kh_uci_get(c->u, s, ru->where[w].subject, vals, 16);
			all = kh_audit_vtest_values(&ru->where[w].vt, vals, n) == R_HOLDS;
		}
		if (all) {
			const char *name = kh_uci_section_name(c->u, s);
			if (name)
				kh_audit_ev(r, "%s.%s (%s) matches", ru->pkg, name, ru->section);
			else
				kh_audit_ev(r, "%s.@%s[%d] matches", ru->pkg, ru->section, idx);
			return R_HOLDS;
		}
		idx++;
	}
	kh_audit_ev(r, "no %s section of %s matches", ru->section, ru->pkg);
	return R_NOT;
}

static int eval_fact(struct kh_audit_run *r, const struct kh_audit_rule *ru)
{
	const char *v = r->src.fact ? r->src.fact(r->src.fact_ctx, ru->subject) : NULL;

	if (v)
		kh_audit_ev(r, "%s = %.60s", ru->subject,
			    kh_audit_secret_name(ru->subject) && !plain_switch(v) ? "(not shown)"
										  : v);
	else
		kh_audit_ev(r, "%s not reported", ru->subject);
	return kh_audit_vtest_values(&ru->vt, v ? &v : NULL, v ? 1 : 0);
}

static int judge_hash(struct kh_audit_run *r, const struct kh_audit_rule *ru, const char *user,
		      const char *hash);

/* "*": whether any account in the shadow file (else passwd) meets the test. */
static int eval_password_any(struct kh_audit_run *r, const struct kh_audit_rule *ru, const char *sh)
{
	const char *text = sh ? sh : account_file(r, 0);
	int n = 0;

	for (const char *l = text; l && *l;) {
		const char *end = l + strcspn(l, "\n"), *c1 = memchr(l, ':', (size_t)(end - l));
		char user[64], hash[256];
		if (c1 && (size_t)(c1 - l) < sizeof(user)) {
			memcpy(user, l, (size_t)(c1 - l));
			user[c1 - l] = 0;
			if (account_field(l, user, 1, hash, sizeof(hash)) == 0 &&
			    (sh || strcmp(hash, "x"))) {
				int rc = judge_hash(r, ru, user, hash);
				n++;
				if (rc != R_NOT)
					return rc;
			}
		}
		l = *end ? end + 1 : NULL;
	}
	if (!n) {
		kh_audit_ev(r, "no accounts");
		return R_MISSING;
	}
	kh_audit_ev(r, "%d accounts: none %s", n,
		    ru->pw == KH_P_EMPTY    ? "without a password"
		    : ru->pw == KH_P_LOCKED ? "locked"
					    : "with a known default password");
	return R_NOT;
}

static int eval_password(struct kh_audit_run *r, const struct kh_audit_rule *ru)
{
	char hash[256];
	const char *sh = account_file(r, 1), *pw;
	int found;

	if (strcmp(ru->subject, "*") == 0)
		return eval_password_any(r, ru, sh);
	/* without a shadow file the hash is in passwd itself ("x" points to shadow) */
	found = sh && account_field(sh, ru->subject, 1, hash, sizeof(hash)) == 0;
	if (!found && (pw = account_file(r, 0)) &&
	    account_field(pw, ru->subject, 1, hash, sizeof(hash)) == 0)
		found = strcmp(hash, "x") != 0 || !sh;
	if (!found) {
		kh_audit_ev(r, "no account %s", ru->subject);
		return R_MISSING;
	}
	return judge_hash(r, ru, ru->subject, hash);
}

static int judge_hash(struct kh_audit_run *r, const struct kh_audit_rule *ru, const char *user,
		      const char *hash)
{
	const struct kh_audit_list *lists[2] = {&r->p->passwords, &ru->passwords};
	int rc;

	switch (ru->pw) {
	case KH_P_EMPTY:
		kh_audit_ev(r, hash[0] ? "%s has a password" : "%s has no password", user);
		return hash[0] ? R_NOT : R_HOLDS;
	case KH_P_LOCKED:
		rc = hash[0] == '!' || hash[0] == '*' || strcmp(hash, "x") == 0;
		kh_audit_ev(r, rc ? "%s is locked" : "%s can log in with a password", user);
		return rc ? R_HOLDS : R_NOT;
	case KH_P_DEFAULT:
		for (int l = 0; l < 2; l++) {
			for (int e = 0; e < lists[l]->n; e++) {
				if (++r->crypts > KH_AUDIT_MAX_CRYPTS) {
					kh_audit_ev(r,
						    "%s: more than %d password checks in one run",
						    user, KH_AUDIT_MAX_CRYPTS);
					return R_ERROR;
				}
				rc = kh_crypt_matches(lists[l]->v[e], hash);
				if (rc < 0) {
					kh_audit_ev(
						r,
						rc == -E2BIG
							? "%s: password hash cost too high to check"
							: "%s: cannot check the password hash",
						user);
					return R_ERROR;
				}
				if (rc) {
					kh_audit_ev(r, "%s has a known default password", user);
					return R_HOLDS;
				}
			}
		}
		kh_audit_ev(r, "%s: no known default password", user);
		return R_NOT;
	}
	return R_ERROR;
}

/* ---- the run ---- */

static int eval_rule(struct kh_audit_run *r, const struct kh_audit_rule *ru, unsigned *budget)
{
	switch (ru->kind) {
	case KH_R_FILE:
		return eval_file(r, ru);
	case KH_R_UCI:
		return eval_uci(r, ru);
	case KH_R_UCI_ANY:
		return eval_uci_any(r, ru);
	case KH_R_LISTENING:
		return kh_audit_eval_listening(r, ru);
	case KH_R_PROCESS:
		return kh_audit_eval_process(r, ru);
	case KH_R_SYSCTL:
		return kh_audit_eval_sysctl(r, ru);
	case KH_R_PASSWORD:
		return eval_password(r, ru);
	case KH_R_FILES_UNDER:
		return kh_audit_eval_files_under(r, ru, budget);
	case KH_R_FACT:
		return eval_fact(r, ru);
	}
	return R_ERROR;
}

struct kh_audit_run *kh_audit_start(const struct kh_audit_policy *p, const struct kh_audit_src *src)
{
	struct kh_audit_run *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->out = calloc((size_t)p->nchecks, sizeof(*r->out));
	if (!r->out) {
		free(r);
		return NULL;
	}
	r->p = p;
	r->src = *src;
	return r;
}

static void append_evidence(struct kh_audit_outcome *o, const char *e)
{
	size_t n = strlen(o->evidence);

	if (!e[0] || n + 3 >= sizeof(o->evidence))
		return;
	snprintf(o->evidence + n, sizeof(o->evidence) - n, "%s%s", n ? "; " : "", e);
}

static void finish_check(struct kh_audit_run *r, const struct kh_audit_check *k,
			 struct kh_audit_outcome *o)
{
	int pass;

	o->check = k;
	if (r->error)
		o->result = KH_AUDIT_ERROR;
	else if (r->missing && k->na_if_missing)
		o->result = KH_AUDIT_NA;
	else {
		pass = k->condition == KH_AUDIT_ALL   ? r->holds == k->nrules
		       : k->condition == KH_AUDIT_ANY ? r->holds > 0
						      : r->holds == 0;
		o->result = pass ? KH_AUDIT_PASS : KH_AUDIT_FAIL;
	}
	r->holds = r->missing = r->error = 0;
}

int kh_audit_step(struct kh_audit_run *r, unsigned budget)
{
	if (!budget)
		budget = 1;
	while (r->check < r->p->nchecks && budget > 0) {
		const struct kh_audit_check *k = &r->p->checks[r->check];
		struct kh_audit_outcome *o = &r->out[r->check];
		int rc;

		r->ev[0] = 0;
		rc = eval_rule(r, &k->rules[r->rule], &budget);
		if (rc == R_MORE)
			return 1;
		if (budget)
			budget--;
		if (rc == R_ERROR && !r->error) { /* the reason replaces what was gathered */
			o->evidence[0] = 0;
			r->error = 1;
			append_evidence(o, r->ev);
		} else if (!r->error) {
			append_evidence(o, r->ev);
		}
		r->holds += rc == R_HOLDS;
		r->missing += rc == R_MISSING;
		if (++r->rule == k->nrules) {
			finish_check(r, k, o);
			r->rule = 0;
			r->check++;
		}
	}
	return r->check < r->p->nchecks;
}

const struct kh_audit_outcome *kh_audit_outcomes(const struct kh_audit_run *r, int *n)
{
	*n = r->check;
	return r->out;
}

void kh_audit_end(struct kh_audit_run *r)
{
	if (!r)
		return;
	for (int i = 0; i < r->nuci; i++)
		kh_uci_free(r->uci[i].u);
	kh_audit_walk_free(&r->walk);
	free(r->passwd);
	free(r->shadow);
	free(r->socks);
	free(r->out);
	free(r);
}
