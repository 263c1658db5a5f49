/* SPDX-License-Identifier: MIT */
/*
 * The owner-password helper (agent/owner.c) on its channel, on the test
 * platform's clock: first-use setup (weak refused, a second one refused),
 * the hash file (0600, yescrypt, not the password), login, the lockout (5
 * failures within 30 s lock even the right password for exactly 5
 * minutes), a change that needs the old password, and a malformed request
 * ending the helper. The helper's loop runs in a thread; the clock is
 * shared, so the test moves it between requests.
 */
#define _DEFAULT_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/owner.h"
#include "agent/privsep_wire.h"
#include "platform/test/test_platform.h"
#include "tests/unit/kt.h"

static int chan[2];
static char dir[64];
static int served = -1;

static void *helper(void *arg)
{
	(void)arg;
	served = kh_owner_serve(chan[1], dir);
	return NULL;
}

/* One request; its reply's RC, WAIT and SET. */
static int ask(uint32_t type, const char *body, size_t len, unsigned *wait, int *set)
{
	uint8_t *r;
	uint32_t rt;
	size_t rl;
	int rc = -999, w = -1, s = -1;

	if (kh_chan_send(chan[0], type, body, len) < 0 ||
	    kh_chan_recv(chan[0], 64, &rt, &r, &rl) < 0)
		return -EPIPE;
	if (rt == (type | KH_PRIV_REPLY))
		sscanf((const char *)r, "%d %d %d", &rc, &w, &s);
	free(r);
	if (wait)
		*wait = (unsigned)w;
	if (set)
		*set = s;
	return rc;
}

static int login(const char *pw)
{
	return ask(KH_OWNER_LOGIN, pw, strlen(pw), NULL, NULL);
}

static int set(const char *old, const char *pw)
{
	char b[KH_OWNER_BODY_MAX];
	size_t n = strlen(old) + 1 + strlen(pw);

	memcpy(b, old, strlen(old) + 1);
	memcpy(b + strlen(old) + 1, pw, strlen(pw));
	return ask(KH_OWNER_SET, b, n, NULL, NULL);
}

static void test_helper(void)
{
	pthread_t th;
	char path[96], hash[256] = "";
	struct stat st;
	unsigned wait;
	int isset;
	FILE *f;

	snprintf(dir, sizeof(dir), "/tmp/khien-owner.XXXXXX");
	KT_CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/owner.pw", dir);
	KT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, chan), 0);
	KT_EQ(pthread_create(&th, NULL, helper, NULL), 0);

	KT_EQ(ask(KH_OWNER_STATE, NULL, 0, &wait, &isset), 0);
	KT_EQ(isset, 0);
	KT_EQ(login("Abcdef1!"), -ENOENT);
	KT_EQ(set("", "abcdefgh"), -EINVAL); /* weak: refused by the helper too */
	KT_CHECK(stat(path, &st) < 0);
	KT_EQ(set("", "Abcdef1!"), 0);
	KT_EQ(stat(path, &st), 0);
	KT_EQ(st.st_mode & 0777, 0600);
	KT_CHECK((f = fopen(path, "r")) != NULL);
	KT_CHECK(fgets(hash, sizeof(hash), f) != NULL);
	fclose(f);
	KT_EQ(strncmp(hash, "$y$", 3), 0);
	KT_CHECK(strstr(hash, "Abcdef1!") == NULL);
	KT_EQ(set("", "Other#pass1"), -EEXIST); /* first use is over */
	KT_EQ(login("Abcdef1!"), 0);

	/* 5 failures within 30 s: locked, the right password too, for 5 minutes */
	for (int i = 0; i < 4; i++) {
		KT_EQ(login("wrong"), -EACCES);
		kh_test_clock_advance(7000);
	}
	KT_EQ(ask(KH_OWNER_LOGIN, "wrong", 5, &wait, NULL), -EACCES);
	KT_EQ(wait, 300);
	KT_EQ(login("Abcdef1!"), -EBUSY);
	KT_EQ(set("Abcdef1!", "New#pass12"), -EBUSY);
	kh_test_clock_advance(300 * 1000 - 1);
	KT_EQ(login("Abcdef1!"), -EBUSY);
	kh_test_clock_advance(1);
	KT_EQ(login("Abcdef1!"), 0);

	/* a change needs the old password, and a wrong one counts as a failure */
	KT_EQ(set("Wrong#old1", "New#pass12"), -EACCES);
	KT_EQ(set("Abcdef1!", "New#pass12"), 0);
	KT_EQ(login("Abcdef1!"), -EACCES);
	KT_EQ(login("New#pass12"), 0);

	/* a malformed request ends the helper */
	KT_EQ(kh_chan_send(chan[0], 99, NULL, 0), 0);
	KT_EQ(pthread_join(th, NULL), 0);
	KT_EQ(served, 3);
	close(chan[0]);
	close(chan[1]);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	KT_RUN(test_helper);
	return KT_DONE();
}
