#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Code and data size of the lwIP build of khiend (configs/lwip_defconfig),
# compiled for size (-Os), counting Khien's own objects only: the agent
# modules, the portable core they use (index reader, policy verification,
# crypto wrappers, HTTP framing) and platform/lwip, not the host harness
# and not the libraries (mbedTLS, cJSON, lwIP, libc).
# usage: tests/bench/lwip_size.sh BUILD_DIR   (builds into BUILD_DIR/lwip-size)
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
O=$(cd "${1:-$top/build}" && pwd)/lwip-size
cd "$top"
mkdir -p "$O"
echo "== building the lwIP profile with -Os into $O" >&2
make -s O="$O" KCONFIG_CONFIG="$O/.config" lwip_defconfig >/dev/null
make -s O="$O" KCONFIG_CONFIG="$O/.config" CFLAGS="-Os" -j"$(nproc)" all >&2
group() { # NAME OBJECTS...
	local name=$1
	shift
	size "$@" | awk -v n="$name" 'NR>1 {t+=$1; d+=$2; b+=$3} END {printf "| %-34s | %8d | %6d | %7d |\n", n, t, d, b}'
}
o=$O/obj
echo "| objects | text | data | bss |"
echo "|---|---:|---:|---:|"
group "agent/ (dns, policy, report, queue, config, control, main)" $o/agent/*.o
group "policy/ index reader + verification" $o/policy/name.o $o/policy/hash.o $o/policy/index.o $o/policy/canon.o $o/policy/trust.o
group "crypto/ (wrappers: hashes, ECDSA, TLS, X.509)" $o/crypto/*.o
group "lib/ (errors, log, HTTP, CRC, IP text)" $o/lib/*.o
group "platform/ (lwIP net, loop, time, flash store)" $o/platform/addr.o $o/platform/posix/loop.o $(ls $o/platform/lwip/*.o)
group "total" $o/agent/*.o $o/policy/name.o $o/policy/hash.o $o/policy/index.o $o/policy/canon.o $o/policy/trust.o $o/crypto/*.o $o/lib/*.o $o/platform/addr.o $o/platform/posix/loop.o $(ls $o/platform/lwip/*.o)
echo
echo "host harness (not on a device): $(size $o/platform/lwip/host/*.o | awk 'NR>1 {t+=$1} END {print t}') bytes of text"
echo "whole host binary with libraries linked dynamically: $(size "$O/khiend" | awk 'NR==2 {print $1" text, "$2" data, "$3" bss"}')"
