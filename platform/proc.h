/* SPDX-License-Identifier: MIT */
/*
 * Process-level services a daemon needs: dropping privileges after binding
 * privileged ports, detaching from the terminal, and the user and group
 * the agent runs as. An RTOS backend implements what applies (usually
 * nothing: one address space, no users).
 */
#ifndef KHIEN_PLATFORM_PROC_H
#define KHIEN_PLATFORM_PROC_H

#include <stddef.h>
#include <stdint.h>

/*
 * Switch to user (its primary group, no supplementary groups) and forbid
 * regaining privileges (no_new_privs, no capabilities). A NULL or empty user,
 * or a process that is not root, keeps its identity. -ENOENT for an unknown
 * user; any other failure is fatal to the caller (fail closed).
 */
int kh_proc_drop_privileges(const char *user);

/*
 * kh_proc_drop_privileges() keeping one power of root: KH_PROC_KEEP_READ_ALL
 * reads any file and lists any directory (CAP_DAC_READ_SEARCH, for the
 * auditor, which must read /etc/shadow) and nothing else; no write, no
 * other capability, none regained. -ENOTSUP where there are no capabilities.
 */
#define KH_PROC_KEEP_READ_ALL 1u
int kh_proc_drop_privileges_keep(const char *user, unsigned keep);

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

/* gid of a group name; -ENOENT if unknown. */
int kh_proc_group_id(const char *group, uint32_t *gid);

/* This process's id (for status output and logs). */
long kh_proc_pid(void);
/*
 * Give freed heap memory back to the system (glibc keeps it for reuse: a
 * server that held 10,000 connections would keep their RSS for ever). A
 * no-op where the allocator returns memory itself (musl).
 */
void kh_proc_mem_trim(void);
/* This machine's host name (NUL-terminated, truncated to len - 1). 0 or negative errno. */
int kh_proc_hostname(char *buf, size_t len);

/*
 * Privilege separation: fork a child joined to this process by a private
 * stream channel (a socketpair). Returns 1 in the parent, with the child's
 * pid in *child; 0 in the child; negative errno on failure. Both get their
 * end of the channel in *chan. The child is killed (SIGKILL) if the parent
 * dies; in the parent, SIGTERM, SIGINT and SIGHUP are passed on to the
 * child, so a supervisor that signals the parent reaches the engine.
 * -ENOTSUP where there is one address space (RTOS).
 */
int kh_proc_fork_split(int *chan, long *child);

/* A helper child on a channel, as kh_proc_fork_split() but signals stay this process's own. */
int kh_proc_fork_helper(int *chan, long *child);

/*
 * Blocking, whole-buffer I/O on the channel (interrupted calls resumed).
 * 0 on success; -EPIPE when the other side has gone (end of stream, also
 * in the middle of a buffer); other negative errno.
 */
int kh_proc_chan_write(int chan, const void *buf, size_t len);
int kh_proc_chan_read(int chan, void *buf, size_t len);

/* From now on this process may not create processes (RLIMIT_NPROC 0); 0 or negative errno. */
int kh_proc_forbid_fork(void);

/* Close every descriptor above stderr except keep (the parent of a split). */
void kh_proc_close_fds_except(int keep);

/* Stop child at once (SIGKILL): it broke the protocol with its parent. */
void kh_proc_kill(long child);

/* Wait for child to end: its exit status, or 128 + the signal that killed it. */
int kh_proc_wait_child(long child);

/*
 * Other users' processes, for the root parent (docs/INTEGRITY.md): only
 * what identifies a process's executable, nothing of its memory,
 * environment or arguments. Strings are cut to their fields and bytes
 * outside printable ASCII (and '"', '\\') become '?'.
 */
#define KH_PROC_LIST_MAX 128 /* processes in one answer */
#define KH_PROC_EXE_MAX 255  /* bytes of an exe link's target kept */
#define KH_PROC_PID_MAX 4194304L
struct kh_proc_info {
	long pid, ppid;
	uint32_t uid;
	char comm[16];
	char exe[KH_PROC_EXE_MAX + 1]; /* readlink of /proc/PID/exe, " (deleted)" included */
	int deleted;		       /* the executable has no name left (st_nlink 0) */
	int exe_ro;		       /* it is on a read-only mount (the firmware image) */
	uint64_t dev, ino;	       /* the executable's identity */
};
/*
 * Processes with pid > after whose real uid is not skip_uid and that have
 * an executable (no kernel threads), in pid order, at most max (<=
 * KH_PROC_LIST_MAX). *next: the last pid listed when more remain, else 0.
 * 0 or negative errno (-ENOTSUP without /proc).
 */
int kh_proc_list(uint32_t skip_uid, long after, struct kh_proc_info *out, unsigned max, unsigned *n,
		 long *next);
/*
 * The identity (device, inode) of pid's executable and its link text
 * (exe, cut to len - 1, not made printable): 0 or negative errno.
 */
int kh_proc_exe_id(long pid, uint64_t *dev, uint64_t *ino, char *exe, size_t len);
/*
 * SIGKILL pid only if it is still the process that was reported: a pidfd
 * is opened first, then its executable must still be (dev, ino), not on a
 * read-only mount, and the process not pid 1, not self and not a child of
 * self, and suspicious(exe link text, deleted) must say so (non-NULL); the
 * signal goes through the pidfd, so a pid reused meanwhile is never hit. 0 (killed), -ESRCH (gone), -ESTALE (another executable),
 * -EPERM (protected) with why, or another negative errno.
 */
int kh_proc_kill_checked(long pid, uint64_t dev, uint64_t ino,
			 const char *(*suspicious)(const char *exe, int deleted), char *why,
			 size_t whylen);

#endif
