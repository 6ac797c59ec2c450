// SPDX-License-Identifier: GPL-2.0
/*
 * badring: the malformed split-ring chains every device must refuse (the
 * core's ring checks), shared by t_badring (the test backend) and t_blk (a
 * kvhost-blk queue).  Each case writes one bad chain at head 0 of a ring
 * whose indexes start at @base, and names the errno the queue breaks with.
 */
#include <errno.h>
#include <stdint.h>
#include "badring.h"

static uint64_t table_gpa(struct vdrv_ring *r)
{
	return vdrv_indirect_gpa(r, 0);
}

/* Publish head 0 as the one available chain. */
static void publish_head0(const struct badring_env *e)
{
	vdrv_raw_avail_entry(e->r, e->base, 0);
	vdrv_raw_avail_idx(e->r, e->base + 1);
}

static void build_loop(const struct badring_env *e)
{
	struct vdrv_ring *r = e->r;
	uint64_t buf = e->buf;

	vdrv_raw_desc(r, 0, buf, 16, VRING_DESC_F_NEXT, 1);
	vdrv_raw_desc(r, 1, buf + 16, 16, VRING_DESC_F_NEXT, 0);
	publish_head0(e);
}

static void build_self_loop(const struct badring_env *e)
{
	struct vdrv_ring *r = e->r;
	uint64_t buf = e->buf;

	vdrv_raw_desc(r, 0, buf, 16, VRING_DESC_F_NEXT, 0);
	publish_head0(e);
}

/* Every descriptor chained: num + 1 steps without repeating a pattern of 2. */
static void build_long_loop(const struct badring_env *e)
{
	struct vdrv_ring *r = e->r;
	uint64_t buf = e->buf;
	unsigned int i;

	for (i = 0; i < r->num; i++)
		vdrv_raw_desc(r, i, buf + i, 1, VRING_DESC_F_NEXT,
			      (i + 1) % r->num);
	publish_head0(e);
}

static void build_next_range(const struct badring_env *e)
{
	struct vdrv_ring *r = e->r;
	uint64_t buf = e->buf;

	vdrv_raw_desc(r, 0, buf, 16, VRING_DESC_F_NEXT, r->num);
	publish_head0(e);
}

static void build_indirect(struct vdrv_ring *r, uint32_t len, uint16_t flags,
			   uint16_t next)
{
	vdrv_raw_desc(r, 0, table_gpa(r), len, VRING_DESC_F_INDIRECT | flags,
		      next);
}

static void build_indirect_loop(const struct badring_env *e)
{
	struct vdrv_ring *r = e->r;
	uint64_t buf = e->buf;

	vdrv_raw_indirect(r, 0, 0, buf, 16, VRING_DESC_F_NEXT, 1);
	vdrv_raw_indirect(r, 0, 1, buf + 16, 16, VRING_DESC_F_NEXT, 0);
	build_indirect(r, 2 * 16, 0, 0);
	publish_head0(e);
}

static void build_indirect_next_range(const struct badring_env *e)
{
	struct vdrv_ring *r = e->r;
	uint64_t buf = e->buf;

	vdrv_raw_indirect(r, 0, 0, buf, 16, VRING_DESC_F_NEXT, 2);
	vdrv_raw_indirect(r, 0, 1, buf + 16, 16, 0, 0);
	build_indirect(r, 2 * 16, 0, 0);
	publish_head0(e);
}

static void build_indirect_len(const struct badring_env *e)
{
	struct vdrv_ring *r = e->r;
	uint64_t buf = e->buf;

	vdrv_raw_indirect(r, 0, 0, buf, 16, 0, 0);
	vdrv_raw_indirect(r, 0, 1, buf + 16, 16, 0, 0);
	build_indirect(r, 24, 0, 0);
	publish_head0(e);
}

static void build_indirect_huge(const struct badring_env *e)
{
	struct vdrv_ring *r = e->r;
	uint64_t buf = e->buf;

	vdrv_raw_indirect(r, 0, 0, buf, 16, 0, 0);
	build_indirect(r, (VDRV_NUM_MAX + 1) * 16, 0, 0);
	publish_head0(e);
}

static void build_nested_indirect(const struct badring_env *e)
{
	struct vdrv_ring *r = e->r;

	vdrv_raw_indirect(r, 0, 0, vdrv_indirect_gpa(r, 1), 16,
			  VRING_DESC_F_INDIRECT, 0);
	vdrv_raw_indirect(r, 1, 0, e->buf2, 16, 0, 0);
	build_indirect(r, 16, 0, 0);
	publish_head0(e);
}

static void build_indirect_next(const struct badring_env *e)
{
	struct vdrv_ring *r = e->r;
	uint64_t buf = e->buf;

	vdrv_raw_indirect(r, 0, 0, buf, 16, 0, 0);
	build_indirect(r, 16, VRING_DESC_F_NEXT, 1);
	vdrv_raw_desc(r, 1, buf + 16, 16, 0, 0);
	publish_head0(e);
}

/* The ring has no indirect tables: build one in a buffer by hand. */
static void build_indirect_unnegotiated(const struct badring_env *e)
{
	struct vdrv_ring *r = e->r;
	uint64_t buf = e->buf;
	struct vring_desc d = {
		.addr = buf + 64, .len = 16, .flags = 0, .next = 0,
	};

	vdrv_write(e->mem, buf, &d, sizeof(d));
	vdrv_raw_desc(r, 0, buf, 16, VRING_DESC_F_INDIRECT, 0);
	publish_head0(e);
}

static void build_unmapped_addr(const struct badring_env *e)
{
	struct vdrv_ring *r = e->r;

	/* Page 1 is never mapped in a process: outside the table. */
	vdrv_raw_desc(r, 0, 0x1000, 16, 0, 0);
	publish_head0(e);
}

static void build_partly_unmapped(const struct badring_env *e)
{
	struct vdrv_ring *r = e->r;
	const struct vdrv_region *last = &e->mem->region[e->mem->nregions - 1];

	/* Starts in guest memory, runs 16 bytes past its end. */
	vdrv_raw_desc(r, 0, last->gpa + last->size - 16, 32, 0, 0);
	publish_head0(e);
}

static void build_wrapping_addr(const struct badring_env *e)
{
	struct vdrv_ring *r = e->r;

	vdrv_raw_desc(r, 0, UINT64_MAX - 15, 32, 0, 0);
	publish_head0(e);
}

static void build_read_after_write(const struct badring_env *e)
{
	struct vdrv_ring *r = e->r;
	uint64_t buf = e->buf;

	vdrv_raw_desc(r, 0, buf, 16, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
	vdrv_raw_desc(r, 1, buf + 16, 16, 0, 0);
	publish_head0(e);
}

static void build_indirect_read_after_write(const struct badring_env *e)
{
	struct vdrv_ring *r = e->r;
	uint64_t buf = e->buf;

	vdrv_raw_indirect(r, 0, 0, buf, 16,
			  VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
	vdrv_raw_indirect(r, 0, 1, buf + 16, 16, 0, 0);
	build_indirect(r, 2 * 16, 0, 0);
	publish_head0(e);
}

static void build_avail_too_far(const struct badring_env *e)
{
	struct vdrv_ring *r = e->r;
	uint64_t buf = e->buf;
	unsigned int i;

	for (i = 0; i < r->num; i++) {
		vdrv_raw_desc(r, i, buf + i, 1, 0, 0);
		vdrv_raw_avail_entry(r, e->base + i, i);
	}
	vdrv_raw_avail_idx(r, e->base + r->num + 1);
}

static void build_head_range(const struct badring_env *e)
{
	struct vdrv_ring *r = e->r;
	uint64_t buf = e->buf;

	vdrv_raw_desc(r, 0, buf, 16, 0, 0);
	vdrv_raw_avail_entry(r, e->base, r->num);
	vdrv_raw_avail_idx(r, e->base + 1);
}

#define BAD(n, f, e, ...)	{ .name = (n), .build = (f), .err = (e), __VA_ARGS__ }

const struct badring_case badring_cases[] = {
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

const unsigned int badring_ncases = sizeof(badring_cases) / sizeof(badring_cases[0]);
