/* SPDX-License-Identifier: MIT */
/*
 * The report queue's journal on disk (agent/queue.c writes and replays
 * it; the replay's checks are described there). Integers are
 * little-endian, sizes in bytes. The journal is a sequence of records:
 *
 *   off   size  field
 *   0     1     kind: 'Q' HEADER, 'E' EVENT, 'D' DROP, 'A' ACK
 *   1     2     n: length of the body (<= KH_QUEUE_PAYLOAD_MAX + 64)
 *   3     n     body
 *   3+n   4     CRC-32/IEEE (lib/crc32.h) of bytes 0 .. 3+n-1 (kind, n, body)
 *
 * HEADER, n = 56, the first record and only there:
 *   0  4  magic "KHQJ"        4  2  format version (1)   6  2  flags (0)
 *   8  8  next_seq            16 8  acked                24 32 dropped[4],
 *                                                        low .. critical
 * EVENT, n = 20 + tlen + plen:
 *   0  8  seq                 8  8  time (int64, two's complement)
 *   16 1  severity (< 4)      17 1  tlen (1..31)         18 2  plen (<= 1024)
 *   20 tlen type ([a-z0-9_])  20+tlen plen payload (no NUL byte)
 * DROP, n = 9: an event dropped to make room; counts it in dropped[sev].
 *   0  8  seq of the queued event removed, or 0 for a new event refused
 *   8  1  its severity
 * ACK, n = 8:
 *   0  8  seq: every event up to it is forgotten
 */
#ifndef KHIEN_AGENT_QUEUE_JOURNAL_H
#define KHIEN_AGENT_QUEUE_JOURNAL_H

#include "agent/queue.h"

enum {
	REC_HEADER = 'Q',
	REC_EVENT = 'E',
	REC_DROP = 'D',
	REC_ACK = 'A',
};

#define REC_OVERHEAD 7u /* kind, length, CRC */
#define BODY_MAX (KH_QUEUE_PAYLOAD_MAX + 64u)
#define HDR_BODY 56u
#define HDR_REC (REC_OVERHEAD + HDR_BODY)
#define HDR_VERSION 1u
#define EV_FIXED 20u
#define EV_BODY_MAX (EV_FIXED + KH_QUEUE_TYPE_MAX + KH_QUEUE_PAYLOAD_MAX)
#define EV_REC_MIN (REC_OVERHEAD + EV_FIXED + 1u)
#define EV_REC_MAX (REC_OVERHEAD + EV_BODY_MAX)
#define DROP_BODY 9u
#define DROP_REC (REC_OVERHEAD + DROP_BODY)
#define ACK_BODY 8u
#define ACK_REC (REC_OVERHEAD + ACK_BODY)
#define SEQ_LIMIT ((uint64_t)1 << 62) /* sequence numbers are 1 .. SEQ_LIMIT - 1 */

#endif
