/* SPDX-License-Identifier: MIT */
/*
 * khiend's UCI form (agent/config.c over policy/uci.c): OpenWrt's syntax,
 * the same settings as the JSON form (compared through kh_config_print),
 * and errors that name file:line and the UCI place.
 */
#include <cjson/cJSON.h>

#include "agent/config.h"
#include "kt.h"
#include "lib/err.h"

static char err[512];

static int uci(struct kh_agent_config *c, const char *text)
{
	kh_config_defaults(c);
	err[0] = 0;
	return kh_config_parse_uci(c, text, strlen(text), "/etc/config/khien", NULL, err,
				   sizeof(err));
}

static int json(struct kh_agent_config *c, const char *text)
{
	kh_config_defaults(c);
	err[0] = 0;
	return kh_config_parse(c, text, strlen(text), "t.json", err, sizeof(err));
}

/* Every setting, in the form an OpenWrt user edits. */
static const char full_uci[] = "# /etc/config/khien\n"
			       "package khien\n"
			       "\n"
			       "config khien 'main'\n"
			       "\toption enabled '1'   # the init script's switch\n"
			       "\toption state_dir '/tmp/khien-state'\n"
			       "\toption user 'nobody'\n"
			       "\toption log_level \"debug\"\n"
			       "\n"
			       "config dns 'dns'\n"
			       "\tlist listen '192.168.1.1:53'\n"
			       "\tlist listen '[fd00::1]:53'\n"
			       "\tlist upstream 1.1.1.1\n"
			       "\tlist upstream '9.9.9.9:5353'\n"
			       "\toption index '/etc/khien/blocklist.idx'\n"
			       "\toption blocked_ttl 30\n"
			       "\toption default_action 'null'\n"
			       "\toption canaries '0'\n"
			       "\toption cache off\n"
			       "\toption timeout_ms 900\n"
			       "\toption tcp_idle_ms 5000\n"
			       "\toption tcp_message_ms 700\n"
			       "\toption tcp_per_client 2\n"
			       "\toption inflight_per_client 9\n"
			       "\toption rate_limit 0\n"
			       "\toption client_id address\n"
			       "\tlist allow_client '192.168.1.0/24'\n"
			       "\tlist allow_client 'fd00::/64'\n"
			       "\toption blockpage_ipv4 '198.18.0.80'\n"
			       "\toption blockpage_ipv6 '2001:db8::80'\n"
			       "\n"
			       "config category 'adult'\n"
			       "\toption action 'blockpage'\n"
			       "\toption ede 'filtered'\n"
			       "\toption event 'false'\n"
			       "config category 'malware'\n"
			       "\toption event 1\n"
			       "\n"
			       "config policy 'policy'\n"
			       "\toption trust_root '/etc/khien/root.json'\n"
			       "\toption hardware_id 'vnpt-ont-g97'\n"
			       "\toption bundle '/etc/khien/factory.bundle'\n"
			       "config report 'report'\n"
			       "\toption url 'https://198.18.0.10:8443'\n"
			       "\toption connect '198.18.0.10:8443'\n"
			       "\toption serial 'VNPT-0001'\n"
			       "\toption server_ca '/etc/khien/server-ca.pem'\n"
			       "\toption cert '/etc/khien/device.pem'\n"
			       "\toption key '/etc/khien/device.key'\n"
			       "\toption firmware 'OpenWrt 23.05'\n"
			       "\toption interval_s 120\n"
			       "\toption queue_events 500\n"
			       "\toption queue_kb 256\n"
			       "config control 'control'\n"
			       "\toption socket '/var/run/khien.sock'\n"
			       "\toption group 'khien'\n"
			       "config audit 'audit'\n"
			       "\toption interval_s 0\n"
			       "\toption root '/'\n"
			       "config firmware 'firmware'\n"
			       "\toption partition '/dev/mtdblock5'\n"
			       "\toption part 'rootfs'\n"
			       "\toption interval_s 600\n"
			       "config integrity 'integrity'\n"
			       "\toption interval_s 7200\n"
			       "\toption notify 'no'\n"
			       "config web 'web'\n"
			       "\tlist listen '192.168.1.1:80'\n"
			       "\tlist listen '[fd00::1]:8080'\n"
			       "\toption isp_name 'VNPT'\n"
			       "\toption isp_contact 'Tổng đài 18001091'\n"
			       "\toption head_timeout_ms 2000\n"
			       "\toption rate 3\n";

static const char full_json[] =
	"{\"dns\": {\"listen\": [\"192.168.1.1:53\", \"[fd00::1]:53\"],"
	"\"upstreams\": [\"1.1.1.1\", \"9.9.9.9:5353\"], \"index\": \"/etc/khien/blocklist.idx\","
	"\"blocked_ttl\": 30, \"default_action\": \"null\", \"canaries\": false, \"cache\": false,"
	"\"timeout_ms\": 900, \"tcp_idle_ms\": 5000, \"tcp_message_ms\": 700,"
	"\"tcp_per_client\": 2, \"inflight_per_client\": 9, \"rate_limit\": 0,"
	"\"client_id\": \"address\", \"allow_clients\": [\"192.168.1.0/24\", \"fd00::/64\"],"
	"\"blockpage\": {\"ipv4\": \"198.18.0.80\", \"ipv6\": \"2001:db8::80\"},"
	"\"categories\": {\"adult\": {\"action\": \"blockpage\", \"ede\": \"filtered\","
	"\"event\": false}, \"malware\": {\"event\": true}}},"
	"\"policy\": {\"trust_root\": \"/etc/khien/root.json\", \"hardware_id\": "
	"\"vnpt-ont-g97\", \"bundle\": \"/etc/khien/factory.bundle\"},"
	"\"report\": {\"url\": \"https://198.18.0.10:8443\", \"connect\": \"198.18.0.10:8443\","
	"\"serial\": \"VNPT-0001\", \"server_ca\": \"/etc/khien/server-ca.pem\","
	"\"cert\": \"/etc/khien/device.pem\", \"key\": \"/etc/khien/device.key\","
	"\"firmware\": \"OpenWrt 23.05\", \"interval_s\": 120, \"queue_events\": 500,"
	"\"queue_kb\": 256},"
	"\"control\": {\"socket\": \"/var/run/khien.sock\", \"group\": \"khien\"},"
	"\"audit\": {\"interval_s\": 0, \"root\": \"/\"},"
	"\"firmware\": {\"partition\": \"/dev/mtdblock5\", \"part\": \"rootfs\", "
	"\"interval_s\": 600},"
	"\"integrity\": {\"interval_s\": 7200, \"notify\": false},"
	"\"web\": {\"listen\": [\"192.168.1.1:80\", \"[fd00::1]:8080\"], \"isp_name\": \"VNPT\","
	"\"isp_contact\": \"Tổng đài 18001091\", \"head_timeout_ms\": 2000, \"rate\": 3},"
	"\"state_dir\": \"/tmp/khien-state\", \"user\": \"nobody\", \"log_level\": \"debug\"}";

static void test_uci_equals_json(void)
{
	struct kh_agent_config a, b;
	char *pa, *pb, *pc;

	KT_EQ(uci(&a, full_uci), 0);
	KT_STREQ(err, "");
	KT_EQ(json(&b, full_json), 0);
	pa = kh_config_print(&a);
	pb = kh_config_print(&b);
	KT_CHECK(pa && pb);
	if (!pa || !pb)
		return;
	KT_STREQ(pa, pb);
	/* spot checks, so that two equally wrong prints cannot pass */
	KT_EQ(a.nlisten, 2);
	KT_EQ(a.upstream[1].port, 5353);
	KT_EQ(a.nweb_listen, 2);
	KT_EQ(a.web_rate, 3);
	KT_EQ(a.ncats, 2);
	KT_EQ(a.cats[0].ede, 17);
	KT_EQ(a.cats[1].event, 1);
	KT_CHECK(!a.canaries && !a.cache && !a.client_id_hash && !a.integrity_notify);
	KT_EQ(a.nallow, 2);
	KT_EQ(a.report_queue_kb, 256);
	KT_STREQ(a.fw_part, "rootfs");
	/* the print is the JSON form: parsed again, the same settings */
	KT_EQ(json(&b, pa), 0);
	pc = kh_config_print(&b);
	KT_CHECK(pc && strcmp(pa, pc) == 0);
	cJSON_free(pa);
	cJSON_free(pb);
	cJSON_free(pc);
}

static void test_uci_syntax(void)
{
	struct kh_agent_config c;

	/* anonymous sections, a repeated named section adding to the first, continuation */
	KT_EQ(uci(&c, "config dns\n"
		      "\tlist upstream 1.1.1.1\n"
		      "config dns 'dns'\n"
		      "\toption timeout_ms \\\n"
		      "\t\t2000\n"
		      "config dns 'dns'\n"
		      "\toption rate_limit 7 # comment\n"
		      "config category ads\n"
		      "\toption action \"dr\"'op'\n"),
	      0);
	KT_EQ(c.nupstream, 1);
	KT_EQ(c.timeout_ms, 2000);
	KT_EQ(c.rate_limit, 7);
	KT_EQ(c.cats[0].action, KH_DNS_ACT_DROP);
	/* a later option replaces an earlier one, as uci does */
	KT_EQ(uci(&c, "config dns\n option blocked_ttl 5\n option blocked_ttl 6\n"), 0);
	KT_EQ(c.blocked_ttl, 6);
	/* an empty file is the defaults */
	KT_EQ(uci(&c, "# nothing\n"), 0);
	KT_EQ(c.nupstream, 0);
	KT_CHECK(!kh_config_is_json("config dns\n", 11));
	KT_CHECK(kh_config_is_json("\n  {\"dns\": {}}", 14));
}

static void test_uci_errors(void)
{
	struct kh_agent_config c;

	KT_EQ(uci(&c, "config dns 'dns'\n\tlist upstream 1.1.1.1\n\tlist upstream "
		      "'not-an-ip'\n"),
	      -EINVAL);
	KT_STREQ(err, "/etc/config/khien:3: khien.dns.upstream[1]: not an address (expected "
		      "IP:PORT, IPv6 as [IP]:PORT)");
	KT_EQ(uci(&c, "config dns\n\n\toption upstream 'x\n"), -EINVAL);
	KT_STREQ(err, "/etc/config/khien:3: unterminated quote");
	KT_EQ(uci(&c, "config dns\nvalue x y\n"), -EINVAL);
	KT_STREQ(err, "/etc/config/khien:2: unknown keyword (expected package, config, option "
		      "or list)");
	KT_EQ(uci(&c, "config dns\n option timeout_ms 5\n"), -EINVAL);
	KT_STREQ(err, "/etc/config/khien:2: khien.@dns[0].timeout_ms: expected a whole number "
		      "from 100 to 10000");
	KT_EQ(uci(&c, "config dns\n option timeout_ms fast\n"), -EINVAL);
	KT_STREQ(err, "/etc/config/khien:2: khien.@dns[0].timeout_ms: expected a whole number "
		      "from 100 to 10000");
	KT_EQ(uci(&c, "config dns 'dns'\n option canaries maybe\n"), -EINVAL);
	KT_STREQ(err, "/etc/config/khien:2: khien.dns.canaries: expected true or false");
	KT_EQ(uci(&c, "config dns 'dns'\n option upstreams 1.1.1.1\n"), -EINVAL);
	KT_STREQ(err, "/etc/config/khien:2: khien.dns.upstreams: unknown option");
	KT_EQ(uci(&c, "config dns 'dns'\n option frobnicate 1\n"), -EINVAL);
	KT_STREQ(err, "/etc/config/khien:2: khien.dns.frobnicate: unknown key");
	KT_EQ(uci(&c, "\nconfig dnsmasq\n"), -EINVAL);
	KT_STREQ(err, "/etc/config/khien:2: khien.@dnsmasq[0]: unknown section type 'dnsmasq' "
		      "(expected khien, dns, category, policy, report, control, audit, "
		      "firmware, integrity, web, profile or schedule)");
	KT_EQ(uci(&c, "config category\n option action drop\n"), -EINVAL);
	KT_STREQ(err, "/etc/config/khien:1: khien.@category[0]: a category section needs a "
		      "name: config category 'NAME'");
	KT_EQ(uci(&c, "config category 'adult'\n option action 'nope'\n"), -EINVAL);
	KT_STREQ(err, "/etc/config/khien:2: khien.adult.action: expected nxdomain, nodata, null, "
		      "blockpage, refused, drop or allow (off unless a profile blocks it)");
	KT_EQ(uci(&c, "config dns 'dns'\n option blockpage_ipv6 '1.2.3.4'\n"), -EINVAL);
	KT_STREQ(err, "/etc/config/khien:2: khien.dns.blockpage_ipv6: not an IPv6 address");
	KT_EQ(uci(&c, "config dns 'dns'\n list index a\n list index b\n"), -EINVAL);
	KT_STREQ(err, "/etc/config/khien:3: khien.dns.index: one value (option), not a list");
	KT_EQ(uci(&c, "config khien 'main'\n option dns x\n"), -EINVAL);
	KT_STREQ(err, "/etc/config/khien:2: khien.main.dns: unknown option");
	KT_EQ(uci(&c, "config report 'report'\n option url 'http://x'\n"), -EINVAL);
	KT_STREQ(err, "/etc/config/khien:2: khien.report.url: expected https://HOST:PORT");
	KT_EQ(uci(&c, "config dns 'dns'\n list allow_client 10.0.0.1/8\n"), -EINVAL);
	KT_STREQ(err, "/etc/config/khien:2: khien.dns.allow_client[0]: not a network (expected "
		      "IP/BITS with no host bits set, or an IP)");
}

int main(void)
{
	KT_RUN(test_uci_equals_json);
	KT_RUN(test_uci_syntax);
	KT_RUN(test_uci_errors);
	return KT_DONE();
}
