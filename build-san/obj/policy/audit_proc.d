build-san/obj/policy/audit_proc.o: policy/audit_proc.c lib/ipaddr.h \
 platform/fsroot.h policy/audit_priv.h policy/audit.h crypto/crypto.h \
 lib/severity.h
lib/ipaddr.h:
platform/fsroot.h:
policy/audit_priv.h:
policy/audit.h:
crypto/crypto.h:
lib/severity.h:
