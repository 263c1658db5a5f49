/* SPDX-License-Identifier: MIT */
/* Board facts on an RTOS gateway: whatever the board support reports. */
#include "platform/fact.h"
#include "platform/lwip/board.h"

const char *kh_fact_get(const char *name)
{
	return kh_board_fact(name);
}
