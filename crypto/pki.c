/* SPDX-License-Identifier: MIT */
/*
 * The deployment's small PKI behind crypto/pki.h: P-256 keys and X.509 v3
 * certificates written with mbedTLS's x509write_crt (2.28 or 3.6, see
 * crypto/mbed_priv.h). The extensions 2.28 has no helper for (extKeyUsage,
 * subjectAltName) are written as DER here. No OS calls: times are converted with our own civil-date code and
 * IP literals parsed by hand, so this builds on every platform.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/asn1write.h>
#include <mbedtls/bignum.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/ecp.h>
#include <mbedtls/error.h>
#include <mbedtls/oid.h>
#include <mbedtls/pem.h>
#include <mbedtls/pk.h>
#include <mbedtls/x509_crt.h>

#include "crypto/crypto.h"
#include "crypto/mbed_priv.h"
#include "crypto/pki.h"
#include "lib/civil.h"
#include "lib/ipaddr.h"
#include "lib/compiler.h"
#include "lib/err.h"
#include "lib/hex.h"
#include "lib/str.h"

#define PKI_KEY_PEM_MAX 512
#define PKI_CRT_PEM_MAX 4096
#define PKI_NAME_MAX 64	 /* ub-common-name (RFC 5280) */
#define PKI_HOST_MAX 253 /* a DNS name */
/* 2000-01-01 and 10000-01-01: UTCTime covers 2000-2049, GeneralizedTime the rest */
#define PKI_TIME_MIN 946684800LL
#define PKI_TIME_MAX 253402300800LL

static void say(char *why, size_t whylen, const char *what)
{
	if (why && whylen)
		kh_strlcpy(why, what, whylen);
}

static void say_mbed(char *why, size_t whylen, const char *what, int mbed)
{
	char e[96];

	if (!why || !whylen)
		return;
	mbedtls_strerror(mbed, e, sizeof(e));
	snprintf(why, whylen, "%s: %s", what, e);
}

static char *pem_dup(const unsigned char *buf)
{
	size_t n = strlen((const char *)buf);
	char *s = malloc(n + 1);

	if (s)
		memcpy(s, buf, n + 1);
	return s;
}

/* width decimal digits, zero-padded (callers keep v below 10^width) */
static void put_dec(char *p, unsigned v, int width)
{
	for (int i = width - 1; i >= 0; i--) {
		p[i] = (char)('0' + v % 10);
		v /= 10;
	}
}

/* t in [PKI_TIME_MIN, PKI_TIME_MAX): "YYYYMMDDhhmmss" as x509write wants it. */
static void unix_to_x509(int64_t t, char out[15])
{
	struct kh_civil c;

	kh_civil_from_unix(t, &c);
	put_dec(out, (unsigned)c.year, 4);
	put_dec(out + 4, c.month, 2);
	put_dec(out + 6, c.day, 2);
	put_dec(out + 8, c.hour, 2);
	put_dec(out + 10, c.min, 2);
	put_dec(out + 12, c.sec, 2);
	out[14] = 0;
}

static int64_t x509_to_unix(const mbedtls_x509_time *x)
{
	struct kh_civil c = {x->year,		(unsigned)x->mon, (unsigned)x->day,
			     (unsigned)x->hour, (unsigned)x->min, (unsigned)x->sec};

	return kh_unix_from_civil(&c);
}

/* ---- input checks ---- */

/*
 * A name for "O=...,CN=..." without any escaping: printable ASCII without
 * the characters that are special in DN strings, no edge spaces.
 */
static int name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > PKI_NAME_MAX || s[0] == ' ' || s[n - 1] == ' ')
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c > 0x7e || strchr(",=+\"\\<>;#", c))
			return 0;
	}
	return 1;
}

/* Letters, digits, hyphens; labels of 1-63; not all-numeric at the end (an IP typo). */
static int dns_ok(const char *s)
{
	size_t n = strlen(s), lab = 0;
	int digits_only = 1;

	if (n == 0 || n > PKI_HOST_MAX)
		return 0;
	for (size_t i = 0; i <= n; i++) {
		char c = s[i];
		if (c == '.' || c == 0) {
			if (lab == 0 || lab > 63 || s[i - 1] == '-')
				return 0;
			if (c == 0)
				break;
			lab = 0;
			digits_only = 1;
			continue;
		}
		if (lab == 0 && c == '-')
			return 0;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-'))
			return 0;
		if (c < '0' || c > '9')
			digits_only = 0;
		lab++;
	}
	return !digits_only;
}

/* A private key (or, for a subject, a public key) as PEM, P-256 only. */
static int load_key(mbedtls_pk_context *pk, const char *pem, int public_ok, const char *what,
		    struct kh_drbg *rng, char *why, size_t whylen)
{
	char msg[48];
	size_t len;
	int ret;

	if (!kh_mbed_is_pem(pem)) {
		snprintf(msg, sizeof(msg), "%s: not PEM", what);
		say(why, whylen, msg);
		return -EINVAL;
	}
	len = strlen(pem) + 1;
	ret = kh_mbed_parse_key(pk, pem, len, rng);
	if (ret && public_ok) {
		mbedtls_pk_free(pk);
		mbedtls_pk_init(pk);
		if (mbedtls_pk_parse_public_key(pk, (const unsigned char *)pem, len) == 0)
			ret = 0;
	}
	if (ret) {
		say_mbed(why, whylen, what, ret);
		return ret == MBEDTLS_ERR_PK_ALLOC_FAILED ? -ENOMEM : -EINVAL;
	}
	if (!kh_mbed_is_p256(pk)) {
		snprintf(msg, sizeof(msg), "%s: not a P-256 key", what);
		say(why, whylen, msg);
		return -EINVAL;
	}
	return 0;
}

/* ---- keys ---- */

int kh_pki_key_new(char **key_pem)
{
	struct kh_drbg rng;
	mbedtls_pk_context pk;
	unsigned char buf[PKI_KEY_PEM_MAX];
	int err;

	*key_pem = NULL;
	if (kh_drbg_init(&rng, "khien-pki-key"))
		return -EIO;
	mbedtls_pk_init(&pk);
	err = -ENOMEM;
	if (mbedtls_pk_setup(&pk, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY)))
		goto out;
	err = -EIO;
	if (mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, mbedtls_pk_ec(pk), kh_mbed_rng, &rng))
		goto out;
	err = -EINVAL;
	if (mbedtls_pk_write_key_pem(&pk, buf, sizeof(buf)))
		goto out;
	err = -ENOMEM;
	*key_pem = pem_dup(buf);
	if (*key_pem)
		err = 0;
out:
	kh_memzero(buf, sizeof(buf));
	mbedtls_pk_free(&pk);
	kh_drbg_free(&rng);
	return err;
}

/* ---- extensions written by hand ---- */

/*
 * Close the SEQUENCE whose len content bytes were written backwards to *p
 * (down to buf) and set it as the extension oid: what mbedTLS 2.28 has no
 * helper for (extKeyUsage, subjectAltName).
 */
static int set_seq_extension(mbedtls_x509write_cert *crt, const char *oid, size_t oid_len,
			     unsigned char *p, unsigned char *buf, int len)
{
	int ret;

	if ((ret = mbedtls_asn1_write_len(&p, buf, (size_t)len)) < 0)
		return ret;
	len += ret;
	if ((ret = mbedtls_asn1_write_tag(&p, buf,
					  MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE)) < 0)
		return ret;
	len += ret;
	return mbedtls_x509write_crt_set_extension(crt, oid, oid_len, 0, p, (size_t)len);
}

/* ExtKeyUsageSyntax ::= SEQUENCE SIZE (1..MAX) OF KeyPurposeId */
static int ext_eku(mbedtls_x509write_cert *crt, const char *oid, size_t oid_len)
{
	unsigned char buf[32] = {0}, *p = buf + sizeof(buf);
	int ret;

	if ((ret = mbedtls_asn1_write_oid(&p, buf, oid, oid_len)) < 0)
		return ret;
	return set_seq_extension(crt, MBEDTLS_OID_EXTENDED_KEY_USAGE,
				 MBEDTLS_OID_SIZE(MBEDTLS_OID_EXTENDED_KEY_USAGE), p, buf, ret);
}

/* One GeneralName, [tag] IMPLICIT (IA5String or OCTET STRING), written backwards. */
static int write_general_name(unsigned char **p, unsigned char *start, int tag,
			      const unsigned char *v, size_t n)
{
	int len = 0, ret;

	if ((ret = mbedtls_asn1_write_raw_buffer(p, start, v, n)) < 0)
		return ret;
	len += ret;
	if ((ret = mbedtls_asn1_write_len(p, start, n)) < 0)
		return ret;
	len += ret;
	if ((ret = mbedtls_asn1_write_tag(
		     p, start, (unsigned char)(MBEDTLS_ASN1_CONTEXT_SPECIFIC | tag))) < 0)
		return ret;
	return len + ret;
}

