/* SPDX-License-Identifier: GPL-2.0 */
/* Shim: the uapi errno values are the kernel's. */
#ifndef SHIM_LINUX_ERRNO_H
#define SHIM_LINUX_ERRNO_H

#include_next <linux/errno.h>

#endif /* SHIM_LINUX_ERRNO_H */
