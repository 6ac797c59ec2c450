// SPDX-License-Identifier: GPL-2.0
/*
 * Split virtqueue layout (virtio 1.x, 2.7).
 *
 * Every index, descriptor, length and address read from the ring is
 * checked before use.  The first bad one is recorded in vr->error and the
 * ring does nothing more: the caller marks the queue broken and tells
 * userspace through the err eventfd.
 */
#include <linux/errno.h>
#include <linux/kernel.h>
#include <linux/uaccess.h>
#include <linux/virtio_byteorder.h>
#include "vring.h"

/* An indirect table may describe at most this many descriptors. */
#define KVHOST_INDIRECT_MAX	KVHOST_VRING_NUM_MAX

static inline bool split_is_le(const struct kvhost_vring *vr)
{
	return kvhost_vring_has_feature(vr, VIRTIO_F_VERSION_1) ||
	       virtio_legacy_is_little_endian();
}

static inline u16 split16_to_cpu(const struct kvhost_vring *vr, __virtio16 v)
{
	return __virtio16_to_cpu(split_is_le(vr), v);
}

static inline u32 split32_to_cpu(const struct kvhost_vring *vr, __virtio32 v)
{
	return __virtio32_to_cpu(split_is_le(vr), v);
}

static inline u64 split64_to_cpu(const struct kvhost_vring *vr, __virtio64 v)
{
	return __virtio64_to_cpu(split_is_le(vr), v);
}

static inline __virtio16 cpu_to_split16(const struct kvhost_vring *vr, u16 v)
{
	return __cpu_to_virtio16(split_is_le(vr), v);
}

static inline __virtio32 cpu_to_split32(const struct kvhost_vring *vr, u32 v)
{
	return __cpu_to_virtio32(split_is_le(vr), v);
}

static int split_fail(struct kvhost_vring *vr, int err)
{
	if (!vr->error)
		vr->error = err;
	return err;
}

/* used->ring[num] holds avail_event, avail->ring[num] holds used_event. */
static inline __virtio16 __user *split_avail_event(struct kvhost_vring *vr)
{
	return (__virtio16 __user *)&vr->used->ring[vr->num];
}

static inline __virtio16 __user *split_used_event(struct kvhost_vring *vr)
{
	return &vr->avail->ring[vr->num];
}

static int split_read_avail_idx(struct kvhost_vring *vr, u16 *idx)
{
	__virtio16 v;

	if (get_user(v, &vr->avail->idx))
		return -EFAULT;
	*idx = split16_to_cpu(vr, v);
	return 0;
}

static int split_write_used_flags(struct kvhost_vring *vr)
{
	if (put_user(cpu_to_split16(vr, vr->used_flags), &vr->used->flags))
		return -EFAULT;
	return 0;
}

static int split_start(struct kvhost_vring *vr)
{
	__virtio16 used_idx;

	vr->error = 0;
	vr->used_batch_len = 0;
	vr->used_unpublished = 0;
	vr->signalled_used_valid = false;
	vr->used_unsignalled = false;
	vr->avail_idx = vr->last_avail_idx;
	vr->used_flags = 0;
	if (split_write_used_flags(vr))
		return split_fail(vr, -EFAULT);
	/* The used index belongs to the device: resume where it was left. */
	if (get_user(used_idx, &vr->used->idx))
		return split_fail(vr, -EFAULT);
	vr->last_used_idx = split16_to_cpu(vr, used_idx);
	return 0;
}

/* Copy @len (at most 16) bytes of guest memory at @gpa into @dst. */
static int split_copy_from_guest(struct kvhost_vring *vr, void *dst, u64 gpa,
				 unsigned int len)
{
	struct iovec seg[16];
	int n, i;

	n = kvhost_memtable_translate(vr->mt, gpa, len, seg, ARRAY_SIZE(seg));
	if (n < 0)
		return n;
	for (i = 0; i < n; i++) {
		if (copy_from_user(dst, seg[i].iov_base, seg[i].iov_len))
			return -EFAULT;
		dst += seg[i].iov_len;
	}
	return 0;
}

/* Append one descriptor's buffer to the chain's segments. */
static int split_map_desc(struct kvhost_vring *vr, const struct vring_desc *d,
			  struct iovec *iov, unsigned int iov_max,
			  struct kvhost_chain *chain)
{
	u64 addr = split64_to_cpu(vr, d->addr);
	u32 len = split32_to_cpu(vr, d->len);
	bool writable = split16_to_cpu(vr, d->flags) & VRING_DESC_F_WRITE;
	unsigned int used = chain->out_num + chain->in_num;
	int n;

	/* Readable buffers come first (2.7.4.2): none may follow a writable one. */
	if (!writable && chain->in_num)
		return -EINVAL;
	/*
	 * Zero length: no rule of virtio 1.2 (2.7.5, 2.7.5.3) forbids it of
	 * the driver, and in-tree vhost and QEMU accept it, so it is taken
	 * as a descriptor with no bytes: counted, no segment, address never
	 * read.
	 */
	if (!len) {
		chain->ndesc++;
		return 0;
	}

	n = kvhost_memtable_translate(vr->mt, addr, len, iov + used,
				      iov_max - used);
	if (n < 0)
		return n;

	if (writable) {
		chain->in_num += n;
		chain->in_len += len;
	} else {
		chain->out_num += n;
		chain->out_len += len;
	}
	chain->ndesc++;
	return 0;
}

static int split_walk_indirect(struct kvhost_vring *vr,
			       const struct vring_desc *outer,
			       struct iovec *iov, unsigned int iov_max,
			       struct kvhost_chain *chain)
{
	u64 base = split64_to_cpu(vr, outer->addr);
	u32 len = split32_to_cpu(vr, outer->len);
	unsigned int count, seen = 0, i = 0;
	struct iovec table;
	struct vring_desc d;
	bool contiguous;
	u16 flags;
	int ret;

	/*
	 * 2.7.5.3.1: "The driver MUST NOT set the VIRTQ_DESC_F_INDIRECT flag
	 * unless the VIRTIO_F_INDIRECT_DESC feature was negotiated."  A
	 * driver that does so is broken, and tolerating it would only hide
	 * that: strict, unlike in-tree vhost.
	 */
	if (!kvhost_vring_has_feature(vr, VIRTIO_RING_F_INDIRECT_DESC))
		return -EINVAL;
	/* An indirect descriptor must not also chain on (2.7.5.3.1). */
	if (split16_to_cpu(vr, outer->flags) & VRING_DESC_F_NEXT)
		return -EINVAL;
	if (!len || len % sizeof(struct vring_desc))
		return -EINVAL;
	count = len / sizeof(struct vring_desc);
	if (count > KVHOST_INDIRECT_MAX)
		return -E2BIG;
	if (len - 1 > U64_MAX - base)
		return -EINVAL;

	/* A table inside one region (the usual case) is read straight from user memory. */
	ret = kvhost_memtable_translate(vr->mt, base, len, &table, 1);
	if (ret < 0 && ret != -ENOBUFS)
		return ret;
	contiguous = ret == 1;

	for (;;) {
		/* More steps than entries means the table loops. */
		if (++seen > count)
			return -ELOOP;
		if (contiguous)
			ret = copy_from_user(&d, (struct vring_desc __user *)table.iov_base + i,
					     sizeof(d)) ? -EFAULT : 0;
		else
			ret = split_copy_from_guest(vr, &d, base + (u64)i * sizeof(d),
						    sizeof(d));
		if (ret)
			return ret;
		flags = split16_to_cpu(vr, d.flags);
		if (flags & VRING_DESC_F_INDIRECT)
			return -EINVAL;		/* nested indirect */
		ret = split_map_desc(vr, &d, iov, iov_max, chain);
		if (ret)
			return ret;
		if (!(flags & VRING_DESC_F_NEXT))
			return 0;
		i = split16_to_cpu(vr, d.next);
		if (i >= count)
			return -EINVAL;
	}
}

static int split_pop(struct kvhost_vring *vr, struct iovec *iov,
		     unsigned int iov_max, struct kvhost_chain *chain)
{
	unsigned int steps = 0;
	u16 last = vr->last_avail_idx;
	__virtio16 ring_head;
	struct vring_desc d;
	u16 head, flags;
	unsigned int i;
	int ret;

	if (vr->error)
		return vr->error;

	if (last == vr->avail_idx) {
		u16 idx;

		if (split_read_avail_idx(vr, &idx))
			return split_fail(vr, -EFAULT);
		if ((u16)(idx - last) > vr->num)
			return split_fail(vr, -EINVAL);
		vr->avail_idx = idx;
		if (idx == last)
			return 0;
		/*
		 * Read the ring entries only after the index that covers them.
		 * Pairs with the driver's write barrier before it stores avail->idx.
		 */
		smp_rmb();
	}

	if (get_user(ring_head, &vr->avail->ring[last & (vr->num - 1)]))
		return split_fail(vr, -EFAULT);
	head = split16_to_cpu(vr, ring_head);
	if (head >= vr->num)
		return split_fail(vr, -EINVAL);

	chain->id = head;
	chain->ndesc = 0;
	chain->out_num = 0;
	chain->in_num = 0;
	chain->out_len = 0;
	chain->in_len = 0;

	i = head;
	for (;;) {
		/* A chain longer than the ring is a loop (2.7.5.2). */
		if (++steps > vr->num)
			return split_fail(vr, -ELOOP);
		if (copy_from_user(&d, vr->desc + i, sizeof(d)))
			return split_fail(vr, -EFAULT);
		flags = split16_to_cpu(vr, d.flags);
		if (flags & VRING_DESC_F_INDIRECT)
			ret = split_walk_indirect(vr, &d, iov, iov_max, chain);
		else
			ret = split_map_desc(vr, &d, iov, iov_max, chain);
		if (ret)
			return split_fail(vr, ret);
		if (!(flags & VRING_DESC_F_NEXT))
			break;
		i = split16_to_cpu(vr, d.next);
		if (i >= vr->num)
			return split_fail(vr, -EINVAL);
	}

	vr->last_avail_idx = last + 1;
	return 1;
}

static void split_unpop(struct kvhost_vring *vr, unsigned int n)
{
	vr->last_avail_idx -= n;
}

/*
 * Write the batched elements into the used ring after those written before
 * and not yet published.  Invisible to the driver until split_flush() moves
 * used->idx, so a frame spread over several chains is published whole.
 */
static int split_write_batch(struct kvhost_vring *vr)
{
	unsigned int n = vr->used_batch_len;
	unsigned int start, first;

	start = (u16)(vr->last_used_idx + vr->used_unpublished) & (vr->num - 1);
	first = min(n, vr->num - start);
	if (copy_to_user(&vr->used->ring[start], vr->used_batch,
			 first * sizeof(vr->used_batch[0])))
		return split_fail(vr, -EFAULT);
	if (n > first &&
	    copy_to_user(&vr->used->ring[0], vr->used_batch + first,
			 (n - first) * sizeof(vr->used_batch[0])))
		return split_fail(vr, -EFAULT);
	vr->used_unpublished += n;
	vr->used_batch_len = 0;
	return 0;
}

static int split_flush(struct kvhost_vring *vr)
{
	u16 old, new;
	int ret;

	if (vr->error)
		return vr->error;
	if (vr->used_batch_len) {
		ret = split_write_batch(vr);
		if (ret)
			return ret;
	}
	if (!vr->used_unpublished)
		return 0;

	/*
	 * Publish the elements before the index that covers them.
	 * Pairs with the driver's read barrier after it loads used->idx.
	 */
	smp_wmb();
	old = vr->last_used_idx;
	new = old + vr->used_unpublished;
	if (put_user(cpu_to_split16(vr, new), &vr->used->idx))
		return split_fail(vr, -EFAULT);
	vr->last_used_idx = new;
	vr->used_unpublished = 0;
	vr->used_unsignalled = true;

	/* signalled_used fell inside what we just published: event index unreliable. */
	if ((u16)(new - vr->signalled_used) < (u16)(new - old))
		vr->signalled_used_valid = false;
	return 0;
}

static int split_add_used(struct kvhost_vring *vr, u16 id, u32 len)
{
	struct vring_used_elem *e;

	if (vr->error)
		return vr->error;
	e = &vr->used_batch[vr->used_batch_len++];
	e->id = cpu_to_split32(vr, id);
	e->len = cpu_to_split32(vr, len);
	if (vr->used_batch_len == vr->used_batch_max)
		return split_write_batch(vr);
	return 0;
}

static int split_need_signal(struct kvhost_vring *vr)
{
	__virtio16 v;
	u16 old, new, event, idx;
	bool valid;

	if (vr->error)
		return 0;
	/* Nothing used since the last decision: nothing to tell. */
	if (!vr->used_unsignalled)
		return 0;
	vr->used_unsignalled = false;
	old = vr->signalled_used;
	valid = vr->signalled_used_valid;
	new = vr->last_used_idx;
	vr->signalled_used = new;
	vr->signalled_used_valid = true;
	/*
	 * Make the used->idx store visible before reading what the driver
	 * asked for.  Pairs with the driver's full barrier between storing
	 * used_event (or avail->flags) and re-reading used->idx.
	 */
	smp_mb();

	if (kvhost_vring_has_feature(vr, VIRTIO_F_NOTIFY_ON_EMPTY)) {
		if (split_read_avail_idx(vr, &idx))
			return split_fail(vr, -EFAULT);
		if (idx == vr->last_avail_idx)
			return 1;
	}

	if (!kvhost_vring_has_feature(vr, VIRTIO_RING_F_EVENT_IDX)) {
		if (get_user(v, &vr->avail->flags))
			return split_fail(vr, -EFAULT);
		return !(split16_to_cpu(vr, v) & VRING_AVAIL_F_NO_INTERRUPT);
	}

	if (!valid)
		return 1;
	if (get_user(v, split_used_event(vr)))
		return split_fail(vr, -EFAULT);
	event = split16_to_cpu(vr, v);
	return vring_need_event(event, new, old);
}

static int split_enable_notify(struct kvhost_vring *vr)
{
	u16 idx;

	if (vr->error)
		return vr->error;
	if (kvhost_vring_has_feature(vr, VIRTIO_RING_F_EVENT_IDX)) {
		if (put_user(cpu_to_split16(vr, vr->avail_idx),
			     split_avail_event(vr)))
			return split_fail(vr, -EFAULT);
	} else if (vr->used_flags & VRING_USED_F_NO_NOTIFY) {
		vr->used_flags &= ~VRING_USED_F_NO_NOTIFY;
		if (split_write_used_flags(vr))
			return split_fail(vr, -EFAULT);
	}
	/*
	 * Make the request visible before looking for buffers again.  Pairs
	 * with the driver's full barrier between storing avail->idx and
	 * reading avail_event (or used->flags) to decide whether to kick.
	 */
	smp_mb();
	if (split_read_avail_idx(vr, &idx))
		return split_fail(vr, -EFAULT);
	return idx != vr->avail_idx;
}

static int split_disable_notify(struct kvhost_vring *vr)
{
	if (vr->error)
		return vr->error;
	/* With event indexes the driver kicks only past avail_event: nothing to do. */
	if (kvhost_vring_has_feature(vr, VIRTIO_RING_F_EVENT_IDX))
		return 0;
	if (vr->used_flags & VRING_USED_F_NO_NOTIFY)
		return 0;
	vr->used_flags |= VRING_USED_F_NO_NOTIFY;
	if (split_write_used_flags(vr))
		return split_fail(vr, -EFAULT);
	return 0;
}

const struct kvhost_ring_ops kvhost_split_ring_ops = {
	.start		= split_start,
	.pop		= split_pop,
	.unpop		= split_unpop,
	.add_used	= split_add_used,
	.flush		= split_flush,
	.need_signal	= split_need_signal,
	.enable_notify	= split_enable_notify,
	.disable_notify	= split_disable_notify,
};
