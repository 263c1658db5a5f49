build-san/obj/agent/audit.o: agent/audit.c agent/audit.h lib/severity.h \
 platform/loop.h agent/auditor.h agent/privsep_wire.h lib/jsonnum.h \
 lib/proto.h lib/log.h lib/compiler.h \
 build-san/include/generated/autoconf.h platform/fact.h platform/fsroot.h \
 platform/time.h policy/audit.h crypto/crypto.h
agent/audit.h:
lib/severity.h:
platform/loop.h:
agent/auditor.h:
agent/privsep_wire.h:
lib/jsonnum.h:
lib/proto.h:
lib/log.h:
lib/compiler.h:
build-san/include/generated/autoconf.h:
platform/fact.h:
platform/fsroot.h:
platform/time.h:
policy/audit.h:
crypto/crypto.h:
