/* SPDX-License-Identifier: MIT */
/*
 * Canonical names: case folding, trailing dot, length and character rules,
 * RFC 3492 Punycode (its Vietnamese sample string included) and the UTF-8 to
 * A-label path used by the compiler.
 */
#include "kt.h"
#include "policy/name.h"
#include "tools/khien-policy/punycode.h"

static enum kh_name_err canon(const char *in, char *out)
{
	size_t n;
	return kh_name_canon(in, strlen(in), out, &n, NULL);
}

static void test_canon_basic(void)
{
	char out[KH_NAME_MAX + 1];

	KT_EQ(canon("WWW.Example.COM.", out), KH_NAME_OK);
	KT_STREQ(out, "www.example.com");
	KT_EQ(canon("a-b_c.example", out), KH_NAME_OK);
	KT_EQ(canon("0.0.0.0.beeglivesex.com", out), KH_NAME_OK); /* numeric labels, real TLD */
	KT_EQ(canon("com", out), KH_NAME_OK);
	KT_EQ(canon("", out), KH_NAME_EMPTY);
	KT_EQ(canon(".", out), KH_NAME_EMPTY);
	KT_EQ(canon("a..b", out), KH_NAME_EMPTY_LABEL);
	KT_EQ(canon(".a.b", out), KH_NAME_EMPTY_LABEL);
	KT_EQ(canon("a.b..", out), KH_NAME_EMPTY_LABEL);
	KT_EQ(canon("1.2.3.4", out), KH_NAME_NUMERIC_TLD);
	KT_EQ(canon("exa mple.com", out), KH_NAME_BAD_CHAR);
	KT_EQ(canon("*.example.com", out), KH_NAME_BAD_CHAR);
	KT_EQ(canon("ex/ample.com", out), KH_NAME_BAD_CHAR);
}

static void test_canon_limits(void)
{
	char in[400], out[KH_NAME_MAX + 1];
	size_t n;
	char bad = 0;

	memset(in, 'a', 63);
	strcpy(in + 63, ".com");
	KT_EQ(canon(in, out), KH_NAME_OK);
	memset(in, 'a', 64);
	strcpy(in + 64, ".com");
	KT_EQ(canon(in, out), KH_NAME_LABEL_TOO_LONG);
	/* 253 octets exactly: 126 labels "a." + "bc" = 252 + ... build it */
	n = 0;
	while (n + 2 <= 250) {
		in[n++] = 'a';
		in[n++] = '.';
	}
	strcpy(in + n, "com");
	KT_EQ(strlen(in), 253);
	KT_EQ(canon(in, out), KH_NAME_OK);
	KT_EQ(kh_name_labels(out, strlen(out)), 126);
	strcpy(in + n, "comx");
	KT_EQ(canon(in, out), KH_NAME_TOO_LONG);
	strcpy(in + n, "com.");
	KT_EQ(canon(in, out), KH_NAME_OK); /* trailing dot does not count */
	KT_EQ(kh_name_canon("ex!mple.com", 11, out, &n, &bad), KH_NAME_BAD_CHAR);
	KT_EQ(bad, '!');
	KT_STREQ(kh_name_strerror(KH_NAME_LABEL_TOO_LONG), "label longer than 63 octets");
}

static void test_punycode_rfc3492(void)
{
	static const struct {
		const char *utf8, *ace;
	} v[] = {
		{"bücher", "bcher-kva"},
		{"münchen", "mnchen-3ya"},
		{"tạisaohọkhôngthểchỉnóitiếngviệt", "tisaohkhngthchnitingvit-kjcr8268qyxafd2f1b9g"},
		{"bóng", "bng-gna"},
		{"đá", "1ca9g"},
		{"cá-cược", "c-cc-5na85j946j"},
		{"пример", "e1afmkfd"},
		{"ελληνικά", "hxargifdar"},
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		char out[KH_NAME_MAX + 1], want[KH_NAME_MAX + 1];
		size_t n;
		snprintf(want, sizeof(want), "xn--%s.vn", v[i].ace);
		char in[200];
		snprintf(in, sizeof(in), "%s.vn", v[i].utf8);
		KT_EQ(kh_name_from_text(in, strlen(in), out, &n, NULL), KH_NAME_OK);
		KT_STREQ(out, want);
	}
}

static void test_idn_case_folding(void)
{
	char out[KH_NAME_MAX + 1];
	size_t n;

	/* Upper-case Vietnamese and Latin letters fold before encoding. */
	KT_EQ(kh_name_from_text("BÓNG.VN", strlen("BÓNG.VN"), out, &n, NULL), KH_NAME_OK);
	KT_STREQ(out, "xn--bng-gna.vn");
	KT_EQ(kh_name_from_text("ĐÁ.vn", strlen("ĐÁ.vn"), out, &n, NULL), KH_NAME_OK);
	KT_STREQ(out, "xn--1ca9g.vn");
	KT_EQ(kh_unicode_lower(0x1EA0), 0x1EA1); /* Ạ -> ạ */
	KT_EQ(kh_unicode_lower(0x0110), 0x0111); /* Đ -> đ */
	KT_EQ(kh_unicode_lower(0x01AF), 0x01B0); /* Ư -> ư */
	KT_EQ(kh_unicode_lower(0x041F), 0x043F); /* П -> п */
	KT_EQ(kh_unicode_lower(0x00D7), 0x00D7); /* multiplication sign unchanged */
	/* ASCII input takes the plain path. */
	KT_EQ(kh_name_from_text("Example.COM", 11, out, &n, NULL), KH_NAME_OK);
	KT_STREQ(out, "example.com");
}

static void test_idn_rejects(void)
{
	char out[KH_NAME_MAX + 1];
	size_t n;

	KT_EQ(kh_name_from_text("b\xc3.vn", 5, out, &n, NULL), KH_NAME_BAD_UTF8);    /* truncated */
	KT_EQ(kh_name_from_text("\xc0\xaf.vn", 5, out, &n, NULL), KH_NAME_BAD_UTF8); /* overlong */
	KT_EQ(kh_name_from_text("\xed\xa0\x80.vn", 6, out, &n, NULL),
	      KH_NAME_BAD_UTF8); /* surrogate */
	/* A label whose A-label exceeds 63 octets. */
	{
		char in[300];
		size_t k = 0;
		for (int i = 0; i < 70; i++) {
			memcpy(in + k, "\xc3\xbc", 2); /* ü */
			k += 2;
		}
		memcpy(in + k, ".vn", 4);
		KT_EQ(kh_name_from_text(in, k + 3, out, &n, NULL), KH_NAME_LABEL_TOO_LONG);
	}
}

int main(void)
{
	KT_RUN(test_canon_basic);
	KT_RUN(test_canon_limits);
	KT_RUN(test_punycode_rfc3492);
	KT_RUN(test_idn_case_folding);
	KT_RUN(test_idn_rejects);
	return KT_DONE();
}
