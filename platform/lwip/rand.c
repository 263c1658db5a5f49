/* SPDX-License-Identifier: MIT */
/* Random bytes on lwIP: the board's entropy source; never lwIP's LWIP_RAND. */
#include "lib/err.h"
#include "platform/lwip/board.h"
#include "platform/rand.h"

int kh_rand_bytes(void *buf, size_t len)
{
	return kh_board_entropy(buf, len) < 0 ? -EIO : 0;
}
