/* SPDX-License-Identifier: MIT */
/* Building roots and bundles (see trust_build.h). Host side only. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "lib/endian.h"
#include "lib/err.h"
#include "lib/hex.h"
#include "policy/canon.h"
#include "tools/khien-policy/trust_build.h"

static cJSON *hex_item(const uint8_t *b, size_t n)
{
	char buf[2 * 65 + 1];

	kh_hex_encode(b, n, buf);
	return cJSON_CreateString(buf);
}

int kh_key_files(const struct kh_ecdsa_priv *priv, const struct kh_pubkey *pub, char **priv_json,
		 char **pub_json)
{
	cJSON *p = cJSON_CreateObject(), *q;

	cJSON_AddStringToObject(p, "type", "ecdsa-p256");
	cJSON_AddItemToObject(p, "keyid", hex_item(pub->id, KH_KEYID_LEN));
	cJSON_AddItemToObject(p, "public", hex_item(pub->pub.q, sizeof(pub->pub.q)));
	*pub_json = cJSON_Print(p);
	q = cJSON_Duplicate(p, 1);
	cJSON_AddItemToObject(q, "private", hex_item(priv->d, sizeof(priv->d)));
	*priv_json = cJSON_Print(q);
	cJSON_Delete(p);
	cJSON_Delete(q);
	return *pub_json && *priv_json ? 0 : -ENOMEM;
}

static cJSON *role(const struct kh_pubkey *k, unsigned n, unsigned threshold)
{
	cJSON *r = cJSON_CreateObject(), *ids = cJSON_AddArrayToObject(r, "keyids");

	for (unsigned i = 0; i < n; i++)
		cJSON_AddItemToArray(ids, hex_item(k[i].id, KH_KEYID_LEN));
	cJSON_AddNumberToObject(r, "threshold", threshold);
	return r;
}

int kh_root_create(uint64_t version, int64_t expires, const struct kh_pubkey *root_keys,
		   unsigned nroot, unsigned root_threshold, const struct kh_pubkey *policy_keys,
		   unsigned npolicy, unsigned policy_threshold, char **out)
{
	return kh_root_create_fw(version, expires, root_keys, nroot, root_threshold, policy_keys,
				 npolicy, policy_threshold, NULL, 0, 0, out);
}

int kh_root_create_fw(uint64_t version, int64_t expires, const struct kh_pubkey *root_keys,
		      unsigned nroot, unsigned root_threshold, const struct kh_pubkey *policy_keys,
		      unsigned npolicy, unsigned policy_threshold, const struct kh_pubkey *fw_keys,
		      unsigned nfw, unsigned fw_threshold, char **out)
{
	cJSON *doc = cJSON_CreateObject(), *sg = cJSON_AddObjectToObject(doc, "signed");
	cJSON *keys, *roles;
	const struct kh_pubkey *all[3] = {root_keys, policy_keys, fw_keys};
	unsigned cnt[3] = {nroot, npolicy, nfw};

	cJSON_AddStringToObject(sg, "_type", "khien-root");
	cJSON_AddNumberToObject(sg, "version", (double)version);
	cJSON_AddNumberToObject(sg, "expires", (double)expires);
	keys = cJSON_AddObjectToObject(sg, "keys");
	for (int r = 0; r < 3; r++)
		for (unsigned i = 0; i < cnt[r]; i++) {
			char id[2 * KH_KEYID_LEN + 1];
			cJSON *k;
			kh_hex_encode(all[r][i].id, KH_KEYID_LEN, id);
			if (cJSON_GetObjectItemCaseSensitive(keys, id))
				continue; /* a key may serve both roles */
			k = cJSON_AddObjectToObject(keys, id);
			cJSON_AddItemToObject(k, "public", hex_item(all[r][i].pub.q, 65));
		}
	roles = cJSON_AddObjectToObject(sg, "roles");
	cJSON_AddItemToObject(roles, "root", role(root_keys, nroot, root_threshold));
	cJSON_AddItemToObject(roles, "policy", role(policy_keys, npolicy, policy_threshold));
	if (nfw)
		cJSON_AddItemToObject(roles, "firmware", role(fw_keys, nfw, fw_threshold));
	cJSON_AddArrayToObject(doc, "signatures");
	*out = cJSON_Print(doc);
	cJSON_Delete(doc);
	return *out ? 0 : -ENOMEM;
}

int kh_root_add_signature(char **text, const struct kh_ecdsa_priv *priv,
			  const struct kh_pubkey *pub, struct kh_drbg *rng, const char **why)
{
	cJSON *doc = cJSON_Parse(*text), *sigs, *e, *s;
	char *canon = NULL, id[2 * KH_KEYID_LEN + 1];
	size_t clen;
	uint8_t d[32], sig[KH_ECDSA_SIG_LEN];
	struct kh_root r;
	int rc = -EBADMSG, i = 0;

	*why = "not a root document";
	if (!doc || kh_root_parse(*text, strlen(*text), &r, why) < 0)
		goto out;
	if (kh_canon_json(cJSON_GetObjectItemCaseSensitive(doc, "signed"), &canon, &clen) < 0)
		goto out;
	kh_trust_digest(KH_TRUST_ROOT, canon, clen, d);
	if (kh_ecdsa_sign(rng, priv, d, sig) < 0) {
		*why = "signing failed";
		goto out;
	}
	kh_hex_encode(pub->id, KH_KEYID_LEN, id);
	sigs = cJSON_GetObjectItemCaseSensitive(doc, "signatures");
	cJSON_ArrayForEach (e, sigs) {
		const cJSON *k = cJSON_GetObjectItemCaseSensitive(e, "keyid");
		if (cJSON_IsString(k) && strcmp(k->valuestring, id) == 0) {
			cJSON_DeleteItemFromArray(sigs, i);
			break;
		}
		i++;
	}
	s = cJSON_CreateObject();
	cJSON_AddStringToObject(s, "keyid", id);
	cJSON_AddItemToObject(s, "sig", hex_item(sig, sizeof(sig)));
	cJSON_AddItemToArray(sigs, s);
	free(*text);
	*text = cJSON_Print(doc);
	rc = *text ? 0 : -ENOMEM;
out:
	free(canon);
	cJSON_Delete(doc);
	return rc;
}

int kh_bundle_build(const struct kh_bundle_spec *spec, uint8_t **out, size_t *len)
{
	cJSON *m = cJSON_CreateObject(), *comps, *targets, *sigs = cJSON_CreateArray();
	char *man = NULL, *sg = NULL;
	size_t mlen, slen, total;
	uint8_t d[32], *buf = NULL;
	struct kh_drbg rng;
	int rc = -ENOMEM;

	cJSON_AddStringToObject(m, "_type", "khien-bundle");
	cJSON_AddNumberToObject(m, "version", (double)spec->version);
	cJSON_AddNumberToObject(m, "expires", (double)spec->expires);
	cJSON_AddNumberToObject(m, "created", (double)spec->created);
	cJSON_AddBoolToObject(m, "reset", spec->reset);
	if (spec->epoch)
		cJSON_AddNumberToObject(m, "epoch", (double)spec->epoch);
	if (spec->reset)
		cJSON_AddNumberToObject(m, "replaces", (double)spec->replaces);
	targets = cJSON_AddArrayToObject(m, "targets");
	for (unsigned i = 0; i < spec->ntargets; i++)
		cJSON_AddItemToArray(targets, cJSON_CreateString(spec->targets[i]));
	comps = cJSON_AddArrayToObject(m, "components");
	total = KH_BUNDLE_HEADER_LEN;
	for (unsigned i = 0; i < spec->ncomp; i++) {
		cJSON *c = cJSON_CreateObject();
		uint8_t h[32];
		kh_sha256(spec->comp[i].data, spec->comp[i].len, h);
		cJSON_AddStringToObject(c, "name", spec->comp[i].name);
		cJSON_AddNumberToObject(c, "length", (double)spec->comp[i].len);
		cJSON_AddItemToObject(c, "sha256", hex_item(h, 32));
		cJSON_AddItemToArray(comps, c);
		total += spec->comp[i].len;
	}
	if (spec->unsafe_extra) {
		const char *eq = strchr(spec->unsafe_extra, '=');
		char name[64];
		cJSON *v = eq ? cJSON_Parse(eq + 1) : NULL;
		if (!v || eq - spec->unsafe_extra >= (long)sizeof(name)) {
			cJSON_Delete(v);
			rc = -EINVAL;
			goto out;
		}
		memcpy(name, spec->unsafe_extra, (size_t)(eq - spec->unsafe_extra));
		name[eq - spec->unsafe_extra] = 0;
		cJSON_AddItemToObject(m, name, v);
	}
	if ((rc = kh_canon_json(m, &man, &mlen)) < 0)
		goto out;
	kh_trust_digest(KH_TRUST_BUNDLE, man, mlen, d);
	if ((rc = kh_drbg_init(&rng, "khien-bundle")) < 0)
		goto out;
	for (unsigned i = 0; i < spec->nkeys; i++) {
		uint8_t sig[KH_ECDSA_SIG_LEN];
		cJSON *s = cJSON_CreateObject();
		if ((rc = kh_ecdsa_sign(&rng, &spec->keys[i], d, sig)) < 0) {
			cJSON_Delete(s);
			kh_drbg_free(&rng);
			goto out;
		}
		cJSON_AddItemToObject(s, "keyid", hex_item(spec->pubs[i].id, KH_KEYID_LEN));
		cJSON_AddItemToObject(s, "sig", hex_item(sig, sizeof(sig)));
		cJSON_AddItemToArray(sigs, s);
	}
	kh_drbg_free(&rng);
	if ((rc = kh_canon_json(sigs, &sg, &slen)) < 0)
		goto out;
	total += mlen + slen;
	buf = malloc(total);
	if (!buf) {
		rc = -ENOMEM;
		goto out;
	}
	memcpy(buf, KH_BUNDLE_MAGIC, 8);
	kh_put_le32(buf + 8, 1);
	kh_put_le32(buf + 12, (uint32_t)mlen);
	kh_put_le32(buf + 16, (uint32_t)slen);
	kh_put_le32(buf + 20, 0);
	memcpy(buf + KH_BUNDLE_HEADER_LEN, man, mlen);
	memcpy(buf + KH_BUNDLE_HEADER_LEN + mlen, sg, slen);
	{
		size_t o = KH_BUNDLE_HEADER_LEN + mlen + slen;
		for (unsigned i = 0; i < spec->ncomp; i++) {
			memcpy(buf + o, spec->comp[i].data, spec->comp[i].len);
			o += spec->comp[i].len;
		}
	}
	*out = buf;
	*len = total;
	rc = 0;
out:
	free(man);
	free(sg);
	cJSON_Delete(m);
	cJSON_Delete(sigs);
	return rc;
}
