/* SPDX-License-Identifier: MIT */
/*
 * Fuzz the MCUboot image verifier (firmware/mcuboot.c): the input is a
 * flash slot. Byte 0 picks the stored security counter (0 to 255) and the
 * slot's size (bit 7: 4 KiB of erased flash beyond the input), the rest is
 * the slot. The slot reader aborts on any read outside the slot or larger
 * than the verifier's buffer. Oracles: an accepted image lies inside the
 * slot, was signed by the one firmware key, has a counter at least the
 * stored one, and its reported hash is the SHA-256 of the hashed region.
 * Each input runs twice: as given, then with its SHA256 TLV rewritten to
 * the real hash, so that mutations get past the hash check to the
 * signature and counter checks.
 *
 * The corpus comes from tests/helpers/mkmcuboot.c with the key below:
 *   khien-mkmcuboot --key-hex 0102...1f20 [bad-image switches] -o corpus/NAME
 * and a leading byte prepended (printf '\x05' | cat - IMG).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "firmware/mcuboot.h"
#include "lib/endian.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* the public key of the scalar 01 02 ... 20 */
static const char pub_hex[] = "04515c3d6eb9e396b904d3feca7f54fdcd0cc1e997bf375dca515ad0a6c3b403"
			      "5f4536be3a50f318fbf9a5475902a221502bef0d57e08c53b2cc0a56f17d9f"
			      "9354";

struct fz_slot {
	const uint8_t *p;
	size_t len;
	uint32_t size;
};

static int fz_read(void *ctx, uint32_t off, void *buf, size_t len)
{
	struct fz_slot *s = ctx;

	if (off > s->size || len > s->size - off || len > 512)
		abort();
	for (size_t i = 0; i < len; i++)
		((uint8_t *)buf)[i] = off + i < s->len ? s->p[off + i] : 0xff;
	return 0;
}

static void check(struct fz_slot *s, const struct kh_ecdsa_pub *pub, uint32_t min)
{
	struct kh_mcuboot_slot slot = {fz_read, s, s->size};
	struct kh_mcuboot_image img;
	char why[KH_MCUBOOT_REASON_LEN];
	uint8_t h[KH_SHA256_LEN];
	uint32_t hashed;
	int err = kh_mcuboot_verify(&slot, pub, 1, 1, min, &img, why, sizeof(why));

	if (err > 0 || (err < 0 && !why[0]))
		abort();
	if (err)
		return;
	hashed = (uint32_t)img.hdr_size + img.img_size + img.protect_tlv_size;
	if (img.key != 0 || img.security_counter < min || img.tlv_end > s->size ||
	    hashed > img.tlv_end)
		abort();
	{
		struct kh_sha256 c;
		uint8_t ff = 0xff;

		kh_sha256_init(&c);
		kh_sha256_update(&c, s->p, hashed < s->len ? hashed : s->len);
		for (size_t i = s->len; i < hashed; i++)
			kh_sha256_update(&c, &ff, 1);
		kh_sha256_final(&c, h);
	}
	if (memcmp(h, img.hash, sizeof(h)) != 0)
		abort();
}

/* Rewrite the first SHA256 TLV of the unprotected area to the real hash. */
static int fix_hash(uint8_t *p, size_t len)
{
	uint32_t hdr, img, prot, off, end;

	if (len < 32)
		return 0;
	hdr = kh_le16(p + 8);
	prot = kh_le16(p + 10);
	img = kh_le32(p + 12);
	if ((uint64_t)hdr + img + prot + 4 > len)
		return 0;
	off = hdr + img + prot;
	end = off + kh_le16(p + off + 2);
	if (end > len)
		end = (uint32_t)len;
	for (off += 4; off + 4 <= end;) {
		uint16_t t = kh_le16(p + off), l = kh_le16(p + off + 2);

		if (t == KH_MCUBOOT_TLV_SHA256 && l == 32 && off + 4 + 32 <= end) {
			kh_sha256(p, hdr + img + prot, p + off + 4);
			return 1;
		}
		off += 4 + l;
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct kh_ecdsa_pub pub;
	static int have;
	struct fz_slot s;
	uint8_t *copy;

	if (size < 1 || size > (1u << 20))
		return 0;
	if (!have) {
		for (size_t i = 0; i < sizeof(pub.q); i++) {
			unsigned v;
			sscanf(pub_hex + 2 * i, "%2x", &v);
			pub.q[i] = (uint8_t)v;
		}
		have = 1;
	}
	s.p = data + 1;
	s.len = size - 1;
	s.size = (uint32_t)s.len + (data[0] & 0x80 ? 4096 : 0);
	check(&s, &pub, data[0] & 0x7f);

	copy = malloc(s.len ? s.len : 1);
	if (!copy)
		return 0;
	memcpy(copy, s.p, s.len);
	if (fix_hash(copy, s.len)) {
		s.p = copy;
		check(&s, &pub, data[0] & 0x7f);
	}
	free(copy);
	return 0;
}
