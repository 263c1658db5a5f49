/* SPDX-License-Identifier: MIT */
/*
 * The DNS filter's answer cache (see dns_priv.h for the family): a fixed,
 * direct-mapped table of upstream answers keyed by name, type, class and
 * DO bit, allocated once at start. An entry is served with the client's ID
 * and question and its TTLs aged; it lives no longer than its smallest TTL
 * (an hour at most), and a new index flushes the whole table so nothing
 * the new lists block outlives them.
 */
#include <stdlib.h>
#include <string.h>

#include "agent/dns_priv.h"
#include "lib/endian.h"
#include "lib/fnv.h"
#include "platform/time.h"

int dns_cache_init(struct kh_dns *d)
{
	d->cache_n = d->cfg->cache ? CONFIG_DNS_CACHE_ENTRIES : 0;
	if (d->cache_n && !(d->cache = calloc(d->cache_n, sizeof(*d->cache))))
		return -ENOMEM;
	return 0;
}

void dns_cache_free(struct kh_dns *d)
{
	free(d->cache);
	d->cache = NULL;
}

/* ---------------------------------------------------------------- cache */

static uint32_t name_hash(const char *s, uint16_t qtype, uint16_t qclass, int do_bit)
{
	return kh_fnv1a32(
		KH_FNV32_BASIS ^ qtype ^ ((uint32_t)qclass << 16) ^ (uint32_t)do_bit << 31, s);
}

static struct cache_entry *cache_slot(struct kh_dns *d, uint32_t h)
{
	return d->cache_n ? &d->cache[h % d->cache_n] : NULL;
}

int dns_cache_get(struct kh_dns *d, const uint8_t *pkt, const struct kh_dns_query *q, uint8_t *out,
		  size_t cap)
{
	uint32_t h;
	struct cache_entry *e;
	uint64_t now;
	uint32_t age;

	if (!d->cfg->cache || !d->cache_n || q->qname.canon_labels != q->qname.labels)
		return 0;
	h = name_hash(q->qname.text, q->qtype, q->qclass, q->do_bit);
	e = cache_slot(d, h);
	now = kh_time_mono_ms();
	if (!e->used || e->hash != h || e->qtype != q->qtype || e->qclass != q->qclass ||
	    e->do_bit != q->do_bit || strcmp(e->name, q->qname.text) != 0)
		return 0;
	if (now >= e->expires) {
		e->used = 0;
		return 0;
	}
	if (e->len > cap || e->len < q->question_end)
		return 0;
	memcpy(out, e->data, e->len);
	kh_put_be16(out, q->id);
	/* The client's question, with its letter case; the RD and CD bits it sent. */
	memcpy(out + KH_DNS_HDR_LEN, pkt + KH_DNS_HDR_LEN, q->question_end - KH_DNS_HDR_LEN);
	age = (uint32_t)((now - e->stored) / 1000);
	for (unsigned i = 0; i < e->nttl; i++) {
		uint8_t *t = out + e->ttl_off[i];
		uint32_t ttl =
			(uint32_t)t[0] << 24 | (uint32_t)t[1] << 16 | (uint32_t)t[2] << 8 | t[3];
		ttl = ttl > age ? ttl - age : 0;
		t[0] = (uint8_t)(ttl >> 24);
		t[1] = (uint8_t)(ttl >> 16);
		t[2] = (uint8_t)(ttl >> 8);
		t[3] = (uint8_t)ttl;
	}
	d->st.cached++;
	return (int)e->len;
}

void dns_cache_put(struct kh_dns *d, const struct kh_dns_query *q, const uint8_t *ans, size_t len,
		   const uint16_t *ttl_off, unsigned nttl, uint32_t min_ttl)
{
	struct cache_entry *e;
	uint32_t h;

	if (!d->cfg->cache || !d->cache_n || len > sizeof(e->data) ||
	    nttl > KH_ARRAY_SIZE(e->ttl_off) || min_ttl == 0 ||
	    q->qname.canon_labels != q->qname.labels)
		return;
	h = name_hash(q->qname.text, q->qtype, q->qclass, q->do_bit);
	e = cache_slot(d, h);
	e->used = 1;
	e->hash = h;
	e->qtype = q->qtype;
	e->qclass = q->qclass;
	e->do_bit = (uint8_t)q->do_bit;
	e->len = (uint16_t)len;
	e->nttl = (uint8_t)nttl;
	memcpy(e->ttl_off, ttl_off, nttl * sizeof(*ttl_off));
	memcpy(e->name, q->qname.text, q->qname.len + 1);
	memcpy(e->data, ans, len);
	e->stored = kh_time_mono_ms();
	e->expires = e->stored + (uint64_t)KH_MIN(min_ttl, 3600u) * 1000;
}

void dns_cache_flush(struct kh_dns *d)
{
	for (unsigned i = 0; i < d->cache_n; i++)
		d->cache[i].used = 0;
}
