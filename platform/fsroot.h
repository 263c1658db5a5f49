/* SPDX-License-Identifier: MIT */
/*
 * Read-only inspection of a file system confined to a root directory, as
 * the configuration audit sees a device: the live "/" or an unpacked
 * firmware image. Every path is resolved inside the root as in a chroot:
 * ".." stops at the root and an absolute symbolic link starts again from
 * it, so nothing in the image can make the auditor read outside it.
 * Resolution walks one component at a time on descriptors (O_NOFOLLOW), so
 * a link swapped in during the walk is seen as a link, never followed.
 * Nothing here writes, and nothing opens a FIFO or device for reading.
 */
#ifndef KHIEN_PLATFORM_FSROOT_H
#define KHIEN_PLATFORM_FSROOT_H

#include <stddef.h>
#include <stdint.h>

struct kh_fsroot;

enum kh_fs_type {
	KH_FS_OTHER = 0,
	KH_FS_FILE,
	KH_FS_DIR,
	KH_FS_LINK,
};

struct kh_fs_stat {
	enum kh_fs_type type;
	uint32_t mode; /* permission bits and set-id/sticky (07777) */
	uint32_t uid, gid;
	uint64_t size;
	uint64_t dev, ino; /* identity: what was stat-ed is what gets opened */
	uint32_t nlink;
};

/* Limits of a walk: more symbolic links than this on one path is -ELOOP. */
#define KH_FSROOT_MAX_LINKS 40
#define KH_FSROOT_MAX_PATH 1024

/* Open dir as a root; -ENOENT/-ENOTDIR if it is not a directory. */
int kh_fsroot_open(const char *dir, struct kh_fsroot **out);
void kh_fsroot_close(struct kh_fsroot *r);

/*
 * Status of path (absolute, inside the root). follow: a link in the last
 * component is resolved (inside the root) instead of described. -ENOENT
 * when missing, -ELOOP for a link loop, -ENAMETOOLONG.
 */
int kh_fsroot_stat(struct kh_fsroot *r, const char *path, int follow, struct kh_fs_stat *st);

/*
 * Read the regular file at path (links followed inside the root) into a
 * new NUL-terminated buffer, at most max bytes: a longer file is -E2BIG,
 * checked before and while reading (files under /proc have no size). A
 * FIFO, device or socket is -EINVAL. Free *buf with free().
 */
int kh_fsroot_read(struct kh_fsroot *r, const char *path, size_t max, uint8_t **buf, size_t *len);

/*
 * Read the regular file at path as kh_fsroot_read() does, but in chunks
 * handed to fn (no whole-file buffer: hashing an executable of several
 * MiB). More than max bytes is -E2BIG (fn has then seen the first ones).
 */
typedef void (*kh_fsroot_chunk_fn)(void *ctx, const uint8_t *data, size_t len);
int kh_fsroot_stream(struct kh_fsroot *r, const char *path, uint64_t max, kh_fsroot_chunk_fn fn,
		     void *ctx);

/* The target text of the link at path (not resolved); -EINVAL if not a link. */
int kh_fsroot_readlink(struct kh_fsroot *r, const char *path, char *buf, size_t size);

/*
 * Call fn for each entry of the directory path (not "." or ".."), in
 * directory order, at most max entries (then -E2BIG after the calls). fn
 * returns nonzero to stop early (that value is returned).
 */
typedef int (*kh_fsroot_entry_fn)(void *ctx, const char *name);
int kh_fsroot_list(struct kh_fsroot *r, const char *path, size_t max, kh_fsroot_entry_fn fn,
		   void *ctx);

/*
 * A directory held open, for walks that must not re-resolve names by
 * path: each name is looked up in it without following a link, and what
 * is opened must be what was stat-ed (same device and inode), so a
 * directory swapped for a link between listing and visiting is seen as
 * the link, never followed (the baseline walk of a root-read auditor).
 */
struct kh_fsdir;

/*
 * Open the directory at path (links followed inside the root, as
 * kh_fsroot_list). trusted_only: every directory the resolution looks a
 * name up in must be trusted or sticky (kh_fs_dir_trusted, the sticky
 * /tmp passes), a link is followed only out of a directory nobody else
 * can write, else -EPERM. st (may be NULL) gets the directory's status.
 */
int kh_fsdir_open(struct kh_fsroot *r, const char *path, int trusted_only, struct kh_fsdir **out,
		  struct kh_fs_stat *st);
/* The entry name of d (never followed). "." is d itself. */
int kh_fsdir_stat(struct kh_fsdir *d, const char *name, struct kh_fs_stat *st);
/* The subdirectory name of d, which must be the one seen (else -ESTALE), not a link. */
int kh_fsdir_sub(struct kh_fsdir *d, const char *name, const struct kh_fs_stat *seen,
		 struct kh_fsdir **out);
/* kh_fsroot_stream of the regular file name of d: not a link, the one seen (else -ESTALE). */
int kh_fsdir_stream(struct kh_fsdir *d, const char *name, const struct kh_fs_stat *seen,
		    uint64_t max, kh_fsroot_chunk_fn fn, void *ctx);
int kh_fsdir_readlink(struct kh_fsdir *d, const char *name, char *buf, size_t size);
/* kh_fsroot_list of d itself. */
int kh_fsdir_list(struct kh_fsdir *d, size_t max, kh_fsroot_entry_fn fn, void *ctx);
void kh_fsdir_close(struct kh_fsdir *d);

/*
 * Whether st (a directory) is one only root or this process's user can
 * change: owned by one of them and writable by neither group nor others.
 * 2 for a sticky directory of theirs others can write (/tmp): its own
 * entries cannot be renamed by others, but anyone may add new ones.
 */
int kh_fs_dir_trusted(const struct kh_fs_stat *st);
/* Whether uid is root or this process's user. */
int kh_fs_uid_trusted(uint32_t uid);

/*
 * 1 if password matches the crypt(3) hash (any scheme the C library knows:
 * $1$, $5$, $6$, yescrypt), 0 if not or the scheme is unknown, -E2BIG when
 * the hash asks for more work than an audit pays (bcrypt cost above 12,
 * sha-crypt above 100,000 rounds, yescrypt or scrypt above the defaults'
 * order), other negative errno on failure. Compared in constant time.
 */
int kh_crypt_matches(const char *password, const char *hash);

/*
 * A new crypt(3) hash of password with a fresh random salt: yescrypt at
 * cost (libxcrypt's 1..11, log2 of its work; 0 its default) into out.
 * 0, -ENOTSUP where the platform has no crypt(3), other negative errno.
 */
int kh_crypt_hash(const char *password, unsigned cost, char *out, size_t cap);

#endif
