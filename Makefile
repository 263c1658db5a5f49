# SPDX-License-Identifier: MIT
#
# Khien build. Plain GNU make; Kconfig (.config) is the single source of
# build-time truth. Objects live under $(O) (build/, or build/san with
# SANITIZE=1), dependencies are tracked with -MMD, and every rule is
# parallel-safe. `make help` lists the targets.

PYTHON   := /usr/bin/python3
KCONFIG  := $(PYTHON) scripts/kconfig.py
V        ?= 0
SANITIZE ?= 0
ifeq ($(V),1)
Q :=
else
Q := @
endif
# Cross builds: `make CROSS_COMPILE=mipsel-linux-gnu-` builds the device
# programs against the target's multiarch mbedTLS and cJSON (scripts/deps.sh
# cross installs them) into build/<triplet>. `make test-cross ARCH=...` runs
# them under qemu-user (docs/CROSS.md).
CROSS_COMPILE ?=
ifneq ($(CROSS_COMPILE),)
CC := $(CROSS_COMPILE)gcc
AR := $(CROSS_COMPILE)ar
CROSS_TRIPLET := $(patsubst %-,%,$(CROSS_COMPILE))
O ?= build/$(CROSS_TRIPLET)
endif
ifeq ($(SANITIZE),1)
O ?= build/san
else
O ?= build
endif

# Goals that must not need a generated configuration first.
NOCONFIG_GOALS := %_defconfig menuconfig savedefconfig olddefconfig clean distclean help \
		  format format-check deps lwip-agent test-cross ipk
ifeq ($(MAKECMDGOALS),)
NEED_CONFIG := 1
else
NEED_CONFIG := $(filter-out $(NOCONFIG_GOALS),$(MAKECMDGOALS))
endif

KCONFIG_FILES := Kconfig $(wildcard */Kconfig)
# The configuration in use (kconfiglib reads the same variable): a second
# profile can be built beside the first, as `make lwip-agent` does.
KCONFIG_CONFIG ?= .config
export KCONFIG_CONFIG
CONFIG_MK     := $(O)/config.mk
AUTOCONF      := $(O)/include/generated/autoconf.h

ifneq ($(NEED_CONFIG),)
-include $(CONFIG_MK)
endif

# ---- flags ----
WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	-Wpointer-arith -Wcast-align -Wformat=2 -Wvla -Wundef -Wwrite-strings \
	-Wimplicit-fallthrough -Wno-missing-field-initializers
CFLAGS  ?= -O2 -g
SANFLAGS :=
ifeq ($(SANITIZE),1)
SANFLAGS := -fsanitize=address,undefined,float-cast-overflow -fno-omit-frame-pointer -fno-sanitize-recover=undefined,float-cast-overflow
endif
# Firmware profiles (CONFIG_SIZE_OPTIMIZED, Kconfig "Build"): the flags a device's objects get.
DEVICE_CFLAGS :=
ifeq ($(CONFIG_SIZE_OPTIMIZED),y)
DEVICE_CFLAGS := -Os -fno-asynchronous-unwind-tables -fno-unwind-tables
endif
# 64-bit file offsets on 32-bit glibc targets (musl has them always): a 2 GiB
# file must not look missing to stat. Not _TIME_BITS: Debian 12's 32-bit
# mbedTLS has a 32-bit time_t in its structures.
KH_CFLAGS  := -std=c11 $(WARN) $(CFLAGS) $(DEVICE_CFLAGS) $(SANFLAGS) -D_FILE_OFFSET_BITS=64 \
	      -I. -I$(O)/include -MMD -MP
KH_LDFLAGS := $(LDFLAGS) $(SANFLAGS)
CRYPTO_LIBS := -lmbedtls -lmbedx509 -lmbedcrypto
LIBS := $(CRYPTO_LIBS) -lcjson -lm -lcrypt

# ---- sources ----
LIB_SRCS    := lib/err.c lib/log.c lib/ipaddr.c lib/civil.c lib/civil_parse.c lib/jsonfield.c \
	       lib/tz.c
CRYPTO_SRCS := crypto/crypto.c
INDEX_SRCS  := policy/name.c policy/hash.c policy/index.c policy/canon.c policy/trust.c \
	       policy/uci.c policy/audit.c policy/audit_eval.c policy/audit_proc.c policy/audit_re.c
# Image and file-system integrity (firmware/): device code the ISP tool links too.
FIRMWARE_SRCS := firmware/manifest.c firmware/mcuboot.c firmware/mcuboot_slot.c \
		 firmware/baseline.c
CORE_SRCS   := $(LIB_SRCS) $(CRYPTO_SRCS) $(INDEX_SRCS) $(FIRMWARE_SRCS)
POSIX_SRCS  := platform/addr.c platform/posix/loop.c platform/posix/fs.c platform/posix/net.c \
	       platform/posix/log.c
PLAT_LINUX_SRCS := $(POSIX_SRCS) platform/linux/time.c platform/linux/rand.c \
		   platform/linux/entropy.c platform/linux/proc.c platform/linux/fsroot.c \
		   platform/linux/fact.c platform/linux/fwslot.c \
		   platform/linux/watch.c platform/linux/lan.c
PLAT_TEST_SRCS  := $(POSIX_SRCS) platform/test/time.c platform/test/rand.c platform/linux/proc.c \
		   platform/linux/fsroot.c platform/linux/fact.c platform/linux/fwslot.c \
		   platform/linux/watch.c platform/linux/lan.c
# The ISP side's list parsers, compiler and bundle builder (tools/khien-policy/),
# linked by khien-policy, khien-server and the tests; never by the device.
TOOL_DIR     := tools/khien-policy
COMPILE_SRCS := $(TOOL_DIR)/punycode.c $(TOOL_DIR)/lists.c $(TOOL_DIR)/lists_text.c \
		$(TOOL_DIR)/lists_rpz.c $(TOOL_DIR)/compile.c $(TOOL_DIR)/compile_modifiers.c \
		$(TOOL_DIR)/trust_build.c $(TOOL_DIR)/audit_json.c \
		$(TOOL_DIR)/audit_recomp.c $(TOOL_DIR)/fw_build.c
AGENT_SRCS  := agent/dns_wire.c agent/config.c agent/profile.c agent/category.c agent/dns.c agent/dns_cache.c \
	       agent/dns_upstream.c agent/dns_serve.c agent/dns_ctl.c agent/dns_profile.c agent/control.c agent/policy_store.c \
	       agent/privsep.c agent/queue.c agent/event.c agent/report.c agent/https_conn.c \
	       agent/download.c agent/audit.c agent/auditor.c agent/fw_store.c agent/firmware.c \
	       agent/integrity.c agent/web.c agent/web_page.c agent/web_auth.c agent/web_state.c agent/owner.c \
	       agent/khiend.c
KHIEND_MAIN := agent/khiend_main.c
# The reporting channel: TLS and PKI (crypto/), HTTP framing, journal checksums.
COMM_SRCS   := crypto/tls.c crypto/pki.c lib/http.c lib/crc32.c
SERVER_SRCS := server/store.c server/store_sqlite.c server/store_pg.c server/render.c server/api.c server/api_audit.c server/admin.c server/srv_net.c \
	       server/follow.c server/forward.c server/rollout.c server/warnings.c \
	       server/dashboard.c agent/web_auth.c

obj = $(patsubst %.c,$(O)/obj/%.o,$(1))
# The store backends: SQLite, and PostgreSQL through libpq (server/store_be.h).
PG_CFLAGS  := $(shell pkg-config --cflags libpq 2>/dev/null || echo -I/usr/include/postgresql)
STORE_LIBS := -lsqlite3 -lpq
$(O)/obj/server/store_pg.o: KH_CFLAGS += $(PG_CFLAGS)

