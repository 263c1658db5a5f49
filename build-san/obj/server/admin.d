build-san/obj/server/admin.o: server/admin.c crypto/crypto.h crypto/pki.h \
 lib/err.h lib/jsonnum.h lib/proto.h lib/severity.h lib/hex.h lib/http.h \
 lib/log.h lib/compiler.h build-san/include/generated/autoconf.h \
 lib/str.h platform/fs.h platform/rand.h platform/time.h server/render.h \
 server/store.h tools/khien-policy/trust_build.h policy/trust.h \
 server/server.h
crypto/crypto.h:
crypto/pki.h:
lib/err.h:
lib/jsonnum.h:
lib/proto.h:
lib/severity.h:
lib/hex.h:
lib/http.h:
lib/log.h:
lib/compiler.h:
build-san/include/generated/autoconf.h:
lib/str.h:
platform/fs.h:
platform/rand.h:
platform/time.h:
server/render.h:
server/store.h:
tools/khien-policy/trust_build.h:
policy/trust.h:
server/server.h:
