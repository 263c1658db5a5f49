build-san/obj/lib/ipaddr.o: lib/ipaddr.c lib/endian.h lib/hex.h \
 lib/ipaddr.h
lib/endian.h:
lib/hex.h:
lib/ipaddr.h:
