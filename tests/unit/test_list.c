/* SPDX-License-Identifier: MIT */
/* lib/list.h: order, unlink from any position, safe walk while unlinking. */
#include "lib/list.h"
#include "tests/unit/kt.h"

struct item {
	int v;
	struct kh_list link;
};

/* The values on l, in order, as a string "1,2,3"; also checks back links. */
static const char *walk(struct kh_list *l)
{
	static char buf[64];
	size_t n = 0;
	struct kh_list *pos;

	buf[0] = 0;
	kh_list_for_each (pos, l) {
		if (pos->next->prev != pos)
			return "broken";
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%d", n ? "," : "",
				      kh_list_entry(pos, struct item, link)->v);
	}
	return buf;
}

static void test_list_order(void)
{
	struct kh_list l = KH_LIST_INIT(l);
	struct item it[4];

	KT_CHECK(kh_list_empty(&l));
	KT_CHECK(kh_list_first(&l, struct item, link) == NULL);
	for (int i = 0; i < 4; i++) {
		it[i].v = i;
		kh_list_init(&it[i].link);
		KT_CHECK(!kh_list_linked(&it[i].link));
	}
	kh_list_add_tail(&l, &it[1].link);
	kh_list_add_tail(&l, &it[2].link);
	kh_list_add_head(&l, &it[0].link);
	KT_STREQ(walk(&l), "0,1,2");
	KT_CHECK(kh_list_first(&l, struct item, link) == &it[0]);
	KT_CHECK(kh_list_last(&l, struct item, link) == &it[2]);
	kh_list_move_tail(&l, &it[0].link);
	KT_STREQ(walk(&l), "1,2,0");
	kh_list_del(&it[2].link);
	KT_STREQ(walk(&l), "1,0");
	KT_CHECK(!kh_list_linked(&it[2].link));
	kh_list_del(&it[2].link); /* unlinking twice is harmless */
	KT_STREQ(walk(&l), "1,0");
	kh_list_add_tail(&l, &it[3].link);
	KT_STREQ(walk(&l), "1,0,3");
}

static void test_list_safe_walk(void)
{
	struct kh_list l = KH_LIST_INIT(l), *pos, *tmp;
	struct item it[6];

	for (int i = 0; i < 6; i++) {
		it[i].v = i;
		kh_list_add_tail(&l, &it[i].link);
	}
	kh_list_for_each_safe (pos, tmp, &l) {
		if (kh_list_entry(pos, struct item, link)->v % 2)
			kh_list_del(pos);
	}
	KT_STREQ(walk(&l), "0,2,4");
	kh_list_for_each_safe (pos, tmp, &l)
		kh_list_del(pos);
	KT_CHECK(kh_list_empty(&l));
}

int main(void)
{
	KT_RUN(test_list_order);
	KT_RUN(test_list_safe_walk);
	return KT_DONE();
}
