/* SPDX-License-Identifier: MIT */
/* Canonical audit rules (tools/khien-policy/audit_canon.c). */
#ifndef KHIEN_TOOLS_AUDIT_CANON_H
#define KHIEN_TOOLS_AUDIT_CANON_H

#include "policy/audit.h"

/* The canonical component text (keys sorted, compact) of parsed rules; free() it. */
char *kh_audit_canonical(const struct kh_audit_policy *p);

#endif
