build-san/obj/policy/trust.o: policy/trust.c lib/civil.h lib/compiler.h \
 build-san/include/generated/autoconf.h lib/endian.h lib/err.h lib/hex.h \
 lib/jsonfield.h lib/jsonnum.h lib/proto.h lib/severity.h \
 policy/bundle_name.h policy/trust.h crypto/crypto.h policy/canon.h
lib/civil.h:
lib/compiler.h:
build-san/include/generated/autoconf.h:
lib/endian.h:
lib/err.h:
lib/hex.h:
lib/jsonfield.h:
lib/jsonnum.h:
lib/proto.h:
lib/severity.h:
policy/bundle_name.h:
policy/trust.h:
crypto/crypto.h:
policy/canon.h:
