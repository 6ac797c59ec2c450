/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Shim: "user" memory is this process's memory.  Accessors copy with
 * memcpy() and fail like the kernel's: outside the x86-64 user address
 * space, or inside the range a test declared faulting.
 */
#ifndef SHIM_LINUX_UACCESS_H
#define SHIM_LINUX_UACCESS_H

#include <string.h>
#include <linux/errno.h>
#include <linux/types.h>

/* x86-64 TASK_SIZE_MAX with 4-level paging. */
#define SHIM_TASK_SIZE	0x00007ffffffff000ULL

/* Tests set [lo, hi) to make user accesses touching it fault. */
extern unsigned long shim_fault_lo, shim_fault_hi;

static inline bool access_ok(const void __user *addr, unsigned long size)
{
	unsigned long a = (unsigned long)addr;

	return size <= SHIM_TASK_SIZE && a <= SHIM_TASK_SIZE - size;
}

static inline bool shim_user_fault(const void __user *addr, unsigned long n)
{
	unsigned long a = (unsigned long)addr;

	if (!access_ok(addr, n))
		return true;
	return n && a < shim_fault_hi && a + n > shim_fault_lo;
}

/* Return: bytes not copied (all or nothing here), 0 on success. */
static inline unsigned long copy_from_user(void *to, const void __user *from,
					   unsigned long n)
{
	if (shim_user_fault(from, n)) {
		memset(to, 0, n);
		return n;
	}
	memcpy(to, (const void *)from, n);
	return 0;
}

static inline unsigned long copy_to_user(void __user *to, const void *from,
					 unsigned long n)
{
	if (shim_user_fault(to, n))
		return n;
	memcpy((void *)to, from, n);
	return 0;
}

/* Return: 0 or -EFAULT; @x is zeroed on a fault, like the kernel's. */
#define get_user(x, ptr) ({						\
	__typeof__(*(ptr)) __gu_v;					\
	int __gu_err = 0;						\
	if (copy_from_user(&__gu_v, (ptr), sizeof(__gu_v)))		\
		__gu_err = -EFAULT;					\
	(x) = __gu_v;							\
	__gu_err; })

#define put_user(x, ptr) ({						\
	__typeof__(*(ptr)) __pu_v = (x);				\
	copy_to_user((ptr), &__pu_v, sizeof(__pu_v)) ? -EFAULT : 0; })

#endif /* SHIM_LINUX_UACCESS_H */
