/* SPDX-License-Identifier: GPL-2.0 */
/* Deterministic splitmix64 generator for the randomised unit tests. */
#ifndef KVHOST_UNIT_PRNG_H
#define KVHOST_UNIT_PRNG_H

#include <stdint.h>

struct prng {
	uint64_t s;
};

static inline void prng_seed(struct prng *p, uint64_t seed)
{
	p->s = seed;
}

static inline uint64_t prng_next(struct prng *p)
{
	uint64_t z = (p->s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Uniform enough in [0, n), n > 0. */
static inline uint64_t prng_below(struct prng *p, uint64_t n)
{
	return prng_next(p) % n;
}

#endif /* KVHOST_UNIT_PRNG_H */
