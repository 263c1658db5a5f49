#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# make test-cross: a target's binaries under qemu-user (binfmt_misc, no -L:
# the target's multiarch libc is installed) with the host's ISP tools and
# test helpers. Runs the target's unit tests and the DNS-filter, policy and
# cross-format integration tests; ends with the runner's summary line.
# usage: tests/cross.sh ARCH HOST_BUILD TARGET_BUILD
set -euo pipefail
arch=${1:?usage: tests/cross.sh ARCH HOST_BUILD TARGET_BUILD}
H=$(cd "${2:?}" && pwd)
X=$(cd "${3:?}" && pwd)
top=$(cd "$(dirname "$0")/.." && pwd)
M=$X/test-dir
rm -rf "$M"
mkdir -p "$M/tests"
ln -s "$X/khiend" "$X/khienctl" "$M/"
ln -s "$X/khien-policy" "$M/khien-policy.target"
ln -s "$H/khien-policy" "$H/khien-server" "$M/"
ln -s "$X"/tests/test_* "$M/tests/"
for t in khien-testdns khien-testhttps khien-mkmcuboot; do ln -s "$H/tests/$t" "$M/tests/"; done
# dns_attacks and the sanitizer-specific checks are the host's: the target
# runs what its formats and byte order can break
export KHIEN_HOST_BUILD=$H
export KHIEN_INTEGRATION=${KHIEN_INTEGRATION:-"dns_filter policy_cli policy_state policy_attacks policy_crash cross_verdicts"}
# the target's lwIP build (make lwip-agent with CROSS_COMPILE) on the real
# stack: 32-bit targets receive into smaller pool buffers (docs/LWIP.md)
if [ -x "$X/lwip/khiend" ]; then
	export KHIEN_LWIP_AGENT=$X/lwip/khiend
	KHIEN_INTEGRATION="$KHIEN_INTEGRATION lwip_agent"
fi
export KHIEN_CROSS_ARCH=$arch
echo "== test-cross $arch ($X)"
exec "$top/tests/run.sh" "$M"
