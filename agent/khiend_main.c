/* SPDX-License-Identifier: MIT */
/* khiend on a hosted OS: nothing to set up before the agent itself. */
#include "agent/agent.h"

int main(int argc, char **argv)
{
	return kh_agent_main(argc, argv);
}
