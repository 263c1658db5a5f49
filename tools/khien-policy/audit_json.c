/* SPDX-License-Identifier: MIT */
/*
 * Audit rules on the ISP side: the JSON an ISP writes (docs/AUDIT.md),
 * validated and compiled into the binary form a device decodes
 * (policy/audit_priv.h). Every field has a type, a limit and a JSON path
 * in its error; unknown keys are refused (a misspelt "no_line" must not
 * silently become a check that passes). The parsed rules fill the
 * device's own structures, which are then written out field by field, so
 * key order and spacing never change the bytes.
 */
#define _DEFAULT_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "lib/endian.h"
#include "lib/ipaddr.h"
#include "lib/jsonnum.h"
#include "policy/audit_priv.h"
#include "tools/khien-policy/audit_json.h"

struct pctx {
	char *err;
	size_t errlen;
	char path[160];
	void **mem; /* what the parsed rules allocated, freed after writing them */
	size_t nmem, capmem;
};

/* Keep p (allocated) with the rules; NULL (p freed) when out of memory. */
static void *keep(struct pctx *c, void *p)
{
	if (p && c->nmem == c->capmem) {
		size_t cap = c->capmem ? 2 * c->capmem : 64;
		void **m = realloc(c->mem, cap * sizeof(*m));
		if (!m) {
			free(p);
			return NULL;
		}
		c->mem = m;
		c->capmem = cap;
	}
	if (p)
		c->mem[c->nmem++] = p;
	return p;
}

static void *alloc(struct pctx *c, size_t n)
{
	return keep(c, calloc(1, n ? n : 1));
}

static int bad(struct pctx *c, const char *key, const char *fmt, ...)
{
	va_list ap;
	int n;

	n = snprintf(c->err, c->errlen, "%s%s%s: ", c->path, c->path[0] && key ? "." : "",
		     key ? key : "");
	va_start(ap, fmt);
	if (n >= 0 && (size_t)n < c->errlen)
		vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return -EBADMSG;
}

/* Refuse keys outside allowed (a NULL-terminated list). */
static int only_keys(struct pctx *c, const cJSON *o, const char *const *allowed)
{
	const cJSON *k;

	cJSON_ArrayForEach (k, o) {
		int found = 0;
		for (const char *const *a = allowed; *a && !found; a++)
			found = strcmp(k->string, *a) == 0;
		if (!found)
			return bad(c, k->string, "unknown key");
	}
	return 0;
}

/* A string member of at most max bytes (required or NULL when absent). */
static int str_member(struct pctx *c, const cJSON *o, const char *key, size_t max, int required,
		      const char **out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	*out = NULL;
	if (!v)
		return required ? bad(c, key, "missing (expected a string)") : 0;
	if (!cJSON_IsString(v) || !v->valuestring[0] || strlen(v->valuestring) > max)
		return bad(c, key, "expected a non-empty string of at most %zu bytes", max);
	*out = v->valuestring;
	return 0;
}

/* Which of three names s is, into *out; else "expected \"a\", \"b\" or \"c\"". */
static int one_of(struct pctx *c, const char *key, const char *s, const char *const names[3],
		  uint8_t *out)
{
	for (int i = 0; i < 3; i++)
		if (strcmp(s, names[i]) == 0) {
			*out = (uint8_t)i;
			return 0;
		}
	return bad(c, key, "expected \"%s\", \"%s\" or \"%s\"", names[0], names[1], names[2]);
}

/* Space for the items of v, a non-empty array of at most max; NULL with *rc. */
static void *items(struct pctx *c, const cJSON *v, const char *key, int max, size_t size, int *rc)
{
	void *a;

	*rc = -ENOMEM;
	if (!cJSON_IsArray(v) || !v->child)
		*rc = bad(c, key, "expected a non-empty array of %s", key);
	else if (cJSON_GetArraySize(v) > max)
		*rc = bad(c, key, "more than %d %s", max, key);
	else if ((a = alloc(c, (size_t)cJSON_GetArraySize(v) * size)))
		return a;
	return NULL;
}

/* An array of 1..max strings of at most len bytes each, into out. */
static int str_array(struct pctx *c, const cJSON *v, const char *key, int max, size_t len,
		     struct kh_audit_list *out)
{
	const cJSON *e;
	const char **l;
	int n = 0;

	if (!cJSON_IsArray(v))
		return bad(c, key, "expected an array of strings");
	cJSON_ArrayForEach (e, v) {
		if (!cJSON_IsString(e) || strlen(e->valuestring) > len)
			return bad(c, key, "[%d]: expected a string of at most %zu bytes", n, len);
		if (++n > max)
			return bad(c, key, "more than %d values", max);
	}
	if (!n)
		return bad(c, key, "empty array");
	if (!(l = alloc(c, (size_t)n * sizeof(*l))))
		return -ENOMEM;
	n = 0;
	cJSON_ArrayForEach (e, v)
		l[n++] = e->valuestring;
	out->v = l;
	out->n = n;
	return 0;
}

static int regex(struct pctx *c, const char *key, const char *re, const uint8_t **out)
{
	char why[128];
	uint8_t *prog;
	size_t len;

	if (strlen(re) > 512)
		return bad(c, key, "regular expression longer than 512 bytes");
	if (kh_re_compile(re, &prog, &len, why, sizeof(why)) < 0)
		return bad(c, key, "bad regular expression (POSIX extended): %s", why);
	(void)len;
	return (*out = keep(c, prog)) ? 0 : -ENOMEM;
}

static int valid_path(const char *p)
{
	return p[0] == '/' && strlen(p) <= 512;
}

/*
 * The value test of o: one of equals, in, matches, and missing when
 * allow_missing. Returns 0, or -ENOENT (none present) after no error.
 */
static int vtest(struct pctx *c, const cJSON *o, int allow_missing, struct kh_audit_vtest *t)
{
	static const char *const keys[] = {"equals", "in", "matches", "missing"};
	const cJSON *v = NULL;
	int found = 0;

	for (int i = 0; i < 4; i++) {
		const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, keys[i]);
		if (!x)
			continue;
		if (found++)
			return bad(c, keys[i], "only one of equals, in, matches%s",
				   allow_missing ? ", missing" : "");
		v = x;
		t->op = i == 0	 ? KH_V_EQUALS
			: i == 1 ? KH_V_IN
			: i == 2 ? KH_V_MATCHES
				 : KH_V_MISSING;
	}
	if (!found)
		return -ENOENT;
	switch (t->op) {
	case KH_V_EQUALS:
		if (!cJSON_IsString(v) || strlen(v->valuestring) > 1024)
			return bad(c, "equals", "expected a string of at most 1024 bytes");
		t->value = v->valuestring;
		return 0;
	case KH_V_IN:
		return str_array(c, v, "in", KH_AUDIT_MAX_LIST, 1024, &t->in);
	case KH_V_MATCHES:
		if (!cJSON_IsString(v))
			return bad(c, "matches", "expected a regular expression (string)");
		return regex(c, "matches", v->valuestring, &t->re);
	case KH_V_MISSING:
		if (!allow_missing)
			return bad(c, "missing", "not allowed here");
		if (!cJSON_IsTrue(v))
			return bad(c, "missing", "expected true");
		return 0;
	}
	return 0;
}

static int octal(struct pctx *c, const cJSON *v, const char *key, uint32_t *out)
{
	const char *s;
	char *e;
	unsigned long m;

	if (!cJSON_IsString(v) || !*(s = v->valuestring) || strlen(s) > 5)
		return bad(c, key, "expected an octal mode string like \"0644\"");
	m = strtoul(s, &e, 8);
	if (*e || m > 07777)
		return bad(c, key, "expected an octal mode string like \"0644\" (at most 7777)");
	*out = (uint32_t)m;
	return 0;
}

static int rule_file(struct pctx *c, const cJSON *o, struct kh_audit_rule *r)
{
	static const char *const keys[] = {"file", "exists",  "mode_max", "owner",
					   "line", "no_line", NULL};
	static const char *const tests[] = {"exists", "mode_max", "owner", "line", "no_line"};
	const cJSON *v = NULL;
	int found = 0, rc;

	if ((rc = only_keys(c, o, keys)) < 0)
		return rc;
	for (int i = 0; i < 5; i++) {
		const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, tests[i]);
		if (!x)
			continue;
		if (found++)
			return bad(c, tests[i],
				   "a file rule has one test (exists, mode_max, owner, line or "
				   "no_line)");
		v = x;
		r->ftest = i;
	}
	if (!found)
		return bad(c, NULL,
			   "a file rule needs one of exists, mode_max, owner, line, no_line");
	switch (r->ftest) {
	case KH_F_EXISTS:
		if (!cJSON_IsBool(v))
			return bad(c, "exists", "expected true or false");
		r->exists = cJSON_IsTrue(v);
		return 0;
	case KH_F_MODE_MAX:
		return octal(c, v, "mode_max", &r->mode);
	case KH_F_OWNER:
		if (!cJSON_IsString(v) || !v->valuestring[0] || strlen(v->valuestring) > 32)
			return bad(c, "owner", "expected a user name");
		r->owner = v->valuestring;
		return 0;
	case KH_F_LINE:
	case KH_F_NO_LINE:
		if (!cJSON_IsString(v))
			return bad(c, tests[r->ftest], "expected a regular expression (string)");
		return regex(c, tests[r->ftest], v->valuestring, &r->vt.re);
	}
	return 0;
}

/* "pkg.section.option" (three parts) or "pkg.type" (two) into the rule. */
static int uci_address(struct pctx *c, const char *key, const char *a, int parts,
		       struct kh_audit_rule *r)
{
	const char *d1 = strchr(a, '.'), *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
	size_t l1, l2, l3;

	if (!d1 || (parts == 3) != (d2 != NULL) || (d2 && strchr(d2 + 1, '.')))
		goto fail;
	l1 = (size_t)(d1 - a);
	l2 = d2 ? (size_t)(d2 - d1 - 1) : strlen(d1 + 1);
	l3 = d2 ? strlen(d2 + 1) : 0;
	if (l1 >= 32 || l2 >= 64 || l3 >= 48 || !kh_audit_name_ok(a, l1, 0) ||
	    !kh_audit_name_ok(d1 + 1, l2, parts == 3) || (d2 && !kh_audit_name_ok(d2 + 1, l3, 0)))
		goto fail;
	r->pkg = keep(c, strndup(a, l1));
	r->section = keep(c, strndup(d1 + 1, l2));
	r->option = d2 ? keep(c, strndup(d2 + 1, l3)) : "";
	return r->pkg && r->section && r->option ? 0 : -ENOMEM;
fail:
	return bad(c, key,
		   parts == 3 ? "expected \"package.section.option\" (section: a name or @type[N])"
			      : "expected \"package.type\"");
}

static int rule_uci(struct pctx *c, const cJSON *o, struct kh_audit_rule *r)
{
	static const char *const keys[] = {"uci", "equals", "in", "matches", "missing", NULL};
	int rc;

	if ((rc = only_keys(c, o, keys)) < 0 || (rc = uci_address(c, "uci", r->subject, 3, r)) < 0)
		return rc;
	rc = vtest(c, o, 1, &r->vt);
	return rc == -ENOENT ? bad(c, NULL, "a uci rule needs one of equals, in, matches, missing")
			     : rc;
}

static int rule_uci_any(struct pctx *c, const cJSON *o, struct kh_audit_rule *r)
{
	static const char *const keys[] = {"uci_any", "where", NULL};
	const cJSON *w = cJSON_GetObjectItemCaseSensitive(o, "where"), *e;
	size_t plen = strlen(c->path);
	int rc;

	if ((rc = only_keys(c, o, keys)) < 0 ||
	    (rc = uci_address(c, "uci_any", r->subject, 2, r)) < 0)
		return rc;
	if (!cJSON_IsObject(w) || !w->child)
		return bad(c, "where", "expected an object of option tests");
	if (cJSON_GetArraySize(w) > KH_AUDIT_MAX_WHERE)
		return bad(c, "where", "more than %d options", KH_AUDIT_MAX_WHERE);
	struct kh_audit_rule *where = alloc(c, (size_t)cJSON_GetArraySize(w) * sizeof(*where));
	if (!where)
		return -ENOMEM;
	r->where = where;
	cJSON_ArrayForEach (e, w) {
		struct kh_audit_rule *t = &where[r->nwhere++];
		if (!kh_audit_name_ok(e->string, strlen(e->string), 0) || strlen(e->string) > 47)
			return bad(c, "where", "'%s' is not an option name", e->string);
		t->kind = KH_R_WHERE;
		t->subject = e->string;
		snprintf(c->path + plen, sizeof(c->path) - plen, ".where.%s", e->string);
		if (cJSON_IsString(e)) {
			t->vt.op = KH_V_EQUALS;
			t->vt.value = e->valuestring;
		} else if (!cJSON_IsObject(e)) {
			return bad(c, NULL,
				   "expected a string or {\"in\"|\"matches\"|\"missing\": ...}");
		} else {
			static const char *const vkeys[] = {"equals", "in", "matches", "missing",
							    NULL};
			if ((rc = only_keys(c, e, vkeys)) < 0)
				return rc;
			rc = vtest(c, e, 1, &t->vt);
			if (rc == -ENOENT)
				return bad(c, NULL, "expected one of equals, in, matches, missing");
			if (rc < 0)
				return rc;
		}
		c->path[plen] = 0;
	}
	return 0;
}

static int rule_listening(struct pctx *c, const cJSON *o, struct kh_audit_rule *r)
{
	static const char *const keys[] = {"listening", NULL};
	static const char *const lkeys[] = {"proto", "port", "address", NULL};
	const cJSON *l = cJSON_GetObjectItemCaseSensitive(o, "listening");
	const char *proto, *addr;
	uint64_t port;
	size_t plen = strlen(c->path);
	int rc;

	if ((rc = only_keys(c, o, keys)) < 0)
		return rc;
	if (!cJSON_IsObject(l))
		return bad(c, "listening",
			   "expected {\"proto\": \"tcp\"|\"udp\", \"port\": N, \"address\": ...}");
	snprintf(c->path + plen, sizeof(c->path) - plen, ".listening");
	if ((rc = only_keys(c, l, lkeys)) < 0 ||
	    (rc = str_member(c, l, "proto", 3, 1, &proto)) < 0 ||
	    (rc = str_member(c, l, "address", 45, 0, &addr)) < 0)
		return rc;
	if (strcmp(proto, "tcp") && strcmp(proto, "udp"))
		return bad(c, "proto", "expected \"tcp\" or \"udp\"");
	r->proto_udp = proto[0] == 'u';
	if (kh_json_uint(cJSON_GetObjectItemCaseSensitive(l, "port"), 1, 65535, &port) < 0)
		return bad(c, "port", "expected a port number from 1 to 65535");
	r->port = (uint16_t)port;
	if (!addr)
		r->addr = KH_A_UNSET;
	else if (strcmp(addr, "any") == 0)
		r->addr = KH_A_ANY;
	else if (strcmp(addr, "loopback") == 0)
		r->addr = KH_A_LOOPBACK;
	else {
		uint8_t v4[4];
		r->addr = KH_A_IP;
		if (kh_ip4_parse(addr, v4) == 0) {
			/* kept as v4-mapped IPv6, the form both /proc tables compare in */
			memset(r->ip, 0, 10);
			r->ip[10] = r->ip[11] = 0xff;
			memcpy(r->ip + 12, v4, 4);
		} else if (kh_ip6_parse(addr, r->ip) < 0) {
			return bad(c, "address", "expected \"any\", \"loopback\" or an IP address");
		}
	}
	c->path[plen] = 0;
	return 0;
}

static int rule_simple(struct pctx *c, const cJSON *o, struct kh_audit_rule *r)
{
	static const char *const pkeys[] = {"process", NULL};
	static const char *const skeys[] = {"sysctl", "equals", "in", "matches", "missing", NULL};
	static const char *const fkeys[] = {"fact", "equals", "in", "matches", "missing", NULL};
	const char *what = r->kind == KH_R_PROCESS  ? "process"
			   : r->kind == KH_R_SYSCTL ? "sysctl"
						    : "fact";
	int rc;

	rc = only_keys(c, o,
		       r->kind == KH_R_PROCESS	? pkeys
		       : r->kind == KH_R_SYSCTL ? skeys
						: fkeys);
	if (rc < 0)
		return rc;
	if ((!kh_audit_name_ok(r->subject, strlen(r->subject), 0) || strlen(r->subject) > 63) &&
	    r->kind != KH_R_SYSCTL)
		return bad(c, what, "expected a name (letters, digits, _ and -, at most 63)");
	if (r->kind == KH_R_SYSCTL && !kh_audit_sysctl_ok(r->subject))
		return bad(c, "sysctl", "expected a key like \"kernel.kptr_restrict\"");
	if (r->kind == KH_R_PROCESS)
		return 0;
	rc = vtest(c, o, 1, &r->vt);
	return rc == -ENOENT ? bad(c, NULL, "needs one of equals, in, matches, missing") : rc;
}

static int rule_password(struct pctx *c, const cJSON *o, struct kh_audit_rule *r)
{
	static const char *const keys[] = {"password", "is", "passwords", NULL};
	const cJSON *p = cJSON_GetObjectItemCaseSensitive(o, "passwords");
	const char *is;
	int rc;

	if ((rc = only_keys(c, o, keys)) < 0 || (rc = str_member(c, o, "is", 8, 1, &is)) < 0)
		return rc;
	if (strlen(r->subject) > 32)
		return bad(c, "password", "expected a user name");
	static const char *const tests[] = {"empty", "locked", "default"}; /* KH_P_* order */
	if ((rc = one_of(c, "is", is, tests, &r->pw)) < 0)
		return rc;
	if (p && (rc = str_array(c, p, "passwords", KH_AUDIT_MAX_LIST, 128, &r->passwords)) < 0)
		return rc;
	return 0;
}

static int path_array(struct pctx *c, const cJSON *o, const char *key, struct kh_audit_list *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	int rc;

	if (!v)
		return 0;
	if ((rc = str_array(c, v, key, KH_AUDIT_MAX_LIST, 512, out)) < 0)
		return rc;
	for (int i = 0; i < out->n; i++)
		if (!valid_path(out->v[i]))
			return bad(c, key, "[%d]: expected an absolute path", i);
	return 0;
}

static int rule_files_under(struct pctx *c, const cJSON *o, struct kh_audit_rule *r)
{
	static const char *const keys[] = {"files_under", "perm_any",  "type",	    "except",
					   "skip",	  "max_depth", "max_files", NULL};
	const char *type;
	uint64_t u;
	const cJSON *v;
	int rc;

	if ((rc = only_keys(c, o, keys)) < 0 || (rc = str_member(c, o, "type", 4, 0, &type)) < 0 ||
	    (rc = path_array(c, o, "except", &r->except)) < 0 ||
	    (rc = path_array(c, o, "skip", &r->skip)) < 0)
		return rc;
	if (!valid_path(r->subject))
		return bad(c, "files_under", "expected an absolute path");
	if ((rc = octal(c, cJSON_GetObjectItemCaseSensitive(o, "perm_any"), "perm_any", &r->mode)) <
	    0)
		return rc;
	if (!r->mode)
		return bad(c, "perm_any", "expected at least one permission bit");
	static const char *const types[] = {"file", "dir", "any"}; /* KH_T_* order */
	if ((rc = one_of(c, "type", type ? type : "file", types, &r->walk_type)) < 0)
		return rc;
	r->max_depth = 8;
	r->max_files = 20000;
	if ((v = cJSON_GetObjectItemCaseSensitive(o, "max_depth"))) {
		if (kh_json_uint(v, 1, 32, &u) < 0)
			return bad(c, "max_depth", "expected a whole number from 1 to 32");
		r->max_depth = (uint8_t)u;
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(o, "max_files"))) {
		if (kh_json_uint(v, 1, 200000, &u) < 0)
			return bad(c, "max_files", "expected a whole number from 1 to 200000");
		r->max_files = (uint32_t)u;
	}
	return 0;
}

static const struct {
	const char *key;
	enum kh_audit_kind kind;
} kinds[] = {
	{"file", KH_R_FILE},	     {"uci", KH_R_UCI},
	{"uci_any", KH_R_UCI_ANY},   {"listening", KH_R_LISTENING},
	{"process", KH_R_PROCESS},   {"sysctl", KH_R_SYSCTL},
	{"password", KH_R_PASSWORD}, {"files_under", KH_R_FILES_UNDER},
	{"fact", KH_R_FACT},
};

static int parse_rule(struct pctx *c, const cJSON *o, struct kh_audit_rule *r)
{
	int found = 0;

	if (!cJSON_IsObject(o))
		return bad(c, NULL, "expected a rule object");
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, kinds[i].key);
		if (!v)
			continue;
		if (found++)
			return bad(c, kinds[i].key, "a rule has one kind");
		r->kind = kinds[i].kind;
		if (r->kind != KH_R_LISTENING) {
			if (!cJSON_IsString(v) || !v->valuestring[0] ||
			    strlen(v->valuestring) > 512)
				return bad(c, kinds[i].key, "expected a non-empty string");
			r->subject = v->valuestring;
		}
	}
	if (!found)
		return bad(c, NULL,
			   "unknown rule kind (expected one of file, uci, uci_any, "
			   "listening, process, sysctl, password, files_under, fact)");
	switch (r->kind) {
	case KH_R_FILE:
		if (!valid_path(r->subject))
			return bad(c, "file", "expected an absolute path");
		return rule_file(c, o, r);
	case KH_R_UCI:
		return rule_uci(c, o, r);
	case KH_R_UCI_ANY:
		return rule_uci_any(c, o, r);
	case KH_R_LISTENING:
		return rule_listening(c, o, r);
	case KH_R_PASSWORD:
		return rule_password(c, o, r);
	case KH_R_FILES_UNDER:
		return rule_files_under(c, o, r);
	default:
		return rule_simple(c, o, r);
	}
}

static int parse_check(struct pctx *c, struct kh_audit_policy *p, const cJSON *o,
		       struct kh_audit_check *k)
{
	static const char *const keys[] = {"id",    "title",	     "severity",
					   "refs",  "remediation",   "condition",
					   "rules", "na_if_missing", NULL};
	const cJSON *v, *e;
	const char *sev, *cond;
	size_t plen = strlen(c->path);
	int rc, i = 0;

	if (!cJSON_IsObject(o))
		return bad(c, NULL, "expected a check object");
	if ((rc = only_keys(c, o, keys)) < 0 ||
	    (rc = str_member(c, o, "id", KH_AUDIT_MAX_ID, 1, &k->id)) < 0 ||
	    (rc = str_member(c, o, "title", 256, 1, &k->title)) < 0 ||
	    (rc = str_member(c, o, "severity", 8, 1, &sev)) < 0 ||
	    (rc = str_member(c, o, "remediation", 2048, 0, &k->remediation)) < 0 ||
	    (rc = str_member(c, o, "condition", 4, 0, &cond)) < 0)
		return rc;
	if (!kh_audit_id_ok(k->id))
		return bad(c, "id", "expected lower-case letters, digits, '-', '_' and '.'");
	for (int j = 0; j < p->nchecks; j++)
		if (strcmp(p->checks[j].id, k->id) == 0)
			return bad(c, "id", "'%s' is also checks[%d]", k->id, j);
	if ((rc = kh_severity_parse(sev)) < 0)
		return bad(c, "severity", "expected low, medium, high or critical");
	k->severity = (enum kh_severity)rc;
	static const char *const conds[] = {"all", "any", "none"}; /* KH_AUDIT_ALL.. order */
	uint8_t cv;
	if ((rc = one_of(c, "condition", cond ? cond : "all", conds, &cv)) < 0)
		return rc;
	k->condition = cv;
	if ((v = cJSON_GetObjectItemCaseSensitive(o, "na_if_missing"))) {
		if (!cJSON_IsBool(v))
			return bad(c, "na_if_missing", "expected true or false");
		k->na_if_missing = cJSON_IsTrue(v);
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(o, "refs"))) {
		if ((rc = str_array(c, v, "refs", KH_AUDIT_MAX_REFS, 128, &k->refs)) < 0)
			return rc;
	}
	v = cJSON_GetObjectItemCaseSensitive(o, "rules");
	if (!(k->rules = items(c, v, "rules", KH_AUDIT_MAX_RULES, sizeof(*k->rules), &rc)))
		return rc;
	cJSON_ArrayForEach (e, v) {
		snprintf(c->path + plen, sizeof(c->path) - plen, ".rules[%d]", i++);
		k->nrules++;
		if ((rc = parse_rule(c, e, &k->rules[k->nrules - 1])) < 0)
			return rc;
	}
	c->path[plen] = 0;
	return 0;
}

static void json_position(const char *text, const char *at, char *err, size_t errlen)
{
	int line = 1, col = 1;

	for (const char *s = text; at && s < at; s++) {
		if (*s == '\n') {
			line++;
			col = 1;
		} else {
			col++;
		}
	}
	snprintf(err, errlen, "line %d, column %d: not valid JSON", line, col);
}

static int parse_policy(struct pctx *c, const cJSON *j, struct kh_audit_policy *p)
{
	static const char *const top[] = {"policy", "defaults", "checks", NULL};
	static const char *const pkeys[] = {"id", "version", "title", NULL};
	static const char *const dkeys[] = {"passwords", NULL};
	const cJSON *pol, *def, *checks, *e;
	int rc, i = 0;

	if (!cJSON_IsObject(j))
		return bad(c, NULL, "expected an object with policy, defaults and checks");
	if ((rc = only_keys(c, j, top)) < 0)
		return rc;
	pol = cJSON_GetObjectItemCaseSensitive(j, "policy");
	if (!cJSON_IsObject(pol))
		return bad(c, "policy", "expected {\"id\": ..., \"version\": N, \"title\": ...}");
	snprintf(c->path, sizeof(c->path), "policy");
	if ((rc = only_keys(c, pol, pkeys)) < 0 ||
	    (rc = str_member(c, pol, "id", KH_AUDIT_MAX_ID, 1, &p->id)) < 0 ||
	    (rc = str_member(c, pol, "title", 256, 0, &p->title)) < 0)
		return rc;
	if (!kh_audit_id_ok(p->id))
		return bad(c, "id", "expected lower-case letters, digits, '-', '_' and '.'");
	if (kh_json_uint(cJSON_GetObjectItemCaseSensitive(pol, "version"), 1, UINT32_MAX,
			 &p->version) < 0)
		return bad(c, "version", "expected a whole number from 1 to 4294967295");
	c->path[0] = 0;
	if ((def = cJSON_GetObjectItemCaseSensitive(j, "defaults"))) {
		const cJSON *pw = cJSON_GetObjectItemCaseSensitive(def, "passwords");
		snprintf(c->path, sizeof(c->path), "defaults");
		if (!cJSON_IsObject(def))
			return bad(c, NULL, "expected an object");
		if ((rc = only_keys(c, def, dkeys)) < 0 ||
		    (pw && (rc = str_array(c, pw, "passwords", KH_AUDIT_MAX_LIST, 128,
					   &p->passwords)) < 0))
			return rc;
		c->path[0] = 0;
	}
	checks = cJSON_GetObjectItemCaseSensitive(j, "checks");
	if (!(p->checks = items(c, checks, "checks", KH_AUDIT_MAX_CHECKS, sizeof(*p->checks), &rc)))
		return rc;
	cJSON_ArrayForEach (e, checks) {
		snprintf(c->path, sizeof(c->path), "checks[%d]", i++);
		rc = parse_check(c, p, e, &p->checks[p->nchecks]);
		if (rc < 0)
			return rc;
		p->nchecks++;
	}
	return 0;
}

/* ---- writing the binary form (policy/audit_priv.h) ---- */

struct buf {
	uint8_t *b;
	size_t len, cap;
	int oom;
};

static size_t put(struct buf *b, const void *p, size_t n)
{
	size_t at = b->len;

	if (b->len + n > b->cap) {
		size_t cap = b->cap ? 2 * b->cap : 1024;
		uint8_t *nb;
		while (cap < b->len + n)
			cap *= 2;
		if (!(nb = realloc(b->b, cap))) {
			b->oom = 1;
			return 0;
		}
		b->b = nb;
		b->cap = cap;
	}
	memcpy(b->b + b->len, p, n);
	b->len += n;
	return at;
}

struct enc {
	struct buf str, prog, list, rules, checks;
	unsigned next_where; /* index of the next where rule, after all check rules */
};

/* A string's offset in the table; each distinct string is written once. */
static uint32_t sref(struct enc *e, const char *s)
{
	if (!s || !*s)
		return 0;
	for (size_t o = 1; o < e->str.len; o += strlen((char *)e->str.b + o) + 1)
		if (strcmp((char *)e->str.b + o, s) == 0)
			return (uint32_t)o;
	return (uint32_t)put(&e->str, s, strlen(s) + 1);
}

static void put_str(struct enc *e, uint8_t *at, const char *s)
{
	kh_put_le32(at, sref(e, s));
}

static void put_list(struct enc *e, uint8_t *at, const struct kh_audit_list *l)
{
	kh_put_le16(at, (uint16_t)(e->list.len / 4));
	kh_put_le16(at + 2, (uint16_t)l->n);
	for (int i = 0; i < l->n; i++) {
		uint8_t r[4];
		kh_put_le32(r, sref(e, l->v[i]));
		put(&e->list, r, 4);
	}
}

static void put_prog(struct enc *e, uint8_t *at, const uint8_t *prog)
{
	size_t len;

	if (!prog)
		return;
	len = 4 + 4 * (size_t)kh_le16(prog) + 32 * (size_t)kh_le16(prog + 2);
	kh_put_le32(at, (uint32_t)put(&e->prog, prog, len) + 1);
}

static void put_rule(struct enc *e, const struct kh_audit_rule *r)
{
	uint8_t b[KH_AUDIT_RULE] = {0};

	b[0] = r->kind;
	put_str(e, b + 4, r->subject);
	switch (r->kind) {
	case KH_R_FILE:
		b[1] = r->ftest;
		b[2] = r->exists;
		put_str(e, b + 8, r->owner);
		put_prog(e, b + 32, r->vt.re);
		kh_put_le32(b + 36, r->mode);
		break;
	case KH_R_UCI_ANY:
		put_str(e, b + 12, r->pkg);
		put_str(e, b + 16, r->section);
		kh_put_le16(b + 28, (uint16_t)e->next_where);
		kh_put_le16(b + 30, (uint16_t)r->nwhere);
		e->next_where += (unsigned)r->nwhere;
		break;
	case KH_R_LISTENING:
		b[2] = r->proto_udp;
		b[3] = r->addr;
		kh_put_le32(b + 36, r->port);
		memcpy(b + 44, r->ip, 16);
		break;
	case KH_R_PASSWORD:
		b[1] = r->pw;
		put_list(e, b + 24, &r->passwords);
		break;
	case KH_R_FILES_UNDER:
		b[1] = r->walk_type;
		b[3] = r->max_depth;
		kh_put_le32(b + 36, r->mode);
		kh_put_le32(b + 40, r->max_files);
		put_list(e, b + 24, &r->except);
		put_list(e, b + 28, &r->skip);
		break;
	case KH_R_PROCESS:
		break;
	default: /* uci, sysctl, fact, where: a value test */
		put_str(e, b + 12, r->pkg);
		put_str(e, b + 16, r->section);
		put_str(e, b + 20, r->option);
		b[1] = r->vt.op;
		put_str(e, b + 8, r->vt.value);
		put_list(e, b + 24, &r->vt.in);
		put_prog(e, b + 32, r->vt.re);
	}
	put(&e->rules, b, sizeof(b));
}

static int encode(const struct kh_audit_policy *p, uint8_t **bin, size_t *binlen)
{
	struct enc e = {0};
	uint8_t h[KH_AUDIT_HDR] = {0}, *out;
	unsigned nrules = 0, first = 0;
	int rc = -ENOMEM;

	put(&e.str, "", 1);
	for (int i = 0; i < p->nchecks; i++)
		nrules += (unsigned)p->checks[i].nrules;
	e.next_where = nrules;
	for (int i = 0; i < p->nchecks; i++) {
		const struct kh_audit_check *k = &p->checks[i];
		uint8_t b[KH_AUDIT_CHECK] = {0};
		put_str(&e, b, k->id);
		put_str(&e, b + 4, k->title);
		put_str(&e, b + 8, k->remediation);
		put_list(&e, b + 12, &k->refs);
		kh_put_le16(b + 16, (uint16_t)first);
		kh_put_le16(b + 18, (uint16_t)k->nrules);
		b[20] = (uint8_t)k->severity;
		b[21] = (uint8_t)k->condition;
		b[22] = (uint8_t)k->na_if_missing;
		put(&e.checks, b, sizeof(b));
		for (int r = 0; r < k->nrules; r++)
			put_rule(&e, &k->rules[r]);
		first += (unsigned)k->nrules;
	}
	for (int i = 0; i < p->nchecks; i++)
		for (int r = 0; r < p->checks[i].nrules; r++)
			for (int w = 0; w < p->checks[i].rules[r].nwhere; w++)
				put_rule(&e, &p->checks[i].rules[r].where[w]);
	memcpy(h, KH_AUDIT_MAGIC, 4);
	kh_put_le16(h + 4, KH_AUDIT_VERSION);
	kh_put_le32(h + 12, (uint32_t)p->version);
	put_str(&e, h + 16, p->id);
	put_str(&e, h + 20, p->title);
	put_list(&e, h + 24, &p->passwords);
	kh_put_le16(h + 28, (uint16_t)p->nchecks);
	kh_put_le16(h + 30, (uint16_t)(e.rules.len / KH_AUDIT_RULE));
	kh_put_le16(h + 32, (uint16_t)(e.list.len / 4));
	*binlen = sizeof(h) + e.checks.len + e.rules.len + e.list.len + e.str.len + e.prog.len;
	kh_put_le32(h + 8, (uint32_t)*binlen);
	kh_put_le32(h + 36, (uint32_t)e.str.len);
	kh_put_le32(h + 40, (uint32_t)e.prog.len);
	if (*binlen > KH_AUDIT_MAX_TEXT || e.rules.len / KH_AUDIT_RULE > 0xffff ||
	    e.list.len / 4 > 0xffff)
		rc = -E2BIG;
	else if (!(e.str.oom || e.prog.oom || e.list.oom || e.rules.oom || e.checks.oom) &&
		 (out = malloc(*binlen))) {
		size_t o = 0;
		memcpy(out, h, sizeof(h));
		o += sizeof(h);
		memcpy(out + o, e.checks.b, e.checks.len);
		o += e.checks.len;
		if (e.rules.len)
			memcpy(out + o, e.rules.b, e.rules.len);
		o += e.rules.len;
		if (e.list.len)
			memcpy(out + o, e.list.b, e.list.len);
		o += e.list.len;
		memcpy(out + o, e.str.b, e.str.len);
		o += e.str.len;
		if (e.prog.len)
			memcpy(out + o, e.prog.b, e.prog.len);
		*bin = out;
		rc = 0;
	}
	free(e.str.b);
	free(e.prog.b);
	free(e.list.b);
	free(e.rules.b);
	free(e.checks.b);
	return rc;
}

int kh_audit_compile_json(const char *text, size_t len, uint8_t **bin, size_t *binlen, char *err,
			  size_t errlen)
{
	struct pctx c = {.err = err, .errlen = errlen};
	struct kh_audit_policy p = {0};
	const char *end = NULL;
	cJSON *j;
	int rc;

	*bin = NULL;
	*binlen = 0;
	if (len > KH_AUDIT_MAX_TEXT) {
		snprintf(err, errlen, "larger than %d bytes", KH_AUDIT_MAX_TEXT);
		return -E2BIG;
	}
	j = cJSON_ParseWithLengthOpts(text, len, &end, 0);
	if (!j) {
		json_position(text, end, err, errlen);
		return -EBADMSG;
	}
	rc = parse_policy(&c, j, &p);
	if (rc == 0 && (rc = encode(&p, bin, binlen)) == -E2BIG)
		snprintf(err, errlen,
			 "the compiled rules are larger than the limits of the binary "
			 "form");
	if (rc == -ENOMEM)
		snprintf(err, errlen, "out of memory");
	for (size_t i = 0; i < c.nmem; i++)
		free(c.mem[i]);
	free(c.mem);
	cJSON_Delete(j);
	return rc;
}
