build-san/obj/platform/linux/proc.o: platform/linux/proc.c \
 platform/proc.h
platform/proc.h:
