/* SPDX-License-Identifier: MIT */
/*
 * A hostile engine for the root parent (tests/integration/integrity.sh):
 * the real trust-state owner, kh_priv_serve_channel() over the policy
 * store in STATE, runs as root in the parent; the child, playing a
 * compromised engine, sends the requests named on the command line, raw
 * or crafted, and prints each reply (without its view) as one JSON line.
 *
 * usage: khien-privsep-probe --state-dir STATE --trust-root ROOT [--uid UID] REQ...
 *   procs:AFTER            KH_PRIV_PROCS after that pid
 *   kill:PID:DEV:INO       KH_PRIV_KILL (DEV and INO in hex)
 *   kill-real:PID          KH_PRIV_KILL with the identity PID has now
 *   raw:TYPE:HEX           any type with any body
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "agent/policy_store.h"
#include "agent/privsep.h"
#include "agent/privsep_wire.h"
#include "lib/endian.h"
#include "platform/proc.h"

static int request(int chan, const char *req)
{
	uint8_t body[256];
	size_t len = 0;
	uint32_t type, rtype;
	uint8_t *r;
	size_t rlen;
	cJSON *j;
	char *text;

	if (!strncmp(req, "procs:", 6)) {
		type = KH_PRIV_PROCS;
		kh_put_le32(body, (uint32_t)strtoul(req + 6, NULL, 10));
		len = 4;
	} else if (!strncmp(req, "kill:", 5) || !strncmp(req, "kill-real:", 10)) {
		unsigned long long dev = 0, ino = 0;
		long pid = strtol(strchr(req, ':') + 1, NULL, 10);
		char exe[256];

		if (req[4] == '-') {
			uint64_t d, n;
			if (kh_proc_exe_id(pid, &d, &n, exe, sizeof(exe)) == 0)
				dev = d, ino = n;
		} else if (sscanf(req + 5, "%*d:%llx:%llx", &dev, &ino) != 2) {
			return -1;
		}
		type = KH_PRIV_KILL;
		kh_put_le32(body, (uint32_t)pid);
		kh_put_le64(body + 4, dev);
		kh_put_le64(body + 12, ino);
		len = 20;
	} else if (!strncmp(req, "raw:", 4)) {
		const char *h = strchr(req + 4, ':');
		type = (uint32_t)strtoul(req + 4, NULL, 10);
		for (h = h ? h + 1 : ""; h[0] && h[1] && len < sizeof(body); h += 2) {
			unsigned x;
			if (sscanf(h, "%2x", &x) != 1)
				return -1;
			body[len++] = (uint8_t)x;
		}
	} else {
		return -1;
	}
	if (kh_chan_send(chan, type, body, len) < 0 ||
	    kh_chan_recv(chan, KH_PRIV_REPLY_MAX, &rtype, &r, &rlen) < 0)
		return -1;
	j = cJSON_ParseWithLength((const char *)r, rlen);
	cJSON_DeleteItemFromObject(j, "view");
	text = cJSON_PrintUnformatted(j);
	printf("%s\n", text ? text : "null");
	fflush(stdout);
	free(text);
	cJSON_Delete(j);
	free(r);
	return 0;
}

int main(int argc, char **argv)
{
	const char *state = NULL, *root = NULL;
	struct kh_policy *policy = NULL;
	struct kh_priv *pv;
	char why[512];
	int chan, i, rc = 0;
	long child;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--state-dir") && i + 1 < argc)
			state = argv[++i];
		else if (!strcmp(argv[i], "--trust-root") && i + 1 < argc)
			root = argv[++i];
		else if (!strcmp(argv[i], "--uid") && i + 1 < argc)
			i++; /* set below, after the store is open */
		else
			return 2;
	}
	if (!state || !root) {
		fprintf(stderr, "usage: khien-privsep-probe --state-dir STATE --trust-root ROOT "
				"[--uid UID] REQ...\n");
		return 2;
	}
	if (kh_policy_open(state, root, NULL, &policy, why, sizeof(why)) < 0) {
		fprintf(stderr, "khien-privsep-probe: %s\n", why);
		return 2;
	}
	if (kh_priv_new(policy, &pv) < 0)
		return 3;
	for (int k = 1; k + 1 < argc; k++)
		if (!strcmp(argv[k], "--uid"))
			kh_priv_set_user_uid(pv, (uint32_t)strtoul(argv[k + 1], NULL, 10));
	rc = kh_proc_fork_helper(&chan, &child);
	if (rc < 0)
		return 3;
	if (rc == 0) { /* the hostile engine */
		for (; i < argc; i++)
			if (request(chan, argv[i]) < 0) {
				printf("{\"probe\": \"the owner ended the channel at %s\"}\n",
				       argv[i]);
				_exit(1);
			}
		_exit(0);
	}
	rc = kh_priv_serve_channel(pv, chan);
	printf("{\"serve\": %d, \"engine\": %d}\n", rc, kh_proc_wait_child(child));
	kh_priv_free(pv);
	return 0;
}
