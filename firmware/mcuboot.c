/* SPDX-License-Identifier: MIT */
/*
 * MCUboot image verification (firmware/mcuboot.h): header and TLV bounds,
 * SHA-256, ECDSA P-256 by a firmware key, the protected security counter.
 * Two passes over the slot through its reader: one streams the hashed
 * region through a small buffer, one walks the TLV areas. Signatures are
 * only checked once the hash matched, so a crafted image costs at most
 * KH_MCUBOOT_MAX_SIGS verifications, and usually none.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "firmware/mcuboot.h"
#include "lib/compiler.h"
#include "lib/endian.h"
#include "lib/err.h"
#include "policy/trust.h"

#define CHUNK 512

/* SubjectPublicKeyInfo DER for an uncompressed P-256 point, up to the point. */
static const uint8_t spki_p256[26] = {0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48,
				      0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48,
				      0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00};

struct sig_ref {
	uint32_t off;
	uint16_t len;
	int key; /* the key its KEYHASH named, or -1: try every key */
};

struct walk {
	const struct kh_mcuboot_slot *slot;
	const uint8_t (*keyhash)[KH_SHA256_LEN];
	size_t nkeys;
	char *reason;
	size_t reason_len;
	int have_hash, have_cnt;
	uint8_t tlv_hash[KH_SHA256_LEN];
	uint32_t counter;
	int pending_key;     /* set by a KEYHASH, consumed by the next signature */
	int pending_keyhash; /* 1 after a KEYHASH that named no firmware key */
	uint8_t unknown_keyhash[KH_SHA256_LEN];
	struct sig_ref sig[KH_MCUBOOT_MAX_SIGS];
	unsigned nsig, nsig_unknown_key;
};

static int refuse(char *reason, size_t len, int err, const char *fmt, ...) KH_PRINTF(4, 5);

static int refuse(char *reason, size_t len, int err, const char *fmt, ...)
{
	va_list ap;

	if (reason && len) {
		va_start(ap, fmt);
		vsnprintf(reason, len, fmt, ap);
		va_end(ap);
	}
	return err;
}

void kh_mcuboot_keyhash(const struct kh_ecdsa_pub *key, uint8_t out[KH_SHA256_LEN])
{
	struct kh_sha256 c;

	kh_sha256_init(&c);
	kh_sha256_update(&c, spki_p256, sizeof(spki_p256));
	kh_sha256_update(&c, key->q, sizeof(key->q));
	kh_sha256_final(&c, out);
}

void kh_mcuboot_version_str(const struct kh_mcuboot_image *img, char *buf, size_t len)
{
	snprintf(buf, len, "%u.%u.%u+%lu", img->ver_major, img->ver_minor, img->ver_revision,
		 (unsigned long)img->ver_build);
}

static const char *tlv_name(unsigned type)
{
	switch (type) {
	case KH_MCUBOOT_TLV_KEYHASH:
		return "key hash";
	case KH_MCUBOOT_TLV_PUBKEY:
		return "public key";
	case KH_MCUBOOT_TLV_SHA256:
		return "SHA-256";
	case KH_MCUBOOT_TLV_ECDSA_SIG:
		return "ECDSA signature";
	case KH_MCUBOOT_TLV_SIG_PURE:
		return "pure signature";
	case KH_MCUBOOT_TLV_ENC_RSA2048:
	case KH_MCUBOOT_TLV_ENC_KW:
	case KH_MCUBOOT_TLV_ENC_EC256:
	case KH_MCUBOOT_TLV_ENC_X25519:
		return "encryption key";
	case KH_MCUBOOT_TLV_DEPENDENCY:
		return "dependency";
	case KH_MCUBOOT_TLV_SEC_CNT:
		return "security counter";
	case KH_MCUBOOT_TLV_BOOT_RECORD:
		return "boot record";
	default:
		return "other";
	}
}

/*
 * What may sit outside the signed region: the signature and what finds
 * its key, and hashes, which are checked against the computed one anyway.
 * MCUboot's allow list (image_validate.c, since the fix for
 * CVE-2024-32883) also admits encryption keys; this verifier refuses
 * encrypted images, so it does not.
 */
static int unprotected_ok(unsigned type)
{
	switch (type) {
	case KH_MCUBOOT_TLV_KEYHASH:
	case KH_MCUBOOT_TLV_PUBKEY:
	case KH_MCUBOOT_TLV_SHA256:
	case KH_MCUBOOT_TLV_SHA384:
	case KH_MCUBOOT_TLV_SHA512:
	case KH_MCUBOOT_TLV_RSA2048_PSS:
	case KH_MCUBOOT_TLV_ECDSA224:
	case KH_MCUBOOT_TLV_ECDSA_SIG:
	case KH_MCUBOOT_TLV_RSA3072_PSS:
	case KH_MCUBOOT_TLV_ED25519:
		return 1;
	default:
		return 0;
	}
}

static int slot_read(const struct kh_mcuboot_slot *slot, uint32_t off, void *buf, size_t len)
{
	int err;

	if (off > slot->size || len > slot->size - off)
		return -EBADMSG;
	err = slot->read(slot->ctx, off, buf, len);
	return err < 0 ? err : err > 0 ? -EIO : 0;
}

static int read_failed(struct walk *w, int err, uint32_t off)
{
	return refuse(w->reason, w->reason_len, err < 0 ? err : -EIO,
		      "cannot read the slot at offset %lu: %s", (unsigned long)off,
		      kh_strerror(err));
}

/* One TLV of either area. off/len: its value in the slot. */
static int tlv_take(struct walk *w, unsigned type, uint32_t off, uint16_t len, int prot)
{
	uint8_t v[KH_SHA256_LEN];
	int err;

	if (!prot && !unprotected_ok(type))
		return refuse(w->reason, w->reason_len, -EBADMSG,
			      "TLV 0x%02x (%s) at offset %lu is in the unprotected TLV area: it "
			      "must be covered by the signature (CVE-2024-32883)",
			      type, tlv_name(type), (unsigned long)off - 4);
	switch (type) {
	case KH_MCUBOOT_TLV_SEC_CNT:
		if (len != 4)
			return refuse(w->reason, w->reason_len, -EBADMSG,
				      "security counter TLV has length %u, not 4", len);
		if (w->have_cnt)
			return refuse(w->reason, w->reason_len, -EBADMSG,
				      "more than one security counter TLV");
		if ((err = slot_read(w->slot, off, v, 4)) < 0)
			return read_failed(w, err, off);
		w->counter = kh_le32(v);
		w->have_cnt = 1;
		return 0;
	case KH_MCUBOOT_TLV_DEPENDENCY:
		return refuse(w->reason, w->reason_len, -ENOTSUP,
			      "image has a dependency TLV: this gateway boots a single image");
	case KH_MCUBOOT_TLV_SIG_PURE:
		return refuse(w->reason, w->reason_len, -ENOTSUP,
			      "pure signatures (over the image, not its hash) are not supported");
	case KH_MCUBOOT_TLV_SHA256:
		if (len != KH_SHA256_LEN)
			return refuse(w->reason, w->reason_len, -EBADMSG,
				      "SHA-256 TLV has length %u, not 32", len);
		if (w->have_hash)
			return refuse(w->reason, w->reason_len, -EBADMSG,
				      "more than one SHA-256 TLV");
		if ((err = slot_read(w->slot, off, w->tlv_hash, KH_SHA256_LEN)) < 0)
			return read_failed(w, err, off);
		w->have_hash = 1;
		return 0;
	case KH_MCUBOOT_TLV_KEYHASH:
		if (len != KH_SHA256_LEN)
			return refuse(w->reason, w->reason_len, -EBADMSG,
				      "key hash TLV has length %u, not 32", len);
		if ((err = slot_read(w->slot, off, v, KH_SHA256_LEN)) < 0)
			return read_failed(w, err, off);
		w->pending_key = -1;
		w->pending_keyhash = 1;
		for (size_t i = 0; i < w->nkeys; i++)
			if (memcmp(v, w->keyhash[i], KH_SHA256_LEN) == 0) {
				w->pending_key = (int)i;
				w->pending_keyhash = 0;
			}
		if (w->pending_keyhash)
			memcpy(w->unknown_keyhash, v, KH_SHA256_LEN);
		return 0;
	case KH_MCUBOOT_TLV_ECDSA_SIG:
		if (len < 8 || len > KH_MCUBOOT_SIG_MAX)
			return refuse(w->reason, w->reason_len, -EBADMSG,
				      "ECDSA signature TLV has length %u (8 to %u)", len,
				      KH_MCUBOOT_SIG_MAX);
		if (w->nsig == KH_MCUBOOT_MAX_SIGS)
			return refuse(w->reason, w->reason_len, -EBADMSG,
				      "more than %u signature TLVs", KH_MCUBOOT_MAX_SIGS);
		if (w->pending_keyhash) {
			/* signed by a key this device does not hold: nothing to check */
			w->nsig_unknown_key++;
		} else {
			w->sig[w->nsig].off = off;
			w->sig[w->nsig].len = len;
			w->sig[w->nsig].key = w->pending_key;
			w->nsig++;
		}
		w->pending_key = -1;
		w->pending_keyhash = 0;
		return 0;
	default:
		/* signed (protected) or a signature of another kind: not ours to check */
		return 0;
	}
}

/* The TLVs of one area, [start + 4, end): each must fit whole, none may overlap its end. */
static int walk_area(struct walk *w, uint32_t start, uint32_t end, int prot)
{
	uint32_t off = start + 4;
	uint8_t h[4];
	int err;

	while (off < end) {
		unsigned type;
		uint16_t len;

		if (end - off < 4)
			return refuse(w->reason, w->reason_len, -EBADMSG,
				      "%s TLV area: %lu stray bytes at offset %lu (truncated TLV)",
				      prot ? "protected" : "unprotected",
				      (unsigned long)(end - off), (unsigned long)off);
		if ((err = slot_read(w->slot, off, h, 4)) < 0)
			return read_failed(w, err, off);
		type = kh_le16(h);
		len = kh_le16(h + 2);
		if (len > end - off - 4)
			return refuse(w->reason, w->reason_len, -EBADMSG,
				      "%s TLV 0x%02x at offset %lu: length %u runs past the area's "
				      "end at %lu (truncated TLV area)",
				      prot ? "protected" : "unprotected", type, (unsigned long)off,
				      len, (unsigned long)end);
		if ((err = tlv_take(w, type, off + 4, len, prot)) < 0)
			return err;
		off += 4 + (uint32_t)len;
	}
	return 0;
}

/* Read the TLV info header at off: its magic must be want, its total at least 4 and in the slot. */
static int tlv_info(struct walk *w, uint32_t off, unsigned want, uint32_t *tot)
{
	uint8_t h[4];
	int err;

	if (off > w->slot->size || w->slot->size - off < 4)
		return refuse(w->reason, w->reason_len, -EBADMSG,
			      "%s TLV info header at offset %lu is past the slot's end (%lu bytes)",
			      want == KH_MCUBOOT_TLV_PROT_INFO_MAGIC ? "protected" : "unprotected",
			      (unsigned long)off, (unsigned long)w->slot->size);
	if ((err = slot_read(w->slot, off, h, 4)) < 0)
		return read_failed(w, err, off);
	if (kh_le16(h) != want)
		return refuse(w->reason, w->reason_len, -EBADMSG,
			      "no %s TLV info header at offset %lu (magic 0x%04x, want 0x%04x)",
			      want == KH_MCUBOOT_TLV_PROT_INFO_MAGIC ? "protected" : "unprotected",
			      (unsigned long)off, kh_le16(h), want);
	*tot = kh_le16(h + 2);
	if (*tot < 4 || *tot > w->slot->size - off)
		return refuse(w->reason, w->reason_len, -EBADMSG,
			      "TLV area at offset %lu: size %lu is below 4 or runs past the slot's "
			      "end (truncated)",
			      (unsigned long)off, (unsigned long)*tot);
	return 0;
}

static int parse_header(const struct kh_mcuboot_slot *slot, struct kh_mcuboot_image *img,
			char *reason, size_t rlen)
{
	uint8_t h[KH_MCUBOOT_HDR_LEN];
	uint32_t magic;
	uint64_t end;
	int err;

	if (slot->size < KH_MCUBOOT_HDR_LEN)
		return refuse(reason, rlen, -EBADMSG, "slot of %lu bytes cannot hold a header",
			      (unsigned long)slot->size);
	if ((err = slot_read(slot, 0, h, sizeof(h))) < 0)
		return refuse(reason, rlen, err, "cannot read the image header: %s",
			      kh_strerror(err));
	magic = kh_le32(h);
	img->load_addr = kh_le32(h + 4);
	img->hdr_size = kh_le16(h + 8);
	img->protect_tlv_size = kh_le16(h + 10);
	img->img_size = kh_le32(h + 12);
	img->flags = kh_le32(h + 16);
	img->ver_major = h[20];
	img->ver_minor = h[21];
	img->ver_revision = kh_le16(h + 22);
	img->ver_build = kh_le32(h + 24);
	if (magic != KH_MCUBOOT_MAGIC)
		return refuse(reason, rlen, -EBADMSG,
			      magic == 0xffffffffu ? "slot is erased (no image)"
						   : "not an MCUboot image (magic 0x%08lx)",
			      (unsigned long)magic);
	if (img->hdr_size < KH_MCUBOOT_HDR_LEN)
		return refuse(reason, rlen, -EBADMSG, "header size %u is below 32", img->hdr_size);
	if (img->flags & (KH_MCUBOOT_F_ENCRYPTED_AES128 | KH_MCUBOOT_F_ENCRYPTED_AES256))
		return refuse(reason, rlen, -ENOTSUP, "encrypted images are not supported");
	if (img->flags & KH_MCUBOOT_F_COMPRESSED)
		return refuse(reason, rlen, -ENOTSUP, "compressed images are not supported");
	/* 64-bit sums: no field, however large, can wrap around the slot */
	end = (uint64_t)img->hdr_size + img->img_size + img->protect_tlv_size;
	if (end + 4 > slot->size)
		return refuse(
			reason, rlen, -EBADMSG,
			"header %u + image %lu + protected TLVs %u bytes overrun the %lu-byte "
			"slot",
			img->hdr_size, (unsigned long)img->img_size, img->protect_tlv_size,
			(unsigned long)slot->size);
	return 0;
}

static int hash_region(const struct kh_mcuboot_slot *slot, uint32_t len, uint8_t out[KH_SHA256_LEN],
		       char *reason, size_t rlen)
{
	uint8_t buf[CHUNK];
	struct kh_sha256 c;
	uint32_t off = 0;
	int err;

	kh_sha256_init(&c);
	while (off < len) {
		size_t n = len - off < CHUNK ? len - off : CHUNK;

		if ((err = slot_read(slot, off, buf, n)) < 0) {
			kh_sha256_final(&c, out);
			return refuse(reason, rlen, err, "cannot read the slot at offset %lu: %s",
				      (unsigned long)off, kh_strerror(err));
		}
		kh_sha256_update(&c, buf, n);
		off += (uint32_t)n;
	}
	kh_sha256_final(&c, out);
	return 0;
}

/*
 * Count the distinct firmware keys with a valid signature. A signature is
 * tried only against the key its KEYHASH named (or every key not yet
 * counted when it has none), so a key that signed twice counts once and a
 * crafted image costs at most KH_MCUBOOT_MAX_SIGS * nkeys verifications,
 * and only once its hash matched.
 */
static int check_sigs(struct walk *w, const struct kh_ecdsa_pub *keys, unsigned threshold,
		      struct kh_mcuboot_image *img)
{
	uint8_t der[KH_MCUBOOT_SIG_MAX], counted[KH_MCUBOOT_MAX_KEYS] = {0};
	int err;

	for (unsigned i = 0; i < w->nsig && img->nsigned < threshold; i++) {
		if ((err = slot_read(w->slot, w->sig[i].off, der, w->sig[i].len)) < 0)
			return read_failed(w, err, w->sig[i].off);
		for (size_t k = 0; k < w->nkeys; k++) {
			if (counted[k] || (w->sig[i].key >= 0 && (size_t)w->sig[i].key != k))
				continue;
			if (kh_ecdsa_verify_der(&keys[k], img->hash, der, w->sig[i].len) == 0) {
				counted[k] = 1;
				img->nsigned++;
				if (img->key < 0)
					img->key = (int)k;
				break;
			}
		}
	}
	if (img->nsigned >= threshold)
		return 0;
	if (w->nsig == 0 && w->nsig_unknown_key) {
		char hex[17];

		for (int i = 0; i < 8; i++)
			snprintf(hex + 2 * i, 3, "%02x", w->unknown_keyhash[i]);
		return refuse(w->reason, w->reason_len, -EPERM,
			      "signed by a key that is not a firmware key (key hash %s...)", hex);
	}
	if (w->nsig == 0)
		return refuse(w->reason, w->reason_len, -EPERM,
			      "no ECDSA P-256 signature TLV (0x22)");
	if (img->nsigned == 0)
		return refuse(w->reason, w->reason_len, -EPERM,
			      "no firmware key verifies the ECDSA signature");
	return refuse(w->reason, w->reason_len, -EPERM,
		      "signed by %u distinct firmware key(s), %u needed (the firmware threshold)",
		      img->nsigned, threshold);
}

int kh_mcuboot_verify(const struct kh_mcuboot_slot *slot, const struct kh_ecdsa_pub *keys,
		      size_t nkeys, unsigned threshold, uint32_t min_counter,
		      struct kh_mcuboot_image *out, char *reason, size_t reason_len)
{
	uint8_t keyhash[KH_MCUBOOT_MAX_KEYS][KH_SHA256_LEN];
	struct kh_mcuboot_image tmp, *img = out ? out : &tmp;
	struct walk w;
	uint32_t tlv_off, prot_tot = 0, unprot_off, unprot_tot;
	int err;

	memset(img, 0, sizeof(*img));
	img->key = -1;
	if (reason && reason_len)
		reason[0] = 0;
	if (!slot || !slot->read || !keys || nkeys == 0 || nkeys > KH_MCUBOOT_MAX_KEYS ||
	    threshold == 0 || threshold > nkeys)
		return refuse(reason, reason_len, -EINVAL,
			      "no slot, no firmware key (1 to %u) or a threshold not in 1..%u",
			      KH_MCUBOOT_MAX_KEYS, (unsigned)nkeys);
	for (size_t i = 0; i < nkeys; i++) {
		kh_mcuboot_keyhash(&keys[i], keyhash[i]);
		/* one key given twice would count twice */
		for (size_t j = 0; j < i; j++)
			if (memcmp(keyhash[i], keyhash[j], KH_SHA256_LEN) == 0)
				return refuse(reason, reason_len, -EINVAL,
					      "firmware key %u is given twice", (unsigned)i);
	}
	memset(&w, 0, sizeof(w));
	w.slot = slot;
	w.keyhash = (const uint8_t(*)[KH_SHA256_LEN])keyhash;
	w.nkeys = nkeys;
	w.reason = reason;
	w.reason_len = reason_len;
	w.pending_key = -1;

	if ((err = parse_header(slot, img, reason, reason_len)) < 0)
		return err;
	tlv_off = (uint32_t)img->hdr_size + img->img_size; /* parse_header bounded it */
	if (img->protect_tlv_size) {
		if ((err = tlv_info(&w, tlv_off, KH_MCUBOOT_TLV_PROT_INFO_MAGIC, &prot_tot)) < 0)
			return err;
		if (prot_tot != img->protect_tlv_size)
			return refuse(reason, reason_len, -EBADMSG,
				      "protected TLV area says %lu bytes, the header %u",
				      (unsigned long)prot_tot, img->protect_tlv_size);
	}
	unprot_off = tlv_off + prot_tot;
	if ((err = tlv_info(&w, unprot_off, KH_MCUBOOT_TLV_INFO_MAGIC, &unprot_tot)) < 0)
		return err;
	img->tlv_end = unprot_off + unprot_tot;

	if ((prot_tot && (err = walk_area(&w, tlv_off, tlv_off + prot_tot, 1)) < 0) ||
	    (err = walk_area(&w, unprot_off, unprot_off + unprot_tot, 0)) < 0)
		return err;
	if (w.pending_keyhash || w.pending_key >= 0)
		return refuse(reason, reason_len, -EBADMSG,
			      "a key hash TLV is not followed by a signature TLV");
	if (w.have_cnt)
		img->security_counter = w.counter;

	if ((err = hash_region(slot, unprot_off, img->hash, reason, reason_len)) < 0)
		return err;
	if (!w.have_hash)
		return refuse(reason, reason_len, -EBADMSG, "no SHA-256 TLV (0x10)");
	if (!kh_ct_memeq(img->hash, w.tlv_hash, KH_SHA256_LEN))
		return refuse(reason, reason_len, -EBADMSG,
			      "SHA-256 of the header, image and protected TLVs does not match the "
			      "image's SHA-256 TLV (tampered)");
	if ((err = check_sigs(&w, keys, threshold, img)) < 0)
		return err;
	if (!w.have_cnt)
		return refuse(reason, reason_len, -EBADMSG,
			      "no security counter TLV (0x50) in the protected TLV area");
	if (w.counter < min_counter)
		return refuse(reason, reason_len, -ESTALE,
			      "security counter %lu is below the stored %lu (rollback)",
			      (unsigned long)w.counter, (unsigned long)min_counter);
	return 0;
}

int kh_mcuboot_root_keys(const struct kh_root *r, struct kh_mcuboot_keys *k, char *reason,
			 size_t rlen)
{
	const struct kh_role *role = &r->firmware;

	memset(k, 0, sizeof(*k));
	k->root_version = (unsigned long long)r->version;
	if (role->nkeys == 0 || role->nkeys > KH_MCUBOOT_MAX_KEYS || role->threshold == 0 ||
	    role->threshold > role->nkeys) {
		if (reason && rlen)
			snprintf(reason, rlen, "trust root v%llu has no firmware role",
				 k->root_version);
		return -EPERM;
	}
	for (unsigned i = 0; i < role->nkeys; i++) {
		unsigned j;

		for (j = 0; j < r->nkeys; j++)
			if (memcmp(r->keys[j].id, role->keyids[i], KH_KEYID_LEN) == 0)
				break;
		if (j == r->nkeys) { /* kh_root_parse refuses this; never trust a half role */
			if (reason && rlen)
				snprintf(reason, rlen,
					 "trust root v%llu names a firmware key it "
					 "does not hold",
					 k->root_version);
			return -EPERM;
		}
		k->key[k->n++] = r->keys[j].pub;
	}
	k->threshold = role->threshold;
	return 0;
}
