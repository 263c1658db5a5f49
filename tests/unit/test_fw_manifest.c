/* SPDX-License-Identifier: MIT */
/*
 * Firmware manifests (firmware/manifest.c) with keys and roots made here:
 * the firmware role and its threshold, the separation from the policy role
 * both ways (a policy key's manifest, a firmware key's bundle, one key in
 * both roles, the digests of each document kind), the parser's refusals
 * with their JSON paths, streamed hashing in uneven pieces with parts, and
 * root-signed counter resets; then the device's firmware state
 * (agent/fw_store.c) in a scratch directory: commits that never lower the
 * counter, a counter that survives reopening, corrupt, torn and deleted
 * counter files, and resets that apply once.
 */
#define _DEFAULT_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "kt.h"
#include "agent/fw_store.h"
#include "platform/fs.h"
#include "firmware/manifest.h"
#include "lib/err.h"
#include "tools/khien-policy/fw_build.h"
#include "tools/khien-policy/trust_build.h"

static struct kh_ecdsa_priv rk, pk, fk[2];
static struct kh_pubkey rp, pp, fp[2];
static struct kh_root root, root_nofw;
static char why[320];
static uint8_t image[100000];

static void keypair(struct kh_drbg *rng, struct kh_ecdsa_priv *priv, struct kh_pubkey *pub)
{
	if (kh_ecdsa_keygen(rng, priv, &pub->pub) < 0)
		abort();
	kh_keyid(&pub->pub, pub->id);
}

static int make_root(struct kh_drbg *rng, unsigned nfw, unsigned th, struct kh_root *out)
{
	char *doc = NULL, w2[256];
	const char *w;
	int err = kh_root_create_fw(1, 4000000000LL, &rp, 1, 1, &pp, 1, 1, fp, nfw, th, &doc);

	if (err == 0)
		err = kh_root_add_signature(&doc, &rk, &rp, rng, &w);
	if (err == 0)
		err = kh_root_verify_self(doc, strlen(doc), out, w2, sizeof(w2));
	free(doc);
	return err;
}

static int fixture(void)
{
	struct kh_drbg rng;

	if (kh_drbg_init(&rng, "test-fw-manifest") < 0)
		return -1;
	keypair(&rng, &rk, &rp);
	keypair(&rng, &pk, &pp);
	keypair(&rng, &fk[0], &fp[0]);
	keypair(&rng, &fk[1], &fp[1]);
	for (size_t i = 0; i < sizeof(image); i++)
		image[i] = (uint8_t)(i * 7 + (i >> 9));
	if (make_root(&rng, 2, 2, &root) < 0 || make_root(&rng, 0, 0, &root_nofw) < 0)
		return -1;
	kh_drbg_free(&rng);
	return 0;
}

/* A manifest of image with one part and a counter, signed by n keys from keys/pubs. */
static char *manifest_counter(const struct kh_ecdsa_priv *keys, const struct kh_pubkey *pubs,
			      unsigned n, const char *extra, uint64_t counter, size_t *len)
{
	struct kh_fw_manifest m;
	struct kh_fw_hash h;
	char *t = NULL;

	memset(&m, 0, sizeof(m));
	strcpy(m.version, "23.05.3-khien1");
	m.counter = counter;
	m.created = 1800000000;
	m.nhw = 2;
	strcpy(m.hw[0], "tplink,archer-c6-v3");
	strcpy(m.hw[1], "khien,test");
	m.nparts = 1;
	strcpy(m.parts[0].name, "rootfs");
	m.parts[0].offset = 4096;
	m.parts[0].length = 60000;
	m.length = sizeof(image);
	kh_fw_hash_image(&h, &m);
	kh_fw_hash_update(&h, image, sizeof(image));
	kh_sha256_final(&h.all, m.sha256);
	kh_sha256_final(&h.part[0], m.parts[0].sha256);
	KT_EQ(kh_fw_manifest_build(&m, keys, pubs, n, extra, &t, len), 0);
	return t;
}

/* The same with counter 7. */
static char *manifest_by(const struct kh_ecdsa_priv *keys, const struct kh_pubkey *pubs, unsigned n,
			 const char *extra, size_t *len)
{
	return manifest_counter(keys, pubs, n, extra, 7, len);
}

static void test_valid_and_threshold(void)
{
	struct kh_fw_manifest m;
	size_t len;
	char *t = manifest_by(fk, fp, 2, NULL, &len);

	KT_EQ(kh_fw_manifest_verify(t, len, &root, &m, why, sizeof(why)), 0);
	KT_STREQ(m.version, "23.05.3-khien1");
	KT_EQ(m.counter, 7);
	KT_EQ(m.nparts, 1);
	KT_CHECK(kh_fw_manifest_part(&m, "rootfs") != NULL);
	KT_EQ(kh_fw_manifest_allowed(&m, "khien,test", 7, why, sizeof(why)), 0);
	KT_EQ(kh_fw_manifest_allowed(&m, "other,board", 0, why, sizeof(why)), -EPERM);
	KT_CHECK(strncmp(why, "hardware:", 9) == 0);
	KT_EQ(kh_fw_manifest_allowed(&m, "khien,test", 8, why, sizeof(why)), -ESTALE);
	KT_CHECK(strncmp(why, "rollback:", 9) == 0);
	KT_EQ(kh_fw_manifest_verify(t, len, &root_nofw, &m, why, sizeof(why)), -EPERM);
	KT_STREQ(why, "signature: trust root has no firmware role");
	free(t);
	/* one firmware key of the two the root asks for */
	t = manifest_by(fk, fp, 1, NULL, &len);
	KT_EQ(kh_fw_manifest_verify(t, len, &root, &m, why, sizeof(why)), -EPERM);
	KT_CHECK(strstr(why, "1 valid firmware signature(s), 2 needed") != NULL);
	free(t);
	/* the same key twice counts once */
	{
		struct kh_ecdsa_priv k2[2] = {fk[0], fk[0]};
		struct kh_pubkey p2[2] = {fp[0], fp[0]};
		t = manifest_by(k2, p2, 2, NULL, &len);
		KT_EQ(kh_fw_manifest_verify(t, len, &root, &m, why, sizeof(why)), -EPERM);
		free(t);
	}
}

static void test_roles_separate(void)
{
	struct kh_fw_manifest m;
	struct kh_bundle b;
	struct kh_root nr;
	struct kh_bundle_input c = {"blocklist", (const uint8_t *)"x", 1};
	struct kh_bundle_spec s = {.version = 1,
				   .created = 1800000000,
				   .expires = 3900000000LL,
				   .comp = &c,
				   .ncomp = 1,
				   .keys = fk,
				   .pubs = fp,
				   .nkeys = 2};
	struct kh_verify_ctx ctx = {&root, 0, 1800000001, NULL, 0, 0, 0};
	uint8_t *bundle = NULL, d[4][32];
	size_t len;
	char *t, *doc = NULL;
	const char *w;

	/* a policy key's (and the root key's) manifest is no firmware manifest */
	t = manifest_by(&pk, &pp, 1, NULL, &len);
	KT_EQ(kh_fw_manifest_verify(t, len, &root, &m, why, sizeof(why)), -EPERM);
	KT_CHECK(strstr(why, "0 valid firmware signature(s)") != NULL);
	free(t);
	t = manifest_by(&rk, &rp, 1, NULL, &len);
	KT_EQ(kh_fw_manifest_verify(t, len, &root, &m, why, sizeof(why)), -EPERM);
	free(t);
	/* firmware keys' bundle is no policy */
	KT_EQ(kh_bundle_build(&s, &bundle, &len), 0);
	KT_EQ(kh_bundle_verify(bundle, len, &ctx, &b, &nr, why, sizeof(why)), -EPERM);
	KT_CHECK(strstr(why, "0 valid policy signature(s)") != NULL);
	free(bundle);
	/* a root giving one key both jobs does not parse */
	KT_EQ(kh_root_create_fw(1, 4000000000LL, &rp, 1, 1, &pp, 1, 1, &pp, 1, 1, &doc), 0);
	KT_EQ(kh_root_parse(doc, strlen(doc), &nr, &w), -EBADMSG);
	KT_STREQ(w, "root: a key serves both the policy and the firmware role");
	free(doc);
	/* every kind of document has its own digest of the same bytes */
	for (int k = 0; k < 4; k++)
		kh_trust_digest((enum kh_trust_doc)k, "{}", 2, d[k]);
	for (int a = 0; a < 4; a++)
		for (int z = a + 1; z < 4; z++)
			KT_CHECK(memcmp(d[a], d[z], 32) != 0);
}

static void test_parse_refusals(void)
{
	struct kh_fw_manifest m;
	size_t len;
	char *t = manifest_by(fk, fp, 2, "rollback_ok=true", &len), *u;

	KT_EQ(kh_fw_manifest_parse(t, len, &m, why, sizeof(why)), -EBADMSG);
	KT_STREQ(why, "signed.rollback_ok: unknown field (refused: it could change the meaning)");
	free(t);
	t = manifest_by(fk, fp, 2, NULL, &len);
	/* not canonical: a space */
	u = malloc(len + 2);
	u[0] = ' ';
	memcpy(u + 1, t, len + 1);
	KT_EQ(kh_fw_manifest_parse(u, len + 1, &m, why, sizeof(why)), -EBADMSG);
	KT_CHECK(strncmp(why, "not canonical JSON", 18) == 0);
	free(u);
	/* a part past the image, a negative counter, a control character in the version */
	{
		static const struct {
			const char *from, *to, *why;
		} cases[] = {
			{"\"offset\":4096", "\"offset\":99999",
			 "signed.parts[0]: ends at byte 159999, past the image's 100000"},
			{"\"security_counter\":7", "\"security_counter\":-7",
			 "signed.security_counter: expected a whole number from 0 to "
			 "9007199254740991"},
			{"\"version\":\"23.05", "\"version\":\"\\u001b5", NULL},
			{"\"hardware\":[\"tplink,archer-c6-v3\",\"khien,test\"]", "\"hardware\":[]",
			 "signed.hardware: expected an array of 1 to 16 elements"},
		};
		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			char *p = strstr(t, cases[i].from), *v;
			size_t fl = strlen(cases[i].from), tl = strlen(cases[i].to);
			KT_CHECK(p != NULL);
			if (!p)
				continue;
			v = malloc(len + tl + 1);
			memcpy(v, t, (size_t)(p - t));
			memcpy(v + (p - t), cases[i].to, tl);
			strcpy(v + (p - t) + tl, p + fl);
			KT_CHECK(kh_fw_manifest_parse(v, strlen(v), &m, why, sizeof(why)) < 0 ||
				 !cases[i].why);
			if (cases[i].why)
				KT_STREQ(why, cases[i].why);
			free(v);
		}
	}
	free(t);
	KT_EQ(kh_fw_manifest_parse("{}", KH_FW_MANIFEST_MAX + 1, &m, why, sizeof(why)), -E2BIG);
}

static void test_streamed_hash(void)
{
	struct kh_fw_manifest m;
	struct kh_fw_hash h;
	size_t len, off = 0, step = 1;
	char *t = manifest_by(fk, fp, 2, NULL, &len);

	KT_EQ(kh_fw_manifest_verify(t, len, &root, &m, why, sizeof(why)), 0);
	free(t);
	/* pieces of 1, 2, 4 ... bytes: parts start and end inside pieces */
	kh_fw_hash_image(&h, &m);
	while (off < sizeof(image)) {
		size_t n = step < sizeof(image) - off ? step : sizeof(image) - off;
		kh_fw_hash_update(&h, image + off, n);
		off += n;
		step = step * 2 + 1;
	}
	KT_EQ(kh_fw_hash_final(&h, why, sizeof(why)), 0);
	/* a flipped byte inside the part only */
	image[5000] ^= 1;
	kh_fw_hash_image(&h, &m);
	kh_fw_hash_update(&h, image, sizeof(image));
	KT_EQ(kh_fw_hash_final(&h, why, sizeof(why)), -EBADMSG);
	KT_STREQ(why, "hash: SHA-256 of the image does not match the manifest");
	/* the part alone, as a running partition is checked */
	kh_fw_hash_range(&h, m.parts[0].length, m.parts[0].sha256, "partition");
	kh_fw_hash_update(&h, image + 4096, 60000);
	KT_EQ(kh_fw_hash_final(&h, why, sizeof(why)), -EBADMSG);
	image[5000] ^= 1;
	kh_fw_hash_range(&h, m.parts[0].length, m.parts[0].sha256, "partition");
	kh_fw_hash_update(&h, image + 4096, 60000);
	KT_EQ(kh_fw_hash_final(&h, why, sizeof(why)), 0);
	/* short */
	kh_fw_hash_image(&h, &m);
	kh_fw_hash_update(&h, image, sizeof(image) - 1);
	KT_EQ(kh_fw_hash_final(&h, why, sizeof(why)), -EBADMSG);
	KT_STREQ(why, "length: image ends at 99999 bytes, the manifest says 100000");
}

