build-san/obj/platform/posix/fs.o: platform/posix/fs.c lib/compiler.h \
 build-san/include/generated/autoconf.h lib/err.h platform/fs.h \
 platform/rand.h
lib/compiler.h:
build-san/include/generated/autoconf.h:
lib/err.h:
platform/fs.h:
platform/rand.h:
