build-san/obj/agent/policy_store.o: agent/policy_store.c \
 agent/policy_store.h crypto/crypto.h lib/compiler.h \
 build-san/include/generated/autoconf.h lib/civil.h lib/err.h lib/log.h \
 lib/str.h platform/fs.h platform/time.h policy/trust.h
agent/policy_store.h:
crypto/crypto.h:
lib/compiler.h:
build-san/include/generated/autoconf.h:
lib/civil.h:
lib/err.h:
lib/log.h:
lib/str.h:
platform/fs.h:
platform/time.h:
policy/trust.h:
