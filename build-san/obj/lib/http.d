build-san/obj/lib/http.o: lib/http.c lib/compiler.h \
 build-san/include/generated/autoconf.h lib/err.h lib/http.h
lib/compiler.h:
build-san/include/generated/autoconf.h:
lib/err.h:
lib/http.h:
