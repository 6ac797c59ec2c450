/* SPDX-License-Identifier: GPL-2.0 */
/* Shim: the kernel's struct iovec has the libc layout. */
#ifndef SHIM_LINUX_UIO_H
#define SHIM_LINUX_UIO_H

#include <linux/types.h>
#include <sys/uio.h>

#endif /* SHIM_LINUX_UIO_H */
