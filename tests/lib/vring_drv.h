/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vring_drv: the guest (driver) side of a virtio 1.x split virtqueue, in
 * plain userspace C.  No ioctl, no kernel dependency: it only lays out and
 * drives ring memory, so it serves both the integration tests (the ring is
 * served by kvhost in the kernel) and native unit tests (the ring is served
 * by the kernel ring code compiled into the test).
 *
 * Guest memory (struct vdrv_mem) is one or more mmap'd regions, each with a
 * guest-physical address (gpa).  Descriptors carry gpas; the ring parts
 * themselves are handed to the device by user address, as with vhost.
 *
 * Little-endian (virtio 1.x) layout is assumed throughout.
 * Not thread-safe: use one ring from one thread at a time.
 */
#ifndef VRING_DRV_H
#define VRING_DRV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/virtio_ring.h>
#include <linux/virtio_config.h>
#include <linux/vhost_types.h>

/* ---------------------------------------------------------------------- */
/* Guest memory                                                           */
/* ---------------------------------------------------------------------- */

#define VDRV_MEM_MAX_REGIONS	64
#define VDRV_GPA_INVALID	UINT64_MAX

struct vdrv_region {
	uint8_t *uaddr;		/* user address of the first byte */
	uint64_t gpa;		/* guest-physical address of the first byte */
	uint64_t size;		/* bytes, a multiple of the page size */
};

/**
 * struct vdrv_mem_layout - how to build guest memory
 * @nregions:	regions, 1..VDRV_MEM_MAX_REGIONS
 * @region_size: bytes per region (rounded up to the page size)
 * @identity:	gpa == user address (like a QEMU table of host addresses)
 * @gpa_base:	offset layout: gpa of region 0
 * @gpa_stride:	offset layout: region k starts at gpa_base + k * gpa_stride;
 *		0 means the regions are back to back in gpa space, so one
 *		buffer can straddle two regions that are apart in user space
 * @guard:	unmapped bytes between regions in user space (at least one
 *		page is always left between regions)
 */
struct vdrv_mem_layout {
	unsigned int nregions;
	uint64_t region_size;
	bool identity;
	uint64_t gpa_base;
	uint64_t gpa_stride;
	uint64_t guard;
};

/**
 * struct vdrv_mem - guest memory with a bump allocator
 *
 * The allocator hands out gpas in increasing order, region by region.
 */
struct vdrv_mem {
	struct vdrv_region region[VDRV_MEM_MAX_REGIONS];
	unsigned int nregions;
	uint64_t gpa_base;	/* gpa of region 0 */
	unsigned int cur;	/* allocator: current region */
	uint64_t off;		/* allocator: next free offset in region[cur] */
	void *map;		/* the whole reservation, guards included */
	size_t map_len;
};

int vdrv_mem_init(struct vdrv_mem *m, const struct vdrv_mem_layout *l);
/* One identity region of @size bytes. */
int vdrv_mem_init_identity(struct vdrv_mem *m, uint64_t size);
/* @nregions offset regions, gpa-contiguous from @gpa_base (stride 0). */
int vdrv_mem_init_offset(struct vdrv_mem *m, unsigned int nregions,
			 uint64_t region_size, uint64_t gpa_base,
			 uint64_t gpa_stride);
void vdrv_mem_destroy(struct vdrv_mem *m);

/*
 * Allocate zeroed memory that is contiguous in user space (never crosses a
 * region); returns the user pointer, stores the gpa in *@gpa if not NULL.
 * @align must be a power of two.  NULL if out of memory.
 */
void *vdrv_alloc(struct vdrv_mem *m, uint64_t size, uint64_t align,
		 uint64_t *gpa);
/*
 * Allocate @size bytes of guest memory, contiguous in gpa space only: the
 * range may straddle regions that are back to back in gpa.  -ENOMEM.
 */
int vdrv_alloc_gpa(struct vdrv_mem *m, uint64_t size, uint64_t align,
		   uint64_t *gpa);
/*
 * Allocate @before + @after bytes so that exactly @before bytes lie at the
 * end of one region and @after at the start of the next (gpa-contiguous)
 * region.  -ENOSPC if no such boundary is left.
 */
int vdrv_alloc_straddle(struct vdrv_mem *m, uint64_t before, uint64_t after,
			uint64_t *gpa);

/* Guest-physical address of @p, VDRV_GPA_INVALID if not guest memory. */
uint64_t vdrv_gpa(const struct vdrv_mem *m, const void *p);
/* User address of @gpa, NULL if not guest memory. */
void *vdrv_ptr(const struct vdrv_mem *m, uint64_t gpa);
/* Like vdrv_ptr(); *@contig gets the bytes contiguous from there (<= @len). */
void *vdrv_span(const struct vdrv_mem *m, uint64_t gpa, uint64_t len,
		uint64_t *contig);
/* Regions the range [gpa, gpa+len) touches; 0 if any byte is unmapped. */
unsigned int vdrv_mem_nsegs(const struct vdrv_mem *m, uint64_t gpa,
			    uint64_t len);

/* Copy to/from guest memory, across regions.  -EFAULT if unmapped. */
int vdrv_write(const struct vdrv_mem *m, uint64_t gpa, const void *src,
	       uint64_t len);
int vdrv_read(const struct vdrv_mem *m, uint64_t gpa, void *dst, uint64_t len);
int vdrv_memset(const struct vdrv_mem *m, uint64_t gpa, int c, uint64_t len);

/* The table to give VHOST_SET_MEM_TABLE; free() it.  NULL on ENOMEM. */
struct vhost_memory *vdrv_mem_table(const struct vdrv_mem *m);
/* Size in bytes of a struct vhost_memory with @nregions regions. */
size_t vdrv_mem_table_size(unsigned int nregions);

/* ---------------------------------------------------------------------- */
/* Split ring, driver side                                                */
/* ---------------------------------------------------------------------- */

#define VDRV_NUM_MAX		32768
#define VDRV_RING_ALIGN		4096	/* legacy vring_init() alignment */
#define VDRV_INDIRECT_MAX_DEFAULT 16

struct vdrv_seg {
	uint64_t gpa;
	uint32_t len;
	bool writable;
};

/**
 * struct vdrv_ring_opts - ring creation options
 * @num:	queue size, a power of two, 1..32768
 * @event_idx:	VIRTIO_RING_F_EVENT_IDX negotiated
 * @indirect:	VIRTIO_RING_F_INDIRECT_DESC negotiated: allocate one indirect
 *		table per descriptor head
 * @indirect_max: entries per indirect table (0: VDRV_INDIRECT_MAX_DEFAULT)
 */
struct vdrv_ring_opts {
	unsigned int num;
	bool event_idx;
	bool indirect;
	unsigned int indirect_max;
};

struct vdrv_head {
	uint64_t token;
	uint16_t ndesc;		/* descriptors taken from the table */
	bool busy;
};

struct vdrv_ring {
	struct vdrv_mem *mem;
	unsigned int num;
	bool event_idx;
	bool indirect;

	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	uint64_t desc_gpa, avail_gpa, used_gpa;

	uint16_t avail_idx;	/* shadow of avail->idx, including unpublished */
	uint16_t kicked_idx;	/* avail->idx at the last kick decision */
	uint16_t last_used;	/* next used entry to harvest */
	uint16_t used_seen;	/* used->idx as last read */
	uint16_t avail_flags;	/* shadow of avail->flags */
	bool intr_enabled;

	unsigned int num_free;	/* free descriptors */
	unsigned int inflight;	/* chains added and not yet harvested */
	uint16_t free_head;
	uint16_t *next;		/* chain / free-list links, driver private */
	struct vdrv_head *head;

	struct vring_desc *indir;	/* num tables of indir_max entries */
	uint64_t indir_gpa;
	unsigned int indir_max;
};

/* Lay the ring out in @m (desc, avail, used back to back, vring_init()). */
int vdrv_ring_init(struct vdrv_ring *r, struct vdrv_mem *m,
		   const struct vdrv_ring_opts *o);
/* Frees driver-private state; ring memory stays with the vdrv_mem. */
void vdrv_ring_destroy(struct vdrv_ring *r);
/*
 * Start both indexes at @base (avail->idx, used->idx, used_event and the
 * driver's counters).  Only on an unused ring, before the device starts.
 */
void vdrv_ring_set_base(struct vdrv_ring *r, uint16_t base);

/* User addresses of the three parts, for VHOST_SET_VRING_ADDR. */
static inline uint64_t vdrv_ring_desc_uaddr(const struct vdrv_ring *r)
{
	return (uintptr_t)r->desc;
}

static inline uint64_t vdrv_ring_avail_uaddr(const struct vdrv_ring *r)
{
	return (uintptr_t)r->avail;
}

static inline uint64_t vdrv_ring_used_uaddr(const struct vdrv_ring *r)
{
	return (uintptr_t)r->used;
}

/*
 * Add a chain (readable segments first, then writable ones) and place its
 * head in the avail ring; not visible to the device until vdrv_publish() or
 * vdrv_kick_prepare().  @indirect: through the head's indirect table.
 * Return: the head id (>= 0); -EINVAL bad segments, -ENOSPC not enough free
 * descriptors, -E2BIG more segments than an indirect table holds.
 */
int vdrv_add(struct vdrv_ring *r, const struct vdrv_seg *segs,
	     unsigned int nsegs, uint64_t token, bool indirect);
/* Store avail->idx (release: entries and descriptors first). */
void vdrv_publish(struct vdrv_ring *r);
/* Publish, then whether the device wants a kick for what was added. */
bool vdrv_kick_prepare(struct vdrv_ring *r);

/*
 * Harvest one used element.  Return 1 and fill *@token, *@len; 0 if none;
 * -EPROTO if the device returned something impossible (unknown id, used
 * index ahead of what is in flight).
 */
int vdrv_get_used(struct vdrv_ring *r, uint64_t *token, uint32_t *len);
/* Used elements the device has published and we have not harvested. */
unsigned int vdrv_used_pending(struct vdrv_ring *r);

/* Ask the device not to notify (a hint). */
void vdrv_disable_intr(struct vdrv_ring *r);
/*
 * Ask for a notification at the next used element.  Return true if the ring
 * is still empty after that (safe to sleep), false if used elements arrived
 * meanwhile (harvest them first: a notification may never come for them).
 */
bool vdrv_enable_intr(struct vdrv_ring *r);

static inline unsigned int vdrv_num_free(const struct vdrv_ring *r)
{
	return r->num_free;
}

static inline unsigned int vdrv_inflight(const struct vdrv_ring *r)
{
	return r->inflight;
}

/* The head id the next successful vdrv_add() returns (if num_free > 0). */
static inline uint16_t vdrv_next_head(const struct vdrv_ring *r)
{
	return r->free_head;
}

/* ---- raw access, for hostile rings; the ring is unusable afterwards ---- */

void vdrv_raw_desc(struct vdrv_ring *r, uint16_t i, uint64_t addr,
		   uint32_t len, uint16_t flags, uint16_t next);
/* Entry @i (0..num-1) of head table @head's indirect table, raw. */
void vdrv_raw_indirect(struct vdrv_ring *r, uint16_t head, uint16_t i,
		       uint64_t addr, uint32_t len, uint16_t flags,
		       uint16_t next);
/* The gpa of head @head's indirect table (valid if the ring has them). */
uint64_t vdrv_indirect_gpa(const struct vdrv_ring *r, uint16_t head);
/* avail->ring[@slot & (num - 1)] = @head. */
void vdrv_raw_avail_entry(struct vdrv_ring *r, uint16_t slot, uint16_t head);
/* avail->idx = @idx (release store). */
void vdrv_raw_avail_idx(struct vdrv_ring *r, uint16_t idx);
/* used->idx as the device last wrote it. */
uint16_t vdrv_raw_used_idx(const struct vdrv_ring *r);
/* used_event (avail->ring[num]) and avail_event (used->ring[num]). */
void vdrv_raw_used_event(struct vdrv_ring *r, uint16_t v);
uint16_t vdrv_raw_avail_event(const struct vdrv_ring *r);

#endif /* VRING_DRV_H */
