/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel API differences between the supported kernels (Debian 12's 6.1
 * and bookworm-backports' 6.12), in one place.
 */
#ifndef KVHOST_COMPAT_H
#define KVHOST_COMPAT_H

#include <linux/version.h>
#include <linux/eventfd.h>
#include <linux/uio.h>

/* 6.8 dropped eventfd_signal()'s count argument. */
static inline void kvhost_eventfd_signal(struct eventfd_ctx *ctx)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 8, 0)
	eventfd_signal(ctx);
#else
	eventfd_signal(ctx, 1);
#endif
}

/*
 * The iov_iter direction names arrived in 6.2 and in 6.1.y stable (Debian's
 * 6.1 has them); older trees only know READ/WRITE.
 */
#ifndef ITER_SOURCE
#define ITER_SOURCE	WRITE	/* data flows out of the iterator */
#define ITER_DEST	READ	/* data flows into the iterator */
#endif

#endif /* KVHOST_COMPAT_H */
