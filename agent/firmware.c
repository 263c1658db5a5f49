/* SPDX-License-Identifier: MIT */
/*
 * Firmware checks in the engine (see firmware.h). Two hashing jobs at most,
 * a candidate verification and the running-image check, each a timer that
 * hashes one slice and re-arms itself at 0 ms, so the loop serves every
 * ready socket between slices. One static read buffer serves both: slices
 * never interleave inside a callback.
 */
#define KH_AGENT_FW_IMPL /* the module itself: its real declarations, whatever Kconfig says */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "agent/event.h"
#include "agent/firmware.h"
#include "agent/privsep.h"
#include "agent/privsep_wire.h"
#include "firmware/manifest.h"
#include "lib/err.h"
#include "lib/jsonnum.h"
#include "lib/log.h"
#include "lib/str.h"
#include "platform/fs.h"
#include "platform/loop.h"
#include "platform/time.h"

struct job {
	struct kh_agent_fw *f;
	struct kh_timer timer;
	int active, done, rc;
	int fd, own_fd;
	uint64_t id, started_ms, ms;
	struct kh_fw_manifest m;
	struct kh_fw_hash h;
	void (*finish)(struct job *j);
	char why[400];
};

struct kh_agent_fw {
	struct kh_loop *loop;
	struct kh_priv *priv;
	struct kh_events *events;
	int part_fd;
	char partition[200], part[KH_FW_PART_NAME_MAX + 1];
	uint32_t interval_s;
	struct kh_timer every;
	struct job verify, running;
	uint64_t next_id;
	/* the running image, as last checked */
	const char *run_state; /* "unchecked", "verified", "mismatch", "unavailable" */
	char run_why[440], run_version[KH_FW_VERSION_MAX + 1];
	uint64_t run_counter;
	int64_t run_checked;
	uint64_t mismatches;
};

static uint8_t buf[KH_FW_HASH_BUF];

static void job_end(struct job *j, int rc)
{
	struct kh_agent_fw *f = j->f;

	kh_timer_cancel(f->loop, &j->timer);
	if (j->own_fd)
		kh_fs_close_fd(j->fd);
	j->own_fd = 0;
	j->fd = -1;
	j->active = 0;
	j->done = 1;
	j->rc = rc;
	j->ms = kh_time_mono_ms() - j->started_ms;
	if (j->finish)
		j->finish(j);
}

static void job_tick(struct kh_loop *loop, void *arg)
{
	struct job *j = arg;
	int rc = kh_fw_hash_fd_step(&j->h, j->fd, buf, sizeof(buf), KH_AGENT_FW_SLICE, j->why,
				    sizeof(j->why));

	if (rc == 0) {
		kh_timer_arm(loop, &j->timer, 0); /* the rest after whatever else is ready */
		return;
	}
	if (rc > 0)
		rc = kh_fw_hash_final(&j->h, j->why, sizeof(j->why));
	job_end(j, rc);
}

static void job_start(struct job *j, int fd, int own_fd)
{
	j->fd = fd;
	j->own_fd = own_fd;
	j->active = 1;
	j->done = 0;
	j->rc = 0;
	j->why[0] = 0;
	j->id = ++j->f->next_id;
	j->started_ms = kh_time_mono_ms();
	kh_timer_arm(j->f->loop, &j->timer, 0);
}

/* ---- the running image ---- */

static void running_unavailable(struct kh_agent_fw *f, const char *what, const char *detail);

static void running_done(struct job *j)
{
	struct kh_agent_fw *f = j->f;
	const char *was = f->run_state;

	f->run_checked = kh_time_wall();
	/* a partition that cannot be read (EIO, a character device) proves nothing either way */
	if (j->rc < 0 && j->rc != -EBADMSG && j->rc != -ENOENT) {
		log_error("firmware: cannot check %s: %s", f->partition, j->why);
		running_unavailable(f, "cannot read: ", j->why);
		return;
	}
	if (j->rc == 0) {
		f->run_state = "verified";
		snprintf(f->run_why, sizeof(f->run_why), "matches version %s (%llu ms)",
			 j->m.version, (unsigned long long)j->ms);
		kh_strlcpy(f->run_version, j->m.version, sizeof(f->run_version));
		f->run_counter = j->m.counter;
		log_info("firmware: %s %s", f->partition, f->run_why);
		return;
	}
	f->run_state = "mismatch";
	f->run_version[0] = 0;
	f->run_counter = 0;
	kh_strlcpy(f->run_why, j->why, sizeof(f->run_why));
	log_error("firmware: %s does not match the installed manifest (version %s): %s",
		  f->partition, j->m.version, j->why);
	/* once per change: a partition that stays wrong is one incident, not one a day */
	if (strcmp(was, "mismatch") != 0) {
		char ev[400];
		const struct kh_event e = {.type = "firmware_mismatch",
					   .severity = KH_SEV_CRITICAL,
					   .reason = j->why,
					   .evidence = ev,
					   .version = j->m.counter};
		snprintf(ev, sizeof(ev), "%s%s%s against version %s (counter %llu)", f->partition,
			 f->part[0] ? ", part " : "", f->part, j->m.version,
			 (unsigned long long)j->m.counter);
		f->mismatches++;
		kh_event_emit(f->events, &e);
	}
}

static void running_unavailable(struct kh_agent_fw *f, const char *what, const char *detail)
{
	f->run_state = "unavailable";
	snprintf(f->run_why, sizeof(f->run_why), "%s%s", what, detail);
	f->run_version[0] = 0;
	f->run_counter = 0;
}

static void running_check(struct kh_agent_fw *f)
{
	const cJSON *st, *mt;
	const struct kh_fw_part *p = NULL;
	struct job *j = &f->running;
	uint64_t size, need;
	int err;

	if (j->active || f->part_fd < 0)
		return;
	kh_priv_refresh(f->priv); /* the owner's latest: a commit may have moved it */
	st = kh_priv_firmware_status(f->priv);
	mt = st ? cJSON_GetObjectItem(st, "manifest") : NULL;
	if (!cJSON_IsString(mt)) {
		running_unavailable(f, "no installed manifest (khienctl firmware commit)", "");
		return;
	}
	/* the owner verified it; the engine only needs its numbers */
	if (kh_fw_manifest_parse(mt->valuestring, strlen(mt->valuestring), &j->m, j->why,
				 sizeof(j->why)) < 0) {
		running_unavailable(f, "installed manifest: ", j->why);
		return;
	}
	if (f->part[0] && !(p = kh_fw_manifest_part(&j->m, f->part))) {
		/* the image on the device is not the one the manifest describes */
		snprintf(j->why, sizeof(j->why),
			 "the installed manifest (version %s) has no part %s", j->m.version,
			 f->part);
		j->done = 1;
		j->rc = -ENOENT;
		running_done(j);
		return;
	}
	need = p ? p->length : j->m.length;
	if ((err = kh_fs_fd_size(f->part_fd, &size)) < 0 || size < need) {
		if (err < 0)
			snprintf(j->why, sizeof(j->why), "cannot size %s: %s", f->partition,
				 kh_strerror(err));
		else
			snprintf(j->why, sizeof(j->why),
				 "length: %s is %llu bytes, the manifest's %s needs %llu",
				 f->partition, (unsigned long long)size, p ? p->name : "image",
				 (unsigned long long)need);
		j->rc = err < 0 ? err : -EBADMSG;
		running_done(j); /* a size error: unavailable; too short: mismatch */
		return;
	}
	/* a partition may be larger than what was written to it: only its first bytes count */
	if (p)
		kh_fw_hash_range(&j->h, p->length, p->sha256, "partition");
	else
		kh_fw_hash_range(&j->h, j->m.length, j->m.sha256, "partition");
	job_start(j, f->part_fd, 0);
}

static void every_tick(struct kh_loop *loop, void *arg)
{
	struct kh_agent_fw *f = arg;

	running_check(f);
	if (f->interval_s)
		kh_timer_arm(loop, &f->every, (uint64_t)f->interval_s * 1000);
}

/* ---- lifecycle ---- */

int kh_agent_fw_new(const struct kh_agent_fw_cfg *c, struct kh_agent_fw **out)
{
	struct kh_agent_fw *f = calloc(1, sizeof(*f));

	if (!f)
		return -ENOMEM;
	f->loop = c->loop;
	f->priv = c->priv;
	f->events = c->events;
	f->part_fd = c->partition_fd;
	kh_strlcpy(f->partition, c->partition ? c->partition : "", sizeof(f->partition));
	kh_strlcpy(f->part, c->part ? c->part : "", sizeof(f->part));
	f->interval_s = c->interval_s;
	f->run_state = f->part_fd >= 0 ? "unchecked" : "unavailable";
	if (f->part_fd < 0)
		snprintf(f->run_why, sizeof(f->run_why), "%s%s%s",
			 f->partition[0] ? "cannot open firmware.partition " : "",
			 f->partition[0] ? f->partition : "no firmware.partition configured",
			 f->partition[0] ? " (see the log)" : "");
	f->verify.f = f->running.f = f;
	f->verify.fd = f->running.fd = -1;
	kh_timer_init(&f->verify.timer, job_tick, &f->verify);
	kh_timer_init(&f->running.timer, job_tick, &f->running);
	f->running.finish = running_done;
	kh_timer_init(&f->every, every_tick, f);
	if (f->part_fd >= 0)
		kh_timer_arm(f->loop, &f->every, 0);
	*out = f;
	return 0;
}

void kh_agent_fw_free(struct kh_agent_fw *f)
{
	if (!f)
		return;
	kh_timer_cancel(f->loop, &f->every);
	kh_timer_cancel(f->loop, &f->verify.timer);
	kh_timer_cancel(f->loop, &f->running.timer);
	if (f->verify.own_fd)
		kh_fs_close_fd(f->verify.fd);
	kh_fs_close_fd(f->part_fd);
	free(f);
}

/* ---- control ---- */

static int fail(cJSON *resp, const char *why)
{
	cJSON_AddBoolToObject(resp, "ok", 0);
	cJSON_AddStringToObject(resp, "error", why);
	return 1;
}

/* A signed document the client passed: read whole, within the manifest limit. */
static int read_doc(int fd, char **text, size_t *len, char *why, size_t whylen)
{
	uint8_t *b;
	int err;

	if (fd < 0) {
		snprintf(why, whylen, "needs the file passed as an open descriptor (khienctl)");
		return -EINVAL;
	}
	/* a pipe or a device would block the one loop that answers DNS */
	if (!kh_fs_fd_regular(fd)) {
		snprintf(why, whylen, "not a regular file");
		return -EINVAL;
	}
	if ((err = kh_fs_read_fd(fd, KH_FW_MANIFEST_MAX, &b, len)) < 0) {
		snprintf(why, whylen, "%s",
			 err == -E2BIG ? "larger than a manifest can be" : kh_strerror(err));
		return err;
	}
	*text = (char *)b;
	return 0;
}

static void verify_json(const struct job *j, cJSON *out)
{
	kh_json_add_uint(out, "id", j->id);
	cJSON_AddBoolToObject(out, "done", j->done);
	if (j->m.version[0]) {
		cJSON_AddStringToObject(out, "version", j->m.version);
		kh_json_add_uint(out, "security_counter", j->m.counter);
	}
	if (j->active) {
		kh_json_add_uint(out, "hashed", j->h.done);
		kh_json_add_uint(out, "length", j->h.length);
	}
	if (j->done) {
		cJSON_AddBoolToObject(out, "ok", j->rc == 0);
		if (j->rc)
			cJSON_AddStringToObject(out, "error", j->why);
		kh_json_add_uint(out, "ms", j->ms);
	}
}

static int cmd_verify(struct kh_agent_fw *f, int fd[2], cJSON *resp)
{
	struct job *j = &f->verify;
	char why[320], *text = NULL;
	size_t len;
	int err;

	if (j->active)
		return fail(resp,
			    "busy: another image is being verified (khienctl firmware status)");
	if (fd[0] < 0 || !kh_fs_fd_regular(fd[0]))
		return fail(resp, "firmware-verify needs the image passed as an open regular file "
				  "(khienctl firmware verify IMG IMG.manifest)");
	memset(&j->m, 0, sizeof(j->m));
	if (read_doc(fd[1], &text, &len, why, sizeof(why)) < 0) {
		char w[400];
		snprintf(w, sizeof(w), "manifest: %s", why);
		return fail(resp, w);
	}
	/* signatures, hardware and counter by the owner, who believes nothing from here */
	err = kh_priv_firmware(f->priv, KH_PRIV_FW_CHECK, text, len, why, sizeof(why));
	if (err == 0)
		err = kh_fw_manifest_parse(text, len, &j->m, why, sizeof(why));
	free(text);
	if (err == 0)
		err = kh_fw_image_size_check(&j->m, fd[0], why, sizeof(why));
	if (err < 0) {
		j->done = 1;
		j->rc = err;
		j->ms = 0;
		kh_strlcpy(j->why, why, sizeof(j->why));
		j->id = ++f->next_id;
		verify_json(j, cJSON_AddObjectToObject(resp, "verify"));
		return fail(resp, why);
	}
	kh_fw_hash_image(&j->h, &j->m);
	job_start(j, fd[0], 1);
	fd[0] = -1; /* kept until the hash is done */
	cJSON_AddBoolToObject(resp, "ok", 1);
	verify_json(j, cJSON_AddObjectToObject(resp, "verify"));
	return 1;
}

