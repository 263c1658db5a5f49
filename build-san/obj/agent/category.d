build-san/obj/agent/category.o: agent/category.c agent/category.h \
 agent/config.h agent/dns_wire.h policy/name.h lib/compiler.h \
 build-san/include/generated/autoconf.h platform/net.h lib/severity.h
agent/category.h:
agent/config.h:
agent/dns_wire.h:
policy/name.h:
lib/compiler.h:
build-san/include/generated/autoconf.h:
platform/net.h:
lib/severity.h:
