build-san/obj/lib/crc32.o: lib/crc32.c lib/crc32.h
lib/crc32.h:
