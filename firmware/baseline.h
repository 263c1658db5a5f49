/* SPDX-License-Identifier: MIT */
/*
 * The file baseline (docs/INTEGRITY.md): what a device's watched paths
 * should hold (type, mode, owner, size, SHA-256), the listening ports and
 * dnsmasq upstreams it should have, as one sorted binary table the device
 * maps and binary-searches instead of parsing JSON. This file owns the
 * table's format and checks, its writer (khien-policy baseline), the walk
 * that records or re-reads the watched paths of a root (the ISP tool and
 * the agent use the same one) and the scan that compares a root with a
 * table and reports each difference as a drift.
 */
#ifndef KHIEN_FIRMWARE_BASELINE_H
#define KHIEN_FIRMWARE_BASELINE_H

#include <stddef.h>
#include <stdint.h>

#include "lib/severity.h"
#include "platform/fsroot.h"

/* ---- the table (little endian; docs/INTEGRITY.md) ---- */
#define KH_BL_MAGIC "KHBL"
#define KH_BL_FORMAT 1
#define KH_BL_HDR_LEN 48
#define KH_BL_ENTRY_LEN 64
#define KH_BL_WATCH_LEN 8
#define KH_BL_LISTEN_LEN 4
#define KH_BL_MAX_ENTRIES 65536
#define KH_BL_MAX_WATCH 64
#define KH_BL_MAX_LISTEN 256
#define KH_BL_MAX_SERVERS 4096 /* bytes of dnsmasq upstream lines */
#define KH_BL_MAX_BYTES (16u << 20)
#define KH_BL_MAX_DEPTH 8	      /* directory levels below a watched path */
#define KH_BL_MAX_DIR 4096	      /* entries of one directory */
#define KH_BL_HASH_MAX (256ull << 20) /* a bigger file is recorded unhashed */

/* header flags */
#define KH_BL_KILL_SUSPICIOUS 0x1u /* the ISP lets the agent stop a suspicious process */
#define KH_BL_LISTEN_KNOWN 0x2u	   /* the listening sockets were recorded */
#define KH_BL_SERVERS_KNOWN 0x4u   /* the dnsmasq upstreams were recorded */
/* watch flags */
#define KH_BLW_RECURSIVE 0x1u /* walk below it */
#define KH_BLW_PERSIST 0x2u   /* a persistence point: notified changes, critical drifts */
#define KH_BLW_EXEC 0x4u      /* an executable directory: executables, links and .so only */
/* entry flags */
#define KH_BLE_UNHASHED 0x1u  /* content not hashed (too big, unreadable) */
#define KH_BLE_UNTRUSTED 0x2u /* a strict walk did not look in it: others can change it */

struct kh_bl_entry {
	const char *path; /* absolute, inside the root */
	uint16_t path_len;
	uint8_t type; /* enum kh_fs_type */
	uint8_t flags;
	uint32_t mode, uid, gid;
	uint64_t size;
	uint8_t sha256[32]; /* file content, or a link's target text */
};

struct kh_bl_watch {
	const char *path;
	uint16_t path_len;
	uint8_t flags;
};

struct kh_bl_listen {
	uint8_t proto; /* 6 tcp, 17 udp */
	uint16_t port;
};

/* A checked table: views into the caller's bytes, which must outlive it. */
struct kh_baseline {
	const uint8_t *data;
	size_t len;
	uint64_t version, created;
	uint32_t flags, nentries, nwatch, nlisten;
	const uint8_t *entries, *watch, *listen, *strings;
	uint32_t strings_len;
	const char *servers; /* sorted upstream values, one a line, not NUL-terminated */
	uint32_t servers_len;
};

/*
 * Check a table (untrusted until the bundle's signature was checked, and
 * checked again here): sizes, offsets inside the string area, paths
 * absolute and clean, entries strictly sorted, limits above. 0, or
 * -EBADMSG with why ("entry 12: path not sorted").
 */
int kh_bl_parse(const uint8_t *data, size_t len, struct kh_baseline *b, char *why, size_t whylen);
void kh_bl_entry_get(const struct kh_baseline *b, uint32_t i, struct kh_bl_entry *e);
void kh_bl_watch_get(const struct kh_baseline *b, uint32_t i, struct kh_bl_watch *w);
void kh_bl_listen_get(const struct kh_baseline *b, uint32_t i, struct kh_bl_listen *l);
/* Index of path's entry (binary search), or -1. */
long kh_bl_find(const struct kh_baseline *b, const char *path, size_t len);

/*
 * Write a table: entries in any order (sorted here; the same path twice is
 * -EINVAL), watches, listeners and servers (lines). *out is malloc()ed.
 */
struct kh_bl_build {
	uint64_t version, created;
	uint32_t flags;
	struct kh_bl_entry *entries;
	uint32_t nentries;
	const struct kh_bl_watch *watch;
	uint32_t nwatch;
	const struct kh_bl_listen *listen;
	uint32_t nlisten;
	const char *servers; /* NUL-terminated lines or NULL */
};
int kh_bl_write(struct kh_bl_build *in, uint8_t **out, size_t *outlen);

/* The default watch list (docs/INTEGRITY.md): persistence points and executable directories. */
extern const struct kh_bl_watch kh_bl_default_watch[];
extern const unsigned kh_bl_default_nwatch;

/* Order of entries in a table: bytewise on the path. */
int kh_bl_path_cmp(const char *a, size_t alen, const char *b, size_t blen);

/* ---- the walk: the watched paths of a root, one entry at a time ---- */
struct kh_bl_walk;
typedef void (*kh_bl_entry_fn)(void *ctx, const struct kh_bl_entry *e, const struct kh_bl_watch *w);
/* Walk the given watches of r; fn is called for each entry found. NULL when out of memory. */
struct kh_bl_walk *kh_bl_walk_new(struct kh_fsroot *r, const struct kh_bl_watch *watch,
				  unsigned nwatch, kh_bl_entry_fn fn, void *ctx);
/* Visit up to units paths; 1 while more remain, 0 when done. */
int kh_bl_walk_step(struct kh_bl_walk *w, unsigned units);
/*
 * Make the walk strict (a scan of a live device by the root-read auditor):
 * a watch point is reached only through directories others cannot change
 * (kh_fsdir_open trusted_only), a directory others can write or not of
 * root is recorded KH_BLE_UNTRUSTED and not listed, and a file in a
 * directory others can add to is hashed only if root's with one link.
 */
void kh_bl_walk_strict(struct kh_bl_walk *w);
/* Paths past the limits (depth, directory size, total) that were not visited. */
uint64_t kh_bl_walk_skipped(const struct kh_bl_walk *w);
void kh_bl_walk_free(struct kh_bl_walk *w);

/* The dnsmasq upstreams configured in r (server= lines, UCI "server" options), sorted, one a line. */
int kh_bl_servers(struct kh_fsroot *r, char *out, size_t size);
/* The listening sockets of r's /proc/net (-ENOENT without it), at most max. */
int kh_bl_listeners(struct kh_fsroot *r, struct kh_bl_listen *out, unsigned max, unsigned *n);

/*
 * Processes: the writable memory-backed mounts of a /proc/mounts text
 * (lines "MOUNT\n", heap; NULL when out of memory), and why an executable
 * path (an exe link's text) is suspicious: "deleted", "writable" (under
 * /tmp, /var, /dev, /run, /overlay or one of mounts), or NULL.
 */
char *kh_bl_writable_mounts(const char *text, size_t len);
const char *kh_bl_exe_problem(const char *mounts, const char *exe);
/*
 * 1 if the executable path was added or replaced in OpenWrt's writable
 * layer over the read-only image (r has /overlay/upper/PATH, a regular
 * file): drift "overlay".
 */
int kh_bl_exe_in_overlay(struct kh_fsroot *r, const char *exe);

/* ---- the scan: a root against a table ---- */
enum kh_drift_kind {
	KH_DRIFT_CHANGED = 0, /* file_changed */
	KH_DRIFT_ADDED,	      /* file_added */
	KH_DRIFT_REMOVED,     /* file_removed */
	KH_DRIFT_PROCESS,     /* process_suspicious */
	KH_DRIFT_LISTEN,      /* socket_listening */
	KH_DRIFT_DNS,	      /* dns_hijack */
	KH_DRIFT_OVERFLOW,    /* integrity_overflow: more drifts than a scan reports */
	KH_DRIFT_KINDS
};
/* The event type of a kind ("file_changed"...), NULL if out of range; and back (-1). */
const char *kh_drift_type(int kind);
int kh_drift_kind_parse(const char *type);

struct kh_drift {
	enum kh_drift_kind kind;
	enum kh_severity sev;
	const char *path;     /* the file, "tcp:4444", the executable, "dnsmasq" */
	const char *what;     /* "mode,hash", "deleted", "writable", "new", "servers" */
	const char *evidence; /* before -> after, pid, the lines */
	long pid;	      /* KH_DRIFT_PROCESS: the process */
};
typedef void (*kh_drift_fn)(void *ctx, const struct kh_drift *d);

#define KH_BL_SCAN_FULL 0    /* every watch, processes, sockets, upstreams */
#define KH_BL_SCAN_PERSIST 1 /* persistence watches and upstreams only (a notification) */
struct kh_bl_scan;
struct kh_bl_scan *kh_bl_scan_new(const struct kh_baseline *b, struct kh_fsroot *r, int mode,
				  kh_drift_fn fn, void *ctx);
/* up to units of work; 1 while more remain */
int kh_bl_scan_step(struct kh_bl_scan *s, unsigned units);
/* entries compared, and paths not visited for the limits */
void kh_bl_scan_counts(const struct kh_bl_scan *s, uint64_t *files, uint64_t *skipped);
void kh_bl_scan_free(struct kh_bl_scan *s);
/*
 * 1 if a scan of this mode looks at the drift of this kind and path (a
 * persistence-only scan says nothing of /usr/bin or processes).
 */
int kh_bl_scan_covers(const struct kh_baseline *b, int mode, int kind, const char *path);

#endif
