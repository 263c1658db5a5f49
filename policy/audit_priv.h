/* SPDX-License-Identifier: MIT */
/*
 * The decoded form of audit rules, shared by the decoder (policy/audit.c),
 * the evaluator (policy/audit_eval.c, audit_proc.c) and the ISP tool's
 * compiler (tools/khien-policy/audit_json.c), which fills the same
 * structures from JSON before writing them in the binary form below.
 * Strings point into the binary form; regular expressions are programs
 * (policy/audit_re.c) compiled by the tool.
 */
#ifndef KHIEN_POLICY_AUDIT_PRIV_H
#define KHIEN_POLICY_AUDIT_PRIV_H

#include <stdint.h>

#include "policy/audit.h"

#define KH_AUDIT_MAX_LIST 64 /* values of "in", "except", "skip", "passwords" */
#define KH_AUDIT_MAX_WHERE 8
#define KH_AUDIT_MAX_REFS 16
#define KH_AUDIT_MAX_STR 2048 /* longest string of the rules (a remediation) */

/*
 * The binary form, version 1, all integers little-endian (lib/endian.h):
 *
 *   header   KH_AUDIT_HDR bytes: magic "KHAR", u16 version, u16 0, u32 total
 *            length, u32 policy version, u32 id, u32 title (strings),
 *            u16 first, u16 count of defaults.passwords (list entries),
 *            u16 checks, u16 rules, u16 list entries, u16 0,
 *            u32 strings bytes, u32 programs bytes
 *   checks   KH_AUDIT_CHECK bytes each: u32 id, title, remediation;
 *            u16 first, count of refs; u16 first, count of rules;
 *            u8 severity, condition, na_if_missing, 0
 *   rules    KH_AUDIT_RULE bytes each (below); a uci_any rule's where
 *            tests are rules of kind KH_R_WHERE (subject: the option)
 *   list     u32 string per entry
 *   strings  NUL-terminated, starting with "" (string 0) and ending in NUL
 *   programs regular expressions (policy/audit_re.c), at their offsets
 *
 * A rule: u8 kind, u8 test (file test, value test op, password test or
 * walk type), u8 flag (exists, udp), u8 address kind or max_depth;
 * strings (u32) subject, value or owner, package, section, option;
 * u16 first, u16 count of list 1 ("in", "passwords", "except"); u16
 * first, u16 count of list 2 ("skip", or where rules); u32 program offset
 * + 1 (0: none); u32 number (mode, perm_any, port); u32 max_files;
 * 16 bytes IP address.
 */
#define KH_AUDIT_MAGIC "KHAR"
#define KH_AUDIT_VERSION 1
#define KH_AUDIT_HDR 44
#define KH_AUDIT_CHECK 24
#define KH_AUDIT_RULE 60

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
	KH_R_WHERE, /* a uci_any option test, referenced by its rule only */
};

/* A test of a text value: equals, in, matches, or (for options) missing. */
enum {
	KH_V_EQUALS,
	KH_V_IN,
	KH_V_MATCHES,
	KH_V_MISSING
};
struct kh_audit_vtest {
	uint8_t op;
	const char *value;
	struct kh_audit_list in;
	const uint8_t *re; /* a program (policy/audit_re.c) */
};

enum {
	KH_F_EXISTS,
	KH_F_MODE_MAX,
	KH_F_OWNER,
	KH_F_LINE,
	KH_F_NO_LINE
};
enum {
	KH_A_UNSET,
	KH_A_ANY,
	KH_A_LOOPBACK,
	KH_A_IP
};
enum {
	KH_P_EMPTY,
	KH_P_LOCKED,
	KH_P_DEFAULT
};
enum {
	KH_T_FILE,
	KH_T_DIR,
	KH_T_ANY
};

struct kh_audit_rule {
	uint8_t kind;
	uint8_t ftest;	   /* file rules */
	uint8_t exists;	   /* file exists */
	uint8_t proto_udp; /* listening */
	uint8_t addr;	   /* listening */
	uint8_t pw;	   /* password */
	uint8_t walk_type; /* files_under */
	uint8_t max_depth; /* files_under, 1..32 */
	uint16_t port;
	uint32_t mode;	     /* mode_max, or files_under's perm_any */
	uint32_t max_files;  /* files_under */
	const char *subject; /* path, UCI address, process, sysctl key, user, fact or option */
	const char *owner;
	const char *pkg, *section, *option; /* uci, uci_any (pkg and section: the type) */
	struct kh_audit_vtest vt; /* uci, sysctl, fact, where; vt.re also for line / no_line */
	const struct kh_audit_rule *where; /* uci_any: nwhere tests, all of which a section meets */
	int nwhere;
	uint8_t ip[16];			   /* KH_A_IP: IPv6 or v4-mapped */
	struct kh_audit_list passwords;	   /* more known defaults for this rule */
	struct kh_audit_list except, skip; /* absolute paths */
};

/* A UCI package, section or option name ([A-Za-z0-9_-], '@[]' when at_ok). */
int kh_audit_name_ok(const char *s, size_t n, int at_ok);
/* A sysctl key like "kernel.kptr_restrict". */
int kh_audit_sysctl_ok(const char *s);

/*
 * Regular expressions (policy/audit_re.c): POSIX extended syntax, compiled
 * by the ISP tool into a program the device checks and runs as a Thompson
 * NFA simulation (no backtracking: time linear in the text, memory fixed).
 * A program: u16 instructions, u16 sets, then 4 bytes per instruction
 * (u8 op, u8 byte, u16 target), then 32-byte bitmaps of bracket sets.
 */
#define KH_RE_MAX_INST 256
#define KH_RE_MAX_SETS 32
enum {
	KH_RE_CHAR,  /* the byte */
	KH_RE_ANY,   /* any byte but a newline */
	KH_RE_SET,   /* a byte in set `target` */
	KH_RE_BOL,   /* at the start, or after a newline */
	KH_RE_EOL,   /* at the end, or before a newline */
	KH_RE_JMP,   /* to target */
	KH_RE_SPLIT, /* to the next instruction and to target */
	KH_RE_MATCH,
	KH_RE_NOPS
};
/* The program's length in bytes if it is well-formed within max bytes, else 0. */
size_t kh_re_check(const uint8_t *prog, size_t max);
/* 1 if some part of s (len bytes) matches (as regexec with REG_EXTENDED | REG_NEWLINE). */
int kh_re_match(const uint8_t *prog, const char *s, size_t len);

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
