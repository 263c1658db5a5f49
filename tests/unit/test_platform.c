/* SPDX-License-Identifier: MIT */
/*
 * platform/ services other than the loop: address parsing, UDP and TCP over
 * loopback driven by the loop, bounded and atomic file I/O, read-only maps,
 * the fake clock and deterministic RNG of the test backend, log levels.
 */
#define _DEFAULT_SOURCE
#include <sys/stat.h>
#include <unistd.h>

#include "kt.h"
#include "lib/err.h"
#include "lib/log.h"
#include "platform/fs.h"
#include "platform/loop.h"
#include "platform/net.h"
#include "platform/rand.h"
#include "platform/test/test_platform.h"
#include "platform/time.h"

static void test_addr_parse_format(void)
{
	struct kh_addr a, b;
	char buf[KH_ADDR_STRLEN];

	KT_EQ(kh_addr_parse("127.0.0.1:53", 0, &a), 0);
	KT_EQ(a.family, KH_AF_INET);
	KT_EQ(a.port, 53);
	kh_addr_format(&a, buf, sizeof(buf));
	KT_STREQ(buf, "127.0.0.1:53");
	KT_EQ(kh_addr_parse("[::1]:5353", 0, &a), 0);
	KT_EQ(a.family, KH_AF_INET6);
	kh_addr_format(&a, buf, sizeof(buf));
	KT_STREQ(buf, "[::1]:5353");
	KT_EQ(kh_addr_parse("198.18.0.1", 53, &b), 0);
	KT_EQ(b.port, 53);
	KT_EQ(kh_addr_parse("::1", 53, &b), 0);
	KT_EQ(b.family, KH_AF_INET6);
	KT_EQ(kh_addr_parse("198.18.0.1", 0, &b), -EINVAL);
	KT_EQ(kh_addr_parse("1.2.3.4:70000", 0, &b), -EINVAL);
	KT_EQ(kh_addr_parse("1.2.3.4:", 0, &b), -EINVAL);
	KT_EQ(kh_addr_parse("1.2.3.4:-1", 0, &b), -EINVAL);
	KT_EQ(kh_addr_parse("example.com:53", 0, &b), -EINVAL);
	KT_EQ(kh_addr_parse("[::1", 0, &b), -EINVAL);
	KT_EQ(kh_addr_parse("1.2.3.256:53", 0, &b), -EINVAL);
	KT_EQ(kh_addr_parse("01.2.3.4:53", 0, &b), -EINVAL); /* octal to some parsers */
	KT_EQ(kh_addr_parse("[1::2::3]:53", 0, &b), -EINVAL);
	KT_EQ(kh_addr_parse("[12345::1]:53", 0, &b), -EINVAL);
	/* RFC 5952 text: the longest zero run compressed, the first of equal runs */
	{
		static const char *const v6[][2] = {
			{"2001:DB8:0:0:1:0:0:1", "[2001:db8::1:0:0:1]:1"},
			{"2001:db8:0:0:0:0:2:1", "[2001:db8::2:1]:1"},
			{"::", "[::]:1"},
			{"1::", "[1::]:1"},
			{"::ffff:198.18.0.1", "[::ffff:c612:1]:1"},
			{"2001:db8:0:1:1:1:1:1", "[2001:db8:0:1:1:1:1:1]:1"},
		};
		for (size_t i = 0; i < sizeof(v6) / sizeof(v6[0]); i++) {
			KT_EQ(kh_addr_parse(v6[i][0], 1, &b), 0);
			kh_addr_format(&b, buf, sizeof(buf));
			KT_STREQ(buf, v6[i][1]);
		}
	}
	KT_CHECK(!kh_addr_equal(&a, &b));
}

struct echo {
	kh_sock s;
	int replies;
	char last[64];
};

static void on_udp(struct kh_loop *l, int fd, unsigned ev, void *arg)
{
	struct echo *e = arg;
	struct kh_addr from;
	int n;

	(void)ev;
	n = kh_net_recvfrom(fd, e->last, sizeof(e->last) - 1, &from);
	if (n > 0) {
		e->last[n] = 0;
		e->replies++;
		kh_loop_stop(l);
	}
}

static void test_udp_loopback(void)
{
	struct kh_loop *l;
	struct kh_addr any, srv;
	struct echo e = {0};
	kh_sock c;

	KT_EQ(kh_loop_new(&l), 0);
	KT_EQ(kh_addr_parse("127.0.0.1:0", 0, &any), 0);
	KT_EQ(kh_net_udp_open(&any, &e.s), 0);
	KT_EQ(kh_net_local_addr(e.s, &srv), 0);
	KT_CHECK(srv.port != 0);
	KT_EQ(kh_net_udp_open(&any, &c), 0);
	KT_EQ(kh_net_recvfrom(e.s, e.last, sizeof(e.last), NULL), -EAGAIN);
	KT_EQ(kh_loop_fd_add(l, e.s, KH_EV_READ, on_udp, &e), 0);
	KT_EQ(kh_net_sendto(c, "ping", 4, &srv), 4);
	for (int i = 0; i < 50 && !e.replies; i++)
		kh_loop_run_once(l, 100);
	KT_EQ(e.replies, 1);
	KT_STREQ(e.last, "ping");
	kh_net_close(c);
	kh_net_close(e.s);
	kh_loop_free(l);
}

static void test_tcp_loopback(void)
{
	struct kh_addr a, peer;
	kh_sock lst, c, s = -1;
	char buf[16];
	int n = -EAGAIN;

	KT_EQ(kh_addr_parse("127.0.0.1:0", 0, &a), 0);
	KT_EQ(kh_net_tcp_listen(&a, 8, &lst), 0);
	KT_EQ(kh_net_local_addr(lst, &a), 0);
	KT_EQ(kh_net_tcp_accept(lst, &s, &peer), -EAGAIN);
	KT_EQ(kh_net_tcp_connect(&a, &c), 0);
	for (int i = 0; i < 100 && kh_net_tcp_accept(lst, &s, &peer) == -EAGAIN; i++)
		usleep(1000);
	KT_CHECK(s >= 0);
	for (int i = 0; i < 100 && kh_net_send(c, "hello", 5) == -EAGAIN; i++)
		usleep(1000);
	for (int i = 0; i < 100 && (n = kh_net_recv(s, buf, sizeof(buf))) == -EAGAIN; i++)
		usleep(1000);
	KT_EQ(n, 5);
	KT_MEMEQ(buf, "hello", 5);
	kh_net_close(c);
	for (int i = 0; i < 100 && (n = kh_net_recv(s, buf, sizeof(buf))) == -EAGAIN; i++)
		usleep(1000);
	KT_EQ(n, 0); /* orderly close */
	kh_net_close(s);
	kh_net_close(lst);
}

static void test_fs_atomic_read_map(void)
{
	char dir[] = "/tmp/khien-fs-XXXXXX", path[128], nested[160];
	struct kh_fs_map m;
	struct stat st;
	uint8_t *buf;
	size_t len;

	KT_CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/state.bin", dir);
	KT_EQ(kh_fs_read(path, 100, &buf, &len), -ENOENT);
	KT_EQ(kh_fs_write_atomic(path, "first", 5, 0600), 0);
	KT_EQ(kh_fs_write_atomic(path, "second!", 7, 0600), 0);
	KT_EQ(stat(path, &st), 0);
	KT_EQ(st.st_mode & 0777, 0600);
	KT_EQ(kh_fs_read(path, 100, &buf, &len), 0);
	KT_EQ(len, 7);
	KT_STREQ((char *)buf, "second!");
	free(buf);
	KT_EQ(kh_fs_read(path, 6, &buf, &len), -E2BIG);
	KT_EQ(kh_fs_map(path, 100, &m), 0);
	KT_EQ(m.len, 7);
	KT_MEMEQ(m.data, "second!", 7);
	kh_fs_unmap(&m);
	kh_fs_unmap(&m); /* idempotent */
	KT_EQ(kh_fs_map(path, 3, &m), -E2BIG);
	KT_EQ(kh_fs_map(dir, 100, &m), -EINVAL);
	KT_EQ(kh_fs_read(dir, 100, &buf, &len), -EISDIR);
	snprintf(nested, sizeof(nested), "%s/a/b/c", dir);
	KT_EQ(kh_fs_mkdir_p(nested, 0700), 0);
	KT_EQ(kh_fs_mkdir_p(nested, 0700), 0);
	KT_EQ(kh_fs_remove(path), 0);
	KT_EQ(kh_fs_remove(path), 0);
	KT_EQ(kh_fs_read("/proc/self/status", 1 << 20, &buf, &len), 0); /* size unknown to stat */
	KT_CHECK(len > 0);
	free(buf);
	rmdir(nested);
	snprintf(nested, sizeof(nested), "%s/a/b", dir);
	rmdir(nested);
	snprintf(nested, sizeof(nested), "%s/a", dir);
	rmdir(nested);
	rmdir(dir);
}

static void test_fake_clock_and_rng(void)
{
	uint64_t t0 = kh_time_mono_ms();
	int64_t w0 = kh_time_wall();
	uint8_t a[16], b[16];

	kh_test_clock_advance(2500);
	KT_EQ(kh_time_mono_ms() - t0, 2500);
	KT_EQ(kh_time_wall() - w0, 2);
	kh_test_clock_set_wall(2000000000);
	KT_EQ(kh_time_wall(), 2000000000);
	kh_test_rand_seed(7);
	kh_rand_bytes(a, sizeof(a));
	kh_test_rand_seed(7);
	kh_rand_bytes(b, sizeof(b));
	KT_MEMEQ(a, b, sizeof(a));
	kh_rand_bytes(b, sizeof(b));
	KT_CHECK(memcmp(a, b, sizeof(a)) != 0);
}

static void test_log_levels(void)
{
	KT_EQ(kh_log_parse_level("debug"), KH_LOG_DEBUG);
	KT_EQ(kh_log_parse_level("error"), KH_LOG_ERROR);
	KT_EQ(kh_log_parse_level("2"), KH_LOG_NOTICE);
	KT_EQ(kh_log_parse_level("loud"), -EINVAL);
	KT_STREQ(kh_strerror(-ENOENT), "No such file or directory");
	KT_STREQ(kh_strerror(-EBADMSG), "malformed or corrupt data");
}

int main(void)
{
	KT_RUN(test_addr_parse_format);
	KT_RUN(test_udp_loopback);
	KT_RUN(test_tcp_loopback);
	KT_RUN(test_fs_atomic_read_map);
	KT_RUN(test_fake_clock_and_rng);
	KT_RUN(test_log_levels);
	return KT_DONE();
}
