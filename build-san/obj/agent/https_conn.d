build-san/obj/agent/https_conn.o: agent/https_conn.c agent/https_conn.h \
 crypto/tls.h platform/net.h lib/http.h platform/loop.h lib/compiler.h \
 build-san/include/generated/autoconf.h lib/err.h
agent/https_conn.h:
crypto/tls.h:
platform/net.h:
lib/http.h:
platform/loop.h:
lib/compiler.h:
build-san/include/generated/autoconf.h:
lib/err.h:
