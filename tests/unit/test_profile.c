/* SPDX-License-Identifier: MIT */
/*
 * Home profiles (agent/profile.c) through the configuration: the issue's
 * shape parses as written, in JSON and UCI; errors name their path; the
 * client matcher (MAC over prefix, longest prefix, first written on a tie);
 * the decision order (ISP first, allow_names, block_names, categories,
 * windows), windows across midnight and the ISP/local merge; the safe-search
 * names.
 */
#include <cjson/cJSON.h>

#include "agent/config.h"
#include "agent/profile.h"
#include "kt.h"
#include "lib/err.h"

static char err[512];
static struct kh_agent_config cfg;

static int parse(const char *json)
{
	kh_config_defaults(&cfg);
	err[0] = 0;
	return kh_config_parse(&cfg, json, strlen(json), "t.json", err, sizeof(err));
}

static const char issue_shape[] =
	"{\"time_zone\": \"<+07>-7\", \"profiles\": {"
	"\"child\": {\"clients\": [\"aa:bb:cc:dd:ee:ff\", \"198.18.5.7\", \"198.18.6.0/24\"],"
	"  \"block\": [\"adult\", \"bypass\"], \"safe_search\": true,"
	"  \"allow_names\": [\"school.example\"], \"block_names\": [\"game.example\"],"
	"  \"schedules\": [{\"days\": [\"mon\", \"tue\", \"wed\", \"thu\", \"fri\"],"
	"                 \"from\": \"21:00\", \"to\": \"06:30\","
	"                 \"block_all_except\": [\"school.example\"]}]},"
	"\"adult\": {\"clients\": [\"198.18.0.0/16\"]}}}";

static void addr(const char *ip, struct kh_addr *a)
{
	KT_EQ(kh_addr_parse_ip(ip, a), 0);
}

static void test_issue_shape(void)
{
	const struct kh_profiles *t = &cfg.profiles;
	const struct kh_prof *p;
	struct kh_addr a;
	static const uint8_t mac[6] = {0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};

	KT_EQ(parse(issue_shape), 0);
	KT_STREQ(err, "");
	KT_EQ(t->nprof, 2);
	p = &t->prof[0];
	KT_STREQ(p->name, "child");
	KT_CHECK(p->child && p->safe_search);
	KT_EQ(p->ncats, 2);
	KT_EQ(p->nsched, 1);
	KT_EQ(p->sched[0].from, 21 * 60);
	KT_EQ(p->sched[0].to, 6 * 60 + 30);
	KT_EQ(p->sched[0].days, 0x3e);
	KT_EQ(t->nclient, 4);
	KT_EQ(cfg.tz.std_off, 7 * 3600);
	/* the matcher: the /24 beats the /16, the IP beats both, a MAC beats any prefix */
	addr("198.18.6.9", &a);
	KT_EQ(kh_profile_find(t, &a, NULL), 0);
	addr("198.18.7.9", &a);
	KT_EQ(kh_profile_find(t, &a, NULL), 1);
	KT_EQ(kh_profile_find(t, &a, mac), 0);
	addr("10.0.0.1", &a);
	KT_EQ(kh_profile_find(t, &a, NULL), -1);
}

static void test_errors(void)
{
	static const struct {
		const char *json, *want;
	} bad[] = {
		{"{\"profiles\": {\"child\": {\"clients\": [\"aa:bb:cc:dd:ee:ff\", \"198.18.5.7\","
		 " \"198.18.6.1/24\"]}}}",
		 "t.json: profiles.child.clients[2]: not a MAC, IP or CIDR"},
		{"{\"profiles\": {\"child\": {\"schedules\": [{\"from\": \"25:00\", \"to\": "
		 "\"06:00\", \"block\": [\"adult\"]}]}}}",
		 "t.json: profiles.child.schedules[0].from: expected HH:MM"},
		{"{\"profiles\": {\"child\": {\"schedules\": [{\"days\": [\"mon\", \"sunday\"],"
		 " \"from\": \"20:00\", \"to\": \"06:00\", \"block\": [\"adult\"]}]}}}",
		 "t.json: profiles.child.schedules[0].days[1]: expected mon"},
		{"{\"profiles\": {\"child\": {\"schedules\": [{\"from\": \"20:00\", \"to\": "
		 "\"06:00\"}]}}}",
		 "t.json: profiles.child.schedules[0]: a schedule needs"},
		{"{\"profiles\": {\"child\": {\"allow_names\": [\"ok.example\", \"bad..name\"]}}}",
		 "t.json: profiles.child.allow_names[1]: not a domain name"},
		{"{\"profiles\": {\"child\": {\"colour\": 1}}}",
		 "t.json: profiles.child.colour: unknown key"},
		{"{\"profiles\": {\"a b\": {}}}", "t.json: profiles.a b: a profile name is"},
		{"{\"profiles\": {\"a\": {\"clients\": [\"198.18.5.7\"]}, \"b\": {\"clients\": "
		 "[\"198.18.5.7\"]}}}",
		 "t.json: profiles.b.clients[0]: already a client of profile 'a'"},
		{"{\"time_zone\": \"Mars/Olympus_Mons\"}", "t.json: time_zone: unknown time zone"},
		{"{\"time_zone\": \"<+07\"}", "t.json: time_zone: not a POSIX TZ string"},
		{"{\"dns\": {\"default_action\": \"allow\"}}",
		 "t.json: dns.default_action: expected"},
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		KT_EQ(parse(bad[i].json), -EINVAL);
		if (strncmp(err, bad[i].want, strlen(bad[i].want)) != 0)
			fprintf(stderr, "# got \"%s\"\n# want \"%s...\"\n", err, bad[i].want);
		KT_CHECK(strncmp(err, bad[i].want, strlen(bad[i].want)) == 0);
	}
}

static void test_limits(void)
{
	char *json = malloc(64 * 1024);
	size_t n = 0;

	/* one profile over CONFIG_PROFILES_MAX */
	n += (size_t)sprintf(json + n, "{\"profiles\": {");
	for (int i = 0; i <= KH_PROF_MAX; i++)
		n += (size_t)sprintf(json + n, "%s\"p%d\": {}", i ? "," : "", i);
	sprintf(json + n, "}}");
	KT_EQ(parse(json), -EINVAL);
	KT_CHECK(strstr(err, "more than") != NULL);
	/* 65 names in one list */
	n = (size_t)sprintf(json, "{\"profiles\": {\"c\": {\"block_names\": [");
	for (int i = 0; i <= KH_PROF_LIST_MAX; i++)
		n += (size_t)sprintf(json + n, "%s\"n%d.example\"", i ? "," : "", i);
	sprintf(json + n, "]}}}");
	KT_EQ(parse(json), -EINVAL);
	KT_CHECK(strstr(err, "profiles.c.block_names: at most 64 names") != NULL);
	/* nine schedules */
	n = (size_t)sprintf(json, "{\"profiles\": {\"c\": {\"schedules\": [");
	for (int i = 0; i <= KH_PROF_MAX_SCHED; i++)
		n += (size_t)sprintf(
			json + n, "%s{\"from\": \"01:00\", \"to\": \"02:00\", \"block\": [\"x\"]}",
			i ? "," : "");
	sprintf(json + n, "]}}}");
	KT_EQ(parse(json), -EINVAL);
	KT_CHECK(strstr(err, "at most 8 schedules") != NULL);
	free(json);
}

static const char *names3(void *arg, unsigned id)
{
	static const char *const n[] = {"ads", "adult", "bypass"};
	(void)arg;
	return id < 3 ? n[id] : NULL;
}

static void test_decide(void)
{
	const struct kh_profiles *t = &cfg.profiles;
	struct kh_prof_mask m[KH_PROF_MAX];
	struct kh_prof_verdict v;
	unsigned mon = 1, tue = 2, sat = 6;

	KT_EQ(parse(issue_shape), 0);
	kh_profile_masks(t, names3, NULL, 3, m);
#define DECIDE(name, cat, active) \
	kh_profile_decide(t, 0, &m[0], (active), (name), strlen(name), (cat), &v)
	DECIDE("x.adult.example", 1, 0);
	KT_CHECK(v.blocked && v.reason == KH_PROF_R_CATEGORY);
	DECIDE("doh.example", 2, 0);
	KT_CHECK(v.blocked && v.reason == KH_PROF_R_CATEGORY);
	DECIDE("www.game.example", -1, 0);
	KT_CHECK(v.blocked && v.reason == KH_PROF_R_BLOCK_NAME);
	KT_EQ(v.rule_len, 12);
	DECIDE("school.example", 1, 0); /* allow_names wins over the profile's own categories */
	KT_CHECK(!v.blocked && v.reason == KH_PROF_R_ALLOW_NAME);
	DECIDE("news.example", -1, 0);
	KT_CHECK(!v.blocked && v.reason == KH_PROF_R_NONE);
	/* the window: Monday 21:00 to Tuesday 06:30 belongs to Monday */
	KT_EQ(kh_profile_active(&t->prof[0], mon, 21 * 60), 1);
	KT_EQ(kh_profile_active(&t->prof[0], mon, 20 * 60 + 59), 0);
	KT_EQ(kh_profile_active(&t->prof[0], tue, 6 * 60 + 29), 1);
	KT_EQ(kh_profile_active(&t->prof[0], tue, 6 * 60 + 30), 0);
	KT_EQ(kh_profile_active(&t->prof[0], sat, 3 * 60), 1); /* Friday night's window */
	KT_EQ(kh_profile_active(&t->prof[0], 0, 3 * 60), 0);   /* Saturday night: none */
	KT_EQ(kh_profile_active(&t->prof[0], sat, 22 * 60), 0);
	DECIDE("news.example", -1, 1);
	KT_CHECK(v.blocked && v.reason == KH_PROF_R_SCHED_ALL && v.sched == 0);
	DECIDE("www.school.example", -1, 1);
	KT_CHECK(!v.blocked);
	/* the other profile decides nothing on its own */
	kh_profile_decide(t, 1, &m[1], 0, "x.adult.example", 15, 1, &v);
	KT_CHECK(!v.blocked);
#undef DECIDE
}

static void test_isp_merge(void)
{
	struct kh_profiles *isp = calloc(1, sizeof(*isp)), *eff = calloc(1, sizeof(*eff));
	struct kh_prof_mask m[KH_PROF_MAX];
	struct kh_prof_verdict v;
	cJSON *j = cJSON_Parse("{\"child\": {\"block\": [\"ads\"], \"block_names\": "
			       "[\"school.example\"]}, \"isp-only\": {}}");

	KT_EQ(parse(issue_shape), 0);
	kh_profiles_init(isp);
	KT_EQ(kh_profiles_parse(isp, j, "profiles", 1, err, sizeof(err)), 0);
	*eff = cfg.profiles;
	KT_EQ(kh_profiles_merge(eff, isp, err, sizeof(err)), 0);
	KT_EQ(eff->nprof, 3);
	kh_profile_masks(eff, names3, NULL, 3, m);
	/* the ISP's block_names beat the household's allow_names; its categories too */
	kh_profile_decide(eff, 0, &m[0], 0, "school.example", 14, -1, &v);
	KT_CHECK(v.blocked && v.reason == KH_PROF_R_ISP_NAME);
	kh_profile_decide(eff, 0, &m[0], 0, "ads.example", 11, 0, &v);
	KT_CHECK(v.blocked && v.reason == KH_PROF_R_ISP_CATEGORY);
	/* the local part is still there */
	kh_profile_decide(eff, 0, &m[0], 0, "game.example", 12, -1, &v);
	KT_CHECK(v.blocked && v.reason == KH_PROF_R_BLOCK_NAME);
	cJSON_Delete(j);
	free(isp);
	free(eff);
}

/* The owner's layer (STATE/spool/profiles.local) over the configuration's, then the ISP's. */
static void test_owner_layer(void)
{
	struct kh_profiles *t = calloc(1, sizeof(*t)), *isp = calloc(1, sizeof(*isp));
	struct kh_prof_mask m[KH_PROF_MAX];
	struct kh_prof_verdict v;
	struct kh_addr a;
	cJSON *j;
	static const char *const bad[][2] = {
		{"[]", "expected {"},
		{"{\"x\": 1}", "x: unknown key"},
		{"{\"profiles\": {\"nosuch\": {}}}",
		 "profiles.nosuch: no such profile in the configuration"},
		{"{\"profiles\": {\"child\": {\"schedules\": []}}}",
		 "profiles.child.schedules: the owner sets"},
		{"{\"profiles\": {\"child\": {\"allow_names\": [\"bad..name\"]}}}",
		 "profiles.child.allow_names[0]: not a domain name"},
		{"{\"clients\": {\"nonsense\": \"child\"}}", "clients.nonsense: not a MAC"},
		{"{\"clients\": {\"198.18.5.9\": \"nosuch\"}}",
		 "clients.198.18.5.9: expected the name of a profile"},
	};

	KT_EQ(parse(issue_shape), 0);
	for (size_t i = 0; i < KH_ARRAY_SIZE(bad); i++) {
		*t = cfg.profiles;
		j = cJSON_Parse(bad[i][0]);
		KT_EQ(kh_profiles_owner(t, j, err, sizeof(err)), -EINVAL);
		KT_CHECK(strstr(err, bad[i][1]) != NULL);
		cJSON_Delete(j);
	}
	*t = cfg.profiles;
	j = cJSON_Parse("{\"profiles\": {\"child\": {\"safe_search\": false, \"block\": [], "
			"\"allow_names\": [\"isp.example\"], \"block_names\": [\"x.example\"]}}, "
			"\"clients\": {\"198.18.5.7\": \"\", \"198.18.5.9\": \"child\"}}");
	KT_EQ(kh_profiles_owner(t, j, err, sizeof(err)), 0);
	cJSON_Delete(j);
	KT_EQ(t->prof[0].safe_search, 0);
	addr("198.18.5.7", &a);
	/* taken out of child: the wider 198.18.0.0/16 of profile "adult" is its now */
	KT_EQ(kh_profile_find(t, &a, NULL), 1);
	addr("198.18.5.9", &a);
	KT_EQ(kh_profile_find(t, &a, NULL), 0);
	/* the ISP's part stays first: its block name is blocked despite the owner's allow_names */
	kh_profiles_init(isp);
	j = cJSON_Parse("{\"child\": {\"block_names\": [\"isp.example\"]}}");
	KT_EQ(kh_profiles_parse(isp, j, "profiles", 1, err, sizeof(err)), 0);
	cJSON_Delete(j);
	KT_EQ(kh_profiles_merge(t, isp, err, sizeof(err)), 0);
	kh_profile_masks(t, names3, NULL, 3, m);
	kh_profile_decide(t, 0, &m[0], 0, "isp.example", 11, -1, &v);
	KT_CHECK(v.blocked && v.reason == KH_PROF_R_ISP_NAME);
	kh_profile_decide(t, 0, &m[0], 0, "x.example", 9, -1, &v);
	KT_CHECK(v.blocked && v.reason == KH_PROF_R_BLOCK_NAME);
	kh_profile_decide(t, 0, &m[0], 0, "game.example", 12, -1, &v);
	KT_CHECK(!v.blocked); /* the owner's list replaced the configured one */
	err[0] = 0;
	free(t);
	free(isp);
}

static void test_uci(void)
{
	static const char uci[] = "config khien 'main'\n"
				  "\toption time_zone 'CET-1CEST,M3.5.0,M10.5.0/3'\n"
				  "config profile 'child'\n"
				  "\tlist client 'aa:bb:cc:dd:ee:ff'\n"
				  "\tlist client '198.18.6.0/24'\n"
				  "\tlist block 'adult'\n"
				  "\tlist allow_name 'school.example'\n"
				  "\tlist block_name 'game.example'\n"
				  "\toption safe_search '1'\n"
				  "config schedule\n"
				  "\toption profile 'child'\n"
				  "\tlist day 'mon'\n"
				  "\tlist day 'fri'\n"
				  "\toption from '21:00'\n"
				  "\toption to '06:30'\n"
				  "\tlist block_all_except 'school.example'\n"
				  "config schedule\n"
				  "\toption profile 'child'\n"
				  "\toption from '12:00'\n"
				  "\toption to '13:00'\n"
				  "\tlist block 'games'\n";
	static const char bad[] = "config profile 'child'\n"
				  "\tlist client 'aa:bb:cc:dd:ee:ff'\n"
				  "\tlist client 'nonsense'\n";
	const struct kh_prof *p;

	kh_config_defaults(&cfg);
	KT_EQ(kh_config_parse_uci(&cfg, uci, strlen(uci), "/etc/config/khien", NULL, err,
				  sizeof(err)),
	      0);
	KT_STREQ(err, "");
	p = &cfg.profiles.prof[0];
	KT_EQ(cfg.profiles.nprof, 1);
	KT_EQ(cfg.profiles.nclient, 2);
	KT_EQ(p->nsched, 2);
	KT_EQ(p->sched[0].days, 0x22);
	KT_CHECK(p->sched[0].all_except && p->sched[1].ncats == 1 && p->safe_search);
	KT_EQ(cfg.tz.dst_off, 7200);
	kh_config_defaults(&cfg);
	KT_EQ(kh_config_parse_uci(&cfg, bad, strlen(bad), "/etc/config/khien", NULL, err,
				  sizeof(err)),
	      -EINVAL);
	KT_CHECK(strncmp(err, "/etc/config/khien:3: khien.child.client[1]: not a MAC, IP or CIDR",
			 60) == 0);
	if (strncmp(err, "/etc/config/khien:3: khien.child.client[1]: not a MAC", 50) != 0)
		fprintf(stderr, "# got %s\n", err);
}

static void test_print_round_trip(void)
{
	struct kh_agent_config *again = malloc(sizeof(*again));
	char *a, *b;

	KT_EQ(parse(issue_shape), 0);
	a = kh_config_print(&cfg);
	kh_config_defaults(again);
	KT_EQ(kh_config_parse(again, a, strlen(a), "print", err, sizeof(err)), 0);
	b = kh_config_print(again);
	KT_STREQ(a, b);
	cJSON_free(a);
	cJSON_free(b);
	free(again);
}

static void test_safe_search_names(void)
{
	static const struct {
		const char *name, *target;
	} cases[] = {
		{"www.google.com", "forcesafesearch.google.com"},
		{"www.google.com.vn", "forcesafesearch.google.com"},
		{"www.google.co.uk", "forcesafesearch.google.com"},
		{"www.google.de", "forcesafesearch.google.com"},
		{"www.youtube.com", "restrict.youtube.com"},
		{"m.youtube.com", "restrict.youtube.com"},
		{"youtubei.googleapis.com", "restrict.youtube.com"},
		{"www.youtube-nocookie.com", "restrict.youtube.com"},
		{"www.bing.com", "strict.bing.com"},
		{"duckduckgo.com", "safe.duckduckgo.com"},
		{"mail.google.com", NULL},
		{"www.google.example", NULL},
		{"www.google.co.uk.evil.example", NULL},
		{"forcesafesearch.google.com", NULL},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *t = kh_safe_search_target(cases[i].name, strlen(cases[i].name));
		KT_CHECK(cases[i].target ? t && strcmp(t, cases[i].target) == 0 : t == NULL);
	}
}

int main(void)
{
	KT_RUN(test_issue_shape);
	KT_RUN(test_errors);
	KT_RUN(test_limits);
	KT_RUN(test_decide);
	KT_RUN(test_isp_merge);
	KT_RUN(test_owner_layer);
	KT_RUN(test_uci);
	KT_RUN(test_print_round_trip);
	KT_RUN(test_safe_search_names);
	return KT_DONE();
}
