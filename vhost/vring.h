/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Ring access: the one small interface between the kvhost core and a
 * virtqueue layout.  The split ring (ring_split.c) implements it today; a
 * packed ring is added beside it by providing another kvhost_ring_ops.
 *
 * Everything here runs in the context of the task that owns the ring memory
 * (the device worker after kthread_use_mm(), or an ioctl caller) with the
 * virtqueue mutex held.  No function here sleeps other than by faulting in
 * user pages.
 *
 * This file and ring_split.c build unmodified in userspace (tests/unit)
 * against small shim headers.
 */
#ifndef KVHOST_VRING_H
#define KVHOST_VRING_H

#include <linux/types.h>
#include <linux/uio.h>
#include <linux/virtio_ring.h>
#include <linux/virtio_config.h>
#include "memtable.h"

/* The largest split ring the virtio spec allows. */
#define KVHOST_VRING_NUM_MAX	32768
/* Segments one chain may map to (a descriptor can span memory regions). */
#define KVHOST_IOV_MAX		1024

struct kvhost_vring;

/**
 * struct kvhost_chain - one descriptor chain taken from the ring
 * @id:		buffer id to hand back in the used ring
 * @ndesc:	descriptors the chain consumed (direct and indirect)
 * @out_num:	readable segments, at iov[0 .. out_num)
 * @in_num:	writable segments, at iov[out_num .. out_num + in_num)
 * @out_len:	bytes the device may read
 * @in_len:	bytes the device may write
 */
struct kvhost_chain {
	u16 id;
	u16 ndesc;
	unsigned int out_num;
	unsigned int in_num;
	u64 out_len;
	u64 in_len;
};

/**
 * struct kvhost_ring_ops - a virtqueue layout
 * @start:	begin serving the ring (reads the device-owned indexes)
 * @pop:	take the next available chain; 1 taken, 0 ring empty, <0 error
 * @unpop:	give back the last @n chains taken and not yet used
 * @add_used:	queue a used element; the driver sees it at the next flush
 * @flush:	publish every used element added since the last flush at once
 * @need_signal: after a flush, whether the driver asked to be notified
 * @enable_notify: ask for kicks; 1 if buffers arrived since the last look
 *		at avail->idx (chains given back by @unpop do not count), 0 if not
 * @disable_notify: ask the driver not to kick
 */
struct kvhost_ring_ops {
	int (*start)(struct kvhost_vring *vr);
	int (*pop)(struct kvhost_vring *vr, struct iovec *iov,
		   unsigned int iov_max, struct kvhost_chain *chain);
	void (*unpop)(struct kvhost_vring *vr, unsigned int n);
	int (*add_used)(struct kvhost_vring *vr, u16 id, u32 len);
	int (*flush)(struct kvhost_vring *vr);
	int (*need_signal)(struct kvhost_vring *vr);
	int (*enable_notify)(struct kvhost_vring *vr);
	int (*disable_notify)(struct kvhost_vring *vr);
};

extern const struct kvhost_ring_ops kvhost_split_ring_ops;

/**
 * struct kvhost_vring - layout-independent ring state
 *
 * All fields are guarded by the owning virtqueue's mutex.
 */
struct kvhost_vring {
	const struct kvhost_ring_ops *ops;
	unsigned int num;
	u64 features;			/* acked virtio features */
	const struct kvhost_memtable *mt;	/* borrowed from the device */

	/* Split layout, owner user addresses (validated at SET_VRING_ADDR). */
	struct vring_desc __user *desc;
	struct vring_avail __user *avail;
	struct vring_used __user *used;

	u16 last_avail_idx;		/* next avail entry to take */
	u16 avail_idx;			/* last avail->idx read from the driver */
	u16 last_used_idx;		/* next used entry to write */
	u16 signalled_used;		/* used idx at the last notification */
	bool signalled_used_valid;
	bool used_unsignalled;		/* flushed since the last need_signal */
	u16 used_flags;			/* shadow of used->flags */

	/*
	 * Used elements taken by add_used.  A full batch is written to the
	 * ring but only flush moves used->idx over it, so whatever a handler
	 * adds between two flushes (all the chains of a merged frame) becomes
	 * visible to the driver at once.
	 */
	struct vring_used_elem *used_batch;
	unsigned int used_batch_len;
	unsigned int used_batch_max;
	u16 used_unpublished;		/* written past last_used_idx, unpublished */

	/* First bad input seen; once set the ring does nothing more. */
	int error;
};

static inline bool kvhost_vring_has_feature(const struct kvhost_vring *vr,
					    unsigned int bit)
{
	return vr->features & (1ULL << bit);
}

static inline bool kvhost_vring_broken(const struct kvhost_vring *vr)
{
	return vr->error != 0;
}

#endif /* KVHOST_VRING_H */
