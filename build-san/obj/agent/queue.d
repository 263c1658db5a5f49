build-san/obj/agent/queue.o: agent/queue.c agent/queue.h lib/proto.h \
 lib/severity.h agent/queue_journal.h lib/compiler.h \
 build-san/include/generated/autoconf.h lib/crc32.h lib/endian.h \
 lib/err.h platform/fs.h
agent/queue.h:
lib/proto.h:
lib/severity.h:
agent/queue_journal.h:
lib/compiler.h:
build-san/include/generated/autoconf.h:
lib/crc32.h:
lib/endian.h:
lib/err.h:
platform/fs.h:
