build-san/obj/platform/posix/log.o: platform/posix/log.c platform/log.h \
 lib/log.h lib/compiler.h build-san/include/generated/autoconf.h
platform/log.h:
lib/log.h:
lib/compiler.h:
build-san/include/generated/autoconf.h:
