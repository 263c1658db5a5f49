/* SPDX-License-Identifier: MIT */
/*
 * Home-user profiles: parsing with limits, the ISP/local merge, client
 * matching, the per-index category masks and the per-query decision (see
 * profile.h and docs/PROFILES.md). Pure: the neighbour table and the clock
 * are the caller's.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "agent/config.h"
#include "agent/profile.h"
#include "lib/ipaddr.h"
#include "lib/str.h"
#include "policy/name.h"
#include "policy/uci.h"

struct pctx {
	char path[160];
	char *why;
	size_t whylen;
	int isp;
};

static int pfail(struct pctx *x, const char *fmt, ...) KH_PRINTF(2, 3);

static int pfail(struct pctx *x, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(x->why, x->whylen, "%s: ", x->path);

	va_start(ap, fmt);
	if (n >= 0 && (size_t)n < x->whylen)
		vsnprintf(x->why + n, x->whylen - (size_t)n, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static size_t penter(struct pctx *x, const char *key, int index)
{
	size_t n = strlen(x->path);

	if (key)
		snprintf(x->path + n, sizeof(x->path) - n, ".%s", key);
	else
		snprintf(x->path + n, sizeof(x->path) - n, "[%d]", index);
	return n;
}

static void pleave(struct pctx *x, size_t n)
{
	x->path[n] = 0;
}

void kh_profiles_init(struct kh_profiles *t)
{
	memset(t, 0, sizeof(*t));
}

static int cat_id(struct kh_profiles *t, const char *name)
{
	for (unsigned i = 0; i < t->ncat; i++)
		if (strcmp(t->cat[i], name) == 0)
			return (int)i;
	if (t->ncat >= KH_PROF_CATNAMES || strlen(name) > KH_PROF_CAT_NAME_MAX)
		return -1;
	kh_strlcpy(t->cat[t->ncat], name, sizeof(t->cat[0]));
	return (int)t->ncat++;
}

/* A name into the pool and the name table: 0, or -1 when full. */
static int name_add(struct kh_profiles *t, const char *canon, size_t len)
{
	if (t->nname >= KH_PROF_MAX_NAMES || t->pool_len + len > sizeof(t->pool) || len > 255)
		return -1;
	memcpy(t->pool + t->pool_len, canon, len);
	t->name[t->nname++] = (struct kh_prof_name){(uint16_t)t->pool_len, (uint8_t)len};
	t->pool_len += len;
	return 0;
}

static int parse_names(struct pctx *x, struct kh_profiles *t, const cJSON *v,
		       struct kh_prof_names *out)
{
	const cJSON *e;
	int i = 0;

	if (!cJSON_IsArray(v))
		return pfail(x, "expected an array of domain names");
	if (cJSON_GetArraySize(v) > KH_PROF_LIST_MAX)
		return pfail(x, "at most %d names", KH_PROF_LIST_MAX);
	out->first = (uint16_t)t->nname;
	out->n = 0;
	cJSON_ArrayForEach (e, v) {
		size_t save = penter(x, NULL, i++), n;
		char canon[KH_NAME_MAX + 1];
		if (!cJSON_IsString(e) || kh_name_canon(e->valuestring, strlen(e->valuestring),
							canon, &n, NULL) != KH_NAME_OK)
			return pfail(x, "not a domain name");
		if (name_add(t, canon, n) < 0)
			return pfail(x,
				     "too many names in all profiles (CONFIG_PROFILES_MAX_NAMES, "
				     "CONFIG_PROFILES_NAME_POOL_KB)");
		out->n++;
		pleave(x, save);
	}
	return 0;
}

/* Category names into ids; cats/ncat receive them. */
static int parse_cats(struct pctx *x, struct kh_profiles *t, const cJSON *v, uint8_t *ids,
		      unsigned *n)
{
	const cJSON *e;
	int i = 0;

	if (!cJSON_IsArray(v))
		return pfail(x, "expected an array of category names");
	if (cJSON_GetArraySize(v) > KH_PROF_MAX_CATS)
		return pfail(x, "at most %d categories", KH_PROF_MAX_CATS);
	*n = 0;
	cJSON_ArrayForEach (e, v) {
		size_t save = penter(x, NULL, i++);
		int id;
		if (!cJSON_IsString(e) || !e->valuestring[0])
			return pfail(x, "expected a category name");
		if (strlen(e->valuestring) > KH_PROF_CAT_NAME_MAX)
			return pfail(x, "category name longer than %d characters",
				     KH_PROF_CAT_NAME_MAX);
		if ((id = cat_id(t, e->valuestring)) < 0)
			return pfail(x, "more than %d distinct categories in all profiles",
				     KH_PROF_CATNAMES);
		ids[(*n)++] = (uint8_t)id;
		pleave(x, save);
	}
	return 0;
}

static int mac_parse(const char *s, uint8_t mac[6])
{
	static const char hex[] = "0123456789abcdef";

	if (strlen(s) != 17)
		return -1;
	for (int i = 0; i < 6; i++) {
		const char *h, *l;
		int c1 = s[3 * i] | 0x20, c2 = s[3 * i + 1] | 0x20;
		if (i < 5 && s[3 * i + 2] != ':' && s[3 * i + 2] != '-')
			return -1;
		h = strchr(hex, c1);
		l = strchr(hex, c2);
		if (!c1 || !c2 || !h || !l || !*h || !*l)
			return -1;
		mac[i] = (uint8_t)((h - hex) << 4 | (l - hex));
	}
	return 0;
}

static int client_same(const struct kh_prof_client *a, const struct kh_prof_client *b)
{
	if (a->kind != b->kind)
		return 0;
	if (a->kind == KH_PROF_BY_MAC)
		return memcmp(a->mac, b->mac, 6) == 0;
	return a->bits == b->bits && a->net.family == b->net.family &&
	       memcmp(a->net.ip, b->net.ip, 16) == 0;
}

/* A client entry into the table for profile prof: 0, -1 malformed, -2 full, -3 twice. */
static int client_add(struct kh_profiles *t, const struct kh_prof_client *c, unsigned *other)
{
	for (unsigned i = 0; i < t->nclient; i++)
		if (client_same(&t->client[i], c)) {
			*other = t->client[i].profile;
			return -3;
		}
	if (t->nclient >= KH_PROF_MAX_CLIENTS)
		return -2;
	t->client[t->nclient++] = *c;
	return 0;
}

static const char bad_client[] = "not a MAC, IP or CIDR (aa:bb:cc:dd:ee:ff, 198.18.5.7, "
				 "198.18.6.0/24 with no host bits)";

/* A MAC, IP or CIDR into c (kind, mac or net and bits): 0 or -1. */
static int client_parse(const char *s, struct kh_prof_client *c)
{
	struct kh_cidr net;

	if (mac_parse(s, c->mac) == 0) {
		c->kind = KH_PROF_BY_MAC;
		return 0;
	}
	if (kh_cidr_parse(s, &net) < 0)
		return -1;
	c->kind = KH_PROF_BY_NET;
	c->net = net.net;
	c->net.port = 0;
	c->bits = net.bits;
	return 0;
}

static int parse_clients(struct pctx *x, struct kh_profiles *t, const cJSON *v, unsigned prof)
{
	const cJSON *e;
	int i = 0;
	unsigned w = 0;

	if (!cJSON_IsArray(v))
		return pfail(x, "expected an array of MAC addresses, IPs or CIDRs");
	if (cJSON_GetArraySize(v) > KH_PROF_MAX_CLIENTS)
		return pfail(x, "at most %d clients", KH_PROF_MAX_CLIENTS);
	/* an update replaces the profile's clients */
	for (unsigned k = 0; k < t->nclient; k++)
		if (t->client[k].profile != prof)
			t->client[w++] = t->client[k];
	t->nclient = w;
	cJSON_ArrayForEach (e, v) {
		size_t save = penter(x, NULL, i++);
		struct kh_prof_client c = {.profile = (uint8_t)prof};
		unsigned other = 0;
		int rc;
		if (!cJSON_IsString(e) || client_parse(e->valuestring, &c) < 0)
			return pfail(x, "%s", bad_client);
		rc = client_add(t, &c, &other);
		if (rc == -2)
			return pfail(x, "too many clients in all profiles "
					"(CONFIG_PROFILES_MAX_CLIENTS)");
		if (rc == -3)
			return pfail(x, "already a client of profile '%s'", t->prof[other].name);
		pleave(x, save);
	}
	return 0;
}

static int parse_hhmm(const char *s, unsigned max, uint16_t *out)
{
	unsigned h, m;
	char tail;

	if (strlen(s) != 5 || sscanf(s, "%2u:%2u%c", &h, &m, &tail) != 2 || s[2] != ':' || m > 59 ||
	    h * 60 + m > max)
		return -1;
	*out = (uint16_t)(h * 60 + m);
	return 0;
}

static int parse_days(struct pctx *x, const cJSON *v, uint8_t *days)
{
	static const char *const names[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};
	const cJSON *e;
	int i = 0;

	if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) > 7 || cJSON_GetArraySize(v) == 0)
		return pfail(x, "expected an array of 1 to 7 of mon, tue, wed, thu, fri, sat, sun");
	*days = 0;
	cJSON_ArrayForEach (e, v) {
		size_t save = penter(x, NULL, i++);
		unsigned d = 0;
		while (d < 7 && (!cJSON_IsString(e) || strcmp(e->valuestring, names[d]) != 0))
			d++;
		if (d == 7)
			return pfail(x, "expected mon, tue, wed, thu, fri, sat or sun");
		*days |= (uint8_t)(1u << d);
		pleave(x, save);
	}
	return 0;
}

static int parse_sched(struct pctx *x, struct kh_profiles *t, const cJSON *v,
		       struct kh_prof_sched *s)
{
	const cJSON *f;
	int have_from = 0, have_to = 0;

	memset(s, 0, sizeof(*s));
	s->days = 0x7f;
	s->isp = (uint8_t)x->isp;
	if (!cJSON_IsObject(v))
		return pfail(x, "expected {\"days\", \"from\", \"to\", \"block_all_except\" or "
				"\"block\"}");
	cJSON_ArrayForEach (f, v) {
		size_t save = penter(x, f->string, -1);
		int rc = 0;
		if (strcmp(f->string, "days") == 0)
			rc = parse_days(x, f, &s->days);
		else if (strcmp(f->string, "from") == 0 || strcmp(f->string, "to") == 0) {
			int to = f->string[0] == 't';
			if (!cJSON_IsString(f) ||
			    parse_hhmm(f->valuestring, to ? 1440 : 1439, to ? &s->to : &s->from))
				rc = pfail(x, "expected HH:MM (00:00 to %s)",
					   to ? "24:00" : "23:59");
			have_from |= !to;
			have_to |= to;
		} else if (strcmp(f->string, "block_all_except") == 0) {
			s->all_except = 1;
			rc = parse_names(x, t, f, &s->except);
		} else if (strcmp(f->string, "block_all") == 0) {
			/* block_all_except with nothing excepted (UCI has no empty list) */
			if (!cJSON_IsBool(f))
				rc = pfail(x, "expected true or false");
			else if (cJSON_IsTrue(f))
				s->all_except = 1;
		} else if (strcmp(f->string, "block") == 0) {
			unsigned n;
			rc = parse_cats(x, t, f, s->cats, &n);
			s->ncats = (uint8_t)n;
		} else
			rc = pfail(x, "unknown key");
		if (rc)
			return rc;
		pleave(x, save);
	}
	if (!have_from || !have_to)
		return pfail(x, "a schedule needs \"from\" and \"to\" (HH:MM, local time)");
	if (!s->all_except && !s->ncats)
		return pfail(x, "a schedule needs \"block_all_except\" or \"block\"");
	if (s->to == 1440 && s->from == 0)
		s->to = 0; /* the whole day */
	return 0;
}

static int prof_find(const struct kh_profiles *t, const char *name)
{
	for (unsigned i = 0; i < t->nprof; i++)
		if (strcmp(t->prof[i].name, name) == 0)
			return (int)i;
	return -1;
}

/* A profile name is a UCI section name too (config profile 'NAME'), and short. */
static int prof_name_ok(const char *s)
{
	return strlen(s) <= KH_PROF_NAME_MAX && kh_uci_name_ok(s);
}

static int parse_profile(struct pctx *x, struct kh_profiles *t, const cJSON *v)
{
	struct kh_prof *p;
	const cJSON *f;
	int idx = prof_find(t, v->string), child_set = 0;

	if (!prof_name_ok(v->string))
		return pfail(x, "a profile name is 1 to %d letters, digits, '_' or '-'",
			     KH_PROF_NAME_MAX);
	if (!cJSON_IsObject(v))
		return pfail(x, "expected an object with clients, block, allow_names, "
				"block_names, safe_search, schedules");
	if (idx < 0) {
		if (t->nprof >= KH_PROF_MAX)
			return pfail(x, "more than %d profiles (CONFIG_PROFILES_MAX)", KH_PROF_MAX);
		idx = (int)t->nprof++;
		p = &t->prof[idx];
		memset(p, 0, sizeof(*p));
		kh_strlcpy(p->name, v->string, sizeof(p->name));
		/* the profile called "child" is a child profile unless it says otherwise */
		p->child = strcmp(p->name, "child") == 0;
	}
	p = &t->prof[idx];
	cJSON_ArrayForEach (f, v) {
		size_t save = penter(x, f->string, -1);
		const char *k = f->string;
		int rc = 0, b;
		if (strcmp(k, "clients") == 0)
			rc = parse_clients(x, t, f, (unsigned)idx);
		else if (strcmp(k, "block") == 0) {
			uint8_t ids[KH_PROF_MAX_CATS];
			unsigned n, w = 0;
			if (!(rc = parse_cats(x, t, f, ids, &n))) {
				for (unsigned i = 0; i < p->ncats; i++) /* replaces its own kind */
					if (p->cats[i].isp != x->isp)
						p->cats[w++] = p->cats[i];
				for (unsigned i = 0; i < n && w < KH_ARRAY_SIZE(p->cats); i++)
					p->cats[w++] =
						(struct kh_prof_cat){ids[i], (uint8_t)x->isp};
				p->ncats = (uint8_t)w;
			}
		} else if (strcmp(k, "allow_names") == 0)
			rc = parse_names(x, t, f, &p->allow);
		else if (strcmp(k, "block_names") == 0)
			rc = parse_names(x, t, f, x->isp ? &p->isp_block : &p->block);
		else if (strcmp(k, "safe_search") == 0 || strcmp(k, "child") == 0) {
			if (!cJSON_IsBool(f))
				rc = pfail(x, "expected true or false");
			b = cJSON_IsTrue(f);
			if (k[0] == 's')
				p->safe_search = (uint8_t)b;
			else {
				p->child = (uint8_t)b;
				child_set = 1;
			}
		} else if (strcmp(k, "schedules") == 0) {
			const cJSON *e;
			int i = 0;
			if (!cJSON_IsArray(f))
				rc = pfail(x, "expected an array of schedules");
			else if (p->nsched + cJSON_GetArraySize(f) > KH_PROF_MAX_SCHED)
				rc = pfail(x, "at most %d schedules per profile",
					   KH_PROF_MAX_SCHED);
			cJSON_ArrayForEach (e, f) {
				size_t s2 = penter(x, NULL, i++);
				if (rc || (rc = parse_sched(x, t, e, &p->sched[p->nsched])))
					break;
				p->nsched++;
				pleave(x, s2);
			}
		} else
			rc = pfail(x, "unknown key");
		if (rc)
			return rc;
		pleave(x, save);
	}
	(void)child_set;
	return 0;
}

int kh_profiles_parse(struct kh_profiles *t, const cJSON *v, const char *path, int isp, char *why,
		      size_t whylen)
{
	struct pctx x = {.why = why, .whylen = whylen, .isp = isp};
	const cJSON *e;

	kh_strlcpy(x.path, path, sizeof(x.path));
	if (!IS_ENABLED(CONFIG_PROFILES))
		return pfail(&x, "this khiend is built without profiles (CONFIG_PROFILES)");
	if (!cJSON_IsObject(v))
		return pfail(&x, "expected an object of profiles by name");
	cJSON_ArrayForEach (e, v) {
		size_t save = penter(&x, e->string, -1);
		if (parse_profile(&x, t, e))
			return -EINVAL;
		pleave(&x, save);
	}
	return 0;
}

/* ---------------------------------------------------------------- merge */

static int copy_names(struct kh_profiles *dst, const struct kh_profiles *src,
		      const struct kh_prof_names *from, struct kh_prof_names *to)
{
	to->first = (uint16_t)dst->nname;
	to->n = 0;
	for (unsigned i = 0; i < from->n; i++) {
		const struct kh_prof_name *nm = &src->name[from->first + i];
		if (name_add(dst, src->pool + nm->off, nm->len) < 0)
			return -1;
		to->n++;
	}
	return 0;
}

/* Extend a name range with more (copied to the end so the range stays contiguous). */
static int extend_names(struct kh_profiles *dst, const struct kh_profiles *src,
			struct kh_prof_names *have, const struct kh_prof_names *more)
{
	struct kh_prof_names old = *have, tmp;

	if (!more->n)
		return 0;
	if (copy_names(dst, dst, &old, have) < 0 || copy_names(dst, src, more, &tmp) < 0)
		return -1;
	have->n = (uint16_t)(have->n + tmp.n);
	return 0;
}

static int cat_remap(struct kh_profiles *dst, const struct kh_profiles *src, unsigned id)
{
	return cat_id(dst, src->cat[id]);
}

int kh_profiles_merge(struct kh_profiles *dst, const struct kh_profiles *isp, char *why,
		      size_t whylen)
{
	for (unsigned i = 0; i < isp->nprof; i++) {
		const struct kh_prof *s = &isp->prof[i];
		int idx = prof_find(dst, s->name);
		struct kh_prof *p;
		if (idx < 0) {
			if (dst->nprof >= KH_PROF_MAX)
				goto full;
			idx = (int)dst->nprof++;
			p = &dst->prof[idx];
			memset(p, 0, sizeof(*p));
			kh_strlcpy(p->name, s->name, sizeof(p->name));
		}
		p = &dst->prof[idx];
		p->safe_search |= s->safe_search;
		p->child |= s->child;
		for (unsigned c = 0; c < s->ncats; c++) {
			int id = cat_remap(dst, isp, s->cats[c].id);
			if (id < 0 || p->ncats >= KH_ARRAY_SIZE(p->cats))
				goto full;
			p->cats[p->ncats++] = (struct kh_prof_cat){(uint8_t)id, 1};
		}
		if (extend_names(dst, isp, &p->isp_block, &s->isp_block) < 0 ||
		    extend_names(dst, isp, &p->isp_block, &s->block) < 0 ||
		    extend_names(dst, isp, &p->allow, &s->allow) < 0)
			goto full;
		for (unsigned k = 0; k < s->nsched; k++) {
			struct kh_prof_sched *d;
			if (p->nsched >= KH_PROF_MAX_SCHED)
				goto full;
			d = &p->sched[p->nsched++];
			*d = s->sched[k];
			for (unsigned c = 0; c < d->ncats; c++) {
				int id = cat_remap(dst, isp, s->sched[k].cats[c]);
				if (id < 0)
					goto full;
				d->cats[c] = (uint8_t)id;
			}
			if (copy_names(dst, isp, &s->sched[k].except, &d->except) < 0)
				goto full;
		}
		for (unsigned c = 0; c < isp->nclient; c++) {
			struct kh_prof_client cl = isp->client[c];
			unsigned other;
			if (cl.profile != i)
				continue;
			cl.profile = (uint8_t)idx;
			if (client_add(dst, &cl, &other) == -2)
				goto full;
			/* a device the household put elsewhere stays there */
		}
	}
	return 0;
full:
	snprintf(why, whylen,
		 "the ISP's profiles and the local ones together exceed the limits "
		 "(CONFIG_PROFILES_MAX, _MAX_CLIENTS, _MAX_NAMES)");
	return -E2BIG;
}

/* ---------------------------------------------------------------- owner */

int kh_profiles_owner(struct kh_profiles *t, const cJSON *doc, char *why, size_t whylen)
{
	struct pctx x = {.why = why, .whylen = whylen};
	const cJSON *f, *profs, *clients;
	int err;

	if (!cJSON_IsObject(doc))
		return pfail(&x, "expected {\"profiles\": {...}, \"clients\": {...}}");
	cJSON_ArrayForEach (f, doc)
		if (strcmp(f->string, "profiles") != 0 && strcmp(f->string, "clients") != 0) {
			kh_strlcpy(x.path, f->string, sizeof(x.path));
			return pfail(&x, "unknown key");
		}
	profs = cJSON_GetObjectItemCaseSensitive(doc, "profiles");
	clients = cJSON_GetObjectItemCaseSensitive(doc, "clients");
	if (profs) {
		kh_strlcpy(x.path, "profiles", sizeof(x.path));
		if (!cJSON_IsObject(profs))
			return pfail(&x, "expected an object of profiles");
		cJSON_ArrayForEach (f, profs) {
			const cJSON *k;
			size_t save = penter(&x, f->string, -1);
			if (prof_find(t, f->string) < 0)
				return pfail(&x, "no such profile in the configuration");
			if (!cJSON_IsObject(f))
				return pfail(&x, "expected an object");
			cJSON_ArrayForEach (k, f)
				if (strcmp(k->string, "safe_search") &&
				    strcmp(k->string, "child") && strcmp(k->string, "block") &&
				    strcmp(k->string, "allow_names") &&
				    strcmp(k->string, "block_names")) {
					penter(&x, k->string, -1);
					return pfail(&x,
						     "the owner sets safe_search, child, block, "
						     "allow_names and block_names only");
				}
			pleave(&x, save);
		}
		if ((err = kh_profiles_parse(t, profs, "profiles", 0, why, whylen)) < 0)
			return err;
	}
	if (clients) {
		kh_strlcpy(x.path, "clients", sizeof(x.path));
		if (!cJSON_IsObject(clients) || cJSON_GetArraySize(clients) > KH_PROF_MAX_CLIENTS)
			return pfail(&x, "expected an object of at most %d \"ADDR\": \"PROFILE\"",
				     KH_PROF_MAX_CLIENTS);
		cJSON_ArrayForEach (f, clients) {
			struct kh_prof_client c = {0};
			unsigned w = 0, other = 0;
			int idx = -1;
			size_t save = penter(&x, f->string, -1);
			if (client_parse(f->string, &c) < 0)
				return pfail(&x, "%s", bad_client);
			if (!cJSON_IsString(f) ||
			    (f->valuestring[0] && (idx = prof_find(t, f->valuestring)) < 0))
				return pfail(&x, "expected the name of a profile of the "
						 "configuration, or \"\" for none");
			for (unsigned k = 0; k < t->nclient; k++) /* out of its old profile */
				if (!client_same(&t->client[k], &c))
					t->client[w++] = t->client[k];
			t->nclient = w;
			c.profile = (uint8_t)(idx < 0 ? 0 : idx);
			if (idx >= 0 && client_add(t, &c, &other) < 0)
				return pfail(&x, "too many clients in all profiles "
						 "(CONFIG_PROFILES_MAX_CLIENTS)");
			pleave(&x, save);
		}
	}
	return 0;
}

/* ---------------------------------------------------------------- print */

static void print_names(const struct kh_profiles *t, cJSON *o, const char *key,
			const struct kh_prof_names *r)
{
	cJSON *arr;

	if (!r->n)
		return;
	arr = cJSON_AddArrayToObject(o, key);
	for (unsigned i = 0; arr && i < r->n; i++) {
		const struct kh_prof_name *n = &t->name[r->first + i];
		char buf[256];
		snprintf(buf, sizeof(buf), "%.*s", n->len, t->pool + n->off);
		cJSON_AddItemToArray(arr, cJSON_CreateString(buf));
	}
}

static void hhmm(char *buf, size_t cap, unsigned m)
{
	snprintf(buf, cap, "%02u:%02u", m / 60 % 100, m % 60);
}

void kh_profiles_print(const struct kh_profiles *t, cJSON *out)
{
	static const char *const days[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

	for (unsigned i = 0; i < t->nprof; i++) {
		const struct kh_prof *p = &t->prof[i];
		cJSON *o = cJSON_AddObjectToObject(out, p->name), *arr;
		char buf[64];
		if (!o)
			return;
		arr = cJSON_AddArrayToObject(o, "clients");
		for (unsigned c = 0; arr && c < t->nclient; c++) {
			const struct kh_prof_client *cl = &t->client[c];
			if (cl->profile != i)
				continue;
			if (cl->kind == KH_PROF_BY_MAC) {
				snprintf(buf, sizeof(buf), "%02x:%02x:%02x:%02x:%02x:%02x",
					 cl->mac[0], cl->mac[1], cl->mac[2], cl->mac[3], cl->mac[4],
					 cl->mac[5]);
			} else {
				char ip[KH_ADDR_STRLEN];
				int v6 = cl->net.family == KH_AF_INET6;
				kh_ip_format(cl->net.ip, v6, ip, sizeof(ip));
				if (cl->bits == (v6 ? 128 : 32))
					snprintf(buf, sizeof(buf), "%s", ip);
				else
					snprintf(buf, sizeof(buf), "%s/%u", ip, cl->bits);
			}
			cJSON_AddItemToArray(arr, cJSON_CreateString(buf));
		}
		if (p->ncats) {
			arr = cJSON_AddArrayToObject(o, "block");
			for (unsigned c = 0; arr && c < p->ncats; c++)
				if (!p->cats[c].isp)
					cJSON_AddItemToArray(
						arr, cJSON_CreateString(t->cat[p->cats[c].id]));
		}
		print_names(t, o, "allow_names", &p->allow);
		print_names(t, o, "block_names", &p->block);
		cJSON_AddBoolToObject(o, "safe_search", p->safe_search);
		cJSON_AddBoolToObject(o, "child", p->child);
		if (!p->nsched)
			continue;
		arr = cJSON_AddArrayToObject(o, "schedules");
		for (unsigned k = 0; arr && k < p->nsched; k++) {
			const struct kh_prof_sched *s = &p->sched[k];
			cJSON *so = cJSON_CreateObject(), *d;
			if (!so || !cJSON_AddItemToArray(arr, so))
				break;
			d = cJSON_AddArrayToObject(so, "days");
			for (unsigned w = 0; d && w < 7; w++)
				if (s->days & (1u << w))
					cJSON_AddItemToArray(d, cJSON_CreateString(days[w]));
			hhmm(buf, sizeof(buf), s->from);
			cJSON_AddStringToObject(so, "from", buf);
			hhmm(buf, sizeof(buf), s->to == 0 && s->from == 0 ? 1440 : s->to);
			cJSON_AddStringToObject(so, "to", buf);
			if (s->all_except) {
				print_names(t, so, "block_all_except", &s->except);
				if (!s->except.n)
					cJSON_AddArrayToObject(so, "block_all_except");
			}
			if (s->ncats) {
				d = cJSON_AddArrayToObject(so, "block");
				for (unsigned c = 0; d && c < s->ncats; c++)
					cJSON_AddItemToArray(
						d, cJSON_CreateString(t->cat[s->cats[c]]));
			}
		}
	}
}

/* ---------------------------------------------------------------- matching */

int kh_profile_find(const struct kh_profiles *t, const struct kh_addr *ip, const uint8_t *mac)
{
	int best = -1, best_bits = -1;

	for (unsigned i = 0; i < t->nclient; i++) {
		const struct kh_prof_client *c = &t->client[i];
		if (c->kind == KH_PROF_BY_MAC) {
			if (mac && memcmp(mac, c->mac, 6) == 0)
				return c->profile; /* a MAC names the device itself */
			continue;
		}
		if ((int)c->bits > best_bits) {
			struct kh_cidr net = {c->net, c->bits};
			if (kh_cidr_match(&net, ip)) {
				best = c->profile;
				best_bits = c->bits;
			}
		}
	}
	return best;
}

static void bit_set(uint64_t *m, unsigned id)
{
	m[id / 64] |= 1ull << (id % 64);
}

static int bit_has(const uint64_t *m, int id)
{
	return id >= 0 && id < 64 * KH_PROF_MASK_WORDS && (m[id / 64] >> (id % 64) & 1);
}

void kh_profile_masks(const struct kh_profiles *t, const char *(*cat_name)(void *arg, unsigned id),
		      void *arg, unsigned ncat, struct kh_prof_mask *out)
{
	int map[KH_PROF_CATNAMES], bypass = -1;

	for (unsigned i = 0; i < t->ncat; i++)
		map[i] = -1;
	for (unsigned c = 0; c < ncat && c < 64 * KH_PROF_MASK_WORDS; c++) {
		const char *n = cat_name(arg, c);
		for (unsigned i = 0; n && i < t->ncat; i++)
			if (strcmp(t->cat[i], n) == 0)
				map[i] = (int)c;
		if (n && strcmp(n, "bypass") == 0)
			bypass = (int)c;
	}
	for (unsigned p = 0; p < t->nprof; p++) {
		const struct kh_prof *pr = &t->prof[p];
		struct kh_prof_mask *m = &out[p];
		memset(m, 0, sizeof(*m));
		for (unsigned c = 0; c < pr->ncats; c++)
			if (map[pr->cats[c].id] >= 0)
				bit_set(pr->cats[c].isp ? m->isp : m->local,
					(unsigned)map[pr->cats[c].id]);
		if (pr->child && bypass >= 0) /* child profiles block the bypass list */
			bit_set(m->local, (unsigned)bypass);
		for (unsigned s = 0; s < pr->nsched; s++)
			for (unsigned c = 0; c < pr->sched[s].ncats; c++)
				if (map[pr->sched[s].cats[c]] >= 0)
					bit_set(m->sched[s], (unsigned)map[pr->sched[s].cats[c]]);
	}
}

unsigned kh_profile_active(const struct kh_prof *p, unsigned wday, unsigned minute)
{
	unsigned on = 0, yday = (wday + 6) % 7;

	for (unsigned i = 0; i < p->nsched; i++) {
		const struct kh_prof_sched *s = &p->sched[i];
		int today = s->days >> wday & 1, yesterday = s->days >> yday & 1;
		if (s->from < s->to) {
			if (today && minute >= s->from && minute < s->to)
				on |= 1u << i;
		} else if ((today && minute >= s->from) || (yesterday && minute < s->to)) {
			/* crosses midnight: belongs to the day it starts */
			on |= 1u << i;
		}
	}
	return on;
}

/* The entry of range r that name is, or is under; NULL if none. */
static const struct kh_prof_name *names_match(const struct kh_profiles *t,
					      const struct kh_prof_names *r, const char *name,
					      size_t len)
{
	for (unsigned i = 0; i < r->n; i++) {
		const struct kh_prof_name *e = &t->name[r->first + i];
		if (e->len > len || memcmp(name + len - e->len, t->pool + e->off, e->len) != 0)
			continue;
		if (e->len == len || name[len - e->len - 1] == '.')
			return e;
	}
	return NULL;
}

static int decided(const struct kh_profiles *t, struct kh_prof_verdict *v, int blocked,
		   enum kh_prof_reason r, const struct kh_prof_name *e)
{
	v->blocked = blocked;
	v->reason = r;
	if (e) {
		v->rule = t->pool + e->off;
		v->rule_len = e->len;
	}
	return 1;
}

/* The active windows set by the ISP (isp 1) or the household (0): 1 if one blocks name. */
static int windows(const struct kh_profiles *t, const struct kh_prof *p,
		   const struct kh_prof_mask *mask, unsigned active, int isp, const char *name,
		   size_t len, int cat, struct kh_prof_verdict *v)
{
	for (unsigned i = 0; active && i < p->nsched; i++) {
		const struct kh_prof_sched *s = &p->sched[i];
		if (!(active >> i & 1) || s->isp != isp)
			continue;
		v->sched = (int)i;
		if (s->all_except && !names_match(t, &s->except, name, len) &&
		    decided(t, v, 1, KH_PROF_R_SCHED_ALL, NULL))
			return 1;
		if (bit_has(mask->sched[i], cat) && decided(t, v, 1, KH_PROF_R_SCHED_CAT, NULL))
			return 1;
		v->sched = -1;
	}
	return 0;
}

void kh_profile_decide(const struct kh_profiles *t, unsigned prof, const struct kh_prof_mask *mask,
		       unsigned active, const char *name, size_t len, int cat,
		       struct kh_prof_verdict *v)
{
	const struct kh_prof *p = &t->prof[prof];
	const struct kh_prof_name *e;

	memset(v, 0, sizeof(*v));
	v->sched = -1;
	/* what the ISP's part of the profile blocks: nothing local lifts it */
	if ((e = names_match(t, &p->isp_block, name, len)) &&
	    decided(t, v, 1, KH_PROF_R_ISP_NAME, e))
		return;
	if (bit_has(mask->isp, cat) && decided(t, v, 1, KH_PROF_R_ISP_CATEGORY, NULL))
		return;
	if (windows(t, p, mask, active, 1, name, len, cat, v))
		return; /* the ISP's windows, before the household's allow_names */
	if ((e = names_match(t, &p->allow, name, len)) && decided(t, v, 0, KH_PROF_R_ALLOW_NAME, e))
		return;
	if ((e = names_match(t, &p->block, name, len)) && decided(t, v, 1, KH_PROF_R_BLOCK_NAME, e))
		return;
	if (bit_has(mask->local, cat) && decided(t, v, 1, KH_PROF_R_CATEGORY, NULL))
		return;
	windows(t, p, mask, active, 0, name, len, cat, v);
}

const char *kh_profile_reason(enum kh_prof_reason r)
{
	static const char *const words[] = {
		[KH_PROF_R_NONE] = "none",
		[KH_PROF_R_ISP_NAME] = "isp_block_names",
		[KH_PROF_R_ISP_CATEGORY] = "isp_category",
		[KH_PROF_R_ALLOW_NAME] = "allow_names",
		[KH_PROF_R_BLOCK_NAME] = "block_names",
		[KH_PROF_R_CATEGORY] = "category",
		[KH_PROF_R_SCHED_ALL] = "schedule_block_all_except",
		[KH_PROF_R_SCHED_CAT] = "schedule_category",
	};
	return (unsigned)r < KH_ARRAY_SIZE(words) ? words[r] : "?";
}

/* ---------------------------------------------------------------- safe search */

static int is_lower2(const char *s, size_t n)
{
	return n == 2 && s[0] >= 'a' && s[0] <= 'z' && s[1] >= 'a' && s[1] <= 'z';
}

/*
 * Google's search front ends: www.google.com, www.google.CC, www.google.co.CC
 * and www.google.com.CC for any two-letter country code (Google's own list,
 * https://www.google.com/supported_domains, is all of these forms), and
 * google.cat.
 */
static int is_google(const char *name, size_t len)
{
	const char *tld;
	size_t n;

	if (len < 13 || memcmp(name, "www.google.", 11) != 0)
		return 0;
	tld = name + 11;
	n = len - 11;
	if ((n == 3 && memcmp(tld, "com", 3) == 0) || (n == 3 && memcmp(tld, "cat", 3) == 0) ||
	    is_lower2(tld, n))
		return 1;
	if (n == 5 && memcmp(tld, "co.", 3) == 0)
		return is_lower2(tld + 3, 2);
	if (n == 6 && memcmp(tld, "com.", 4) == 0)
		return is_lower2(tld + 4, 2);
	return 0;
}

const char *kh_safe_search_target(const char *name, size_t len)
{
	static const struct {
		const char *name, *target;
	} fixed[] = {
		{"www.youtube.com", "restrict.youtube.com"},
		{"m.youtube.com", "restrict.youtube.com"},
		{"youtubei.googleapis.com", "restrict.youtube.com"},
		{"youtube.googleapis.com", "restrict.youtube.com"},
		{"www.youtube-nocookie.com", "restrict.youtube.com"},
		{"www.bing.com", "strict.bing.com"},
		{"duckduckgo.com", "safe.duckduckgo.com"},
		{"www.duckduckgo.com", "safe.duckduckgo.com"},
		{"start.duckduckgo.com", "safe.duckduckgo.com"},
	};

	if (is_google(name, len))
		return "forcesafesearch.google.com";
	for (size_t i = 0; i < KH_ARRAY_SIZE(fixed); i++)
		if (strlen(fixed[i].name) == len && memcmp(fixed[i].name, name, len) == 0)
			return fixed[i].target;
	return NULL;
}
