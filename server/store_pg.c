/* SPDX-License-Identifier: MIT */
/*
 * PostgreSQL backend of server/store.h, through libpq: one connection per
 * process, every statement prepared once at open and run with parameters
 * only (values never enter SQL text). Several server instances may share
 * the database: the schema is created and migrated under an advisory lock,
 * and an upload locks its device's row, so quotas and sequence numbers stay
 * exact across instances.
 *
 * Where it differs from SQLite on purpose: check-ins are not grouped in a
 * long transaction (which would hold device rows locked against other
 * instances and invite deadlocks between them); each is its own statement
 * committed with synchronous_commit off, which costs no WAL flush and, like
 * SQLite's grouped commit, may lose the last fraction of a second of
 * check-ins if the database crashes. What is promised to a device (events
 * and audit results acknowledged) or done by an operator commits
 * synchronously. kh_store_flush() has nothing left to do.
 */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/compiler.h"
#include "lib/err.h"
#include "lib/hex.h"
#include "lib/log.h"
#include "lib/severity.h"
#include "lib/str.h"
#include "policy/audit.h"
#include "server/store_be.h"

enum {
	ST_DEV_ADD,
	ST_DEV_GET,
	ST_DEV_LOCK,
	ST_DEV_STATUS,
	ST_DEV_CERT,
	ST_CHECKIN,
	ST_DEVS,
	ST_POL_ADD,
	ST_POL_GET,
	ST_ASSIGN,
	ST_ASSIGNED,
	ST_POLS,
	ST_EV_ADD,
	ST_DEV_SEQ,
	ST_EVS_ALL, /* each _ALL is followed by its _ONE (events_list) */
	ST_EVS_ONE,
	ST_CMD_ADD,
	ST_CMD_PENDING,
	ST_CMD_DONE,
	ST_AUD_DEL,
	ST_AUD_PUT,
	ST_AUD_COUNT,
	ST_AUD_HEAD_PUT,
	ST_AUD_HEAD_GET,
	ST_AUD_SUM,
	ST_AUDITS,
	ST_COMPLIANCE,
	ST_TKEY_ADD,
	ST_TKEY_PRUNE,
	ST_TKEYS,
	ST_MIR_ADD,
	ST_MIR_DEL,
	ST_MIRS,
	ST_RO_PUT,
	ST_RO_GET,
	ST_RO_ALL,
	ST_RO_HALT,
	ST_DEV_REJECTED,
	ST_EVS_BACK_ALL,
	ST_EVS_BACK_ONE,
	ST_CNT_FIRST, /* the dashboard's counts, in enum kh_count_by's order */
	ST_CNT_LAST = ST_CNT_FIRST + KH_COUNT_BY_MAX,
	ST_COUNT
};

#define DEV_COLS                                                                             \
	"serial, grp, cert_sha256, status, created, last_seen, firmware, hardware_id, "      \
	"policy_version, last_seq, events_dropped, checkins, status_json, cert_not_after, "  \
	"quota_start, quota_end, quota_events, quota_bytes, quota_refused, events_refused, " \
	"policy_rejected"
#define POL_COLS "version, sha256, size, created, expires, published, path"
#define EV_COLS "id, serial, seq, time, received, type, severity, payload"
#define RO_COLS \
	"grp, version, base, stage_bp, stages, halt_bp, silent_s, state, started, updated, reason"

/* the hourly counts (store_be.h) in this dialect */
#define EVC_ROWS(SRC) KH_EVC_ROWS(SRC, "(payload::json->>'category')", "(payload::json->>'name')")

static const char *const sql_text[ST_COUNT] = {
	[ST_DEV_ADD] = "INSERT INTO devices(serial, grp, cert_sha256, created, cert_not_after) "
		       "VALUES($1,$2,$3,$4,$5)",
	[ST_DEV_GET] = "SELECT " DEV_COLS " FROM devices WHERE serial = $1",
	[ST_DEV_LOCK] = "SELECT " DEV_COLS " FROM devices WHERE serial = $1 FOR UPDATE",
	[ST_DEV_STATUS] = "UPDATE devices SET status = $1 WHERE serial = $2",
	[ST_DEV_CERT] = "UPDATE devices SET cert_sha256 = $1, cert_not_after = $2, status = 0 "
			"WHERE serial = $3",
	[ST_CHECKIN] = "UPDATE devices SET last_seen = $1, firmware = $2, hardware_id = $3, "
		       "policy_version = $4, events_dropped = greatest(events_dropped, $5), "
		       "checkins = checkins + 1, status_json = coalesce($6, status_json) "
		       "WHERE serial = $7",
	[ST_DEVS] = "SELECT " DEV_COLS " FROM devices WHERE serial > $1 ORDER BY serial LIMIT $2",
	[ST_POL_ADD] = "INSERT INTO policies(" POL_COLS ") VALUES($1,$2,$3,$4,$5,$6,$7)",
	[ST_POL_GET] = "SELECT " POL_COLS " FROM policies WHERE version = $1",
	[ST_ASSIGN] = "INSERT INTO assignments(grp, version, assigned) VALUES($1,$2,$3) "
		      "ON CONFLICT(grp) DO UPDATE SET version = excluded.version, "
		      "assigned = excluded.assigned",
	[ST_ASSIGNED] = "SELECT p.version, p.sha256, p.size, p.created, p.expires, p.published, "
			"p.path FROM assignments a JOIN policies p ON p.version = a.version "
			"WHERE a.grp = $1 OR a.grp = '*' ORDER BY a.grp = '*' LIMIT 1",
	[ST_POLS] = "SELECT " POL_COLS " FROM policies ORDER BY version",
	[ST_TKEY_ADD] = "INSERT INTO ticket_keys(id, key, created) VALUES($1,$2,$3)",
	[ST_TKEY_PRUNE] = "DELETE FROM ticket_keys WHERE id < $1",
	[ST_TKEYS] = "SELECT id, key FROM ticket_keys WHERE id >= $1 ORDER BY id DESC LIMIT $2",
	/* the count and the insert race between instances: a group may pass the limit by one */
	[ST_MIR_ADD] = "INSERT INTO mirrors(grp, url, added) SELECT $1::text, $2::text, $3::bigint "
		       "WHERE (SELECT count(*) FROM mirrors WHERE grp = $1) < $4",
	[ST_MIR_DEL] = "DELETE FROM mirrors WHERE grp = $1 AND url = $2",
	[ST_MIRS] = "SELECT url FROM mirrors WHERE grp = CASE WHEN $2 = 0 OR EXISTS("
		    "SELECT 1 FROM mirrors WHERE grp = $1) THEN $1 ELSE '*' END "
		    "ORDER BY added, url LIMIT $3",
	[ST_RO_PUT] =
		"INSERT INTO rollouts(" RO_COLS ") VALUES($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11) "
		"ON CONFLICT(grp) DO UPDATE SET version = excluded.version, "
		"base = excluded.base, stage_bp = excluded.stage_bp, stages = excluded.stages, "
		"halt_bp = excluded.halt_bp, silent_s = excluded.silent_s, "
		"state = excluded.state, started = excluded.started, "
		"updated = excluded.updated, reason = excluded.reason",
	[ST_RO_GET] = "SELECT " RO_COLS " FROM rollouts WHERE grp = $1",
	[ST_RO_ALL] = "SELECT " RO_COLS " FROM rollouts ORDER BY grp",
	[ST_RO_HALT] = "UPDATE rollouts SET state = $1, reason = $2, updated = $3 "
		       "WHERE grp = $4 AND version = $5 AND state = $6",
	[ST_DEV_REJECTED] = "UPDATE devices SET policy_rejected = $1 WHERE serial = $2",
	/* a whole upload and its hourly counts in one statement: one round trip */
	[ST_EV_ADD] =
		"WITH ins AS (INSERT INTO events(serial, seq, time, received, type, severity, "
		"payload) SELECT $1, u.seq, u.time, $2, u.type, u.severity, u.payload FROM "
		"unnest($3::bigint[], $4::bigint[], $5::text[], $6::int[], $7::text[]) "
		"AS u(seq, time, type, severity, payload) "
		"ON CONFLICT(serial, seq) DO NOTHING "
		"RETURNING received, type, severity, payload) "
		"INSERT INTO event_counts SELECT * FROM (" EVC_ROWS(
			"ins") ") c WHERE true" KH_EVC_UPSERT,
	[ST_DEV_SEQ] = "UPDATE devices SET last_seq = greatest(last_seq, $1), "
		       "events_dropped = greatest(events_dropped, $2), quota_start = $3, "
		       "quota_end = $4, quota_events = $5, quota_bytes = $6, quota_refused = $7, "
		       "events_refused = events_refused + $8 WHERE serial = $9",
	[ST_EVS_ALL] = "SELECT " EV_COLS " FROM events WHERE id > $1 ORDER BY id LIMIT $2",
	[ST_EVS_ONE] = "SELECT " EV_COLS " FROM events WHERE id > $1 AND serial = $2 "
		       "ORDER BY id LIMIT $3",
	[ST_EVS_BACK_ALL] =
		"SELECT " EV_COLS " FROM events WHERE id < $1 ORDER BY id DESC LIMIT $2",
	[ST_EVS_BACK_ONE] = "SELECT " EV_COLS " FROM events WHERE id < $1 AND serial = $2 "
			    "ORDER BY id DESC LIMIT $3",
	/* the dashboard's counts: (key, n, recent or bucket, severity); args in pg_counts */
	[ST_CNT_FIRST + KH_COUNT_DEV_STATUS] =
		"SELECT status::text, count(*), count(*) FILTER (WHERE last_seen >= $1), 0 "
		"FROM devices GROUP BY status ORDER BY status LIMIT $2",
	[ST_CNT_FIRST + KH_COUNT_DEV_FIRMWARE] =
		"SELECT firmware, count(*), 0, 0 FROM devices WHERE status = 0 "
		"GROUP BY firmware ORDER BY 2 DESC, 1 LIMIT $1",
	[ST_CNT_FIRST + KH_COUNT_DEV_POLICY] =
		"SELECT policy_version::text, count(*), 0, 0 FROM devices WHERE status = 0 "
		"GROUP BY policy_version ORDER BY 2 DESC, policy_version LIMIT $1",
	/* from the hourly counts (schema 9): since is taken to its hour */
	[ST_CNT_FIRST + KH_COUNT_EV_TIME] =
		"SELECT '', sum(n), hour / $2 * $2, severity FROM event_counts "
		"WHERE kind = 1 AND hour >= $1 / 3600 * 3600 GROUP BY 3, 4 ORDER BY 3, 4 LIMIT $3",
	[ST_CNT_FIRST + KH_COUNT_EV_CATEGORY] =
		"SELECT key, sum(n), 0, severity FROM event_counts WHERE kind = 2 "
		"AND hour >= $1 / 3600 * 3600 GROUP BY 1, 4 ORDER BY 2 DESC, 1, 4 LIMIT $2",
	[ST_CNT_FIRST + KH_COUNT_EV_THREAT] =
		"SELECT key, sum(n), 0, 0 FROM event_counts WHERE kind = 3 "
		"AND hour >= $1 / 3600 * 3600 GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT $2",
	[ST_CNT_FIRST + KH_COUNT_EV_DEVICE] =
		"SELECT serial, count(*), 0, 0 FROM events WHERE received >= $1 "
		"GROUP BY serial ORDER BY 2 DESC, 1 LIMIT $2",
	[ST_CNT_FIRST + KH_COUNT_EV_TYPE] =
		"SELECT key, sum(n), 0, severity FROM event_counts WHERE kind = 1 "
		"AND hour >= $1 / 3600 * 3600 GROUP BY 1, 4 ORDER BY 2 DESC, 1, 4 LIMIT $2",
	[ST_CMD_ADD] = "INSERT INTO commands(serial, type, arg, created) VALUES($1,$2,$3,$4) "
		       "RETURNING id",
	[ST_CMD_PENDING] = "SELECT id, type, arg FROM commands WHERE serial = $1 AND delivered "
			   "IS NULL ORDER BY id LIMIT $2",
	[ST_CMD_DONE] = "UPDATE commands SET delivered = $1 WHERE id = $2 AND serial = $3 "
			"AND delivered IS NULL",
	[ST_AUD_DEL] = "DELETE FROM audit WHERE serial = $1",
	[ST_AUD_PUT] = "INSERT INTO audit(serial, check_id, result, severity, evidence, "
		       "changed_at, updated_at) VALUES($1,$2,$3,$4,$5,$6,$7) "
		       "ON CONFLICT(serial, check_id) DO UPDATE SET result = excluded.result, "
		       "severity = excluded.severity, evidence = excluded.evidence, "
		       "changed_at = excluded.changed_at, updated_at = excluded.updated_at",
	[ST_AUD_COUNT] = "SELECT count(*) FROM audit WHERE serial = $1",
	[ST_AUD_HEAD_PUT] = "INSERT INTO audit_heads(serial, policy, version, digest, at) "
			    "VALUES($1,$2,$3,$4,$5) ON CONFLICT(serial) DO UPDATE SET "
			    "policy = excluded.policy, version = excluded.version, "
			    "digest = excluded.digest, at = excluded.at",
	[ST_AUD_HEAD_GET] = "SELECT policy, version, digest, at FROM audit_heads WHERE serial = $1",
	[ST_AUD_SUM] = "SELECT check_id, result, evidence FROM audit WHERE serial = $1 "
		       "ORDER BY check_id",
	[ST_AUDITS] = "SELECT serial, check_id, result, severity, evidence, changed_at, updated_at "
		      "FROM audit WHERE ($1::text IS NULL OR serial = $1) "
		      "AND ($2::text IS NULL OR check_id = $2) "
		      "AND ($3::int = 0 OR result IN ('fail', 'error')) "
		      "AND (serial, check_id) > ($4, $5) ORDER BY serial, check_id LIMIT $6",
	[ST_COMPLIANCE] = "SELECT check_id, max(CASE severity WHEN 'critical' THEN 3 "
			  "WHEN 'high' THEN 2 WHEN 'medium' THEN 1 ELSE 0 END), "
			  "count(*) FILTER (WHERE result = 'pass'), "
			  "count(*) FILTER (WHERE result = 'fail'), "
			  "count(*) FILTER (WHERE result = 'na'), "
			  "count(*) FILTER (WHERE result = 'error') "
			  "FROM audit GROUP BY check_id ORDER BY check_id",
};

/*
 * Version 1 in PostgreSQL's words: integers are 64-bit (bigint), blobs
 * bytea, the keys that are listed in order compare bytewise (COLLATE "C",
 * as SQLite's BINARY), and identity columns replace AUTOINCREMENT.
 */
static const char schema_v1[] =
	"CREATE TABLE IF NOT EXISTS devices("
	" serial text COLLATE \"C\" PRIMARY KEY, grp text COLLATE \"C\" NOT NULL,"
	" cert_sha256 bytea NOT NULL, status bigint NOT NULL DEFAULT 0, created bigint NOT NULL,"
	" last_seen bigint NOT NULL DEFAULT 0, firmware text NOT NULL DEFAULT '',"
	" hardware_id text NOT NULL DEFAULT '', policy_version bigint NOT NULL DEFAULT 0,"
	" last_seq bigint NOT NULL DEFAULT 0, events_dropped bigint NOT NULL DEFAULT 0,"
	" checkins bigint NOT NULL DEFAULT 0, status_json text NOT NULL DEFAULT '{}');"
	"CREATE TABLE IF NOT EXISTS policies("
	" version bigint PRIMARY KEY, sha256 text NOT NULL, size bigint NOT NULL,"
	" created bigint NOT NULL, expires bigint NOT NULL, published bigint NOT NULL,"
	" path text NOT NULL);"
	"CREATE TABLE IF NOT EXISTS assignments("
	" grp text COLLATE \"C\" PRIMARY KEY,"
	" version bigint NOT NULL REFERENCES policies(version), assigned bigint NOT NULL);"
	"CREATE TABLE IF NOT EXISTS events("
	" id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, serial text COLLATE \"C\" NOT NULL,"
	" seq bigint NOT NULL, time bigint NOT NULL, received bigint NOT NULL, type text NOT NULL,"
	" severity integer NOT NULL, payload text NOT NULL, UNIQUE(serial, seq));"
	"CREATE INDEX IF NOT EXISTS events_by_serial ON events(serial, id);"
	"CREATE TABLE IF NOT EXISTS commands("
	" id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, serial text COLLATE \"C\" NOT NULL,"
	" type text NOT NULL, arg text NOT NULL, created bigint NOT NULL, delivered bigint);"
	"CREATE INDEX IF NOT EXISTS commands_by_serial ON commands(serial, delivered);";

static const char schema_v4[] =
	"CREATE TABLE IF NOT EXISTS audit("
	" serial text COLLATE \"C\" NOT NULL, check_id text COLLATE \"C\" NOT NULL,"
	" result text NOT NULL, severity text NOT NULL, evidence text NOT NULL,"
	" changed_at bigint NOT NULL, updated_at bigint NOT NULL, PRIMARY KEY(serial, check_id));"
	"CREATE INDEX IF NOT EXISTS audit_by_check ON audit(check_id, result);"
	"CREATE TABLE IF NOT EXISTS audit_heads("
	" serial text COLLATE \"C\" PRIMARY KEY, policy text NOT NULL, version bigint NOT NULL,"
	" digest text NOT NULL, at bigint NOT NULL);";

static const char schema_v5[] = "CREATE TABLE IF NOT EXISTS mirrors("
				" grp text COLLATE \"C\" NOT NULL, url text COLLATE \"C\" NOT NULL,"
				" added bigint NOT NULL, PRIMARY KEY(grp, url));";

static const char schema_v6[] =
	"CREATE TABLE IF NOT EXISTS ticket_keys("
	" id bigint PRIMARY KEY, key text NOT NULL, created bigint NOT NULL);";

static const char schema_v7[] =
	"CREATE TABLE IF NOT EXISTS rollouts("
	" grp text COLLATE \"C\" PRIMARY KEY, version bigint NOT NULL, base bigint NOT NULL,"
	" stage_bp integer NOT NULL, stages text NOT NULL, halt_bp integer NOT NULL,"
	" silent_s integer NOT NULL, state integer NOT NULL, started bigint NOT NULL,"
	" updated bigint NOT NULL, reason text NOT NULL);";

/* 9: the events' hourly counts, made once from the events already stored */
static const char schema_v9[] = KH_EVC_TABLE ";"
					     "INSERT INTO event_counts SELECT * FROM (" EVC_ROWS(
						     "events") ") c WHERE true" KH_EVC_UPSERT;

/*
 * 8: every change to what devices are assigned, by anyone (another instance,
 * the CLI, psql), notifies the listening instances, whose caches by group
 * then refetch (kh_store_policy_gen).
 */
static const char schema_v8[] =
	"CREATE OR REPLACE FUNCTION khien_policy_changed() RETURNS trigger LANGUAGE plpgsql AS"
	" $$BEGIN PERFORM pg_notify('khien_policy', TG_TABLE_NAME); RETURN NULL; END$$;"
	"DROP TRIGGER IF EXISTS khien_policy_changed ON policies;"
	"CREATE TRIGGER khien_policy_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE"
	" ON policies FOR EACH STATEMENT EXECUTE FUNCTION khien_policy_changed();"
	"DROP TRIGGER IF EXISTS khien_policy_changed ON assignments;"
	"CREATE TRIGGER khien_policy_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE"
	" ON assignments FOR EACH STATEMENT EXECUTE FUNCTION khien_policy_changed();"
	"DROP TRIGGER IF EXISTS khien_policy_changed ON rollouts;"
	"CREATE TRIGGER khien_policy_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE"
	" ON rollouts FOR EACH STATEMENT EXECUTE FUNCTION khien_policy_changed();";

/* Serialises migrations of instances starting together (pg_advisory_xact_lock). */
#define MIGRATION_LOCK 0x6b6869656eLL /* "khien" */

struct pg_store {
	struct kh_store base; /* first: the handle callers hold */
	PGconn *c;
	int sync;	   /* the session's synchronous_commit: 1 on, 0 off */
	uint64_t notified; /* khien_policy notifications and new sessions (kh_store_policy_gen) */
};

static struct pg_store *pg(struct kh_store *s)
{
	return (struct pg_store *)s;
}

/* ---- parameters: text, except bytea in binary ---- */

#define ARGS_MAX 11 /* the most a statement takes */
struct args {
	int n;
	const char *v[ARGS_MAX];
	int len[ARGS_MAX], fmt[ARGS_MAX];
	char num[ARGS_MAX][24];
};

static void a_text(struct args *a, const char *t)
{
	a->v[a->n] = t;
	a->len[a->n] = a->fmt[a->n] = 0;
	a->n++;
}

static void a_int(struct args *a, int64_t x)
{
	snprintf(a->num[a->n], sizeof(a->num[0]), "%lld", (long long)x);
	a_text(a, a->num[a->n]);
}

static void a_blob(struct args *a, const uint8_t *b, int n)
{
	a->v[a->n] = (const char *)b;
	a->len[a->n] = n;
	a->fmt[a->n] = 1;
	a->n++;
}

/* ---- running statements ---- */

static const char *sqlstate(const PGresult *r)
{
	const char *st = PQresultErrorField(r, PG_DIAG_SQLSTATE);
	return st ? st : "";
}

static int exec(struct pg_store *s, const char *sql);

static int prepare_all(struct pg_store *s, char *why, size_t whylen)
{
	char name[8];

	/* a new session: what was notified to the old one is lost, so count a change */
	s->notified++;
	if (exec(s, "LISTEN khien_policy") < 0) {
		snprintf(why, whylen, "LISTEN: %s", PQerrorMessage(s->c));
		return -EIO;
	}

	for (int i = 0; i < ST_COUNT; i++) {
		PGresult *r;
		snprintf(name, sizeof(name), "k%d", i);
		r = PQprepare(s->c, name, sql_text[i], 0, NULL);
		if (PQresultStatus(r) != PGRES_COMMAND_OK) {
			snprintf(why, whylen, "prepare %.60s...: %s", sql_text[i],
				 PQerrorMessage(s->c));
			PQclear(r);
			return -EIO;
		}
		PQclear(r);
	}
	return 0;
}

/*
 * Statement which with a; the result when it succeeded (free with PQclear),
 * else NULL with *err: -EEXIST on a duplicate key, -ENOENT on a missing
 * reference, -EIO otherwise (logged naming what). A connection found broken
 * outside a transaction is re-established once (the statements prepared
 * again) before giving up: the database restarting costs one error at most.
 */
static PGresult *run(struct pg_store *s, int which, const struct args *a, const char *what,
		     int *err)
{
	char name[8], why[256];
	PGresult *r;

	snprintf(name, sizeof(name), "k%d", which);
	for (int attempt = 0;; attempt++) {
		r = PQexecPrepared(s->c, name, a ? a->n : 0, a ? a->v : NULL, a ? a->len : NULL,
				   a ? a->fmt : NULL, 0);
		ExecStatusType st = PQresultStatus(r);
		if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
			return r;
		if (strcmp(sqlstate(r), "23505") == 0) {
			*err = -EEXIST;
			break;
		}
		if (strcmp(sqlstate(r), "23503") == 0) {
			*err = -ENOENT;
			break;
		}
		if (attempt == 0 && PQstatus(s->c) == CONNECTION_BAD &&
		    PQtransactionStatus(s->c) != PQTRANS_INTRANS) {
			PQclear(r);
			log_warn("store: %s: connection lost, reconnecting", what);
			PQreset(s->c);
			s->sync = 1;
			if (PQstatus(s->c) == CONNECTION_OK &&
			    prepare_all(s, why, sizeof(why)) == 0)
				continue;
			log_error("store: %s: cannot reconnect: %s", what, PQerrorMessage(s->c));
			*err = -EIO;
			return NULL;
		}
		log_error("store: %s: %s", what, PQerrorMessage(s->c));
		*err = -EIO;
		break;
	}
	PQclear(r);
	return NULL;
}

/* Statement which, expecting to change exactly one row: 0, -ENOENT if none, <0. */
static int change_one(struct pg_store *s, int which, const struct args *a, const char *what)
{
	int err = 0;
	PGresult *r = run(s, which, a, what, &err);

	if (!r)
		return err;
	err = strcmp(PQcmdTuples(r), "0") == 0 ? -ENOENT : 0;
	PQclear(r);
	return err;
}

static int exec(struct pg_store *s, const char *sql)
{
	PGresult *r = PQexec(s->c, sql);
	int ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;

	if (!ok)
		log_error("store: %s: %s", sql, PQerrorMessage(s->c));
	PQclear(r);
	return ok ? 0 : -EIO;
}

/* The session's commit mode: on for what must survive, off for check-ins. */
static int sync_mode(struct pg_store *s, int on)
{
	if (s->sync == on)
		return 0;
	if (exec(s, on ? "SET synchronous_commit = on" : "SET synchronous_commit = off") < 0)
		return -EIO;
	s->sync = on;
	return 0;
}

static int begin(struct pg_store *s)
{
	return exec(s, "BEGIN; SET LOCAL synchronous_commit = on");
}

static int commit(struct pg_store *s)
{
	return exec(s, "COMMIT");
}

static void rollback(struct pg_store *s)
{
	if (PQtransactionStatus(s->c) != PQTRANS_IDLE)
		exec(s, "ROLLBACK");
}

static int64_t g_int(const PGresult *r, int row, int col)
{
	return strtoll(PQgetvalue(r, row, col), NULL, 10);
}

static void g_text(const PGresult *r, int row, int col, char *dst, size_t cap)
{
	kh_strlcpy(dst, PQgetvalue(r, row, col), cap);
}

/* ---- open, schema ---- */

static int schema_version(struct pg_store *s, int *v)
{
	PGresult *r = PQexec(s->c, "SELECT max(version) FROM khien_schema");
	int ok = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1;

	if (ok)
		*v = PQgetisnull(r, 0, 0) ? 0 : (int)g_int(r, 0, 0);
	else
		log_error("store: schema version: %s", PQerrorMessage(s->c));
	PQclear(r);
	return ok ? 0 : -EIO;
}

/*
 * Create or bring up to date, in one transaction (DDL is transactional
 * here) under an advisory lock, with the versions SQLite has: each step is
 * idempotent, so the recorded version only says how far it went.
 */
static int migrate(struct pg_store *s)
{
	char sql[160];
	int v = 0;

	if (exec(s, "BEGIN") < 0)
		return -EIO;
	snprintf(sql, sizeof(sql), "SELECT pg_advisory_xact_lock(%lld)", MIGRATION_LOCK);
	if (exec(s, sql) < 0 ||
	    exec(s, "CREATE TABLE IF NOT EXISTS khien_schema(version integer NOT NULL)") < 0 ||
	    schema_version(s, &v) < 0)
		goto fail;
	if (v < 1 && exec(s, schema_v1) < 0)
		goto fail;
	for (size_t i = 0; i < KH_ARRAY_SIZE(kh_store_added_columns); i++) {
		if (kh_store_added_columns[i].version <= v)
			continue;
		/* an identifier from the constant list, never a value */
		snprintf(
			sql, sizeof(sql),
			"ALTER TABLE devices ADD COLUMN IF NOT EXISTS %s bigint NOT NULL DEFAULT 0",
			kh_store_added_columns[i].name);
		if (exec(s, sql) < 0)
			goto fail;
	}
	if (v < 4 && exec(s, schema_v4) < 0)
		goto fail;
	if (v < 5 && exec(s, schema_v5) < 0)
		goto fail;
	if (v < 6 && exec(s, schema_v6) < 0)
		goto fail;
	if (v < 7 && exec(s, schema_v7) < 0)
		goto fail;
	if (v < 8 && exec(s, schema_v8) < 0)
		goto fail;
	if (v < 9 && exec(s, schema_v9) < 0)
		goto fail;
	if (v < KH_STORE_SCHEMA_VERSION) {
		snprintf(sql, sizeof(sql),
			 "DELETE FROM khien_schema; INSERT INTO khien_schema VALUES(%d)",
			 KH_STORE_SCHEMA_VERSION);
		if (exec(s, sql) < 0)
			goto fail;
	}
	return commit(s);
fail:
	rollback(s);
	return -EIO;
}

static void pg_close(struct kh_store *ks);
static const struct kh_store_ops pg_ops;

/* libpq's notices (e.g. "relation already exists, skipping") are not ours to print. */
static void quiet(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;
}

int kh_store_pg_open(const char *conninfo, const char *password, struct kh_store **out, char *why,
		     size_t whylen)
{
	const char *keys[] = {"dbname", "password", "application_name", NULL};
	const char *vals[] = {conninfo, password, "khien-server", NULL};
	PQconninfoOption *opts;
	char *msg = NULL;
	struct pg_store *s;

	opts = PQconninfoParse(conninfo, &msg);
	if (!opts) {
		snprintf(why, whylen, "database: %s", msg ? msg : "no memory");
		PQfreemem(msg);
		return -EINVAL;
	}
	for (PQconninfoOption *o = opts; o->keyword; o++)
		if (strcmp(o->keyword, "password") == 0 && o->val && o->val[0]) {
			PQconninfoFree(opts);
			snprintf(why, whylen,
				 "database: the URL carries a password; give it in PGPASSWORD, "
				 "PGPASSFILE or database_password_file instead");
			return -EINVAL;
		}
	PQconninfoFree(opts);
	if (!(s = calloc(1, sizeof(*s))))
		return -ENOMEM;
	s->base.ops = &pg_ops;
	s->sync = 1;
	if (!password)
		keys[1] = NULL; /* the environment's then (PGPASSWORD, PGPASSFILE) */
	s->c = PQconnectdbParams(keys, vals, 1);
	if (!s->c || PQstatus(s->c) != CONNECTION_OK) {
		snprintf(why, whylen, "database: cannot connect: %s",
			 s->c ? PQerrorMessage(s->c) : "no memory");
		goto fail;
	}
	PQsetNoticeProcessor(s->c, quiet, NULL);
	if (migrate(s) < 0) {
		snprintf(why, whylen, "database: cannot set up the schema: %s",
			 PQerrorMessage(s->c));
		goto fail;
	}
	if (prepare_all(s, why, whylen) < 0)
		goto fail;
	*out = &s->base;
	return 0;
fail:
	pg_close(&s->base);
	return -EIO;
}

static void pg_close(struct kh_store *ks)
{
	struct pg_store *s = pg(ks);

	if (!s)
		return;
	PQfinish(s->c);
	free(s);
}

static int pg_flush(struct kh_store *ks)
{
	(void)ks; /* nothing is held back: see the top of the file */
	return 0;
}

/* ---- devices ---- */

static void row_device(const PGresult *r, int i, struct kh_device *d)
{
	const char *b = PQgetvalue(r, i, 2);

	memset(d, 0, sizeof(*d));
	g_text(r, i, 0, d->serial, sizeof(d->serial));
	g_text(r, i, 1, d->group, sizeof(d->group));
	if (strlen(b) == 66 && b[0] == '\\' && b[1] == 'x') /* bytea's hex output */
		kh_hex_decode(b + 2, d->cert_sha256, 32);
	d->status = g_int(r, i, 3) ? KH_DEV_REVOKED : KH_DEV_ACTIVE;
	d->created = g_int(r, i, 4);
	d->last_seen = g_int(r, i, 5);
	g_text(r, i, 6, d->firmware, sizeof(d->firmware));
	g_text(r, i, 7, d->hardware_id, sizeof(d->hardware_id));
	d->policy_version = (uint64_t)g_int(r, i, 8);
	d->last_seq = (uint64_t)g_int(r, i, 9);
	d->events_dropped = (uint64_t)g_int(r, i, 10);
	d->checkins = (uint64_t)g_int(r, i, 11);
	g_text(r, i, 12, d->status_json, sizeof(d->status_json));
	d->cert_not_after = g_int(r, i, 13);
	d->quota_start = g_int(r, i, 14);
	d->quota_end = g_int(r, i, 15);
	d->quota_events = (uint64_t)g_int(r, i, 16);
	d->quota_bytes = (uint64_t)g_int(r, i, 17);
	d->quota_refused = (uint64_t)g_int(r, i, 18);
	d->events_refused = (uint64_t)g_int(r, i, 19);
	d->policy_rejected = (uint64_t)g_int(r, i, 20);
}

static void row_policy(const PGresult *r, int i, struct kh_policy_rec *p)
{
	memset(p, 0, sizeof(*p));
	p->version = (uint64_t)g_int(r, i, 0);
	g_text(r, i, 1, p->sha256_hex, sizeof(p->sha256_hex));
	p->size = (uint64_t)g_int(r, i, 2);
	p->created = g_int(r, i, 3);
	p->expires = g_int(r, i, 4);
	p->published = g_int(r, i, 5);
	g_text(r, i, 6, p->path, sizeof(p->path));
}

/*
 * The rows of a listing, to row one by one; row returns non-zero to stop,
 * and that value is returned. The whole result is fetched first: callers
 * may use the store from the callback (the connection is free again), and
 * the big listings come in pages (PAGE rows, keyset order) so a fleet's
 * worth is never held at once.
 */
#define PAGE 1000
static int each(struct pg_store *s, int which, const struct args *a, const char *what,
		int (*row)(void *ctx, const PGresult *r, int i), void *ctx, int *rows)
{
	PGresult *r;
	int rc = 0, err = 0, i;

	if (!(r = run(s, which, a, what, &err)))
		return err;
	for (i = 0; i < PQntuples(r) && !rc; i++)
		rc = row(ctx, r, i);
	if (rows)
		*rows = PQntuples(r);
	PQclear(r);
	return rc;
}

