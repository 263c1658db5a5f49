build-san/obj/tests/fuzz/baseline/fuzz.o: tests/fuzz/baseline/fuzz.c \
 firmware/baseline.h lib/severity.h platform/fsroot.h
firmware/baseline.h:
lib/severity.h:
platform/fsroot.h:
