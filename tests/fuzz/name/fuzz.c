/* SPDX-License-Identifier: MIT */
/*
 * Fuzz name canonicalisation and the UTF-8/Punycode path. Oracle: any name
 * accepted is canonical (canonicalising it again changes nothing).
 */
#include <stdlib.h>
#include <string.h>

#include "tools/khien-policy/punycode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char out[KH_NAME_MAX + 1], again[KH_NAME_MAX + 1];
	size_t n, n2;

	if (size > 4096)
		return 0;
	if (kh_name_from_text((const char *)data, size, out, &n, NULL) == KH_NAME_OK) {
		if (kh_name_canon(out, n, again, &n2, NULL) != KH_NAME_OK || n2 != n ||
		    memcmp(out, again, n) != 0 || strlen(out) != n)
			abort();
	}
	return 0;
}
