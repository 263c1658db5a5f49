build-san/obj/platform/linux/fsroot.o: platform/linux/fsroot.c \
 platform/fs.h platform/fsroot.h
platform/fs.h:
platform/fsroot.h:
