/* SPDX-License-Identifier: MIT */
/*
 * Keys, trust roots and policy bundles (see trust.h). Documents are parsed
 * with cJSON and then checked field by field against a closed schema:
 * an unknown field anywhere in a signed document is a refusal, never
 * ignored. Signatures cover SHA-256 of a domain-separation tag and the
 * canonical bytes, so a root signature can never pass as a bundle one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "lib/civil.h"
#include "lib/compiler.h"
#include "lib/endian.h"
#include "lib/err.h"
#include "lib/hex.h"
#include "lib/jsonfield.h"
#include "lib/jsonnum.h"
#include "policy/bundle_name.h"
#include "policy/canon.h"
#include "policy/trust.h"

void kh_keyid(const struct kh_ecdsa_pub *pub, uint8_t id[KH_KEYID_LEN])
{
	uint8_t d[KH_SHA256_LEN];

	kh_sha256(pub->q, sizeof(pub->q), d);
	memcpy(id, d, KH_KEYID_LEN);
}

void kh_trust_digest(enum kh_trust_doc doc, const void *bytes, size_t len, uint8_t out[32])
{
	static const char *const tags[] = {
		[KH_TRUST_ROOT] = "khien-root-v1",
		[KH_TRUST_BUNDLE] = "khien-bundle-v1",
		[KH_TRUST_FIRMWARE] = "khien-firmware-v1",
		[KH_TRUST_FIRMWARE_RESET] = "khien-firmware-reset-v1",
	};
	const char *tag = tags[doc];
	struct kh_sha256 c;

	kh_sha256_init(&c);
	kh_sha256_update(&c, tag, strlen(tag) + 1); /* with its NUL: unambiguous */
	kh_sha256_update(&c, bytes, len);
	kh_sha256_final(&c, out);
}

/* A whole number from min to 2^53 - 1, the protocol's one bound (lib/jsonnum.h). */
static int get_u64(const cJSON *o, const char *k, uint64_t min, uint64_t *out)
{
	return kh_json_uint(cJSON_GetObjectItemCaseSensitive(o, k), min, KH_JSON_INT_MAX, out);
}

static int hex_field(const cJSON *o, const char *k, uint8_t *out, size_t n)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	if (!cJSON_IsString(v) || strlen(v->valuestring) != 2 * n)
		return -1;
	return kh_hex_decode(v->valuestring, out, n);
}

int kh_key_parse(const char *text, size_t len, struct kh_pubkey *pub, struct kh_ecdsa_priv *priv,
		 const char **why)
{
	static const char *const allowed[] = {"type", "keyid", "public", "private", NULL};
	cJSON *j = cJSON_ParseWithLength(text, len);
	const cJSON *t;
	uint8_t id[KH_KEYID_LEN];
	int rc = -EINVAL;

	*why = "not a key file (JSON object with type, keyid, public)";
	if (!cJSON_IsObject(j) || kh_json_unknown_key(j, allowed))
		goto out;
	t = cJSON_GetObjectItemCaseSensitive(j, "type");
	if (!cJSON_IsString(t) || strcmp(t->valuestring, "ecdsa-p256") != 0) {
		*why = "key type is not ecdsa-p256";
		goto out;
	}
	if (hex_field(j, "public", pub->pub.q, sizeof(pub->pub.q)) < 0 ||
	    kh_ecdsa_pub_check(&pub->pub) < 0) {
		*why = "public key is not a P-256 point";
		goto out;
	}
	kh_keyid(&pub->pub, pub->id);
	if (hex_field(j, "keyid", id, sizeof(id)) < 0 || memcmp(id, pub->id, sizeof(id)) != 0) {
		*why = "keyid does not match the public key";
		goto out;
	}
	if (priv) {
		struct kh_ecdsa_pub derived;
		if (hex_field(j, "private", priv->d, sizeof(priv->d)) < 0) {
			*why = "no private key in this file";
			goto out;
		}
		if (kh_ecdsa_public(priv, &derived) < 0 ||
		    memcmp(derived.q, pub->pub.q, sizeof(derived.q)) != 0) {
			*why = "private key does not match the public key";
			kh_ecdsa_priv_free(priv);
			goto out;
		}
	}
	rc = 0;
out:
	cJSON_Delete(j);
	return rc;
}

/* ---- signatures ---- */

int kh_trust_sigs_parse(const cJSON *arr, struct kh_sigs *s, const char **why)
{
	static const char *const allowed[] = {"keyid", "sig", NULL};
	const cJSON *e;

	s->n = 0;
	if (!cJSON_IsArray(arr)) {
		*why = "signatures: expected an array";
		return -EBADMSG;
	}
	cJSON_ArrayForEach (e, arr) {
		if (s->n >= KH_TRUST_MAX_SIGS) {
			*why = "signatures: more than 32";
			return -EBADMSG;
		}
		if (!cJSON_IsObject(e) || kh_json_unknown_key(e, allowed) ||
		    hex_field(e, "keyid", s->keyid[s->n], KH_KEYID_LEN) < 0 ||
		    hex_field(e, "sig", s->sig[s->n], KH_ECDSA_SIG_LEN) < 0) {
			*why = "signatures: each must be {\"keyid\": 16 hex, \"sig\": 128 hex}";
			return -EBADMSG;
		}
		s->n++;
	}
	return 0;
}

static const struct kh_pubkey *find_key(const struct kh_root *r, const uint8_t *id)
{
	for (unsigned i = 0; i < r->nkeys; i++)
		if (memcmp(r->keys[i].id, id, KH_KEYID_LEN) == 0)
			return &r->keys[i];
	return NULL;
}

unsigned kh_trust_sigs_count(const struct kh_root *r, const struct kh_role *role,
			     const struct kh_sigs *s, const uint8_t digest[32])
{
	unsigned n = 0;
	int counted[KH_TRUST_MAX_KEYS] = {0};

	for (unsigned i = 0; i < s->n; i++)
		for (unsigned k = 0; k < role->nkeys; k++) {
			const struct kh_pubkey *pk;
			if (counted[k] || memcmp(role->keyids[k], s->keyid[i], KH_KEYID_LEN) != 0)
				continue;
			pk = find_key(r, role->keyids[k]);
			if (pk && kh_ecdsa_verify(&pk->pub, digest, s->sig[i]) == 0) {
				counted[k] = 1;
				n++;
			}
		}
	return n;
}

/* ---- roots ---- */

static int parse_role(const cJSON *o, const struct kh_root *r, struct kh_role *role,
		      const char **why)
{
	static const char *const allowed[] = {"keyids", "threshold", NULL};
	const cJSON *ids = cJSON_GetObjectItemCaseSensitive(o, "keyids"), *e;
	uint64_t th;

	memset(role, 0, sizeof(*role));
	if (!cJSON_IsObject(o) || kh_json_unknown_key(o, allowed) || !cJSON_IsArray(ids) ||
	    get_u64(o, "threshold", 1, &th) < 0) {
		*why = "root: a role must be {\"keyids\": [...], \"threshold\": N >= 1}";
		return -EBADMSG;
	}
	cJSON_ArrayForEach (e, ids) {
		if (role->nkeys >= KH_TRUST_MAX_KEYS || !cJSON_IsString(e) ||
		    strlen(e->valuestring) != 2 * KH_KEYID_LEN ||
		    kh_hex_decode(e->valuestring, role->keyids[role->nkeys], KH_KEYID_LEN) < 0 ||
		    !find_key(r, role->keyids[role->nkeys])) {
			*why = "root: a role names a key that is not in \"keys\"";
			return -EBADMSG;
		}
		for (unsigned k = 0; k < role->nkeys; k++)
			if (memcmp(role->keyids[k], role->keyids[role->nkeys], KH_KEYID_LEN) == 0) {
				*why = "root: a role lists a key twice";
				return -EBADMSG;
			}
		role->nkeys++;
	}
	if (th > role->nkeys) {
		*why = "root: a role's threshold is larger than its number of keys";
		return -EBADMSG;
	}
	role->threshold = (unsigned)th;
	return 0;
}

static int parse_root_signed(const cJSON *sg, struct kh_root *r, const char **why)
{
	static const char *const allowed[] = {"_type", "version", "expires", "keys", "roles", NULL};
	static const char *const roles_allowed[] = {"root", "policy", "firmware", NULL};
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(sg, "_type");
	const cJSON *keys = cJSON_GetObjectItemCaseSensitive(sg, "keys");
	const cJSON *roles = cJSON_GetObjectItemCaseSensitive(sg, "roles"), *k;
	const char *bad;
	uint64_t exp;

	memset(r, 0, sizeof(*r));
	if (!cJSON_IsObject(sg)) {
		*why = "root: \"signed\" must be an object";
		return -EBADMSG;
	}
	if ((bad = kh_json_unknown_key(sg, allowed))) {
		*why = "root: unknown field in \"signed\" (refused: it could change the meaning)";
		return -EBADMSG;
	}
	if (!cJSON_IsString(t) || strcmp(t->valuestring, "khien-root") != 0 ||
	    get_u64(sg, "version", 1, &r->version) < 0 || get_u64(sg, "expires", 0, &exp) < 0) {
		*why = "root: needs _type \"khien-root\", version >= 1 and expires (Unix time)";
		return -EBADMSG;
	}
	r->expires = (int64_t)exp;
	if (!cJSON_IsObject(keys) || !cJSON_IsObject(roles) ||
	    kh_json_unknown_key(roles, roles_allowed)) {
		*why = "root: needs \"keys\" and \"roles\" {root, policy}";
		return -EBADMSG;
	}
	cJSON_ArrayForEach (k, keys) {
		static const char *const kallowed[] = {"public", NULL};
		struct kh_pubkey *pk = &r->keys[r->nkeys];
		uint8_t id[KH_KEYID_LEN];
		if (r->nkeys >= KH_TRUST_MAX_KEYS) {
			*why = "root: more than 16 keys";
			return -EBADMSG;
		}
		if (!cJSON_IsObject(k) || kh_json_unknown_key(k, kallowed) ||
		    hex_field(k, "public", pk->pub.q, sizeof(pk->pub.q)) < 0 ||
		    kh_ecdsa_pub_check(&pk->pub) < 0) {
			*why = "root: a key is not {\"public\": P-256 point in hex}";
			return -EBADMSG;
		}
		kh_keyid(&pk->pub, pk->id);
		if (strlen(k->string) != 2 * KH_KEYID_LEN ||
		    kh_hex_decode(k->string, id, sizeof(id)) < 0 ||
		    memcmp(id, pk->id, sizeof(id))) {
			*why = "root: a key's id does not match its public key";
			return -EBADMSG;
		}
		r->nkeys++;
	}
	if (parse_role(cJSON_GetObjectItemCaseSensitive(roles, "root"), r, &r->root, why) < 0 ||
	    parse_role(cJSON_GetObjectItemCaseSensitive(roles, "policy"), r, &r->policy, why) < 0)
		return -EBADMSG;
	/* optional: roots made before firmware signing still parse (and verify no firmware) */
	if (cJSON_GetObjectItemCaseSensitive(roles, "firmware")) {
		if (parse_role(cJSON_GetObjectItemCaseSensitive(roles, "firmware"), r, &r->firmware,
			       why) < 0)
			return -EBADMSG;
		/* one key, one job: a policy key never signs firmware, nor the reverse */
		for (unsigned i = 0; i < r->firmware.nkeys; i++)
			for (unsigned j = 0; j < r->policy.nkeys; j++)
				if (!memcmp(r->firmware.keyids[i], r->policy.keyids[j],
					    KH_KEYID_LEN)) {
					*why = "root: a key serves both the policy and the "
					       "firmware role";
					return -EBADMSG;
				}
	}
	return 0;
}

/* Parse root text: fills r and the digest of its canonical signed part, and its signatures. */
static int root_load(const char *text, size_t len, struct kh_root *r, uint8_t digest[32],
		     struct kh_sigs *s, const char **why)
{
	static const char *const allowed[] = {"signed", "signatures", NULL};
	cJSON *j;
	char *canon = NULL;
	size_t clen;
	int rc = -EBADMSG;

	if (len > KH_ROOT_MAX_BYTES) {
		*why = "root: larger than 64 KiB";
		return -E2BIG;
	}
	j = cJSON_ParseWithLength(text, len);
	if (!cJSON_IsObject(j) || kh_json_unknown_key(j, allowed)) {
		*why = "root: not a JSON object {\"signed\": ..., \"signatures\": [...]}";
		goto out;
	}
	if (parse_root_signed(cJSON_GetObjectItemCaseSensitive(j, "signed"), r, why) < 0 ||
	    kh_trust_sigs_parse(cJSON_GetObjectItemCaseSensitive(j, "signatures"), s, why) < 0)
		goto out;
	if (kh_canon_json(cJSON_GetObjectItemCaseSensitive(j, "signed"), &canon, &clen) < 0) {
		*why = "root: \"signed\" has no canonical form";
		goto out;
	}
	kh_trust_digest(KH_TRUST_ROOT, canon, clen, digest);
	rc = 0;
out:
	free(canon);
	cJSON_Delete(j);
	return rc;
}

int kh_root_parse(const char *text, size_t len, struct kh_root *r, const char **why)
{
	uint8_t d[32];
	struct kh_sigs s;

	return root_load(text, len, r, d, &s, why);
}

int kh_root_verify_self(const char *text, size_t len, struct kh_root *r, char *why, size_t whylen)
{
	uint8_t d[32];
	struct kh_sigs s;
	const char *w;
	unsigned n;

	if (root_load(text, len, r, d, &s, &w) < 0) {
		snprintf(why, whylen, "%s", w);
		return -EBADMSG;
	}
	n = kh_trust_sigs_count(r, &r->root, &s, d);
	if (n < r->root.threshold) {
		snprintf(why, whylen, "root v%llu: %u valid root signature(s), %u needed",
			 (unsigned long long)r->version, n, r->root.threshold);
		return -EPERM;
	}
	return 0;
}

int kh_root_verify_next(const struct kh_root *cur, const char *text, size_t len,
			struct kh_root *next, char *why, size_t whylen)
{
	uint8_t d[32];
	struct kh_sigs s;
	const char *w;
	unsigned old_n, new_n;

	if (root_load(text, len, next, d, &s, &w) < 0) {
		snprintf(why, whylen, "%s", w);
		return -EBADMSG;
	}
	if (next->version != cur->version + 1) {
		snprintf(why, whylen, "root v%llu does not follow the trusted root v%llu",
			 (unsigned long long)next->version, (unsigned long long)cur->version);
		return -ESTALE;
	}
	old_n = kh_trust_sigs_count(cur, &cur->root, &s, d);
	new_n = kh_trust_sigs_count(next, &next->root, &s, d);
	if (old_n < cur->root.threshold || new_n < next->root.threshold) {
		snprintf(why, whylen,
			 "root v%llu: signed by %u of the old root keys (%u needed) and %u of its "
			 "own "
			 "(%u needed)",
			 (unsigned long long)next->version, old_n, cur->root.threshold, new_n,
			 next->root.threshold);
		return -EPERM;
	}
	return 0;
}

/* ---- root chains ---- */

int kh_root_chain_walk(const struct kh_root *anchor, const char *chain, size_t len,
		       struct kh_root *out, char **verified, char *why, size_t whylen)
{
	cJSON *j = NULL, *ok = cJSON_CreateArray(), *e;
	unsigned n = 0;
	int rc = -EBADMSG;

	*out = *anchor;
	*verified = NULL;
	if (!ok)
		return -ENOMEM;
	if (len > KH_ROOT_CHAIN_MAX_BYTES) {
		snprintf(why, whylen, "root chain: over %d bytes", KH_ROOT_CHAIN_MAX_BYTES);
		goto out;
	}
	j = cJSON_ParseWithLength(chain, len);
	if (!cJSON_IsArray(j)) {
		snprintf(why, whylen, "root chain: not a JSON array of root documents");
		goto out;
	}
	cJSON_ArrayForEach (e, j) {
		char *t = cJSON_PrintUnformatted(e);
		struct kh_root r, next;
		const char *w;
		int err;

		if (!t) {
			rc = -ENOMEM;
			goto out;
		}
		if (++n > KH_ROOT_CHAIN_MAX) {
			snprintf(why, whylen, "root chain: more than %d roots", KH_ROOT_CHAIN_MAX);
			free(t);
			goto out;
		}
		if (kh_root_parse(t, strlen(t), &r, &w) < 0) {
			snprintf(why, whylen, "root chain entry %u: %s", n, w);
			free(t);
			goto out;
		}
		if (r.version <= out->version) {
			free(t);
			continue;
		}
		err = kh_root_verify_next(out, t, strlen(t), &next, why, whylen);
		free(t);
		if (err < 0) {
			rc = err;
			goto out;
		}
		*out = next;
		cJSON_AddItemReferenceToArray(ok, e);
	}
	rc = 0;
	snprintf(why, whylen, "ok");
out:
	*verified = cJSON_PrintUnformatted(ok);
	cJSON_Delete(ok);
	cJSON_Delete(j);
	return rc;
}

int kh_root_chain_append(char **chain, const char *root, size_t len)
{
	cJSON *j = *chain ? cJSON_Parse(*chain) : cJSON_CreateArray();
	cJSON *r = cJSON_ParseWithLength(root, len);
	char *t;
	int rc = -EINVAL;

	if (!cJSON_IsArray(j) || !cJSON_IsObject(r))
		goto out;
	cJSON_AddItemToArray(j, r);
	r = NULL;
	rc = -ENOMEM;
	if (!(t = cJSON_PrintUnformatted(j)))
		goto out;
	free(*chain);
	*chain = t;
	rc = 0;
out:
	cJSON_Delete(r);
	cJSON_Delete(j);
	return rc;
}

/* ---- bundles ---- */

/*
 * A component name becomes a file name in the slot directory: what
 * kh_bundle_name_problem() accepts (policy/bundle_name.h, shared with the
 * bundle tool), with precise reasons for the common attacks first. NULL if
 * fine, else why (in buf, cap >= 96).
 */
static const char *name_refused(const char *s, char *buf, size_t cap)
{
	size_t n = strlen(s);

	if (n == 0)
		return "manifest: a component has an empty name";
	if (n > KH_BUNDLE_NAME_MAX)
		return "manifest: a component name is longer than 32 characters";
	if (!strcmp(s, ".") || !strcmp(s, "..")) {
		snprintf(buf, cap, "manifest: component name \"%s\" names a directory, not a file",
			 s);
		return buf;
	}
	if (!strcmp(s, "manifest"))
		return "manifest: component name \"manifest\" is reserved (the slot's signed "
		       "manifest)";
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
		      c == '.')) {
			snprintf(buf, cap,
				 "manifest: component name has byte 0x%02x at offset %zu (only "
				 "[a-z0-9._-]: a plain file name)",
				 c, i);
			return buf;
		}
	}
	/* the tool's rule, whole: what the bundle tool refuses, the device refuses */
	if (kh_bundle_name_problem(s)) {
		snprintf(buf, cap, "manifest: component \"%s\": %s", s, kh_bundle_name_problem(s));
		return buf;
	}
	return NULL;
}

/* Whether canonical JSON text holds an escaped NUL ("\u0000"), which cJSON would cut at. */
static int has_nul_escape(const char *t, size_t len)
{
	for (size_t i = 0; i + 1 < len; i++)
		if (t[i] == '\\') {
			if (t[i + 1] == 'u' && len - i >= 6 && !memcmp(t + i + 2, "0000", 4))
				return 1;
			i++; /* the escaped character */
		}
	return 0;
}

/* The manifest's numbers and switch, by table (lib/jsonfield.h). */
static const struct kh_json_field manifest_fields[] = {
	KH_JSON_F_UINT("version", 1, 1, KH_JSON_INT_MAX, struct kh_bundle, version),
	KH_JSON_F_UINT("expires", 1, 0, KH_JSON_INT_MAX, struct kh_bundle, expires),
	KH_JSON_F_UINT("created", 1, 0, KH_JSON_INT_MAX, struct kh_bundle, created),
	KH_JSON_F_BOOL("reset", 1, struct kh_bundle, reset),
	KH_JSON_F_UINT("epoch", 0, 1, KH_JSON_INT_MAX, struct kh_bundle, epoch), /* 0: absent */
};

static int parse_manifest(const cJSON *m, struct kh_bundle *b, const char **why, char *buf,
			  size_t cap)
{
	static const char *const allowed[] = {"_type",	  "version", "expires",	   "created",
					      "reset",	  "targets", "components", "epoch",
					      "replaces", NULL};
	static const char *const callowed[] = {"name", "length", "sha256", NULL};
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(m, "_type");
	const cJSON *targets = cJSON_GetObjectItemCaseSensitive(m, "targets");
	const cJSON *comps = cJSON_GetObjectItemCaseSensitive(m, "components"), *e;

	if (!cJSON_IsObject(m)) {
		*why = "manifest: not a JSON object";
		return -EBADMSG;
	}
	if (kh_json_unknown_key(m, allowed)) {
		*why = "manifest: unknown field (refused: it could change the meaning)";
		return -EBADMSG;
	}
	if (!cJSON_IsString(t) || strcmp(t->valuestring, "khien-bundle") != 0 ||
	    !cJSON_IsArray(targets) || !cJSON_IsArray(comps)) {
		*why = "manifest: needs _type \"khien-bundle\", targets and components";
		return -EBADMSG;
	}
	if (kh_json_parse_fields(m, manifest_fields, KH_ARRAY_SIZE(manifest_fields), b, "manifest",
				 buf, cap) < 0) {
		*why = buf;
		return -EBADMSG;
	}
	/* a non-reset's replaces is absent: one encoding per meaning */
	if (b->reset && (get_u64(m, "replaces", 1, &b->replaces) < 0 || b->epoch == 0)) {
		*why = "manifest: a reset must name the version it replaces and the epoch it "
		       "starts "
		       "(khien-policy bundle --reset --replaces V --epoch N)";
		return -EBADMSG;
	}
	if (!b->reset && cJSON_GetObjectItemCaseSensitive(m, "replaces")) {
		*why = "manifest: replaces is only for a reset";
		return -EBADMSG;
	}
	cJSON_ArrayForEach (e, targets) {
		if (b->ntargets >= KH_BUNDLE_MAX_TARGETS || !cJSON_IsString(e) ||
		    strlen(e->valuestring) == 0 || strlen(e->valuestring) > KH_HWID_MAX) {
			*why = "manifest: targets must be at most 64 strings of 1-64 characters";
			return -EBADMSG;
		}
		strcpy(b->targets[b->ntargets++], e->valuestring);
	}
	cJSON_ArrayForEach (e, comps) {
		struct kh_component *c = &b->comp[b->ncomp];
		const cJSON *n = cJSON_GetObjectItemCaseSensitive(e, "name");
		if (b->ncomp >= KH_BUNDLE_MAX_COMPONENTS) {
			*why = "manifest: more than 16 components";
			return -EBADMSG;
		}
		if (!cJSON_IsObject(e) || kh_json_unknown_key(e, callowed) || !cJSON_IsString(n) ||
		    get_u64(e, "length", 0, &c->length) < 0 ||
		    hex_field(e, "sha256", c->sha256, sizeof(c->sha256)) < 0) {
			*why = "manifest: a component must be {name [a-z0-9._-]{1,32}, length, "
			       "sha256}";
			return -EBADMSG;
		}
		if ((*why = name_refused(n->valuestring, buf, cap)))
			return -EBADMSG;
		strcpy(c->name, n->valuestring);
		for (unsigned k = 0; k < b->ncomp; k++)
			if (strcmp(b->comp[k].name, c->name) == 0) {
				*why = "manifest: two components with the same name";
				return -EBADMSG;
			}
		b->ncomp++;
	}
	if (b->ncomp == 0) {
		*why = "manifest: no component";
		return -EBADMSG;
	}
	return 0;
}

const struct kh_component *kh_bundle_component(const struct kh_bundle *b, const char *name)
{
	for (unsigned i = 0; i < b->ncomp; i++)
		if (strcmp(b->comp[i].name, name) == 0)
			return &b->comp[i];
	return NULL;
}

/* Walk root components "root.N" in version order from ctx->root. */
static int walk_roots(const uint8_t *data, const struct kh_bundle *b, const struct kh_root *start,
		      struct kh_root *out, char *why, size_t whylen)
{
	struct kh_root cur = *start;

	for (;;) {
		char want[KH_BUNDLE_NAME_MAX + 1];
		const struct kh_component *c;
		struct kh_root next;
		int err;

		snprintf(want, sizeof(want), "root.%llu", (unsigned long long)cur.version + 1);
		c = kh_bundle_component(b, want);
		if (!c)
			break;
		err = kh_root_verify_next(&cur, (const char *)data + c->offset, c->length, &next,
					  why, whylen);
		if (err < 0)
			return err;
		cur = next;
	}
	*out = cur;
	return 0;
}

/*
 * Header, manifest and signatures of a bundle (the envelope), which must lie
 * within len bytes. Fills b (schema checked, component offsets not yet) and
 * sigs. 0, or -EBADMSG / -E2BIG with why.
 */
static int envelope_parse(const uint8_t *data, size_t len, struct kh_bundle *b,
			  struct kh_sigs *sigs, char *why, size_t whylen)
{
	uint32_t m_len, s_len;
	cJSON *man = NULL, *sg = NULL;
	const char *w = NULL;
	int rc = -EBADMSG;

	memset(b, 0, sizeof(*b));
	if (len < KH_BUNDLE_HEADER_LEN || memcmp(data, KH_BUNDLE_MAGIC, 8) != 0) {
		snprintf(why, whylen, "bundle: not a Khien bundle or truncated before its header");
		return -EBADMSG;
	}
	if (kh_le32(data + 8) != 1 || kh_le32(data + 20) != 0) {
		snprintf(why, whylen, "bundle: unsupported format version or reserved field set");
		return -EBADMSG;
	}
	m_len = kh_le32(data + 12);
	s_len = kh_le32(data + 16);
	if (m_len > KH_BUNDLE_MANIFEST_MAX || s_len > KH_BUNDLE_SIGS_MAX) {
		snprintf(why, whylen, "bundle: manifest or signatures over their size limits");
		return -E2BIG;
	}
	if ((uint64_t)KH_BUNDLE_HEADER_LEN + m_len + s_len > len) {
		snprintf(why, whylen, "bundle: truncated (manifest or signatures cut short)");
		return -EBADMSG;
	}
	b->manifest_off = KH_BUNDLE_HEADER_LEN;
	b->manifest_len = m_len;
	b->envelope_len = (size_t)KH_BUNDLE_HEADER_LEN + m_len + s_len;
	if (has_nul_escape((const char *)data + KH_BUNDLE_HEADER_LEN, m_len)) {
		snprintf(why, whylen, "manifest: a string holds a NUL character (\\u0000)");
		goto out;
	}
	man = kh_canon_parse((const char *)data + KH_BUNDLE_HEADER_LEN, m_len, &w);
	if (!man) {
		snprintf(why, whylen, "manifest: %s", w);
		goto out;
	}
	if (parse_manifest(man, b, &w, why, whylen) < 0) {
		if (w != why)
			snprintf(why, whylen, "%s", w);
		goto out;
	}
	sg = kh_canon_parse((const char *)data + KH_BUNDLE_HEADER_LEN + m_len, s_len, &w);
	if (!sg) {
		snprintf(why, whylen, "signatures: %s", w);
		goto out;
	}
	if (kh_trust_sigs_parse(sg, sigs, &w) < 0) {
		snprintf(why, whylen, "%s", w);
		goto out;
	}
	rc = 0;
out:
	cJSON_Delete(man);
	cJSON_Delete(sg);
	return rc;
}

/* A threshold of the right role of root signed the manifest: policy, or root for a reset. */
static int envelope_signed(const uint8_t *data, const struct kh_bundle *b,
			   const struct kh_sigs *sigs, const struct kh_root *root, char *why,
			   size_t whylen)
{
	const struct kh_role *role = b->reset ? &root->root : &root->policy;
	uint8_t digest[32];
	unsigned n;

	kh_trust_digest(KH_TRUST_BUNDLE, data + b->manifest_off, b->manifest_len, digest);
	n = kh_trust_sigs_count(root, role, sigs, digest);
	if (n < role->threshold) {
		snprintf(why, whylen, "signatures: %u valid %s signature(s), %u needed", n,
			 b->reset ? "root (reset)" : "policy", role->threshold);
		return -EPERM;
	}
	return 0;
}

static int targets_match(const struct kh_bundle *b, const char *hwid, char *why, size_t whylen)
{
	if (!b->ntargets)
		return 0;
	for (unsigned i = 0; i < b->ntargets; i++)
		if (hwid && strcmp(hwid, b->targets[i]) == 0)
			return 0;
	snprintf(why, whylen, "bundle is for other hardware (this device: %s)",
		 hwid ? hwid : "no hardware id");
	return -EPERM;
}

int kh_bundle_verify_envelope(const uint8_t *env, size_t env_len, const struct kh_root *root,
			      const char *hwid, struct kh_bundle *b, char *why, size_t whylen)
{
	struct kh_sigs sigs;
	int rc = envelope_parse(env, env_len, b, &sigs, why, whylen);

	if (rc < 0)
		return rc;
	if (b->envelope_len != env_len) {
		snprintf(why, whylen, "envelope: %zu bytes after the signatures",
			 env_len - b->envelope_len);
		return -EBADMSG;
	}
	if ((rc = envelope_signed(env, b, &sigs, root, why, whylen)) < 0 ||
	    (rc = targets_match(b, hwid, why, whylen)) < 0)
		return rc;
	snprintf(why, whylen, "ok");
	return 0;
}

/* The version rules of trust.h. */
static int epoch_check(const struct kh_bundle *b, const struct kh_verify_ctx *ctx, char *why,
		       size_t whylen)
{
	unsigned long long v = b->version, e = b->epoch, av = ctx->active_version, ae = ctx->epoch;

	if (b->reset) {
		if (b->epoch <= ctx->epoch) {
			snprintf(why, whylen,
				 "reset to epoch %llu: the device is already in epoch %llu "
				 "(replayed "
				 "or superseded reset)",
				 e, ae);
			return -ESTALE;
		}
		if (av && b->replaces != av) {
			snprintf(why, whylen,
				 "reset replaces version %llu, but the active version is %llu",
				 (unsigned long long)b->replaces, av);
			return -ESTALE;
		}
		return 0;
	}
	if (b->epoch < ctx->epoch) {
		snprintf(why, whylen,
			 "bundle v%llu is of epoch %llu, ended by a reset (the device is in epoch "
			 "%llu)",
			 v, e, ae);
		return -ESTALE;
	}
	if (av && b->epoch != ctx->epoch) {
		snprintf(why, whylen,
			 "bundle v%llu is of epoch %llu: the device is in epoch %llu and changes "
			 "epoch only by a reset",
			 v, e, ae);
		return -ESTALE;
	}
	if (b->version < av || (b->version == av && !ctx->floor_missing)) {
		snprintf(why, whylen,
			 "version %llu is not newer than the active version %llu (rollback)", v,
			 av);
		return -ESTALE;
	}
	return 0;
}

int kh_bundle_verify(const uint8_t *data, size_t len, const struct kh_verify_ctx *ctx,
		     struct kh_bundle *b, struct kh_root *new_root, char *why, size_t whylen)
{
	uint64_t off;
	struct kh_sigs sigs;
	int rc;

	if ((rc = envelope_parse(data, len, b, &sigs, why, whylen)) < 0)
		return rc;
	rc = -EBADMSG;
	/* Lay the components out; the file must end exactly after the last one. */
	off = b->envelope_len;
	for (unsigned i = 0; i < b->ncomp; i++) {
		if (ctx->max_component && b->comp[i].length > ctx->max_component) {
			snprintf(why, whylen, "component %s: %llu bytes, over the limit of %llu",
				 b->comp[i].name, (unsigned long long)b->comp[i].length,
				 (unsigned long long)ctx->max_component);
			return -E2BIG;
		}
		b->comp[i].offset = off;
		off += b->comp[i].length;
		if (off > len) {
			snprintf(why, whylen, "bundle: truncated (component %s cut short)",
				 b->comp[i].name);
			return -EBADMSG;
		}
	}
	if (off != len) {
		snprintf(why, whylen,
			 "bundle: %llu bytes of trailing data after the last component",
			 (unsigned long long)(len - off));
		return -EBADMSG;
	}
	/* Root components first: they are verified by the chain, not by the manifest. */
	for (unsigned i = 0; i < b->ncomp; i++) {
		uint8_t h[32];
		if (strncmp(b->comp[i].name, "root.", 5) != 0)
			continue;
		kh_sha256(data + b->comp[i].offset, b->comp[i].length, h);
		if (memcmp(h, b->comp[i].sha256, 32) != 0) {
			snprintf(why, whylen,
				 "component %s: SHA-256 mismatch (tampered or swapped)",
				 b->comp[i].name);
			return -EBADMSG;
		}
	}
	rc = walk_roots(data, b, ctx->root, new_root, why, whylen);
	if (rc < 0)
		return rc;
	if (new_root->expires <= ctx->now) {
		char t[48];
		kh_fmt_utc(new_root->expires, t, sizeof(t));
		snprintf(why, whylen, "trust root v%llu expired at %s (freeze)",
			 (unsigned long long)new_root->version, t);
		return -ESTALE;
	}
	if ((rc = envelope_signed(data, b, &sigs, new_root, why, whylen)) < 0)
		return rc;
	if ((rc = epoch_check(b, ctx, why, whylen)) < 0)
		return rc;
	if (b->expires <= ctx->now) {
		char t[48];
		kh_fmt_utc(b->expires, t, sizeof(t));
		snprintf(why, whylen, "bundle v%llu expired at %s (freeze)",
			 (unsigned long long)b->version, t);
		return -ESTALE;
	}
	if ((rc = targets_match(b, ctx->hwid, why, whylen)) < 0)
		return rc;
	for (unsigned i = 0; i < b->ncomp; i++) {
		uint8_t h[32];
		kh_sha256(data + b->comp[i].offset, b->comp[i].length, h);
		if (!kh_ct_memeq(h, b->comp[i].sha256, 32)) {
			snprintf(why, whylen,
				 "component %s: SHA-256 mismatch (tampered or swapped)",
				 b->comp[i].name);
			return -EBADMSG;
		}
	}
	snprintf(why, whylen, "ok");
	return 0;
}
