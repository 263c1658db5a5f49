build-san/obj/tools/khien-policy/compile_modifiers.o: \
 tools/khien-policy/compile_modifiers.c lib/err.h policy/hash.h \
 tools/khien-policy/compile_priv.h tools/khien-policy/compile.h \
 policy/index_format.h tools/khien-policy/lists.h
lib/err.h:
policy/hash.h:
tools/khien-policy/compile_priv.h:
tools/khien-policy/compile.h:
policy/index_format.h:
tools/khien-policy/lists.h:
