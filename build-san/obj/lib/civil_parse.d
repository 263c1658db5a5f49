build-san/obj/lib/civil_parse.o: lib/civil_parse.c lib/civil.h
lib/civil.h:
