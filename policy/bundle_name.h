/* SPDX-License-Identifier: MIT */
/*
 * Which component names a policy bundle may carry. Every name becomes a
 * file in a policy slot (STATE/policy/slot-X/NAME) next to the slot's
 * manifest and the agent's temporary files, so a name must be one plain
 * file name that cannot collide with those: the bundle tool refuses the
 * same names the device's verifier refuses, with this one check.
 */
#ifndef KHIEN_POLICY_BUNDLE_NAME_H
#define KHIEN_POLICY_BUNDLE_NAME_H

#include <string.h>

#include "policy/trust.h"

/*
 * NULL if s is a valid component name, else why not: 1-32 characters of
 * [a-z0-9._-], starting with a letter or digit (so no ".", "..", hidden or
 * option-like names; '/', NUL and control characters are refused as any
 * other character), not "manifest" or "manifest.*" (the slot's manifest
 * and what is kept beside it), and without ".tmp" (temporary files).
 */
static inline const char *kh_bundle_name_problem(const char *s)
{
	size_t n = strlen(s);

	if (n == 0)
		return "empty component name";
	if (n > KH_BUNDLE_NAME_MAX)
		return "component name longer than 32 characters";
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch == '/')
			return "'/' in a component name (it is a file name in the policy slot)";
		if (ch < 0x20 || ch == 0x7f)
			return "control character in a component name";
		if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-' ||
		      ch == '_' || ch == '.'))
			return "component names use only a-z 0-9 . _ -";
	}
	if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= '0' && s[0] <= '9')))
		return "a component name starts with a letter or digit (no '.', '..', hidden "
		       "names)";
	if (strcmp(s, "manifest") == 0 || strncmp(s, "manifest.", 9) == 0)
		return "'manifest' is reserved for the policy slot's manifest";
	if (strstr(s, ".tmp"))
		return "'.tmp' in a component name is reserved for temporary files";
	return NULL;
}

#endif
