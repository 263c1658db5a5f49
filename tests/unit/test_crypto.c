/* SPDX-License-Identifier: MIT */
/*
 * crypto/ against published vectors: SHA-256 (FIPS 180-2 examples, NIST
 * CAVS short messages), HMAC-SHA-256 (RFC 4231 cases 1-7), ECDSA P-256
 * (RFC 6979 A.2.5 deterministic signature), plus DRBG and key round trips.
 */
#include "crypto/crypto.h"
#include "kt.h"
#include "lib/err.h"
#include "platform/test/test_platform.h"

static void check_sha(const void *msg, size_t len, const char *hex)
{
	uint8_t want[32], got[32];

	kt_unhex(hex, want, 32);
	kh_sha256(msg, len, got);
	KT_MEMEQ(got, want, 32);
}

static void test_sha256_vectors(void)
{
	check_sha("", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	check_sha("abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	check_sha("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56,
		  "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

static void test_sha256_million_a(void)
{
	struct kh_sha256 c;
	uint8_t chunk[1000], want[32], got[32];

	memset(chunk, 'a', sizeof(chunk));
	kh_sha256_init(&c);
	for (int i = 0; i < 1000; i++)
		kh_sha256_update(&c, chunk, sizeof(chunk));
	kh_sha256_final(&c, got);
	kt_unhex("cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0", want, 32);
	KT_MEMEQ(got, want, 32);
}

static void test_sha256_streaming_split(void)
{
	const char *msg = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	uint8_t one[32], split[32];
	struct kh_sha256 c;

	kh_sha256(msg, strlen(msg), one);
	for (size_t cut = 0; cut <= strlen(msg); cut++) {
		kh_sha256_init(&c);
		kh_sha256_update(&c, msg, cut);
		kh_sha256_update(&c, msg + cut, strlen(msg) - cut);
		kh_sha256_final(&c, split);
		KT_MEMEQ(one, split, 32);
	}
}

struct hmac_vec {
	const char *key, *data, *mac;
	size_t mac_len;
};

static void test_hmac_rfc4231(void)
{
	static const struct hmac_vec v[] = {
		{"0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", "4869205468657265",
		 "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7", 32},
		{"4a656665", "7768617420646f2079612077616e7420666f72206e6f7468696e673f",
		 "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843", 32},
		{"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		 "ddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
		 "d"
		 "dddddddddddddddddd",
		 "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe", 32},
		{"0102030405060708090a0b0c0d0e0f10111213141516171819",
		 "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdc"
		 "d"
		 "cdcdcdcdcdcdcdcdcd",
		 "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b", 32},
		{"0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c",
		 "546573742057697468205472756e636174696f6e", "a3b6167473100ee06e0c796c2955552b",
		 16},
		{NULL /* 131 bytes of 0xaa */,
		 "54657374205573696e67204c6172676572205468616e20426c6f636b2d53697a65204b6579202d204"
		 "8"
		 "617368204b6579204669727374",
		 "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54", 32},
		{NULL /* 131 bytes of 0xaa */,
		 "5468697320697320612074657374207573696e672061206c6172676572207468616e20626c6f636b2"
		 "d"
		 "73697a65206b657920616e642061206c6172676572207468616e20626c6f636b2d73697a652064617"
		 "4"
		 "612e20546865206b6579206e6565647320746f20626520686173686564206265666f7265206265696"
		 "e"
		 "6720757365642062792074686520484d414320616c676f726974686d2e",
		 "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2", 32},
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		uint8_t key[200], data[200], want[32], got[32];
		size_t kl = v[i].key ? kt_unhex(v[i].key, key, sizeof(key)) : 131;
		if (!v[i].key)
			memset(key, 0xaa, kl);
		size_t dl = kt_unhex(v[i].data, data, sizeof(data));
		kt_unhex(v[i].mac, want, 32);
		kh_hmac_sha256(key, kl, data, dl, got);
		if (memcmp(got, want, v[i].mac_len) != 0)
			printf("#   RFC 4231 case %zu mismatch\n", i + 1);
		KT_MEMEQ(got, want, v[i].mac_len);
	}
}

static void test_ct_memeq(void)
{
	KT_CHECK(kh_ct_memeq("abcd", "abcd", 4));
	KT_CHECK(!kh_ct_memeq("abcd", "abce", 4));
	KT_CHECK(!kh_ct_memeq("xbcd", "abcd", 4));
	KT_CHECK(kh_ct_memeq("", "", 0));
}

static void test_drbg_deterministic_with_test_entropy(void)
{
	struct kh_drbg a, b;
	uint8_t x[64], y[64], z[64];

	kh_test_rand_seed(42);
	KT_EQ(kh_drbg_init(&a, "t"), 0);
	kh_test_rand_seed(42);
	KT_EQ(kh_drbg_init(&b, "t"), 0);
	KT_EQ(kh_drbg_generate(&a, x, sizeof(x)), 0);
	KT_EQ(kh_drbg_generate(&b, y, sizeof(y)), 0);
	KT_MEMEQ(x, y, sizeof(x));
	KT_EQ(kh_drbg_generate(&a, z, sizeof(z)), 0);
	KT_CHECK(memcmp(x, z, sizeof(x)) != 0);
	kh_drbg_free(&a);
	kh_drbg_free(&b);
	kh_drbg_free(NULL);
}

/* RFC 6979 A.2.5: P-256, SHA-256, message "sample". */
static void test_ecdsa_rfc6979(void)
{
	struct kh_ecdsa_priv priv;
	struct kh_ecdsa_pub pub, want_pub;
	struct kh_drbg rng;
	uint8_t digest[32], sig[64], want_sig[64];

	kt_unhex("C9AFA9D845BA75166B5C215767B1D6934E50C3DB36E89B127B8A622B120F6721", priv.d, 32);
	want_pub.q[0] = 4;
	kt_unhex("60FED4BA255A9D31C961EB74C6356D68C049B8923B61FA6CE669622E60F29FB6"
		 "7903FE1008B8BC99A41AE9E95628BC64F2F1B20C2D7E9F5177A3C294D4462299",
		 want_pub.q + 1, 64);
	kt_unhex("EFD48B2AACB6A8FD1140DD9CD45E81D69D2C877B56AAF991C34D0EA84EAF3716"
		 "F7CB1C942D657C41D436C7A1B6E29F65F3E900DBB9AFF4064DC4AB2F843ACDA8",
		 want_sig, 64);
	KT_EQ(kh_ecdsa_public(&priv, &pub), 0);
	KT_MEMEQ(pub.q, want_pub.q, 65);
	kh_sha256("sample", 6, digest);
	KT_EQ(kh_drbg_init(&rng, "t"), 0);
	KT_EQ(kh_ecdsa_sign(&rng, &priv, digest, sig), 0);
	KT_MEMEQ(sig, want_sig, 64);
	KT_EQ(kh_ecdsa_verify(&want_pub, digest, want_sig), 0);
	digest[0] ^= 1;
	KT_EQ(kh_ecdsa_verify(&want_pub, digest, want_sig), -EBADMSG);
	kh_drbg_free(&rng);
}

static void test_ecdsa_roundtrip_and_rejects(void)
{
	struct kh_ecdsa_priv priv;
	struct kh_ecdsa_pub pub, other;
	struct kh_drbg rng;
	uint8_t digest[32], sig[64];

	KT_EQ(kh_drbg_init(&rng, NULL), 0);
	KT_EQ(kh_ecdsa_keygen(&rng, &priv, &pub), 0);
	KT_EQ(kh_ecdsa_pub_check(&pub), 0);
	kh_sha256("policy", 6, digest);
	KT_EQ(kh_ecdsa_sign(&rng, &priv, digest, sig), 0);
	KT_EQ(kh_ecdsa_verify(&pub, digest, sig), 0);
	sig[10] ^= 0x40;
	KT_EQ(kh_ecdsa_verify(&pub, digest, sig), -EBADMSG);
	sig[10] ^= 0x40;
	memset(sig + 32, 0, 32); /* s = 0 is never valid */
	KT_EQ(kh_ecdsa_verify(&pub, digest, sig), -EBADMSG);
	other = pub;
	other.q[64] ^= 1; /* off the curve */
	KT_EQ(kh_ecdsa_pub_check(&other), -EINVAL);
	KT_EQ(kh_ecdsa_verify(&other, digest, sig), -EINVAL);
	memset(priv.d, 0, 32); /* zero scalar */
	KT_EQ(kh_ecdsa_public(&priv, &pub), -EINVAL);
	kh_ecdsa_priv_free(&priv);
	kh_drbg_free(&rng);
}

int main(void)
{
	KT_RUN(test_sha256_vectors);
	KT_RUN(test_sha256_million_a);
	KT_RUN(test_sha256_streaming_split);
	KT_RUN(test_hmac_rfc4231);
	KT_RUN(test_ct_memeq);
	KT_RUN(test_drbg_deterministic_with_test_entropy);
	KT_RUN(test_ecdsa_rfc6979);
	KT_RUN(test_ecdsa_roundtrip_and_rejects);
	return KT_DONE();
}
