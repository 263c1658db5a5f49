/* SPDX-License-Identifier: MIT */
/*
 * SQLite backend of server/store.h. One database file in WAL mode with
 * synchronous=FULL: a commit that acknowledged events to a device survives
 * power loss. Statements are prepared once. Check-in writes join a grouped
 * transaction that kh_store_flush() commits, so thousands of check-ins a
 * second cost a handful of fsyncs; the operator tools (publish, revoke)
 * are other processes on the same file and wait on the busy timeout.
 */
#include <sqlite3.h>
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
	ST_DEV_STATUS,
	ST_DEV_CERT,
	ST_CHECKIN,
	ST_DEVS,
	ST_DEVS_AFTER,
	ST_POL_ADD,
	ST_POL_GET,
	ST_ASSIGN,
	ST_ASSIGNED,
	ST_DATA_VERSION,
	ST_POLS,
	ST_EV_ADD,
	ST_DEV_SEQ,
	ST_EVS_ALL,
	ST_EVS_ONE,
	ST_EVS_BACK_ALL,
	ST_EVS_BACK_ONE,
	ST_CMD_ADD,
	ST_CMD_PENDING,
	ST_CMD_DONE,
	ST_EVC_ADD,
	ST_COUNT
};

/* a payload's member (NULL when the payload is not JSON) */
#define SQ_JSON(k) "CASE WHEN json_valid(payload) THEN json_extract(payload, '$." k "') END"
#define EVC_ROWS(SRC) KH_EVC_ROWS(SRC, SQ_JSON("category"), SQ_JSON("name"))

#define QUOTA_COLS                                                                           \
	"quota_start, quota_end, quota_events, quota_bytes, quota_refused, events_refused, " \
	"policy_rejected"

static const char *const sql_text[ST_COUNT] = {
	[ST_DEV_ADD] = "INSERT INTO devices(serial, grp, cert_sha256, created, cert_not_after) "
		       "VALUES(?,?,?,?,?)",
	[ST_DEV_GET] = "SELECT serial, grp, cert_sha256, status, created, last_seen, firmware, "
		       "hardware_id, policy_version, last_seq, events_dropped, checkins, "
		       "status_json, cert_not_after, " QUOTA_COLS " FROM devices WHERE serial = ?",
	[ST_DEV_STATUS] = "UPDATE devices SET status = ? WHERE serial = ?",
	[ST_DEV_CERT] = "UPDATE devices SET cert_sha256 = ?, cert_not_after = ?, status = 0 "
			"WHERE serial = ?",
	[ST_CHECKIN] = "UPDATE devices SET last_seen = ?, firmware = ?, hardware_id = ?, "
		       "policy_version = ?, events_dropped = max(events_dropped, ?), "
		       "checkins = checkins + 1, status_json = coalesce(?, status_json) "
		       "WHERE serial = ?",
	[ST_DEVS] = "SELECT serial, grp, cert_sha256, status, created, last_seen, firmware, "
		    "hardware_id, policy_version, last_seq, events_dropped, checkins, "
		    "status_json, cert_not_after, " QUOTA_COLS " FROM devices ORDER BY serial",
	[ST_DEVS_AFTER] =
		"SELECT serial, grp, cert_sha256, status, created, last_seen, firmware, "
		"hardware_id, policy_version, last_seq, events_dropped, checkins, "
		"status_json, cert_not_after, " QUOTA_COLS " FROM devices WHERE serial > ? "
		"ORDER BY serial LIMIT ?",
	[ST_POL_ADD] = "INSERT INTO policies(version, sha256, size, created, expires, published, "
		       "path) VALUES(?,?,?,?,?,?,?)",
	[ST_POL_GET] = "SELECT version, sha256, size, created, expires, published, path "
		       "FROM policies WHERE version = ?",
	[ST_ASSIGN] = "INSERT INTO assignments(grp, version, assigned) VALUES(?,?,?) "
		      "ON CONFLICT(grp) DO UPDATE SET version = excluded.version, "
		      "assigned = excluded.assigned",
	[ST_ASSIGNED] = "SELECT p.version, p.sha256, p.size, p.created, p.expires, p.published, "
			"p.path FROM assignments a JOIN policies p ON p.version = a.version "
			"WHERE a.grp = ? OR a.grp = '*' ORDER BY a.grp = '*' LIMIT 1",
	/* changes when another connection (the CLI, a hand-made UPDATE) committed */
	[ST_DATA_VERSION] = "PRAGMA data_version",
	[ST_POLS] = "SELECT version, sha256, size, created, expires, published, path "
		    "FROM policies ORDER BY version",
	[ST_EV_ADD] = "INSERT OR IGNORE INTO events(serial, seq, time, received, type, severity, "
		      "payload) VALUES(?,?,?,?,?,?,?)",
	[ST_DEV_SEQ] = "UPDATE devices SET last_seq = max(last_seq, ?), "
		       "events_dropped = max(events_dropped, ?), quota_start = ?, quota_end = ?, "
		       "quota_events = ?, quota_bytes = ?, quota_refused = ?, "
		       "events_refused = events_refused + ? WHERE serial = ?",
	[ST_EVS_ALL] = "SELECT id, serial, seq, time, received, type, severity, payload "
		       "FROM events WHERE id > ? ORDER BY id LIMIT ?",
	[ST_EVS_ONE] = "SELECT id, serial, seq, time, received, type, severity, payload "
		       "FROM events WHERE id > ? AND serial = ? ORDER BY id LIMIT ?",
	[ST_EVS_BACK_ALL] = "SELECT id, serial, seq, time, received, type, severity, payload "
			    "FROM events WHERE id < ? ORDER BY id DESC LIMIT ?",
	[ST_EVS_BACK_ONE] = "SELECT id, serial, seq, time, received, type, severity, payload "
			    "FROM events WHERE id < ? AND serial = ? ORDER BY id DESC LIMIT ?",
	[ST_CMD_ADD] = "INSERT INTO commands(serial, type, arg, created) VALUES(?,?,?,?)",
	[ST_CMD_PENDING] = "SELECT id, type, arg FROM commands WHERE serial = ? AND delivered "
			   "IS NULL ORDER BY id LIMIT ?",
	[ST_CMD_DONE] = "UPDATE commands SET delivered = ? WHERE id = ? AND serial = ? "
			"AND delivered IS NULL",
	/* the hourly counts of an upload's events (ids ?1..?2, in its transaction) */
	[ST_EVC_ADD] = "INSERT INTO event_counts SELECT * FROM (" EVC_ROWS(
		"(SELECT received, type, severity, payload FROM events WHERE id BETWEEN ?1 "
		"AND ?2)") ") "
			   "WHERE true" KH_EVC_UPSERT,
};

static const char schema[] =
	"CREATE TABLE IF NOT EXISTS devices("
	" serial TEXT PRIMARY KEY, grp TEXT NOT NULL, cert_sha256 BLOB NOT NULL,"
	" status INTEGER NOT NULL DEFAULT 0, created INTEGER NOT NULL,"
	" last_seen INTEGER NOT NULL DEFAULT 0, firmware TEXT NOT NULL DEFAULT '',"
	" hardware_id TEXT NOT NULL DEFAULT '', policy_version INTEGER NOT NULL DEFAULT 0,"
	" last_seq INTEGER NOT NULL DEFAULT 0, events_dropped INTEGER NOT NULL DEFAULT 0,"
	" checkins INTEGER NOT NULL DEFAULT 0, status_json TEXT NOT NULL DEFAULT '{}',"
	" cert_not_after INTEGER NOT NULL DEFAULT 0);" /* later columns: migrate() */
	"CREATE TABLE IF NOT EXISTS policies("
	" version INTEGER PRIMARY KEY, sha256 TEXT NOT NULL, size INTEGER NOT NULL,"
	" created INTEGER NOT NULL, expires INTEGER NOT NULL, published INTEGER NOT NULL,"
	" path TEXT NOT NULL);"
	"CREATE TABLE IF NOT EXISTS assignments("
	" grp TEXT PRIMARY KEY, version INTEGER NOT NULL REFERENCES policies(version),"
	" assigned INTEGER NOT NULL);"
	"CREATE TABLE IF NOT EXISTS events("
	" id INTEGER PRIMARY KEY AUTOINCREMENT, serial TEXT NOT NULL, seq INTEGER NOT NULL,"
	" time INTEGER NOT NULL, received INTEGER NOT NULL, type TEXT NOT NULL,"
	" severity INTEGER NOT NULL, payload TEXT NOT NULL, UNIQUE(serial, seq));"
	"CREATE INDEX IF NOT EXISTS events_by_serial ON events(serial, id);"
	"CREATE TABLE IF NOT EXISTS commands("
	" id INTEGER PRIMARY KEY AUTOINCREMENT, serial TEXT NOT NULL, type TEXT NOT NULL,"
	" arg TEXT NOT NULL, created INTEGER NOT NULL, delivered INTEGER);"
	"CREATE INDEX IF NOT EXISTS commands_by_serial ON commands(serial, delivered);";

struct sq_store {
	struct kh_store base; /* first: the handle callers hold */
	sqlite3 *db;
	sqlite3_stmt *st[ST_COUNT];
	int in_txn;
	uint64_t gen_errors; /* data_version unreadable (kh_store_policy_gen) */
};

static const struct kh_store_ops sq_ops;
static void sq_close(struct kh_store *ks);

static struct sq_store *sq(struct kh_store *s)
{
	return (struct sq_store *)s;
}

static int db_fail(struct sq_store *s, const char *what)
{
	log_error("store: %s: %s", what, sqlite3_errmsg(s->db));
	return -EIO;
}

static int exec(struct sq_store *s, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		log_error("store: %s: %s", sql, msg ? msg : "?");
		sqlite3_free(msg);
		return -EIO;
	}
	return 0;
}

static sqlite3_stmt *stmt(struct sq_store *s, int which)
{
	sqlite3_stmt *q = s->st[which];

	sqlite3_reset(q);
	sqlite3_clear_bindings(q);
	return q;
}

/* Join (or open) the grouped write transaction. */
static int txn_join(struct sq_store *s)
{
	if (s->in_txn)
		return 0;
	if (exec(s, "BEGIN IMMEDIATE") < 0)
		return -EIO;
	s->in_txn = 1;
	return 0;
}

static int sq_flush(struct kh_store *ks)
{
	struct sq_store *s = sq(ks);
	int err;

	if (!s->in_txn)
		return 0;
	s->in_txn = 0;
	err = exec(s, "COMMIT");
	/* A failed COMMIT (disk full, I/O) can leave the transaction open: end it,
	 * or every later write would fail until a restart. */
	if (err < 0 && !sqlite3_get_autocommit(s->db))
		exec(s, "ROLLBACK");
	return err;
}

/* 1 if table has column (pragma_table_info: SQLite 3.16 and later). */
static int has_column(struct sq_store *s, const char *table, const char *column)
{
	sqlite3_stmt *q;
	int found = 0;

	if (sqlite3_prepare_v2(s->db, "SELECT count(*) FROM pragma_table_info(?) WHERE name = ?",
			       -1, &q, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(q, 1, table, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, column, -1, SQLITE_STATIC);
	if (sqlite3_step(q) == SQLITE_ROW)
		found = sqlite3_column_int(q, 0) > 0;
	sqlite3_finalize(q);
	return found;
}

/*
 * Bring a database made by an earlier version up to this schema (a new one
 * too: columns after cert_not_after are added here alone). Columns are only
 * ever added (with defaults), so an older server can still read it. Each
 * step checks what is there, so a crash between steps is harmless.
 */
static int migrate(struct sq_store *s)
{
	char sql[160];
	int has;

	/* 2, 3: devices columns (the list is shared with the PostgreSQL backend) */
	for (size_t i = 0; i < KH_ARRAY_SIZE(kh_store_added_columns); i++) {
		const char *col = kh_store_added_columns[i].name;
		has = has_column(s, "devices", col);
		if (has < 0)
			return -EIO;
		/* an identifier from the constant list, never a value */
		snprintf(sql, sizeof(sql),
			 "ALTER TABLE devices ADD COLUMN %s INTEGER NOT NULL DEFAULT 0", col);
		if (!has && exec(s, sql) < 0)
			return -EIO;
	}
	/* 4: audit results */
	if (exec(s, "CREATE TABLE IF NOT EXISTS audit("
		    " serial TEXT NOT NULL, check_id TEXT NOT NULL, result TEXT NOT NULL,"
		    " severity TEXT NOT NULL, evidence TEXT NOT NULL, changed_at INTEGER NOT NULL,"
		    " updated_at INTEGER NOT NULL, PRIMARY KEY(serial, check_id));"
		    "CREATE INDEX IF NOT EXISTS audit_by_check ON audit(check_id, result);"
		    "CREATE TABLE IF NOT EXISTS audit_heads("
		    " serial TEXT PRIMARY KEY, policy TEXT NOT NULL, version INTEGER NOT NULL,"
		    " digest TEXT NOT NULL, at INTEGER NOT NULL);") < 0)
		return -EIO;
	/* 5: bundle mirrors by group */
	if (exec(s, "CREATE TABLE IF NOT EXISTS mirrors("
		    " grp TEXT NOT NULL, url TEXT NOT NULL, added INTEGER NOT NULL,"
		    " PRIMARY KEY(grp, url));") < 0)
		return -EIO;
	/* 6: TLS session-ticket keys (hex) */
	if (exec(s, "CREATE TABLE IF NOT EXISTS ticket_keys("
		    " id INTEGER PRIMARY KEY, key TEXT NOT NULL, created INTEGER NOT NULL);") < 0)
		return -EIO;
	/* 7: staged rollouts, one per group */
	if (exec(s, "CREATE TABLE IF NOT EXISTS rollouts("
		    " grp TEXT PRIMARY KEY, version INTEGER NOT NULL, base INTEGER NOT NULL,"
		    " stage_bp INTEGER NOT NULL, stages TEXT NOT NULL, halt_bp INTEGER NOT NULL,"
		    " silent_s INTEGER NOT NULL, state INTEGER NOT NULL, started INTEGER NOT NULL,"
		    " updated INTEGER NOT NULL, reason TEXT NOT NULL);") < 0)
		return -EIO;
	/* 9: the events' hourly counts, made once from the events already stored */
	if ((has = has_column(s, "event_counts", "n")) < 0)
		return -EIO;
	if (!has &&
	    exec(s, "BEGIN;" KH_EVC_TABLE " WITHOUT ROWID;"
		    "INSERT INTO event_counts SELECT * FROM (" EVC_ROWS("events") ") WHERE true;"
										  "COMMIT") < 0)
		return -EIO;
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", KH_STORE_SCHEMA_VERSION);
	return exec(s, sql);
}

int kh_store_sqlite_open(const char *path, struct kh_store **out, char *why, size_t whylen)
{
	struct sq_store *s = calloc(1, sizeof(*s));
	int i;

	if (!s)
		return -ENOMEM;
	s->base.ops = &sq_ops;
	if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
	    SQLITE_OK) {
		snprintf(why, whylen, "%s: %s", path, s->db ? sqlite3_errmsg(s->db) : "no memory");
		goto fail;
	}
	sqlite3_busy_timeout(s->db, 10000);
	if (exec(s, "PRAGMA journal_mode=WAL") < 0 || exec(s, "PRAGMA synchronous=FULL") < 0 ||
	    exec(s, "PRAGMA foreign_keys=ON") < 0 || exec(s, schema) < 0 || migrate(s) < 0) {
		snprintf(why, whylen, "%s: cannot set up the database: %s", path,
			 sqlite3_errmsg(s->db));
		goto fail;
	}
	for (i = 0; i < ST_COUNT; i++)
		if (sqlite3_prepare_v3(s->db, sql_text[i], -1, SQLITE_PREPARE_PERSISTENT, &s->st[i],
				       NULL) != SQLITE_OK) {
			snprintf(why, whylen, "%s: %s", path, sqlite3_errmsg(s->db));
			goto fail;
		}
	*out = &s->base;
	return 0;
fail:
	sq_close(&s->base);
	return -EIO;
}

static void sq_close(struct kh_store *ks)
{
	struct sq_store *s = sq(ks);
	if (!s)
		return;
	if (s->db)
		sq_flush(&s->base);
	for (int i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(s->st[i]);
	sqlite3_close(s->db);
	free(s);
}

static void col_text(sqlite3_stmt *q, int col, char *dst, size_t cap)
{
	const unsigned char *t = sqlite3_column_text(q, col);
	kh_strlcpy(dst, t ? (const char *)t : "", cap);
}

static void row_device(sqlite3_stmt *q, struct kh_device *d)
{
	const void *b = sqlite3_column_blob(q, 2);

	memset(d, 0, sizeof(*d));
	col_text(q, 0, d->serial, sizeof(d->serial));
	col_text(q, 1, d->group, sizeof(d->group));
	if (b && sqlite3_column_bytes(q, 2) == 32)
		memcpy(d->cert_sha256, b, 32);
	d->status = sqlite3_column_int(q, 3) ? KH_DEV_REVOKED : KH_DEV_ACTIVE;
	d->created = sqlite3_column_int64(q, 4);
	d->last_seen = sqlite3_column_int64(q, 5);
	col_text(q, 6, d->firmware, sizeof(d->firmware));
	col_text(q, 7, d->hardware_id, sizeof(d->hardware_id));
	d->policy_version = (uint64_t)sqlite3_column_int64(q, 8);
	d->last_seq = (uint64_t)sqlite3_column_int64(q, 9);
	d->events_dropped = (uint64_t)sqlite3_column_int64(q, 10);
	d->checkins = (uint64_t)sqlite3_column_int64(q, 11);
	col_text(q, 12, d->status_json, sizeof(d->status_json));
	d->cert_not_after = sqlite3_column_int64(q, 13);
	d->quota_start = sqlite3_column_int64(q, 14);
	d->quota_end = sqlite3_column_int64(q, 15);
	d->quota_events = (uint64_t)sqlite3_column_int64(q, 16);
	d->quota_bytes = (uint64_t)sqlite3_column_int64(q, 17);
	d->quota_refused = (uint64_t)sqlite3_column_int64(q, 18);
	d->events_refused = (uint64_t)sqlite3_column_int64(q, 19);
	d->policy_rejected = (uint64_t)sqlite3_column_int64(q, 20);
}

static void row_policy(sqlite3_stmt *q, struct kh_policy_rec *p)
{
	memset(p, 0, sizeof(*p));
	p->version = (uint64_t)sqlite3_column_int64(q, 0);
	col_text(q, 1, p->sha256_hex, sizeof(p->sha256_hex));
	p->size = (uint64_t)sqlite3_column_int64(q, 2);
	p->created = sqlite3_column_int64(q, 3);
	p->expires = sqlite3_column_int64(q, 4);
	p->published = sqlite3_column_int64(q, 5);
	col_text(q, 6, p->path, sizeof(p->path));
}

static int sq_device_add(struct kh_store *ks, const char *serial, const char *group,
			 const uint8_t cert_sha256[32], int64_t cert_not_after, int64_t now)
{
	struct sq_store *s = sq(ks);
	sqlite3_stmt *q = stmt(s, ST_DEV_ADD);
	int rc;

	sqlite3_bind_text(q, 1, serial, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, group, -1, SQLITE_STATIC);
	sqlite3_bind_blob(q, 3, cert_sha256, 32, SQLITE_STATIC);
	sqlite3_bind_int64(q, 4, now);
	sqlite3_bind_int64(q, 5, cert_not_after);
	rc = sqlite3_step(q);
	sqlite3_reset(q);
	if (rc == SQLITE_CONSTRAINT)
		return -EEXIST;
	return rc == SQLITE_DONE ? 0 : db_fail(s, "add device");
}

static int sq_device_get(struct kh_store *ks, const char *serial, struct kh_device *out)
{
	struct sq_store *s = sq(ks);
	sqlite3_stmt *q = stmt(s, ST_DEV_GET);
	int rc;

	sqlite3_bind_text(q, 1, serial, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW)
		row_device(q, out);
	sqlite3_reset(q);
	if (rc == SQLITE_ROW)
		return 0;
	return rc == SQLITE_DONE ? -ENOENT : db_fail(s, "get device");
}

static int changed_one(struct sq_store *s, sqlite3_stmt *q, const char *what)
{
	int rc = sqlite3_step(q);

	sqlite3_reset(q);
	if (rc != SQLITE_DONE)
		return db_fail(s, what);
	return sqlite3_changes(s->db) ? 0 : -ENOENT;
}

static int sq_device_set_status(struct kh_store *ks, const char *serial, enum kh_device_status st)
{
	struct sq_store *s = sq(ks);
	sqlite3_stmt *q = stmt(s, ST_DEV_STATUS);

	sqlite3_bind_int(q, 1, (int)st);
	sqlite3_bind_text(q, 2, serial, -1, SQLITE_STATIC);
	return changed_one(s, q, "set device status");
}

static int sq_device_set_cert(struct kh_store *ks, const char *serial,
			      const uint8_t cert_sha256[32], int64_t cert_not_after)
{
	struct sq_store *s = sq(ks);
	sqlite3_stmt *q = stmt(s, ST_DEV_CERT);

	sqlite3_bind_blob(q, 1, cert_sha256, 32, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, cert_not_after);
	sqlite3_bind_text(q, 3, serial, -1, SQLITE_STATIC);
	return changed_one(s, q, "set device certificate");
}

static int sq_checkin(struct kh_store *ks, const char *serial, const struct kh_checkin *c,
		      int64_t now)
{
	struct sq_store *s = sq(ks);
	sqlite3_stmt *q;

	if (txn_join(s) < 0)
		return -EIO;
	q = stmt(s, ST_CHECKIN);
	sqlite3_bind_int64(q, 1, now);
	sqlite3_bind_text(q, 2, c->firmware ? c->firmware : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 3, c->hardware_id ? c->hardware_id : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 4, (sqlite3_int64)c->policy_version);
	sqlite3_bind_int64(q, 5, (sqlite3_int64)c->events_dropped);
	if (c->status_json)
		sqlite3_bind_text(q, 6, c->status_json, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 7, serial, -1, SQLITE_STATIC);
	return changed_one(s, q, "check-in");
}

/* fn for each row of q (a devices statement, bound), then q is reset. */
static int devices_rows(struct sq_store *s, sqlite3_stmt *q,
			int (*fn)(void *arg, const struct kh_device *d), void *arg)
{
	struct kh_device d;
	int rc;

	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		row_device(q, &d);
		if (fn(arg, &d))
			break;
	}
	sqlite3_reset(q);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : db_fail(s, "list devices");
}

static int sq_devices(struct kh_store *ks, int (*fn)(void *arg, const struct kh_device *d),
		      void *arg)
{
	struct sq_store *s = sq(ks);

	return devices_rows(s, stmt(s, ST_DEVS), fn, arg);
}

static int sq_devices_after(struct kh_store *ks, const char *after, unsigned limit,
			    int (*fn)(void *arg, const struct kh_device *d), void *arg)
{
	struct sq_store *s = sq(ks);
	sqlite3_stmt *q = stmt(s, ST_DEVS_AFTER);

	sqlite3_bind_text(q, 1, after, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, limit);
	return devices_rows(s, q, fn, arg);
}

static int sq_policy_add(struct kh_store *ks, const struct kh_policy_rec *p)
{
	struct sq_store *s = sq(ks);
	sqlite3_stmt *q = stmt(s, ST_POL_ADD);
	int rc;

	sqlite3_bind_int64(q, 1, (sqlite3_int64)p->version);
	sqlite3_bind_text(q, 2, p->sha256_hex, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 3, (sqlite3_int64)p->size);
	sqlite3_bind_int64(q, 4, p->created);
	sqlite3_bind_int64(q, 5, p->expires);
	sqlite3_bind_int64(q, 6, p->published);
	sqlite3_bind_text(q, 7, p->path, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	sqlite3_reset(q);
	if (rc == SQLITE_CONSTRAINT)
		return -EEXIST;
	return rc == SQLITE_DONE ? 0 : db_fail(s, "add policy");
}

static int policy_one(struct sq_store *s, sqlite3_stmt *q, struct kh_policy_rec *out,
		      const char *what)
{
	int rc = sqlite3_step(q);

	if (rc == SQLITE_ROW)
		row_policy(q, out);
	sqlite3_reset(q);
	if (rc == SQLITE_ROW)
		return 0;
	return rc == SQLITE_DONE ? -ENOENT : db_fail(s, what);
}

static int sq_policy_get(struct kh_store *ks, uint64_t version, struct kh_policy_rec *out)
{
	struct sq_store *s = sq(ks);
	sqlite3_stmt *q = stmt(s, ST_POL_GET);

	sqlite3_bind_int64(q, 1, (sqlite3_int64)version);
	return policy_one(s, q, out, "get policy");
}

static int sq_assign(struct kh_store *ks, const char *group, uint64_t version, int64_t now)
{
	struct sq_store *s = sq(ks);
	sqlite3_stmt *q = stmt(s, ST_ASSIGN);
	int rc;

	sqlite3_bind_text(q, 1, group, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, (sqlite3_int64)version);
	sqlite3_bind_int64(q, 3, now);
	rc = sqlite3_step(q);
	sqlite3_reset(q);
	if (rc == SQLITE_CONSTRAINT)
		return -ENOENT; /* no such policy */
	return rc == SQLITE_DONE ? 0 : db_fail(s, "assign policy");
}

static int sq_assigned(struct kh_store *ks, const char *group, struct kh_policy_rec *out)
{
	struct sq_store *s = sq(ks);
	sqlite3_stmt *q = stmt(s, ST_ASSIGNED);

	sqlite3_bind_text(q, 1, group, -1, SQLITE_STATIC);
	return policy_one(s, q, out, "assigned policy");
}

static uint64_t sq_policy_gen(struct kh_store *ks)
{
	struct sq_store *s = sq(ks);
	sqlite3_stmt *q = stmt(s, ST_DATA_VERSION);
	uint64_t v;

	/* an error: a value of its own each time (top bit set), so nothing cached is trusted */
	if (sqlite3_step(q) != SQLITE_ROW) {
		sqlite3_reset(q);
		return ++s->gen_errors | 1ull << 63;
	}
	v = (uint64_t)sqlite3_column_int64(q, 0) + s->gen_errors;
	sqlite3_reset(q); /* an active statement would hold its read snapshot */
	return v;
}

static int sq_policies(struct kh_store *ks, int (*fn)(void *arg, const struct kh_policy_rec *p),
		       void *arg)
{
	struct sq_store *s = sq(ks);
	sqlite3_stmt *q = stmt(s, ST_POLS);
	struct kh_policy_rec p;
	int rc;

	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		row_policy(q, &p);
		if (fn(arg, &p))
			break;
	}
	sqlite3_reset(q);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : db_fail(s, "list policies");
}

static int sq_events_add(struct kh_store *ks, const char *serial, const struct kh_event_rec *ev,
			 unsigned n, uint64_t events_dropped, const struct kh_event_quota *q,
			 int64_t now, struct kh_events_result *out)
{
	struct sq_store *s = sq(ks);
	struct kh_device d;
	uint64_t top;
	unsigned i, added = 0, refused = 0;
	int64_t first = 0, last = 0; /* the ids stored */
	int err, rc;

	if ((err = txn_join(s)) < 0)
		return err;
	if ((err = sq_device_get(&s->base, serial, &d)) < 0)
		goto out;
	if (now >= d.quota_end || now < d.quota_start) { /* a new window (or the clock went back) */
		d.quota_start = now;
		d.quota_end = now + q->window_s;
		d.quota_events = d.quota_bytes = d.quota_refused = 0;
	}
	top = d.last_seq;
	for (i = 0; i < n; i++) {
		sqlite3_stmt *st;
		uint64_t size = kh_event_size(&ev[i]);
		if (ev[i].seq <= d.last_seq)
			continue; /* delivered before: the device missed our ack */
		if (refused || d.quota_events + 1 > q->events || d.quota_bytes + size > q->bytes) {
			refused++; /* and every one after it: what is stored stays a prefix */
			continue;
		}
		st = stmt(s, ST_EV_ADD);
		sqlite3_bind_text(st, 1, serial, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, (sqlite3_int64)ev[i].seq);
		sqlite3_bind_int64(st, 3, ev[i].time);
		sqlite3_bind_int64(st, 4, now);
		sqlite3_bind_text(st, 5, ev[i].type, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 6, ev[i].severity);
		sqlite3_bind_text(st, 7, ev[i].payload, -1, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_DONE) {
			err = db_fail(s, "add event");
			sqlite3_reset(st);
			goto out;
		}
		if (sqlite3_changes(s->db)) {
			last = sqlite3_last_insert_rowid(s->db);
			first = added++ ? first : last;
			d.quota_events++;
			d.quota_bytes += size;
		}
		sqlite3_reset(st);
		if (ev[i].seq > top)
			top = ev[i].seq;
	}
	d.quota_refused += refused;
	if (added) {
		sqlite3_stmt *st = stmt(s, ST_EVC_ADD);
		sqlite3_bind_int64(st, 1, first);
		sqlite3_bind_int64(st, 2, last);
		rc = sqlite3_step(st);
		sqlite3_reset(st);
		if (rc != SQLITE_DONE) {
			err = db_fail(s, "count events");
			goto out;
		}
	}
	{
		sqlite3_stmt *st = stmt(s, ST_DEV_SEQ);
		sqlite3_bind_int64(st, 1, (sqlite3_int64)top);
		sqlite3_bind_int64(st, 2, (sqlite3_int64)events_dropped);
		sqlite3_bind_int64(st, 3, d.quota_start);
		sqlite3_bind_int64(st, 4, d.quota_end);
		sqlite3_bind_int64(st, 5, (sqlite3_int64)d.quota_events);
		sqlite3_bind_int64(st, 6, (sqlite3_int64)d.quota_bytes);
		sqlite3_bind_int64(st, 7, (sqlite3_int64)d.quota_refused);
		sqlite3_bind_int64(st, 8, refused);
		sqlite3_bind_text(st, 9, serial, -1, SQLITE_STATIC);
		if ((err = changed_one(s, st, "event sequence")) < 0)
			goto out;
	}
	/* The device forgets what we acknowledge: it must be on disk first. */
	if ((err = sq_flush(&s->base)) < 0)
		return err;
	out->acked = top;
	out->stored = added;
	out->refused = refused;
	out->retry_at = d.quota_end;
	return 0;
out:
	s->in_txn = 0;
	exec(s, "ROLLBACK");
	return err;
}

/* Bind (from, serial, limit) to an events statement, then fn for each row. */
static int events_rows(struct sq_store *s, int which, int64_t from, const char *serial,
		       unsigned limit, int (*fn)(void *arg, const struct kh_event_rec *e),
		       void *arg)
{
	sqlite3_stmt *q = stmt(s, which);
	struct kh_event_rec e;
	int rc, k = 1;

	sqlite3_bind_int64(q, k++, from);
	if (serial)
		sqlite3_bind_text(q, k++, serial, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, k, limit);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		memset(&e, 0, sizeof(e));
		e.id = sqlite3_column_int64(q, 0);
		col_text(q, 1, e.serial, sizeof(e.serial));
		e.seq = (uint64_t)sqlite3_column_int64(q, 2);
		e.time = sqlite3_column_int64(q, 3);
		e.received = sqlite3_column_int64(q, 4);
		col_text(q, 5, e.type, sizeof(e.type));
		e.severity = sqlite3_column_int(q, 6);
		e.payload = (const char *)sqlite3_column_text(q, 7);
		if (!e.payload)
			e.payload = "{}";
		if (fn(arg, &e))
			break;
	}
	sqlite3_reset(q);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : db_fail(s, "list events");
}

static int sq_events(struct kh_store *ks, int64_t since, const char *serial, unsigned limit,
		     int (*fn)(void *arg, const struct kh_event_rec *e), void *arg)
{
	return events_rows(sq(ks), serial ? ST_EVS_ONE : ST_EVS_ALL, since, serial, limit, fn, arg);
}

static int sq_events_before(struct kh_store *ks, int64_t before, const char *serial, unsigned limit,
			    int (*fn)(void *arg, const struct kh_event_rec *e), void *arg)
{
	return events_rows(sq(ks), serial ? ST_EVS_BACK_ONE : ST_EVS_BACK_ALL, before, serial,
			   limit, fn, arg);
}

static int sq_command_add(struct kh_store *ks, const char *serial, const char *type,
			  const char *arg, int64_t now, int64_t *id)
{
	struct sq_store *s = sq(ks);
	sqlite3_stmt *q = stmt(s, ST_CMD_ADD);
	int rc;

	sqlite3_bind_text(q, 1, serial, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, type, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 3, arg ? arg : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 4, now);
	rc = sqlite3_step(q);
	sqlite3_reset(q);
	if (rc != SQLITE_DONE)
		return db_fail(s, "add command");
	if (id)
		*id = sqlite3_last_insert_rowid(s->db);
	return 0;
}

