/* SPDX-License-Identifier: MIT */
/*
 * Host flash emulator: a partition in a file, with NOR rules enforced
 * (aligned program units, no write over non-erased bytes, sector erases)
 * and every change fsync'd, so that the store above it meets the same
 * constraints and the same power-loss points as on a board.
 */
#define _DEFAULT_SOURCE
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/err.h"
#include "platform/lwip/host/flash_file.h"

static int in_range(const struct kh_flash *f, uint32_t off, size_t len)
{
	return off <= f->size && len <= f->size - off;
}

static int pread_all(int fd, void *buf, size_t len, off_t off)
{
	uint8_t *p = buf;

	while (len > 0) {
		ssize_t r = pread(fd, p, len, off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? -errno : -EIO;
		p += r;
		len -= (size_t)r;
		off += r;
	}
	return 0;
}

static int pwrite_all(int fd, const void *buf, size_t len, off_t off)
{
	const uint8_t *p = buf;

	while (len > 0) {
		ssize_t w = pwrite(fd, p, len, off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? -errno : -EIO;
		p += w;
		len -= (size_t)w;
		off += w;
	}
	return 0;
}

static int ff_read(struct kh_flash *f, uint32_t off, void *buf, size_t len)
{
	struct kh_flash_file *ff = f->ctx;

	if (!in_range(f, off, len))
		return -EINVAL;
	return pread_all(ff->fd, buf, len, off);
}

static int ff_write(struct kh_flash *f, uint32_t off, const void *buf, size_t len)
{
	struct kh_flash_file *ff = f->ctx;
	uint8_t cur[4096];
	int err;

	if (!in_range(f, off, len) || off % f->write_size || len % f->write_size)
		return -EINVAL;
	for (size_t o = 0; o < len;) {
		size_t m = len - o < sizeof(cur) ? len - o : sizeof(cur);
		if ((err = pread_all(ff->fd, cur, m, (off_t)(off + o))) < 0)
			return err;
		for (size_t i = 0; i < m; i++)
			if (cur[i] != 0xFF)
				return -EIO; /* NOR cannot program a programmed byte */
		o += m;
	}
	if ((err = pwrite_all(ff->fd, buf, len, off)) < 0)
		return err;
	return fdatasync(ff->fd) < 0 ? -errno : 0;
}

static int ff_erase(struct kh_flash *f, uint32_t off, size_t len)
{
	struct kh_flash_file *ff = f->ctx;
	uint8_t ones[4096];
	int err;

	if (!in_range(f, off, len) || off % f->sector_size || len % f->sector_size)
		return -EINVAL;
	memset(ones, 0xFF, sizeof(ones));
	for (size_t o = 0; o < len;) {
		size_t m = len - o < sizeof(ones) ? len - o : sizeof(ones);
		if ((err = pwrite_all(ff->fd, ones, m, (off_t)(off + o))) < 0)
			return err;
		o += m;
	}
	return fdatasync(ff->fd) < 0 ? -errno : 0;
}

int kh_flash_file_open(struct kh_flash_file *ff, const char *path, uint32_t size,
		       uint32_t sector_size, uint32_t write_size, int mapped)
{
	struct stat st;
	int err = 0;

	memset(ff, 0, sizeof(*ff));
	ff->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (ff->fd < 0)
		return -errno;
	if (fstat(ff->fd, &st) < 0) {
		err = -errno;
		goto out;
	}
	if (st.st_size == 0) {
		uint8_t ones[4096];
		memset(ones, 0xFF, sizeof(ones));
		for (uint32_t o = 0; o < size && !err; o += sizeof(ones))
			err = pwrite_all(ff->fd, ones,
					 size - o < sizeof(ones) ? size - o : sizeof(ones), o);
		if (err || (fsync(ff->fd) < 0 && (err = -errno)))
			goto out;
	} else if ((uint64_t)st.st_size != size) {
		err = -EINVAL;
		goto out;
	}
	if (mapped) {
		void *p = mmap(NULL, size, PROT_READ, MAP_SHARED, ff->fd, 0);
		if (p == MAP_FAILED) {
			err = -errno;
			goto out;
		}
		ff->map = p;
	}
	ff->flash = (struct kh_flash){.size = size,
				      .sector_size = sector_size,
				      .write_size = write_size,
				      .map = ff->map,
				      .read = ff_read,
				      .write = ff_write,
				      .erase = ff_erase,
				      .ctx = ff};
out:
	if (err < 0) {
		close(ff->fd);
		ff->fd = -1;
	}
	return err;
}

void kh_flash_file_close(struct kh_flash_file *ff)
{
	if (!ff)
		return;
	if (ff->map)
		munmap(ff->map, ff->flash.size);
	if (ff->fd > 0)
		close(ff->fd);
	memset(ff, 0, sizeof(*ff));
	ff->fd = -1;
}
