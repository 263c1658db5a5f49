build-san/obj/tools/khien-policy/audit_canon.o: \
 tools/khien-policy/audit_canon.c tools/khien-policy/audit_canon.h \
 policy/audit.h crypto/crypto.h lib/severity.h
tools/khien-policy/audit_canon.h:
policy/audit.h:
crypto/crypto.h:
lib/severity.h:
