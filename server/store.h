/* SPDX-License-Identifier: MIT */
/*
 * The central server's storage, behind a narrow interface: devices and
 * their last check-in, published policy bundles and their assignment to
 * groups, pending commands, and the events devices upload. SQLite (WAL) is
 * the embedded default (server/store_sqlite.c); PostgreSQL
 * (server/store_pg.c) implements the same calls when one machine is no
 * longer enough, since the server keeps no other state. server/store.c
 * picks the backend (server/store_be.h).
 *
 * Writes from check-ins are grouped: they join an open transaction that
 * kh_store_flush() commits (the server calls it on a short timer). Calls
 * whose result is promised to a device (events stored, so acknowledged)
 * commit before they return.
 *
 * Errors: -ENOENT not found, -EEXIST duplicate, -EINVAL bad argument,
 * -EIO for a database failure (logged with the database's message).
 */
#ifndef KHIEN_SERVER_STORE_H
#define KHIEN_SERVER_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define KH_SERIAL_MAX 64
#define KH_GROUP_MAX 64
#define KH_FIRMWARE_MAX 64

struct kh_store;

enum kh_device_status {
	KH_DEV_ACTIVE = 0,
	KH_DEV_REVOKED = 1,
};

struct kh_device {
	char serial[KH_SERIAL_MAX + 1];
	char group[KH_GROUP_MAX + 1];
	uint8_t cert_sha256[32]; /* the certificate issued at provisioning */
	int64_t cert_not_after;	 /* and when it expires (checked on resumed sessions too) */
	enum kh_device_status status;
	int64_t created, last_seen; /* Unix seconds; last_seen 0 = never */
	char firmware[KH_FIRMWARE_MAX + 1];
	char hardware_id[KH_FIRMWARE_MAX + 1];
	uint64_t policy_version; /* reported by the device */
	uint64_t last_seq;	 /* highest event sequence stored */
	uint64_t events_dropped; /* device-side drops it reported (cumulative) */
	uint64_t checkins;
	char status_json[1024]; /* the device's last reported counters, JSON object text */
	/* its event quota's current window (kh_store_events_add); 0s before the first */
	int64_t quota_start, quota_end;	    /* [start, end), server clock */
	uint64_t quota_events, quota_bytes; /* stored in it */
	uint64_t quota_refused;		    /* refused in it */
	uint64_t
		events_refused; /* refused over quota, ever (each time: a resent one counts again) */
	uint64_t
		policy_rejected; /* the last version it reported refusing from the server, 0 none */
};

/*
 * How much one device may store: at most events events and bytes bytes
 * (kh_event_size) per window of window_s seconds. A window opens with the
 * first upload after the last one closed.
 */
struct kh_event_quota {
	uint32_t window_s;
	uint64_t events, bytes;
};

/* What kh_store_events_add did with an upload. */
struct kh_events_result {
	uint64_t acked;	  /* the highest sequence stored for the device */
	unsigned stored;  /* new events stored */
	unsigned refused; /* new events refused over the quota (not stored) */
	int64_t retry_at; /* refused: when the window closes (server clock) */
};

struct kh_policy_rec {
	uint64_t version;
	char sha256_hex[65];
	uint64_t size;
	int64_t created, expires, published;
	char path[256]; /* bundle file, relative to the server directory */
};

struct kh_event_rec {
	int64_t id; /* server-side, increasing */
	char serial[KH_SERIAL_MAX + 1];
	uint64_t seq;	  /* device-side */
	int64_t time;	  /* when it happened (device clock) */
	int64_t received; /* server clock */
	char type[32];
	int severity;
	const char *payload; /* JSON object text; valid during the callback */
};

struct kh_command {
	int64_t id;
	char type[32];
	char arg[257]; /* a notice is the longest: 256 bytes */
};

/* Check-in data a device reports. */
struct kh_checkin {
	const char *firmware, *hardware_id;
	uint64_t policy_version;
	uint64_t events_dropped;
	const char *status_json; /* may be NULL */
};

/*
 * Open or create (schema included, migrated to the current version) the
 * store where names: a SQLite file path, or a PostgreSQL connection URL
 * (postgresql://USER@/DB?host=SOCKETDIR). password: PostgreSQL's, when not
 * from the environment (PGPASSWORD, PGPASSFILE); NULL otherwise. A URL
 * carrying a password is refused: it would show in ps and the configuration.
 */