LIBCORE     := $(O)/libkhien.a
LIBPLAT     := $(O)/libplat-linux.a
# Tests and test tools run on the build host whatever the profile.
LIBPLAT_LINUX := $(O)/libplat-linux.a
LIBPLATTEST := $(O)/libplat-test.a
LIBCOMPILE  := $(O)/libkhien-compile.a
LIBAGENT    := $(O)/libkhien-agent.a
LIBCOMM     := $(O)/libkhien-comm.a
LIBSERVER   := $(O)/libkhien-server.a

PROGRAMS :=
ifeq ($(CONFIG_TOOL_POLICY),y)
PROGRAMS += $(O)/khien-policy
endif
ifeq ($(CONFIG_AGENT),y)
PROGRAMS += $(O)/khiend $(O)/khienctl
endif
ifeq ($(CONFIG_TOOL_SERVER),y)
ifeq ($(CROSS_COMPILE),)
PROGRAMS += $(O)/khien-server
endif
endif

# lwIP profile: the same agent over platform/lwip, linked on a build host
# with the host harness (Debian's liblwip, a tap interface, flash in a file).
# Only platform/lwip sees lwIP's headers.
LWIP_CFLAGS := $(shell pkg-config --cflags lwip 2>/dev/null)
LWIP_LIBS   := $(shell pkg-config --libs lwip 2>/dev/null) -lpthread
PLAT_LWIP_SRCS := platform/addr.c platform/posix/loop.c platform/lwip/loop_poll.c \
	platform/lwip/net.c platform/lwip/time.c platform/lwip/rand.c platform/lwip/log.c \
	platform/lwip/proc.c platform/lwip/fs.c platform/lwip/kvlog.c platform/lwip/fsroot.c \
	platform/lwip/fact.c platform/lwip/fwslot.c platform/lwip/lan.c \
	platform/lwip/host/board.c platform/lwip/host/slots.c platform/lwip/host/flash_file.c \
	platform/linux/entropy.c
$(O)/obj/platform/lwip/%.o: KH_CFLAGS += $(LWIP_CFLAGS)

ifeq ($(CONFIG_PLATFORM_LINUX),y)
ALL_TARGETS := $(LIBCORE) $(LIBPLAT) $(PROGRAMS)
else
LIBPLAT     := $(O)/libplat-lwip.a
KHIEND_MAIN := platform/lwip/host/main.c
LIBS        += $(LWIP_LIBS)
ALL_TARGETS := $(LIBCORE) $(LIBPLAT) $(O)/khiend
endif

.DEFAULT_GOAL := all
.PHONY: all test bench fuzz demo clean distclean help deps menuconfig savedefconfig \
	olddefconfig format format-check unit-tests fuzz-replay lwip-agent check-m32
.DELETE_ON_ERROR:
# Keep intermediate files: make would otherwise remove them after the test
# summary, and the summary must be the last line printed.
.SECONDARY:

all: $(ALL_TARGETS)

# ---- configuration ----
$(KCONFIG_CONFIG):
	$(Q)scripts/deps.sh build
	$(Q)$(KCONFIG) defconfig configs/linux_defconfig

$(CONFIG_MK): $(KCONFIG_CONFIG) $(KCONFIG_FILES)
	$(Q)scripts/deps.sh build
	$(Q)$(KCONFIG) genconfig $(AUTOCONF) $(CONFIG_MK)

%_defconfig: configs/%_defconfig
	$(Q)$(KCONFIG) defconfig $<

menuconfig:
	$(Q)$(KCONFIG) menuconfig

olddefconfig:
	$(Q)$(KCONFIG) olddefconfig

savedefconfig:
	$(Q)$(KCONFIG) savedefconfig defconfig

deps:
	$(Q)scripts/deps.sh all

# ---- compile ----
$(O)/obj/%.o: %.c | $(CONFIG_MK)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(KH_CFLAGS) -c -o $@ $<

$(O)/%.a:
	@mkdir -p $(@D)
	@$(if $(Q),echo "  AR      $@")
	$(Q)rm -f $@ && $(AR) rcs $@ $^

$(LIBCORE): $(call obj,$(CORE_SRCS))
$(O)/libplat-linux.a: $(call obj,$(PLAT_LINUX_SRCS))
$(O)/libplat-lwip.a: $(call obj,$(PLAT_LWIP_SRCS))
$(LIBPLATTEST): $(call obj,$(PLAT_TEST_SRCS))
$(LIBCOMPILE): $(call obj,$(COMPILE_SRCS))
$(LIBAGENT): $(call obj,$(AGENT_SRCS))
$(LIBCOMM): $(call obj,$(COMM_SRCS))
$(LIBSERVER): $(call obj,$(SERVER_SRCS))

define link
	@mkdir -p $(@D)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(KH_LDFLAGS) -o $@ $(filter %.o,$^) -Wl,--start-group $(filter %.a,$^) \
		-Wl,--end-group $(LIBS)
endef

$(O)/khien-policy: $(call obj,$(TOOL_DIR)/khien_policy.c $(TOOL_DIR)/tool_sign.c $(TOOL_DIR)/tool_audit.c \
		$(TOOL_DIR)/tool_firmware.c $(TOOL_DIR)/tool_mcuboot.c \
		$(TOOL_DIR)/tool_baseline.c) $(LIBCOMPILE) \
		$(LIBCORE) $(LIBPLAT)
	$(link)
$(O)/khiend: $(call obj,$(KHIEND_MAIN)) $(LIBAGENT) $(LIBCOMM) $(LIBCORE) $(LIBPLAT)
	$(link)
$(O)/khien-server: $(call obj,server/khien_server.c) $(LIBSERVER) $(LIBCOMM) $(LIBCOMPILE) \
		$(LIBCORE) $(LIBPLAT)
	$(link) $(STORE_LIBS)
$(O)/khienctl: $(call obj,agent/khienctl.c) $(LIBCORE) $(LIBPLAT)
	$(link)

# ---- tests ----
# Every tests/unit/test_NAME.c is a test binary, linked with the agent, the
# ISP tool's library and the test platform (fake clock, seeded random);
# archives only contribute what a test uses. The exceptions need their own
# link: test_loop runs twice (fake clock, and Linux's real loop), test_tls
# needs real sockets and time, test_kvflash* link the lwIP flash store.
UNIT_KVFLASH := test_kvflash test_kvflash_fs
UNIT_SPECIAL := test_loop test_tls test_pki test_api test_follow test_forward test_rollout $(UNIT_KVFLASH)
UNIT_FAKE    := $(filter-out $(UNIT_SPECIAL),$(basename $(notdir $(wildcard tests/unit/test_*.c))))
UNIT_LINUX   := test_loop_linux test_tls test_pki
UNIT_BINS    := $(addprefix $(O)/tests/,$(UNIT_FAKE) $(UNIT_LINUX) test_loop_fake $(UNIT_KVFLASH))

$(addprefix $(O)/tests/,$(UNIT_FAKE)): $(O)/tests/%: $(call obj,tests/unit/%.c) \
		$(LIBAGENT) $(LIBCOMPILE) $(LIBCOMM) $(LIBCORE) $(LIBPLATTEST)
	$(link)
# The server's API in process, over a temporary SQLite store; event following and forwarding.
UNIT_SERVER := test_api test_follow test_forward test_rollout
UNIT_BINS  += $(addprefix $(O)/tests/,$(UNIT_SERVER))
$(addprefix $(O)/tests/,$(UNIT_SERVER)): $(O)/tests/%: $(call obj,tests/unit/%.c) \
		$(LIBSERVER) $(LIBCOMM) $(LIBCOMPILE) $(LIBCORE) $(LIBPLATTEST)
	$(link) $(STORE_LIBS)
$(O)/tests/test_loop_fake: $(call obj,tests/unit/test_loop.c) $(LIBCORE) $(LIBPLATTEST)
	$(link)
