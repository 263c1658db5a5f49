build-san/obj/tools/khien-policy/trust_build.o: \
 tools/khien-policy/trust_build.c lib/endian.h lib/err.h lib/hex.h \
 policy/canon.h tools/khien-policy/trust_build.h policy/trust.h \
 crypto/crypto.h
lib/endian.h:
lib/err.h:
lib/hex.h:
policy/canon.h:
tools/khien-policy/trust_build.h:
policy/trust.h:
crypto/crypto.h:
