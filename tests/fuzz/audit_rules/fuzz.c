/* SPDX-License-Identifier: MIT */
/*
 * Fuzz the audit rules: the JSON compiler (ISP side), the binary decoder
 * (the device) and the evaluator. An input starting with the binary
 * form's magic is decoded as is; any other is compiled as JSON. Oracles:
 * every refusal says why; compiled rules decode, and compile again to the
 * same bytes; corrupted copies of them are decoded without a crash; every
 * check of decoded rules gets exactly one outcome when evaluated (against
 * board facts derived from the input, with no file system).
 */
#include <stdlib.h>
#include <string.h>

#include "policy/audit_priv.h"
#include "tools/khien-policy/audit_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *fact(void *ctx, const char *name)
{
	const char *s = ctx;
	return strlen(name) % 3 ? s : NULL; /* some facts reported, some not */
}

static void evaluate(const struct kh_audit_policy *p)
{
	static char one[] = "1";
	struct kh_audit_src src = {.root = NULL, .fact = fact, .fact_ctx = one};
	struct kh_audit_run *run = kh_audit_start(p, &src);
	const struct kh_audit_outcome *o;
	int n;

	if (!run)
		return;
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

/* Decode (a copy of) bin: refused with a reason, or evaluated. */
static int decode(const uint8_t *bin, size_t len)
{
	struct kh_audit_policy *p;
	char err[256] = "";
	uint8_t *copy = malloc(len ? len : 1);

	if (!copy)
		return -1;
	memcpy(copy, bin, len); /* exact size: ASan sees any read past the end */
	if (kh_audit_decode(copy, len, copy, &p, err, sizeof(err)) < 0) {
		if (!err[0])
			abort(); /* every refusal says why */
		return -1;
	}
	evaluate(p);
	kh_audit_free(p);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *bin, *again;
	size_t len, len2;
	char err[256] = "";

	if (size > 65536)
		return 0;
	if (size >= 4 && memcmp(data, KH_AUDIT_MAGIC, 4) == 0) {
		decode(data, size);
		return 0;
	}
	if (kh_audit_compile_json((const char *)data, size, &bin, &len, err, sizeof(err)) < 0) {
		if (!err[0] || strlen(err) >= sizeof(err))
			abort();
		return 0;
	}
	if (decode(bin, len) < 0)
		abort(); /* what the tool writes, the device takes */
	if (kh_audit_compile_json((const char *)data, size, &again, &len2, err, sizeof(err)) < 0 ||
	    len2 != len || memcmp(bin, again, len) != 0)
		abort();
	free(again);
	/* the decoder against damage at places the input picks */
	for (size_t k = 0; k < 8 && size; k++) {
		size_t at = (k * 131 + data[k % size]) % len;
		uint8_t was = bin[at];
		bin[at] ^= (uint8_t)(data[(k + 1) % size] | 1);
		decode(bin, len);
		bin[at] = was;
	}
	free(bin);
	return 0;
}
