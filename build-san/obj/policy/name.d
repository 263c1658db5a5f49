build-san/obj/policy/name.o: policy/name.c lib/compiler.h \
 build-san/include/generated/autoconf.h policy/name.h
lib/compiler.h:
build-san/include/generated/autoconf.h:
policy/name.h:
