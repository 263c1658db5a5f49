build-san/obj/server/api_audit.o: server/api_audit.c lib/jsonfield.h \
 lib/jsonnum.h lib/proto.h lib/severity.h lib/log.h lib/compiler.h \
 build-san/include/generated/autoconf.h lib/str.h policy/audit.h \
 crypto/crypto.h server/api_priv.h server/api.h lib/http.h \
 server/server.h policy/trust.h server/store.h server/render.h
lib/jsonfield.h:
lib/jsonnum.h:
lib/proto.h:
lib/severity.h:
lib/log.h:
lib/compiler.h:
build-san/include/generated/autoconf.h:
lib/str.h:
policy/audit.h:
crypto/crypto.h:
server/api_priv.h:
server/api.h:
lib/http.h:
server/server.h:
policy/trust.h:
server/store.h:
server/render.h:
