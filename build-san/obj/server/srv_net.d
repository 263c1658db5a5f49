build-san/obj/server/srv_net.o: server/srv_net.c crypto/tls.h \
 platform/net.h lib/err.h lib/fnv.h lib/hex.h lib/list.h lib/log.h \
 lib/compiler.h build-san/include/generated/autoconf.h lib/str.h \
 platform/fs.h platform/loop.h platform/proc.h platform/time.h \
 server/api.h lib/http.h server/server.h policy/trust.h crypto/crypto.h \
 server/store.h
crypto/tls.h:
platform/net.h:
lib/err.h:
lib/fnv.h:
lib/hex.h:
lib/list.h:
lib/log.h:
lib/compiler.h:
build-san/include/generated/autoconf.h:
lib/str.h:
platform/fs.h:
platform/loop.h:
platform/proc.h:
platform/time.h:
server/api.h:
lib/http.h:
server/server.h:
policy/trust.h:
crypto/crypto.h:
server/store.h:
