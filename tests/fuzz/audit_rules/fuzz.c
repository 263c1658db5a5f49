/* SPDX-License-Identifier: MIT */
/*
 * Fuzz the audit rules parser and evaluator. Oracles: accepted rules have
 * a canonical form that parses again to the same canonical bytes, and
 * every check gets exactly one outcome when evaluated (against board facts
 * derived from the input, with no file system).
 */
#include <stdlib.h>
#include <string.h>

#include "policy/audit.h"
#include "tools/khien-policy/audit_canon.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *fact(void *ctx, const char *name)
{
	const char *s = ctx;
	return strlen(name) % 3 ? s : NULL; /* some facts reported, some not */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kh_audit_policy *p, *again;
	struct kh_audit_run *run;
	char err[256], *canon, *canon2;
	int n;

	if (size > 65536)
		return 0;
	if (kh_audit_parse((const char *)data, size, &p, err, sizeof(err)) < 0) {
		if (!err[0] || strlen(err) >= sizeof(err))
			abort(); /* every refusal says why */
		return 0;
	}
	canon = kh_audit_canonical(p);
	if (!canon || kh_audit_parse(canon, strlen(canon), &again, err, sizeof(err)) < 0)
		abort();
	canon2 = kh_audit_canonical(again);
	if (!canon2 || strcmp(canon, canon2) != 0)
		abort();
	static char one[] = "1";
	struct kh_audit_src src = {.root = NULL, .fact = fact, .fact_ctx = one};
	run = kh_audit_start(p, &src);
	if (run) {
		const struct kh_audit_outcome *o;
		while (kh_audit_step(run, 3))
			;
		o = kh_audit_outcomes(run, &n);
		if (n != p->nchecks)
			abort();
		for (int i = 0; i < n; i++)
			if (o[i].check != &p->checks[i] || (unsigned)o[i].result > KH_AUDIT_ERROR ||
			    strlen(o[i].evidence) >= sizeof(o[i].evidence))
				abort();
		kh_audit_end(run);
	}
	free(canon);
	free(canon2);
	kh_audit_free(again);
	kh_audit_free(p);
	return 0;
}