static int cmd_doc(struct kh_agent_fw *f, uint32_t type, int fd, cJSON *resp)
{
	char why[320], *text = NULL;
	size_t len;
	int err;

	if (read_doc(fd, &text, &len, why, sizeof(why)) < 0)
		return fail(resp, why);
	err = kh_priv_firmware(f->priv, type, text, len, why, sizeof(why));
	free(text);
	if (err < 0)
		return fail(resp, why);
	cJSON_AddBoolToObject(resp, "ok", 1);
	cJSON_AddStringToObject(resp, "result", why);
	/* a new running manifest: check the partition against it now */
	if (type == KH_PRIV_FW_COMMIT && !f->running.active)
		running_check(f);
	kh_agent_fw_status(f, cJSON_AddObjectToObject(resp, "firmware"));
	return 1;
}

int kh_agent_fw_control(struct kh_agent_fw *f, const char *cmd, int fd[2], cJSON *resp)
{
	if (strncmp(cmd, "firmware-", 9) != 0)
		return 0;
	if (!f)
		return fail(resp, "firmware checks are not running");
	if (!strcmp(cmd, "firmware-verify"))
		return cmd_verify(f, fd, resp);
	if (!strcmp(cmd, "firmware-commit"))
		return cmd_doc(f, KH_PRIV_FW_COMMIT, fd[0], resp);
	if (!strcmp(cmd, "firmware-reset"))
		return cmd_doc(f, KH_PRIV_FW_RESET, fd[0], resp);
	if (!strcmp(cmd, "firmware-status")) {
		cJSON_AddBoolToObject(resp, "ok", 1);
		kh_agent_fw_status(f, cJSON_AddObjectToObject(resp, "firmware"));
		return 1;
	}
	return fail(resp, "unknown firmware command");
}

void kh_agent_fw_status(struct kh_agent_fw *f, cJSON *out)
{
	const cJSON *st;
	cJSON *r;

	kh_priv_refresh(f->priv);
	st = kh_priv_firmware_status(f->priv);
	if (st) {
		for (const cJSON *i = st->child; i; i = i->next)
			if (strcmp(i->string, "manifest") != 0)
				cJSON_AddItemToObject(out, i->string, cJSON_Duplicate(i, 1));
	} else
		cJSON_AddStringToObject(out, "problem",
					"firmware state is not set up (no state "
					"directory or trust root)");
	r = cJSON_AddObjectToObject(out, "running");
	cJSON_AddStringToObject(r, "state", f->run_state);
	cJSON_AddBoolToObject(r, "checking", f->running.active);
	if (f->partition[0])
		cJSON_AddStringToObject(r, "partition", f->partition);
	if (f->part[0])
		cJSON_AddStringToObject(r, "part", f->part);
	if (f->run_why[0])
		cJSON_AddStringToObject(r, "detail", f->run_why);
	if (f->run_version[0]) {
		cJSON_AddStringToObject(r, "version", f->run_version);
		kh_json_add_uint(r, "security_counter", f->run_counter);
	}
	if (f->run_checked)
		kh_json_add_uint(r, "checked", (uint64_t)f->run_checked);
	kh_json_add_uint(r, "mismatches", f->mismatches);
	if (f->verify.id)
		verify_json(&f->verify, cJSON_AddObjectToObject(out, "verify"));
}

void kh_agent_fw_report(struct kh_agent_fw *f, cJSON *out)
{
	if (!f || !f->partition[0])
		return;
	cJSON_AddStringToObject(out, "firmware_state", f->run_state);
	if (strcmp(f->run_state, "verified") != 0)
		return;
	cJSON_AddStringToObject(out, "firmware_version", f->run_version);
	kh_json_add_uint(out, "firmware_counter", f->run_counter);
}
