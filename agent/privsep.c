/* SPDX-License-Identifier: MIT */
/*
 * Trust-state owner (see privsep.h): the policy store in this process, or
 * in the parent on the other end of the channel (privsep_wire.h). The
 * parent's loop is deliberately small: read a framed request, apply a
 * bundle with kh_policy_apply(), answer with the new view.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "agent/fw_store.h"
#include "agent/policy_store.h"
#include "agent/privsep.h"
#include "agent/privsep_wire.h"
#include "firmware/baseline.h"
#include "lib/endian.h"
#include "lib/err.h"
#include "lib/jsonnum.h"
#include "lib/log.h"
#include "lib/str.h"
#include "platform/fs.h"
#include "platform/proc.h"

/* Components the device's modules read; a module that reads another adds its name. */
static const char *const components[] = {"blocklist", "audit", "baseline", "profiles"};

struct kh_priv {
	struct kh_policy *policy; /* the store: here, or in the parent only */
	struct kh_fw_store *fw;	  /* firmware state: likewise */
	int remote;		  /* child: the store is across chan */
	int chan;
	long child;
	uint32_t user_uid; /* the daemon's user: its processes are the auditor's to see */
	int have_uid;
	cJSON *view; /* {"version", "root_version", "status", "components", "firmware"} */
};

static cJSON *view_build(struct kh_policy *p, struct kh_fw_store *fw)
{
	cJSON *v = cJSON_CreateObject(), *c;

	if (!v)
		return NULL;
	if (fw)
		kh_fw_store_status(fw, cJSON_AddObjectToObject(v, "firmware"));
	if (!p)
		return v;
	cJSON_AddNumberToObject(v, "version", (double)kh_policy_version(p));
	cJSON_AddNumberToObject(v, "root_version", (double)kh_policy_root_version(p));
	kh_policy_status(p, cJSON_AddObjectToObject(v, "status"));
	c = cJSON_AddObjectToObject(v, "components");
	for (size_t i = 0; i < KH_ARRAY_SIZE(components); i++) {
		const char *path = kh_policy_component(p, components[i]);
		if (path)
			cJSON_AddStringToObject(c, components[i], path);
	}
	return v;
}

static void view_set(struct kh_priv *pv, cJSON *v)
{
	if (!v)
		return;
	cJSON_Delete(pv->view);
	pv->view = v;
}

int kh_priv_new(struct kh_policy *policy, struct kh_priv **out)
{
	struct kh_priv *pv = calloc(1, sizeof(*pv));

	if (!pv)
		return -ENOMEM;
	pv->policy = policy;
	pv->chan = -1;
	pv->view = view_build(policy, NULL);
	if (!pv->view) {
		free(pv);
		return -ENOMEM;
	}
	*out = pv;
	return 0;
}

void kh_priv_free(struct kh_priv *pv)
{
	if (!pv)
		return;
	kh_policy_free(pv->policy);
	kh_fw_store_free(pv->fw);
	cJSON_Delete(pv->view);
	free(pv);
}

void kh_priv_set_firmware(struct kh_priv *pv, struct kh_fw_store *fw)
{
	kh_fw_store_free(pv->fw);
	pv->fw = fw;
	view_set(pv, view_build(pv->policy, pv->fw));
}

int kh_priv_split(struct kh_priv *pv)
{
	int err = kh_proc_fork_split(&pv->chan, &pv->child);

	if (err == 0) {
		/* the child keeps only the view; the store is the parent's */
		pv->remote = 1;
		kh_policy_free(pv->policy);
		pv->policy = NULL;
		kh_fw_store_free(pv->fw);
		pv->fw = NULL;
	}
	return err;
}

int kh_chan_send(int chan, uint32_t type, const void *body, size_t len)
{
	uint8_t h[KH_PRIV_HDR_LEN];
	int err;

	if (len > UINT32_MAX)
		return -E2BIG;
	kh_put_le32(h, type);
	kh_put_le32(h + 4, (uint32_t)len);
	if ((err = kh_proc_chan_write(chan, h, sizeof(h))) < 0)
		return err;
	return len ? kh_proc_chan_write(chan, body, len) : 0;
}

int kh_chan_recv(int chan, size_t max, uint32_t *type, uint8_t **body, size_t *len)
{
	uint8_t h[KH_PRIV_HDR_LEN];
	uint8_t *b;
	int err;

	if ((err = kh_proc_chan_read(chan, h, sizeof(h))) < 0)
		return err;
	*type = kh_le32(h);
	*len = kh_le32(h + 4);
	if (*len > max)
		return -EMSGSIZE;
	if (!(b = malloc(*len + 1)))
		return -ENOMEM;
	if (*len && (err = kh_proc_chan_read(chan, b, *len)) < 0) {
		free(b);
		return err;
	}
	b[*len] = 0;
	*body = b;
	return 0;
}

/* extra (may be NULL; taken): more members of the reply, a process list */
static int reply(struct kh_priv *pv, uint32_t type, int rc, const char *why, cJSON *extra)
{
	cJSON *r = cJSON_CreateObject();
	char *text = NULL;
	int err = -ENOMEM;

	if (!r) {
		cJSON_Delete(extra);
		return -ENOMEM;
	}
	while (extra && extra->child) {
		cJSON *i = cJSON_DetachItemViaPointer(extra, extra->child);
		cJSON_AddItemToObject(r, i->string, i);
	}
	cJSON_Delete(extra);
	cJSON_AddNumberToObject(r, "rc", rc);
	cJSON_AddStringToObject(r, "why", why);
	cJSON_AddItemToObject(r, "view", view_build(pv->policy, pv->fw));
	if ((text = cJSON_PrintUnformatted(r)))
		err = kh_chan_send(pv->chan, type | KH_PRIV_REPLY, text, strlen(text));
	free(text);
	cJSON_Delete(r);
	return err;
}

void kh_priv_detach(struct kh_priv *pv)
{
	kh_proc_close_fds_except(pv->chan);
}

/* A firmware request in the owner: the store checks every signature itself. */
static int firmware_local(struct kh_priv *pv, uint32_t type, const char *doc, size_t len, char *why,
			  size_t whylen)
{
	struct kh_fw_manifest m;

	if (!pv->fw) {
		snprintf(why, whylen,
			 IS_ENABLED(CONFIG_FIRMWARE)
				 ? "firmware state is not set up (no state directory)"
				 : "built without firmware checks (CONFIG_FIRMWARE)");
		return -ENOENT;
	}
	if (len > KH_FW_MANIFEST_MAX) {
		snprintf(why, whylen, "larger than %d bytes", KH_FW_MANIFEST_MAX);
		return -E2BIG;
	}
	if (type == KH_PRIV_FW_COMMIT)
		return kh_fw_store_commit(pv->fw, doc, len, why, whylen);
	if (type == KH_PRIV_FW_RESET)
		return kh_fw_store_reset(pv->fw, doc, len, why, whylen);
	return kh_fw_store_check(pv->fw, doc, len, &m, why, whylen);
}

/*
 * KH_PRIV_PROCS in the owner: the body is exactly a u32 pid; the answer is
 * platform/proc.h's fields of at most KH_PROC_LIST_MAX processes, nothing
 * else, into extra.
 */
static int procs_local(struct kh_priv *pv, const uint8_t *body, size_t len, cJSON **extra,
		       char *why, size_t whylen)
{
	static struct kh_proc_info list[KH_PROC_LIST_MAX]; /* 37 KB: not on the stack */
	unsigned n;
	long next;
	cJSON *o, *a;
	int err;

	*extra = NULL;
	if (len != KH_PRIV_PROCS_LEN || kh_le32(body) > KH_PROC_PID_MAX) {
		snprintf(why, whylen, "a process list request is one pid (4 bytes)");
		return -EINVAL;
	}
	err = kh_proc_list(pv->have_uid ? pv->user_uid : UINT32_MAX, (long)kh_le32(body), list,
			   KH_PROC_LIST_MAX, &n, &next);
	if (err < 0) {
		snprintf(why, whylen, "cannot list processes: %s", kh_strerror(err));
		return err;
	}
	if (!(o = cJSON_CreateObject()) || !(a = cJSON_AddArrayToObject(o, "procs"))) {
		cJSON_Delete(o);
		return -ENOMEM;
	}
	for (unsigned i = 0; i < n; i++) {
		cJSON *e = cJSON_CreateObject();
		char id[40];

		if (!e)
			break;
		cJSON_AddNumberToObject(e, "pid", (double)list[i].pid);
		cJSON_AddNumberToObject(e, "uid", (double)list[i].uid);
		cJSON_AddStringToObject(e, "comm", list[i].comm);
		cJSON_AddStringToObject(e, "exe", list[i].exe);
		cJSON_AddBoolToObject(e, "deleted", list[i].deleted);
		cJSON_AddBoolToObject(e, "ro", list[i].exe_ro);
		snprintf(id, sizeof(id), "%llx:%llx", (unsigned long long)list[i].dev,
			 (unsigned long long)list[i].ino);
		cJSON_AddStringToObject(e, "id", id);
		cJSON_AddItemToArray(a, e);
	}
	cJSON_AddNumberToObject(o, "next", (double)next);
	*extra = o;
	snprintf(why, whylen, "%u process(es)", n);
	return 0;
}

/* The active signed baseline lets the agent stop suspicious processes. */
static int kill_allowed(struct kh_priv *pv)
{
	const char *path = pv->policy ? kh_policy_component(pv->policy, "baseline") : NULL;
	struct kh_baseline bl;
	struct kh_fs_map map;
	char why[160];
	int ok;

	if (!path || kh_fs_map(path, KH_BL_MAX_BYTES, &map) < 0)
		return 0;
	ok = kh_bl_parse(map.data, map.len, &bl, why, sizeof(why)) == 0 &&
	     (bl.flags & KH_BL_KILL_SUSPICIOUS);
	kh_fs_unmap(&map);
	return ok;
}

/* The owner's own reading of the rule (not the engine's word): deleted, or a writable place. */
static const char *kill_suspicious(const char *exe, int deleted)
{
	return deleted ? "deleted" : kh_bl_exe_problem(NULL, exe);
}

/*
 * KH_PRIV_KILL in the owner: the ISP's signed flag, never the engine,
 * decides whether anything is stopped; the process must still be the one
 * reported (platform/proc.h checks through a pidfd), suspicious by the
 * owner's own reading of its exe link (deleted, or under /tmp, /var,
 * /dev, /run, /overlay), and never the engine or the auditor (the
 * parent's children), pid 1, the owner itself or a file of the read-only
 * image.
 */
static int kill_local(struct kh_priv *pv, const uint8_t *body, size_t len, char *why, size_t whylen)
{
	long pid;

	if (len != KH_PRIV_KILL_LEN) {
		snprintf(why, whylen,
			 "a stop request is a pid and an executable's identity (20 "
			 "bytes)");
		return -EINVAL;
	}
	pid = (long)kh_le32(body);
	if (!kill_allowed(pv)) {
		snprintf(why, whylen,
			 "pid %ld not stopped: the signed baseline does not set "
			 "kill_suspicious",
			 pid);
		return -EPERM;
	}
	if (pv->child > 0 && pid == pv->child) {
		snprintf(why, whylen, "pid %ld is khiend's engine", pid);
		return -EPERM;
	}
	return kh_proc_kill_checked(pid, kh_le64(body + 4), kh_le64(body + 12), kill_suspicious,
				    why, whylen);
}

int kh_priv_serve_channel(struct kh_priv *pv, int chan)
{
	const size_t max = (size_t)CONFIG_POLICY_MAX_BUNDLE_MB << 20;
	int err;

	pv->chan = chan;
	for (;;) {
		char why[512] = "";
		uint8_t *body;
		uint32_t type;
		size_t len;
		cJSON *extra = NULL;
		int rc = 0;

		if ((err = kh_chan_recv(pv->chan, max, &type, &body, &len)) < 0)
			break;
		if (type == KH_PRIV_APPLY) {
			rc = pv->policy ? kh_policy_apply(pv->policy, body, len, why, sizeof(why))
					: -ENOENT;
			log_notice("policy from the engine: %s%s", rc < 0 ? "refused: " : "", why);
		} else if (type == KH_PRIV_FW_CHECK || type == KH_PRIV_FW_COMMIT ||
			   type == KH_PRIV_FW_RESET) {
			rc = firmware_local(pv, type, (const char *)body, len, why, sizeof(why));
			if (type != KH_PRIV_FW_CHECK)
				log_notice("firmware from the engine: %s%s",
					   rc < 0 ? "refused: " : "", why);
		} else if (type == KH_PRIV_PROCS) {
			rc = procs_local(pv, body, len, &extra, why, sizeof(why));
		} else if (type == KH_PRIV_KILL) {
			rc = kill_local(pv, body, len, why, sizeof(why));
			log_notice("stop request from the engine: %s", why);
		} else if (type != KH_PRIV_VIEW) {
			err = -EPROTO;
			free(body);
			break;
		}
		free(body);
		if ((err = reply(pv, type, rc, why, extra)) < 0)
			break;
	}
	return err == -EPIPE ? 0 : err;
}

int kh_priv_serve(struct kh_priv *pv)
{
	int err = kh_priv_serve_channel(pv, pv->chan), status;

	if (err < 0) {
		/* a child that breaks the protocol is not trusted to go on */
		log_error("trust-state owner: the engine broke the protocol (%s); stopping it",
			  kh_strerror(err));
		kh_proc_kill(pv->child);
	}
	status = kh_proc_wait_child(pv->child);
	return err < 0 ? 3 : status;
}

/* Child: one request, one reply; the reply's view replaces ours. *out (may be NULL): the rest. */
static int call_x(struct kh_priv *pv, uint32_t type, const void *body, size_t len, char *why,
		  size_t whylen, cJSON **out)
{
	uint8_t *r = NULL;
	uint32_t rtype;
	size_t rlen;
	cJSON *j = NULL, *rc, *w;
	int err;

	if (pv->chan < 0) {
		snprintf(why, whylen, "the trust-state owner is gone (restart khiend)");
		return -EPIPE;
	}
	if ((err = kh_chan_send(pv->chan, type, body, len)) < 0 ||
	    (err = kh_chan_recv(pv->chan, KH_PRIV_REPLY_MAX, &rtype, &r, &rlen)) < 0) {
		/* a half-read message leaves the stream out of step: the channel is done */
		snprintf(why, whylen, "the trust-state owner does not answer: %s",
			 kh_strerror(err));
		log_error("privsep channel: %s; signed policy is unavailable until restart", why);
		kh_fs_close_fd(pv->chan);
		pv->chan = -1;
		goto out;
	}
	j = cJSON_ParseWithLength((const char *)r, rlen);
	rc = cJSON_GetObjectItem(j, "rc");
	w = cJSON_GetObjectItem(j, "why");
	if (rtype != (type | KH_PRIV_REPLY) || !cJSON_IsNumber(rc) || !cJSON_IsString(w) ||
	    !cJSON_IsObject(cJSON_GetObjectItem(j, "view"))) {
		snprintf(why, whylen, "the trust-state owner sent a malformed reply");
		err = -EPROTO;
		goto out;
	}
	kh_strlcpy(why, w->valuestring, whylen);
	view_set(pv, cJSON_DetachItemFromObject(j, "view"));
	err = rc->valueint;
	if (out) {
		*out = j;
		j = NULL;
	}
out:
	cJSON_Delete(j);
	free(r);
	return err;
}

static int call(struct kh_priv *pv, uint32_t type, const void *body, size_t len, char *why,
		size_t whylen)
{
	return call_x(pv, type, body, len, why, whylen, NULL);
}

void kh_priv_set_user_uid(struct kh_priv *pv, uint32_t uid)
{
	pv->user_uid = uid;
	pv->have_uid = 1;
}

/* One entry of the owner's list; the owner is trusted, its answer still bounded. */
static int proc_entry(const cJSON *e, struct kh_proc_info *p)
{
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(e, "comm");
	const cJSON *x = cJSON_GetObjectItemCaseSensitive(e, "exe");
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(e, "id");
	uint64_t pid, uid;
	unsigned long long dev, ino;

	memset(p, 0, sizeof(*p));
	if (kh_json_uint(cJSON_GetObjectItemCaseSensitive(e, "pid"), 1, KH_PROC_PID_MAX, &pid) <
		    0 ||
	    kh_json_uint(cJSON_GetObjectItemCaseSensitive(e, "uid"), 0, UINT32_MAX, &uid) < 0 ||
	    !cJSON_IsString(c) || !cJSON_IsString(x) || !cJSON_IsString(id) ||
	    strlen(c->valuestring) >= sizeof(p->comm) || strlen(x->valuestring) >= sizeof(p->exe) ||
	    sscanf(id->valuestring, "%llx:%llx", &dev, &ino) != 2)
		return -EPROTO;
	p->pid = (long)pid;
	p->uid = (uint32_t)uid;
	memcpy(p->comm, c->valuestring, strlen(c->valuestring) + 1);
	memcpy(p->exe, x->valuestring, strlen(x->valuestring) + 1);
	p->deleted = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "deleted"));
	p->exe_ro = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "ro"));
	p->dev = dev;
	p->ino = ino;
	return 0;
}

int kh_priv_procs(struct kh_priv *pv, long after, struct kh_proc_info *out, unsigned max,
		  unsigned *n, long *next)
{
	uint8_t req[KH_PRIV_PROCS_LEN];
	char why[128];
	cJSON *j = NULL, *e;
	uint64_t nx;
	int err;

	*n = 0;
	*next = 0;
	if (!pv->remote)
		return kh_proc_list(pv->have_uid ? pv->user_uid : UINT32_MAX, after, out, max, n,
				    next);
	kh_put_le32(req, (uint32_t)after);
	if ((err = call_x(pv, KH_PRIV_PROCS, req, sizeof(req), why, sizeof(why), &j)) < 0) {
		cJSON_Delete(j);
		return err;
	}
	cJSON_ArrayForEach (e, cJSON_GetObjectItemCaseSensitive(j, "procs")) {
		if (*n == max || proc_entry(e, &out[*n]) < 0) {
			err = -EPROTO;
			break;
		}
		(*n)++;
	}
	if (err == 0 &&
	    kh_json_uint(cJSON_GetObjectItemCaseSensitive(j, "next"), 0, KH_PROC_PID_MAX, &nx) == 0)
		*next = (long)nx;
	cJSON_Delete(j);
	return err;
}

int kh_priv_kill(struct kh_priv *pv, long pid, uint64_t dev, uint64_t ino, char *why, size_t whylen)
{
	uint8_t req[KH_PRIV_KILL_LEN];

	if (pid < 1 || pid > KH_PROC_PID_MAX) {
		snprintf(why, whylen, "pid %ld out of range", pid);
		return -EINVAL;
	}
	kh_put_le32(req, (uint32_t)pid);
	kh_put_le64(req + 4, dev);
	kh_put_le64(req + 12, ino);
	if (pv->remote)
		return call(pv, KH_PRIV_KILL, req, sizeof(req), why, whylen);
	return kill_local(pv, req, sizeof(req), why, whylen);
}

void kh_priv_slot_dirs(const struct kh_priv *pv, const char *dirs[2])
{
	const char *d[4] = {NULL, NULL, NULL, NULL};

	if (pv && pv->policy)
		kh_policy_dirs(pv->policy, d);
	dirs[0] = d[2];
	dirs[1] = d[3];
}

int kh_priv_has_policy(const struct kh_priv *pv)
{
	return pv && (pv->policy || (pv->remote && cJSON_GetObjectItem(pv->view, "status")));
}

int kh_priv_apply(struct kh_priv *pv, const uint8_t *data, size_t len, char *why, size_t whylen)
{
	int err;

	if (!kh_priv_has_policy(pv)) {
		snprintf(why, whylen,
			 "signed policy is not set up (no state directory or trust root)");
		return -ENOENT;
	}
	if (pv->remote)
		return call(pv, KH_PRIV_APPLY, data, len, why, whylen);
	err = kh_policy_apply(pv->policy, data, len, why, whylen);
	view_set(pv, view_build(pv->policy, pv->fw));
	return err;
}

int kh_priv_firmware(struct kh_priv *pv, uint32_t type, const char *doc, size_t len, char *why,
		     size_t whylen)
{
	int err;

	if (pv->remote) {
		if (!kh_priv_firmware_status(pv)) {
			snprintf(why, whylen, "firmware state is not set up (no state directory)");
			return -ENOENT;
		}
		return call(pv, type, doc, len, why, whylen);
	}
	err = firmware_local(pv, type, doc, len, why, whylen);
	view_set(pv, view_build(pv->policy, pv->fw));
	return err;
}

const cJSON *kh_priv_firmware_status(const struct kh_priv *pv)
{
	const cJSON *f = pv ? cJSON_GetObjectItem(pv->view, "firmware") : NULL;
	return cJSON_IsObject(f) ? f : NULL;
}

const char *kh_priv_component(const struct kh_priv *pv, const char *name)
{
	const cJSON *c =
		pv ? cJSON_GetObjectItem(cJSON_GetObjectItem(pv->view, "components"), name) : NULL;
	return cJSON_IsString(c) ? c->valuestring : NULL;
}

static uint64_t view_u64(const struct kh_priv *pv, const char *key)
{
	uint64_t u;
	return pv && kh_json_uint(cJSON_GetObjectItem(pv->view, key), 0, KH_JSON_INT_MAX, &u) == 0
		       ? u
		       : 0;
}

uint64_t kh_priv_version(const struct kh_priv *pv)
{
	return view_u64(pv, "version");
}

uint64_t kh_priv_root_version(const struct kh_priv *pv)
{
	return view_u64(pv, "root_version");
}

void kh_priv_refresh(struct kh_priv *pv)
{
	char why[128];

	if (pv && pv->remote && (kh_priv_has_policy(pv) || kh_priv_firmware_status(pv)))
		call(pv, KH_PRIV_VIEW, NULL, 0, why, sizeof(why)); /* expiry and time move on */
	else if (pv && (pv->policy || pv->fw))
		view_set(pv, view_build(pv->policy, pv->fw));
}

void kh_priv_status(struct kh_priv *pv, cJSON *out)
{
	const cJSON *st;

	kh_priv_refresh(pv);
	st = pv ? cJSON_GetObjectItem(pv->view, "status") : NULL;

	for (const cJSON *i = st ? st->child : NULL; i; i = i->next)
		cJSON_AddItemToObject(out, i->string, cJSON_Duplicate(i, 1));
}
