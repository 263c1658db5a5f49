build-san/obj/agent/khiend.o: agent/khiend.c agent/agent.h agent/audit.h \
 lib/severity.h platform/loop.h agent/auditor.h agent/config.h \
 agent/dns_wire.h policy/name.h lib/compiler.h \
 build-san/include/generated/autoconf.h platform/net.h agent/control.h \
 agent/dns.h agent/policy_store.h agent/privsep.h agent/event.h \
 agent/integrity.h agent/report.h agent/queue.h lib/proto.h \
 crypto/crypto.h firmware/baseline.h platform/fsroot.h lib/err.h \
 lib/jsonnum.h lib/log.h lib/str.h platform/fs.h platform/log.h \
 platform/proc.h platform/rand.h platform/time.h policy/audit.h \
 lib/version.h
agent/agent.h:
agent/audit.h:
lib/severity.h:
platform/loop.h:
agent/auditor.h:
agent/config.h:
agent/dns_wire.h:
policy/name.h:
lib/compiler.h:
build-san/include/generated/autoconf.h:
platform/net.h:
agent/control.h:
agent/dns.h:
agent/policy_store.h:
agent/privsep.h:
agent/event.h:
agent/integrity.h:
agent/report.h:
agent/queue.h:
lib/proto.h:
crypto/crypto.h:
firmware/baseline.h:
platform/fsroot.h:
lib/err.h:
lib/jsonnum.h:
lib/log.h:
lib/str.h:
platform/fs.h:
platform/log.h:
platform/proc.h:
platform/rand.h:
platform/time.h:
policy/audit.h:
lib/version.h:
