build-san/obj/tests/unit/test_config.o: tests/unit/test_config.c \
 agent/config.h agent/dns_wire.h policy/name.h lib/compiler.h \
 build-san/include/generated/autoconf.h platform/net.h tests/unit/kt.h \
 lib/err.h
agent/config.h:
agent/dns_wire.h:
policy/name.h:
lib/compiler.h:
build-san/include/generated/autoconf.h:
platform/net.h:
tests/unit/kt.h:
lib/err.h:
