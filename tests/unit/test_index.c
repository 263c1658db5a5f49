/* SPDX-License-Identifier: MIT */
/*
 * The compiled index end to end: every matching rule (subdomains, RPZ exact
 * and wildcard scopes, allow precedence, most specific wins, first list
 * wins), IP triggers, hostile and corrupt files, and a property test that
 * compares lookups on random lists with a naive reference model.
 */
#include "kt.h"
#include "lib/endian.h"
#include "lib/err.h"
#include "tools/khien-policy/compile.h"
#include "policy/hash.h"
#include "policy/index.h"
#include "policy/name.h"
#include "platform/rand.h"
#include "platform/test/test_platform.h"

struct src {
	const char *cat; /* NULL: allow list */
	const char *text;
	enum kh_list_format fmt;
};

static const uint64_t seed[2] = {0x0123456789abcdefull, 0xfedcba9876543210ull};

static int force_bits = -1;

static uint8_t *build_n(const struct src *s, size_t n, size_t *len, struct kh_compile_result *r)
{
	struct kh_compiler *c;
	struct kh_compile_result res;
	uint8_t *out = NULL;

	if (kh_compiler_new(&c, seed) < 0)
		return NULL;
	kh_compiler_force_bucket_bits(c, force_bits);
	for (size_t i = 0; i < n; i++) {
		struct kh_list_stats st;
		int id = kh_compiler_add_source(c, s[i].cat, s[i].cat ? s[i].cat : "allow",
						s[i].fmt);
		KT_CHECK(id >= 0);
		KT_EQ(kh_compiler_parse(c, id, s[i].text, strlen(s[i].text), s[i].fmt, NULL, NULL,
					&st),
		      0);
	}
	KT_EQ(kh_compiler_build(c, 1767225600, &out, len, r ? r : &res), 0);
	kh_compiler_free(c);
	return out;
}

static struct kh_index idx;
static char verdict[300];

static const char *look(const char *name)
{
	struct kh_match m;
	int err = kh_index_lookup(&idx, name, strlen(name), &m);

	if (err)
		snprintf(verdict, sizeof(verdict), "invalid");
	else if (m.verdict == KH_BLOCKED)
		snprintf(verdict, sizeof(verdict), "blocked %s %s%s a%u",
			 kh_index_category_name(&idx, m.category), m.exact ? "" : "*.",
			 m.name + m.suffix_off, m.action);
	else if (m.verdict == KH_ALLOWLISTED)
		snprintf(verdict, sizeof(verdict), "allowlisted %s%s", m.exact ? "" : "*.",
			 m.name + m.suffix_off);
	else
		snprintf(verdict, sizeof(verdict), "allowed");
	return verdict;
}

#define OPEN(buf, len) KT_EQ(kh_index_open(&idx, (buf), (len), NULL), 0)

static void test_subdomains_case_and_dots(void)
{
	struct src s[] = {{"gambling", "example.com\nbet.vn\n", KH_FMT_DOMAINS}};
	size_t len;
	uint8_t *b = build_n(s, 1, &len, NULL);

	OPEN(b, len);
	KT_STREQ(look("example.com"), "blocked gambling example.com a0");
	KT_STREQ(look("a.b.example.com"), "blocked gambling *.example.com a0");
	KT_STREQ(look("WWW.Example.COM."), "blocked gambling *.example.com a0");
	KT_STREQ(look("notexample.com"), "allowed");
	KT_STREQ(look("example.co"), "allowed");
	KT_STREQ(look("com"), "allowed");
	KT_STREQ(look("com.example"), "allowed");
	KT_STREQ(look("x.bet.vn"), "blocked gambling *.bet.vn a0");
	KT_STREQ(look("bad..name"), "invalid");
	KT_STREQ(look(""), "invalid");
	free(b);
}

static void test_rpz_scopes_and_actions(void)
{
	struct src s[] = {{"malware",
			   "exact.example CNAME .\n"
			   "*.wild.example CNAME *.\n"
			   "both.example CNAME rpz-drop.\n"
			   "*.both.example CNAME rpz-drop.\n"
			   "split.example CNAME .\n"
			   "*.split.example CNAME *.\n",
			   KH_FMT_RPZ}};
	size_t len;
	struct kh_compile_result r;
	uint8_t *b = build_n(s, 1, &len, &r);

	OPEN(b, len);
	KT_STREQ(look("exact.example"), "blocked malware exact.example a1");
	KT_STREQ(look("sub.exact.example"), "allowed"); /* RPZ without *. is exact-only */
	KT_STREQ(look("wild.example"), "allowed");	/* *. does not cover the name itself */
	KT_STREQ(look("a.wild.example"), "blocked malware *.wild.example a2");
	KT_STREQ(look("both.example"), "blocked malware both.example a3");
	KT_STREQ(look("x.both.example"), "blocked malware *.both.example a3");
	KT_STREQ(look("split.example"), "blocked malware split.example a1");
	KT_STREQ(look("x.split.example"), "blocked malware *.split.example a2");
	KT_EQ(r.domains, 4);
	KT_EQ(r.entries, 5); /* split.example needs two entries: different actions */
	free(b);
}

static void test_allow_precedence(void)
{
	struct src s[] = {
		{"ads", "example.com\nbad.good.example.com\nsame.example\n", KH_FMT_DOMAINS},
		{NULL, "good.example.com\nsame.example\n", KH_FMT_DOMAINS},
		{"ads", "@@||except.example.com^\n", KH_FMT_ADBLOCK},
	};
	size_t len;
	uint8_t *b = build_n(s, 3, &len, NULL);

	OPEN(b, len);
	KT_STREQ(look("example.com"), "blocked ads example.com a0");
	KT_STREQ(look("good.example.com"), "allowlisted good.example.com");
	KT_STREQ(look("x.good.example.com"), "allowlisted *.good.example.com");
	/* A block entry more specific than the allow entry wins. */
	KT_STREQ(look("bad.good.example.com"), "blocked ads bad.good.example.com a0");
	KT_STREQ(look("y.bad.good.example.com"), "blocked ads *.bad.good.example.com a0");
	/* Same suffix in both: allow wins the tie. */
	KT_STREQ(look("same.example"), "allowlisted same.example");
	KT_STREQ(look("except.example.com"), "allowlisted except.example.com");
	KT_STREQ(look("other.example.com"), "blocked ads *.example.com a0");
	free(b);
}

static void test_first_list_wins_and_duplicates(void)
{
	struct src a[] = {
		{"gambling", "dup.example\nonly-g.example\ndup.example\n", KH_FMT_DOMAINS},
		{"adult", "dup.example\nonly-a.example\n", KH_FMT_DOMAINS}};
	struct src b[] = {a[1], a[0]};
	struct kh_compile_result r;
	size_t len;
	uint8_t *x = build_n(a, 2, &len, &r);

	OPEN(x, len);
	KT_STREQ(look("dup.example"), "blocked gambling dup.example a0");
	KT_STREQ(look("only-a.example"), "blocked adult only-a.example a0");
	KT_EQ(r.domains, 3);
	KT_EQ(r.duplicates, 2);
	free(x);
	x = build_n(b, 2, &len, NULL);
	OPEN(x, len);
	KT_STREQ(look("dup.example"), "blocked adult dup.example a0");
	free(x);
}

static void test_ip_triggers(void)
{
	struct src s[] = {{"malware",
			   "$ORIGIN rpz.\n"
			   "24.0.0.18.198.rpz-ip CNAME .\n"
			   "32.7.0.18.198.rpz-ip CNAME rpz-drop.\n"
			   "name.example CNAME .\n",
			   KH_FMT_RPZ}};
	uint8_t a[4] = {198, 18, 0, 7}, b2[4] = {198, 18, 0, 9}, c[4] = {198, 19, 0, 1};
	struct kh_match m;
	size_t len;
	uint8_t *b = build_n(s, 1, &len, NULL);

	OPEN(b, len);
	KT_EQ(kh_index_lookup_ip(&idx, 4, a, &m), 1);
	KT_EQ(m.scope, 32); /* the longest prefix wins */
	KT_EQ(m.action, KH_ACT_DROP);
	KT_EQ(kh_index_lookup_ip(&idx, 4, b2, &m), 1);
	KT_EQ(m.scope, 24);
	KT_EQ(kh_index_lookup_ip(&idx, 4, c, &m), 0);
	KT_EQ(kh_index_lookup_ip(&idx, 6, c, &m), 0);
	free(b);
}

/*
 * $important: an important block beats a plain @@ exception at or under it,
 * not an important one, nor exceptions from other formats or --allow files.
 * $badfilter: disables the same rule in any AdBlock block list of the compile.
 */
static void test_adblock_important_and_badfilter(void)
{
	struct src s[] = {{"ads",
			   "||ads.example^$important\n"
			   "@@||x.ads.example^\n"
			   "@@||y.ads.example^$important\n"
			   "||*.w.example^$important\n"
			   "@@||w.example^\n"
			   "||plain.example^\n"
			   "@@||plain.example^\n"
			   "||fp.example^\n"
			   "||imp.example^$important\n"
			   "||imp.example^$badfilter\n"
			   "@@||ok.ads2.example^\n",
			   KH_FMT_ADBLOCK},
			  {"ads2",
			   "||fp.example^$badfilter\n"
			   "||ads2.example^$important\n"
			   "@@||ok.ads2.example^$badfilter\n",
			   KH_FMT_ADBLOCK},
			  {"malware", "fp.example\nimp2.example\n", KH_FMT_DOMAINS},
			  {"rpz",
			   "*.ads.example CNAME .\n"
			   "r.ads.example CNAME rpz-passthru.\n",
			   KH_FMT_RPZ},
			  {NULL, "z.ads.example\n", KH_FMT_DOMAINS}};
	struct kh_compile_result r;
	size_t len;
	uint8_t *b = build_n(s, 5, &len, &r);

	OPEN(b, len);
	KT_STREQ(look("ads.example"), "blocked ads ads.example a0");
	KT_STREQ(look("x.ads.example"), "blocked ads *.ads.example a0");
	KT_STREQ(look("a.x.ads.example"), "blocked ads *.ads.example a0");
	KT_STREQ(look("y.ads.example"), "allowlisted y.ads.example");
	KT_STREQ(look("r.ads.example"), "allowlisted r.ads.example");
	KT_STREQ(look("z.ads.example"), "allowlisted z.ads.example");
	KT_STREQ(look("w.example"), "allowlisted w.example");
	KT_STREQ(look("a.w.example"), "blocked ads *.w.example a0");
	KT_STREQ(look("plain.example"), "allowlisted plain.example");
	/* Disabled in ads by ads2's $badfilter; still on the malware domain list. */
	KT_STREQ(look("fp.example"), "blocked malware fp.example a0");
	/* "||imp.example^$badfilter" is not the text of "||imp.example^$important". */
	KT_STREQ(look("imp.example"), "blocked ads imp.example a0");
	KT_STREQ(look("ok.ads2.example"), "blocked ads2 *.ads2.example a0");
	KT_EQ(r.badfiltered, 2);
	KT_EQ(r.important_overrides, 2); /* x.ads, w (subdomains); ok.ads2 was badfiltered first */
	free(b);
}

/* A plain IP list becomes IP triggers of its category; the longest prefix wins across lists. */
static void test_ip_list_triggers(void)
{
	struct src s[] = {
		{"threat", "198.51.100.7\n203.0.113.0/24\n2001:db8::/32\n", KH_FMT_IP},
		{"authority", "$ORIGIN rpz.\n16.0.0.0.203.rpz-ip CNAME rpz-drop.\n", KH_FMT_RPZ}};
	uint8_t a[4] = {198, 51, 100, 7}, b4[4] = {203, 0, 113, 9}, c[4] = {203, 0, 1, 1},
		d[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5},
		e[4] = {1, 1, 1, 1};
	struct kh_compile_result r;
	struct kh_match m;
	size_t len;
	uint8_t *b = build_n(s, 2, &len, &r);

	OPEN(b, len);
	KT_EQ(r.ip_triggers, 4);
	KT_EQ(kh_index_lookup_ip(&idx, 4, a, &m), 1);
	KT_EQ(m.scope, 32);
	KT_STREQ(kh_index_category_name(&idx, m.category), "threat");
	KT_EQ(kh_index_lookup_ip(&idx, 4, b4, &m), 1);
	KT_EQ(m.scope, 24);
	KT_STREQ(kh_index_category_name(&idx, m.category), "threat");
	KT_EQ(m.action, KH_ACT_DEFAULT);
	KT_EQ(kh_index_lookup_ip(&idx, 4, c, &m), 1);
	KT_EQ(m.scope, 16);
	KT_STREQ(kh_index_category_name(&idx, m.category), "authority");
	KT_EQ(kh_index_lookup_ip(&idx, 6, d, &m), 1);
	KT_EQ(m.scope, 32);
	KT_EQ(kh_index_lookup_ip(&idx, 4, e, &m), 0);
	free(b);
}

static void test_allow_only_and_empty_inputs(void)
{
	struct src s[] = {{NULL, "only.allow.example\n", KH_FMT_DOMAINS}};
	struct kh_compiler *c;
	uint8_t *out;
	size_t len;
	struct kh_compile_result r;
	uint8_t *b = build_n(s, 1, &len, NULL);

	OPEN(b, len);
	KT_STREQ(look("only.allow.example"), "allowlisted only.allow.example");
	KT_STREQ(look("else.example"), "allowed");
	free(b);
	KT_EQ(kh_compiler_new(&c, seed), 0);
	KT_EQ(kh_compiler_build(c, 0, &out, &len, &r), -ENODATA);
	kh_compiler_free(c);
}

static void test_every_bit_flip_and_truncation_rejected(void)
{
	struct src s[] = {{"malware", "a.example\nb.example\n*.c.example\n", KH_FMT_DOMAINS},
			  {NULL, "ok.a.example\n", KH_FMT_DOMAINS}};
	size_t len;
	uint8_t *b = build_n(s, 2, &len, NULL);
	struct kh_index t;
	int accepted = 0;

	OPEN(b, len);
	for (size_t i = 0; i < len; i++) {
		for (int bit = 0; bit < 8; bit++) {
			b[i] ^= (uint8_t)(1u << bit);
			accepted += kh_index_open(&t, b, len, NULL) == 0;
			b[i] ^= (uint8_t)(1u << bit);
		}
	}
	KT_EQ(accepted, 0);
	for (size_t n = 0; n < len; n++)
		accepted += kh_index_open(&t, b, n, NULL) == 0;
	KT_EQ(accepted, 0);
	free(b);
}

/* Recompute length and checksum so structural checks, not the checksum, must catch it. */
static void reseal(uint8_t *b, size_t len)
{
	kh_put_le64(b + KH_IDX_OFF_FILELEN, len);
	memset(b + KH_IDX_OFF_CSUM, 0, 8);
	kh_put_le64(b + KH_IDX_OFF_CSUM, kh_csum64(b + KH_IDX_HEADER_LEN, len - KH_IDX_HEADER_LEN,
						   kh_csum64(b, KH_IDX_HEADER_LEN, 0)));
}

static void test_hostile_resealed_index(void)
{
	struct src s[] = {{"malware", "a.example\nb.example\nc.d.example\n", KH_FMT_DOMAINS},
			  {NULL, "ok.a.example\n", KH_FMT_DOMAINS}};
	size_t len;
	uint8_t *orig = build_n(s, 2, &len, NULL), *b = malloc(len);
	const char *why;
	int opened = 0;

	/* Targeted lies, each must be refused with a reason. */
	static const struct {
		size_t off;
		uint8_t val;
	} lies[] = {
		{KH_IDX_OFF_BUCKET_BITS, 40}, {KH_IDX_OFF_REM_BITS, 0},
		{KH_IDX_OFF_META_BITS, 9},    {KH_IDX_OFF_NENTRIES, 200},
		{KH_IDX_OFF_NSECT, 200},      {KH_IDX_OFF_FLAGS, 1},
		{KH_IDX_OFF_NDOMAINS, 250},   {KH_IDX_OFF_DEPTHS_BLOCK + 15, 0x80},
	};
	for (size_t i = 0; i < sizeof(lies) / sizeof(lies[0]); i++) {
		memcpy(b, orig, len);
		b[lies[i].off] = lies[i].val;
		reseal(b, len);
		KT_CHECK(kh_index_open(&idx, b, len, &why) < 0);
	}
	/* Random mutations: anything that opens must answer lookups without crashing. */
	kh_test_rand_seed(99);
	for (int iter = 0; iter < 20000; iter++) {
		uint64_t r;
		memcpy(b, orig, len);
		for (int k = 0; k < 1 + iter % 4; k++) {
			kh_rand_bytes(&r, sizeof(r));
			b[KH_IDX_HEADER_LEN + r % (len - KH_IDX_HEADER_LEN)] ^= (uint8_t)(r >> 32);
		}
		reseal(b, len);
		if (kh_index_open(&idx, b, len, &why) == 0) {
			opened++;
			look("a.example");
			look("x.c.d.example");
			look("ok.a.example");
			look("zzz.example");
		}
	}
	printf("# %d of 20000 mutated indexes passed validation and were queried\n", opened);
	free(b);
	free(orig);
}

/* ---- property test against a naive model ---- */

#define PT_MAX 4000
struct ref_entry {
	char name[64];
	int cat; /* -1: allow */
	unsigned scope;
	unsigned order;
};
static struct ref_entry ref[PT_MAX];
static size_t nref;

static const char *ref_lookup(const char *q, char *out)
{
	const char *s = q;
	unsigned L = kh_name_labels(q, strlen(q)), d = L;
	static const char *const cats[] = {"c0", "c1", "c2"};

	for (;;) {
		unsigned need = d == L ? KH_SCOPE_SELF : KH_SCOPE_SUBS;
		int best = -1;
		for (size_t i = 0; i < nref; i++)
			if (strcmp(ref[i].name, s) == 0 && ref[i].cat < 0 &&
			    (ref[i].scope & need)) {
				sprintf(out, "allowlisted %s%s", d == L ? "" : "*.", s);
				return out;
			}
		for (size_t i = 0; i < nref; i++)
			if (strcmp(ref[i].name, s) == 0 && ref[i].cat >= 0 &&
			    (ref[i].scope & need) && (best < 0 || ref[i].order < ref[best].order))
				best = (int)i;
		if (best >= 0) {
			sprintf(out, "blocked %s %s%s a0", cats[ref[best].cat], d == L ? "" : "*.",
				s);
			return out;
		}
		s = strchr(s, '.');
		if (!s)
			break;
		s++;
		d--;
	}
	return "allowed";
}

static void rand_name(char *out, unsigned labels)
{
	static const char *const words[] = {"a", "b", "ads", "cdn", "x1", "bet", "vn", "com"};
	uint32_t r;

	out[0] = 0;
	for (unsigned i = 0; i < labels; i++) {
		kh_rand_bytes(&r, sizeof(r));
		if (i)
			strcat(out, ".");
		strcat(out, words[r % 8]);
	}
}

static void test_property_against_reference(void)
{
	static char text[4][PT_MAX * 80];
	struct src s[4];
	unsigned order = 0;

	kh_test_rand_seed(2026);
	for (int round = 0; round < 5; round++) {
		size_t len;
		uint8_t *b;
		int mismatches = 0;

		nref = 0;
		for (int l = 0; l < 4; l++) {
			text[l][0] = 0;
			for (int k = 0; k < 300; k++) {
				uint32_t r;
				struct ref_entry *e = &ref[nref++];
				kh_rand_bytes(&r, sizeof(r));
				rand_name(e->name, 1 + r % 4);
				e->cat = l == 3 ? -1 : l;
				e->order = order++;
				/* List 1 is RPZ so that exact-only and subdomain-only scopes occur. */
				if (l == 1) {
					e->scope = (r >> 8) % 2 ? KH_SCOPE_SELF : KH_SCOPE_SUBS;
					sprintf(text[l] + strlen(text[l]), "%s%s CNAME .\n",
						e->scope == KH_SCOPE_SUBS ? "*." : "", e->name);
				} else {
					e->scope = KH_SCOPE_SELF | KH_SCOPE_SUBS;
					sprintf(text[l] + strlen(text[l]), "%s\n", e->name);
				}
			}
		}
		s[0] = (struct src){"c0", text[0], KH_FMT_DOMAINS};
		s[1] = (struct src){"c1", text[1], KH_FMT_RPZ};
		s[2] = (struct src){"c2", text[2], KH_FMT_DOMAINS};
		s[3] = (struct src){NULL, text[3], KH_FMT_DOMAINS};
		b = build_n(s, 4, &len, NULL);
		OPEN(b, len);
		for (int q = 0; q < 3000; q++) {
			char name[128], want[300];
			uint32_t r;
			kh_rand_bytes(&r, sizeof(r));
			rand_name(name, 1 + r % 6);
			/* RPZ actions differ from the model's a0: compare without the action. */
			const char *w = ref_lookup(name, want);
			const char *g = look(name);
			if (strncmp(w, g, strlen(w) - (strncmp(w, "blocked", 7) == 0 ? 3 : 0)) !=
			    0) {
				if (mismatches++ < 5)
					printf("#   %s: index says '%s', model says '%s'\n", name,
					       g, w);
			}
		}
		KT_EQ(mismatches, 0);
		free(b);
	}
}

static void test_no_false_positives_on_unlisted(void)
{
	static char text[20000 * 24];
	struct src s[1] = {{"malware", text, KH_FMT_DOMAINS}};
	size_t len, off = 0;
	uint8_t *b;
	int fp = 0;

	for (int i = 0; i < 20000; i++)
		off += (size_t)sprintf(text + off, "n%d.listed.example\n", i);
	b = build_n(s, 1, &len, NULL);
	OPEN(b, len);
	for (int i = 0; i < 200000; i++) {
		char q[64];
		sprintf(q, "n%d.unlisted.example", i);
		fp += strcmp(look(q), "allowed") != 0;
		if (i < 20000) {
			sprintf(q, "www.n%d.listed.example", i);
			KT_CHECK(strncmp(look(q), "blocked", 7) == 0);
		}
	}
	KT_EQ(fp, 0);
	free(b);
}

/* One list crafted into a few huge buckets: runs longer than 64 and 128 entries. */
static void test_long_bucket_runs(void)
{
	static char text[3000 * 24];
	struct src s[1] = {{"malware", text, KH_FMT_DOMAINS}};
	struct kh_compile_result r;
	size_t len, off = 0;
	uint8_t *b;

	for (int i = 0; i < 3000; i++)
		off += (size_t)sprintf(text + off, "r%d.example\n", i);
	for (int bits = 0; bits <= 3; bits++) {
		int missing = 0, wrong = 0;
		force_bits = bits; /* 3000 entries in 1..8 buckets: runs of 375-3000 */
		b = build_n(s, 1, &len, &r);
		force_bits = -1;
		KT_EQ(r.bucket_bits, bits);
		OPEN(b, len);
		for (int i = 0; i < 3000; i++) {
			char q[32];
			sprintf(q, "r%d.example", i);
			missing += strncmp(look(q), "blocked", 7) != 0;
			sprintf(q, "q%d.example", i);
			wrong += strcmp(look(q), "allowed") != 0;
		}
		KT_EQ(missing, 0);
		KT_EQ(wrong, 0);
		free(b);
	}
}

int main(void)
{
	KT_RUN(test_subdomains_case_and_dots);
	KT_RUN(test_rpz_scopes_and_actions);
	KT_RUN(test_allow_precedence);
	KT_RUN(test_first_list_wins_and_duplicates);
	KT_RUN(test_ip_triggers);
	KT_RUN(test_adblock_important_and_badfilter);
	KT_RUN(test_ip_list_triggers);
	KT_RUN(test_allow_only_and_empty_inputs);
	KT_RUN(test_every_bit_flip_and_truncation_rejected);
	KT_RUN(test_hostile_resealed_index);
	KT_RUN(test_property_against_reference);
	KT_RUN(test_no_false_positives_on_unlisted);
	KT_RUN(test_long_bucket_runs);
	return KT_DONE();
}
