/* SPDX-License-Identifier: MIT */
/*
 * The device's firmware trust state, kept by the trust-state owner (the
 * root parent on Linux, agent/privsep.h) beside the policy store:
 *
 *   STATE/firmware/counter   the security counter floor and the last reset
 *                            epoch, with a SHA-256 checksum (a file that does
 *                            not check out is corrupt: every image is refused
 *                            until a root-signed reset)
 *   STATE/firmware/manifest  the manifest of the running image (installed by
 *                            a commit; re-verified at every start)
 *
 * Every request is checked here against the trust root's firmware role,
 * whatever the engine already checked: the engine parses the network and
 * is not believed (docs/FIRMWARE.md).
 */
#ifndef KHIEN_AGENT_FW_STORE_H
#define KHIEN_AGENT_FW_STORE_H

#include <stddef.h>
#include <stdint.h>

#include <errno.h>

#include "firmware/manifest.h"
#include "lib/compiler.h"

struct kh_fw_store;
struct cJSON;

/*
 * Open (creating STATE/firmware) with the root to verify against (owned by
 * the policy store, may be NULL: then every request is refused) and this
 * device's hardware id (NULL: none). 0 or negative errno.
 */
#if IS_ENABLED(CONFIG_FIRMWARE) || defined(KH_FW_STORE_IMPL)
int kh_fw_store_open(const char *state_dir, const struct kh_root *root, const char *hwid,
		     struct kh_fw_store **out);
void kh_fw_store_free(struct kh_fw_store *s);

/*
 * Whether manifest text may be flashed here: firmware signatures, hardware,
 * counter at least the stored one (and a stored counter that is not
 * corrupt). Fills m. 0, or negative errno with why ("signature: ...",
 * "hardware: ...", "rollback: ...", "counter: ...").
 */
int kh_fw_store_check(struct kh_fw_store *s, const char *text, size_t len, struct kh_fw_manifest *m,
		      char *why, size_t whylen);

/*
 * The image of manifest text has booted: check it as above, raise the
 * stored counter to its counter (never lower it) and install it as the
 * running image's manifest. 0 or negative errno with why.
 */
int kh_fw_store_commit(struct kh_fw_store *s, const char *text, size_t len, char *why,
		       size_t whylen);

/*
 * A root-signed counter reset (firmware/manifest.h): for this hardware, of
 * an epoch above the stored one (any, when the file is corrupt). Sets the
 * counter and epoch. 0 or negative errno with why.
 */
int kh_fw_store_reset(struct kh_fw_store *s, const char *text, size_t len, char *why,
		      size_t whylen);

/*
 * Status into out: counter, epoch, "corrupt" (bool), "problem", and the
 * installed manifest ("installed": {version, security_counter}, "manifest":
 * its text) when there is one.
 */
void kh_fw_store_status(const struct kh_fw_store *s, struct cJSON *out);

#else /* built without CONFIG_FIRMWARE: no object is ever made, and callers need no #if */

static inline int kh_fw_store_open(const char *state_dir, const struct kh_root *root,
				   const char *hwid, struct kh_fw_store **out)
{
	(void)state_dir, (void)root, (void)hwid;
	*out = NULL;
	return 0;
}
static inline void kh_fw_store_free(struct kh_fw_store *s)
{
	(void)s;
}
static inline int kh_fw_store_check(struct kh_fw_store *s, const char *text, size_t len,
				    struct kh_fw_manifest *m, char *why, size_t whylen)
{
	(void)s, (void)text, (void)len, (void)m, (void)why, (void)whylen;
	return -ENOTSUP;
}
static inline int kh_fw_store_commit(struct kh_fw_store *s, const char *text, size_t len, char *why,
				     size_t whylen)
{
	return kh_fw_store_check(s, text, len, NULL, why, whylen);
}
static inline int kh_fw_store_reset(struct kh_fw_store *s, const char *text, size_t len, char *why,
				    size_t whylen)
{
	return kh_fw_store_check(s, text, len, NULL, why, whylen);
}
static inline void kh_fw_store_status(const struct kh_fw_store *s, struct cJSON *out)
{
	(void)s, (void)out;
}

#endif

#endif
