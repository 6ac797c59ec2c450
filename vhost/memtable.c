// SPDX-License-Identifier: GPL-2.0
/*
 * Guest memory table: validation at build time, O(log n) lookups after.
 */
#include <linux/errno.h>
#include <linux/kernel.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/overflow.h>
#include <linux/uaccess.h>
#include "memtable.h"

static int kvhost_region_cmp(const void *a, const void *b)
{
	const struct kvhost_mem_region *ra = a, *rb = b;

	if (ra->gpa < rb->gpa)
		return -1;
	return ra->gpa > rb->gpa;
}

static int kvhost_region_fill(struct kvhost_mem_region *dst,
			      const struct vhost_memory_region *src)
{
	u64 size = src->memory_size;

	if (!size || src->flags_padding)
		return -EINVAL;
	/* Neither range may wrap past 2^64. */
	if (size - 1 > U64_MAX - src->guest_phys_addr ||
	    size - 1 > U64_MAX - src->userspace_addr)
		return -EINVAL;
	if (!access_ok((void __user *)(unsigned long)src->userspace_addr, size))
		return -EFAULT;

	dst->gpa = src->guest_phys_addr;
	dst->gpa_last = src->guest_phys_addr + size - 1;
	dst->uaddr = src->userspace_addr;
	return 0;
}

/**
 * kvhost_memtable_build() - validate regions and build a lookup table
 * @src:	regions as userspace gave them (already copied to the kernel)
 * @nregions:	number of entries in @src
 * @max_regions: largest table accepted
 * @out:	the new table, to be freed with kvhost_memtable_free()
 *
 * Context: process context, may sleep.
 * Return: 0, -E2BIG for too many regions, -EINVAL for an empty, wrapping
 * or overlapping region, -EFAULT for a user range outside the user address
 * space, -ENOMEM.
 */
int kvhost_memtable_build(const struct vhost_memory_region *src, u32 nregions,
			  u32 max_regions, struct kvhost_memtable **out)
{
	struct kvhost_memtable *mt;
	u32 i;
	int ret;

	if (nregions > max_regions)
		return -E2BIG;

	mt = kvzalloc(struct_size(mt, regions, nregions), GFP_KERNEL);
	if (!mt)
		return -ENOMEM;
	mt->nregions = nregions;

	for (i = 0; i < nregions; i++) {
		ret = kvhost_region_fill(&mt->regions[i], &src[i]);
		if (ret)
			goto free_table;
	}

	sort(mt->regions, nregions, sizeof(mt->regions[0]), kvhost_region_cmp,
	     NULL);
	for (i = 1; i < nregions; i++) {
		if (mt->regions[i].gpa <= mt->regions[i - 1].gpa_last) {
			ret = -EINVAL;
			goto free_table;
		}
	}

	*out = mt;
	return 0;

free_table:
	kvfree(mt);
	return ret;
}

void kvhost_memtable_free(struct kvhost_memtable *mt)
{
	kvfree(mt);
}

/**
 * kvhost_memtable_lookup() - the region holding a guest-physical address
 * @mt:		table, may be NULL (no table set: nothing is mapped)
 * @gpa:	guest-physical address
 *
 * Return: the region, or NULL if @gpa is not mapped.
 */
const struct kvhost_mem_region *
kvhost_memtable_lookup(const struct kvhost_memtable *mt, u64 gpa)
{
	u32 lo = 0, hi;

	if (!mt)
		return NULL;
	hi = mt->nregions;
	/* Find the last region starting at or below @gpa. */
	while (lo < hi) {
		u32 mid = lo + (hi - lo) / 2;

		if (mt->regions[mid].gpa <= gpa)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo || gpa > mt->regions[lo - 1].gpa_last)
		return NULL;
	return &mt->regions[lo - 1];
}

/**
 * kvhost_memtable_translate() - map a guest-physical range to user segments
 * @mt:		table, may be NULL
 * @gpa:	first byte
 * @len:	bytes, at least 1
 * @iov:	segments out
 * @iov_max:	room in @iov
 *
 * Return: number of segments used, -EINVAL if the range wraps past 2^64,
 * -EFAULT if any byte is unmapped, -ENOBUFS if @iov is too small.
 */
int kvhost_memtable_translate(const struct kvhost_memtable *mt, u64 gpa,
			      u64 len, struct iovec *iov, unsigned int iov_max)
{
	unsigned int n = 0;

	if (!len || len - 1 > U64_MAX - gpa)
		return -EINVAL;

	while (len) {
		const struct kvhost_mem_region *r = kvhost_memtable_lookup(mt, gpa);
		u64 seg;

		if (!r)
			return -EFAULT;
		if (n == iov_max)
			return -ENOBUFS;
		seg = min_t(u64, len, r->gpa_last - gpa + 1);
		iov[n].iov_base = (void __user *)(unsigned long)(r->uaddr + (gpa - r->gpa));
		iov[n].iov_len = seg;
		n++;
		len -= seg;
		gpa += seg;
	}
	return n;
}

/**
 * kvhost_memtable_covers_uaddr() - whether user memory lies inside the table
 * @mt:		table, may be NULL
 * @uaddr:	first byte
 * @len:	bytes, at least 1
 *
 * Used on ring set-up only, so a linear scan is fine.
 * Return: true if every byte of the range belongs to some region.
 */
bool kvhost_memtable_covers_uaddr(const struct kvhost_memtable *mt, u64 uaddr,
				  u64 len)
{
	u32 i;

	if (!mt || !len || len - 1 > U64_MAX - uaddr)
		return false;
	while (len) {
		const struct kvhost_mem_region *hit = NULL;
		u64 seg;

		for (i = 0; i < mt->nregions && !hit; i++) {
			const struct kvhost_mem_region *r = &mt->regions[i];
			u64 size = r->gpa_last - r->gpa;

			if (uaddr >= r->uaddr && uaddr - r->uaddr <= size)
				hit = r;
		}
		if (!hit)
			return false;
		seg = min_t(u64, len, hit->gpa_last - hit->gpa - (uaddr - hit->uaddr) + 1);
		len -= seg;
		uaddr += seg;
	}
	return true;
}
