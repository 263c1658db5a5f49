/* SPDX-License-Identifier: MIT */
/*
 * Error convention: functions return 0 (or a count) on success and a
 * negative errno value on failure (-EINVAL, -ENOMEM, -EBADMSG for corrupt
 * input, -E2BIG for limits exceeded, ...). errno values exist on every C
 * toolchain we target, newlib and lwIP's included, so no private table is
 * needed. kh_strerror() turns one back into text.
 */
#ifndef KHIEN_LIB_ERR_H
#define KHIEN_LIB_ERR_H

#include <errno.h>

/* Text for a negative (or positive) errno value; never NULL. */
const char *kh_strerror(int err);

#endif
