/* SPDX-License-Identifier: MIT */
/*
 * khien-policy firmware mcuboot-verify: the device's MCUboot check
 * (firmware/mcuboot.c) on a provisioning station, for an image file
 * before it is written to a gateway's slot. The file is mapped, not read
 * into memory; the verifier reads it in small pieces as it would a slot.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "firmware/mcuboot.h"
#include "lib/err.h"
#include "lib/hex.h"
#include "platform/fs.h"
#include "policy/trust.h"
#include "tools/khien-policy/tool.h"

#define EXIT_INPUT 1
#define EXIT_USAGE 2

static int map_read(void *ctx, uint32_t off, void *buf, size_t len)
{
	memcpy(buf, ((const struct kh_fs_map *)ctx)->data + off, len);
	return 0;
}

static const char *error_kind(int err)
{
	switch (err) {
	case -EPERM:
		return "signature";
	case -ESTALE:
		return "rollback";
	case -ENOTSUP:
		return "unsupported";
	case -EBADMSG:
		return "invalid";
	default:
		return "io";
	}
}

static void usage(FILE *f)
{
	fprintf(f, "usage: khien-policy firmware mcuboot-verify (--root root.json | --key F.pub "
		   "[--key ...] [--threshold K]) [--min-counter N] [--json] IMG\n"
		   "--root: the keys and threshold of the root's firmware role, as a device "
		   "checks them.\n"
		   "Checks an MCUboot image as an lwIP gateway does before a swap: header and "
		   "TLV bounds,\n"
		   "SHA-256, ECDSA P-256 signatures by K distinct firmware keys, security counter "
		   "TLV 0x50\n"
		   "in the protected area and at least N. Exit 0 only if valid.\n");
}

int kh_tool_mcuboot_verify(int argc, char **argv)
{
	struct kh_pubkey pubs[KH_MCUBOOT_MAX_KEYS];
	struct kh_mcuboot_keys keys = {0};
	const char *root = NULL;
	uint64_t threshold = 1;
	struct kh_mcuboot_image img;
	struct kh_fs_map map = {0};
	char why[KH_MCUBOOT_REASON_LEN], ver[32], hex[2 * KH_SHA256_LEN + 1];
	const char *path = NULL;
	unsigned nkeys = 0;
	uint64_t min = 0;
	int json = 0, err;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--key") && i + 1 < argc) {
			uint8_t *t;
			size_t n;
			const char *w = "";

			if (nkeys == KH_MCUBOOT_MAX_KEYS) {
				fprintf(stderr, "khien-policy: at most %u --key\n",
					KH_MCUBOOT_MAX_KEYS);
				return EXIT_USAGE;
			}
			if ((err = kh_fs_read(argv[++i], 1 << 16, &t, &n)) < 0) {
				fprintf(stderr, "khien-policy: cannot read %s: %s\n", argv[i],
					kh_strerror(err));
				return EXIT_INPUT;
			}
			err = kh_key_parse((const char *)t, n, &pubs[nkeys], NULL, &w);
			free(t);
			if (err < 0) {
				fprintf(stderr, "khien-policy: %s: %s\n", argv[i], w);
				return EXIT_INPUT;
			}
			keys.key[nkeys] = pubs[nkeys].pub;
			nkeys++;
		} else if (!strcmp(argv[i], "--root") && i + 1 < argc) {
			root = argv[++i];
		} else if (!strcmp(argv[i], "--threshold") && i + 1 < argc) {
			if (kh_tool_parse_uint("--threshold", argv[++i], 1, KH_MCUBOOT_MAX_KEYS,
					       &threshold) < 0)
				return EXIT_USAGE;
		} else if (!strcmp(argv[i], "--min-counter") && i + 1 < argc) {
			if (kh_tool_parse_uint("--min-counter", argv[++i], 0, 0xffffffffu, &min) <
			    0)
				return EXIT_USAGE;
		} else if (!strcmp(argv[i], "--json")) {
			json = 1;
		} else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return 0;
		} else if (argv[i][0] != '-' && !path) {
			path = argv[i];
		} else {
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (!path || (nkeys == 0) == !root || threshold > (nkeys ? nkeys : threshold)) {
		usage(stderr);
		return EXIT_USAGE;
	}
	keys.n = nkeys;
	keys.threshold = (unsigned)threshold;
	if (root) {
		struct kh_root r;
		char *t;
		size_t n;

		if ((err = kh_fs_read(root, KH_ROOT_MAX_BYTES, (uint8_t **)&t, &n)) < 0) {
			fprintf(stderr, "khien-policy: cannot read %s: %s\n", root,
				kh_strerror(err));
			return EXIT_INPUT;
		}
		err = kh_root_verify_self(t, n, &r, why, sizeof(why));
		free(t);
		if (err == 0)
			err = kh_mcuboot_root_keys(&r, &keys, why, sizeof(why));
		if (err < 0) {
			fprintf(stderr, "khien-policy: %s: %s\n", root, why);
			return EXIT_INPUT;
		}
	}
	err = kh_fs_map(path, 0xffffffffu, &map);
	if (err < 0) {
		snprintf(why, sizeof(why), "cannot read %s: %s", path, kh_strerror(err));
		memset(&img, 0, sizeof(img));
		img.key = -1;
	} else {
		struct kh_mcuboot_slot slot = {map_read, &map, (uint32_t)map.len};

		err = kh_mcuboot_verify(&slot, keys.key, keys.n, keys.threshold, (uint32_t)min,
					&img, why, sizeof(why));
	}
	kh_fs_unmap(&map);
	kh_mcuboot_version_str(&img, ver, sizeof(ver));
	kh_hex_encode(img.hash, KH_SHA256_LEN, hex);
	if (json) {
		cJSON *o = cJSON_CreateObject();
		char *s, id[2 * KH_KEYID_LEN + 1];

		cJSON_AddBoolToObject(o, "valid", err == 0);
		cJSON_AddStringToObject(o, "image", path);
		if (err) {
			cJSON_AddStringToObject(o, "error", error_kind(err));
			cJSON_AddStringToObject(o, "reason", why);
		}
		if (img.hdr_size) {
			cJSON_AddStringToObject(o, "version", ver);
			cJSON_AddNumberToObject(o, "security_counter", img.security_counter);
			cJSON_AddNumberToObject(o, "image_size", img.img_size);
			cJSON_AddNumberToObject(o, "load_addr", img.load_addr);
			cJSON_AddNumberToObject(o, "flags", img.flags);
		}
		if (err == 0) {
			cJSON_AddStringToObject(o, "sha256", hex);
			uint8_t kid[KH_KEYID_LEN];

			kh_keyid(&keys.key[img.key], kid);
			kh_hex_encode(kid, KH_KEYID_LEN, id);
			cJSON_AddStringToObject(o, "key", id);
			cJSON_AddNumberToObject(o, "keys_signed", img.nsigned);
		}
		s = cJSON_PrintUnformatted(o);
		if (s)
			printf("%s\n", s);
		free(s);
		cJSON_Delete(o);
	} else if (err == 0) {
		printf("ok: version %s, counter %lu, sha256 %s\n", ver,
		       (unsigned long)img.security_counter, hex);
	} else {
		fprintf(stderr, "%s: refused (%s): %s\n", path, error_kind(err), why);
	}
	return err == 0 ? 0 : EXIT_INPUT;
}
