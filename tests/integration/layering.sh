#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Code stays where it belongs (DESIGN.md): only platform/ touches the OS or
# the network stack, and only crypto/ includes mbedTLS headers; lwIP's
# headers appear only in platform/lwip. The Linux and lwIP builds share
# every module above platform/.
. "$(dirname "$0")/lib.sh"
cd "$KHIEN_TOP" || exit 1
above="agent server policy firmware tools crypto lib"
calls='socket|bind|listen|accept4?|connect|recvfrom|sendto|recvmsg|sendmsg|recvmmsg|sendmmsg|poll|epoll_[a-z]+|select|getaddrinfo|fork|pipe|sigaction|open|fopen|mmap|getrandom|clock_gettime|nanosleep|usleep|sleep|setsockopt|getsockopt|pthread_[a-z]+|ioctl|fcntl|unlink|rename|stat|fstat|getpwnam|setuid|setgid|chown|getrlimit|setrlimit|lwip_[a-z_]+'
hits=$(grep -rnE "(^|[^a-z_.>])($calls)\s*\(" $above --include=*.c --include=*.h | grep -vE ':\s*(\*|/\*|")' )
expect_eq "no OS or socket calls outside platform/" "$hits" ""
# (<signal.h> is allowed: programs name SIGTERM; handling goes through the loop)
hits=$(grep -rlE '#include\s*[<"](sys/|netinet/|arpa/|poll\.h|unistd\.h|fcntl\.h|pthread\.h|dirent\.h)' $above --include=*.c --include=*.h)
expect_eq "no OS headers above platform/" "$hits" ""
expect_eq "mbedTLS headers only in crypto/" "$(grep -rlE '#include\s*[<"]mbedtls/' --include=*.c --include=*.h . | grep -v '^\./crypto/' | grep -v '^\./build/')" ""
expect_eq "lwIP headers only in platform/lwip/" "$(grep -rlE '#include\s*[<"](lwip/|netif/|arch/)' --include=*.c --include=*.h . | grep -v '^\./platform/lwip/' | grep -v '^\./build/')" ""
expect_eq "sqlite only in the store backend" "$(grep -rl 'sqlite3' --include=*.c --include=*.h agent server policy firmware crypto lib platform | grep -v '^server/store_sqlite.c$')" ""
expect_eq "libpq only in the PostgreSQL backend" "$(grep -rlE 'libpq|PGconn|PQ[a-z]+\(' --include=*.c --include=*.h agent server policy firmware crypto lib platform tools | grep -v '^server/store_pg.c$')" ""
# (and in test_follow, whose fake backend makes rows visible as late PostgreSQL commits do)
expect_eq "the backends' table only in the backends and the dispatcher" "$(grep -rlE '#include\s*"server/store_be\.h"' --include=*.c --include=*.h agent server policy firmware crypto lib platform tools tests | grep -vE '^server/(store|store_sqlite|store_pg)\.c$|^server/store_be\.h$|^tests/unit/test_follow\.c$')" ""
# the lwIP build links the very same agent objects as the Linux one
if [ -f "$KHIEN_BUILD/lwip/khiend" ]; then
	expect_eq "the lwIP agent is built from the same modules (khiend, dns, report, policy_store)" \
		"$(for f in agent/khiend.o agent/dns.o agent/report.o agent/policy_store.o; do [ -f "$KHIEN_BUILD/lwip/obj/$f" ] && echo y; done | wc -l)" "4"
fi
done_testing
