build-san/obj/tools/khien-policy/punycode.o: \
 tools/khien-policy/punycode.c lib/err.h tools/khien-policy/punycode.h \
 policy/name.h
lib/err.h:
tools/khien-policy/punycode.h:
policy/name.h:
