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
#include <linux/cgroup.h>
#include <linux/atomic.h>

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
 * Whether @task's pids cgroup, or one above it, now holds more tasks than
 * its pids.max.  The pids controller has no API for this: its counters
 * are read from the head of its private struct pids_cgroup, the same in
 * 6.1 and 6.12 (kernel/cgroup/pids.c: css, counter, limit), the way
 * pids_try_charge() compares them.
 */
#if IS_ENABLED(CONFIG_CGROUP_PIDS)
struct kvhost_pids_cgroup_head {
	struct cgroup_subsys_state css;
	atomic64_t counter;
	atomic64_t limit;
};

static inline bool kvhost_pids_over_limit(struct task_struct *task)
{
	const struct kvhost_pids_cgroup_head *p;
	struct cgroup_subsys_state *css;
	bool over = false;

	rcu_read_lock();
	/* The root cgroup has no limit and its counter is not kept. */
	for (css = task_css(task, pids_cgrp_id); css && css->parent;
	     css = css->parent) {
		p = container_of(css, struct kvhost_pids_cgroup_head, css);
		if (atomic64_read(&p->counter) > atomic64_read(&p->limit)) {
			over = true;
			break;
		}
	}
	rcu_read_unlock();
	return over;
}
#else
static inline bool kvhost_pids_over_limit(struct task_struct *task)
{
	return false;
}
#endif

#endif /* KVHOST_COMPAT_H */