int kh_store_open_with(const char *where, const char *password, struct kh_store **out, char *why,
		       size_t whylen);
int kh_store_open(const char *where, struct kh_store **out, char *why, size_t whylen);
/* 1 if where names a PostgreSQL database. */
int kh_store_is_pg(const char *where);
/* "SQLite" or "PostgreSQL". */
const char *kh_store_backend(const struct kh_store *s);
/* Commits what is pending; accepts NULL. */
void kh_store_close(struct kh_store *s);
/* Commit the grouped writes, if any. */
int kh_store_flush(struct kh_store *s);

int kh_store_device_add(struct kh_store *s, const char *serial, const char *group,
			const uint8_t cert_sha256[32], int64_t cert_not_after, int64_t now);
int kh_store_device_get(struct kh_store *s, const char *serial, struct kh_device *out);
int kh_store_device_set_status(struct kh_store *s, const char *serial, enum kh_device_status st);
/* Re-key: pin a newly issued certificate (the old one stops working) and reactivate. */
int kh_store_device_set_cert(struct kh_store *s, const char *serial, const uint8_t cert_sha256[32],
			     int64_t cert_not_after);
/* Record a check-in (grouped write). */
int kh_store_checkin(struct kh_store *s, const char *serial, const struct kh_checkin *c,
		     int64_t now);
/* Calls fn for every device, by serial. fn returning non-zero stops. */
int kh_store_devices(struct kh_store *s, int (*fn)(void *arg, const struct kh_device *d),
		     void *arg);
/* One page of them: at most limit devices with serial > after ("" first), by serial. */
int kh_store_devices_after(struct kh_store *s, const char *after, unsigned limit,
			   int (*fn)(void *arg, const struct kh_device *d), void *arg);

/*
 * Counts for the operator's dashboard (docs/SERVER.md "Dashboard"), each one
 * grouped query, at most limit rows. Devices: by status (key "active" or
 * "revoked", recent: those seen at or after since), by firmware and by
 * reported policy version (active devices, most first). Events received at
 * or after since (the server's clock): by bucket_s buckets and severity
 * (in time order), by category (the payload's "category", else the type)
 * and severity, the names of dns_blocked events of severity medium or more,
 * devices (most first), and by type and severity.
 */
enum kh_count_by {
	KH_COUNT_DEV_STATUS,
	KH_COUNT_DEV_FIRMWARE,
	KH_COUNT_DEV_POLICY,
	KH_COUNT_EV_TIME,
	KH_COUNT_EV_CATEGORY,
	KH_COUNT_EV_THREAT,
	KH_COUNT_EV_DEVICE,
	KH_COUNT_EV_TYPE, /* events by type and severity (no payload read: cheaper) */
};
#define KH_COUNT_BY_MAX KH_COUNT_EV_TYPE
struct kh_count {
	char key[KH_SERIAL_MAX + 1]; /* cut to fit */
	int64_t bucket;		     /* KH_COUNT_EV_TIME: the bucket's start */
	int severity;		     /* KH_COUNT_EV_TIME and _CATEGORY */
	uint64_t n, recent;
};
int kh_store_counts(struct kh_store *s, enum kh_count_by by, int64_t since, unsigned bucket_s,
		    unsigned limit, int (*fn)(void *arg, const struct kh_count *c), void *arg);

/* Policies: publish (record + assign), what a group is assigned. */
int kh_store_policy_add(struct kh_store *s, const struct kh_policy_rec *p);
int kh_store_policy_get(struct kh_store *s, uint64_t version, struct kh_policy_rec *out);
/* Assign version to group ("*" = every device without a group assignment). */
int kh_store_assign(struct kh_store *s, const char *group, uint64_t version, int64_t now);
/* The version assigned to a group (its own, else "*"); -ENOENT if none. */
int kh_store_assigned(struct kh_store *s, const char *group, struct kh_policy_rec *out);
/*
 * A number that changes whenever policies, assignments or rollouts may have
 * changed, by this handle or by anyone else on the store (another instance,
 * the CLI, a hand-made UPDATE), read without a round trip to the database:
 * SQLite's data_version, PostgreSQL's notifications from the tables'
 * triggers. What is cached by group stays valid while it stays the same.
 */
uint64_t kh_store_policy_gen(struct kh_store *s);
int kh_store_policies(struct kh_store *s, int (*fn)(void *arg, const struct kh_policy_rec *p),
		      void *arg);

/*
 * Mirrors (docs/SERVER.md): base URLs (http:// or https://, at most
 * KH_MIRROR_URL_MAX bytes, KH_MIRRORS_MAX per group) where a group's
 * devices may fetch bundles before asking the server. add: -EEXIST if the
 * group has it, -ENOSPC if the group is full; del: -ENOENT if it has not.
 * kh_store_mirrors: into urls (max of them) the group's own mirrors, or
 * with fallback the "*" ones when it has none, in the order added; the
 * count or a negative errno.
 */
/*
 * TLS session-ticket keys shared by the instances (docs/SERVER.md), one
 * per rotation period, id = the period's number. add: -EEXIST when
 * another instance made that period's key first (read it back), and keys
 * with ids below below_id are deleted. kh_store_ticket_keys: those with
 * id >= min_id, newest first, into keys (max); the count or a negative
 * errno. The key material is never logged.
 */
struct kh_ticket_key {
	uint32_t id;
	uint8_t key[32];
};
int kh_store_ticket_key_add(struct kh_store *s, const struct kh_ticket_key *k, uint32_t below_id,
			    int64_t now);
int kh_store_ticket_keys(struct kh_store *s, uint32_t min_id, struct kh_ticket_key *keys,
			 unsigned max);

/*
 * Staged rollouts (docs/SERVER.md "Staged rollout"): at most one per group,
 * the newest. A device of the group whose bucket (server/rollout.c) is below
 * stage_bp gets version, the rest keep base. put inserts or replaces the
 * group's; halt moves the group's active rollout of version to halted with
 * a reason, -ENOENT if there is none (another instance halted it first, or
 * the operator moved on). device_rejected records that a device refused
 * version from the server (its policy_rejected events).
 */
enum kh_rollout_state {
	KH_ROLLOUT_ACTIVE = 0,
	KH_ROLLOUT_HALTED = 1,
	KH_ROLLOUT_DONE = 2,
};
#define KH_ROLLOUT_STAGES_MAX 8
struct kh_rollout {
	char group[KH_GROUP_MAX + 1];
	uint64_t version;  /* the version being rolled out */
	uint64_t base;	   /* what the rest of the group keeps; 0: nothing assigned before */
	unsigned stage_bp; /* the fraction now, in 1/10,000 of the group */
	unsigned stages[KH_ROLLOUT_STAGES_MAX]; /* every stage so far, increasing, in bp */
	unsigned n_stages;
	unsigned halt_bp;  /* halt when rejected + silent reach this share of the stage */
	unsigned silent_s; /* applied, then unseen this long: silent */
	enum kh_rollout_state state;
	int64_t started, updated;
	char reason[200]; /* halted: why */
};
int kh_store_rollout_put(struct kh_store *s, const struct kh_rollout *r);
int kh_store_rollout_get(struct kh_store *s, const char *group, struct kh_rollout *out);
int kh_store_rollout_halt(struct kh_store *s, const char *group, uint64_t version,
			  const char *reason, int64_t now);
int kh_store_rollouts(struct kh_store *s, int (*fn)(void *arg, const struct kh_rollout *r),
		      void *arg);
int kh_store_device_rejected(struct kh_store *s, const char *serial, uint64_t version);

#define KH_MIRRORS_MAX 4
#define KH_MIRROR_URL_MAX 200
int kh_store_mirror_add(struct kh_store *s, const char *group, const char *url, int64_t now);
int kh_store_mirror_del(struct kh_store *s, const char *group, const char *url);
int kh_store_mirrors(struct kh_store *s, const char *group, int fallback,
		     char (*urls)[KH_MIRROR_URL_MAX + 1], unsigned max);

/* What an event costs against the byte quota: its type and payload text. */
static inline uint64_t kh_event_size(const struct kh_event_rec *e)
{
	return strlen(e->type) + strlen(e->payload);
}

/*
 * Store a device's uploaded events (n of them, in sequence order) in one
 * transaction, within the device's quota q: events are stored in order
 * while the window has room, and from the first that does not fit on the
 * rest are refused (so what is stored is a prefix, and the acknowledgement
 * never skips one). The quota is counted in the store, in the same
 * transaction as the events (a shared backend locks the device's row), so
 * several servers share one count. Events with seq <= the device's stored
 * maximum are duplicates, skipped and not counted. events_dropped: the
 * device's cumulative drop counter.
 */
int kh_store_events_add(struct kh_store *s, const char *serial, const struct kh_event_rec *ev,
			unsigned n, uint64_t events_dropped, const struct kh_event_quota *q,
			int64_t now, struct kh_events_result *out);
/* Events with id > since (all devices, or one serial), oldest first, at most limit. */
int kh_store_events(struct kh_store *s, int64_t since, const char *serial, unsigned limit,
		    int (*fn)(void *arg, const struct kh_event_rec *e), void *arg);
/* Events with id < before (0: the newest), newest first, at most limit: pages backwards. */
int kh_store_events_before(struct kh_store *s, int64_t before, const char *serial, unsigned limit,
			   int (*fn)(void *arg, const struct kh_event_rec *e), void *arg);

/*
 * Commands: queue one for a device; the pending ones (sent with every
 * check-in until done); mark one done when the device reports it carried
 * it out (only that device's own commands: -ENOENT otherwise).
 */
int kh_store_command_add(struct kh_store *s, const char *serial, const char *type, const char *arg,
			 int64_t now, int64_t *id);
int kh_store_commands_pending(struct kh_store *s, const char *serial, struct kh_command *out,
			      unsigned max);
int kh_store_command_done(struct kh_store *s, const char *serial, int64_t id, int64_t now);

/*
 * Audit results (docs/AUDIT.md): one row per device and check, as the
 * device last reported it, and per device the rules it ran and the digest
 * of its whole result set.
 */
#define KH_AUDIT_CHECK_MAX 64
#define KH_AUDIT_EVIDENCE_MAX 192
#define KH_AUDIT_ROWS_MAX 512 /* rows kept per device: the most checks rules may have */
struct kh_audit_rec {
	char serial[KH_SERIAL_MAX + 1];
	char check[KH_AUDIT_CHECK_MAX + 1];
	char result[8];	  /* pass, fail, na, error */
	char severity[9]; /* low .. critical */
	char evidence[KH_AUDIT_EVIDENCE_MAX];
	int64_t changed_at; /* on the device */
	int64_t updated_at; /* received */
};

struct kh_audit_head {
	char policy[KH_AUDIT_CHECK_MAX + 1];
	uint64_t version;
	char digest[65]; /* put: the device's, as uploaded; head: of the rows stored now */
	int64_t at;
	unsigned pass, fail, na, error;
};

/*
 * Store a device's upload (committed before it returns: it is acknowledged):
 * full replaces the device's rows with rows, otherwise rows are upserted.
 * Then the head is stored with the counts of the stored rows, and *digest
 * receives the digest over what is stored now (equal to the device's when
 * the two copies agree).
 */
int kh_store_audit_put(struct kh_store *s, const char *serial, const struct kh_audit_head *h,
		       int full, const struct kh_audit_rec *rows, unsigned n, int64_t now,
		       char digest[65]);
/* The device's audit head; -ENOENT before its first upload. */
int kh_store_audit_head(struct kh_store *s, const char *serial, struct kh_audit_head *out);
/* Rows, by device then check; serial and check may be NULL (all); failing: fail or error only. */
int kh_store_audits(struct kh_store *s, const char *serial, const char *check, int failing,
		    int (*fn)(void *arg, const struct kh_audit_rec *r), void *arg);
/* Per check over the fleet: how many devices pass, fail, are na or error. */
struct kh_compliance {
	char check[KH_AUDIT_CHECK_MAX + 1];
	char severity[9];
	unsigned pass, fail, na, error;
};
int kh_store_compliance(struct kh_store *s, int (*fn)(void *arg, const struct kh_compliance *c),
			void *arg);

#endif