static int pg_device_add(struct kh_store *ks, const char *serial, const char *group,
			 const uint8_t cert_sha256[32], int64_t cert_not_after, int64_t now)
{
	struct pg_store *s = pg(ks);
	struct args a = {0};
	PGresult *r;
	int err = 0;

	if (sync_mode(s, 1) < 0)
		return -EIO;
	a_text(&a, serial);
	a_text(&a, group);
	a_blob(&a, cert_sha256, 32);
	a_int(&a, now);
	a_int(&a, cert_not_after);
	if (!(r = run(s, ST_DEV_ADD, &a, "add device", &err)))
		return err;
	PQclear(r);
	return 0;
}

static int device_one(struct pg_store *s, int which, const char *serial, struct kh_device *out,
		      const char *what)
{
	struct args a = {0};
	PGresult *r;
	int err = 0;

	a_text(&a, serial);
	if (!(r = run(s, which, &a, what, &err)))
		return err;
	err = PQntuples(r) == 1 ? 0 : -ENOENT;
	if (!err)
		row_device(r, 0, out);
	PQclear(r);
	return err;
}

static int pg_device_get(struct kh_store *ks, const char *serial, struct kh_device *out)
{
	return device_one(pg(ks), ST_DEV_GET, serial, out, "get device");
}

static int pg_device_set_status(struct kh_store *ks, const char *serial, enum kh_device_status st)
{
	struct pg_store *s = pg(ks);
	struct args a = {0};

	if (sync_mode(s, 1) < 0)
		return -EIO;
	a_int(&a, (int)st);
	a_text(&a, serial);
	return change_one(s, ST_DEV_STATUS, &a, "set device status");
}

static int pg_device_set_cert(struct kh_store *ks, const char *serial,
			      const uint8_t cert_sha256[32], int64_t cert_not_after)
{
	struct pg_store *s = pg(ks);
	struct args a = {0};

	if (sync_mode(s, 1) < 0)
		return -EIO;
	a_blob(&a, cert_sha256, 32);
	a_int(&a, cert_not_after);
	a_text(&a, serial);
	return change_one(s, ST_DEV_CERT, &a, "set device certificate");
}

static int pg_checkin(struct kh_store *ks, const char *serial, const struct kh_checkin *c,
		      int64_t now)
{
	struct pg_store *s = pg(ks);
	struct args a = {0};

	if (sync_mode(s, 0) < 0)
		return -EIO;
	a_int(&a, now);
	a_text(&a, c->firmware ? c->firmware : "");
	a_text(&a, c->hardware_id ? c->hardware_id : "");
	a_int(&a, (int64_t)c->policy_version);
	a_int(&a, (int64_t)c->events_dropped);
	a_text(&a, c->status_json); /* NULL: keep the stored one */
	a_text(&a, serial);
	return change_one(s, ST_CHECKIN, &a, "check-in");
}

struct dev_ctx {
	int (*fn)(void *arg, const struct kh_device *d);
	void *arg;
	char last[KH_SERIAL_MAX + 1]; /* the page's last serial */
};

static int dev_row(void *ctx, const PGresult *r, int i)
{
	struct dev_ctx *c = ctx;
	struct kh_device d;

	row_device(r, i, &d);
	kh_strlcpy(c->last, d.serial, sizeof(c->last));
	return c->fn(c->arg, &d) ? 1 : 0;
}

static int pg_devices(struct kh_store *ks, int (*fn)(void *arg, const struct kh_device *d),
		      void *arg)
{
	struct dev_ctx c = {fn, arg};
	int rc, n;

	c.last[0] = 0; /* "" sorts before every serial */
	do {
		struct args a = {0};
		a_text(&a, c.last);
		a_int(&a, PAGE);
		rc = each(pg(ks), ST_DEVS, &a, "list devices", dev_row, &c, &n);
	} while (rc == 0 && n == PAGE);
	return rc < 0 ? rc : 0;
}

static int pg_devices_after(struct kh_store *ks, const char *after, unsigned limit,
			    int (*fn)(void *arg, const struct kh_device *d), void *arg)
{
	struct dev_ctx c = {fn, arg};
	struct args a = {0};
	int rc;

	a_text(&a, after);
	a_int(&a, limit);
	rc = each(pg(ks), ST_DEVS, &a, "list devices", dev_row, &c, NULL);
	return rc < 0 ? rc : 0;
}

/* ---- policies ---- */

static int pg_policy_add(struct kh_store *ks, const struct kh_policy_rec *p)
{
	struct pg_store *s = pg(ks);
	struct args a = {0};
	PGresult *r;
	int err = 0;

	if (sync_mode(s, 1) < 0)
		return -EIO;
	a_int(&a, (int64_t)p->version);
	a_text(&a, p->sha256_hex);
	a_int(&a, (int64_t)p->size);
	a_int(&a, p->created);
	a_int(&a, p->expires);
	a_int(&a, p->published);
	a_text(&a, p->path);
	if (!(r = run(s, ST_POL_ADD, &a, "add policy", &err)))
		return err;
	PQclear(r);
	return 0;
}

static int policy_one(struct pg_store *s, int which, const struct args *a,
		      struct kh_policy_rec *out, const char *what)
{
	PGresult *r;
	int err = 0;

	if (!(r = run(s, which, a, what, &err)))
		return err;
	err = PQntuples(r) == 1 ? 0 : -ENOENT;
	if (!err)
		row_policy(r, 0, out);
	PQclear(r);
	return err;
}

static int pg_policy_get(struct kh_store *ks, uint64_t version, struct kh_policy_rec *out)
{
	struct args a = {0};

	a_int(&a, (int64_t)version);
	return policy_one(pg(ks), ST_POL_GET, &a, out, "get policy");
}

static int pg_assign(struct kh_store *ks, const char *group, uint64_t version, int64_t now)
{
	struct pg_store *s = pg(ks);
	struct args a = {0};
	PGresult *r;
	int err = 0;

	if (sync_mode(s, 1) < 0)
		return -EIO;
	a_text(&a, group);
	a_int(&a, (int64_t)version);
	a_int(&a, now);
	if (!(r = run(s, ST_ASSIGN, &a, "assign policy", &err)))
		return err; /* -ENOENT: no such policy */
	PQclear(r);
	return 0;
}

static uint64_t pg_policy_gen(struct kh_store *ks)
{
	struct pg_store *s = pg(ks);
	PGnotify *n;

	/* reads what already arrived, without a round trip; a broken link: a change each time */
	if (!PQconsumeInput(s->c))
		return ++s->notified;
	while ((n = PQnotifies(s->c))) {
		s->notified++;
		PQfreemem(n);
	}
	return s->notified;
}

static int pg_assigned(struct kh_store *ks, const char *group, struct kh_policy_rec *out)
{
	struct args a = {0};

	a_text(&a, group);
	return policy_one(pg(ks), ST_ASSIGNED, &a, out, "assigned policy");
}

static int pg_ticket_key_add(struct kh_store *ks, const struct kh_ticket_key *k, uint32_t below_id,
			     int64_t now)
{
	struct pg_store *s = pg(ks);
	struct args a = {0};
	char hex[65];
	PGresult *r;
	int err = 0;

	if (sync_mode(s, 1) < 0)
		return -EIO;
	kh_hex_encode(k->key, 32, hex);
	a_int(&a, k->id);
	a_text(&a, hex);
	a_int(&a, now);
	r = run(s, ST_TKEY_ADD, &a, "add ticket key", &err);
	kh_memzero(hex, sizeof(hex));
	if (!r)
		return err; /* -EEXIST: another instance made it */
	PQclear(r);
	a = (struct args){0};
	a_int(&a, below_id);
	if (!(r = run(s, ST_TKEY_PRUNE, &a, "prune ticket keys", &err)))
		return err;
	PQclear(r);
	return 0;
}

static int pg_ticket_keys(struct kh_store *ks, uint32_t min_id, struct kh_ticket_key *keys,
			  unsigned max)
{
	struct pg_store *s = pg(ks);
	struct args a = {0};
	PGresult *r;
	int err = 0, n = 0;

	a_int(&a, min_id);
	a_int(&a, max);
	if (!(r = run(s, ST_TKEYS, &a, "ticket keys", &err)))
		return err;
	for (int i = 0; i < PQntuples(r) && n < (int)max; i++) {
		keys[n].id = (uint32_t)g_int(r, i, 0);
		if (kh_hex_decode(PQgetvalue(r, i, 1), keys[n].key, 32) == 0)
			n++;
	}
	PQclear(r);
	return n;
}

/* Add (with now) or remove (now < 0) a group's mirror: one row, or why not. */
static int mirror_change(struct kh_store *ks, const char *group, const char *url, int64_t now)
{
	struct pg_store *s = pg(ks);
	struct args a = {0};
	int err;

	if (sync_mode(s, 1) < 0)
		return -EIO;
	a_text(&a, group);
	a_text(&a, url);
	if (now < 0)
		return change_one(s, ST_MIR_DEL, &a, "remove mirror");
	a_int(&a, now);
	a_int(&a, KH_MIRRORS_MAX);
	err = change_one(s, ST_MIR_ADD, &a, "add mirror");
	/* no row inserted: the group is full */
	return err == -ENOENT ? -ENOSPC : err;
}

static int pg_mirror_add(struct kh_store *ks, const char *group, const char *url, int64_t now)
{
	return mirror_change(ks, group, url, now < 0 ? 0 : now);
}

static int pg_mirror_del(struct kh_store *ks, const char *group, const char *url)
{
	return mirror_change(ks, group, url, -1);
}

static int pg_mirrors(struct kh_store *ks, const char *group, int fallback,
		      char (*urls)[KH_MIRROR_URL_MAX + 1], unsigned max)
{
	struct pg_store *s = pg(ks);
	struct args a = {0};
	PGresult *r;
	int err = 0, n;

	a_text(&a, group);
	a_int(&a, fallback);
	a_int(&a, max);
	if (!(r = run(s, ST_MIRS, &a, "list mirrors", &err)))
		return err;
	for (n = 0; n < PQntuples(r) && n < (int)max; n++)
		g_text(r, n, 0, urls[n], KH_MIRROR_URL_MAX + 1);
	PQclear(r);
	return n;
}

struct pol_ctx {
	int (*fn)(void *arg, const struct kh_policy_rec *p);
	void *arg;
};

static int pol_row(void *ctx, const PGresult *r, int i)
{
	struct pol_ctx *c = ctx;
	struct kh_policy_rec p;

	row_policy(r, i, &p);
	return c->fn(c->arg, &p) ? 1 : 0;
}

static int pg_policies(struct kh_store *ks, int (*fn)(void *arg, const struct kh_policy_rec *p),
		       void *arg)
{
	struct pol_ctx c = {fn, arg};
	struct args a = {0};
	int rc = each(pg(ks), ST_POLS, &a, "list policies", pol_row, &c, NULL);

	return rc < 0 ? rc : 0;
}

/* ---- events ---- */

/*
 * An upload's columns as PostgreSQL array literals ("{1,2}", text elements
 * quoted with " and \\ escaped), for one INSERT ... SELECT FROM unnest.
 */
#define ARR_COLS 5 /* seq, time, type, severity, payload */
struct ev_arrays {
	struct {
		char *buf;
		size_t len, cap;
	} b[ARR_COLS];
};

static int arr_put(struct ev_arrays *a, int col, const char *text, int quote)
{
	size_t need = 2 * strlen(text) + 4; /* every byte escaped, quotes, ',' and NUL */
	char *p;

	if (a->b[col].len + need > a->b[col].cap) {
		size_t cap = (a->b[col].cap + need) * 2;
		if (!(p = realloc(a->b[col].buf, cap)))
			return -ENOMEM;
		a->b[col].buf = p;
		a->b[col].cap = cap;
		if (!a->b[col].len)
			p[a->b[col].len++] = '{';
	}
	p = a->b[col].buf + a->b[col].len;
	if (quote)
		*p++ = '"';
	for (; *text; text++) {
		if (quote && (*text == '"' || *text == '\\'))
			*p++ = '\\';
		*p++ = *text;
	}
	if (quote)
		*p++ = '"';
	*p++ = ',';
	*p = 0;
	a->b[col].len = (size_t)(p - a->b[col].buf);
	return 0;
}

static int arrays_add(struct ev_arrays *a, const struct kh_event_rec *e)
{
	char seq[24], t[24], sev[16];

	snprintf(seq, sizeof(seq), "%llu", (unsigned long long)e->seq);
	snprintf(t, sizeof(t), "%lld", (long long)e->time);
	snprintf(sev, sizeof(sev), "%d", e->severity);
	if (arr_put(a, 0, seq, 0) < 0 || arr_put(a, 1, t, 0) < 0 || arr_put(a, 2, e->type, 1) < 0 ||
	    arr_put(a, 3, sev, 0) < 0 || arr_put(a, 4, e->payload, 1) < 0)
		return -ENOMEM;
	return 0;
}

static void arrays_free(struct ev_arrays *a)
{
	for (int k = 0; k < ARR_COLS; k++)
		free(a->b[k].buf);
}

static int pg_events_add(struct kh_store *ks, const char *serial, const struct kh_event_rec *ev,
			 unsigned n, uint64_t events_dropped, const struct kh_event_quota *q,
			 int64_t now, struct kh_events_result *out)
{
	struct pg_store *s = pg(ks);
	struct ev_arrays arr = {0};
	struct kh_device d;
	uint64_t top;
	unsigned i, added = 0, refused = 0;
	int err;

	if (begin(s) < 0)
		return -EIO;
	/* the device's row locked: instances sharing the database count one quota */
	if ((err = device_one(s, ST_DEV_LOCK, serial, &d, "lock device")) < 0)
		goto out;
	if (now >= d.quota_end || now < d.quota_start) { /* a new window (or the clock went back) */
		d.quota_start = now;
		d.quota_end = now + q->window_s;
		d.quota_events = d.quota_bytes = d.quota_refused = 0;
	}
	top = d.last_seq;
	for (i = 0; i < n; i++) {
		uint64_t size = kh_event_size(&ev[i]);
		if (ev[i].seq <= top)
			continue; /* delivered before (the device missed our ack), or repeated */
		if (refused || d.quota_events + 1 > q->events || d.quota_bytes + size > q->bytes) {
			refused++; /* and every one after it: what is stored stays a prefix */
			continue;
		}
		if ((err = arrays_add(&arr, &ev[i])) < 0)
			goto out;
		d.quota_events++;
		d.quota_bytes += size;
		top = ev[i].seq;
		added++;
	}
	if (added) {
		struct args a = {0};
		PGresult *r;
		char at[24];
		snprintf(at, sizeof(at), "%lld", (long long)now);
		a_text(&a, serial);
		a_text(&a, at);
		for (int k = 0; k < ARR_COLS; k++) {
			arr.b[k].buf[arr.b[k].len - 1] = '}'; /* the last ',' closes the array */
			a_text(&a, arr.b[k].buf);
		}
		if (!(r = run(s, ST_EV_ADD, &a, "add events", &err)))
			goto out;
		/* the device's row is locked and every seq is above its last: all are new */
		PQclear(r);
	}
	d.quota_refused += refused;
	{
		struct args a = {0};
		a_int(&a, (int64_t)top);
		a_int(&a, (int64_t)events_dropped);
		a_int(&a, d.quota_start);
		a_int(&a, d.quota_end);
		a_int(&a, (int64_t)d.quota_events);
		a_int(&a, (int64_t)d.quota_bytes);
		a_int(&a, (int64_t)d.quota_refused);
		a_int(&a, refused);
		a_text(&a, serial);
		if ((err = change_one(s, ST_DEV_SEQ, &a, "event sequence")) < 0)
			goto out;
	}
	/* The device forgets what we acknowledge: it must be on disk first. */
	if ((err = commit(s)) < 0)
		goto out;
	arrays_free(&arr);
	out->acked = top;
	out->stored = added;
	out->refused = refused;
	out->retry_at = d.quota_end;
	return 0;
out:
	arrays_free(&arr);
	rollback(s);
	return err;
}

struct ev_ctx {
	int (*fn)(void *arg, const struct kh_event_rec *e);
	void *arg;
};

static int ev_row(void *ctx, const PGresult *r, int i)
{
	struct ev_ctx *c = ctx;
	struct kh_event_rec e;

	memset(&e, 0, sizeof(e));
	e.id = g_int(r, i, 0);
	g_text(r, i, 1, e.serial, sizeof(e.serial));
	e.seq = (uint64_t)g_int(r, i, 2);
	e.time = g_int(r, i, 3);
	e.received = g_int(r, i, 4);
	g_text(r, i, 5, e.type, sizeof(e.type));
	e.severity = (int)g_int(r, i, 6);
	e.payload = PQgetvalue(r, i, 7);
	return c->fn(c->arg, &e) ? 1 : 0;
}

/* An events statement (which: for all devices, which + 1: for serial) from id from. */
static int events_list(struct kh_store *ks, int which, int64_t from, const char *serial,
		       unsigned limit, int (*fn)(void *arg, const struct kh_event_rec *e),
		       void *arg)
{
	struct ev_ctx c = {fn, arg};
	struct args a = {0};
	int rc;

	a_int(&a, from);
	if (serial)
		a_text(&a, serial);
	a_int(&a, limit);
	rc = each(pg(ks), serial ? which + 1 : which, &a, "list events", ev_row, &c, NULL);
	return rc < 0 ? rc : 0;
}

static int pg_events(struct kh_store *ks, int64_t since, const char *serial, unsigned limit,
		     int (*fn)(void *arg, const struct kh_event_rec *e), void *arg)
{
	return events_list(ks, ST_EVS_ALL, since, serial, limit, fn, arg);
}

static int pg_events_before(struct kh_store *ks, int64_t before, const char *serial, unsigned limit,
			    int (*fn)(void *arg, const struct kh_event_rec *e), void *arg)
{
	return events_list(ks, ST_EVS_BACK_ALL, before, serial, limit, fn, arg);
}

struct cnt_ctx {
	enum kh_count_by by;
	int (*fn)(void *arg, const struct kh_count *c);
	void *arg;
};

static int cnt_row(void *ctx, const PGresult *r, int i)
{
	struct cnt_ctx *x = ctx;
	struct kh_count c = {.n = (uint64_t)g_int(r, i, 1)};

	if (x->by == KH_COUNT_DEV_STATUS) {
		kh_strlcpy(c.key, g_int(r, i, 0) ? "revoked" : "active", sizeof(c.key));
		c.recent = (uint64_t)g_int(r, i, 2);
	} else {
		g_text(r, i, 0, c.key, sizeof(c.key));
		c.bucket = g_int(r, i, 2);
		c.severity = (int)g_int(r, i, 3);
	}
	return x->fn(x->arg, &c);
}

static int pg_counts(struct kh_store *ks, enum kh_count_by by, int64_t since, unsigned bucket_s,
		     unsigned limit, int (*fn)(void *arg, const struct kh_count *c), void *arg)
{
	struct cnt_ctx c = {by, fn, arg};
	struct args a = {0};
	int rc;

	if ((unsigned)by > KH_COUNT_BY_MAX)
		return -EINVAL;
	if (by != KH_COUNT_DEV_FIRMWARE && by != KH_COUNT_DEV_POLICY)
		a_int(&a, since);
	if (by == KH_COUNT_EV_TIME)
		a_int(&a, bucket_s);
	a_int(&a, limit);
	rc = each(pg(ks), ST_CNT_FIRST + (int)by, &a, "counts", cnt_row, &c, NULL);
	return rc < 0 ? rc : 0;
}

/* ---- commands ---- */

static int pg_command_add(struct kh_store *ks, const char *serial, const char *type,
			  const char *arg, int64_t now, int64_t *id)
{
	struct pg_store *s = pg(ks);
	struct args a = {0};
	PGresult *r;
	int err = 0;

	if (sync_mode(s, 1) < 0)
		return -EIO;
	a_text(&a, serial);
	a_text(&a, type);
	a_text(&a, arg ? arg : "");
	a_int(&a, now);
	if (!(r = run(s, ST_CMD_ADD, &a, "add command", &err)))
		return err;
	if (id)
		*id = g_int(r, 0, 0);
	PQclear(r);
	return 0;
}

static int pg_commands_pending(struct kh_store *ks, const char *serial, struct kh_command *out,
			       unsigned max)
{
	struct args a = {0};
	PGresult *r;
	int err = 0, n;

	a_text(&a, serial);
	a_int(&a, max);
	if (!(r = run(pg(ks), ST_CMD_PENDING, &a, "pending commands", &err)))
		return err;
	for (n = 0; n < PQntuples(r) && (unsigned)n < max; n++) {
		out[n].id = g_int(r, n, 0);
		g_text(r, n, 1, out[n].type, sizeof(out[n].type));
		g_text(r, n, 2, out[n].arg, sizeof(out[n].arg));
	}
	PQclear(r);
	return n;
}

static int pg_command_done(struct kh_store *ks, const char *serial, int64_t id, int64_t now)
{
	struct pg_store *s = pg(ks);
	struct args a = {0};

	if (sync_mode(s, 0) < 0) /* as a check-in: the device reports it again if lost */
		return -EIO;
	a_int(&a, now);
	a_int(&a, id);
	a_text(&a, serial);
	return change_one(s, ST_CMD_DONE, &a, "command done");
}

/* ---- audit results ---- */

/* Digest and counts of the device's stored rows. */
static int audit_sum(struct pg_store *s, const char *serial, struct kh_audit_head *h,
		     char digest[65])
{
	struct kh_audit_digest d;
	struct args a = {0};
	PGresult *r;
	int err = 0;

	a_text(&a, serial);
	if (!(r = run(s, ST_AUD_SUM, &a, "audit rows", &err)))
		return err;
	kh_audit_digest_init(&d, h->policy, h->version);
	h->pass = h->fail = h->na = h->error = 0;
	for (int i = 0; i < PQntuples(r); i++) {
		const char *res = PQgetvalue(r, i, 1);
		kh_audit_digest_add(&d, PQgetvalue(r, i, 0), res, PQgetvalue(r, i, 2));
		if (strcmp(res, "pass") == 0)
			h->pass++;
		else if (strcmp(res, "fail") == 0)
			h->fail++;
		else if (strcmp(res, "na") == 0)
			h->na++;
		else
			h->error++;
	}
	PQclear(r);
	kh_audit_digest_final(&d, digest);
	return 0;
}

static int pg_audit_put(struct kh_store *ks, const char *serial, const struct kh_audit_head *h,
			int full, const struct kh_audit_rec *rows, unsigned n, int64_t now,
			char digest[65])
{
	struct pg_store *s = pg(ks);
	struct kh_audit_head sum = *h;
	PGresult *r;
	int err = 0;

	if (begin(s) < 0)
		return -EIO;
	if (full) {
		struct args a = {0};
		a_text(&a, serial);
		if (!(r = run(s, ST_AUD_DEL, &a, "audit replace", &err)))
			goto out;
		PQclear(r);
	}
	for (unsigned i = 0; i < n; i++) {
		struct args a = {0};
		a_text(&a, serial);
		a_text(&a, rows[i].check);
		a_text(&a, rows[i].result);
		a_text(&a, rows[i].severity);
		a_text(&a, rows[i].evidence);
		a_int(&a, rows[i].changed_at);
		a_int(&a, now);
		if (!(r = run(s, ST_AUD_PUT, &a, "audit row", &err)))
			goto out;
		PQclear(r);
	}
	{
		/* a device keeps at most as many rows as rules may have checks */
		struct args a = {0};
		a_text(&a, serial);
		if (!(r = run(s, ST_AUD_COUNT, &a, "audit count", &err)))
			goto out;
		err = g_int(r, 0, 0) > KH_AUDIT_ROWS_MAX ? -E2BIG : 0;
		PQclear(r);
		if (err < 0)
			goto out;
	}
	{
		struct args a = {0};
		a_text(&a, serial);
		a_text(&a, h->policy);
		a_int(&a, (int64_t)h->version);
		a_text(&a, h->digest);
		a_int(&a, now);
		if (!(r = run(s, ST_AUD_HEAD_PUT, &a, "audit head", &err)))
			goto out;
		PQclear(r);
	}
	if ((err = audit_sum(s, serial, &sum, digest)) < 0)
		goto out;
	/* the device forgets what we acknowledge: on disk first */
	if ((err = commit(s)) < 0)
		goto out;
	return 0;
out:
	rollback(s);
	return err;
}

static int pg_audit_head(struct kh_store *ks, const char *serial, struct kh_audit_head *out)
{
	struct pg_store *s = pg(ks);
	struct args a = {0};
	PGresult *r;
	int err = 0;

	a_text(&a, serial);
	if (!(r = run(s, ST_AUD_HEAD_GET, &a, "audit head", &err)))
		return err;
	if (PQntuples(r) != 1) {
		PQclear(r);
		return -ENOENT;
	}
	memset(out, 0, sizeof(*out));
	g_text(r, 0, 0, out->policy, sizeof(out->policy));
	out->version = (uint64_t)g_int(r, 0, 1);
	g_text(r, 0, 2, out->digest, sizeof(out->digest));
	out->at = g_int(r, 0, 3);
	PQclear(r);
	/* the digest of what is stored, which is what a device's own is compared with */
	return audit_sum(s, serial, out, out->digest);
}

struct aud_ctx {
	int (*fn)(void *arg, const struct kh_audit_rec *r);
	void *arg;
	char serial[KH_SERIAL_MAX + 1], check[KH_AUDIT_CHECK_MAX + 1]; /* the page's last row */
};

static int aud_row(void *ctx, const PGresult *r, int i)
{
	struct aud_ctx *c = ctx;
	struct kh_audit_rec a;

	g_text(r, i, 0, a.serial, sizeof(a.serial));
	g_text(r, i, 1, a.check, sizeof(a.check));
	g_text(r, i, 2, a.result, sizeof(a.result));
	g_text(r, i, 3, a.severity, sizeof(a.severity));
	g_text(r, i, 4, a.evidence, sizeof(a.evidence));
	a.changed_at = g_int(r, i, 5);
	a.updated_at = g_int(r, i, 6);
	kh_strlcpy(c->serial, a.serial, sizeof(c->serial));
	kh_strlcpy(c->check, a.check, sizeof(c->check));
	return c->fn(c->arg, &a);
}

static int pg_audits(struct kh_store *ks, const char *serial, const char *check, int failing,
		     int (*fn)(void *arg, const struct kh_audit_rec *r), void *arg)
{
	struct aud_ctx c = {fn, arg, "", ""};
	int rc, n;

	do {
		struct args a = {0};
		a_text(&a, serial); /* NULL: all */
		a_text(&a, check);
		a_int(&a, failing);
		a_text(&a, c.serial);
		a_text(&a, c.check);
		a_int(&a, PAGE);
		rc = each(pg(ks), ST_AUDITS, &a, "audit rows", aud_row, &c, &n);
	} while (rc == 0 && n == PAGE);
	return rc;
}

struct comp_ctx {
	int (*fn)(void *arg, const struct kh_compliance *c);
	void *arg;
};

static int comp_row(void *ctx, const PGresult *r, int i)
{
	struct comp_ctx *x = ctx;
	struct kh_compliance c;

	g_text(r, i, 0, c.check, sizeof(c.check));
	/* ranked, not compared as text ("medium" > "high" as strings) */
	kh_strlcpy(c.severity, kh_severity_name((int)g_int(r, i, 1)), sizeof(c.severity));
	c.pass = (unsigned)g_int(r, i, 2);
	c.fail = (unsigned)g_int(r, i, 3);
	c.na = (unsigned)g_int(r, i, 4);
	c.error = (unsigned)g_int(r, i, 5);
	return x->fn(x->arg, &c);
}

/* ---- staged rollouts ---- */

static void row_rollout(const PGresult *r, int i, struct kh_rollout *ro)
{
	memset(ro, 0, sizeof(*ro));
	g_text(r, i, 0, ro->group, sizeof(ro->group));
	ro->version = (uint64_t)g_int(r, i, 1);
	ro->base = (uint64_t)g_int(r, i, 2);
	ro->stage_bp = (unsigned)g_int(r, i, 3);
	kh_rollout_stages_parse(PQgetvalue(r, i, 4), ro);
	ro->halt_bp = (unsigned)g_int(r, i, 5);
	ro->silent_s = (unsigned)g_int(r, i, 6);
	ro->state = (enum kh_rollout_state)g_int(r, i, 7);
	ro->started = g_int(r, i, 8);
	ro->updated = g_int(r, i, 9);
	g_text(r, i, 10, ro->reason, sizeof(ro->reason));
}

static int pg_rollout_put(struct kh_store *ks, const struct kh_rollout *ro)
{
	struct pg_store *s = pg(ks);
	char stages[KH_ROLLOUT_STAGES_TEXT];
	struct args a = {0};
	PGresult *r;
	int err = 0;

	if (sync_mode(s, 1) < 0)
		return -EIO;
	kh_rollout_stages_fmt(ro, stages, sizeof(stages));
	a_text(&a, ro->group);
	a_int(&a, (int64_t)ro->version);
	a_int(&a, (int64_t)ro->base);
	a_int(&a, ro->stage_bp);
	a_text(&a, stages);
	a_int(&a, ro->halt_bp);
	a_int(&a, ro->silent_s);
	a_int(&a, ro->state);
	a_int(&a, ro->started);
	a_int(&a, ro->updated);
	a_text(&a, ro->reason);
	if (!(r = run(s, ST_RO_PUT, &a, "store rollout", &err)))
		return err;
	PQclear(r);
	return 0;
}

static int pg_rollout_get(struct kh_store *ks, const char *group, struct kh_rollout *out)
{
	struct pg_store *s = pg(ks);
	struct args a = {0};
	PGresult *r;
	int err = 0;

	a_text(&a, group);
	if (!(r = run(s, ST_RO_GET, &a, "rollout", &err)))
		return err;
	err = PQntuples(r) ? 0 : -ENOENT;
	if (!err)
		row_rollout(r, 0, out);
	PQclear(r);
	return err;
}

static int pg_rollouts(struct kh_store *ks, int (*fn)(void *arg, const struct kh_rollout *r),
		       void *arg)
{
	struct pg_store *s = pg(ks);
	struct kh_rollout ro;
	PGresult *r;
	int err = 0;

	if (!(r = run(s, ST_RO_ALL, NULL, "rollouts", &err)))
		return err;
	for (int i = 0; i < PQntuples(r); i++) {
		row_rollout(r, i, &ro);
		if (fn(arg, &ro))
			break;
	}
	PQclear(r);
	return 0;
}

static int pg_rollout_halt(struct kh_store *ks, const char *group, uint64_t version,
			   const char *reason, int64_t now)
{
	struct pg_store *s = pg(ks);
	struct args a = {0};

	if (sync_mode(s, 1) < 0)
		return -EIO;
	a_int(&a, KH_ROLLOUT_HALTED);
	a_text(&a, reason);
	a_int(&a, now);
	a_text(&a, group);
	a_int(&a, (int64_t)version);
	a_int(&a, KH_ROLLOUT_ACTIVE);
	/* one row at most: the UPDATE's row lock makes one instance the one that halts */
	return change_one(s, ST_RO_HALT, &a, "halt rollout");
}

static int pg_device_rejected(struct kh_store *ks, const char *serial, uint64_t version)
{
	struct pg_store *s = pg(ks);
	struct args a = {0};
	int err;

	a_int(&a, (int64_t)version);
	a_text(&a, serial);
	err = change_one(s, ST_DEV_REJECTED, &a, "device rejected");
	return err == -ENOENT ? 0 : err;
}

static int pg_compliance(struct kh_store *ks, int (*fn)(void *arg, const struct kh_compliance *c),
			 void *arg)
{
	struct comp_ctx c = {fn, arg};
	struct args a = {0};

	return each(pg(ks), ST_COMPLIANCE, &a, "compliance", comp_row, &c, NULL);
}

static const struct kh_store_ops pg_ops = {
	.name = "PostgreSQL",
	.close = pg_close,
	.flush = pg_flush,
	.device_add = pg_device_add,
	.device_get = pg_device_get,
	.device_set_status = pg_device_set_status,
	.device_set_cert = pg_device_set_cert,
	.checkin = pg_checkin,
	.devices = pg_devices,
	.devices_after = pg_devices_after,
	.counts = pg_counts,
	.policy_add = pg_policy_add,
	.policy_get = pg_policy_get,
	.assign = pg_assign,
	.assigned = pg_assigned,
	.policy_gen = pg_policy_gen,
	.ticket_key_add = pg_ticket_key_add,
	.ticket_keys = pg_ticket_keys,
	.mirror_add = pg_mirror_add,
	.mirror_del = pg_mirror_del,
	.mirrors = pg_mirrors,
	.policies = pg_policies,
	.events_add = pg_events_add,
	.events = pg_events,
	.events_before = pg_events_before,
	.command_add = pg_command_add,
	.commands_pending = pg_commands_pending,
	.command_done = pg_command_done,
	.audit_put = pg_audit_put,
	.audit_head = pg_audit_head,
	.audits = pg_audits,
	.compliance = pg_compliance,
	.rollout_put = pg_rollout_put,
	.rollout_get = pg_rollout_get,
	.rollout_halt = pg_rollout_halt,
	.rollouts = pg_rollouts,
	.device_rejected = pg_device_rejected,
};
