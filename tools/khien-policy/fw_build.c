/* SPDX-License-Identifier: MIT */
/* Building firmware manifests and counter resets (see fw_build.h). Host side only. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "lib/err.h"
#include "lib/hex.h"
#include "lib/jsonnum.h"
#include "platform/fs.h"
#include "policy/canon.h"
#include "tools/khien-policy/fw_build.h"

static cJSON *hex_item(const uint8_t *b, size_t n)
{
	char buf[2 * 65 + 1];

	kh_hex_encode(b, n, buf);
	return cJSON_CreateString(buf);
}

static void add_hw(cJSON *sg, const char hw[][KH_HWID_MAX + 1], unsigned n)
{
	cJSON *a = cJSON_AddArrayToObject(sg, "hardware");

	for (unsigned i = 0; i < n; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(hw[i]));
}

/* {"signatures": [...], "signed": sg} in canonical form; takes sg. */
static int sign_doc(cJSON *sg, enum kh_trust_doc kind, const struct kh_ecdsa_priv *keys,
		    const struct kh_pubkey *pubs, unsigned nkeys, char **out, size_t *len)
{
	cJSON *doc = cJSON_CreateObject(), *sigs;
	char *canon = NULL;
	size_t clen;
	uint8_t d[32];
	struct kh_drbg rng;
	int rc;

	cJSON_AddItemToObject(doc, "signed", sg);
	sigs = cJSON_AddArrayToObject(doc, "signatures");
	if ((rc = kh_canon_json(sg, &canon, &clen)) < 0)
		goto out;
	kh_trust_digest(kind, canon, clen, d);
	if ((rc = kh_drbg_init(&rng, "khien-firmware")) < 0)
		goto out;
	for (unsigned i = 0; i < nkeys; i++) {
		uint8_t sig[KH_ECDSA_SIG_LEN];
		cJSON *s;
		if ((rc = kh_ecdsa_sign(&rng, &keys[i], d, sig)) < 0)
			break;
		s = cJSON_CreateObject();
		cJSON_AddItemToObject(s, "keyid", hex_item(pubs[i].id, KH_KEYID_LEN));
		cJSON_AddItemToObject(s, "sig", hex_item(sig, sizeof(sig)));
		cJSON_AddItemToArray(sigs, s);
	}
	kh_drbg_free(&rng);
	if (rc == 0)
		rc = kh_canon_json(doc, out, len);
out:
	free(canon);
	cJSON_Delete(doc);
	return rc;
}

int kh_fw_manifest_build(const struct kh_fw_manifest *m, const struct kh_ecdsa_priv *keys,
			 const struct kh_pubkey *pubs, unsigned nkeys, const char *unsafe_extra,
			 char **out, size_t *len)
{
	cJSON *sg = cJSON_CreateObject();

	if (!sg)
		return -ENOMEM;
	cJSON_AddStringToObject(sg, "_type", "khien-firmware");
	cJSON_AddStringToObject(sg, "version", m->version);
	cJSON_AddNumberToObject(sg, "security_counter", (double)m->counter);
	cJSON_AddNumberToObject(sg, "length", (double)m->length);
	cJSON_AddItemToObject(sg, "sha256", hex_item(m->sha256, KH_SHA256_LEN));
	cJSON_AddNumberToObject(sg, "created", (double)(uint64_t)m->created);
	add_hw(sg, m->hw, m->nhw);
	if (m->nparts) {
		cJSON *parts = cJSON_AddArrayToObject(sg, "parts");
		for (unsigned i = 0; i < m->nparts; i++) {
			cJSON *p = cJSON_CreateObject();
			cJSON_AddStringToObject(p, "name", m->parts[i].name);
			cJSON_AddNumberToObject(p, "offset", (double)m->parts[i].offset);
			cJSON_AddNumberToObject(p, "length", (double)m->parts[i].length);
			cJSON_AddItemToObject(p, "sha256",
					      hex_item(m->parts[i].sha256, KH_SHA256_LEN));
			cJSON_AddItemToArray(parts, p);
		}
	}
	if (unsafe_extra) {
		const char *eq = strchr(unsafe_extra, '=');
		char name[64];
		cJSON *v = eq ? cJSON_Parse(eq + 1) : NULL;
		if (!v || eq - unsafe_extra >= (long)sizeof(name)) {
			cJSON_Delete(v);
			cJSON_Delete(sg);
			return -EINVAL;
		}
		memcpy(name, unsafe_extra, (size_t)(eq - unsafe_extra));
		name[eq - unsafe_extra] = 0;
		cJSON_AddItemToObject(sg, name, v);
	}
	return sign_doc(sg, KH_TRUST_FIRMWARE, keys, pubs, nkeys, out, len);
}

int kh_fw_reset_build(const struct kh_fw_reset *r, const struct kh_ecdsa_priv *keys,
		      const struct kh_pubkey *pubs, unsigned nkeys, char **out, size_t *len)
{
	cJSON *sg = cJSON_CreateObject();

	if (!sg)
		return -ENOMEM;
	cJSON_AddStringToObject(sg, "_type", "khien-firmware-reset");
	cJSON_AddNumberToObject(sg, "counter", (double)r->counter);
	cJSON_AddNumberToObject(sg, "epoch", (double)r->epoch);
	cJSON_AddNumberToObject(sg, "created", (double)(uint64_t)r->created);
	add_hw(sg, r->hw, r->nhw);
	cJSON_AddStringToObject(sg, "nonce", r->nonce);
	return sign_doc(sg, KH_TRUST_FIRMWARE_RESET, keys, pubs, nkeys, out, len);
}

int kh_fw_image_digest(int fd, struct kh_fw_manifest *m)
{
	static uint8_t buf[KH_FW_HASH_BUF];
	struct kh_fw_hash h;
	char why[128];
	int err;

	if ((err = kh_fs_fd_size(fd, &m->length)) < 0)
		return err;
	for (unsigned i = 0; i < m->nparts; i++)
		if (m->parts[i].offset + m->parts[i].length > m->length)
			return -ERANGE;
	kh_fw_hash_image(&h, m);
	while ((err = kh_fw_hash_fd_step(&h, fd, buf, sizeof(buf), (uint64_t)1 << 62, why,
					 sizeof(why))) == 0)
		;
	if (err < 0)
		return err;
	kh_sha256_final(&h.all, m->sha256);
	for (unsigned i = 0; i < m->nparts; i++)
		kh_sha256_final(&h.part[i], m->parts[i].sha256);
	return 0;
}
