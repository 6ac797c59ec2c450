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
#include "tap.h"
#include "tdev.h"

#define NUM		8
#define BASE		100
#define ERR_WAIT_MS	5000
#define HEALTHY_BUFS	256

struct bad_case;
typedef void (*build_fn)(struct tdev *t, struct vdrv_ring *r, uint64_t buf,
			 const struct bad_case *c);

struct bad_case {
	const char *name;
	build_fn build;
	int err;		/* expected stats last_err (positive errno) */
	bool no_indirect;	/* negotiate without INDIRECT_DESC */
};

static uint64_t table_gpa(struct vdrv_ring *r)
{
	return vdrv_indirect_gpa(r, 0);
}

/* Publish head 0 as the one available chain. */
static void publish_head0(struct vdrv_ring *r)
{
	vdrv_raw_avail_entry(r, BASE, 0);
	vdrv_raw_avail_idx(r, BASE + 1);
}

static void build_loop(struct tdev *t, struct vdrv_ring *r, uint64_t buf,
		       const struct bad_case *c)
{
	(void)t; (void)c;
	vdrv_raw_desc(r, 0, buf, 16, VRING_DESC_F_NEXT, 1);
	vdrv_raw_desc(r, 1, buf + 16, 16, VRING_DESC_F_NEXT, 0);
	publish_head0(r);
}

static void build_self_loop(struct tdev *t, struct vdrv_ring *r, uint64_t buf,
			    const struct bad_case *c)
{
	(void)t; (void)c;
	vdrv_raw_desc(r, 0, buf, 16, VRING_DESC_F_NEXT, 0);
	publish_head0(r);
}

/* Every descriptor chained: NUM + 1 steps without repeating a pattern of 2. */
static void build_long_loop(struct tdev *t, struct vdrv_ring *r, uint64_t buf,
			    const struct bad_case *c)
{
	unsigned int i;

	(void)t; (void)c;
	for (i = 0; i < NUM; i++)
		vdrv_raw_desc(r, i, buf + i, 1, VRING_DESC_F_NEXT,
			      (i + 1) % NUM);
	publish_head0(r);
}

static void build_next_range(struct tdev *t, struct vdrv_ring *r, uint64_t buf,
			     const struct bad_case *c)
{
	(void)t; (void)c;
	vdrv_raw_desc(r, 0, buf, 16, VRING_DESC_F_NEXT, NUM);
	publish_head0(r);
}

static void build_indirect(struct vdrv_ring *r, uint32_t len, uint16_t flags,
			   uint16_t next)
{
	vdrv_raw_desc(r, 0, table_gpa(r), len, VRING_DESC_F_INDIRECT | flags,
		      next);
}

static void build_indirect_loop(struct tdev *t, struct vdrv_ring *r,
				uint64_t buf, const struct bad_case *c)
{
	(void)t; (void)c;
	vdrv_raw_indirect(r, 0, 0, buf, 16, VRING_DESC_F_NEXT, 1);
	vdrv_raw_indirect(r, 0, 1, buf + 16, 16, VRING_DESC_F_NEXT, 0);
	build_indirect(r, 2 * 16, 0, 0);
	publish_head0(r);
}

static void build_indirect_next_range(struct tdev *t, struct vdrv_ring *r,
				      uint64_t buf, const struct bad_case *c)
{
	(void)t; (void)c;
	vdrv_raw_indirect(r, 0, 0, buf, 16, VRING_DESC_F_NEXT, 2);
	vdrv_raw_indirect(r, 0, 1, buf + 16, 16, 0, 0);
	build_indirect(r, 2 * 16, 0, 0);
	publish_head0(r);
}

static void build_indirect_len(struct tdev *t, struct vdrv_ring *r,
			       uint64_t buf, const struct bad_case *c)
{
	(void)t; (void)c;
	vdrv_raw_indirect(r, 0, 0, buf, 16, 0, 0);
	vdrv_raw_indirect(r, 0, 1, buf + 16, 16, 0, 0);
	build_indirect(r, 24, 0, 0);
	publish_head0(r);
}

static void build_indirect_huge(struct tdev *t, struct vdrv_ring *r,
				uint64_t buf, const struct bad_case *c)
{
	(void)t; (void)c;
	vdrv_raw_indirect(r, 0, 0, buf, 16, 0, 0);
	build_indirect(r, (VDRV_NUM_MAX + 1) * 16, 0, 0);
	publish_head0(r);
}

static void build_nested_indirect(struct tdev *t, struct vdrv_ring *r,
				  uint64_t buf, const struct bad_case *c)
{
	(void)c;
	(void)buf;
	vdrv_raw_indirect(r, 0, 0, vdrv_indirect_gpa(r, 1), 16,
			  VRING_DESC_F_INDIRECT, 0);
	vdrv_raw_indirect(r, 1, 0, t->q[0].area[1], 16, 0, 0);
	build_indirect(r, 16, 0, 0);
	publish_head0(r);
}

static void build_indirect_next(struct tdev *t, struct vdrv_ring *r,
				uint64_t buf, const struct bad_case *c)
{
	(void)t; (void)c;
	vdrv_raw_indirect(r, 0, 0, buf, 16, 0, 0);
	build_indirect(r, 16, VRING_DESC_F_NEXT, 1);
	vdrv_raw_desc(r, 1, buf + 16, 16, 0, 0);
	publish_head0(r);
}

/* The ring has no indirect tables: build one in a buffer by hand. */
static void build_indirect_unnegotiated(struct tdev *t, struct vdrv_ring *r,
					uint64_t buf, const struct bad_case *c)
{
	struct vring_desc d = {
		.addr = buf + 64, .len = 16, .flags = 0, .next = 0,
	};

	(void)c;
	vdrv_write(&t->mem, buf, &d, sizeof(d));
	vdrv_raw_desc(r, 0, buf, 16, VRING_DESC_F_INDIRECT, 0);
	publish_head0(r);
}

static void build_unmapped_addr(struct tdev *t, struct vdrv_ring *r,
				uint64_t buf, const struct bad_case *c)
{
	(void)t; (void)c; (void)buf;
	/* Page 1 is never mapped in a process: outside the table. */
	vdrv_raw_desc(r, 0, 0x1000, 16, 0, 0);
	publish_head0(r);
}

static void build_partly_unmapped(struct tdev *t, struct vdrv_ring *r,
				  uint64_t buf, const struct bad_case *c)
{
	const struct vdrv_region *last = &t->mem.region[t->mem.nregions - 1];

	(void)buf; (void)c;
	/* Starts in guest memory, runs 16 bytes past its end. */
	vdrv_raw_desc(r, 0, last->gpa + last->size - 16, 32, 0, 0);
	publish_head0(r);
}

static void build_wrapping_addr(struct tdev *t, struct vdrv_ring *r,
				uint64_t buf, const struct bad_case *c)
{
	(void)t; (void)c; (void)buf;
	vdrv_raw_desc(r, 0, UINT64_MAX - 15, 32, 0, 0);
	publish_head0(r);
}

static void build_read_after_write(struct tdev *t, struct vdrv_ring *r,
				   uint64_t buf, const struct bad_case *c)
{
	(void)t; (void)c;
	vdrv_raw_desc(r, 0, buf, 16, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
	vdrv_raw_desc(r, 1, buf + 16, 16, 0, 0);
	publish_head0(r);
}

static void build_indirect_read_after_write(struct tdev *t, struct vdrv_ring *r,
					    uint64_t buf,
					    const struct bad_case *c)
{
	(void)t; (void)c;
	vdrv_raw_indirect(r, 0, 0, buf, 16,
			  VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
	vdrv_raw_indirect(r, 0, 1, buf + 16, 16, 0, 0);
	build_indirect(r, 2 * 16, 0, 0);
	publish_head0(r);
}

static void build_avail_too_far(struct tdev *t, struct vdrv_ring *r,
				uint64_t buf, const struct bad_case *c)
{
	unsigned int i;

	(void)t; (void)c;
	for (i = 0; i < NUM; i++) {
		vdrv_raw_desc(r, i, buf + i, 1, 0, 0);
		vdrv_raw_avail_entry(r, BASE + i, i);
	}
	vdrv_raw_avail_idx(r, BASE + NUM + 1);
}

static void build_head_range(struct tdev *t, struct vdrv_ring *r, uint64_t buf,
			     const struct bad_case *c)
{
	(void)t; (void)c;
	vdrv_raw_desc(r, 0, buf, 16, 0, 0);
	vdrv_raw_avail_entry(r, BASE, NUM);
	vdrv_raw_avail_idx(r, BASE + 1);
}

#define BAD(n, f, e, ...)	{ .name = (n), .build = (f), .err = (e), __VA_ARGS__ }

static const struct bad_case cases[] = {
	BAD("descriptor loop 0 -> 1 -> 0", build_loop, ELOOP),
	BAD("descriptor pointing at itself", build_self_loop, ELOOP),
	BAD("chain through every descriptor and back", build_long_loop, ELOOP),
	BAD("next out of range", build_next_range, EINVAL),
	BAD("loop inside an indirect table", build_indirect_loop, ELOOP),
	BAD("next out of range inside an indirect table",
	    build_indirect_next_range, EINVAL),
	BAD("indirect length not a multiple of 16", build_indirect_len, EINVAL),
	BAD("indirect table longer than 32768 entries", build_indirect_huge,
	    E2BIG),
	BAD("nested indirect", build_nested_indirect, EINVAL),
	BAD("indirect descriptor with NEXT", build_indirect_next, EINVAL),
	BAD("indirect without VIRTIO_RING_F_INDIRECT_DESC",
	    build_indirect_unnegotiated, EINVAL, .no_indirect = true),
	BAD("address outside the memory table", build_unmapped_addr, EFAULT),
	BAD("buffer running past the end of guest memory",
	    build_partly_unmapped, EFAULT),
	BAD("address + len wraps 2^64", build_wrapping_addr, EINVAL),
	BAD("readable descriptor after a writable one", build_read_after_write,
	    EINVAL),
	BAD("readable after writable inside an indirect table",
	    build_indirect_read_after_write, EINVAL),
	BAD("avail->idx more than the queue size ahead", build_avail_too_far,
	    EINVAL),
	BAD("avail entry (head) out of range", build_head_range, EINVAL),
};

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

static void run_case(const struct bad_case *c, struct tdev *h, bool healthy)
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
	c->build(&t, r, t.q[0].area[0], c);
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
	publish_head0(r);
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
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		run_case(&cases[i], &healthy, have_healthy);
	tdev_close(&healthy);
	return tap_done();
}
