/* SPDX-License-Identifier: MIT */
/*
 * Firmware trust state (see fw_store.h). Each file is replaced whole with
 * kh_fs_write_atomic (on lwIP a record of the flash store). The counter
 * file is one line
 *
 *   khien-fw-counter 1 COUNTER EPOCH SHA256
 *
 * where SHA256 (hex) covers the text before it: a torn, edited or bit-rotten
 * file does not check out. A running manifest that no longer verifies (its
 * keys were rotated out) is not believed, but still says a commit happened. It guards against accident, not against root,
 * who could write a matching checksum; root on the device can flash
 * anything anyway. A missing file is counter 0 on a device that never
 * committed an image, and corrupt on one that did (deleting the file must
 * not undo anti-rollback).
 */
#define _POSIX_C_SOURCE 200809L
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

#define PATH_LEN 512
#define COUNTER_TAG "khien-fw-counter 1"

struct kh_fw_store {
	char counter_path[PATH_LEN], manifest_path[PATH_LEN];
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
	return 0;
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
	if (s->corrupt)
		log_error("firmware: security counter %s; every image is refused until a "
			  "root-signed reset (khienctl firmware reset)",
			  s->problem);
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
	/* once only: a replayed reset would lower the counter again */
	if (!s->corrupt && r.epoch <= s->epoch) {
		snprintf(why, whylen,
			 "rollback: reset epoch %llu is not above the device's %llu "
			 "(replayed or superseded)",
			 (unsigned long long)r.epoch, (unsigned long long)s->epoch);
		return -ESTALE;
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
	if (s->problem[0])
		cJSON_AddStringToObject(out, "problem", s->problem);
	if (s->manifest) {
		cJSON *i = cJSON_AddObjectToObject(out, "installed");
		cJSON_AddStringToObject(i, "version", s->m.version);
		kh_json_add_uint(i, "security_counter", s->m.counter);
		cJSON_AddStringToObject(out, "manifest", s->manifest);
	}
}
