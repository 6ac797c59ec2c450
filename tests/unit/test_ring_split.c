// SPDX-License-Identifier: GPL-2.0
/*
 * vhost/ring_split.c, natively: the device side of a split ring served to
 * the independent driver library in tests/lib.  Round trips, segment
 * mapping, used-ring batching and index wrap, notification decisions, and
 * every malformed ring the code must refuse (exact errno, then broken).
 */
#include <stdlib.h>
#include <string.h>
#include <linux/errno.h>
#include <linux/kernel.h>
#include <linux/uaccess.h>
#include "ring_harness.h"
#include "tap.h"

#define F(bit)		(1ULL << (bit))
#define F_INDIRECT	F(VIRTIO_RING_F_INDIRECT_DESC)
#define F_EVENT_IDX	F(VIRTIO_RING_F_EVENT_IDX)
#define F_NOTIFY_EMPTY	F(VIRTIO_F_NOTIFY_ON_EMPTY)

static void one_desc(struct harness *h, u64 gpa, u32 len, u16 flags);

static bool setup(struct harness *h, const struct h_opts *o, const char *what)
{
	int ret = h_init(h, o);

	if (ret) {
		tap_ok(false, "%s: harness set-up", what);
		tap_diag("  h_init: %d", ret);
		h_fini(h);
		return false;
	}
	return true;
}

/* Harvest one used element; whether it has @head's token and @len. */
static bool harvest_is(struct harness *h, int head, u32 len)
{
	uint64_t token;
	uint32_t got_len;

	if (vdrv_get_used(&h->drv, &token, &got_len) != 1)
		return false;
	return token == h->drv.head[head].token && got_len == len;
}

/* Token vdrv_add() was given for a head: what h_post() derived it from. */
static uint64_t token_of(struct harness *h, int head)
{
	return h->drv.head[head].token;
}

static void test_direct_round_trip(void)
{
	struct h_opts o = { .num = 8 };
	struct vdrv_seg s[5];
	struct harness h;
	uint64_t token;
	uint32_t len;
	int head;

	if (!setup(&h, &o, "direct"))
		return;
	s[0] = (struct vdrv_seg){ .gpa = h_buf(&h, 100), .len = 100 };
	s[1] = (struct vdrv_seg){ .gpa = h_buf(&h, 7), .len = 7 };
	s[2] = (struct vdrv_seg){ .gpa = h_buf(&h, 512), .len = 512, .writable = true };
	s[3] = (struct vdrv_seg){ .gpa = h_buf(&h, 1), .len = 1, .writable = true };
	s[4] = (struct vdrv_seg){ .gpa = h_buf(&h, 64), .len = 64, .writable = true };
	head = h_post(&h, s, 5, false);
	tap_is(h_pop(&h), 1, "direct: pop of a published 2R+3W chain -> 1");
	tap_ok(h.chain.id == head && h.chain.ndesc == 5,
	       "direct: chain id is the head, ndesc 5");
	tap_ok(h_chain_is(&h, s, 5),
	       "direct: out 2 segs/107 bytes, in 3 segs/577 bytes at the right user addresses");
	tap_is(h_pop(&h), 0, "direct: second pop on a drained ring -> 0");
	tap_is(h_add_used(&h, head, 300), 0, "direct: add_used -> 0");
	tap_is(vdrv_raw_used_idx(&h.drv), 0,
	       "direct: add_used alone does not publish used->idx");
	tap_is(h_flush(&h), 0, "direct: flush -> 0");
	tap_is(vdrv_raw_used_idx(&h.drv), 1, "direct: flush publishes used->idx 1");
	tap_ok(vdrv_get_used(&h.drv, &token, &len) == 1 &&
	       token == token_of(&h, head) && len == 300,
	       "direct: driver harvests the head's token with len 300");
	tap_is(vdrv_num_free(&h.drv), 8,
	       "direct: driver got all 8 descriptors back");
	tap_is(h_flush(&h), 0, "direct: flush with nothing queued -> 0");
	tap_is(vdrv_raw_used_idx(&h.drv), 1,
	       "direct: empty flush leaves used->idx alone");
	h_fini(&h);
}

static void test_indirect_round_trip(void)
{
	struct h_opts o = { .num = 4, .features = F_INDIRECT };
	struct vdrv_seg s[4];
	struct harness h;
	int head;

	if (!setup(&h, &o, "indirect"))
		return;
	s[0] = (struct vdrv_seg){ .gpa = h_buf(&h, 10), .len = 10 };
	s[1] = (struct vdrv_seg){ .gpa = h_buf(&h, 20), .len = 20 };
	s[2] = (struct vdrv_seg){ .gpa = h_buf(&h, 30), .len = 30, .writable = true };
	s[3] = (struct vdrv_seg){ .gpa = h_buf(&h, 40), .len = 40, .writable = true };
	head = h_post(&h, s, 4, true);
	tap_is(h_pop(&h), 1, "indirect: pop of a 4-entry indirect chain -> 1");
	tap_ok(h.chain.id == head && h.chain.ndesc == 4,
	       "indirect: id is the head, ndesc counts the 4 table entries");
	tap_ok(h_chain_is(&h, s, 4),
	       "indirect: out 2 segs/30 bytes, in 2 segs/70 bytes mapped");
	tap_is(h_add_used(&h, head, 70), 0, "indirect: add_used -> 0");
	tap_is(h_flush(&h), 0, "indirect: flush -> 0");
	tap_ok(harvest_is(&h, head, 70), "indirect: driver harvests len 70");

	/* A single-entry table is the smallest legal one. */
	head = h_post(&h, s, 1, true);
	tap_ok(h_pop(&h) == 1 && h.chain.ndesc == 1 && h_chain_is(&h, s, 1),
	       "indirect: 1-entry table pops as 1 readable segment");
	h_fini(&h);
}

/* Direct readable descriptor chained to a final indirect one. */
static void test_direct_then_indirect(void)
{
	struct h_opts o = { .num = 4, .features = F_INDIRECT };
	struct vdrv_seg s[3];
	struct harness h;
	u64 tbl;

	if (!setup(&h, &o, "mixed"))
		return;
	s[0] = (struct vdrv_seg){ .gpa = h_buf(&h, 8), .len = 8 };
	s[1] = (struct vdrv_seg){ .gpa = h_buf(&h, 9), .len = 9 };
	s[2] = (struct vdrv_seg){ .gpa = h_buf(&h, 10), .len = 10, .writable = true };
	tbl = vdrv_indirect_gpa(&h.drv, 1);
	vdrv_raw_indirect(&h.drv, 1, 0, s[1].gpa, 9, VRING_DESC_F_NEXT, 1);
	vdrv_raw_indirect(&h.drv, 1, 1, s[2].gpa, 10, VRING_DESC_F_WRITE, 0);
	h_desc(&h, 0, s[0].gpa, 8, VRING_DESC_F_NEXT, 1);
	h_desc(&h, 1, tbl, 32, VRING_DESC_F_INDIRECT, 0);
	h_avail(&h, 0);
	tap_ok(h_pop(&h) == 1 && h.chain.ndesc == 3 && h_chain_is(&h, s, 3),
	       "mixed: direct desc then indirect table pops as 3 descs, 2R+1W");
	h_fini(&h);
}

/*
 * Zero-length descriptors are legal (virtio 1.2 has no rule against them):
 * taken as descriptors without bytes, their address never read.
 */
static void test_zero_length(void)
{
	struct h_opts o = { .num = 8, .features = F_INDIRECT };
	struct vdrv_seg s[2];
	struct harness h;
	u64 tbl;

	if (!setup(&h, &o, "zero length"))
		return;
	s[0] = (struct vdrv_seg){ .gpa = h_buf(&h, 8), .len = 8 };
	s[1] = (struct vdrv_seg){ .gpa = h_buf(&h, 16), .len = 16, .writable = true };
	/* 0-length readable (unmapped address) between two real buffers. */
	h_desc(&h, 0, s[0].gpa, 8, VRING_DESC_F_NEXT, 1);
	h_desc(&h, 1, 0xdead000000ULL, 0, VRING_DESC_F_NEXT, 2);
	h_desc(&h, 2, s[1].gpa, 16, VRING_DESC_F_WRITE, 0);
	h_avail(&h, 0);
	tap_ok(h_pop(&h) == 1 && h.chain.ndesc == 3 && h_chain_is(&h, s, 2),
	       "zero length: a 0-byte descriptor in a chain is counted, no segment");
	/* A chain of one 0-byte descriptor: taken, empty. */
	h_desc(&h, 3, 0, 0, 0, 0);
	h_avail(&h, 3);
	tap_ok(h_pop(&h) == 1 && h.chain.ndesc == 1 && !h.chain.out_num &&
	       !h.chain.in_num && !h.chain.out_len && !h.chain.in_len,
	       "zero length: a chain of one 0-byte descriptor pops empty");
	/* The same inside an indirect table. */
	tbl = vdrv_indirect_gpa(&h.drv, 4);
	vdrv_raw_indirect(&h.drv, 4, 0, s[0].gpa, 8, VRING_DESC_F_NEXT, 1);
	vdrv_raw_indirect(&h.drv, 4, 1, 0, 0, VRING_DESC_F_NEXT, 2);
	vdrv_raw_indirect(&h.drv, 4, 2, s[1].gpa, 16, VRING_DESC_F_WRITE, 0);
	h_desc(&h, 4, tbl, 48, VRING_DESC_F_INDIRECT, 0);
	h_avail(&h, 4);
	tap_ok(h_pop(&h) == 1 && h.chain.ndesc == 3 && h_chain_is(&h, s, 2),
	       "zero length: a 0-byte indirect entry is counted, no segment");
	tap_is(h.vr.error, 0, "zero length: the ring is not broken");
	h_fini(&h);
}

static void test_segments_across_regions(void)
{
	struct h_opts o = { .num = 8, .nregions = 4, .region_size = 0x10000 };
	struct vdrv_seg s[3];
	struct harness h;
	uint64_t gpa;

	if (!setup(&h, &o, "regions"))
		return;
	if (vdrv_alloc_straddle(&h.mem, 100, 28, &gpa))
		abort();
	s[0] = (struct vdrv_seg){ .gpa = gpa, .len = 128 };
	/* From the middle of region 1, through region 2, into region 3. */
	if (vdrv_alloc_gpa(&h.mem, 0x18100, 0x8000, &gpa))
		abort();
	s[1] = (struct vdrv_seg){ .gpa = gpa, .len = 0x18100, .writable = true };
	h_post(&h, s, 2, false);
	tap_is(vdrv_mem_nsegs(&h.mem, s[1].gpa, s[1].len), 3,
	       "regions: (driver) the writable buffer touches 3 regions");
	tap_is(h_pop(&h), 1, "regions: pop of a chain straddling regions -> 1");
	tap_ok(h.chain.out_num == 2 && h.chain.in_num == 3,
	       "regions: 1 desc over 2 regions -> 2 out segs, 1 over 3 -> 3 in segs");
	tap_ok(h_chain_is(&h, s, 2),
	       "regions: each segment is the user range of its region piece");
	tap_ok(h.chain.ndesc == 2 && h.chain.out_len == 128 &&
	       h.chain.in_len == 0x18100,
	       "regions: ndesc 2, out_len 128, in_len 0x18100");

	/* The same chain with exactly enough iovecs, then one short. */
	h.vr.ops->unpop(&h.vr, 1);
	tap_is(h_pop_max(&h, 5), 1, "regions: iov_max 5 for 5 segments -> 1");
	h.vr.ops->unpop(&h.vr, 1);
	tap_is(h_pop_max(&h, 4), -ENOBUFS,
	       "regions: iov_max 4 for 5 segments -> -ENOBUFS");
	h_fini(&h);
}

/* An indirect table whose first entry is split across two regions. */
static void test_indirect_table_across_regions(void)
{
	struct h_opts o = { .num = 4, .features = F_INDIRECT, .nregions = 2,
			    .region_size = 0x10000 };
	struct vring_desc tbl[2];
	struct vdrv_seg s[2];
	struct harness h;
	uint64_t gpa;

	if (!setup(&h, &o, "split table"))
		return;
	if (vdrv_alloc_straddle(&h.mem, 7, 25, &gpa))
		abort();
	s[0] = (struct vdrv_seg){ .gpa = h_buf(&h, 3), .len = 3 };
	s[1] = (struct vdrv_seg){ .gpa = h_buf(&h, 5), .len = 5, .writable = true };
	tbl[0] = (struct vring_desc){ .addr = htole64(s[0].gpa), .len = htole32(3),
				      .flags = htole16(VRING_DESC_F_NEXT),
				      .next = htole16(1) };
	tbl[1] = (struct vring_desc){ .addr = htole64(s[1].gpa), .len = htole32(5),
				      .flags = htole16(VRING_DESC_F_WRITE) };
	vdrv_write(&h.mem, gpa, tbl, sizeof(tbl));
	one_desc(&h, gpa, sizeof(tbl), VRING_DESC_F_INDIRECT);
	tap_ok(h_pop(&h) == 1 && h.chain.ndesc == 2 && h_chain_is(&h, s, 2),
	       "split table: entry 0 split 7+9 bytes over two regions reads whole");
	h_fini(&h);
}

static void test_fill_whole_ring(void)
{
	struct h_opts o = { .num = 16, .features = F_INDIRECT };
	int heads[16];
	unsigned int k, popped = 0, in_order = 0;
	struct harness h;

	if (!setup(&h, &o, "full ring"))
		return;
	for (k = 0; k < 16; k++)
		heads[k] = h_post_simple(&h, 1, true);
	while (h_pop(&h) == 1) {
		in_order += h.chain.id == heads[popped];
		popped++;
		if (popped > 16)
			break;
	}
	tap_is(popped, 16, "full ring: exactly num (16) chains pop, then 0");
	tap_is(in_order, 16, "full ring: chains pop in avail order");
	tap_is(h.vr.last_avail_idx, 16, "full ring: last_avail_idx advanced to 16");
	h_fini(&h);
}

static void test_chain_of_num(void)
{
	struct h_opts o = { .num = 8 };
	struct harness h;
	u16 i;

	if (!setup(&h, &o, "chain of num"))
		return;
	for (i = 0; i < 8; i++)
		h_desc(&h, i, h_buf(&h, 4), 4, i < 7 ? VRING_DESC_F_NEXT : 0,
		       i + 1);
	h_avail(&h, 0);
	tap_ok(h_pop(&h) == 1 && h.chain.ndesc == 8 && h.chain.out_num == 8,
	       "chain of num: a chain using all 8 descriptors pops, ndesc 8");
	h_fini(&h);
}

static void test_unpop(void)
{
	struct h_opts o = { .num = 8 };
	struct iovec first_iov;
	struct harness h;
	int a, b, c;

	if (!setup(&h, &o, "unpop"))
		return;
	a = h_post_simple(&h, 1, false);
	b = h_post_simple(&h, 1, false);
	c = h_post_simple(&h, 1, false);
	h_pop(&h);
	h_pop(&h);
	first_iov = h.iov[0];
	h_pop(&h);
	h.vr.ops->unpop(&h.vr, 2);
	tap_is(h.vr.last_avail_idx, 1, "unpop: 3 popped, unpop 2 -> last_avail_idx 1");
	tap_ok(h_pop(&h) == 1 && h.chain.id == b &&
	       h.iov[0].iov_base == first_iov.iov_base,
	       "unpop: next pop returns the second chain again, same iov");
	tap_ok(h_pop(&h) == 1 && h.chain.id == c, "unpop: then the third");
	tap_is(h_pop(&h), 0, "unpop: then empty");
	tap_ok(a != b && b != c, "unpop: the three heads differ");
	h_fini(&h);
}

static void test_used_batch_wrap(void)
{
	struct h_opts o = { .num = 8, .base = 5, .features = F_INDIRECT };
	struct vring_used_elem *ring;
	unsigned int k, good = 0;
	struct harness h;
	int heads[6];

	if (!setup(&h, &o, "used wrap"))
		return;
	tap_is(h.vr.last_used_idx, 5, "used wrap: start resumes last_used_idx from used->idx 5");
	for (k = 0; k < 6; k++)
		heads[k] = h_post_simple(&h, 1, true);
	for (k = 0; k < 6; k++)
		good += h_pop(&h) == 1 && h.chain.id == heads[k] &&
			h_add_used(&h, heads[k], 100 + k) == 0;
	tap_is(good, 6, "used wrap: 6 chains popped and queued");
	tap_is(vdrv_raw_used_idx(&h.drv), 5, "used wrap: nothing published before flush");
	tap_is(h_flush(&h), 0, "used wrap: one flush over the ring end -> 0");
	tap_is(vdrv_raw_used_idx(&h.drv), 11, "used wrap: used->idx 5 + 6 = 11");
	ring = h.drv.used->ring;
	tap_ok(ring[5].id == (u32)heads[0] && ring[7].id == (u32)heads[2] &&
	       ring[0].id == (u32)heads[3] && ring[2].id == (u32)heads[5] &&
	       ring[2].len == 105,
	       "used wrap: elements at ring[5..7] then ring[0..2]");
	for (k = 0, good = 0; k < 6; k++)
		good += harvest_is(&h, heads[k], 100 + k);
	tap_is(good, 6, "used wrap: driver harvests all 6 in order with their lens");
	h_fini(&h);
}

static void test_used_batch_autoflush(void)
{
	struct h_opts o = { .num = 8, .batch_max = 4, .features = F_INDIRECT };
	unsigned int k;
	struct harness h;
	int heads[5];

	if (!setup(&h, &o, "autoflush"))
		return;
	for (k = 0; k < 5; k++)
		heads[k] = h_post_simple(&h, 1, true);
	for (k = 0; k < 3; k++) {
		h_pop(&h);
		h_add_used(&h, heads[k], k);
	}
	tap_is(vdrv_raw_used_idx(&h.drv), 0, "autoflush: 3 of batch_max 4 queued, none published");
	h_pop(&h);
	tap_is(h_add_used(&h, heads[3], 3), 0, "autoflush: 4th add_used -> 0");
	tap_is(vdrv_raw_used_idx(&h.drv), 0,
	       "autoflush: a full batch is written but not published");
	tap_ok(h.drv.used->ring[0].id == (uint32_t)heads[0] &&
	       h.drv.used->ring[3].id == (uint32_t)heads[3] &&
	       h.drv.used->ring[3].len == 3,
	       "autoflush: ... its 4 elements are in the used ring already");
	h_pop(&h);
	h_add_used(&h, heads[4], 4);
	tap_is(vdrv_raw_used_idx(&h.drv), 0,
	       "autoflush: the 5th is not published either");
	h_flush(&h);
	tap_is(vdrv_raw_used_idx(&h.drv), 5,
	       "autoflush: the flush publishes all 5 at once (a merged frame stays whole)");
	for (k = 0; k < 5; k++)
		if (!harvest_is(&h, heads[k], k))
			break;
	tap_is(k, 5, "autoflush: driver harvests all 5 in order with their lens");
	h_fini(&h);
}

static void test_index_wrap(void)
{
	struct h_opts o = { .num = 4, .base = 65534, .features = F_INDIRECT };
	unsigned int k, good = 0;
	struct harness h;
	int heads[3];

	if (!setup(&h, &o, "index wrap"))
		return;
	for (k = 0; k < 3; k++)
		heads[k] = h_post_simple(&h, 1, true);
	for (k = 0; k < 3; k++)
		good += h_pop(&h) == 1 && h.chain.id == heads[k];
	tap_is(good, 3, "index wrap: 3 chains pop across avail idx 65535 -> 0");
	tap_is(h.vr.last_avail_idx, 1, "index wrap: last_avail_idx wrapped to 1");
	tap_is(h_pop(&h), 0, "index wrap: ring empty after the wrap");
	for (k = 0; k < 3; k++)
		h_add_used(&h, heads[k], k);
	h_flush(&h);
	tap_is(vdrv_raw_used_idx(&h.drv), 1, "index wrap: used->idx wrapped to 1");
	for (k = 0, good = 0; k < 3; k++)
		good += harvest_is(&h, heads[k], k);
	tap_is(good, 3, "index wrap: driver harvests the 3 across the wrap");
	h_fini(&h);
}

