/* SPDX-License-Identifier: MIT */
/*
 * Intrusive doubly linked lists: a struct kh_list inside each element, a
 * circular list with a head node, O(1) insert and unlink, no allocation.
 * One shape for every queue in the tree (deadline FIFOs, LRU and
 * per-state connection lists), as libubox's list.h, so the pointer surgery
 * is written and tested once.
 */
#ifndef KHIEN_LIB_LIST_H
#define KHIEN_LIB_LIST_H

#include <stddef.h>

struct kh_list {
	struct kh_list *prev, *next;
};

#define KH_LIST_INIT(name)       \
	{                        \
		&(name), &(name) \
	}

/* The element of type `type` whose member `member` is at ptr. */
#define kh_container_of(ptr, type, member) ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

/* An empty list, or an unlinked element (so kh_list_linked() says no). */
static inline void kh_list_init(struct kh_list *l)
{
	l->prev = l->next = l;
}

static inline int kh_list_empty(const struct kh_list *l)
{
	return l->next == l;
}

/* Whether an element initialised with kh_list_init is on some list. */
static inline int kh_list_linked(const struct kh_list *e)
{
	return e->next != e;
}

static inline void kh_list_insert_(struct kh_list *e, struct kh_list *prev, struct kh_list *next)
{
	e->prev = prev;
	e->next = next;
	prev->next = e;
	next->prev = e;
}

static inline void kh_list_add_head(struct kh_list *l, struct kh_list *e)
{
	kh_list_insert_(e, l, l->next);
}

static inline void kh_list_add_tail(struct kh_list *l, struct kh_list *e)
{
	kh_list_insert_(e, l->prev, l);
}

/* Unlink e and leave it unlinked; harmless on an element not on a list. */
static inline void kh_list_del(struct kh_list *e)
{
	e->prev->next = e->next;
	e->next->prev = e->prev;
	kh_list_init(e);
}

/* Move e to the tail of l (most recently used last). */
static inline void kh_list_move_tail(struct kh_list *l, struct kh_list *e)
{
	kh_list_del(e);
	kh_list_add_tail(l, e);
}

#define kh_list_entry(ptr, type, member) kh_container_of(ptr, type, member)
/* First / last element, or NULL when the list is empty. */
#define kh_list_first(l, type, member) \
	(kh_list_empty(l) ? NULL : kh_list_entry((l)->next, type, member))
#define kh_list_last(l, type, member) \
	(kh_list_empty(l) ? NULL : kh_list_entry((l)->prev, type, member))

/* Walk the nodes; `tmp` makes unlinking the current node safe. */
#define kh_list_for_each(pos, l) for ((pos) = (l)->next; (pos) != (l); (pos) = (pos)->next)
#define kh_list_for_each_safe(pos, tmp, l)                         \
	for ((pos) = (l)->next, (tmp) = (pos)->next; (pos) != (l); \
	     (pos) = (tmp), (tmp) = (pos)->next)

#endif
