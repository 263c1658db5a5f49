build-san/obj/server/api.o: server/api.c crypto/crypto.h lib/err.h \
 lib/hex.h lib/jsonfield.h lib/jsonnum.h lib/proto.h lib/severity.h \
 lib/log.h lib/compiler.h build-san/include/generated/autoconf.h \
 lib/str.h platform/fs.h platform/time.h server/api.h lib/http.h \
 server/server.h policy/trust.h server/store.h server/api_priv.h \
 server/render.h
crypto/crypto.h:
lib/err.h:
lib/hex.h:
lib/jsonfield.h:
lib/jsonnum.h:
lib/proto.h:
lib/severity.h:
lib/log.h:
lib/compiler.h:
build-san/include/generated/autoconf.h:
lib/str.h:
platform/fs.h:
platform/time.h:
server/api.h:
lib/http.h:
server/server.h:
policy/trust.h:
server/store.h:
server/api_priv.h:
server/render.h:
