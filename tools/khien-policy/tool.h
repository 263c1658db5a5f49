/* SPDX-License-Identifier: MIT */
/* khien-policy subcommands implemented outside khien_policy.c (signed policy). */
#ifndef KHIEN_POLICY_TOOL_H
#define KHIEN_POLICY_TOOL_H

#include <stddef.h>
#include <stdint.h>

struct kh_pubkey;
struct kh_ecdsa_priv;

int kh_tool_keygen(int argc, char **argv);
int kh_tool_root(int argc, char **argv);
int kh_tool_bundle(int argc, char **argv);
int kh_tool_verify(int argc, char **argv);
int kh_tool_audit(int argc, char **argv);
/* firmware sign|verify|reset (tool_firmware.c), and mcuboot-verify through it. */
int kh_tool_firmware(int argc, char **argv);
/* firmware mcuboot-verify (tool_mcuboot.c); argv[0] is "mcuboot-verify". */
int kh_tool_mcuboot_verify(int argc, char **argv);
/* Read a file (at most 256 MiB) into a heap buffer; prints why on failure. 0 or negative errno. */
int kh_tool_read_text(const char *path, char **out, size_t *len);
/* Load a key file (priv may be NULL: public only); prints why on failure. */
int kh_tool_load_key(const char *path, struct kh_pubkey *pub, struct kh_ecdsa_priv *priv);
/* baseline (tool_baseline.c): record a rootfs's watched files. */
int kh_tool_baseline(int argc, char **argv);
/*
 * A decimal whole number in [min, max] for option opt; otherwise prints
 * "khien-policy: OPT: expected a whole number from MIN to MAX, got 'S'" and
 * returns -EINVAL.
 */
int kh_tool_parse_uint(const char *opt, const char *s, uint64_t min, uint64_t max, uint64_t *out);

#endif
