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

static int reply(struct kh_priv *pv, uint32_t type, int rc, const char *why)
{
	cJSON *r = cJSON_CreateObject();
	char *text = NULL;
	int err = -ENOMEM;

	if (!r)
		return -ENOMEM;
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
		} else if (type != KH_PRIV_VIEW) {
			err = -EPROTO;
			free(body);
			break;
		}
		free(body);
		if ((err = reply(pv, type, rc, why)) < 0)
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

/* Child: one request, one reply; the reply's view replaces ours. */
static int call(struct kh_priv *pv, uint32_t type, const void *body, size_t len, char *why,
		size_t whylen)
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
out:
	cJSON_Delete(j);
	free(r);
	return err;
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
