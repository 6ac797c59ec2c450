/* SPDX-License-Identifier: GPL-2.0 */
/* Shim: struct_size(), saturating at SIZE_MAX on overflow like the kernel's. */
#ifndef SHIM_LINUX_OVERFLOW_H
#define SHIM_LINUX_OVERFLOW_H

#include <stdint.h>
#include <stddef.h>

static inline size_t shim_size_mul(size_t a, size_t b)
{
	size_t r;

	return __builtin_mul_overflow(a, b, &r) ? SIZE_MAX : r;
}

static inline size_t shim_size_add(size_t a, size_t b)
{
	size_t r;

	return __builtin_add_overflow(a, b, &r) ? SIZE_MAX : r;
}

#define struct_size(p, member, count)					\
	shim_size_add(sizeof(*(p)),					\
		      shim_size_mul(sizeof(*(p)->member), (count)))

#endif /* SHIM_LINUX_OVERFLOW_H */
