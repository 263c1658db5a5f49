/* SPDX-License-Identifier: MIT */
/*
 * Customers to warn (see warnings.h): dns_blocked events of a security
 * category (severity medium or above: categories enabled by configuration
 * alone are low), grouped by device, client pseudonym and category. Counts
 * include the repeats the device folded into one event. Payloads came from
 * devices: fields of the wrong type or too long are skipped.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "lib/err.h"
#include "lib/severity.h"
#include "server/warnings.h"

#define PAGE 1000

struct warnings {
	struct kh_warning *w;
	size_t n, cap;
	int64_t last_id;
	unsigned seen;
};

static int warn_cmp(const void *x, const void *y)
{
	const struct kh_warning *a = x, *b = y;
	int c = strcmp(a->serial, b->serial);

	if (!c)
		c = strcmp(a->client, b->client);
	return c ? c : strcmp(a->category, b->category);
}

static uint64_t payload_count(const cJSON *p, const char *key)
{
	const cJSON *v = cJSON_GetObjectItem(p, key);
	return cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble < 1e12
		       ? (uint64_t)v->valuedouble
		       : 0;
}

static int take_warning(void *arg, const struct kh_event_rec *e)
{
	struct warnings *ws = arg;
	const cJSON *client, *cat;
	struct kh_warning *w;
	cJSON *p;

	ws->last_id = e->id;
	ws->seen++;
	if (strcmp(e->type, "dns_blocked") != 0 || e->severity < KH_SEV_MEDIUM)
		return 0;
	if (!(p = cJSON_Parse(e->payload)))
		return 0;
	client = cJSON_GetObjectItem(p, "client");
	cat = cJSON_GetObjectItem(p, "category");
	if (!cJSON_IsString(client) || !cJSON_IsString(cat) || !client->valuestring[0] ||
	    strlen(client->valuestring) >= sizeof(w->client) ||
	    strlen(cat->valuestring) >= sizeof(w->category)) {
		cJSON_Delete(p);
		return 0;
	}
	if (ws->n == ws->cap) {
		size_t cap = ws->cap ? 2 * ws->cap : 256;
		struct kh_warning *m = realloc(ws->w, cap * sizeof(*m));
		if (!m) {
			cJSON_Delete(p);
			return -ENOMEM;
		}
		ws->w = m;
		ws->cap = cap;
	}
	w = &ws->w[ws->n++];
	snprintf(w->serial, sizeof(w->serial), "%s", e->serial);
	snprintf(w->client, sizeof(w->client), "%s", client->valuestring);
	snprintf(w->category, sizeof(w->category), "%s", cat->valuestring);
	w->first = w->last = e->time;
	w->count = 1 + payload_count(p, "repeats");
	cJSON_Delete(p);
	return 0;
}

int kh_warnings_collect(struct kh_store *st, const char *device, int64_t since, uint64_t max_events,
			struct kh_warning **out, size_t *n)
{
	struct warnings ws = {.last_id = since};
	uint64_t read = 0;
	size_t k = 0, g = 0;
	int err;

	*out = NULL;
	*n = 0;
	do {
		unsigned page = max_events - read < PAGE ? (unsigned)(max_events - read) : PAGE;
		ws.seen = 0;
		if ((err = kh_store_events(st, ws.last_id, device, page, take_warning, &ws)) < 0) {
			free(ws.w);
			return err;
		}
		read += ws.seen;
	} while (ws.seen == PAGE && read < max_events);
	/* group: one per device, client and threat */
	if (ws.n)
		qsort(ws.w, ws.n, sizeof(*ws.w), warn_cmp);
	for (size_t i = 0; i < ws.n; i = k) {
		struct kh_warning m = ws.w[i];
		for (k = i + 1; k < ws.n && warn_cmp(&ws.w[k], &m) == 0; k++) {
			m.first = ws.w[k].first < m.first ? ws.w[k].first : m.first;
			m.last = ws.w[k].last > m.last ? ws.w[k].last : m.last;
			m.count += ws.w[k].count;
		}
		ws.w[g++] = m;
	}
	*out = ws.w;
	*n = g;
	return 0;
}
