/* SPDX-License-Identifier: MIT */
/*
 * Linux: a file system confined to a root (platform/fsroot.h). Paths are
 * walked by hand on a stack of O_PATH directory descriptors rather than
 * with openat2(RESOLVE_IN_ROOT), which routers' 4.x and 5.4 kernels lack;
 * the rules are the same: ".." stops at the root, absolute links restart
 * at it, and each step opens with O_NOFOLLOW so nothing is followed that
 * was not read as a link first. Directories are read with getdents64
 * into a small buffer on the stack, not opendir's (32 KB in glibc).
 */
#define _GNU_SOURCE
#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "platform/fs.h"
#include "platform/fsroot.h"
#include "platform/rand.h"

#define MAX_DEPTH 64

struct kh_fsroot {
	int fd;
};

int kh_fsroot_open(const char *dir, struct kh_fsroot **out)
{
	struct kh_fsroot *r;
	int fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	r = malloc(sizeof(*r));
	if (!r) {
		close(fd);
		return -ENOMEM;
	}
	r->fd = fd;
	*out = r;
	return 0;
}

void kh_fsroot_close(struct kh_fsroot *r)
{
	if (!r)
		return;
	close(r->fd);
	free(r);
}

/* A resolved path: the directory that holds it and its last name there. */
struct where {
	int dir; /* owned; stack[0] (the root) is never closed through this */
	char name[256];
	int stack[MAX_DEPTH + 1];
	int depth;
};

static void where_done(struct where *w)
{
	for (int i = 1; i <= w->depth; i++)
		close(w->stack[i]);
	w->depth = 0;
}

/* Take the next component off *p (skipping slashes) into c; 0 at the end. */
static int next_comp(const char **p, char *c, size_t size)
{
	const char *s = *p, *e;

	while (*s == '/')
		s++;
	if (!*s)
		return 0;
	e = strchrnul(s, '/');
	if ((size_t)(e - s) >= size)
		return -ENAMETOOLONG;
	memcpy(c, s, (size_t)(e - s));
	c[e - s] = 0;
	*p = e;
	return 1;
}

static int only_slashes(const char *s)
{
	while (*s == '/')
		s++;
	return !*s;
}

static void fill(const struct stat *st, struct kh_fs_stat *out)
{
	out->type = S_ISREG(st->st_mode)   ? KH_FS_FILE
		    : S_ISDIR(st->st_mode) ? KH_FS_DIR
		    : S_ISLNK(st->st_mode) ? KH_FS_LINK
					   : KH_FS_OTHER;
	out->mode = (uint32_t)(st->st_mode & 07777);
	out->uid = (uint32_t)st->st_uid;
	out->gid = (uint32_t)st->st_gid;
	out->size = (uint64_t)st->st_size;
	out->dev = (uint64_t)st->st_dev;
	out->ino = (uint64_t)st->st_ino;
	out->nlink = (uint32_t)st->st_nlink;
}

int kh_fs_uid_trusted(uint32_t uid)
{
	return uid == 0 || uid == (uint32_t)geteuid();
}

int kh_fs_dir_trusted(const struct kh_fs_stat *st)
{
	if (st->type != KH_FS_DIR || !kh_fs_uid_trusted(st->uid))
		return 0;
	if (!(st->mode & 022))
		return 1;
	return st->mode & 01000 ? 2 : 0;
}

/* strict resolution: may a name be looked up in fd (link: may a link there be followed) */
static int lookup_ok(int fd, int link)
{
	struct stat st;
	struct kh_fs_stat k;

	if (fstat(fd, &st) < 0)
		return -errno;
	fill(&st, &k);
	return kh_fs_dir_trusted(&k) == 1 || (!link && kh_fs_dir_trusted(&k) == 2) ? 0 : -EPERM;
}

/*
 * Resolve path inside the root to (w->dir, w->name). follow: a link in the
 * last component is resolved too. The root itself resolves to (root, ".").
 * strict: only through directories others cannot change (lookup_ok).
 */
static int resolve(struct kh_fsroot *r, const char *path, int follow, int strict, struct where *w)
{
	char rest[2 * KH_FSROOT_MAX_PATH + 2], comp[256], target[KH_FSROOT_MAX_PATH + 1];
	const char *p;
	int links = 0, rc;

	if (strlen(path) > KH_FSROOT_MAX_PATH)
		return -ENAMETOOLONG;
	memcpy(rest, path, strlen(path) + 1);
	w->stack[0] = r->fd;
	w->depth = 0;
	p = rest;
	for (;;) {
		struct stat st;
		int last, fd;

		rc = next_comp(&p, comp, sizeof(comp));
		if (rc < 0)
			goto fail;
		if (rc == 0) { /* the path named a directory on the stack */
			w->dir = w->stack[w->depth];
			strcpy(w->name, ".");
			return 0;
		}
		if (strcmp(comp, ".") == 0)
			continue;
		if (strcmp(comp, "..") == 0) {
			if (w->depth > 0)
				close(w->stack[w->depth--]);
			continue;
		}
		last = only_slashes(p);
		if (strict && (rc = lookup_ok(w->stack[w->depth], 0)) < 0)
			goto fail;
		if (fstatat(w->stack[w->depth], comp, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			rc = -errno;
			if (rc == -ENOENT && last) { /* a missing last name is still a place */
				w->dir = w->stack[w->depth];
				memcpy(w->name, comp, strlen(comp) + 1);
				return 0;
			}
			goto fail;
		}
		if (S_ISLNK(st.st_mode) && (!last || follow)) {
			ssize_t n;
			size_t tl, rl = strlen(p);

			if (strict && (rc = lookup_ok(w->stack[w->depth], 1)) < 0)
				goto fail;
			if (++links > KH_FSROOT_MAX_LINKS) {
				rc = -ELOOP;
				goto fail;
			}
			n = readlinkat(w->stack[w->depth], comp, target, sizeof(target) - 1);
			if (n < 0) {
				rc = -errno;
				goto fail;
			}
			if ((size_t)n >= sizeof(target) - 1) {
				rc = -ENAMETOOLONG;
				goto fail;
			}
			tl = (size_t)n;
			if (tl + 1 + rl + 1 > sizeof(rest)) {
				rc = -ENAMETOOLONG;
				goto fail;
			}
			memmove(rest + tl + 1, p, rl + 1);
			memcpy(rest, target, tl);
			rest[tl] = '/';
			p = rest;
			if (target[0] == '/')
				while (w->depth > 0)
					close(w->stack[w->depth--]);
			continue;
		}
		if (last) {
			w->dir = w->stack[w->depth];
			memcpy(w->name, comp, strlen(comp) + 1);
			return 0;
		}
		if (!S_ISDIR(st.st_mode)) {
			rc = -ENOTDIR;
			goto fail;
		}
		if (w->depth == MAX_DEPTH) {
			rc = -ENAMETOOLONG;
			goto fail;
		}
		/* swapped for a link since the fstatat: ENOTDIR or ELOOP, never followed */
		fd = openat(w->stack[w->depth], comp,
			    O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0) {
			rc = -errno;
			goto fail;
		}
		w->stack[++w->depth] = fd;
	}
fail:
	where_done(w);
	return rc;
}

int kh_fsroot_stat(struct kh_fsroot *r, const char *path, int follow, struct kh_fs_stat *out)
{
	struct where w;
	struct stat st;
	int rc = resolve(r, path, follow, 0, &w);

	if (rc < 0)
		return rc;
	rc = fstatat(w.dir, w.name, &st, AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0;
	where_done(&w);
	if (rc < 0)
		return rc;
	fill(&st, out);
	return 0;
}

/* Open the regular file at path (links followed inside the root) for reading; fd or -errno. */
static int open_regular(struct kh_fsroot *r, const char *path)
{
	struct where w;
	struct stat pre, st;
	int fd, rc = resolve(r, path, 1, 0, &w);

	if (rc < 0)
		return rc;
	/*
	 * Only a regular file is opened: a device node in an image (or reached
	 * through a link) may act when opened, and the auditor may open any.
	 */
	if (fstatat(w.dir, w.name, &pre, AT_SYMLINK_NOFOLLOW) < 0) {
		rc = -errno;
		where_done(&w);
		return rc;
	}
	if (!S_ISREG(pre.st_mode)) {
		where_done(&w);
		return S_ISDIR(pre.st_mode) ? -EISDIR : -EINVAL;
	}
	/* O_NONBLOCK: a FIFO swapped in since the check must not hang the auditor */
	fd = openat(w.dir, w.name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	rc = fd < 0 ? -errno : 0;
	where_done(&w);
	if (rc < 0)
		return rc;
	if (fstat(fd, &st) < 0)
		rc = -errno;
	else if (!S_ISREG(st.st_mode) || st.st_dev != pre.st_dev || st.st_ino != pre.st_ino)
		rc = -EINVAL; /* replaced between the check and the open */
	if (rc < 0) {
		close(fd);
		return rc;
	}
	return fd;
}

int kh_fsroot_read(struct kh_fsroot *r, const char *path, size_t max, uint8_t **buf, size_t *len)
{
	int fd = open_regular(r, path), rc;

	if (fd < 0)
		return fd;
	rc = kh_fs_read_fd(fd, max, buf, len);
	close(fd);
	return rc;
}

static int stream_fd(int fd, uint64_t max, kh_fsroot_chunk_fn fn, void *ctx)
{
	uint8_t buf[16384];
	uint64_t total = 0;
	int rc = 0;

	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			break;
		}
		if (n == 0)
			break;
		total += (uint64_t)n;
		if (total > max) {
			rc = -E2BIG;
			break;
		}
		fn(ctx, buf, (size_t)n);
	}
	close(fd);
	return rc;
}

int kh_fsroot_stream(struct kh_fsroot *r, const char *path, uint64_t max, kh_fsroot_chunk_fn fn,
		     void *ctx)
{
	int fd = open_regular(r, path);

	return fd < 0 ? fd : stream_fd(fd, max, fn, ctx);
}

int kh_fsroot_readlink(struct kh_fsroot *r, const char *path, char *buf, size_t size)
{
	struct where w;
	ssize_t n;
	int rc = resolve(r, path, 0, 0, &w);

	if (rc < 0)
		return rc;
	n = readlinkat(w.dir, w.name, buf, size - 1);
	rc = n < 0 ? -errno : (size_t)n >= size - 1 ? -ENAMETOOLONG : 0;
	where_done(&w);
	if (rc == 0)
		buf[n] = 0;
	return rc;
}

/* Call fn for the entries of the open directory fd (closed here). */
static int list_fd(int fd, size_t max, kh_fsroot_entry_fn fn, void *ctx)
{
	/* 1 KB holds at least three of the longest entries (19 + 256 bytes each) */
	union {
		uint64_t align;
		char b[1024];
	} buf;
	size_t n = 0;
	int rc = 0;

	while (rc == 0) {
		/* struct linux_dirent64: u64 ino, s64 off, u16 reclen, u8 type, name */
		long got = syscall(SYS_getdents64, fd, buf.b, sizeof(buf.b));
		if (got <= 0) {
			rc = got < 0 ? -errno : 0;
			break;
		}
		for (long at = 0; at < got && rc == 0;) {
			const char *name = buf.b + at + 19;
			unsigned short reclen;
			memcpy(&reclen, buf.b + at + 16, sizeof(reclen));
			at += reclen;
			if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
				continue;
			if (n++ == max)
				rc = -E2BIG;
			else
				rc = fn(ctx, name);
		}
	}
	close(fd);
	return rc;
}

int kh_fsroot_list(struct kh_fsroot *r, const char *path, size_t max, kh_fsroot_entry_fn fn,
		   void *ctx)
{
	struct where w;
	int fd, rc = resolve(r, path, 1, 0, &w);

	if (rc < 0)
		return rc;
	fd = openat(w.dir, w.name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	rc = fd < 0 ? -errno : 0;
	where_done(&w);
	return rc < 0 ? rc : list_fd(fd, max, fn, ctx);
}

/* ---- directories held open (the baseline walk) ---- */

struct kh_fsdir {
	int fd; /* O_RDONLY | O_DIRECTORY: listed once, names looked up in it */
};

static int fsdir_new(int fd, struct kh_fsdir **out)
{
	struct kh_fsdir *d = malloc(sizeof(*d));

	if (!d) {
		close(fd);
		return -ENOMEM;
	}
	d->fd = fd;
	*out = d;
	return 0;
}

int kh_fsdir_open(struct kh_fsroot *r, const char *path, int trusted_only, struct kh_fsdir **out,
		  struct kh_fs_stat *st)
{
	struct where w;
	struct stat s;
	int fd, rc = resolve(r, path, 1, trusted_only, &w);

	if (rc < 0)
		return rc;
	fd = openat(w.dir, w.name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	rc = fd < 0 ? -errno : 0;
	where_done(&w);
	if (rc < 0)
		return rc;
	if (st) {
		if (fstat(fd, &s) < 0) {
			rc = -errno;
			close(fd);
			return rc;
		}
		fill(&s, st);
	}
	return fsdir_new(fd, out);
}

int kh_fsdir_stat(struct kh_fsdir *d, const char *name, struct kh_fs_stat *st)
{
	struct stat s;

	if (fstatat(d->fd, name, &s, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	fill(&s, st);
	return 0;
}

/* The opened fd is the object seen: same device and inode, same kind. */
static int check_seen(int fd, const struct kh_fs_stat *seen)
{
	struct stat s;
	struct kh_fs_stat k;
	int rc = 0;

	if (fstat(fd, &s) < 0) {
		rc = -errno;
	} else {
		fill(&s, &k);
		if (k.type != seen->type || k.dev != seen->dev || k.ino != seen->ino)
			rc = -ESTALE; /* replaced between the stat and the open */
	}
	if (rc < 0)
		close(fd);
	return rc < 0 ? rc : fd;
}

int kh_fsdir_sub(struct kh_fsdir *d, const char *name, const struct kh_fs_stat *seen,
		 struct kh_fsdir **out)
{
	int fd = openat(d->fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	fd = check_seen(fd, seen);
	return fd < 0 ? fd : fsdir_new(fd, out);
}

int kh_fsdir_stream(struct kh_fsdir *d, const char *name, const struct kh_fs_stat *seen,
		    uint64_t max, kh_fsroot_chunk_fn fn, void *ctx)
{
	int fd;

	if (seen->type != KH_FS_FILE)
		return -EINVAL;
	/* O_NONBLOCK: a FIFO swapped in since the stat must not hang the auditor */
	fd = openat(d->fd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	fd = check_seen(fd, seen);
	return fd < 0 ? fd : stream_fd(fd, max, fn, ctx);
}

int kh_fsdir_readlink(struct kh_fsdir *d, const char *name, char *buf, size_t size)
{
	ssize_t n = readlinkat(d->fd, name, buf, size - 1);

	if (n < 0)
		return -errno;
	if ((size_t)n >= size - 1)
		return -ENAMETOOLONG;
	buf[n] = 0;
	return 0;
}

int kh_fsdir_list(struct kh_fsdir *d, size_t max, kh_fsroot_entry_fn fn, void *ctx)
{
	/* a descriptor of its own: getdents moves the offset, the held one stays for lookups */
	int fd = openat(d->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	return fd < 0 ? -errno : list_fd(fd, max, fn, ctx);
}

void kh_fsdir_close(struct kh_fsdir *d)
{
	if (!d)
		return;
	close(d->fd);
	free(d);
}

/*
 * Whether checking against hash costs what an audit can pay. A hostile
 * shadow file can ask for bcrypt cost 31 or sha512crypt with a billion
 * rounds: hours per candidate password. Defaults and common settings pass.
 */
static int cost_ok(const char *h)
{
	static const char itoa64[] =
		"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

	if ((h[1] == '5' || h[1] == '6') && h[2] == '$' && strncmp(h + 3, "rounds=", 7) == 0)
		return strtoul(h + 10, NULL, 10) <= 100000;
	if (h[1] == '2' && h[2] && h[3] == '$') /* $2a$, $2b$, $2y$: cost 04-31 */
		return (h[4] - '0') * 10 + (h[5] - '0') <= 12;
	if (h[1] == 'y' && h[2] == '$') { /* yescrypt: flags, log2 N, r; j9T is the default */
		const char *n = strchr(itoa64, h[4]), *r = strchr(itoa64, h[5]);
		return h[4] && h[5] && n && r && n - itoa64 <= 11 && r - itoa64 <= 31;
	}
	if (h[1] == '7' && h[2] == '$') { /* scrypt: log2 N */
		const char *n = strchr(itoa64, h[3]);
		return h[3] && n && n - itoa64 <= 16;
	}
	return 1;
}

int kh_crypt_matches(const char *password, const char *hash)
{
	char *h;
	size_t n = strlen(hash);
	unsigned diff = 0;

	if (n == 0 || hash[0] == '*' || hash[0] == '!')
		return 0;
	if (hash[0] == '$' && !cost_ok(hash))
		return -E2BIG;
	/*
	 * crypt(), not crypt_r(): libxcrypt's crypt_data is 32 KB, which would
	 * be half the audit's heap budget; the auditor is single-threaded.
	 */
	h = crypt(password, hash);
	if (!h || h[0] == '*' || strlen(h) != n)
		return 0;
	for (size_t i = 0; i < n; i++)
		diff |= (unsigned)(h[i] ^ hash[i]);
	explicit_bzero(h, n); /* the static result held a hash of a candidate password */
	return diff == 0;
}

int kh_crypt_hash(const char *password, unsigned cost, char *out, size_t cap)
{
	char salt[CRYPT_GENSALT_OUTPUT_SIZE], rnd[16];
	struct crypt_data *cd;
	size_t n;
	int err = 0;

	if ((err = kh_rand_bytes(rnd, sizeof(rnd))) < 0)
		return err;
	if (!crypt_gensalt_rn("$y$", cost, rnd, sizeof(rnd), salt, sizeof(salt)))
		return -errno ? -errno : -EINVAL;
	/* crypt_rn into the heap: its 32 KB of state do not belong on the stack */
	if (!(cd = calloc(1, sizeof(*cd))))
		return -ENOMEM;
	if (!crypt_rn(password, salt, cd, sizeof(*cd)) || cd->output[0] == '*')
		err = -EINVAL;
	else if ((n = strlen(cd->output)) >= cap)
		err = -ENOSPC;
	else
		memcpy(out, cd->output, n + 1);
	explicit_bzero(cd, sizeof(*cd));
	free(cd);
	return err;
}
