build-san/obj/platform/posix/loop.o: platform/posix/loop.c \
 build-san/include/generated/autoconf.h lib/compiler.h lib/err.h \
 platform/loop.h platform/loop_priv.h platform/time.h
build-san/include/generated/autoconf.h:
lib/compiler.h:
lib/err.h:
platform/loop.h:
platform/loop_priv.h:
platform/time.h:
