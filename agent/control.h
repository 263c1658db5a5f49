/* SPDX-License-Identifier: MIT */
/*
 * The agent's local control channel: khienctl connects to a Unix socket,
 * sends one JSON request line ({"cmd": "status"}) and reads one JSON answer
 * line. The socket file is mode 0660 (owner root or the daemon, group from
 * the config) and every peer's credentials are checked again on accept.
 */
#ifndef KHIEN_AGENT_CONTROL_H
#define KHIEN_AGENT_CONTROL_H

#include <stdint.h>

#include "platform/loop.h"

struct cJSON;
struct kh_control;

#define KH_CONTROL_REQ_MAX 4096

/* Descriptors one request may carry (SCM_RIGHTS): an image and its manifest. */
#define KH_CONTROL_FDS 2

/*
 * Handle one request; fill resp (an object). The request object is owned by
 * the caller. fd[] are descriptors the client passed with its request, in
 * order (files it opened itself), or -1; the caller closes them afterwards,
 * except one the handler keeps by setting its entry to -1. Set "ok": false
 * and "error" in resp for failures.
 */
typedef void (*kh_control_fn)(void *arg, const struct cJSON *req, int fd[KH_CONTROL_FDS],
			      struct cJSON *resp);

/*
 * Listen on path (refused with -EADDRINUSE while another daemon serves it).
 * group may be NULL or empty; else the socket file gets that group and its
 * members (primary or supplementary) may connect. -ENOENT for an unknown
 * group.
 */
int kh_control_new(struct kh_loop *loop, const char *path, const char *group, kh_control_fn fn,
		   void *arg, struct kh_control **out);
/* Besides root and the control group: the daemon's own user, once privileges are dropped. */
void kh_control_allow(struct kh_control *c, uint32_t uid);
void kh_control_free(struct kh_control *c);

#endif
