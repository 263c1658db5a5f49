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

static int set_type(uint32_t type, const char *old, const char *pw)
{
	char b[KH_OWNER_BODY_MAX];
	size_t n = strlen(old) + 1 + strlen(pw);

	memcpy(b, old, strlen(old) + 1);
	memcpy(b + strlen(old) + 1, pw, strlen(pw));
	return ask(type, b, n, NULL, NULL);
}

static int set(const char *old, const char *pw)
{
	return set_type(KH_OWNER_SET, old, pw);
}

/* First use: the setup code, then the first password. */
static int setup(const char *code, const char *pw)
{
	return set_type(KH_OWNER_SETUP, code, pw);
}

static void read_line(const char *path, char *out, size_t cap)
{
	FILE *f = fopen(path, "r");

	out[0] = 0;
	if (f) {
		if (!fgets(out, (int)cap, f))
			out[0] = 0;
		fclose(f);
	}
	out[strcspn(out, "\n")] = 0;
}

static pthread_t start(void)
{
	pthread_t th;

	KT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, chan), 0);
	KT_EQ(pthread_create(&th, NULL, helper, NULL), 0);
	return th;
}

static void stop(pthread_t th)
{
	close(chan[0]);
	KT_EQ(pthread_join(th, NULL), 0);
	close(chan[1]);
}

static void test_helper(void)
{
	pthread_t th;
	char path[96], hash[256] = "", code_path[96], lock_path[96], code[32], code2[32];
	struct stat st;
	unsigned wait;
	int isset;
	FILE *f;

	snprintf(dir, sizeof(dir), "/tmp/khien-owner.XXXXXX");
	KT_CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/owner.pw", dir);
	snprintf(code_path, sizeof(code_path), "%s/setup.code", dir);
	snprintf(lock_path, sizeof(lock_path), "%s/owner.lock", dir);
	th = start();

	KT_EQ(ask(KH_OWNER_STATE, NULL, 0, &wait, &isset), 0);
	KT_EQ(isset, 0);
	/* no password: a setup code, 10 characters of the unambiguous alphabet, 0600 */
	KT_EQ(stat(code_path, &st), 0);
	KT_EQ(st.st_mode & 0777, 0600);
	read_line(code_path, code, sizeof(code));
	KT_EQ(strlen(code), 10);
	KT_EQ(strspn(code, "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"), 10);
	KT_EQ(login("Abcdef1!"), -ENOENT);
	KT_EQ(setup(code, "abcdefgh"), -EINVAL); /* weak: refused by the helper too */
	KT_EQ(set("", "Abcdef1!"), -ENOENT);	 /* a change needs a password to change */
	KT_EQ(setup("", "Abcdef1!"), -EACCES);	 /* no code, a wrong one: refused */
	KT_EQ(setup("ABCDEFGHJK", "Abcdef1!"), -EACCES);
	KT_CHECK(stat(path, &st) < 0);
	/* a restart keeps the code (it may be on a sticker) */
	stop(th);
	th = start();
	read_line(code_path, code2, sizeof(code2));
	KT_STREQ(code2, code);
	/* typed in lower case with a dash: the same code */
	for (char *c = code2; *c; c++)
		if (*c >= 'A' && *c <= 'Z')
			*c = (char)(*c - 'A' + 'a');
	memmove(code2 + 6, code2 + 5, 6);
	code2[5] = '-';
	KT_EQ(setup(code2, "Abcdef1!"), 0);
	KT_CHECK(stat(code_path, &st) < 0); /* used once: gone */
	KT_EQ(setup(code, "Other#pass1"), -EEXIST);
	KT_EQ(stat(path, &st), 0);
	KT_EQ(st.st_mode & 0777, 0600);
	KT_CHECK((f = fopen(path, "r")) != NULL);
	KT_CHECK(fgets(hash, sizeof(hash), f) != NULL);
	fclose(f);
	KT_EQ(strncmp(hash, "$y$", 3), 0);
	KT_CHECK(strstr(hash, "Abcdef1!") == NULL);
	KT_EQ(set("", "Other#pass1"), -EACCES); /* first use is over */
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
	/* the lock is kept (0600) and a restart does not lift it */
	KT_EQ(stat(lock_path, &st), 0);
	KT_EQ(st.st_mode & 0777, 0600);
	stop(th);
	th = start();
	KT_EQ(login("Abcdef1!"), -EBUSY);
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
	/* a damaged lockout file is refused: logins are locked, not opened */
	KT_CHECK((f = fopen(lock_path, "w")) != NULL);
	fputs("khien-lock 1 garbage\n", f);
	fclose(f);
	chmod(lock_path, 0600);
	th = start();
	KT_EQ(ask(KH_OWNER_LOGIN, "New#pass12", 10, &wait, NULL), -EBUSY);
	KT_EQ(wait, 300);
	stop(th);
	/* so is one that others may read */
	kh_test_clock_advance(300 * 1000);
	KT_EQ(chmod(lock_path, 0644), 0);
	th = start();
	KT_EQ(login("New#pass12"), -EBUSY);
	stop(th);
	kh_test_clock_advance(301 * 1000); /* whole seconds, rounded up over a restart */
	th = start();
	KT_EQ(login("New#pass12"), 0);
	stop(th);
	unlink(path);
	unlink(lock_path);
	rmdir(dir);
}

int main(void)
{
	KT_RUN(test_helper);
	return KT_DONE();
}
