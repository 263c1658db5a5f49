/* SPDX-License-Identifier: MIT */
/*
 * Audit rules that read the running system and walk the file system:
 * listening sockets (/proc/net), processes (/proc/PID), sysctls
 * (/proc/sys), and directory walks for permission bits, which are
 * resumable so a walk of a whole image is spread over many loop slices.
 * Part of the evaluator in policy/audit_eval.c.
 */
#define _DEFAULT_SOURCE
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/ipaddr.h"
#include "platform/fsroot.h"
#include "policy/audit_priv.h"

/* ---- sockets, processes, sysctl, facts ---- */

/* One /proc/net table: "sl local_address rem_address st ..." lines. */
static int read_sockets(struct kh_audit_run *r, const char *file, int v6, int udp)
{
	char path[32], *text;
	size_t len;
	int rc;

	snprintf(path, sizeof(path), "/proc/net/%s", file);
	rc = kh_audit_read_file(r, path, &text, &len);
	if (rc < 0)
		return rc;
	for (char *l = strchr(text, '\n'); l && r->nsocks < MAX_SOCKETS; l = strchr(l, '\n')) {
		unsigned w[8] = {0}, st, port; /* address words: local 0-3, remote 4-7 */
		struct sock *k;
		l++;
		if (v6 ? sscanf(l, "%*d: %8x%8x%8x%8x:%x %8x%8x%8x%8x:%*x %x", &w[0], &w[1], &w[2],
				&w[3], &port, &w[4], &w[5], &w[6], &w[7], &st) != 10
		       : sscanf(l, "%*d: %8x:%x %8x:%*x %x", &w[0], &port, &w[4], &st) != 4)
			continue;
		/* TCP: LISTEN (0A); UDP: an unconnected socket (no remote address) */
		if (udp ? (w[4] | w[5] | w[6] | w[7]) != 0 : st != 0x0A)
			continue;
		if (r->nsocks == r->socks_cap) { /* a router listens on a few dozen: grow from 32 */
			struct sock *n = realloc(r->socks, sizeof(*n) * (size_t)(2 * r->socks_cap));
			if (!n) {
				free(text);
				return -ENOMEM;
			}
			r->socks = n;
			r->socks_cap *= 2;
		}
		k = &r->socks[r->nsocks];
		memset(k, 0, sizeof(*k));
		/* the kernel prints each 32-bit word of the address in host order */
		_Static_assert(sizeof(unsigned) == 4, "address words are 32 bits");
		memcpy(k->ip + (v6 ? 0 : 12), w, v6 ? 16 : 4);
		if (!v6)
			k->ip[10] = k->ip[11] = 0xff;
		k->port = (uint16_t)port;
		k->udp = (uint8_t)udp;
		r->nsocks++;
	}
	free(text);
	return 0;
}

static int sockets(struct kh_audit_run *r)
{
	static const char *const files[] = {"tcp", "tcp6", "udp", "udp6"};
	int any = 0;

	if (r->socks_read)
		return r->socks_read;
	r->socks_cap = 32;
	r->socks = calloc((size_t)r->socks_cap, sizeof(*r->socks));
	if (!r->socks)
		return r->socks_read = -ENOMEM;
	for (int i = 0; i < 4; i++) {
		int rc = read_sockets(r, files[i], i & 1, i >= 2);
		if (rc == 0)
			any = 1;
		else if (rc != -ENOENT)
			return r->socks_read = rc;
	}
	return r->socks_read = any ? 1 : -ENOENT;
}

static int is_any(const uint8_t *ip)
{
	static const uint8_t z[16], m[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	return memcmp(ip, z, 16) == 0 ||
	       (memcmp(ip, m, 12) == 0 && !ip[12] && !ip[13] && !ip[14] && !ip[15]);
}

static int is_loopback(const uint8_t *ip)
{
	static const uint8_t one[16] = {[15] = 1},
			     m[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	return memcmp(ip, one, 16) == 0 || (memcmp(ip, m, 12) == 0 && ip[12] == 127);
}

int kh_audit_eval_listening(struct kh_audit_run *r, const struct kh_audit_rule *ru)
{
	const char *proto = ru->proto_udp ? "udp" : "tcp";
	int rc = sockets(r);

	if (rc == -ENOENT) {
		kh_audit_ev(r, "/proc/net missing");
		return R_MISSING;
	}
	if (rc < 0) {
		kh_audit_ev(r, "/proc/net: %s", kh_audit_errstr(rc));
		return R_ERROR;
	}
	for (int i = 0; i < r->nsocks; i++) {
		const struct sock *k = &r->socks[i];
		char a[48];
		int v6;
		if (k->udp != ru->proto_udp || k->port != ru->port)
			continue;
		if ((ru->addr == KH_A_ANY && !is_any(k->ip)) ||
		    (ru->addr == KH_A_LOOPBACK && !is_loopback(k->ip)) ||
		    (ru->addr == KH_A_IP && memcmp(k->ip, ru->ip, 16) != 0))
			continue;
		v6 = !(k->ip[10] == 0xff && k->ip[11] == 0xff &&
		       !memcmp(k->ip, (uint8_t[10]){0}, 10));
		kh_ip_format(v6 ? k->ip : k->ip + 12, v6, a, sizeof(a));
		kh_audit_ev(r, v6 ? "%s [%s]:%d listening" : "%s %s:%d listening", proto, a,
			    ru->port);
		return R_HOLDS;
	}
	kh_audit_ev(r, "nothing listens on %s port %d%s", proto, ru->port,
		    ru->addr == KH_A_ANY	? " (any address)"
		    : ru->addr == KH_A_LOOPBACK ? " (loopback)"
						: "");
	return R_NOT;
}

struct proc_scan {
	struct kh_audit_run *r;
	const char *name;
	int found;
	char pid[16];
};

static int proc_entry(void *ctx, const char *name)
{
	struct proc_scan *s = ctx;
	char path[64], link[256], *comm;
	size_t len;

	if (strspn(name, "0123456789") != strlen(name) || strlen(name) >= sizeof(s->pid))
		return 0;
	snprintf(path, sizeof(path), "/proc/%s/comm", name);
	if (kh_audit_read_file(s->r, path, &comm, &len) == 0) {
		comm[strcspn(comm, "\n")] = 0;
		s->found = strcmp(comm, s->name) == 0;
		free(comm);
	}
	snprintf(path, sizeof(path), "/proc/%s/exe", name);
	if (!s->found && kh_fsroot_readlink(s->r->src.root, path, link, sizeof(link)) == 0) {
		const char *b = strrchr(link, '/');
		s->found = strcmp(b ? b + 1 : link, s->name) == 0;
	}
	if (s->found)
		snprintf(s->pid, sizeof(s->pid), "%s", name);
	return s->found;
}

int kh_audit_eval_process(struct kh_audit_run *r, const struct kh_audit_rule *ru)
{
	struct proc_scan s = {.r = r, .name = ru->subject};
	int rc =
		r->src.root ? kh_fsroot_list(r->src.root, "/proc", 32768, proc_entry, &s) : -ENOENT;

	if (rc == -ENOENT) {
		kh_audit_ev(r, "/proc missing");
		return R_MISSING;
	}
	if (rc < 0) {
		kh_audit_ev(r, "/proc: %s", kh_audit_errstr(rc));
		return R_ERROR;
	}
	if (s.found)
		kh_audit_ev(r, "%s runs (pid %s)", ru->subject, s.pid);
	else
		kh_audit_ev(r, "no process %s", ru->subject);
	return s.found ? R_HOLDS : R_NOT;
}

int kh_audit_eval_sysctl(struct kh_audit_run *r, const struct kh_audit_rule *ru)
{
	char path[600], *text, *e;
	const char *v;
	size_t len;
	int rc;

	snprintf(path, sizeof(path), "/proc/sys/%s", ru->subject);
	for (char *s = path + 10; *s; s++)
		if (*s == '.')
			*s = '/';
	rc = kh_audit_read_file(r, path, &text, &len);
	if (rc == -ENOENT || rc == -ENOTDIR) {
		kh_audit_ev(r, "%s not present", ru->subject);
		return kh_audit_vtest_values(&ru->vt, NULL, 0);
	}
	if (rc < 0) {
		kh_audit_ev(r, "%s: %s", ru->subject, kh_audit_errstr(rc));
		return R_ERROR;
	}
	for (char *s = text; *s; s++) /* multi-value sysctls print tabs */
		if (*s == '\t')
			*s = ' ';
	for (e = text + strlen(text); e > text && isspace((unsigned char)e[-1]);)
		*--e = 0;
	v = text;
	kh_audit_ev(r, "%s = %.60s", ru->subject, v);
	rc = kh_audit_vtest_values(&ru->vt, &v, 1);
	free(text);
	return rc;
}

/* ---- directory walks, resumable ---- */

void kh_audit_walk_free(struct walk *w)
{
	for (int i = 0; i < w->depth; i++)
		free(w->frame[i].path);
	memset(w, 0, sizeof(*w));
}

static int walk_push(struct walk *w, const char *path)
{
	if (!(w->frame[w->depth].path = strdup(path)))
		return -ENOMEM;
	w->frame[w->depth++].done = 0;
	return 0;
}

static int in_list(const struct kh_audit_list *l, const char *path)
{
	for (int i = 0; i < l->n; i++)
		if (strcmp(l->v[i], path) == 0)
			return 1;
	return 0;
}

struct walk_dir {
	struct kh_audit_run *r;
	const struct kh_audit_rule *ru;
	struct walk_frame *f;
	uint32_t index; /* entry number in this listing */
	unsigned *budget;
	int err, descend; /* descend: a subdirectory was pushed; list it next */
};

static int walk_entry(void *ctx, const char *name)
{
	struct walk_dir *d = ctx;
	struct walk *w = &d->r->walk;
	const struct kh_audit_rule *ru = d->ru;
	struct kh_fs_stat st;
	char path[KH_FSROOT_MAX_PATH];

	if (d->index++ < d->f->done)
		return 0; /* done in an earlier slice */
	if (*d->budget == 0)
		return 1;
	(*d->budget)--;
	d->f->done++;
	if (snprintf(path, sizeof(path), "%s/%s", strcmp(d->f->path, "/") ? d->f->path : "",
		     name) >= (int)sizeof(path)) {
		d->err = -ENAMETOOLONG; /* a file the walk cannot name must not pass unseen */
		return 1;
	}
	if (++w->seen > ru->max_files) {
		d->err = -E2BIG;
		return 1;
	}
	if (kh_fsroot_stat(d->r->src.root, path, 0, &st) < 0 || st.type == KH_FS_LINK)
		return 0; /* vanished, or a link: a walk never follows links */
	if (((ru->walk_type == KH_T_FILE && st.type == KH_FS_FILE) ||
	     (ru->walk_type == KH_T_DIR && st.type == KH_FS_DIR) || ru->walk_type == KH_T_ANY) &&
	    (st.mode & ru->mode) && !in_list(&ru->except, path)) {
		if (w->found < 3)
			snprintf(w->first[w->found], sizeof(w->first[0]), "%.80s (%04o)", path,
				 st.mode);
		w->found++;
	}
	if (st.type == KH_FS_DIR && w->depth < ru->max_depth && !in_list(&ru->skip, path)) {
		if (walk_push(w, path) < 0) {
			d->err = -ENOMEM;
			return 1;
		}
		d->descend = 1;
		return 1;
	}
	return 0;
}

int kh_audit_eval_files_under(struct kh_audit_run *r, const struct kh_audit_rule *ru,
			      unsigned *budget)
{
	struct walk *w = &r->walk;
	struct kh_fs_stat st;
	int rc;

	if (!r->walking) {
		rc = r->src.root ? kh_fsroot_stat(r->src.root, ru->subject, 1, &st) : -ENOENT;
		if (rc == -ENOENT) {
			kh_audit_ev(r, "%s missing", ru->subject);
			return R_MISSING;
		}
		if (rc < 0 || st.type != KH_FS_DIR) {
			kh_audit_ev(r, "%s: %s", ru->subject,
				    rc < 0 ? kh_audit_errstr(rc) : "not a directory");
			return R_ERROR;
		}
		if (walk_push(w, ru->subject) < 0)
			goto nomem;
		r->walking = 1;
	}
	while (w->depth > 0 && *budget > 0) {
		struct walk_dir d = {
			.r = r, .ru = ru, .f = &w->frame[w->depth - 1], .budget = budget};
		rc = kh_fsroot_list(r->src.root, d.f->path, ru->max_files, walk_entry, &d);
		if (rc == -E2BIG) /* the listing itself passed max_files */
			d.err = -E2BIG;
		if (d.err == -ENAMETOOLONG) {
			kh_audit_ev(r, "a path under %s is longer than %d bytes", ru->subject,
				    KH_FSROOT_MAX_PATH - 1);
			goto fail;
		}
		if (d.err == -E2BIG) {
			kh_audit_ev(r, "more than %u files under %s (max_files)", ru->max_files,
				    ru->subject);
			goto fail;
		}
		if (d.err)
			goto nomem;
		if (!d.descend && *budget > 0) { /* listed to the end (or unreadable: skipped) */
			(void)rc;
			free(w->frame[--w->depth].path);
		}
	}
	if (w->depth > 0)
		return R_MORE;
	if (w->found == 0)
		kh_audit_ev(r, "none under %s", ru->subject);
	else
		kh_audit_ev(r, "%s%s%s%s%s (%u in all)", w->first[0], w->found > 1 ? ", " : "",
			    w->found > 1 ? w->first[1] : "", w->found > 2 ? ", " : "",
			    w->found > 2 ? w->first[2] : "", w->found);
	rc = w->found ? R_HOLDS : R_NOT;
	kh_audit_walk_free(w);
	r->walking = 0;
	return rc;
nomem:
	kh_audit_ev(r, "out of memory walking %s", ru->subject);
fail:
	kh_audit_walk_free(w);
	r->walking = 0;
	return R_ERROR;
}
