build-san/obj/lib/log.o: lib/log.c lib/err.h lib/log.h lib/compiler.h \
 build-san/include/generated/autoconf.h platform/log.h
lib/err.h:
lib/log.h:
lib/compiler.h:
build-san/include/generated/autoconf.h:
platform/log.h:
