build-san/obj/platform/linux/entropy.o: platform/linux/entropy.c \
 platform/linux/entropy.h
platform/linux/entropy.h:
