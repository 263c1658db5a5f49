build-san/obj/tools/khien-policy/lists_rpz.o: \
 tools/khien-policy/lists_rpz.c lib/compiler.h \
 build-san/include/generated/autoconf.h lib/endian.h lib/err.h \
 platform/net.h tools/khien-policy/lists_priv.h policy/index_format.h \
 policy/name.h tools/khien-policy/lists.h
lib/compiler.h:
build-san/include/generated/autoconf.h:
lib/endian.h:
lib/err.h:
platform/net.h:
tools/khien-policy/lists_priv.h:
policy/index_format.h:
policy/name.h:
tools/khien-policy/lists.h:
