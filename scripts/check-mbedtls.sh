#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Build Khien against another mbedTLS (e.g. 3.6 LTS, which OpenWrt ships;
# Debian packages only 2.28) and run the unit tests and the TLS-using
# integration tests with it. The mbedTLS tree is one you fetched and built
# yourself outside this repository (nothing of it is committed):
#   make -C MBEDTLS/library        (libmbedcrypto.a, libmbedx509.a, libmbedtls.a)
# usage: scripts/check-mbedtls.sh MBEDTLS_DIR [BUILD_DIR [TEST_FILTER]]
set -euo pipefail
M=$(cd "${1:?usage: check-mbedtls.sh MBEDTLS_DIR [BUILD_DIR]}" && pwd)
top=$(cd "$(dirname "$0")/.." && pwd)
O=${2:-$top/build-mbedtls}
for f in include/mbedtls/version.h library/libmbedtls.a library/libmbedx509.a library/libmbedcrypto.a; do
	[ -e "$M/$f" ] || { echo "check-mbedtls: $M/$f missing (build it: make -C $M/library)" >&2; exit 2; }
done
ver=$(awk '/define MBEDTLS_VERSION_STRING /{gsub(/"/,"",$3); print $3}' "$M/include/mbedtls/version.h")
echo "check-mbedtls: building against mbedTLS $ver from $M into $O"
# the tree's headers and static libraries come before the system's 2.28
make -C "$top" -s O="$O" CFLAGS="-O2 -g -I$M/include" LDFLAGS="-L$M/library" all unit-tests
# 3.x only has mbedtls_ssl_conf_groups: proof the binaries took the tree's libraries
if [ "${ver%%.*}" -ge 3 ]; then
	for b in "$O"/khiend "$O"/tests/test_tls; do
		nm "$b" | grep -q ' T mbedtls_ssl_conf_groups$' ||
			{ echo "check-mbedtls: $b is not linked with $M" >&2; exit 1; }
	done
fi
exec "$top/tests/run.sh" "$O" "${3:-}"
