build-san/obj/platform/linux/fact.o: platform/linux/fact.c \
 platform/fact.h
platform/fact.h:
