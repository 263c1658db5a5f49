/* SPDX-License-Identifier: MIT */
/*
 * Firmware manifests and counter resets (see manifest.h): parsed against a
 * closed schema (an unknown field is a refusal: it could change what is
 * signed), signatures counted with the trust root's rule, images hashed
 * in bounded slices.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "firmware/manifest.h"
#include "lib/compiler.h"
#include "lib/err.h"
#include "lib/hex.h"
#include "lib/jsonfield.h"
#include "lib/proto.h"
#include "platform/fs.h"
#include "policy/canon.h"

/* Printable ASCII only: names and versions end up in logs and terminals. */
static int printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			return 0;
	return 1;
}

static int sha_field(const cJSON *v, uint8_t out[KH_SHA256_LEN])
{
	return cJSON_IsString(v) && strlen(v->valuestring) == 2 * KH_SHA256_LEN &&
			       kh_hex_decode(v->valuestring, out, KH_SHA256_LEN) == 0
		       ? 0
		       : -1;
}

/* A list of hardware ids at path into hw[]: 1..KH_FW_MAX_HW printable strings of 1..64. */
static int parse_hw(const cJSON *arr, const char *path, char hw[][KH_HWID_MAX + 1], unsigned *n,
		    char *why, size_t whylen)
{
	const cJSON *e;

	*n = 0;
	if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) < 1 ||
	    cJSON_GetArraySize(arr) > KH_FW_MAX_HW) {
		snprintf(why, whylen, "%s: expected an array of 1 to %d hardware ids", path,
			 KH_FW_MAX_HW);
		return -EBADMSG;
	}
	cJSON_ArrayForEach (e, arr) {
		if (!cJSON_IsString(e) || !*e->valuestring ||
		    strlen(e->valuestring) > KH_HWID_MAX || !printable(e->valuestring)) {
			snprintf(why, whylen,
				 "%s[%u]: expected a hardware id of 1 to %d printable characters",
				 path, *n, KH_HWID_MAX);
			return -EBADMSG;
		}
		strcpy(hw[(*n)++], e->valuestring);
	}
	return 0;
}

struct signed_nums {
	uint64_t counter, length, created;
	const char *version, *type;
	const cJSON *hw, *parts;
};

static const struct kh_json_field fw_fields[] = {
	KH_JSON_F_STR("_type", 1, 1, 32, struct signed_nums, type),
	KH_JSON_F_STR("version", 1, 1, KH_FW_VERSION_MAX, struct signed_nums, version),
	KH_JSON_F_UINT("security_counter", 1, 0, KH_JSON_INT_MAX, struct signed_nums, counter),
	KH_JSON_F_UINT("length", 1, 1, KH_JSON_INT_MAX, struct signed_nums, length),
	KH_JSON_F_UINT("created", 1, 0, KH_JSON_INT_MAX, struct signed_nums, created),
	KH_JSON_F_ARR("hardware", 1, 1, KH_FW_MAX_HW, struct signed_nums, hw),
	KH_JSON_F_ARR("parts", 0, 1, KH_FW_MAX_PARTS, struct signed_nums, parts),
};

static const struct kh_json_field part_fields[] = {
	KH_JSON_F_STRBUF("name", 1, struct kh_fw_part, name),
	KH_JSON_F_UINT("offset", 1, 0, KH_JSON_INT_MAX, struct kh_fw_part, offset),
	KH_JSON_F_UINT("length", 1, 1, KH_JSON_INT_MAX, struct kh_fw_part, length),
};

static int parse_parts(const cJSON *arr, struct kh_fw_manifest *m, char *why, size_t whylen)
{
	static const char *const allowed[] = {"name", "offset", "length", "sha256", NULL};
	const cJSON *e;
	char path[40];

	cJSON_ArrayForEach (e, arr) {
		struct kh_fw_part *p = &m->parts[m->nparts];
		const char *bad;
		snprintf(path, sizeof(path), "signed.parts[%u]", m->nparts);
		if (!cJSON_IsObject(e)) {
			snprintf(why, whylen, "%s: expected an object", path);
			return -EBADMSG;
		}
		if ((bad = kh_json_unknown_key(e, allowed))) {
			snprintf(why, whylen, "%s.%.40s: unknown field", path, bad);
			return -EBADMSG;
		}
		if (kh_json_parse_fields(e, part_fields, KH_ARRAY_SIZE(part_fields), p, path, why,
					 whylen) < 0)
			return -EBADMSG;
		if (!p->name[0] || !printable(p->name)) {
			snprintf(why, whylen, "%s.name: expected 1 to %d printable characters",
				 path, KH_FW_PART_NAME_MAX);
			return -EBADMSG;
		}
		if (sha_field(cJSON_GetObjectItemCaseSensitive(e, "sha256"), p->sha256) < 0) {
			snprintf(why, whylen, "%s.sha256: expected 64 hex digits", path);
			return -EBADMSG;
		}
		/* lengths are below 2^53, so the sum cannot wrap */
		if (p->offset + p->length > m->length) {
			snprintf(why, whylen, "%s: ends at byte %llu, past the image's %llu", path,
				 (unsigned long long)(p->offset + p->length),
				 (unsigned long long)m->length);
			return -EBADMSG;
		}
		for (unsigned k = 0; k < m->nparts; k++)
			if (!strcmp(m->parts[k].name, p->name)) {
				snprintf(why, whylen, "%s.name: \"%s\" given twice", path, p->name);
				return -EBADMSG;
			}
		m->nparts++;
	}
	return 0;
}

/* Canonical text {"signatures", "signed"} into a tree; fills sigs and the digest of signed. */
static cJSON *signed_doc(const char *text, size_t len, enum kh_trust_doc doc, struct kh_sigs *sigs,
			 uint8_t digest[32], const cJSON **sg, char *why, size_t whylen)
{
	static const char *const allowed[] = {"signed", "signatures", NULL};
	const char *w;
	char *canon = NULL;
	size_t clen;
	cJSON *j;

	if (len > KH_FW_MANIFEST_MAX) {
		snprintf(why, whylen, "larger than %d bytes", KH_FW_MANIFEST_MAX);
		return NULL;
	}
	if (!(j = kh_canon_parse(text, len, &w))) {
		snprintf(why, whylen, "not canonical JSON: %s", w);
		return NULL;
	}
	*sg = cJSON_GetObjectItemCaseSensitive(j, "signed");
	if (!cJSON_IsObject(j) || kh_json_unknown_key(j, allowed) || !cJSON_IsObject(*sg)) {
		snprintf(why, whylen, "expected {\"signatures\": [...], \"signed\": {...}}");
		goto bad;
	}
	if (kh_trust_sigs_parse(cJSON_GetObjectItemCaseSensitive(j, "signatures"), sigs, &w) < 0) {
		snprintf(why, whylen, "%s", w);
		goto bad;
	}
	if (kh_canon_json(*sg, &canon, &clen) < 0) {
		snprintf(why, whylen, "signed: no canonical form");
		goto bad;
	}
	kh_trust_digest(doc, canon, clen, digest);
	free(canon);
	return j;
bad:
	cJSON_Delete(j);
	return NULL;
}

int kh_fw_manifest_parse(const char *text, size_t len, struct kh_fw_manifest *m, char *why,
			 size_t whylen)
{
	static const char *const allowed[] = {"_type",	 "version", "security_counter",
					      "length",	 "sha256",  "hardware",
					      "created", "parts",   NULL};
	struct signed_nums n = {0};
	const cJSON *sg;
	const char *bad;
	cJSON *j;
	int rc = -EBADMSG;

	memset(m, 0, sizeof(*m));
	if (!(j = signed_doc(text, len, KH_TRUST_FIRMWARE, &m->sigs, m->digest, &sg, why, whylen)))
		return len > KH_FW_MANIFEST_MAX ? -E2BIG : -EBADMSG;
	if ((bad = kh_json_unknown_key(sg, allowed))) {
		snprintf(why, whylen,
			 "signed.%.40s: unknown field (refused: it could change the "
			 "meaning)",
			 bad);
		goto out;
	}
	if (kh_json_parse_fields(sg, fw_fields, KH_ARRAY_SIZE(fw_fields), &n, "signed", why,
				 whylen) < 0)
		goto out;
	if (strcmp(n.type, "khien-firmware") != 0) {
		snprintf(why, whylen, "signed._type: expected \"khien-firmware\"");
		goto out;
	}
	if (!printable(n.version)) {
		snprintf(why, whylen, "signed.version: only printable ASCII");
		goto out;
	}
	strcpy(m->version, n.version);
	m->counter = n.counter;
	m->length = n.length;
	m->created = (int64_t)n.created;
	if (sha_field(cJSON_GetObjectItemCaseSensitive(sg, "sha256"), m->sha256) < 0) {
		snprintf(why, whylen, "signed.sha256: expected 64 hex digits");
		goto out;
	}
	if (parse_hw(n.hw, "signed.hardware", m->hw, &m->nhw, why, whylen) < 0 ||
	    (n.parts && parse_parts(n.parts, m, why, whylen) < 0))
		goto out;
	rc = 0;
out:
	cJSON_Delete(j);
	return rc;
}

int kh_fw_manifest_verify(const char *text, size_t len, const struct kh_root *root,
			  struct kh_fw_manifest *m, char *why, size_t whylen)
{
	unsigned n;
	int rc;

	if ((rc = kh_fw_manifest_parse(text, len, m, why, whylen)) < 0)
		return rc;
	if (root->firmware.nkeys == 0) {
		snprintf(why, whylen, "signature: trust root has no firmware role");
		return -EPERM;
	}
	n = kh_trust_sigs_count(root, &root->firmware, &m->sigs, m->digest);
	if (n < root->firmware.threshold) {
		snprintf(why, whylen,
			 "signature: %u valid firmware signature(s), %u needed (trust root v%llu)",
			 n, root->firmware.threshold, (unsigned long long)root->version);
		return -EPERM;
	}
	snprintf(why, whylen, "ok");
	return 0;
}

int kh_fw_manifest_allowed(const struct kh_fw_manifest *m, const char *hwid, uint64_t min_counter,
			   char *why, size_t whylen)
{
	int match = !hwid;

	for (unsigned i = 0; hwid && i < m->nhw; i++)
		match |= strcmp(m->hw[i], hwid) == 0;
	if (!match) {
		snprintf(why, whylen, "hardware: image is for %s%s, this device is %s", m->hw[0],
			 m->nhw > 1 ? " and others" : "", hwid);
		return -EPERM;
	}
	if (m->counter < min_counter) {
		snprintf(why, whylen,
			 "rollback: security counter %llu is below the device's %llu (version %s)",
			 (unsigned long long)m->counter, (unsigned long long)min_counter,
			 m->version);
		return -ESTALE;
	}
	snprintf(why, whylen, "ok");
	return 0;
}

const struct kh_fw_part *kh_fw_manifest_part(const struct kh_fw_manifest *m, const char *name)
{
	for (unsigned i = 0; i < m->nparts; i++)
		if (!strcmp(m->parts[i].name, name))
			return &m->parts[i];
	return NULL;
}

/* ---- hashing ---- */

void kh_fw_hash_image(struct kh_fw_hash *h, const struct kh_fw_manifest *m)
{
	memset(h, 0, sizeof(*h));
	kh_sha256_init(&h->all);
	for (unsigned i = 0; i < m->nparts; i++)
		kh_sha256_init(&h->part[i]);
	h->m = m;
	h->length = m->length;
	memcpy(h->expect, m->sha256, KH_SHA256_LEN);
	h->what = "image";
}

void kh_fw_hash_range(struct kh_fw_hash *h, uint64_t length, const uint8_t sha256[32],
		      const char *what)
{
	memset(h, 0, sizeof(*h));
	kh_sha256_init(&h->all);
	h->length = length;
	memcpy(h->expect, sha256, KH_SHA256_LEN);
	h->what = what;
}

void kh_fw_hash_update(struct kh_fw_hash *h, const void *data, size_t len)
{
	const uint8_t *d = data;
	uint64_t start = h->done, end = h->done + len;

	if (end > h->length) /* the excess is the size check's to report */
		end = h->length;
	if (end > start)
		kh_sha256_update(&h->all, d, (size_t)(end - start));
	for (unsigned i = 0; h->m && i < h->m->nparts; i++) {
		const struct kh_fw_part *p = &h->m->parts[i];
		uint64_t a = p->offset > start ? p->offset : start;
		uint64_t b = p->offset + p->length < end ? p->offset + p->length : end;
		if (a < b)
			kh_sha256_update(&h->part[i], d + (a - start), (size_t)(b - a));
	}
	h->done += len;
}

int kh_fw_hash_final(struct kh_fw_hash *h, char *why, size_t whylen)
{
	uint8_t d[KH_SHA256_LEN];

	if (h->done < h->length) {
		snprintf(why, whylen, "length: %s ends at %llu bytes, the manifest says %llu",
			 h->what, (unsigned long long)h->done, (unsigned long long)h->length);
		return -EBADMSG;
	}
	kh_sha256_final(&h->all, d);
	if (!kh_ct_memeq(d, h->expect, KH_SHA256_LEN)) {
		snprintf(why, whylen, "hash: SHA-256 of the %s does not match the manifest",
			 h->what);
		return -EBADMSG;
	}
	for (unsigned i = 0; h->m && i < h->m->nparts; i++) {
		kh_sha256_final(&h->part[i], d);
		if (!kh_ct_memeq(d, h->m->parts[i].sha256, KH_SHA256_LEN)) {
			snprintf(why, whylen,
				 "hash: SHA-256 of part %s does not match the manifest",
				 h->m->parts[i].name);
			return -EBADMSG;
		}
	}
	snprintf(why, whylen, "ok");
	return 0;
}

