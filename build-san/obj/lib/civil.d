build-san/obj/lib/civil.o: lib/civil.c lib/civil.h
lib/civil.h:
