build-san/obj/policy/audit_eval.o: policy/audit_eval.c lib/ipaddr.h \
 platform/fsroot.h policy/audit_priv.h policy/audit.h crypto/crypto.h \
 lib/severity.h policy/uci.h
lib/ipaddr.h:
platform/fsroot.h:
policy/audit_priv.h:
policy/audit.h:
crypto/crypto.h:
lib/severity.h:
policy/uci.h:
