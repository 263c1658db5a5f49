/* SPDX-License-Identifier: MIT */
/*
 * The engine's firmware checks (docs/FIRMWARE.md): candidate images for
 * `khienctl firmware verify` (the sysupgrade pre-check), commits and
 * counter resets handed to the trust-state owner (agent/privsep.h, which
 * verifies every signature itself), and the running image, re-hashed from
 * firmware.partition against the installed manifest at start and every
 * firmware.interval_s; a mismatch is a critical `firmware_mismatch` event.
 *
 * Hashing runs on the event loop in slices of KH_AGENT_FW_SLICE bytes, so
 * a 64 MB image never holds DNS up for more than one slice's hashing.
 */
#ifndef KHIEN_AGENT_FIRMWARE_H
#define KHIEN_AGENT_FIRMWARE_H

#include <stdint.h>

#include "lib/compiler.h"

struct kh_loop;
struct kh_priv;
struct kh_events;
struct kh_agent_fw;
struct cJSON;

#define KH_AGENT_FW_SLICE (256u * 1024)

struct kh_agent_fw_cfg {
	struct kh_loop *loop;
	struct kh_priv *priv;	  /* the trust-state owner (firmware status, requests) */
	struct kh_events *events; /* firmware_mismatch goes here */
	int partition_fd;	  /* the running image, opened read-only by root; -1: none */
	const char *partition;	  /* its name, for messages */
	const char *part;	  /* manifest part the partition holds; NULL or "": whole image */
	uint32_t interval_s;	  /* between running-image checks; 0: at start and commit only */
};

/* Start (the first running-image check is scheduled at once). Takes partition_fd. */
#if IS_ENABLED(CONFIG_FIRMWARE) || defined(KH_AGENT_FW_IMPL)
int kh_agent_fw_new(const struct kh_agent_fw_cfg *c, struct kh_agent_fw **out);
void kh_agent_fw_free(struct kh_agent_fw *f);

/*
 * Control commands: "firmware-verify" (fd[0] the image, fd[1] the
 * manifest; answers at once with a job id, the result comes in
 * "firmware-status"), "firmware-commit" (fd[0] the manifest),
 * "firmware-reset" (fd[0] the reset), "firmware-status". Returns 1 when
 * cmd is one of them (resp filled, a kept descriptor set to -1), else 0.
 */
int kh_agent_fw_control(struct kh_agent_fw *f, const char *cmd, int fd[2], struct cJSON *resp);

/* Status object: counter, installed manifest, running image, last verification. */
void kh_agent_fw_status(struct kh_agent_fw *f, struct cJSON *out);

/*
 * For the check-in: with a firmware.partition, "firmware_state" (verified,
 * mismatch, unavailable, unchecked), and once verified the running image's
 * "firmware_version" and "firmware_counter".
 */
void kh_agent_fw_report(struct kh_agent_fw *f, struct cJSON *out);

#else /* built without CONFIG_FIRMWARE: no object is ever made, and callers need no #if */

static inline int kh_agent_fw_new(const struct kh_agent_fw_cfg *c, struct kh_agent_fw **out)
{
	(void)c;
	*out = NULL;
	return 0;
}
static inline void kh_agent_fw_free(struct kh_agent_fw *f)
{
	(void)f;
}
static inline int kh_agent_fw_control(struct kh_agent_fw *f, const char *cmd, int fd[2],
				      struct cJSON *resp)
{
	(void)f, (void)cmd, (void)fd, (void)resp;
	return 0;
}
static inline void kh_agent_fw_status(struct kh_agent_fw *f, struct cJSON *out)
{
	(void)f, (void)out;
}
static inline void kh_agent_fw_report(struct kh_agent_fw *f, struct cJSON *out)
{
	(void)f, (void)out;
}

#endif

#endif
