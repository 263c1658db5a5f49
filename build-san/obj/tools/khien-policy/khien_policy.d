build-san/obj/tools/khien-policy/khien_policy.o: \
 tools/khien-policy/khien_policy.c lib/err.h lib/log.h lib/compiler.h \
 build-san/include/generated/autoconf.h platform/fs.h platform/net.h \
 platform/time.h tools/khien-policy/compile.h policy/index_format.h \
 tools/khien-policy/lists.h policy/index.h policy/name.h \
 tools/khien-policy/punycode.h tools/khien-policy/tool.h
lib/err.h:
lib/log.h:
lib/compiler.h:
build-san/include/generated/autoconf.h:
platform/fs.h:
platform/net.h:
platform/time.h:
tools/khien-policy/compile.h:
policy/index_format.h:
tools/khien-policy/lists.h:
policy/index.h:
policy/name.h:
tools/khien-policy/punycode.h:
tools/khien-policy/tool.h:
