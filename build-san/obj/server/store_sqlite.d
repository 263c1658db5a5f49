build-san/obj/server/store_sqlite.o: server/store_sqlite.c lib/err.h \
 lib/log.h lib/compiler.h build-san/include/generated/autoconf.h \
 lib/severity.h lib/str.h policy/audit.h crypto/crypto.h server/store.h
lib/err.h:
lib/log.h:
lib/compiler.h:
build-san/include/generated/autoconf.h:
lib/severity.h:
lib/str.h:
policy/audit.h:
crypto/crypto.h:
server/store.h:
