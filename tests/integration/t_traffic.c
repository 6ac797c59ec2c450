// SPDX-License-Identifier: GPL-2.0
/*
 * t_traffic: verified traffic through /dev/kvhost-test on both queues, in
 * the main 1M-buffer run and in variants over ring sizes, index wrap,
 * EVENT_IDX, indirect descriptors, memory layouts and chain shapes.
 */
#include <inttypes.h>
#include <stdio.h>
#include "tap.h"
#include "tdev.h"

struct variant {
	const char *name;
	struct tdev_cfg cfg;
	enum tdev_chain_kind kind[TDEV_NQ];
	uint64_t nbufs;			/* per queue */
	unsigned int batch;
	bool expect_straddle;
	bool expect_budget;		/* batches beyond the 256-descriptor budget */
	bool perf;
};

#define RW	{ TDEV_CHAIN_READ, TDEV_CHAIN_WRITE }

#define V(n, c, k, nb, b, ...) \
	{ .name = (n), .cfg = c, .kind = k, .nbufs = (nb), .batch = (b), \
	  __VA_ARGS__ }
#define CFG(...)	{ __VA_ARGS__ }
#define MIXED_WRITE	{ TDEV_CHAIN_MIXED, TDEV_CHAIN_WRITE }
#define MIXED_MIXED	{ TDEV_CHAIN_MIXED, TDEV_CHAIN_MIXED }

static const struct variant variants[] = {
	V("main 1M buffers",
	  CFG(.num = 256, .event_idx = true, .max_segs = 2, .max_len = 32),
	  RW, 500000, 128, .perf = true),
	V("index wrap from 65000, event_idx, indirect",
	  CFG(.num = 256, .base = 65000, .event_idx = true, .indirect = true,
	      .max_segs = 4),
	  RW, 20000, 128),
	V("index wrap from 65500, no event_idx",
	  CFG(.num = 256, .base = 65500, .max_segs = 2), RW, 20000, 64),
	V("no event_idx, direct", CFG(.num = 256, .max_segs = 3), RW, 20000, 64),
	V("no event_idx, indirect",
	  CFG(.num = 256, .indirect = true, .max_segs = 8), RW, 20000, 64),
	V("event_idx, indirect",
	  CFG(.num = 128, .event_idx = true, .indirect = true, .max_segs = 8),
	  RW, 20000, 64),
	V("ring size 1, indirect",
	  CFG(.num = 1, .indirect = true, .max_segs = 4), RW, 3000, 1),
	V("ring size 1, event_idx",
	  CFG(.num = 1, .event_idx = true, .max_segs = 1), RW, 3000, 1),
	V("ring size 2", CFG(.num = 2, .event_idx = true, .max_segs = 2), RW,
	  5000, 2),
	V("ring size 32768, full ring",
	  CFG(.num = 32768, .event_idx = true, .max_segs = 1, .max_len = 16),
	  RW, 40000, 32768, .expect_budget = true),
	V("offset memory, buffers straddle regions, mixed chains",
	  CFG(.num = 256, .event_idx = true, .indirect = true,
	      .mem = TDEV_MEM_OFFSET_CONTIG, .max_segs = 4, .max_len = 2048),
	  MIXED_WRITE, 10000, 64, .expect_straddle = true),
	V("offset memory, regions 1 GiB apart",
	  CFG(.num = 256, .mem = TDEV_MEM_OFFSET_STRIDED, .max_segs = 4,
	      .max_len = 1024),
	  RW, 10000, 64),
	V("identity memory, several regions",
	  CFG(.num = 256, .event_idx = true, .mem = TDEV_MEM_IDENTITY_MULTI,
	      .max_segs = 4, .max_len = 1024),
	  RW, 10000, 64),
	V("mixed chains on both queues",
	  CFG(.num = 64, .event_idx = true, .max_segs = 4), MIXED_MIXED,
	  10000, 32),
};

static double seconds_since(uint64_t start_ms)
{
	return (kvdev_now_ms() - start_ms) / 1000.0;
}

static uint64_t tdev_requeues(struct tdev *t, unsigned int qi)
{
	struct kvhost_test_stats st;

	if (kvdev_test_stats(&t->dev, &st))
		return 0;
	return st.vq[qi].requeues;
}

static void check_features(struct tdev *t)
{
	tap_ok((t->offered & TDEV_CORE_FEATURES) == TDEV_CORE_FEATURES,
	       "device offers VERSION_1, INDIRECT_DESC, EVENT_IDX, NOTIFY_ON_EMPTY, ANY_LAYOUT (0x%llx)",
	       (unsigned long long)t->offered);
}

static void run_variant(const struct variant *v, bool first)
{
	static struct tdev t;
	uint64_t start;
	double secs;
	unsigned int qi;
	int ret;

	tap_diag("variant: %s", v->name);
	ret = tdev_open(&t, &v->cfg);
	if (first && !ret)
		check_features(&t);
	if (!tap_ok(!ret, "%s: set-up", v->name)) {
		tap_diag("  %s", t.err);
		tdev_close(&t);
		return;
	}
	start = kvdev_now_ms();
	ret = tdev_traffic_all(&t, v->kind, v->nbufs, v->batch);
	secs = seconds_since(start);
	for (qi = 0; qi < TDEV_NQ; qi++) {
		tdev_report_q(&t, qi, ret, v->name);
		tap_ok(tdev_stats_match(&t, qi), "%s: vq %u device counters",
		       v->name, qi);
	}
	if (v->expect_budget)
		for (qi = 0; qi < TDEV_NQ; qi++)
			tap_ok(tdev_requeues(&t, qi) > 0,
			       "%s: vq %u worker yielded to its budget", v->name,
			       qi);
	if (v->expect_straddle)
		tap_ok(t.q[0].straddling && t.q[1].straddling,
		       "%s: segments straddling regions: %u and %u", v->name,
		       t.q[0].straddling, t.q[1].straddling);
	tap_diag("  %.2f s, kicks %" PRIu64 "/%" PRIu64 ", waits %" PRIu64
		 "/%" PRIu64, secs, t.q[0].kicks, t.q[1].kicks, t.q[0].waits,
		 t.q[1].waits);
	if (v->perf && !ret && secs > 0)
		printf("# buffers/s: %.0f\n",
		       (t.q[0].done + t.q[1].done) / secs);
	tdev_close(&t);
}

int main(void)
{
	unsigned int i;

	tap_init();
	tap_watchdog(900);
	for (i = 0; i < sizeof(variants) / sizeof(variants[0]); i++)
		run_variant(&variants[i], i == 0);
	return tap_done();
}
