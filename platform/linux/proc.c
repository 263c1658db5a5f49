/* SPDX-License-Identifier: MIT */
/* Linux process services: privilege drop (setgroups/setgid/setuid, no_new_privs), daemonize. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "platform/proc.h"

int kh_proc_is_root(void)
{
	return geteuid() == 0;
}

unsigned kh_proc_raise_fd_limit(unsigned want)
{
	struct rlimit r;

	if (getrlimit(RLIMIT_NOFILE, &r) < 0)
		return 0;
	if (r.rlim_cur < want) {
		r.rlim_cur = r.rlim_max != RLIM_INFINITY && r.rlim_max < want ? r.rlim_max : want;
		if (setrlimit(RLIMIT_NOFILE, &r) < 0)
			getrlimit(RLIMIT_NOFILE, &r);
	}
	return r.rlim_cur > 0xffffffffu ? 0xffffffffu : (unsigned)r.rlim_cur;
}

int kh_proc_user_ids(const char *user, uint32_t *uid, uint32_t *gid)
{
	struct passwd *pw = getpwnam(user);

	if (!pw)
		return -ENOENT;
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	return 0;
}

int kh_proc_drop_privileges(const char *user)
{
	uint32_t uid, gid;
	int err;

	if (!user || !*user || geteuid() != 0)
		goto nnp;
	if ((err = kh_proc_user_ids(user, &uid, &gid)) < 0)
		return err;
	if (setgroups(0, NULL) < 0 || setresgid(gid, gid, gid) < 0 || setresuid(uid, uid, uid) < 0)
		return -errno;
	/* Must not be able to get root back. */
	if (setuid(0) == 0 && uid != 0)
		return -EPERM;
nnp:
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	return 0;
}

int kh_proc_daemonize(void)
{
	pid_t pid = fork();
	int fd;

	if (pid < 0)
		return -errno;
	if (pid > 0)
		_exit(0);
	if (setsid() < 0)
		return -errno;
	if (chdir("/") < 0)
		return -errno;
	fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (fd >= 0) {
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		if (fd > 2)
			close(fd);
	}
	return 0;
}
