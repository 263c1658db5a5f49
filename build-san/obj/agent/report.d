build-san/obj/agent/report.o: agent/report.c agent/download.h \
 agent/config.h agent/dns_wire.h policy/name.h lib/compiler.h \
 build-san/include/generated/autoconf.h platform/net.h platform/fs.h \
 agent/event.h lib/severity.h agent/https_conn.h crypto/tls.h lib/http.h \
 platform/loop.h agent/report.h agent/queue.h lib/proto.h crypto/crypto.h \
 lib/err.h lib/jsonfield.h lib/jsonnum.h lib/hex.h lib/log.h lib/str.h \
 platform/rand.h platform/time.h
agent/download.h:
agent/config.h:
agent/dns_wire.h:
policy/name.h:
lib/compiler.h:
build-san/include/generated/autoconf.h:
platform/net.h:
platform/fs.h:
agent/event.h:
lib/severity.h:
agent/https_conn.h:
crypto/tls.h:
lib/http.h:
platform/loop.h:
agent/report.h:
agent/queue.h:
lib/proto.h:
crypto/crypto.h:
lib/err.h:
lib/jsonfield.h:
lib/jsonnum.h:
lib/hex.h:
lib/log.h:
lib/str.h:
platform/rand.h:
platform/time.h:
