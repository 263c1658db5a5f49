/* SPDX-License-Identifier: MIT */
/*
 * khien-server's shared pieces: the instance directory and its
 * configuration, and the operations that both the command line and the
 * operator HTTPS API perform (init, provision, publish). The instance is a
 * directory:
 *
 *   DIR/server.json        configuration (URL, listen address, limits)
 *   DIR/khien.db           SQLite store (server/store.h)
 *   DIR/device-ca.{key,pem} issues one client certificate per device
 *   DIR/server-ca.{key,pem} issues the server certificate; devices pin it
 *   DIR/server.{key,pem}   the TLS server's identity for the URL's host
 *   DIR/operator.token     the operator credential (bearer token, 0600)
 *   DIR/trust-root.json    policy trust root: what publish verifies against
 *   DIR/bundles/           published bundles, by version
 *   DIR/dev-keys/          development root and policy keys (init without
 *                          --trust-root only; never for production)
 */
#ifndef KHIEN_SERVER_SERVER_H
#define KHIEN_SERVER_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "policy/trust.h"
#include "server/store.h"

#define KH_SRV_PATH_MAX 512

struct kh_srv_config {
	char url[256];	/* https://HOST:PORT the devices use */
	char host[256]; /* HOST of the URL */
	uint16_t port;
	char listen[64];	       /* ADDR:PORT to bind */
	uint32_t interval_s;	       /* check-in interval told to devices */
	uint32_t max_conns;	       /* concurrent connections */
	uint32_t max_conns_per_device; /* of them, held by one device certificate */
	uint32_t idle_timeout_ms;      /* a connection with no progress for this long is closed */
	uint32_t ticket_lifetime_s;
	uint32_t ticket_key_rotate_s; /* a new session-ticket key in the store this often */
	uint8_t operator_token_sha256[32];
	uint32_t device_cert_days;
	uint32_t max_requests;	  /* per connection, then Connection: close */
	uint32_t rollout_check_s; /* the staged rollouts' halt rule runs this often */
	struct {
		uint32_t window_s, events, bytes; /* per device and window (kh_event_quota) */
	} quota;
	/* the store: empty for DIR/khien.db (SQLite), else a postgresql:// URL */
	char database[512];
	char database_password_file
		[KH_SRV_PATH_MAX]; /* PostgreSQL's password, when not PGPASSWORD */
};

struct kh_api_ref;
struct kh_assign_slot;
struct kh_dash;
#define KH_SRV_CACHE_SLOTS 4

/*
 * An open instance: configuration, store, the trust root, and the
 * published bundles mapped read-only for downloads (server/api.c; zeroed
 * by kh_srv_open, emptied by kh_api_cache_clear).
 */
struct kh_srv {
	char dir[KH_SRV_PATH_MAX];
	struct kh_srv_config cfg;
	struct kh_store *store;
	struct kh_root root;
	struct {
		struct kh_api_ref *slot[KH_SRV_CACHE_SLOTS];
		uint64_t tick; /* for least recently used */
	} cache;
	/* what each group is assigned, by kh_store_policy_gen (server/rollout.c) */
	struct kh_assign_slot *assign;
	struct kh_dash *dash; /* the dashboard's sessions (server/dashboard.c), once used */
};

/* Limits on what devices and operators may send (docs/PROTOCOL.md). */
#define KH_SRV_DEVICE_BODY_MAX (256 * 1024)
#define KH_SRV_CHECKIN_BODY_MAX (16 * 1024)
#define KH_SRV_AUDIT_BODY_MAX (256 * 1024) /* 512 checks with their evidence */
#define KH_SRV_ADMIN_BODY_MAX ((size_t)64 << 20)
#define KH_SRV_CONNS_PER_DEVICE_MAX 64

/* Where kh_srv_init puts the store: NULL members for the defaults. */
struct kh_srv_store_opts {
	const char *database; /* NULL: DIR/khien.db (SQLite); or a postgresql:// URL */
	const char *database_password_file; /* NULL: PGPASSWORD, PGPASSFILE or none */
};

/*
 * Create an instance in dir (which must not hold one already). url:
 * https://HOST:PORT (NULL for https://127.0.0.1:8443). trust_root: path of
 * the security team's root.json, or NULL to generate development keys.
 * store: NULL for SQLite in dir. Progress goes to stderr. 0 or negative
 * errno with why.
 */
int kh_srv_init(const char *dir, const char *url, const char *trust_root,
		const struct kh_srv_store_opts *store, char *why, size_t whylen);

/* Open an existing instance (configuration, store, trust root). */
int kh_srv_open(const char *dir, struct kh_srv *s, char *why, size_t whylen);
void kh_srv_close(struct kh_srv *s);

/* What provisioning gives a device (PEM texts; heap, free with kh_srv_provisioned_free). */
struct kh_provisioned {
	char *key_pem, *cert_pem, *ca_pem, *root_json, *config_json;
};

/*
 * Register serial in group and issue its key and certificate. If outdir is
 * not NULL, write device.key (0600), device.pem, server-ca.pem, root.json
 * and khiend.json there; if out is not NULL, hand the texts over. -EEXIST
 * if the serial is known, unless KH_PROV_FORCE: that re-keys the device
 * (the pinned fingerprint changes, so its old certificate stops working)
 * and reactivates it. not_after: the certificate's expiry (Unix time), 0
 * for device_cert_days from now. KH_PROV_EXPIRED issues a certificate that
 * has already expired (for tests of the server's refusal).
 */
#define KH_PROV_FORCE 1u
#define KH_PROV_EXPIRED 2u
int kh_srv_provision(struct kh_srv *s, const char *serial, const char *group, unsigned flags,
		     int64_t not_after, const char *outdir, struct kh_provisioned *out, char *why,
		     size_t whylen);
void kh_srv_provisioned_free(struct kh_provisioned *p);

/*
 * Verify a bundle against the trust root (signatures, expiry, structure),
 * store it under DIR/bundles and assign it to group ("*" = all devices).
 * An already published version may be assigned again only with the very
 * same bytes. Fills rec.
 */
int kh_srv_publish(struct kh_srv *s, const uint8_t *bundle, size_t len, const char *group,
		   struct kh_policy_rec *rec, char *why, size_t whylen);
/* The verify-and-store half of kh_srv_publish, assigning nothing. */
int kh_srv_publish_bundle(struct kh_srv *s, const uint8_t *bundle, size_t len,
			  struct kh_policy_rec *rec, char *why, size_t whylen);

/* Forget the dashboard's sessions (wiped); accepts NULL. server/dashboard.c */
void kh_dash_free(struct kh_dash *d);

/* Run the TLS server until SIGTERM/SIGINT (server/srv_net.c). listen may be NULL. */
int kh_srv_run(struct kh_srv *s, const char *listen);

#endif
