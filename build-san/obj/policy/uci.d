build-san/obj/policy/uci.o: policy/uci.c policy/uci.h
policy/uci.h:
