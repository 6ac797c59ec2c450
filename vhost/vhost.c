// SPDX-License-Identifier: GPL-2.0
/*
 * kvhost core: device ownership, features, memory table, virtqueue set-up
 * ioctls and the ring API backends use from their handlers.
 */
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/slab.h>
#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/uaccess.h>
#include <linux/nospec.h>
#include <linux/pid.h>
#include <linux/sched/task.h>
#include <linux/vhost.h>
#include "uapi/kvhost.h"
#include "vhost.h"
#include "internal.h"
#include "compat.h"

/* Used elements gathered before one write to the used ring. */
#define KVHOST_USED_BATCH	64
/* Backend features (VHOST_BACKEND_F_*) the core implements: none yet. */
#define KVHOST_BACKEND_FEATURES	0ULL

static unsigned int max_mem_regions = KVHOST_MEM_REGIONS_DEFAULT;

static int max_mem_regions_set(const char *val, const struct kernel_param *kp)
{
	unsigned int n;
	int ret;

	ret = kstrtouint(val, 0, &n);
	if (ret)
		return ret;
	if (!n || n > KVHOST_MEM_REGIONS_LIMIT)
		return -EINVAL;
	WRITE_ONCE(max_mem_regions, n);
	return 0;
}

static const struct kernel_param_ops max_mem_regions_ops = {
	.set = max_mem_regions_set,
	.get = param_get_uint,
};
module_param_cb(max_mem_regions, &max_mem_regions_ops, &max_mem_regions, 0644);
MODULE_PARM_DESC(max_mem_regions,
		 "Largest memory table accepted (1-509, default 64)");

static unsigned int budget_descs = 256;
module_param(budget_descs, uint, 0644);
MODULE_PARM_DESC(budget_descs,
		 "Descriptors one handler run may process before yielding");

static unsigned int budget_bytes = 512 * 1024;
module_param(budget_bytes, uint, 0644);
MODULE_PARM_DESC(budget_bytes,
		 "Bytes one handler run may move before yielding");

static void kvhost_vq_signal_error(struct kvhost_virtqueue *vq)
{
	if (vq->error_ctx && !vq->error_signalled) {
		kvhost_eventfd_signal(vq->error_ctx);
		vq->error_signalled = true;
	}
}

/**
 * kvhost_vq_mark_broken() - stop a virtqueue after bad input from the guest
 * @vq:		the virtqueue
 * @err:	negative errno describing the fault
 *
 * The queue does nothing more until userspace sets it up again; the err
 * eventfd is signalled once.
 * Context: caller holds vq->mutex.
 */
void kvhost_vq_mark_broken(struct kvhost_virtqueue *vq, int err)
{
	lockdep_assert_held(&vq->mutex);
	if (!vq->ring.error)
		vq->ring.error = err;
	kvhost_poll_stop(&vq->kick_poll);
	pr_debug("kvhost: queue %u broken: %d\n", vq->index, vq->ring.error);
	kvhost_vq_signal_error(vq);
}
EXPORT_SYMBOL_GPL(kvhost_vq_mark_broken);

/**
 * kvhost_vq_ready() - whether a handler should serve the queue
 * @vq:		the virtqueue
 *
 * Context: caller holds vq->mutex.
 * Return: true if started, attached to a backend and not broken.
 */
bool kvhost_vq_ready(struct kvhost_virtqueue *vq)
{
	lockdep_assert_held(&vq->mutex);
	return vq->started && vq->private_data && !kvhost_vq_broken(vq);
}
EXPORT_SYMBOL_GPL(kvhost_vq_ready);

/**
 * kvhost_vq_work_pending() - whether other work waits for the queue's worker
 * @vq:		the virtqueue
 *
 * For handlers that busy-poll: they stop spinning as soon as another work
 * item (another queue's kick, a flush) is waiting for the same worker.
 * Context: any; handlers call it with vq->mutex held.
 * Return: true if work is queued on @vq's worker and not yet started.
 */
bool kvhost_vq_work_pending(struct kvhost_virtqueue *vq)
{
	struct kvhost_worker *worker;
	bool pending = false;

	rcu_read_lock();
	worker = rcu_dereference(vq->worker);
	if (worker)
		pending = !llist_empty(&worker->work_list);
	rcu_read_unlock();
	return pending;
}
EXPORT_SYMBOL_GPL(kvhost_vq_work_pending);

/**
 * kvhost_vq_pop() - take the next available descriptor chain
 * @vq:		the virtqueue
 * @iov:	segments out: readable ones first, then writable ones
 * @iov_max:	room in @iov
 * @chain:	description of the chain taken
 *
 * Context: worker, caller holds vq->mutex.
 * Return: 1 if a chain was taken, 0 if the ring is empty, or a negative
 * errno after which the queue is broken.
 */
int kvhost_vq_pop(struct kvhost_virtqueue *vq, struct iovec *iov,
		  unsigned int iov_max, struct kvhost_chain *chain)
{
	int ret;

	lockdep_assert_held(&vq->mutex);
	ret = vq->ring.ops->pop(&vq->ring, iov, iov_max, chain);
	if (ret < 0)
		kvhost_vq_mark_broken(vq, ret);
	return ret;
}
EXPORT_SYMBOL_GPL(kvhost_vq_pop);

/**
 * kvhost_vq_unpop() - give back chains taken but not used
 * @vq:		the virtqueue
 * @n:		how many of the most recently taken chains
 *
 * Context: caller holds vq->mutex.
 */
void kvhost_vq_unpop(struct kvhost_virtqueue *vq, unsigned int n)
{
	lockdep_assert_held(&vq->mutex);
	vq->ring.ops->unpop(&vq->ring, n);
}
EXPORT_SYMBOL_GPL(kvhost_vq_unpop);

/**
 * kvhost_vq_add_used() - return a chain to the driver
 * @vq:		the virtqueue
 * @id:		the chain's id (struct kvhost_chain.id)
 * @len:	bytes written into the chain's writable buffers
 *
 * Batched: the element becomes visible at kvhost_vq_flush_used().
 * Context: worker, caller holds vq->mutex.
 * Return: 0, or a negative errno after which the queue is broken.
 */
int kvhost_vq_add_used(struct kvhost_virtqueue *vq, u16 id, u32 len)
{
	int ret;

	lockdep_assert_held(&vq->mutex);
	ret = vq->ring.ops->add_used(&vq->ring, id, len);
	if (ret < 0)
		kvhost_vq_mark_broken(vq, ret);
	return ret;
}
EXPORT_SYMBOL_GPL(kvhost_vq_add_used);

/* Signal the call eventfd if the driver asked to be told of what was used. */
static void kvhost_vq_signal(struct kvhost_virtqueue *vq)
{
	int ret = vq->ring.ops->need_signal(&vq->ring);

	if (ret < 0) {
		kvhost_vq_mark_broken(vq, ret);
		return;
	}
	if (ret) {
		kvhost_eventfd_signal(vq->call_ctx);
		vq->stats.calls++;
	}
}

/**
 * kvhost_vq_flush_used() - publish used elements and notify the driver
 * @vq:		the virtqueue
 *
 * Signals the call eventfd if the driver asked for it.
 * Context: worker, caller holds vq->mutex.
 */
void kvhost_vq_flush_used(struct kvhost_virtqueue *vq)
{
	int ret;

	lockdep_assert_held(&vq->mutex);
	ret = vq->ring.ops->flush(&vq->ring);
	if (ret < 0) {
		kvhost_vq_mark_broken(vq, ret);
		return;
	}
	/*
	 * No eventfd, no decision: deciding would move the event index on
	 * as if the driver had been told, and a notification it waits for
	 * would never come once SET_VRING_CALL binds one.
	 */
	if (vq->call_ctx)
		kvhost_vq_signal(vq);
}
EXPORT_SYMBOL_GPL(kvhost_vq_flush_used);

/**
 * kvhost_vq_enable_notify() - ask the driver to kick again
 * @vq:		the virtqueue
 *
 * Context: worker, caller holds vq->mutex.
 * Return: true if buffers arrived meanwhile: disable and keep serving.
 */
int kvhost_vq_enable_notify(struct kvhost_virtqueue *vq)
{
	int ret;

	lockdep_assert_held(&vq->mutex);
	ret = vq->ring.ops->enable_notify(&vq->ring);
	if (ret < 0) {
		kvhost_vq_mark_broken(vq, ret);
		return 0;
	}
	return ret;
}
EXPORT_SYMBOL_GPL(kvhost_vq_enable_notify);

/**
 * kvhost_vq_disable_notify() - ask the driver not to kick while we serve
 * @vq:		the virtqueue
 *
 * Context: worker, caller holds vq->mutex.
 */
void kvhost_vq_disable_notify(struct kvhost_virtqueue *vq)
{
	int ret;

	lockdep_assert_held(&vq->mutex);
	ret = vq->ring.ops->disable_notify(&vq->ring);
	if (ret < 0)
		kvhost_vq_mark_broken(vq, ret);
}
EXPORT_SYMBOL_GPL(kvhost_vq_disable_notify);

/**
 * kvhost_vq_budget_spent() - whether a handler run should yield now
 * @vq:		the virtqueue
 * @descs:	descriptors processed in this run
 * @bytes:	bytes moved in this run
 *
 * When the budget is spent the kick handler is queued again, so the queue
 * goes on after the worker has served its other work.
 * Context: worker, caller holds vq->mutex.
 * Return: true if the caller must stop this run.
 */
bool kvhost_vq_budget_spent(struct kvhost_virtqueue *vq, unsigned int descs,
			    u64 bytes)
{
	struct kvhost_dev *dev = vq->dev;

	lockdep_assert_held(&vq->mutex);
	if (descs < dev->budget_descs && bytes < dev->budget_bytes)
		return false;
	kvhost_poll_queue(&vq->kick_poll);
	vq->stats.requeues++;
	return true;
}
EXPORT_SYMBOL_GPL(kvhost_vq_budget_spent);

/* ---- virtqueue set-up ---- */

static void kvhost_vq_reset(struct kvhost_virtqueue *vq)
{
	struct kvhost_vring *vr = &vq->ring;

	lockdep_assert_held(&vq->mutex);
	kvhost_poll_stop(&vq->kick_poll);
	if (vq->kick)
		fput(vq->kick);
	vq->kick = NULL;
	if (vq->call_ctx)
		eventfd_ctx_put(vq->call_ctx);
	vq->call_ctx = NULL;
	if (vq->error_ctx)
		eventfd_ctx_put(vq->error_ctx);
	vq->error_ctx = NULL;
	vq->error_signalled = false;
	vq->started = false;
	vq->addr_set = false;
	memset(&vq->addr, 0, sizeof(vq->addr));
	vq->busyloop_timeout = 0;
	memset(&vq->stats, 0, sizeof(vq->stats));

	vr->num = 0;
	vr->features = 0;
	vr->mt = NULL;
	vr->desc = NULL;
	vr->avail = NULL;
	vr->used = NULL;
	vr->last_avail_idx = 0;
	vr->avail_idx = 0;
	vr->last_used_idx = 0;
	vr->signalled_used = 0;
	vr->signalled_used_valid = false;
	vr->used_unsignalled = false;
	vr->used_flags = 0;
	vr->used_batch_len = 0;
	vr->used_unpublished = 0;
	vr->error = 0;
}

/* Alignments of the split ring parts (virtio 1.x, 2.7). */
#define KVHOST_DESC_ALIGN	16
#define KVHOST_AVAIL_ALIGN	2
#define KVHOST_USED_ALIGN	4

static int kvhost_check_ring_align(const struct vhost_vring_addr *a)
{
	if ((a->desc_user_addr & (KVHOST_DESC_ALIGN - 1)) ||
	    (a->avail_user_addr & (KVHOST_AVAIL_ALIGN - 1)) ||
	    (a->used_user_addr & (KVHOST_USED_ALIGN - 1)))
		return -EINVAL;
	return 0;
}

/* Check one ring part: in the user address space, mapped, and guest memory. */
static int kvhost_check_ring_part(struct kvhost_dev *dev, u64 uaddr, u64 size)
{
	void __user *p = (void __user *)(unsigned long)uaddr;
	u8 probe;

	if ((unsigned long)uaddr != uaddr || !access_ok(p, size))
		return -EFAULT;
	/* Fault both ends in now: an unmapped ring is a set-up error, not a guest one. */
	if (get_user(probe, (u8 __user *)p) ||
	    get_user(probe, (u8 __user *)p + size - 1))
		return -EFAULT;
	if (dev->mt && !kvhost_memtable_covers_uaddr(dev->mt, uaddr, size))
		return -EFAULT;
	return 0;
}

static int kvhost_check_ring_addr(struct kvhost_virtqueue *vq,
				  const struct vhost_vring_addr *a)
{
	u64 num = vq->ring.num;
	int ret;

	ret = kvhost_check_ring_align(a);
	if (ret)
		return ret;
	/* Sizes include the event index words of VIRTIO_RING_F_EVENT_IDX. */
	ret = kvhost_check_ring_part(vq->dev, a->desc_user_addr,
				     num * sizeof(struct vring_desc));
	if (!ret)
		ret = kvhost_check_ring_part(vq->dev, a->avail_user_addr,
					     sizeof(struct vring_avail) +
					     (num + 1) * sizeof(__virtio16));
	if (!ret)
		ret = kvhost_check_ring_part(vq->dev, a->used_user_addr,
					     sizeof(struct vring_used) +
					     num * sizeof(struct vring_used_elem) +
					     sizeof(__virtio16));
	return ret;
}

/* The handler's segment array and the used batch, kept until the device goes. */
static int kvhost_vq_alloc(struct kvhost_virtqueue *vq)
{
	if (!vq->iov)
		vq->iov = kmalloc_array(KVHOST_IOV_MAX, sizeof(*vq->iov),
					GFP_KERNEL_ACCOUNT);
	if (!vq->ring.used_batch)
		vq->ring.used_batch = kmalloc_array(KVHOST_USED_BATCH,
						    sizeof(*vq->ring.used_batch),
						    GFP_KERNEL_ACCOUNT);
	return vq->iov && vq->ring.used_batch ? 0 : -ENOMEM;
}

/**
 * kvhost_vq_start() - load the configured ring and begin serving it
 * @vq:		the virtqueue, its backend attached (vq->private_data set)
 *
 * The first moment the ring is touched: what SET_VRING_NUM, ADDR and BASE
 * stored takes effect here, the ring is checked against the memory table,
 * used->flags written and used->idx read.  A queue without a kick eventfd
 * starts too and is served once SET_VRING_KICK gives it one.
 * Context: process context of the owner, caller holds vq->mutex.
 * Return: 0 (also if already started), -EINVAL if the ring size or
 * address was never set, or the errno of a ring that cannot be used.
 */
int kvhost_vq_start(struct kvhost_virtqueue *vq)
{
	struct kvhost_vring *vr = &vq->ring;
	int ret;

	lockdep_assert_held(&vq->mutex);
	if (vq->started)
		return 0;
	if (!vr->num || !vq->addr_set)
		return -EINVAL;
	ret = kvhost_vq_alloc(vq);
	if (ret)
		return ret;
	ret = kvhost_check_ring_addr(vq, &vq->addr);
	if (ret)
		return ret;
	vr->desc = (struct vring_desc __user *)(unsigned long)vq->addr.desc_user_addr;
	vr->avail = (struct vring_avail __user *)(unsigned long)vq->addr.avail_user_addr;
	vr->used = (struct vring_used __user *)(unsigned long)vq->addr.used_user_addr;
	vr->used_batch_max = min_t(unsigned int, KVHOST_USED_BATCH, vr->num);

	ret = vr->ops->start(vr);
	if (ret)
		return ret;
	if (vq->kick) {
		ret = kvhost_poll_start(&vq->kick_poll, vq->kick);
		if (ret)
			return ret;
	}
	vq->error_signalled = false;
	vq->started = true;
	/* Serve what the driver posted before we were watching. */
	kvhost_poll_queue(&vq->kick_poll);
	return 0;
}
EXPORT_SYMBOL_GPL(kvhost_vq_start);

/**
 * kvhost_vq_stop() - stop serving the ring
 * @vq:		the virtqueue
 *
 * Kicks are no longer watched and handlers queued before find the queue
 * not ready; kvhost_vq_flush() (without vq->mutex) waits for one already
 * running.  The ring state stays: the next kvhost_vq_start() resumes at
 * the same avail index unless SET_VRING_BASE moved it.
 * Context: caller holds vq->mutex.
 */
void kvhost_vq_stop(struct kvhost_virtqueue *vq)
{
	lockdep_assert_held(&vq->mutex);
	kvhost_poll_stop(&vq->kick_poll);
	vq->started = false;
}
EXPORT_SYMBOL_GPL(kvhost_vq_stop);

/*
 * Stop the ring and wait for its handlers and, for a backend that completes
 * asynchronously, for every chain it took: GET_VRING_BASE is then exact.
 */
static void kvhost_vq_halt(struct kvhost_virtqueue *vq)
{
	mutex_lock(&vq->mutex);
	kvhost_vq_stop(vq);
	mutex_unlock(&vq->mutex);
	kvhost_vq_flush(vq);
	if (vq->handle_drain)
		vq->handle_drain(vq);
}

static int kvhost_vring_set_num(struct kvhost_virtqueue *vq, void __user *argp)
{
	struct vhost_vring_state s;

	if (copy_from_user(&s, argp, sizeof(s)))
		return -EFAULT;
	if (vq->started)
		return -EBUSY;
	if (!s.num || s.num > KVHOST_VRING_NUM_MAX || (s.num & (s.num - 1)))
		return -EINVAL;
	vq->ring.num = s.num;
	return 0;
}

static int kvhost_vring_set_base(struct kvhost_virtqueue *vq, void __user *argp)
{
	struct vhost_vring_state s;

	if (copy_from_user(&s, argp, sizeof(s)))
		return -EFAULT;
	if (vq->started)
		return -EBUSY;
	if (s.num > 0xffff)
		return -EINVAL;
	vq->ring.last_avail_idx = s.num;
	vq->ring.avail_idx = s.num;
	return 0;
}

static int kvhost_vring_get_base(struct kvhost_virtqueue *vq, void __user *argp)
{
	struct vhost_vring_state s = { .index = vq->index };

	s.num = vq->ring.last_avail_idx;
	if (copy_to_user(argp, &s, sizeof(s)))
		return -EFAULT;
	return 0;
}

static bool kvhost_vring_addr_same(const struct vhost_vring_addr *a,
				   const struct vhost_vring_addr *b)
{
	return a->desc_user_addr == b->desc_user_addr &&
	       a->avail_user_addr == b->avail_user_addr &&
	       a->used_user_addr == b->used_user_addr;
}

static int kvhost_vring_set_addr(struct kvhost_virtqueue *vq, void __user *argp)
{
	struct vhost_vring_addr a;
	int ret;

	if (copy_from_user(&a, argp, sizeof(a)))
		return -EFAULT;
	if (a.flags & ~(1U << VHOST_VRING_F_LOG))
		return -EOPNOTSUPP;
	/* Dirty logging is not offered (VHOST_F_LOG_ALL): no log address. */
	if (a.flags & (1U << VHOST_VRING_F_LOG))
		return -EOPNOTSUPP;
	/*
	 * A running ring keeps its addresses; the same ones again are fine
	 * (QEMU re-sends them to switch dirty logging on a running ring).
	 */
	if (vq->started)
		return kvhost_vring_addr_same(&a, &vq->addr) ? 0 : -EBUSY;
	/* Before SET_VRING_NUM only the alignment can be checked; all at start. */
	if (vq->ring.num)
		ret = kvhost_check_ring_addr(vq, &a);
	else
		ret = kvhost_check_ring_align(&a);
	if (ret)
		return ret;
	vq->addr = a;
	vq->addr_set = true;
	return 0;
}

static int kvhost_vring_set_kick(struct kvhost_virtqueue *vq, void __user *argp)
{
	struct vhost_vring_file f;
	struct file *file = NULL;
	int ret = 0;

	if (copy_from_user(&f, argp, sizeof(f)))
		return -EFAULT;
	if (f.fd != VHOST_FILE_UNBIND) {
		file = eventfd_fget(f.fd);
		if (IS_ERR(file))
			return PTR_ERR(file);
	}
	/* A running ring moves to the new eventfd; the ring itself is untouched. */
	kvhost_poll_stop(&vq->kick_poll);
	if (vq->kick)
		fput(vq->kick);
	vq->kick = file;
	if (vq->started && file && !kvhost_vq_broken(vq)) {
		ret = kvhost_poll_start(&vq->kick_poll, file);
		/* A kick sent while no eventfd was watched is not lost. */
		kvhost_poll_queue(&vq->kick_poll);
	}
	return ret;
}

static int kvhost_eventfd_from_user(void __user *argp, struct eventfd_ctx **ctx)
{
	struct vhost_vring_file f;
	struct eventfd_ctx *new = NULL;

	if (copy_from_user(&f, argp, sizeof(f)))
		return -EFAULT;
	if (f.fd != VHOST_FILE_UNBIND) {
		new = eventfd_ctx_fdget(f.fd);
		if (IS_ERR(new))
			return PTR_ERR(new);
	}
	if (*ctx)
		eventfd_ctx_put(*ctx);
	*ctx = new;
	return 0;
}

static int kvhost_vring_set_call(struct kvhost_virtqueue *vq, void __user *argp)
{
	int ret = kvhost_eventfd_from_user(argp, &vq->call_ctx);

	if (ret)
		return ret;
	/*
	 * Used buffers published while no eventfd was bound were never
	 * decided on (see kvhost_vq_flush_used()): decide now, so a driver
	 * waiting for them is told without needing more traffic.
	 */
	if (vq->started && vq->call_ctx)
		kvhost_vq_signal(vq);
	return 0;
}

static int kvhost_vring_set_err(struct kvhost_virtqueue *vq, void __user *argp)
{
	int ret = kvhost_eventfd_from_user(argp, &vq->error_ctx);

	if (ret)
		return ret;
	/* A queue broken before anyone listened is reported to the new listener. */
	vq->error_signalled = false;
	if (kvhost_vq_broken(vq))
		kvhost_vq_signal_error(vq);
	return 0;
}

static int kvhost_vring_busyloop(struct kvhost_virtqueue *vq,
				 unsigned int ioctl, void __user *argp)
{
	struct vhost_vring_state s;

	if (ioctl == VHOST_GET_VRING_BUSYLOOP_TIMEOUT) {
		s.index = vq->index;
		s.num = vq->busyloop_timeout;
		return copy_to_user(argp, &s, sizeof(s)) ? -EFAULT : 0;
	}
	if (copy_from_user(&s, argp, sizeof(s)))
		return -EFAULT;
	vq->busyloop_timeout = s.num;
	return 0;
}

static struct kvhost_worker *kvhost_dev_worker(struct kvhost_dev *dev, u32 id)
{
	return xa_load(&dev->workers, id);
}

static struct kvhost_worker *kvhost_vq_worker(struct kvhost_virtqueue *vq)
{
	return rcu_dereference_protected(vq->worker,
					 lockdep_is_held(&vq->dev->mutex));
}

/* Move @vq to @worker; the old worker finishes what it has of the queue. */
static void kvhost_vq_attach_worker(struct kvhost_virtqueue *vq,
				    struct kvhost_worker *worker)
{
	struct kvhost_worker *old = kvhost_vq_worker(vq);

	lockdep_assert_held(&vq->dev->mutex);
	if (old == worker)
		return;
	worker->attached++;
	rcu_assign_pointer(vq->worker, worker);
	if (!old)
		return;
	/* Nobody can still be queueing on @old for this queue after this... */
	synchronize_rcu();
	/* ...and nothing it already has for the queue is left after this. */
	kvhost_worker_flush(old);
	old->attached--;
}

static long kvhost_vring_worker_ioctl(struct kvhost_virtqueue *vq,
				      unsigned int ioctl, void __user *argp)
{
	struct vhost_vring_worker w;
	struct kvhost_worker *worker;

	if (copy_from_user(&w, argp, sizeof(w)))
		return -EFAULT;
	if (ioctl == VHOST_GET_VRING_WORKER) {
		worker = kvhost_vq_worker(vq);
		if (!worker)
			return -EINVAL;
		w.worker_id = worker->id;
		return copy_to_user(argp, &w, sizeof(w)) ? -EFAULT : 0;
	}
	worker = kvhost_dev_worker(vq->dev, w.worker_id);
	if (!worker)
		return -ENODEV;
	kvhost_vq_attach_worker(vq, worker);
	return 0;
}

/**
 * kvhost_vring_ioctl() - the per-virtqueue VHOST_* ioctls
 * @dev:	the device
 * @ioctl:	ioctl number
 * @argp:	user argument
 *
 * Context: process context of the owner, caller holds dev->mutex.
 * Return: 0 or a negative errno; -ENOIOCTLCMD if @ioctl is not a vring ioctl.
 */
long kvhost_vring_ioctl(struct kvhost_dev *dev, unsigned int ioctl,
			void __user *argp)
{
	struct kvhost_virtqueue *vq;
	u32 idx;
	long ret;

	lockdep_assert_held(&dev->mutex);
	switch (ioctl) {
	case VHOST_SET_VRING_NUM:
	case VHOST_SET_VRING_ADDR:
	case VHOST_SET_VRING_BASE:
	case VHOST_GET_VRING_BASE:
	case VHOST_SET_VRING_KICK:
	case VHOST_SET_VRING_CALL:
	case VHOST_SET_VRING_ERR:
	case VHOST_SET_VRING_BUSYLOOP_TIMEOUT:
	case VHOST_GET_VRING_BUSYLOOP_TIMEOUT:
	case VHOST_ATTACH_VRING_WORKER:
	case VHOST_GET_VRING_WORKER:
		break;
	default:
		return -ENOIOCTLCMD;
	}

	ret = kvhost_dev_check_owner(dev);
	if (ret)
		return ret;
	/* Every vring argument starts with the queue index. */
	if (get_user(idx, (u32 __user *)argp))
		return -EFAULT;
	if (idx >= dev->nvqs)
		return -ENOBUFS;
	vq = dev->vqs[array_index_nospec(idx, dev->nvqs)];

	switch (ioctl) {
	case VHOST_ATTACH_VRING_WORKER:
	case VHOST_GET_VRING_WORKER:
		return kvhost_vring_worker_ioctl(vq, ioctl, argp);
	case VHOST_GET_VRING_BASE:
		/* Stops the ring: the value returned is where it stopped. */
		kvhost_vq_halt(vq);
		break;
	}

	mutex_lock(&vq->mutex);
	switch (ioctl) {
	case VHOST_SET_VRING_NUM:
		ret = kvhost_vring_set_num(vq, argp);
		break;
	case VHOST_SET_VRING_ADDR:
		ret = kvhost_vring_set_addr(vq, argp);
		break;
	case VHOST_SET_VRING_BASE:
		ret = kvhost_vring_set_base(vq, argp);
		break;
	case VHOST_GET_VRING_BASE:
		ret = kvhost_vring_get_base(vq, argp);
		break;
	case VHOST_SET_VRING_KICK:
		ret = kvhost_vring_set_kick(vq, argp);
		break;
	case VHOST_SET_VRING_CALL:
		ret = kvhost_vring_set_call(vq, argp);
		break;
	case VHOST_SET_VRING_ERR:
		ret = kvhost_vring_set_err(vq, argp);
		break;
	default:
		ret = kvhost_vring_busyloop(vq, ioctl, argp);
		break;
	}
	mutex_unlock(&vq->mutex);
	return ret;
}
EXPORT_SYMBOL_GPL(kvhost_vring_ioctl);

/* ---- device ---- */

/**
 * kvhost_dev_check_owner() - whether the caller owns the device
 * @dev:	the device
 *
 * Context: process context, caller holds dev->mutex.
 * Return: 0 if the caller's mm is the owner's, -EPERM otherwise (also
 * before VHOST_SET_OWNER).
 */
int kvhost_dev_check_owner(struct kvhost_dev *dev)
{
	lockdep_assert_held(&dev->mutex);
	return dev->mm && dev->mm == current->mm ? 0 : -EPERM;
}
EXPORT_SYMBOL_GPL(kvhost_dev_check_owner);

static void kvhost_dev_free_workers(struct kvhost_dev *dev)
{
	struct kvhost_worker *worker;
	unsigned long id;
	int i;

	for (i = 0; i < dev->nvqs; i++) {
		worker = kvhost_vq_worker(dev->vqs[i]);
		if (worker)
			worker->attached--;
		RCU_INIT_POINTER(dev->vqs[i]->worker, NULL);
	}
	/* No queuer may still see a worker once they are gone from the queues. */
	synchronize_rcu();
	xa_for_each(&dev->workers, id, worker)
		kvhost_worker_destroy(worker);
}

static long kvhost_dev_set_owner(struct kvhost_dev *dev)
{
	struct kvhost_worker *worker;
	int i;

	if (dev->mm)
		return -EBUSY;
	dev->mm = get_task_mm(current);
	if (!dev->mm)
		return -EINVAL;

	worker = kvhost_worker_create(dev);
	if (IS_ERR(worker)) {
		mmput(dev->mm);
		dev->mm = NULL;
		return PTR_ERR(worker);
	}
	for (i = 0; i < dev->nvqs; i++) {
		worker->attached++;
		rcu_assign_pointer(dev->vqs[i]->worker, worker);
	}
	dev->owner = get_pid(task_tgid(current));
	return 0;
}

static long kvhost_dev_new_worker(struct kvhost_dev *dev, void __user *argp)
{
	struct vhost_worker_state state = {};
	struct kvhost_worker *worker;

	worker = kvhost_worker_create(dev);
	if (IS_ERR(worker))
		return PTR_ERR(worker);
	state.worker_id = worker->id;
	if (copy_to_user(argp, &state, sizeof(state))) {
		kvhost_worker_destroy(worker);
		return -EFAULT;
	}
	return 0;
}

static long kvhost_dev_free_worker(struct kvhost_dev *dev, void __user *argp)
{
	struct vhost_worker_state state;
	struct kvhost_worker *worker;

	if (copy_from_user(&state, argp, sizeof(state)))
		return -EFAULT;
	worker = kvhost_dev_worker(dev, state.worker_id);
	if (!worker)
		return -ENODEV;
	if (worker->attached)
		return -EBUSY;
	kvhost_worker_destroy(worker);
	return 0;
}

static long kvhost_dev_set_features(struct kvhost_dev *dev, void __user *argp)
{
	u64 features;
	int i;

	if (copy_from_user(&features, argp, sizeof(features)))
		return -EFAULT;
	if (features & ~dev->features_supported)
		return -EOPNOTSUPP;
	dev->acked_features = features;
	for (i = 0; i < dev->nvqs; i++) {
		mutex_lock(&dev->vqs[i]->mutex);
		dev->vqs[i]->ring.features = features;
		mutex_unlock(&dev->vqs[i]->mutex);
	}
	return 0;
}

static long kvhost_dev_set_backend_features(struct kvhost_dev *dev,
					    void __user *argp)
{
	u64 features;

	if (copy_from_user(&features, argp, sizeof(features)))
		return -EFAULT;
	if (features & ~KVHOST_BACKEND_FEATURES)
		return -EOPNOTSUPP;
	dev->acked_backend_features = features;
	return 0;
}

static long kvhost_dev_set_mem_table(struct kvhost_dev *dev, void __user *argp)
{
	struct vhost_memory hdr;
	struct vhost_memory_region *regions = NULL;
	struct kvhost_memtable *mt, *old;
	u32 limit = READ_ONCE(max_mem_regions);
	int ret, i;

	if (copy_from_user(&hdr, argp, sizeof(hdr)))
		return -EFAULT;
	if (hdr.padding)
		return -EOPNOTSUPP;
	if (hdr.nregions > limit)
		return -E2BIG;
	if (hdr.nregions) {
		/* One copy of the regions: validated and used from here on. */
		regions = vmemdup_user(argp + offsetof(struct vhost_memory, regions),
				       array_size(hdr.nregions, sizeof(*regions)));
		if (IS_ERR(regions))
			return PTR_ERR(regions);
	}
	ret = kvhost_memtable_build(regions, hdr.nregions, limit, &mt);
	kvfree(regions);
	if (ret)
		return ret;

	/* Handlers read the table under their queue's mutex. */
	for (i = 0; i < dev->nvqs; i++) {
		mutex_lock(&dev->vqs[i]->mutex);
		dev->vqs[i]->ring.mt = mt;
		mutex_unlock(&dev->vqs[i]->mutex);
	}
	old = dev->mt;
	dev->mt = mt;
	kvhost_memtable_free(old);
	return 0;
}

/**
 * kvhost_dev_stop() - stop every queue and let handlers finish
 * @dev:	the device
 *
 * The backend detaches itself after this, then calls kvhost_dev_cleanup().
 * Context: process context, caller holds dev->mutex.
 */
void kvhost_dev_stop(struct kvhost_dev *dev)
{
	int i;

	lockdep_assert_held(&dev->mutex);
	for (i = 0; i < dev->nvqs; i++) {
		mutex_lock(&dev->vqs[i]->mutex);
		kvhost_vq_stop(dev->vqs[i]);
		mutex_unlock(&dev->vqs[i]->mutex);
	}
	kvhost_dev_flush(dev);
	for (i = 0; i < dev->nvqs; i++)
		if (dev->vqs[i]->handle_drain)
			dev->vqs[i]->handle_drain(dev->vqs[i]);
}
EXPORT_SYMBOL_GPL(kvhost_dev_stop);

/**
 * kvhost_dev_flush() - wait for all work queued on the device's workers
 * @dev:	the device
 *
 * Context: process context, caller holds dev->mutex and no queue mutex.
 */
void kvhost_dev_flush(struct kvhost_dev *dev)
{
	struct kvhost_worker *worker;
	unsigned long id;

	lockdep_assert_held(&dev->mutex);
	xa_for_each(&dev->workers, id, worker)
		kvhost_worker_flush(worker);
}
EXPORT_SYMBOL_GPL(kvhost_dev_flush);

/**
 * kvhost_dev_cleanup() - drop the owner and everything set up since
 * @dev:	the device, stopped and detached from its backend
 *
 * Leaves the device as kvhost_dev_init() made it, so VHOST_RESET_OWNER can
 * reuse it; the release path follows it with kvhost_dev_exit().
 * Context: process context, caller holds dev->mutex.
 */
void kvhost_dev_cleanup(struct kvhost_dev *dev)
{
	int i;

	lockdep_assert_held(&dev->mutex);
	for (i = 0; i < dev->nvqs; i++) {
		mutex_lock(&dev->vqs[i]->mutex);
		WARN_ON_ONCE(dev->vqs[i]->private_data);
		kvhost_vq_reset(dev->vqs[i]);
		mutex_unlock(&dev->vqs[i]->mutex);
	}
	kvhost_dev_free_workers(dev);
	kvhost_memtable_free(dev->mt);
	dev->mt = NULL;
	dev->acked_features = 0;
	dev->acked_backend_features = 0;
	if (dev->mm)
		mmput(dev->mm);
	dev->mm = NULL;
	put_pid(dev->owner);
	dev->owner = NULL;
}
EXPORT_SYMBOL_GPL(kvhost_dev_cleanup);

static void kvhost_vq_show_fdinfo(struct kvhost_virtqueue *vq, struct seq_file *m)
{
	struct kvhost_worker *worker;

	lockdep_assert_held(&vq->dev->mutex);
	worker = rcu_dereference_protected(vq->worker,
					   lockdep_is_held(&vq->dev->mutex));
	mutex_lock(&vq->mutex);
	seq_printf(m, "kvhost-vq:\t%u worker=%d num=%u started=%d broken=%d last_avail=%u last_used=%u kicks=%llu calls=%llu\n",
		   vq->index, worker ? (int)worker->id : -1, vq->ring.num,
		   vq->started, kvhost_vq_broken(vq), vq->ring.last_avail_idx,
		   vq->ring.last_used_idx, vq->stats.kicks, vq->stats.calls);
	mutex_unlock(&vq->mutex);
}

/**
 * kvhost_dev_show_fdinfo() - the device's state for /proc/PID/fdinfo/FD
 * @dev:	the device
 * @m:		the fdinfo file
 *
 * One "kvhost-" line each for the owner (pid and command, as the reader's
 * pid namespace sees it), the features acked, the queues in use, every
 * worker (id and thread id) and every queue in use; a backend's
 * show_fdinfo adds its own lines after these.  This is what kvhostctl
 * info lists, for any process's device, without owning it.
 *
 * Context: process context; takes dev->mutex and each vq->mutex.
 */
void kvhost_dev_show_fdinfo(struct kvhost_dev *dev, struct seq_file *m)
{
	struct kvhost_worker *worker;
	struct task_struct *task;
	char comm[TASK_COMM_LEN];
	unsigned long id;
	int i;

	if (mutex_lock_killable(&dev->mutex))
		return;
	task = dev->owner ? get_pid_task(dev->owner, PIDTYPE_TGID) : NULL;
	if (task) {
		get_task_comm(comm, task);
		put_task_struct(task);
		seq_printf(m, "kvhost-owner:\t%d %s\n", pid_vnr(dev->owner), comm);
	} else {
		seq_puts(m, "kvhost-owner:\t-1\n");
	}
	seq_printf(m, "kvhost-features:\t0x%016llx\n", dev->acked_features);
	seq_printf(m, "kvhost-queues:\t%d\n", dev->nvqs);
	xa_for_each(&dev->workers, id, worker)
		seq_printf(m, "kvhost-worker:\t%u %d\n", worker->id,
			   task_pid_vnr(worker->task));
	for (i = 0; i < dev->nvqs; i++)
		kvhost_vq_show_fdinfo(dev->vqs[i], m);
	mutex_unlock(&dev->mutex);
}
EXPORT_SYMBOL_GPL(kvhost_dev_show_fdinfo);

/**
 * kvhost_dev_ioctl() - the device-wide VHOST_* ioctls
 * @dev:	the device
 * @ioctl:	ioctl number
 * @argp:	user argument
 *
 * VHOST_RESET_OWNER is the backend's to handle (it must detach first).
 * Context: process context, caller holds dev->mutex.
 * Return: 0 or a negative errno; -ENOIOCTLCMD if @ioctl is not a device ioctl.
 */
long kvhost_dev_ioctl(struct kvhost_dev *dev, unsigned int ioctl,
		      void __user *argp)
{
	u64 features;
	long ret;

	lockdep_assert_held(&dev->mutex);
	/* These work before VHOST_SET_OWNER. */
	switch (ioctl) {
	case VHOST_SET_OWNER:
		return kvhost_dev_set_owner(dev);
	case VHOST_GET_FEATURES:
		features = dev->features_supported;
		return copy_to_user(argp, &features, sizeof(features)) ? -EFAULT : 0;
	case VHOST_GET_BACKEND_FEATURES:
		features = KVHOST_BACKEND_FEATURES;
		return copy_to_user(argp, &features, sizeof(features)) ? -EFAULT : 0;
	case VHOST_SET_FEATURES:
	case VHOST_SET_BACKEND_FEATURES:
	case VHOST_SET_MEM_TABLE:
	case VHOST_SET_LOG_BASE:
	case VHOST_SET_LOG_FD:
	case VHOST_NEW_WORKER:
	case VHOST_FREE_WORKER:
		break;
	default:
		return -ENOIOCTLCMD;
	}

	ret = kvhost_dev_check_owner(dev);
	if (ret)
		return ret;

	switch (ioctl) {
	case VHOST_SET_FEATURES:
		return kvhost_dev_set_features(dev, argp);
	case VHOST_SET_BACKEND_FEATURES:
		return kvhost_dev_set_backend_features(dev, argp);
	case VHOST_SET_MEM_TABLE:
		return kvhost_dev_set_mem_table(dev, argp);
	case VHOST_NEW_WORKER:
		return kvhost_dev_new_worker(dev, argp);
	case VHOST_FREE_WORKER:
		return kvhost_dev_free_worker(dev, argp);
	default:
		/* Dirty logging needs VHOST_F_LOG_ALL, which is not offered yet. */
		return -EOPNOTSUPP;
	}
}
EXPORT_SYMBOL_GPL(kvhost_dev_ioctl);

/**
 * kvhost_dev_init() - set up a device and its virtqueues
 * @dev:	the device, embedded in the backend's
 * @vqs:	the virtqueues, each with handle_kick already set
 * @nvqs:	number of virtqueues
 * @features:	virtio features the backend offers (KVHOST_CORE_FEATURES and
 *		its own)
 *
 * Context: process context, may sleep.
 * Return: 0.
 */
int kvhost_dev_init(struct kvhost_dev *dev, struct kvhost_virtqueue **vqs,
		    int nvqs, u64 features)
{
	struct kvhost_virtqueue *vq;
	int i;

	mutex_init(&dev->mutex);
	dev->vqs = vqs;
	dev->nvqs = nvqs;
	dev->nvqs_init = nvqs;
	dev->features_supported = features;
	dev->acked_features = 0;
	dev->acked_backend_features = 0;
	dev->mm = NULL;
	dev->owner = NULL;
	dev->mt = NULL;
	xa_init_flags(&dev->workers, XA_FLAGS_ALLOC);
	dev->nworkers = 0;
	dev->budget_descs = READ_ONCE(budget_descs) ?: 1;
	dev->budget_bytes = READ_ONCE(budget_bytes) ?: 1;

	for (i = 0; i < nvqs; i++) {
		vq = vqs[i];
		vq->dev = dev;
		vq->index = i;
		mutex_init(&vq->mutex);
		RCU_INIT_POINTER(vq->worker, NULL);
		kvhost_poll_init(&vq->kick_poll, vq->handle_kick, EPOLLIN, vq);
		vq->kick = NULL;
		vq->call_ctx = NULL;
		vq->error_ctx = NULL;
		vq->private_data = NULL;
		vq->ring.ops = &kvhost_split_ring_ops;
		/* Allocated at the first start: only queues in use cost memory. */
		vq->iov = NULL;
		vq->ring.used_batch = NULL;
		mutex_lock(&vq->mutex);
		kvhost_vq_reset(vq);
		mutex_unlock(&vq->mutex);
	}
	return 0;
}
EXPORT_SYMBOL_GPL(kvhost_dev_init);

/**
 * kvhost_dev_set_nvqs() - use only the first @nvqs virtqueues
 * @dev:	the device, without an owner
 * @nvqs:	1 .. the number given to kvhost_dev_init()
 *
 * For devices whose queue count userspace chooses (virtio-blk's
 * num_queues): ring ioctls on the others fail with -ENOBUFS, and the
 * device may have at most @nvqs workers.
 * Context: process context, caller holds dev->mutex.
 * Return: 0, -EINVAL for a count out of range, -EBUSY once owned.
 */
int kvhost_dev_set_nvqs(struct kvhost_dev *dev, int nvqs)
{
	lockdep_assert_held(&dev->mutex);
	if (dev->mm)
		return -EBUSY;
	if (nvqs < 1 || nvqs > dev->nvqs_init)
		return -EINVAL;
	dev->nvqs = nvqs;
	return 0;
}
EXPORT_SYMBOL_GPL(kvhost_dev_set_nvqs);

/**
 * kvhost_dev_exit() - free what kvhost_dev_init() allocated
 * @dev:	the device, after kvhost_dev_cleanup()
 *
 * Context: process context.
 */
void kvhost_dev_exit(struct kvhost_dev *dev)
{
	int i;

	for (i = 0; i < dev->nvqs_init; i++) {
		kfree(dev->vqs[i]->iov);
		kfree(dev->vqs[i]->ring.used_batch);
		mutex_destroy(&dev->vqs[i]->mutex);
	}
	xa_destroy(&dev->workers);
	mutex_destroy(&dev->mutex);
}
EXPORT_SYMBOL_GPL(kvhost_dev_exit);

static int __init kvhost_init(void)
{
	if (max_mem_regions > KVHOST_MEM_REGIONS_LIMIT || !max_mem_regions)
		return -EINVAL;
	return 0;
}

static void __exit kvhost_exit(void)
{
}

module_init(kvhost_init);
module_exit(kvhost_exit);

MODULE_LICENSE("GPL");
MODULE_VERSION(KVHOST_VERSION);
MODULE_DESCRIPTION("kvhost core: in-kernel virtio datapath for QEMU guests");
