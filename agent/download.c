/* SPDX-License-Identifier: MIT */
/*
 * The resumable bundle download (see download.h): the partial file, its
 * sidecar, the Range request and the checks on what the server sends back.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/download.h"
#include "crypto/crypto.h"
#include "lib/err.h"
#include "lib/hex.h"
#include "lib/http.h"

void kh_download_init(struct kh_download *d, const char *state_dir)
{
	memset(d, 0, sizeof(*d));
	snprintf(d->path, sizeof(d->path), "%s/spool/policy.download", state_dir);
	snprintf(d->sha_path, sizeof(d->sha_path), "%s/spool/policy.download.sha", state_dir);
}

void kh_download_close(struct kh_download *d)
{
	kh_fs_close(d->f);
	d->f = NULL;
}

void kh_download_discard(struct kh_download *d)
{
	kh_download_close(d);
	kh_fs_remove(d->path);
	kh_fs_remove(d->sha_path);
}

/* 1 if the partial download is of the bundle with this SHA-256. */
static int holds(const struct kh_download *d, const char *sha)
{
	uint8_t *b;
	size_t len;
	int same;

	if (kh_fs_read(d->sha_path, 128, &b, &len) < 0)
		return 0;
	same = len == 64 && memcmp(b, sha, 64) == 0;
	free(b);
	return same;
}

/* Start the partial file over (empty). */
static int restart(struct kh_download *d)
{
	kh_download_close(d);
	kh_fs_remove(d->path);
	return kh_fs_append_open(d->path, 0600, &d->f, NULL);
}

int kh_download_begin(struct kh_download *d, const char *sha, uint64_t size, char *extra,
		      size_t cap)
{
	uint64_t have = 0;
	int err;

	extra[0] = 0;
	kh_download_close(d);
	snprintf(d->sha, sizeof(d->sha), "%s", sha);
	d->size = size;
	d->have = 0;
	if (!holds(d, sha)) {
		kh_fs_remove(d->path);
		if ((err = kh_fs_write_atomic(d->sha_path, sha, 64, 0600)) < 0)
			return err;
	}
	if ((err = kh_fs_append_open(d->path, 0600, &d->f, &have)) < 0)
		return err;
	/* a partial as long as the bundle did not verify last time: start over */
	if (have >= size) {
		if ((err = restart(d)) < 0)
			return err;
		have = 0;
	}
	d->have = have;
	if (have > 0)
		snprintf(extra, cap, "Range: bytes=%llu-\r\nIf-Range: \"%s\"\r\n",
			 (unsigned long long)have, sha);
	return 0;
}

int kh_download_head(struct kh_download *d, int status, const char *content_range,
		     int64_t content_length)
{
	uint64_t start = 0;

	if (status == 206) {
		uint64_t a, b, total;
		if (kh_http_parse_content_range(content_range, &a, &b, &total) < 0 ||
		    a != d->have || total != d->size || b + 1 != total)
			return -EBADMSG;
		start = a;
	} else if (d->have) {
		/* the server sent it whole (If-Range did not match): start over */
		if (restart(d) < 0)
			return -EIO;
	}
	if (content_length < 0 || start + (uint64_t)content_length != d->size)
		return -EBADMSG;
	return 0;
}

int kh_download_write(struct kh_download *d, const void *p, size_t n)
{
	return d->f ? kh_fs_append(d->f, p, n) : -EBADF;
}

int kh_download_finish(struct kh_download *d, struct kh_fs_map *map, char *why, size_t whylen)
{
	uint8_t h[32];
	char hex[65];
	int err;

	kh_download_close(d);
	err = kh_fs_map(d->path, (size_t)CONFIG_POLICY_MAX_BUNDLE_MB << 20, map);
	if (err < 0) {
		snprintf(why, whylen, "downloaded bundle unreadable: %s", kh_strerror(err));
		kh_download_discard(d);
		return err;
	}
	kh_sha256(map->data, map->len, h);
	kh_hex_encode(h, 32, hex);
	if (strcmp(hex, d->sha) != 0) {
		snprintf(why, whylen, "download does not match the announced SHA-256");
		kh_fs_unmap(map);
		kh_download_discard(d);
		return -EBADMSG;
	}
	return 0;
}
