build-san/obj/agent/khiend_main.o: agent/khiend_main.c agent/agent.h
agent/agent.h:
