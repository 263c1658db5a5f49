/* SPDX-License-Identifier: MIT */
/*
 * khien-policy subcommands for signed policy: keygen, root init / root
 * sign, bundle, verify (docs/POLICY.md). Signing keys stay with the
 * security team; nothing here talks to a network.
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/civil.h"
#include "lib/err.h"
#include "lib/hex.h"
#include "platform/fs.h"
#include "platform/time.h"
#include "policy/bundle_name.h"
#include "tools/khien-policy/tool.h"
#include "tools/khien-policy/trust_build.h"

#define EXIT_INPUT 1
#define EXIT_USAGE 2
#define EXIT_OUTPUT 3
#define FILE_MAX ((size_t)256 << 20)

int kh_tool_read_text(const char *path, char **out, size_t *len)
{
	uint8_t *buf;
	int err = kh_fs_read(path, FILE_MAX, &buf, len);

	if (err < 0) {
		fprintf(stderr, "khien-policy: cannot read %s: %s\n", path, kh_strerror(err));
		return err;
	}
	*out = (char *)buf;
	return 0;
}

int kh_tool_load_key(const char *path, struct kh_pubkey *pub, struct kh_ecdsa_priv *priv)
{
	char *t;
	size_t n;
	const char *why;
	int err = kh_tool_read_text(path, &t, &n);

	if (err < 0)
		return err;
	err = kh_key_parse(t, n, pub, priv, &why);
	kh_memzero(t, n);
	free(t);
	if (err < 0)
		fprintf(stderr, "khien-policy: %s: %s\n", path, why);
	return err;
}

/* Whether a file is there, through platform/fs.h (any size, any content). */
static int key_exists(const char *path)
{
	uint8_t *b = NULL;
	size_t len;
	int err = kh_fs_read(path, 0, &b, &len);

	free(b);
	return err != -ENOENT;
}

int kh_tool_keygen(int argc, char **argv)
{
	const char *out = NULL;
	int force = 0;
	char path[4096], *pj = NULL, *kj = NULL;
	struct kh_ecdsa_priv priv;
	struct kh_pubkey pub;
	struct kh_drbg rng;
	int rc = EXIT_OUTPUT, err;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-o") && i + 1 < argc)
			out = argv[++i];
		else if (!strcmp(argv[i], "--force"))
			force = 1;
		else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			printf("usage: khien-policy keygen -o NAME [--force]\n"
			       "Writes NAME.key (private, mode 0600) and NAME.pub: an ECDSA P-256 "
			       "key.\n");
			return 0;
		} else {
			fprintf(stderr, "usage: khien-policy keygen -o NAME [--force]\n");
			return EXIT_USAGE;
		}
	}
	if (!out) {
		fprintf(stderr, "usage: khien-policy keygen -o NAME [--force]\n");
		return EXIT_USAGE;
	}
	snprintf(path, sizeof(path), "%s.key", out);
	if (!force && key_exists(path)) {
		fprintf(stderr, "khien-policy: %s exists; --force to replace it\n", path);
		return EXIT_OUTPUT;
	}
	if (kh_drbg_init(&rng, "khien-keygen") < 0 || kh_ecdsa_keygen(&rng, &priv, &pub.pub) < 0) {
		fprintf(stderr, "khien-policy: key generation failed\n");
		return EXIT_OUTPUT;
	}
	kh_drbg_free(&rng);
	kh_keyid(&pub.pub, pub.id);
	if (kh_key_files(&priv, &pub, &kj, &pj) < 0)
		goto out;
	if ((err = kh_fs_write_atomic(path, kj, strlen(kj), 0600)) < 0) {
		fprintf(stderr, "khien-policy: cannot write %s: %s\n", path, kh_strerror(err));
		goto out;
	}
	snprintf(path, sizeof(path), "%s.pub", out);
	if ((err = kh_fs_write_atomic(path, pj, strlen(pj), 0644)) < 0) {
		fprintf(stderr, "khien-policy: cannot write %s: %s\n", path, kh_strerror(err));
		goto out;
	}
	{
		char id[2 * KH_KEYID_LEN + 1];
		kh_hex_encode(pub.id, KH_KEYID_LEN, id);
		printf("key %s: %s.key (keep offline), %s.pub\n", id, out, out);
	}
	rc = 0;
out:
	if (kj)
		kh_memzero(kj, strlen(kj));
	free(kj);
	free(pj);
	kh_ecdsa_priv_free(&priv);
	return rc;
}

static int root_init(int argc, char **argv)
{
	static const struct option opts[] = {{"threshold", required_argument, 0, 't'},
					     {"key", required_argument, 0, 'k'},
					     {"policy-key", required_argument, 0, 'p'},
					     {"policy-threshold", required_argument, 0, 'P'},
					     {"firmware-key", required_argument, 0, 'f'},
					     {"firmware-threshold", required_argument, 0, 'F'},
					     {"expires", required_argument, 0, 'e'},
					     {"version", required_argument, 0, 'v'},
					     {"output", required_argument, 0, 'o'},
					     {"help", no_argument, 0, 'h'},
					     {0, 0, 0, 0}};
	struct kh_pubkey rk[KH_TRUST_MAX_KEYS], pk[KH_TRUST_MAX_KEYS], fk[KH_TRUST_MAX_KEYS];
	unsigned nr = 0, np = 0, nf = 0, th = 1, pth = 1, fth = 1;
	int64_t expires = -1;
	uint64_t version = 1;
	const char *out = NULL;
	char *doc;
	int opt, err;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
		switch (opt) {
		case 't':
		case 'P':
		case 'F': {
			uint64_t v;
			if (kh_tool_parse_uint(opt == 't'   ? "--threshold"
					       : opt == 'P' ? "--policy-threshold"
							    : "--firmware-threshold",
					       optarg, 1, KH_TRUST_MAX_KEYS, &v) < 0)
				return EXIT_USAGE;
			*(opt == 't' ? &th : opt == 'P' ? &pth : &fth) = (unsigned)v;
			break;
		}
		case 'k':
		case 'p':
		case 'f': {
			unsigned *n = opt == 'k' ? &nr : opt == 'p' ? &np : &nf;
			struct kh_pubkey *set = opt == 'k' ? rk : opt == 'p' ? pk : fk;
			if (*n >= KH_TRUST_MAX_KEYS) {
				fprintf(stderr, "khien-policy: at most 16 keys per role\n");
				return EXIT_USAGE;
			}
			if (kh_tool_load_key(optarg, &set[(*n)++], NULL) < 0)
				return EXIT_INPUT;
			break;
		}
		case 'e':
			if (kh_civil_parse_time(optarg, kh_time_wall(), &expires) < 0) {
				fprintf(stderr, "khien-policy: --expires: YYYY-MM-DD[THH:MM:SSZ], "
						"+Nd/h/m/s or Unix time\n");
				return EXIT_USAGE;
			}
			break;
		case 'v':
			if (kh_tool_parse_uint("--version", optarg, 1, (1ull << 53) - 1, &version) <
			    0)
				return EXIT_USAGE;
			break;
		case 'o':
			out = optarg;
			break;
		case 'h':
			printf("usage: khien-policy root init --threshold K --key A.pub [--key "
			       "B.pub ...]\n"
			       "         --policy-key P.pub [...] [--policy-threshold K] --expires "
			       "DATE\n"
			       "         [--firmware-key F.pub [...] [--firmware-threshold K]]\n"
			       "         [--version N] -o root.json\n"
			       "The firmware role (optional) signs firmware manifests; its keys "
			       "must\n"
			       "differ from the policy keys.\n"
			       "Writes an unsigned root; sign it with 'khien-policy root sign'. "
			       "For a\n"
			       "rotation, give --version N+1 and sign with K old root keys and K "
			       "new.\n");
			return 0;
		default:
			return EXIT_USAGE;
		}
	}
	if (!out || nr == 0 || np == 0 || expires < 0 || version < 1 || th < 1 || th > nr ||
	    pth < 1 || pth > np || (nf && fth > nf)) {
		fprintf(stderr,
			"khien-policy: root init needs -o, --expires, root keys and policy keys, "
			"and thresholds between 1 and the number of keys\n");
		return EXIT_USAGE;
	}
	for (unsigned i = 0; i < nf; i++)
		for (unsigned k = 0; k < np; k++)
			if (!memcmp(fk[i].id, pk[k].id, KH_KEYID_LEN)) {
				fprintf(stderr, "khien-policy: a firmware key is also a policy key "
						"(one key, one role)\n");
				return EXIT_USAGE;
			}
	if (kh_root_create_fw(version, expires, rk, nr, th, pk, np, pth, fk, nf, fth, &doc) < 0)
		return EXIT_OUTPUT;
	err = kh_fs_write_atomic(out, doc, strlen(doc), 0644);
	free(doc);
	if (err < 0) {
		fprintf(stderr, "khien-policy: cannot write %s: %s\n", out, kh_strerror(err));
		return EXIT_OUTPUT;
	}
	printf("wrote %s: root v%llu, %u root key(s) (threshold %u), %u policy key(s) (threshold "
	       "%u), %u firmware key(s) (threshold %u), unsigned\n",
	       out, (unsigned long long)version, nr, th, np, pth, nf, nf ? fth : 0);
	return 0;
}

static int root_sign(int argc, char **argv)
{
	const char *keyfile = NULL, *file = NULL, *why;
	struct kh_ecdsa_priv priv;
	struct kh_pubkey pub;
	struct kh_drbg rng;
	char *text, vwhy[256], id[2 * KH_KEYID_LEN + 1];
	size_t n;
	struct kh_root r;
	int err;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--key") && i + 1 < argc)
			keyfile = argv[++i];
		else if (argv[i][0] != '-' && !file)
			file = argv[i];
		else {
			fprintf(stderr, "usage: khien-policy root sign --key KEY.key root.json\n");
			return EXIT_USAGE;
		}
	}
	if (!keyfile || !file) {
		fprintf(stderr, "usage: khien-policy root sign --key KEY.key root.json\n");
		return EXIT_USAGE;
	}
	if (kh_tool_load_key(keyfile, &pub, &priv) < 0 || kh_tool_read_text(file, &text, &n) < 0)
		return EXIT_INPUT;
	if (kh_drbg_init(&rng, "khien-root-sign") < 0 ||
	    kh_root_add_signature(&text, &priv, &pub, &rng, &why) < 0) {
		fprintf(stderr, "khien-policy: %s: %s\n", file, why);
		kh_ecdsa_priv_free(&priv);
		free(text);
		return EXIT_INPUT;
	}
	kh_drbg_free(&rng);
	kh_ecdsa_priv_free(&priv);
	err = kh_fs_write_atomic(file, text, strlen(text), 0644);
	if (err < 0) {
		fprintf(stderr, "khien-policy: cannot write %s: %s\n", file, kh_strerror(err));
		free(text);
		return EXIT_OUTPUT;
	}
	kh_hex_encode(pub.id, KH_KEYID_LEN, id);
	err = kh_root_verify_self(text, strlen(text), &r, vwhy, sizeof(vwhy));
	printf("signed %s with key %s; %s\n", file, id,
	       err == 0 ? "its root-role threshold is met" : vwhy);
	free(text);
	return 0;
}

int kh_tool_root(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "init"))
		return root_init(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "sign"))
		return root_sign(argc - 1, argv + 1);
	fprintf(stderr, "usage: khien-policy root init|sign ... (--help after each)\n");
	return argc >= 2 && !strcmp(argv[1], "--help") ? 0 : EXIT_USAGE;
}

/* A whole number >= 1 for a command-line option. */
static int parse_count(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end || *s == '-' || v < 1 || v > 9000000000000000ULL)
		return -EINVAL;
	*out = v;
	return 0;
}

int kh_tool_bundle(int argc, char **argv)
{
	static const struct option opts[] = {{"key", required_argument, 0, 'k'},
					     {"version", required_argument, 0, 'v'},
					     {"expires", required_argument, 0, 'e'},
					     {"component", required_argument, 0, 'c'},
					     {"target", required_argument, 0, 't'},
					     {"root", required_argument, 0, 'r'},
					     {"reset", no_argument, 0, 'R'},
					     {"replaces", required_argument, 0, 'p'},
					     {"epoch", required_argument, 0, 'E'},
					     {"output", required_argument, 0, 'o'},
					     {"created", required_argument, 0, 'C'},
					     {"unsafe-extra-field", required_argument, 0, 'X'},
					     {"help", no_argument, 0, 'h'},
					     {0, 0, 0, 0}};
	struct kh_ecdsa_priv keys[KH_TRUST_MAX_KEYS];
	struct kh_pubkey pubs[KH_TRUST_MAX_KEYS];
	struct kh_bundle_input in[KH_BUNDLE_MAX_COMPONENTS];
	char *names[KH_BUNDLE_MAX_COMPONENTS] = {0};
	uint8_t *data[KH_BUNDLE_MAX_COMPONENTS] = {0};
	const char *targets[KH_BUNDLE_MAX_TARGETS];
	struct kh_bundle_spec spec;
	unsigned nk = 0, nc = 0, nt = 0;
	const char *out = NULL;
	uint8_t *bundle = NULL;
	size_t blen;
	int opt, rc = EXIT_USAGE, err;
	int64_t now = kh_time_wall();

	memset(&spec, 0, sizeof(spec));
	spec.expires = -1;
	spec.created = now;
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
		case 'v':
			/* Versions travel as JSON numbers: keep them exact (below 2^53). */
			if (kh_tool_parse_uint("--version", optarg, 1, (1ull << 53) - 1,
					       &spec.version) < 0)
				goto out;
			break;
		case 'e':
			if (kh_civil_parse_time(optarg, now, &spec.expires) < 0) {
				fprintf(stderr, "khien-policy: --expires: YYYY-MM-DD[THH:MM:SSZ], "
						"+Nd/h/m/s or Unix time\n");
				goto out;
			}
			break;
		case 'C':
			if (kh_civil_parse_time(optarg, now, &spec.created) < 0) {
				fprintf(stderr,
					"khien-policy: --created: YYYY-MM-DD[THH:MM:SSZ], "
					"+Nd/h/m/s or Unix time, got '%s'\n",
					optarg);
				goto out;
			}
			break;
		case 'c':
		case 'r': {
			char *eq = opt == 'c' ? strchr(optarg, '=') : NULL;
			const char *path = eq ? eq + 1 : optarg;
			size_t len;
			if (nc >= KH_BUNDLE_MAX_COMPONENTS || (opt == 'c' && !eq)) {
				fprintf(stderr,
					"khien-policy: --component NAME=FILE (at most 16)\n");
				goto out;
			}
			if (eq) {
				/* The name becomes a file in the device's policy slot. */
				const char *why;
				*eq = 0;
				why = kh_bundle_name_problem(optarg);
				if (!why && strncmp(optarg, "root.", 5) == 0)
					why = "'root.' names are the trust roots given with --root";
				if (why) {
					char shown[KH_BUNDLE_NAME_MAX + 8];
					size_t k;
					/* Echo the name, not the terminal controls it may hold. */
					for (k = 0; optarg[k] && k < sizeof(shown) - 4; k++)
						shown[k] = (unsigned char)optarg[k] < 0x20 ||
									   optarg[k] == 0x7f
								   ? '?'
								   : optarg[k];
					strcpy(shown + k, optarg[k] ? "..." : "");
					fprintf(stderr, "khien-policy: --component '%s': %s\n",
						shown, why);
					goto out;
				}
			}
			err = kh_fs_read(path, FILE_MAX, &data[nc], &len);
			if (err < 0) {
				fprintf(stderr, "khien-policy: cannot read %s: %s\n", path,
					kh_strerror(err));
				rc = EXIT_INPUT;
				goto out;
			}
			if (opt == 'r') {
				struct kh_root r;
				const char *why;
				char nm[40];
				if (kh_root_parse((char *)data[nc], len, &r, &why) < 0) {
					fprintf(stderr, "khien-policy: %s: %s\n", path, why);
					rc = EXIT_INPUT;
					goto out;
				}
				snprintf(nm, sizeof(nm), "root.%llu",
					 (unsigned long long)r.version);
				names[nc] = strdup(nm);
			} else {
				names[nc] = strdup(optarg);
			}
			if (!names[nc]) {
				rc = EXIT_INPUT;
				goto out;
			}
			for (unsigned k = 0; k < nc; k++)
				if (strcmp(names[k], names[nc]) == 0) {
					fprintf(stderr,
						"khien-policy: two components named '%s' (each "
						"name "
						"once)\n",
						names[nc]);
					free(data[nc]); /* not counted in nc yet */
					free(names[nc]);
					goto out;
				}
			in[nc] = (struct kh_bundle_input){names[nc], data[nc], len};
			nc++;
			break;
		}
		case 't':
			if (nt >= KH_BUNDLE_MAX_TARGETS) {
				fprintf(stderr, "khien-policy: at most %d --target\n",
					KH_BUNDLE_MAX_TARGETS);
				goto out;
			}
			targets[nt++] = optarg;
			break;
		case 'R':
			spec.reset = 1;
			break;
		case 'p':
		case 'E':
			if (parse_count(optarg, opt == 'p' ? &spec.replaces : &spec.epoch) < 0) {
				fprintf(stderr, "khien-policy: --%s: a whole number >= 1\n",
					opt == 'p' ? "replaces" : "epoch");
				goto out;
			}
			break;
		case 'o':
			out = optarg;
			break;
		case 'X':
			spec.unsafe_extra = optarg;
			break;
		case 'h':
			printf("usage: khien-policy bundle --key P.key [--key ...] --version N\n"
			       "         --expires DATE|+DURATION --component blocklist=INDEX\n"
			       "         [--component NAME=FILE ...] [--target HWID ...]\n"
			       "         [--root root-N.json ...] [--epoch N]\n"
			       "         [--reset --replaces VERSION --epoch N] -o BUNDLE\n"
			       "Signs with every --key (policy keys; root keys for --reset). A "
			       "reset may\n"
			       "lower the version: it applies only to devices running VERSION and "
			       "starts\n"
			       "epoch N (higher than theirs); after it, bundles need --epoch N. "
			       "--root\n"
			       "embeds newer roots so devices can walk the rotation chain.\n"
			       "DURATION: +30d, +12h, +90m, +3600s.\n");
			rc = 0;
			goto out;
		default:
			goto out;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "khien-policy: bundle: unexpected argument '%s' (see --help)\n",
			argv[optind]);
		goto out;
	}
	if (!out || nk == 0 || nc == 0 || spec.version < 1 || spec.expires < 0) {
		fprintf(stderr,
			"khien-policy: bundle needs -o, --key, --version >= 1, --expires and a "
			"--component\n");
		goto out;
	}
	if (spec.reset != (spec.replaces != 0) || (spec.reset && !spec.epoch)) {
		/* a reset bound to nothing would replay forever (docs/POLICY.md) */
		fprintf(stderr, "khien-policy: --reset needs --replaces VERSION and --epoch N "
				"(the device's epoch + 1); --replaces is only for --reset\n");
		goto out;
	}
	spec.targets = targets;
	spec.ntargets = nt;
	spec.comp = in;
	spec.ncomp = nc;
	spec.keys = keys;
	spec.pubs = pubs;
	spec.nkeys = nk;
	if ((err = kh_bundle_build(&spec, &bundle, &blen)) < 0) {
		fprintf(stderr, "khien-policy: cannot build the bundle: %s\n", kh_strerror(err));
		rc = EXIT_INPUT;
		goto out;
	}
	if ((err = kh_fs_write_atomic(out, bundle, blen, 0644)) < 0) {
		fprintf(stderr, "khien-policy: cannot write %s: %s\n", out, kh_strerror(err));
		rc = EXIT_OUTPUT;
		goto out;
	}
	printf("wrote %s: version %llu, %u component(s), %u signature(s), %zu bytes\n", out,
	       (unsigned long long)spec.version, nc, nk, blen);
	rc = 0;
out:
	for (unsigned i = 0; i < nk; i++)
		kh_ecdsa_priv_free(&keys[i]);
	for (unsigned i = 0; i < nc; i++) {
		free(names[i]);
		free(data[i]);
	}
	free(bundle);
	return rc;
}

int kh_tool_verify(int argc, char **argv)
{
	const char *rootf = NULL, *file = NULL, *hwid = NULL;
	uint64_t active = 0, epoch = 0;
	int64_t now = kh_time_wall();
	char *rt, why[256], t[48];
	uint8_t *data;
	size_t rlen, len;
	struct kh_root root, newest;
	struct kh_bundle b;
	struct kh_verify_ctx ctx;
	int err;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--root") && i + 1 < argc)
			rootf = argv[++i];
		else if (!strcmp(argv[i], "--hwid") && i + 1 < argc)
			hwid = argv[++i];
		else if (!strcmp(argv[i], "--active-version") && i + 1 < argc) {
			if (kh_tool_parse_uint("--active-version", argv[++i], 0, UINT64_MAX,
					       &active) < 0)
				return EXIT_USAGE;
		} else if (!strcmp(argv[i], "--epoch") && i + 1 < argc) {
			if (kh_tool_parse_uint("--epoch", argv[++i], 0, UINT64_MAX, &epoch) < 0)
				return EXIT_USAGE;
		} else if (!strcmp(argv[i], "--now") && i + 1 < argc) {
			if (kh_civil_parse_time(argv[++i], now, &now) < 0) {
				fprintf(stderr,
					"khien-policy: --now: YYYY-MM-DD[THH:MM:SSZ], "
					"+Nd/h/m/s or Unix time, got '%s'\n",
					argv[i]);
				return EXIT_USAGE;
			}
		} else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			printf("usage: khien-policy verify --root root.json [--hwid ID] "
			       "[--active-version N]\n"
			       "         [--epoch N] [--now DATE] BUNDLE\n"
			       "Checks a bundle as a device would; exit 0 only if it verifies.\n");
			return 0;
		} else if (argv[i][0] != '-' && !file)
			file = argv[i];
		else {
			fprintf(stderr,
				"khien-policy: verify: unexpected argument '%s' (see --help)\n",
				argv[i]);
			return EXIT_USAGE;
		}
	}
	if (!rootf || !file) {
		fprintf(stderr, "usage: khien-policy verify --root root.json BUNDLE\n");
		return EXIT_USAGE;
	}
	if (kh_tool_read_text(rootf, &rt, &rlen) < 0)
		return EXIT_INPUT;
	err = kh_root_verify_self(rt, rlen, &root, why, sizeof(why));
	free(rt);
	if (err < 0) {
		fprintf(stderr, "khien-policy: %s: %s\n", rootf, why);
		return EXIT_INPUT;
	}
	if ((err = kh_fs_read(file, FILE_MAX, &data, &len)) < 0) {
		fprintf(stderr, "khien-policy: cannot read %s: %s\n", file, kh_strerror(err));
		return EXIT_INPUT;
	}
	ctx = (struct kh_verify_ctx){&root, active, now, hwid, 0, epoch, 0};
	err = kh_bundle_verify(data, len, &ctx, &b, &newest, why, sizeof(why));
	if (b.ncomp) {
		kh_fmt_utc(b.expires, t, sizeof(t));
		printf("bundle %s: version %llu, epoch %llu", file, (unsigned long long)b.version,
		       (unsigned long long)b.epoch);
		if (b.reset)
			printf(" (reset of version %llu)", (unsigned long long)b.replaces);
		printf(", expires %s, %u target(s)\n", t, b.ntargets);
		for (unsigned i = 0; i < b.ncomp; i++) {
			char h[65];
			kh_hex_encode(b.comp[i].sha256, 32, h);
			printf("  %-12s %10llu bytes  sha256 %s\n", b.comp[i].name,
			       (unsigned long long)b.comp[i].length, h);
		}
	}
	free(data);
	if (err < 0) {
		printf("REFUSED: %s\n", why);
		return EXIT_INPUT;
	}
	printf("verified against root v%llu (policy keys: %u needed)\n",
	       (unsigned long long)newest.version,
	       b.reset ? newest.root.threshold : newest.policy.threshold);
	return 0;
}
