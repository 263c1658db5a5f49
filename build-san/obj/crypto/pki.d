build-san/obj/crypto/pki.o: crypto/pki.c crypto/crypto.h \
 crypto/mbed_priv.h crypto/pki.h lib/civil.h lib/ipaddr.h lib/compiler.h \
 build-san/include/generated/autoconf.h lib/err.h lib/hex.h lib/str.h
crypto/crypto.h:
crypto/mbed_priv.h:
crypto/pki.h:
lib/civil.h:
lib/ipaddr.h:
lib/compiler.h:
build-san/include/generated/autoconf.h:
lib/err.h:
lib/hex.h:
lib/str.h:
