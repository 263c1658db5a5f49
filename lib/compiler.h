/* SPDX-License-Identifier: MIT */
/*
 * Compiler and configuration helpers shared by every module: IS_ENABLED()
 * for Kconfig booleans (so disabled code still compiles and is type-checked),
 * array sizes, unused markers and static assertions. Includes the generated
 * autoconf.h so every file sees the same CONFIG_* values.
 */
#ifndef KHIEN_LIB_COMPILER_H
#define KHIEN_LIB_COMPILER_H

#include "generated/autoconf.h"

/*
 * IS_ENABLED(CONFIG_X) is 1 when Kconfig set X to y, else 0, usable in plain
 * C conditions. Same trick as Linux/Zephyr: a defined option expands to 1,
 * which selects the second argument of a helper macro.
 */
#define KH__ARG_PLACEHOLDER_1 0,
#define KH__TAKE_SECOND(ignored, val, ...) val
#define KH__IS_ENABLED3(arg1_or_junk) KH__TAKE_SECOND(arg1_or_junk 1, 0, 0)
#define KH__IS_ENABLED2(val) KH__IS_ENABLED3(KH__ARG_PLACEHOLDER_##val)
#define IS_ENABLED(option) KH__IS_ENABLED2(option)

#define KH_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define KH_UNUSED(x) ((void)(x))
#define KH_STATIC_ASSERT(cond, msg) _Static_assert(cond, msg)
#define KH_MIN(a, b) ((a) < (b) ? (a) : (b))
#define KH_MAX(a, b) ((a) > (b) ? (a) : (b))

#if defined(__GNUC__)
#define KH_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#define KH_LIKELY(x) __builtin_expect(!!(x), 1)
#define KH_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define KH_NORETURN __attribute__((noreturn))
#else
#define KH_PRINTF(fmt, args)
#define KH_LIKELY(x) (x)
#define KH_UNLIKELY(x) (x)
#define KH_NORETURN
#endif

#endif
