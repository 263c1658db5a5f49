/* SPDX-License-Identifier: MIT */
/*
 * Test builder of MCUboot images, written from the format in MCUboot's
 * docs/design.md (and bootutil's image.h) rather than with imgtool, so the
 * tests do not need Python's crypto stack: header, payload, protected TLV
 * area (security counter, and any extra TLV), unprotected area with
 * SHA256, KEYHASH and an ECDSA P-256 DER signature over the hash, as
 * imgtool lays them out. Switches produce the bad images the verifier
 * must refuse. Included by tests/unit/test_mcuboot.c (with
 * MKMCUBOOT_NO_MAIN) and built as the test tool khien-mkmcuboot.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "firmware/mcuboot.h"
#include "lib/endian.h"

struct mkm {
	const uint8_t *payload;
	size_t payload_len;
	uint16_t hdr_size; /* 0: 32 */
	uint32_t load_addr, flags;
	uint8_t major, minor;
	uint16_t revision;
	uint32_t build;
	int no_counter;
	uint32_t counter;
	int counter_unprotected; /* the SEC_CNT TLV in the unprotected area */
	int extra_prot_type;	 /* a further protected TLV of this type (0: none) */
	int extra_unprot_type;	 /* a further unprotected TLV of this type (0: none) */
	int no_keyhash, no_hash, no_sig, pad_sig;
	const struct kh_ecdsa_priv *key;
	/* further signers: each adds its KEYHASH and signature TLVs after key's */
	const struct kh_ecdsa_priv *more[KH_MCUBOOT_MAX_SIGS];
	unsigned nmore;
	/* damage after signing */
	int tamper;		/* flip a payload byte */
	uint32_t truncate;	/* cut bytes off the end */
	int64_t img_size_set;	/* >= 0: write this img_size into the header */
	int64_t prot_size_set;	/* >= 0: write this protect_tlv_size into the header */
	int64_t unprot_tot_set; /* >= 0: write this total into the unprotected info */
	int64_t tlv_len_set;	/* >= 0: write this length into the last TLV's header */
};

static void mkm_defaults(struct mkm *m)
{
	memset(m, 0, sizeof(*m));
	m->major = 1;
	m->counter = 1;
	m->img_size_set = m->prot_size_set = m->unprot_tot_set = m->tlv_len_set = -1;
}

struct mkm_buf {
	uint8_t *p;
	size_t len, cap;
};

static int mkm_put(struct mkm_buf *b, const void *d, size_t n)
{
	if (b->len + n > b->cap) {
		size_t cap = (b->len + n) * 2 + 256;
		uint8_t *p = realloc(b->p, cap);
		if (!p)
			return -1;
		b->p = p;
		b->cap = cap;
	}
	if (d)
		memcpy(b->p + b->len, d, n);
	else
		memset(b->p + b->len, 0, n);
	b->len += n;
	return 0;
}

static int mkm_tlv(struct mkm_buf *b, unsigned type, const void *v, size_t n)
{
	uint8_t h[4];

	kh_put_le16(h, (uint16_t)type);
	kh_put_le16(h + 2, (uint16_t)n);
	return mkm_put(b, h, 4) || mkm_put(b, v, n) ? -1 : 0;
}

/* r || s to DER SEQUENCE { INTEGER r, INTEGER s }, minimal integers. */
static size_t mkm_der_sig(const uint8_t rs[KH_ECDSA_SIG_LEN], uint8_t *out)
{
	uint8_t tmp[2][35];
	size_t n[2], o = 0;

	for (int i = 0; i < 2; i++) {
		const uint8_t *v = rs + 32 * i;
		size_t skip = 0, k = 0;

		while (skip < 31 && v[skip] == 0)
			skip++;
		tmp[i][k++] = 0x02;
		tmp[i][k++] = (uint8_t)(32 - skip + (v[skip] & 0x80 ? 1 : 0));
		if (v[skip] & 0x80)
			tmp[i][k++] = 0;
		memcpy(tmp[i] + k, v + skip, 32 - skip);
		n[i] = k + 32 - skip;
	}
	out[o++] = 0x30;
	out[o++] = (uint8_t)(n[0] + n[1]);
	memcpy(out + o, tmp[0], n[0]);
	memcpy(out + o + n[0], tmp[1], n[1]);
	return o + n[0] + n[1];
}

/* The image into *out (malloc'd). 0, or -1 on a key or memory failure. */
static int mkm_build(const struct mkm *m, uint8_t **out, size_t *out_len)
{
	struct mkm_buf b = {0}, prot = {0};
	uint16_t hdr_size = m->hdr_size ? m->hdr_size : KH_MCUBOOT_HDR_LEN;
	uint8_t hdr[KH_MCUBOOT_HDR_LEN] = {0}, v4[4], hash[32], rs[64], der[80], kh[32];
	uint8_t extra[8] = {1, 2, 3, 4, 5, 6, 7, 8};
	struct kh_ecdsa_pub pub;
	struct kh_drbg rng;
	size_t unprot_start, hashed, pay_off;
	size_t last_tlv = 0;
	int rc = -1;

	/* the protected area first: its size goes into the header */
	if (!m->no_counter && !m->counter_unprotected) {
		kh_put_le32(v4, m->counter);
		if (mkm_tlv(&prot, KH_MCUBOOT_TLV_SEC_CNT, v4, 4))
			goto out;
	}
	if (m->extra_prot_type && mkm_tlv(&prot, (unsigned)m->extra_prot_type, extra, 8))
		goto out;

	kh_put_le32(hdr, KH_MCUBOOT_MAGIC);
	kh_put_le32(hdr + 4, m->load_addr);
	kh_put_le16(hdr + 8, hdr_size);
	kh_put_le16(hdr + 10, (uint16_t)(prot.len ? prot.len + 4 : 0));
	kh_put_le32(hdr + 12, (uint32_t)m->payload_len);
	kh_put_le32(hdr + 16, m->flags);
	hdr[20] = m->major;
	hdr[21] = m->minor;
	kh_put_le16(hdr + 22, m->revision);
	kh_put_le32(hdr + 24, m->build);
	if (mkm_put(&b, hdr, sizeof(hdr)) ||
	    mkm_put(&b, NULL, hdr_size > sizeof(hdr) ? hdr_size - sizeof(hdr) : 0) ||
	    mkm_put(&b, m->payload, m->payload_len))
		goto out;
	pay_off = b.len - m->payload_len;
	if (prot.len) {
		kh_put_le16(v4, KH_MCUBOOT_TLV_PROT_INFO_MAGIC);
		kh_put_le16(v4 + 2, (uint16_t)(prot.len + 4));
		if (mkm_put(&b, v4, 4) || mkm_put(&b, prot.p, prot.len))
			goto out;
	}
	hashed = b.len;
	kh_sha256(b.p, hashed, hash);

	unprot_start = b.len;
	if (mkm_put(&b, NULL, 4))
		goto out;
	if (!m->no_hash) {
		last_tlv = b.len;
		if (mkm_tlv(&b, KH_MCUBOOT_TLV_SHA256, hash, 32))
			goto out;
	}
	if (m->counter_unprotected) {
		kh_put_le32(v4, m->counter);
		last_tlv = b.len;
		if (mkm_tlv(&b, KH_MCUBOOT_TLV_SEC_CNT, v4, 4))
			goto out;
	}
	if (m->extra_unprot_type) {
		last_tlv = b.len;
		if (mkm_tlv(&b, (unsigned)m->extra_unprot_type, extra, 8))
			goto out;
	}
	for (unsigned si = 0; m->key && !m->no_sig && si <= m->nmore; si++) {
		const struct kh_ecdsa_priv *key = si ? m->more[si - 1] : m->key;
		size_t dl;

		if (kh_ecdsa_public(key, &pub) < 0)
			goto out;
		if (!m->no_keyhash) {
			kh_mcuboot_keyhash(&pub, kh);
			last_tlv = b.len;
			if (mkm_tlv(&b, KH_MCUBOOT_TLV_KEYHASH, kh, 32))
				goto out;
		}
		if (kh_drbg_init(&rng, "mkmcuboot") < 0)
			goto out;
		if (kh_ecdsa_sign(&rng, key, hash, rs) < 0) {
			kh_drbg_free(&rng);
			goto out;
		}
		kh_drbg_free(&rng);
		dl = mkm_der_sig(rs, der);
		if (m->pad_sig)
			while (dl < KH_MCUBOOT_SIG_MAX)
				der[dl++] = 0;
		last_tlv = b.len;
		if (mkm_tlv(&b, KH_MCUBOOT_TLV_ECDSA_SIG, der, dl))
			goto out;
	}
	kh_put_le16(b.p + unprot_start, KH_MCUBOOT_TLV_INFO_MAGIC);
	kh_put_le16(b.p + unprot_start + 2, (uint16_t)(b.len - unprot_start));

	if (m->tamper && m->payload_len)
		b.p[pay_off + m->payload_len / 2] ^= 0x01;
	if (m->img_size_set >= 0)
		kh_put_le32(b.p + 12, (uint32_t)m->img_size_set);
	if (m->prot_size_set >= 0)
		kh_put_le16(b.p + 10, (uint16_t)m->prot_size_set);
	if (m->unprot_tot_set >= 0)
		kh_put_le16(b.p + unprot_start + 2, (uint16_t)m->unprot_tot_set);
	if (m->tlv_len_set >= 0 && last_tlv)
		kh_put_le16(b.p + last_tlv + 2, (uint16_t)m->tlv_len_set);
	if (m->truncate)
		b.len = m->truncate < b.len ? b.len - m->truncate : 0;
	*out = b.p;
	*out_len = b.len;
	b.p = NULL;
	rc = 0;
out:
	free(b.p);
	free(prot.p);
	return rc;
}

#ifndef MKMCUBOOT_NO_MAIN
#include "lib/err.h"
#include "platform/fs.h"
#include "policy/trust.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: khien-mkmcuboot --key F.key [--key ...] [options] -o IMG\n"
		   "  --key F.key           khien-policy keygen private key that signs; more\n"
		   "                        --key (up to 4, the same one again too) add\n"
		   "                        KEYHASH and signature TLVs in that order\n"
		   "  --key-hex D           or the private scalar in hex (64 digits)\n"
		   "  --payload FILE        the image body (default: --payload-size bytes)\n"
		   "  --payload-size N      a generated body of N bytes (default 4096)\n"
		   "  --counter N           security counter TLV 0x50 (default 1)\n"
		   "  --version M.m.r+b     image version (default 1.0.0+0)\n"
		   "  --hdr-size N          header size, padded (default 32)\n"
		   "  --pad-sig             pad the DER signature to 72 bytes (imgtool --pad-sig)\n"
		   "bad images:\n"
		   "  --no-counter, --unprotected-counter, --no-hash, --no-keyhash, --no-sig\n"
		   "  --tamper              flip a payload byte after signing\n"
		   "  --truncate N          cut N bytes off the end\n"
		   "  --img-size N, --prot-size N, --unprot-tot N, --tlv-len N\n"
		   "                        write these into the header / TLV info / last TLV\n"
		   "  --tlv-prot TYPE, --tlv-unprot TYPE  add an 8-byte TLV of TYPE to an area\n"
		   "  --pad-to N            pad the file with erased bytes (0xff) to N bytes\n");
}

static int num(const char *s, int64_t *v)
{
	char *end;
	long long x = strtoll(s, &end, 0);

	if (!*s || *end || x < 0)
		return -1;
	*v = x;
	return 0;
}

int main(int argc, char **argv)
{
	struct mkm m;
	struct kh_ecdsa_priv priv[KH_MCUBOOT_MAX_SIGS];
	struct kh_pubkey pub;
	const char *out = NULL, *keyf[KH_MCUBOOT_MAX_SIGS], *keyhex = NULL, *payf = NULL, *why;
	unsigned nkeyf = 0;
	uint8_t *pay = NULL, *img = NULL, *kt = NULL;
	size_t paylen = 4096, imglen, ktlen;
	int64_t v, pad_to = 0;
	int err;

	mkm_defaults(&m);
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *n = i + 1 < argc ? argv[i + 1] : NULL;
		int takes = 1;

		if (!strcmp(a, "-o") && n)
			out = n;
		else if (!strcmp(a, "--key") && n && nkeyf < KH_MCUBOOT_MAX_SIGS)
			keyf[nkeyf++] = n;
		else if (!strcmp(a, "--key-hex") && n)
			keyhex = n;
		else if (!strcmp(a, "--payload") && n)
			payf = n;
		else if (!strcmp(a, "--payload-size") && n && !num(n, &v))
			paylen = (size_t)v;
		else if (!strcmp(a, "--counter") && n && !num(n, &v))
			m.counter = (uint32_t)v;
		else if (!strcmp(a, "--hdr-size") && n && !num(n, &v))
			m.hdr_size = (uint16_t)v;
		else if (!strcmp(a, "--truncate") && n && !num(n, &v))
			m.truncate = (uint32_t)v;
		else if (!strcmp(a, "--img-size") && n && !num(n, &v))
			m.img_size_set = v;
		else if (!strcmp(a, "--prot-size") && n && !num(n, &v))
			m.prot_size_set = v;
		else if (!strcmp(a, "--unprot-tot") && n && !num(n, &v))
			m.unprot_tot_set = v;
		else if (!strcmp(a, "--tlv-len") && n && !num(n, &v))
			m.tlv_len_set = v;
		else if (!strcmp(a, "--tlv-prot") && n && !num(n, &v))
			m.extra_prot_type = (int)v;
		else if (!strcmp(a, "--tlv-unprot") && n && !num(n, &v))
			m.extra_unprot_type = (int)v;
		else if (!strcmp(a, "--pad-to") && n && !num(n, &v))
			pad_to = v;
		else if (!strcmp(a, "--version") && n) {
			unsigned ma = 0, mi = 0, re = 0;
			unsigned long bu = 0;
			if (sscanf(n, "%u.%u.%u+%lu", &ma, &mi, &re, &bu) < 3 || ma > 255 ||
			    mi > 255 || re > 65535) {
				fprintf(stderr, "khien-mkmcuboot: --version M.m.r[+b]\n");
				return 2;
			}
			m.major = (uint8_t)ma;
			m.minor = (uint8_t)mi;
			m.revision = (uint16_t)re;
			m.build = (uint32_t)bu;
		} else {
			takes = 0;
			if (!strcmp(a, "--no-counter"))
				m.no_counter = 1;
			else if (!strcmp(a, "--unprotected-counter"))
				m.counter_unprotected = 1;
			else if (!strcmp(a, "--no-hash"))
				m.no_hash = 1;
			else if (!strcmp(a, "--no-keyhash"))
				m.no_keyhash = 1;
			else if (!strcmp(a, "--no-sig"))
				m.no_sig = 1;
			else if (!strcmp(a, "--tamper"))
				m.tamper = 1;
			else if (!strcmp(a, "--pad-sig"))
				m.pad_sig = 1;
			else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
				usage(stdout);
				return 0;
			} else {
				usage(stderr);
				return 2;
			}
		}
		i += takes;
	}
	if (!out || (!nkeyf && !keyhex)) {
		usage(stderr);
		return 2;
	}
	if (keyhex) {
		for (int i = 0; i < 32; i++) {
			unsigned x;
			if (strlen(keyhex) != 64 || sscanf(keyhex + 2 * i, "%2x", &x) != 1) {
				fprintf(stderr, "khien-mkmcuboot: --key-hex: 64 hex digits\n");
				return 2;
			}
			priv[0].d[i] = (uint8_t)x;
		}
		nkeyf = 0;
	}
	for (unsigned k = 0; k < nkeyf; k++) {
		if ((err = kh_fs_read(keyf[k], 1 << 16, &kt, &ktlen)) < 0) {
			fprintf(stderr, "khien-mkmcuboot: %s: %s\n", keyf[k], kh_strerror(err));
			return 2;
		}
		if (kh_key_parse((const char *)kt, ktlen, &pub, &priv[k], &why) < 0) {
			fprintf(stderr, "khien-mkmcuboot: %s: %s\n", keyf[k], why);
			return 2;
		}
		free(kt);
		kt = NULL;
		if (k)
			m.more[m.nmore++] = &priv[k];
	}
	if (payf) {
		if ((err = kh_fs_read(payf, 256u << 20, &pay, &paylen)) < 0) {
			fprintf(stderr, "khien-mkmcuboot: %s: %s\n", payf, kh_strerror(err));
			return 2;
		}
	} else {
		pay = malloc(paylen ? paylen : 1);
		if (!pay)
			return 3;
		for (size_t i = 0; i < paylen; i++)
			pay[i] = (uint8_t)(i * 131 + (i >> 8));
	}
	m.payload = pay;
	m.payload_len = paylen;
	m.key = &priv[0];
	if (mkm_build(&m, &img, &imglen) < 0) {
		fprintf(stderr, "khien-mkmcuboot: cannot build the image\n");
		return 3;
	}
	for (unsigned k = 0; k < (nkeyf ? nkeyf : 1); k++)
		kh_ecdsa_priv_free(&priv[k]);
	if (pad_to > (int64_t)imglen) {
		uint8_t *p = realloc(img, (size_t)pad_to);
		if (!p)
			return 3;
		memset(p + imglen, 0xff, (size_t)pad_to - imglen);
		img = p;
		imglen = (size_t)pad_to;
	}
	if ((err = kh_fs_write_atomic(out, img, imglen, 0644)) < 0) {
		fprintf(stderr, "khien-mkmcuboot: %s: %s\n", out, kh_strerror(err));
		return 3;
	}
	free(img);
	free(pay);
	return 0;
}
#endif
