// SPDX-License-Identifier: GPL-2.0
/*
 * t_badring: hostile rings.  Each case gets a fresh device whose TX queue
 * holds one malformed chain.  The queue must end up broken with the
 * expected error, the err eventfd must fire, nothing may be completed, and
 * a second, healthy device must still move traffic afterwards.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "badring.h"
#include "tap.h"
#include "tdev.h"

#define NUM		8
#define BASE		100
#define ERR_WAIT_MS	5000
#define HEALTHY_BUFS	256

static const struct tdev_cfg bad_cfg = {
	.num = NUM,
	.base = BASE,
	.event_idx = true,
	.indirect = true,
	.max_segs = 4,
	.max_len = 64,
};

static const struct tdev_cfg healthy_cfg = {
	.num = 64,
	.event_idx = true,
	.indirect = true,
	.max_segs = 4,
	.max_len = 256,
};

static bool healthy_traffic(struct tdev *h, const char *after)
{
	static const enum tdev_chain_kind kinds[] = {
		TDEV_CHAIN_READ, TDEV_CHAIN_WRITE,
	};
	int ret = tdev_traffic_all(h, kinds, HEALTHY_BUFS, 32);
	bool ok = !ret && tdev_stats_match(h, 0) && tdev_stats_match(h, 1);

	tap_ok(ok, "healthy device still moves traffic after: %s", after);
	if (ret)
		tap_diag("  %s", h->q[0].err[0] ? h->q[0].err : h->q[1].err);
	return ok;
}

static void run_case(const struct badring_case *c, struct tdev *h, bool healthy)
{
	static struct tdev t;
	struct tdev_cfg cfg = bad_cfg;
	struct kvhost_test_stats st;
	struct vdrv_ring *r;
	int ret;

	tap_diag("case: %s", c->name);
	if (c->no_indirect)
		cfg.indirect = false;
	ret = tdev_open(&t, &cfg);
	if (!tap_ok(!ret, "%s: set-up", c->name)) {
		tap_diag("  %s", t.err);
		tdev_close(&t);
		return;
	}
	r = &t.q[0].ring;
	c->build(&(struct badring_env){ .r = r, .mem = &t.mem,
					.buf = t.q[0].area[0],
					.buf2 = t.q[0].area[1], .base = BASE });
	kvdev_kick(&t.dev, 0);

	ret = kvdev_wait_err(&t.dev, 0, ERR_WAIT_MS);
	tap_is(ret, 1, "%s: err eventfd signalled", c->name);
	ret = kvdev_test_stats(&t.dev, &st);
	tap_is(ret, 0, "%s: KVHOST_TEST_GET_STATS", c->name);
	tap_is(st.vq[0].broken, 1, "%s: queue broken", c->name);
	tap_is(st.vq[0].last_err, c->err, "%s: last_err %s", c->name,
	       strerror(c->err));
	tap_is(st.vq[0].bufs, 0, "%s: nothing completed", c->name);
	tap_is(vdrv_raw_used_idx(r), BASE, "%s: used->idx untouched", c->name);
	tap_is(st.vq[1].broken, 0, "%s: other queue not broken", c->name);
	tdev_close(&t);

	if (healthy)
		healthy_traffic(h, c->name);
}

static void run_control(void)
{
	static struct tdev t;
	struct kvhost_test_stats st;
	struct vdrv_seg s[2];
	uint64_t token;
	uint32_t len;
	int ret;

	ret = tdev_open(&t, &bad_cfg);
	if (!tap_ok(!ret, "control: set-up")) {
		tap_diag("  %s", t.err);
		tdev_close(&t);
		return;
	}
	s[0] = (struct vdrv_seg){ .gpa = t.q[0].area[0], .len = 16 };
	s[1] = (struct vdrv_seg){ .gpa = t.q[0].area[0] + 16, .len = 16,
				  .writable = true };
	vdrv_enable_intr(&t.q[0].ring);
	vdrv_add(&t.q[0].ring, s, 2, 7, false);
	vdrv_kick_prepare(&t.q[0].ring);
	kvdev_kick(&t.dev, 0);
	ret = kvdev_wait_call(&t.dev, 0, ERR_WAIT_MS);
	tap_is(ret, 1, "control: well-formed chain is signalled");
	ret = vdrv_get_used(&t.q[0].ring, &token, &len);
	if (!tap_ok(ret == 1 && token == 7 && len == 16,
		    "control: used element (token 7, len 16)"))
		tap_diag("  got ret %d token %llu len %u", ret,
			 (unsigned long long)token, len);
	tap_is(kvdev_wait_err(&t.dev, 0, 0), 0, "control: err eventfd quiet");
	kvdev_test_stats(&t.dev, &st);
	tap_is(st.vq[0].broken, 0, "control: queue not broken");
	tdev_close(&t);
}

/*
 * Not bad: a zero-length descriptor (virtio 1.2 has no rule against one)
 * in the middle of a chain, its address unmapped, is served like the rest.
 */
static void run_zero_length(void)
{
	static struct tdev t;
	struct kvhost_test_stats st;
	struct vdrv_ring *r;
	uint8_t *p;
	uint64_t buf, sum = 0;
	unsigned int i;
	int ret;

	ret = tdev_open(&t, &bad_cfg);
	if (!tap_ok(!ret, "zero length: set-up")) {
		tap_diag("  %s", t.err);
		tdev_close(&t);
		return;
	}
	r = &t.q[0].ring;
	buf = t.q[0].area[0];
	p = vdrv_ptr(&t.mem, buf);
	for (i = 0; i < 64; i++)
		sum += p[i] = (uint8_t)(i * 3 + 1);
	vdrv_raw_desc(r, 0, buf, 32, VRING_DESC_F_NEXT, 1);
	vdrv_raw_desc(r, 1, 0xdead00000000ULL, 0, VRING_DESC_F_NEXT, 2);
	vdrv_raw_desc(r, 2, buf + 32, 32, 0, 0);
	vdrv_raw_avail_entry(r, BASE, 0);
	vdrv_raw_avail_idx(r, BASE + 1);
	kvdev_kick(&t.dev, 0);
	for (i = 0; i < 500 && vdrv_raw_used_idx(r) == BASE; i++)
		usleep(10000);
	tap_is(vdrv_raw_used_idx(r), BASE + 1,
	       "zero length: a chain with a 0-byte descriptor is used");
	kvdev_test_stats(&t.dev, &st);
	tap_ok(!st.vq[0].broken && st.vq[0].csum == sum && st.vq[0].bytes == 64,
	       "zero length: not broken, its 64 real bytes read (broken %u, bytes %llu)",
	       st.vq[0].broken, (unsigned long long)st.vq[0].bytes);
	tap_is(kvdev_wait_err(&t.dev, 0, 0), 0, "zero length: err eventfd quiet");
	tdev_close(&t);
}

int main(void)
{
	static struct tdev healthy;
	unsigned int i;
	bool have_healthy;
	int ret;

	tap_init();
	tap_watchdog(600);
	ret = tdev_open(&healthy, &healthy_cfg);
	have_healthy = tap_ok(!ret, "healthy device set-up");
	if (!have_healthy) {
		tap_diag("  %s", healthy.err);
		/* Without a device every case fails the same way: once is enough. */
		tdev_close(&healthy);
		return tap_done();
	}
	healthy_traffic(&healthy, "nothing");
	run_control();
	run_zero_length();
	for (i = 0; i < badring_ncases; i++)
		run_case(&badring_cases[i], &healthy, have_healthy);
	tdev_close(&healthy);
	return tap_done();
}