int kh_fw_hash_fd_step(struct kh_fw_hash *h, int fd, uint8_t *buf, size_t bufsize, uint64_t budget,
		       char *why, size_t whylen)
{
	while (h->done < h->length && budget > 0) {
		uint64_t left = h->length - h->done;
		size_t want = bufsize;
		long n;

		if (want > left)
			want = (size_t)left;
		if (want > budget)
			want = (size_t)budget;
		n = kh_fs_pread(fd, h->done, buf, want);
		if (n < 0) {
			snprintf(why, whylen, "cannot read the %s at byte %llu: %s", h->what,
				 (unsigned long long)h->done, kh_strerror((int)n));
			return (int)n;
		}
		if (n == 0) {
			snprintf(why, whylen,
				 "length: %s ends at %llu bytes, the manifest says %llu", h->what,
				 (unsigned long long)h->done, (unsigned long long)h->length);
			return -EBADMSG;
		}
		kh_fw_hash_update(h, buf, (size_t)n);
		budget -= (uint64_t)n;
	}
	return h->done >= h->length;
}

int kh_fw_image_size_check(const struct kh_fw_manifest *m, int fd, char *why, size_t whylen)
{
	uint64_t size;
	int err = kh_fs_fd_size(fd, &size);

	if (err < 0) {
		snprintf(why, whylen, "cannot size the image: %s", kh_strerror(err));
		return err;
	}
	if (size != m->length) {
		snprintf(why, whylen, "length: image is %llu bytes, the manifest says %llu%s",
			 (unsigned long long)size, (unsigned long long)m->length,
			 size < m->length ? " (truncated)" : "");
		return -EBADMSG;
	}
	return 0;
}

/* ---- counter resets ---- */

struct reset_nums {
	const char *type, *nonce;
	uint64_t counter, epoch, created;
	const cJSON *hw;
};

static const struct kh_json_field reset_fields[] = {
	KH_JSON_F_STR("_type", 1, 1, 32, struct reset_nums, type),
	KH_JSON_F_UINT("counter", 1, 0, KH_JSON_INT_MAX, struct reset_nums, counter),
	KH_JSON_F_UINT("epoch", 1, 1, KH_JSON_INT_MAX, struct reset_nums, epoch),
	KH_JSON_F_UINT("created", 1, 0, KH_JSON_INT_MAX, struct reset_nums, created),
	KH_JSON_F_ARR("hardware", 1, 1, KH_FW_MAX_HW, struct reset_nums, hw),
	KH_JSON_F_STR("nonce", 1, KH_FW_NONCE_HEX, KH_FW_NONCE_HEX, struct reset_nums, nonce),
};

int kh_fw_reset_verify(const char *text, size_t len, const struct kh_root *root,
		       struct kh_fw_reset *r, char *why, size_t whylen)
{
	static const char *const allowed[] = {"_type",	  "counter", "epoch", "created",
					      "hardware", "nonce",   NULL};
	struct reset_nums n = {0};
	struct kh_sigs sigs;
	uint8_t digest[32];
	const cJSON *sg;
	const char *bad;
	unsigned valid;
	cJSON *j;
	int rc = -EBADMSG;

	memset(r, 0, sizeof(*r));
	if (!(j = signed_doc(text, len, KH_TRUST_FIRMWARE_RESET, &sigs, digest, &sg, why, whylen)))
		return -EBADMSG;
	if ((bad = kh_json_unknown_key(sg, allowed))) {
		snprintf(why, whylen, "signed.%.40s: unknown field", bad);
		goto out;
	}
	if (kh_json_parse_fields(sg, reset_fields, KH_ARRAY_SIZE(reset_fields), &n, "signed", why,
				 whylen) < 0)
		goto out;
	if (strcmp(n.type, "khien-firmware-reset") != 0) {
		snprintf(why, whylen, "signed._type: expected \"khien-firmware-reset\"");
		goto out;
	}
	if (parse_hw(n.hw, "signed.hardware", r->hw, &r->nhw, why, whylen) < 0)
		goto out;
	if (strspn(n.nonce, "0123456789abcdef") != KH_FW_NONCE_HEX) {
		snprintf(why, whylen, "signed.nonce: expected %d lowercase hex digits",
			 KH_FW_NONCE_HEX);
		goto out;
	}
	memcpy(r->nonce, n.nonce, sizeof(r->nonce));
	r->counter = n.counter;
	r->epoch = n.epoch;
	r->created = (int64_t)n.created;
	valid = kh_trust_sigs_count(root, &root->root, &sigs, digest);
	if (valid < root->root.threshold) {
		snprintf(why, whylen, "signature: %u valid root signature(s), %u needed", valid,
			 root->root.threshold);
		rc = -EPERM;
		goto out;
	}
	snprintf(why, whylen, "ok");
	rc = 0;
out:
	cJSON_Delete(j);
	return rc;
}
