/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Guest memory table: guest-physical ranges mapped to owner user addresses.
 *
 * Built once from a VHOST_SET_MEM_TABLE copy, then read-only: the regions
 * are sorted by guest-physical address and never overlap, so a lookup is a
 * binary search.  This file and memtable.c build unmodified in userspace
 * (tests/unit) against small shim headers.
 */
#ifndef KVHOST_MEMTABLE_H
#define KVHOST_MEMTABLE_H

#include <linux/types.h>
#include <linux/uio.h>
#include <linux/vhost_types.h>

/* Upstream vhost's default max_mem_regions, and QEMU's largest table. */
#define KVHOST_MEM_REGIONS_DEFAULT	64
#define KVHOST_MEM_REGIONS_LIMIT	509

struct kvhost_mem_region {
	u64 gpa;	/* first guest-physical byte */
	u64 gpa_last;	/* last guest-physical byte (inclusive, never wraps) */
	u64 uaddr;	/* owner user address of @gpa */
};

struct kvhost_memtable {
	u32 nregions;
	struct kvhost_mem_region regions[];
};

int kvhost_memtable_build(const struct vhost_memory_region *src, u32 nregions,
			  u32 max_regions, struct kvhost_memtable **out);
void kvhost_memtable_free(struct kvhost_memtable *mt);
const struct kvhost_mem_region *
kvhost_memtable_lookup(const struct kvhost_memtable *mt, u64 gpa);
int kvhost_memtable_translate(const struct kvhost_memtable *mt, u64 gpa,
			      u64 len, struct iovec *iov, unsigned int iov_max);
bool kvhost_memtable_covers_uaddr(const struct kvhost_memtable *mt, u64 uaddr,
				  u64 len);

#endif /* KVHOST_MEMTABLE_H */
