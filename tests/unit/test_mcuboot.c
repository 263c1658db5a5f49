/* SPDX-License-Identifier: MIT */
/*
 * firmware/mcuboot.c against images built from MCUboot's format
 * (tests/helpers/mkmcuboot.c): a valid one, and each way an attacker
 * would try to get a bad one swapped in: a tampered payload, the
 * security counter moved to the unprotected area (CVE-2024-32883), an
 * older counter, another key, a truncated TLV area, lengths that overlap
 * or overrun the slot. Each is refused with its error and reason. The
 * slot reader counts its calls to show the image is read in pieces.
 */
#define _DEFAULT_SOURCE
#define MKMCUBOOT_NO_MAIN
#include "tests/helpers/mkmcuboot.c"

#include <unistd.h>

#include "firmware/mcuboot_slot.h"
#include "kt.h"
#include "lib/err.h"
#include "platform/fs.h"
#include "policy/trust.h"

struct mem_slot {
	const uint8_t *p;
	size_t len;
	size_t max_read;
	unsigned reads;
	int fail_at; /* >= 0: the read covering this offset fails */
};

static int mem_read(void *ctx, uint32_t off, void *buf, size_t len)
{
	struct mem_slot *s = ctx;

	s->reads++;
	if (len > s->max_read)
		s->max_read = len;
	if (s->fail_at >= 0 && (size_t)s->fail_at >= off && (size_t)s->fail_at < off + len)
		return -EIO;
	/* past the file's end a flash slot reads as erased */
	for (size_t i = 0; i < len; i++)
		((uint8_t *)buf)[i] = off + i < s->len ? s->p[off + i] : 0xff;
	return 0;
}

static struct kh_ecdsa_priv key_a, key_b;
static struct kh_ecdsa_pub pub_a, pub_b;
static uint8_t payload[5000];

static void keys_init(void)
{
	for (int i = 0; i < 32; i++) {
		key_a.d[i] = (uint8_t)(i + 1);
		key_b.d[i] = (uint8_t)(0x40 + i);
	}
	KT_CHECK(kh_ecdsa_public(&key_a, &pub_a) == 0);
	KT_CHECK(kh_ecdsa_public(&key_b, &pub_b) == 0);
	for (size_t i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)(i * 7 + 3);
}

static void base(struct mkm *m)
{
	mkm_defaults(m);
	m->payload = payload;
	m->payload_len = sizeof(payload);
	m->key = &key_a;
	m->counter = 5;
	m->major = 2;
	m->minor = 1;
	m->revision = 3;
	m->build = 77;
}

static char reason[KH_MCUBOOT_REASON_LEN];
static struct kh_mcuboot_image info;
static struct mem_slot last;
static uint8_t *last_img; /* the image of the last run(), kept for checks */

/* Build m, put it in a slot of slot_size bytes (0: the image's size), verify. */
static unsigned run_threshold = 1;

static int run(const struct mkm *m, uint32_t slot_size, const struct kh_ecdsa_pub *keys,
	       size_t nkeys, uint32_t min)
{
	uint8_t *img;
	size_t len;
	struct kh_mcuboot_slot slot;
	int err;

	if (mkm_build(m, &img, &len) < 0)
		return -9999;
	free(last_img);
	last_img = img;
	memset(&last, 0, sizeof(last));
	last.p = img;
	last.len = len;
	last.fail_at = -1;
	slot.read = mem_read;
	slot.ctx = &last;
	slot.size = slot_size ? slot_size : (uint32_t)len;
	err = kh_mcuboot_verify(&slot, keys, nkeys, run_threshold, min, &info, reason,
				sizeof(reason));
	if (err)
		printf("#   refused (%s): %s\n", kh_strerror(err), reason);
	return err;
}

static int has(const char *needle)
{
	return strstr(reason, needle) != NULL;
}

static void test_valid(void)
{
	struct mkm m;
	char v[32];

	base(&m);
	KT_EQ(run(&m, 65536, &pub_a, 1, 5), 0);
	KT_EQ(info.security_counter, 5);
	KT_EQ(info.key, 0);
	KT_EQ(info.img_size, sizeof(payload));
	KT_EQ(info.hdr_size, 32);
	KT_EQ(info.protect_tlv_size, 12);
	kh_mcuboot_version_str(&info, v, sizeof(v));
	KT_STREQ(v, "2.1.3+77");
	KT_STREQ(reason, "");
	/* never the whole image in one read */
	KT_CHECK(last.max_read <= 512);
	KT_CHECK(last.reads > sizeof(payload) / 512);
	/* the hash it reports is the SHA-256 of header, image and protected TLVs */
	{
		uint8_t want[32];
		kh_sha256(last.p, 32 + sizeof(payload) + 12, want);
		KT_MEMEQ(info.hash, want, 32);
	}
}

static void test_valid_variants(void)
{
	struct kh_ecdsa_pub both[2] = {pub_b, pub_a};
	struct mkm m;

	base(&m);
	KT_EQ(run(&m, 0, both, 2, 0), 0); /* the second key, found by KEYHASH */
	KT_EQ(info.key, 1);
	m.pad_sig = 1; /* imgtool --pad-sig */
	KT_EQ(run(&m, 0, &pub_a, 1, 5), 0);
	base(&m);
	m.no_keyhash = 1; /* no KEYHASH: every key is tried */
	KT_EQ(run(&m, 0, both, 2, 4), 0);
	KT_EQ(info.key, 1);
	base(&m);
	m.hdr_size = 512; /* a padded header, as Zephyr builds use */
	m.extra_prot_type = KH_MCUBOOT_TLV_BOOT_RECORD;
	KT_EQ(run(&m, 0, &pub_a, 1, 5), 0);
	KT_EQ(info.hdr_size, 512);
	base(&m);
	m.payload_len = 0;
	KT_EQ(run(&m, 0, &pub_a, 1, 0), 0);
	base(&m);
	m.counter = 0xffffffffu;
	KT_EQ(run(&m, 0, &pub_a, 1, 0xffffffffu), 0);
}

static void test_tampered_payload(void)
{
	struct mkm m;

	base(&m);
	m.tamper = 1;
	KT_EQ(run(&m, 0, &pub_a, 1, 0), -EBADMSG);
	KT_CHECK(has("does not match") && has("tampered"));
}

static void test_unprotected_counter(void)
{
	struct mkm m;

	/* a validly signed image whose counter is outside the signed region */
	base(&m);
	m.counter_unprotected = 1;
	m.counter = 100;
	KT_EQ(run(&m, 0, &pub_a, 1, 0), -EBADMSG);
	KT_CHECK(has("0x50") && has("unprotected") && has("CVE-2024-32883"));
	/* the same for the other security-relevant TLVs */
	base(&m);
	m.extra_unprot_type = KH_MCUBOOT_TLV_DEPENDENCY;
	KT_EQ(run(&m, 0, &pub_a, 1, 0), -EBADMSG);
	KT_CHECK(has("0x40") && has("dependency"));
	base(&m);
	m.extra_unprot_type = KH_MCUBOOT_TLV_BOOT_RECORD;
	KT_EQ(run(&m, 0, &pub_a, 1, 0), -EBADMSG);
	KT_CHECK(has("boot record"));
	base(&m);
	m.extra_unprot_type = 0xa0; /* vendor TLV */
	KT_EQ(run(&m, 0, &pub_a, 1, 0), -EBADMSG);
	KT_CHECK(has("unprotected"));
	/* no counter anywhere */
	base(&m);
	m.no_counter = 1;
	KT_EQ(run(&m, 0, &pub_a, 1, 0), -EBADMSG);
	KT_CHECK(has("no security counter"));
}

static void test_lower_counter(void)
{
	struct mkm m;

	base(&m);
	m.counter = 4;
	KT_EQ(run(&m, 0, &pub_a, 1, 5), -ESTALE);
	KT_CHECK(has("4 is below the stored 5") && has("rollback"));
	KT_EQ(info.security_counter, 4);
	/* equal is accepted (MCUboot: same counter, same security level) */
	KT_EQ(run(&m, 0, &pub_a, 1, 4), 0);
}

static void test_wrong_key(void)
{
	struct mkm m;

	base(&m);
	m.key = &key_b;
	KT_EQ(run(&m, 0, &pub_a, 1, 0), -EPERM);
	KT_CHECK(has("not a firmware key"));
	m.no_keyhash = 1;
	KT_EQ(run(&m, 0, &pub_a, 1, 0), -EPERM);
	KT_CHECK(has("no firmware key verifies"));
	base(&m);
	m.no_sig = 1;
	KT_EQ(run(&m, 0, &pub_a, 1, 0), -EPERM);
	KT_CHECK(has("no ECDSA"));
	/* a signature over the hash, but the hash TLV is missing */
	base(&m);
	m.no_hash = 1;
	KT_EQ(run(&m, 0, &pub_a, 1, 0), -EBADMSG);
	KT_CHECK(has("no SHA-256 TLV"));
}

static void test_truncated_tlv_area(void)
{
	struct mkm m;

	/* the file ends inside the signature: the slot reads erased there */
	base(&m);
	m.truncate = 10;
	KT_CHECK(run(&m, 65536, &pub_a, 1, 0) < 0);
	/* and in a slot that ends with the file, the TLV area overruns it */
	KT_EQ(run(&m, 0, &pub_a, 1, 0), -EBADMSG);
	KT_CHECK(has("past the slot's end"));
	/* the info header says less than the TLVs take */
	base(&m);
	m.unprot_tot_set = 4 + 36 + 2;
	KT_EQ(run(&m, 0, &pub_a, 1, 0), -EBADMSG);
	KT_CHECK(has("truncated TLV"));
	m.unprot_tot_set = 4 + 36 + 36 + 10;
	KT_EQ(run(&m, 0, &pub_a, 1, 0), -EBADMSG);
	KT_CHECK(has("runs past"));
	/* nothing after the header */
	base(&m);
	m.truncate = 12 + 5000 + 100 + 40;
	KT_EQ(run(&m, 0, &pub_a, 1, 0), -EBADMSG);
}

static void test_lengths(void)
{
	struct mkm m;

	/* img_size so large that hdr + img wraps a 32-bit sum */
	base(&m);
	m.img_size_set = 0xffffffe0;
	KT_EQ(run(&m, 0, &pub_a, 1, 0), -EBADMSG);
	KT_CHECK(has("overrun"));
	m.img_size_set = 0xffffffff;
	KT_EQ(run(&m, 0xfffffff0u, &pub_a, 1, 0), -EBADMSG);
	/* img_size pointing into the payload: no TLV info there */
	m.img_size_set = 100;
	KT_EQ(run(&m, 0, &pub_a, 1, 0), -EBADMSG);
	KT_CHECK(has("TLV info"));
	/* protected size disagreeing with its info header, or claimed when absent */
	base(&m);
	m.prot_size_set = 16;
	KT_EQ(run(&m, 0, &pub_a, 1, 0), -EBADMSG);
	base(&m);
	m.prot_size_set = 0;
	KT_EQ(run(&m, 0, &pub_a, 1, 0), -EBADMSG);
	KT_CHECK(has("magic 0x6908"));
	/* a TLV length overlapping the next TLV and the area's end */
	base(&m);
	m.tlv_len_set = 0xffff;
	KT_EQ(run(&m, 0, &pub_a, 1, 0), -EBADMSG);
	KT_CHECK(has("runs past"));
	base(&m);
	m.pad_sig = 1;
	m.tlv_len_set = 71; /* the signature one byte shorter than its room: a stray byte */
	KT_EQ(run(&m, 0, &pub_a, 1, 0), -EBADMSG);
	KT_CHECK(has("stray"));
	/* header size below the header */
	base(&m);
	m.hdr_size = 16;
	KT_EQ(run(&m, 0, &pub_a, 1, 0), -EBADMSG);
	KT_CHECK(has("header size 16"));
}

static void test_header_refusals(void)
{
	struct mkm m;
	struct kh_mcuboot_slot slot;
	uint8_t erased[64];

	memset(erased, 0xff, sizeof(erased));
	memset(&last, 0, sizeof(last));
	last.p = erased;
	last.len = sizeof(erased);
	last.fail_at = -1;
	slot.read = mem_read;
	slot.ctx = &last;
	slot.size = sizeof(erased);
	KT_EQ(kh_mcuboot_verify(&slot, &pub_a, 1, 1, 0, &info, reason, sizeof(reason)), -EBADMSG);
	KT_STREQ(reason, "slot is erased (no image)");
	slot.size = 10;
	KT_EQ(kh_mcuboot_verify(&slot, &pub_a, 1, 1, 0, NULL, reason, sizeof(reason)), -EBADMSG);
	KT_EQ(kh_mcuboot_verify(&slot, &pub_a, 0, 1, 0, NULL, NULL, 0), -EINVAL);
	KT_EQ(kh_mcuboot_verify(NULL, &pub_a, 1, 1, 0, NULL, NULL, 0), -EINVAL);

	base(&m);
	m.flags = KH_MCUBOOT_F_ENCRYPTED_AES128;
	KT_EQ(run(&m, 0, &pub_a, 1, 0), -ENOTSUP);
	KT_CHECK(has("encrypted"));
	m.flags = 0x200;
	KT_EQ(run(&m, 0, &pub_a, 1, 0), -ENOTSUP);
	base(&m);
	m.extra_prot_type = KH_MCUBOOT_TLV_DEPENDENCY;
	KT_EQ(run(&m, 0, &pub_a, 1, 0), -ENOTSUP);
	KT_CHECK(has("single image"));
}

static void test_read_errors(void)
{
	struct mkm m;
	uint8_t *img;
	size_t len;
	struct kh_mcuboot_slot slot;

	base(&m);
	KT_CHECK(mkm_build(&m, &img, &len) == 0);
	memset(&last, 0, sizeof(last));
	last.p = img;
	last.len = len;
	slot.read = mem_read;
	slot.ctx = &last;
	slot.size = (uint32_t)len;
	/* a flash read error anywhere is a refusal, never a pass */
	for (size_t at = 0; at < len; at += 97) {
		last.fail_at = (int)at;
		KT_EQ(kh_mcuboot_verify(&slot, &pub_a, 1, 1, 0, NULL, reason, sizeof(reason)),
		      -EIO);
	}
	last.fail_at = -1;
	KT_EQ(kh_mcuboot_verify(&slot, &pub_a, 1, 1, 0, NULL, reason, sizeof(reason)), 0);
	/* every single-byte flip of the hashed region or the TLVs is refused */
	for (size_t at = 0; at < len; at += 13) {
		img[at] ^= 0x20;
		KT_CHECK(kh_mcuboot_verify(&slot, &pub_a, 1, 1, 0, NULL, NULL, 0) < 0);
		img[at] ^= 0x20;
	}
	free(img);
}

static void test_der_verify(void)
{
	uint8_t d[32], rs[64], der[80];
	struct kh_drbg rng;
	size_t n;

	kh_sha256("x", 1, d);
	KT_CHECK(kh_drbg_init(&rng, "t") == 0);
	KT_CHECK(kh_ecdsa_sign(&rng, &key_a, d, rs) == 0);
	kh_drbg_free(&rng);
	n = mkm_der_sig(rs, der);
	KT_EQ(kh_ecdsa_verify_der(&pub_a, d, der, n), 0);
	KT_EQ(kh_ecdsa_verify_der(&pub_b, d, der, n), -EBADMSG);
	der[n] = 0;
	KT_EQ(kh_ecdsa_verify_der(&pub_a, d, der, n + 1), 0); /* zero padding */
	der[n] = 1;
	KT_EQ(kh_ecdsa_verify_der(&pub_a, d, der, n + 1), -EBADMSG);
	KT_EQ(kh_ecdsa_verify_der(&pub_a, d, der, n - 1), -EBADMSG);
	KT_EQ(kh_ecdsa_verify_der(&pub_a, d, der, 0), -EBADMSG);
	d[0] ^= 1;
	KT_EQ(kh_ecdsa_verify_der(&pub_a, d, der, n), -EBADMSG);
}

/* The stored counter: only raised, and a damaged record refuses every image. */
static void test_counter_store(void)
{
	struct kh_mcuboot_keys one_key = {.n = 1, .threshold = 1};

	one_key.key[0] = pub_a;
	char dir[] = "/tmp/kh-mcuboot-XXXXXX", path[64];
	uint32_t c = 99;
	uint8_t rec[KH_MCUBOOT_COUNTER_LEN];

	KT_CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/counter", dir);
	KT_EQ(kh_mcuboot_counter_load(path, &c, reason, sizeof(reason)), 0);
	KT_EQ(c, 0); /* nothing stored yet */
	KT_EQ(kh_mcuboot_counter_raise(path, 5), 0);
	KT_EQ(kh_mcuboot_counter_load(path, &c, NULL, 0), 0);
	KT_EQ(c, 5);
	KT_EQ(kh_mcuboot_counter_raise(path, 3), 0); /* never lowered */
	KT_EQ(kh_mcuboot_counter_load(path, &c, NULL, 0), 0);
	KT_EQ(c, 5);
	{
		uint8_t *b;
		size_t n;
		KT_EQ(kh_fs_read(path, 64, &b, &n), 0);
		KT_EQ(n, sizeof(rec));
		memcpy(rec, b, sizeof(rec));
		free(b);
	}
	rec[4] = 9; /* counter changed, checksum not */
	KT_EQ(kh_fs_write_atomic(path, rec, sizeof(rec), 0600), 0);
	KT_EQ(kh_mcuboot_counter_load(path, &c, reason, sizeof(reason)), -EBADMSG);
	KT_CHECK(has("corrupt"));
	KT_EQ(kh_mcuboot_counter_raise(path, 10), -EBADMSG);
	KT_EQ(kh_mcuboot_update(&one_key, path, 0, NULL, reason, sizeof(reason)), -EBADMSG);
	KT_EQ(kh_fs_write_atomic(path, "x", 1, 0600), 0);
	KT_EQ(kh_mcuboot_counter_load(path, &c, NULL, 0), -EBADMSG);
	/* this platform has no MCUboot slots */
	KT_EQ(kh_fs_remove(path), 0);
	KT_EQ(kh_mcuboot_update(&one_key, path, 0, NULL, reason, sizeof(reason)), -ENOTSUP);
	KT_CHECK(has("no secondary firmware slot"));
	rmdir(dir);
}

/*
 * The firmware threshold: K distinct keys' signatures, each behind its
 * KEYHASH; one key signing twice counts once; a key outside the set adds
 * nothing.
 */
static void test_threshold(void)
{
	struct kh_ecdsa_priv key_c;
	struct kh_ecdsa_pub two[2] = {pub_a, pub_b}, dup[2] = {pub_a, pub_a};
	struct mkm m;

	for (int i = 0; i < 32; i++)
		key_c.d[i] = (uint8_t)(0x80 - i);
	run_threshold = 2;
	base(&m);
	KT_EQ(run(&m, 0, two, 2, 0), -EPERM);
	KT_CHECK(has("signed by 1 distinct firmware key(s), 2 needed"));
	m.more[m.nmore++] = &key_a; /* a signs twice */
	KT_EQ(run(&m, 0, two, 2, 0), -EPERM);
	KT_CHECK(has("1 distinct firmware key(s), 2 needed"));
	m.more[0] = &key_c; /* a key of no role */
	KT_EQ(run(&m, 0, two, 2, 0), -EPERM);
	m.more[0] = &key_b;
	KT_EQ(run(&m, 0, two, 2, 0), 0);
	KT_EQ(info.nsigned, 2u);
	/* without KEYHASH TLVs too: each signature is tried, each key counted once */
	m.no_keyhash = 1;
	KT_EQ(run(&m, 0, two, 2, 0), 0);
	m.more[0] = &key_a;
	KT_EQ(run(&m, 0, two, 2, 0), -EPERM);
	/* one key given twice would count twice: refused as arguments */
	base(&m);
	m.more[m.nmore++] = &key_a;
	KT_EQ(run(&m, 0, dup, 2, 0), -EINVAL);
	run_threshold = 3;
	KT_EQ(run(&m, 0, two, 2, 0), -EINVAL);
	run_threshold = 0;
	KT_EQ(run(&m, 0, two, 2, 0), -EINVAL);
	run_threshold = 1;
	kh_ecdsa_priv_free(&key_c);
}

/* The keys come from the trust root's firmware role, with its threshold. */
static void test_root_keys(void)
{
	struct kh_root r;
	struct kh_mcuboot_keys k;

	memset(&r, 0, sizeof(r));
	r.version = 3;
	r.nkeys = 3;
	r.keys[0].pub = pub_a;
	r.keys[1].pub = pub_b;
	kh_keyid(&pub_a, r.keys[0].id);
	kh_keyid(&pub_b, r.keys[1].id);
	memset(r.keys[2].id, 7, KH_KEYID_LEN);
	KT_EQ(kh_mcuboot_root_keys(&r, &k, reason, sizeof(reason)), -EPERM);
	KT_CHECK(has("trust root v3 has no firmware role"));
	r.policy.nkeys = 1;
	memcpy(r.policy.keyids[0], r.keys[0].id, KH_KEYID_LEN);
	KT_EQ(kh_mcuboot_root_keys(&r, &k, reason, sizeof(reason)), -EPERM);
	r.firmware.nkeys = 1;
	r.firmware.threshold = 1;
	memcpy(r.firmware.keyids[0], r.keys[1].id, KH_KEYID_LEN);
	KT_EQ(kh_mcuboot_root_keys(&r, &k, reason, sizeof(reason)), 0);
	KT_EQ(k.n, (size_t)1);
	KT_CHECK(memcmp(&k.key[0], &pub_b, sizeof(pub_b)) == 0);
	KT_EQ(k.threshold, 1u);
	r.firmware.threshold = 2;
	KT_EQ(kh_mcuboot_root_keys(&r, &k, reason, sizeof(reason)), -EPERM);
	r.firmware.nkeys = 2;
	memset(r.firmware.keyids[1], 7, KH_KEYID_LEN); /* names key 2 */
	KT_EQ(kh_mcuboot_root_keys(&r, &k, reason, sizeof(reason)), 0);
	memset(r.firmware.keyids[1], 9, KH_KEYID_LEN); /* names no key */
	KT_EQ(kh_mcuboot_root_keys(&r, &k, reason, sizeof(reason)), -EPERM);
	KT_CHECK(has("does not hold"));
}

int main(void)
{
	keys_init();
	KT_RUN(test_valid);
	KT_RUN(test_valid_variants);
	KT_RUN(test_tampered_payload);
	KT_RUN(test_unprotected_counter);
	KT_RUN(test_lower_counter);
	KT_RUN(test_wrong_key);
	KT_RUN(test_truncated_tlv_area);
	KT_RUN(test_lengths);
	KT_RUN(test_header_refusals);
	KT_RUN(test_read_errors);
	KT_RUN(test_der_verify);
	KT_RUN(test_counter_store);
	KT_RUN(test_threshold);
	KT_RUN(test_root_keys);
	free(last_img);
	return KT_DONE();
}
