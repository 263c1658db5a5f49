/* SPDX-License-Identifier: MIT */
/*
 * An RTOS gateway has no file system to audit: every file rule is
 * "missing" and the audit reads what the board reports (platform/fact.h).
 */
#include <errno.h>

#include "platform/fsroot.h"

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

int kh_crypt_matches(const char *password, const char *hash)
{
	(void)password, (void)hash;
	return 0;
}
