build-san/obj/server/render.o: server/render.c lib/hex.h lib/jsonnum.h \
 lib/proto.h lib/severity.h server/render.h server/store.h
lib/hex.h:
lib/jsonnum.h:
lib/proto.h:
lib/severity.h:
server/render.h:
server/store.h:
