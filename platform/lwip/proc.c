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
