build-san/obj/server/khien_server.o: server/khien_server.c lib/civil.h \
 lib/err.h lib/log.h lib/compiler.h \
 build-san/include/generated/autoconf.h platform/fs.h platform/time.h \
 platform/log.h server/api.h lib/http.h server/server.h policy/trust.h \
 crypto/crypto.h server/store.h server/render.h
lib/civil.h:
lib/err.h:
lib/log.h:
lib/compiler.h:
build-san/include/generated/autoconf.h:
platform/fs.h:
platform/time.h:
platform/log.h:
server/api.h:
lib/http.h:
server/server.h:
policy/trust.h:
crypto/crypto.h:
server/store.h:
server/render.h:
