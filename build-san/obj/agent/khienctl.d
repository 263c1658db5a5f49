build-san/obj/agent/khienctl.o: agent/khienctl.c lib/err.h platform/fs.h \
 platform/net.h platform/time.h
lib/err.h:
platform/fs.h:
platform/net.h:
platform/time.h:
