build-san/obj/tests/tools/testdns.o: tests/tools/testdns.c \
 agent/dns_wire.h policy/name.h lib/endian.h lib/err.h lib/fnv.h \
 lib/str.h platform/loop.h platform/net.h
agent/dns_wire.h:
policy/name.h:
lib/endian.h:
lib/err.h:
lib/fnv.h:
lib/str.h:
platform/loop.h:
platform/net.h:
