/* SPDX-License-Identifier: MIT */
/*
 * platform/fs.h on the lwIP backend: files are values in the flash
 * key-value log (kvlog.h), named by their normalised path. What each call
 * becomes, and why it keeps fs.h's promises:
 * - kh_fs_write_atomic: one SET record. The record is all-or-nothing by
 *   its CRC, and written before the call returns, so it is also durable;
 *   mode is ignored (there are no users or permissions).
 * - kh_fs_append: one APPEND record per call, on flash when it returns
 *   (all of it, or after a power cut none of it). Nothing is buffered in
 *   RAM, so kh_fs_sync has nothing left to do and returns 0.
 * - kh_fs_map: a heap copy. With kh_fs_lwip_direct_maps(1), a pointer
 *   into the flash when the board says it is memory-mapped and the value
 *   lies in one piece (a value written with kh_fs_write_atomic, or any
 *   value after a compaction). A direct map pins its bank: the second
 *   compaction after it fails with -EBUSY until it is released (kvlog.h).
 *   The agent holds its blocklist map until the next policy while the
 *   event journal keeps writing, so it would wedge the store: off unless a
 *   board keeps large values elsewhere.
 * - kh_fs_remove: a DELETE record (nothing if missing).
 * - kh_fs_mkdir_p, kh_fs_dir_own: nothing to do; directories are implied by
 *   the paths and there are no owners.
 * Paths: leading and repeated slashes and "." components are dropped and
 * ".." removes the component before it, so "/STATE//policy/./active" is
 * the key "STATE/policy/active". Keys are at most 255 bytes
 * (-ENAMETOOLONG). A key is never also a directory here: kh_fs_read of
 * "STATE" is -ENOENT, not -EISDIR.
 */
#include <stdlib.h>
#include <string.h>

#include "lib/err.h"
#include "lib/log.h"
#include "platform/fs.h"
#include "platform/lwip/fs_lwip.h"
#include "platform/lwip/kvlog.h"

static struct kh_kvlog *store;

struct kh_fs_file {
	char key[KH_KVLOG_KEY_MAX + 1];
};

int kh_fs_lwip_mount(struct kh_flash *f)
{
	struct kh_kvlog_stat st;
	int err;

	kh_fs_lwip_unmount();
	if ((err = kh_kvlog_open(f, NULL, &store)) < 0)
		return err;
	kh_kvlog_stat(store, &st);
	if (st.formatted)
		log_notice("store: no valid bank on flash, formatted an empty store");
	else if (st.repaired)
		log_warn("store: cut off a torn or corrupt tail (a power loss during a write?)");
	return 0;
}

void kh_fs_lwip_unmount(void)
{
	kh_kvlog_free(store);
	store = NULL;
}

/* path -> key (KH_KVLOG_KEY_MAX + 1 bytes); see the top of this file. */
static int path_key(const char *path, char *key)
{
	const char *p = path;
	size_t n = 0;

	if (!store)
		return -ENODEV;
	if (!path)
		return -EINVAL;
	while (*p) {
		const char *s;
		size_t l;
		while (*p == '/')
			p++;
		s = p;
		while (*p && *p != '/')
			p++;
		l = (size_t)(p - s);
		if (l == 0 || (l == 1 && s[0] == '.'))
			continue;
		if (l == 2 && s[0] == '.' && s[1] == '.') {
			if (n == 0)
				return -EINVAL;
			while (n > 0 && key[n - 1] != '/')
				n--;
			if (n > 0)
				n--;
			continue;
		}
		if (n + (n > 0) + l > KH_KVLOG_KEY_MAX)
			return -ENAMETOOLONG;
		if (n > 0)
			key[n++] = '/';
		memcpy(key + n, s, l);
		n += l;
	}
	if (n == 0)
		return -EINVAL;
	key[n] = 0;
	return 0;
}

int kh_fs_read(const char *path, size_t max, uint8_t **buf, size_t *len)
{
	char key[KH_KVLOG_KEY_MAX + 1];
	uint8_t *b;
	size_t size;
	int err;

	if ((err = path_key(path, key)) < 0 || (err = kh_kvlog_size(store, key, &size)) < 0)
		return err;
	if (size > max)
		return -E2BIG;
	if (!(b = malloc(size + 1)))
		return -ENOMEM;
	if ((err = kh_kvlog_read(store, key, 0, b, size)) < 0) {
		free(b);
		return err;
	}
	b[size] = 0;
	*buf = b;
	*len = size;
	return 0;
}

int kh_fs_write_atomic(const char *path, const void *data, size_t len, unsigned mode)
{
	char key[KH_KVLOG_KEY_MAX + 1];
	int err;

	(void)mode;
	if ((err = path_key(path, key)) < 0)
		return err;
	return kh_kvlog_set(store, key, data, len);
}

static int g_direct;

void kh_fs_lwip_direct_maps(int on)
{
	g_direct = on;
}

int kh_fs_map(const char *path, size_t max, struct kh_fs_map *map)
{
	char key[KH_KVLOG_KEY_MAX + 1];
	const uint8_t *p;
	uint8_t *b;
	size_t size;
	int err;

	memset(map, 0, sizeof(*map));
	if ((err = path_key(path, key)) < 0 || (err = kh_kvlog_size(store, key, &size)) < 0)
		return err;
	if (size == 0)
		return -EBADMSG;
	if (size > max)
		return -E2BIG;
	if (g_direct && kh_kvlog_pin(store, key, &p, &size) == 0) {
		map->data = p;
		map->len = size;
		map->mapped = 1;
		return 0;
	}
	if (!(b = malloc(size)))
		return -ENOMEM;
	if ((err = kh_kvlog_read(store, key, 0, b, size)) < 0) {
		free(b);
		return err;
	}
	map->data = b;
	map->len = size;
	return 0;
}

void kh_fs_unmap(struct kh_fs_map *map)
{
	if (!map || !map->data)
		return;
	if (map->mapped)
		kh_kvlog_unpin(store, map->data);
	else
		free((void *)(uintptr_t)map->data);
	memset(map, 0, sizeof(*map));
}

int kh_fs_remove(const char *path)
{
	char key[KH_KVLOG_KEY_MAX + 1];
	int err;

	if ((err = path_key(path, key)) < 0)
		return err;
	return kh_kvlog_delete(store, key);
}

int kh_fs_dir_own(const char *path, uint32_t uid, uint32_t gid, unsigned mode)
{
	(void)path;
	(void)uid;
	(void)gid;
	(void)mode;
	return 0;
}

/* One owner (the firmware) and directories implied by keys: every directory is "ours". */
int kh_fs_dir_owner(const char *path, uint32_t *uid, unsigned *mode)
{
	(void)path;
	*uid = 0;
	*mode = 0755;
	return 0;
}

int kh_fs_file_owner(const char *path, uint32_t *uid, unsigned *mode)
{
	(void)path;
	*uid = 0;
	*mode = 0644;
	return 0;
}

/* One owner: every record is the firmware's own. */
int kh_fs_read_private(const char *path, uint32_t uid, size_t max, uint8_t **buf, size_t *len)
{
	(void)uid;
	return kh_fs_read(path, max, buf, len);
}

int kh_fs_rename(const char *from, const char *to)
{
	(void)from;
	(void)to;
	return -ENOTSUP;
}

int kh_fs_open_read(const char *path)
{
	(void)path;
	return -ENOTSUP;
}

int kh_fs_fd_regular(int fd)
{
	(void)fd;
	return 0;
}

void kh_fs_close_fd(int fd)
{
	(void)fd;
}

long kh_fs_pread(int fd, uint64_t off, void *buf, size_t len)
{
	(void)fd;
	(void)off;
	(void)buf;
	(void)len;
	return -ENOTSUP;
}

int kh_fs_fd_size(int fd, uint64_t *size)
{
	(void)fd;
	(void)size;
	return -ENOTSUP;
}

int kh_fs_map_fd(int fd, size_t max, struct kh_fs_map *map)
{
	(void)fd;
	(void)max;
	memset(map, 0, sizeof(*map));
	return -ENOTSUP;
}

int kh_fs_read_fd(int fd, size_t max, uint8_t **buf, size_t *len)
{
	(void)fd;
	(void)max;
	(void)buf;
	(void)len;
	return -ENOTSUP;
}

int kh_fs_mkdir_p(const char *path, unsigned mode)
{
	(void)path;
	(void)mode;
	return 0;
}

int kh_fs_append_open(const char *path, unsigned mode, struct kh_fs_file **out, uint64_t *size)
{
	struct kh_fs_file *f;
	size_t n = 0;
	int err;

	(void)mode;
	if (!(f = malloc(sizeof(*f))))
		return -ENOMEM;
	if ((err = path_key(path, f->key)) < 0)
		goto out;
	err = kh_kvlog_size(store, f->key, &n);
	if (err == -ENOENT)
		err = kh_kvlog_set(store, f->key, NULL, 0);
	if (err < 0)
		goto out;
	if (size)
		*size = n;
	*out = f;
	f = NULL;
out:
	free(f);
	return err;
}

/* -ENOENT if the file was removed while open (POSIX would keep the inode). */
int kh_fs_append(struct kh_fs_file *f, const void *data, size_t len)
{
	if (!store)
		return -ENODEV;
	return kh_kvlog_append(store, f->key, data, len);
}

int kh_fs_sync(struct kh_fs_file *f)
{
	(void)f;
	return store ? 0 : -ENODEV;
}

void kh_fs_close(struct kh_fs_file *f)
{
	free(f);
}
