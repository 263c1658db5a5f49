/* SPDX-License-Identifier: MIT */
/*
 * What a board gives the lwIP backend: the few services lwIP itself does
 * not have. A port implements these in its board support (the host harness
 * in platform/lwip/host/ does it over Linux for tests); the rest of the
 * backend is portable C over lwIP and these calls.
 */
#ifndef KHIEN_PLATFORM_LWIP_BOARD_H
#define KHIEN_PLATFORM_LWIP_BOARD_H

#include <stddef.h>
#include <stdint.h>

/* Fill buf from the hardware entropy source (TRNG). 0, or -EIO if it failed. */
int kh_board_entropy(void *buf, size_t len);

/* Deliver one finished log line (no newline) to the console (a UART). */
void kh_board_console(int level, const char *ident, const char *line);

/* The value of a fact the board reports (platform/fact.h), or NULL. */
const char *kh_board_fact(const char *name);
/* Host harness only: load the facts from a file of NAME=VALUE lines; -1 if unreadable. */
int kh_board_host_facts(const char *path);

/*
 * MCUboot's image slots (platform/fwslot.h; slot 0 primary, 1 secondary)
 * from the board's flash map. size: the bytes an image may use, the slot
 * less MCUboot's trailer; -ENOENT if the board has no such slot. read:
 * off + len within that size. mark_swap: write the secondary slot's
 * trailer magic (and image_ok for a permanent swap) as MCUboot's
 * boot_request_upgrade() does; confirm: image_ok of the primary slot.
 */
int kh_board_slot_size(int slot, uint32_t *size);
int kh_board_slot_read(int slot, uint32_t off, void *buf, size_t len);
int kh_board_mark_swap(int permanent);
int kh_board_confirm(void);
/* Host harness only: the slots are these files (NULL: none). 0, or -errno. */
int kh_board_host_slots(const char *primary, const char *secondary);

/*
 * Set the wall clock (Unix seconds) once it is known: from an RTC at boot,
 * SNTP, or the board's own source. Until then kh_time_wall() counts from 0,
 * which the policy code treats as "not set" (it never trusts a time before
 * the newest signed timestamp it has seen).
 */
void kh_time_lwip_set_wall(int64_t unix_seconds);

#endif
