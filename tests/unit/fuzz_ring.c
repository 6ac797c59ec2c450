// SPDX-License-Identifier: GPL-2.0
/*
 * Fuzz target: a small split ring whose descriptor table, avail ring,
 * memory table and guest memory all come from the input, served by the
 * unmodified vhost/ring_split.c and vhost/memtable.c.  Invariants are
 * checked with abort(); ASan and UBSan catch the rest.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/errno.h>
#include <linux/kernel.h>
#include "vring.h"
#include "fuzz_ring.h"

#define FZ_CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "fuzz_ring: invariant failed: %s (%s:%d)\n",\
			#cond, __FILE__, __LINE__);			\
		abort();						\
	}								\
} while (0)

struct fz_stats fz_stats;

struct fz_in {
	const uint8_t *p;
	size_t left;
};

static uint64_t fz_bytes(struct fz_in *in, unsigned int n)
{
	uint64_t v = 0;
	unsigned int i;

	for (i = 0; i < n; i++) {
		uint64_t b = 0;

		if (in->left) {
			b = *in->p++;
			in->left--;
		}
		v |= b << (8 * i);
	}
	return v;
}

#define fz_u8(in)	((u8)fz_bytes((in), 1))
#define fz_u16(in)	((u16)fz_bytes((in), 2))
#define fz_u64(in)	fz_bytes((in), 8)

struct fz {
	unsigned int num;
	unsigned int iov_max;
	u8 *arena;
	struct vhost_memory_region src[FZ_MAX_REGIONS];
	unsigned int nsrc;
	struct kvhost_memtable *mt;
	struct kvhost_vring vr;
	struct iovec iov[32];
	u16 popped[16 * FZ_ROUNDS];	/* ids awaiting add_used */
	unsigned int npopped;
	size_t used_bytes;
};

static void fz_read_regions(struct fz *f, struct fz_in *in)
{
	unsigned int k;

	f->nsrc = 1 + fz_u8(in) % FZ_MAX_REGIONS;
	for (k = 0; k < f->nsrc; k++) {
		struct vhost_memory_region *r = &f->src[k];
		u64 gpa = fz_u64(in);
		unsigned int size = fz_u16(in) % (FZ_ARENA + 1);
		unsigned int off = fz_u16(in) % FZ_ARENA;

		/* Any gpa and size; the user side stays inside the arena. */
		if (size > FZ_ARENA - off)
			size = FZ_ARENA - off;
		r->guest_phys_addr = gpa;
		r->memory_size = size;
		r->userspace_addr = (unsigned long)(f->arena + off);
		r->flags_padding = fz_u8(in) == 0xff;
	}
}

static void fz_read_ring(struct fz *f, struct fz_in *in)
{
	struct kvhost_vring *vr = &f->vr;
	unsigned int i;
	u16 base;

	base = fz_u16(in);
	vr->last_avail_idx = base;
	vr->used->idx = base;
	vr->avail->idx = fz_u16(in);
	vr->avail->flags = fz_u16(in);
	vr->avail->ring[f->num] = fz_u16(in);	/* used_event */
	for (i = 0; i < f->num; i++)
		vr->avail->ring[i] = fz_u16(in);
	for (i = 0; i < f->num; i++) {
		vr->desc[i].addr = fz_u64(in);
		vr->desc[i].len = (u32)fz_bytes(in, 4);
		vr->desc[i].flags = fz_u16(in);
		vr->desc[i].next = fz_u16(in);
	}
}

/* Every segment of a popped chain lies in guest memory, i.e. one region. */
static bool fz_seg_in_table(const struct fz *f, const struct iovec *v)
{
	unsigned long a = (unsigned long)v->iov_base;
	unsigned int k;

	for (k = 0; k < f->nsrc; k++) {
		const struct vhost_memory_region *r = &f->src[k];

		if (a >= r->userspace_addr &&
		    v->iov_len <= r->memory_size &&
		    a - r->userspace_addr <= r->memory_size - v->iov_len)
			return true;
	}
	return false;
}

static void fz_check_chain(struct fz *f, const struct kvhost_chain *c)
{
	unsigned int i, n = c->out_num + c->in_num;
	u64 out = 0, in = 0;

	FZ_CHECK(c->id < f->num);
	FZ_CHECK(c->ndesc >= 1);
	/* Zero-length descriptors add none: segments can be fewer than descriptors. */
	FZ_CHECK(n <= f->iov_max);
	for (i = 0; i < n; i++) {
		FZ_CHECK(f->iov[i].iov_len > 0);
		FZ_CHECK(fz_seg_in_table(f, &f->iov[i]));
		FZ_CHECK((u8 *)f->iov[i].iov_base >= f->arena &&
			 (u8 *)f->iov[i].iov_base + f->iov[i].iov_len <=
			 f->arena + FZ_ARENA);
		if (i < c->out_num)
			out += f->iov[i].iov_len;
		else
			in += f->iov[i].iov_len;
	}
	FZ_CHECK(out == c->out_len && in == c->in_len);
	fz_stats.chains++;
}

/* A broken ring keeps its errno and writes nothing to the used ring. */
static void fz_check_broken(struct fz *f, int err)
{
	const struct kvhost_ring_ops *ops = f->vr.ops;
	struct kvhost_vring *vr = &f->vr;
	struct kvhost_chain c;
	u8 *snap = malloc(f->used_bytes);

	FZ_CHECK(snap);
	memcpy(snap, vr->used, f->used_bytes);
	switch (err) {
	case -EINVAL:
		fz_stats.einval++;
		break;
	case -ELOOP:
		fz_stats.eloop++;
		break;
	case -EFAULT:
		fz_stats.efault++;
		break;
	case -ENOBUFS:
		fz_stats.enobufs++;
		break;
	case -E2BIG:
		fz_stats.e2big++;
		break;
	default:
		FZ_CHECK(!"unexpected errno");
	}
	FZ_CHECK(vr->error == err);
	FZ_CHECK(ops->pop(vr, f->iov, f->iov_max, &c) == err);
	FZ_CHECK(ops->add_used(vr, 0, 0) == err);
	FZ_CHECK(ops->flush(vr) == err);
	FZ_CHECK(ops->enable_notify(vr) == err);
	FZ_CHECK(ops->disable_notify(vr) == err);
	FZ_CHECK(ops->need_signal(vr) == 0);
	FZ_CHECK(!memcmp(snap, vr->used, f->used_bytes));
	free(snap);
}

/* Pop until empty; at most num chains while avail->idx stands still. */
static int fz_pop_all(struct fz *f, u16 *ids, unsigned int *n)
{
	struct kvhost_chain c;
	int ret;

	*n = 0;
	for (;;) {
		ret = f->vr.ops->pop(&f->vr, f->iov, f->iov_max, &c);
		if (ret <= 0)
			return ret;
		FZ_CHECK(ret == 1);
		fz_check_chain(f, &c);
		FZ_CHECK(*n < f->num);
		ids[(*n)++] = c.id;
	}
}

/* add_used + flush what was popped; used->idx moves by exactly that. */
static int fz_complete(struct fz *f)
{
	struct kvhost_vring *vr = &f->vr;
	u16 before = vr->used->idx;
	unsigned int i;
	int ret;

	for (i = 0; i < f->npopped; i++) {
		ret = vr->ops->add_used(vr, f->popped[i], i);
		FZ_CHECK(ret == 0);
	}
	FZ_CHECK(vr->ops->flush(vr) == 0);
	fz_stats.flushed += f->npopped;
	FZ_CHECK((u16)(vr->used->idx - before) == f->npopped);
	FZ_CHECK(vr->last_used_idx == vr->used->idx);
	/* More than num elements overwrite each other: check the last num. */
	for (i = f->npopped > f->num ? f->npopped - f->num : 0;
	     i < f->npopped; i++) {
		struct vring_used_elem *e =
			&vr->used->ring[(u16)(before + i) & (f->num - 1)];

		FZ_CHECK(e->id == f->popped[i] && e->len == i);
	}
	f->npopped = 0;
	return 0;
}

