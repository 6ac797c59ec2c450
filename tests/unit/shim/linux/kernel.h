/* SPDX-License-Identifier: GPL-2.0 */
/* Shim: the few helpers of <linux/kernel.h> (and what it pulls in) used here. */
#ifndef SHIM_LINUX_KERNEL_H
#define SHIM_LINUX_KERNEL_H

#include <linux/types.h>
#include <asm/barrier.h>

#define U8_MAX		((u8)~0U)
#define U16_MAX		((u16)~0U)
#define U32_MAX		((u32)~0U)
#define U64_MAX		((u64)~0ULL)

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

/* Like the kernel's, min() refuses operands of different types. */
#define min(a, b) ({					\
	__typeof__(a) __min_a = (a);			\
	__typeof__(b) __min_b = (b);			\
	(void)(&__min_a == &__min_b);			\
	__min_a < __min_b ? __min_a : __min_b; })

#define max(a, b) ({					\
	__typeof__(a) __max_a = (a);			\
	__typeof__(b) __max_b = (b);			\
	(void)(&__max_a == &__max_b);			\
	__max_a > __max_b ? __max_a : __max_b; })

#define min_t(type, a, b) ({				\
	type __mint_a = (a);				\
	type __mint_b = (b);				\
	__mint_a < __mint_b ? __mint_a : __mint_b; })

#endif /* SHIM_LINUX_KERNEL_H */
