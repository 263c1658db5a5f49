/* SPDX-License-Identifier: MIT */
/*
 * Files and persistent store. Everything the agent keeps across reboots goes
 * through here, so that an RTOS backend can map the same calls onto flash
 * slots. Writes are atomic: a reader (or a reboot) sees the old content or
 * the new one, never a mix.
 */
#ifndef KHIEN_PLATFORM_FS_H
#define KHIEN_PLATFORM_FS_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Read a whole file into a new heap buffer (NUL-terminated for convenience,
 * the NUL not counted in *len). Files larger than max bytes are refused with
 * -E2BIG before they are read in full. The caller frees *buf with free().
 * -ENOENT if missing, other negative errno on I/O errors.
 */
int kh_fs_read(const char *path, size_t max, uint8_t **buf, size_t *len);

/*
 * Replace path with data atomically and durably: write a temporary file in
 * the same directory, fsync it, rename it over path, fsync the directory.
 * mode is the permission of the new file (e.g. 0600 for keys).
 */
int kh_fs_write_atomic(const char *path, const void *data, size_t len, unsigned mode);

/* A read-only view of a whole file: mmap where available, else a copy. */
struct kh_fs_map {
	const uint8_t *data;
	size_t len;
	int mapped; /* private: 1 if data is an mmap */
};

/*
 * Map path read-only. Files larger than max are refused with -E2BIG; empty
 * files with -EBADMSG. Release with kh_fs_unmap(), which accepts a zeroed
 * or already-released map.
 */
int kh_fs_map(const char *path, size_t max, struct kh_fs_map *map);
/*
 * kh_fs_map() of a descriptor the caller opened or was handed (a bundle
 * passed by khienctl): a regular file only (-EINVAL otherwise); the map
 * does not need fd to stay open. -ENOTSUP where there are no descriptors.
 */
int kh_fs_map_fd(int fd, size_t max, struct kh_fs_map *map);
void kh_fs_unmap(struct kh_fs_map *map);

/* Remove a file; a missing file is not an error. */
int kh_fs_remove(const char *path);

/*
 * Make path a directory owned by uid:gid with exactly mode, creating it if
 * missing. The change is made on an open descriptor, never through the
 * path, and a symbolic link or other non-directory is refused (-ENOTDIR):
 * a privileged process can prepare a directory for another user without
 * following anything that user controls.
 */
int kh_fs_dir_own(const char *path, uint32_t uid, uint32_t gid, unsigned mode);

/* Owner and mode of the directory path itself (a link is -ENOTDIR); -ENOENT if missing. */
int kh_fs_dir_owner(const char *path, uint32_t *uid, unsigned *mode);
/* The same for a regular file, not followed if a symlink: -EINVAL for anything else. */
int kh_fs_file_owner(const char *path, uint32_t *uid, unsigned *mode);

/*
 * kh_fs_read() of a state file only uid may touch: a regular file (a link
 * is not followed: -ELOOP; anything else -EINVAL) owned by uid (-EPERM if
 * not, or if the caller may not open it) that group and others may neither read nor write (-EACCES if they
 * may). Checked on the open descriptor. Where there is one owner (lwIP),
 * kh_fs_read().
 */
int kh_fs_read_private(const char *path, uint32_t uid, size_t max, uint8_t **buf, size_t *len);
/* Its refusals in words, for the log line; NULL for other errors (kh_strerror()). */
static inline const char *kh_fs_private_why(int err)
{
	return err == -EPERM	 ? "owned by another user"
	       : err == -EACCES	 ? "readable or writable by other users"
	       : err == -ELOOP	 ? "a symbolic link"
	       : err == -EINVAL	 ? "not a regular file"
	       : err == -E2BIG	 ? "too large"
	       : err == -EBADMSG ? "damaged"
				 : NULL;
}

/* Rename from to to, durably (directory synced). */
int kh_fs_rename(const char *from, const char *to);

/*
 * kh_fs_read() on a descriptor the caller opened (or was handed): the same
 * limit and result; the descriptor stays open.
 */
int kh_fs_read_fd(int fd, size_t max, uint8_t **buf, size_t *len);

/* 1 if fd is a regular file (not a pipe, socket or device that could block a reader), 0 if not. */
int kh_fs_fd_regular(int fd);

/*
 * Read up to len bytes at offset off of fd (a file or a block device) without
 * moving a shared file position: the count (0 at the end), or negative errno.
 * For streaming large images through a small buffer.
 */
long kh_fs_pread(int fd, uint64_t off, void *buf, size_t len);

/*
 * Size in bytes of a regular file or a block device (an image partition);
 * -EINVAL for anything else (a pipe, a socket). -ENOTSUP without descriptors.
 */
int kh_fs_fd_size(int fd, uint64_t *size);

/*
 * Open path for reading, as a descriptor to hand to another process (or
 * to read with kh_fs_read_fd()); negative errno. Close with kh_fs_close_fd().
 */
int kh_fs_open_read(const char *path);
void kh_fs_close_fd(int fd);

/*
 * Append-only files, for journals (the report queue) and downloads that
 * resume. kh_fs_append_open() creates path if missing and reports its
 * current size; it does not follow a link in the last component (-ELOOP); kh_fs_append() writes all of len or fails; kh_fs_sync()
 * makes what was appended durable. Close accepts NULL. Replace a journal
 * as a whole with kh_fs_write_atomic() after closing it.
 */
struct kh_fs_file;
int kh_fs_append_open(const char *path, unsigned mode, struct kh_fs_file **out, uint64_t *size);
int kh_fs_append(struct kh_fs_file *f, const void *data, size_t len);
int kh_fs_sync(struct kh_fs_file *f);
void kh_fs_close(struct kh_fs_file *f);

/* Create a directory and its parents with the given mode; existing is fine. */
int kh_fs_mkdir_p(const char *path, unsigned mode);

#endif
