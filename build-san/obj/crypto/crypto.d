build-san/obj/crypto/crypto.o: crypto/crypto.c crypto/crypto.h \
 lib/compiler.h build-san/include/generated/autoconf.h lib/err.h \
 platform/rand.h
crypto/crypto.h:
lib/compiler.h:
build-san/include/generated/autoconf.h:
lib/err.h:
platform/rand.h:
