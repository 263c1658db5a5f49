/* SPDX-License-Identifier: MIT */
/*
 * POSIX files: bounded whole-file reads, atomic durable replacement
 * (temp + fsync + rename + directory fsync) and read-only maps.
 */
#define _DEFAULT_SOURCE
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/compiler.h"
#include "lib/err.h"
#include "platform/fs.h"
#include "platform/rand.h"

int kh_fs_read_fd(int fd, size_t max, uint8_t **buf, size_t *len)
{
	struct stat st;
	size_t cap, n = 0;
	uint8_t *b;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (S_ISDIR(st.st_mode))
		return -EISDIR;
	if (S_ISREG(st.st_mode) && (uint64_t)st.st_size > max)
		return -E2BIG;
	cap = S_ISREG(st.st_mode) ? (size_t)st.st_size + 1 : 4096;
	b = malloc(cap);
	if (!b)
		return -ENOMEM;
	for (;;) {
		ssize_t r;
		if (n + 1 >= cap) {
			uint8_t *nb, probe;
			/* full: a file as long as fstat said ends here, without a buffer twice its size */
			r = read(fd, &probe, 1);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0) {
				if (r == 0)
					break;
				r = -errno;
				free(b);
				return (int)r;
			}
			if (cap > max)
				goto too_big;
			cap *= 2;
			nb = realloc(b, cap);
			if (!nb) {
				free(b);
				return -ENOMEM;
			}
			b = nb;
			b[n++] = probe;
			if (n > max)
				goto too_big;
			continue;
		}
		r = read(fd, b + n, cap - n - 1);
		if (r < 0) {
			int err = -errno;
			if (errno == EINTR)
				continue;
			free(b);
			return err;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > max)
			goto too_big;
	}
	b[n] = 0;
	*buf = b;
	*len = n;
	return 0;
too_big:
	free(b);
	return -E2BIG;
}

int kh_fs_open_read(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

int kh_fs_fd_regular(int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
}

long kh_fs_pread(int fd, uint64_t off, void *buf, size_t len)
{
	ssize_t n;

	if (off > (uint64_t)INT64_MAX)
		return -EINVAL;
	do
		n = pread(fd, buf, len, (off_t)off);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : (long)n;
}

int kh_fs_fd_size(int fd, uint64_t *size)
{
	struct stat st;
	off_t end;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (S_ISREG(st.st_mode)) {
		*size = (uint64_t)st.st_size;
		return 0;
	}
	if (!S_ISBLK(st.st_mode))
		return -EINVAL;
	/* a block device's size is where its end is; pread never uses the position */
	if ((end = lseek(fd, 0, SEEK_END)) < 0)
		return -errno;
	*size = (uint64_t)end;
	return 0;
}

void kh_fs_close_fd(int fd)
{
	if (fd >= 0)
		close(fd);
}

int kh_fs_read(const char *path, size_t max, uint8_t **buf, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int err;

	if (fd < 0)
		return -errno;
	err = kh_fs_read_fd(fd, max, buf, len);
	close(fd);
	return err;
}

int kh_fs_read_private(const char *path, uint32_t uid, size_t max, uint8_t **buf, size_t *len)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	struct stat st;
	int err;

	if (fd < 0)
		return errno == EACCES ? -EPERM
				       : -errno; /* one the caller cannot open is not its own */
	if (fstat(fd, &st) < 0)
		err = -errno;
	else if (!S_ISREG(st.st_mode))
		err = -EINVAL;
	else if (st.st_uid != uid)
		err = -EPERM;
	else if (st.st_mode & 077)
		err = -EACCES;
	else
		err = kh_fs_read_fd(fd, max, buf, len);
	close(fd);
	return err;
}

static int fsync_dir_of(const char *path)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	int fd, err = 0;

	if (!slash)
		strcpy(dir, ".");
	else if (slash == path)
		strcpy(dir, "/");
	else {
		size_t n = (size_t)(slash - path);
		if (n >= sizeof(dir))
			return -ENAMETOOLONG;
		memcpy(dir, path, n);
		dir[n] = 0;
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		err = -errno;
	close(fd);
	return err;
}

/*
 * The temporary file gets a random name and is created with O_EXCL and
 * O_NOFOLLOW: whoever else can write the directory cannot pre-create it,
 * or plant a link there, to make us write through it.
 */
static int open_temp(const char *path, unsigned mode, char *tmp, size_t tmplen)
{
	for (int tries = 0; tries < 16; tries++) {
		uint8_t r[6];
		int fd;
		if (kh_rand_bytes(r, sizeof(r)) < 0)
			return -EIO;
		if (snprintf(tmp, tmplen, "%s.tmp.%02x%02x%02x%02x%02x%02x", path, r[0], r[1], r[2],
			     r[3], r[4], r[5]) >= (int)tmplen)
			return -ENAMETOOLONG;
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
		if (fd >= 0 || errno != EEXIST)
			return fd >= 0 ? fd : -errno;
	}
	return -EEXIST;
}

int kh_fs_write_atomic(const char *path, const void *data, size_t len, unsigned mode)
{
	char tmp[PATH_MAX];
	const uint8_t *p = data;
	int fd, err = 0;

	fd = open_temp(path, mode, tmp, sizeof(tmp));
	if (fd < 0)
		return fd;
	while (len > 0) {
		ssize_t w = write(fd, p, len);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			goto fail;
		}
		p += w;
		len -= (size_t)w;
	}
	if (fchmod(fd, mode) < 0 || fsync(fd) < 0) {
		err = -errno;
		goto fail;
	}
	if (close(fd) < 0) {
		fd = -1;
		err = -errno;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) < 0) {
		err = -errno;
		goto fail;
	}
	return fsync_dir_of(path);
fail:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return err;
}

int kh_fs_map_fd(int fd, size_t max, struct kh_fs_map *map)
{
	struct stat st;

	memset(map, 0, sizeof(*map));
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	if (st.st_size == 0)
		return -EBADMSG;
	if ((uint64_t)st.st_size > max)
		return -E2BIG;
	if (IS_ENABLED(CONFIG_FS_MMAP)) {
		void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (p == MAP_FAILED)
			return -errno;
		map->data = p;
		map->len = (size_t)st.st_size;
		map->mapped = 1;
	} else {
		uint8_t *buf;
		size_t len;
		int err = kh_fs_read_fd(fd, max, &buf, &len);
		if (err)
			return err;
		map->data = buf;
		map->len = len;
	}
	return 0;
}

int kh_fs_map(const char *path, size_t max, struct kh_fs_map *map)
{
	int fd, err;

	memset(map, 0, sizeof(*map));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	err = kh_fs_map_fd(fd, max, map);
	close(fd); /* a mapping outlives its descriptor */
	return err;
}

void kh_fs_unmap(struct kh_fs_map *map)
{
	if (!map || !map->data)
		return;
	if (map->mapped)
		munmap((void *)(uintptr_t)map->data, map->len);
	else
		free((void *)(uintptr_t)map->data);
	memset(map, 0, sizeof(*map));
}

int kh_fs_remove(const char *path)
{
	if (unlink(path) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

int kh_fs_dir_own(const char *path, uint32_t uid, uint32_t gid, unsigned mode)
{
	struct stat st;
	int fd, err = 0;

	if (mkdir(path, mode) < 0 && errno != EEXIST)
		return -errno;
	/* the descriptor, not the path: a link swapped in meanwhile is refused */
	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ELOOP ? -ENOTDIR : -errno;
	if (fstat(fd, &st) < 0)
		err = -errno;
	else if (!S_ISDIR(st.st_mode))
		err = -ENOTDIR;
	else if ((st.st_uid != uid || st.st_gid != gid) && fchown(fd, (uid_t)uid, (gid_t)gid) < 0)
		err = -errno;
	else if ((st.st_mode & 07777) != mode && fchmod(fd, (mode_t)mode) < 0)
		err = -errno;
	close(fd);
	return err;
}

/* Owner and mode of path, not followed if a symlink, when it is of type fmt (S_IFDIR, S_IFREG). */
static int owner_of(const char *path, mode_t fmt, int wrong, uint32_t *uid, unsigned *mode)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return -errno;
	if ((st.st_mode & S_IFMT) != fmt)
		return wrong;
	*uid = st.st_uid;
	*mode = st.st_mode & 07777;
	return 0;
}

int kh_fs_dir_owner(const char *path, uint32_t *uid, unsigned *mode)
{
	return owner_of(path, S_IFDIR, -ENOTDIR, uid, mode);
}

int kh_fs_file_owner(const char *path, uint32_t *uid, unsigned *mode)
{
	return owner_of(path, S_IFREG, -EINVAL, uid, mode);
}

int kh_fs_rename(const char *from, const char *to)
{
	if (rename(from, to) < 0)
		return -errno;
	return fsync_dir_of(to);
}

struct kh_fs_file {
	int fd;
};

int kh_fs_append_open(const char *path, unsigned mode, struct kh_fs_file **out, uint64_t *size)
{
	struct kh_fs_file *f = malloc(sizeof(*f));
	struct stat st;

	if (!f)
		return -ENOMEM;
	f->fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, mode);
	if (f->fd < 0 || fstat(f->fd, &st) < 0) {
		int err = -errno;
		if (f->fd >= 0)
			close(f->fd);
		free(f);
		return err;
	}
	if (size)
		*size = (uint64_t)st.st_size;
	*out = f;
	return 0;
}

int kh_fs_append(struct kh_fs_file *f, const void *data, size_t len)
{
	const uint8_t *p = data;

	while (len > 0) {
		ssize_t w = write(f->fd, p, len);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

int kh_fs_sync(struct kh_fs_file *f)
{
	return fdatasync(f->fd) < 0 ? -errno : 0;
}

void kh_fs_close(struct kh_fs_file *f)
{
	if (!f)
		return;
	close(f->fd);
	free(f);
}

int kh_fs_mkdir_p(const char *path, unsigned mode)
{
	char buf[PATH_MAX];
	size_t n = strlen(path);

	if (n == 0 || n >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, path, n + 1);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(buf, mode) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}
