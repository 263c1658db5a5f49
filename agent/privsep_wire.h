/* SPDX-License-Identifier: MIT */
/*
 * Messages between khiend's engine (child) and the trust-state owner
 * (parent) on their private socketpair. Each message is an 8-byte header
 * followed by its body:
 *
 *   offset 0  u32 LE  type (KH_PRIV_*)
 *   offset 4  u32 LE  body length in bytes
 *
 * Requests go child -> parent, one at a time; every request gets exactly
 * one reply (type | KH_PRIV_REPLY) whose body is a JSON object:
 *   {"rc": 0 or -errno, "why": "...", "view": {...}}
 * The parent reads a request body only up to the limit of its type and
 * parses nothing in it but signed documents: a bundle's envelope (canonical JSON,
 * bounded, fuzzed by tests/fuzz/bundle) is parsed to find the signatures
 * and the signed manifest, which is believed only once a threshold of
 * signatures verifies; a firmware manifest or counter reset
 * (firmware/manifest.h, bounded, fuzzed by tests/fuzz/fw_manifest), whose
 * signatures it checks itself (agent/fw_store.h); the process requests
 * (KH_PRIV_PROCS, KH_PRIV_KILL) are fixed-size binary bodies of
 * exactly their length (any other is refused). A malformed header, an
 * unknown type or an oversized body ends the child.
 */
#ifndef KHIEN_AGENT_PRIVSEP_WIRE_H
#define KHIEN_AGENT_PRIVSEP_WIRE_H

#define KH_PRIV_HDR_LEN 8u
#define KH_PRIV_REPLY 0x80000000u
/* body: a signed policy bundle, at most CONFIG_POLICY_MAX_BUNDLE_MB MiB */
#define KH_PRIV_APPLY 1u
/* body: empty; the reply carries the current view */
#define KH_PRIV_VIEW 2u
/* body: a firmware manifest (at most KH_FW_MANIFEST_MAX): may it be flashed? */
#define KH_PRIV_FW_CHECK 3u
/* body: the manifest of the image that booted: raise the counter, install it */
#define KH_PRIV_FW_COMMIT 4u
/* body: a root-signed security-counter reset */
#define KH_PRIV_FW_RESET 5u
/*
 * body: exactly 4 bytes, u32 LE pid: list the processes above it not of the
 * daemon's user (platform/proc.h: pid, uid, comm, exe link, deleted,
 * read-only, identity), at most KH_PROC_LIST_MAX; reply adds
 * "procs": [{"pid", "uid", "comm", "exe", "deleted", "ro", "id"}]
 * ("id": the executable's device and inode, "DEV:INO" in hex) and
 * "next": the pid to ask after, 0 at the end. Nothing else of a process.
 */
#define KH_PRIV_PROCS 6u
#define KH_PRIV_PROCS_LEN 4u
/*
 * body: exactly 20 bytes, u32 LE pid, u64 LE device, u64 LE inode: stop
 * that process if the active signed baseline sets kill_suspicious and it
 * still runs that executable (kh_proc_kill_checked: pidfd first, never
 * pid 1, khiend or a file of the read-only image).
 */
#define KH_PRIV_KILL 7u
#define KH_PRIV_KILL_LEN 20u
/* replies are small JSON objects (a process list: at most 128 entries of about 400 bytes) */
#define KH_PRIV_REPLY_MAX (128u << 10)

#include <stddef.h>
#include <stdint.h>

/*
 * One framed message on a channel (this header's layout), blocking. The
 * auditor's channel (agent/auditor.c) uses the same framing. kh_chan_recv
 * refuses a body over max (-EMSGSIZE); *body is NUL-terminated and freed
 * by the caller.
 */
int kh_chan_send(int chan, uint32_t type, const void *body, size_t len);
int kh_chan_recv(int chan, size_t max, uint32_t *type, uint8_t **body, size_t *len);

#endif
