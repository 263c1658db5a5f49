/* SPDX-License-Identifier: MIT */
/*
 * crypto/pki.c: certificate information, validity times through a
 * round trip, and the inputs kh_pki_issue refuses. The TLS connections
 * themselves are in test_tls.c.
 */
#include "test_tls.h"

static void test_pki_cert_info(void)
{
	struct kh_cert_info ci, ca, si;
	char why[128];

	KT_EQ(kh_pki_cert_info(P.cli_crt, &ci, why, sizeof(why)), 0);
	KT_STREQ(ci.cn, CLIENT_CN);
	KT_STREQ(ci.issuer_cn, CA_CN);
	KT_EQ(ci.not_after, P.cli_not_after);
	KT_EQ(ci.not_before, P.now - 86400);
	KT_EQ(ci.is_ca, 0);
	KT_EQ(strlen(ci.serial_hex), 32); /* 16 bytes, top bit clear, next bit set */
	KT_CHECK(ci.serial_hex[0] >= '4' && ci.serial_hex[0] <= '7');

	KT_EQ(kh_pki_cert_info(P.ca_crt, &ca, why, sizeof(why)), 0);
	KT_STREQ(ca.cn, CA_CN);
	KT_STREQ(ca.issuer_cn, CA_CN);
	KT_EQ(ca.is_ca, 1);
	KT_CHECK(strcmp(ca.serial_hex, ci.serial_hex) != 0);
	KT_CHECK(memcmp(ca.sha256, ci.sha256, 32) != 0);

	KT_EQ(kh_pki_cert_info(P.srv_crt, &si, why, sizeof(why)), 0);
	KT_STREQ(si.cn, SERVER_HOST);
	KT_EQ(si.is_ca, 0);

	/* the first certificate of a chain */
	{
		size_t a = strlen(P.cli_crt), b = strlen(P.ca_crt);
		char *chain = malloc(a + b + 1);
		struct kh_cert_info x;

		memcpy(chain, P.cli_crt, a);
		memcpy(chain + a, P.ca_crt, b + 1);
		KT_EQ(kh_pki_cert_info(chain, &x, why, sizeof(why)), 0);
		KT_STREQ(x.cn, CLIENT_CN);
		KT_MEMEQ(x.sha256, ci.sha256, 32);
		free(chain);
	}
}

/* Civil-date conversion both ways, across a leap day and the UTCTime/GeneralizedTime switch. */
static void test_pki_times_round_trip(void)
{
	static const int64_t times[] = {
		951782400,   /* 2000-02-29 00:00:00 */
		951868799,   /* 2000-02-29 23:59:59 */
		2524607999,  /* 2049-12-31 23:59:59 (last UTCTime) */
		2524608000,  /* 2050-01-01 00:00:00 (GeneralizedTime) */
		4107542400,  /* 2100-03-01 (2100 is not a leap year) */
		253402300799 /* 9999-12-31 23:59:59 */
	};
	char why[128];

	for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
		char *pem = issue(KH_CERT_CLIENT, "t", NULL, times[0] - 1, times[i], P.cli_key,
				  P.ca_key, P.ca_crt);
		struct kh_cert_info ci;

		KT_CHECK(pem != NULL);
		if (!pem)
			continue;
		KT_EQ(kh_pki_cert_info(pem, &ci, why, sizeof(why)), 0);
		KT_EQ(ci.not_before, times[0] - 1);
		KT_EQ(ci.not_after, times[i]);
		kh_pki_free(pem);
	}
}

static void test_pki_rejects_bad_input(void)
{
	struct kh_cert_opts o = {
		.kind = KH_CERT_CLIENT, .cn = "x", .not_before = P.now, .not_after = P.now + 10};
	struct kh_cert_info ci;
	char why[128], *pem = NULL;

	/* a key that is not PEM */
	why[0] = 0;
	KT_EQ(kh_pki_issue(&o, "not a key", P.ca_key, P.ca_crt, &pem, why, sizeof(why)), -EINVAL);
	KT_CHECK(strstr(why, "not PEM") != NULL);
	/* PEM, but the wrong curve */
	KT_EQ(kh_pki_issue(&o, p384_key, P.ca_key, P.ca_crt, &pem, why, sizeof(why)), -EINVAL);
	KT_STREQ(why, "subject key: not a P-256 key");
	/* names that would need DN escaping */
	o.cn = "a,b";
	KT_EQ(kh_pki_issue(&o, P.cli_key, P.ca_key, P.ca_crt, &pem, why, sizeof(why)), -EINVAL);
	o.cn = "CN=x";
	KT_EQ(kh_pki_issue(&o, P.cli_key, P.ca_key, P.ca_crt, &pem, why, sizeof(why)), -EINVAL);
	o.cn = "x";
	o.org = "A+B";
	KT_EQ(kh_pki_issue(&o, P.cli_key, P.ca_key, P.ca_crt, &pem, why, sizeof(why)), -EINVAL);
	o.org = NULL;
	/* validity backwards */
	o.not_after = o.not_before;
	KT_EQ(kh_pki_issue(&o, P.cli_key, P.ca_key, P.ca_crt, &pem, why, sizeof(why)), -EINVAL);
	o.not_after = P.now + 10;
	/* issuer key that does not belong to the issuer certificate */
	KT_EQ(kh_pki_issue(&o, P.cli_key, P.other_key, P.ca_crt, &pem, why, sizeof(why)), -EINVAL);
	KT_CHECK(strstr(why, "does not match") != NULL);
	/* issuer that is not a CA */
	KT_EQ(kh_pki_issue(&o, P.cli_key, P.cli_key, P.cli_crt, &pem, why, sizeof(why)), -EINVAL);
	/* only one issuer argument */
	KT_EQ(kh_pki_issue(&o, P.cli_key, P.ca_key, NULL, &pem, why, sizeof(why)), -EINVAL);
	/* server certificates need a valid host */
	o.kind = KH_CERT_SERVER;
	o.host = NULL;
	KT_EQ(kh_pki_issue(&o, P.srv_key, P.ca_key, P.ca_crt, &pem, why, sizeof(why)), -EINVAL);
	static const char *bad_hosts[] = {
		"1.2.3", "256.1.1.1", "01.2.3.4", "fe80::1::2", "1:2:3:4:5:6:7:8:9",
		"a..b",	 "-a.b",      "a_b.c",	  "1::2:",	""};
	for (size_t i = 0; i < sizeof(bad_hosts) / sizeof(bad_hosts[0]); i++) {
		o.host = bad_hosts[i];
		KT_EQ(kh_pki_issue(&o, P.srv_key, P.ca_key, P.ca_crt, &pem, why, sizeof(why)),
		      -EINVAL);
	}
	static const char *good_hosts[] = {"::", "::ffff:10.0.0.1", "2001:DB8::8:800:200C:417A",
					   "1:2:3:4:5:6:7:8", "khien.example.vn"};
	for (size_t i = 0; i < sizeof(good_hosts) / sizeof(good_hosts[0]); i++) {
		o.host = good_hosts[i];
		o.cn = NULL; /* defaults to the host */
		KT_EQ(kh_pki_issue(&o, P.srv_key, P.ca_key, P.ca_crt, &pem, why, sizeof(why)), 0);
		if (pem) {
			KT_EQ(kh_pki_cert_info(pem, &ci, why, sizeof(why)), 0);
			KT_STREQ(ci.cn, good_hosts[i]);
		}
		kh_pki_free(pem);
		pem = NULL;
	}
	KT_CHECK(pem == NULL);

	KT_EQ(kh_pki_cert_info("hello", &ci, why, sizeof(why)), -EINVAL);
	KT_CHECK(why[0] != 0);
	KT_EQ(kh_pki_cert_info("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
			       &ci, why, sizeof(why)),
	      -EINVAL);
	KT_CHECK(why[0] != 0);
}

/* ---- TLS configuration ---- */

int main(void)
{
	if (pki_setup()) {
		printf("not ok - pki_setup\n");
		pki_teardown();
		return 1;
	}
	KT_RUN(test_pki_cert_info);
	KT_RUN(test_pki_times_round_trip);
	KT_RUN(test_pki_rejects_bad_input);
	pki_teardown();
	return KT_DONE();
}
