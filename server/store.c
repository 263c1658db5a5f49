/* SPDX-License-Identifier: MIT */
/*
 * server/store.h's calls, dispatched to the backend the instance names:
 * a postgresql:// (or postgres://) URL or key=value connection string
 * opens PostgreSQL (server/store_pg.c), anything else is a SQLite file
 * (server/store_sqlite.c).
 */
#include <stdint.h>
#include <string.h>

#include "lib/err.h"
#include "server/store_be.h"

int kh_store_is_pg(const char *where)
{
	return strncmp(where, "postgresql://", 13) == 0 || strncmp(where, "postgres://", 11) == 0;
}

int kh_store_open_with(const char *where, const char *password, struct kh_store **out, char *why,
		       size_t whylen)
{
	*out = NULL;
	if (kh_store_is_pg(where))
		return kh_store_pg_open(where, password, out, why, whylen);
	return kh_store_sqlite_open(where, out, why, whylen);
}

int kh_store_open(const char *where, struct kh_store **out, char *why, size_t whylen)
{
	return kh_store_open_with(where, NULL, out, why, whylen);
}

const char *kh_store_backend(const struct kh_store *s)
{
	return s->ops->name;
}

void kh_store_close(struct kh_store *s)
{
	if (s)
		s->ops->close(s);
}

int kh_store_flush(struct kh_store *s)
{
	return s->ops->flush(s);
}

int kh_store_device_add(struct kh_store *s, const char *serial, const char *group,
			const uint8_t cert_sha256[32], int64_t cert_not_after, int64_t now)
{
	return s->ops->device_add(s, serial, group, cert_sha256, cert_not_after, now);
}

int kh_store_device_get(struct kh_store *s, const char *serial, struct kh_device *out)
{
	return s->ops->device_get(s, serial, out);
}

int kh_store_device_set_status(struct kh_store *s, const char *serial, enum kh_device_status st)
{
	return s->ops->device_set_status(s, serial, st);
}

int kh_store_device_set_cert(struct kh_store *s, const char *serial, const uint8_t cert_sha256[32],
			     int64_t cert_not_after)
{
	return s->ops->device_set_cert(s, serial, cert_sha256, cert_not_after);
}

int kh_store_checkin(struct kh_store *s, const char *serial, const struct kh_checkin *c,
		     int64_t now)
{
	return s->ops->checkin(s, serial, c, now);
}

int kh_store_devices(struct kh_store *s, int (*fn)(void *arg, const struct kh_device *d), void *arg)
{
	return s->ops->devices(s, fn, arg);
}

int kh_store_devices_after(struct kh_store *s, const char *after, unsigned limit,
			   int (*fn)(void *arg, const struct kh_device *d), void *arg)
{
	return s->ops->devices_after(s, after, limit, fn, arg);
}

int kh_store_counts(struct kh_store *s, enum kh_count_by by, int64_t since, unsigned bucket_s,
		    unsigned limit, int (*fn)(void *arg, const struct kh_count *c), void *arg)
{
	return s->ops->counts(s, by, since, bucket_s ? bucket_s : 1, limit, fn, arg);
}

int kh_store_policy_add(struct kh_store *s, const struct kh_policy_rec *p)
{
	s->own_gen++;
	return s->ops->policy_add(s, p);
}

int kh_store_policy_get(struct kh_store *s, uint64_t version, struct kh_policy_rec *out)
{
	return s->ops->policy_get(s, version, out);
}

int kh_store_assign(struct kh_store *s, const char *group, uint64_t version, int64_t now)
{
	s->own_gen++;
	return s->ops->assign(s, group, version, now);
}

int kh_store_assigned(struct kh_store *s, const char *group, struct kh_policy_rec *out)
{
	return s->ops->assigned(s, group, out);
}

uint64_t kh_store_policy_gen(struct kh_store *s)
{
	/* both only grow, so their sum changes whenever either does */
	return s->own_gen + s->ops->policy_gen(s);
}

int kh_store_ticket_key_add(struct kh_store *s, const struct kh_ticket_key *k, uint32_t below_id,
			    int64_t now)
{
	return s->ops->ticket_key_add(s, k, below_id, now);
}

int kh_store_ticket_keys(struct kh_store *s, uint32_t min_id, struct kh_ticket_key *keys,
			 unsigned max)
{
	return s->ops->ticket_keys(s, min_id, keys, max);
}

int kh_store_mirror_add(struct kh_store *s, const char *group, const char *url, int64_t now)
{
	return s->ops->mirror_add(s, group, url, now);
}

int kh_store_mirror_del(struct kh_store *s, const char *group, const char *url)
{
	return s->ops->mirror_del(s, group, url);
}

int kh_store_mirrors(struct kh_store *s, const char *group, int fallback,
		     char (*urls)[KH_MIRROR_URL_MAX + 1], unsigned max)
{
	return s->ops->mirrors(s, group, fallback, urls, max);
}

int kh_store_policies(struct kh_store *s, int (*fn)(void *arg, const struct kh_policy_rec *p),
		      void *arg)
{
	return s->ops->policies(s, fn, arg);
}

int kh_store_events_add(struct kh_store *s, const char *serial, const struct kh_event_rec *ev,
			unsigned n, uint64_t events_dropped, const struct kh_event_quota *q,
			int64_t now, struct kh_events_result *out)
{
	return s->ops->events_add(s, serial, ev, n, events_dropped, q, now, out);
}

int kh_store_events(struct kh_store *s, int64_t since, const char *serial, unsigned limit,
		    int (*fn)(void *arg, const struct kh_event_rec *e), void *arg)
{
	return s->ops->events(s, since, serial, limit, fn, arg);
}

int kh_store_events_before(struct kh_store *s, int64_t before, const char *serial, unsigned limit,
			   int (*fn)(void *arg, const struct kh_event_rec *e), void *arg)
{
	return s->ops->events_before(s, before > 0 ? before : INT64_MAX, serial, limit, fn, arg);
}

int kh_store_command_add(struct kh_store *s, const char *serial, const char *type, const char *arg,
			 int64_t now, int64_t *id)
{
	return s->ops->command_add(s, serial, type, arg, now, id);
}

int kh_store_commands_pending(struct kh_store *s, const char *serial, struct kh_command *out,
			      unsigned max)
{
	return s->ops->commands_pending(s, serial, out, max);
}

int kh_store_command_done(struct kh_store *s, const char *serial, int64_t id, int64_t now)
{
	return s->ops->command_done(s, serial, id, now);
}

int kh_store_audit_put(struct kh_store *s, const char *serial, const struct kh_audit_head *h,
		       int full, const struct kh_audit_rec *rows, unsigned n, int64_t now,
		       char digest[65])
{
	return s->ops->audit_put(s, serial, h, full, rows, n, now, digest);
}

int kh_store_audit_head(struct kh_store *s, const char *serial, struct kh_audit_head *out)
{
	return s->ops->audit_head(s, serial, out);
}

int kh_store_audits(struct kh_store *s, const char *serial, const char *check, int failing,
		    int (*fn)(void *arg, const struct kh_audit_rec *r), void *arg)
{
	return s->ops->audits(s, serial, check, failing, fn, arg);
}

int kh_store_compliance(struct kh_store *s, int (*fn)(void *arg, const struct kh_compliance *c),
			void *arg)
{
	return s->ops->compliance(s, fn, arg);
}

int kh_store_rollout_put(struct kh_store *s, const struct kh_rollout *r)
{
	s->own_gen++;
	return s->ops->rollout_put(s, r);
}

int kh_store_rollout_get(struct kh_store *s, const char *group, struct kh_rollout *out)
{
	return s->ops->rollout_get(s, group, out);
}

int kh_store_rollout_halt(struct kh_store *s, const char *group, uint64_t version,
			  const char *reason, int64_t now)
{
	s->own_gen++;
	return s->ops->rollout_halt(s, group, version, reason, now);
}

int kh_store_rollouts(struct kh_store *s, int (*fn)(void *arg, const struct kh_rollout *r),
		      void *arg)
{
	return s->ops->rollouts(s, fn, arg);
}

int kh_store_device_rejected(struct kh_store *s, const char *serial, uint64_t version)
{
	return s->ops->device_rejected(s, serial, version);
}
