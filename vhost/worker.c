// SPDX-License-Identifier: GPL-2.0
/*
 * Workers, work items and file polling.
 *
 * A worker is a kernel thread that adopts the owner's mm and cgroups and
 * runs queued work items in order.  Queueing takes no lock, so interrupt
 * handlers (block completions) and wait-queue callbacks (eventfd kicks,
 * socket readiness) can hand work to the owner's context.
 */
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/kthread.h>
#include <linux/sched/mm.h>
#include <linux/cgroup.h>
#include <linux/slab.h>
#include <linux/completion.h>
#include <linux/cred.h>
#include <linux/capability.h>
#include <linux/user_namespace.h>
#include <linux/hashtable.h>
#include <linux/spinlock.h>
#include <linux/uidgid.h>
#include "vhost.h"
#include "internal.h"
#include "compat.h"

static unsigned int max_workers;
module_param(max_workers, uint, 0644);
MODULE_PARM_DESC(max_workers,
		 "Workers one device may have (0, the default: one per queue; never more)");

/**
 * kvhost_work_init() - prepare a work item
 * @work:	the item
 * @fn:		what the worker calls
 *
 * Context: any.
 */
void kvhost_work_init(struct kvhost_work *work, kvhost_work_fn_t fn)
{
	clear_bit(KVHOST_WORK_QUEUED, &work->flags);
	work->fn = fn;
}
EXPORT_SYMBOL_GPL(kvhost_work_init);

static bool kvhost_worker_queue(struct kvhost_worker *worker,
				struct kvhost_work *work)
{
	if (test_and_set_bit(KVHOST_WORK_QUEUED, &work->flags))
		return false;
	/*
	 * llist_add() is a full barrier: the worker that takes the item sees
	 * everything stored before it was queued.
	 */
	llist_add(&work->node, &worker->work_list);
	wake_up_process(worker->task);
	return true;
}

/**
 * kvhost_vq_work_queue() - run a work item on a virtqueue's worker
 * @vq:		the virtqueue
 * @work:	the item; queued at most once until it starts running
 *
 * Context: any, including hard interrupt.
 * Return: true if queued now, false if it was already queued or the queue
 * has no worker (no owner).
 */
bool kvhost_vq_work_queue(struct kvhost_virtqueue *vq, struct kvhost_work *work)
{
	struct kvhost_worker *worker;
	bool queued = false;

	rcu_read_lock();
	worker = rcu_dereference(vq->worker);
	if (worker)
		queued = kvhost_worker_queue(worker, work);
	rcu_read_unlock();
	return queued;
}
EXPORT_SYMBOL_GPL(kvhost_vq_work_queue);

struct kvhost_flush_work {
	struct kvhost_work work;
	struct completion done;
};

static void kvhost_flush_fn(struct kvhost_work *work)
{
	complete(&container_of(work, struct kvhost_flush_work, work)->done);
}

/* Wait until everything queued on @worker before now has run. */
void kvhost_worker_flush(struct kvhost_worker *worker)
{
	struct kvhost_flush_work flush;

	init_completion(&flush.done);
	kvhost_work_init(&flush.work, kvhost_flush_fn);
	if (kvhost_worker_queue(worker, &flush.work))
		wait_for_completion(&flush.done);
}

/**
 * kvhost_vq_flush() - wait for the work queued on a virtqueue's worker
 * @vq:		the virtqueue
 *
 * Context: process context, caller holds vq->dev->mutex (which keeps the
 * worker attached) and not vq->mutex (the work may need it).
 */
void kvhost_vq_flush(struct kvhost_virtqueue *vq)
{
	struct kvhost_worker *worker;

	lockdep_assert_held(&vq->dev->mutex);
	worker = rcu_dereference_protected(vq->worker,
					   lockdep_is_held(&vq->dev->mutex));
	if (worker)
		kvhost_worker_flush(worker);
}
EXPORT_SYMBOL_GPL(kvhost_vq_flush);

static int kvhost_worker_fn(void *data)
{
	struct kvhost_worker *worker = data;
	struct kvhost_work *work, *next;
	struct llist_node *node;

	kthread_use_mm(worker->dev->mm);
	for (;;) {
		/* Set before looking, so a wake-up after the look is not lost. */
		set_current_state(TASK_INTERRUPTIBLE);
		node = llist_del_all(&worker->work_list);
		if (!node) {
			/* Stop only once everything queued has run. */
			if (kthread_should_stop()) {
				__set_current_state(TASK_RUNNING);
				break;
			}
			schedule();
			continue;
		}
		__set_current_state(TASK_RUNNING);
		node = llist_reverse_order(node);
		llist_for_each_entry_safe(work, next, node, node) {
			/* Cleared first: the item may requeue itself while it runs. */
			clear_bit(KVHOST_WORK_QUEUED, &work->flags);
			work->fn(work);
			cond_resched();
		}
	}
	kthread_unuse_mm(worker->dev->mm);
	return 0;
}

/*
 * Workers are kernel threads, which neither RLIMIT_NPROC nor the pids
 * cgroup controller refuse, so the limits a thread of the owner would
 * meet are applied here: a worker is created only if the owner could have
 * created a thread itself.  RLIMIT_NPROC counts the owner's user's tasks
 * and, per user, the kvhost workers running on their behalf.
 */
struct kvhost_user_workers {
	struct hlist_node node;
	kuid_t uid;
	unsigned long count;
};

static DEFINE_HASHTABLE(kvhost_user_workers, 6);
static DEFINE_SPINLOCK(kvhost_user_workers_lock);

static struct kvhost_user_workers *kvhost_user_workers_find(kuid_t uid)
{
	struct kvhost_user_workers *uw;

	lockdep_assert_held(&kvhost_user_workers_lock);
	hash_for_each_possible(kvhost_user_workers, uw, node, __kuid_val(uid))
		if (uid_eq(uw->uid, uid))
			return uw;
	return NULL;
}

/*
 * What fork() exempts from RLIMIT_NPROC.  Asked without auditing: not
 * having the capability is the normal case here, not a denial.
 */
static bool kvhost_nproc_exempt(void)
{
	return uid_eq(current_real_cred()->uid, GLOBAL_ROOT_UID) ||
	       ns_capable_noaudit(&init_user_ns, CAP_SYS_RESOURCE) ||
	       ns_capable_noaudit(&init_user_ns, CAP_SYS_ADMIN);
}

/* Count one more worker for the caller's user, if RLIMIT_NPROC allows it. */
static int kvhost_nproc_charge(struct kvhost_worker *worker)
{
	struct kvhost_user_workers *uw, *fresh;
	kuid_t uid = current_real_cred()->uid;
	unsigned long tasks, limit = rlimit(RLIMIT_NPROC);
	bool exempt = kvhost_nproc_exempt();
	int ret = 0;

	fresh = kzalloc(sizeof(*fresh), GFP_KERNEL_ACCOUNT);
	if (!fresh)
		return -ENOMEM;
	tasks = get_rlimit_value(task_ucounts(current), UCOUNT_RLIMIT_NPROC);
	spin_lock(&kvhost_user_workers_lock);
	uw = kvhost_user_workers_find(uid);
	if (!exempt && tasks + (uw ? uw->count : 0) + 1 > limit) {
		ret = -EAGAIN;
		goto unlock;
	}
	if (!uw) {
		uw = fresh;
		fresh = NULL;
		uw->uid = uid;
		hash_add(kvhost_user_workers, &uw->node, __kuid_val(uid));
	}
	uw->count++;
	worker->uid = uid;
unlock:
	spin_unlock(&kvhost_user_workers_lock);
	kfree(fresh);
	return ret;
}

static void kvhost_nproc_uncharge(struct kvhost_worker *worker)
{
	struct kvhost_user_workers *uw;

	spin_lock(&kvhost_user_workers_lock);
	uw = kvhost_user_workers_find(worker->uid);
	if (!WARN_ON_ONCE(!uw) && !--uw->count) {
		hash_del(&uw->node);
		kfree(uw);
	}
	spin_unlock(&kvhost_user_workers_lock);
}

/* Workers one device may have: one per queue, or fewer by max_workers. */
static unsigned int kvhost_dev_max_workers(const struct kvhost_dev *dev)
{
	unsigned int limit = READ_ONCE(max_workers);

	return limit ? min_t(unsigned int, limit, dev->nvqs) : dev->nvqs;
}

/*
 * A thread of the owner of @dev: charged to the owner's user, in the
 * owner's cgroups, running in the owner's mm.  Not yet running.
 */
