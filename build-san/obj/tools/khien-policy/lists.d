build-san/obj/tools/khien-policy/lists.o: tools/khien-policy/lists.c \
 lib/compiler.h build-san/include/generated/autoconf.h lib/err.h \
 platform/net.h tools/khien-policy/lists_priv.h policy/index_format.h \
 policy/name.h tools/khien-policy/lists.h tools/khien-policy/punycode.h
lib/compiler.h:
build-san/include/generated/autoconf.h:
lib/err.h:
platform/net.h:
tools/khien-policy/lists_priv.h:
policy/index_format.h:
policy/name.h:
tools/khien-policy/lists.h:
tools/khien-policy/punycode.h:
