/* SPDX-License-Identifier: GPL-2.0 */
/* Shim: sort() on qsort(); the custom swap hook is not supported. */
#ifndef SHIM_LINUX_SORT_H
#define SHIM_LINUX_SORT_H

#include <assert.h>
#include <stdlib.h>

typedef int (*cmp_func_t)(const void *a, const void *b);
typedef void (*swap_func_t)(void *a, void *b, int size);

static inline void sort(void *base, size_t num, size_t size,
			cmp_func_t cmp_func, swap_func_t swap_func)
{
	assert(!swap_func);
	if (num)
		qsort(base, num, size, cmp_func);
}

#endif /* SHIM_LINUX_SORT_H */
