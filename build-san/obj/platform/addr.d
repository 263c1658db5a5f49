build-san/obj/platform/addr.o: platform/addr.c lib/err.h lib/ipaddr.h \
 platform/net.h
lib/err.h:
lib/ipaddr.h:
platform/net.h:
