/* SPDX-License-Identifier: MIT */
/* khien-policy subcommands implemented outside khien_policy.c (signed policy). */
#ifndef KHIEN_POLICY_TOOL_H
#define KHIEN_POLICY_TOOL_H

#include <stdint.h>

int kh_tool_keygen(int argc, char **argv);
int kh_tool_root(int argc, char **argv);
int kh_tool_bundle(int argc, char **argv);
int kh_tool_verify(int argc, char **argv);
int kh_tool_audit(int argc, char **argv);
int kh_tool_baseline(int argc, char **argv);
/*
 * A decimal whole number in [min, max] for option opt; otherwise prints
 * "khien-policy: OPT: expected a whole number from MIN to MAX, got 'S'" and
 * returns -EINVAL.
 */
int kh_tool_parse_uint(const char *opt, const char *s, uint64_t min, uint64_t max, uint64_t *out);

#endif
