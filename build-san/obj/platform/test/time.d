build-san/obj/platform/test/time.o: platform/test/time.c \
 platform/loop_priv.h platform/test/test_platform.h platform/time.h
platform/loop_priv.h:
platform/test/test_platform.h:
platform/time.h:
