build-san/obj/tools/khien-policy/tool_audit.o: \
 tools/khien-policy/tool_audit.c lib/jsonnum.h lib/proto.h lib/severity.h \
 platform/fs.h platform/fsroot.h policy/audit.h crypto/crypto.h \
 tools/khien-policy/audit_canon.h tools/khien-policy/tool.h
lib/jsonnum.h:
lib/proto.h:
lib/severity.h:
platform/fs.h:
platform/fsroot.h:
policy/audit.h:
crypto/crypto.h:
tools/khien-policy/audit_canon.h:
tools/khien-policy/tool.h:
