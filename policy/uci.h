/* SPDX-License-Identifier: MIT */
/*
 * A reader for OpenWrt UCI configuration files (/etc/config/PKG), as the
 * audit sees them: sections (named, or anonymous and addressed as
 * @type[N], N < 0 counting from the end), options and lists. Untrusted
 * input (a device's or an image's file): bounded, and every error names
 * the line. Read-only; nothing here writes UCI.
 */
#ifndef KHIEN_POLICY_UCI_H
#define KHIEN_POLICY_UCI_H

#include <stddef.h>

#define KH_UCI_MAX_TEXT (256 * 1024)
#define KH_UCI_MAX_SECTIONS 1024
#define KH_UCI_MAX_OPTIONS 8192 /* options and list values of a file, all together */
#define KH_UCI_MAX_VALUE 4096

struct kh_uci;

/* Parse text (len bytes); on error -EBADMSG (or -ENOMEM, -E2BIG) and "line N: why" in err. */
int kh_uci_parse(const char *text, size_t len, struct kh_uci **out, char *err, size_t errlen);
void kh_uci_free(struct kh_uci *u);

/* The section index named by spec ("name" or "@type[N]"), or -1 if none. */
int kh_uci_section(const struct kh_uci *u, const char *spec);
/* Number of sections, and the type and name (NULL when anonymous) of section i. */
int kh_uci_sections(const struct kh_uci *u);
const char *kh_uci_section_type(const struct kh_uci *u, int i);
const char *kh_uci_section_name(const struct kh_uci *u, int i);

/*
 * The values of option name in section i: an option has one, a list as
 * many as it has. Up to max pointers are stored in vals; the count is
 * returned (0: no such option).
 */
int kh_uci_get(const struct kh_uci *u, int i, const char *name, const char **vals, int max);

/* The line of section i's first "config" line. */
int kh_uci_section_line(const struct kh_uci *u, int i);

/*
 * Options and list values in file order: kh_uci_options() of them; option
 * k's name, value and line, and its section's index as the result, or -1
 * when a later "option" of the same name replaced it.
 */
int kh_uci_options(const struct kh_uci *u);
int kh_uci_option(const struct kh_uci *u, int k, const char **name, const char **value, int *line);

/*
 * 1 if s is a UCI type: 1 to 63 of letters, digits, '_' and '-'. Section and
 * option names in a file are stricter ('-' is refused, as libuci does).
 */
int kh_uci_name_ok(const char *s);

#endif
