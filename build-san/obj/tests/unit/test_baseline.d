build-san/obj/tests/unit/test_baseline.o: tests/unit/test_baseline.c \
 agent/auditor.h agent/integrity.h platform/loop.h agent/privsep_wire.h \
 firmware/baseline.h lib/severity.h platform/fsroot.h lib/compiler.h \
 build-san/include/generated/autoconf.h platform/fs.h platform/proc.h \
 tests/unit/kt.h
agent/auditor.h:
agent/integrity.h:
platform/loop.h:
agent/privsep_wire.h:
firmware/baseline.h:
lib/severity.h:
platform/fsroot.h:
lib/compiler.h:
build-san/include/generated/autoconf.h:
platform/fs.h:
platform/proc.h:
tests/unit/kt.h:
