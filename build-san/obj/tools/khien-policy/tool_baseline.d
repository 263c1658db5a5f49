build-san/obj/tools/khien-policy/tool_baseline.o: \
 tools/khien-policy/tool_baseline.c firmware/baseline.h lib/severity.h \
 platform/fsroot.h lib/hex.h lib/jsonnum.h lib/proto.h platform/fs.h \
 tools/khien-policy/tool.h
firmware/baseline.h:
lib/severity.h:
platform/fsroot.h:
lib/hex.h:
lib/jsonnum.h:
lib/proto.h:
platform/fs.h:
tools/khien-policy/tool.h:
