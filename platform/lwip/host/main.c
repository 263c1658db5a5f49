/* SPDX-License-Identifier: MIT */
/*
 * Host harness for the lwIP build of khiend: what an RTOS board's startup
 * code does, on Linux, so that real packets cross lwIP's stack in tests.
 * It mounts the emulated flash partition, starts lwIP's tcpip thread, adds
 * a tap interface (lwIP's contrib tapif, attached to an existing tap
 * device) with a static IPv4 address, then runs the agent unchanged.
 *
 * usage: khiend [--lwip-tap NAME] [--lwip-addr IP/PREFIX] [--lwip-gw IP]
 *               [--lwip-flash FILE] [--lwip-flash-mb N]
 *               [--lwip-install PATH=HOSTFILE]... [--lwip-facts FILE]
 *               [--lwip-slot0 FILE] [--lwip-slot1 FILE] [--lwip-fw-root PATH]
 *               [--lwip-fw-state DIR]
 *               [--lwip-fw-update [--lwip-fw-permanent] | --lwip-fw-commit] [khiend options...]
 *
 * Paths the agent uses (configuration, keys, index, state) are keys in the
 * flash store, not host files: --lwip-install copies a host file into the
 * store first, as a factory image would carry it.
 * The tap device must exist (ip tuntap add dev NAME mode tap) with the
 * gateway address on its host side; the harness never runs commands.
 * The MCUboot slots are files (platform/lwip/host/slots.c). --lwip-fw-update
 * verifies the candidate in slot 1 against the trust root's firmware role
 * (its keys and threshold; the root as the agent's policy store trusts it,
 * rotations included) and the stored security counter, marks it for swap if
 * valid, and exits 0 (marked) or 1 (refused), as an update client would;
 * --lwip-fw-commit is the boot path of a new image: verify slot 0, raise
 * the stored counter, confirm the image, then run the agent. Give
 * it an MTU of 574: Debian's liblwip receives tap frames into pool buffers
 * of 588 bytes on 32-bit targets (592 on 64-bit), and its tapif input
 * overruns them on larger frames (rx_frame_max below); the harness refuses
 * a tap device with a larger MTU.
 */
#define _DEFAULT_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "lwip/init.h"
#include "lwip/ip4_addr.h"
#include "lwip/netif.h"
#include "lwip/pbuf.h"
#include "lwip/priv/memp_priv.h"
#include "lwip/prot/ethernet.h"
#include "lwip/sys.h"
#include "lwip/tcpip.h"
#include "netif/tapif.h"

#include "agent/agent.h"
#include "agent/policy_store.h"
#include "firmware/mcuboot_slot.h"
#include "lib/compiler.h"
#include "lib/err.h"
#include "lib/ipaddr.h"
#include "platform/fs.h"
#include "platform/lwip/board.h"
#include "platform/lwip/fs_lwip.h"
#include "platform/lwip/host/flash_file.h"
#include "policy/trust.h"

/*
 * Room to spare: struct netif's layout depends on lwIP's options, and the
 * packaged library's build options are not all visible in its headers.
 */
static union {
	struct netif n;
	char slack[sizeof(struct netif) + 1024];
} g_nif;
#define g_netif (g_nif.n)

/*
 * Debian's liblwip 2.1.3 sizes its PBUF_POOL elements for a 536-byte MSS
 * (memp_PBUF_POOL.size: 616 bytes with 64-bit pointers, 604 with 32-bit)
 * while its pbuf_alloc fills each with up to PBUF_POOL_BUFSIZE (1536)
 * bytes: tapif's input overruns the heap on any frame longer than an
 * element's payload, 592 bytes on 64-bit but 588 on 32-bit, where a
 * 590-byte frame (MTU 576) ends in "double free or corruption". A tap
 * device whose MTU allows such frames is refused, not run into it.
 */
LWIP_MEMPOOL_PROTOTYPE(PBUF_POOL);

static unsigned rx_frame_max(void)
{
	unsigned hdr = LWIP_MEM_ALIGN_SIZE(sizeof(struct pbuf));

	if (PBUF_POOL_BUFSIZE + hdr <= memp_PBUF_POOL.size)
		return 0xffff; /* consistent library: pbuf_alloc chains within bounds */
	return memp_PBUF_POOL.size > hdr ? memp_PBUF_POOL.size - hdr : 0;
}

static int tap_mtu_ok(const char *tap)
{
	unsigned max = rx_frame_max();
	struct ifreq ifr;
	int fd, r;

	if (max == 0xffff)
		return 1;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", tap);
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	r = fd < 0 ? -1 : ioctl(fd, SIOCGIFMTU, &ifr);
	if (fd >= 0)
		close(fd);
	if (r < 0) {
		fprintf(stderr, "khiend: tap device %s: %s\n", tap, strerror(errno));
		return 0;
	}
	if ((unsigned)ifr.ifr_mtu + SIZEOF_ETH_HDR <= max)
		return 1;
	fprintf(stderr,
		"khiend: tap device %s has MTU %d: this liblwip receives frames into %u-byte "
		"buffers and overruns them on longer ones (docs/LWIP.md); set its MTU to %u or "
		"less\n",
		tap, ifr.ifr_mtu, max, max - SIZEOF_ETH_HDR);
	return 0;
}

static void tcpip_ready(void *arg)
{
	sys_sem_signal((sys_sem_t *)arg);
}

static int ip4(const char *s, ip4_addr_t *out)
{
	uint8_t b[4];

	if (kh_ip4_parse(s, b) < 0)
		return -1;
	IP4_ADDR(out, b[0], b[1], b[2], b[3]);
	return 0;
}

/* "PATH=HOSTFILE": the host file's bytes become PATH in the flash store. */
static int install_file(const char *spec)
{
	const char *eq = strchr(spec, '=');
	char path[256];
	uint8_t *buf;
	size_t len;
	long n;
	FILE *f;
	int err;

	if (!eq || eq == spec || (size_t)(eq - spec) >= sizeof(path)) {
		fprintf(stderr, "khiend: --lwip-install PATH=HOSTFILE\n");
		return -1;
	}
	snprintf(path, sizeof(path), "%.*s", (int)(eq - spec), spec);
	f = fopen(eq + 1, "rb");
	if (!f || fseek(f, 0, SEEK_END) < 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) < 0) {
		fprintf(stderr, "khiend: cannot read %s\n", eq + 1);
		if (f)
			fclose(f);
		return -1;
	}
	buf = malloc((size_t)n + 1);
	len = buf ? fread(buf, 1, (size_t)n, f) : 0;
	fclose(f);
	if (!buf || len != (size_t)n) {
		fprintf(stderr, "khiend: cannot read %s (%s)\n", eq + 1,
			buf ? "short read" : "out of memory");
		free(buf);
		return -1;
	}
	err = kh_fs_write_atomic(path, buf, len, 0600);
	free(buf);
	if (err < 0) {
		fprintf(stderr, "khiend: cannot store %s in flash: error %d\n", path, err);
		return -1;
	}
	return 0;
}

/*
 * The firmware keys: the firmware role of the trust root the agent's policy
 * store trusts (the firmware's root file, then its stored chain in
 * STATE/roots.json as far as each step verifies), so a bundle that rotated
 * the root also rotated the keys MCUboot images are checked against.
 */
static int fw_keys(const char *state_dir, const char *trust_root, struct kh_mcuboot_keys *k)
{
	struct kh_policy *p = NULL;
	char why[512];
	int err = kh_policy_open(state_dir, trust_root, NULL, &p, why, sizeof(why));

	if (err == 0)
		err = kh_mcuboot_root_keys(kh_policy_root(p), k, why, sizeof(why));
	kh_policy_free(p);
	if (err < 0) {
		fprintf(stderr, "khiend: firmware keys: %s\n", why);
		return -1;
	}
	return 0;
}

/* --lwip-fw-update (1: exit with the result) or --lwip-fw-commit (0: go on). */
static int fw_action(int update, int permanent, const char *state_dir, const char *trust_root,
		     const char *counter)
{
	struct kh_mcuboot_keys keys;
	struct kh_mcuboot_image img;
	char why[KH_MCUBOOT_REASON_LEN], ver[32];
	uint32_t stored = 0;
	int err;

	if (fw_keys(state_dir, trust_root, &keys) < 0)
		return update ? 2 : 0;
	err = update ? kh_mcuboot_update(&keys, counter, permanent, &img, why, sizeof(why))
		     : kh_mcuboot_commit(&keys, counter, &img, why, sizeof(why));
	kh_mcuboot_version_str(&img, ver, sizeof(ver));
	if (err < 0) {
		fprintf(stderr, "khiend: firmware: %s refused: %s\n", update ? "update" : "commit",
			why);
		return update ? 1 : 0;
	}
	kh_mcuboot_counter_load(counter, &stored, NULL, 0);
	if (update)
		fprintf(stderr,
			"khiend: firmware: ok: image %s, counter %lu, %u of %u firmware key(s) of "
			"trust root v%llu; slot 1 marked for %s swap\n",
			ver, (unsigned long)img.security_counter, img.nsigned, keys.threshold,
			keys.root_version, permanent ? "a permanent" : "a test");
	else
		fprintf(stderr,
			"khiend: firmware: committed: running image %s, counter %lu; stored "
			"counter %lu\n",
			ver, (unsigned long)img.security_counter, (unsigned long)stored);
	return 0;
}

static void usage(void)
{
	fprintf(stderr,
		"khiend (lwIP build; host harness)\n"
		"  --lwip-tap NAME       tap device to attach to (default khtap0; must exist)\n"
		"  --lwip-addr IP/PREFIX lwIP's address on it (default 198.18.1.2/24)\n"
		"  --lwip-gw IP          gateway (default 198.18.1.1)\n"
		"  --lwip-flash FILE     emulated flash partition (default khien-flash.img)\n"
		"  --lwip-flash-mb N     its size when created (default 32)\n"
		"  --lwip-install PATH=HOSTFILE  put a host file into the flash store first\n"
		"  --lwip-facts FILE     the board's facts for audit rules (NAME=VALUE lines)\n"
		"  --lwip-slot0 FILE     MCUboot primary slot (the running image)\n"
		"  --lwip-slot1 FILE     MCUboot secondary slot (a candidate image)\n"
		"  --lwip-fw-root PATH   the firmware's trust root in the flash store, whose "
		"firmware\n"
		"                        role signs images (default /etc/khien/root.json)\n"
		"  --lwip-fw-state DIR   the agent's state directory, with the rotated roots "
		"(default /state)\n"
		"  --lwip-fw-counter PATH  the stored security counter "
		"(default " KH_MCUBOOT_COUNTER_PATH ")\n"
		"  --lwip-fw-update      verify slot 1 and mark it for swap, then exit (0 marked, "
		"1 "
		"refused)\n"
		"  --lwip-fw-permanent   with --lwip-fw-update: a permanent swap, not a test swap\n"
		"  --lwip-fw-commit      verify slot 0, raise the stored counter, confirm, then "
		"run\n"
		"Every other option is khiend's:\n\n");
}

int main(int argc, char **argv)
{
	const char *tap = "khtap0", *addr = "198.18.1.2/24", *gw = "198.18.1.1";
	const char *flash = "khien-flash.img";
	const char *install[32];
	unsigned ninstall = 0;
	const char *slot0 = NULL, *slot1 = NULL;
	const char *fw_root = "/etc/khien/root.json", *fw_state = "/state";
	const char *fw_counter = KH_MCUBOOT_COUNTER_PATH;
	int fw_update = 0, fw_commit = 0, fw_permanent = 0;
	unsigned flash_mb = 32, prefix;
	char ipbuf[64], *slash;
	ip4_addr_t ip, mask, gwa;
	static struct kh_flash_file fl;
	sys_sem_t ready;
	unsigned seed;
	char **av = calloc((size_t)argc + 1, sizeof(*av));
	int ac = 0, err;

	if (!av)
		return 3;
	av[ac++] = argv[0];
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--lwip-tap") && i + 1 < argc)
			tap = argv[++i];
		else if (!strcmp(argv[i], "--lwip-addr") && i + 1 < argc)
			addr = argv[++i];
		else if (!strcmp(argv[i], "--lwip-gw") && i + 1 < argc)
			gw = argv[++i];
		else if (!strcmp(argv[i], "--lwip-flash") && i + 1 < argc)
			flash = argv[++i];
		else if (!strcmp(argv[i], "--lwip-flash-mb") && i + 1 < argc)
			flash_mb = (unsigned)strtoul(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--lwip-install") && i + 1 < argc && ninstall < 32)
			install[ninstall++] = argv[++i];
		else if (!strcmp(argv[i], "--lwip-slot0") && i + 1 < argc)
			slot0 = argv[++i];
		else if (!strcmp(argv[i], "--lwip-slot1") && i + 1 < argc)
			slot1 = argv[++i];
		else if (!strcmp(argv[i], "--lwip-fw-root") && i + 1 < argc)
			fw_root = argv[++i];
		else if (!strcmp(argv[i], "--lwip-fw-state") && i + 1 < argc)
			fw_state = argv[++i];
		else if (!strcmp(argv[i], "--lwip-fw-counter") && i + 1 < argc)
			fw_counter = argv[++i];
		else if (!strcmp(argv[i], "--lwip-fw-update"))
			fw_update = 1;
		else if (!strcmp(argv[i], "--lwip-fw-permanent"))
			fw_permanent = 1;
		else if (!strcmp(argv[i], "--lwip-fw-commit"))
			fw_commit = 1;
		else if (!strcmp(argv[i], "--lwip-facts") && i + 1 < argc) {
			if (kh_board_host_facts(argv[++i]) < 0) {
				fprintf(stderr,
					"khiend: --lwip-facts %s: cannot read NAME=VALUE lines\n",
					argv[i]);
				return 2;
			}
		} else {
			if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
				usage();
			av[ac++] = argv[i];
		}
	}
	snprintf(ipbuf, sizeof(ipbuf), "%s", addr);
	slash = strchr(ipbuf, '/');
	prefix = slash ? (unsigned)strtoul(slash + 1, NULL, 10) : 24;
	if (slash)
		*slash = 0;
	if (ip4(ipbuf, &ip) < 0 || ip4(gw, &gwa) < 0 || prefix < 1 || prefix > 30 || flash_mb < 1 ||
	    flash_mb > 2047) {
		fprintf(stderr,
			"khiend: --lwip-addr IP/PREFIX, --lwip-gw IP, --lwip-flash-mb 1-2047\n");
		return 2;
	}
	ip4_addr_set_u32(&mask, lwip_htonl(0xffffffffu << (32 - prefix)));

	/* LWIP_RAND is rand(): at least not the same sequence on every boot */
	if (getrandom(&seed, sizeof(seed), 0) != sizeof(seed))
		seed = (unsigned)time(NULL);
	srand(seed);
	kh_time_lwip_set_wall((int64_t)time(NULL)); /* the board's RTC */

	/*
	 * Not memory-mapped: a map into flash pins its bank, and the DNS filter
	 * holds the index map until the next policy, which would stop
	 * compaction; a heap copy costs RAM the size of the index instead.
	 */
	if ((err = kh_flash_file_open(&fl, flash, flash_mb << 20, CONFIG_LWIP_FLASH_SECTOR, 1, 0)) <
		    0 ||
	    (err = kh_fs_lwip_mount(&fl.flash)) < 0) {
		fprintf(stderr, "khiend: flash %s: error %d%s\n", flash, err,
			err == -EINVAL ? " (the file exists with another size: give the same "
					 "--lwip-flash-mb, or remove it to start blank)"
				       : "");
		return 3;
	}

	for (unsigned i = 0; i < ninstall; i++)
		if (install_file(install[i]) < 0)
			return 3;

	if ((slot0 || slot1) && (err = kh_board_host_slots(slot0, slot1)) < 0) {
		fprintf(stderr, "khiend: slot file %s: %s (a regular file over 4 KiB)\n",
			slot0 ? slot0 : slot1, kh_strerror(err));
		return 3;
	}
	if (fw_update) {
		err = fw_action(1, fw_permanent, fw_state, fw_root, fw_counter);
		kh_fs_lwip_unmount();
		kh_flash_file_close(&fl);
		free(av);
		return err;
	}
	if (fw_commit)
		fw_action(0, 0, fw_state, fw_root, fw_counter);

	if (!tap_mtu_ok(tap))
		return 3;
	if (sys_sem_new(&ready, 0) != ERR_OK)
		return 3;
	tcpip_init(tcpip_ready, &ready);
	sys_sem_wait(&ready);
	sys_sem_free(&ready);

	/* tapif attaches to this device instead of creating and configuring tap0 */
	setenv("PRECONFIGURED_TAPIF", tap, 1);
	LOCK_TCPIP_CORE();
	if (!netif_add(&g_netif, &ip, &mask, &gwa, NULL, tapif_init, tcpip_input)) {
		UNLOCK_TCPIP_CORE();
		fprintf(stderr, "khiend: cannot attach lwIP to tap device %s\n", tap);
		return 3;
	}
	netif_set_default(&g_netif);
	netif_set_up(&g_netif);
	UNLOCK_TCPIP_CORE();
	fprintf(stderr, "khiend: lwIP %s up on %s as %s/%u (gateway %s)\n", LWIP_VERSION_STRING,
		tap, ipbuf, prefix, gw);

	err = kh_agent_main(ac, av);
	kh_fs_lwip_unmount();
	kh_flash_file_close(&fl);
	free(av);
	return err;
}
