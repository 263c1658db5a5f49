/* SPDX-License-Identifier: MIT */
/*
 * Fuzz the ISP's `profiles` component as khiend reads it (agent/profile.c):
 * {"profiles": {...}} parsed with the ISP's mark, merged over a local
 * table, then every profile decided for a few names at every minute of a
 * week's windows. The same input is also read as the owner's layer
 * (STATE/spool/profiles.local, kh_profiles_owner) over a local table with
 * an ISP part merged after it. Oracle: never crashes, a refusal always
 * says why, no count passes its bound, every name range lies inside the
 * table, and no owner layer lifts the ISP's block name.
 */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "agent/config.h"
#include "agent/profile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void bounded(const struct kh_profiles *t)
{
	if (t->nprof > KH_PROF_MAX || t->nclient > KH_PROF_MAX_CLIENTS ||
	    t->nname > KH_PROF_MAX_NAMES || t->pool_len > sizeof(t->pool) ||
	    t->ncat > KH_PROF_CATNAMES)
		abort();
	for (unsigned i = 0; i < t->nname; i++)
		if ((size_t)t->name[i].off + t->name[i].len > t->pool_len)
			abort();
	for (unsigned i = 0; i < t->nprof; i++) {
		const struct kh_prof *p = &t->prof[i];
		if (p->nsched > KH_PROF_MAX_SCHED ||
		    (unsigned)p->allow.first + p->allow.n > t->nname ||
		    (unsigned)p->block.first + p->block.n > t->nname ||
		    (unsigned)p->isp_block.first + p->isp_block.n > t->nname)
			abort();
	}
}

static const char *cat_name(void *arg, unsigned id)
{
	static const char *const n[] = {"adult", "bypass", "ads", "games"};
	(void)arg;
	return id < 4 ? n[id] : NULL;
}

/* root as the owner's layer: bounded, and the ISP's block name for child stays blocked */
static void owner_layer(const cJSON *root)
{
	static struct kh_profiles t, isp;
	static struct kh_prof_mask mask[KH_PROF_MAX];
	struct kh_prof_verdict v;
	char why[320];
	cJSON *j;
	int p;

	kh_profiles_init(&t);
	kh_profiles_init(&isp);
	j = cJSON_Parse("{\"child\": {\"clients\": [\"198.18.5.7\"], \"block\": [\"adult\"]}, "
			"\"guest\": {}}");
	if (kh_profiles_parse(&t, j, "profiles", 0, why, sizeof(why)) < 0)
		abort();
	cJSON_Delete(j);
	j = cJSON_Parse("{\"child\": {\"block_names\": [\"isp.example\"]}}");
	if (kh_profiles_parse(&isp, j, "profiles", 1, why, sizeof(why)) < 0)
		abort();
	cJSON_Delete(j);
	why[0] = 0;
	if (kh_profiles_owner(&t, root, why, sizeof(why)) < 0) {
		if (!why[0])
			abort();
		return;
	}
	bounded(&t);
	if (kh_profiles_merge(&t, &isp, why, sizeof(why)) < 0)
		return;
	bounded(&t);
	kh_profile_masks(&t, cat_name, NULL, 4, mask);
	for (p = 0; p < (int)t.nprof && strcmp(t.prof[p].name, "child") != 0; p++)
		;
	if (p == (int)t.nprof)
		abort(); /* the layer never removes a profile */
	kh_profile_decide(&t, (unsigned)p, &mask[p], 0, "www.isp.example", 15, -1, &v);
	if (!v.blocked || v.reason != KH_PROF_R_ISP_NAME)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct kh_profiles isp, local;
	static struct kh_prof_mask mask[KH_PROF_MAX];
	static const char local_json[] = "{\"child\": {\"clients\": [\"198.18.5.7\"], "
					 "\"allow_names\": [\"school.example\"]}}";
	static const char *const names[] = {"school.example", "www.game.example", "a.b.example",
					    "example"};
	cJSON *root, *local_tree;
	char why[320];
	struct kh_prof_verdict v;

	if (size > 256 * 1024)
		return 0;
	root = cJSON_ParseWithLength((const char *)data, size);
	if (!root)
		return 0;
	owner_layer(root);
	kh_profiles_init(&isp);
	why[0] = 0;
	if (kh_profiles_parse(&isp, cJSON_GetObjectItem(root, "profiles"), "profiles", 1, why,
			      sizeof(why)) < 0) {
		if (!why[0] || strncmp(why, "profiles", 8) != 0)
			abort();
		cJSON_Delete(root);
		return 0;
	}
	bounded(&isp);
	kh_profiles_init(&local);
	local_tree = cJSON_Parse(local_json);
	if (kh_profiles_parse(&local, local_tree, "profiles", 0, why, sizeof(why)) < 0)
		abort();
	cJSON_Delete(local_tree);
	if (kh_profiles_merge(&local, &isp, why, sizeof(why)) < 0 && !why[0])
		abort();
	bounded(&local);
	kh_profile_masks(&local, cat_name, NULL, 4, mask);
	for (unsigned p = 0; p < local.nprof; p++)
		for (unsigned minute = 0; minute < 7 * 1440; minute += 97) {
			unsigned act =
				kh_profile_active(&local.prof[p], minute / 1440, minute % 1440);
			for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
				kh_profile_decide(&local, p, &mask[p], act, names[k],
						  strlen(names[k]), (int)k - 1, &v);
				if (v.rule && (v.rule < local.pool ||
					       v.rule + v.rule_len > local.pool + local.pool_len))
					abort();
			}
		}
	{
		cJSON *o = cJSON_CreateObject();
		kh_profiles_print(&local, o);
		cJSON_Delete(o);
	}
	cJSON_Delete(root);
	return 0;
}
