build-san/obj/platform/posix/net.o: platform/posix/net.c lib/err.h \
 platform/net.h platform/sockaddr_conv.h lib/endian.h
lib/err.h:
platform/net.h:
platform/sockaddr_conv.h:
lib/endian.h:
