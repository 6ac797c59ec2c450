// SPDX-License-Identifier: GPL-2.0
/* Glue between vring_drv (driver side) and ring_split.c (device side). */
#include <stdlib.h>
#include <string.h>
#include <linux/errno.h>
#include "ring_harness.h"

static int h_build_memtable(struct harness *h)
{
	struct vhost_memory *t = vdrv_mem_table(&h->mem);
	int ret;

	if (!t)
		return -ENOMEM;
	ret = kvhost_memtable_build(t->regions, t->nregions,
				    KVHOST_MEM_REGIONS_LIMIT, &h->mt);
	free(t);
	return ret;
}

static int h_init_driver(struct harness *h, const struct h_opts *o)
{
	struct vdrv_ring_opts ro = {
		.num = o->num,
		.event_idx = o->features & (1ULL << VIRTIO_RING_F_EVENT_IDX),
		.indirect = o->drv_indirect ||
			    (o->features & (1ULL << VIRTIO_RING_F_INDIRECT_DESC)),
		.indirect_max = 64,
	};
	int ret;

	ret = vdrv_mem_init_offset(&h->mem, o->nregions ? o->nregions : 1,
				   o->region_size ? o->region_size : 1 << 20,
				   H_GPA_BASE, 0);
	if (ret)
		return ret;
	ret = vdrv_ring_init(&h->drv, &h->mem, &ro);
	if (ret)
		return ret;
	vdrv_ring_set_base(&h->drv, o->base);
	return 0;
}

/* What VHOST_SET_VRING_{NUM,BASE,ADDR} and SET_FEATURES would leave. */
static int h_init_device(struct harness *h, const struct h_opts *o)
{
	struct kvhost_vring *vr = &h->vr;

	vr->ops = &kvhost_split_ring_ops;
	vr->num = o->num;
	vr->features = (1ULL << VIRTIO_F_VERSION_1) | o->features;
	vr->mt = h->mt;
	vr->desc = h->drv.desc;
	vr->avail = h->drv.avail;
	vr->used = h->drv.used;
	vr->last_avail_idx = o->base;
	vr->used_batch_max = o->batch_max ? o->batch_max : o->num;
	vr->used_batch = calloc(vr->used_batch_max, sizeof(*vr->used_batch));
	if (!vr->used_batch)
		return -ENOMEM;
	return vr->ops->start(vr);
}

int h_init(struct harness *h, const struct h_opts *o)
{
	int ret;

	memset(h, 0, sizeof(*h));
	ret = h_init_driver(h, o);
	if (!ret)
		ret = h_build_memtable(h);
	if (!ret)
		ret = h_init_device(h, o);
	h->used_bytes = sizeof(struct vring_used) +
			(o->num + 1) * sizeof(struct vring_used_elem);
	return ret;
}

void h_fini(struct harness *h)
{
	free(h->vr.used_batch);
	free(h->used_snap);
	kvhost_memtable_free(h->mt);
	vdrv_ring_destroy(&h->drv);
	vdrv_mem_destroy(&h->mem);
	memset(h, 0, sizeof(*h));
}

int h_pop_max(struct harness *h, unsigned int iov_max)
{
	memset(&h->chain, 0xa5, sizeof(h->chain));
	return h->vr.ops->pop(&h->vr, h->iov, iov_max, &h->chain);
}

int h_pop(struct harness *h)
{
	return h_pop_max(h, KVHOST_IOV_MAX);
}

int h_add_used(struct harness *h, u16 id, u32 len)
{
	return h->vr.ops->add_used(&h->vr, id, len);
}

int h_flush(struct harness *h)
{
	return h->vr.ops->flush(&h->vr);
}

u64 h_buf(struct harness *h, u32 len)
{
	uint64_t gpa = VDRV_GPA_INVALID;

	if (!vdrv_alloc(&h->mem, len, 8, &gpa))
		abort();
	return gpa;
}

int h_post(struct harness *h, const struct vdrv_seg *segs, unsigned int n,
	   bool indirect)
{
	int head = vdrv_add(&h->drv, segs, n, 0x1000 + h->drv.avail_idx,
			    indirect);

	if (head >= 0)
		vdrv_publish(&h->drv);
	return head;
}

int h_post_simple(struct harness *h, unsigned int nr, bool indirect)
{
	unsigned int k;
	int head = -EINVAL;

	if (h->simple_gpa == 0)
		h->simple_gpa = h_buf(h, 48);
	for (k = 0; k < nr; k++) {
		struct vdrv_seg s[2] = {
			{ .gpa = h->simple_gpa, .len = 16 },
			{ .gpa = h->simple_gpa + 16, .len = 32, .writable = true },
		};

		head = vdrv_add(&h->drv, s, 2, 0x1000 + h->drv.avail_idx,
				indirect);
		if (head < 0)
			return head;
	}
	vdrv_publish(&h->drv);
	return head;
}

/* Append the user pieces of one segment to @want. */
static unsigned int h_expect_seg(struct harness *h, const struct vdrv_seg *s,
				 struct iovec *want, unsigned int n,
				 unsigned int max)
{
	uint64_t gpa = s->gpa, len = s->len, c;

	while (len && n < max) {
		void *p = vdrv_span(&h->mem, gpa, len, &c);

		if (!p)
			return max + 1;
		want[n].iov_base = p;
		want[n].iov_len = c;
		n++;
		gpa += c;
		len -= c;
	}
	return len ? max + 1 : n;
}

bool h_chain_is(struct harness *h, const struct vdrv_seg *segs,
		unsigned int n)
{
	static struct iovec want[KVHOST_IOV_MAX];
	unsigned int k, nw = 0, out_num = 0;
	u64 out_len = 0, in_len = 0;

	for (k = 0; k < n; k++) {
		unsigned int before = nw;

		nw = h_expect_seg(h, &segs[k], want, nw, KVHOST_IOV_MAX);
		if (nw > KVHOST_IOV_MAX)
			return false;
		if (segs[k].writable) {
			in_len += segs[k].len;
		} else {
			out_len += segs[k].len;
			out_num += nw - before;
		}
	}
	return h->chain.out_num == out_num &&
	       h->chain.in_num == nw - out_num &&
	       h->chain.out_len == out_len && h->chain.in_len == in_len &&
	       !memcmp(h->iov, want, nw * sizeof(want[0]));
}

void h_used_snap(struct harness *h)
{
	free(h->used_snap);
	h->used_snap = malloc(h->used_bytes);
	if (!h->used_snap)
		abort();
	memcpy(h->used_snap, h->drv.used, h->used_bytes);
}

bool h_used_unchanged(struct harness *h)
{
	return h->used_snap &&
	       !memcmp(h->used_snap, h->drv.used, h->used_bytes);
}

void h_desc(struct harness *h, u16 i, u64 gpa, u32 len, u16 flags, u16 next)
{
	vdrv_raw_desc(&h->drv, i, gpa, len, flags, next);
}

void h_avail(struct harness *h, u16 head)
{
	vdrv_raw_avail_entry(&h->drv, h->drv.avail_idx, head);
	h->drv.avail_idx++;
	vdrv_publish(&h->drv);
}
