/* SPDX-License-Identifier: MIT */
/*
 * Fuzz the trust-state owner's side of the privsep channel as a
 * compromised engine would drive it: any bytes as the stream of framed
 * requests (privsep_wire.h), served by kh_priv_serve_channel() over a real
 * socketpair against a policy store and the firmware state (manifests,
 * counter resets) in a scratch directory, under the fixture root. Oracles: no crash, no over-read, the loop ends (at the end
 * of the stream or on a protocol error), and every reply is a well-formed
 * frame whose JSON says rc and why.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "agent/fw_store.h"
#include "agent/policy_store.h"
#include "agent/privsep.h"
#include "agent/privsep_wire.h"
#include "lib/endian.h"
#include "lib/log.h"
#include "tests/fuzz/root_fixture.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct drain {
	int fd;
	size_t replies;
};

struct feed {
	int fd;
	const uint8_t *data;
	size_t size;
};

/* The engine's side: the whole input, then end of stream. */
static void *feed(void *arg)
{
	struct feed *f = arg;

	for (size_t off = 0; off < f->size;) {
		ssize_t n = send(f->fd, f->data + off, f->size - off, MSG_NOSIGNAL);
		if (n <= 0)
			break; /* the owner stopped reading: a protocol error ended it */
		off += (size_t)n;
	}
	shutdown(f->fd, SHUT_WR);
	return NULL;
}

/* Read the owner's replies and check each frame; abort() on a malformed one. */
static void *drain(void *arg)
{
	struct drain *d = arg;
	static uint8_t buf[KH_PRIV_REPLY_MAX + KH_PRIV_HDR_LEN];
	size_t have = 0;

	for (;;) {
		ssize_t n = read(d->fd, buf + have, sizeof(buf) - have);
		if (n <= 0)
			break;
		have += (size_t)n;
		while (have >= KH_PRIV_HDR_LEN) {
			uint32_t type = kh_le32(buf), len = kh_le32(buf + 4);
			cJSON *j;
			if (!(type & KH_PRIV_REPLY) || len > KH_PRIV_REPLY_MAX)
				abort();
			if (have < KH_PRIV_HDR_LEN + len)
				break;
			j = cJSON_ParseWithLength((const char *)buf + KH_PRIV_HDR_LEN, len);
			if (!cJSON_IsNumber(cJSON_GetObjectItem(j, "rc")) ||
			    !cJSON_IsString(cJSON_GetObjectItem(j, "why")) ||
			    !cJSON_IsObject(cJSON_GetObjectItem(j, "view")))
				abort();
			cJSON_Delete(j);
			d->replies++;
			have -= KH_PRIV_HDR_LEN + len;
			memmove(buf, buf + KH_PRIV_HDR_LEN + len, have);
		}
	}
	return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct kh_priv *pv;
	struct drain d;
	struct feed fd;
	pthread_t th, tf;
	int sv[2];

	if (!pv) {
		char dir[] = "/tmp/khien-fuzz-privsep.XXXXXX", path[64], why[256];
		struct kh_policy *p;
		FILE *f;
		kh_log_set_level(KH_LOG_ERROR);
		if (!mkdtemp(dir))
			abort();
		snprintf(path, sizeof(path), "%s/root.json", dir);
		if (!(f = fopen(path, "w")) || fputs(root_json, f) < 0 || fclose(f) != 0)
			abort();
		struct kh_fw_store *fw;
		if (kh_policy_open(dir, path, "hw-1", &p, why, sizeof(why)) < 0 ||
		    kh_priv_new(p, &pv) < 0 ||
		    kh_fw_store_open(dir, kh_policy_root(p), "hw-1", &fw) < 0)
			abort();
		kh_priv_set_firmware(pv, fw); /* firmware requests too (types 3-5) */
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		abort();
	d = (struct drain){sv[1], 0};
	fd = (struct feed){sv[1], data, size};
	if (pthread_create(&th, NULL, drain, &d) != 0 || pthread_create(&tf, NULL, feed, &fd) != 0)
		abort();
	kh_priv_serve_channel(pv, sv[0]);
	shutdown(sv[0], SHUT_RDWR); /* both threads see the end */
	pthread_join(tf, NULL);
	pthread_join(th, NULL);
	close(sv[0]);
	close(sv[1]);
	return 0;
}
