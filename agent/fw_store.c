/* SPDX-License-Identifier: MIT */
/*
 * Firmware trust state (see fw_store.h). Each file is replaced whole with
 * kh_fs_write_atomic (on lwIP a record of the flash store). The counter
 * file is one line
 *
 *   khien-fw-counter 1 COUNTER EPOCH SHA256
 *
 * where SHA256 (hex) covers the text before it: a torn, edited or bit-rotten
 * file does not check out. The checksum guards against accident, not
 * against root, who could write a matching one (root on the device can
 * flash anything anyway). A missing file is counter 0 on a device that
 * never committed an image, and corrupt on one that did: deleting the file
 * must not undo anti-rollback. A running manifest that no longer verifies
 * (its keys were rotated out) is not believed, but still says a commit
 * happened.
 *
 * A corrupt counter draws a random reset nonce (kept in reset-nonce until
 * a reset succeeds, so a restart keeps it): the ISP's root-signed reset
 * must name it. A reset is taken only while the counter is corrupt and
 * only with this unit's nonce, so one issued for one device cannot lower
 * the counter of another of the same board, nor this one's again.
 */
#define _POSIX_C_SOURCE 200809L
#define KH_FW_STORE_IMPL /* the module itself: its real declarations, whatever Kconfig says */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "agent/fw_store.h"
#include "lib/err.h"
#include "lib/hex.h"
#include "lib/jsonnum.h"
#include "lib/log.h"
#include "lib/str.h"
#include "platform/fs.h"
#include "platform/rand.h"

#define PATH_LEN 512
#define COUNTER_TAG "khien-fw-counter 1"

struct kh_fw_store {
	char counter_path[PATH_LEN], manifest_path[PATH_LEN], nonce_path[PATH_LEN];
	char nonce[KH_FW_NONCE_HEX + 1]; /* while corrupt: what a reset must name */
	const struct kh_root *root;
	char hwid[KH_HWID_MAX + 1];
	int has_hwid;
	uint64_t counter, epoch;
	int corrupt;
	char problem[PATH_LEN + 64];
	char *manifest; /* installed manifest text, or NULL */
	struct kh_fw_manifest m;
};

static void counter_line(uint64_t counter, uint64_t epoch, char *out, size_t cap)
{
	char body[80], hex[65];
	uint8_t d[KH_SHA256_LEN];

	snprintf(body, sizeof(body), COUNTER_TAG " %llu %llu", (unsigned long long)counter,
		 (unsigned long long)epoch);
	kh_sha256(body, strlen(body), d);
	kh_hex_encode(d, sizeof(d), hex);
	snprintf(out, cap, "%s %s\n", body, hex);
}

/* 0 and the numbers when text is exactly what counter_line writes, else -EBADMSG. */
static int counter_parse(const char *text, uint64_t *counter, uint64_t *epoch)
{
	unsigned long long c, e;
	char want[160];

	if (sscanf(text, COUNTER_TAG " %llu %llu ", &c, &e) != 2 || c > KH_JSON_INT_MAX ||
	    e > KH_JSON_INT_MAX)
		return -EBADMSG;
	counter_line(c, e, want, sizeof(want));
	if (strcmp(text, want) != 0)
		return -EBADMSG;
	*counter = c;
	*epoch = e;
	return 0;
}

static int counter_write(struct kh_fw_store *s, uint64_t counter, uint64_t epoch, char *why,
			 size_t whylen)
{
	char line[160];
	int err;

	counter_line(counter, epoch, line, sizeof(line));
	if ((err = kh_fs_write_atomic(s->counter_path, line, strlen(line), 0644)) < 0) {
		snprintf(why, whylen, "cannot write %s: %s (the counter is unchanged)",
			 s->counter_path, kh_strerror(err));
		return err;
	}
	s->counter = counter;
	s->epoch = epoch;
	s->corrupt = 0;
	s->problem[0] = 0;
	s->nonce[0] = 0;
	kh_fs_remove(s->nonce_path);
	return 0;
}

/* The corrupt counter's reset nonce: the stored one, else a new one (kept). */
static void nonce_load(struct kh_fw_store *s)
{
	uint8_t raw[KH_FW_NONCE_HEX / 2], *buf;
	size_t len;
	int err;

	if (kh_fs_read(s->nonce_path, 64, &buf, &len) == 0) {
		if (len == KH_FW_NONCE_HEX + 1 && buf[KH_FW_NONCE_HEX] == '\n' &&
		    strspn((char *)buf, "0123456789abcdef") == KH_FW_NONCE_HEX) {
			memcpy(s->nonce, buf, KH_FW_NONCE_HEX);
			s->nonce[KH_FW_NONCE_HEX] = 0;
			free(buf);
			return;
		}
		free(buf);
	}
	if (kh_rand_bytes(raw, sizeof(raw)) < 0) {
		s->nonce[0] = 0; /* no reset can match: better than a guessable one */
		return;
	}
	kh_hex_encode(raw, sizeof(raw), s->nonce);
	s->nonce[KH_FW_NONCE_HEX] = '\n';
	if ((err = kh_fs_write_atomic(s->nonce_path, s->nonce, KH_FW_NONCE_HEX + 1, 0644)) < 0)
		log_error("firmware: cannot keep the reset nonce in %s: %s (a restart draws "
			  "another)",
			  s->nonce_path, kh_strerror(err));
	s->nonce[KH_FW_NONCE_HEX] = 0;
}

int kh_fw_store_open(const char *state_dir, const struct kh_root *root, const char *hwid,
		     struct kh_fw_store **out)
{
	struct kh_fw_store *s = calloc(1, sizeof(*s));
	char dir[PATH_LEN - 16], why[320];
	uint8_t *buf;
	size_t len;
	int err, committed;

	if (!s)
		return -ENOMEM;
	s->root = root;
	if (hwid && *hwid) {
		kh_strlcpy(s->hwid, hwid, sizeof(s->hwid));
		s->has_hwid = 1;
	}
	snprintf(dir, sizeof(dir), "%.400s/firmware", state_dir);
	snprintf(s->counter_path, sizeof(s->counter_path), "%s/counter", dir);
	snprintf(s->manifest_path, sizeof(s->manifest_path), "%s/manifest", dir);
	snprintf(s->nonce_path, sizeof(s->nonce_path), "%s/reset-nonce", dir);
	if ((err = kh_fs_mkdir_p(dir, 0755)) < 0) {
		free(s);
		return err;
	}
	/* the running image's manifest: believed only if it still verifies */
	err = kh_fs_read(s->manifest_path, KH_FW_MANIFEST_MAX, &buf, &len);
	committed = err != -ENOENT; /* whether it verifies or not, an image was committed */
	if (err == 0) {
		if (root &&
		    kh_fw_manifest_verify((char *)buf, len, root, &s->m, why, sizeof(why)) == 0)
			s->manifest = (char *)buf;
		else {
			log_error("firmware: %s does not verify (%s); no running manifest",
				  s->manifest_path, root ? why : "no trust root");
			free(buf);
		}
	}
	err = kh_fs_read(s->counter_path, 256, &buf, &len);
	if (err == 0) {
		if (counter_parse((char *)buf, &s->counter, &s->epoch) < 0) {
			s->corrupt = 1;
			snprintf(s->problem, sizeof(s->problem),
				 "%s is corrupt (checksum or format)", s->counter_path);
		}
		free(buf);
	} else if (err != -ENOENT || committed) {
		s->corrupt = 1;
		snprintf(s->problem, sizeof(s->problem), "%s: %s", s->counter_path,
			 err == -ENOENT ? "missing, but an image was committed" : kh_strerror(err));
	}
	if (s->corrupt) {
		nonce_load(s);
		log_error("firmware: security counter %s; every image is refused until a "
			  "root-signed reset naming nonce %s (khienctl firmware reset)",
			  s->problem, s->nonce);
	}
	*out = s;
	return 0;
}

void kh_fw_store_free(struct kh_fw_store *s)
{
	if (!s)
		return;
	free(s->manifest);
	free(s);
}

int kh_fw_store_check(struct kh_fw_store *s, const char *text, size_t len, struct kh_fw_manifest *m,
		      char *why, size_t whylen)
{
	int err;

	if (!s->root) {
		snprintf(why, whylen,
			 "signature: no trust root on this device (signed policy is "
			 "not set up)");
		return -ENOENT;
	}
	if ((err = kh_fw_manifest_verify(text, len, s->root, m, why, whylen)) < 0)
		return err;
	/* images name their boards: a device that cannot say which it is takes none */
	if (!s->has_hwid) {
		snprintf(why, whylen,
			 "hardware: this device has no hardware id (policy.hardware_id, "
			 "--hardware-id)");
		return -EPERM;
	}
	if (s->corrupt) {
		snprintf(why, whylen,
			 "counter: the stored security counter is corrupt (%s); images are "
			 "refused until a root-signed reset",
			 s->problem);
		return -EIO;
	}
	return kh_fw_manifest_allowed(m, s->hwid, s->counter, why, whylen);
}

int kh_fw_store_commit(struct kh_fw_store *s, const char *text, size_t len, char *why,
		       size_t whylen)
{
	struct kh_fw_manifest m;
	char *copy;
	int err;

	if ((err = kh_fw_store_check(s, text, len, &m, why, whylen)) < 0)
		return err;
	if (!(copy = malloc(len + 1)))
		return -ENOMEM;
	memcpy(copy, text, len);
	copy[len] = 0;
	/* the counter first: a crash between the two leaves the floor raised, never lowered */
	if ((err = counter_write(s, m.counter > s->counter ? m.counter : s->counter, s->epoch, why,
				 whylen)) < 0)
		goto fail;
	if ((err = kh_fs_write_atomic(s->manifest_path, text, len, 0644)) < 0) {
		snprintf(why, whylen, "cannot write %s: %s", s->manifest_path, kh_strerror(err));
		goto fail;
	}
	free(s->manifest);
	s->manifest = copy;
	s->m = m;
	snprintf(why, whylen, "committed version %s, security counter %llu", m.version,
		 (unsigned long long)s->counter);
	return 0;
fail:
	free(copy);
	return err;
}

int kh_fw_store_reset(struct kh_fw_store *s, const char *text, size_t len, char *why, size_t whylen)
{
	struct kh_fw_reset r;
	int err, match = 0;

	if (!s->root) {
		snprintf(why, whylen, "signature: no trust root on this device");
		return -ENOENT;
	}
	if ((err = kh_fw_reset_verify(text, len, s->root, &r, why, whylen)) < 0)
		return err;
	for (unsigned i = 0; s->has_hwid && i < r.nhw; i++)
		match |= strcmp(r.hw[i], s->hwid) == 0;
	if (!match) {
		snprintf(why, whylen, "hardware: the reset is for %s, this device is %s", r.hw[0],
			 s->has_hwid ? s->hwid : "without a hardware id");
		return -EPERM;
	}
	/* a healthy counter is never lowered, whatever the signatures */
	if (!s->corrupt) {
		snprintf(why, whylen,
			 "rollback: the security counter (%llu) is not corrupt; a reset only "
			 "repairs a corrupt one",
			 (unsigned long long)s->counter);
		return -ESTALE;
	}
	/* this unit's corruption, once: a reset for another device or an old one fails */
	if (!s->nonce[0] || !kh_ct_memeq(r.nonce, s->nonce, KH_FW_NONCE_HEX)) {
		snprintf(why, whylen,
			 "nonce: the reset names %.32s, this device's is %s (a reset is for "
			 "one device and one corruption)",
			 r.nonce, s->nonce[0] ? s->nonce : "unavailable");
		return -EPERM;
	}
	if ((err = counter_write(s, r.counter, r.epoch, why, whylen)) < 0)
		return err;
	snprintf(why, whylen, "security counter reset to %llu (epoch %llu)",
		 (unsigned long long)r.counter, (unsigned long long)r.epoch);
	return 0;
}

void kh_fw_store_status(const struct kh_fw_store *s, cJSON *out)
{
	kh_json_add_uint(out, "counter", s->counter);
	kh_json_add_uint(out, "epoch", s->epoch);
	cJSON_AddBoolToObject(out, "corrupt", s->corrupt);
	if (s->corrupt && s->nonce[0])
		cJSON_AddStringToObject(out, "reset_nonce", s->nonce);
	if (s->problem[0])
		cJSON_AddStringToObject(out, "problem", s->problem);
	if (s->manifest) {
		cJSON *i = cJSON_AddObjectToObject(out, "installed");
		cJSON_AddStringToObject(i, "version", s->m.version);
		kh_json_add_uint(i, "security_counter", s->m.counter);
		cJSON_AddStringToObject(out, "manifest", s->manifest);
	}
}
