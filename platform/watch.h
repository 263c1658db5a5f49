/* SPDX-License-Identifier: MIT */
/*
 * Change notification on a few paths (inotify on Linux): a descriptor
 * that becomes readable when something in a watched directory, or a
 * watched file, changes. It says only that something changed, never what:
 * the integrity check then looks for itself (agent/integrity.c), so a
 * lost or forged notification costs at most a scan.
 */
#ifndef KHIEN_PLATFORM_WATCH_H
#define KHIEN_PLATFORM_WATCH_H

struct kh_watch;

/* A new, empty watch set. -ENOTSUP where the platform has none (lwIP). */
int kh_watch_new(struct kh_watch **out);
void kh_watch_free(struct kh_watch *w);
/*
 * Watch path (a directory: its entries; a file: itself); links are not
 * followed. -ENOENT if it does not exist, -ENOSPC past the kernel's limit.
 */
int kh_watch_add(struct kh_watch *w, const char *path);
/* The descriptor to poll for reading. */
int kh_watch_fd(const struct kh_watch *w);
/* Read what is pending (without blocking); the number of notifications. */
int kh_watch_drain(struct kh_watch *w);

#endif
