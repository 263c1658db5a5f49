build-san/obj/agent/dns_serve.o: agent/dns_serve.c agent/dns_priv.h \
 agent/category.h agent/config.h agent/dns_wire.h policy/name.h \
 lib/compiler.h build-san/include/generated/autoconf.h platform/net.h \
 agent/dns.h platform/loop.h crypto/crypto.h lib/list.h platform/fs.h \
 policy/index.h policy/index_format.h lib/endian.h platform/time.h
agent/dns_priv.h:
agent/category.h:
agent/config.h:
agent/dns_wire.h:
policy/name.h:
lib/compiler.h:
build-san/include/generated/autoconf.h:
platform/net.h:
agent/dns.h:
platform/loop.h:
crypto/crypto.h:
lib/list.h:
platform/fs.h:
policy/index.h:
policy/index_format.h:
lib/endian.h:
platform/time.h:
