/* SPDX-License-Identifier: MIT */
/*
 * Audit rules on the ISP side: JSON (docs/AUDIT.md) compiled into the
 * binary form the device decodes (policy/audit_priv.h), and regular
 * expressions into the device's programs.
 */
#ifndef KHIEN_TOOLS_AUDIT_JSON_H
#define KHIEN_TOOLS_AUDIT_JSON_H

#include <stddef.h>
#include <stdint.h>

/*
 * Validate rules text and compile it into a new buffer *bin (free()). The
 * same rules give the same bytes however the JSON is written. On error
 * returns -EBADMSG (-ENOMEM, -E2BIG) and writes where and why to err:
 * "line L, column C: ..." for JSON syntax, a JSON path
 * ("checks[3].rules[0].mode_max: expected ...") for content.
 */
int kh_audit_compile_json(const char *text, size_t len, uint8_t **bin, size_t *binlen, char *err,
			  size_t errlen);

/*
 * Compile a POSIX extended regular expression into a device program
 * (policy/audit_re.c) in a new buffer; -1 with the reason in why.
 */
int kh_re_compile(const char *pattern, uint8_t **prog, size_t *len, char *why, size_t whylen);

#endif
