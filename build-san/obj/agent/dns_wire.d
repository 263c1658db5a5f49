build-san/obj/agent/dns_wire.o: agent/dns_wire.c agent/dns_wire.h \
 policy/name.h lib/compiler.h build-san/include/generated/autoconf.h \
 lib/endian.h lib/err.h
agent/dns_wire.h:
policy/name.h:
lib/compiler.h:
build-san/include/generated/autoconf.h:
lib/endian.h:
lib/err.h:
