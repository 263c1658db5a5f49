build-san/obj/lib/jsonfield.o: lib/jsonfield.c lib/jsonfield.h \
 lib/jsonnum.h lib/proto.h lib/severity.h
lib/jsonfield.h:
lib/jsonnum.h:
lib/proto.h:
lib/severity.h:
