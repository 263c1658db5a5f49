/* SPDX-License-Identifier: MIT */
/*
 * khien-policy firmware sign | verify | reset (docs/FIRMWARE.md): signed
 * manifests for firmware images, checked offline exactly as a device
 * checks them (firmware/manifest.h), and root-signed resets of a device's
 * security counter. Images are streamed, never read whole.
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "lib/civil.h"
#include "lib/err.h"
#include "lib/hex.h"
#include "lib/jsonnum.h"
#include "lib/proto.h"
#include "platform/fs.h"
#include "platform/time.h"
#include "tools/khien-policy/fw_build.h"
#include "tools/khien-policy/tool.h"

#define EXIT_INPUT 1
#define EXIT_USAGE 2
#define EXIT_OUTPUT 3

static const char sign_usage[] =
	"usage: khien-policy firmware sign --key F.key [--key ...] --image IMG\n"
	"         --version STRING --security-counter N --hardware HWID [--hardware ...]\n"
	"         [--part NAME=OFFSET:LENGTH ...] [--created DATE] -o IMG.manifest\n"
	"Signs a manifest of the image (length, SHA-256, version, security counter,\n"
	"hardware targets; each --part a named byte range, e.g. the rootfs) with every\n"
	"--key: firmware keys of the trust root, a threshold of them.\n";

static const char verify_usage[] =
	"usage: khien-policy firmware verify --root root.json [--hardware HWID]\n"
	"         [--min-counter N] [--json] IMG IMG.manifest\n"
	"Checks image and manifest as a device would: firmware signatures (threshold),\n"
	"hardware target, security counter at least N, length, SHA-256 and parts.\n"
	"Exit 0 only if valid; otherwise 1 and the reason.\n";

static const char reset_usage[] =
	"usage: khien-policy firmware reset --key ROOT.key [--key ...] --counter N\n"
	"         --epoch E --hardware HWID [--hardware ...] --nonce HEX -o reset.json\n"
	"A root-signed reset of the security counter of one device whose counter\n"
	"file is lost or corrupt (khienctl firmware reset). HEX is the reset nonce\n"
	"that device shows (khienctl firmware status): the reset repairs that device,\n"
	"once, and no other. E is recorded as the device's reset epoch.\n";

static int add_hw(char hw[][KH_HWID_MAX + 1], unsigned *n, const char *s)
{
	if (*n >= KH_FW_MAX_HW || !*s || strlen(s) > KH_HWID_MAX) {
		fprintf(stderr, "khien-policy: --hardware: at most %d ids of 1 to %d characters\n",
			KH_FW_MAX_HW, KH_HWID_MAX);
		return -EINVAL;
	}
	strcpy(hw[(*n)++], s);
	return 0;
}

/* NAME=OFFSET:LENGTH */
static int add_part(struct kh_fw_manifest *m, char *arg)
{
	char *eq = strchr(arg, '='), *colon = eq ? strchr(eq, ':') : NULL;
	struct kh_fw_part *p = &m->parts[m->nparts];

	if (m->nparts >= KH_FW_MAX_PARTS || !eq || !colon || eq == arg ||
	    eq - arg > KH_FW_PART_NAME_MAX) {
		fprintf(stderr,
			"khien-policy: --part NAME=OFFSET:LENGTH (at most %d, names of "
			"1 to %d characters)\n",
			KH_FW_MAX_PARTS, KH_FW_PART_NAME_MAX);
		return -EINVAL;
	}
	*eq = *colon = 0;
	if (kh_tool_parse_uint("--part offset", eq + 1, 0, KH_JSON_INT_MAX, &p->offset) < 0 ||
	    kh_tool_parse_uint("--part length", colon + 1, 1, KH_JSON_INT_MAX, &p->length) < 0)
		return -EINVAL;
	strcpy(p->name, arg);
	m->nparts++;
	return 0;
}

static int fw_sign(int argc, char **argv)
{
	static const struct option opts[] = {{"key", required_argument, 0, 'k'},
					     {"image", required_argument, 0, 'i'},
					     {"version", required_argument, 0, 'v'},
					     {"security-counter", required_argument, 0, 'n'},
					     {"hardware", required_argument, 0, 'w'},
					     {"part", required_argument, 0, 'p'},
					     {"created", required_argument, 0, 'C'},
					     {"output", required_argument, 0, 'o'},
					     {"unsafe-extra-field", required_argument, 0, 'X'},
					     {"help", no_argument, 0, 'h'},
					     {0, 0, 0, 0}};
	static struct kh_fw_manifest m;
	struct kh_ecdsa_priv keys[KH_TRUST_MAX_KEYS];
	struct kh_pubkey pubs[KH_TRUST_MAX_KEYS];
	const char *image = NULL, *out = NULL, *extra = NULL;
	unsigned nk = 0;
	int have_counter = 0, opt, rc = EXIT_USAGE, err, fd;
	char *text = NULL, h[65];
	size_t len;

	memset(&m, 0, sizeof(m));
	m.created = kh_time_wall();
	optind = 1;
	while ((opt = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'k':
			if (nk >= KH_TRUST_MAX_KEYS ||
			    kh_tool_load_key(optarg, &pubs[nk], &keys[nk]) < 0) {
				rc = EXIT_INPUT;
				goto out;
			}
			nk++;
			break;
		case 'i':
			image = optarg;
			break;
		case 'v':
			if (!*optarg || strlen(optarg) > KH_FW_VERSION_MAX) {
				fprintf(stderr, "khien-policy: --version: 1 to %d characters\n",
					KH_FW_VERSION_MAX);
				goto out;
			}
			strcpy(m.version, optarg);
			break;
		case 'n':
			if (kh_tool_parse_uint("--security-counter", optarg, 0, KH_JSON_INT_MAX,
					       &m.counter) < 0)
				goto out;
			have_counter = 1;
			break;
		case 'w':
			if (add_hw(m.hw, &m.nhw, optarg) < 0)
				goto out;
			break;
		case 'p':
			if (add_part(&m, optarg) < 0)
				goto out;
			break;
		case 'C':
			if (kh_civil_parse_time(optarg, kh_time_wall(), &m.created) < 0) {
				fprintf(stderr, "khien-policy: --created: YYYY-MM-DD[THH:MM:SSZ], "
						"+Nd/h/m/s or Unix time\n");
				goto out;
			}
			break;
		case 'o':
			out = optarg;
			break;
		case 'X':
			extra = optarg;
			break;
		case 'h':
			fputs(sign_usage, stdout);
			rc = 0;
			goto out;
		default:
			goto out;
		}
	}
	if (optind != argc || !out || !image || !nk || !m.version[0] || !have_counter || !m.nhw) {
		fprintf(stderr,
			"khien-policy: firmware sign needs --key, --image, --version, "
			"--security-counter, --hardware and -o\n%s",
			sign_usage);
		goto out;
	}
	if ((fd = kh_fs_open_read(image)) < 0) {
		fprintf(stderr, "khien-policy: cannot read %s: %s\n", image, kh_strerror(fd));
		rc = EXIT_INPUT;
		goto out;
	}
	err = kh_fw_image_digest(fd, &m);
	kh_fs_close_fd(fd);
	if (err < 0 || m.length == 0) {
		fprintf(stderr, "khien-policy: %s: %s\n", image,
			err == -ERANGE ? "a --part ends past the end of the image"
			: err < 0      ? kh_strerror(err)
				       : "empty image");
		rc = EXIT_INPUT;
		goto out;
	}
	if ((err = kh_fw_manifest_build(&m, keys, pubs, nk, extra, &text, &len)) < 0) {
		fprintf(stderr, "khien-policy: cannot build the manifest: %s\n", kh_strerror(err));
		rc = EXIT_INPUT;
		goto out;
	}
	if ((err = kh_fs_write_atomic(out, text, len, 0644)) < 0) {
		fprintf(stderr, "khien-policy: cannot write %s: %s\n", out, kh_strerror(err));
		rc = EXIT_OUTPUT;
		goto out;
	}
	kh_hex_encode(m.sha256, 32, h);
	printf("wrote %s: version %s, security counter %llu, %llu bytes, sha256 %s, %u "
	       "signature(s)\n",
	       out, m.version, (unsigned long long)m.counter, (unsigned long long)m.length, h, nk);
	rc = 0;
out:
	for (unsigned i = 0; i < nk; i++)
		kh_ecdsa_priv_free(&keys[i]);
	free(text);
	return rc;
}

static void verdict_json(const struct kh_fw_manifest *m, int ok, const char *why)
{
	cJSON *j = cJSON_CreateObject();
	char *s;

	cJSON_AddBoolToObject(j, "ok", ok);
	if (m->version[0]) {
		cJSON_AddStringToObject(j, "version", m->version);
		kh_json_add_uint(j, "security_counter", m->counter);
		kh_json_add_uint(j, "length", m->length);
	}
	cJSON_AddStringToObject(j, ok ? "result" : "error", why);
	s = cJSON_Print(j);
	if (s)
		puts(s);
	free(s);
	cJSON_Delete(j);
}

static int fw_verify(int argc, char **argv)
{
	static const struct option opts[] = {{"root", required_argument, 0, 'r'},
					     {"hardware", required_argument, 0, 'w'},
					     {"min-counter", required_argument, 0, 'n'},
					     {"json", no_argument, 0, 'j'},
					     {"help", no_argument, 0, 'h'},
					     {0, 0, 0, 0}};
	static struct kh_fw_manifest m;
	static uint8_t buf[KH_FW_HASH_BUF];
	const char *rootf = NULL, *hwid = NULL, *image, *mf;
	uint64_t min = 0;
	int json = 0, opt, err, fd = -1;
	char *rt = NULL, *mt = NULL, why[320];
	size_t rlen, mlen;
	struct kh_root root;
	struct kh_fw_hash h;

	memset(&m, 0, sizeof(m));
	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case 'r':
			rootf = optarg;
			break;
		case 'w':
			hwid = optarg;
			break;
		case 'n':
			if (kh_tool_parse_uint("--min-counter", optarg, 0, KH_JSON_INT_MAX, &min) <
			    0)
				return EXIT_USAGE;
			break;
		case 'j':
			json = 1;
			break;
		case 'h':
			fputs(verify_usage, stdout);
			return 0;
		default:
			return EXIT_USAGE;
		}
	}
	if (!rootf || argc - optind != 2) {
		fputs(verify_usage, stderr);
		return EXIT_USAGE;
	}
	image = argv[optind];
	mf = argv[optind + 1];
	if (kh_tool_read_text(rootf, &rt, &rlen) < 0)
		return EXIT_INPUT;
	err = kh_root_verify_self(rt, rlen, &root, why, sizeof(why));
	free(rt);
	if (err < 0) {
		fprintf(stderr, "khien-policy: %s: %s\n", rootf, why);
		return EXIT_INPUT;
	}
	if (kh_tool_read_text(mf, &mt, &mlen) < 0)
		return EXIT_INPUT;
	/* signature first: nothing unsigned is worth hashing 64 MB for */
	err = kh_fw_manifest_verify(mt, mlen, &root, &m, why, sizeof(why));
	free(mt);
	if (err == 0)
		err = kh_fw_manifest_allowed(&m, hwid, min, why, sizeof(why));
	if (err == 0 && (fd = kh_fs_open_read(image)) < 0) {
		snprintf(why, sizeof(why), "cannot read %s: %s", image, kh_strerror(fd));
		err = fd;
	}
	if (err == 0 && (err = kh_fw_image_size_check(&m, fd, why, sizeof(why))) == 0) {
		kh_fw_hash_image(&h, &m);
		while ((err = kh_fw_hash_fd_step(&h, fd, buf, sizeof(buf), (uint64_t)1 << 62, why,
						 sizeof(why))) == 0)
			;
		if (err > 0)
			err = kh_fw_hash_final(&h, why, sizeof(why));
	}
	kh_fs_close_fd(fd);
	if (json)
		verdict_json(&m, err == 0, err == 0 ? "valid" : why);
	else if (err == 0)
		printf("ok: version %s, counter %llu, %llu bytes, %u part(s), verified against "
		       "root v%llu (firmware threshold %u)\n",
		       m.version, (unsigned long long)m.counter, (unsigned long long)m.length,
		       m.nparts, (unsigned long long)root.version, root.firmware.threshold);
	else
		printf("REFUSED: %s\n", why);
	return err == 0 ? 0 : EXIT_INPUT;
}

static int fw_reset(int argc, char **argv)
{
	static const struct option opts[] = {
		{"key", required_argument, 0, 'k'},   {"counter", required_argument, 0, 'n'},
		{"epoch", required_argument, 0, 'E'}, {"hardware", required_argument, 0, 'w'},
		{"nonce", required_argument, 0, 'N'}, {"output", required_argument, 0, 'o'},
		{"help", no_argument, 0, 'h'},	      {0, 0, 0, 0}};
	static struct kh_fw_reset r;
	struct kh_ecdsa_priv keys[KH_TRUST_MAX_KEYS];
	struct kh_pubkey pubs[KH_TRUST_MAX_KEYS];
	const char *out = NULL;
	unsigned nk = 0;
	int have_counter = 0, opt, rc = EXIT_USAGE, err;
	char *text = NULL;
	size_t len;

	memset(&r, 0, sizeof(r));
	r.created = kh_time_wall();
	optind = 1;
	while ((opt = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'k':
			if (nk >= KH_TRUST_MAX_KEYS ||
			    kh_tool_load_key(optarg, &pubs[nk], &keys[nk]) < 0) {
				rc = EXIT_INPUT;
				goto out;
			}
			nk++;
			break;
		case 'n':
			if (kh_tool_parse_uint("--counter", optarg, 0, KH_JSON_INT_MAX,
					       &r.counter) < 0)
				goto out;
			have_counter = 1;
			break;
		case 'E':
			if (kh_tool_parse_uint("--epoch", optarg, 1, KH_JSON_INT_MAX, &r.epoch) < 0)
				goto out;
			break;
		case 'w':
			if (add_hw(r.hw, &r.nhw, optarg) < 0)
				goto out;
			break;
		case 'N':
			if (strlen(optarg) != KH_FW_NONCE_HEX ||
			    strspn(optarg, "0123456789abcdef") != KH_FW_NONCE_HEX) {
				fprintf(stderr,
					"khien-policy: --nonce: expected %d lowercase hex "
					"digits (khienctl firmware status)\n",
					KH_FW_NONCE_HEX);
				goto out;
			}
			memcpy(r.nonce, optarg, sizeof(r.nonce));
			break;
		case 'o':
			out = optarg;
			break;
		case 'h':
			fputs(reset_usage, stdout);
			rc = 0;
			goto out;
		default:
			goto out;
		}
	}
	if (optind != argc || !out || !nk || !have_counter || !r.epoch || !r.nhw || !r.nonce[0]) {
		fputs(reset_usage, stderr);
		goto out;
	}
	if ((err = kh_fw_reset_build(&r, keys, pubs, nk, &text, &len)) < 0 ||
	    (err = kh_fs_write_atomic(out, text, len, 0644)) < 0) {
		fprintf(stderr, "khien-policy: cannot write %s: %s\n", out, kh_strerror(err));
		rc = EXIT_OUTPUT;
		goto out;
	}
	printf("wrote %s: counter reset to %llu, epoch %llu, %u signature(s)\n", out,
	       (unsigned long long)r.counter, (unsigned long long)r.epoch, nk);
	rc = 0;
out:
	for (unsigned i = 0; i < nk; i++)
		kh_ecdsa_priv_free(&keys[i]);
	free(text);
	return rc;
}

int kh_tool_firmware(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "sign"))
		return fw_sign(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "verify"))
		return fw_verify(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "reset"))
		return fw_reset(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "mcuboot-verify"))
		return kh_tool_mcuboot_verify(argc - 1, argv + 1);
	fprintf(stderr, "usage: khien-policy firmware sign|verify|reset|mcuboot-verify ... "
			"(--help after each)\n");
	return argc >= 2 && !strcmp(argv[1], "--help") ? 0 : EXIT_USAGE;
}
