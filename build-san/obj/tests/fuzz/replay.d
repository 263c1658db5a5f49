build-san/obj/tests/fuzz/replay.o: tests/fuzz/replay.c platform/fs.h
platform/fs.h:
