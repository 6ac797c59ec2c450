/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A split ring served by the kernel ring code (vhost/ring_split.c) and
 * driven by the independent guest-side library (tests/lib/vring_drv.c),
 * all in one process: "user" addresses are plain pointers.
 */
#ifndef KVHOST_UNIT_RING_HARNESS_H
#define KVHOST_UNIT_RING_HARNESS_H

#include <linux/types.h>
#include <linux/uio.h>
#include "vring.h"
#include "vring_drv.h"

#define H_GPA_BASE	0x100000000ULL	/* guest memory gpa != uaddr */

struct h_opts {
	unsigned int num;		/* queue size, power of two */
	u64 features;			/* acked beyond VIRTIO_F_VERSION_1 */
	bool drv_indirect;		/* driver lays out indirect tables */
	unsigned int nregions;		/* 0: 1 */
	u64 region_size;		/* 0: 1 MiB */
	unsigned int batch_max;		/* used_batch_max, 0: num */
	u16 base;			/* both ring indexes start here */
};

struct harness {
	struct vdrv_mem mem;
	struct vdrv_ring drv;
	struct kvhost_memtable *mt;
	struct kvhost_vring vr;
	struct kvhost_chain chain;
	struct iovec iov[KVHOST_IOV_MAX];
	u8 *used_snap;			/* used ring copy, for "no writes" */
	size_t used_bytes;
	u64 simple_gpa;			/* buffers of h_post_simple() chains */
};

int h_init(struct harness *h, const struct h_opts *o);
void h_fini(struct harness *h);

/* Device side: the ops under test, on the harness ring. */
int h_pop(struct harness *h);
int h_pop_max(struct harness *h, unsigned int iov_max);
int h_add_used(struct harness *h, u16 id, u32 len);
int h_flush(struct harness *h);

/* A buffer of @len bytes in guest memory, one region; its gpa. */
u64 h_buf(struct harness *h, u32 len);
/* Add and publish a chain; returns the head or a negative errno. */
int h_post(struct harness *h, const struct vdrv_seg *segs, unsigned int n,
	   bool indirect);
/*
 * Add and publish @nr chains of 16 readable + 32 writable bytes (the same
 * buffers each time); returns the last head or a negative errno.
 */
int h_post_simple(struct harness *h, unsigned int nr, bool indirect);

/* Whether the popped chain maps exactly @segs (bytes, in order). */
bool h_chain_is(struct harness *h, const struct vdrv_seg *segs,
		unsigned int n);

/* Snapshot the used ring; later, whether it is byte for byte the same. */
void h_used_snap(struct harness *h);
bool h_used_unchanged(struct harness *h);

/* Descriptor pointing at @gpa, raw; desc @i of the direct table. */
void h_desc(struct harness *h, u16 i, u64 gpa, u32 len, u16 flags, u16 next);
/* Make @head the next avail entry and publish it. */
void h_avail(struct harness *h, u16 head);

#endif /* KVHOST_UNIT_RING_HARNESS_H */
