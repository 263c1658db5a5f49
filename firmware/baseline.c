/* SPDX-License-Identifier: MIT */
/*
 * The file baseline (firmware/baseline.h): the table's checks and writer,
 * the walk of a root's watched paths, and the scan that compares a root
 * with a table. The walk and the scan run in units of work (one path, one
 * process, a few hundred table rows) so the agent can run them in slices
 * on its loop; the ISP tool and the auditor process run them to the end.
 */
#define _DEFAULT_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "firmware/baseline.h"
#include "lib/compiler.h"
#include "lib/endian.h"
#include "lib/hex.h"

const struct kh_bl_watch kh_bl_default_watch[] = {
#define P(s, f)                     \
	{                           \
		s, sizeof(s) - 1, f \
	}
	P("/etc/rc.local", KH_BLW_PERSIST),
	P("/etc/init.d", KH_BLW_PERSIST | KH_BLW_RECURSIVE),
	P("/etc/rc.d", KH_BLW_PERSIST | KH_BLW_RECURSIVE),
	P("/etc/crontabs", KH_BLW_PERSIST | KH_BLW_RECURSIVE),
	P("/etc/dropbear", KH_BLW_PERSIST | KH_BLW_RECURSIVE),
	P("/root/.ssh", KH_BLW_PERSIST | KH_BLW_RECURSIVE),
	P("/etc/hosts", KH_BLW_PERSIST),
	P("/etc/resolv.conf", KH_BLW_PERSIST),
	P("/tmp/resolv.conf", KH_BLW_PERSIST),
	P("/tmp/resolv.conf.auto", KH_BLW_PERSIST),
	P("/tmp/resolv.conf.d", KH_BLW_PERSIST | KH_BLW_RECURSIVE),
	P("/etc/dnsmasq.conf", KH_BLW_PERSIST),
	P("/etc/config/dhcp", KH_BLW_PERSIST),
	P("/etc/passwd", KH_BLW_PERSIST),
	P("/etc/shadow", KH_BLW_PERSIST),
	P("/etc/group", KH_BLW_PERSIST),
	P("/bin", KH_BLW_EXEC | KH_BLW_RECURSIVE),
	P("/sbin", KH_BLW_EXEC | KH_BLW_RECURSIVE),
	P("/usr/bin", KH_BLW_EXEC | KH_BLW_RECURSIVE),
	P("/usr/sbin", KH_BLW_EXEC | KH_BLW_RECURSIVE),
	P("/lib", KH_BLW_EXEC | KH_BLW_RECURSIVE),
	P("/usr/lib", KH_BLW_EXEC | KH_BLW_RECURSIVE),
#undef P
};
const unsigned kh_bl_default_nwatch = KH_ARRAY_SIZE(kh_bl_default_watch);

/* Drifts of these are critical: they run code at boot or let someone in. */
static const char *const critical[] = {"/etc/init.d",	"/etc/rc.d",	 "/etc/rc.local",
				       "/etc/crontabs", "/etc/dropbear", "/root/.ssh",
				       "/etc/shadow",	"/etc/passwd"};

static const char *const drift_types[KH_DRIFT_KINDS] = {
	"file_changed",	    "file_added", "file_removed",      "process_suspicious",
	"socket_listening", "dns_hijack", "integrity_overflow"};

const char *kh_drift_type(int kind)
{
	return kind >= 0 && kind < KH_DRIFT_KINDS ? drift_types[kind] : NULL;
}

int kh_drift_kind_parse(const char *type)
{
	for (int i = 0; type && i < KH_DRIFT_KINDS; i++)
		if (strcmp(type, drift_types[i]) == 0)
			return i;
	return -1;
}

int kh_bl_path_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	int c = memcmp(a, b, alen < blen ? alen : blen);

	return c ? c : alen < blen ? -1 : alen > blen;
}

/* path is w or below it */
static int under(const char *path, size_t len, const char *w, size_t wlen)
{
	if (wlen == 1 && w[0] == '/')
		return 1;
	return len >= wlen && memcmp(path, w, wlen) == 0 && (len == wlen || path[wlen] == '/');
}

/* absolute, no empty, "." or ".." component, no trailing slash, no control bytes */
static const char *path_problem(const char *p, size_t n)
{
	if (n < 1 || n > KH_FSROOT_MAX_PATH)
		return "path length";
	if (p[0] != '/')
		return "path not absolute";
	if (n > 1 && p[n - 1] == '/')
		return "path ends with /";
	for (size_t i = 0; i < n; i++) {
		if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
			return "control byte in path";
		if (p[i] == '/' && i + 1 < n) {
			size_t k = i + 1;
			while (k < n && p[k] != '/')
				k++;
			if (k == i + 1 || (k - i - 1 == 1 && p[i + 1] == '.') ||
			    (k - i - 1 == 2 && p[i + 1] == '.' && p[i + 2] == '.'))
				return "empty, . or .. component in path";
		}
	}
	return NULL;
}

#define FAIL(...)                                   \
	do {                                        \
		snprintf(why, whylen, __VA_ARGS__); \
		return -EBADMSG;                    \
	} while (0)

int kh_bl_parse(const uint8_t *d, size_t len, struct kh_baseline *b, char *why, size_t whylen)
{
	uint64_t need;
	uint32_t soff;
	const char *prev = NULL;
	size_t prevlen = 0;

	memset(b, 0, sizeof(*b));
	if (len < KH_BL_HDR_LEN)
		FAIL("%zu bytes: shorter than the %d-byte header", len, KH_BL_HDR_LEN);
	if (memcmp(d, KH_BL_MAGIC, 4) != 0)
		FAIL("not a baseline table (magic)");
	if (kh_le16(d + 4) != KH_BL_FORMAT)
		FAIL("format %u, this agent reads %d", kh_le16(d + 4), KH_BL_FORMAT);
	if (len > KH_BL_MAX_BYTES)
		FAIL("%zu bytes: over the limit of %u", len, KH_BL_MAX_BYTES);
	b->flags = kh_le16(d + 6);
	b->version = kh_le64(d + 8);
	b->nentries = kh_le32(d + 16);
	b->nwatch = kh_le32(d + 20);
	b->nlisten = kh_le32(d + 24);
	b->strings_len = kh_le32(d + 28);
	soff = kh_le32(d + 32);
	b->servers_len = kh_le32(d + 36);
	b->created = kh_le64(d + 40);
	if (b->flags & ~(KH_BL_KILL_SUSPICIOUS | KH_BL_LISTEN_KNOWN | KH_BL_SERVERS_KNOWN))
		FAIL("unknown header flags 0x%x", b->flags);
	if (b->nentries > KH_BL_MAX_ENTRIES)
		FAIL("%u entries: over the limit of %d", b->nentries, KH_BL_MAX_ENTRIES);
	if (b->nwatch > KH_BL_MAX_WATCH)
		FAIL("%u watched paths: over the limit of %d", b->nwatch, KH_BL_MAX_WATCH);
	if (b->nlisten > KH_BL_MAX_LISTEN)
		FAIL("%u listeners: over the limit of %d", b->nlisten, KH_BL_MAX_LISTEN);
	need = KH_BL_HDR_LEN + (uint64_t)b->nentries * KH_BL_ENTRY_LEN +
	       (uint64_t)b->nwatch * KH_BL_WATCH_LEN + (uint64_t)b->nlisten * KH_BL_LISTEN_LEN +
	       b->strings_len;
	if (need != len)
		FAIL("%zu bytes, the header's counts make %llu", len, (unsigned long long)need);
	b->data = d;
	b->len = len;
	b->entries = d + KH_BL_HDR_LEN;
	b->watch = b->entries + (size_t)b->nentries * KH_BL_ENTRY_LEN;
	b->listen = b->watch + (size_t)b->nwatch * KH_BL_WATCH_LEN;
	b->strings = b->listen + (size_t)b->nlisten * KH_BL_LISTEN_LEN;
	if (b->servers_len > KH_BL_MAX_SERVERS || soff > b->strings_len ||
	    b->servers_len > b->strings_len - soff)
		FAIL("upstream lines outside the string area or over %d bytes", KH_BL_MAX_SERVERS);
	b->servers = (const char *)b->strings + soff;
	if (memchr(b->servers, 0, b->servers_len))
		FAIL("NUL byte in the upstream lines");
	for (uint32_t i = 0; i < b->nwatch; i++) {
		const uint8_t *w = b->watch + (size_t)i * KH_BL_WATCH_LEN;
		uint32_t off = kh_le32(w), n = kh_le16(w + 4);
		const char *pr;
		if (off > b->strings_len || n > b->strings_len - off)
			FAIL("watch %u: path outside the string area", i);
		if ((pr = path_problem((const char *)b->strings + off, n)))
			FAIL("watch %u: %s", i, pr);
		if (w[6] & ~(KH_BLW_RECURSIVE | KH_BLW_PERSIST | KH_BLW_EXEC) || w[7])
			FAIL("watch %u: unknown flags", i);
	}
	for (uint32_t i = 0; i < b->nlisten; i++) {
		const uint8_t *l = b->listen + (size_t)i * KH_BL_LISTEN_LEN;
		if ((l[0] != 6 && l[0] != 17) || l[1] || kh_le16(l + 2) == 0)
			FAIL("listener %u: protocol %u port %u", i, l[0], kh_le16(l + 2));
	}
	for (uint32_t i = 0; i < b->nentries; i++) {
		const uint8_t *e = b->entries + (size_t)i * KH_BL_ENTRY_LEN;
		uint32_t off = kh_le32(e), n = kh_le16(e + 4);
		const char *p = (const char *)b->strings + off, *pr;
		if (off > b->strings_len || n > b->strings_len - off)
			FAIL("entry %u: path outside the string area", i);
		if ((pr = path_problem(p, n)))
			FAIL("entry %u: %s", i, pr);
		if (e[6] > KH_FS_LINK)
			FAIL("entry %u (%.*s): type %u", i, (int)n, p, e[6]);
		if (e[7] & ~KH_BLE_UNHASHED || kh_le32(e + 20))
			FAIL("entry %u (%.*s): unknown flags", i, (int)n, p);
		if (kh_le32(e + 8) > 07777)
			FAIL("entry %u (%.*s): mode %o", i, (int)n, p, kh_le32(e + 8));
		if (prev && kh_bl_path_cmp(prev, prevlen, p, n) >= 0)
			FAIL("entry %u (%.*s): not sorted after the one before (or twice)", i,
			     (int)n, p);
		prev = p;
		prevlen = n;
	}
	return 0;
}

void kh_bl_entry_get(const struct kh_baseline *b, uint32_t i, struct kh_bl_entry *e)
{
	const uint8_t *r = b->entries + (size_t)i * KH_BL_ENTRY_LEN;

	e->path = (const char *)b->strings + kh_le32(r);
	e->path_len = kh_le16(r + 4);
	e->type = r[6];
	e->flags = r[7];
	e->mode = kh_le32(r + 8);
	e->uid = kh_le32(r + 12);
	e->gid = kh_le32(r + 16);
	e->size = kh_le64(r + 24);
	memcpy(e->sha256, r + 32, 32);
}

void kh_bl_watch_get(const struct kh_baseline *b, uint32_t i, struct kh_bl_watch *w)
{
	const uint8_t *r = b->watch + (size_t)i * KH_BL_WATCH_LEN;

	w->path = (const char *)b->strings + kh_le32(r);
	w->path_len = kh_le16(r + 4);
	w->flags = r[6];
}

void kh_bl_listen_get(const struct kh_baseline *b, uint32_t i, struct kh_bl_listen *l)
{
	const uint8_t *r = b->listen + (size_t)i * KH_BL_LISTEN_LEN;

	l->proto = r[0];
	l->port = kh_le16(r + 2);
}

long kh_bl_find(const struct kh_baseline *b, const char *path, size_t len)
{
	uint32_t lo = 0, hi = b->nentries;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		const uint8_t *r = b->entries + (size_t)mid * KH_BL_ENTRY_LEN;
		int c = kh_bl_path_cmp((const char *)b->strings + kh_le32(r), kh_le16(r + 4), path,
				       len);
		if (c == 0)
			return (long)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/* ---- writer ---- */

static int cmp_entry(const void *a, const void *b)
{
	const struct kh_bl_entry *x = a, *y = b;
	return kh_bl_path_cmp(x->path, x->path_len, y->path, y->path_len);
}

int kh_bl_write(struct kh_bl_build *in, uint8_t **out, size_t *outlen)
{
	size_t slen = 0, servers = in->servers ? strlen(in->servers) : 0, len, off;
	uint8_t *d, *p;

	if (in->nentries > KH_BL_MAX_ENTRIES || in->nwatch > KH_BL_MAX_WATCH ||
	    in->nlisten > KH_BL_MAX_LISTEN || servers > KH_BL_MAX_SERVERS)
		return -E2BIG;
	if (in->nentries) /* a table of watches only has no entries array */
		qsort(in->entries, in->nentries, sizeof(*in->entries), cmp_entry);
	for (uint32_t i = 0; i < in->nentries; i++) {
		if (path_problem(in->entries[i].path, in->entries[i].path_len) ||
		    (i && cmp_entry(&in->entries[i - 1], &in->entries[i]) == 0))
			return -EINVAL;
		slen += in->entries[i].path_len;
	}
	for (uint32_t i = 0; i < in->nwatch; i++) {
		if (path_problem(in->watch[i].path, in->watch[i].path_len))
			return -EINVAL;
		slen += in->watch[i].path_len;
	}
	slen += servers;
	len = KH_BL_HDR_LEN + (size_t)in->nentries * KH_BL_ENTRY_LEN +
	      (size_t)in->nwatch * KH_BL_WATCH_LEN + (size_t)in->nlisten * KH_BL_LISTEN_LEN + slen;
	if (len > KH_BL_MAX_BYTES || slen > UINT32_MAX)
		return -E2BIG;
	if (!(d = calloc(1, len)))
		return -ENOMEM;
	memcpy(d, KH_BL_MAGIC, 4);
	kh_put_le16(d + 4, KH_BL_FORMAT);
	kh_put_le16(d + 6, (uint16_t)in->flags);
	kh_put_le64(d + 8, in->version);
	kh_put_le32(d + 16, in->nentries);
	kh_put_le32(d + 20, in->nwatch);
	kh_put_le32(d + 24, in->nlisten);
	kh_put_le32(d + 28, (uint32_t)slen);
	kh_put_le32(d + 36, (uint32_t)servers);
	kh_put_le64(d + 40, in->created);
	p = d + KH_BL_HDR_LEN;
	off = 0;
	uint8_t *strings = d + len - slen;
	for (uint32_t i = 0; i < in->nentries; i++, p += KH_BL_ENTRY_LEN) {
		const struct kh_bl_entry *e = &in->entries[i];
		kh_put_le32(p, (uint32_t)off);
		kh_put_le16(p + 4, e->path_len);
		p[6] = e->type;
		p[7] = e->flags;
		kh_put_le32(p + 8, e->mode & 07777);
		kh_put_le32(p + 12, e->uid);
		kh_put_le32(p + 16, e->gid);
		kh_put_le64(p + 24, e->size);
		memcpy(p + 32, e->sha256, 32);
		memcpy(strings + off, e->path, e->path_len);
		off += e->path_len;
	}
	for (uint32_t i = 0; i < in->nwatch; i++, p += KH_BL_WATCH_LEN) {
		kh_put_le32(p, (uint32_t)off);
		kh_put_le16(p + 4, in->watch[i].path_len);
		p[6] = in->watch[i].flags;
		memcpy(strings + off, in->watch[i].path, in->watch[i].path_len);
		off += in->watch[i].path_len;
	}
	for (uint32_t i = 0; i < in->nlisten; i++, p += KH_BL_LISTEN_LEN) {
		p[0] = in->listen[i].proto;
		kh_put_le16(p + 2, in->listen[i].port);
	}
	kh_put_le32(d + 32, (uint32_t)off);
	memcpy(strings + off, in->servers ? in->servers : "", servers);
	*out = d;
	*outlen = len;
	return 0;
}

/* ---- the walk ---- */

/*
 * A listed directory, held open while children of it wait: each child is
 * looked up in it by name, never re-resolved by path, so a directory
 * swapped for a link after the listing is not followed (kh_fsdir).
 */
struct dref {
	struct kh_fsdir *d;
	unsigned refs;
	uint8_t shared; /* others can add entries (a sticky /tmp) */
};

struct pend {
	char *path;
	struct dref *dir; /* holds the last component of path */
	uint8_t depth, watch;
};

struct kh_bl_walk {
	struct kh_fsroot *r;
	const struct kh_bl_watch *watch;
	unsigned nwatch, next;
	kh_bl_entry_fn fn;
	void *ctx;
	struct pend *stack;
	size_t n, cap;
	uint64_t visited, skipped;
	int strict;
};

static void dref_put(struct dref *d)
{
	if (d && --d->refs == 0) {
		kh_fsdir_close(d->d);
		free(d);
	}
}

struct kh_bl_walk *kh_bl_walk_new(struct kh_fsroot *r, const struct kh_bl_watch *watch,
				  unsigned nwatch, kh_bl_entry_fn fn, void *ctx)
{
	struct kh_bl_walk *w = calloc(1, sizeof(*w));

	if (!w)
		return NULL;
	w->r = r;
	w->watch = watch;
	w->nwatch = nwatch;
	w->fn = fn;
	w->ctx = ctx;
	return w;
}

void kh_bl_walk_strict(struct kh_bl_walk *w)
{
	w->strict = 1;
}

void kh_bl_walk_free(struct kh_bl_walk *w)
{
	if (!w)
		return;
	for (size_t i = 0; i < w->n; i++) {
		free(w->stack[i].path);
		dref_put(w->stack[i].dir);
	}
	free(w->stack);
	free(w);
}

uint64_t kh_bl_walk_skipped(const struct kh_bl_walk *w)
{
	return w->skipped;
}

/* takes path and a reference on dir */
static int push(struct kh_bl_walk *w, char *path, struct dref *dir, unsigned depth, unsigned watch)
{
	if (w->n == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 64;
		struct pend *s = realloc(w->stack, cap * sizeof(*s));
		if (!s) {
			free(path);
			dref_put(dir);
			w->skipped++;
			return -ENOMEM;
		}
		w->stack = s;
		w->cap = cap;
	}
	w->stack[w->n++] = (struct pend){path, dir, (uint8_t)depth, (uint8_t)watch};
	return 0;
}

struct children {
	struct kh_bl_walk *w;
	struct dref *dir;
	const char *path;
	size_t pathlen;
	unsigned depth, watch;
};

static int on_child(void *ctx, const char *name)
{
	struct children *c = ctx;
	size_t nl = strlen(name), len = c->pathlen + 1 + nl;
	char *p;

	if (len > KH_FSROOT_MAX_PATH || !(p = malloc(len + 1))) {
		c->w->skipped++;
		return 0;
	}
	/* "/" + name, never "//name" */
	memcpy(p, c->path, c->pathlen);
	p[c->pathlen == 1 ? 0 : c->pathlen] = '/';
	memcpy(p + (c->pathlen == 1 ? 1 : c->pathlen + 1), name, nl + 1);
	c->dir->refs++;
	push(c->w, p, c->dir, c->depth, c->watch);
	return 0;
}

static int is_library(const char *path)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	size_t n = strlen(base);
	return (n > 3 && strcmp(base + n - 3, ".so") == 0) || strstr(base, ".so.") != NULL;
}

static void hash_chunk(void *ctx, const uint8_t *data, size_t len)
{
	kh_sha256_update(ctx, data, len);
}

/* The last component of a pending path: the name looked up in its directory. */
static const char *leaf(const struct pend *p)
{
	const char *s = strrchr(p->path, '/');
	return s && s[1] ? s + 1 : ".";
}

/*
 * The directory of a watched path, resolved as the audit resolves (links
 * inside the root); strict: only through directories others cannot
 * change, so nobody but root steers a watch point elsewhere.
 */
static struct dref *watch_dir(struct kh_bl_walk *w, const char *path)
{
	char dir[KH_FSROOT_MAX_PATH + 1];
	const char *slash = strrchr(path, '/');
	size_t n = slash && slash != path ? (size_t)(slash - path) : 1;
	struct kh_fs_stat st;
	struct dref *d = calloc(1, sizeof(*d));

	if (!d || n > KH_FSROOT_MAX_PATH)
		goto fail;
	memcpy(dir, path, n);
	dir[n] = 0;
	if (kh_fsdir_open(w->r, dir, w->strict, &d->d, &st) < 0) {
		/* missing is a later drift; through a directory others control, skipped */
		goto fail;
	}
	d->refs = 1;
	d->shared = kh_fs_dir_trusted(&st) != 1;
	return d;
fail:
	free(d);
	return NULL;
}

static void visit(struct kh_bl_walk *w, struct pend *p)
{
	const struct kh_bl_watch *wa = &w->watch[p->watch];
	struct kh_bl_entry e = {0};
	struct kh_fs_stat st;
	char target[KH_FSROOT_MAX_PATH + 1];
	const char *name = leaf(p);
	int rc;

	if (kh_fsdir_stat(p->dir->d, name, &st) < 0)
		return; /* missing (a file added there later is a drift), or unreachable */
	if (w->visited >= 2u * KH_BL_MAX_ENTRIES) {
		w->skipped++; /* a directory flooded with files must not stall the agent */
		return;
	}
	w->visited++;
	e.path = p->path;
	e.path_len = (uint16_t)strlen(p->path);
	e.type = (uint8_t)st.type;
	e.mode = st.mode;
	e.uid = st.uid;
	e.gid = st.gid;
	e.size = st.type == KH_FS_DIR ? 0 : st.size; /* a directory's size is the file system's */
	if (st.type == KH_FS_FILE) {
		struct kh_sha256 h;
		/* an executable directory is recorded for what runs: executables and libraries */
		if ((wa->flags & KH_BLW_EXEC) && p->depth > 0 && !(st.mode & 0111) &&
		    !is_library(p->path))
			return;
		/*
		 * In a directory others can add to (the sticky /tmp), a name may be
		 * a hard link someone made to a file they cannot read: its hash
		 * and size would tell them about it. Only a single-link file of
		 * root (or ours) is read there.
		 */
		if (w->strict && p->dir->shared && (!kh_fs_uid_trusted(st.uid) || st.nlink != 1)) {
			e.flags |= KH_BLE_UNHASHED | KH_BLE_UNTRUSTED;
			e.size = 0;
			w->fn(w->ctx, &e, wa);
			return;
		}
		kh_sha256_init(&h);
		rc = st.size > KH_BL_HASH_MAX ? -E2BIG
					      : kh_fsdir_stream(p->dir->d, name, &st,
								KH_BL_HASH_MAX, hash_chunk, &h);
		kh_sha256_final(&h, e.sha256);
		if (rc < 0) {
			memset(e.sha256, 0, sizeof(e.sha256));
			e.flags |= KH_BLE_UNHASHED;
		}
	} else if (st.type == KH_FS_LINK) {
		/* recorded as a link with its target, never followed inside a watched tree */
		rc = kh_fsdir_readlink(p->dir->d, name, target, sizeof(target));
		if (rc < 0) {
			e.flags |= KH_BLE_UNHASHED;
		} else {
			kh_sha256(target, strlen(target), e.sha256);
			e.size = strlen(target);
		}
	} else if (st.type == KH_FS_DIR && (wa->flags & KH_BLW_RECURSIVE)) {
		struct dref *sub;
		if (p->depth >= KH_BL_MAX_DEPTH) {
			w->skipped++;
		} else if (w->strict && kh_fs_dir_trusted(&st) != 1) {
			/* others can change what is in it: not listed, not read */
			e.flags |= KH_BLE_UNTRUSTED;
			w->skipped++;
		} else if (!(sub = calloc(1, sizeof(*sub))) ||
			   kh_fsdir_sub(p->dir->d, name, &st, &sub->d) < 0) {
			free(sub);
			e.flags |= KH_BLE_UNHASHED;
			w->skipped++;
		} else {
			struct children c = {w, sub, p->path, e.path_len, p->depth + 1u, p->watch};
			sub->refs = 1;
			if (kh_fsdir_list(sub->d, KH_BL_MAX_DIR, on_child, &c) == -E2BIG)
				w->skipped++;
			dref_put(sub);
		}
	}
	w->fn(w->ctx, &e, wa);
}

int kh_bl_walk_step(struct kh_bl_walk *w, unsigned units)
{
	while (units--) {
		struct pend p;
		if (w->n == 0) {
			struct dref *d;
			if (w->next >= w->nwatch)
				return 0;
			char *s = strndup(w->watch[w->next].path, w->watch[w->next].path_len);
			if (!s || !(d = watch_dir(w, s))) {
				free(s);
				w->skipped += !s;
				w->next++;
				continue;
			}
			push(w, s, d, 0, w->next++);
			continue;
		}
		p = w->stack[--w->n];
		visit(w, &p);
		free(p.path);
		dref_put(p.dir);
	}
	return w->n > 0 || w->next < w->nwatch;
}

/* ---- dnsmasq upstreams and listening sockets ---- */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

#define MAX_SERVERS 128

/* One configured upstream: "server=VALUE" (dnsmasq), "list|option server 'VALUE'" (UCI). */
/*
 * The resolver lines of dnsmasq's configuration (dnsmasq.conf syntax, or
 * UCI's /etc/config/dhcp): upstreams (server=, "list server"), kept bare
 * as before, and what else redirects names, kept as "KEY=VALUE": address=
 * (a name answered with an address), rev-server=, resolv-file= (another
 * upstream list) and conf-dir= / conf-file= (more configuration).
 */
static const struct {
	const char *conf, *uci; /* dnsmasq.conf key, UCI option */
} dns_keys[] = {{"server", "server"},	      {"address", "address"},
		{"rev-server", "rev_server"}, {"resolv-file", "resolvfile"},
		{"conf-dir", "confdir"},      {"conf-file", "conffile"}};

/* The value of a resolver line (NUL-terminated in place) and its key's index, or NULL. */
static char *dns_line(char *line, size_t *key)
{
	char *s = line, *e;
	size_t k;

	while (*s == ' ' || *s == '\t')
		s++;
	for (k = 0; k < KH_ARRAY_SIZE(dns_keys); k++) {
		size_t n = strlen(dns_keys[k].conf);
		if (strncmp(s, dns_keys[k].conf, n) == 0 && s[n] == '=') {
			s += n + 1;
			break;
		}
	}
	if (k == KH_ARRAY_SIZE(dns_keys)) {
		if (strncmp(s, "list", 4) != 0 && strncmp(s, "option", 6) != 0)
			return NULL;
		s += s[0] == 'l' ? 4 : 6;
		if (*s != ' ' && *s != '\t')
			return NULL;
		while (*s == ' ' || *s == '\t')
			s++;
		for (k = 0; k < KH_ARRAY_SIZE(dns_keys); k++) {
			size_t n = strlen(dns_keys[k].uci);
			if (strncmp(s, dns_keys[k].uci, n) == 0 && (s[n] == ' ' || s[n] == '\t')) {
				s += n;
				break;
			}
		}
		if (k == KH_ARRAY_SIZE(dns_keys))
			return NULL;
		while (*s == ' ' || *s == '\t')
			s++;
		if (*s == '\'' || *s == '"') {
			char q = *s++;
			if (!(e = strchr(s, q)))
				return NULL;
			*e = 0;
			*key = k;
			return s;
		}
	}
	e = s + strcspn(s, " \t\r#");
	*e = 0;
	*key = k;
	return *s ? s : NULL;
}

int kh_bl_servers(struct kh_fsroot *r, char *out, size_t size)
{
	static const char *const files[] = {"/etc/dnsmasq.conf", "/etc/config/dhcp"};
	char *vals[MAX_SERVERS];
	uint8_t *buf[2] = {NULL, NULL};
	size_t len, n = 0, o = 0;
	int rc = 0;

	for (size_t f = 0; f < KH_ARRAY_SIZE(files); f++) {
		char *line, *save;
		if (kh_fsroot_read(r, files[f], 256u << 10, &buf[f], &len) < 0)
			continue;
		for (line = strtok_r((char *)buf[f], "\n", &save); line;
		     line = strtok_r(NULL, "\n", &save)) {
			size_t key = 0;
			char *v = dns_line(line, &key);
			if (!v || n >= MAX_SERVERS)
				continue;
			if (key) { /* "KEY=VALUE": the value moves right over its line's start */
				size_t kl = strlen(dns_keys[key].conf), vl = strlen(v);
				if ((size_t)(v - line) < kl + 1)
					continue; /* cannot happen: the key is before it */
				memmove(line + kl + 1, v, vl + 1);
				memcpy(line, dns_keys[key].conf, kl);
				line[kl] = '=';
				v = line;
			}
			vals[n++] = v;
		}
	}
	qsort(vals, n, sizeof(*vals), cmp_str);
	out[0] = 0;
	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(vals[i]);
		if (i && strcmp(vals[i], vals[i - 1]) == 0)
			continue;
		if (o + l + 2 > size) {
			rc = -E2BIG;
			break;
		}
		memcpy(out + o, vals[i], l);
		o += l;
		out[o++] = '\n';
		out[o] = 0;
	}
	free(buf[0]);
	free(buf[1]);
	return rc;
}

int kh_bl_listeners(struct kh_fsroot *r, struct kh_bl_listen *out, unsigned max, unsigned *n)
{
	static const struct {
		const char *path;
		uint8_t proto;
	} tabs[] = {{"/proc/net/tcp", 6},
		    {"/proc/net/tcp6", 6},
		    {"/proc/net/udp", 17},
		    {"/proc/net/udp6", 17}};
	int found = 0;

	*n = 0;
	for (size_t t = 0; t < KH_ARRAY_SIZE(tabs); t++) {
		uint8_t *buf;
		size_t len;
		char *line, *save;
		if (kh_fsroot_read(r, tabs[t].path, 4u << 20, &buf, &len) < 0)
			continue;
		found = 1;
		for (line = strtok_r((char *)buf, "\n", &save); line;
		     line = strtok_r(NULL, "\n", &save)) {
			unsigned lport, rport, st, dup = 0;
			if (sscanf(line, " %*u: %*[0-9A-Fa-f]:%x %*[0-9A-Fa-f]:%x %x", &lport,
				   &rport, &st) != 3 ||
			    lport == 0 || lport > 65535)
				continue;
			/* TCP: LISTEN; UDP: unconnected, below the ephemeral range (client sockets) */
			if (tabs[t].proto == 6 ? st != 0x0A : st != 0x07 || rport || lport >= 32768)
				continue;
			for (unsigned i = 0; i < *n && !dup; i++)
				dup = out[i].proto == tabs[t].proto && out[i].port == lport;
			if (!dup && *n < max)
				out[(*n)++] = (struct kh_bl_listen){tabs[t].proto, (uint16_t)lport};
		}
		free(buf);
	}
	return found ? 0 : -ENOENT;
}

/* ---- the scan ---- */

enum {
	PH_WALK,
	PH_SWEEP,
	PH_PROC,
	PH_LISTEN,
	PH_DNS,
	PH_DONE
};

struct kh_bl_scan {
	const struct kh_baseline *b;
	struct kh_fsroot *r;
	int mode, phase;
	kh_drift_fn fn;
	void *ctx;
	struct kh_bl_watch *watch; /* the table's, those this mode walks */
	unsigned nwatch;
	struct kh_bl_walk *walk;
	uint8_t *seen;
	uint32_t sweep;
	long *pids;
	size_t npids, cappids, ipid;
	char *mounts; /* writable mount points, one a line */
	uint64_t files, skipped;
};

static int watch_covers(const struct kh_bl_watch *w, unsigned n, const char *path, size_t len)
{
	for (unsigned i = 0; i < n; i++)
		if (under(path, len, w[i].path, w[i].path_len))
			return 1;
	return 0;
}

int kh_bl_scan_covers(const struct kh_baseline *b, int mode, int kind, const char *path)
{
	if (mode == KH_BL_SCAN_FULL)
		return 1;
	if (kind == KH_DRIFT_DNS || kind == KH_DRIFT_OVERFLOW)
		return 1;
	if (kind > KH_DRIFT_REMOVED)
		return 0;
	for (uint32_t i = 0; i < b->nwatch; i++) {
		struct kh_bl_watch w;
		kh_bl_watch_get(b, i, &w);
		if ((w.flags & KH_BLW_PERSIST) && under(path, strlen(path), w.path, w.path_len))
			return 1;
	}
	return 0;
}

static int is_critical(const char *path, size_t len)
{
	for (size_t i = 0; i < KH_ARRAY_SIZE(critical); i++)
		if (under(path, len, critical[i], strlen(critical[i])))
			return 1;
	return 0;
}

static enum kh_severity severity(int kind, const struct kh_bl_entry *e, unsigned wflags)
{
	int exec = e->type == KH_FS_FILE && (e->mode & 0111);

	if (is_critical(e->path, e->path_len))
		return KH_SEV_CRITICAL;
	if (kind == KH_DRIFT_ADDED && (exec || (wflags & KH_BLW_EXEC)))
		return KH_SEV_CRITICAL; /* a new executable: the usual first step of a bot */
	if (wflags & KH_BLW_PERSIST)
		return KH_SEV_HIGH;
	if (wflags & KH_BLW_EXEC)
		return kind == KH_DRIFT_REMOVED ? KH_SEV_MEDIUM : KH_SEV_HIGH;
	return KH_SEV_MEDIUM;
}

static const char *type_name(unsigned t)
{
	return t == KH_FS_FILE	 ? "file"
	       : t == KH_FS_DIR	 ? "dir"
	       : t == KH_FS_LINK ? "link"
				 : "other";
}

static void describe(char *out, size_t size, const struct kh_bl_entry *e)
{
	char hex[17];

	kh_hex_encode(e->sha256, 8, hex);
	snprintf(out, size, "%s mode %04o uid %u size %llu sha256 %s%s", type_name(e->type),
		 (unsigned)e->mode, (unsigned)e->uid, (unsigned long long)e->size,
		 e->flags & KH_BLE_UNHASHED ? "unread" : hex,
		 e->flags & KH_BLE_UNHASHED ? "" : "...");
}

static void emit(struct kh_bl_scan *s, int kind, enum kh_severity sev, const char *path,
		 const char *what, const char *evidence, long pid)
{
	const struct kh_drift d = {(enum kh_drift_kind)kind, sev, path, what, evidence, pid};
	s->fn(s->ctx, &d);
}

#define ADD(...)                                                                                 \
	do {                                                                                     \
		int k_ = snprintf(ev + o, sizeof(ev) - o, __VA_ARGS__);                          \
		o = k_ < 0 ? o : o + (size_t)k_ >= sizeof(ev) ? sizeof(ev) - 1 : o + (size_t)k_; \
	} while (0)

static void on_scan_entry(void *ctx, const struct kh_bl_entry *e, const struct kh_bl_watch *w)
{
	struct kh_bl_scan *s = ctx;
	long i = kh_bl_find(s->b, e->path, e->path_len);
	struct kh_bl_entry o_;
	char what[64] = "", ev[384];
	size_t o = 0, wo = 0;

	s->files++;
	if (i < 0) {
		describe(ev, sizeof(ev), e);
		emit(s, KH_DRIFT_ADDED, severity(KH_DRIFT_ADDED, e, w->flags), e->path, "new", ev,
		     0);
		return;
	}
	s->seen[i] = 1;
	kh_bl_entry_get(s->b, (uint32_t)i, &o_);
	ev[0] = 0;
#define WHAT(s_) wo += (size_t)snprintf(what + wo, sizeof(what) - wo, "%s%s", wo ? "," : "", s_)
	if (o_.type != e->type) {
		WHAT("type");
		ADD("%stype %s -> %s", o ? "; " : "", type_name(o_.type), type_name(e->type));
	} else {
		if (o_.mode != e->mode) {
			WHAT("mode");
			ADD("%smode %04o -> %04o", o ? "; " : "", (unsigned)o_.mode,
			    (unsigned)e->mode);
		}
		if (o_.uid != e->uid || o_.gid != e->gid) {
			WHAT("owner");
			ADD("%sowner %u:%u -> %u:%u", o ? "; " : "", (unsigned)o_.uid,
			    (unsigned)o_.gid, (unsigned)e->uid, (unsigned)e->gid);
		}
		if (o_.size != e->size) {
			WHAT("size");
			ADD("%ssize %llu -> %llu", o ? "; " : "", (unsigned long long)o_.size,
			    (unsigned long long)e->size);
		}
		if (!(o_.flags & KH_BLE_UNHASHED) && !(e->flags & KH_BLE_UNHASHED) &&
		    memcmp(o_.sha256, e->sha256, 32) != 0) {
			char a[17], b[17];
			kh_hex_encode(o_.sha256, 8, a);
			kh_hex_encode(e->sha256, 8, b);
			WHAT("hash");
			ADD("%ssha256 %s... -> %s...", o ? "; " : "", a, b);
		} else if (e->flags & KH_BLE_UNTRUSTED) {
			/* not read: the reason is the drift (a hard link or a writable directory) */
			WHAT("untrusted");
			ADD("%snot read: others can change it", o ? "; " : "");
		} else if (!(o_.flags & KH_BLE_UNHASHED) && (e->flags & KH_BLE_UNHASHED)) {
			/* an unreadable file is not called unchanged */
			WHAT("unreadable");
			ADD("%scontent could not be read", o ? "; " : "");
		}
	}
#undef WHAT
	if (wo)
		emit(s, KH_DRIFT_CHANGED, severity(KH_DRIFT_CHANGED, e, w->flags), e->path, what,
		     ev, 0);
}

struct kh_bl_scan *kh_bl_scan_new(const struct kh_baseline *b, struct kh_fsroot *r, int mode,
				  kh_drift_fn fn, void *ctx)
{
	struct kh_bl_scan *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->b = b;
	s->r = r;
	s->mode = mode;
	s->fn = fn;
	s->ctx = ctx;
	s->seen = calloc(b->nentries ? b->nentries : 1, 1);
	s->watch = calloc(b->nwatch ? b->nwatch : 1, sizeof(*s->watch));
	if (!s->seen || !s->watch) {
		kh_bl_scan_free(s);
		return NULL;
	}
	for (uint32_t i = 0; i < b->nwatch; i++) {
		kh_bl_watch_get(b, i, &s->watch[s->nwatch]);
		if (mode == KH_BL_SCAN_FULL || (s->watch[s->nwatch].flags & KH_BLW_PERSIST))
			s->nwatch++;
	}
	/* the table's paths are not NUL-terminated: the walk takes them by length */
	s->walk = kh_bl_walk_new(r, s->watch, s->nwatch, on_scan_entry, s);
	if (!s->walk) {
		kh_bl_scan_free(s);
		return NULL;
	}
	/* a scan reads a live device, as root: never through what others can change */
	kh_bl_walk_strict(s->walk);
	return s;
}

void kh_bl_scan_free(struct kh_bl_scan *s)
{
	if (!s)
		return;
	kh_bl_walk_free(s->walk);
	free(s->seen);
	free(s->watch);
	free(s->pids);
	free(s->mounts);
	free(s);
}

void kh_bl_scan_counts(const struct kh_bl_scan *s, uint64_t *files, uint64_t *skipped)
{
	*files = s->files;
	*skipped = s->skipped + (s->walk ? kh_bl_walk_skipped(s->walk) : 0);
}

static void sweep(struct kh_bl_scan *s, unsigned units)
{
	for (unsigned k = 0; k < units * 64u && s->sweep < s->b->nentries; k++, s->sweep++) {
		struct kh_bl_entry e;
		char path[KH_FSROOT_MAX_PATH + 1], ev[384];
		size_t o = 0;
		if (s->seen[s->sweep])
			continue;
		kh_bl_entry_get(s->b, s->sweep, &e);
		if (!watch_covers(s->watch, s->nwatch, e.path, e.path_len))
			continue;
		memcpy(path, e.path, e.path_len);
		path[e.path_len] = 0;
		e.path = path;
		ADD("was ");
		describe(ev + o, sizeof(ev) - o, &e);
		unsigned wf = 0;
		for (unsigned i = 0; i < s->nwatch; i++)
			if (under(e.path, e.path_len, s->watch[i].path, s->watch[i].path_len))
				wf |= s->watch[i].flags;
		emit(s, KH_DRIFT_REMOVED, severity(KH_DRIFT_REMOVED, &e, wf), path, "removed", ev,
		     0);
	}
}

static int on_proc(void *ctx, const char *name)
{
	struct kh_bl_scan *s = ctx;
	char *end;
	long pid = strtol(name, &end, 10);

	if (*end || pid <= 0 || s->npids >= 65536)
		return 0;
	if (s->npids == s->cappids) {
		size_t cap = s->cappids ? s->cappids * 2 : 64;
		long *p = realloc(s->pids, cap * sizeof(*p));
		if (!p)
			return 1;
		s->pids = p;
		s->cappids = cap;
	}
	s->pids[s->npids++] = pid;
	return 0;
}

char *kh_bl_writable_mounts(const char *text, size_t len)
{
	char *buf = malloc(len + 1), *out = calloc(1, len + 1), *line, *save;
	size_t o = 0;

	if (!buf || !out) {
		free(buf);
		free(out);
		return NULL;
	}
	memcpy(buf, text, len);
	buf[len] = 0;
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char dev[256], mnt[512], fs[64], opts[256];
		if (sscanf(line, "%255s %511s %63s %255s", dev, mnt, fs, opts) != 4)
			continue;
		if (strcmp(fs, "tmpfs") && strcmp(fs, "ramfs") && strcmp(fs, "devtmpfs"))
			continue;
		if (strncmp(opts, "rw", 2) != 0 || strcmp(mnt, "/") == 0)
			continue;
		o += (size_t)snprintf(out + o, len + 1 - o, "%s\n", mnt);
	}
	free(buf);
	return out;
}

/* Mount points of memory-backed file systems: what is written there is gone at reboot. */
static void load_mounts(struct kh_bl_scan *s)
{
	uint8_t *buf;
	size_t len;

	if (kh_fsroot_read(s->r, "/proc/mounts", 1u << 20, &buf, &len) < 0)
		return;
	s->mounts = kh_bl_writable_mounts((const char *)buf, len);
	free(buf);
}

const char *kh_bl_exe_problem(const char *mounts, const char *exe)
{
	/* /overlay: OpenWrt's writable layer over the read-only squashfs image */
	static const char *const writable[] = {"/tmp", "/var", "/dev/shm",
					       "/dev", "/run", "/overlay"};
	size_t n = strlen(exe);
	const char *m;

	if (n > 10 && strcmp(exe + n - 10, " (deleted)") == 0)
		return "deleted";
	for (size_t i = 0; i < KH_ARRAY_SIZE(writable); i++)
		if (under(exe, n, writable[i], strlen(writable[i])))
			return "writable";
	for (m = mounts; m && *m;) {
		const char *e = strchr(m, '\n');
		if (!e)
			break;
		if (under(exe, n, m, (size_t)(e - m)))
			return "writable";
		m = e + 1;
	}
	return NULL;
}

int kh_bl_exe_in_overlay(struct kh_fsroot *r, const char *exe)
{
	char path[KH_FSROOT_MAX_PATH + 16];
	struct kh_fs_stat st;

	if (exe[0] != '/' || strncmp(exe, "/overlay/", 9) == 0 ||
	    (size_t)snprintf(path, sizeof(path), "/overlay/upper%s", exe) >= sizeof(path))
		return 0;
	return kh_fsroot_stat(r, path, 0, &st) == 0 && st.type == KH_FS_FILE;
}

static void proc_step(struct kh_bl_scan *s, unsigned units)
{
	for (; units-- && s->ipid < s->npids; s->ipid++) {
		char path[48], exe[KH_FSROOT_MAX_PATH + 1], ev[KH_FSROOT_MAX_PATH + 96];
		const char *why;
		long pid = s->pids[s->ipid];
		snprintf(path, sizeof(path), "/proc/%ld/exe", pid);
		/* kernel threads have none; other users' need ptrace access (docs/INTEGRITY.md) */
		if (kh_fsroot_readlink(s->r, path, exe, sizeof(exe)) < 0) {
			s->skipped++;
			continue;
		}
		if (!(why = kh_bl_exe_problem(s->mounts, exe)) &&
		    !(kh_bl_exe_in_overlay(s->r, exe) && (why = "overlay")))
			continue;
		snprintf(ev, sizeof(ev), "pid %ld runs %s", pid, exe);
		emit(s, KH_DRIFT_PROCESS, KH_SEV_CRITICAL, exe, why, ev, pid);
	}
}

static void listen_check(struct kh_bl_scan *s)
{
	struct kh_bl_listen now[KH_BL_MAX_LISTEN];
	unsigned n;

	if (!(s->b->flags & KH_BL_LISTEN_KNOWN) ||
	    kh_bl_listeners(s->r, now, KH_BL_MAX_LISTEN, &n) < 0)
		return;
	for (unsigned i = 0; i < n; i++) {
		int known = 0;
		char path[16], ev[96];
		for (uint32_t k = 0; k < s->b->nlisten && !known; k++) {
			struct kh_bl_listen l;
			kh_bl_listen_get(s->b, k, &l);
			known = l.proto == now[i].proto && l.port == now[i].port;
		}
		if (known)
			continue;
		snprintf(path, sizeof(path), "%s:%u", now[i].proto == 6 ? "tcp" : "udp",
			 now[i].port);
		snprintf(ev, sizeof(ev), "%s port %u listens and is not in the baseline's list",
			 now[i].proto == 6 ? "tcp" : "udp", now[i].port);
		emit(s, KH_DRIFT_LISTEN, KH_SEV_HIGH, path, "new", ev, 0);
	}
}

/* lines "a\nb\n" as "a,b" */
static void lines_csv(char *out, size_t size, const char *in, size_t len)
{
	size_t o = 0;

	for (size_t i = 0; i < len && o + 1 < size; i++)
		out[o++] = in[i] == '\n' ? (i + 1 < len ? ',' : 0) : in[i];
	out[o < size ? o : size - 1] = 0;
	if (o && out[o - 1] == ',')
		out[o - 1] = 0;
}

static void dns_check(struct kh_bl_scan *s)
{
	char now[KH_BL_MAX_SERVERS + 1], a[512], b[512], ev[1100];

	if (!(s->b->flags & KH_BL_SERVERS_KNOWN))
		return;
	kh_bl_servers(s->r, now, sizeof(now));
	if (strlen(now) == s->b->servers_len && memcmp(now, s->b->servers, s->b->servers_len) == 0)
		return;
	lines_csv(a, sizeof(a), now, strlen(now));
	lines_csv(b, sizeof(b), s->b->servers, s->b->servers_len);
	snprintf(ev, sizeof(ev), "dnsmasq upstreams and overrides now: %s; baseline: %s",
		 a[0] ? a : "(none)", b[0] ? b : "(none)");
	emit(s, KH_DRIFT_DNS, KH_SEV_CRITICAL, "dnsmasq", "servers", ev, 0);
}

int kh_bl_scan_step(struct kh_bl_scan *s, unsigned units)
{
	switch (s->phase) {
	case PH_WALK:
		if (kh_bl_walk_step(s->walk, units))
			return 1;
		s->phase = PH_SWEEP;
		return 1;
	case PH_SWEEP:
		sweep(s, units);
		if (s->sweep < s->b->nentries)
			return 1;
		s->phase = s->mode == KH_BL_SCAN_FULL ? PH_PROC : PH_DNS;
		if (s->phase == PH_PROC) {
			load_mounts(s);
			kh_fsroot_list(s->r, "/proc", 65536, on_proc, s);
		}
		return 1;
	case PH_PROC:
		proc_step(s, units);
		if (s->ipid < s->npids)
			return 1;
		s->phase = PH_LISTEN;
		return 1;
	case PH_LISTEN:
		listen_check(s);
		s->phase = PH_DNS;
		return 1;
	case PH_DNS:
		dns_check(s);
		s->phase = PH_DONE;
		return 0;
	default:
		return 0;
	}
}
