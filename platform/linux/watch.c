/* SPDX-License-Identifier: MIT */
/* Linux: change notification (platform/watch.h) through inotify. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "platform/watch.h"

struct kh_watch {
	int fd;
};

int kh_watch_new(struct kh_watch **out)
{
	struct kh_watch *w = malloc(sizeof(*w));

	if (!w)
		return -ENOMEM;
	w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (w->fd < 0) {
		int err = -errno;
		free(w);
		return err;
	}
	*out = w;
	return 0;
}

void kh_watch_free(struct kh_watch *w)
{
	if (!w)
		return;
	close(w->fd);
	free(w);
}

int kh_watch_add(struct kh_watch *w, const char *path)
{
	const uint32_t mask = IN_ATTRIB | IN_CLOSE_WRITE | IN_CREATE | IN_DELETE | IN_DELETE_SELF |
			      IN_MODIFY | IN_MOVED_FROM | IN_MOVED_TO | IN_MOVE_SELF |
			      IN_DONT_FOLLOW;

	return inotify_add_watch(w->fd, path, mask) < 0 ? -errno : 0;
}

int kh_watch_fd(const struct kh_watch *w)
{
	return w->fd;
}

int kh_watch_drain(struct kh_watch *w)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	int count = 0;

	for (;;) {
		ssize_t n = read(w->fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return count;
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *e = (const struct inotify_event *)(void *)p;
			count++;
			p += sizeof(*e) + e->len;
		}
	}
}