/* Many chains, mixed kinds and batch sizes, through two index wraps. */
static void test_soak(void)
{
	struct h_opts o = { .num = 16, .features = F_INDIRECT, .batch_max = 5 };
	unsigned int k, n, bad = 0, done = 0;
	struct harness h;
	int heads[16];

	if (!setup(&h, &o, "soak"))
		return;
	for (k = 0; done < 140000 && bad < 10; k++) {
		unsigned int batch = 1 + k % 8;

		for (n = 0; n < batch; n++)
			heads[n] = h_post_simple(&h, 1, (k + n) % 3 == 0);
		for (n = 0; n < batch; n++) {
			if (h_pop(&h) != 1 || h.chain.id != heads[n] ||
			    h.chain.out_len != 16 || h.chain.in_len != 32 ||
			    h_add_used(&h, heads[n], n))
				bad++;
		}
		bad += h_pop(&h) != 0;
		h_flush(&h);
		for (n = 0; n < batch; n++)
			bad += !harvest_is(&h, heads[n], n);
		done += batch;
	}
	tap_diag("soak: %u chains", done);
	tap_is(bad, 0, "soak: 140k chains round-trip through 2 index wraps");
	tap_is(h.vr.last_used_idx, (u16)done, "soak: last_used_idx == chains done mod 2^16");
	h_fini(&h);
}

static void test_legacy_endian(void)
{
	struct h_opts o = { .num = 4 };
	struct harness h;
	int head;

	if (!setup(&h, &o, "legacy"))
		return;
	h.vr.features &= ~F(VIRTIO_F_VERSION_1);
	head = h_post_simple(&h, 1, false);
	tap_ok(h_pop(&h) == 1 && h.chain.id == head && h.chain.in_len == 32 &&
	       h_add_used(&h, head, 9) == 0 && h_flush(&h) == 0 &&
	       harvest_is(&h, head, 9),
	       "legacy: without VERSION_1 a little-endian host round-trips");
	h_fini(&h);
}

/* ---- notifications ---- */

/* Post, pop and add_used @n chains, flush, and harvest them. */
static void complete(struct harness *h, unsigned int n)
{
	unsigned int k;
	uint64_t token;
	uint32_t len;

	for (k = 0; k < n; k++) {
		int head = h_post_simple(h, 1, false);

		if (h_pop(h) != 1 || h_add_used(h, head, 0))
			abort();
	}
	if (h_flush(h))
		abort();
	for (k = 0; k < n; k++)
		if (vdrv_get_used(&h->drv, &token, &len) != 1)
			abort();
}

/* Complete @n chains and ask need_signal. */
static int complete_and_ask(struct harness *h, unsigned int n)
{
	complete(h, n);
	return h->vr.ops->need_signal(&h->vr);
}

/* Complete @n chains, have the driver set used_event, ask need_signal. */
static int ask(struct harness *h, unsigned int n, u16 used_event)
{
	complete(h, n);
	vdrv_raw_used_event(&h->drv, used_event);
	return h->vr.ops->need_signal(&h->vr);
}

static void test_need_signal_flags(void)
{
	struct h_opts o = { .num = 8 };
	struct harness h;

	if (!setup(&h, &o, "signal flags"))
		return;
	tap_is(complete_and_ask(&h, 1), 1,
	       "signal flags: avail->flags 0 -> need_signal 1");
	vdrv_disable_intr(&h.drv);
	tap_is(complete_and_ask(&h, 1), 0,
	       "signal flags: VRING_AVAIL_F_NO_INTERRUPT -> need_signal 0");
	vdrv_enable_intr(&h.drv);
	tap_is(complete_and_ask(&h, 2), 1,
	       "signal flags: flag cleared again -> need_signal 1");
	h_fini(&h);
}

static void test_need_signal_event_idx(void)
{
	struct h_opts o = { .num = 8, .features = F_EVENT_IDX };
	struct harness h;

	if (!setup(&h, &o, "event idx"))
		return;
	tap_is(ask(&h, 1, 0x4000), 1,
	       "event idx: first decision after start -> 1 whatever used_event says");
	/* used_event is the used index the driver wants to see passed. */
	tap_is(ask(&h, 1, 1), 1, "event idx: used 1->2 passes used_event 1 -> 1");
	tap_is(ask(&h, 1, 5), 0, "event idx: used 2->3 short of used_event 5 -> 0");
	tap_is(ask(&h, 2, 5), 0,
	       "event idx: used 3->5 reaches but does not pass used_event 5 -> 0");
	tap_is(ask(&h, 1, 5), 1, "event idx: used 5->6 passes used_event 5 -> 1");
	tap_is(ask(&h, 3, 6), 1,
	       "event idx: used 6->9 in one flush passes used_event 6 -> 1");
	tap_is(ask(&h, 4, 9 + 0x8000), 0,
	       "event idx: used_event half a ring away (disabled) -> 0");
	h.drv.avail->flags = htole16(VRING_AVAIL_F_NO_INTERRUPT);
	tap_is(ask(&h, 1, 13), 1,
	       "event idx: avail->flags is ignored when EVENT_IDX is on -> 1");
	h_fini(&h);
}

/* After 2^16 elements without a decision, used_event can't be trusted. */
static void test_need_signal_stale(void)
{
	struct h_opts o = { .num = 256, .features = F_EVENT_IDX };
	struct harness h;
	unsigned int k;

	if (!setup(&h, &o, "stale"))
		return;
	complete_and_ask(&h, 1);
	for (k = 0; k < 65536 / 128; k++)
		complete(&h, 128);
	tap_is(vdrv_raw_used_idx(&h.drv), 1, "stale: used->idx back at 1 after 65536 more");
	vdrv_raw_used_event(&h.drv, 1 + 0x8000);
	tap_is(h.vr.ops->need_signal(&h.vr), 1,
	       "stale: signalled_used overtaken by a flush -> 1 despite used_event");
	h_fini(&h);
}

static void test_notify_on_empty(void)
{
	struct h_opts o = { .num = 8, .features = F_NOTIFY_EMPTY };
	struct harness h;
	int a, b;

	if (!setup(&h, &o, "notify on empty"))
		return;
	h_flush(&h);
	tap_is(h.vr.ops->need_signal(&h.vr), 0,
	       "notify on empty: empty ring, nothing used since start -> 0");
	vdrv_disable_intr(&h.drv);
	a = h_post_simple(&h, 1, false);
	b = h_post_simple(&h, 1, false);
	h_pop(&h);
	h_add_used(&h, a, 0);
	h_flush(&h);
	tap_is(h.vr.ops->need_signal(&h.vr), 0,
	       "notify on empty: buffers still pending, NO_INTERRUPT -> 0");
	h_pop(&h);
	h_add_used(&h, b, 0);
	h_flush(&h);
	tap_is(h.vr.ops->need_signal(&h.vr), 1,
	       "notify on empty: ring now empty -> 1 despite NO_INTERRUPT");
	/* A run that used nothing has nothing to report, empty ring or not. */
	h_flush(&h);
	tap_is(h.vr.ops->need_signal(&h.vr), 0,
	       "notify on empty: nothing used since the last signal -> 0");
	h_fini(&h);

	o.features |= F_EVENT_IDX;
	if (!setup(&h, &o, "notify on empty"))
		return;
	complete_and_ask(&h, 1);
	vdrv_raw_used_event(&h.drv, 0x8000);
	a = h_post_simple(&h, 1, false);
	h_pop(&h);
	h_add_used(&h, a, 0);
	h_flush(&h);
	tap_is(h.vr.ops->need_signal(&h.vr), 1,
	       "notify on empty: with EVENT_IDX, empty ring -> 1 despite used_event");
	h_fini(&h);
}

static void test_notify_flags(void)
{
	struct h_opts o = { .num = 8 };
	struct harness h;

	if (!setup(&h, &o, "notify flags"))
		return;
	h.drv.used->flags = 0xffff;
	tap_is(h.vr.ops->start(&h.vr), 0, "notify flags: start -> 0");
	tap_is(h.drv.used->flags, 0, "notify flags: start writes used->flags 0");
	tap_is(h.vr.ops->disable_notify(&h.vr), 0, "notify flags: disable -> 0");
	tap_is(h.drv.used->flags, VRING_USED_F_NO_NOTIFY,
	       "notify flags: disable sets VRING_USED_F_NO_NOTIFY");
	h_post_simple(&h, 1, false);
	tap_ok(!vdrv_kick_prepare(&h.drv),
	       "notify flags: (driver) no kick while NO_NOTIFY");
	tap_is(h.vr.ops->enable_notify(&h.vr), 1,
	       "notify flags: enable with a buffer already published -> 1");
	tap_is(h.drv.used->flags, 0, "notify flags: enable clears used->flags");
	h_pop(&h);
	tap_is(h.vr.ops->enable_notify(&h.vr), 0,
	       "notify flags: enable with the ring drained -> 0");
	h_post_simple(&h, 1, false);
	tap_ok(vdrv_kick_prepare(&h.drv), "notify flags: (driver) kick when enabled");
	h.drv.used->flags = 0x8000;
	tap_is(h.vr.ops->enable_notify(&h.vr), 1,
	       "notify flags: enable while already enabled rechecks -> 1");
	tap_is(h.drv.used->flags, 0x8000,
	       "notify flags: enable while enabled writes nothing");
	h_fini(&h);
}

static void test_notify_event_idx(void)
{
	struct h_opts o = { .num = 16, .features = F_EVENT_IDX };
	struct harness h;

	if (!setup(&h, &o, "notify event idx"))
		return;
	h_post_simple(&h, 3, false);
	h_pop(&h);
	h_pop(&h);
	h_pop(&h);
	tap_is(h.vr.ops->enable_notify(&h.vr), 0,
	       "notify event idx: enable on a drained ring -> 0");
	tap_is(vdrv_raw_avail_event(&h.drv), 3,
	       "notify event idx: enable writes avail_event = avail idx 3");
	h_post_simple(&h, 1, false);
	tap_ok(vdrv_kick_prepare(&h.drv),
	       "notify event idx: (driver) 3->4 passes avail_event 3: kick");
	h_post_simple(&h, 1, false);
	tap_ok(!vdrv_kick_prepare(&h.drv),
	       "notify event idx: (driver) 4->5 does not: no kick");
	tap_is(h.vr.ops->enable_notify(&h.vr), 1,
	       "notify event idx: enable with 2 unpopped buffers -> 1");
	tap_is(h.vr.ops->disable_notify(&h.vr), 0,
	       "notify event idx: disable -> 0");
	tap_ok(h.drv.used->flags == 0 && vdrv_raw_avail_event(&h.drv) == 3,
	       "notify event idx: disable writes neither used->flags nor avail_event");
	h_fini(&h);
}

/* ---- malformed rings ---- */

/*
 * Once refused, the ring must keep failing with the same errno and write
 * nothing more to the used ring, not even elements queued before.
 */
static bool stays_broken(struct harness *h, int err)
{
	const struct kvhost_ring_ops *ops = h->vr.ops;
	struct kvhost_vring *vr = &h->vr;

	return vr->error == err && kvhost_vring_broken(vr) &&
	       h_pop(h) == err && h_pop(h) == err &&
	       ops->add_used(vr, 0, 1) == err && ops->flush(vr) == err &&
	       ops->enable_notify(vr) == err &&
	       ops->disable_notify(vr) == err && ops->need_signal(vr) == 0 &&
	       h_used_unchanged(h);
}

struct bad_case {
	const char *what;
	int err;
	u64 features;
	unsigned int iov_max;
	void (*make)(struct harness *h);
};

static u64 buf(struct harness *h)
{
	return h_buf(h, 64);
}

/* One direct descriptor at slot 0, published. */
static void one_desc(struct harness *h, u64 gpa, u32 len, u16 flags)
{
	h_desc(h, 0, gpa, len, flags, 0);
	h_avail(h, 0);
}

static void mk_loop(struct harness *h)
{
	h_desc(h, 0, buf(h), 8, VRING_DESC_F_NEXT, 1);
	h_desc(h, 1, buf(h), 8, VRING_DESC_F_NEXT, 0);
	h_avail(h, 0);
}

static void mk_self_loop(struct harness *h)
{
	h_desc(h, 3, buf(h), 8, VRING_DESC_F_NEXT, 3);
	h_avail(h, 3);
}

static void mk_longer_than_queue(struct harness *h)
{
	u16 i;

	/* 0 -> 1 -> ... -> 7 -> 2: only a loop can outrun the table. */
	for (i = 0; i < 8; i++)
		h_desc(h, i, buf(h), 8, VRING_DESC_F_NEXT, i < 7 ? i + 1 : 2);
	h_avail(h, 0);
}

/*
 * desc[num] would be the avail ring's first 16 bytes in this layout: give
 * that "descriptor" a nonzero len (avail slots 2 and 3 are unpublished) so
 * that reading it fails differently from refusing the index.
 */
static void poison_desc_num(struct harness *h)
{
	vdrv_raw_avail_entry(&h->drv, 2, 0x10);
	vdrv_raw_avail_entry(&h->drv, 3, 0);
}

static void mk_next_num(struct harness *h)
{
	poison_desc_num(h);
	h_desc(h, 0, buf(h), 8, VRING_DESC_F_NEXT, 8);
	h_avail(h, 0);
}

/* All 8 descriptors in a ring: exactly num segments, then the loop. */
static void mk_loop_of_num(struct harness *h)
{
	u16 i;

	for (i = 0; i < 8; i++)
		h_desc(h, i, buf(h), 8, VRING_DESC_F_NEXT, (i + 1) % 8);
	h_avail(h, 0);
}

static void mk_next_ffff(struct harness *h)
{
	h_desc(h, 0, buf(h), 8, VRING_DESC_F_NEXT, 0xffff);
	h_avail(h, 0);
}

static void mk_outside(struct harness *h)
{
	one_desc(h, 0x1000, 8, 0);
}

static void mk_past_end(struct harness *h)
{
	const struct vdrv_region *r = &h->mem.region[h->mem.nregions - 1];

	one_desc(h, r->gpa + r->size - 4, 5, VRING_DESC_F_WRITE);
}

static void mk_wrap(struct harness *h)
{
	one_desc(h, U64_MAX - 10, 100, 0);
}

static void mk_read_after_write(struct harness *h)
{
	h_desc(h, 0, buf(h), 8, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 1);
	h_desc(h, 1, buf(h), 8, 0, 0);
	h_avail(h, 0);
}

static void mk_iov_overflow(struct harness *h)
{
	h_desc(h, 0, buf(h), 8, VRING_DESC_F_NEXT, 1);
	h_desc(h, 1, buf(h), 8, VRING_DESC_F_NEXT, 2);
	h_desc(h, 2, buf(h), 8, VRING_DESC_F_WRITE, 0);
	h_avail(h, 0);
}

static void mk_idx_too_far(struct harness *h)
{
	h_desc(h, 0, buf(h), 8, 0, 0);
	vdrv_raw_avail_idx(&h->drv, h->vr.last_avail_idx + 9);
}

static void mk_idx_backwards(struct harness *h)
{
	vdrv_raw_avail_idx(&h->drv, h->vr.last_avail_idx - 1);
}

static void mk_head_num(struct harness *h)
{
	poison_desc_num(h);
	h_avail(h, 8);
}

static void mk_head_ffff(struct harness *h)
{
	h_avail(h, 0xffff);
}

/* Outer descriptor at slot 0 for head 0's indirect table. */
static void indirect_outer(struct harness *h, u32 len, u16 flags)
{
	one_desc(h, vdrv_indirect_gpa(&h->drv, 0), len,
		 VRING_DESC_F_INDIRECT | flags);
}

static void ind(struct harness *h, u16 i, u64 gpa, u32 len, u16 flags,
		u16 next)
{
	vdrv_raw_indirect(&h->drv, 0, i, gpa, len, flags, next);
}

/* A well-formed one-entry table. */
static void mk_ind_valid(struct harness *h)
{
	ind(h, 0, buf(h), 8, 0, 0);
	indirect_outer(h, 16, 0);
}

static void mk_ind_len_24(struct harness *h)
{
	ind(h, 0, buf(h), 8, 0, 0);
	indirect_outer(h, 24, 0);
}

static void mk_ind_len_8(struct harness *h)
{
	ind(h, 0, buf(h), 8, 0, 0);
	indirect_outer(h, 8, 0);
}

static void mk_ind_len_0(struct harness *h)
{
	indirect_outer(h, 0, 0);
}

static void mk_ind_too_big(struct harness *h)
{
	indirect_outer(h, (32768 + 1) * 16, 0);
}

static void mk_ind_nested(struct harness *h)
{
	ind(h, 0, vdrv_indirect_gpa(&h->drv, 1), 16, VRING_DESC_F_INDIRECT, 0);
	indirect_outer(h, 16, 0);
}

static void mk_ind_with_next(struct harness *h)
{
	ind(h, 0, buf(h), 8, 0, 0);
	h_desc(h, 1, buf(h), 8, 0, 0);
	h_desc(h, 0, vdrv_indirect_gpa(&h->drv, 0), 16,
	       VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT, 1);
	h_avail(h, 0);
}

static void mk_ind_loop(struct harness *h)
{
	ind(h, 0, buf(h), 8, VRING_DESC_F_NEXT, 1);
	ind(h, 1, buf(h), 8, VRING_DESC_F_NEXT, 0);
	indirect_outer(h, 32, 0);
}

static void mk_ind_self_loop(struct harness *h)
{
	ind(h, 0, buf(h), 8, VRING_DESC_F_NEXT, 0);
	indirect_outer(h, 16, 0);
}

static void mk_ind_next_range(struct harness *h)
{
	ind(h, 0, buf(h), 8, VRING_DESC_F_NEXT, 2);
	ind(h, 1, buf(h), 8, 0, 0);
	/* Just past the 2-entry table: a valid entry that must not be read. */
	ind(h, 2, buf(h), 8, 0, 0);
	indirect_outer(h, 32, 0);
}

static void mk_ind_table_outside(struct harness *h)
{
	one_desc(h, 0x2000, 16, VRING_DESC_F_INDIRECT);
}

static void mk_ind_table_wrap(struct harness *h)
{
	one_desc(h, U64_MAX - 15, 32, VRING_DESC_F_INDIRECT);
}

/* A 2-entry table in the last 16 bytes of guest memory: entry 1 is unmapped. */
static void mk_ind_table_past_end(struct harness *h)
{
	const struct vdrv_region *r = &h->mem.region[h->mem.nregions - 1];
	u64 tbl = r->gpa + r->size - 16;
	struct vring_desc d = {
		.addr = htole64(buf(h)),
		.len = htole32(8),
		.flags = htole16(VRING_DESC_F_NEXT),
		.next = htole16(1),
	};

	vdrv_write(&h->mem, tbl, &d, sizeof(d));
	one_desc(h, tbl, 32, VRING_DESC_F_INDIRECT);
}

static void mk_ind_entry_outside(struct harness *h)
{
	ind(h, 0, 0x3000, 8, 0, 0);
	indirect_outer(h, 16, 0);
}

static void mk_ind_entry_wrap(struct harness *h)
{
	ind(h, 0, U64_MAX, 2, 0, 0);
	indirect_outer(h, 16, 0);
}

static void mk_ind_read_after_write(struct harness *h)
{
	ind(h, 0, buf(h), 8, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 1);
	ind(h, 1, buf(h), 8, 0, 0);
	indirect_outer(h, 32, 0);
}

/* Writable direct descriptor, then a table whose entry is readable. */
static void mk_write_then_ind_read(struct harness *h)
{
	ind(h, 0, buf(h), 8, 0, 0);
	h_desc(h, 0, buf(h), 8, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
	h_desc(h, 1, vdrv_indirect_gpa(&h->drv, 0), 16, VRING_DESC_F_INDIRECT,
	       0);
	h_avail(h, 0);
}

static void mk_ind_iov_overflow(struct harness *h)
{
	ind(h, 0, buf(h), 8, VRING_DESC_F_NEXT, 1);
	ind(h, 1, buf(h), 8, VRING_DESC_F_NEXT, 2);
	ind(h, 2, buf(h), 8, 0, 0);
	indirect_outer(h, 48, 0);
}

/* The avail ring's idx field is unreadable. */
static void mk_fault_avail_idx(struct harness *h)
{
	shim_fault_lo = (unsigned long)&h->drv.avail->idx;
	shim_fault_hi = shim_fault_lo + 2;
	h_post_simple(h, 1, false);
}

static void mk_fault_avail_ring(struct harness *h)
{
	h_post_simple(h, 1, false);
	shim_fault_lo = (unsigned long)
		&h->drv.avail->ring[h->vr.last_avail_idx & (h->vr.num - 1)];
	shim_fault_hi = shim_fault_lo + 2;
}

static void mk_fault_desc(struct harness *h)
{
	int head = h_post_simple(h, 1, false);

	shim_fault_lo = (unsigned long)&h->drv.desc[head];
	shim_fault_hi = shim_fault_lo + 16;
}

static const struct bad_case bad_cases[] = {
	{ "loop of 2 descriptors", -ELOOP, 0, 0, mk_loop },
	{ "descriptor chained to itself", -ELOOP, 0, 0, mk_self_loop },
	{ "chain longer than the queue", -ELOOP, 0, 0, mk_longer_than_queue },
	{ "loop through all num descriptors, iov_max num", -ELOOP, 0, 8, mk_loop_of_num },
	{ "next == num", -EINVAL, 0, 0, mk_next_num },
	{ "next == 0xffff", -EINVAL, 0, 0, mk_next_ffff },
	{ "address outside the memory table", -EFAULT, 0, 0, mk_outside },
	{ "buffer running past the end of guest memory", -EFAULT, 0, 0, mk_past_end },
	{ "addr + len wrapping 2^64", -EINVAL, 0, 0, mk_wrap },
	{ "readable after writable", -EINVAL, 0, 0, mk_read_after_write },
	{ "3 segments, iov_max 2", -ENOBUFS, 0, 2, mk_iov_overflow },
	{ "avail->idx num+1 ahead", -EINVAL, 0, 0, mk_idx_too_far },
	{ "avail->idx moved backwards", -EINVAL, 0, 0, mk_idx_backwards },
	{ "avail head == num", -EINVAL, 0, 0, mk_head_num },
	{ "avail head == 0xffff", -EINVAL, 0, 0, mk_head_ffff },
	{ "indirect len 24 (not a multiple of 16)", -EINVAL, F_INDIRECT, 0, mk_ind_len_24 },
	{ "indirect len 8", -EINVAL, F_INDIRECT, 0, mk_ind_len_8 },
	{ "indirect len 0", -EINVAL, F_INDIRECT, 0, mk_ind_len_0 },
	{ "indirect table of 32769 entries", -E2BIG, F_INDIRECT, 0, mk_ind_too_big },
	{ "nested indirect", -EINVAL, F_INDIRECT, 0, mk_ind_nested },
	{ "indirect with NEXT", -EINVAL, F_INDIRECT, 0, mk_ind_with_next },
	{ "indirect without the feature", -EINVAL, 0, 0, mk_ind_valid },
	{ "loop inside an indirect table", -ELOOP, F_INDIRECT, 0, mk_ind_loop },
	{ "indirect entry chained to itself", -ELOOP, F_INDIRECT, 0, mk_ind_self_loop },
	{ "loop inside a 2-entry table, iov_max 2", -ELOOP, F_INDIRECT, 2, mk_ind_loop },
	{ "indirect next out of range", -EINVAL, F_INDIRECT, 0, mk_ind_next_range },
	{ "indirect table outside the memory table", -EFAULT, F_INDIRECT, 0, mk_ind_table_outside },
	{ "indirect table wrapping 2^64", -EINVAL, F_INDIRECT, 0, mk_ind_table_wrap },
	{ "indirect table running past guest memory", -EFAULT, F_INDIRECT, 0, mk_ind_table_past_end },
	{ "indirect entry outside the memory table", -EFAULT, F_INDIRECT, 0, mk_ind_entry_outside },
	{ "indirect entry wrapping 2^64", -EINVAL, F_INDIRECT, 0, mk_ind_entry_wrap },
	{ "readable after writable in a table", -EINVAL, F_INDIRECT, 0, mk_ind_read_after_write },
	{ "writable direct, then readable in a table", -EINVAL, F_INDIRECT, 0, mk_write_then_ind_read },
	{ "3 table entries, iov_max 2", -ENOBUFS, F_INDIRECT, 2, mk_ind_iov_overflow },
	{ "avail->idx unreadable", -EFAULT, 0, 0, mk_fault_avail_idx },
	{ "avail ring entry unreadable", -EFAULT, 0, 0, mk_fault_avail_ring },
	{ "descriptor unreadable", -EFAULT, 0, 0, mk_fault_desc },
};

static const char *errname(int err)
{
	switch (err) {
	case -EINVAL:
		return "-EINVAL";
	case -ELOOP:
		return "-ELOOP";
	case -EFAULT:
		return "-EFAULT";
	case -ENOBUFS:
		return "-ENOBUFS";
	case -E2BIG:
		return "-E2BIG";
	default:
		return "?";
	}
}

static void run_bad_case(const struct bad_case *c)
{
	struct h_opts o = { .num = 8, .features = c->features,
			    .drv_indirect = true, .batch_max = 8 };
	struct harness h;
	int good, ret;

	if (!setup(&h, &o, c->what))
		return;
	/* A good chain in flight, its used element queued but not flushed. */
	good = h_post_simple(&h, 1, false);
	if (h_pop(&h) != 1 || h_add_used(&h, good, 1))
		abort();
	h_used_snap(&h);
	c->make(&h);
	ret = h_pop_max(&h, c->iov_max ? c->iov_max : KVHOST_IOV_MAX);
	shim_fault_lo = shim_fault_hi = 0;
	tap_is(ret, c->err, "malformed: %s -> pop %s", c->what,
	       errname(c->err));
	tap_ok(stays_broken(&h, c->err),
	       "malformed: %s -> ring stays broken, nothing more written to used",
	       c->what);
	h_fini(&h);
}

/* The limits just inside the malformed cases above are accepted. */
static void test_bad_case_boundaries(void)
{
	struct h_opts o = { .num = 8, .features = F_INDIRECT,
			    .region_size = 2 << 20 };
	struct harness h;
	u64 tbl;

	if (!setup(&h, &o, "boundary"))
		return;
	h_post_simple(&h, 8, true);
	tap_ok(h.drv.avail_idx == 8 && h_pop(&h) == 1,
	       "boundary: avail->idx exactly num ahead is accepted");
	h_fini(&h);

	if (!setup(&h, &o, "boundary"))
		return;
	tbl = h_buf(&h, 32768 * 16);
	vdrv_write(&h.mem, tbl, &(struct vring_desc){
			.addr = htole64(h_buf(&h, 8)), .len = htole32(8) },
		   sizeof(struct vring_desc));
	one_desc(&h, tbl, 32768 * 16, VRING_DESC_F_INDIRECT);
	tap_ok(h_pop(&h) == 1 && h.chain.ndesc == 1,
	       "boundary: an indirect table of 32768 entries is accepted");
	h_fini(&h);

	if (!setup(&h, &o, "boundary"))
		return;
	one_desc(&h, h.mem.region[0].gpa + h.mem.region[0].size - 5, 5,
		 VRING_DESC_F_WRITE);
	tap_ok(h_pop(&h) == 1 && h.chain.in_len == 5,
	       "boundary: a buffer ending on the last byte of guest memory is accepted");
	h_fini(&h);
}

/* The core restarts a broken ring with start() once userspace fixed it. */
static void test_restart_after_error(void)
{
	struct h_opts o = { .num = 8 };
	struct harness h;
	int head;

	if (!setup(&h, &o, "restart"))
		return;
	mk_head_num(&h);
	h_pop(&h);
	head = h_post_simple(&h, 1, false);
	/* Like VHOST_SET_VRING_BASE past the bad entry. */
	h.vr.last_avail_idx = 1;
	tap_is(h.vr.ops->start(&h.vr), 0, "restart: start on a broken ring -> 0");
	tap_ok(!kvhost_vring_broken(&h.vr) && h_pop(&h) == 1 &&
	       h.chain.id == head,
	       "restart: error cleared, the fixed entry pops");
	h_fini(&h);
}

static void test_uaccess_faults(void)
{
	struct h_opts o = { .num = 8 };
	struct harness h;

	if (!setup(&h, &o, "fault"))
		return;
	shim_fault_lo = (unsigned long)&h.drv.used->flags;
	shim_fault_hi = shim_fault_lo + 2;
	tap_is(h.vr.ops->start(&h.vr), -EFAULT,
	       "fault: start with used->flags unwritable -> -EFAULT");
	shim_fault_lo = shim_fault_hi = 0;
	tap_ok(kvhost_vring_broken(&h.vr) && h_pop(&h) == -EFAULT,
	       "fault: ... and the ring is broken");
	h.vr.ops->start(&h.vr);

	h_post_simple(&h, 1, false);
	h_pop(&h);
	h_add_used(&h, h.chain.id, 0);
	shim_fault_lo = (unsigned long)&h.drv.used->ring[0];
	shim_fault_hi = shim_fault_lo + 1;
	tap_is(h_flush(&h), -EFAULT, "fault: flush with used->ring unwritable -> -EFAULT");
	shim_fault_lo = shim_fault_hi = 0;
	tap_ok(h_flush(&h) == -EFAULT && vdrv_raw_used_idx(&h.drv) == 0,
	       "fault: ... used->idx never moved, flush keeps failing");
	h_fini(&h);

	if (!setup(&h, &o, "fault"))
		return;
	/* need_signal reads the driver's wishes only once something was used. */
	h_post_simple(&h, 1, false);
	h_pop(&h);
	h_add_used(&h, h.chain.id, 0);
	h_flush(&h);
	shim_fault_lo = (unsigned long)&h.drv.avail->flags;
	shim_fault_hi = shim_fault_lo + 2;
	tap_is(h.vr.ops->need_signal(&h.vr), -EFAULT,
	       "fault: need_signal with avail->flags unreadable -> -EFAULT");
	tap_is(h.vr.ops->disable_notify(&h.vr), -EFAULT,
	       "fault: ... then disable_notify returns the recorded error");
	shim_fault_lo = shim_fault_hi = 0;
	h_fini(&h);

	o.features = F_EVENT_IDX;
	if (!setup(&h, &o, "fault"))
		return;
	shim_fault_lo = (unsigned long)&h.drv.used->ring[8];
	shim_fault_hi = shim_fault_lo + 2;
	tap_is(h.vr.ops->enable_notify(&h.vr), -EFAULT,
	       "fault: enable_notify with avail_event unwritable -> -EFAULT");
	shim_fault_lo = shim_fault_hi = 0;
	h_fini(&h);

	if (!setup(&h, &o, "fault"))
		return;
	complete_and_ask(&h, 1);
	shim_fault_lo = (unsigned long)&h.drv.avail->ring[8];
	shim_fault_hi = shim_fault_lo + 2;
	complete(&h, 1);
	tap_is(h.vr.ops->need_signal(&h.vr), -EFAULT,
	       "fault: need_signal with used_event unreadable -> -EFAULT");
	shim_fault_lo = shim_fault_hi = 0;
	h_fini(&h);
}

int main(void)
{
	unsigned int k;

	tap_init();
	tap_watchdog(120);
	test_direct_round_trip();
	test_indirect_round_trip();
	test_direct_then_indirect();
	test_zero_length();
	test_segments_across_regions();
	test_indirect_table_across_regions();
	test_fill_whole_ring();
	test_chain_of_num();
	test_unpop();
	test_used_batch_wrap();
	test_used_batch_autoflush();
	test_index_wrap();
	test_soak();
	test_legacy_endian();
	test_need_signal_flags();
	test_need_signal_event_idx();
	test_need_signal_stale();
	test_notify_on_empty();
	test_notify_flags();
	test_notify_event_idx();
	for (k = 0; k < ARRAY_SIZE(bad_cases); k++)
		run_bad_case(&bad_cases[k]);
	test_bad_case_boundaries();
	test_restart_after_error();
	test_uaccess_faults();
	return tap_done();
}
