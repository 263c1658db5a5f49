/* SPDX-License-Identifier: MIT */
/*
 * Audit rules: parsing and validation (policy/audit.h), and the canonical
 * form that khien-policy signs into a bundle. The rules come from the ISP,
 * but a device parses them again from the bundle, so every field has a
 * type, a limit and a JSON path in its error; unknown keys are refused
 * (a misspelt "no_line" must not silently become a check that passes).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/hex.h"
#include "lib/ipaddr.h"
#include "lib/jsonnum.h"
#include "policy/audit_priv.h"

struct pctx {
	char *err;
	size_t errlen;
	char path[160];
};

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

/* An array of 1..max strings of at most len bytes each. */
static int str_array(struct pctx *c, const cJSON *v, const char *key, int max, size_t len)
{
	const cJSON *e;
	int n = 0;

	if (!cJSON_IsArray(v))
		return bad(c, key, "expected an array of strings");
	cJSON_ArrayForEach (e, v) {
		if (!cJSON_IsString(e) || strlen(e->valuestring) > len)
			return bad(c, key, "[%d]: expected a string of at most %zu bytes", n, len);
		if (++n > max)
			return bad(c, key, "more than %d values", max);
	}
	return n ? 0 : bad(c, key, "empty array");
}

static int regex(struct pctx *c, const char *key, const char *re, regex_t *out)
{
	char why[128];
	int rc;

	if (strlen(re) > 512)
		return bad(c, key, "regular expression longer than 512 bytes");
	rc = regcomp(out, re, REG_EXTENDED | REG_NOSUB | REG_NEWLINE);
	if (rc) {
		regerror(rc, out, why, sizeof(why));
		return bad(c, key, "bad regular expression (POSIX extended): %s", why);
	}
	return 0;
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
	int found = 0, rc;

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
		rc = str_array(c, v, "in", KH_AUDIT_MAX_LIST, 1024);
		t->in = v;
		return rc;
	case KH_V_MATCHES:
		if (!cJSON_IsString(v))
			return bad(c, "matches", "expected a regular expression (string)");
		rc = regex(c, "matches", v->valuestring, &t->re);
		t->has_re = rc == 0;
		return rc;
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
		rc = regex(c, tests[r->ftest], v->valuestring, &r->vt.re);
		r->vt.has_re = rc == 0;
		return rc;
	}
	return 0;
}

static int name_ok(const char *s, size_t n, int at_ok)
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
	if (l1 >= sizeof(r->pkg) || l2 >= sizeof(r->section) || l3 >= sizeof(r->option) ||
	    !name_ok(a, l1, 0) || !name_ok(d1 + 1, l2, parts == 3) ||
	    (d2 && !name_ok(d2 + 1, l3, 0)))
		goto fail;
	memcpy(r->pkg, a, l1);
	memcpy(r->section, d1 + 1, l2);
	if (d2)
		memcpy(r->option, d2 + 1, l3);
	return 0;
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
	r->where = calloc((size_t)cJSON_GetArraySize(w), sizeof(*r->where));
	if (!r->where)
		return -ENOMEM;
	cJSON_ArrayForEach (e, w) {
		struct kh_audit_where *t = &r->where[r->nwhere++];
		if (!name_ok(e->string, strlen(e->string), 0) || strlen(e->string) > 47)
			return bad(c, "where", "'%s' is not an option name", e->string);
		t->option = e->string;
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
	r->port = (int)port;
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
	if (!name_ok(r->subject, strlen(r->subject), 0) && r->kind != KH_R_SYSCTL)
		return bad(c, what, "expected a name (letters, digits, _ and -)");
	if (r->kind == KH_R_SYSCTL) {
		for (const char *s = r->subject; *s; s++)
			if (!(name_ok(s, 1, 0) || *s == '.') ||
			    (*s == '.' && (s[1] == '.' || s[1] == 0)))
				return bad(c, "sysctl",
					   "expected a key like \"kernel.kptr_restrict\"");
		if (r->subject[0] == '.')
			return bad(c, "sysctl", "expected a key like \"kernel.kptr_restrict\"");
	}
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
	if (strcmp(is, "empty") == 0)
		r->pw = KH_P_EMPTY;
	else if (strcmp(is, "locked") == 0)
		r->pw = KH_P_LOCKED;
	else if (strcmp(is, "default") == 0)
		r->pw = KH_P_DEFAULT;
	else
		return bad(c, "is", "expected \"empty\", \"locked\" or \"default\"");
	if (p && (rc = str_array(c, p, "passwords", KH_AUDIT_MAX_LIST, 128)) < 0)
		return rc;
	r->passwords = p;
	return 0;
}

static int path_array(struct pctx *c, const cJSON *o, const char *key, const cJSON **out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key), *e;
	int rc, i = 0;

	*out = NULL;
	if (!v)
		return 0;
	if ((rc = str_array(c, v, key, KH_AUDIT_MAX_LIST, 512)) < 0)
		return rc;
	cJSON_ArrayForEach (e, v) {
		if (!valid_path(e->valuestring))
			return bad(c, key, "[%d]: expected an absolute path", i);
		i++;
	}
	*out = v;
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
	if (!type || strcmp(type, "file") == 0)
		r->walk_type = KH_T_FILE;
	else if (strcmp(type, "dir") == 0)
		r->walk_type = KH_T_DIR;
	else if (strcmp(type, "any") == 0)
		r->walk_type = KH_T_ANY;
	else
		return bad(c, "type", "expected \"file\", \"dir\" or \"any\"");
	r->max_depth = 8;
	r->max_files = 20000;
	if ((v = cJSON_GetObjectItemCaseSensitive(o, "max_depth"))) {
		if (kh_json_uint(v, 1, 32, &u) < 0)
			return bad(c, "max_depth", "expected a whole number from 1 to 32");
		r->max_depth = (int)u;
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
	if (!cond || strcmp(cond, "all") == 0)
		k->condition = KH_AUDIT_ALL;
	else if (strcmp(cond, "any") == 0)
		k->condition = KH_AUDIT_ANY;
	else if (strcmp(cond, "none") == 0)
		k->condition = KH_AUDIT_NONE;
	else
		return bad(c, "condition", "expected \"all\", \"any\" or \"none\"");
	if ((v = cJSON_GetObjectItemCaseSensitive(o, "na_if_missing"))) {
		if (!cJSON_IsBool(v))
			return bad(c, "na_if_missing", "expected true or false");
		k->na_if_missing = cJSON_IsTrue(v);
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(o, "refs"))) {
		if ((rc = str_array(c, v, "refs", 16, 128)) < 0)
			return rc;
		cJSON_ArrayForEach (e, v)
			k->refs[k->nrefs++] = e->valuestring;
	}
	v = cJSON_GetObjectItemCaseSensitive(o, "rules");
	if (!cJSON_IsArray(v) || !v->child)
		return bad(c, "rules", "expected a non-empty array of rules");
	if (cJSON_GetArraySize(v) > KH_AUDIT_MAX_RULES)
		return bad(c, "rules", "more than %d rules", KH_AUDIT_MAX_RULES);
	k->rules = calloc((size_t)cJSON_GetArraySize(v), sizeof(*k->rules));
	if (!k->rules)
		return -ENOMEM;
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

