build-san/obj/platform/test/rand.o: platform/test/rand.c platform/rand.h \
 platform/test/test_platform.h
platform/rand.h:
platform/test/test_platform.h:
