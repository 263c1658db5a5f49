/* SPDX-License-Identifier: MIT */
/* Fuzz the plain IP list parser and everything downstream of it (see list_fuzz.h). */
#include "tools/khien-policy/lists.h"
#define FUZZ_FORMAT KH_FMT_IP
#include "../list_fuzz.h"