static void test_reset(void)
{
	struct kh_fw_reset r = {.counter = 3, .epoch = 2, .created = 1800000000, .nhw = 1}, got;
	char *t = NULL;
	size_t len;

	strcpy(r.hw[0], "khien,test");
	strcpy(r.nonce, "0123456789abcdef0123456789abcdef");
	KT_EQ(kh_fw_reset_build(&r, &rk, &rp, 1, &t, &len), 0);
	KT_EQ(kh_fw_reset_verify(t, len, &root, &got, why, sizeof(why)), 0);
	KT_EQ(got.counter, 3);
	KT_EQ(got.epoch, 2);
	KT_STREQ(got.nonce, r.nonce);
	/* not a manifest, and a manifest is not a reset */
	{
		struct kh_fw_manifest m;
		KT_CHECK(kh_fw_manifest_parse(t, len, &m, why, sizeof(why)) < 0);
	}
	free(t);
	/* firmware keys cannot reset the counter: only the root role */
	KT_EQ(kh_fw_reset_build(&r, fk, fp, 2, &t, &len), 0);
	KT_EQ(kh_fw_reset_verify(t, len, &root, &got, why, sizeof(why)), -EPERM);
	free(t);
}

static char sdir[] = "/tmp/kh-fwstore-XXXXXX";

static struct kh_fw_store *reopen(struct kh_fw_store *s)
{
	struct kh_fw_store *n = NULL;

	kh_fw_store_free(s);
	KT_EQ(kh_fw_store_open(sdir, &root, "khien,test", &n), 0);
	return n;
}

static int corrupt(const struct kh_fw_store *s)
{
	cJSON *o = cJSON_CreateObject();
	int c;

	kh_fw_store_status(s, o);
	c = cJSON_IsTrue(cJSON_GetObjectItem(o, "corrupt"));
	cJSON_Delete(o);
	return c;
}

/* The store's reset nonce while it is corrupt ("" when healthy). */
static void store_nonce(struct kh_fw_store *s, char out[KH_FW_NONCE_HEX + 1])
{
	cJSON *o = cJSON_CreateObject();
	const char *n;

	kh_fw_store_status(s, o);
	n = cJSON_GetStringValue(cJSON_GetObjectItem(o, "reset_nonce"));
	snprintf(out, KH_FW_NONCE_HEX + 1, "%s", n ? n : "");
	cJSON_Delete(o);
}

static char *reset_doc(uint64_t counter, uint64_t epoch, const char *nonce, size_t *len)
{
	struct kh_fw_reset r = {
		.counter = counter, .epoch = epoch, .created = 1800000000, .nhw = 1};
	char *t = NULL;

	strcpy(r.hw[0], "khien,test");
	snprintf(r.nonce, sizeof(r.nonce), "%s", nonce);
	KT_EQ(kh_fw_reset_build(&r, &rk, &rp, 1, &t, len), 0);
	return t;
}

static void test_store(void)
{
	struct kh_fw_store *s = NULL;
	struct kh_fw_manifest m;
	char path[64], *t7, *t3, *t9, *rs;
	size_t l7, l3, l9, lr;

	KT_CHECK(mkdtemp(sdir) != NULL);
	snprintf(path, sizeof(path), "%s/firmware/counter", sdir);
	t7 = manifest_counter(fk, fp, 2, NULL, 7, &l7);
	t3 = manifest_counter(fk, fp, 2, NULL, 3, &l3);
	t9 = manifest_counter(fk, fp, 2, NULL, 9, &l9);
	s = reopen(NULL);
	KT_CHECK(!corrupt(s));
	KT_EQ(kh_fw_store_check(s, t3, l3, &m, why, sizeof(why)), 0);
	KT_EQ(kh_fw_store_commit(s, t7, l7, why, sizeof(why)), 0);
	KT_STREQ(why, "committed version 23.05.3-khien1, security counter 7");
	KT_EQ(kh_fw_store_check(s, t3, l3, &m, why, sizeof(why)), -ESTALE);
	KT_EQ(kh_fw_store_commit(s, t3, l3, why, sizeof(why)), -ESTALE);
	/* a policy key's manifest never gets to the counter */
	{
		size_t lp;
		char *tp = manifest_counter(&pk, &pp, 1, NULL, 99, &lp);
		KT_EQ(kh_fw_store_commit(s, tp, lp, why, sizeof(why)), -EPERM);
		free(tp);
	}
	s = reopen(s);
	KT_CHECK(!corrupt(s));
	KT_EQ(kh_fw_store_check(s, t3, l3, &m, why, sizeof(why)), -ESTALE); /* it survived */
	/* a flipped digit, a torn file, a deleted one: corrupt, every image refused */
	{
		uint8_t *b;
		size_t n;
		KT_EQ(kh_fs_read(path, 256, &b, &n), 0);
		KT_CHECK(n > 20 && b[19] == '7');
		b[19] = '8';
		KT_EQ(kh_fs_write_atomic(path, b, n, 0644), 0);
		s = reopen(s);
		KT_CHECK(corrupt(s));
		KT_EQ(kh_fw_store_check(s, t9, l9, &m, why, sizeof(why)), -EIO);
		KT_CHECK(strncmp(why, "counter: the stored security counter is corrupt", 47) == 0);
		b[19] = '7';
		KT_EQ(kh_fs_write_atomic(path, b, n - 3, 0644), 0);
		KT_CHECK(corrupt(s = reopen(s)));
		KT_EQ(kh_fs_write_atomic(path, b, n, 0644), 0);
		KT_CHECK(!corrupt(s = reopen(s)));
		free(b);
	}
	/* a healthy device takes no reset, however well signed (one issued for another unit) */
	rs = reset_doc(0, 1, "00112233445566778899aabbccddeeff", &lr);
	KT_EQ(kh_fw_store_reset(s, rs, lr, why, sizeof(why)), -ESTALE);
	KT_EQ(kh_fw_store_check(s, t3, l3, &m, why, sizeof(why)), -ESTALE);
	KT_EQ(kh_fs_remove(path), 0);
	KT_CHECK(corrupt(s = reopen(s))); /* a committed device: missing is corrupt */
	{
		char n1[KH_FW_NONCE_HEX + 1], n2[KH_FW_NONCE_HEX + 1];

		store_nonce(s, n1);
		KT_EQ(strlen(n1), KH_FW_NONCE_HEX);
		store_nonce(s = reopen(s), n2);
		KT_STREQ(n2, n1); /* kept across a restart */
		/* another unit's reset (another nonce) is refused while corrupt too */
		KT_EQ(kh_fw_store_reset(s, rs, lr, why, sizeof(why)), -EPERM);
		KT_CHECK(strncmp(why, "nonce: ", 7) == 0);
		free(rs);
		/* the reset naming this corruption's nonce repairs it, once */
		rs = reset_doc(7, 1, n1, &lr);
		KT_EQ(kh_fw_store_reset(s, rs, lr, why, sizeof(why)), 0);
		KT_CHECK(!corrupt(s));
		store_nonce(s, n2);
		KT_STREQ(n2, "");
		KT_EQ(kh_fw_store_check(s, t9, l9, &m, why, sizeof(why)), 0);
		KT_EQ(kh_fw_store_reset(s, rs, lr, why, sizeof(why)), -ESTALE);
		/* corrupt again: a new nonce, and the old reset does not replay */
		KT_EQ(kh_fs_remove(path), 0);
		KT_CHECK(corrupt(s = reopen(s)));
		store_nonce(s, n2);
		KT_CHECK(strcmp(n2, n1) != 0);
		KT_EQ(kh_fw_store_reset(s, rs, lr, why, sizeof(why)), -EPERM);
		free(rs);
	}
	kh_fw_store_free(s);
	free(t7);
	free(t3);
	free(t9);
}

int main(void)
{
	if (fixture() < 0) {
		printf("not ok - fixture (keys, roots)\n");
		return 1;
	}
	KT_RUN(test_valid_and_threshold);
	KT_RUN(test_roles_separate);
	KT_RUN(test_parse_refusals);
	KT_RUN(test_streamed_hash);
	KT_RUN(test_reset);
	KT_RUN(test_store);
	{
		char cmd[64];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", sdir);
		if (system(cmd) != 0)
			return 1;
	}
	return KT_DONE();
}