static int sq_commands_pending(struct kh_store *ks, const char *serial, struct kh_command *out,
			       unsigned max)
{
	struct sq_store *s = sq(ks);
	sqlite3_stmt *q = stmt(s, ST_CMD_PENDING);
	int rc, n = 0;

	sqlite3_bind_text(q, 1, serial, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, max);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW && (unsigned)n < max) {
		out[n].id = sqlite3_column_int64(q, 0);
		col_text(q, 1, out[n].type, sizeof(out[n].type));
		col_text(q, 2, out[n].arg, sizeof(out[n].arg));
		n++;
	}
	sqlite3_reset(q);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? n : db_fail(s, "pending commands");
}

static int sq_command_done(struct kh_store *ks, const char *serial, int64_t id, int64_t now)
{
	struct sq_store *s = sq(ks);
	sqlite3_stmt *q;

	if (txn_join(s) < 0)
		return -EIO;
	q = stmt(s, ST_CMD_DONE);
	sqlite3_bind_int64(q, 1, now);
	sqlite3_bind_int64(q, 2, id);
	sqlite3_bind_text(q, 3, serial, -1, SQLITE_STATIC);
	return changed_one(s, q, "command done");
}

/* ---- ticket keys ---- */

static int prep(struct sq_store *s, const char *sql, sqlite3_stmt **q)
{
	return sqlite3_prepare_v2(s->db, sql, -1, q, NULL) == SQLITE_OK ? 0 : db_fail(s, sql);
}

static int sq_ticket_key_add(struct kh_store *ks, const struct kh_ticket_key *k, uint32_t below_id,
			     int64_t now)
{
	struct sq_store *s = sq(ks);
	sqlite3_stmt *q;
	char hex[65];
	int rc;

	if ((rc = prep(s, "INSERT INTO ticket_keys(id, key, created) VALUES(?,?,?)", &q)) < 0)
		return rc;
	kh_hex_encode(k->key, 32, hex);
	sqlite3_bind_int64(q, 1, k->id);
	sqlite3_bind_text(q, 2, hex, 64, SQLITE_STATIC);
	sqlite3_bind_int64(q, 3, now);
	rc = sqlite3_step(q);
	sqlite3_finalize(q);
	kh_memzero(hex, sizeof(hex));
	if (rc == SQLITE_CONSTRAINT)
		return -EEXIST;
	if (rc != SQLITE_DONE)
		return db_fail(s, "add ticket key");
	if ((rc = prep(s, "DELETE FROM ticket_keys WHERE id < ?", &q)) < 0)
		return rc;
	sqlite3_bind_int64(q, 1, below_id);
	rc = sqlite3_step(q);
	sqlite3_finalize(q);
	return rc == SQLITE_DONE ? 0 : db_fail(s, "prune ticket keys");
}

static int sq_ticket_keys(struct kh_store *ks, uint32_t min_id, struct kh_ticket_key *keys,
			  unsigned max)
{
	struct sq_store *s = sq(ks);
	sqlite3_stmt *q;
	unsigned n = 0;
	int rc;

	if ((rc = prep(s, "SELECT id, key FROM ticket_keys WHERE id >= ? ORDER BY id DESC LIMIT ?",
		       &q)) < 0)
		return rc;
	sqlite3_bind_int64(q, 1, min_id);
	sqlite3_bind_int(q, 2, (int)max);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW && n < max) {
		const char *h = (const char *)sqlite3_column_text(q, 1);
		keys[n].id = (uint32_t)sqlite3_column_int64(q, 0);
		if (h && kh_hex_decode(h, keys[n].key, 32) == 0)
			n++;
	}
	sqlite3_finalize(q);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? (int)n : db_fail(s, "ticket keys");
}

/* ---- mirrors ---- */

static int sq_mirror_add(struct kh_store *ks, const char *group, const char *url, int64_t now)
{
	struct sq_store *s = sq(ks);
	sqlite3_stmt *q;
	int rc;

	if ((rc = prep(s,
		       "INSERT INTO mirrors(grp, url, added) SELECT ?1, ?2, ?3 "
		       "WHERE (SELECT count(*) FROM mirrors WHERE grp = ?1) < ?4",
		       &q)) < 0)
		return rc;
	sqlite3_bind_text(q, 1, group, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, url, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 3, now);
	sqlite3_bind_int(q, 4, KH_MIRRORS_MAX);
	rc = sqlite3_step(q);
	sqlite3_finalize(q);
	if (rc == SQLITE_CONSTRAINT)
		return -EEXIST;
	if (rc != SQLITE_DONE)
		return db_fail(s, "add mirror");
	return sqlite3_changes(s->db) == 1 ? 0 : -ENOSPC;
}

static int sq_mirror_del(struct kh_store *ks, const char *group, const char *url)
{
	struct sq_store *s = sq(ks);
	sqlite3_stmt *q;
	int rc;

	if ((rc = prep(s, "DELETE FROM mirrors WHERE grp = ? AND url = ?", &q)) < 0)
		return rc;
	sqlite3_bind_text(q, 1, group, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, url, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	sqlite3_finalize(q);
	if (rc != SQLITE_DONE)
		return db_fail(s, "remove mirror");
	return sqlite3_changes(s->db) == 1 ? 0 : -ENOENT;
}

static int sq_mirrors(struct kh_store *ks, const char *group, int fallback,
		      char (*urls)[KH_MIRROR_URL_MAX + 1], unsigned max)
{
	struct sq_store *s = sq(ks);
	sqlite3_stmt *q;
	unsigned n = 0;
	int rc;

	if ((rc = prep(s,
		       "SELECT url FROM mirrors WHERE grp = CASE WHEN ?2 = 0 OR EXISTS("
		       "SELECT 1 FROM mirrors WHERE grp = ?1) THEN ?1 ELSE '*' END "
		       "ORDER BY added, url LIMIT ?3",
		       &q)) < 0)
		return rc;
	sqlite3_bind_text(q, 1, group, -1, SQLITE_STATIC);
	sqlite3_bind_int(q, 2, fallback);
	sqlite3_bind_int(q, 3, (int)max);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW && n < max)
		col_text(q, 0, urls[n++], KH_MIRROR_URL_MAX + 1);
	sqlite3_finalize(q);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? (int)n : db_fail(s, "list mirrors");
}

/* ---- staged rollouts ---- */

#define RO_COLS \
	"grp, version, base, stage_bp, stages, halt_bp, silent_s, state, started, updated, reason"

static void row_rollout(sqlite3_stmt *q, struct kh_rollout *r)
{
	char stages[KH_ROLLOUT_STAGES_TEXT];

	memset(r, 0, sizeof(*r));
	col_text(q, 0, r->group, sizeof(r->group));
	r->version = (uint64_t)sqlite3_column_int64(q, 1);
	r->base = (uint64_t)sqlite3_column_int64(q, 2);
	r->stage_bp = (unsigned)sqlite3_column_int(q, 3);
	col_text(q, 4, stages, sizeof(stages));
	kh_rollout_stages_parse(stages, r);
	r->halt_bp = (unsigned)sqlite3_column_int(q, 5);
	r->silent_s = (unsigned)sqlite3_column_int(q, 6);
	r->state = (enum kh_rollout_state)sqlite3_column_int(q, 7);
	r->started = sqlite3_column_int64(q, 8);
	r->updated = sqlite3_column_int64(q, 9);
	col_text(q, 10, r->reason, sizeof(r->reason));
}

static int sq_rollout_put(struct kh_store *ks, const struct kh_rollout *r)
{
	struct sq_store *s = sq(ks);
	char stages[KH_ROLLOUT_STAGES_TEXT];
	sqlite3_stmt *q;
	int rc;

	if ((rc = prep(s,
		       "INSERT OR REPLACE INTO rollouts(" RO_COLS ") VALUES(?,?,?,?,?,?,?,?,?,?,?)",
		       &q)) < 0)
		return rc;
	kh_rollout_stages_fmt(r, stages, sizeof(stages));
	sqlite3_bind_text(q, 1, r->group, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, (int64_t)r->version);
	sqlite3_bind_int64(q, 3, (int64_t)r->base);
	sqlite3_bind_int(q, 4, (int)r->stage_bp);
	sqlite3_bind_text(q, 5, stages, -1, SQLITE_STATIC);
	sqlite3_bind_int(q, 6, (int)r->halt_bp);
	sqlite3_bind_int(q, 7, (int)r->silent_s);
	sqlite3_bind_int(q, 8, (int)r->state);
	sqlite3_bind_int64(q, 9, r->started);
	sqlite3_bind_int64(q, 10, r->updated);
	sqlite3_bind_text(q, 11, r->reason, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	sqlite3_finalize(q);
	return rc == SQLITE_DONE ? 0 : db_fail(s, "store rollout");
}

/* Rollouts of group (NULL: all), by group; fn returning non-zero stops. */
static int rollouts_where(struct sq_store *s, const char *group,
			  int (*fn)(void *arg, const struct kh_rollout *r), void *arg)
{
	struct kh_rollout r;
	sqlite3_stmt *q;
	int rc, n = 0;

	if ((rc = prep(s,
		       group ? "SELECT " RO_COLS " FROM rollouts WHERE grp = ?"
			     : "SELECT " RO_COLS " FROM rollouts ORDER BY grp",
		       &q)) < 0)
		return rc;
	if (group)
		sqlite3_bind_text(q, 1, group, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		row_rollout(q, &r);
		n++;
		if (fn(arg, &r))
			break;
	}
	sqlite3_finalize(q);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? n : db_fail(s, "rollouts");
}

static int copy_rollout(void *arg, const struct kh_rollout *r)
{
	*(struct kh_rollout *)arg = *r;
	return 1;
}

static int sq_rollout_get(struct kh_store *ks, const char *group, struct kh_rollout *out)
{
	int n = rollouts_where(sq(ks), group, copy_rollout, out);

	return n < 0 ? n : n ? 0 : -ENOENT;
}

static int sq_rollouts(struct kh_store *ks, int (*fn)(void *arg, const struct kh_rollout *r),
		       void *arg)
{
	int n = rollouts_where(sq(ks), NULL, fn, arg);

	return n < 0 ? n : 0;
}

static int sq_rollout_halt(struct kh_store *ks, const char *group, uint64_t version,
			   const char *reason, int64_t now)
{
	struct sq_store *s = sq(ks);
	sqlite3_stmt *q;
	int rc;

	if ((rc = prep(s,
		       "UPDATE rollouts SET state = ?1, reason = ?2, updated = ?3 "
		       "WHERE grp = ?4 AND version = ?5 AND state = ?6",
		       &q)) < 0)
		return rc;
	sqlite3_bind_int(q, 1, KH_ROLLOUT_HALTED);
	sqlite3_bind_text(q, 2, reason, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 3, now);
	sqlite3_bind_text(q, 4, group, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 5, (int64_t)version);
	sqlite3_bind_int(q, 6, KH_ROLLOUT_ACTIVE);
	rc = sqlite3_step(q);
	sqlite3_finalize(q);
	if (rc != SQLITE_DONE)
		return db_fail(s, "halt rollout");
	return sqlite3_changes(s->db) == 1 ? 0 : -ENOENT;
}

static int sq_device_rejected(struct kh_store *ks, const char *serial, uint64_t version)
{
	struct sq_store *s = sq(ks);
	sqlite3_stmt *q;
	int rc;

	if (txn_join(s) < 0)
		return -EIO;
	if ((rc = prep(s, "UPDATE devices SET policy_rejected = ? WHERE serial = ?", &q)) < 0)
		return rc;
	sqlite3_bind_int64(q, 1, (int64_t)version);
	sqlite3_bind_text(q, 2, serial, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	sqlite3_finalize(q);
	return rc == SQLITE_DONE ? 0 : db_fail(s, "device rejected");
}

/* ---- audit results ---- */

/* Digest and counts of the device's stored rows. */
static int audit_sum(struct sq_store *s, const char *serial, struct kh_audit_head *h,
		     char digest[65])
{
	struct kh_audit_digest d;
	sqlite3_stmt *q;
	int rc;

	if ((rc = prep(s,
		       "SELECT check_id, result, evidence FROM audit WHERE serial = ? "
		       "ORDER BY check_id COLLATE BINARY",
		       &q)) < 0)
		return rc;
	sqlite3_bind_text(q, 1, serial, -1, SQLITE_STATIC);
	kh_audit_digest_init(&d, h->policy, h->version);
	h->pass = h->fail = h->na = h->error = 0;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		const char *id = (const char *)sqlite3_column_text(q, 0);
		const char *r = (const char *)sqlite3_column_text(q, 1);
		const char *e = (const char *)sqlite3_column_text(q, 2);
		kh_audit_digest_add(&d, id ? id : "", r ? r : "", e ? e : "");
		if (r && strcmp(r, "pass") == 0)
			h->pass++;
		else if (r && strcmp(r, "fail") == 0)
			h->fail++;
		else if (r && strcmp(r, "na") == 0)
			h->na++;
		else
			h->error++;
	}
	sqlite3_finalize(q);
	if (rc != SQLITE_DONE)
		return db_fail(s, "audit rows");
	kh_audit_digest_final(&d, digest);
	return 0;
}

static int sq_audit_put(struct kh_store *ks, const char *serial, const struct kh_audit_head *h,
			int full, const struct kh_audit_rec *rows, unsigned n, int64_t now,
			char digest[65])
{
	struct sq_store *s = sq(ks);
	struct kh_audit_head sum = *h;
	sqlite3_stmt *q = NULL;
	int err;

	if ((err = txn_join(s)) < 0)
		return err;
	if (full) {
		if ((err = prep(s, "DELETE FROM audit WHERE serial = ?", &q)) < 0)
			goto out;
		sqlite3_bind_text(q, 1, serial, -1, SQLITE_STATIC);
		if (sqlite3_step(q) != SQLITE_DONE) {
			err = db_fail(s, "audit replace");
			goto out;
		}
		sqlite3_finalize(q);
		q = NULL;
	}
	if ((err = prep(
		     s,
		     "INSERT INTO audit(serial, check_id, result, severity, evidence, changed_at,"
		     " updated_at) VALUES(?,?,?,?,?,?,?) ON CONFLICT(serial, check_id) DO UPDATE "
		     "SET"
		     " result = excluded.result, severity = excluded.severity,"
		     " evidence = excluded.evidence, changed_at = excluded.changed_at,"
		     " updated_at = excluded.updated_at",
		     &q)) < 0)
		goto out;
	for (unsigned i = 0; i < n; i++) {
		sqlite3_reset(q);
		sqlite3_bind_text(q, 1, serial, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 2, rows[i].check, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 3, rows[i].result, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 4, rows[i].severity, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 5, rows[i].evidence, -1, SQLITE_STATIC);
		sqlite3_bind_int64(q, 6, rows[i].changed_at);
		sqlite3_bind_int64(q, 7, now);
		if (sqlite3_step(q) != SQLITE_DONE) {
			err = db_fail(s, "audit row");
			goto out;
		}
	}
	sqlite3_finalize(q);
	q = NULL;
	/* a device keeps at most as many rows as rules may have checks: new ids cannot grow it */
	if ((err = prep(s, "SELECT count(*) FROM audit WHERE serial = ?", &q)) < 0)
		goto out;
	sqlite3_bind_text(q, 1, serial, -1, SQLITE_STATIC);
	if (sqlite3_step(q) != SQLITE_ROW) {
		err = db_fail(s, "audit count");
		goto out;
	}
	if (sqlite3_column_int64(q, 0) > KH_AUDIT_ROWS_MAX) {
		err = -E2BIG;
		goto out;
	}
	sqlite3_finalize(q);
	q = NULL;
	if ((err = prep(s,
			"INSERT INTO audit_heads(serial, policy, version, digest, at) "
			"VALUES(?,?,?,?,?)"
			" ON CONFLICT(serial) DO UPDATE SET policy = excluded.policy,"
			" version = excluded.version, digest = excluded.digest, at = excluded.at",
			&q)) < 0)
		goto out;
	sqlite3_bind_text(q, 1, serial, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, h->policy, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 3, (sqlite3_int64)h->version);
	sqlite3_bind_text(q, 4, h->digest, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 5, now);
	if (sqlite3_step(q) != SQLITE_DONE) {
		err = db_fail(s, "audit head");
		goto out;
	}
	sqlite3_finalize(q);
	q = NULL;
	if ((err = audit_sum(s, serial, &sum, digest)) < 0)
		goto out;
	/* the device forgets what we acknowledge: on disk first */
	return sq_flush(&s->base);
out:
	sqlite3_finalize(q);
	s->in_txn = 0;
	exec(s, "ROLLBACK");
	return err;
}

static int sq_audit_head(struct kh_store *ks, const char *serial, struct kh_audit_head *out)
{
	struct sq_store *s = sq(ks);
	sqlite3_stmt *q;
	int rc;

	if ((rc = prep(s, "SELECT policy, version, digest, at FROM audit_heads WHERE serial = ?",
		       &q)) < 0)
		return rc;
	sqlite3_bind_text(q, 1, serial, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	if (rc != SQLITE_ROW) {
		sqlite3_finalize(q);
		return rc == SQLITE_DONE ? -ENOENT : db_fail(s, "audit head");
	}
	memset(out, 0, sizeof(*out));
	col_text(q, 0, out->policy, sizeof(out->policy));
	out->version = (uint64_t)sqlite3_column_int64(q, 1);
	col_text(q, 2, out->digest, sizeof(out->digest));
	out->at = sqlite3_column_int64(q, 3);
	sqlite3_finalize(q);
	/* the digest of what is stored, which is what a device's own is compared with */
	return audit_sum(s, serial, out, out->digest);
}

static int sq_audits(struct kh_store *ks, const char *serial, const char *check, int failing,
		     int (*fn)(void *arg, const struct kh_audit_rec *r), void *arg)
{
	struct sq_store *s = sq(ks);
	sqlite3_stmt *q;
	int rc;

	if ((rc = prep(s,
		       "SELECT serial, check_id, result, severity, evidence, changed_at, updated_at"
		       " FROM audit WHERE (?1 IS NULL OR serial = ?1) AND (?2 IS NULL OR check_id "
		       "= ?2)"
		       " AND (?3 = 0 OR result IN ('fail', 'error')) ORDER BY serial, check_id",
		       &q)) < 0)
		return rc;
	if (serial)
		sqlite3_bind_text(q, 1, serial, -1, SQLITE_STATIC);
	if (check)
		sqlite3_bind_text(q, 2, check, -1, SQLITE_STATIC);
	sqlite3_bind_int(q, 3, failing);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		struct kh_audit_rec r;
		col_text(q, 0, r.serial, sizeof(r.serial));
		col_text(q, 1, r.check, sizeof(r.check));
		col_text(q, 2, r.result, sizeof(r.result));
		col_text(q, 3, r.severity, sizeof(r.severity));
		col_text(q, 4, r.evidence, sizeof(r.evidence));
		r.changed_at = sqlite3_column_int64(q, 5);
		r.updated_at = sqlite3_column_int64(q, 6);
		if ((rc = fn(arg, &r)) != 0) {
			sqlite3_finalize(q);
			return rc;
		}
	}
	sqlite3_finalize(q);
	return rc == SQLITE_DONE ? 0 : db_fail(s, "audit rows");
}

static int sq_compliance(struct kh_store *ks, int (*fn)(void *arg, const struct kh_compliance *c),
			 void *arg)
{
	struct sq_store *s = sq(ks);
	sqlite3_stmt *q;
	int rc;

	if ((rc = prep(
		     s,
		     "SELECT check_id, max(CASE severity WHEN 'critical' THEN 3 WHEN 'high' THEN 2"
		     " WHEN 'medium' THEN 1 ELSE 0 END), sum(result = 'pass'), sum(result = "
		     "'fail'),"
		     " sum(result = 'na'), sum(result = 'error') FROM audit GROUP BY check_id"
		     " ORDER BY check_id",
		     &q)) < 0)
		return rc;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		struct kh_compliance c;
		col_text(q, 0, c.check, sizeof(c.check));
		/* ranked, not compared as text ("medium" > "high" as strings) */
		kh_strlcpy(c.severity, kh_severity_name(sqlite3_column_int(q, 1)),
			   sizeof(c.severity));
		c.pass = (unsigned)sqlite3_column_int(q, 2);
		c.fail = (unsigned)sqlite3_column_int(q, 3);
		c.na = (unsigned)sqlite3_column_int(q, 4);
		c.error = (unsigned)sqlite3_column_int(q, 5);
		if ((rc = fn(arg, &c)) != 0) {
			sqlite3_finalize(q);
			return rc;
		}
	}
	sqlite3_finalize(q);
	return rc == SQLITE_DONE ? 0 : db_fail(s, "compliance");
}

/* The dashboard's counts (store.h): ?1 since, ?2 the bucket, ?3 the limit. */
static const char *const count_sql[] = {
	[KH_COUNT_DEV_STATUS] = "SELECT status, count(*), sum(last_seen >= ?1), 0 FROM devices "
				"GROUP BY status ORDER BY status LIMIT ?3",
	[KH_COUNT_DEV_FIRMWARE] = "SELECT firmware, count(*), 0, 0 FROM devices WHERE status = 0 "
				  "GROUP BY firmware ORDER BY 2 DESC, 1 LIMIT ?3",
	[KH_COUNT_DEV_POLICY] = "SELECT policy_version, count(*), 0, 0 FROM devices "
				"WHERE status = 0 GROUP BY policy_version ORDER BY 2 DESC, 1 "
				"LIMIT ?3",
	/* from the hourly counts (schema 9): since is taken to its hour */
	[KH_COUNT_EV_TIME] = "SELECT '', sum(n), hour / ?2 * ?2, severity FROM event_counts "
			     "WHERE kind = 1 AND hour >= ?1 / 3600 * 3600 GROUP BY 3, 4 "
			     "ORDER BY 3, 4 LIMIT ?3",
	[KH_COUNT_EV_CATEGORY] = "SELECT key, sum(n), 0, severity FROM event_counts WHERE kind = 2 "
				 "AND hour >= ?1 / 3600 * 3600 GROUP BY 1, 4 "
				 "ORDER BY 2 DESC, 1, 4 LIMIT ?3",
	[KH_COUNT_EV_THREAT] =
		"SELECT key, sum(n), 0, 0 FROM event_counts WHERE kind = 3 "
		"AND hour >= ?1 / 3600 * 3600 GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT ?3",
	/* +serial: grouping by the (serial, id) index would visit the rows in random order */
	[KH_COUNT_EV_DEVICE] = "SELECT serial, count(*), 0, 0 FROM events WHERE received >= ?1 "
			       "GROUP BY +serial ORDER BY 2 DESC, 1 LIMIT ?3",
	[KH_COUNT_EV_TYPE] = "SELECT key, sum(n), 0, severity FROM event_counts WHERE kind = 1 "
			     "AND hour >= ?1 / 3600 * 3600 GROUP BY 1, 4 ORDER BY 2 DESC, 1, 4 "
			     "LIMIT ?3",
};

static int sq_counts(struct kh_store *ks, enum kh_count_by by, int64_t since, unsigned bucket_s,
		     unsigned limit, int (*fn)(void *arg, const struct kh_count *c), void *arg)
{
	struct sq_store *s = sq(ks);
	sqlite3_stmt *q;
	int rc;

	if ((unsigned)by >= KH_ARRAY_SIZE(count_sql))
		return -EINVAL;
	if ((rc = prep(s, count_sql[by], &q)) < 0)
		return rc;
	sqlite3_bind_int64(q, 1, since);
	sqlite3_bind_int64(q, 2, bucket_s);
	sqlite3_bind_int64(q, 3, limit);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		struct kh_count c = {.n = (uint64_t)sqlite3_column_int64(q, 1)};
		if (by == KH_COUNT_DEV_STATUS) {
			kh_strlcpy(c.key, sqlite3_column_int(q, 0) ? "revoked" : "active",
				   sizeof(c.key));
			c.recent = (uint64_t)sqlite3_column_int64(q, 2);
		} else {
			col_text(q, 0, c.key, sizeof(c.key));
			c.bucket = sqlite3_column_int64(q, 2);
			c.severity = sqlite3_column_int(q, 3);
		}
		if ((rc = fn(arg, &c)) != 0) {
			sqlite3_finalize(q);
			return rc;
		}
	}
	sqlite3_finalize(q);
	return rc == SQLITE_DONE ? 0 : db_fail(s, "counts");
}

static const struct kh_store_ops sq_ops = {
	.name = "SQLite",
	.close = sq_close,
	.flush = sq_flush,
	.device_add = sq_device_add,
	.device_get = sq_device_get,
	.device_set_status = sq_device_set_status,
	.device_set_cert = sq_device_set_cert,
	.checkin = sq_checkin,
	.devices = sq_devices,
	.devices_after = sq_devices_after,
	.counts = sq_counts,
	.policy_add = sq_policy_add,
	.policy_get = sq_policy_get,
	.assign = sq_assign,
	.assigned = sq_assigned,
	.policy_gen = sq_policy_gen,
	.ticket_key_add = sq_ticket_key_add,
	.ticket_keys = sq_ticket_keys,
	.mirror_add = sq_mirror_add,
	.mirror_del = sq_mirror_del,
	.mirrors = sq_mirrors,
	.rollout_put = sq_rollout_put,
	.rollout_get = sq_rollout_get,
	.rollout_halt = sq_rollout_halt,
	.rollouts = sq_rollouts,
	.device_rejected = sq_device_rejected,
	.policies = sq_policies,
	.events_add = sq_events_add,
	.events = sq_events,
	.events_before = sq_events_before,
	.command_add = sq_command_add,
	.commands_pending = sq_commands_pending,
	.command_done = sq_command_done,
	.audit_put = sq_audit_put,
	.audit_head = sq_audit_head,
	.audits = sq_audits,
	.compliance = sq_compliance,
};
