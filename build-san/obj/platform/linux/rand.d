build-san/obj/platform/linux/rand.o: platform/linux/rand.c \
 platform/linux/entropy.h platform/rand.h
platform/linux/entropy.h:
platform/rand.h:
