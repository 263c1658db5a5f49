/* SPDX-License-Identifier: MIT */
/*
 * The parsed form of an audit rule, shared by the parser (policy/audit.c)
 * and the evaluator (policy/audit_eval.c) only. Strings point into the
 * policy's JSON tree; regular expressions are compiled once at parse time.
 */
#ifndef KHIEN_POLICY_AUDIT_PRIV_H
#define KHIEN_POLICY_AUDIT_PRIV_H

#include <regex.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "policy/audit.h"

#define KH_AUDIT_MAX_LIST 64 /* values of "in", "except", "skip", "passwords" */
#define KH_AUDIT_MAX_WHERE 8

enum kh_audit_kind {
	KH_R_FILE,
	KH_R_UCI,
	KH_R_UCI_ANY,
	KH_R_LISTENING,
	KH_R_PROCESS,
	KH_R_SYSCTL,
	KH_R_PASSWORD,
	KH_R_FILES_UNDER,
	KH_R_FACT,
};

/* A test of a text value: equals, in, matches, or (for options) missing. */
struct kh_audit_vtest {
	enum {
		KH_V_EQUALS,
		KH_V_IN,
		KH_V_MATCHES,
		KH_V_MISSING
	} op;
	const char *value;
	const cJSON *in; /* array of strings */
	regex_t re;
	int has_re;
};

struct kh_audit_where {
	const char *option;
	struct kh_audit_vtest vt;
};

struct kh_audit_rule {
	enum kh_audit_kind kind;
	const char *subject; /* path, UCI address, process, sysctl key, user or fact */
	enum {
		KH_F_EXISTS,
		KH_F_MODE_MAX,
		KH_F_OWNER,
		KH_F_LINE,
		KH_F_NO_LINE
	} ftest;
	int exists;
	uint32_t mode; /* mode_max, or files_under's perm_any */
	const char *owner;
	struct kh_audit_vtest vt; /* uci, sysctl, fact; vt.re also for line / no_line */
	char pkg[32], section[64], option[48];
	struct kh_audit_where *where; /* uci_any: nwhere tests, all of which a section meets */
	int nwhere;
	int proto_udp, port;
	enum {
		KH_A_UNSET,
		KH_A_ANY,
		KH_A_LOOPBACK,
		KH_A_IP
	} addr;
	uint8_t ip[16]; /* KH_A_IP: IPv6 or v4-mapped */
	enum {
		KH_P_EMPTY,
		KH_P_LOCKED,
		KH_P_DEFAULT
	} pw;
	const cJSON *passwords; /* more known defaults for this rule */
	enum {
		KH_T_FILE,
		KH_T_DIR,
		KH_T_ANY
	} walk_type;
	const cJSON *except, *skip; /* arrays of absolute paths */
	int max_depth;
	uint32_t max_files;
};

/* ---- the state of one evaluation, shared by audit_eval.c and audit_proc.c ---- */
#define MAX_UCI_CACHE 8
#define MAX_SOCKETS 1024
#define KH_AUDIT_MAX_CRYPTS 1024 /* many accounts times many candidates: bounded work */

enum {
	R_NOT = 0,
	R_HOLDS = 1,
	R_MISSING = 2,
	R_ERROR = -1,
	R_MORE = 3
};

struct uci_cache {
	char pkg[32];
	struct kh_uci *u; /* NULL: missing, or err set */
	int err;	  /* negative errno; -EBADMSG with why */
	char why[96];
};

struct sock {
	uint8_t ip[16]; /* v4 as v4-mapped */
	uint16_t port;
	uint8_t udp;
};

/*
 * A directory walk in progress: the directories from the start down to the
 * one being listed, each with how many of its entries are done. A slice
 * lists the deepest again, skips what is done and stats up to its budget,
 * so memory is one path per level, not one per file.
 */
struct walk_frame {
	char *path;
	uint32_t done;
};

struct walk {
	struct walk_frame frame[33]; /* max_depth is at most 32 */
	int depth;		     /* frames in use */
	uint32_t seen, found;
	char first[3][96];
};

struct kh_audit_run {
	const struct kh_audit_policy *p;
	struct kh_audit_src src;
	struct kh_audit_outcome *out;
	int check, rule; /* position */
	int holds, missing, error;
	struct uci_cache uci[MAX_UCI_CACHE];
	int nuci;
	char *passwd, *shadow;
	int passwd_err, shadow_err; /* 0 not read yet, 1 read, negative errno */
	struct sock *socks;
	int nsocks, socks_cap, socks_read; /* socks_read: 0, 1 read, negative errno */
	unsigned crypts; /* password hashes computed in this run, at most KH_AUDIT_MAX_CRYPTS */
	struct walk walk;
	int walking;
	char ev[KH_AUDIT_MAX_EVIDENCE]; /* the current rule's evidence */
};

/* The rule's evidence (printf-style, truncated to KH_AUDIT_MAX_EVIDENCE). */
void kh_audit_ev(struct kh_audit_run *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Words for a negative errno in evidence ("missing", "too many symbolic links"). */
const char *kh_audit_errstr(int err);
/* The value test against n values (0: missing): R_HOLDS, R_NOT or R_MISSING. */
int kh_audit_vtest_values(const struct kh_audit_vtest *t, const char *const *vals, int n);
/* Whether an option or fact name holds a secret (its value is never shown). */
int kh_audit_secret_name(const char *s);
/* A file inside the root, at most KH_AUDIT_MAX_FILE bytes (NUL-terminated). */
int kh_audit_read_file(struct kh_audit_run *r, const char *path, char **text, size_t *len);
int kh_audit_eval_listening(struct kh_audit_run *r, const struct kh_audit_rule *ru);
int kh_audit_eval_process(struct kh_audit_run *r, const struct kh_audit_rule *ru);
int kh_audit_eval_sysctl(struct kh_audit_run *r, const struct kh_audit_rule *ru);
/* Resumable: R_MORE while the walk has directories left; *budget is spent on entries. */
int kh_audit_eval_files_under(struct kh_audit_run *r, const struct kh_audit_rule *ru,
			      unsigned *budget);
void kh_audit_walk_free(struct walk *w);

#endif
