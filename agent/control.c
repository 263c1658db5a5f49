/* SPDX-License-Identifier: MIT */
/*
 * Control socket server (see control.h). A connection carries one request:
 * read until newline (at most KH_CONTROL_REQ_MAX bytes, else an error), run
 * the handler, write the answer, close. Slow or silent clients are dropped
 * after a timeout so they cannot hold a slot. Root, the daemon's user and
 * members of the control group may connect; a request may carry up to
 * KH_CONTROL_FDS open descriptors (SCM_RIGHTS), so the daemon never opens a
 * path a client names.
 */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "agent/control.h"
#include "lib/err.h"
#include "lib/log.h"
#include "lib/str.h"
#include "platform/fs.h"
#include "platform/net.h"
#include "platform/proc.h"

#define MAX_CLIENTS 4
#define CLIENT_TIMEOUT_MS 5000

struct client {
	int fd, used;
	int passed[KH_CONTROL_FDS]; /* descriptors the client handed over, or -1 */
	char buf[KH_CONTROL_REQ_MAX + 1];
	size_t len;
	char *out;
	size_t out_len, out_off;
	struct kh_timer timer;
	struct kh_control *c;
};

struct kh_control {
	struct kh_loop *loop;
	kh_sock fd;
	char path[108];
	kh_control_fn fn;
	void *arg;
	uint32_t uid;
	int has_group;
	uint32_t group;
	struct client cl[MAX_CLIENTS];
};

static void close_passed(struct client *cl)
{
	for (int i = 0; i < KH_CONTROL_FDS; i++) {
		kh_net_close(cl->passed[i]);
		cl->passed[i] = -1;
	}
}

static void client_close(struct client *cl)
{
	kh_timer_cancel(cl->c->loop, &cl->timer);
	kh_loop_fd_del(cl->c->loop, cl->fd);
	kh_net_close(cl->fd);
	close_passed(cl);
	free(cl->out);
	cl->out = NULL;
	cl->used = 0;
}

static void client_timeout(struct kh_loop *loop, void *arg)
{
	(void)loop;
	client_close(arg);
}

static void respond(struct client *cl, cJSON *resp)
{
	char *s = cJSON_PrintUnformatted(resp);
	size_t n = s ? strlen(s) : 0;

	cl->out = s ? realloc(s, n + 2) : NULL;
	if (!cl->out) {
		free(s);
		client_close(cl);
		return;
	}
	cl->out[n] = '\n';
	cl->out_len = n + 1;
	cl->out_off = 0;
	kh_loop_fd_mod(cl->c->loop, cl->fd, KH_EV_WRITE);
}

static void client_cb(struct kh_loop *loop, int fd, unsigned ev, void *arg)
{
	struct client *cl = arg;

	(void)loop;
	if (cl->out) {
		int n = kh_net_send(fd, cl->out + cl->out_off, cl->out_len - cl->out_off);
		if (n == -EAGAIN)
			return;
		if (n > 0)
			cl->out_off += (size_t)n;
		if (n <= 0 || cl->out_off == cl->out_len)
			client_close(cl);
		return;
	}
	if (!(ev & KH_EV_READ))
		return;
	int passed, slot = 0;
	int n = kh_net_recv_fd(fd, cl->buf + cl->len, KH_CONTROL_REQ_MAX - cl->len, &passed);
	while (slot < KH_CONTROL_FDS && cl->passed[slot] >= 0)
		slot++;
	if (passed >= 0 && slot < KH_CONTROL_FDS)
		cl->passed[slot] = passed;
	else if (passed >= 0)
		kh_net_close(passed); /* at most KH_CONTROL_FDS per request */
	if (n == -EAGAIN)
		return;
	if (n <= 0) {
		client_close(cl);
		return;
	}
	cl->len += (size_t)n;
	cl->buf[cl->len] = 0;
	char *nl = memchr(cl->buf, '\n', cl->len);
	if (!nl && cl->len < KH_CONTROL_REQ_MAX)
		return;
	cJSON *resp = cJSON_CreateObject();
	cJSON *req = nl ? cJSON_ParseWithLength(cl->buf, (size_t)(nl - cl->buf)) : NULL;
	if (!req || !cJSON_IsObject(req) || !cJSON_IsString(cJSON_GetObjectItem(req, "cmd"))) {
		cJSON_AddBoolToObject(resp, "ok", 0);
		cJSON_AddStringToObject(resp, "error",
					nl ? "expected a JSON object with \"cmd\""
					   : "request longer than 4096 bytes");
	} else {
		cl->c->fn(cl->c->arg, req, cl->passed, resp);
	}
	close_passed(cl);
	cJSON_Delete(req);
	respond(cl, resp);
	cJSON_Delete(resp);
}

static void accept_cb(struct kh_loop *loop, int fd, unsigned ev, void *arg)
{
	struct kh_control *c = arg;
	kh_sock s;

	(void)ev;
	while (kh_net_tcp_accept(fd, &s, NULL) == 0) {
		struct client *cl = NULL;
		uint32_t uid, gid;

		if (kh_net_peer_cred(s, &uid, &gid) < 0 ||
		    !(uid == 0 || uid == c->uid ||
		      (c->has_group && kh_net_peer_in_group(s, c->group) == 1))) {
			log_warn("control: refused a client (uid %u)", uid);
			kh_net_close(s);
			continue;
		}
		for (int i = 0; i < MAX_CLIENTS; i++)
			if (!c->cl[i].used)
				cl = &c->cl[i];
		if (!cl || kh_loop_fd_add(loop, s, KH_EV_READ, client_cb, cl) < 0) {
			kh_net_close(s);
			continue;
		}
		cl->used = 1;
		cl->fd = s;
		cl->passed[0] = cl->passed[1] = -1;
		cl->len = 0;
		kh_timer_arm(loop, &cl->timer, CLIENT_TIMEOUT_MS);
	}
}

int kh_control_new(struct kh_loop *loop, const char *path, const char *group, kh_control_fn fn,
		   void *arg, struct kh_control **out)
{
	struct kh_control *c = calloc(1, sizeof(*c));
	char dir[108];
	char *slash;
	int err;

	if (!c)
		return -ENOMEM;
	c->loop = loop;
	c->fn = fn;
	c->arg = arg;
	c->uid = 0;
	if (group && *group) {
		if ((err = kh_proc_group_id(group, &c->group)) < 0) {
			free(c);
			return err;
		}
		c->has_group = 1;
	}
	kh_strlcpy(c->path, path, sizeof(c->path));
	kh_strlcpy(dir, path, sizeof(dir));
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		uint32_t owner;
		unsigned mode;
		*slash = 0;
		kh_fs_mkdir_p(dir, 0755);
		/*
		 * Root names, chowns and chmods the socket file by path: in a
		 * directory another user can write, that user could swap in a
		 * link between bind and chmod (and have root chmod /etc/shadow).
		 */
		if (kh_proc_is_root() &&
		    (kh_fs_dir_owner(dir, &owner, &mode) < 0 || owner != 0 || (mode & 022))) {
			log_error("control socket %s: its directory must be root's alone (not "
				  "writable by group or others, no link)",
				  path);
			free(c);
			return -EPERM;
		}
	}
	err = kh_net_local_listen(path, 0660, group && *group ? group : NULL, &c->fd);
	if (err < 0) {
		free(c);
		return err;
	}
	for (int i = 0; i < MAX_CLIENTS; i++) {
		c->cl[i].c = c;
		c->cl[i].passed[0] = c->cl[i].passed[1] = -1;
		kh_timer_init(&c->cl[i].timer, client_timeout, &c->cl[i]);
	}
	err = kh_loop_fd_add(loop, c->fd, KH_EV_READ, accept_cb, c);
	if (err < 0) {
		kh_control_free(c);
		return err;
	}
	*out = c;
	return 0;
}

void kh_control_allow(struct kh_control *c, uint32_t uid)
{
	if (c)
		c->uid = uid;
}

void kh_control_free(struct kh_control *c)
{
	if (!c)
		return;
	for (int i = 0; i < MAX_CLIENTS; i++)
		if (c->cl[i].used)
			client_close(&c->cl[i]);
	kh_loop_fd_del(c->loop, c->fd);
	kh_net_close(c->fd);
	kh_fs_remove(c->path);
	free(c);
}
