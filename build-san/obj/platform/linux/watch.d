build-san/obj/platform/linux/watch.o: platform/linux/watch.c \
 platform/watch.h
platform/watch.h:
