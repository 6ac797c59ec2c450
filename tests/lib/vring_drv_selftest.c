// SPDX-License-Identifier: GPL-2.0
/*
 * Native self-test of vring_drv: this file plays the device with its own
 * small split-ring reader that translates addresses through the emitted
 * struct vhost_memory only, so the driver is checked against an
 * independent reading of the layout.
 */
#include <endian.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include "tap.h"
#include "vring_drv.h"

#define SEG_MAX 64

/* ---- a tiny device ---- */

struct mdev_seg {
	uint8_t *p;		/* user address, contiguous */
	uint32_t len;
	bool writable;
};

struct mdev_chain {
	uint16_t head;
	unsigned int nseg;
	struct mdev_seg seg[SEG_MAX];
};

struct mdev {
	struct vhost_memory *mt;
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	unsigned int num;
	uint16_t last_avail;
	uint16_t used_idx;
	uint64_t csum;		/* sum of readable bytes */
	uint64_t wpos;		/* pattern offset of writable bytes */
};

static uint8_t pattern(uint64_t n)
{
	return (uint8_t)((n * 7 + (n >> 8)) & 0xff);
}

static void *mdev_xlate(const struct mdev *d, uint64_t gpa, uint64_t *room)
{
	uint32_t k;

	for (k = 0; k < d->mt->nregions; k++) {
		const struct vhost_memory_region *r = &d->mt->regions[k];

		if (gpa >= r->guest_phys_addr &&
		    gpa - r->guest_phys_addr < r->memory_size) {
			*room = r->memory_size - (gpa - r->guest_phys_addr);
			return (uint8_t *)(uintptr_t)r->userspace_addr +
			       (gpa - r->guest_phys_addr);
		}
	}
	return NULL;
}

static int mdev_map(const struct mdev *d, const struct vring_desc *vd,
		    struct mdev_chain *c)
{
	uint64_t gpa = le64toh(vd->addr), room;
	uint32_t len = le32toh(vd->len);
	bool w = le16toh(vd->flags) & VRING_DESC_F_WRITE;

	while (len) {
		uint8_t *p = mdev_xlate(d, gpa, &room);
		uint32_t n;

		if (!p || c->nseg == SEG_MAX)
			return -1;
		n = room < len ? room : len;
		c->seg[c->nseg].p = p;
		c->seg[c->nseg].len = n;
		c->seg[c->nseg].writable = w;
		c->nseg++;
		gpa += n;
		len -= n;
	}
	return 0;
}

static int mdev_pop(struct mdev *d, struct mdev_chain *c)
{
	uint16_t aidx = le16toh(__atomic_load_n(&d->avail->idx,
						__ATOMIC_ACQUIRE));
	uint16_t i, flags;
	unsigned int steps = 0;

	if (aidx == d->last_avail)
		return 0;
	if ((uint16_t)(aidx - d->last_avail) > d->num)
		return -1;
	c->head = le16toh(d->avail->ring[d->last_avail++ & (d->num - 1)]);
	c->nseg = 0;
	if (c->head >= d->num)
		return -1;
	i = c->head;
	for (;;) {
		const struct vring_desc *vd = &d->desc[i];

		if (++steps > d->num)
			return -1;
		flags = le16toh(vd->flags);
		if (flags & VRING_DESC_F_INDIRECT) {
			uint64_t room;
			struct vring_desc *t = mdev_xlate(d, le64toh(vd->addr),
							  &room);
			unsigned int n = le32toh(vd->len) / 16, j = 0, s = 0;

			if (!t || room < le32toh(vd->len) ||
			    le32toh(vd->len) % 16 || (flags & VRING_DESC_F_NEXT))
				return -1;
			for (;;) {
				if (++s > n || mdev_map(d, &t[j], c))
					return -1;
				if (!(le16toh(t[j].flags) & VRING_DESC_F_NEXT))
					break;
				j = le16toh(t[j].next);
				if (j >= n)
					return -1;
			}
		} else if (mdev_map(d, vd, c)) {
			return -1;
		}
		if (!(flags & VRING_DESC_F_NEXT))
			return 1;
		i = le16toh(vd->next);
		if (i >= d->num)
			return -1;
	}
}

/* Read/write the chain; return bytes written. */
static uint32_t mdev_process(struct mdev *d, const struct mdev_chain *c)
{
	uint32_t written = 0;
	unsigned int s, b;

	for (s = 0; s < c->nseg; s++) {
		for (b = 0; b < c->seg[s].len; b++) {
			if (c->seg[s].writable) {
				c->seg[s].p[b] = pattern(d->wpos++);
				written++;
			} else {
				d->csum += c->seg[s].p[b];
			}
		}
	}
	return written;
}

static void mdev_push(struct mdev *d, uint16_t id, uint32_t len)
{
	struct vring_used_elem *e = &d->used->ring[d->used_idx & (d->num - 1)];

	e->id = htole32(id);
	e->len = htole32(len);
	d->used_idx++;
	__atomic_store_n(&d->used->idx, htole16(d->used_idx), __ATOMIC_RELEASE);
}

static void mdev_init(struct mdev *d, const struct vdrv_ring *r)
{
	memset(d, 0, sizeof(*d));
	d->mt = vdrv_mem_table(r->mem);
	d->desc = r->desc;
	d->avail = r->avail;
	d->used = r->used;
	d->num = r->num;
	d->last_avail = le16toh(r->avail->idx);
	d->used_idx = le16toh(r->used->idx);
}

/* ---- helpers ---- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static unsigned int rnd_below(unsigned int n)
{
	return (unsigned int)(rnd() % n);
}

/* ---- memory ---- */

static void test_mem(void)
{
	struct vdrv_mem m;
	struct vhost_memory *t;
	uint8_t buf[8192], back[8192];
	uint64_t gpa, room;
	struct mdev d;
	unsigned int i, ok;
	void *p;

	tap_is(vdrv_mem_init_offset(&m, 4, 1 << 20, 0x100000, 0), 0,
	       "mem: offset layout, 4 contiguous regions");
	tap_is(m.region[1].gpa, 0x100000 + (1 << 20), "mem: region 1 gpa");
	tap_ok(m.region[1].uaddr < m.region[0].uaddr,
	       "mem: offset regions reversed in user space");
	p = vdrv_alloc(&m, 100, 16, &gpa);
	tap_ok(p && gpa == 0x100000, "mem: first allocation at gpa_base");
	tap_ok(vdrv_ptr(&m, gpa) == p && vdrv_gpa(&m, p) == gpa,
	       "mem: ptr/gpa round trip");
	tap_ok(vdrv_ptr(&m, 0x100000 - 1) == NULL &&
	       vdrv_ptr(&m, 0x100000 + (4 << 20)) == NULL,
	       "mem: outside gpas unmapped");
	tap_is(vdrv_alloc_straddle(&m, 3000, 5000, &gpa), 0, "mem: straddle");
	tap_is(gpa, 0x100000 + (1 << 20) - 3000, "mem: straddle gpa");
	tap_is(vdrv_mem_nsegs(&m, gpa, 8000), 2, "mem: straddle is 2 segments");
	for (i = 0; i < sizeof(buf); i++)
		buf[i] = rnd();
	tap_is(vdrv_write(&m, gpa, buf, 8000), 0, "mem: write across boundary");
	memset(back, 0, sizeof(back));
	vdrv_read(&m, gpa, back, 8000);
	tap_ok(!memcmp(buf, back, 8000), "mem: read back across boundary");

	/* The emitted table translates like vdrv_ptr(). */
	t = vdrv_mem_table(&m);
	d.mt = t;
	tap_is(t->nregions, 4, "mem: table nregions");
	ok = 1;
	for (i = 0; i < 4000; i++) {
		uint64_t g = 0x100000 + rnd() % (4 << 20);

		if (mdev_xlate(&d, g, &room) != vdrv_ptr(&m, g))
			ok = 0;
	}
	tap_ok(ok, "mem: table agrees with vdrv_ptr");
	free(t);

	tap_is(vdrv_alloc_gpa(&m, (2 << 20) + 5, 1, &gpa), 0,
	       "mem: gpa allocation over several regions");
	tap_is(vdrv_mem_nsegs(&m, gpa, (2 << 20) + 5), 3, "mem: 3 segments");
	vdrv_mem_destroy(&m);

	tap_is(vdrv_mem_init_offset(&m, 3, 1 << 16, 0x100000, 1ULL << 30), 0,
	       "mem: strided layout");
	tap_is(m.region[2].gpa, 0x100000 + (2ULL << 30), "mem: strided gpa");
	tap_is(vdrv_alloc_straddle(&m, 1, 1, &gpa), -ENOSPC,
	       "mem: no straddle over gpa gaps");
	tap_is(vdrv_alloc_gpa(&m, (1 << 16) + 1, 1, &gpa), -ENOMEM,
	       "mem: no gpa allocation over gaps");
	vdrv_mem_destroy(&m);

	tap_is(vdrv_mem_init_identity(&m, 1 << 20), 0, "mem: identity");
	p = vdrv_alloc(&m, 64, 64, &gpa);
	tap_ok(p && gpa == (uintptr_t)p, "mem: identity gpa == user address");
	vdrv_mem_destroy(&m);
}

/* ---- traffic ---- */

struct tcfg {
	unsigned int num;
	bool event_idx;
	bool indirect;
	bool offset;
	uint16_t base;
	bool out_of_order;
	unsigned int chains;
};

struct chain_rec {
	struct vdrv_seg seg[8];
	unsigned int nseg;
	uint32_t wlen;
	bool busy;
};

/* A device step: pop up to @max chains, complete some, maybe out of order. */
static int dev_step(struct mdev *d, struct mdev_chain *held, unsigned int *nheld,
		    unsigned int max, bool ooo)
{
	unsigned int k;
	int r;

	while (*nheld < max) {
		r = mdev_pop(d, &held[*nheld]);
		if (r < 0)
			return -1;
		if (!r)
			break;
		(*nheld)++;
	}
	while (*nheld) {
		k = ooo ? rnd_below(*nheld) : 0;
		mdev_push(d, held[k].head, mdev_process(d, &held[k]));
		memmove(&held[k], &held[k + 1], (*nheld - k - 1) * sizeof(*held));
		(*nheld)--;
		if (ooo && rnd_below(3) == 0)
			break;
	}
	return 0;
}

static void run_traffic(const struct tcfg *c)
{
	struct vdrv_mem m;
	struct vdrv_ring r;
	struct vdrv_ring_opts o = {
		.num = c->num, .event_idx = c->event_idx,
		.indirect = c->indirect, .indirect_max = 8,
	};
	struct chain_rec *rec;
	struct mdev_chain *held;
	struct mdev d;
	uint64_t *bufgpa, csum = 0, wpos = 0, token;
	uint64_t region = (8 << 20) + (uint64_t)c->num * 8 * 300 / 4;
	uint16_t *seq_head;
	unsigned int added = 0, done = 0, nheld = 0, i, bad = 0;
	uint32_t len;
	int ret;

	if (c->offset)
		ret = vdrv_mem_init_offset(&m, 5, region, 0x100000, 0);
	else
		ret = vdrv_mem_init_identity(&m, 5 * region);
	if (ret || vdrv_ring_init(&r, &m, &o)) {
		tap_ok(false, "traffic: set-up");
		return;
	}
	vdrv_ring_set_base(&r, c->base);
	mdev_init(&d, &r);
	rec = calloc(c->num, sizeof(*rec));
	held = calloc(c->num, sizeof(*held));
	bufgpa = calloc(c->num, sizeof(*bufgpa));
	seq_head = calloc(c->chains, sizeof(*seq_head));
	/* 8 segments of up to 300 bytes per head; offset: gpa ranges straddle. */
	for (i = 0; i < c->num; i++)
		vdrv_alloc_gpa(&m, 8 * 300, 1, &bufgpa[i]);

	while (done < c->chains && !bad) {
		unsigned int batch = 1 + rnd_below(c->num);

		while (batch-- && added < c->chains) {
			struct vdrv_seg seg[8];
			unsigned int n = 1 + rnd_below(c->num >= 8 ? 8 : c->num);
			unsigned int nr = rnd_below(n + 1), s;
			bool ind = c->indirect && rnd_below(2);
			uint64_t g;

			if (ind)
				n = 1 + rnd_below(8), nr = rnd_below(n + 1);
			if (!ind && n > vdrv_num_free(&r))
				break;
			if (ind && !vdrv_num_free(&r))
				break;
			/* The head is not known yet: use the free head's buffer. */
			g = bufgpa[r.free_head];
			for (s = 0; s < n; s++) {
				seg[s].gpa = g + s * 300;
				seg[s].len = 1 + rnd_below(300);
				seg[s].writable = s >= nr;
				if (!seg[s].writable) {
					uint8_t v[300];
					unsigned int b;

					for (b = 0; b < seg[s].len; b++) {
						v[b] = rnd();
						csum += v[b];
					}
					vdrv_write(&m, seg[s].gpa, v, seg[s].len);
				}
			}
			ret = vdrv_add(&r, seg, n, added, ind);
			if (ret < 0) {
				bad = 1;
				tap_diag("vdrv_add: %d", ret);
				break;
			}
			seq_head[added] = ret;
			memcpy(rec[ret].seg, seg, sizeof(seg));
			rec[ret].nseg = n;
			rec[ret].busy = true;
			added++;
		}
		vdrv_kick_prepare(&r);
		if (dev_step(&d, held, &nheld, c->num, c->out_of_order)) {
			tap_diag("device saw a bad ring");
			bad = 1;
		}
		while ((ret = vdrv_get_used(&r, &token, &len)) == 1) {
			struct chain_rec *cr = NULL;
			uint32_t want = 0;
			unsigned int s, b;

			if (token < added)
				cr = &rec[seq_head[token]];
			if (!cr || !cr->busy) {
				bad = 1;
				break;
			}
			for (s = 0; s < cr->nseg; s++) {
				uint8_t v[300];

				if (!cr->seg[s].writable)
					continue;
				want += cr->seg[s].len;
				vdrv_read(&m, cr->seg[s].gpa, v, cr->seg[s].len);
				for (b = 0; b < cr->seg[s].len; b++)
					if (!c->out_of_order &&
					    v[b] != pattern(wpos++))
						bad = 1;
			}
			if (len != want)
				bad = 1;
			cr->busy = false;
			done++;
		}
		if (ret < 0)
			bad = 1;
	}
	tap_ok(!bad && done == c->chains && d.csum == csum &&
	       vdrv_num_free(&r) == c->num && vdrv_inflight(&r) == 0 &&
	       le16toh(r.used->idx) == (uint16_t)(c->base + c->chains),
	       "traffic: num %u event_idx %d indirect %d %s base %u%s: %u chains",
	       c->num, c->event_idx, c->indirect,
	       c->offset ? "offset" : "identity", c->base,
	       c->out_of_order ? " out-of-order" : "", done);
	free(rec);
	free(held);
	free(bufgpa);
	free(seq_head);
	free(d.mt);
	vdrv_ring_destroy(&r);
	vdrv_mem_destroy(&m);
}

/* ---- notifications ---- */

static void set_avail_event(struct vdrv_ring *r, uint16_t v)
{
	*(uint16_t *)((char *)r->used + offsetof(struct vring_used, ring) +
		      r->num * sizeof(struct vring_used_elem)) = htole16(v);
	tap_is(vdrv_raw_avail_event(r), v, "raw_avail_event reads %u", v);
}

static void test_notify(void)
{
	struct vdrv_mem m;
	struct vdrv_ring r;
	struct vdrv_ring_opts o = { .num = 8, .event_idx = true };
	struct vdrv_seg s = { .len = 16 };
	uint64_t tok;
	uint32_t len;

	vdrv_mem_init_identity(&m, 1 << 20);
	vdrv_ring_init(&r, &m, &o);
	vdrv_alloc(&m, 16, 16, &s.gpa);
	vdrv_ring_set_base(&r, 65534);

	/* Device wants a kick once avail->idx passes 65534. */
	set_avail_event(&r, 65534);
	vdrv_add(&r, &s, 1, 1, false);
	tap_ok(vdrv_kick_prepare(&r), "event_idx: kick when crossing avail_event");
	vdrv_add(&r, &s, 1, 2, false);
	tap_ok(!vdrv_kick_prepare(&r), "event_idx: no kick past avail_event");
	set_avail_event(&r, 0);
	vdrv_add(&r, &s, 1, 3, false);
	tap_ok(vdrv_kick_prepare(&r), "event_idx: kick after device moves avail_event");
	tap_is(le16toh(r.avail->idx), 1, "event_idx: avail->idx wrapped to 1");

	tap_ok(vdrv_enable_intr(&r), "enable_intr: empty ring, safe to sleep");
	tap_is(le16toh(r.avail->ring[r.num]), 65534, "enable_intr: used_event = last_used");
	/* Device completes one: enabling again must report it. */
	r.used->ring[65534 & 7].id = htole32(0);
	r.used->ring[65534 & 7].len = htole32(5);
	r.used->idx = htole16(65535);
	tap_ok(!vdrv_enable_intr(&r), "enable_intr: reports used arrival");
	tap_is(vdrv_get_used(&r, &tok, &len), 1, "get_used: one");
	tap_ok(tok == 1 && len == 5, "get_used: token and len");
	tap_is(le16toh(r.avail->ring[r.num]), 65535, "get_used: used_event follows");
	vdrv_disable_intr(&r);
	tap_is(le16toh(r.avail->ring[r.num]), (uint16_t)(65535 + 0x8000),
	       "disable_intr: used_event half a ring away");
	tap_is(le16toh(r.avail->flags), 0, "disable_intr: flags stay 0 with event_idx");

	/* Bogus device answers. */
	r.used->ring[65535 & 7].id = htole32(7);
	r.used->idx = htole16(0);
	tap_is(vdrv_get_used(&r, &tok, &len), -EPROTO, "get_used: id not in flight");
	r.used->idx = htole16(10);
	r.used_seen = r.last_used;
	tap_is(vdrv_get_used(&r, &tok, &len), -EPROTO, "get_used: used->idx too far");
	vdrv_ring_destroy(&r);

	o.event_idx = false;
	vdrv_ring_init(&r, &m, &o);
	vdrv_add(&r, &s, 1, 1, false);
	tap_ok(vdrv_kick_prepare(&r), "no event_idx: kick by default");
	r.used->flags = htole16(VRING_USED_F_NO_NOTIFY);
	vdrv_add(&r, &s, 1, 1, false);
	tap_ok(!vdrv_kick_prepare(&r), "no event_idx: NO_NOTIFY suppresses kick");
	vdrv_disable_intr(&r);
	tap_is(le16toh(r.avail->flags), VRING_AVAIL_F_NO_INTERRUPT,
	       "no event_idx: disable sets NO_INTERRUPT");
	tap_ok(vdrv_enable_intr(&r) && le16toh(r.avail->flags) == 0,
	       "no event_idx: enable clears NO_INTERRUPT");
	vdrv_ring_destroy(&r);
	vdrv_mem_destroy(&m);
}

static void test_add_errors(void)
{
	struct vdrv_mem m;
	struct vdrv_ring r;
	struct vdrv_ring_opts o = { .num = 4, .indirect = true,
				    .indirect_max = 4 };
	struct vdrv_seg s[6];
	unsigned int i;

	vdrv_mem_init_identity(&m, 1 << 20);
	tap_is(vdrv_ring_init(&r, &m, &(struct vdrv_ring_opts){ .num = 3 }),
	       -EINVAL, "ring_init: num 3");
	tap_is(vdrv_ring_init(&r, &m, &(struct vdrv_ring_opts){ .num = 65536 }),
	       -EINVAL, "ring_init: num 65536");
	tap_is(vdrv_ring_init(&r, &m, &o), 0, "ring_init: num 4 indirect");
	tap_ok(!(vdrv_ring_desc_uaddr(&r) % 16) && !(vdrv_ring_avail_uaddr(&r) % 2) &&
	       !(vdrv_ring_used_uaddr(&r) % 4), "ring_init: alignment");
	for (i = 0; i < 6; i++)
		s[i] = (struct vdrv_seg){ .gpa = m.gpa_base, .len = 1 };
	s[0].len = 0;
	tap_is(vdrv_add(&r, s, 1, 0, false), -EINVAL, "add: zero length");
	s[0].len = 1;
	s[0].writable = true;
	tap_is(vdrv_add(&r, s, 2, 0, false), -EINVAL, "add: readable after writable");
	s[0].writable = false;
	tap_is(vdrv_add(&r, s, 5, 0, false), -ENOSPC, "add: longer than the ring");
	tap_is(vdrv_add(&r, s, 5, 0, true), -E2BIG, "add: longer than indirect table");
	tap_is(vdrv_add(&r, s, 4, 0, true), 0, "add: indirect uses head 0");
	tap_is(le16toh(r.desc[0].flags), VRING_DESC_F_INDIRECT, "add: indirect flag");
	tap_is(le32toh(r.desc[0].len), 64, "add: indirect table length");
	tap_is(le64toh(r.desc[0].addr), vdrv_indirect_gpa(&r, 0), "add: table gpa");
	tap_is(vdrv_add(&r, s, 3, 0, false), 1, "add: direct chain at head 1");
	tap_ok(le16toh(r.desc[1].next) == 2 && le16toh(r.desc[2].next) == 3 &&
	       le16toh(r.desc[3].flags) == 0, "add: direct chain links 1-2-3");
	tap_is(vdrv_add(&r, s, 1, 0, true), -ENOSPC, "add: ring full");
	vdrv_raw_desc(&r, 2, 0x1234, 7, VRING_DESC_F_NEXT, 2);
	tap_ok(le64toh(r.desc[2].addr) == 0x1234 && le16toh(r.desc[2].next) == 2,
	       "raw_desc writes fields");
	vdrv_raw_avail_entry(&r, 6, 9);
	vdrv_raw_avail_idx(&r, 1000);
	tap_ok(le16toh(r.avail->ring[2]) == 9 && le16toh(r.avail->idx) == 1000,
	       "raw avail entry and idx");
	vdrv_ring_destroy(&r);
	vdrv_mem_destroy(&m);
}

int main(void)
{
	static const struct tcfg cfgs[] = {
		{ .num = 1, .chains = 3000 },
		{ .num = 2, .chains = 3000, .indirect = true },
		{ .num = 256, .chains = 50000, .event_idx = true },
		{ .num = 256, .chains = 50000, .event_idx = true, .base = 65000,
		  .indirect = true, .offset = true },
		{ .num = 64, .chains = 30000, .out_of_order = true,
		  .indirect = true, .base = 65530 },
		{ .num = 32768, .chains = 100000, .offset = true,
		  .event_idx = true },
	};
	unsigned int i;

	tap_init();
	tap_watchdog(120);
	test_mem();
	test_add_errors();
	test_notify();
	for (i = 0; i < sizeof(cfgs) / sizeof(cfgs[0]); i++)
		run_traffic(&cfgs[i]);
	return tap_done();
}
