build-san/obj/policy/canon.o: policy/canon.c lib/err.h lib/proto.h \
 lib/severity.h policy/canon.h
lib/err.h:
lib/proto.h:
lib/severity.h:
policy/canon.h:
