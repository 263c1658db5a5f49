/* SPDX-License-Identifier: MIT */
/*
 * The auditor process (agent/auditor.c): evaluates audit rules with read
 * access to every file and nothing else, for an engine that has dropped
 * its privileges.
 */
#ifndef KHIEN_AGENT_AUDITOR_H
#define KHIEN_AGENT_AUDITOR_H

#include <stddef.h>
#include <stdint.h>

#define KH_AUDITOR_RUN 1u
#define KH_AUDITOR_INTEGRITY 2u /* a baseline scan (agent/integrity.c) */
#define KH_AUDITOR_REPLY_MAX (512u << 10)
#define KH_AUDITOR_PATH_MAX 1024 /* the audit root, a slot directory */

/*
 * Fork the auditor (from the root process, before the engine splits off)
 * to audit root with the rules found in the policy store's slot
 * directories slots[0..1] (their "audit" component). Both are fixed here:
 * the engine only says which slot to run, so a compromised engine can
 * neither choose what is read nor write its own rules. In this process: 0,
 * with the channel in *chan and the child in *pid; the child never
 * returns. -ENOTSUP where there is one address space.
 */
int kh_auditor_spawn(const char *user, const char *root, const char *const slots[2], int *chan,
		     long *pid);

/*
 * Evaluate rules against root in one go: the reply (see agent/auditor.c)
 * in a new buffer of *outlen bytes, NULL when out of memory. free() it.
 */
uint8_t *kh_auditor_evaluate(const char *root, const uint8_t *rules, size_t len, unsigned slice,
			     size_t *outlen);
/* An error reply saying why (at most 511 bytes of it), as above. */
uint8_t *kh_auditor_error(const char *why, size_t *outlen);

#endif
