// SPDX-License-Identifier: GPL-2.0
/*
 * vhost/memtable.c, natively: build-time validation, sorting, lookups at
 * region edges, translation into segments, covers_uaddr, and a randomised
 * comparison with a brute-force linear search.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/errno.h>
#include <linux/kernel.h>
#include <linux/uaccess.h>
#include "memtable.h"
#include "prng.h"
#include "tap.h"

extern unsigned int shim_alloc_fail_nth;

#define PAGE		0x1000ULL
#define SENTINEL	((struct kvhost_memtable *)0x5a5a5a5a)

static struct vhost_memory_region R(u64 gpa, u64 size, u64 uaddr)
{
	struct vhost_memory_region r = {
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = uaddr,
	};

	return r;
}

/* Build; on failure assert *out was left alone.  Returns the errno. */
static int build(const struct vhost_memory_region *src, u32 n, u32 max,
		 struct kvhost_memtable **out)
{
	int ret;

	*out = SENTINEL;
	ret = kvhost_memtable_build(src, n, max, out);
	if (ret && *out != SENTINEL)
		tap_diag("build failed with %d but wrote *out", ret);
	if (ret)
		*out = NULL;
	return ret;
}

/* Build, free, return the errno: for the validation cases. */
static int build_rc(const struct vhost_memory_region *src, u32 n)
{
	struct kvhost_memtable *mt;
	int ret = build(src, n, KVHOST_MEM_REGIONS_LIMIT, &mt);

	kvhost_memtable_free(mt);
	return ret;
}

static void test_build_limits(void)
{
	static struct vhost_memory_region many[KVHOST_MEM_REGIONS_LIMIT + 1];
	struct kvhost_memtable *mt;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(many); i++)
		many[i] = R(i * 2 * PAGE, PAGE, 0x10000000 + i * PAGE);

	tap_is(build(many, KVHOST_MEM_REGIONS_LIMIT + 1,
		     KVHOST_MEM_REGIONS_LIMIT, &mt), -E2BIG,
	       "build: 510 regions over a max of 509 -> -E2BIG");
	tap_is(build(many, KVHOST_MEM_REGIONS_DEFAULT + 1,
		     KVHOST_MEM_REGIONS_DEFAULT, &mt), -E2BIG,
	       "build: 65 regions over the default max of 64 -> -E2BIG");
	tap_is(build(many, KVHOST_MEM_REGIONS_LIMIT, KVHOST_MEM_REGIONS_LIMIT,
		     &mt), 0, "build: exactly max (509) regions -> 0");
	tap_ok(mt && mt->nregions == KVHOST_MEM_REGIONS_LIMIT,
	       "build: 509-region table reports nregions 509");
	kvhost_memtable_free(mt);

	tap_is(build(many, 0, KVHOST_MEM_REGIONS_LIMIT, &mt), 0,
	       "build: empty table -> 0");
	tap_ok(mt && mt->nregions == 0 && !kvhost_memtable_lookup(mt, 0),
	       "build: empty table maps nothing");
	kvhost_memtable_free(mt);

	shim_alloc_fail_nth = 1;
	tap_is(build(many, 4, KVHOST_MEM_REGIONS_LIMIT, &mt), -ENOMEM,
	       "build: allocation failure -> -ENOMEM");
	shim_alloc_fail_nth = 0;
}

static void test_build_region_validation(void)
{
	struct vhost_memory_region r;

	r = R(0, 0, 0x10000);
	tap_is(build_rc(&r, 1), -EINVAL, "build: zero memory_size -> -EINVAL");

	r = R(0, 0, 0);
	tap_is(build_rc(&r, 1), -EINVAL,
	       "build: zero memory_size at gpa 0, uaddr 0 (no wrap to catch it) -> -EINVAL");

	r = R(0, PAGE, 0x10000);
	r.flags_padding = 1;
	tap_is(build_rc(&r, 1), -EINVAL,
	       "build: nonzero flags_padding -> -EINVAL");
	r.flags_padding = 1ULL << 63;
	tap_is(build_rc(&r, 1), -EINVAL,
	       "build: flags_padding bit 63 -> -EINVAL");

	r = R(U64_MAX - PAGE + 1, PAGE + 1, 0x10000);
	tap_is(build_rc(&r, 1), -EINVAL,
	       "build: gpa range wrapping past 2^64 by one byte -> -EINVAL");
	r = R(U64_MAX - PAGE + 1, PAGE, 0x10000);
	tap_is(build_rc(&r, 1), 0,
	       "build: gpa range ending exactly at 2^64-1 -> 0");
	r = R(1, U64_MAX, 0x10000);
	tap_is(build_rc(&r, 1), -EINVAL,
	       "build: gpa 1 size 2^64-1 wraps -> -EINVAL");

	r = R(0, 16, U64_MAX - 14);
	tap_is(build_rc(&r, 1), -EINVAL,
	       "build: uaddr range wrapping past 2^64 -> -EINVAL");
	r = R(0, 15, U64_MAX - 14);
	tap_is(build_rc(&r, 1), -EFAULT,
	       "build: uaddr range ending at 2^64-1 (kernel space) -> -EFAULT");

	r = R(0, PAGE, SHIM_TASK_SIZE - PAGE);
	tap_is(build_rc(&r, 1), 0,
	       "build: uaddr range ending exactly at TASK_SIZE -> 0");
	r = R(0, PAGE + 1, SHIM_TASK_SIZE - PAGE);
	tap_is(build_rc(&r, 1), -EFAULT,
	       "build: uaddr range one byte past TASK_SIZE -> -EFAULT");
	r = R(0, 1, SHIM_TASK_SIZE);
	tap_is(build_rc(&r, 1), -EFAULT,
	       "build: uaddr starting at TASK_SIZE -> -EFAULT");
}

static void test_build_overlap(void)
{
	struct vhost_memory_region r[3];

	r[0] = R(0x10000, 0x1000, 0x100000);
	r[1] = R(0x10fff, 0x1000, 0x200000);
	tap_is(build_rc(r, 2), -EINVAL,
	       "build: next region starting on the last byte (touching by one) -> -EINVAL");
	r[1] = R(0x11000, 0x1000, 0x200000);
	tap_is(build_rc(r, 2), 0,
	       "build: next region starting one past the last byte (adjacent) -> 0");
	r[1] = R(0x10000, 0x1, 0x200000);
	tap_is(build_rc(r, 2), -EINVAL, "build: same start gpa -> -EINVAL");
	r[1] = R(0x10800, 0x10, 0x200000);
	tap_is(build_rc(r, 2), -EINVAL,
	       "build: region inside another -> -EINVAL");
	r[1] = R(0xf000, 0x2000, 0x200000);
	tap_is(build_rc(r, 2), -EINVAL,
	       "build: overlap given in descending order -> -EINVAL");

	r[0] = R(0x30000, 0x1000, 0x100000);
	r[1] = R(0x10000, 0x1000, 0x200000);
	r[2] = R(0x2f000, 0x1001, 0x300000);
	tap_is(build_rc(r, 3), -EINVAL,
	       "build: overlap between non-neighbours in input order -> -EINVAL");

	r[0] = R(0x10000, 0x1000, 0x100000);
	r[1] = R(0x20000, 0x1000, 0x100000);
	tap_is(build_rc(r, 2), 0,
	       "build: two gpa ranges sharing user memory are accepted");

	r[0] = R(0, PAGE, 0x100000);
	r[1] = R(0, PAGE, 0x100000);
	r[1].flags_padding = 2;
	tap_is(build_rc(r, 2), -EINVAL,
	       "build: bad field reported before the overlap check -> -EINVAL");
}

static void test_build_sorts(void)
{
	struct vhost_memory_region r[5];
	struct kvhost_memtable *mt;
	bool sorted = true;
	unsigned int i;

	r[0] = R(0x50000, 0x1000, 0x105000);
	r[1] = R(0x10000, 0x2000, 0x101000);
	r[2] = R(0x40000, 0x3000, 0x104000);
	r[3] = R(0x0, 0x800, 0x100000);
	r[4] = R(0x20000, 0x10, 0x102000);
	if (!tap_is(build(r, 5, 64, &mt), 0, "sort: unsorted input builds"))
		return;
	for (i = 1; i < mt->nregions; i++)
		sorted &= mt->regions[i - 1].gpa < mt->regions[i].gpa;
	tap_ok(sorted, "sort: regions ascend by gpa after build");
	tap_ok(mt->regions[0].gpa == 0 && mt->regions[0].gpa_last == 0x7ff &&
	       mt->regions[0].uaddr == 0x100000,
	       "sort: first region is gpa 0, last byte 0x7ff, uaddr 0x100000");
	tap_ok(mt->regions[2].gpa == 0x20000 &&
	       mt->regions[2].gpa_last == 0x2000f &&
	       mt->regions[2].uaddr == 0x102000,
	       "sort: third region carries its own gpa_last and uaddr");
	tap_ok(mt->regions[4].gpa == 0x50000 &&
	       mt->regions[4].gpa_last == 0x50fff &&
	       mt->regions[4].uaddr == 0x105000,
	       "sort: last region is the highest gpa");
	kvhost_memtable_free(mt);
}

/* 509 one-page regions, a one-page gap after every odd one. */
static struct kvhost_memtable *build_509(struct vhost_memory_region *r)
{
	struct kvhost_memtable *mt;
	u64 gpa = 0x100000;
	unsigned int i;

	for (i = 0; i < KVHOST_MEM_REGIONS_LIMIT; i++) {
		r[i] = R(gpa, PAGE, 0x40000000ULL + (u64)i * 0x10000);
		gpa += PAGE + ((i & 1) ? PAGE : 0);
	}
	/* Feed them reversed so the build has to sort. */
	for (i = 0; i < KVHOST_MEM_REGIONS_LIMIT / 2; i++) {
		struct vhost_memory_region t = r[i];

		r[i] = r[KVHOST_MEM_REGIONS_LIMIT - 1 - i];
		r[KVHOST_MEM_REGIONS_LIMIT - 1 - i] = t;
	}
	if (build(r, KVHOST_MEM_REGIONS_LIMIT, KVHOST_MEM_REGIONS_LIMIT, &mt))
		return NULL;
	return mt;
}

static const struct vhost_memory_region *
find_src(const struct vhost_memory_region *r, unsigned int n, u64 gpa)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		if (r[i].guest_phys_addr == gpa)
			return &r[i];
	return NULL;
}

static void test_lookup_edges(void)
{
	static struct vhost_memory_region r[KVHOST_MEM_REGIONS_LIMIT];
	unsigned int i, bad_first = 0, bad_last = 0, bad_past = 0;
	unsigned int bad_before = 0, bad_uaddr = 0;
	struct kvhost_memtable *mt = build_509(r);

	if (!tap_ok(mt, "lookup: 509 reversed regions build"))
		return;
	for (i = 0; i < mt->nregions; i++) {
		const struct kvhost_mem_region *m = &mt->regions[i];
		const struct kvhost_mem_region *next =
			i + 1 < mt->nregions ? m + 1 : NULL;
		const struct kvhost_mem_region *prev = i ? m - 1 : NULL;
		const struct vhost_memory_region *s =
			find_src(r, KVHOST_MEM_REGIONS_LIMIT, m->gpa);

		if (kvhost_memtable_lookup(mt, m->gpa) != m)
			bad_first++;
		if (kvhost_memtable_lookup(mt, m->gpa_last) != m)
			bad_last++;
		/* One past: the next region if adjacent, else a gap. */
		if (kvhost_memtable_lookup(mt, m->gpa_last + 1) !=
		    (next && next->gpa == m->gpa_last + 1 ? next : NULL))
			bad_past++;
		/* One before: the previous region if adjacent, else a gap. */
		if (kvhost_memtable_lookup(mt, m->gpa - 1) !=
		    (prev && prev->gpa_last == m->gpa - 1 ? prev : NULL))
			bad_before++;
		if (!s || s->userspace_addr != m->uaddr)
			bad_uaddr++;
	}
	tap_is(bad_first, 0, "lookup: first byte of each of 509 regions hits it");
	tap_is(bad_last, 0, "lookup: last byte of each of 509 regions hits it");
	tap_is(bad_past, 0,
	       "lookup: one past each region hits the next only when adjacent");
	tap_is(bad_before, 0,
	       "lookup: one before each region hits the previous only when adjacent");
	tap_is(bad_uaddr, 0, "lookup: each sorted region kept its own uaddr");
	tap_ok(!kvhost_memtable_lookup(mt, 0), "lookup: gpa 0 below all -> NULL");
	tap_ok(!kvhost_memtable_lookup(mt, 0xfffff),
	       "lookup: byte before the lowest region -> NULL");
	tap_ok(!kvhost_memtable_lookup(mt, U64_MAX),
	       "lookup: gpa 2^64-1 above all -> NULL");
	tap_ok(!kvhost_memtable_lookup(NULL, 0x100000),
	       "lookup: NULL table -> NULL");
	kvhost_memtable_free(mt);
}

/* Three regions back to back in gpa, apart in user space, then a gap. */
static struct kvhost_memtable *build_three(void)
{
	struct vhost_memory_region r[4] = {
		R(0x3000, 0x1000, 0x70000000),
		R(0x1000, 0x1000, 0x50000000),
		R(0x2000, 0x1000, 0x60000000),
		R(0x5000, 0x1000, 0x80000000),
	};
	struct kvhost_memtable *mt;

	return build(r, 4, 64, &mt) ? NULL : mt;
}

static bool seg_is(const struct iovec *v, u64 base, u64 len)
{
	return (u64)(unsigned long)v->iov_base == base && v->iov_len == len;
}

static void test_translate(void)
{
	struct kvhost_memtable *mt = build_three();
	struct iovec iov[8];

	if (!tap_ok(mt, "translate: 4-region table builds"))
		return;
	tap_is(kvhost_memtable_translate(mt, 0x1800, 0x10, iov, 8), 1,
	       "translate: range inside one region -> 1 segment");
	tap_ok(seg_is(&iov[0], 0x50000800, 0x10),
	       "translate: segment base is uaddr + offset, len as asked");

	tap_is(kvhost_memtable_translate(mt, 0x1ffe, 0x1004, iov, 8), 3,
	       "translate: range over three adjacent regions -> 3 segments");
	tap_ok(seg_is(&iov[0], 0x50000ffe, 2) &&
	       seg_is(&iov[1], 0x60000000, 0x1000) &&
	       seg_is(&iov[2], 0x70000000, 2),
	       "translate: segments are 2 + 0x1000 + 2 bytes at each region's uaddr");
	tap_is(kvhost_memtable_translate(mt, 0x1000, 0x3000, iov, 3), 3,
	       "translate: three whole regions fit exactly 3 iovecs");
	tap_is(kvhost_memtable_translate(mt, 0x1ffe, 0x1004, iov, 2), -ENOBUFS,
	       "translate: 3 segments into 2 iovecs -> -ENOBUFS");
	tap_is(kvhost_memtable_translate(mt, 0x1000, 1, iov, 0), -ENOBUFS,
	       "translate: no iovec room at all -> -ENOBUFS");
	tap_is(kvhost_memtable_translate(mt, 0x3800, 0x1000, iov, 8), -EFAULT,
	       "translate: range running into the hole after a region -> -EFAULT");
	tap_is(kvhost_memtable_translate(mt, 0x4fff, 2, iov, 8), -EFAULT,
	       "translate: range starting in the hole -> -EFAULT");
	tap_is(kvhost_memtable_translate(mt, 0x5fff, 1, iov, 8), 1,
	       "translate: last byte of the last region -> 1 segment");
	tap_is(kvhost_memtable_translate(mt, 0x5fff, 2, iov, 8), -EFAULT,
	       "translate: last byte plus one past the table -> -EFAULT");
	tap_is(kvhost_memtable_translate(mt, 0x1000, 0, iov, 8), -EINVAL,
	       "translate: zero length -> -EINVAL");
	tap_is(kvhost_memtable_translate(mt, U64_MAX, 2, iov, 8), -EINVAL,
	       "translate: gpa 2^64-1 len 2 wraps -> -EINVAL");
	tap_is(kvhost_memtable_translate(mt, 0x1000, U64_MAX, iov, 8), -EINVAL,
	       "translate: len 2^64-1 from 0x1000 wraps -> -EINVAL");
	tap_is(kvhost_memtable_translate(NULL, 0x1000, 1, iov, 8), -EFAULT,
	       "translate: NULL table -> -EFAULT");
	kvhost_memtable_free(mt);
}

static void test_translate_top_of_space(void)
{
	struct vhost_memory_region r = R(U64_MAX - 0xfff, 0x1000, 0x10000000);
	struct kvhost_memtable *mt;
	struct iovec iov[2];

	if (!tap_is(build(&r, 1, 64, &mt), 0, "translate: top-of-gpa region builds"))
		return;
	tap_is(kvhost_memtable_translate(mt, U64_MAX - 0xfff, 0x1000, iov, 2), 1,
	       "translate: whole region ending at 2^64-1 -> 1 segment");
	tap_ok(seg_is(&iov[0], 0x10000000, 0x1000),
	       "translate: that segment is the whole region");
	tap_ok(kvhost_memtable_lookup(mt, U64_MAX) == &mt->regions[0],
	       "lookup: gpa 2^64-1 hits a region ending there");
	kvhost_memtable_free(mt);
}

static void test_covers_uaddr(void)
{
	struct kvhost_memtable *mt = build_three();

	if (!mt)
		return;
	/* User ranges: 0x5..., 0x6..., 0x7..., 0x8...: 0x1000 each, apart. */
	tap_ok(kvhost_memtable_covers_uaddr(mt, 0x60000000, 0x1000),
	       "covers_uaddr: exactly one region -> true");
	tap_ok(kvhost_memtable_covers_uaddr(mt, 0x60000fff, 1),
	       "covers_uaddr: last byte of a region -> true");
	tap_ok(!kvhost_memtable_covers_uaddr(mt, 0x60000fff, 2),
	       "covers_uaddr: last byte plus one past -> false");
	tap_ok(!kvhost_memtable_covers_uaddr(mt, 0x5fffffff, 2),
	       "covers_uaddr: starting one byte before a region -> false");
	tap_ok(!kvhost_memtable_covers_uaddr(mt, 0x60000000, 0),
	       "covers_uaddr: zero length -> false");
	tap_ok(!kvhost_memtable_covers_uaddr(mt, U64_MAX, 2),
	       "covers_uaddr: wrapping range -> false");
	tap_ok(!kvhost_memtable_covers_uaddr(NULL, 0x60000000, 1),
	       "covers_uaddr: NULL table -> false");
	kvhost_memtable_free(mt);
}

static void test_covers_uaddr_spanning(void)
{
	/* Apart in gpa, back to back in user space. */
	struct vhost_memory_region r[2] = {
		R(0x900000, 0x1000, 0x20001000),
		R(0x100000, 0x1000, 0x20000000),
	};
	struct kvhost_memtable *mt;

	if (build(r, 2, 64, &mt))
		return;
	tap_ok(kvhost_memtable_covers_uaddr(mt, 0x20000800, 0x1000),
	       "covers_uaddr: range over two user-adjacent regions -> true");
	tap_ok(kvhost_memtable_covers_uaddr(mt, 0x20000000, 0x2000),
	       "covers_uaddr: both whole user-adjacent regions -> true");
	tap_ok(!kvhost_memtable_covers_uaddr(mt, 0x20000000, 0x2001),
	       "covers_uaddr: one byte past both -> false");
	kvhost_memtable_free(mt);
}

/* ---- randomised comparison with a linear search ---- */

struct rand_table {
	struct vhost_memory_region src[KVHOST_MEM_REGIONS_LIMIT];
	unsigned int n;
};

/* Random non-overlapping regions, some adjacent, in shuffled order. */
static void rand_table_fill(struct rand_table *t, struct prng *p)
{
	u64 gpa = prng_below(p, 1ULL << 40);
	unsigned int i;

	t->n = 1 + prng_below(p, KVHOST_MEM_REGIONS_LIMIT);
	for (i = 0; i < t->n; i++) {
		u64 size = 1 + prng_below(p, prng_below(p, 2) ? 16 : 1 << 20);

		t->src[i] = R(gpa, size, 0x100000000ULL + prng_below(p, 1ULL << 44));
		gpa += size + (prng_below(p, 3) ? 0 : prng_below(p, 1 << 16));
	}
	for (i = t->n - 1; i > 0; i--) {
		unsigned int j = prng_below(p, i + 1);
		struct vhost_memory_region x = t->src[i];

		t->src[i] = t->src[j];
		t->src[j] = x;
	}
}

static const struct vhost_memory_region *
linear_lookup(const struct rand_table *t, u64 gpa)
{
	unsigned int i;

	for (i = 0; i < t->n; i++) {
		const struct vhost_memory_region *r = &t->src[i];

		if (gpa >= r->guest_phys_addr &&
		    gpa - r->guest_phys_addr < r->memory_size)
			return r;
	}
	return NULL;
}

/* A probe near an edge of a random region, or anywhere. */
static u64 rand_probe(const struct rand_table *t, struct prng *p)
{
	const struct vhost_memory_region *r = &t->src[prng_below(p, t->n)];
	u64 delta = prng_below(p, 3) - 1;

	switch (prng_below(p, 4)) {
	case 0:
		return r->guest_phys_addr + delta;
	case 1:
		return r->guest_phys_addr + r->memory_size - 1 + delta;
	case 2:
		return r->guest_phys_addr + prng_below(p, r->memory_size);
	default:
		return prng_next(p) >> prng_below(p, 64);
	}
}

/* Lookup must agree with the linear search on region and uaddr. */
static bool rand_check_lookup(const struct kvhost_memtable *mt,
			      const struct rand_table *t, u64 gpa)
{
	const struct kvhost_mem_region *got = kvhost_memtable_lookup(mt, gpa);
	const struct vhost_memory_region *want = linear_lookup(t, gpa);

	if (!got || !want)
		return !got && !want;
	return got->gpa == want->guest_phys_addr &&
	       got->gpa_last == want->guest_phys_addr + want->memory_size - 1 &&
	       got->uaddr == want->userspace_addr;
}

struct xlate_stats {
	unsigned int multi, efault, enobufs;
};

/* Translate must produce exactly the segments a linear walk predicts. */
static bool rand_check_translate(const struct kvhost_memtable *mt,
				 const struct rand_table *t, u64 gpa, u64 len,
				 struct xlate_stats *st)
{
	struct iovec got[8], want[8];
	int n = kvhost_memtable_translate(mt, gpa, len, got, ARRAY_SIZE(got));
	int want_n = 0;
	u64 left = len, at = gpa;

	st->multi += n > 1;
	st->efault += n == -EFAULT;
	st->enobufs += n == -ENOBUFS;

	while (left) {
		const struct vhost_memory_region *r = linear_lookup(t, at);
		u64 seg;

		if (!r)
			return n == -EFAULT;
		if (want_n == ARRAY_SIZE(want))
			return n == -ENOBUFS;
		seg = min_t(u64, left, r->guest_phys_addr + r->memory_size - at);
		want[want_n].iov_base = (void *)(unsigned long)
			(r->userspace_addr + (at - r->guest_phys_addr));
		want[want_n].iov_len = seg;
		want_n++;
		left -= seg;
		at += seg;
	}
	return n == want_n && !memcmp(got, want, n * sizeof(got[0]));
}

static void test_random_vs_linear(void)
{
	static struct rand_table t;
	unsigned int tables = 0, probes = 0, bad_lookup = 0, bad_xlate = 0;
	unsigned int bad_build = 0;
	struct xlate_stats st = { 0 };
	struct prng p;
	unsigned int k, j;

	prng_seed(&p, 0x6b76686f73740001ULL);
	for (k = 0; k < 300; k++) {
		struct kvhost_memtable *mt;

		rand_table_fill(&t, &p);
		if (build(t.src, t.n, KVHOST_MEM_REGIONS_LIMIT, &mt) ||
		    mt->nregions != t.n) {
			bad_build++;
			continue;
		}
		tables++;
		for (j = 0; j < 1000; j++) {
			u64 gpa = rand_probe(&t, &p);
			u64 len = 1 + prng_below(&p, prng_below(&p, 2) ? 64 : 1 << 21);

			probes++;
			bad_lookup += !rand_check_lookup(mt, &t, gpa);
			if (len - 1 <= U64_MAX - gpa)
				bad_xlate += !rand_check_translate(mt, &t, gpa, len,
								   &st);
		}
		kvhost_memtable_free(mt);
	}
	tap_diag("random: %u tables, %u probes: %u multi-segment, %u -EFAULT, %u -ENOBUFS",
		 tables, probes, st.multi, st.efault, st.enobufs);
	tap_ok(st.multi > 1000 && st.efault > 1000 && st.enobufs > 100,
	       "random: probes cover multi-segment, hole and iov-full outcomes");
	tap_is(bad_build, 0, "random: 300 shuffled non-overlapping tables build");
	tap_is(bad_lookup, 0, "random: lookup agrees with a linear search (300k probes)");
	tap_is(bad_xlate, 0, "random: translate agrees with a byte walk (300k ranges)");
}

/* Shuffled tables with one region moved to overlap a neighbour. */
static void test_random_overlap_rejected(void)
{
	static struct rand_table t;
	unsigned int k, accepted = 0, tried = 0;
	struct prng p;

	prng_seed(&p, 0x6b76686f73740002ULL);
	for (k = 0; k < 300; k++) {
		struct vhost_memory_region *a, *b;

		rand_table_fill(&t, &p);
		if (t.n < 2)
			continue;
		a = &t.src[0];
		b = &t.src[1 + prng_below(&p, t.n - 1)];
		/* Make b start somewhere inside a. */
		b->guest_phys_addr = a->guest_phys_addr +
				     prng_below(&p, a->memory_size);
		tried++;
		accepted += build_rc(t.src, t.n) != -EINVAL;
	}
	tap_ok(tried > 250 && !accepted,
	       "random: %u tables with one injected overlap all -> -EINVAL",
	       tried);
}

int main(void)
{
	tap_init();
	tap_watchdog(60);
	test_build_limits();
	test_build_region_validation();
	test_build_overlap();
	test_build_sorts();
	test_lookup_edges();
	test_translate();
	test_translate_top_of_space();
	test_covers_uaddr();
	test_covers_uaddr_spanning();
	test_random_vs_linear();
	test_random_overlap_rejected();
	return tap_done();
}
