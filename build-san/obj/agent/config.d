build-san/obj/agent/config.o: agent/config.c agent/config.h \
 agent/dns_wire.h policy/name.h lib/compiler.h \
 build-san/include/generated/autoconf.h platform/net.h lib/err.h \
 lib/jsonfield.h lib/log.h lib/str.h lib/version.h platform/fs.h
agent/config.h:
agent/dns_wire.h:
policy/name.h:
lib/compiler.h:
build-san/include/generated/autoconf.h:
platform/net.h:
lib/err.h:
lib/jsonfield.h:
lib/log.h:
lib/str.h:
lib/version.h:
platform/fs.h:
