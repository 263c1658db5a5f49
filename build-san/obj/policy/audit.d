build-san/obj/policy/audit.o: policy/audit.c lib/hex.h lib/ipaddr.h \
 lib/jsonnum.h lib/proto.h lib/severity.h policy/audit_priv.h \
 policy/audit.h crypto/crypto.h
lib/hex.h:
lib/ipaddr.h:
lib/jsonnum.h:
lib/proto.h:
lib/severity.h:
policy/audit_priv.h:
policy/audit.h:
crypto/crypto.h:
