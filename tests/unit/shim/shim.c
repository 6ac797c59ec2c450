// SPDX-License-Identifier: GPL-2.0
/* State behind the shim headers' test hooks. */
#include <linux/slab.h>
#include <linux/uaccess.h>

unsigned int shim_alloc_fail_nth;
unsigned long shim_fault_lo, shim_fault_hi;
