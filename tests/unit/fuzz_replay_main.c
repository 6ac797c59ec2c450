// SPDX-License-Identifier: GPL-2.0
/*
 * Standalone driver for fuzz_ring.c, for builds without libFuzzer and for
 * `make check`: runs the target over deterministic pseudo-random inputs
 * shaped like rings (mostly valid, then mutated) and over corpus files.
 *
 *   fuzz_ring_replay [-n COUNT] [-s SEED] [-w DIR] [FILE...]
 *
 * -w writes the first 64 generated inputs to DIR as a libFuzzer seed corpus.
 * Output is TAP; an invariant violation or sanitizer report aborts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/virtio_ring.h>
#include "fuzz_ring.h"
#include "prng.h"
#include "tap.h"

#define GEN_MAX		(64 + 4 * 13 + 8 + 16 * 18 + 8 + FZ_ARENA)

struct gen {
	uint8_t buf[GEN_MAX];
	size_t len;
	struct prng *p;
};

static void put(struct gen *g, uint64_t v, unsigned int n)
{
	while (n--) {
		g->buf[g->len++] = (uint8_t)v;
		v >>= 8;
	}
}

static uint64_t below(struct gen *g, uint64_t n)
{
	return prng_below(g->p, n);
}

struct gen_mem {
	uint64_t gpa[FZ_MAX_REGIONS];
	unsigned int size[FZ_MAX_REGIONS];
	unsigned int nreg;
	bool clean;		/* well-formed rings, or anything goes */
};

/* A 16-aligned gpa with @room bytes after it in one region (clean mode). */
static uint64_t gen_clean_addr(struct gen *g, const struct gen_mem *m,
			       unsigned int *room)
{
	unsigned int k = below(g, m->nreg);
	unsigned int off = 16 * below(g, m->size[k] / 16);

	*room = m->size[k] - off;
	return m->gpa[k] + off;
}

static void gen_clean_desc(struct gen *g, const struct gen_mem *m,
			   unsigned int i, unsigned int num, bool indirect)
{
	unsigned int room;
	uint64_t addr = gen_clean_addr(g, m, &room);
	uint16_t flags = 0, next = 0;
	uint32_t len;

	if (indirect && below(g, 4) == 0) {
		flags = VRING_DESC_F_INDIRECT;
		len = 16 * (1 + below(g, room / 16 < 4 ? room / 16 : 4));
	} else {
		len = 1 + below(g, room < 64 ? room : 64);
		if (i + 1 < num && below(g, 3) == 0) {
			flags = VRING_DESC_F_NEXT;
			next = i + 1;
		} else if (below(g, 2)) {
			flags = VRING_DESC_F_WRITE;
		}
	}
	put(g, addr, 8);
	put(g, len, 4);
	put(g, flags, 2);
	put(g, next, 2);
}

/* A gpa inside one of the regions most of the time, or anywhere. */
static uint64_t gen_messy_addr(struct gen *g, const struct gen_mem *m)
{
	unsigned int k = below(g, m->nreg);

	if (below(g, 8) == 0)
		return prng_next(g->p);
	return m->gpa[k] + below(g, m->size[k] + 16);
}

static void gen_messy_desc(struct gen *g, const struct gen_mem *m,
			   unsigned int num)
{
	static const uint16_t flag_mix[] = { 0, 1, 2, 3, 4, 1, 3, 0, 5, 6 };

	put(g, gen_messy_addr(g, m), 8);
	put(g, below(g, 4) ? 1 + below(g, 64) : below(g, 3) * 16, 4);
	put(g, flag_mix[below(g, sizeof(flag_mix) / 2)], 2);
	put(g, below(g, 8) ? below(g, num) : below(g, num + 3), 2);
}

static void gen_desc(struct gen *g, const struct gen_mem *m, unsigned int i,
		     unsigned int num, bool indirect)
{
	if (m->clean)
		gen_clean_desc(g, m, i, num, indirect);
	else
		gen_messy_desc(g, m, num);
}

static void gen_regions(struct gen *g, struct gen_mem *m)
{
	unsigned int k;

	m->nreg = 1 + below(g, FZ_MAX_REGIONS);
	put(g, m->nreg - 1, 1);
	for (k = 0; k < m->nreg; k++) {
		unsigned int off = below(g, FZ_ARENA);

		m->gpa[k] = 0x10000 * (k + 1);
		if (m->clean) {
			off = 16 * below(g, FZ_ARENA / 16);
			m->size[k] = 16 * (1 + below(g, (FZ_ARENA - off) / 16));
		} else {
			m->gpa[k] += below(g, 6) ? 0 : below(g, 64);
			m->size[k] = 1 + below(g, FZ_ARENA - off);
		}
		put(g, m->gpa[k], 8);
		put(g, m->size[k], 2);
		put(g, off, 2);
		put(g, m->clean || below(g, 64) ? 0 : 0xff, 1);
	}
}

static void gen_input(struct gen *g)
{
	struct gen_mem m = { .clean = below(g, 2) };
	unsigned int num_log2 = below(g, 5), num = 1U << num_log2, k;
	uint16_t base = below(g, 4) ? below(g, 8) : prng_next(g->p);
	uint8_t feat = below(g, 16);
	bool messy = !m.clean;

	g->len = 0;
	put(g, num_log2, 1);
	put(g, feat, 1);
	put(g, below(g, 4) ? 31 : below(g, 8), 1);
	put(g, below(g, 16), 1);
	gen_regions(g, &m);
	put(g, base, 2);
	put(g, (uint16_t)(base + below(g, num + 1 + messy)), 2);
	put(g, below(g, 2), 2);
	put(g, (uint16_t)(base + below(g, num + 1)), 2);
	for (k = 0; k < num; k++)
		put(g, !messy || below(g, 10) ? below(g, num) :
		       below(g, 2) ? below(g, num + 2) : below(g, 0x10000), 2);
	for (k = 0; k < num; k++)
		gen_desc(g, &m, k, num, feat & FZ_F_INDIRECT);
	for (k = 0; k < FZ_ROUNDS; k++) {
		put(g, below(g, num + 1 + messy), 1);
		put(g, below(g, 256), 1);
	}
	/* Guest memory: descriptors, for the indirect tables. */
	for (k = 0; g->len + 16 <= GEN_MAX && below(g, 40); k++)
		gen_desc(g, &m, k % 4, 4, false);
	if (m.clean)
		return;
	/* A few byte flips make the rest of the mess. */
	for (k = below(g, 4); k; k--)
		g->buf[below(g, g->len)] ^= 1 << below(g, 8);
	g->len -= below(g, 8) ? 0 : below(g, g->len);
}

static int write_seed(const char *dir, unsigned int i, const struct gen *g)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/gen-%03u", dir, i);
	f = fopen(path, "wb");
	if (!f)
		return -1;
	fwrite(g->buf, 1, g->len, f);
	return fclose(f);
}

static int replay_file(const char *path)
{
	static uint8_t buf[1 << 16];
	size_t n;
	FILE *f = fopen(path, "rb");

	if (!f)
		return -1;
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	LLVMFuzzerTestOneInput(buf, n);
	return 0;
}

static void show_stats(unsigned long count)
{
	const struct fz_stats *s = &fz_stats;

	tap_diag("runs %lu, bad tables %lu, chains %lu, used flushed %lu",
		 s->runs, s->bad_table, s->chains, s->flushed);
	tap_diag("broken: EINVAL %lu ELOOP %lu EFAULT %lu ENOBUFS %lu E2BIG %lu",
		 s->einval, s->eloop, s->efault, s->enobufs, s->e2big);
	if (count < 10000)
		return;
	tap_ok(s->chains > count && s->flushed > count / 2 &&
	       s->bad_table < count / 4,
	       "fuzz_ring: generated inputs mostly build tables and pop chains");
	tap_ok(s->einval && s->eloop && s->efault && s->enobufs && s->e2big,
	       "fuzz_ring: generated inputs reach every pop errno");
}

int main(int argc, char **argv)
{
	static struct gen g;
	unsigned long count = 20000, i;
	uint64_t seed = 0x6b76686f73740003ULL;
	const char *seed_dir = NULL;
	struct prng p;
	int opt, bad = 0;

	while ((opt = getopt(argc, argv, "n:s:w:")) != -1) {
		if (opt == 'n')
			count = strtoul(optarg, NULL, 0);
		else if (opt == 's')
			seed = strtoull(optarg, NULL, 0);
		else if (opt == 'w')
			seed_dir = optarg;
		else
			return 2;
	}
	tap_init();
	prng_seed(&p, seed);
	g.p = &p;
	for (i = 0; i < count; i++) {
		gen_input(&g);
		if (seed_dir && i < 64 && write_seed(seed_dir, i, &g))
			bad++;
		LLVMFuzzerTestOneInput(g.buf, g.len);
	}
	if (count)
		tap_is(bad, 0, "fuzz_ring: %lu generated ring inputs (seed %#llx) hold the invariants",
		       count, (unsigned long long)seed);
	if (optind < argc) {
		unsigned int files = argc - optind;

		for (bad = 0; optind < argc; optind++)
			bad += replay_file(argv[optind]) != 0;
		tap_is(bad, 0, "fuzz_ring: %u corpus files replay cleanly",
		       files);
	}
	show_stats(count);
	return tap_done();
}
