/* SPDX-License-Identifier: MIT */
/* khiend configuration: defaults, a full valid file, and errors that name their path. */
#include "agent/config.h"
#include "kt.h"
#include "lib/err.h"

static char err[512];

static int parse(struct kh_agent_config *c, const char *json)
{
	kh_config_defaults(c);
	err[0] = 0;
	return kh_config_parse(c, json, strlen(json), "t.json", err, sizeof(err));
}

static void test_defaults(void)
{
	struct kh_agent_config c;

	kh_config_defaults(&c);
	KT_EQ(c.nlisten, 1);
	KT_EQ(c.listen[0].port, 53);
	KT_EQ(c.nupstream, 0);
	KT_EQ(c.blocked_ttl, 60);
	KT_EQ(c.default_action, KH_DNS_ACT_NXDOMAIN);
	KT_STREQ(c.user, "khien");
	KT_CHECK(c.canaries && c.client_id_hash);
}

static void test_full_config(void)
{
	struct kh_agent_config c;

	KT_EQ(parse(&c,
		    "{\"dns\": {\"listen\": [\"0.0.0.0:53\", \"[::]:5353\"],"
		    "\"upstreams\": [\"198.18.0.1\"], \"index\": \"/x.idx\", \"blocked_ttl\": 10,"
		    "\"default_action\": \"null\", \"canaries\": false, \"cache\": false,"
		    "\"timeout_ms\": 900, \"client_id\": \"address\", \"tcp_message_ms\": 700,"
		    "\"tcp_idle_ms\": 5000, \"tcp_per_client\": 2, \"inflight_per_client\": 9,"
		    "\"rate_limit\": 0,"
		    "\"blockpage\": {\"ipv4\": \"198.18.0.80\", \"ipv6\": \"2001:db8::80\"},"
		    "\"categories\": {\"adult\": {\"action\": \"blockpage\", \"ede\": \"none\", "
		    "\"event\": true}}},"
		    "\"control\": {\"socket\": \"/tmp/k.sock\", \"group\": \"khien\"},"
		    "\"state_dir\": \"/tmp/st\", \"user\": \"\", \"log_level\": \"debug\"}"),
	      0);
	KT_EQ(c.nlisten, 2);
	KT_EQ(c.listen[1].port, 5353);
	KT_EQ(c.upstream[0].port, 53); /* port 53 when omitted */
	KT_EQ(c.default_action, KH_DNS_ACT_NULL);
	KT_EQ(c.ncats, 1);
	KT_EQ(c.cats[0].action, KH_DNS_ACT_BLOCKPAGE);
	KT_EQ(c.cats[0].ede, 0);
	KT_EQ(c.cats[0].event, 1);
	KT_CHECK(c.has_page4 && c.has_page6 && !c.canaries && !c.cache && !c.client_id_hash);
	KT_STREQ(c.user, "");
	KT_EQ(c.log_level, 4);
	KT_EQ(c.tcp_message_ms, 700);
	KT_EQ(c.tcp_idle_ms, 5000);
	KT_EQ(c.tcp_per_client, 2);
	KT_EQ(c.inflight_per_client, 9);
	KT_EQ(c.rate_limit, 0);
}

static void test_allow_clients(void)
{
	struct kh_agent_config c;
	struct kh_addr a;

	/* The default: loopback and the private ranges. */
	kh_config_defaults(&c);
	kh_addr_parse("192.168.7.9:5353", 0, &a);
	KT_CHECK(kh_cidr_match(&c.allow[3], &a));
	KT_EQ(parse(&c, "{\"dns\": {\"allow_clients\": [\"127.0.0.1/32\", \"10.1.0.0/17\", "
			"\"fd00::/8\", \"::1\"]}}"),
	      0);
	KT_EQ(c.nallow, 4);
	kh_addr_parse("127.0.0.1:1", 0, &a);
	KT_CHECK(kh_cidr_match(&c.allow[0], &a));
	kh_addr_parse("127.0.0.2:1", 0, &a);
	KT_CHECK(!kh_cidr_match(&c.allow[0], &a));
	kh_addr_parse("10.1.127.255:1", 0, &a);
	KT_CHECK(kh_cidr_match(&c.allow[1], &a));
	kh_addr_parse("10.1.128.0:1", 0, &a);
	KT_CHECK(!kh_cidr_match(&c.allow[1], &a));
	kh_addr_parse("[fd12::1]:1", 0, &a);
	KT_CHECK(kh_cidr_match(&c.allow[2], &a) && !kh_cidr_match(&c.allow[1], &a));
	kh_addr_parse("[::1]:53", 0, &a);
	KT_CHECK(kh_cidr_match(&c.allow[3], &a));
}

static void test_errors_name_the_path(void)
{
	struct kh_agent_config c;

	KT_EQ(parse(&c, "{\"dns\": {\"upstreams\": [\"1.2.3.4\", 7]}}"), -EINVAL);
	KT_STREQ(err,
		 "t.json: dns.upstreams[1]: not an address (expected IP:PORT, IPv6 as [IP]:PORT)");
	KT_EQ(parse(&c, "{\"dns\": {\"blockpage\": {\"ipv4\": \"::1\"}}}"), -EINVAL);
	KT_STREQ(err, "t.json: dns.blockpage.ipv4: not an IPv4 address");
	KT_EQ(parse(&c, "{\"dns\": {\"categories\": {\"x\": {\"colour\": 1}}}}"), -EINVAL);
	KT_STREQ(err, "t.json: dns.categories.x.colour: unknown key");
	KT_EQ(parse(&c, "{\"dns\": {\"blockpage\": [1]}}"), -EINVAL);
	KT_STREQ(err, "t.json: dns.blockpage: expected {\"ipv4\": ..., \"ipv6\": ...}");
	KT_EQ(parse(&c, "{\"dns\": {\"timeout_ms\": 1.5}}"), -EINVAL);
	KT_STREQ(err, "t.json: dns.timeout_ms: expected a whole number from 100 to 10000");
	KT_EQ(parse(&c, "{\"dns\": {\"tcp_per_client\": 0}}"), -EINVAL);
	KT_STREQ(err, "t.json: dns.tcp_per_client: expected a whole number from 1 to 16");
	KT_EQ(parse(&c, "{\"dns\": {\"allow_clients\": [\"192.168.1.1/24\"]}}"), -EINVAL);
	KT_STREQ(err, "t.json: dns.allow_clients[0]: not a network (expected IP/BITS with no host "
		      "bits set, or an IP)");
	KT_EQ(parse(&c, "{\"integrity\": {\"interval_s\": 700000}}"), -EINVAL);
	KT_STREQ(err, "t.json: integrity.interval_s: expected a whole number from 0 to 604800");
	KT_EQ(parse(&c, "{\"integrity\": {\"notify\": 1}}"), -EINVAL);
	KT_STREQ(err, "t.json: integrity.notify: expected true or false");
	KT_EQ(parse(&c, "{\"integrity\": {\"root\": \"/\"}}"), -EINVAL);
	KT_STREQ(err, "t.json: integrity.root: unknown key");
	KT_EQ(parse(&c, "{\"integrity\": {\"interval_s\": 0, \"notify\": false}}"), 0);
	KT_CHECK(c.integrity_interval_s == 0 && c.integrity_notify == 0);
	KT_EQ(parse(&c, "[1, 2]"), -EINVAL);
	KT_STREQ(err, "t.json: : expected a JSON object at the top");
	KT_EQ(parse(&c, "{\n\n\"dns\": }"), -EINVAL);
	KT_STREQ(err, "t.json:3: invalid JSON near '}'");
	KT_EQ(kh_config_parse(&c, "{\"dns", 5, "t.json", err, sizeof(err)), -EINVAL);
	KT_STREQ(err, "t.json:1: invalid JSON near 'dns'"); /* the unterminated string */
}

static void test_firmware_section(void)
{
	struct kh_agent_config c;

	KT_EQ(parse(&c, "{}"), 0);
	KT_EQ(c.fw_interval_s, 86400);
	KT_STREQ(c.fw_partition, "");
	KT_EQ(parse(&c, "{\"firmware\": {\"partition\": \"/dev/mtdblock5\", \"part\": "
			"\"rootfs\", \"interval_s\": 600}}"),
	      0);
	KT_STREQ(c.fw_partition, "/dev/mtdblock5");
	KT_STREQ(c.fw_part, "rootfs");
	KT_EQ(c.fw_interval_s, 600);
	KT_EQ(parse(&c, "{\"firmware\": {\"interval_s\": 604801}}"), -EINVAL);
	KT_STREQ(err, "t.json: firmware.interval_s: expected a whole number from 0 to 604800");
	KT_EQ(parse(&c, "{\"firmware\": {\"part\": \"0123456789012345678901234567890123\"}}"),
	      -EINVAL);
	KT_STREQ(err, "t.json: firmware.part: expected a string of at most 32 bytes");
	KT_EQ(parse(&c, "{\"firmware\": {\"slot\": 1}}"), -EINVAL);
	KT_STREQ(err, "t.json: firmware.slot: unknown key");
	KT_EQ(parse(&c, "{\"firmware\": 1}"), -EINVAL);
	KT_STREQ(err, "t.json: firmware: expected {\"partition\", \"part\", \"interval_s\"}");
}

static void test_web_section(void)
{
	struct kh_agent_config c;

	KT_EQ(parse(&c, "{}"), 0);
	KT_EQ(c.nweb_listen, 0); /* no pages unless asked for */
	KT_EQ(c.web_head_timeout_ms, 5000);
	KT_EQ(parse(&c, "{\"web\": {\"listen\": [\"192.168.1.1\", \"[fd00::1]:8080\"], "
			"\"isp_name\": \"VNPT\", \"isp_contact\": \"Tổng đài 18001091\", "
			"\"head_timeout_ms\": 2000, \"per_client\": 2, \"rate\": 3}}"),
	      0);
	KT_EQ(c.nweb_listen, 2);
	KT_EQ(c.web_listen[0].port, 80); /* the default port */
	KT_EQ(c.web_listen[1].port, 8080);
	KT_STREQ(c.web_isp_name, "VNPT");
	KT_STREQ(c.web_isp_contact, "Tổng đài 18001091");
	KT_EQ(c.web_head_timeout_ms, 2000);
	KT_EQ(c.web_per_client, 2);
	KT_EQ(c.web_rate, 3);
	KT_EQ(parse(&c, "{\"web\": {\"listen\": [\"router.lan\"]}}"), -EINVAL);
	KT_STREQ(err, "t.json: web.listen[0]: not an address (expected IP:PORT, IPv6 as "
		      "[IP]:PORT)");
	KT_EQ(parse(&c, "{\"web\": {\"listen\": [\"1.1.1.1\", \"1.1.1.2\", \"1.1.1.3\"]}}"),
	      -EINVAL);
	KT_STREQ(err, "t.json: web.listen: at most 2 entries (CONFIG)");
	KT_EQ(parse(&c, "{\"web\": {\"head_timeout_ms\": 10}}"), -EINVAL);
	KT_STREQ(err, "t.json: web.head_timeout_ms: expected a whole number from 100 to 60000");
	KT_EQ(parse(&c, "{\"web\": {\"port\": 80}}"), -EINVAL);
	KT_STREQ(err, "t.json: web.port: unknown key");
	KT_EQ(parse(&c, "{\"web\": []}"), -EINVAL);
}

/* report.urls: servers tried in order; report.url is a list of one; bounds on both. */
static void test_report_urls(void)
{
	struct kh_agent_config c;
	char big[400], doc[600];

	KT_EQ(parse(&c, "{\"report\": {\"url\": \"https://127.0.0.1:1\"}}"), 0);
	KT_EQ(c.nreport_urls, 1);
	KT_STREQ(c.report_urls[0], "https://127.0.0.1:1");
	KT_EQ(c.report_failback_s, 3600);
	KT_EQ(parse(&c, "{\"report\": {\"urls\": [\"https://a.example:1\", "
			"\"https://127.0.0.2:2\"], \"connect\": [\"127.0.0.1:1\", \"\"], "
			"\"failback_s\": 600}}"),
	      0);
	KT_EQ(c.nreport_urls, 2);
	KT_STREQ(c.report_urls[1], "https://127.0.0.2:2");
	KT_EQ(c.nreport_connect, 2);
	KT_STREQ(c.report_connect[1], "");
	KT_EQ(c.report_failback_s, 600);
	KT_EQ(parse(&c, "{\"report\": {\"url\": \"https://127.0.0.1:1\", \"urls\": "
			"[\"https://127.0.0.1:2\"]}}"),
	      -EINVAL);
	KT_STREQ(err, "t.json: report.urls: give url or urls, not both");
	KT_EQ(parse(&c, "{\"report\": {\"urls\": [\"https://1.0.0.1:1\", \"https://1.0.0.1:2\", "
			"\"https://1.0.0.1:3\", \"https://1.0.0.1:4\", \"https://1.0.0.1:5\"]}}"),
	      -EINVAL);
	KT_STREQ(err, "t.json: report.urls: at most 4 servers");
	KT_EQ(parse(&c, "{\"report\": {\"urls\": []}}"), -EINVAL);
	KT_EQ(parse(&c, "{\"report\": {\"urls\": [\"https://1.0.0.1:1\", \"https://1.0.0.1:1\"]}}"),
	      -EINVAL);
	KT_STREQ(err, "t.json: report.urls[1]: given twice");
	KT_EQ(parse(&c, "{\"report\": {\"urls\": [\"https://1.0.0.1:1\", \"http://1.0.0.1:2\"]}}"),
	      -EINVAL);
	KT_STREQ(err, "t.json: report.urls[1]: expected https://HOST:PORT");
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	snprintf(doc, sizeof(doc), "{\"report\": {\"urls\": [\"https://%s:1\"]}}", big);
	KT_EQ(parse(&c, doc), -EINVAL);
	KT_STREQ(err, "t.json: report.urls[0]: longer than 255 characters");
	KT_EQ(parse(&c, "{\"report\": {\"connect\": [\"x\"]}}"), -EINVAL);
	KT_STREQ(err,
		 "t.json: report.connect[0]: expected IP:PORT (or \"\": the URL's own address)");
	KT_EQ(parse(&c, "{\"report\": {\"failback_s\": 5}}"), -EINVAL);
}

int main(void)
{
	KT_RUN(test_defaults);
	KT_RUN(test_full_config);
	KT_RUN(test_errors_name_the_path);
	KT_RUN(test_allow_clients);
	KT_RUN(test_firmware_section);
	KT_RUN(test_web_section);
	KT_RUN(test_report_urls);
	return KT_DONE();
}