# The lwIP backend's flash store runs anywhere: tested on the host's RAM and files.
$(addprefix $(O)/tests/,$(UNIT_KVFLASH)): $(O)/tests/%: $(call obj,tests/unit/%.c \
		platform/lwip/kvlog.c platform/lwip/fs.c platform/lwip/host/flash_file.c) $(LIBCOMM) \
		$(LIBCORE) $(LIBPLATTEST)
	$(link)
$(O)/tests/test_loop_linux: $(call obj,tests/unit/test_loop.c) $(LIBCORE) $(LIBPLAT_LINUX)
	$(link)
$(O)/tests/test_tls: $(call obj,tests/unit/test_tls.c) $(LIBCOMM) $(LIBCORE) $(LIBPLAT_LINUX)
	$(link)
$(O)/tests/test_pki: $(call obj,tests/unit/test_pki.c) $(LIBCOMM) $(LIBCORE) $(LIBPLAT_LINUX)
	$(link)

FUZZ_TARGETS := $(notdir $(patsubst %/,%,$(dir $(wildcard tests/fuzz/*/fuzz.c))))
FUZZ_REPLAY  := $(addprefix $(O)/fuzz/,$(addsuffix -replay,$(FUZZ_TARGETS)))
$(O)/fuzz/%-replay: $(call obj,tests/fuzz/replay.c) $(O)/obj/tests/fuzz/%/fuzz.o \
		$(LIBSERVER) $(LIBAGENT) $(LIBCOMM) $(LIBCOMPILE) $(LIBCORE) $(LIBPLATTEST)
	$(link) $(STORE_LIBS)

TEST_TOOLS := $(O)/tests/khien-testdns $(O)/tests/khien-testhttps $(O)/tests/khien-mkmcuboot \
	$(O)/tests/khien-privsep-probe
$(O)/tests/khien-privsep-probe: $(call obj,tests/tools/privsep_probe.c) $(LIBAGENT) $(LIBCOMM) \
		$(LIBCORE) $(LIBPLAT_LINUX)
	$(link)
$(O)/tests/khien-mkmcuboot: $(call obj,tests/helpers/mkmcuboot.c) $(LIBCORE) $(LIBPLAT_LINUX)
	$(link)
$(O)/tests/khien-testhttps: $(call obj,tests/tools/testhttps.c) $(LIBCOMM) $(LIBCORE) \
		$(LIBPLAT_LINUX)
	$(link)
$(O)/tests/khien-testdns: $(call obj,tests/tools/testdns.c) $(LIBAGENT) $(LIBCOMM) $(LIBCORE) \
		$(LIBPLAT_LINUX)
	$(link)

unit-tests: $(UNIT_BINS) $(TEST_TOOLS)
fuzz-replay: $(FUZZ_REPLAY)

# ---- cross: device programs and unit tests for a target, run under qemu-user ----
# The ISP tools and test helpers come from the host build: bundles and
# indexes are made on x86-64 and used by the target, as in the field, and
# tests/integration/cross_verdicts.sh checks the reverse.
CROSS_ARCHS   := mipsel armhf arm64 s390x
cross_triplet = $(patsubst $(1):%,%,$(filter $(1):%,mipsel:mipsel-linux-gnu \
		armhf:arm-linux-gnueabihf arm64:aarch64-linux-gnu s390x:s390x-linux-gnu))
CROSS_UNIT_BINS := $(filter-out $(addprefix $(O)/tests/,$(UNIT_SERVER)),$(UNIT_BINS))
.PHONY: cross-build test-cross
cross-build: $(PROGRAMS) $(CROSS_UNIT_BINS)
test-cross:
	$(Q)test -n "$(call cross_triplet,$(ARCH))" || \
		{ echo "make test-cross ARCH=one of: $(CROSS_ARCHS)"; exit 2; }
	$(Q)scripts/deps.sh cross $(ARCH)
	$(Q)$(MAKE) --no-print-directory all unit-tests
	$(Q)$(MAKE) --no-print-directory CROSS_COMPILE=$(call cross_triplet,$(ARCH))- \
		O=build/$(call cross_triplet,$(ARCH)) cross-build lwip-agent
	$(Q)tests/cross.sh $(ARCH) $(O) build/$(call cross_triplet,$(ARCH))

# ---- ipk: an OpenWrt package from the cross build, without the SDK ----
# `make ipk ARCH=mipsel_24kc`: the router profile (linux_defconfig with
# the ISP tools off and CONFIG_SIZE_OPTIMIZED, unused sections collected,
# link-time optimised; KHIEN_OFF="AUDIT INTEGRITY ..." leaves modules out),
# stripped, packed by scripts/mkipk.sh into build/ipk/. Debian's glibc
# cross toolchain, not OpenWrt's musl: for inspection and emulation; a real
# feed build uses the SDK and packaging/openwrt/khien/Makefile.
IPK_ARCHS := mipsel_24kc:mipsel-linux-gnu arm_cortex-a7_neon-vfpv4:arm-linux-gnueabihf \
	     aarch64_cortex-a53:aarch64-linux-gnu x86_64:x86_64-linux-gnu
ipk_triplet = $(patsubst $(1):%,%,$(filter $(1):%,$(IPK_ARCHS)))
IPK_O = build/ipk/$(call ipk_triplet,$(ARCH))
# As the feed build gets them: LTO (PKG_BUILD_FLAGS) everywhere, and MIPS16 on
# mipsel_24kc, which OpenWrt's 24Kc targets use for packages (its USE_MIPS16 option).
# as the feed's KHIEN_DNS_CACHE_ENTRIES and _MAX_INFLIGHT defaults: about 0.85 KB
# of RAM a cached answer and 0.9 KB a pending query (dnsmasq's default: 150 pending)
IPK_CACHE = 1024
IPK_INFLIGHT = 256
IPK_ARCH_CFLAGS = $(if $(filter mipsel_24kc,$(ARCH)),-mips16 -minterlink-mips16)
# objects are made again when these change (make tracks sources, not flags)
IPK_CFLAGS = -Os -g -ffunction-sections -fdata-sections -flto=auto $(IPK_ARCH_CFLAGS)
IPK_LDFLAGS = -Wl,--gc-sections -flto=auto $(IPK_ARCH_CFLAGS)
IPK_FLAGS = CROSS_COMPILE=$(call ipk_triplet,$(ARCH))- O=$(IPK_O) KCONFIG_CONFIG=$(IPK_O)/.config
.PHONY: ipk
ipk:
	$(Q)test -n "$(call ipk_triplet,$(ARCH))" || \
		{ echo "make ipk ARCH=one of: $(foreach a,$(IPK_ARCHS),$(firstword $(subst :, ,$(a))))"; \
		  exit 2; }
	@mkdir -p $(IPK_O)
	$(Q){ grep -v -e ^CONFIG_TOOL_POLICY= -e ^CONFIG_TOOL_SERVER= -e ^CONFIG_SIZE_OPTIMIZED= \
		-e ^CONFIG_DNS_CACHE_ENTRIES= -e ^CONFIG_DNS_MAX_INFLIGHT= $(foreach m,$(KHIEN_OFF),-e ^CONFIG_$(m)=) configs/linux_defconfig; \
		printf '%s\n' CONFIG_TOOL_POLICY=n CONFIG_TOOL_SERVER=n CONFIG_SIZE_OPTIMIZED=y \
		CONFIG_DNS_CACHE_ENTRIES=$(IPK_CACHE) CONFIG_DNS_MAX_INFLIGHT=$(IPK_INFLIGHT) \
		$(foreach m,$(KHIEN_OFF),CONFIG_$(m)=n); } >$(IPK_O)/.config.new
	$(Q)cmp -s $(IPK_O)/.config.new $(IPK_O)/.config.in || cp $(IPK_O)/.config.new $(IPK_O)/.config.in
	$(Q)test $(IPK_O)/.config -nt $(IPK_O)/.config.in || \
		{ cp $(IPK_O)/.config.in $(IPK_O)/.config && \
		  $(MAKE) --no-print-directory $(IPK_FLAGS) olddefconfig >/dev/null; }
	$(Q)echo '$(IPK_CFLAGS) | $(IPK_LDFLAGS)' >$(IPK_O)/.flags.new; \
		cmp -s $(IPK_O)/.flags.new $(IPK_O)/.flags || \
		{ rm -rf $(IPK_O)/obj $(IPK_O)/*.a $(IPK_O)/khiend $(IPK_O)/khienctl; mv $(IPK_O)/.flags.new $(IPK_O)/.flags; }
	$(Q)$(MAKE) --no-print-directory $(IPK_FLAGS) CFLAGS="$(IPK_CFLAGS)" LDFLAGS="$(IPK_LDFLAGS)" \
		$(IPK_O)/khiend $(IPK_O)/khienctl
	$(Q)mkdir -p $(IPK_O)/stripped
	$(Q)$(call ipk_triplet,$(ARCH))-strip -o $(IPK_O)/stripped/khiend $(IPK_O)/khiend
	$(Q)$(call ipk_triplet,$(ARCH))-strip -o $(IPK_O)/stripped/khienctl $(IPK_O)/khienctl
	$(Q)scripts/mkipk.sh $(ARCH) $(IPK_O)/stripped build/ipk

# The lwIP build of khiend, beside this one, for tests/integration/lwip_*.sh.
LWIP_O := $(O)/lwip
lwip-agent:
	@mkdir -p $(LWIP_O)
	$(Q)$(MAKE) --no-print-directory O=$(LWIP_O) KCONFIG_CONFIG=$(LWIP_O)/.config lwip_defconfig \
		>/dev/null
	$(Q)$(MAKE) --no-print-directory O=$(LWIP_O) KCONFIG_CONFIG=$(LWIP_O)/.config all

ifeq ($(CONFIG_PLATFORM_LINUX),y)
test: all unit-tests fuzz-replay lwip-agent
	$(Q)scripts/deps.sh test
	$(Q)tests/run.sh $(O)
else
# The suite needs the host tools (khien-policy, khien-server) that only the
# Linux profile builds; that profile also builds and tests this lwIP agent.
test:
	@echo "make test: run it in the Linux profile, which tests the lwIP agent too: make linux_defconfig && make test"
	@exit 1
endif

# libFuzzer builds: clang, whole program in one step, separate from $(O).
FUZZ_CC := clang
FUZZ_FLAGS := -std=c11 -g -O1 -fsanitize=fuzzer,address,undefined,float-cast-overflow -I. -I$(O)/include
fuzz: | $(CONFIG_MK)
	$(Q)scripts/deps.sh fuzz
	$(Q)mkdir -p $(O)/fuzz
	$(Q)for t in $(FUZZ_TARGETS); do \
		echo "  FUZZ    $(O)/fuzz/$$t"; \
		$(FUZZ_CC) $(FUZZ_FLAGS) -o $(O)/fuzz/$$t tests/fuzz/$$t/fuzz.c \
			$(CORE_SRCS) $(COMPILE_SRCS) $(AGENT_SRCS) $(COMM_SRCS) $(SERVER_SRCS) \
			$(PLAT_TEST_SRCS) $(PG_CFLAGS) $(LIBS) $(STORE_LIBS) || exit 1; \
	done
	@echo "run e.g.: $(O)/fuzz/<target> tests/fuzz/<target>/corpus -max_total_time=60"

BENCH_BINS := $(O)/bench/bench_index $(O)/bench/khien-loadgen
$(O)/bench/bench_index: $(call obj,tests/bench/bench_index.c) $(LIBCORE) $(LIBPLAT)
	$(link)
$(O)/bench/khien-loadgen: $(call obj,tests/bench/loadgen.c tests/bench/loadgen_ids.c \
		tests/bench/loadgen_conn.c) $(LIBSERVER) $(LIBCOMM) $(LIBCOMPILE) \
		$(LIBCORE) $(LIBPLAT)
	$(link) $(STORE_LIBS)

bench: all $(BENCH_BINS) $(TEST_TOOLS)
	$(Q)scripts/deps.sh bench
	$(Q)tests/bench/run.sh $(O)
	$(Q)tests/bench/server_bench.sh $(O)
	$(Q)tests/bench/server_pg_bench.sh $(O)
	$(Q)tests/bench/dashboard_bench.sh $(O)
	$(Q)tests/bench/audit_bench.sh $(O)
	$(Q)tests/bench/firmware_bench.sh $(O)
	$(Q)tests/bench/profiles_bench.sh $(O)
	$(Q)tests/bench/web_bench.sh $(O)
	$(Q)tests/bench/integrity_bench.sh $(O)
	$(Q)tests/bench/lwip_size.sh $(O)
	$(Q)tests/bench/router_footprint.sh $(O)

demo: all $(TEST_TOOLS)
	$(Q)scripts/deps.sh test
	$(Q)scripts/demo.sh $(O)

# A 32-bit compile of every source with the same warnings (gcc -m32): size_t
# and long are 32 bits on the ARM and MIPS routers, and some warnings
# (format-truncation) only appear there. Objects are thrown away.
M32_SRCS = $(sort $(CORE_SRCS) $(PLAT_LINUX_SRCS) $(COMPILE_SRCS) $(AGENT_SRCS) $(KHIEND_MAIN) \
	   $(COMM_SRCS) $(SERVER_SRCS) agent/khienctl.c server/khien_server.c \
	   $(TOOL_DIR)/khien_policy.c $(TOOL_DIR)/tool_sign.c $(TOOL_DIR)/tool_firmware.c \
	   $(TOOL_DIR)/tool_mcuboot.c $(TOOL_DIR)/tool_baseline.c \
	   $(wildcard tests/tools/*.c))
check-m32: | $(CONFIG_MK)
	$(Q)scripts/deps.sh m32
	$(Q)for f in $(M32_SRCS); do \
		i686-linux-gnu-gcc -std=c11 $(WARN) -O2 -D_FILE_OFFSET_BITS=64 -I. -I$(O)/include \
			$(PG_CFLAGS) -c -o /dev/null $$f || exit 1; \
	done; echo "check-m32: $(words $(M32_SRCS)) files compile for 32-bit with -Werror"

# ---- housekeeping ----
FORMAT_FILES = $(shell git ls-files '*.c' '*.h' 2>/dev/null)
format:
	$(Q)clang-format -i $(FORMAT_FILES)
format-check:
	$(Q)clang-format --dry-run --Werror $(FORMAT_FILES) && echo "format-check: clean"

clean:
	rm -rf build
distclean: clean
	rm -f .config .config.old defconfig

help:
	@echo "Targets:"
	@echo "  all (default)     build what .config enables into $(O)/"
	@echo "  <name>_defconfig  load configs/<name>_defconfig (linux, lwip, tiny)"
	@echo "  menuconfig        edit .config interactively (kconfiglib)"
	@echo "  savedefconfig     write a minimal ./defconfig from .config"
	@echo "  test              unit + integration tests + fuzz corpora; SANITIZE=1 for ASan+UBSan"
	@echo "  bench             benchmarks (never part of pass/fail), see docs/PERFORMANCE.md"
	@echo "  fuzz              libFuzzer binaries with clang"
	@echo "  demo              local demo on loopback"
	@echo "  format, format-check, clean, distclean, deps"
	@echo "Variables: V=1 (show commands), SANITIZE=1, O=dir, CC=..."

-include $(shell find $(O)/obj -name '*.d' 2>/dev/null)
