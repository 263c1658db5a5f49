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
	const char *what; /* the record being decoded: "header", or "rule" number idx */
	unsigned idx;
};

static int bad(struct dec *d, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(d->err, d->errlen, *d->what == 'h' ? "%s: " : "%s %u: ", d->what, d->idx);

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

/* What the strings of a rule kind must be: names (bit per string), a sysctl key, a value test. */
enum {
	S_SUBJ = 1,
	S_PKG = 4,
	S_SECTION = 8, /* may be @type[N] */
	S_OPTION = 16,
	S_SYSCTL = 32,
	S_VTEST = 64
};
static const uint8_t kinds[] = {
	[KH_R_FILE] = 0,
	[KH_R_UCI] = S_PKG | S_SECTION | S_OPTION | S_VTEST,
	[KH_R_UCI_ANY] = S_PKG | S_SECTION,
	[KH_R_LISTENING] = 0,
	[KH_R_PROCESS] = S_SUBJ,
	[KH_R_SYSCTL] = S_SYSCTL | S_VTEST,
	[KH_R_PASSWORD] = 0,
	[KH_R_FILES_UNDER] = 0,
	[KH_R_FACT] = S_SUBJ | S_VTEST,
	[KH_R_WHERE] = S_SUBJ | S_VTEST,
};
/* what the test byte, the flags and the numbers of each kind may be, for errors */
static const char *const expect[] = {
	[KH_R_FILE] = "file test 0..4, mode_max at most 7777, a program for line and no_line",
	[KH_R_UCI] = "value test 0..3, a program for matches",
	[KH_R_UCI_ANY] = "1..8 where rules",
	[KH_R_LISTENING] = "address kind 0..3, port 1..65535",
	[KH_R_PROCESS] = "",
	[KH_R_SYSCTL] = "value test 0..3, a program for matches",
	[KH_R_PASSWORD] = "password test 0..2",
	[KH_R_FILES_UNDER] =
		"walk type 0..2, max_depth 1..32, perm_any 1..7777, max_files 1..200000",
	[KH_R_FACT] = "value test 0..3, a program for matches",
	[KH_R_WHERE] = "value test 0..3, a program for matches",
};

static int rule(struct dec *d, const uint8_t *b, struct kh_audit_rule *r)
{
	const char *s[5];
	uint32_t num = kh_le32(b + 36);
	unsigned first = kh_le16(b + 28), n = kh_le16(b + 30), spec;
	int rc = 0, ok;

	if (b[0] > KH_R_WHERE)
		return bad(d, "kind %u (expected 0..%d)", b[0], KH_R_WHERE);
	spec = kinds[b[0]];
	/* every field is decoded and checked alike; the tool leaves unused ones 0 */
	for (int i = 0; i < 5 && rc == 0; i++)
		rc = str(d, b + 4 + 4 * i, 0, &s[i]);
	if (rc == 0)
		rc = list(d, b + 24, KH_AUDIT_MAX_LIST, &r->vt.in);
	if (rc == 0 && b[0] != KH_R_UCI_ANY)
		rc = list(d, b + 28, KH_AUDIT_MAX_LIST, &r->skip);
	if (rc == 0 && kh_le32(b + 32))
		rc = program(d, b + 32, &r->vt.re);
	if (rc < 0)
		return rc;
	for (int i = 0; i < 5; i++)
		if ((spec >> i & 1) &&
		    (!kh_audit_name_ok(s[i], strlen(s[i]), i == 3) || strlen(s[i]) > 63))
			return bad(d, "'%.40s' (expected a name of letters, digits, _ and -)",
				   s[i]);
	if ((spec & S_SYSCTL) && !kh_audit_sysctl_ok(s[0]))
		return bad(d, "'%.40s' (expected a sysctl key)", s[0]);
	r->kind = b[0];
	r->ftest = r->vt.op = r->pw = r->walk_type = b[1];
	r->exists = r->proto_udp = b[2] != 0;
	r->addr = r->max_depth = b[3];
	r->port = (uint16_t)num;
	r->mode = num;
	r->max_files = kh_le32(b + 40);
	memcpy(r->ip, b + 44, 16);
	r->subject = s[0];
	r->owner = r->vt.value = s[1];
	r->pkg = s[2];
	r->section = s[3];
	r->option = s[4];
	r->passwords = r->except = r->vt.in;
	switch (r->kind) {
	case KH_R_FILE:
		ok = b[1] <= KH_F_NO_LINE && (b[1] != KH_F_MODE_MAX || num <= 07777) &&
		     (b[1] < KH_F_LINE || r->vt.re);
		break;
	case KH_R_UCI_ANY:
		ok = n >= 1 && n <= KH_AUDIT_MAX_WHERE && first + n <= d->nrules;
		r->where = d->rules + first; /* their kind is checked once all are decoded */
		r->nwhere = (int)n;
		break;
	case KH_R_LISTENING:
		ok = b[3] <= KH_A_IP && num >= 1 && num <= 65535;
		break;
	case KH_R_PASSWORD:
		ok = b[1] <= KH_P_DEFAULT;
		break;
	case KH_R_FILES_UNDER:
		ok = b[1] <= KH_T_ANY && num && num <= 07777 && b[3] && b[3] <= 32 &&
		     r->max_files && r->max_files <= 200000;
		break;
	default:
		ok = !(spec & S_VTEST) ||
		     (b[1] <= KH_V_MISSING && (b[1] != KH_V_MATCHES || r->vt.re));
	}
	if (!ok)
		return bad(d, "kind %u: test %u, flags %u %u, numbers %u %u (expected %s)", b[0],
			   b[1], b[2], b[3], num, r->max_files, expect[b[0]]);
	return 0;
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
	for (unsigned r = 0; r < n; r++) {
		const struct kh_audit_rule *ru = &k->rules[r];
		int w = ru->kind == KH_R_WHERE ? 0 : -1;
		for (int j = 0; ru->kind == KH_R_UCI_ANY && j < ru->nwhere && w < 0; j++)
			w = ru->where[j].kind == KH_R_WHERE ? -1 : j;
		if (w >= 0)
			return bad(d, "rule %u (expected a rule, and where rules for its where %d)",
				   first + r, w);
	}
	return 0;
}

int kh_audit_decode(const uint8_t *b, size_t len, void *owned, struct kh_audit_policy **out,
		    char *err, size_t errlen)
{
	struct dec d = {.err = err, .errlen = errlen, .what = "header"};
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
	if (kh_le16(b + 4) != KH_AUDIT_VERSION || kh_le16(b + 6) || kh_le16(b + 34) ||
	    kh_le32(b + 8) != len || d.nstr > len || d.nprog > len ||
	    need + d.nstr + d.nprog != len || nchecks < 1 || nchecks > KH_AUDIT_MAX_CHECKS ||
	    !d.nstr || b[need] || b[need + d.nstr - 1]) {
		bad(&d,
		    "version %u, length %u, %u checks, %u rules, %u list entries, %u + %u bytes "
		    "(expected version %d, 1..%d checks, sections adding up to %zu bytes, strings "
		    "starting and ending with a NUL)",
		    kh_le16(b + 4), kh_le32(b + 8), nchecks, d.nrules, d.nlist, d.nstr, d.nprog,
		    KH_AUDIT_VERSION, KH_AUDIT_MAX_CHECKS, len);
		goto fail;
	}
	d.list = b + need - (size_t)d.nlist * 4;
	d.str = (const char *)b + need;
	d.prog = b + need + d.nstr;
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
	if ((rc = list(&d, b + 24, KH_AUDIT_MAX_LIST, &p->passwords)) < 0)
		goto fail;
	d.what = "list entry";
	for (d.idx = 0; d.idx < d.nlist; d.idx++)
		if ((rc = str(&d, d.list + 4 * d.idx, 0, &d.strs[d.idx])) < 0)
			goto fail;
	d.what = "rule";
	for (d.idx = 0; d.idx < d.nrules; d.idx++)
		if ((rc = rule(&d,
			       b + KH_AUDIT_HDR + nchecks * KH_AUDIT_CHECK + d.idx * KH_AUDIT_RULE,
			       &d.rules[d.idx])) < 0)
			goto fail;
	d.what = "check";
	for (d.idx = 0; d.idx < nchecks; d.idx++, p->nchecks++)
		if ((rc = check(&d, b + KH_AUDIT_HDR + d.idx * KH_AUDIT_CHECK, p, (int)d.idx)) < 0)
			goto fail;
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
