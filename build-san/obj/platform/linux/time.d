build-san/obj/platform/linux/time.o: platform/linux/time.c \
 platform/loop_priv.h platform/time.h
platform/loop_priv.h:
platform/time.h:
