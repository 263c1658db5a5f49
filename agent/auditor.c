/* SPDX-License-Identifier: MIT */
/*
 * The auditor process (Linux with privilege separation). Audit rules read
 * root-only files (/etc/shadow), which the engine must not be able to read:
 * it parses the network. So the root parent forks this helper before the
 * engine splits off; it runs as the daemon's user with one power kept,
 * reading any file (CAP_DAC_READ_SEARCH), may not fork, and does nothing
 * but evaluate the rules the engine sends and answer with outcomes.
 * Passwords are judged here and only verdicts leave the process.
 *
 * The engine chooses nothing that is read: the audit root and the two
 * policy slots are fixed when the auditor is forked, and the rules are the
 * slot's own "audit" component, which the trust-state owner verified and
 * wrote into a directory only root may write. (Rules from the engine
 * would let a compromised one ask "does /etc/shadow's root line match
 * ^root:\$1\$a" until it had the hash.)
 *
 * Channel messages (agent/privsep_wire.h framing):
 *   engine -> auditor  KH_AUDITOR_RUN: the slot, "0" or "1"
 *   auditor -> engine  KH_AUDITOR_RUN | KH_PRIV_REPLY: 'R', u32 policy
 *                      version, u16 checks (little-endian), then per check
 *                      in the rules' order a result byte and its evidence
 *                      with a NUL; or 'E' and why, with a NUL. The engine
 *                      decoded the same slot's rules, so the order names
 *                      the checks.
 *   engine -> auditor  KH_AUDITOR_INTEGRITY: the slot and the scan, "0f", "1p"
 *                      (f full, p persistence points only): the slot's own
 *                      "baseline" table against the fixed root
 *   auditor -> engine  KH_AUDITOR_INTEGRITY | KH_PRIV_REPLY: JSON
 *                      {"files", "skipped", "scan_us", "drifts": [...]} or {"error": why}
 * The baseline scan hashes what the engine cannot read (/etc/shadow) and
 * sends back only digests' prefixes and modes: no file content leaves.
 */
#define _DEFAULT_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "agent/auditor.h"
#include "agent/integrity.h"
#include "agent/privsep_wire.h"
#include "lib/endian.h"
#include "lib/log.h"
#include "platform/fs.h"
#include "platform/fsroot.h"
#include "platform/proc.h"
#include "firmware/baseline.h"
#include "policy/audit.h"

uint8_t *kh_auditor_error(const char *why, size_t *outlen)
{
	size_t n = strnlen(why, 511);
	uint8_t *out = malloc(n + 2);

	if (out) {
		out[0] = 'E';
		memcpy(out + 1, why, n);
		out[n + 1] = 0;
		*outlen = n + 2;
	}
	return out;
}

uint8_t *kh_auditor_evaluate(const char *root, const uint8_t *rules, size_t len, unsigned slice,
			     size_t *outlen)
{
	struct kh_audit_policy *p = NULL;
	struct kh_audit_run *run = NULL;
	struct kh_fsroot *fr = NULL;
	const struct kh_audit_outcome *o;
	char why[256];
	uint8_t *out = NULL;
	size_t at = 7;
	int n, rc;

	if (!IS_ENABLED(CONFIG_AUDIT)) {
		snprintf(why, sizeof(why), "this khiend is built without the audit (CONFIG_AUDIT)");
		goto fail;
	}
	if ((rc = kh_fsroot_open(root, &fr)) < 0) {
		snprintf(why, sizeof(why), "audit root %s: %s", root, strerror(-rc));
		goto fail;
	}
	if (kh_audit_decode(rules, len, NULL, &p, why, sizeof(why)) < 0)
		goto fail;
	struct kh_audit_src src = {.root = fr};
	if (!(run = kh_audit_start(p, &src))) {
		snprintf(why, sizeof(why), "out of memory");
		goto fail;
	}
	while (kh_audit_step(run, slice))
		;
	o = kh_audit_outcomes(run, &n);
	/* per check: the result byte, at most KH_AUDIT_MAX_EVIDENCE - 1 bytes of evidence, a NUL */
	if (!(out = malloc(7 + (size_t)n * (1 + KH_AUDIT_MAX_EVIDENCE))))
		goto done;
	out[0] = 'R';
	kh_put_le32(out + 1, (uint32_t)p->version);
	kh_put_le16(out + 5, (uint16_t)n);
	for (int i = 0; i < n; i++) {
		size_t e = strlen(o[i].evidence) + 1;
		out[at] = (uint8_t)o[i].result;
		memcpy(out + at + 1, o[i].evidence, e);
		at += 1 + e;
	}
	*outlen = at;
	goto done;
fail:
	out = kh_auditor_error(why, outlen);
done:
	kh_audit_end(run);
	kh_audit_free(p);
	kh_fsroot_close(fr);
	return out;
}

/* A baseline scan of root against the slot's "baseline" table, answered on chan. */
static int integrity(int chan, const char *root, const char *slot, int full)
{
	char path[KH_AUDITOR_PATH_MAX + 16], *out;
	struct kh_fs_map map;
	int rc;

	snprintf(path, sizeof(path), "%s/baseline", slot);
	rc = kh_fs_map(path, KH_BL_MAX_BYTES, &map);
	if (rc < 0) {
		cJSON *j = cJSON_CreateObject();
		char why[KH_AUDITOR_PATH_MAX + 96];
		snprintf(why, sizeof(why), "baseline %s: %s", path, strerror(-rc));
		cJSON_AddStringToObject(j, "error", why);
		out = cJSON_PrintUnformatted(j);
		cJSON_Delete(j);
	} else {
		out = kh_integrity_scan_text(root, map.data, map.len,
					     full ? KH_BL_SCAN_FULL : KH_BL_SCAN_PERSIST);
		kh_fs_unmap(&map);
	}
	rc = out ? kh_chan_send(chan, KH_AUDITOR_INTEGRITY | KH_PRIV_REPLY, out, strlen(out))
		 : -ENOMEM;
	free(out);
	return rc;
}

/* The helper's life: requests until the engine closes the channel. */
static int serve(int chan, const char *root, const char *const slots[2])
{
	for (;;) {
		char path[KH_AUDITOR_PATH_MAX + 16];
		uint32_t type;
		uint8_t *body, *rules, *out;
		size_t len, rlen, olen = 0;
		int rc = kh_chan_recv(chan, 2, &type, &body, &len);

		if (rc == -EPIPE)
			return 0;
		if (rc < 0)
			return 3;
		if (IS_ENABLED(CONFIG_INTEGRITY) && type == KH_AUDITOR_INTEGRITY && len == 2 &&
		    (body[0] == '0' || body[0] == '1') && (body[1] == 'f' || body[1] == 'p') &&
		    slots[body[0] - '0']) {
			rc = integrity(chan, root, slots[body[0] - '0'], body[1] == 'f');
			free(body);
			if (rc < 0)
				return rc == -EPIPE ? 0 : 3;
			continue;
		}
		if (type != KH_AUDITOR_RUN || len != 1 || (body[0] != '0' && body[0] != '1') ||
		    !slots[body[0] - '0']) {
			free(body);
			return 3; /* out of protocol: end rather than guess */
		}
		snprintf(path, sizeof(path), "%s/audit", slots[body[0] - '0']);
		free(body);
		rc = kh_fs_read(path, KH_AUDIT_MAX_TEXT, &rules, &rlen);
		if (rc < 0) {
			char why[KH_AUDITOR_PATH_MAX + 96];
			snprintf(why, sizeof(why), "audit rules %s: %s", path, strerror(-rc));
			out = kh_auditor_error(why, &olen);
		} else {
			out = kh_auditor_evaluate(root, rules, rlen, 256, &olen);
			free(rules);
		}
		rc = out ? kh_chan_send(chan, KH_AUDITOR_RUN | KH_PRIV_REPLY, out, olen) : -ENOMEM;
		free(out);
		if (rc < 0)
			return rc == -EPIPE ? 0 : 3;
	}
}

int kh_auditor_spawn(const char *user, const char *root, const char *const slots[2], int *chan,
		     long *pid)
{
	int rc, err;

	if (strlen(root) > KH_AUDITOR_PATH_MAX ||
	    (slots[0] && strlen(slots[0]) > KH_AUDITOR_PATH_MAX) ||
	    (slots[1] && strlen(slots[1]) > KH_AUDITOR_PATH_MAX))
		return -ENAMETOOLONG;
	rc = kh_proc_fork_helper(chan, pid);
	if (rc != 0)
		return rc < 0 ? rc : 0;
	kh_proc_close_fds_except(*chan);
	err = kh_proc_drop_privileges_keep(user, KH_PROC_KEEP_READ_ALL);
	if (err == 0)
		err = kh_proc_forbid_fork();
	if (err < 0) {
		log_error("auditor: cannot drop privileges to %s: %s", user ? user : "(none)",
			  strerror(-err));
		_Exit(3);
	}
	_Exit(serve(*chan, root, slots));
}
