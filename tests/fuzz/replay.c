/* SPDX-License-Identifier: MIT */
/*
 * Plain main() for fuzz harnesses: feeds every file of the given corpus
 * directories (or files) to LLVMFuzzerTestOneInput once, so `make test`
 * replays each corpus as a regression test without libFuzzer. A crash or
 * sanitizer report fails the run; the last file named is the culprit.
 */
#define _DEFAULT_SOURCE
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "platform/fs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replay_file(const char *path)
{
	uint8_t *buf;
	size_t len;
	int err = kh_fs_read(path, 16u << 20, &buf, &len);

	if (err) {
		printf("not ok - cannot read %s\n", path);
		return -1;
	}
	fprintf(stderr, "replay %s (%zu bytes)\n", path, len);
	LLVMFuzzerTestOneInput(buf, len);
	free(buf);
	return 0;
}

static int replay(const char *path, int *count)
{
	struct dirent **names;
	struct stat st;
	int n, rc = 0;

	if (stat(path, &st) < 0) {
		printf("not ok - no corpus at %s\n", path);
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		(*count)++;
		return replay_file(path);
	}
	n = scandir(path, &names, NULL, alphasort);
	for (int i = 0; i < n; i++) {
		char full[4096];
		if (names[i]->d_name[0] != '.') {
			snprintf(full, sizeof(full), "%s/%s", path, names[i]->d_name);
			rc |= replay(full, count);
		}
		free(names[i]);
	}
	free(names);
	return rc;
}

int main(int argc, char **argv)
{
	int count = 0, rc = 0;

	for (int i = 1; i < argc; i++)
		rc |= replay(argv[i], &count);
	if (rc == 0)
		printf("ok - replayed %d corpus files without a crash\n", count);
	return rc ? 1 : 0;
}
