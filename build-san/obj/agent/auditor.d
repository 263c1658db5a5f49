build-san/obj/agent/auditor.o: agent/auditor.c agent/auditor.h \
 agent/integrity.h platform/loop.h agent/privsep_wire.h lib/log.h \
 lib/compiler.h build-san/include/generated/autoconf.h platform/fs.h \
 platform/fsroot.h platform/proc.h firmware/baseline.h lib/severity.h \
 policy/audit.h crypto/crypto.h
agent/auditor.h:
agent/integrity.h:
platform/loop.h:
agent/privsep_wire.h:
lib/log.h:
lib/compiler.h:
build-san/include/generated/autoconf.h:
platform/fs.h:
platform/fsroot.h:
platform/proc.h:
firmware/baseline.h:
lib/severity.h:
policy/audit.h:
crypto/crypto.h:
