/* SPDX-License-Identifier: MIT */
/*
 * An RTOS gateway has no file system to audit: every file rule is
 * "missing" and the audit reads what the board reports (platform/fact.h).
 */
#include <errno.h>

#include "platform/fsroot.h"
#include "platform/watch.h"

int kh_fsroot_open(const char *dir, struct kh_fsroot **out)
{
	(void)dir;
	*out = NULL;
	return -ENOTSUP;
}

void kh_fsroot_close(struct kh_fsroot *r)
{
	(void)r;
}

int kh_fsroot_stat(struct kh_fsroot *r, const char *path, int follow, struct kh_fs_stat *st)
{
	(void)r, (void)path, (void)follow, (void)st;
	return -ENOENT;
}

int kh_fsroot_read(struct kh_fsroot *r, const char *path, size_t max, uint8_t **buf, size_t *len)
{
	(void)r, (void)path, (void)max, (void)buf, (void)len;
	return -ENOENT;
}

int kh_fsroot_stream(struct kh_fsroot *r, const char *path, uint64_t max, kh_fsroot_chunk_fn fn,
		     void *ctx)
{
	(void)r, (void)path, (void)max, (void)fn, (void)ctx;
	return -ENOENT;
}

int kh_fsroot_readlink(struct kh_fsroot *r, const char *path, char *buf, size_t size)
{
	(void)r, (void)path, (void)buf, (void)size;
	return -ENOENT;
}

int kh_fsroot_list(struct kh_fsroot *r, const char *path, size_t max, kh_fsroot_entry_fn fn,
		   void *ctx)
{
	(void)r, (void)path, (void)max, (void)fn, (void)ctx;
	return -ENOENT;
}

int kh_fsdir_open(struct kh_fsroot *r, const char *path, int trusted_only, struct kh_fsdir **out,
		  struct kh_fs_stat *st)
{
	(void)r, (void)path, (void)trusted_only, (void)st;
	*out = NULL;
	return -ENOENT;
}

int kh_fsdir_stat(struct kh_fsdir *d, const char *name, struct kh_fs_stat *st)
{
	(void)d, (void)name, (void)st;
	return -ENOENT;
}

int kh_fsdir_sub(struct kh_fsdir *d, const char *name, const struct kh_fs_stat *seen,
		 struct kh_fsdir **out)
{
	(void)d, (void)name, (void)seen;
	*out = NULL;
	return -ENOENT;
}

int kh_fsdir_stream(struct kh_fsdir *d, const char *name, const struct kh_fs_stat *seen,
		    uint64_t max, kh_fsroot_chunk_fn fn, void *ctx)
{
	(void)d, (void)name, (void)seen, (void)max, (void)fn, (void)ctx;
	return -ENOENT;
}

int kh_fsdir_readlink(struct kh_fsdir *d, const char *name, char *buf, size_t size)
{
	(void)d, (void)name, (void)buf, (void)size;
	return -ENOENT;
}

int kh_fsdir_list(struct kh_fsdir *d, size_t max, kh_fsroot_entry_fn fn, void *ctx)
{
	(void)d, (void)max, (void)fn, (void)ctx;
	return -ENOENT;
}

void kh_fsdir_close(struct kh_fsdir *d)
{
	(void)d;
}

int kh_fs_uid_trusted(uint32_t uid)
{
	return uid == 0;
}

int kh_fs_dir_trusted(const struct kh_fs_stat *st)
{
	(void)st;
	return 0;
}

int kh_crypt_matches(const char *password, const char *hash)
{
	(void)password, (void)hash;
	return 0;
}

int kh_crypt_hash(const char *password, unsigned cost, char *out, size_t cap)
{
	(void)password, (void)cost, (void)out, (void)cap;
	return -ENOTSUP;
}

/* no file system, nothing to watch (platform/watch.h) */
int kh_watch_new(struct kh_watch **out)
{
	*out = NULL;
	return -ENOTSUP;
}

void kh_watch_free(struct kh_watch *w)
{
	(void)w;
}

int kh_watch_add(struct kh_watch *w, const char *path)
{
	(void)w, (void)path;
	return -ENOTSUP;
}

int kh_watch_fd(const struct kh_watch *w)
{
	(void)w;
	return -1;
}

int kh_watch_drain(struct kh_watch *w)
{
	(void)w;
	return 0;
}
