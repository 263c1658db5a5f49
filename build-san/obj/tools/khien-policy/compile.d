build-san/obj/tools/khien-policy/compile.o: tools/khien-policy/compile.c \
 crypto/crypto.h lib/compiler.h build-san/include/generated/autoconf.h \
 lib/endian.h lib/err.h platform/rand.h tools/khien-policy/compile_priv.h \
 tools/khien-policy/compile.h policy/index_format.h \
 tools/khien-policy/lists.h policy/hash.h policy/name.h
crypto/crypto.h:
lib/compiler.h:
build-san/include/generated/autoconf.h:
lib/endian.h:
lib/err.h:
platform/rand.h:
tools/khien-policy/compile_priv.h:
tools/khien-policy/compile.h:
policy/index_format.h:
tools/khien-policy/lists.h:
policy/hash.h:
policy/name.h:
