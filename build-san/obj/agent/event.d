build-san/obj/agent/event.o: agent/event.c agent/config.h \
 agent/dns_wire.h policy/name.h lib/compiler.h \
 build-san/include/generated/autoconf.h platform/net.h agent/event.h \
 lib/severity.h agent/queue.h lib/proto.h lib/err.h lib/fnv.h \
 lib/jsonnum.h lib/log.h lib/str.h platform/time.h
agent/config.h:
agent/dns_wire.h:
policy/name.h:
lib/compiler.h:
build-san/include/generated/autoconf.h:
platform/net.h:
agent/event.h:
lib/severity.h:
agent/queue.h:
lib/proto.h:
lib/err.h:
lib/fnv.h:
lib/jsonnum.h:
lib/log.h:
lib/str.h:
platform/time.h:
