build-san/obj/crypto/tls.o: crypto/tls.c crypto/crypto.h \
 crypto/mbed_priv.h crypto/tls.h platform/net.h lib/compiler.h \
 build-san/include/generated/autoconf.h lib/err.h lib/str.h platform/fs.h
crypto/crypto.h:
crypto/mbed_priv.h:
crypto/tls.h:
platform/net.h:
lib/compiler.h:
build-san/include/generated/autoconf.h:
lib/err.h:
lib/str.h:
platform/fs.h:
