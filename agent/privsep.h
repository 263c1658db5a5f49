/* SPDX-License-Identifier: MIT */
/*
 * The owner of the trust state, and the only way the rest of the agent
 * reaches it. On Linux khiend runs as two processes (OpenBSD privsep): the
 * parent keeps write access to the trust state (root, policy slots,
 * floors) and does nothing but verify and apply the signed bundles the
 * child hands it; the child drops privileges and runs the event loop that
 * parses the network. The lwIP build has one loop and one address space:
 * the same calls then go to the policy store directly.
 *
 * The agent sees the policy through a view (version, root version, status,
 * component paths) that the owner sends after every change, so the child
 * never reads the store's bookkeeping itself.
 */
#ifndef KHIEN_AGENT_PRIVSEP_H
#define KHIEN_AGENT_PRIVSEP_H

#include <stddef.h>
#include <stdint.h>

struct kh_policy;
struct kh_fw_store;
struct kh_priv;
struct cJSON;

/*
 * Own policy (may be NULL: signed policy is not set up) in this process.
 * Takes ownership of policy; kh_priv_free() frees it.
 */
int kh_priv_new(struct kh_policy *policy, struct kh_priv **out);
void kh_priv_free(struct kh_priv *pv);

/* Before the split: own the firmware state too (may be NULL: none). Takes ownership. */
void kh_priv_set_firmware(struct kh_priv *pv, struct kh_fw_store *fw);

/*
 * Split into owner and engine. Returns 1 in the parent, which must then
 * call kh_priv_serve() and touch nothing the child uses; 0 in the child,
 * where the calls below go over the channel; -ENOTSUP where the platform
 * has one address space (nothing changes, the calls stay local); other
 * negative errno on failure.
 */
int kh_priv_split(struct kh_priv *pv);

/* Parent: close every descriptor but the channel (the engine's sockets, its files). */
void kh_priv_detach(struct kh_priv *pv);

/*
 * Parent: serve the child's requests until it ends. Returns the child's
 * exit status; a child that breaks the protocol is killed (status 3).
 */
int kh_priv_serve(struct kh_priv *pv);

/*
 * The parent's loop on its own: serve requests arriving on chan until the
 * other end closes (0) or breaks the protocol (negative errno). For
 * harnesses that play the engine; kh_priv_serve() runs it on the split's
 * channel.
 */
int kh_priv_serve_channel(struct kh_priv *pv, int chan);

/* Before the split: the store's slot directories (NULL when there is no store). */
void kh_priv_slot_dirs(const struct kh_priv *pv, const char *dirs[2]);

/* 1 if signed policy is set up (a store with a trusted root). */
int kh_priv_has_policy(const struct kh_priv *pv);

/*
 * Verify and apply a bundle (data, len): the one path every bundle takes.
 * On failure nothing changes; why says what happened either way.
 */
int kh_priv_apply(struct kh_priv *pv, const uint8_t *data, size_t len, char *why, size_t whylen);

/* Path of a component of the active policy, or NULL. Valid until the next apply. */
const char *kh_priv_component(const struct kh_priv *pv, const char *name);
uint64_t kh_priv_version(const struct kh_priv *pv);
uint64_t kh_priv_root_version(const struct kh_priv *pv);
/*
 * Firmware requests (agent/fw_store.h), each verified by the owner itself:
 * type is KH_PRIV_FW_CHECK, _COMMIT or _RESET, doc the manifest or reset
 * text. 0 or negative errno, why saying what happened either way.
 */
int kh_priv_firmware(struct kh_priv *pv, uint32_t type, const char *doc, size_t len, char *why,
		     size_t whylen);
/*
 * The owner's firmware status (counter, epoch, corrupt, installed, manifest
 * text), as of the last reply; refresh with kh_priv_status(). NULL if none.
 */
const struct cJSON *kh_priv_firmware_status(const struct kh_priv *pv);

/*
 * Before the split: the daemon's user, whose processes the engine's
 * auditor sees itself; kh_priv_procs() lists the others.
 */
void kh_priv_set_user_uid(struct kh_priv *pv, uint32_t uid);
/*
 * The owner's list of the processes above pid after that are not the
 * daemon's user's (platform/proc.h), at most max; *next as kh_proc_list.
 * 0 or negative errno.
 */
struct kh_proc_info;
int kh_priv_procs(struct kh_priv *pv, long after, struct kh_proc_info *out, unsigned max,
		  unsigned *n, long *next);
/*
 * Ask the owner to stop pid if it still runs the executable (dev, ino) and
 * the signed baseline allows it (kill_suspicious). 0 or negative errno, why.
 */
int kh_priv_kill(struct kh_priv *pv, long pid, uint64_t dev, uint64_t ino, char *why,
		 size_t whylen);

/* Ask the owner for its current view (policy and firmware status). */
void kh_priv_refresh(struct kh_priv *pv);
/* The store's "policy" status object, into out, as of now (asks the owner). */
void kh_priv_status(struct kh_priv *pv, struct cJSON *out);

#endif