int kh_audit_parse(const char *text, size_t len, struct kh_audit_policy **out, char *err,
		   size_t errlen)
{
	static const char *const top[] = {"policy", "defaults", "checks", NULL};
	static const char *const pkeys[] = {"id", "version", "title", NULL};
	static const char *const dkeys[] = {"passwords", NULL};
	struct pctx c = {.err = err, .errlen = errlen};
	struct kh_audit_policy *p;
	const cJSON *pol, *def, *checks, *e;
	const char *end = NULL;
	cJSON *j;
	int rc, i = 0;

	*out = NULL;
	if (len > KH_AUDIT_MAX_TEXT) {
		snprintf(err, errlen, "larger than %d bytes", KH_AUDIT_MAX_TEXT);
		return -E2BIG;
	}
	j = cJSON_ParseWithLengthOpts(text, len, &end, 0);
	if (!j) {
		json_position(text, end, err, errlen);
		return -EBADMSG;
	}
	p = calloc(1, sizeof(*p));
	if (!p) {
		cJSON_Delete(j);
		return -ENOMEM;
	}
	p->json = j;
	rc = -EBADMSG;
	if (!cJSON_IsObject(j)) {
		bad(&c, NULL, "expected an object with policy, defaults and checks");
		goto fail;
	}
	if ((rc = only_keys(&c, j, top)) < 0)
		goto fail;
	pol = cJSON_GetObjectItemCaseSensitive(j, "policy");
	if (!cJSON_IsObject(pol)) {
		rc = bad(&c, "policy", "expected {\"id\": ..., \"version\": N, \"title\": ...}");
		goto fail;
	}
	snprintf(c.path, sizeof(c.path), "policy");
	if ((rc = only_keys(&c, pol, pkeys)) < 0 ||
	    (rc = str_member(&c, pol, "id", KH_AUDIT_MAX_ID, 1, &p->id)) < 0 ||
	    (rc = str_member(&c, pol, "title", 256, 0, &p->title)) < 0)
		goto fail;
	if (!kh_audit_id_ok(p->id)) {
		rc = bad(&c, "id", "expected lower-case letters, digits, '-', '_' and '.'");
		goto fail;
	}
	if (kh_json_uint(cJSON_GetObjectItemCaseSensitive(pol, "version"), 1, UINT32_MAX,
			 &p->version) < 0) {
		rc = bad(&c, "version", "expected a whole number from 1 to 4294967295");
		goto fail;
	}
	c.path[0] = 0;
	if ((def = cJSON_GetObjectItemCaseSensitive(j, "defaults"))) {
		const cJSON *pw = cJSON_GetObjectItemCaseSensitive(def, "passwords");
		snprintf(c.path, sizeof(c.path), "defaults");
		if (!cJSON_IsObject(def)) {
			rc = bad(&c, NULL, "expected an object");
			goto fail;
		}
		if ((rc = only_keys(&c, def, dkeys)) < 0 ||
		    (pw && (rc = str_array(&c, pw, "passwords", KH_AUDIT_MAX_LIST, 128)) < 0))
			goto fail;
		p->passwords = pw;
		c.path[0] = 0;
	}
	checks = cJSON_GetObjectItemCaseSensitive(j, "checks");
	if (!cJSON_IsArray(checks) || !checks->child) {
		rc = bad(&c, "checks", "expected a non-empty array of checks");
		goto fail;
	}
	if (cJSON_GetArraySize(checks) > KH_AUDIT_MAX_CHECKS) {
		rc = bad(&c, "checks", "more than %d checks", KH_AUDIT_MAX_CHECKS);
		goto fail;
	}
	p->checks = calloc((size_t)cJSON_GetArraySize(checks), sizeof(*p->checks));
	if (!p->checks) {
		rc = -ENOMEM;
		goto fail;
	}
	cJSON_ArrayForEach (e, checks) {
		snprintf(c.path, sizeof(c.path), "checks[%d]", i++);
		rc = parse_check(&c, p, e, &p->checks[p->nchecks]);
		p->nchecks++; /* counted even when it failed: its rules are freed */
		if (rc < 0)
			goto fail;
	}
	*out = p;
	return 0;
fail:
	if (rc == -ENOMEM)
		snprintf(err, errlen, "out of memory");
	kh_audit_free(p);
	return rc;
}

static void vtest_free(struct kh_audit_vtest *t)
{
	if (t->has_re)
		regfree(&t->re);
	t->has_re = 0;
}

void kh_audit_free(struct kh_audit_policy *p)
{
	if (!p)
		return;
	for (int i = 0; i < p->nchecks; i++) {
		struct kh_audit_check *k = &p->checks[i];
		for (int r = 0; r < k->nrules; r++) {
			vtest_free(&k->rules[r].vt);
			for (int w = 0; w < k->rules[r].nwhere; w++)
				vtest_free(&k->rules[r].where[w].vt);
			free(k->rules[r].where);
		}
		free(k->rules);
	}
	free(p->checks);
	cJSON_Delete(p->json);
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
