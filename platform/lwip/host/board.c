/* SPDX-License-Identifier: MIT */
/*
 * The host "board" of the lwIP harness (platform/lwip/board.h): the
 * kernel's entropy, the console on stderr, facts from a NAME=VALUE file. A
 * real board reads its TRNG, writes to its UART and reports its own state
 * (whether the admin password is still the factory one, which services run).
 */
#define _DEFAULT_SOURCE
#include <stdio.h>
#include <string.h>

#include "platform/linux/entropy.h"
#include "platform/lwip/board.h"

int kh_board_entropy(void *buf, size_t len)
{
	return kh_linux_entropy(buf, len);
}

void kh_board_console(int level, const char *ident, const char *line)
{
	static const char *const tag[] = {"error", "warning", "notice", "info", "debug"};

	fprintf(stderr, "%s: %s: %s\n", ident, level >= 0 && level <= 4 ? tag[level] : "log", line);
}

#define MAX_FACTS 64

static struct {
	char name[48], value[128];
} facts[MAX_FACTS];
static int nfacts;

int kh_board_host_facts(const char *path)
{
	FILE *f = fopen(path, "r");
	char line[200];

	if (!f)
		return -1;
	nfacts = 0;
	while (fgets(line, sizeof(line), f) && nfacts < MAX_FACTS) {
		char *eq = strchr(line, '=');
		if (line[0] == '#' || !eq || eq == line ||
		    (size_t)(eq - line) >= sizeof(facts[0].name))
			continue;
		*eq = 0;
		line[strcspn(line, "\n")] = 0;
		eq[1 + strcspn(eq + 1, "\n")] = 0;
		snprintf(facts[nfacts].name, sizeof(facts[0].name), "%.47s", line);
		snprintf(facts[nfacts].value, sizeof(facts[0].value), "%.127s", eq + 1);
		nfacts++;
	}
	fclose(f);
	return 0;
}

const char *kh_board_fact(const char *name)
{
	for (int i = 0; i < nfacts; i++)
		if (strcmp(facts[i].name, name) == 0)
			return facts[i].value;
	return NULL;
}
