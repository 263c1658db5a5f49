/* SPDX-License-Identifier: MIT */
/* Text for the negative-errno return convention (see err.h). */
#include <string.h>

#include "lib/err.h"

const char *kh_strerror(int err)
{
	if (err < 0)
		err = -err;
	switch (err) {
	case EBADMSG:
		return "malformed or corrupt data";
	case E2BIG:
		return "over a hard limit";
	default:
		return strerror(err);
	}
}
