/* SPDX-License-Identifier: MIT */
/*
 * Process-level services a daemon needs: dropping privileges after binding
 * privileged ports, detaching from the terminal, and the user and group
 * the agent runs as. An RTOS backend implements what applies (usually
 * nothing: one address space, no users).
 */
#ifndef KHIEN_PLATFORM_PROC_H
#define KHIEN_PLATFORM_PROC_H

#include <stdint.h>

/*
 * Switch to user (its primary group, no supplementary groups) and forbid
 * regaining privileges (no_new_privs, no capabilities). A NULL or empty user,
 * or a process that is not root, keeps its identity. -ENOENT for an unknown
 * user; any other failure is fatal to the caller (fail closed).
 */
int kh_proc_drop_privileges(const char *user);

/* Detach: fork, setsid, chdir /, stdio to /dev/null. Returns 0 in the child. */
int kh_proc_daemonize(void);

/* 1 if the process runs with root privileges. */
int kh_proc_is_root(void);

/*
 * Raise the open-file limit towards want (a server's connections); returns
 * the limit now in force, which may be lower when the hard limit is.
 */
unsigned kh_proc_raise_fd_limit(unsigned want);

/* uid and gid of a user name; -ENOENT if unknown. */
int kh_proc_user_ids(const char *user, uint32_t *uid, uint32_t *gid);

#endif
