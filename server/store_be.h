/* SPDX-License-Identifier: MIT */
/*
 * What a store backend provides (server/store_sqlite.c, server/store_pg.c):
 * the calls of server/store.h as a table that server/store.c dispatches
 * through. A backend's handle begins with struct kh_store. Only the
 * backends and server/store.c include this.
 */
#ifndef KHIEN_SERVER_STORE_BE_H
#define KHIEN_SERVER_STORE_BE_H

#include <stdio.h>
#include <stdlib.h>

#include "server/store.h"

struct kh_store_ops {
	const char *name; /* "SQLite", "PostgreSQL" */
	void (*close)(struct kh_store *s);
	int (*flush)(struct kh_store *s);
	int (*device_add)(struct kh_store *s, const char *serial, const char *group,
			  const uint8_t cert_sha256[32], int64_t cert_not_after, int64_t now);
	int (*device_get)(struct kh_store *s, const char *serial, struct kh_device *out);
	int (*device_set_status)(struct kh_store *s, const char *serial, enum kh_device_status st);
	int (*device_set_cert)(struct kh_store *s, const char *serial,
			       const uint8_t cert_sha256[32], int64_t cert_not_after);
	int (*checkin)(struct kh_store *s, const char *serial, const struct kh_checkin *c,
		       int64_t now);
	int (*devices)(struct kh_store *s, int (*fn)(void *arg, const struct kh_device *d),
		       void *arg);
	int (*devices_after)(struct kh_store *s, const char *after, unsigned limit,
			     int (*fn)(void *arg, const struct kh_device *d), void *arg);
	int (*counts)(struct kh_store *s, enum kh_count_by by, int64_t since, unsigned bucket_s,
		      unsigned limit, int (*fn)(void *arg, const struct kh_count *c), void *arg);
	int (*policy_add)(struct kh_store *s, const struct kh_policy_rec *p);
	int (*policy_get)(struct kh_store *s, uint64_t version, struct kh_policy_rec *out);
	int (*assign)(struct kh_store *s, const char *group, uint64_t version, int64_t now);
	int (*assigned)(struct kh_store *s, const char *group, struct kh_policy_rec *out);
	uint64_t (*policy_gen)(struct kh_store *s); /* others' changes (kh_store_policy_gen) */
	int (*policies)(struct kh_store *s, int (*fn)(void *arg, const struct kh_policy_rec *p),
			void *arg);
	int (*ticket_key_add)(struct kh_store *s, const struct kh_ticket_key *k, uint32_t below_id,
			      int64_t now);
	int (*ticket_keys)(struct kh_store *s, uint32_t min_id, struct kh_ticket_key *keys,
			   unsigned max);
	int (*mirror_add)(struct kh_store *s, const char *group, const char *url, int64_t now);
	int (*mirror_del)(struct kh_store *s, const char *group, const char *url);
	int (*mirrors)(struct kh_store *s, const char *group, int fallback,
		       char (*urls)[KH_MIRROR_URL_MAX + 1], unsigned max);
	int (*events_add)(struct kh_store *s, const char *serial, const struct kh_event_rec *ev,
			  unsigned n, uint64_t events_dropped, const struct kh_event_quota *q,
			  int64_t now, struct kh_events_result *out);
	int (*events)(struct kh_store *s, int64_t since, const char *serial, unsigned limit,
		      int (*fn)(void *arg, const struct kh_event_rec *e), void *arg);
	int (*events_before)(struct kh_store *s, int64_t before, const char *serial, unsigned limit,
			     int (*fn)(void *arg, const struct kh_event_rec *e), void *arg);
	int (*command_add)(struct kh_store *s, const char *serial, const char *type,
			   const char *arg, int64_t now, int64_t *id);
	int (*commands_pending)(struct kh_store *s, const char *serial, struct kh_command *out,
				unsigned max);
	int (*command_done)(struct kh_store *s, const char *serial, int64_t id, int64_t now);
	int (*audit_put)(struct kh_store *s, const char *serial, const struct kh_audit_head *h,
			 int full, const struct kh_audit_rec *rows, unsigned n, int64_t now,
			 char digest[65]);
	int (*audit_head)(struct kh_store *s, const char *serial, struct kh_audit_head *out);
	int (*audits)(struct kh_store *s, const char *serial, const char *check, int failing,
		      int (*fn)(void *arg, const struct kh_audit_rec *r), void *arg);
	int (*compliance)(struct kh_store *s, int (*fn)(void *arg, const struct kh_compliance *c),
			  void *arg);
	int (*rollout_put)(struct kh_store *s, const struct kh_rollout *r);
	int (*rollout_get)(struct kh_store *s, const char *group, struct kh_rollout *out);
	int (*rollout_halt)(struct kh_store *s, const char *group, uint64_t version,
			    const char *reason, int64_t now);
	int (*rollouts)(struct kh_store *s, int (*fn)(void *arg, const struct kh_rollout *r),
			void *arg);
	int (*device_rejected)(struct kh_store *s, const char *serial, uint64_t version);
};

struct kh_store {
	const struct kh_store_ops *ops;
	uint64_t own_gen; /* this handle's policy writes (kh_store_policy_gen) */
};

/* A rollout's stages as the backends keep them: "500,2500" (basis points). */
static inline void kh_rollout_stages_fmt(const struct kh_rollout *r, char *buf, size_t cap)
{
	size_t n = 0;

	buf[0] = 0;
	for (unsigned i = 0; i < r->n_stages && i < KH_ROLLOUT_STAGES_MAX && n < cap; i++)
		n += (size_t)snprintf(buf + n, cap - n, i ? ",%u" : "%u", r->stages[i]);
}

static inline void kh_rollout_stages_parse(const char *t, struct kh_rollout *r)
{
	char *end;

	r->n_stages = 0;
	while (*t && r->n_stages < KH_ROLLOUT_STAGES_MAX) {
		unsigned long v = strtoul(t, &end, 10);
		if (end == t || v > 10000)
			break;
		r->stages[r->n_stages++] = (unsigned)v;
		t = *end == ',' ? end + 1 : end;
	}
}
#define KH_ROLLOUT_STAGES_TEXT (KH_ROLLOUT_STAGES_MAX * 6 + 1)

int kh_store_sqlite_open(const char *path, struct kh_store **out, char *why, size_t whylen);
int kh_store_pg_open(const char *conninfo, const char *password, struct kh_store **out, char *why,
		     size_t whylen);

/*
 * The schema's versions, shared by both backends (each keeps its own SQL
 * where the dialects differ): 1 the tables, 2 and 3 devices columns added
 * since (below), 4 the audit tables, 5 the mirrors table, 6 the ticket
 * keys, 7 the rollouts table and devices.policy_rejected, 8 PostgreSQL's
 * notifying triggers on policies, assignments and rollouts, 9 the events'
 * hourly counts (below). Columns are only ever added, with a default, so an older server
 * can still read a newer database.
 */
#define KH_STORE_SCHEMA_VERSION 9

/*
 * The events' hourly counts that the dashboard reads instead of the events
 * (20 million rows in an ISP's week): by type, by category (the payload's,
 * else the type) and by threat name (blocked names), each per hour and
 * severity, added to in the transaction that stores the events, so each
 * event is counted exactly once. KH_EVC_ROWS is a SELECT of (hour, kind,
 * key, severity, n) over a row source with received, type, severity and
 * payload columns, with JSON access spelled by the dialect (JSON_CAT,
 * JSON_NAME); the rows come sorted, so concurrent uploads take the counts'
 * row locks in one order and cannot deadlock on them.
 */
#define KH_EVC_TYPE 1
#define KH_EVC_CATEGORY 2
#define KH_EVC_THREAT 3
#define KH_EVC_TABLE                                                                           \
	"CREATE TABLE IF NOT EXISTS event_counts(hour bigint NOT NULL, kind integer NOT NULL," \
	" key text NOT NULL, severity integer NOT NULL, n bigint NOT NULL,"                    \
	" PRIMARY KEY(hour, kind, key, severity))"
#define KH_EVC_ROWS(SRC, JSON_CAT, JSON_NAME)                                                    \
	"SELECT received / 3600 * 3600 AS hour, 1 AS kind, type AS key, severity, count(*) AS n" \
	" FROM " SRC " GROUP BY 1, 2, 3, 4 UNION ALL"                                            \
	" SELECT received / 3600 * 3600, 2, coalesce(" JSON_CAT ", type), severity, count(*)"    \
	" FROM " SRC " GROUP BY 1, 2, 3, 4 UNION ALL"                                            \
	" SELECT received / 3600 * 3600, 3, " JSON_NAME ", severity, count(*) FROM " SRC         \
	" WHERE type = 'dns_blocked' AND severity >= 1 AND " JSON_NAME " IS NOT NULL"            \
	" GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4"
#define KH_EVC_UPSERT \
	" ON CONFLICT(hour, kind, key, severity) DO UPDATE SET n = event_counts.n + excluded.n"
struct kh_store_added_column {
	int version;
	const char *name; /* an integer, NOT NULL DEFAULT 0 */
};
static const struct kh_store_added_column kh_store_added_columns[] = {
	{2, "cert_not_after"}, {3, "quota_start"},   {3, "quota_end"},	    {3, "quota_events"},
	{3, "quota_bytes"},    {3, "quota_refused"}, {3, "events_refused"}, {7, "policy_rejected"},
};

#endif
