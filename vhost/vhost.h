/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kvhost core: device, virtqueue, worker and poll objects shared by every
 * backend.  The core knows no device type: a backend embeds struct
 * kvhost_dev and struct kvhost_virtqueue, sets each queue's handle_kick and
 * calls the kvhost_* API below.
 *
 * Lock order (outermost first):
 *
 *   kvhost_dev.mutex
 *     kvhost_virtqueue.mutex       several at once only in index order
 *       (eventfd / socket wait-queue locks, taken by the poll machinery)
 *
 * The worker takes a virtqueue mutex inside its work functions and never
 * the device mutex.  Work queueing (kvhost_vq_work_queue) takes no lock and
 * is safe from any context, hard interrupts included.
 */
#ifndef KVHOST_VHOST_H
#define KVHOST_VHOST_H

#include <linux/types.h>
#include <linux/uidgid.h>
#include <linux/mutex.h>
#include <linux/llist.h>
#include <linux/poll.h>
#include <linux/wait.h>
#include <linux/file.h>
#include <linux/eventfd.h>
#include <linux/xarray.h>
#include <linux/rcupdate.h>
#include <linux/uio.h>
#include <linux/vhost_types.h>
#include <linux/seq_file.h>
#include "vring.h"

struct kvhost_work;
struct kvhost_dev;
struct kvhost_virtqueue;

typedef void (*kvhost_work_fn_t)(struct kvhost_work *work);

#define KVHOST_WORK_QUEUED	0

struct kvhost_work {
	struct llist_node node;
	kvhost_work_fn_t fn;
	unsigned long flags;
};

/*
 * A worker: one kernel thread running in the owner's mm and cgroups.  A
 * device starts with one; VHOST_NEW_WORKER adds more (at most one per
 * queue, within the owner's RLIMIT_NPROC and pids.max) and
 * VHOST_ATTACH_VRING_WORKER moves a queue onto one, so one device can use
 * several CPUs.
 */
struct kvhost_worker {
	struct task_struct *task;
	struct llist_head work_list;
	struct kvhost_dev *dev;
	u32 id;
	kuid_t uid;		/* user charged for it (RLIMIT_NPROC) */
	/* Queues attached; guarded by dev->mutex. */
	unsigned int attached;
};

/* Runs a work on a virtqueue's worker when a file (eventfd, socket) polls ready. */
struct kvhost_poll {
	poll_table table;
	wait_queue_head_t *wqh;
	wait_queue_entry_t wait;
	struct kvhost_work work;
	__poll_t mask;
	struct kvhost_virtqueue *vq;
};

/**
 * struct kvhost_vq_stats - per-queue event counters, for device info
 * @kicks:	kick wake-ups that ran the handler
 * @calls:	call eventfd signals
 * @requeues:	handler runs cut short by the work budget
 */
struct kvhost_vq_stats {
	u64 kicks;
	u64 calls;
	u64 requeues;
};

struct kvhost_virtqueue {
	struct kvhost_dev *dev;
	unsigned int index;
	/* Set by the backend before kvhost_dev_init(); runs on kicks. */
	kvhost_work_fn_t handle_kick;
	/*
	 * Optional, set with handle_kick: a backend whose chains complete
	 * after the handler returned (block I/O) waits here until every chain
	 * it took is used.  Called after the ring stopped and its worker was
	 * flushed, with dev->mutex held and vq->mutex not.
	 */
	void (*handle_drain)(struct kvhost_virtqueue *vq);
	struct kvhost_poll kick_poll;

	/* Worker serving this queue: written under dev->mutex, read under RCU. */
	struct kvhost_worker __rcu *worker;

	/* Guards everything below; the worker holds it while it serves the queue. */
	struct mutex mutex;
	struct kvhost_vring ring;
	/*
	 * Ring configuration (SET_VRING_NUM/ADDR/BASE) is only stored while
	 * the ring is stopped and takes effect at kvhost_vq_start(): the
	 * ring in use and the one configured can never differ.
	 */
	struct vhost_vring_addr addr;
	bool addr_set;
	bool started;		/* between kvhost_vq_start() and a stop */
	struct file *kick;
	struct eventfd_ctx *call_ctx;
	struct eventfd_ctx *error_ctx;
	bool error_signalled;
	void *private_data;	/* the backend's, non-NULL while attached */
	u32 busyloop_timeout;
	struct iovec *iov;	/* KVHOST_IOV_MAX segments for handlers */
	struct kvhost_vq_stats stats;
};

struct kvhost_dev {
	/* Guards everything below; every ioctl runs under it. */
	struct mutex mutex;
	struct mm_struct *mm;
	struct pid *owner;		/* the owner's thread group, for fdinfo */
	struct kvhost_virtqueue **vqs;
	int nvqs;			/* in use (kvhost_dev_set_nvqs) */
	int nvqs_init;			/* set up by kvhost_dev_init() */
	u64 features_supported;		/* what the backend offers */
	u64 acked_features;
	u64 acked_backend_features;
	struct kvhost_memtable *mt;
	struct xarray workers;		/* id -> struct kvhost_worker */
	unsigned int nworkers;		/* entries in @workers */
	/* Per handler run: descriptors and bytes before the worker yields. */
	unsigned int budget_descs;
	unsigned int budget_bytes;
};

/* Virtio features every kvhost backend gets from the core. */
#define KVHOST_CORE_FEATURES					\
	((1ULL << VIRTIO_F_VERSION_1) |				\
	 (1ULL << VIRTIO_RING_F_INDIRECT_DESC) |		\
	 (1ULL << VIRTIO_RING_F_EVENT_IDX) |			\
	 (1ULL << VIRTIO_F_NOTIFY_ON_EMPTY) |			\
	 (1ULL << VIRTIO_F_ANY_LAYOUT))

/* Device life cycle. */
int kvhost_dev_init(struct kvhost_dev *dev, struct kvhost_virtqueue **vqs,
		    int nvqs, u64 features);
int kvhost_dev_set_nvqs(struct kvhost_dev *dev, int nvqs);
void kvhost_dev_stop(struct kvhost_dev *dev);
void kvhost_dev_cleanup(struct kvhost_dev *dev);
void kvhost_dev_exit(struct kvhost_dev *dev);
int kvhost_dev_check_owner(struct kvhost_dev *dev);
long kvhost_dev_ioctl(struct kvhost_dev *dev, unsigned int ioctl,
		      void __user *argp);
long kvhost_vring_ioctl(struct kvhost_dev *dev, unsigned int ioctl,
			void __user *argp);
void kvhost_dev_flush(struct kvhost_dev *dev);
void kvhost_dev_show_fdinfo(struct kvhost_dev *dev, struct seq_file *m);

/*
 * Work and polling.
 *
 * Asynchronous backends (block I/O completing in interrupt context) keep
 * their own llist of finished requests and queue one work item with
 * kvhost_vq_work_queue(); that work takes vq->mutex, turns every finished
 * request into a used element and calls kvhost_vq_flush_used() once, so a
 * burst of completions costs one used-index update and at most one call.
 */
void kvhost_work_init(struct kvhost_work *work, kvhost_work_fn_t fn);
bool kvhost_vq_work_queue(struct kvhost_virtqueue *vq, struct kvhost_work *work);
void kvhost_vq_flush(struct kvhost_virtqueue *vq);
struct kvhost_worker *kvhost_helper_create(struct kvhost_dev *dev);
bool kvhost_helper_queue(struct kvhost_worker *helper, struct kvhost_work *work);
void kvhost_helper_destroy(struct kvhost_worker *helper);
void kvhost_poll_init(struct kvhost_poll *poll, kvhost_work_fn_t fn,
		      __poll_t mask, struct kvhost_virtqueue *vq);
int kvhost_poll_start(struct kvhost_poll *poll, struct file *file);
void kvhost_poll_stop(struct kvhost_poll *poll);
void kvhost_poll_queue(struct kvhost_poll *poll);

/*
 * Ring life cycle, for backends; caller holds vq->mutex.  A backend starts
 * a queue when it can serve it (vhost-net: at VHOST_NET_SET_BACKEND) and
 * stops it when it detaches; VHOST_GET_VRING_BASE also stops it.  Only a
 * stopped queue takes SET_VRING_NUM, SET_VRING_ADDR and SET_VRING_BASE.
 */
int kvhost_vq_start(struct kvhost_virtqueue *vq);
void kvhost_vq_stop(struct kvhost_virtqueue *vq);

/* Ring access for handlers; caller holds vq->mutex. */
int kvhost_vq_pop(struct kvhost_virtqueue *vq, struct iovec *iov,
		  unsigned int iov_max, struct kvhost_chain *chain);
void kvhost_vq_unpop(struct kvhost_virtqueue *vq, unsigned int n);
int kvhost_vq_add_used(struct kvhost_virtqueue *vq, u16 id, u32 len);
void kvhost_vq_flush_used(struct kvhost_virtqueue *vq);
int kvhost_vq_enable_notify(struct kvhost_virtqueue *vq);
void kvhost_vq_disable_notify(struct kvhost_virtqueue *vq);
bool kvhost_vq_budget_spent(struct kvhost_virtqueue *vq, unsigned int descs,
			    u64 bytes);
void kvhost_vq_mark_broken(struct kvhost_virtqueue *vq, int err);
bool kvhost_vq_ready(struct kvhost_virtqueue *vq);
bool kvhost_vq_work_pending(struct kvhost_virtqueue *vq);

static inline bool kvhost_vq_broken(const struct kvhost_virtqueue *vq)
{
	return kvhost_vring_broken(&vq->ring);
}

static inline bool kvhost_vq_has_feature(const struct kvhost_virtqueue *vq,
					 unsigned int bit)
{
	return kvhost_vring_has_feature(&vq->ring, bit);
}

/* Kick handlers are queued on the kick poll's work: recover the queue. */
static inline struct kvhost_virtqueue *kvhost_work_to_vq(struct kvhost_work *work)
{
	return container_of(work, struct kvhost_poll, work)->vq;
}

#endif /* KVHOST_VHOST_H */
