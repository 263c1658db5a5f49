/* SPDX-License-Identifier: MIT */
/*
 * Audit rules on the device: decoding the binary form that khien-policy
 * compiles (policy/audit_priv.h), the id and name rules the compiler, the
 * decoder and the server share, result names, and the results digest.
 * The binary form is signed by the ISP, but a device decodes it as
 * untrusted input: every count, reference, string, enumeration and
 * program is checked before anything is evaluated, and a refusal says
 * which record and what was expected.
 */
#define _DEFAULT_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/endian.h"
#include "lib/hex.h"
#include "policy/audit_priv.h"

int kh_audit_name_ok(const char *s, size_t n, int at_ok)
{
	if (!n)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '_' || ch == '-' ||
		      (at_ok && (ch == '@' || ch == '[' || ch == ']'))))
			return 0;
	}
	return 1;
}

int kh_audit_sysctl_ok(const char *s)
{
	if (s[0] == '.' || !s[0])
		return 0;
	for (; *s; s++)
		if (!(kh_audit_name_ok(s, 1, 0) || *s == '.') ||
		    (*s == '.' && (s[1] == '.' || s[1] == 0)))
			return 0;
	return 1;
}

int kh_audit_id_ok(const char *s)
{
	if (!*s || strlen(s) > KH_AUDIT_MAX_ID ||
	    !((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9')))
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-' ||
		      *s == '_' || *s == '.'))
			return 0;
	return 1;
}

struct dec {
	const uint8_t *list, *prog;
	const char *str;
	uint32_t nstr, nprog, nlist, nrules;
	const char **strs;
	struct kh_audit_rule *rules;
	char *err;
	size_t errlen;
	char where[40]; /* the record being decoded */
};

static int bad(struct dec *d, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(d->err, d->errlen, "%s: ", d->where);

	va_start(ap, fmt);
	if (n >= 0 && (size_t)n < d->errlen)
		vsnprintf(d->err + n, d->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return -EBADMSG;
}

/* String reference p (u32) into *out; NULL when opt and empty. */
static int str(struct dec *d, const uint8_t *p, int opt, const char **out)
{
	uint32_t off = kh_le32(p);

	/* the table ends in a NUL, so any offset inside it ends there at the latest */
	if (off >= d->nstr || strnlen(d->str + off, KH_AUDIT_MAX_STR + 1) > KH_AUDIT_MAX_STR)
		return bad(d, "string at %u (expected one inside the table, at most %d bytes)", off,
			   KH_AUDIT_MAX_STR);
	*out = opt && !d->str[off] ? NULL : d->str + off;
	return 0;
}

/* A name string (UCI package, option, process, fact) or sysctl key. */
static int name(struct dec *d, const uint8_t *p, int at_ok, const char **out)
{
	int rc = str(d, p, 0, out);

	if (rc == 0 &&
	    (at_ok == 2 ? !kh_audit_sysctl_ok(*out)
			: !kh_audit_name_ok(*out, strlen(*out), at_ok) || strlen(*out) > 63))
		return bad(d, "'%.40s' (expected a name of letters, digits, _ and -)", *out);
	return rc;
}

/* A list (u16 first, u16 count) of at most max strings. */
static int list(struct dec *d, const uint8_t *p, unsigned max, struct kh_audit_list *out)
{
	unsigned first = kh_le16(p), n = kh_le16(p + 2);

	if (n > max || first + n > d->nlist)
		return bad(d, "list %u+%u (expected at most %u inside %u entries)", first, n, max,
			   d->nlist);
	out->v = d->strs + first;
	out->n = (int)n;
	return 0;
}

static int program(struct dec *d, const uint8_t *p, const uint8_t **out)
{
	uint32_t off = kh_le32(p) - 1;

	if (!kh_le32(p) || off >= d->nprog || !kh_re_check(d->prog + off, d->nprog - off))
		return bad(d, "regular expression at %u (expected a valid program)", off);
	*out = d->prog + off;
	return 0;
}

static int vtest(struct dec *d, const uint8_t *b, struct kh_audit_vtest *t)
{
	t->op = b[1];
	switch (t->op) {
	case KH_V_EQUALS:
		return str(d, b + 8, 0, &t->value);
	case KH_V_IN:
		return list(d, b + 24, KH_AUDIT_MAX_LIST, &t->in);
	case KH_V_MATCHES:
		return program(d, b + 32, &t->re);
	case KH_V_MISSING:
		return 0;
	}
	return bad(d, "value test %u (expected 0..3)", b[1]);
}

static int rule(struct dec *d, const uint8_t *b, struct kh_audit_rule *r)
{
	uint32_t num = kh_le32(b + 36);
	unsigned first = kh_le16(b + 28), n = kh_le16(b + 30);
	int rc;

	r->kind = b[0];
	if ((rc = str(d, b + 4, 0, &r->subject)) < 0)
		return rc;
	switch (r->kind) {
	case KH_R_FILE:
		r->ftest = b[1];
		r->exists = b[2] != 0;
		r->mode = num;
		if (r->ftest > KH_F_NO_LINE)
			return bad(d, "file test %u (expected 0..4)", b[1]);
		if (r->ftest == KH_F_MODE_MAX && num > 07777)
			return bad(d, "mode %o (expected at most 7777)", num);
		if (r->ftest == KH_F_OWNER)
			return str(d, b + 8, 0, &r->owner);
		return r->ftest >= KH_F_LINE ? program(d, b + 32, &r->vt.re) : 0;
	case KH_R_UCI:
	case KH_R_UCI_ANY:
		if ((rc = name(d, b + 12, 0, &r->pkg)) < 0 ||
		    (rc = name(d, b + 16, 1, &r->section)) < 0)
			return rc;
		if (r->kind == KH_R_UCI)
			return (rc = name(d, b + 20, 0, &r->option)) < 0 ? rc : vtest(d, b, &r->vt);
		if (n < 1 || n > KH_AUDIT_MAX_WHERE || first + n > d->nrules)
			return bad(d, "where %u+%u (expected 1..%d rules inside %u)", first, n,
				   KH_AUDIT_MAX_WHERE, d->nrules);
		r->where = d->rules + first;
		r->nwhere = (int)n;
		return 0;
	case KH_R_WHERE:
		return (rc = name(d, b + 4, 0, &r->subject)) < 0 ? rc : vtest(d, b, &r->vt);
	case KH_R_LISTENING:
		r->proto_udp = b[2] != 0;
		r->addr = b[3];
		r->port = (uint16_t)num;
		memcpy(r->ip, b + 44, 16);
		if (r->addr > KH_A_IP || num < 1 || num > 65535)
			return bad(d, "address kind %u, port %u (expected 0..3, 1..65535)", b[3],
				   num);
		return 0;
	case KH_R_PROCESS:
		return name(d, b + 4, 0, &r->subject);
	case KH_R_SYSCTL:
	case KH_R_FACT:
		rc = name(d, b + 4, r->kind == KH_R_SYSCTL ? 2 : 0, &r->subject);
		return rc < 0 ? rc : vtest(d, b, &r->vt);
	case KH_R_PASSWORD:
		r->pw = b[1];
		if (r->pw > KH_P_DEFAULT)
			return bad(d, "password test %u (expected 0..2)", b[1]);
		return list(d, b + 24, KH_AUDIT_MAX_LIST, &r->passwords);
	case KH_R_FILES_UNDER:
		r->walk_type = b[1];
		r->max_depth = b[3];
		r->mode = num;
		r->max_files = kh_le32(b + 40);
		if (r->walk_type > KH_T_ANY || !num || num > 07777 || !r->max_depth ||
		    r->max_depth > 32 || !r->max_files || r->max_files > 200000)
			return bad(d,
				   "walk type %u, perm_any %o, max_depth %u, max_files %u "
				   "(expected 0..2, 1..7777, 1..32, 1..200000)",
				   b[1], num, b[3], r->max_files);
		if ((rc = list(d, b + 24, KH_AUDIT_MAX_LIST, &r->except)) < 0)
			return rc;
		return list(d, b + 28, KH_AUDIT_MAX_LIST, &r->skip);
	}
	return bad(d, "kind %u (expected 0..%d)", b[0], KH_R_WHERE);
}

static int check(struct dec *d, const uint8_t *b, struct kh_audit_policy *p, int i)
{
	struct kh_audit_check *k = &p->checks[i];
	unsigned first = kh_le16(b + 16), n = kh_le16(b + 18);
	int rc;

	if ((rc = str(d, b, 0, &k->id)) < 0 || (rc = str(d, b + 4, 1, &k->title)) < 0 ||
	    (rc = str(d, b + 8, 1, &k->remediation)) < 0 ||
	    (rc = list(d, b + 12, KH_AUDIT_MAX_REFS, &k->refs)) < 0)
		return rc;
	if (!kh_audit_id_ok(k->id))
		return bad(d, "id '%.64s' (expected lower-case letters, digits, '-', '_', '.')",
			   k->id);
	for (int j = 0; j < i; j++)
		if (strcmp(p->checks[j].id, k->id) == 0)
			return bad(d, "id '%s' is also check %d", k->id, j);
	if (b[20] > KH_SEV_CRITICAL || b[21] > KH_AUDIT_NONE || b[22] > 1)
		return bad(d,
			   "severity %u, condition %u, na_if_missing %u (expected 0..%d, 0..2, "
			   "0..1)",
			   b[20], b[21], b[22], KH_SEV_CRITICAL);
	k->severity = (enum kh_severity)b[20];
	k->condition = b[21];
	k->na_if_missing = b[22];
	if (n < 1 || n > KH_AUDIT_MAX_RULES || first + n > d->nrules)
		return bad(d, "rules %u+%u (expected 1..%d inside %u)", first, n,
			   KH_AUDIT_MAX_RULES, d->nrules);
	k->rules = d->rules + first;
	k->nrules = (int)n;
	for (unsigned r = 0; r < n; r++)
		if (k->rules[r].kind == KH_R_WHERE)
			return bad(d, "rule %u is a where test (expected a rule)", first + r);
	return 0;
}

int kh_audit_decode(const uint8_t *b, size_t len, void *owned, struct kh_audit_policy **out,
		    char *err, size_t errlen)
{
	struct dec d = {.err = err, .errlen = errlen, .where = "header"};
	struct kh_audit_policy *p = NULL;
	unsigned nchecks;
	size_t need;
	int rc = -EBADMSG;

	*out = NULL;
	if (len > KH_AUDIT_MAX_TEXT) {
		snprintf(err, errlen, "larger than %d bytes", KH_AUDIT_MAX_TEXT);
		free(owned);
		return -E2BIG;
	}
	if (len < KH_AUDIT_HDR || memcmp(b, KH_AUDIT_MAGIC, 4) != 0) {
		bad(&d, "not compiled audit rules (expected \"%s\"; khien-policy audit compile)",
		    KH_AUDIT_MAGIC);
		goto fail;
	}
	nchecks = kh_le16(b + 28);
	d.nrules = kh_le16(b + 30);
	d.nlist = kh_le16(b + 32);
	d.nstr = kh_le32(b + 36);
	d.nprog = kh_le32(b + 40);
	need = KH_AUDIT_HDR + (size_t)nchecks * KH_AUDIT_CHECK + (size_t)d.nrules * KH_AUDIT_RULE +
	       (size_t)d.nlist * 4;
	if (kh_le16(b + 4) != KH_AUDIT_VERSION || kh_le16(b + 6) || kh_le16(b + 34)) {
		bad(&d, "version %u (expected %d)", kh_le16(b + 4), KH_AUDIT_VERSION);
		goto fail;
	}
	if (kh_le32(b + 8) != len || d.nstr > len || d.nprog > len ||
	    need + d.nstr + d.nprog != len) {
		bad(&d,
		    "length %zu, %u checks, %u rules, %u list entries, %u bytes of strings, "
		    "%u of programs (expected them to add up to the length %u)",
		    len, nchecks, d.nrules, d.nlist, d.nstr, d.nprog, kh_le32(b + 8));
		goto fail;
	}
	if (nchecks < 1 || nchecks > KH_AUDIT_MAX_CHECKS) {
		bad(&d, "%u checks (expected 1..%d)", nchecks, KH_AUDIT_MAX_CHECKS);
		goto fail;
	}
	d.list = b + need - (size_t)d.nlist * 4;
	d.str = (const char *)b + need;
	d.prog = b + need + d.nstr;
	if (!d.nstr || d.str[0] || d.str[d.nstr - 1]) {
		bad(&d, "string table (expected to start and end with a NUL)");
		goto fail;
	}
	/* one block: the policy, its checks, rules and the list's string pointers */
	p = calloc(1, sizeof(*p) + nchecks * sizeof(*p->checks) + d.nrules * sizeof(*d.rules) +
			      d.nlist * sizeof(*d.strs));
	if (!p) {
		rc = -ENOMEM;
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	p->checks = (struct kh_audit_check *)(p + 1);
	d.rules = (struct kh_audit_rule *)(p->checks + nchecks);
	d.strs = (const char **)(d.rules + d.nrules);
	p->mem = owned;
	owned = NULL;
	p->version = kh_le32(b + 12);
	if ((rc = str(&d, b + 16, 0, &p->id)) < 0 || (rc = str(&d, b + 20, 1, &p->title)) < 0)
		goto fail;
	if (!kh_audit_id_ok(p->id) || !p->version) {
		rc = bad(&d,
			 "policy id '%.64s', version %llu (expected an id and a version of 1 "
			 "or more)",
			 p->id, (unsigned long long)p->version);
		goto fail;
	}
	for (unsigned i = 0; i < d.nlist; i++) {
		snprintf(d.where, sizeof(d.where), "list entry %u", i);
		if ((rc = str(&d, d.list + 4 * i, 0, &d.strs[i])) < 0)
			goto fail;
	}
	snprintf(d.where, sizeof(d.where), "header");
	if ((rc = list(&d, b + 24, KH_AUDIT_MAX_LIST, &p->passwords)) < 0)
		goto fail;
	for (unsigned i = 0; i < d.nrules; i++) {
		snprintf(d.where, sizeof(d.where), "rule %u", i);
		if ((rc = rule(&d, b + KH_AUDIT_HDR + nchecks * KH_AUDIT_CHECK + i * KH_AUDIT_RULE,
			       &d.rules[i])) < 0)
			goto fail;
	}
	for (unsigned i = 0; i < nchecks; i++) {
		snprintf(d.where, sizeof(d.where), "check %u", i);
		if ((rc = check(&d, b + KH_AUDIT_HDR + i * KH_AUDIT_CHECK, p, (int)i)) < 0)
			goto fail;
		p->nchecks++;
	}
	for (unsigned i = 0; i < d.nrules; i++) {
		const struct kh_audit_rule *r = &d.rules[i];
		for (int w = 0; r->kind == KH_R_UCI_ANY && w < r->nwhere; w++)
			if (r->where[w].kind != KH_R_WHERE) {
				snprintf(d.where, sizeof(d.where), "rule %u", i);
				rc = bad(&d, "where test %d is not a where rule", w);
				goto fail;
			}
	}
	*out = p;
	return 0;
fail:
	free(owned);
	kh_audit_free(p);
	return rc;
}

void kh_audit_free(struct kh_audit_policy *p)
{
	if (!p)
		return;
	free(p->mem);
	free(p);
}

const char *kh_audit_result_name(enum kh_audit_result r)
{
	static const char *const names[] = {"pass", "fail", "na", "error"};
	return (unsigned)r < 4 ? names[r] : "error";
}

int kh_audit_result_parse(const char *s)
{
	for (int r = KH_AUDIT_PASS; r <= KH_AUDIT_ERROR; r++)
		if (strcmp(s, kh_audit_result_name((enum kh_audit_result)r)) == 0)
			return r;
	return -EINVAL;
}

void kh_audit_digest_init(struct kh_audit_digest *d, const char *policy, uint64_t version)
{
	char v[24];

	snprintf(v, sizeof(v), "%llu", (unsigned long long)version);
	kh_sha256_init(&d->h);
	kh_sha256_update(&d->h, policy, strlen(policy) + 1);
	kh_sha256_update(&d->h, v, strlen(v) + 1);
}

void kh_audit_digest_add(struct kh_audit_digest *d, const char *id, const char *result,
			 const char *evidence)
{
	kh_sha256_update(&d->h, id, strlen(id) + 1);
	kh_sha256_update(&d->h, result, strlen(result) + 1);
	kh_sha256_update(&d->h, evidence, strlen(evidence) + 1);
}

void kh_audit_digest_final(struct kh_audit_digest *d, char hex[2 * KH_SHA256_LEN + 1])
{
	uint8_t b[KH_SHA256_LEN];

	kh_sha256_final(&d->h, b);
	kh_hex_encode(b, sizeof(b), hex);
}
