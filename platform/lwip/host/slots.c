/* SPDX-License-Identifier: MIT */
/*
 * MCUboot slots of the host "board" (board.h): each slot is a file, as a
 * flash partition would be, and its last 4 KiB sector holds MCUboot's
 * trailer (BOOT_MAX_ALIGN 8): the 16-byte magic at the end, image_ok 8
 * bytes before it. Marking and confirming write those bytes as MCUboot's
 * boot_request_upgrade() and boot_set_confirmed() do, so a test can read
 * the files to see what the bootloader would do at the next boot.
 */
#define _DEFAULT_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "platform/lwip/board.h"

#define TRAILER 4096u

static const uint8_t boot_magic[16] = {0x77, 0xc2, 0x95, 0xf3, 0x60, 0xd2, 0xef, 0x7f,
				       0x35, 0x52, 0x50, 0x0f, 0x2c, 0xb6, 0x79, 0x80};

static struct {
	int fd;
	uint32_t size; /* the whole file */
} slots[2] = {{-1, 0}, {-1, 0}};

static int slot_open(int i, const char *path)
{
	struct stat st;

	if (slots[i].fd >= 0)
		close(slots[i].fd);
	slots[i].fd = -1;
	if (!path)
		return 0;
	if ((slots[i].fd = open(path, O_RDWR | O_CLOEXEC)) < 0)
		return -errno;
	if (fstat(slots[i].fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size <= (off_t)TRAILER ||
	    st.st_size > (off_t)0x7fffffff) {
		close(slots[i].fd);
		slots[i].fd = -1;
		return -EINVAL;
	}
	slots[i].size = (uint32_t)st.st_size;
	return 0;
}

int kh_board_host_slots(const char *primary, const char *secondary)
{
	int err = slot_open(0, primary);

	return err < 0 ? err : slot_open(1, secondary);
}

int kh_board_slot_size(int slot, uint32_t *size)
{
	if (slot < 0 || slot > 1 || slots[slot].fd < 0)
		return -ENOENT;
	*size = slots[slot].size - TRAILER;
	return 0;
}

int kh_board_slot_read(int slot, uint32_t off, void *buf, size_t len)
{
	ssize_t n;

	if (slot < 0 || slot > 1 || slots[slot].fd < 0)
		return -ENOENT;
	n = pread(slots[slot].fd, buf, len, (off_t)off);
	return n == (ssize_t)len ? 0 : n < 0 ? -errno : -EIO;
}

/* Program bytes at the slot's end - back: NOR flash only clears bits. */
static int trailer_write(int slot, uint32_t back, const uint8_t *v, size_t len)
{
	uint8_t cur[16];
	off_t at = (off_t)slots[slot].size - back;

	if (slots[slot].fd < 0)
		return -ENOENT;
	if (pread(slots[slot].fd, cur, len, at) != (ssize_t)len)
		return -EIO;
	for (size_t i = 0; i < len; i++)
		if ((cur[i] & v[i]) != v[i])
			return -EIO; /* would need an erase: the trailer is stale */
	if (pwrite(slots[slot].fd, v, len, at) != (ssize_t)len || fsync(slots[slot].fd) < 0)
		return -EIO;
	return 0;
}

int kh_board_mark_swap(int permanent)
{
	static const uint8_t ok = 0x01;
	int err = trailer_write(1, 16, boot_magic, sizeof(boot_magic));

	if (!err && permanent)
		err = trailer_write(1, 24, &ok, 1);
	return err;
}

int kh_board_confirm(void)
{
	static const uint8_t ok = 0x01;
	uint8_t cur = 0;

	if (slots[0].fd < 0)
		return -ENOENT;
	/* already confirmed: nothing to program */
	if (pread(slots[0].fd, &cur, 1, (off_t)slots[0].size - 24) == 1 && cur == ok)
		return 0;
	return trailer_write(0, 24, &ok, 1);
}
