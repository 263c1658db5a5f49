/* SPDX-License-Identifier: MIT */
/*
 * khien-policy baseline: record what a device's watched paths hold (an
 * unpacked image or a reference device's tree) as JSON for people, and as
 * the sorted binary table the device maps (firmware/baseline.h), to sign
 * into a bundle as the component "baseline". The walk is the device's own
 * (firmware/baseline.c), so the tool and the agent see the same files.
 *
 * Exit codes: 0 written; 2 bad arguments or input; 3 cannot write.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "firmware/baseline.h"
#include "lib/hex.h"
#include "lib/jsonnum.h"
#include "platform/fs.h"
#include "platform/fsroot.h"
#include "tools/khien-policy/tool.h"

#define EXIT_INPUT 2
#define EXIT_WRITE 3
#define JSON_MAX (64u << 20)

static void baseline_usage(FILE *f)
{
	fprintf(f,
		"usage: khien-policy baseline --root DIR [--watch PATH ...] [--exec-dir PATH ...]\n"
		"           [--listen tcp:PORT|udp:PORT ...] [--version N] [--kill-suspicious]\n"
		"           -o baseline.json [--table baseline.tbl]\n"
		"       khien-policy baseline --from baseline.json --table baseline.tbl\n"
		"\n"
		"Records type, mode, owner, size and SHA-256 of the watched paths under DIR\n"
		"(default: the persistence points and executable directories of\n"
		"docs/INTEGRITY.md), the dnsmasq upstreams, and the listening sockets\n"
		"(--listen, else DIR/proc/net when present). --watch PATH is a persistence\n"
		"point (walked, notified, critical or high drifts); --exec-dir PATH keeps\n"
		"executables, links and .so files only. -o writes JSON for review; --table\n"
		"writes the table to sign: khien-policy bundle ... --component baseline=TABLE.\n"
		"--from compiles a (reviewed, edited) JSON baseline into a table.\n");
}

struct owner {
	uint32_t uid;
	char name[33];
};

struct link {
	char *path, *target;
};

struct rec {
	struct kh_bl_entry *e;
	struct link *links; /* sorted by path before the JSON is written */
	uint32_t n, cap, nlinks;
	int oom;
	struct kh_fsroot *r;
};

static void on_entry(void *ctx, const struct kh_bl_entry *e, const struct kh_bl_watch *w)
{
	struct rec *r = ctx;
	char *p, target[KH_FSROOT_MAX_PATH + 1];

	(void)w;
	for (size_t i = 0; i < e->path_len; i++)
		if ((unsigned char)e->path[i] < 0x20 || e->path[i] == 0x7f) {
			fprintf(stderr,
				"khien-policy: note: a name with control bytes is left out\n");
			return;
		}
	if (r->n == r->cap) {
		uint32_t cap = r->cap ? r->cap * 2 : 256;
		struct kh_bl_entry *ne = realloc(r->e, cap * sizeof(*ne));
		struct link *nl = ne ? realloc(r->links, cap * sizeof(*nl)) : NULL;
		if (ne)
			r->e = ne;
		if (nl)
			r->links = nl;
		if (!ne || !nl || r->n >= KH_BL_MAX_ENTRIES) {
			r->oom = 1;
			return;
		}
		r->cap = cap;
	}
	if (!(p = strndup(e->path, e->path_len))) {
		r->oom = 1;
		return;
	}
	r->e[r->n] = *e;
	r->e[r->n].path = p;
	if (e->type == KH_FS_LINK && kh_fsroot_readlink(r->r, p, target, sizeof(target)) >= 0 &&
	    (r->links[r->nlinks].target = strdup(target)))
		r->links[r->nlinks++].path = p;
	if (e->flags & KH_BLE_UNHASHED)
		fprintf(stderr, "khien-policy: note: %s could not be read: recorded unhashed\n", p);
	r->n++;
}

static int load_owners(struct kh_fsroot *r, struct owner *o, int max)
{
	uint8_t *buf;
	size_t len;
	char *line, *save;
	int n = 0;

	if (kh_fsroot_read(r, "/etc/passwd", 1u << 20, &buf, &len) < 0)
		return 0;
	for (line = strtok_r((char *)buf, "\n", &save); line && n < max;
	     line = strtok_r(NULL, "\n", &save)) {
		char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c2 || c1 - line > 32)
			continue;
		memcpy(o[n].name, line, (size_t)(c1 - line));
		o[n].name[c1 - line] = 0;
		o[n].uid = (uint32_t)strtoul(c2 + 1, NULL, 10);
		n++;
	}
	free(buf);
	return n;
}

static const char *type_str(unsigned t)
{
	return t == KH_FS_FILE	 ? "file"
	       : t == KH_FS_DIR	 ? "dir"
	       : t == KH_FS_LINK ? "link"
				 : "other";
}

static int parse_listen(const char *s, struct kh_bl_listen *l)
{
	uint64_t port;
	int tcp = strncmp(s, "tcp:", 4) == 0, udp = strncmp(s, "udp:", 4) == 0;

	if ((!tcp && !udp) || kh_tool_parse_uint("--listen", s + 4, 1, 65535, &port) < 0)
		return -EINVAL;
	l->proto = tcp ? 6 : 17;
	l->port = (uint16_t)port;
	return 0;
}

static int cmp_link(const void *a, const void *b)
{
	return strcmp(((const struct link *)a)->path, ((const struct link *)b)->path);
}

static cJSON *to_json(const struct kh_bl_build *b, const struct rec *r, const struct owner *o,
		      int no)
{
	cJSON *j = cJSON_CreateObject(), *a;
	char created[32], hex[65], mode[8];
	time_t t = (time_t)b->created;
	struct tm tm;

	cJSON_AddStringToObject(j, "format", "khien-baseline");
	cJSON_AddNumberToObject(j, "format_version", KH_BL_FORMAT);
	kh_json_add_uint(j, "version", b->version);
	strftime(created, sizeof(created), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
	cJSON_AddStringToObject(j, "created", created);
	cJSON_AddBoolToObject(j, "kill_suspicious", !!(b->flags & KH_BL_KILL_SUSPICIOUS));
	a = cJSON_AddArrayToObject(j, "watch");
	for (uint32_t i = 0; i < b->nwatch; i++) {
		cJSON *w = cJSON_CreateObject();
		cJSON_AddItemToArray(a, w);
		cJSON_AddStringToObject(w, "path", b->watch[i].path);
		cJSON_AddBoolToObject(w, "recursive", !!(b->watch[i].flags & KH_BLW_RECURSIVE));
		cJSON_AddBoolToObject(w, "persist", !!(b->watch[i].flags & KH_BLW_PERSIST));
		cJSON_AddBoolToObject(w, "exec", !!(b->watch[i].flags & KH_BLW_EXEC));
	}
	if (b->flags & KH_BL_LISTEN_KNOWN) {
		a = cJSON_AddArrayToObject(j, "listen");
		for (uint32_t i = 0; i < b->nlisten; i++) {
			char s[16];
			snprintf(s, sizeof(s), "%s:%u", b->listen[i].proto == 6 ? "tcp" : "udp",
				 b->listen[i].port);
			cJSON_AddItemToArray(a, cJSON_CreateString(s));
		}
	} else {
		cJSON_AddNullToObject(j, "listen");
	}
	a = cJSON_AddArrayToObject(j, "dns_servers");
	for (const char *s = b->servers; s && *s;) {
		const char *e = strchr(s, '\n');
		char v[512];
		snprintf(v, sizeof(v), "%.*s", (int)(e ? e - s : (long)strlen(s)), s);
		cJSON_AddItemToArray(a, cJSON_CreateString(v));
		s = e ? e + 1 : s + strlen(s);
	}
	a = cJSON_AddArrayToObject(j, "files");
	for (uint32_t i = 0; i < b->nentries; i++) {
		const struct kh_bl_entry *e = &b->entries[i];
		cJSON *f = cJSON_CreateObject();
		cJSON_AddItemToArray(a, f);
		cJSON_AddStringToObject(f, "path", e->path);
		cJSON_AddStringToObject(f, "type", type_str(e->type));
		snprintf(mode, sizeof(mode), "%04o", (unsigned)e->mode);
		cJSON_AddStringToObject(f, "mode", mode);
		kh_json_add_uint(f, "uid", e->uid);
		for (int k = 0; k < no; k++)
			if (o[k].uid == e->uid) {
				cJSON_AddStringToObject(f, "owner", o[k].name);
				break;
			}
		kh_json_add_uint(f, "gid", e->gid);
		kh_json_add_uint(f, "size", e->size);
		if (e->flags & KH_BLE_UNHASHED) {
			cJSON_AddNullToObject(f, "sha256");
		} else {
			kh_hex_encode(e->sha256, 32, hex);
			cJSON_AddStringToObject(f, "sha256", hex);
		}
		if (e->type == KH_FS_LINK) {
			const struct link key = {(char *)e->path, NULL}, *l;
			l = bsearch(&key, r->links, r->nlinks, sizeof(*l), cmp_link);
			if (l)
				cJSON_AddStringToObject(f, "target", l->target);
		}
	}
	return j;
}

static int write_out(const char *path, const void *d, size_t len)
{
	int err = kh_fs_write_atomic(path, d, len, 0644);

	if (err < 0)
		fprintf(stderr, "khien-policy: cannot write %s: %s\n", path, strerror(-err));
	return err;
}

/* --from: a JSON baseline back into a table; errors name the JSON path. */
#define BAD(...)                                             \
	do {                                                 \
		fprintf(stderr, "khien-policy: %s: ", file); \
		fprintf(stderr, __VA_ARGS__);                \
		fputc('\n', stderr);                         \
		goto out;                                    \
	} while (0)

static int from_json(const char *file, const char *table)
{
	uint8_t *text = NULL, *out = NULL;
	size_t len, olen;
	cJSON *j = NULL, *a, *x;
	struct kh_bl_build b = {0};
	struct kh_bl_watch watch[KH_BL_MAX_WATCH];
	struct kh_bl_listen listen[KH_BL_MAX_LISTEN];
	char servers[KH_BL_MAX_SERVERS + 1] = "";
	size_t so = 0;
	int rc = EXIT_INPUT, err, i = 0;
	uint64_t v;

	if ((err = kh_fs_read(file, JSON_MAX, &text, &len)) < 0) {
		fprintf(stderr, "khien-policy: %s: %s\n", file, strerror(-err));
		return EXIT_INPUT;
	}
	if (!(j = cJSON_ParseWithLength((const char *)text, len)) || !cJSON_IsObject(j))
		BAD("not a JSON object");
	x = cJSON_GetObjectItemCaseSensitive(j, "format");
	if (!cJSON_IsString(x) || strcmp(x->valuestring, "khien-baseline") != 0)
		BAD("$.format: expected \"khien-baseline\"");
	if (kh_json_uint(cJSON_GetObjectItemCaseSensitive(j, "version"), 1, KH_JSON_INT_MAX,
			 &b.version) < 0)
		BAD("$.version: a whole number from 1");
	b.created = (uint64_t)time(NULL);
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "kill_suspicious")))
		b.flags |= KH_BL_KILL_SUSPICIOUS;
	a = cJSON_GetObjectItemCaseSensitive(j, "watch");
	if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) > KH_BL_MAX_WATCH)
		BAD("$.watch: an array of at most %d", KH_BL_MAX_WATCH);
	i = 0;
	cJSON_ArrayForEach (x, a) {
		const cJSON *p = cJSON_GetObjectItemCaseSensitive(x, "path");
		if (!cJSON_IsString(p) || strlen(p->valuestring) > KH_FSROOT_MAX_PATH)
			BAD("$.watch[%d].path: a path", i);
		watch[i] = (struct kh_bl_watch){
			p->valuestring, (uint16_t)strlen(p->valuestring),
			(uint8_t)((cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(x, "recursive"))
					   ? KH_BLW_RECURSIVE
					   : 0) |
				  (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(x, "persist"))
					   ? KH_BLW_PERSIST
					   : 0) |
				  (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(x, "exec"))
					   ? KH_BLW_EXEC
					   : 0))};
		i++;
	}
	b.watch = watch;
	b.nwatch = (uint32_t)i;
	a = cJSON_GetObjectItemCaseSensitive(j, "listen");
	if (cJSON_IsArray(a)) {
		b.flags |= KH_BL_LISTEN_KNOWN;
		if (cJSON_GetArraySize(a) > KH_BL_MAX_LISTEN)
			BAD("$.listen: at most %d", KH_BL_MAX_LISTEN);
		i = 0;
		cJSON_ArrayForEach (x, a) {
			if (!cJSON_IsString(x) || parse_listen(x->valuestring, &listen[i]) < 0)
				BAD("$.listen[%d]: \"tcp:PORT\" or \"udp:PORT\"", i);
			i++;
		}
		b.listen = listen;
		b.nlisten = (uint32_t)i;
	} else if (a && !cJSON_IsNull(a)) {
		BAD("$.listen: an array or null");
	}
	a = cJSON_GetObjectItemCaseSensitive(j, "dns_servers");
	if (!cJSON_IsArray(a))
		BAD("$.dns_servers: an array");
	b.flags |= KH_BL_SERVERS_KNOWN;
	i = 0;
	cJSON_ArrayForEach (x, a) {
		size_t l = cJSON_IsString(x) ? strlen(x->valuestring) : 0;
		if (!l || strchr(x->valuestring, '\n') || so + l + 1 > KH_BL_MAX_SERVERS)
			BAD("$.dns_servers[%d]: a line (%d bytes in all at most)", i,
			    KH_BL_MAX_SERVERS);
		memcpy(servers + so, x->valuestring, l);
		so += l;
		servers[so++] = '\n';
		i++;
	}
	servers[so] = 0;
	b.servers = servers;
	a = cJSON_GetObjectItemCaseSensitive(j, "files");
	if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) > KH_BL_MAX_ENTRIES)
		BAD("$.files: an array of at most %d", KH_BL_MAX_ENTRIES);
	b.entries = calloc((size_t)cJSON_GetArraySize(a) + 1, sizeof(*b.entries));
	if (!b.entries)
		BAD("out of memory");
	i = 0;
	cJSON_ArrayForEach (x, a) {
		struct kh_bl_entry *e = &b.entries[i];
		const cJSON *p = cJSON_GetObjectItemCaseSensitive(x, "path");
		const cJSON *t = cJSON_GetObjectItemCaseSensitive(x, "type");
		const cJSON *m = cJSON_GetObjectItemCaseSensitive(x, "mode");
		const cJSON *h = cJSON_GetObjectItemCaseSensitive(x, "sha256");
		char *end;
		if (!cJSON_IsString(p) || strlen(p->valuestring) > KH_FSROOT_MAX_PATH)
			BAD("$.files[%d].path: a path", i);
		e->path = p->valuestring;
		e->path_len = (uint16_t)strlen(p->valuestring);
		e->type = 255;
		for (unsigned k = 0; cJSON_IsString(t) && k <= KH_FS_LINK; k++)
			if (strcmp(t->valuestring, type_str(k)) == 0)
				e->type = (uint8_t)k;
		if (e->type == 255)
			BAD("$.files[%d].type: file, dir, link or other", i);
		if (!cJSON_IsString(m) || (e->mode = (uint32_t)strtoul(m->valuestring, &end, 8),
					   *end || !*m->valuestring || e->mode > 07777))
			BAD("$.files[%d].mode: an octal string such as \"0755\"", i);
		if (kh_json_uint(cJSON_GetObjectItemCaseSensitive(x, "uid"), 0, UINT32_MAX, &v) < 0)
			BAD("$.files[%d].uid: a whole number", i);
		e->uid = (uint32_t)v;
		if (kh_json_uint(cJSON_GetObjectItemCaseSensitive(x, "gid"), 0, UINT32_MAX, &v) < 0)
			BAD("$.files[%d].gid: a whole number", i);
		e->gid = (uint32_t)v;
		if (kh_json_uint(cJSON_GetObjectItemCaseSensitive(x, "size"), 0, KH_JSON_INT_MAX,
				 &e->size) < 0)
			BAD("$.files[%d].size: a whole number", i);
		if (cJSON_IsNull(h))
			e->flags = KH_BLE_UNHASHED;
		else if (!cJSON_IsString(h) || strlen(h->valuestring) != 64 ||
			 kh_hex_decode(h->valuestring, e->sha256, 32) < 0)
			BAD("$.files[%d].sha256: 64 hex digits or null", i);
		i++;
	}
	b.nentries = (uint32_t)i;
	err = kh_bl_write(&b, &out, &olen);
	if (err == -EINVAL)
		BAD("$.files or $.watch: a path that is not absolute and clean, or a path twice");
	if (err < 0)
		BAD("%s", err == -E2BIG ? "over the table's limits" : strerror(-err));
	rc = write_out(table, out, olen) < 0 ? EXIT_WRITE : 0;
	if (rc == 0)
		printf("wrote %s: version %llu, %u files, %zu bytes\n", table,
		       (unsigned long long)b.version, b.nentries, olen);
out:
	free(b.entries);
	free(out);
	cJSON_Delete(j);
	free(text);
	return rc;
}

int kh_tool_baseline(int argc, char **argv)
{
	static const struct option opts[] = {{"root", required_argument, 0, 'r'},
					     {"watch", required_argument, 0, 'w'},
					     {"exec-dir", required_argument, 0, 'x'},
					     {"listen", required_argument, 0, 'l'},
					     {"version", required_argument, 0, 'V'},
					     {"kill-suspicious", no_argument, 0, 'k'},
					     {"from", required_argument, 0, 'f'},
					     {"table", required_argument, 0, 't'},
					     {"output", required_argument, 0, 'o'},
					     {"help", no_argument, 0, 'h'},
					     {0, 0, 0, 0}};
	struct kh_bl_watch watch[KH_BL_MAX_WATCH];
	struct kh_bl_listen listen[KH_BL_MAX_LISTEN];
	struct owner owners[256];
	unsigned nwatch = 0, nlisten = 0;
	const char *root = NULL, *out = NULL, *table = NULL, *from = NULL;
	uint64_t version = 0;
	int kill = 0, opt, rc = EXIT_INPUT, listen_given = 0;
	struct kh_fsroot *fr = NULL;
	struct kh_bl_walk *w = NULL;
	struct rec rec = {0};
	struct kh_bl_build b = {0};
	char servers[KH_BL_MAX_SERVERS + 1];
	uint8_t *tbl = NULL;
	size_t tlen;
	char *js = NULL;
	cJSON *j = NULL;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'r':
			root = optarg;
			break;
		case 'w':
		case 'x':
			if (nwatch >= KH_BL_MAX_WATCH || strlen(optarg) > KH_FSROOT_MAX_PATH) {
				fprintf(stderr, "khien-policy: at most %d watched paths\n",
					KH_BL_MAX_WATCH);
				return EXIT_INPUT;
			}
			watch[nwatch++] = (struct kh_bl_watch){
				optarg, (uint16_t)strlen(optarg),
				(uint8_t)(KH_BLW_RECURSIVE |
					  (opt == 'w' ? KH_BLW_PERSIST : KH_BLW_EXEC))};
			break;
		case 'l':
			listen_given = 1;
			if (nlisten >= KH_BL_MAX_LISTEN ||
			    parse_listen(optarg, &listen[nlisten]) < 0) {
				fprintf(stderr,
					"khien-policy: --listen %s: tcp:PORT or udp:PORT (at "
					"most %d)\n",
					optarg, KH_BL_MAX_LISTEN);
				return EXIT_INPUT;
			}
			nlisten++;
			break;
		case 'V':
			if (kh_tool_parse_uint("--version", optarg, 1, KH_JSON_INT_MAX, &version) <
			    0)
				return EXIT_INPUT;
			break;
		case 'k':
			kill = 1;
			break;
		case 'f':
			from = optarg;
			break;
		case 't':
			table = optarg;
			break;
		case 'o':
			out = optarg;
			break;
		case 'h':
			baseline_usage(stdout);
			return 0;
		default:
			baseline_usage(stderr);
			return EXIT_INPUT;
		}
	}
	if (from) {
		if (!table || root || out) {
			fprintf(stderr, "khien-policy: --from takes --table only\n");
			return EXIT_INPUT;
		}
		return from_json(from, table);
	}
	if (!root || (!out && !table) || optind != argc) {
		baseline_usage(stderr);
		return EXIT_INPUT;
	}
	for (unsigned i = 0; i < nwatch; i++) {
		const char *p = watch[i].path;
		if (p[0] != '/' || strstr(p, "/../") || strstr(p, "//") ||
		    (strlen(p) > 1 && p[strlen(p) - 1] == '/')) {
			fprintf(stderr, "khien-policy: --watch %s: an absolute, clean path\n", p);
			return EXIT_INPUT;
		}
	}
	if (nwatch == 0) {
		memcpy(watch, kh_bl_default_watch, kh_bl_default_nwatch * sizeof(*watch));
		nwatch = kh_bl_default_nwatch;
	}
	int err = kh_fsroot_open(root, &fr);
	if (err < 0) {
		fprintf(stderr, "khien-policy: --root %s: %s\n", root, strerror(-err));
		return EXIT_INPUT;
	}
	rec.r = fr;
	if (!(w = kh_bl_walk_new(fr, watch, nwatch, on_entry, &rec)))
		goto out;
	while (kh_bl_walk_step(w, 1024))
		;
	if (rec.oom) {
		fprintf(stderr, "khien-policy: out of memory, or over %d files\n",
			KH_BL_MAX_ENTRIES);
		goto out;
	}
	if (kh_bl_walk_skipped(w))
		fprintf(stderr,
			"khien-policy: note: %llu paths past the walk's limits (depth %d, %d "
			"entries a directory) are left out\n",
			(unsigned long long)kh_bl_walk_skipped(w), KH_BL_MAX_DEPTH, KH_BL_MAX_DIR);
	if (!listen_given && kh_bl_listeners(fr, listen, KH_BL_MAX_LISTEN, &nlisten) == 0)
		listen_given = 1;
	if (kh_bl_servers(fr, servers, sizeof(servers)) < 0) {
		fprintf(stderr, "khien-policy: more than %d bytes of dnsmasq upstreams\n",
			KH_BL_MAX_SERVERS);
		goto out;
	}
	b.created = (uint64_t)time(NULL);
	b.version = version ? version : b.created;
	b.flags = (kill ? KH_BL_KILL_SUSPICIOUS : 0) | (listen_given ? KH_BL_LISTEN_KNOWN : 0) |
		  KH_BL_SERVERS_KNOWN;
	b.entries = rec.e;
	b.nentries = rec.n;
	b.watch = watch;
	b.nwatch = nwatch;
	b.listen = listen;
	b.nlisten = nlisten;
	b.servers = servers;
	if ((err = kh_bl_write(&b, &tbl, &tlen)) < 0) {
		fprintf(stderr, "khien-policy: cannot build the table: %s\n",
			err == -E2BIG ? "over its limits" : strerror(-err));
		goto out;
	}
	rc = EXIT_WRITE;
	if (table && write_out(table, tbl, tlen) < 0)
		goto out;
	if (out) {
		if (rec.nlinks)
			qsort(rec.links, rec.nlinks, sizeof(*rec.links), cmp_link);
		j = to_json(&b, &rec, owners, load_owners(fr, owners, 256));
		if (!j || !(js = cJSON_Print(j)))
			goto out;
		size_t jl = strlen(js);
		js[jl] = '\n';
		if (write_out(out, js, jl + 1) < 0)
			goto out;
	}
	printf("baseline version %llu: %u files under %u watched paths, %u listeners, %zu-byte "
	       "table\n",
	       (unsigned long long)b.version, b.nentries, nwatch, nlisten, tlen);
	rc = 0;
out:
	for (uint32_t i = 0; i < rec.n; i++)
		free((char *)rec.e[i].path);
	for (uint32_t i = 0; i < rec.nlinks; i++)
		free(rec.links[i].target);
	free(rec.e);
	free(rec.links);
	free(tbl);
	free(js);
	cJSON_Delete(j);
	kh_bl_walk_free(w);
	kh_fsroot_close(fr);
	return rc;
}
