/* SPDX-License-Identifier: MIT */
/*
 * The DNS engine in process, on the simulated network of
 * tests/helpers/dns_sim.c and the fake clock: upstream timeouts and the
 * SERVFAIL they end in, failover and upstream health, the pending table's
 * per-client share and full table, the TC->TCP fetch timing out, and a
 * blocked name answered per category without touching an upstream. Each
 * case checks what the client got (rcode, EDE), the counters, and that
 * every slot comes back (inflight 0, the table's invariants hold).
 */
#include "tests/helpers/dns_sim.c"

#include "agent/category.h"
#include "lib/civil.h"
#include "lib/severity.h"
#include "tests/unit/kt.h"

static struct kh_agent_config cfg;
static uint8_t got_n[65536];   /* answers per client query ID */
static uint8_t got_rc[65536];  /* the last one's rcode */
static uint8_t got_udp[65536]; /* ... whether it came over UDP */
static uint16_t got_an[65536]; /* ... its answer count */
static uint8_t got_msg[4096];  /* the last answer */
static size_t got_len;
static int ev_n, ev_sev;
static const char *g_cfg_json; /* configuration over the defaults for the next start() */

static void on_answer(const uint8_t *msg, size_t len, int udp, unsigned older)
{
	uint16_t id = kh_be16(msg);

	(void)older;
	got_n[id]++;
	got_rc[id] = (uint8_t)(kh_be16(msg + 2) & 0xf);
	got_udp[id] = (uint8_t)udp;
	got_an[id] = kh_be16(msg + 6);
	got_len = KH_MIN(len, sizeof(got_msg));
	memcpy(got_msg, msg, got_len);
}

static void on_event(void *arg, const struct kh_dns_event *e)
{
	(void)arg;
	ev_n++;
	ev_sev = e->severity;
}

/* A filter with nup upstreams (127.0.0.53, .54) that time out after timeout_ms. */
static int start(unsigned nup, unsigned timeout_ms)
{
	const char *why;

	if (!g_loop && kh_loop_new(&g_loop) < 0)
		return -1;
	kh_log_set_level(KH_LOG_ERROR);
	for (int i = 0; i < g_nsim; i++)
		g_sim[i].kind = SIM_FREE;
	g_nsim = 0;
	memset(got_n, 0, sizeof(got_n));
	ev_n = 0;
	sim_answer_hook = on_answer;
	kh_test_rand_seed(1);
	kh_config_defaults(&cfg);
	if (g_cfg_json) {
		char err[256];
		if (kh_config_parse(&cfg, g_cfg_json, strlen(g_cfg_json), "t", err, sizeof(err)) <
		    0) {
			fprintf(stderr, "# %s\n", err);
			return -1;
		}
	}
	cfg.listen[0] = addr_of(1, 53);
	cfg.nlisten = 1;
	cfg.upstream[0] = addr_of(53, 53);
	cfg.upstream[1] = addr_of(54, 53);
	cfg.nupstream = nup;
	cfg.timeout_ms = timeout_ms;
	cfg.rate_limit = 0;
	cfg.inflight_per_client = 4;
	if (sim_dns_new(g_loop, &cfg, (const uint8_t[32]){0}, &g_dns, &why) < 0)
		return -1;
	sim_dns_set_event_hook(g_dns, on_event, NULL);
	return 0;
}

/* Free the filter: every socket it opened must be closed. */
static void stop(void)
{
	const char *why;

	KT_EQ(sim_dns_check_invariants(g_dns, &why), 0);
	sim_dns_free(g_dns);
	g_dns = NULL;
	for (int i = 0; i < g_nsim; i++)
		KT_EQ(g_sim[i].kind, SIM_FREE);
}

static void step(uint64_t ms)
{
	const char *why;

	kh_test_clock_advance(ms);
	kh_loop_run_once(g_loop, 0);
	sim_poll();
	KT_EQ(sim_dns_check_invariants(g_dns, &why), 0);
}

static void udp_query(int host, uint16_t id, const char *name)
{
	uint8_t pkt[512];
	size_t len = build_query(pkt, id, name, KH_DNS_T_A, 1, 1232);
	struct kh_addr from = addr_of(host, (uint16_t)(5000 + host));

	push_dgram(pick(0, is_listener_udp), pkt, len, &from);
	sim_poll();
}

/* The pending query that left for an upstream over UDP (the only one), or NULL. */
static struct pending *sent_udp(void)
{
	return pick_pending_udp(0);
}

/* Upstream up answers p: an address, or (tc) only the question with TC set. */
static void upstream_answers(struct pending *p, int tc)
{
	uint8_t ans[512], ip[4] = {198, 19, 0, 1};
	struct kh_dns_query q;
	size_t o;

	KT_EQ(kh_dns_parse_query(p->pkt, p->pkt_len, &q), KH_DNS_PARSE_OK);
	memcpy(ans, p->pkt, q.question_end);
	o = q.question_end;
	if (!tc)
		o += put_rr(ans + o, q.qname.text, KH_DNS_T_A, 300, ip, 4);
	kh_put_be16(ans + 2,
		    (uint16_t)(KH_DNS_F_QR | KH_DNS_F_RD | KH_DNS_F_RA | (tc ? KH_DNS_F_TC : 0)));
	kh_put_be16(ans + 6, tc ? 0 : 1);
	kh_put_be16(ans + 8, 0);
	kh_put_be16(ans + 10, 0);
	push_dgram(&g_sim[g_dns->socks[p->sock].fd - SIM_FD0], ans, o, &g_dns->up[p->up].addr);
	sim_poll();
}

/* The Extended DNS Error code in the last answer's OPT record, or -1. */
static int last_ede(void)
{
	size_t off = KH_DNS_HDR_LEN;
	struct kh_dns_name n;
	struct kh_dns_rr rr;
	unsigned nrr =
		(unsigned)kh_be16(got_msg + 6) + kh_be16(got_msg + 8) + kh_be16(got_msg + 10);

	if (kh_dns_read_name(got_msg, got_len, &off, &n) < 0)
		return -1;
	off += 4;
	for (unsigned i = 0; i < nrr; i++) {
		if (kh_dns_next_rr(got_msg, got_len, &off, &rr) < 0)
			return -1;
		for (size_t o = rr.rdata_off;
		     rr.type == KH_DNS_T_OPT && o + 6 <= rr.rdata_off + rr.rdlen;
		     o += 4 + kh_be16(got_msg + o + 2))
			if (kh_be16(got_msg + o) == 15)
				return kh_be16(got_msg + o + 4);
	}
	return -1;
}

static unsigned free_slots(void)
{
	unsigned n = 0;
	struct kh_list *l;

	kh_list_for_each (l, &g_dns->free_list)
		n++;
	return n;
}

/* One upstream that never answers: a resend at timeout_ms, SERVFAIL at the second timeout. */
static void test_timeout_servfail(void)
{
	KT_EQ(start(1, 500), 0);
	udp_query(2, 0x8001, "example.org");
	KT_EQ(g_dns->inflight, 1);
	KT_EQ(g_dns->up[0].sent, 1);
	step(499);
	KT_EQ(got_n[0x8001], 0);
	KT_EQ(g_dns->up[0].sent, 1);
	step(1); /* first timeout: tried again (the only upstream) */
	KT_EQ(got_n[0x8001], 0);
	KT_EQ(g_dns->up[0].sent, 2);
	KT_EQ(g_dns->up[0].timeouts, 1);
	step(499);
	KT_EQ(got_n[0x8001], 0);
	step(1);
	KT_EQ(got_n[0x8001], 1);
	KT_EQ(got_rc[0x8001], KH_DNS_RC_SERVFAIL);
	KT_EQ(got_udp[0x8001], 1);
	KT_EQ(g_dns->st.servfail, 1);
	KT_EQ(g_dns->up[0].timeouts, 2);
	KT_EQ(g_dns->inflight, 0);
	KT_EQ(free_slots(), CONFIG_DNS_MAX_INFLIGHT);
	KT_CHECK(!kh_timer_armed(&g_dns->timeout));
	step(5000); /* nothing more comes */
	KT_EQ(got_n[0x8001], 1);
	stop();
}

/* The first upstream never answers: the retry goes to the second; after three, the first is down. */
static void test_failover(void)
{
	struct pending *p;

	KT_EQ(start(2, 300), 0);
	for (uint16_t i = 0; i < 3; i++) {
		uint16_t id = (uint16_t)(0x8010 + i);
		udp_query(2, id, "example.org");
		KT_CHECK((p = sent_udp()) != NULL);
		if (!p)
			return;
		KT_EQ(p->up, 0);
		step(300);
		KT_CHECK((p = sent_udp()) != NULL);
		if (!p)
			return;
		KT_EQ(p->up, 1); /* failed over */
		upstream_answers(p, 0);
		KT_EQ(got_n[id], 1);
		KT_EQ(got_rc[id], KH_DNS_RC_NOERROR);
		KT_EQ(got_an[id], 1);
		KT_EQ(g_dns->inflight, 0);
		dns_cache_flush(g_dns); /* the same name again must ask, not hit the cache */
	}
	KT_EQ(g_dns->up[0].timeouts, 3);
	KT_EQ(g_dns->up[1].answered, 3);
	KT_CHECK(g_dns->up[0].down_until > kh_time_mono_ms());
	/* Down: the next query goes to the second upstream at once. */
	udp_query(3, 0x8020, "example.org");
	KT_CHECK((p = sent_udp()) != NULL);
	if (!p)
		return;
	KT_EQ(p->up, 1);
	KT_EQ(g_dns->up[0].sent, 3);
	upstream_answers(p, 0);
	KT_EQ(got_rc[0x8020], KH_DNS_RC_NOERROR);
	/* After the down time the first is tried again. */
	step(5001);
	dns_cache_flush(g_dns);
	udp_query(3, 0x8021, "example.org");
	KT_CHECK((p = sent_udp()) != NULL);
	if (p)
		KT_EQ(p->up, 0);
	step(300);
	step(300);
	KT_EQ(got_n[0x8021], 1);
	KT_EQ(g_dns->inflight, 0);
	stop();
}

/* One client's share, then the whole table: refused at once and counted; slots come back. */
static void test_pending_exhaustion(void)
{
	static const char *const names[] = {"a.example", "b.example", "c.example", "d.example",
					    "e.example"};

	KT_EQ(start(1, 1000), 0);
	for (uint16_t i = 0; i < 5; i++)
		udp_query(2, (uint16_t)(0x8100 + i), names[i]);
	KT_EQ(g_dns->inflight, 4); /* inflight_per_client */
	KT_EQ(got_n[0x8104], 1);
	KT_EQ(got_rc[0x8104], KH_DNS_RC_SERVFAIL);
	KT_EQ(g_dns->st.client_share, 1);
	KT_EQ(g_dns->st.refused_full, 0);
	for (uint16_t i = 0; i < 4; i++)
		udp_query(3, (uint16_t)(0x8110 + i), names[i]);
	KT_EQ(g_dns->inflight, CONFIG_DNS_MAX_INFLIGHT);
	KT_EQ(free_slots(), 0);
	udp_query(4, 0x8120, "f.example");
	KT_EQ(got_n[0x8120], 1);
	KT_EQ(got_rc[0x8120], KH_DNS_RC_SERVFAIL);
	KT_EQ(g_dns->st.refused_full, 1);
	KT_EQ(g_dns->st.client_share, 1);
	KT_EQ(g_dns->inflight, CONFIG_DNS_MAX_INFLIGHT);
	/* Two timeouts each: all answered SERVFAIL, every slot free again. */
	step(1000);
	step(1000);
	for (uint16_t i = 0; i < 4; i++) {
		KT_EQ(got_rc[0x8100 + i], KH_DNS_RC_SERVFAIL);
		KT_EQ(got_n[0x8110 + i], 1);
	}
	KT_EQ(g_dns->inflight, 0);
	KT_EQ(free_slots(), CONFIG_DNS_MAX_INFLIGHT);
	udp_query(4, 0x8121, "f.example");
	KT_EQ(got_n[0x8121], 0); /* forwarded this time */
	KT_EQ(g_dns->inflight, 1);
	step(1000);
	step(1000);
	KT_EQ(g_dns->inflight, 0);
	stop();
}

/* A TCP client's truncated answer is fetched over TCP; an upstream that never accepts: SERVFAIL. */
static void test_tc_tcp_timeout(void)
{
	struct sim *l, *c, *f;
	uint8_t msg[2 + 512];
	size_t len;
	struct pending *p;

	KT_EQ(start(1, 400), 0);
	l = pick(0, is_listener_tcp);
	l->backlog_host[l->backlog++] = 2;
	sim_poll();
	KT_CHECK((c = pick(0, is_client_conn)) != NULL);
	if (!c)
		return;
	len = build_query(msg + 2, 0x8200, "big.example", KH_DNS_T_TXT, 0, 0);
	kh_put_be16(msg, (uint16_t)len);
	push_stream(c, msg, len + 2);
	sim_poll();
	KT_EQ(g_dns->inflight, 1);
	KT_CHECK((p = sent_udp()) != NULL);
	if (!p)
		return;
	upstream_answers(p, 1);
	KT_CHECK((f = pick(0, is_fetch)) != NULL); /* dialled, never accepted */
	KT_EQ(got_n[0x8200], 0);
	KT_EQ(g_dns->inflight, 1);
	step(399);
	KT_EQ(got_n[0x8200], 0);
	step(1);
	KT_EQ(got_n[0x8200], 1);
	KT_EQ(got_udp[0x8200], 0);
	KT_EQ(got_rc[0x8200], KH_DNS_RC_SERVFAIL);
	KT_CHECK(pick(0, is_fetch) == NULL); /* the fetch closed with its query */
	KT_EQ(g_dns->inflight, 0);
	KT_EQ(g_dns->st.servfail, 1);
	stop();
}

/* Blocked names are answered per category, with the EDE and event the category table gives. */
/*
 * A window on the test clock, in a zone with DST: Monday 21:00 to 06:30 in
 * Europe/Berlin's POSIX rule blocks all but the allow list for 127.0.0.7,
 * from the first minute to the last, on the right side of the DST change;
 * 127.0.0.2 (no profile) is forwarded throughout; a household category is
 * blocked for the profile only.
 */
static void test_profile_schedule_clock(void)
{
	const char *why;
	/* 2026-03-30 is a Monday, a day after the change to CEST (UTC+2) */
	int64_t mon = kh_days_from_civil(2026, 3, 30) * 86400;
	struct {
		int64_t at;
		int host, blocked;
	} steps[] = {
		{mon + 18 * 3600 + 59 * 60, 7, 0},   /* 20:59 CEST */
		{mon + 19 * 3600, 7, 1},	     /* 21:00 CEST (20:00 in CET: DST applied) */
		{mon + 19 * 3600, 2, 0},	     /* no profile */
		{mon + 28 * 3600 + 29 * 60, 7, 1},   /* Tuesday 06:29 */
		{mon + 28 * 3600 + 30 * 60, 7, 0},   /* Tuesday 06:30: over */
		{mon + 6 * 86400 + 20 * 3600, 7, 0}, /* Sunday 22:00: not a listed day */
	};
	uint16_t id = 0x8400;

	g_cfg_json =
		"{\"time_zone\": \"CET-1CEST,M3.5.0,M10.5.0/3\","
		" \"dns\": {\"categories\": {\"adult\": {\"action\": \"allow\"}}},"
		" \"profiles\": {\"kid\": {\"clients\": [\"127.0.0.7\"], \"block\": [\"adult\"],"
		" \"allow_names\": [\"school.example\"], \"schedules\": [{\"days\": [\"mon\"],"
		" \"from\": \"21:00\", \"to\": \"06:30\", \"block_all\": true}]}}}";
	KT_EQ(sim_index_build(3, "t:adult2", "adult", "adult.example\n"), 0);
	KT_EQ(start(1, 500), 0);
	g_cfg_json = NULL;
	KT_EQ(sim_dns_load_index(g_dns, "t:adult2", &why), 0);
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++, id++) {
		struct pending *p;
		kh_test_clock_set_wall(steps[i].at);
		udp_query(steps[i].host, id, "news.example");
		p = sent_udp();
		if (steps[i].blocked) {
			KT_EQ(got_n[id], 1);
			KT_EQ(got_rc[id], KH_DNS_RC_NXDOMAIN);
			KT_CHECK(p == NULL);
		} else {
			KT_EQ(got_n[id], 0);
			KT_CHECK(p != NULL);
		}
		if (p) {
			dns_pending_free(g_dns, p);
		}
		/* the allow list resolves inside the window too */
		udp_query(steps[i].host, (uint16_t)(id + 0x100), "www.school.example");
		KT_EQ(got_n[id + 0x100], 0);
		if ((p = sent_udp()))
			dns_pending_free(g_dns, p);
	}
	/* the household category: the profile's client only */
	kh_test_clock_set_wall(mon + 12 * 3600);
	udp_query(7, 0x8500, "adult.example");
	KT_EQ(got_rc[0x8500], KH_DNS_RC_NXDOMAIN);
	udp_query(2, 0x8501, "adult.example");
	KT_EQ(got_n[0x8501], 0);
	if (sent_udp())
		dns_pending_free(g_dns, sent_udp());
	KT_EQ(g_dns->st.profile_blocked, 3);
	stop();
}

/* Safe search for every client: the upstream is asked for the forced-safe name; a timeout's
 * SERVFAIL carries the client's own question. */
static void test_safe_search_servfail(void)
{
	struct pending *p;
	static const uint8_t wire[] = "\003www\004bing\003com";

	g_cfg_json = "{\"dns\": {\"safe_search\": true}}";
	KT_EQ(start(1, 500), 0);
	g_cfg_json = NULL;
	udp_query(2, 0x8600, "www.bing.com");
	p = sent_udp();
	KT_CHECK(p != NULL && p->safe && strcmp(p->q.qname.text, "strict.bing.com") == 0);
	for (int i = 0; i < 8 && !got_n[0x8600]; i++)
		step(600);
	KT_EQ(got_n[0x8600], 1);
	KT_EQ(got_rc[0x8600], KH_DNS_RC_SERVFAIL);
	KT_CHECK(got_len >= KH_DNS_HDR_LEN + sizeof(wire) &&
		 memcmp(got_msg + KH_DNS_HDR_LEN, wire, sizeof(wire)) == 0);
	KT_EQ(g_dns->st.safe_search, 1);
	stop();
}

static void test_blocked_policy(void)
{
	const char *why;

	KT_EQ(sim_index_build(1, "t:malware", "malware", "ads.example.com\n"), 0);
	KT_EQ(sim_index_build(2, "t:adult", "adult", "ads.example.com\n"), 0);
	KT_EQ(start(1, 500), 0);
	KT_EQ(sim_dns_load_index(g_dns, "t:malware", &why), 0);
	udp_query(2, 0x8300, "ads.example.com");
	KT_EQ(got_n[0x8300], 1);
	KT_EQ(got_rc[0x8300], KH_DNS_RC_NXDOMAIN); /* the default action */
	KT_EQ(last_ede(), KH_EDE_BLOCKED);
	KT_EQ(ev_n, 1);
	KT_EQ(ev_sev, KH_SEV_HIGH);
	udp_query(2, 0x8301, "www.ads.example.com"); /* a subdomain too */
	KT_EQ(got_rc[0x8301], KH_DNS_RC_NXDOMAIN);
	KT_EQ(g_dns->st.blocked, 2);
	KT_EQ(g_dns->up[0].sent, 0);
	KT_EQ(g_dns->inflight, 0);
	stop();

	/* A category configured to answer NODATA, not a security one: Filtered, no event. */
	KT_EQ(start(1, 500), 0);
	kh_strlcpy(cfg.cats[0].name, "adult", sizeof(cfg.cats[0].name));
	cfg.cats[0].action = KH_DNS_ACT_NODATA;
	cfg.cats[0].ede = -1;
	cfg.cats[0].event = -1;
	cfg.ncats = 1;
	KT_EQ(sim_dns_load_index(g_dns, "t:adult", &why), 0);
	udp_query(2, 0x8310, "ads.example.com");
	KT_EQ(got_n[0x8310], 1);
	KT_EQ(got_rc[0x8310], KH_DNS_RC_NOERROR);
	KT_EQ(got_an[0x8310], 0);
	KT_EQ(last_ede(), KH_EDE_FILTERED);
	KT_EQ(ev_n, 0);
	KT_EQ(g_dns->up[0].sent, 0);
	udp_query(2, 0x8311, "example.org"); /* not listed: forwarded */
	KT_EQ(g_dns->up[0].sent, 1);
	step(500);
	step(500);
	KT_EQ(g_dns->inflight, 0);
	stop();
}

/* The category table itself: built-in meanings, overridden by the configuration. */
static void test_category_table(void)
{
	struct kh_agent_config c;
	struct kh_category k;

	kh_config_defaults(&c);
	kh_category_resolve(&c, "phishing", &k);
	KT_EQ(k.security, 1);
	KT_EQ(k.severity, KH_SEV_MEDIUM);
	KT_EQ(k.ede, KH_EDE_BLOCKED);
	KT_EQ(k.event, 1);
	kh_category_resolve(&c, "court", &k);
	KT_EQ(k.security, 0);
	KT_EQ(k.ede, KH_EDE_CENSORED);
	KT_EQ(k.event, 0);
	kh_category_resolve(&c, "ads", &k);
	KT_EQ(k.severity, KH_SEV_LOW);
	KT_EQ(k.ede, KH_EDE_FILTERED);
	KT_EQ(k.action, c.default_action);
	kh_strlcpy(c.cats[0].name, "ads", sizeof(c.cats[0].name));
	c.cats[0].action = KH_DNS_ACT_REFUSED;
	c.cats[0].ede = KH_EDE_BLOCKED;
	c.cats[0].event = 1;
	c.ncats = 1;
	kh_category_resolve(&c, "ads", &k);
	KT_EQ(k.action, KH_DNS_ACT_REFUSED);
	KT_EQ(k.ede, KH_EDE_BLOCKED);
	KT_EQ(k.event, 1);
	KT_EQ(k.security, 0);
}

int main(void)
{
	KT_RUN(test_timeout_servfail);
	KT_RUN(test_failover);
	KT_RUN(test_pending_exhaustion);
	KT_RUN(test_tc_tcp_timeout);
	KT_RUN(test_blocked_policy);
	KT_RUN(test_category_table);
	KT_RUN(test_profile_schedule_clock);
	KT_RUN(test_safe_search_servfail);
	return KT_DONE();
}