static int fz_round(struct fz *f, u8 action)
{
	struct kvhost_vring *vr = &f->vr;
	u16 ids[16], again[16];
	unsigned int n, m;
	int ret;

	ret = fz_pop_all(f, ids, &n);
	if (ret < 0)
		return ret;
	if ((action & FZ_A_UNPOP) && n) {
		vr->ops->unpop(vr, n);
		ret = fz_pop_all(f, again, &m);
		FZ_CHECK(ret == 0 && m == n && !memcmp(ids, again, n * 2));
	}
	memcpy(f->popped + f->npopped, ids, n * sizeof(ids[0]));
	f->npopped += n;
	if (action & FZ_A_NOTIFY) {
		ret = vr->ops->disable_notify(vr);
		FZ_CHECK(ret == 0);
		ret = vr->ops->enable_notify(vr);
		FZ_CHECK(ret == 0 || ret == 1);
	}
	if (!(action & FZ_A_KEEP))
		fz_complete(f);
	ret = vr->ops->need_signal(vr);
	FZ_CHECK(ret == 0 || ret == 1);
	return 0;
}

static void fz_run(struct fz *f, struct fz_in *rounds)
{
	struct kvhost_vring *vr = &f->vr;
	unsigned int r;
	int ret;

	ret = vr->ops->start(vr);
	FZ_CHECK(ret == 0 && vr->last_used_idx == vr->used->idx);
	for (r = 0; r < FZ_ROUNDS; r++) {
		u8 step = fz_u8(rounds) % (f->num + 2);
		u8 action = fz_u8(rounds);

		ret = fz_round(f, action);
		if (ret < 0) {
			fz_check_broken(f, ret);
			return;
		}
		/* The driver publishes more (possibly too many) entries. */
		vr->avail->idx += step;
	}
	fz_complete(f);
}

static int fz_setup_ring(struct fz *f, u8 feat)
{
	struct kvhost_vring *vr = &f->vr;
	unsigned int n = f->num;

	vr->ops = &kvhost_split_ring_ops;
	vr->num = n;
	vr->mt = f->mt;
	if (!(feat & FZ_F_LEGACY))
		vr->features |= 1ULL << VIRTIO_F_VERSION_1;
	if (feat & FZ_F_INDIRECT)
		vr->features |= 1ULL << VIRTIO_RING_F_INDIRECT_DESC;
	if (feat & FZ_F_EVENT_IDX)
		vr->features |= 1ULL << VIRTIO_RING_F_EVENT_IDX;
	if (feat & FZ_F_NOTIFY_EMPTY)
		vr->features |= 1ULL << VIRTIO_F_NOTIFY_ON_EMPTY;
	/* Exact sizes, so ASan sees any access past a ring's end. */
	f->used_bytes = sizeof(struct vring_used) +
			n * sizeof(struct vring_used_elem) + 2;
	vr->desc = calloc(n, sizeof(struct vring_desc));
	vr->avail = calloc(1, sizeof(struct vring_avail) + (n + 1) * 2);
	vr->used = calloc(1, f->used_bytes);
	vr->used_batch = calloc(vr->used_batch_max,
				sizeof(struct vring_used_elem));
	return vr->desc && vr->avail && vr->used && vr->used_batch ? 0 : -1;
}

static void fz_free(struct fz *f)
{
	free(f->vr.desc);
	free(f->vr.avail);
	free(f->vr.used);
	free(f->vr.used_batch);
	kvhost_memtable_free(f->mt);
	free(f->arena);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_in in = { data, size }, rounds;
	struct fz f;
	u8 feat;
	int ret;

	memset(&f, 0, sizeof(f));
	f.num = 1U << (fz_u8(&in) % 5);
	feat = fz_u8(&in);
	f.iov_max = 1 + fz_u8(&in) % ARRAY_SIZE(f.iov);
	f.vr.used_batch_max = 1 + fz_u8(&in) % f.num;
	f.arena = calloc(1, FZ_ARENA);
	FZ_CHECK(f.arena);
	fz_read_regions(&f, &in);
	if (fz_setup_ring(&f, feat))
		goto out;
	fz_read_ring(&f, &in);
	rounds = in;
	fz_bytes(&in, 2 * FZ_ROUNDS);
	memcpy(f.arena, in.p, in.left < FZ_ARENA ? in.left : FZ_ARENA);

	ret = kvhost_memtable_build(f.src, f.nsrc, FZ_MAX_REGIONS, &f.mt);
	FZ_CHECK(ret == 0 || ret == -EINVAL);
	fz_stats.runs++;
	if (ret) {
		fz_stats.bad_table++;
		goto out;
	}
	f.vr.mt = f.mt;
	fz_run(&f, &rounds);
out:
	fz_free(&f);
	return 0;
}
