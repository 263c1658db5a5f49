build-san/obj/agent/privsep.o: agent/privsep.c agent/policy_store.h \
 agent/privsep.h agent/privsep_wire.h lib/endian.h lib/err.h \
 lib/jsonnum.h lib/proto.h lib/severity.h lib/log.h lib/compiler.h \
 build-san/include/generated/autoconf.h lib/str.h platform/fs.h \
 platform/proc.h
agent/policy_store.h:
agent/privsep.h:
agent/privsep_wire.h:
lib/endian.h:
lib/err.h:
lib/jsonnum.h:
lib/proto.h:
lib/severity.h:
lib/log.h:
lib/compiler.h:
build-san/include/generated/autoconf.h:
lib/str.h:
platform/fs.h:
platform/proc.h:
