build-san/obj/tests/tools/testhttps.o: tests/tools/testhttps.c \
 crypto/tls.h platform/net.h lib/err.h lib/http.h platform/fs.h \
 platform/loop.h platform/time.h
crypto/tls.h:
platform/net.h:
lib/err.h:
lib/http.h:
platform/fs.h:
platform/loop.h:
platform/time.h:
