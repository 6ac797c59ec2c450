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
#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/cache.h>

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

/*
 * page_frag_alloc_align() took an alignment mask until 6.9 and takes the
 * alignment itself since; fragments here are cache-line aligned.
 */
static inline void *kvhost_page_frag_alloc(struct page_frag_cache *nc,
					   unsigned int size, gfp_t gfp)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 9, 0)
	return page_frag_alloc_align(nc, size, gfp, SMP_CACHE_BYTES);
#else
	return page_frag_alloc_align(nc, size, gfp, -SMP_CACHE_BYTES);
#endif
}

/* page_frag_cache_drain() arrived in 6.9: drop the cache's own references. */
static inline void kvhost_page_frag_cache_drain(struct page_frag_cache *nc)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 9, 0)
	page_frag_cache_drain(nc);
#else
	if (!nc->va)
		return;
	__page_frag_cache_drain(virt_to_head_page(nc->va), nc->pagecnt_bias);
	nc->va = NULL;
#endif
}

#endif /* KVHOST_COMPAT_H */
