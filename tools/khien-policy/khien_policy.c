/* SPDX-License-Identifier: MIT */
/*
 * khien-policy: the ISP security team's tool. Compiles blocklists in the
 * common formats into the compact on-device index, and inspects indexes
 * (lookup, stats). Later subcommands sign policy bundles.
 *
 * Exit codes: 0 success; 1 bad input (unreadable or wholly invalid list,
 * corrupt index); 2 usage error; 3 cannot write the output.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "lib/err.h"
#include "lib/log.h"
#include "platform/fs.h"
#include "platform/net.h"
#include "platform/time.h"
#include "tools/khien-policy/compile.h"
#include "policy/index.h"
#include "policy/name.h"
#include "tools/khien-policy/punycode.h"
#include "tools/khien-policy/tool.h"

#define EXIT_INPUT 1
#define EXIT_USAGE 2
#define EXIT_OUTPUT 3
#define LIST_MAX_BYTES ((size_t)1 << 30)

static const char *prog = "khien-policy";

static void usage(FILE *f)
{
	fprintf(f,
		"usage: khien-policy <command> [options]\n"
		"\n"
		"commands:\n"
		"  compile -o OUT --list CATEGORY=FILE [--list ...] [--allow FILE ...]\n"
		"          [--format auto|domains|hosts|adblock|dnsmasq|unbound|rpz|ip]\n"
		"                      compile blocklists into an on-device index\n"
		"  lookup INDEX NAME...  verdict for each name (or IP, for RPZ IP triggers)\n"
		"  stats INDEX           index statistics as JSON\n"
		"  keygen -o NAME        new ECDSA P-256 key pair (NAME.key, NAME.pub)\n"
		"  root init|sign ...    create and sign the trust root\n"
		"  bundle ...            assemble and sign a policy bundle\n"
		"  verify --root R B     check a bundle as a device would\n"
		"  audit check|compile   evaluate audit rules against an image, or compile them\n"
		"  firmware sign|verify|reset  signed firmware manifests, counter resets\n"
		"  firmware mcuboot-verify --key F.pub IMG  check an lwIP gateway's MCUboot image\n"
		"  baseline              record a rootfs's watched files as a signed-bundle "
		"baseline\n"
		"\n"
		"Run 'khien-policy <command> --help' for a command's options.\n"
		"Exit codes: 0 ok, 1 bad input, 2 usage, 3 cannot write output.\n");
}

static void compile_usage(FILE *f)
{
	fprintf(f,
		"usage: khien-policy compile -o OUT --list CATEGORY=FILE [--list ...]\n"
		"                            [--allow FILE ...] [--format FMT] [options]\n"
		"\n"
		"  -o, --output FILE      index to write (written atomically)\n"
		"  -l, --list CAT=FILE    a block list for category CAT (gambling, adult, "
		"malware,\n"
		"                         phishing, authority, ...). The first list given wins\n"
		"                         when a name is on several.\n"
		"  -a, --allow FILE       an allow list (exceptions)\n"
		"  -f, --format FMT       format of the lists that follow: auto (default),\n"
		"                         domains, hosts, adblock, dnsmasq, unbound, rpz,\n"
		"                         ip (one address or CIDR prefix per line)\n"
		"      --seed HEX         32 hex digits: fixed hash seed for reproducible builds\n"
		"                         (with SOURCE_DATE_EPOCH for the recorded date)\n"
		"      --max-report N     print at most N problem lines per list (default all)\n"
		"      --json             print the summary as JSON on stdout\n"
		"  -q, --quiet            no progress and no summary (problem lines and\n"
		"                         errors are still printed; --json still prints)\n"
		"\n"
		"Problem lines are reported on stderr as FILE:LINE: reason. A list that is\n"
		"unreadable or yields no entry at all is an error and nothing is written.\n");
}

struct report_ctx {
	unsigned long printed, max;
};

static void report(void *arg, const char *file, unsigned line, int unsupported, const char *reason,
		   const char *text)
{
	struct report_ctx *r = arg;

	if (r->printed++ >= r->max)
		return;
	fprintf(stderr, "%s:%u: %s%s: %s\n", file, line, unsupported ? "skipped: " : "", reason,
		text);
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

struct list_arg {
	char *category; /* NULL: allow list */
	const char *path;
	enum kh_list_format fmt;
};

/*
 * The creation time recorded in the index: SOURCE_DATE_EPOCH when set (the
 * reproducible-builds convention: same inputs, seed and date, same bytes),
 * else now.
 */
static int64_t build_time(void)
{
	const char *e = getenv("SOURCE_DATE_EPOCH");
	char *end;
	long long v;

	if (e && *e) {
		v = strtoll(e, &end, 10);
		if (!*end && v >= 0)
			return v;
	}
	return kh_time_wall();
}

static int parse_seed(const char *s, uint64_t seed[2])
{
	char part[17];

	if (strlen(s) != 32 || strspn(s, "0123456789abcdefABCDEF") != 32)
		return -EINVAL;
	memcpy(part, s, 16);
	part[16] = 0;
	seed[0] = strtoull(part, NULL, 16);
	seed[1] = strtoull(s + 16, NULL, 16);
	return 0;
}

static void hex(const uint8_t *b, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", b[i]);
}

static int cmd_compile(int argc, char **argv)
{
	static const struct option opts[] = {
		{"output", required_argument, 0, 'o'}, {"list", required_argument, 0, 'l'},
		{"allow", required_argument, 0, 'a'},  {"format", required_argument, 0, 'f'},
		{"seed", required_argument, 0, 'S'},   {"max-report", required_argument, 0, 'M'},
		{"json", no_argument, 0, 'j'},	       {"quiet", no_argument, 0, 'q'},
		{"help", no_argument, 0, 'h'},	       {0, 0, 0, 0}};
	struct list_arg lists[255];
	size_t nlists = 0;
	enum kh_list_format fmt = KH_FMT_AUTO;
	const char *out = NULL;
	uint64_t seed[2];
	int have_seed = 0, json = 0, quiet = 0, opt, rc = EXIT_INPUT, err;
	struct report_ctx rep = {0, ~0ul};
	struct kh_compiler *c = NULL;
	struct kh_compile_result res;
	uint8_t *image = NULL;
	size_t image_len;
	unsigned long total_rejected = 0, total_unsupported = 0, total_lines = 0;
	cJSON *jl = NULL;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "o:l:a:f:qh", opts, NULL)) != -1) {
		switch (opt) {
		case 'o':
			out = optarg;
			break;
		case 'l':
		case 'a': {
			char *eq = opt == 'l' ? strchr(optarg, '=') : NULL;
			if (nlists >= 255) {
				fprintf(stderr, "%s: at most 255 lists\n", prog);
				return EXIT_USAGE;
			}
			if (opt == 'l' && (!eq || eq == optarg || !eq[1])) {
				fprintf(stderr, "%s: --list expects CATEGORY=FILE, got '%s'\n",
					prog, optarg);
				return EXIT_USAGE;
			}
			if (eq) {
				*eq = 0;
				for (char *p = optarg; *p; p++)
					if (!((*p >= 'a' && *p <= 'z') ||
					      (*p >= '0' && *p <= '9') || *p == '-' || *p == '_') ||
					    p - optarg >= 32) {
						fprintf(stderr,
							"%s: category '%s': use 1-32 characters "
							"[a-z0-9_-]\n",
							prog, optarg);
						return EXIT_USAGE;
					}
			}
			lists[nlists++] =
				(struct list_arg){eq ? optarg : NULL, eq ? eq + 1 : optarg, fmt};
			break;
		}
		case 'f':
			err = kh_list_format_parse(optarg);
			if (err < 0) {
				fprintf(stderr, "%s: unknown format '%s'\n", prog, optarg);
				return EXIT_USAGE;
			}
			fmt = (enum kh_list_format)err;
			/* A --format before any list applies to all of them. */
			break;
		case 'S':
			if (parse_seed(optarg, seed) < 0) {
				fprintf(stderr, "%s: --seed expects 32 hex digits\n", prog);
				return EXIT_USAGE;
			}
			have_seed = 1;
			break;
		case 'M': {
			uint64_t v;
			if (kh_tool_parse_uint("--max-report", optarg, 0, ULONG_MAX, &v) < 0)
				return EXIT_USAGE;
			rep.max = (unsigned long)v;
			break;
		}
		case 'j':
			json = 1;
			break;
		case 'q':
			quiet = 1;
			break;
		case 'h':
			compile_usage(stdout);
			return 0;
		default:
			compile_usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (!out || nlists == 0 || optind != argc) {
		if (optind != argc)
			fprintf(stderr, "%s: compile: unexpected argument '%s'\n", prog,
				argv[optind]);
		else
			fprintf(stderr, "%s: compile needs %s\n", prog,
				!out ? "-o OUT"
				     : "at least one --list CATEGORY=FILE or --allow FILE");
		fprintf(stderr, "see '%s compile --help'\n", prog);
		return EXIT_USAGE;
	}
	for (size_t i = 0; i < nlists; i++)
		if (lists[i].fmt == KH_FMT_AUTO)
			lists[i].fmt = fmt;

	jl = cJSON_CreateArray(); /* after option parsing: usage errors return early */
	if ((err = kh_compiler_new(&c, have_seed ? seed : NULL)) < 0) {
		fprintf(stderr, "%s: %s\n", prog, kh_strerror(err));
		goto out;
	}
	for (size_t i = 0; i < nlists; i++) {
		struct kh_list_stats st;
		uint8_t *buf;
		size_t len;
		int src;

		src = kh_compiler_add_source(c, lists[i].category, base_name(lists[i].path),
					     lists[i].fmt);
		if (src < 0) {
			fprintf(stderr, "%s: too many lists or categories (max %d categories)\n",
				prog, CONFIG_INDEX_MAX_CATEGORIES);
			goto out;
		}
		err = kh_fs_read(lists[i].path, LIST_MAX_BYTES, &buf, &len);
		if (err < 0) {
			fprintf(stderr, "%s: cannot read %s: %s\n", prog, lists[i].path,
				kh_strerror(err));
			goto out;
		}
		if (!quiet)
			fprintf(stderr, "[%zu/%zu] %s %s (%.1f MB)...\n", i + 1, nlists,
				lists[i].category ? lists[i].category : "allow", lists[i].path,
				(double)len / 1e6);
		rep.printed = 0;
		err = kh_compiler_parse(c, src, (const char *)buf, len, lists[i].fmt, report, &rep,
					&st);
		free(buf);
		if (err < 0) {
			fprintf(stderr, "%s: %s: %s\n", prog, lists[i].path, kh_strerror(err));
			goto out;
		}
		if (rep.printed > rep.max)
			fprintf(stderr, "%s: ... %lu more problem lines not shown\n", lists[i].path,
				rep.printed - rep.max);
		total_rejected += st.rejected;
		total_unsupported += st.unsupported;
		total_lines += st.lines;
		if (!quiet)
			fprintf(stderr,
				"      %s: %lu lines, %lu entries, %lu allow, %lu ip, %lu "
				"badfilter, %lu rejected, "
				"%lu skipped (unsupported), %lu ignored\n",
				kh_list_format_name(kh_compiler_source_format(c, src)), st.lines,
				st.entries, st.allows, st.ips, st.badfilters, st.rejected,
				st.unsupported, st.ignored);
		if (st.entries + st.allows + st.ips + st.badfilters == 0) {
			fprintf(stderr,
				"%s: %s: no valid entry in %lu lines (%s format); not writing %s\n",
				prog, lists[i].path, st.lines,
				kh_list_format_name(kh_compiler_source_format(c, src)), out);
			goto out;
		}
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "file", lists[i].path);
		cJSON_AddStringToObject(o, "category",
					lists[i].category ? lists[i].category : "allow");
		cJSON_AddStringToObject(o, "format",
					kh_list_format_name(kh_compiler_source_format(c, src)));
		cJSON_AddNumberToObject(o, "lines", (double)st.lines);
		cJSON_AddNumberToObject(o, "entries", (double)st.entries);
		cJSON_AddNumberToObject(o, "allow", (double)st.allows);
		cJSON_AddNumberToObject(o, "ip_triggers", (double)st.ips);
		cJSON_AddNumberToObject(o, "badfilter", (double)st.badfilters);
		cJSON_AddNumberToObject(o, "rejected", (double)st.rejected);
		cJSON_AddNumberToObject(o, "unsupported", (double)st.unsupported);
		cJSON_AddItemToArray(jl, o);
	}
	if (!quiet)
		fprintf(stderr, "merging, sorting and packing...\n");
	err = kh_compiler_build(c, build_time(), &image, &image_len, &res);
	if (err < 0) {
		fprintf(stderr, "%s: build failed: %s\n", prog, kh_strerror(err));
		goto out;
	}
	err = kh_fs_write_atomic(out, image, image_len, 0644);
	if (err < 0) {
		fprintf(stderr, "%s: cannot write %s: %s\n", prog, out, kh_strerror(err));
		rc = EXIT_OUTPUT;
		goto out;
	}
	{
		unsigned ncat;
		const uint32_t *cc = kh_compiler_category_counts(c, &ncat);
		char bid[33];
		double bpd = res.domains ? (double)res.bytes / res.domains : 0;
		cJSON *cats = cJSON_CreateObject();
		struct kh_index idx;

		/* Category names in id order come back from the index just written. */
		if (kh_index_open(&idx, image, image_len, NULL) < 0) {
			fprintf(stderr, "%s: internal error: written index does not verify\n",
				prog);
			goto out;
		}
		hex(res.build_id, 16, bid);
		for (unsigned i = 0; i < ncat; i++)
			cJSON_AddNumberToObject(cats, kh_index_category_name(&idx, i), cc[i]);
		if (json) {
			cJSON *j = cJSON_CreateObject();
			char *s;
			cJSON_AddStringToObject(j, "output", out);
			cJSON_AddStringToObject(j, "build_id", bid);
			cJSON_AddNumberToObject(j, "domains", res.domains);
			cJSON_AddNumberToObject(j, "entries", res.entries);
			cJSON_AddNumberToObject(j, "duplicates_merged", res.duplicates);
			cJSON_AddNumberToObject(j, "allow_entries", res.allows);
			cJSON_AddNumberToObject(j, "ip_triggers", res.ip_triggers);
			cJSON_AddNumberToObject(j, "disabled_by_badfilter", res.badfiltered);
			cJSON_AddNumberToObject(j, "exceptions_overridden_by_important",
						res.important_overrides);
			cJSON_AddNumberToObject(j, "lines", (double)total_lines);
			cJSON_AddNumberToObject(j, "rejected", (double)total_rejected);
			cJSON_AddNumberToObject(j, "unsupported", (double)total_unsupported);
			cJSON_AddNumberToObject(j, "bytes", (double)res.bytes);
			cJSON_AddNumberToObject(j, "bytes_per_domain", bpd);
			cJSON_AddNumberToObject(j, "false_positive_log2", res.fp_log2);
			cJSON_AddItemToObject(j, "categories", cats);
			cJSON_AddItemToObject(j, "lists", jl);
			jl = NULL;
			s = cJSON_Print(j);
			puts(s);
			free(s);
			cJSON_Delete(j);
		} else if (!quiet) {
			printf("wrote %s: %u domains (%u entries) in %zu bytes, %.2f "
			       "bytes/domain\n",
			       out, res.domains, res.entries, res.bytes, bpd);
			for (unsigned i = 0; i < ncat; i++)
				printf("  %-14s %u domains\n", kh_index_category_name(&idx, i),
				       cc[i]);
			printf("  allow entries  %u\n  ip triggers    %u\n", res.allows,
			       res.ip_triggers);
			printf("duplicates merged: %u; lines rejected: %lu; rules skipped as "
			       "unsupported: %lu\n",
			       res.duplicates, total_rejected, total_unsupported);
			if (res.badfiltered || res.important_overrides)
				printf("AdBlock rules disabled by $badfilter: %u; exceptions "
				       "overridden by $important: %u\n",
				       res.badfiltered, res.important_overrides);
			printf("false-positive bound: 2^%.1f per lookup; build id %s\n",
			       res.fp_log2, bid);
			cJSON_Delete(cats);
		} else {
			cJSON_Delete(cats);
		}
	}
	rc = 0;
out:
	cJSON_Delete(jl);
	free(image);
	kh_compiler_free(c);
	return rc;
}

static int open_index(const char *path, struct kh_fs_map *map, struct kh_index *idx)
{
	const char *why;
	int err = kh_fs_map(path, (size_t)CONFIG_INDEX_MAX_MB << 20, map);

	if (err < 0) {
		fprintf(stderr, "%s: cannot open %s: %s\n", prog, path, kh_strerror(err));
		return err;
	}
	err = kh_index_open(idx, map->data, map->len, &why);
	if (err < 0) {
		fprintf(stderr, "%s: %s: invalid index: %s\n", prog, path, why);
		kh_fs_unmap(map);
	}
	return err;
}

static const char *scope_name(unsigned s)
{
	return s == 3 ? "self+subdomains" : s == 1 ? "self" : "subdomains";
}

static const char *action_name(unsigned a)
{
	static const char *const n[] = {"default", "nxdomain", "nodata", "drop"};
	return a < 4 ? n[a] : "?";
}

static int cmd_lookup(int argc, char **argv)
{
	struct kh_fs_map map;
	struct kh_index idx;
	int json = 0, first = 1;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			printf("usage: khien-policy lookup [--json] INDEX NAME...\n"
			       "Prints 'NAME blocked CATEGORY RULE' or 'NAME allowed' per name;\n"
			       "'NAME invalid REASON' for a name that is not a domain name.\n"
			       "UTF-8 names are normalised as compile does (to A-labels).\n"
			       "An IP address is checked against RPZ IP triggers.\n");
			return 0;
		}
		if (strcmp(argv[i], "--json") == 0) {
			json = 1;
			memmove(argv + i, argv + i + 1, (size_t)(argc - i) * sizeof(*argv));
			argc--;
			i--;
		}
	}
	if (argc < 3) {
		fprintf(stderr, "usage: khien-policy lookup [--json] INDEX NAME...\n");
		return EXIT_USAGE;
	}
	if (open_index(argv[1], &map, &idx) < 0)
		return EXIT_INPUT;
	(void)first;
	for (int i = 2; i < argc; i++) {
		const char *name = argv[i];
		struct kh_match m;
		struct kh_addr ip;
		const char *why = "not a valid domain name";
		char rule[300], reason[80];
		int err;

		if (kh_addr_parse_ip(name, &ip) == 0) {
			if (kh_index_lookup_ip(&idx, ip.family, ip.ip, &m)) {
				snprintf(rule, sizeof(rule), "%s/%u", name, m.scope);
				m.verdict = KH_BLOCKED;
			} else
				m.verdict = KH_ALLOWED;
			err = 0;
		} else {
			/* The normalisation compile applies: case folding, IDNA to A-labels. */
			char canon[KH_NAME_MAX + 1], bad = 0;
			size_t clen;
			enum kh_name_err ne =
				kh_name_from_text(name, strlen(name), canon, &clen, &bad);
			if (ne != KH_NAME_OK) {
				kh_name_explain(ne, bad, reason, sizeof(reason));
				why = reason;
				err = -EINVAL;
			} else {
				err = kh_index_lookup(&idx, canon, clen, &m);
			}
			if (!err && m.verdict == KH_BLOCKED)
				snprintf(rule, sizeof(rule), "%s%s", m.exact ? "" : "*.",
					 m.name + m.suffix_off);
			if (!err && m.verdict == KH_ALLOWLISTED)
				snprintf(rule, sizeof(rule), "@@%s%s", m.exact ? "" : "*.",
					 m.name + m.suffix_off);
		}
		if (json) {
			cJSON *o = cJSON_CreateObject();
			char *s;
			cJSON_AddStringToObject(o, "name", name);
			if (err) {
				cJSON_AddStringToObject(o, "verdict", "invalid");
				cJSON_AddStringToObject(o, "reason", why);
			} else {
				cJSON_AddStringToObject(o, "verdict",
							m.verdict == KH_BLOCKED ? "blocked"
										: "allowed");
				if (m.verdict != KH_ALLOWED) {
					cJSON_AddStringToObject(o, "rule", rule);
					cJSON_AddNumberToObject(o, "rule_id", m.rule);
					cJSON_AddStringToObject(
						o, "source", kh_index_source_name(&idx, m.source));
				}
				if (m.verdict == KH_BLOCKED) {
					cJSON_AddStringToObject(
						o, "category",
						kh_index_category_name(&idx, m.category));
					cJSON_AddStringToObject(o, "action", action_name(m.action));
				}
				if (m.verdict != KH_ALLOWED && kh_addr_parse_ip(name, &ip) != 0)
					cJSON_AddStringToObject(o, "scope", scope_name(m.scope));
			}
			s = cJSON_PrintUnformatted(o);
			puts(s);
			free(s);
			cJSON_Delete(o);
		} else if (err) {
			printf("%s invalid %s\n", name, why);
		} else if (m.verdict == KH_BLOCKED) {
			printf("%s blocked %s %s\n", name, kh_index_category_name(&idx, m.category),
			       rule);
		} else {
			printf("%s allowed\n", name);
		}
	}
	kh_fs_unmap(&map);
	return 0;
}

static int cmd_stats(int argc, char **argv)
{
	struct kh_fs_map map;
	struct kh_index idx;
	cJSON *j, *cats, *srcs;
	uint32_t *per_cat;
	char bid[33], *s;

	if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		printf("usage: khien-policy stats INDEX\nPrints index statistics as JSON.\n");
		return 0;
	}
	if (argc != 2) {
		fprintf(stderr, "usage: khien-policy stats INDEX\n");
		return EXIT_USAGE;
	}
	if (open_index(argv[1], &map, &idx) < 0)
		return EXIT_INPUT;
	/* Distinct names per category: walk the classes of all entries once. */
	per_cat = calloc(idx.n_categories + 1, sizeof(*per_cat));
	{
		unsigned w = idx.rem_bits + idx.meta_bits;
		uint64_t prev_rem = ~0ull;
		for (uint32_t i = 0; i < idx.n_entries; i++) {
			uint64_t pos = (uint64_t)i * w, v = 0;
			for (unsigned k = 0; k < w; k++, pos++)
				v |= (uint64_t)((idx.entries[pos >> 3] >> (pos & 7)) & 1) << k;
			uint8_t cat, src, scope, act;
			kh_index_class(&idx, (unsigned)(v & ((1u << idx.meta_bits) - 1)), &cat,
				       &src, &scope, &act);
			/* Two entries of one name (self / subdomains) count once. */
			if ((v >> idx.meta_bits) != prev_rem && cat < idx.n_categories)
				per_cat[cat]++;
			prev_rem = v >> idx.meta_bits;
		}
	}
	j = cJSON_CreateObject();
	hex(idx.build_id, 16, bid);
	cJSON_AddNumberToObject(j, "format_version", KH_IDX_VERSION);
	cJSON_AddStringToObject(j, "build_id", bid);
	cJSON_AddNumberToObject(j, "created", (double)idx.created);
	cJSON_AddNumberToObject(j, "entries", idx.n_domains);
	cJSON_AddNumberToObject(j, "block_entries", idx.n_entries);
	cJSON_AddNumberToObject(j, "allow_entries", idx.n_allow);
	cJSON_AddNumberToObject(j, "ip_triggers", idx.n_iptrig);
	cJSON_AddNumberToObject(j, "bytes", (double)idx.len);
	cJSON_AddNumberToObject(j, "bytes_per_domain",
				idx.n_domains ? (double)idx.len / idx.n_domains : 0);
	cJSON_AddNumberToObject(j, "bucket_bits", idx.bucket_bits);
	cJSON_AddNumberToObject(j, "remainder_bits", idx.rem_bits);
	cJSON_AddNumberToObject(j, "class_bits", idx.meta_bits);
	cats = cJSON_AddObjectToObject(j, "categories");
	for (uint32_t i = 0; i < idx.n_categories; i++)
		cJSON_AddNumberToObject(cats, kh_index_category_name(&idx, i), per_cat[i]);
	srcs = cJSON_AddArrayToObject(j, "sources");
	for (uint32_t i = 0; i < idx.n_sources; i++) {
		cJSON *o = cJSON_CreateObject();
		unsigned cat;
		uint32_t n, fmt;
		kh_index_source_info(&idx, i, &cat, &n, &fmt);
		cJSON_AddStringToObject(o, "name", kh_index_source_name(&idx, i));
		cJSON_AddStringToObject(
			o, "category",
			cat == KH_IDX_ALLOW_CATEGORY ? "allow" : kh_index_category_name(&idx, cat));
		cJSON_AddStringToObject(o, "format", kh_list_format_name((enum kh_list_format)fmt));
		cJSON_AddNumberToObject(o, "entries", n);
		cJSON_AddItemToArray(srcs, o);
	}
	s = cJSON_Print(j);
	puts(s);
	free(s);
	cJSON_Delete(j);
	free(per_cat);
	kh_fs_unmap(&map);
	return 0;
}

int kh_tool_parse_uint(const char *opt, const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (s[0] >= '0' && s[0] <= '9' && !*end && errno == 0 && v >= min && v <= max) {
		*out = v;
		return 0;
	}
	fprintf(stderr, "khien-policy: %s: expected a whole number from %llu to %llu, got '%s'\n",
		opt, (unsigned long long)min, (unsigned long long)max, s);
	return -EINVAL;
}

int main(int argc, char **argv)
{
	kh_log_set_ident(prog);
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "compile") == 0)
		return cmd_compile(argc - 1, argv + 1);
	if (strcmp(argv[1], "lookup") == 0)
		return cmd_lookup(argc - 1, argv + 1);
	if (strcmp(argv[1], "stats") == 0)
		return cmd_stats(argc - 1, argv + 1);
	if (strcmp(argv[1], "keygen") == 0)
		return kh_tool_keygen(argc - 1, argv + 1);
	if (strcmp(argv[1], "root") == 0)
		return kh_tool_root(argc - 1, argv + 1);
	if (strcmp(argv[1], "bundle") == 0)
		return kh_tool_bundle(argc - 1, argv + 1);
	if (strcmp(argv[1], "verify") == 0)
		return kh_tool_verify(argc - 1, argv + 1);
	if (strcmp(argv[1], "audit") == 0)
		return kh_tool_audit(argc - 1, argv + 1);
	if (strcmp(argv[1], "firmware") == 0)
		return kh_tool_firmware(argc - 1, argv + 1);
	if (strcmp(argv[1], "baseline") == 0)
		return kh_tool_baseline(argc - 1, argv + 1);
	fprintf(stderr, "%s: unknown command '%s'\n", prog, argv[1]);
	usage(stderr);
	return EXIT_USAGE;
}
