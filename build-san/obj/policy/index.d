build-san/obj/policy/index.o: policy/index.c lib/compiler.h \
 build-san/include/generated/autoconf.h lib/endian.h lib/err.h \
 policy/hash.h policy/index.h policy/index_format.h policy/name.h \
 policy/select_table.h
lib/compiler.h:
build-san/include/generated/autoconf.h:
lib/endian.h:
lib/err.h:
policy/hash.h:
policy/index.h:
policy/index_format.h:
policy/name.h:
policy/select_table.h:
