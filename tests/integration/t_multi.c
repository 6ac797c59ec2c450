// SPDX-License-Identifier: GPL-2.0
/*
 * t_multi: four devices at once, each with verified traffic on both queues
 * from its own threads.
 */
#include <pthread.h>
#include <stdio.h>
#include "tap.h"
#include "tdev.h"

#define NDEV		4
#define NBUFS		20000

struct dev_run {
	pthread_t tid;
	struct tdev t;
	struct tdev_cfg cfg;
	int open_ret;
	int ret;
};

static const enum tdev_chain_kind kinds[TDEV_NQ] = {
	TDEV_CHAIN_READ, TDEV_CHAIN_WRITE,
};

static void *dev_main(void *arg)
{
	struct dev_run *d = arg;

	d->ret = tdev_traffic_all(&d->t, kinds, NBUFS, 64);
	return NULL;
}

static const struct tdev_cfg cfgs[NDEV] = {
	{ .num = 256, .event_idx = true, .max_segs = 2, .max_len = 128 },
	{ .num = 128, .indirect = true, .max_segs = 6, .max_len = 64 },
	{ .num = 64, .event_idx = true, .indirect = true, .base = 65300,
	  .mem = TDEV_MEM_OFFSET_CONTIG, .max_segs = 4, .max_len = 1024 },
	{ .num = 512, .mem = TDEV_MEM_OFFSET_STRIDED, .max_segs = 3,
	  .max_len = 256 },
};

int main(void)
{
	static struct dev_run runs[NDEV];
	unsigned int i, qi;
	bool started[NDEV] = { false };

	tap_init();
	tap_watchdog(600);
	/* All devices are open before any traffic starts. */
	for (i = 0; i < NDEV; i++) {
		runs[i].open_ret = tdev_open(&runs[i].t, &cfgs[i]);
		if (!tap_ok(!runs[i].open_ret, "device %u set-up", i))
			tap_diag("  %s", runs[i].t.err);
	}
	for (i = 0; i < NDEV; i++) {
		if (runs[i].open_ret)
			continue;
		started[i] = !pthread_create(&runs[i].tid, NULL, dev_main,
					     &runs[i]);
		tap_ok(started[i], "device %u traffic thread", i);
	}
	for (i = 0; i < NDEV; i++) {
		char what[32];

		if (!started[i])
			continue;
		pthread_join(runs[i].tid, NULL);
		snprintf(what, sizeof(what), "device %u", i);
		for (qi = 0; qi < TDEV_NQ; qi++) {
			tdev_report_q(&runs[i].t, qi, runs[i].ret, what);
			tap_ok(tdev_stats_match(&runs[i].t, qi),
			       "device %u vq %u counters", i, qi);
		}
	}
	for (i = 0; i < NDEV; i++)
		tdev_close(&runs[i].t);
	return tap_done();
}
