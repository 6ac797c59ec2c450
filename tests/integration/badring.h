/* SPDX-License-Identifier: GPL-2.0 */
/*
 * badring: malformed split-ring chains and the errno each must break the
 * queue with (see badring.c).
 */
#ifndef BADRING_H
#define BADRING_H
#include <stdbool.h>
#include <stdint.h>
#include "vring_drv.h"

/* Where a case writes its chain. */
struct badring_env {
	struct vdrv_ring *r;		/* the queue's ring, nothing in flight */
	const struct vdrv_mem *mem;	/* the guest memory the device knows */
	uint64_t buf, buf2;		/* two guest buffers of >= 128 bytes */
	uint16_t base;			/* the ring's starting index */
};

struct badring_case {
	const char *name;
	void (*build)(const struct badring_env *e);
	int err;		/* the queue's last_err (positive errno) */
	bool no_indirect;	/* negotiate without INDIRECT_DESC */
};

extern const struct badring_case badring_cases[];
extern const unsigned int badring_ncases;

#endif /* BADRING_H */