static struct kvhost_worker *kvhost_worker_spawn(struct kvhost_dev *dev,
						 const char *role)
{
	struct kvhost_worker *worker;
	struct task_struct *task;
	int ret;

	lockdep_assert_held(&dev->mutex);
	worker = kzalloc(sizeof(*worker), GFP_KERNEL_ACCOUNT);
	if (!worker)
		return ERR_PTR(-ENOMEM);
	worker->dev = dev;
	init_llist_head(&worker->work_list);
	ret = kvhost_nproc_charge(worker);
	if (ret)
		goto free_worker;

	task = kthread_create(kvhost_worker_fn, worker, "kvhost%s-%d", role,
			      task_pid_nr(current));
	if (IS_ERR(task)) {
		ret = PTR_ERR(task);
		goto uncharge_nproc;
	}
	worker->task = task;

	ret = cgroup_attach_task_all(current, task);
	if (ret)
		goto stop_task;
	/* Attaching charged the owner's pids cgroup, past pids.max if need be. */
	if (kvhost_pids_over_limit(task)) {
		ret = -EAGAIN;
		goto stop_task;
	}
	return worker;

stop_task:
	/* The thread exits without running a work: its pids charge goes too. */
	kthread_stop(task);
uncharge_nproc:
	kvhost_nproc_uncharge(worker);
free_worker:
	kfree(worker);
	return ERR_PTR(ret);
}

/* Run what is queued, then stop the thread and free it. */
static void kvhost_worker_reap(struct kvhost_worker *worker)
{
	kthread_stop(worker->task);
	kvhost_nproc_uncharge(worker);
	kfree(worker);
}

/**
 * kvhost_worker_create() - start a worker for the owner of @dev
 * @dev:	device whose dev->mm is already set to the caller's mm
 *
 * Context: process context of the owner, dev->mutex held.
 * Return: the worker, or an ERR_PTR: -ENOSPC if the device has as many
 * workers as it may, -EAGAIN if the owner's RLIMIT_NPROC or pids cgroup
 * would not let it create a thread, -ENOMEM.
 */
struct kvhost_worker *kvhost_worker_create(struct kvhost_dev *dev)
{
	struct kvhost_worker *worker;
	u32 id;
	int ret;

	lockdep_assert_held(&dev->mutex);
	if (dev->nworkers >= kvhost_dev_max_workers(dev))
		return ERR_PTR(-ENOSPC);
	worker = kvhost_worker_spawn(dev, "");
	if (IS_ERR(worker))
		return worker;
	ret = xa_alloc(&dev->workers, &id, worker, xa_limit_32b, GFP_KERNEL);
	if (ret) {
		kvhost_worker_reap(worker);
		return ERR_PTR(ret);
	}
	worker->id = id;
	dev->nworkers++;
	wake_up_process(worker->task);
	return worker;
}

/*
 * Run what is queued, then stop the thread.  No virtqueue may point at
 * @worker any more and an RCU grace period must have passed, so nothing
 * can queue on it.
 */
void kvhost_worker_destroy(struct kvhost_worker *worker)
{
	struct kvhost_dev *dev = worker->dev;

	lockdep_assert_held(&dev->mutex);
	WARN_ON_ONCE(worker->attached);
	xa_erase(&dev->workers, worker->id);
	dev->nworkers--;
	kvhost_worker_reap(worker);
}

/**
 * kvhost_helper_create() - a thread for a backend's blocking work
 * @dev:	device with an owner
 *
 * A helper is a worker no queue runs on: the backend queues on it what
 * would block a queue's worker (buffered file I/O, fsync, fallocate), in
 * the owner's mm and cgroups and charged to the owner like a worker, but
 * outside the device's worker ids and the max_workers limit.
 * Context: process context of the owner, dev->mutex held.
 * Return: the helper, or an ERR_PTR: -EAGAIN (RLIMIT_NPROC, pids.max),
 * -ENOMEM.
 */
struct kvhost_worker *kvhost_helper_create(struct kvhost_dev *dev)
{
	struct kvhost_worker *helper;

	if (!dev->mm)
		return ERR_PTR(-EPERM);
	helper = kvhost_worker_spawn(dev, "-helper");
	if (!IS_ERR(helper))
		wake_up_process(helper->task);
	return helper;
}
EXPORT_SYMBOL_GPL(kvhost_helper_create);

/**
 * kvhost_helper_queue() - run a work item on a helper
 * @helper:	from kvhost_helper_create()
 * @work:	the item; queued at most once until it starts running
 *
 * Items run one at a time, in the order queued.
 * Context: any, including hard interrupt.
 * Return: true if queued now, false if it was already queued.
 */
bool kvhost_helper_queue(struct kvhost_worker *helper, struct kvhost_work *work)
{
	return kvhost_worker_queue(helper, work);
}
EXPORT_SYMBOL_GPL(kvhost_helper_queue);

/**
 * kvhost_helper_destroy() - run what is queued on a helper, then stop it
 * @helper:	from kvhost_helper_create(); nothing may queue on it any more
 *
 * Context: process context, dev->mutex held.
 */
void kvhost_helper_destroy(struct kvhost_worker *helper)
{
	lockdep_assert_held(&helper->dev->mutex);
	kvhost_worker_reap(helper);
}
EXPORT_SYMBOL_GPL(kvhost_helper_destroy);

static void kvhost_poll_func(struct file *file, wait_queue_head_t *wqh,
			     poll_table *pt)
{
	struct kvhost_poll *poll = container_of(pt, struct kvhost_poll, table);

	poll->wqh = wqh;
	add_wait_queue(wqh, &poll->wait);
}

/* Called under the polled file's wait-queue lock, possibly in interrupt. */
static int kvhost_poll_wakeup(wait_queue_entry_t *wait, unsigned int mode,
			      int sync, void *key)
{
	struct kvhost_poll *poll = container_of(wait, struct kvhost_poll, wait);

	if (!(key_to_poll(key) & poll->mask))
		return 0;
	kvhost_poll_queue(poll);
	return 0;
}

/**
 * kvhost_poll_init() - prepare to run @fn when a file polls ready
 * @poll:	the poll object
 * @fn:		work function, run on @vq's worker
 * @mask:	poll events that trigger it
 * @vq:		the virtqueue whose worker runs @fn
 *
 * Context: any.
 */
void kvhost_poll_init(struct kvhost_poll *poll, kvhost_work_fn_t fn,
		      __poll_t mask, struct kvhost_virtqueue *vq)
{
	init_waitqueue_func_entry(&poll->wait, kvhost_poll_wakeup);
	init_poll_funcptr(&poll->table, kvhost_poll_func);
	poll->mask = mask;
	poll->vq = vq;
	poll->wqh = NULL;
	kvhost_work_init(&poll->work, fn);
}
EXPORT_SYMBOL_GPL(kvhost_poll_init);

/**
 * kvhost_poll_start() - start watching @file
 * @poll:	the poll object, not watching anything
 * @file:	the file; the caller keeps a reference while it is watched
 *
 * Queues the work at once if @file is already ready.
 * Context: process context; the caller serialises start and stop.
 * Return: 0, or -EINVAL if the file reports an error.
 */
int kvhost_poll_start(struct kvhost_poll *poll, struct file *file)
{
	__poll_t mask;

	if (poll->wqh)
		return 0;
	mask = vfs_poll(file, &poll->table);
	if (mask)
		kvhost_poll_wakeup(&poll->wait, 0, 0, poll_to_key(mask));
	if (mask & EPOLLERR) {
		kvhost_poll_stop(poll);
		return -EINVAL;
	}
	return 0;
}
EXPORT_SYMBOL_GPL(kvhost_poll_start);

/**
 * kvhost_poll_stop() - stop watching
 * @poll:	the poll object
 *
 * Work already queued may still run: flush the virtqueue to wait for it.
 * Context: process or worker context; the caller serialises start and stop.
 */
void kvhost_poll_stop(struct kvhost_poll *poll)
{
	if (poll->wqh) {
		remove_wait_queue(poll->wqh, &poll->wait);
		poll->wqh = NULL;
	}
}
EXPORT_SYMBOL_GPL(kvhost_poll_stop);

/**
 * kvhost_poll_queue() - run the poll's work now, as if the file woke us
 * @poll:	the poll object
 *
 * Context: any.
 */
void kvhost_poll_queue(struct kvhost_poll *poll)
{
	kvhost_vq_work_queue(poll->vq, &poll->work);
}
EXPORT_SYMBOL_GPL(kvhost_poll_queue);
