/* SPDX-License-Identifier: MIT */
/*
 * The resumable policy download: bundle bytes streamed into
 * STATE/spool/policy.download, with a sidecar (policy.download.sha) naming
 * the bundle (its SHA-256) the partial file holds. A cut connection keeps
 * the partial; the next request asks for the rest (Range + If-Range on the
 * SHA-256), so a few MiB over a bad line arrive in pieces. One partial at a
 * time, whatever the server announces: a resume never mixes two bundles
 * and abandoned downloads cannot pile up in the state directory. The
 * finished file is mapped, not read into RAM, and checked against the
 * announced SHA-256 before anyone parses it.
 */
#ifndef KHIEN_AGENT_DOWNLOAD_H
#define KHIEN_AGENT_DOWNLOAD_H

#include <stddef.h>
#include <stdint.h>

#include "agent/config.h"
#include "platform/fs.h"

struct kh_download {
	char path[KH_CFG_PATH_MAX + 32], sha_path[KH_CFG_PATH_MAX + 32];
	struct kh_fs_file *f; /* open while bytes arrive */
	uint64_t have;	      /* bytes held when the request was made */
	uint64_t size;	      /* the bundle's announced size */
	char sha[65];	      /* and SHA-256, hex */
};

/* Paths under state_dir/spool; nothing is opened. */
void kh_download_init(struct kh_download *d, const char *state_dir);

/*
 * Prepare to fetch the bundle of this SHA-256 (hex) and size: keep the
 * partial file if it is of this bundle, else start over. extra gets the
 * Range/If-Range header lines to send ("" for a fresh start). 0 or
 * negative errno (the state directory cannot be written).
 */
int kh_download_begin(struct kh_download *d, const char *sha, uint64_t size, char *extra,
		      size_t cap);
/*
 * The answer's head: 200 (the whole bundle: a partial is dropped) or 206
 * (the rest from where the partial ends). 0, or -EBADMSG when the framing
 * does not fit the announced bundle, -EIO if the file cannot be restarted.
 */
int kh_download_head(struct kh_download *d, int status, const char *content_range,
		     int64_t content_length);
/* Append arriving bytes. 0 or negative errno. */
int kh_download_write(struct kh_download *d, const void *p, size_t n);
/* Stop writing, keeping the partial for a resume. Always safe. */
void kh_download_close(struct kh_download *d);
/* Close and remove the partial file and its sidecar. Always safe. */
void kh_download_discard(struct kh_download *d);

/*
 * The whole bundle has arrived: map it (read-only, at most
 * CONFIG_POLICY_MAX_BUNDLE_MB) and check its SHA-256. 0 with *map to
 * kh_fs_unmap() (then kh_download_discard()); otherwise the download is
 * discarded and why says what was wrong.
 */
int kh_download_finish(struct kh_download *d, struct kh_fs_map *map, char *why, size_t whylen);

#endif
