build-san/obj/firmware/baseline.o: firmware/baseline.c crypto/crypto.h \
 firmware/baseline.h lib/severity.h platform/fsroot.h lib/compiler.h \
 build-san/include/generated/autoconf.h lib/endian.h lib/hex.h
crypto/crypto.h:
firmware/baseline.h:
lib/severity.h:
platform/fsroot.h:
lib/compiler.h:
build-san/include/generated/autoconf.h:
lib/endian.h:
lib/hex.h:
