/* SPDX-License-Identifier: MIT */
/*
 * Fuzz the time-zone parsers (lib/tz.c): the input as a TZif file and as
 * a POSIX TZ string, then offsets at a spread of instants. Oracle: never
 * crashes, a refusal says why, offsets stay within +-25 h, the kept
 * transitions stay within their bound and ascend.
 */
#include <stdlib.h>
#include <string.h>

#include "lib/tz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void probe(const struct kh_tz *tz)
{
	static const int64_t at[] = {INT64_MIN / 4, -2000000000LL, 0,
				     1767225600LL,  4102444800LL,  INT64_MAX / 4};
	unsigned wday, minute;

	if (tz->ntrans > KH_TZ_MAX_TRANS)
		abort();
	for (unsigned i = 1; i < tz->ntrans; i++)
		if (tz->trans[i] <= tz->trans[i - 1])
			abort();
	for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
		int32_t off = kh_tz_offset(tz, at[i]);
		if (off < -25 * 3600 || off > 25 * 3600)
			abort();
		kh_tz_local(tz, at[i], &wday, &minute);
		if (wday > 6 || minute > 1439)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kh_tz tz;
	const char *why = NULL;

	if (kh_tz_parse_tzif(data, size, &tz, &why) == 0)
		probe(&tz);
	else if (!why)
		abort();
	why = NULL;
	if (kh_tz_parse_posix((const char *)data, size, &tz, &why) == 0)
		probe(&tz);
	else if (!why)
		abort();
	return 0;
}
