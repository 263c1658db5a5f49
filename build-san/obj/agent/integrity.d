build-san/obj/agent/integrity.o: agent/integrity.c agent/auditor.h \
 agent/integrity.h platform/loop.h agent/privsep_wire.h crypto/crypto.h \
 firmware/baseline.h lib/severity.h platform/fsroot.h lib/jsonnum.h \
 lib/proto.h lib/log.h lib/compiler.h \
 build-san/include/generated/autoconf.h platform/fs.h platform/time.h \
 platform/watch.h
agent/auditor.h:
agent/integrity.h:
platform/loop.h:
agent/privsep_wire.h:
crypto/crypto.h:
firmware/baseline.h:
lib/severity.h:
platform/fsroot.h:
lib/jsonnum.h:
lib/proto.h:
lib/log.h:
lib/compiler.h:
build-san/include/generated/autoconf.h:
platform/fs.h:
platform/time.h:
platform/watch.h:
