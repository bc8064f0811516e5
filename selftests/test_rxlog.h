/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The framer tests' record of what a receiver reported: each event with
 * where on the line it came, and a copy of every good frame's payload;
 * and the checks made on it. Include after kselftest_harness.h.
 */
#ifndef TEST_RXLOG_H
#define TEST_RXLOG_H

#define MAX_EVENTS	1024
#define ARENA_SIZE	(64 * 1024)

struct rx_log {
	size_t pos;			/* frame_test: bytes fed so far */
	unsigned int n;
	bool full;
	int ev[MAX_EVENTS];		/* enum ph_rx_event or ph_rx_check */
	size_t at[MAX_EVENTS];		/* where on the line */
	size_t off[MAX_EVENTS];		/* PH_RX_FRAME: payload in arena */
	size_t len[MAX_EVENTS];
	size_t used;
	u8 arena[ARENA_SIZE];
};

/* Assert that event @i of @log is a good frame of @len bytes ending at @at. */
static inline void check_frame(struct __test_metadata *_metadata,
			       const struct rx_log *log, unsigned int i,
			       size_t at, const u8 *payload, size_t len)
{
	ASSERT_FALSE(log->full);
	ASSERT_LT(i, log->n);
	ASSERT_EQ(PH_RX_FRAME, log->ev[i]);
	ASSERT_EQ(at, log->at[i]);
	ASSERT_EQ(len, log->len[i]);
	if (len)
		ASSERT_EQ(0, memcmp(payload, log->arena + log->off[i], len));
}

static inline void check_event(struct __test_metadata *_metadata,
			       const struct rx_log *log, unsigned int i,
			       size_t at, int ev)
{
	ASSERT_FALSE(log->full);
	ASSERT_LT(i, log->n);
	ASSERT_EQ(ev, log->ev[i]);
	ASSERT_EQ(at, log->at[i]);
}

#endif /* TEST_RXLOG_H */
