/* SPDX-License-Identifier: MIT */
/*
 * The canonical form of audit rules, as khien-policy signs them into a
 * bundle: the validated JSON with object keys sorted, compact, so the same
 * rules always sign to the same bytes. ISP side only: a device parses the
 * component but never writes it.
 */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "tools/khien-policy/audit_canon.h"

/* Sort object keys (recursively) so one rule set has one byte form. */
static void sort_keys(cJSON *o)
{
	cJSON *e;

	if (cJSON_IsObject(o) && o->child) {
		cJSON *sorted = NULL, *next;
		for (e = o->child; e; e = next) {
			cJSON **pp = &sorted;
			next = e->next;
			while (*pp && strcmp((*pp)->string, e->string) <= 0)
				pp = &(*pp)->next;
			e->next = *pp;
			*pp = e;
		}
		/* cJSON's lists: prev of the first is the last, next of the last NULL */
		o->child = sorted;
		for (e = sorted; e; e = e->next)
			if (e->next)
				e->next->prev = e;
		for (e = sorted; e->next; e = e->next)
			;
		sorted->prev = e;
	}
	for (e = o->child; e; e = e->next)
		sort_keys(e);
}

char *kh_audit_canonical(const struct kh_audit_policy *p)
{
	cJSON *copy = cJSON_Duplicate(p->json, 1);
	char *s;

	if (!copy)
		return NULL;
	sort_keys(copy);
	s = cJSON_PrintUnformatted(copy);
	cJSON_Delete(copy);
	return s;
}
