build-san/obj/agent/download.o: agent/download.c agent/download.h \
 agent/config.h agent/dns_wire.h policy/name.h lib/compiler.h \
 build-san/include/generated/autoconf.h platform/net.h platform/fs.h \
 crypto/crypto.h lib/err.h lib/hex.h lib/http.h
agent/download.h:
agent/config.h:
agent/dns_wire.h:
policy/name.h:
lib/compiler.h:
build-san/include/generated/autoconf.h:
platform/net.h:
platform/fs.h:
crypto/crypto.h:
lib/err.h:
lib/hex.h:
lib/http.h:
