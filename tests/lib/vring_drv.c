// SPDX-License-Identifier: GPL-2.0
/*
 * vring_drv: driver side of a virtio 1.x split virtqueue (virtio 1.x, 2.7).
 */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "vring_drv.h"

#define VDRV_LOAD(p)		__atomic_load_n((p), __ATOMIC_RELAXED)
#define VDRV_STORE(p, v)	__atomic_store_n((p), (v), __ATOMIC_RELAXED)
#define VDRV_MB()		__atomic_thread_fence(__ATOMIC_SEQ_CST)

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) & ~(a - 1);
}

static bool is_pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

/* ---------------------------------------------------------------------- */
/* Guest memory                                                           */
/* ---------------------------------------------------------------------- */

static uint64_t page_size(void)
{
	return (uint64_t)sysconf(_SC_PAGESIZE);
}

static bool mem_layout_valid(const struct vdrv_mem_layout *l, uint64_t size)
{
	uint64_t page = page_size();

	if (!l->nregions || l->nregions > VDRV_MEM_MAX_REGIONS || !size)
		return false;
	if (l->identity)
		return true;
	if (l->gpa_base % page || l->gpa_stride % page)
		return false;
	if (l->gpa_stride && l->gpa_stride < size)
		return false;
	/* The last region must not wrap the gpa space. */
	if (l->gpa_stride) {
		if ((l->nregions - 1) > (UINT64_MAX - l->gpa_base - size) /
					 l->gpa_stride)
			return false;
	} else if (l->nregions > (UINT64_MAX - l->gpa_base) / size) {
		return false;
	}
	return true;
}

/*
 * One reservation holds every region with a guard gap between neighbours.
 * Offset layouts place regions in user space in the reverse order of their
 * gpas, so a buffer straddling two regions jumps backwards in user space.
 */
int vdrv_mem_init(struct vdrv_mem *m, const struct vdrv_mem_layout *l)
{
	uint64_t page = page_size();
	uint64_t size = align_up(l->region_size, page);
	uint64_t guard = align_up(l->guard ? l->guard : page, page);
	uint64_t step = size + guard;
	unsigned int k;
	uint8_t *base;

	memset(m, 0, sizeof(*m));
	if (!mem_layout_valid(l, size))
		return -EINVAL;

	m->map_len = l->nregions * step + guard;
	m->map = mmap(NULL, m->map_len, PROT_NONE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (m->map == MAP_FAILED) {
		m->map = NULL;
		return -ENOMEM;
	}
	base = (uint8_t *)m->map + guard;
	m->nregions = l->nregions;
	for (k = 0; k < l->nregions; k++) {
		struct vdrv_region *r = &m->region[k];
		unsigned int slot = l->identity ? k : l->nregions - 1 - k;

		r->uaddr = base + slot * step;
		r->size = size;
		if (l->identity)
			r->gpa = (uintptr_t)r->uaddr;
		else if (l->gpa_stride)
			r->gpa = l->gpa_base + k * l->gpa_stride;
		else
			r->gpa = l->gpa_base + k * size;
		if (mprotect(r->uaddr, size, PROT_READ | PROT_WRITE)) {
			int err = -errno;

			vdrv_mem_destroy(m);
			return err;
		}
	}
	m->gpa_base = m->region[0].gpa;
	return 0;
}

int vdrv_mem_init_identity(struct vdrv_mem *m, uint64_t size)
{
	struct vdrv_mem_layout l = {
		.nregions = 1,
		.region_size = size,
		.identity = true,
	};

	return vdrv_mem_init(m, &l);
}

int vdrv_mem_init_offset(struct vdrv_mem *m, unsigned int nregions,
			 uint64_t region_size, uint64_t gpa_base,
			 uint64_t gpa_stride)
{
	struct vdrv_mem_layout l = {
		.nregions = nregions,
		.region_size = region_size,
		.gpa_base = gpa_base,
		.gpa_stride = gpa_stride,
	};

	return vdrv_mem_init(m, &l);
}

void vdrv_mem_destroy(struct vdrv_mem *m)
{
	if (m->map)
		munmap(m->map, m->map_len);
	memset(m, 0, sizeof(*m));
}

static int mem_find(const struct vdrv_mem *m, uint64_t gpa)
{
	unsigned int k;

	for (k = 0; k < m->nregions; k++) {
		const struct vdrv_region *r = &m->region[k];

		if (gpa >= r->gpa && gpa - r->gpa < r->size)
			return k;
	}
	return -1;
}

/* Regions are allocated in index order; k + 1 continues k if gpa-adjacent. */
static bool mem_adjacent(const struct vdrv_mem *m, unsigned int k)
{
	return k + 1 < m->nregions &&
	       m->region[k].gpa + m->region[k].size == m->region[k + 1].gpa;
}

void *vdrv_alloc(struct vdrv_mem *m, uint64_t size, uint64_t align,
		 uint64_t *gpa)
{
	if (!size || !is_pow2(align))
		return NULL;
	for (; m->cur < m->nregions; m->cur++, m->off = 0) {
		struct vdrv_region *r = &m->region[m->cur];
		uint64_t off = align_up(r->gpa + m->off, align) - r->gpa;

		if (off <= r->size && size <= r->size - off) {
			m->off = off + size;
			if (gpa)
				*gpa = r->gpa + off;
			return r->uaddr + off;
		}
	}
	return NULL;
}

/* Bytes from region @k offset @off onwards over gpa-adjacent regions. */
static uint64_t mem_room(const struct vdrv_mem *m, unsigned int k,
			 uint64_t off)
{
	uint64_t room = m->region[k].size - off;

	while (mem_adjacent(m, k)) {
		k++;
		room += m->region[k].size;
	}
	return room;
}

int vdrv_alloc_gpa(struct vdrv_mem *m, uint64_t size, uint64_t align,
		   uint64_t *gpa)
{
	if (!size || !is_pow2(align))
		return -EINVAL;
	for (; m->cur < m->nregions; m->cur++, m->off = 0) {
		struct vdrv_region *r = &m->region[m->cur];
		uint64_t off = align_up(r->gpa + m->off, align) - r->gpa;
		uint64_t end;
		int k;

		if (off >= r->size || size > mem_room(m, m->cur, off))
			continue;
		*gpa = r->gpa + off;
		end = *gpa + size;
		k = mem_find(m, end - 1);
		m->cur = k;
		m->off = end - m->region[k].gpa;
		return 0;
	}
	return -ENOMEM;
}

int vdrv_alloc_straddle(struct vdrv_mem *m, uint64_t before, uint64_t after,
			uint64_t *gpa)
{
	unsigned int k;

	if (!before || !after)
		return -EINVAL;
	for (k = m->cur; k < m->nregions; k++) {
		const struct vdrv_region *r = &m->region[k];
		uint64_t start_off = k == m->cur ? m->off : 0;

		if (!mem_adjacent(m, k) || before > r->size ||
		    r->size - before < start_off ||
		    after > m->region[k + 1].size)
			continue;
		*gpa = r->gpa + r->size - before;
		m->cur = k + 1;
		m->off = after;
		return 0;
	}
	return -ENOSPC;
}

uint64_t vdrv_gpa(const struct vdrv_mem *m, const void *p)
{
	const uint8_t *u = p;
	unsigned int k;

	for (k = 0; k < m->nregions; k++) {
		const struct vdrv_region *r = &m->region[k];

		if (u >= r->uaddr && (uint64_t)(u - r->uaddr) < r->size)
			return r->gpa + (uint64_t)(u - r->uaddr);
	}
	return VDRV_GPA_INVALID;
}

void *vdrv_ptr(const struct vdrv_mem *m, uint64_t gpa)
{
	int k = mem_find(m, gpa);

	if (k < 0)
		return NULL;
	return m->region[k].uaddr + (gpa - m->region[k].gpa);
}

void *vdrv_span(const struct vdrv_mem *m, uint64_t gpa, uint64_t len,
		uint64_t *contig)
{
	int k = mem_find(m, gpa);
	uint64_t off, room;

	if (k < 0)
		return NULL;
	off = gpa - m->region[k].gpa;
	room = m->region[k].size - off;
	*contig = len < room ? len : room;
	return m->region[k].uaddr + off;
}

unsigned int vdrv_mem_nsegs(const struct vdrv_mem *m, uint64_t gpa,
			    uint64_t len)
{
	unsigned int n = 0;
	uint64_t c;

	if (len - 1 > UINT64_MAX - gpa)
		return 0;
	while (len) {
		if (!vdrv_span(m, gpa, len, &c))
			return 0;
		n++;
		gpa += c;
		len -= c;
	}
	return n;
}

/* Copy between @buf and guest memory at @gpa, region by region. */
static int vdrv_copy(const struct vdrv_mem *m, uint64_t gpa, uint8_t *buf,
		     uint64_t len, bool to_guest)
{
	uint64_t c;
	void *p;

	while (len) {
		p = vdrv_span(m, gpa, len, &c);
		if (!p)
			return -EFAULT;
		if (to_guest)
			memcpy(p, buf, c);
		else
			memcpy(buf, p, c);
		buf += c;
		gpa += c;
		len -= c;
	}
	return 0;
}

int vdrv_write(const struct vdrv_mem *m, uint64_t gpa, const void *src,
	       uint64_t len)
{
	return vdrv_copy(m, gpa, (uint8_t *)src, len, true);
}

int vdrv_read(const struct vdrv_mem *m, uint64_t gpa, void *dst, uint64_t len)
{
	return vdrv_copy(m, gpa, dst, len, false);
}

int vdrv_memset(const struct vdrv_mem *m, uint64_t gpa, int c, uint64_t len)
{
	uint64_t n;
	void *p;

	while (len) {
		p = vdrv_span(m, gpa, len, &n);
		if (!p)
			return -EFAULT;
		memset(p, c, n);
		gpa += n;
		len -= n;
	}
	return 0;
}

size_t vdrv_mem_table_size(unsigned int nregions)
{
	return sizeof(struct vhost_memory) +
	       nregions * sizeof(struct vhost_memory_region);
}

/* Regions are listed last to first: the device must not assume an order. */
struct vhost_memory *vdrv_mem_table(const struct vdrv_mem *m)
{
	struct vhost_memory *t = calloc(1, vdrv_mem_table_size(m->nregions));
	unsigned int k;

	if (!t)
		return NULL;
	t->nregions = m->nregions;
	for (k = 0; k < m->nregions; k++) {
		const struct vdrv_region *r = &m->region[m->nregions - 1 - k];

		t->regions[k].guest_phys_addr = r->gpa;
		t->regions[k].memory_size = r->size;
		t->regions[k].userspace_addr = (uintptr_t)r->uaddr;
	}
	return t;
}

/* ---------------------------------------------------------------------- */
/* Split ring                                                             */
/* ---------------------------------------------------------------------- */

/* used_event lives in avail->ring[num], avail_event in used->ring[num]. */
static __virtio16 *ring_used_event(struct vdrv_ring *r)
{
	return &r->avail->ring[r->num];
}

static __virtio16 *ring_avail_event(const struct vdrv_ring *r)
{
	return (__virtio16 *)((char *)r->used + offsetof(struct vring_used, ring) +
			      r->num * sizeof(struct vring_used_elem));
}

static void ring_free_list_init(struct vdrv_ring *r)
{
	unsigned int i;

	for (i = 0; i + 1 < r->num; i++)
		r->next[i] = i + 1;
	r->next[r->num - 1] = 0;
	r->free_head = 0;
	r->num_free = r->num;
	r->inflight = 0;
}

static int ring_alloc_indirect(struct vdrv_ring *r, unsigned int max)
{
	uint64_t bytes;

	r->indir_max = max ? max : VDRV_INDIRECT_MAX_DEFAULT;
	if (r->indir_max > VDRV_NUM_MAX)
		return -EINVAL;
	bytes = (uint64_t)r->num * r->indir_max * sizeof(struct vring_desc);
	r->indir = vdrv_alloc(r->mem, bytes, VRING_DESC_ALIGN_SIZE,
			      &r->indir_gpa);
	return r->indir ? 0 : -ENOMEM;
}

int vdrv_ring_init(struct vdrv_ring *r, struct vdrv_mem *m,
		   const struct vdrv_ring_opts *o)
{
	struct vring vr;
	void *p;
	int ret;

	memset(r, 0, sizeof(*r));
	if (!is_pow2(o->num) || o->num > VDRV_NUM_MAX)
		return -EINVAL;
	r->mem = m;
	r->num = o->num;
	r->event_idx = o->event_idx;
	r->indirect = o->indirect;

	p = vdrv_alloc(m, vring_size(o->num, VDRV_RING_ALIGN), VDRV_RING_ALIGN,
		       NULL);
	if (!p)
		return -ENOMEM;
	vring_init(&vr, o->num, p, VDRV_RING_ALIGN);
	r->desc = vr.desc;
	r->avail = vr.avail;
	r->used = vr.used;
	r->desc_gpa = vdrv_gpa(m, r->desc);
	r->avail_gpa = vdrv_gpa(m, r->avail);
	r->used_gpa = vdrv_gpa(m, r->used);

	if (r->indirect) {
		ret = ring_alloc_indirect(r, o->indirect_max);
		if (ret)
			return ret;
	}

	r->next = calloc(r->num, sizeof(*r->next));
	r->head = calloc(r->num, sizeof(*r->head));
	if (!r->next || !r->head) {
		vdrv_ring_destroy(r);
		return -ENOMEM;
	}
	ring_free_list_init(r);
	r->intr_enabled = true;
	return 0;
}

void vdrv_ring_destroy(struct vdrv_ring *r)
{
	free(r->next);
	free(r->head);
	r->next = NULL;
	r->head = NULL;
}

void vdrv_ring_set_base(struct vdrv_ring *r, uint16_t base)
{
	r->avail_idx = base;
	r->kicked_idx = base;
	r->last_used = base;
	r->used_seen = base;
	VDRV_STORE(&r->avail->idx, htole16(base));
	VDRV_STORE(&r->used->idx, htole16(base));
	if (r->event_idx)
		VDRV_STORE(ring_used_event(r), htole16(base));
	VDRV_MB();
}

static int segs_check(const struct vdrv_seg *segs, unsigned int nsegs)
{
	uint64_t total = 0;
	bool seen_writable = false;
	unsigned int i;

	if (!nsegs)
		return -EINVAL;
	for (i = 0; i < nsegs; i++) {
		if (!segs[i].len)
			return -EINVAL;
		/* 2.7.4.2: device-writable descriptors after readable ones. */
		if (seen_writable && !segs[i].writable)
			return -EINVAL;
		seen_writable |= segs[i].writable;
		if (segs[i].len - 1 > UINT64_MAX - segs[i].gpa)
			return -EINVAL;
		total += segs[i].len;
	}
	/* 2.7.5.2: a chain is at most 2^32 bytes. */
	if (total > (1ULL << 32))
		return -EINVAL;
	return 0;
}

static void desc_write(struct vring_desc *d, const struct vdrv_seg *s,
		       uint16_t flags, uint16_t next)
{
	if (s->writable)
		flags |= VRING_DESC_F_WRITE;
	d->addr = htole64(s->gpa);
	d->len = htole32(s->len);
	d->flags = htole16(flags);
	d->next = htole16(next);
}

/* Take one descriptor off the free list. */
static uint16_t ring_take_desc(struct vdrv_ring *r)
{
	uint16_t i = r->free_head;

	r->free_head = r->next[i];
	r->num_free--;
	return i;
}

static uint16_t ring_add_direct(struct vdrv_ring *r, const struct vdrv_seg *segs,
				unsigned int nsegs)
{
	uint16_t head = r->free_head, i = head;
	unsigned int k;

	/* The chain follows the free list, so next[] already links it. */
	for (k = 0; k < nsegs; k++) {
		bool last = k + 1 == nsegs;

		i = ring_take_desc(r);
		desc_write(&r->desc[i], &segs[k], last ? 0 : VRING_DESC_F_NEXT,
			   last ? 0 : r->next[i]);
	}
	return head;
}

static uint16_t ring_add_indirect(struct vdrv_ring *r,
				  const struct vdrv_seg *segs,
				  unsigned int nsegs)
{
	uint16_t head = ring_take_desc(r);
	struct vring_desc *t = r->indir + (size_t)head * r->indir_max;
	struct vdrv_seg outer = {
		.gpa = vdrv_indirect_gpa(r, head),
		.len = nsegs * sizeof(struct vring_desc),
	};
	unsigned int k;

	for (k = 0; k < nsegs; k++) {
		bool last = k + 1 == nsegs;

		desc_write(&t[k], &segs[k], last ? 0 : VRING_DESC_F_NEXT,
			   last ? 0 : k + 1);
	}
	desc_write(&r->desc[head], &outer, VRING_DESC_F_INDIRECT, 0);
	return head;
}

int vdrv_add(struct vdrv_ring *r, const struct vdrv_seg *segs,
	     unsigned int nsegs, uint64_t token, bool indirect)
{
	uint16_t head;
	int ret;

	ret = segs_check(segs, nsegs);
	if (ret)
		return ret;
	if (indirect) {
		if (!r->indirect)
			return -EINVAL;
		if (nsegs > r->indir_max)
			return -E2BIG;
		if (!r->num_free)
			return -ENOSPC;
		head = ring_add_indirect(r, segs, nsegs);
		r->head[head].ndesc = 1;
	} else {
		if (nsegs > r->num_free)
			return -ENOSPC;
		head = ring_add_direct(r, segs, nsegs);
		r->head[head].ndesc = nsegs;
	}
	r->head[head].token = token;
	r->head[head].busy = true;
	r->inflight++;

	/* The device reads the entry only after it sees avail->idx cover it. */
	VDRV_STORE(&r->avail->ring[r->avail_idx & (r->num - 1)], htole16(head));
	r->avail_idx++;
	return head;
}

void vdrv_publish(struct vdrv_ring *r)
{
	/* Descriptors and ring entries before the index (release). */
	__atomic_store_n(&r->avail->idx, htole16(r->avail_idx),
			 __ATOMIC_RELEASE);
}

bool vdrv_kick_prepare(struct vdrv_ring *r)
{
	uint16_t old = r->kicked_idx, new = r->avail_idx;

	vdrv_publish(r);
	r->kicked_idx = new;
	/*
	 * The index store must be visible before we read what the device
	 * asked for; pairs with the device's barrier between writing
	 * avail_event / used->flags and re-reading avail->idx.
	 */
	VDRV_MB();
	if (r->event_idx)
		return vring_need_event(le16toh(VDRV_LOAD(ring_avail_event(r))),
					new, old);
	return !(le16toh(VDRV_LOAD(&r->used->flags)) & VRING_USED_F_NO_NOTIFY);
}

static void ring_detach(struct vdrv_ring *r, uint16_t head)
{
	struct vdrv_head *h = &r->head[head];
	uint16_t last = head;
	unsigned int k;

	for (k = 1; k < h->ndesc; k++)
		last = r->next[last];
	r->next[last] = r->free_head;
	r->free_head = head;
	r->num_free += h->ndesc;
	r->inflight--;
	h->busy = false;
}

/* Read used->idx; acquire so the elements it covers are read after it. */
static int ring_refresh_used(struct vdrv_ring *r)
{
	uint16_t idx = le16toh(__atomic_load_n(&r->used->idx, __ATOMIC_ACQUIRE));

	if ((uint16_t)(idx - r->last_used) > r->inflight)
		return -EPROTO;
	r->used_seen = idx;
	return 0;
}

unsigned int vdrv_used_pending(struct vdrv_ring *r)
{
	if (ring_refresh_used(r))
		return 0;
	return (uint16_t)(r->used_seen - r->last_used);
}

int vdrv_get_used(struct vdrv_ring *r, uint64_t *token, uint32_t *len)
{
	struct vring_used_elem *e;
	uint32_t id;

	if (r->last_used == r->used_seen) {
		if (ring_refresh_used(r))
			return -EPROTO;
		if (r->last_used == r->used_seen)
			return 0;
	}
	e = &r->used->ring[r->last_used & (r->num - 1)];
	id = le32toh(VDRV_LOAD(&e->id));
	if (id >= r->num || !r->head[id].busy)
		return -EPROTO;
	*len = le32toh(VDRV_LOAD(&e->len));
	*token = r->head[id].token;
	ring_detach(r, id);
	r->last_used++;

	/* Keep asking for a notification at the next element, if wanted. */
	if (r->event_idx && r->intr_enabled) {
		VDRV_STORE(ring_used_event(r), htole16(r->last_used));
		VDRV_MB();
	}
	return 1;
}

void vdrv_disable_intr(struct vdrv_ring *r)
{
	r->intr_enabled = false;
	if (r->event_idx) {
		/* 2.7.7: flags stay 0; point used_event half a ring away. */
		VDRV_STORE(ring_used_event(r), htole16(r->last_used + 0x8000));
		return;
	}
	r->avail_flags |= VRING_AVAIL_F_NO_INTERRUPT;
	VDRV_STORE(&r->avail->flags, htole16(r->avail_flags));
}

bool vdrv_enable_intr(struct vdrv_ring *r)
{
	uint16_t idx;

	r->intr_enabled = true;
	if (r->event_idx) {
		VDRV_STORE(ring_used_event(r), htole16(r->last_used));
	} else {
		r->avail_flags &= ~VRING_AVAIL_F_NO_INTERRUPT;
		VDRV_STORE(&r->avail->flags, htole16(r->avail_flags));
	}
	/*
	 * The request must be visible before we look at used->idx again;
	 * pairs with the device's barrier between writing used->idx and
	 * reading used_event / avail->flags.
	 */
	VDRV_MB();
	idx = le16toh(VDRV_LOAD(&r->used->idx));
	return idx == r->last_used;
}

/* ---- raw access ---- */

void vdrv_raw_desc(struct vdrv_ring *r, uint16_t i, uint64_t addr,
		   uint32_t len, uint16_t flags, uint16_t next)
{
	struct vring_desc *d = &r->desc[i & (r->num - 1)];

	d->addr = htole64(addr);
	d->len = htole32(len);
	d->flags = htole16(flags);
	d->next = htole16(next);
}

uint64_t vdrv_indirect_gpa(const struct vdrv_ring *r, uint16_t head)
{
	return r->indir_gpa +
	       (uint64_t)head * r->indir_max * sizeof(struct vring_desc);
}

void vdrv_raw_indirect(struct vdrv_ring *r, uint16_t head, uint16_t i,
		       uint64_t addr, uint32_t len, uint16_t flags,
		       uint16_t next)
{
	struct vring_desc *d = r->indir + (size_t)head * r->indir_max +
			       (i % r->indir_max);

	d->addr = htole64(addr);
	d->len = htole32(len);
	d->flags = htole16(flags);
	d->next = htole16(next);
}

void vdrv_raw_avail_entry(struct vdrv_ring *r, uint16_t slot, uint16_t head)
{
	VDRV_STORE(&r->avail->ring[slot & (r->num - 1)], htole16(head));
}

void vdrv_raw_avail_idx(struct vdrv_ring *r, uint16_t idx)
{
	__atomic_store_n(&r->avail->idx, htole16(idx), __ATOMIC_RELEASE);
}

uint16_t vdrv_raw_used_idx(const struct vdrv_ring *r)
{
	return le16toh(__atomic_load_n(&r->used->idx, __ATOMIC_ACQUIRE));
}

void vdrv_raw_used_event(struct vdrv_ring *r, uint16_t v)
{
	VDRV_STORE(ring_used_event(r), htole16(v));
}

uint16_t vdrv_raw_avail_event(const struct vdrv_ring *r)
{
	return le16toh(VDRV_LOAD(ring_avail_event(r)));
}
