/* SPDX-License-Identifier: MIT */
/*
 * khien-policy audit: evaluate audit rules against a directory holding a
 * device's file system (how an ISP checks an image before devices ship),
 * and compile rules into the binary component a bundle signs. check
 * takes JSON (compiled in memory) or a compiled component, and evaluates
 * the decoded binary form either way, with the device's own evaluator.
 *
 * Exit codes: 0 every check passes or is na; 1 a check failed or could not
 * be evaluated; 2 the rules or the arguments are wrong; 3 cannot write.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "lib/jsonnum.h"
#include "platform/fs.h"
#include "platform/fsroot.h"
#include "policy/audit_priv.h"
#include "tools/khien-policy/audit_json.h"
#include "tools/khien-policy/tool.h"

static void audit_usage(FILE *f)
{
	fprintf(f, "usage: khien-policy audit check RULES.json --root DIR [--json]\n"
		   "       khien-policy audit compile RULES.json -o audit.rules\n"
		   "\n"
		   "check    evaluates every check against the file system under DIR (an\n"
		   "         unpacked image or a mounted rootfs; /proc is read from DIR/proc)\n"
		   "         and prints a table, or with --json one object with policy,\n"
		   "         checks and summary. Paths never leave DIR.\n"
		   "         RULES.json may also be a component made by compile.\n"
		   "compile  validates RULES.json and writes the compact binary component the\n"
		   "         device decodes, to sign with:\n"
		   "         khien-policy bundle ... --component audit=audit.rules\n"
		   "\n"
		   "Exit codes: 0 all checks pass or are na, 1 a check failed or is an error,\n"
		   "2 bad rules or arguments (with file:line or the JSON path), 3 cannot write.\n");
}

/*
 * Read rules, JSON or compiled, and decode their binary form; with bin,
 * *bin is that form (the policy points into it: free it after the
 * policy). Prints "FILE: where: why" and returns NULL on error.
 */
static struct kh_audit_policy *load_rules(const char *file, uint8_t **bin, size_t *binlen)
{
	struct kh_audit_policy *p;
	char err[256];
	uint8_t *text, *b;
	size_t len, blen;
	int rc = kh_fs_read(file, KH_AUDIT_MAX_TEXT, &text, &len);

	if (rc < 0) {
		fprintf(stderr, "khien-policy: %s: %s\n", file,
			rc == -E2BIG ? "larger than 1 MiB" : strerror(-rc));
		return NULL;
	}
	if (len >= 4 && memcmp(text, KH_AUDIT_MAGIC, 4) == 0) {
		b = text;
		blen = len;
		rc = 0;
	} else {
		/* the JSON tree is gone before the run starts, as on a device */
		rc = kh_audit_compile_json((const char *)text, len, &b, &blen, err, sizeof(err));
		free(text);
	}
	if (rc == 0 && (rc = kh_audit_decode(b, blen, bin ? NULL : b, &p, err, sizeof(err))) == 0 &&
	    bin) {
		*bin = b;
		*binlen = blen;
	} else if (rc < 0 && bin) {
		free(b);
	}
	if (rc == -ENOMEM)
		snprintf(err, sizeof(err), "out of memory");
	if (rc < 0) {
		fprintf(stderr, "khien-policy: %s: %s\n", file, err);
		return NULL;
	}
	return p;
}

static cJSON *results_json(const struct kh_audit_policy *p, const struct kh_audit_outcome *o, int n)
{
	cJSON *j = cJSON_CreateObject(), *pol = cJSON_AddObjectToObject(j, "policy");
	cJSON *arr = cJSON_AddArrayToObject(j, "checks"), *sum;
	int count[4] = {0};

	cJSON_AddStringToObject(pol, "id", p->id);
	kh_json_add_uint(pol, "version", p->version);
	if (p->title)
		cJSON_AddStringToObject(pol, "title", p->title);
	for (int i = 0; i < n; i++) {
		cJSON *c = cJSON_CreateObject();
		cJSON_AddStringToObject(c, "id", o[i].check->id);
		cJSON_AddStringToObject(c, "result", kh_audit_result_name(o[i].result));
		cJSON_AddStringToObject(c, "severity", kh_severity_name(o[i].check->severity));
		cJSON_AddStringToObject(c, "evidence", o[i].evidence);
		cJSON_AddItemToArray(arr, c);
		count[o[i].result]++;
	}
	sum = cJSON_AddObjectToObject(j, "summary");
	for (int r = 0; r < 4; r++)
		kh_json_add_uint(sum, kh_audit_result_name((enum kh_audit_result)r),
				 (uint64_t)count[r]);
	return j;
}

static int audit_check(int argc, char **argv)
{
	static const struct option opts[] = {{"root", required_argument, 0, 'r'},
					     {"json", no_argument, 0, 'j'},
					     {"help", no_argument, 0, 'h'},
					     {0, 0, 0, 0}};
	const char *root = NULL;
	struct kh_audit_policy *p;
	struct kh_audit_run *run;
	struct kh_fsroot *fr;
	struct kh_audit_src src = {0};
	const struct kh_audit_outcome *o;
	int opt, json = 0, n, rc, failed = 0;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case 'r':
			root = optarg;
			break;
		case 'j':
			json = 1;
			break;
		case 'h':
			audit_usage(stdout);
			return 0;
		default:
			audit_usage(stderr);
			return 2;
		}
	}
	if (optind != argc - 1 || !root) {
		fprintf(stderr, "khien-policy: audit check needs RULES.json and --root DIR\n");
		audit_usage(stderr);
		return 2;
	}
	if ((rc = kh_fsroot_open(root, &fr)) < 0) {
		fprintf(stderr, "khien-policy: --root %s: %s\n", root, strerror(-rc));
		return 2;
	}
	if (!(p = load_rules(argv[optind], NULL, NULL))) {
		kh_fsroot_close(fr);
		return 2;
	}
	src.root = fr;
	run = kh_audit_start(p, &src);
	if (!run) {
		fprintf(stderr, "khien-policy: out of memory\n");
		kh_audit_free(p);
		kh_fsroot_close(fr);
		return 1;
	}
	while (kh_audit_step(run, 256))
		;
	o = kh_audit_outcomes(run, &n);
	for (int i = 0; i < n; i++)
		failed |= o[i].result == KH_AUDIT_FAIL || o[i].result == KH_AUDIT_ERROR;
	if (json) {
		cJSON *j = results_json(p, o, n);
		char *s = cJSON_PrintUnformatted(j);
		printf("%s\n", s ? s : "{}");
		free(s);
		cJSON_Delete(j);
	} else {
		int count[4] = {0};
		printf("%s version %llu%s%s\n", p->id, (unsigned long long)p->version,
		       p->title ? ": " : "", p->title ? p->title : "");
		printf("%-6s %-8s %-32s %s\n", "RESULT", "SEVERITY", "CHECK", "EVIDENCE");
		for (int i = 0; i < n; i++) {
			printf("%-6s %-8s %-32s %s\n", kh_audit_result_name(o[i].result),
			       kh_severity_name(o[i].check->severity), o[i].check->id,
			       o[i].evidence);
			count[o[i].result]++;
		}
		printf("%d checks: %d pass, %d fail, %d na, %d error\n", n, count[0], count[1],
		       count[2], count[3]);
	}
	kh_audit_end(run);
	kh_audit_free(p);
	kh_fsroot_close(fr);
	return failed ? 1 : 0;
}

static int audit_compile(int argc, char **argv)
{
	static const struct option opts[] = {
		{"output", required_argument, 0, 'o'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
	const char *out = NULL;
	struct kh_audit_policy *p;
	uint8_t *s;
	size_t len;
	int opt, rc;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'o':
			out = optarg;
			break;
		case 'h':
			audit_usage(stdout);
			return 0;
		default:
			audit_usage(stderr);
			return 2;
		}
	}
	if (optind != argc - 1 || !out) {
		fprintf(stderr, "khien-policy: audit compile needs RULES.json and -o OUT\n");
		audit_usage(stderr);
		return 2;
	}
	/* written only once the device's decoder has accepted it */
	if (!(p = load_rules(argv[optind], &s, &len)))
		return 2;
	rc = kh_fs_write_atomic(out, s, len, 0644);
	if (rc < 0)
		fprintf(stderr, "khien-policy: %s: %s\n", out, strerror(-rc));
	else
		printf("wrote %s: %s version %llu, %d checks, %zu bytes\n", out, p->id,
		       (unsigned long long)p->version, p->nchecks, len);
	kh_audit_free(p);
	free(s);
	return rc < 0 ? 3 : 0;
}

int kh_tool_audit(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "check") == 0)
		return audit_check(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "compile") == 0)
		return audit_compile(argc - 1, argv + 1);
	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		audit_usage(stdout);
		return 0;
	}
	audit_usage(stderr);
	return 2;
}
