/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kvhost-blk internals shared by the device (blk_dev.c) and the request
 * path (blk_req.c).
 *
 * Lock order: kvhost_dev.mutex, then one kvhost_virtqueue.mutex (the
 * core's, vhost/vhost.h).  The backing store (struct kvhost_blk_store) only
 * changes under dev->mutex with every queue stopped and drained, so a
 * handler holding its queue's mutex reads it without more locking.
 */
#ifndef KVHOST_BLK_H
#define KVHOST_BLK_H

#include <linux/types.h>
#include <linux/fs.h>
#include <linux/llist.h>
#include <linux/wait.h>
#include <linux/atomic.h>
#include <linux/uio.h>
#include <linux/virtio_blk.h>
#include "vhost.h"
#include "kvhost.h"

/* Data segments the device offers (seg_max): QEMU's for a 256-entry ring. */
#define KVHOST_BLK_SEG_MAX		254
/* Discard and write-zeroes segments per request, and sectors per segment. */
#define KVHOST_BLK_DWZ_SEG_MAX		16
#define KVHOST_BLK_DWZ_SECTORS_MAX	(1U << 22)
/* Bytes one bounced O_DIRECT transfer moves at a time (order-0 pages). */
#define KVHOST_BLK_BOUNCE_PAGES		64
/* Data segments kept in the request itself; more are allocated. */
#define KVHOST_BLK_INLINE_SEGS		8

#define KVHOST_BLK_FEATURES_ALWAYS				\
	(KVHOST_CORE_FEATURES |					\
	 (1ULL << VIRTIO_BLK_F_SEG_MAX) |			\
	 (1ULL << VIRTIO_BLK_F_BLK_SIZE) |			\
	 (1ULL << VIRTIO_BLK_F_TOPOLOGY) |			\
	 (1ULL << VIRTIO_BLK_F_MQ) |				\
	 (1ULL << VIRTIO_BLK_F_FLUSH))

/**
 * struct kvhost_blk_store - the attached backing store
 * @file:	the image file or block device; NULL when detached
 * @bdev:	set if @file is a block device
 * @ro:		read-only: writes, discards and write-zeroes fail
 * @nowait:	the file takes IOCB_NOWAIT, so the worker can try I/O
 *		without blocking and hand only what would block to the helper
 * @sectors:	capacity in 512-byte sectors
 * @lbs:	logical block size: every I/O is a multiple of it
 * @pbs:	physical block size
 * @io_min:	minimum I/O size (bytes)
 * @io_opt:	optimal I/O size (bytes)
 * @discard_sectors: max sectors per discard segment, 0 if none
 * @wzeroes_sectors: max sectors per write-zeroes segment, 0 if none
 * @wzeroes_unmap: write-zeroes with the unmap flag may deallocate
 */
struct kvhost_blk_store {
	struct file *file;
	struct block_device *bdev;
	bool ro;
	bool nowait;
	u64 sectors;
	u32 lbs;
	u32 pbs;
	u32 io_min;
	u32 io_opt;
	u32 discard_sectors;
	u32 wzeroes_sectors;
	bool wzeroes_unmap;
};

struct kvhost_blk_queue;

/* One DISCARD or WRITE_ZEROES range, in bytes. */
struct kvhost_blk_range {
	u64 pos;
	u32 len;
	u32 unmap;
};

/*
 * One request: from taking its chain until it is used.  Lives in the
 * queue's pool (one per ring entry), so a queue never runs out.
 */
struct kvhost_blk_req {
	struct kiocb iocb;
	struct kvhost_blk_queue *q;
	struct llist_node done_node;	/* on q->done once finished */
	struct kvhost_work punt_work;	/* on the helper */
	struct iov_iter iter;
	struct iov_iter iter_saved;	/* @iter before the last issue */
	struct iovec *iov;		/* data segments */
	union {
		struct iovec inline_iov[KVHOST_BLK_INLINE_SEGS];
		/* DISCARD, WRITE_ZEROES: the validated ranges */
		struct kvhost_blk_range ranges[KVHOST_BLK_DWZ_SEG_MAX];
	};
	unsigned int nsegs;		/* data segments or ranges */
	u8 __user *status;
	u64 start_ns;
	loff_t pos;			/* byte offset in the store */
	u32 len;			/* data bytes */
	u32 done;			/* data bytes transferred so far */
	u32 in_len;			/* bytes written for the driver */
	long res;			/* negative errno, else bytes */
	long async_res;			/* the kiocb's result, for its last holder */
	atomic_t issue_refs;		/* the submission call and the completion */
	u16 id;
	u8 type;			/* VIRTIO_BLK_T_* */
	u8 status_val;			/* VIRTIO_BLK_S_* once decided */
	bool write_started;		/* holds the file's freeze protection */
	bool bounce;			/* O_DIRECT refused the guest's buffers */
	u16 free_next;
};

/* Counters of a queue, guarded by vq.mutex. */
struct kvhost_blk_counters {
	u64 reads, writes, flushes, discards, write_zeroes, get_ids;
	u64 unsupported, read_bytes, write_bytes, errors, punted;
	u32 inflight_max;
	u64 lat_hist[KVHOST_BLK_LAT_BUCKETS];
};

struct kvhost_blk;

struct kvhost_blk_queue {
	struct kvhost_virtqueue vq;
	struct kvhost_blk *blk;
	/* Guarded by vq.mutex from here on. */
	bool enabled;			/* KVHOST_BLK_RUN_QUEUE 1 */
	struct kvhost_blk_req *reqs;	/* pool of @nreqs, at the first start */
	unsigned int nreqs;
	u16 free_head;			/* pool free list, U16_MAX if empty */
	struct kvhost_blk_counters stats;
	/*
	 * Blocking work of this queue (buffered I/O that would wait, FLUSH,
	 * DISCARD, WRITE_ZEROES), so one queue's waiting holds up no other.
	 * Set by the queue's first start and destroyed by detach, both under
	 * dev.mutex; requests in flight read it with the queue started.
	 */
	struct kvhost_worker *helper;
	/* Requests queued on @helper and not yet off its hands. */
	atomic_t helper_pending;
	/* Finished requests, any context; turned into used entries by @done_work. */
	struct llist_head done;
	struct kvhost_work done_work;
	/* Requests taken and not yet used; @drained waits for 0. */
	atomic_t inflight;
	wait_queue_head_t drained;
};

struct kvhost_blk {
	struct kvhost_dev dev;
	struct kvhost_virtqueue **vqs;
	struct kvhost_blk_queue *q;
	/* Guarded by dev.mutex. */
	struct kvhost_blk_store store;
	u8 serial[KVHOST_BLK_ID_BYTES];
};

/* blk_req.c */
void kvhost_blk_handle_kick(struct kvhost_work *work);
void kvhost_blk_handle_done(struct kvhost_work *work);
void kvhost_blk_handle_drain(struct kvhost_virtqueue *vq);
int kvhost_blk_pool_alloc(struct kvhost_blk_queue *q);
void kvhost_blk_pool_free(struct kvhost_blk_queue *q);

#endif /* KVHOST_BLK_H */
