/* SPDX-License-Identifier: MIT */
/*
 * AdBlock's $badfilter and $important in the compiler (see
 * compile_priv.h): which collected rules a $badfilter disables, and which
 * @@ exceptions an $important block overrides (docs/BLOCKLISTS.md).
 */
#include <stdlib.h>
#include <string.h>

#include "lib/err.h"
#include "policy/hash.h"
#include "tools/khien-policy/compile_priv.h"

static int hash_cmp(uint64_t ahi, uint64_t alo, uint64_t bhi, uint64_t blo)
{
	if (ahi != bhi)
		return ahi < bhi ? -1 : 1;
	return alo < blo ? -1 : alo > blo;
}

static int badfilter_cmp(const void *a, const void *b)
{
	const struct badfilter_rec *x = a, *y = b;
	int d = hash_cmp(x->hi, x->lo, y->hi, y->lo);

	if (d)
		return d;
	if (x->scope != y->scope)
		return x->scope < y->scope ? -1 : 1;
	if (x->allow != y->allow)
		return x->allow < y->allow ? -1 : 1;
	return x->important < y->important ? -1 : x->important > y->important;
}

static int important_cmp(const void *a, const void *b)
{
	const struct important_rec *x = a, *y = b;
	return hash_cmp(x->hi, x->lo, y->hi, y->lo);
}

/* Is the AdBlock rule (name hash, scope, allow, important) disabled by a $badfilter? */
static int badfiltered(const struct kh_compiler *c, uint64_t hi, uint64_t lo, uint8_t scope,
		       uint8_t allow, uint8_t important)
{
	struct badfilter_rec key = {hi, lo, scope, allow, important};

	return c->nbads && bsearch(&key, c->bads, c->nbads, sizeof(key), badfilter_cmp) != NULL;
}

/* Exceptions an $important block cannot override: every one but a plain AdBlock @@. */
static int allow_is_firm(const struct kh_compiler *c, const struct allow_rec *a)
{
	const struct source *s = &c->src[a->source];
	return a->important || s->fmt != KH_FMT_ADBLOCK || s->category == KH_ALLOW_SOURCE_CATEGORY;
}

/*
 * The scopes of allow entry a that $important blocks override: a block at
 * the same name overrides what its scope covers, one at a parent with the
 * subdomain scope overrides all of it.
 */
static uint8_t important_overridden(const struct kh_compiler *c, const struct allow_rec *a,
				    const struct important_rec *imp, size_t nimp)
{
	const char *name = c->pool + a->name;
	size_t len = strlen(name);
	uint8_t voided = 0;

	for (size_t off = 0; off < len;) {
		struct kh_hash128 h = kh_name_hash(c->seed, name + off, len - off);
		struct important_rec key = {h.hi, h.lo, 0};
		const struct important_rec *m =
			bsearch(&key, imp, nimp, sizeof(key), important_cmp);
		if (m) {
			uint8_t sc = 0;
			while (m > imp && important_cmp(m - 1, &key) == 0)
				m--;
			for (; m < imp + nimp && important_cmp(m, &key) == 0; m++)
				sc |= m->scope;
			if (off == 0)
				voided |= sc;
			else if (sc & KH_SCOPE_SUBS)
				voided |= KH_SCOPE_SELF | KH_SCOPE_SUBS;
		}
		const char *dot = memchr(name + off, '.', len - off);
		off = dot ? (size_t)(dot - name) + 1 : len;
	}
	return voided;
}

/*
 * AdBlock modifiers, before anything is merged: rules named by a $badfilter
 * are removed (from every AdBlock block list of the compile, not from --allow
 * files), then plain @@ exceptions at or under an $important block lose what
 * it covers (docs/BLOCKLISTS.md).
 */
int kh_compile_apply_modifiers(struct kh_compiler *c, struct kh_compile_result *res)
{
	struct important_rec *imp = NULL;
	size_t n = 0, nimp = 0;

	if (c->nbads) {
		qsort(c->bads, c->nbads, sizeof(*c->bads), badfilter_cmp);
		for (size_t i = 0; i < c->nrecs; i++) {
			const struct rec *r = &c->recs[i];
			if (c->src[r->source].fmt == KH_FMT_ADBLOCK &&
			    badfiltered(c, r->hi, r->lo, REC_SCOPE(r), 0,
					(r->scope & REC_IMPORTANT) != 0)) {
				res->badfiltered++;
				continue;
			}
			c->recs[n++] = *r;
		}
		c->nrecs = n;
		n = 0;
		for (size_t i = 0; i < c->nallows; i++) {
			const struct allow_rec *a = &c->allows[i];
			const struct source *s = &c->src[a->source];
			if (s->fmt == KH_FMT_ADBLOCK && s->category != KH_ALLOW_SOURCE_CATEGORY) {
				const char *nm = c->pool + a->name;
				struct kh_hash128 h = kh_name_hash(c->seed, nm, strlen(nm));
				if (badfiltered(c, h.hi, h.lo, a->scope, 1, a->important)) {
					res->badfiltered++;
					continue;
				}
			}
			c->allows[n++] = *a;
		}
		c->nallows = n;
	}
	for (size_t i = 0; i < c->nrecs; i++)
		nimp += (c->recs[i].scope & REC_IMPORTANT) != 0;
	if (nimp == 0 || c->nallows == 0)
		return 0;
	imp = malloc(nimp * sizeof(*imp));
	if (!imp)
		return -ENOMEM;
	nimp = 0;
	for (size_t i = 0; i < c->nrecs; i++)
		if (c->recs[i].scope & REC_IMPORTANT)
			imp[nimp++] = (struct important_rec){c->recs[i].hi, c->recs[i].lo,
							     REC_SCOPE(&c->recs[i])};
	qsort(imp, nimp, sizeof(*imp), important_cmp);
	n = 0;
	for (size_t i = 0; i < c->nallows; i++) {
		struct allow_rec *a = &c->allows[i];
		uint8_t v = allow_is_firm(c, a) ? 0 : important_overridden(c, a, imp, nimp);
		if (v & a->scope) {
			res->important_overrides++;
			a->scope &= (uint8_t)~v;
			if (!a->scope)
				continue;
		}
		c->allows[n++] = *a;
	}
	c->nallows = n;
	free(imp);
	return 0;
}
