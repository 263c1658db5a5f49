/* SPDX-License-Identifier: MIT */
/*
 * What the server's other parts agree on without knowing each other: the
 * names it accepts (device serials, group names) and the JSON an operator
 * sees for a device, an event or a policy, in the CLI and the API alike.
 * Below both server/admin.c and server/api.c, so neither depends on the
 * other for these.
 */
#ifndef KHIEN_SERVER_RENDER_H
#define KHIEN_SERVER_RENDER_H

#include <cjson/cJSON.h>

#include "server/store.h"

/* 1 if serial is a valid device serial: [A-Za-z0-9._-], 1..KH_SERIAL_MAX. */
int kh_srv_serial_ok(const char *serial);
/* 1 if group is a valid group name (same alphabet, 1..KH_GROUP_MAX) or "*". */
int kh_srv_group_ok(const char *group);

/* A new JSON object for the record (the caller deletes it); NULL without memory. */
cJSON *kh_render_device(const struct kh_device *d);
cJSON *kh_render_event(const struct kh_event_rec *e);
cJSON *kh_render_policy(const struct kh_policy_rec *p);
/* One device's result for one check; a check's standing over the fleet; a device's audit summary. */
cJSON *kh_render_audit(const struct kh_audit_rec *r);
cJSON *kh_render_compliance(const struct kh_compliance *c);
void kh_render_audit_head(cJSON *o, const struct kh_audit_head *h);

/* Add what a device needs to fetch p (version, sha256, size, url) to o. */
void kh_render_policy_ref(cJSON *o, const struct kh_policy_rec *p);

#endif