/*
 * subjectAltName: dNSName always (mbedTLS 2.28 matches only dNSName, by
 * string, even for an IP literal), plus iPAddress for an IP literal so
 * that other TLS stacks match it as an address.
 */
static int ext_san(mbedtls_x509write_cert *crt, const char *host, const uint8_t *ip, size_t ip_len)
{
	unsigned char buf[PKI_HOST_MAX + 64], *p = buf + sizeof(buf);
	int len = 0, ret;

	if (ip_len) {
		ret = write_general_name(&p, buf, MBEDTLS_X509_SAN_IP_ADDRESS, ip, ip_len);
		if (ret < 0)
			return ret;
		len += ret;
	}
	ret = write_general_name(&p, buf, MBEDTLS_X509_SAN_DNS_NAME, (const unsigned char *)host,
				 strlen(host));
	if (ret < 0)
		return ret;
	return set_seq_extension(crt, MBEDTLS_OID_SUBJECT_ALT_NAME,
				 MBEDTLS_OID_SIZE(MBEDTLS_OID_SUBJECT_ALT_NAME), p, buf, len + ret);
}

static int ca_istrue(const mbedtls_x509_crt *crt)
{
#if KH_MBED3
	return mbedtls_x509_crt_get_ca_istrue(crt) == 1;
#else
	return crt->ca_istrue ? 1 : 0;
#endif
}

/* A name (DER: SEQUENCE OF SET OF attribute) with a SET of more than one attribute. */
static int multi_valued(const mbedtls_x509_buf *raw)
{
	unsigned char *p = raw->p, *end = raw->p + raw->len;
	size_t len;

	if (mbedtls_asn1_get_tag(&p, end, &len, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE) ||
	    p + len != end)
		return 1;
	while (p < end) {
		unsigned char *set_end;

		if (mbedtls_asn1_get_tag(&p, end, &len,
					 MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SET))
			return 1;
		set_end = p + len;
		if (mbedtls_asn1_get_tag(&p, set_end, &len,
					 MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE))
			return 1;
		p += len;
		if (p != set_end)
			return 1;
	}
	return 0;
}

/*
 * The issuer name is the issuer certificate's subject, copied attribute by
 * attribute with the original string tags, so that chain building matches it
 * byte for byte (a round trip through text would lose escaping and
 * non-ASCII). 2.28: the list is built in DER order: x509write emits it
 * reversed from head, and store_named_data prepends, which cancels out.
 * 3.x keeps the list private; its name parser takes "OID=#DER" (the
 * attribute's tag and bytes as hex), which is as exact and builds the list
 * the same way.
 */
static int copy_issuer(mbedtls_x509write_cert *crt, const mbedtls_x509_crt *icrt, char *why,
		       size_t whylen)
{
	const mbedtls_x509_name *subj = &icrt->subject;
#if KH_MBED3
	char text[1024];
	size_t at = 0;
	int ret;
#endif

	if (multi_valued(&icrt->subject_raw)) {
		say(why, whylen, "issuer: multi-valued name attributes are not supported");
		return -EINVAL;
	}
	for (const mbedtls_x509_name *n = subj; n; n = n->next) {
		for (const mbedtls_x509_name *m = subj; m != n; m = m->next) {
			if (m->oid.len == n->oid.len && !memcmp(m->oid.p, n->oid.p, n->oid.len)) {
				say(why, whylen,
				    "issuer: repeated name attributes are not supported");
				return -EINVAL;
			}
		}
#if KH_MBED3
		/* OID=#TTLLVV..: tag, one short-form length byte, value */
		if (n->val.len > 127) {
			say(why, whylen, "issuer: name attribute longer than 127 bytes");
			return -EINVAL;
		}
		ret = mbedtls_oid_get_numeric_string(text + at, sizeof(text) - at, &n->oid);
		if (ret < 0 || at + (size_t)ret + 6 + 2 * n->val.len + 2 > sizeof(text)) {
			say(why, whylen, "issuer: name too long");
			return -EINVAL;
		}
		at += (size_t)ret;
		at += (size_t)snprintf(text + at, sizeof(text) - at, "=#%02x%02x", n->val.tag,
				       (unsigned)n->val.len);
		kh_hex_encode(n->val.p, n->val.len, text + at);
		at += 2 * n->val.len;
		if (n->next)
			text[at++] = ',';
		text[at] = 0;
#else
		mbedtls_asn1_named_data *d = mbedtls_asn1_store_named_data(
			&crt->issuer, (const char *)n->oid.p, n->oid.len, n->val.p, n->val.len);
		if (!d)
			return -ENOMEM;
		d->val.tag = n->val.tag;
#endif
	}
#if KH_MBED3
	ret = mbedtls_x509write_crt_set_issuer_name(crt, text);
	if (ret) {
		say_mbed(why, whylen, "issuer", ret);
		return ret == MBEDTLS_ERR_X509_ALLOC_FAILED ? -ENOMEM : -EINVAL;
	}
#endif
	return 0;
}

static int check_opts(const struct kh_cert_opts *o, uint8_t ip[16], size_t *ip_len, char *why,
		      size_t whylen)
{
	const char *cn = o->cn ? o->cn : (o->kind == KH_CERT_SERVER ? o->host : NULL);

	*ip_len = 0;
	if (o->kind != KH_CERT_CA && o->kind != KH_CERT_SERVER && o->kind != KH_CERT_CLIENT) {
		say(why, whylen, "kind: unknown");
		return -EINVAL;
	}
	if (!cn || !name_ok(cn)) {
		say(why, whylen, "cn: 1-64 printable ASCII characters without , = + \" \\ < > ; #");
		return -EINVAL;
	}
	if (o->org && !name_ok(o->org)) {
		say(why, whylen,
		    "org: 1-64 printable ASCII characters without , = + \" \\ < > ; #");
		return -EINVAL;
	}
	if (o->kind == KH_CERT_SERVER) {
		if (!o->host) {
			say(why, whylen, "host: required for a server certificate");
			return -EINVAL;
		}
		if (kh_ip4_parse(o->host, ip) == 0)
			*ip_len = 4;
		else if (kh_ip6_parse(o->host, ip) == 0)
			*ip_len = 16;
		else if (!dns_ok(o->host)) {
			say(why, whylen, "host: not a DNS name or IP literal");
			return -EINVAL;
		}
	}
	if (o->not_before < PKI_TIME_MIN || o->not_after >= PKI_TIME_MAX ||
	    o->not_before >= PKI_TIME_MAX || o->not_after < PKI_TIME_MIN) {
		say(why, whylen, "validity: times must fall in the years 2000-9999");
		return -EINVAL;
	}
	if (o->not_after <= o->not_before) {
		say(why, whylen, "validity: not_after must be later than not_before");
		return -EINVAL;
	}
	return 0;
}

int kh_pki_issue(const struct kh_cert_opts *o, const char *subject_key_pem,
		 const char *issuer_key_pem, const char *issuer_cert_pem, char **cert_pem,
		 char *why, size_t whylen)
{
	mbedtls_x509write_cert crt;
	mbedtls_pk_context subj, ikey;
	mbedtls_x509_crt icrt;
	mbedtls_mpi serial;
	struct kh_drbg rng;
	unsigned char *buf = NULL, sn[16];
	char subject[2 * PKI_NAME_MAX + 8], nb[15], na[15];
	const char *cn;
	uint8_t ip[16];
	size_t ip_len;
	int self = !issuer_key_pem && !issuer_cert_pem, err, ret;

	*cert_pem = NULL;
	if (why && whylen)
		why[0] = 0;
	if (!o) {
		say(why, whylen, "no options");
		return -EINVAL;
	}
	err = check_opts(o, ip, &ip_len, why, whylen);
	if (err)
		return err;
	if (!self && (!issuer_key_pem || !issuer_cert_pem)) {
		say(why, whylen, "issuer: give both key and certificate, or neither");
		return -EINVAL;
	}
	if (self && o->kind != KH_CERT_CA) {
		say(why, whylen, "issuer: only a CA certificate can be self-signed");
		return -EINVAL;
	}
	if (kh_drbg_init(&rng, "khien-pki-issue")) {
		say(why, whylen, "entropy source failed");
		return -EIO;
	}
	mbedtls_x509write_crt_init(&crt);
	mbedtls_pk_init(&subj);
	mbedtls_pk_init(&ikey);
	mbedtls_x509_crt_init(&icrt);
	mbedtls_mpi_init(&serial);

	err = load_key(&subj, subject_key_pem, 1, "subject key", &rng, why, whylen);
	if (err)
		goto out;
	if (!self) {
		err = load_key(&ikey, issuer_key_pem, 0, "issuer key", &rng, why, whylen);
		if (err)
			goto out;
		err = -EINVAL;
		if (!kh_mbed_is_pem(issuer_cert_pem)) {
			say(why, whylen, "issuer cert: not PEM");
			goto out;
		}
		ret = mbedtls_x509_crt_parse(&icrt, (const unsigned char *)issuer_cert_pem,
					     strlen(issuer_cert_pem) + 1);
		if (ret) {
			say_mbed(why, whylen, "issuer cert",
				 ret < 0 ? ret : MBEDTLS_ERR_X509_INVALID_FORMAT);
			goto out;
		}
		if (!ca_istrue(&icrt)) {
			say(why, whylen, "issuer cert: not a CA");
			goto out;
		}
		if (kh_mbed_check_pair(&icrt.pk, &ikey, &rng)) {
			say(why, whylen, "issuer key: does not match the issuer certificate");
			goto out;
		}
		err = copy_issuer(&crt, &icrt, why, whylen);
		if (err)
			goto out;
	}

	cn = o->cn ? o->cn : o->host;
	/* DER order O then CN (see copy_issuer for why the string order is kept) */
	/*
	 * A root may sign intermediate CAs; an intermediate (a CA issued here)
	 * gets pathlen 0 and may sign only end-entity certificates.
	 */
	if (o->org)
		snprintf(subject, sizeof(subject), "O=%s,CN=%s", o->org, cn);
	else
		snprintf(subject, sizeof(subject), "CN=%s", cn);
	unix_to_x509(o->not_before, nb);
	unix_to_x509(o->not_after, na);

	err = -EIO;
	if (kh_drbg_generate(&rng, sn, sizeof(sn)))
		goto out;
	sn[0] = (uint8_t)((sn[0] & 0x7f) | 0x40); /* positive, and exactly 16 bytes in DER */
	err = -ENOMEM;
	if (mbedtls_mpi_read_binary(&serial, sn, sizeof(sn)))
		goto out;

	mbedtls_x509write_crt_set_version(&crt, MBEDTLS_X509_CRT_VERSION_3);
	mbedtls_x509write_crt_set_md_alg(&crt, MBEDTLS_MD_SHA256);
	mbedtls_x509write_crt_set_subject_key(&crt, &subj);
	mbedtls_x509write_crt_set_issuer_key(&crt, self ? &subj : &ikey);
	err = -EINVAL;
	if ((ret = mbedtls_x509write_crt_set_serial(&crt, &serial)) ||
	    (ret = mbedtls_x509write_crt_set_validity(&crt, nb, na)) ||
	    (ret = mbedtls_x509write_crt_set_subject_name(&crt, subject)) ||
	    (self && (ret = mbedtls_x509write_crt_set_issuer_name(&crt, subject))) ||
	    (ret = mbedtls_x509write_crt_set_basic_constraints(
		     &crt, o->kind == KH_CERT_CA, o->kind == KH_CERT_CA && !self ? 0 : -1)) ||
	    (ret = mbedtls_x509write_crt_set_key_usage(
		     &crt, o->kind == KH_CERT_CA
				   ? MBEDTLS_X509_KU_KEY_CERT_SIGN | MBEDTLS_X509_KU_CRL_SIGN
				   : MBEDTLS_X509_KU_DIGITAL_SIGNATURE)) ||
	    (ret = mbedtls_x509write_crt_set_subject_key_identifier(&crt)) ||
	    (ret = mbedtls_x509write_crt_set_authority_key_identifier(&crt)) ||
	    (o->kind == KH_CERT_SERVER &&
	     ((ret = ext_eku(&crt, MBEDTLS_OID_SERVER_AUTH,
			     MBEDTLS_OID_SIZE(MBEDTLS_OID_SERVER_AUTH))) ||
	      (ret = ext_san(&crt, o->host, ip, ip_len)))) ||
	    (o->kind == KH_CERT_CLIENT &&
	     (ret = ext_eku(&crt, MBEDTLS_OID_CLIENT_AUTH,
			    MBEDTLS_OID_SIZE(MBEDTLS_OID_CLIENT_AUTH))))) {
		say_mbed(why, whylen, "certificate", ret);
		if (ret == MBEDTLS_ERR_X509_ALLOC_FAILED || ret == MBEDTLS_ERR_ASN1_ALLOC_FAILED)
			err = -ENOMEM;
		goto out;
	}
	err = -ENOMEM;
	buf = malloc(PKI_CRT_PEM_MAX);
	if (!buf)
		goto out;
	ret = mbedtls_x509write_crt_pem(&crt, buf, PKI_CRT_PEM_MAX, kh_mbed_rng, &rng);
	if (ret) {
		say_mbed(why, whylen, "certificate", ret);
		err = -EIO;
		goto out;
	}
	*cert_pem = pem_dup(buf);
	err = *cert_pem ? 0 : -ENOMEM;
out:
	free(buf);
	mbedtls_mpi_free(&serial);
	mbedtls_x509_crt_free(&icrt);
	mbedtls_pk_free(&ikey);
	mbedtls_pk_free(&subj);
	mbedtls_x509write_crt_free(&crt);
	kh_drbg_free(&rng);
	return err;
}

/* ---- reading ---- */

static int copy_cn(const mbedtls_x509_name *n, char out[65], const char *what, char *why,
		   size_t whylen)
{
	char msg[48];

	out[0] = 0;
	for (; n; n = n->next) {
		if (MBEDTLS_OID_CMP(MBEDTLS_OID_AT_CN, &n->oid) != 0)
			continue;
		if (n->val.len > PKI_NAME_MAX || memchr(n->val.p, 0, n->val.len)) {
			snprintf(msg, sizeof(msg), "%s: CN too long or has a NUL", what);
			say(why, whylen, msg);
			return -EINVAL;
		}
		memcpy(out, n->val.p, n->val.len);
		out[n->val.len] = 0;
		return 0;
	}
	return 0; /* no CN: empty string */
}

int kh_pki_cert_info(const char *cert_pem, struct kh_cert_info *out, char *why, size_t whylen)
{
	mbedtls_pem_context pem;
	mbedtls_x509_crt crt;
	const unsigned char *sp;
	size_t use_len, sl, der_len;
	const unsigned char *der;
	int ret, err = -EINVAL;

	memset(out, 0, sizeof(*out));
	if (why && whylen)
		why[0] = 0;
	if (!cert_pem || !strstr(cert_pem, "-----BEGIN CERTIFICATE-----")) {
		say(why, whylen, "not a PEM certificate");
		return -EINVAL;
	}
	mbedtls_pem_init(&pem);
	mbedtls_x509_crt_init(&crt);
	ret = mbedtls_pem_read_buffer(&pem, "-----BEGIN CERTIFICATE-----",
				      "-----END CERTIFICATE-----", (const unsigned char *)cert_pem,
				      NULL, 0, &use_len);
	if (ret) {
		say_mbed(why, whylen, "certificate PEM", ret);
		goto out;
	}
#if KH_MBED3
	der = mbedtls_pem_get_buffer(&pem, &der_len);
#else
	der = pem.buf;
	der_len = pem.buflen;
#endif
	ret = mbedtls_x509_crt_parse_der(&crt, der, der_len);
	if (ret) {
		say_mbed(why, whylen, "certificate", ret);
		err = ret == MBEDTLS_ERR_X509_ALLOC_FAILED ? -ENOMEM : -EINVAL;
		goto out;
	}
	if ((err = copy_cn(&crt.subject, out->cn, "subject", why, whylen)) ||
	    (err = copy_cn(&crt.issuer, out->issuer_cn, "issuer", why, whylen)))
		goto out;
	/* the serial as a number: no leading zero bytes (DER adds one for positivity) */
	sp = crt.serial.p;
	sl = crt.serial.len;
	while (sl > 1 && sp[0] == 0) {
		sp++;
		sl--;
	}
	err = -EINVAL;
	if (sl > 20) {
		say(why, whylen, "certificate: serial longer than 20 bytes");
		goto out;
	}
	kh_hex_encode(sp, sl, out->serial_hex);
	out->not_before = x509_to_unix(&crt.valid_from);
	out->not_after = x509_to_unix(&crt.valid_to);
	kh_sha256(crt.raw.p, crt.raw.len, out->sha256);
	out->is_ca = ca_istrue(&crt);
	err = 0;
out:
	mbedtls_x509_crt_free(&crt);
	mbedtls_pem_free(&pem);
	if (err)
		memset(out, 0, sizeof(*out));
	return err;
}

void kh_pki_free(char *pem)
{
	free(pem);
}

void kh_pki_free_secret(char *pem)
{
	if (!pem)
		return;
	kh_memzero(pem, strlen(pem));
	free(pem);
}
