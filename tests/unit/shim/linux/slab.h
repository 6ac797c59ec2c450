/* SPDX-License-Identifier: GPL-2.0 */
/* Shim: kvzalloc()/kvfree() on calloc()/free(), with failure injection. */
#ifndef SHIM_LINUX_SLAB_H
#define SHIM_LINUX_SLAB_H

#include <stdlib.h>
#include <linux/types.h>

typedef unsigned int gfp_t;
#define GFP_KERNEL	0U

/* Tests set this to make the next n-th allocation (1 = next) fail. */
extern unsigned int shim_alloc_fail_nth;

static inline void *kvzalloc(size_t size, gfp_t flags)
{
	(void)flags;
	if (shim_alloc_fail_nth && !--shim_alloc_fail_nth)
		return NULL;
	if (size == SIZE_MAX)	/* struct_size() saturated */
		return NULL;
	return calloc(1, size);
}

static inline void kvfree(const void *p)
{
	free((void *)p);
}

#endif /* SHIM_LINUX_SLAB_H */
