build-san/obj/tools/khien-policy/tool_sign.o: \
 tools/khien-policy/tool_sign.c lib/civil.h lib/err.h lib/hex.h \
 platform/fs.h platform/time.h policy/bundle_name.h policy/trust.h \
 crypto/crypto.h tools/khien-policy/tool.h \
 tools/khien-policy/trust_build.h
lib/civil.h:
lib/err.h:
lib/hex.h:
platform/fs.h:
platform/time.h:
policy/bundle_name.h:
policy/trust.h:
crypto/crypto.h:
tools/khien-policy/tool.h:
tools/khien-policy/trust_build.h:
