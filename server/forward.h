/* SPDX-License-Identifier: MIT */
/*
 * Events to the SOC's collector (`khien-server forward`, docs/SERVER.md):
 * each event as one syslog message (RFC 5424; over UDP one per datagram,
 * RFC 5426, over TCP with octet counting, RFC 6587), its body either the
 * event's JSON or a CEF record (ArcSight Common Event Format). Everything
 * in an event came from a device, so every field is escaped for where it
 * lands: no device can end a message early, add a structured-data element
 * or a CEF extension of its own, or put a control character in the log.
 */
#ifndef KHIEN_SERVER_FORWARD_H
#define KHIEN_SERVER_FORWARD_H

#include <stddef.h>

#include "platform/net.h"
#include "server/store.h"

#define KH_FWD_UDP_MAX 2048	   /* RFC 5426: what every receiver should take */
#define KH_FWD_TCP_MAX (64 * 1024) /* one message over TCP */

enum kh_fwd_format {
	KH_FWD_RFC5424,
	KH_FWD_CEF
};

struct kh_fwd_cfg {
	enum kh_fwd_format format;
	unsigned facility;   /* 0..23; default 16 (local0) */
	const char *host;    /* HOSTNAME field; NULL or "": "-" */
	long pid;	     /* PROCID */
	const char *version; /* the product version in CEF */
};

/*
 * One event as a syslog message (no transport framing) into buf, cut to
 * cap - 1 bytes at a character boundary. Returns its length.
 */
size_t kh_fwd_format(const struct kh_fwd_cfg *c, const struct kh_event_rec *e, char *buf,
		     size_t cap);

struct kh_fwd;

/*
 * A sender to "udp://IP:PORT" or "tcp://IP:PORT". -EINVAL with why for a
 * bad address. TCP connects on the first send and again after a failure.
 */
int kh_fwd_open(const char *to, struct kh_fwd **out, char *why, size_t whylen);
void kh_fwd_close(struct kh_fwd *f);
/* Send one formatted message, waiting at most timeout_ms. 0 or negative errno. */
int kh_fwd_send(struct kh_fwd *f, const char *msg, size_t len, unsigned timeout_ms);

#endif
