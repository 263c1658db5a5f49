build-san/obj/policy/hash.o: policy/hash.c lib/endian.h policy/hash.h \
 policy/name.h
lib/endian.h:
policy/hash.h:
policy/name.h:
