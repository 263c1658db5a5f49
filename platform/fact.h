/* SPDX-License-Identifier: MIT */
/*
 * Facts a board reports about itself, for the audit's "fact" rules on
 * gateways without a file system to inspect (lwIP): e.g.
 * "admin_password_default" ("0"/"1"), "firmware_version", "telnet".
 * Names are [a-z0-9_-]; values are short strings.
 */
#ifndef KHIEN_PLATFORM_FACT_H
#define KHIEN_PLATFORM_FACT_H

/* The value of fact name, or NULL if the board does not report it. */
const char *kh_fact_get(const char *name);

#endif
