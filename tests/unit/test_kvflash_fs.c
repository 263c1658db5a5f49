/* SPDX-License-Identifier: MIT */
/*
 * platform/fs.h on the lwIP backend (platform/lwip/fs.c over the key-value
 * log of kvlog.c) on the host board's file-backed flash: reads, atomic
 * writes, appends, maps, directories and ownership, normalised paths, and a
 * kill -9 of a process appending to a journal. The log itself, on a RAM
 * flash with NOR rules and power cuts, is tested in test_kvflash.c.
 */
#define _DEFAULT_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/log.h"
#include "platform/fs.h"
#include "platform/lwip/fs_lwip.h"
#include "platform/lwip/host/flash_file.h"
#include "platform/rand.h"
#include "platform/test/test_platform.h"
#include "tests/unit/kt.h"

static char tmpdir[64];

static void tmp_path(char *p, size_t n, const char *name)
{
	snprintf(p, n, "%s/%s", tmpdir, name);
}

static void t_fs(void)
{
	struct kh_flash_file ff;
	struct kh_fs_file *f = NULL;
	struct kh_fs_map map;
	char path[128];
	uint8_t *buf = NULL, *big = malloc(1 << 20);
	size_t len;
	uint64_t size = 99;

	tmp_path(path, sizeof(path), "part.bin");
	kh_test_rand_seed(5);
	kh_rand_bytes(big, 1 << 20);
	KT_EQ(kh_fs_read("STATE/x", 100, &buf, &len), -ENODEV);
	KT_EQ(kh_flash_file_open(&ff, path, 4 << 20, 4096, 4, 0), 0);
	KT_EQ(kh_fs_lwip_mount(&ff.flash), 0);

	KT_EQ(kh_fs_read("STATE/client.key", 64, &buf, &len), -ENOENT);
	KT_EQ(kh_fs_mkdir_p("STATE/policy/slot-a", 0700), 0);
	KT_EQ(kh_fs_dir_own("STATE/policy", 1, 1, 0755), 0);
	KT_EQ(kh_fs_write_atomic("STATE/client.key", big, 32, 0600), 0);
	KT_EQ(kh_fs_read("STATE/client.key", 64, &buf, &len), 0);
	KT_EQ(len, 32);
	KT_CHECK(buf && memcmp(buf, big, 32) == 0 && buf[32] == 0);
	free(buf);
	buf = NULL;
	KT_EQ(kh_fs_read("STATE/client.key", 31, &buf, &len), -E2BIG);
	KT_CHECK(buf == NULL);

	/* Paths are normalised into one key. */
	KT_EQ(kh_fs_write_atomic("/STATE//policy/./active", "b\n", 2, 0644), 0);
	KT_EQ(kh_fs_read("STATE/policy/active", 8, &buf, &len), 0);
	KT_CHECK(len == 2 && buf && memcmp(buf, "b\n", 2) == 0);
	free(buf);
	buf = NULL;
	KT_EQ(kh_fs_read("STATE/policy/slot-a/../active/", 8, &buf, &len), 0);
	free(buf);
	buf = NULL;
	KT_EQ(kh_fs_read("..", 8, &buf, &len), -EINVAL);
	KT_EQ(kh_fs_write_atomic("//", "x", 1, 0600), -EINVAL);

	/* An empty file reads with max 0 (policy.c) but does not map. */
	KT_EQ(kh_fs_write_atomic("STATE/policy/slot-a/empty", "", 0, 0644), 0);
	KT_EQ(kh_fs_read("STATE/policy/slot-a/empty", 0, &buf, &len), 0);
	KT_EQ(len, 0);
	free(buf);
	buf = NULL;
	KT_EQ(kh_fs_map("STATE/policy/slot-a/empty", 100, &map), -EBADMSG);

	/* A 1 MiB blocklist index. */
	KT_EQ(kh_fs_write_atomic("STATE/policy/slot-a/blocklist", big, 1 << 20, 0644), 0);
	KT_EQ(kh_fs_map("STATE/policy/slot-a/blocklist", (1 << 20) - 1, &map), -E2BIG);
	KT_EQ(kh_fs_map("STATE/policy/slot-a/blocklist", 8 << 20, &map), 0);
	KT_EQ(map.len, 1 << 20);
	KT_CHECK(map.data && memcmp(map.data, big, 1 << 20) == 0);
	KT_EQ(map.mapped, 0); /* this flash is not memory-mapped: a copy */
	kh_fs_unmap(&map);
	kh_fs_unmap(&map);
	KT_EQ(kh_fs_map("STATE/nope", 100, &map), -ENOENT);

	/* Append files: created empty, size reported on reopen. */
	KT_EQ(kh_fs_append_open("STATE/events.journal", 0600, &f, &size), 0);
	KT_EQ(size, 0);
	KT_EQ(kh_fs_append(f, "one,", 4), 0);
	KT_EQ(kh_fs_append(f, "two,", 4), 0);
	KT_EQ(kh_fs_sync(f), 0);
	kh_fs_close(f);
	kh_fs_close(NULL);
	KT_EQ(kh_fs_append_open("STATE/events.journal", 0600, &f, &size), 0);
	KT_EQ(size, 8);
	KT_EQ(kh_fs_append(f, "three", 5), 0);
	KT_EQ(kh_fs_read("STATE/events.journal", 100, &buf, &len), 0);
	KT_CHECK(len == 13 && buf && memcmp(buf, "one,two,three", 13) == 0);
	free(buf);
	buf = NULL;
	KT_EQ(kh_fs_remove("STATE/events.journal"), 0);
	KT_EQ(kh_fs_append(f, "x", 1), -ENOENT);
	kh_fs_close(f);
	KT_EQ(kh_fs_remove("STATE/events.journal"), 0);
	KT_EQ(kh_fs_read("STATE/events.journal", 100, &buf, &len), -ENOENT);

	/* Everything is in the partition file: unmount, reopen, mount. */
	kh_fs_lwip_unmount();
	kh_flash_file_close(&ff);
	KT_EQ(kh_flash_file_open(&ff, path, 4 << 20, 4096, 4, 1), 0);
	KT_EQ(kh_flash_file_open(&(struct kh_flash_file){0}, path, 2 << 20, 4096, 4, 0), -EINVAL);
	KT_EQ(kh_fs_lwip_mount(&ff.flash), 0);
	KT_EQ(kh_fs_read("STATE/policy/active", 8, &buf, &len), 0);
	KT_CHECK(len == 2 && buf && memcmp(buf, "b\n", 2) == 0);
	free(buf);
	buf = NULL;
	/* Mapped flash: a copy by default (a long-held map would pin a bank) ... */
	KT_EQ(kh_fs_map("STATE/policy/slot-a/blocklist", 8 << 20, &map), 0);
	KT_EQ(map.mapped, 0);
	kh_fs_unmap(&map);
	/* ... and, when the board allows it, the partition itself */
	kh_fs_lwip_direct_maps(1);
	KT_EQ(kh_fs_map("STATE/policy/slot-a/blocklist", 8 << 20, &map), 0);
	kh_fs_lwip_direct_maps(0);
	KT_EQ(map.mapped, 1);
	KT_CHECK(map.data >= ff.flash.map && map.data < ff.flash.map + ff.flash.size);
	KT_CHECK(map.len == 1 << 20 && memcmp(map.data, big, 1 << 20) == 0);
	kh_fs_unmap(&map);
	kh_fs_lwip_unmount();
	kh_flash_file_close(&ff);
	unlink(path);
	free(big);
}

/*
 * kill -9 of a process appending to a journal on the file flash: every
 * append it reported done is there, and the journal is a whole prefix.
 */
static void t_fs_kill(void)
{
	struct kh_flash_file ff;
	char path[128], line[32];
	uint8_t *buf = NULL;
	size_t len, want_len = 0;
	int pfd[2], status;
	unsigned acked = 0, n;
	pid_t pid;

	tmp_path(path, sizeof(path), "kill.bin");
	if (pipe(pfd) < 0)
		KT_SKIP("no pipe");
	pid = fork();
	if (pid == 0) {
		struct kh_fs_file *f;
		close(pfd[0]);
		if (kh_flash_file_open(&ff, path, 64 << 10, 4096, 4, 0) < 0 ||
		    kh_fs_lwip_mount(&ff.flash) < 0 ||
		    kh_fs_append_open("STATE/events.journal", 0600, &f, NULL) < 0)
			_exit(2);
		for (unsigned i = 0;; i++) {
			int l = snprintf(line, sizeof(line), "event %06u;", i);
			if (kh_fs_append(f, line, (size_t)l) < 0 || kh_fs_sync(f) < 0)
				_exit(3);
			if (i % 100 == 99 && kh_fs_write_atomic("STATE/other", line, 5, 0600) < 0)
				_exit(4);
			if (write(pfd[1], &i, sizeof(i)) != sizeof(i))
				_exit(5);
		}
	}
	close(pfd[1]);
	KT_CHECK(pid > 0);
	while (acked < 1000 && read(pfd[0], &n, sizeof(n)) == sizeof(n))
		acked = n + 1;
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	/* Acknowledgements still in the pipe were appended too. */
	while (read(pfd[0], &n, sizeof(n)) == sizeof(n))
		acked = n + 1;
	close(pfd[0]);
	KT_CHECK(WIFSIGNALED(status));
	KT_CHECK(acked >= 1000);

	KT_EQ(kh_flash_file_open(&ff, path, 64 << 10, 4096, 4, 0), 0);
	KT_EQ(kh_fs_lwip_mount(&ff.flash), 0);
	KT_EQ(kh_fs_read("STATE/events.journal", 1 << 20, &buf, &len), 0);
	if (buf) {
		unsigned i = 0;
		for (; want_len < len; i++) {
			int l = snprintf(line, sizeof(line), "event %06u;", i);
			if (len - want_len < (size_t)l ||
			    memcmp(buf + want_len, line, (size_t)l) != 0)
				break;
			want_len += (size_t)l;
		}
		KT_EQ(want_len, len); /* whole records only, in order */
		KT_CHECK(i >= acked);
		printf("# killed after %u acknowledged appends; %u on flash\n", acked, i);
	}
	free(buf);
	kh_fs_lwip_unmount();
	kh_flash_file_close(&ff);
	unlink(path);
}

int main(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/kvflash.XXXXXX");
	if (!mkdtemp(tmpdir))
		return 1;
	kh_log_set_level(KH_LOG_ERROR);
	KT_RUN(t_fs);
	KT_RUN(t_fs_kill);
	rmdir(tmpdir);
	return KT_DONE();
}
