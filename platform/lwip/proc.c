/* SPDX-License-Identifier: MIT */
/*
 * Process services on an RTOS: one address space, no users, no terminal.
 * Dropping privileges and detaching have nothing to do; the agent runs as
 * the firmware's task.
 */
#include "lib/compiler.h"
#include "lib/err.h"
#include "platform/proc.h"

int kh_proc_drop_privileges(const char *user)
{
	(void)user;
	return 0;
}

int kh_proc_drop_privileges_keep(const char *user, unsigned keep)
{
	(void)user;
	(void)keep;
	return -ENOTSUP;
}

int kh_proc_daemonize(void)
{
	return 0;
}

int kh_proc_is_root(void)
{
	return 0;
}

unsigned kh_proc_raise_fd_limit(unsigned want)
{
	return want < CONFIG_LWIP_MAX_SOCKETS ? want : CONFIG_LWIP_MAX_SOCKETS;
}

int kh_proc_user_ids(const char *user, uint32_t *uid, uint32_t *gid)
{
	(void)user;
	*uid = 0;
	*gid = 0;
	return 0;
}

int kh_proc_group_id(const char *group, uint32_t *gid)
{
	(void)group;
	*gid = 0;
	return 0;
}

long kh_proc_pid(void)
{
	return 1;
}

int kh_proc_fork_split(int *chan, long *child)
{
	(void)chan;
	(void)child;
	return -ENOTSUP;
}

int kh_proc_fork_helper(int *chan, long *child)
{
	(void)chan;
	(void)child;
	return -ENOTSUP;
}

int kh_proc_chan_write(int chan, const void *buf, size_t len)
{
	(void)chan;
	(void)buf;
	(void)len;
	return -ENOTSUP;
}

int kh_proc_chan_read(int chan, void *buf, size_t len)
{
	(void)chan;
	(void)buf;
	(void)len;
	return -ENOTSUP;
}

int kh_proc_forbid_fork(void)
{
	return 0;
}

void kh_proc_close_fds_except(int keep)
{
	(void)keep;
}

void kh_proc_kill(long child)
{
	(void)child;
}

int kh_proc_wait_child(long child)
{
	(void)child;
	return -ENOTSUP;
}

int kh_proc_list(uint32_t skip_uid, long after, struct kh_proc_info *out, unsigned max, unsigned *n,
		 long *next)
{
	(void)skip_uid;
	(void)after;
	(void)out;
	(void)max;
	*n = 0;
	*next = 0;
	return -ENOTSUP;
}

int kh_proc_exe_id(long pid, uint64_t *dev, uint64_t *ino, char *exe, size_t len)
{
	(void)pid;
	(void)exe;
	(void)len;
	(void)dev;
	(void)ino;
	return -ENOTSUP;
}

int kh_proc_kill_checked(long pid, uint64_t dev, uint64_t ino,
			 const char *(*suspicious)(const char *exe, int deleted), char *why,
			 size_t whylen)
{
	(void)suspicious;
	(void)pid;
	(void)dev;
	(void)ino;
	if (why && whylen)
		why[0] = 0;
	return -ENOTSUP;
}
