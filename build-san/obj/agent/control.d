build-san/obj/agent/control.o: agent/control.c agent/control.h \
 platform/loop.h lib/err.h lib/log.h lib/compiler.h \
 build-san/include/generated/autoconf.h lib/str.h platform/fs.h \
 platform/net.h platform/proc.h
agent/control.h:
platform/loop.h:
lib/err.h:
lib/log.h:
lib/compiler.h:
build-san/include/generated/autoconf.h:
lib/str.h:
platform/fs.h:
platform/net.h:
platform/proc.h:
