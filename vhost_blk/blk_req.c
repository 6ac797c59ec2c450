// SPDX-License-Identifier: GPL-2.0
/*
 * kvhost-blk requests: from a chain taken off the ring to its used entry.
 *
 * The kick handler, on the queue's worker, takes every available chain,
 * validates it (virtio 1.x 5.2.6: a 16-byte readable header, data, and the
 * status byte as the last writable byte) and starts it without waiting:
 *
 *   IN/OUT on a file that takes IOCB_NOWAIT (block devices, O_DIRECT and
 *   most filesystems): an asynchronous kiocb on the guest's pages, as
 *   io_uring issues one; whatever would block (-EAGAIN, a short buffered
 *   transfer, a frozen filesystem) goes on to the helper;
 *   IN/OUT on other files, FLUSH, DISCARD, WRITE_ZEROES: on the queue's
 *   helper thread, in the owner's mm, so the reads and writes behind them
 *   never wait for them;
 *   GET_ID and everything malformed or unsupported: at once.
 *
 * A finished request goes on the queue's lock-free done list.  Whoever
 * holds the queue's mutex next writes the status bytes, adds the used
 * entries and publishes them with one used-index update and at most one
 * call per batch: the kick handler at its end for what it finished, the
 * helper at the end of its batch for what it finished, and for a kiocb
 * completion (any context) the done work on the queue's worker.
 *
 * Every chain taken is in flight until it is used; kvhost_blk_handle_drain()
 * waits for that, so a stopped queue is exact (nothing lost, nothing done
 * twice, nothing written to a ring the owner took back).
 */
#include <linux/kernel.h>
#include <linux/fs.h>
#include <linux/falloc.h>
#include <linux/blkdev.h>
#include <linux/slab.h>
#include <linux/mm.h>
#include <linux/uaccess.h>
#include <linux/ktime.h>
#include <linux/log2.h>
#include <linux/virtio_byteorder.h>
#include "blk.h"
#include "compat.h"

static inline struct kvhost_blk_queue *kvhost_blk_vq_to_q(struct kvhost_virtqueue *vq)
{
	return container_of(vq, struct kvhost_blk_queue, vq);
}

static bool kvhost_blk_le(const struct kvhost_virtqueue *vq)
{
	return kvhost_vq_has_feature(vq, VIRTIO_F_VERSION_1) ||
	       virtio_legacy_is_little_endian();
}

/* ---- the pool ---- */

/**
 * kvhost_blk_pool_alloc() - one request per ring entry, at the queue's start
 * @q:	the queue, stopped and drained
 *
 * Context: process context, caller holds q->vq.mutex.
 * Return: 0 or -ENOMEM.
 */
int kvhost_blk_pool_alloc(struct kvhost_blk_queue *q)
{
	unsigned int num = q->vq.ring.num, i;

	lockdep_assert_held(&q->vq.mutex);
	if (WARN_ON_ONCE(atomic_read(&q->inflight)))
		return -EBUSY;
	if (q->reqs && q->nreqs == num)
		goto link;
	kvhost_blk_pool_free(q);
	q->reqs = kvcalloc(num, sizeof(*q->reqs), GFP_KERNEL_ACCOUNT);
	if (!q->reqs)
		return -ENOMEM;
	q->nreqs = num;
link:
	for (i = 0; i < num; i++) {
		q->reqs[i].q = q;
		q->reqs[i].free_next = i + 1 < num ? i + 1 : U16_MAX;
	}
	q->free_head = 0;
	return 0;
}

/**
 * kvhost_blk_pool_free() - drop the pool of a drained queue
 * @q:	the queue
 *
 * Context: process context, caller holds q->vq.mutex.
 */
void kvhost_blk_pool_free(struct kvhost_blk_queue *q)
{
	lockdep_assert_held(&q->vq.mutex);
	kvfree(q->reqs);
	q->reqs = NULL;
	q->nreqs = 0;
	q->free_head = U16_MAX;
}

static struct kvhost_blk_req *kvhost_blk_req_get(struct kvhost_blk_queue *q)
{
	struct kvhost_blk_req *req;

	if (q->free_head == U16_MAX)
		return NULL;
	req = &q->reqs[q->free_head];
	q->free_head = req->free_next;
	req->iov = req->inline_iov;
	req->nsegs = 0;
	req->len = 0;
	req->done = 0;
	req->in_len = 0;
	req->res = 0;
	req->status = NULL;
	req->status_val = VIRTIO_BLK_S_OK;
	req->write_started = false;
	req->bounce = false;
	return req;
}

static void kvhost_blk_req_put(struct kvhost_blk_req *req)
{
	struct kvhost_blk_queue *q = req->q;

	if (req->iov != req->inline_iov)
		kfree(req->iov);
	req->iov = req->inline_iov;
	req->free_next = q->free_head;
	q->free_head = req - q->reqs;
}

/* ---- completion ---- */

/*
 * A request finished by the worker's kick handler or by the helper, each of
 * which publishes its own batch (kvhost_blk_reap(), kvhost_blk_helper_done()):
 * no done work, no wake-up.
 */
static void kvhost_blk_req_finish_here(struct kvhost_blk_req *req)
{
	/* llist_add() orders everything written to @req before it. */
	llist_add(&req->done_node, &req->q->done);
}

/* Context: any (kiocb completion in interrupt, or the store's own thread). */
static void kvhost_blk_req_finish(struct kvhost_blk_req *req)
{
	kvhost_blk_req_finish_here(req);
	kvhost_vq_work_queue(&req->q->vq, &req->q->done_work);
}

static void kvhost_blk_end_write(struct kvhost_blk_req *req)
{
	struct super_block *sb;

	if (!req->write_started)
		return;
	sb = file_inode(req->iocb.ki_filp)->i_sb;
	/* Taken over from the submitter, as io_uring's kiocb_end_write(). */
	__sb_writers_acquired(sb, SB_FREEZE_WRITE);
	sb_end_write(sb);
	req->write_started = false;
}

/* The status of a finished request, from its result. */
static u8 kvhost_blk_req_status(struct kvhost_blk_req *req)
{
	if (req->status_val != VIRTIO_BLK_S_OK)
		return req->status_val;
	if (req->res < 0)
		return VIRTIO_BLK_S_IOERR;
	switch (req->type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT:
		/* A short transfer within the capacity is the store failing. */
		return req->done == req->len ? VIRTIO_BLK_S_OK : VIRTIO_BLK_S_IOERR;
	default:
		return VIRTIO_BLK_S_OK;
	}
}

static void kvhost_blk_count(struct kvhost_blk_queue *q,
			     struct kvhost_blk_req *req, u8 status)
{
	struct kvhost_blk_counters *s = &q->stats;
	u64 us = div_u64(ktime_get_ns() - req->start_ns, NSEC_PER_USEC);
	unsigned int bucket = us ? ilog2(us) : 0;

	s->lat_hist[min_t(unsigned int, bucket, KVHOST_BLK_LAT_BUCKETS - 1)]++;
	if (status == VIRTIO_BLK_S_UNSUPP) {
		s->unsupported++;
		return;
	}
	if (status != VIRTIO_BLK_S_OK) {
		s->errors++;
		return;
	}
	switch (req->type) {
	case VIRTIO_BLK_T_IN:
		s->reads++;
		s->read_bytes += req->len;
		break;
	case VIRTIO_BLK_T_OUT:
		s->writes++;
		s->write_bytes += req->len;
		break;
	case VIRTIO_BLK_T_FLUSH:
		s->flushes++;
		break;
	case VIRTIO_BLK_T_GET_ID:
		s->get_ids++;
		break;
	case VIRTIO_BLK_T_DISCARD:
		s->discards++;
		break;
	case VIRTIO_BLK_T_WRITE_ZEROES:
		s->write_zeroes++;
		break;
	}
}

/* Status byte and used entry of one finished request; then it is free. */
static void kvhost_blk_req_use(struct kvhost_blk_queue *q,
			       struct kvhost_blk_req *req)
{
	u8 status;

	kvhost_blk_end_write(req);
	status = kvhost_blk_req_status(req);
	if (req->type == VIRTIO_BLK_T_IN)
		req->in_len = status == VIRTIO_BLK_S_OK ? req->len : 0;
	kvhost_blk_count(q, req, status);
	/*
	 * The status address was translated through the memory table when
	 * the chain was taken; a fault now means the owner unmapped guest
	 * memory under us.
	 */
	if (put_user(status, req->status))
		kvhost_vq_mark_broken(&q->vq, -EFAULT);
	else
		kvhost_vq_add_used(&q->vq, req->id, req->in_len + 1);
	kvhost_blk_req_put(req);
}

/* Use every finished request; caller holds q->vq.mutex (worker or helper). */
static void kvhost_blk_reap(struct kvhost_blk_queue *q)
{
	struct kvhost_blk_req *req, *next;
	struct llist_node *node;
	int n = 0;

	lockdep_assert_held(&q->vq.mutex);
	node = llist_del_all(&q->done);
	if (!node)
		return;
	node = llist_reverse_order(node);
	llist_for_each_entry_safe(req, next, node, done_node) {
		kvhost_blk_req_use(q, req);
		n++;
	}
	kvhost_vq_flush_used(&q->vq);
	/*
	 * Only now, with the used index published: a drainer that sees the
	 * count reach 0 finds every request of it in the ring.  Pairs with
	 * the wait_event() in kvhost_blk_handle_drain().
	 */
	if (atomic_sub_and_test(n, &q->inflight))
		wake_up_all(&q->drained);
}

/**
 * kvhost_blk_handle_done() - the done work: finished requests become used
 * @work:	q->done_work
 *
 * Context: the queue's worker.
 */
void kvhost_blk_handle_done(struct kvhost_work *work)
{
	struct kvhost_blk_queue *q = container_of(work, struct kvhost_blk_queue,
						  done_work);

	mutex_lock(&q->vq.mutex);
	kvhost_blk_reap(q);
	mutex_unlock(&q->vq.mutex);
}

/**
 * kvhost_blk_handle_drain() - wait until every chain taken is used
 * @vq:		a stopped queue whose worker was flushed
 *
 * Context: process context, dev->mutex held, vq->mutex not.
 */
void kvhost_blk_handle_drain(struct kvhost_virtqueue *vq)
{
	struct kvhost_blk_queue *q = kvhost_blk_vq_to_q(vq);

	lockdep_assert_held(&vq->dev->mutex);
	/* The helper and the store finish what they hold: I/O cannot be taken back. */
	wait_event(q->drained, !atomic_read(&q->inflight));
	/* The done work that published the last ones has released the mutex. */
	kvhost_vq_flush(vq);
}

/* ---- the helper ---- */

static void kvhost_blk_punt_fn(struct kvhost_work *work);

/* Hand @req to its queue's helper. Context: any. */
static void kvhost_blk_helper_queue(struct kvhost_blk_req *req)
{
	struct kvhost_blk_queue *q = req->q;

	atomic_inc(&q->helper_pending);
	kvhost_work_init(&req->punt_work, kvhost_blk_punt_fn);
	kvhost_helper_queue(q->helper, &req->punt_work);
}

/*
 * Publish what the helper finished, from the helper itself: one wake-up of
 * the worker less per batch, which is what a punted request pays most for.
 * If the worker holds the queue it reaps at the end of its kick, and the
 * done work covers a publication that raced past that.
 */
static void kvhost_blk_helper_publish(struct kvhost_blk_queue *q)
{
	if (llist_empty(&q->done))
		return;
	if (!mutex_trylock(&q->vq.mutex)) {
		kvhost_vq_work_queue(&q->vq, &q->done_work);
		return;
	}
	kvhost_blk_reap(q);
	mutex_unlock(&q->vq.mutex);
}

/*
 * A punted request is off the helper's hands (finished, or under way as a
 * kiocb).  The helper's batch for @q ends when none of its requests is left
 * queued there; that batch is published now.
 */
static void kvhost_blk_helper_done(struct kvhost_blk_queue *q)
{
	if (atomic_dec_and_test(&q->helper_pending))
		kvhost_blk_helper_publish(q);
}

/* ---- I/O ---- */

static void kvhost_blk_iter_restore(struct kvhost_blk_req *req)
{
	req->iter = req->iter_saved;
}

/* What a kiocb's completion does, once its submission call has returned. */
static void kvhost_blk_rw_done(struct kvhost_blk_req *req, long res)
{
	/*
	 * A nonblocking submission the block layer could not take (no tag,
	 * several bios): nothing was transferred, issue it again blocking.
	 */
	if (res == -EAGAIN && req->iocb.ki_flags & IOCB_NOWAIT) {
		kvhost_blk_iter_restore(req);
		kvhost_blk_helper_queue(req);
		return;
	}
	if (res > 0)
		req->done += res;
	req->res = res < 0 ? res : 0;
	kvhost_blk_req_finish(req);
}

/*
 * The kiocb's completion, in any context, maybe before read_iter() or
 * write_iter() has returned -EIOCBQUEUED: a block device can end the bio
 * inside submit_bio() (null_blk, or no tag for a REQ_NOWAIT bio), and the
 * filesystem may still touch the iterator after that (blkdev_write_iter()
 * re-expands it).  So the request is handed on (to the helper, or to be
 * used) only by the last of the two: the completion or the return.
 */
static void kvhost_blk_rw_complete(struct kiocb *iocb, long res)
{
	struct kvhost_blk_req *req = container_of(iocb, struct kvhost_blk_req, iocb);

	req->async_res = res;
	/* Fully ordered: pairs with the issuer's dec in kvhost_blk_rw_issue(). */
	if (atomic_dec_and_test(&req->issue_refs))
		kvhost_blk_rw_done(req, res);
}

/* Freeze protection of a write to a regular file, as io_uring takes it. */
static bool kvhost_blk_start_write(struct kvhost_blk_req *req, bool nowait)
{
	struct inode *inode = file_inode(req->iocb.ki_filp);

	if (!S_ISREG(inode->i_mode))
		return true;
	if (nowait) {
		if (!sb_start_write_trylock(inode->i_sb))
			return false;
	} else {
		sb_start_write(inode->i_sb);
	}
	/* Released here, taken back at completion, maybe in another context. */
	__sb_writers_release(inode->i_sb, SB_FREEZE_WRITE);
	req->write_started = true;
	return true;
}

/*
 * Issue what is left of an IN or OUT, from the kick handler or the helper.
 * Return: true if it is under way (a kiocb) or finished (on the done list,
 * for the caller to publish), false if it would block: nothing was
 * changed, try again without @nowait.
 */
static bool kvhost_blk_rw_issue(struct kvhost_blk_req *req, bool nowait)
{
	struct kvhost_blk_queue *q = req->q;
	struct file *file = q->blk->store.file;
	bool write = req->type == VIRTIO_BLK_T_OUT;
	ssize_t ret;

	init_sync_kiocb(&req->iocb, file);
	req->iocb.ki_pos = req->pos + req->done;
	req->iocb.ki_complete = kvhost_blk_rw_complete;
	if (nowait)
		req->iocb.ki_flags |= IOCB_NOWAIT;
	if (write && !req->write_started && !kvhost_blk_start_write(req, nowait))
		return false;

	/* A copy restores a user-backed iterator (6.1 exports no iov_iter_restore). */
	req->iter_saved = req->iter;
	/* One reference for this call, one for the completion (see above). */
	atomic_set(&req->issue_refs, 2);
	if (write)
		ret = file->f_op->write_iter(&req->iocb, &req->iter);
	else
		ret = file->f_op->read_iter(&req->iocb, &req->iter);
	if (ret == -EIOCBQUEUED) {
		/* Pairs with the completion's dec: its result is visible here. */
		if (atomic_dec_and_test(&req->issue_refs))
			kvhost_blk_rw_done(req, req->async_res);
		return true;
	}
	/* Would block; some filesystems refuse nonblocking buffered writes. */
	if (nowait && (ret == -EAGAIN || ret == -EOPNOTSUPP)) {
		kvhost_blk_iter_restore(req);
		return false;
	}
	/*
	 * O_DIRECT refuses buffers not aligned as the store needs; the
	 * virtio spec lets the driver lay them out any way, so they go
	 * through aligned pages of ours instead, on the helper.
	 */
	if (ret == -EINVAL && req->iocb.ki_flags & IOCB_DIRECT && !req->bounce) {
		kvhost_blk_iter_restore(req);
		req->bounce = true;
		return false;
	}
	if (ret > 0) {
		req->done += ret;
		/* A short nonblocking transfer: the rest may block. */
		if (nowait && req->done < req->len)
			return false;
	}
	req->res = ret < 0 ? ret : 0;
	/* The caller is the kick handler or the helper: it publishes. */
	kvhost_blk_req_finish_here(req);
	return true;
}

/* One bounced transfer of @n bytes at @pos through @bv; Return: bytes or errno. */
static ssize_t kvhost_blk_bounce_io(struct kvhost_blk_req *req, struct bio_vec *bv,
				    unsigned int nbv, size_t n, loff_t pos)
{
	struct file *file = req->q->blk->store.file;
	bool write = req->type == VIRTIO_BLK_T_OUT;
	struct iov_iter it;
	struct kiocb kiocb;
	unsigned int i;
	size_t left;
	ssize_t ret;

	if (write) {
		for (i = 0, left = n; i < nbv && left; i++) {
			size_t c = min_t(size_t, left, PAGE_SIZE);

			if (copy_page_from_iter(bv[i].bv_page, 0, c, &req->iter) != c)
				return -EFAULT;
			left -= c;
		}
	}
	/* Synchronous: no ki_complete. */
	init_sync_kiocb(&kiocb, file);
	kiocb.ki_pos = pos;
	iov_iter_bvec(&it, write ? ITER_SOURCE : ITER_DEST, bv,
		      DIV_ROUND_UP(n, PAGE_SIZE), n);
	ret = write ? file->f_op->write_iter(&kiocb, &it) :
		      file->f_op->read_iter(&kiocb, &it);
	if (ret <= 0 || write)
		return ret;
	for (i = 0, left = ret; i < nbv && left; i++) {
		size_t c = min_t(size_t, left, PAGE_SIZE);

		if (copy_page_to_iter(bv[i].bv_page, 0, c, &req->iter) != c)
			return -EFAULT;
		left -= c;
	}
	return ret;
}

/* An IN or OUT through our own page-aligned buffers, on the helper. */
static void kvhost_blk_bounce(struct kvhost_blk_req *req)
{
	struct bio_vec *bv;
	unsigned int i, nbv = 0;
	ssize_t ret = 0;

	bv = kcalloc(KVHOST_BLK_BOUNCE_PAGES, sizeof(*bv), GFP_KERNEL);
	if (!bv) {
		ret = -ENOMEM;
		goto finish;
	}
	for (; nbv < KVHOST_BLK_BOUNCE_PAGES; nbv++) {
		struct page *page = alloc_page(GFP_KERNEL);

		if (!page) {
			ret = nbv ? 0 : -ENOMEM;
			break;
		}
		bvec_set_page(&bv[nbv], page, PAGE_SIZE, 0);
	}
	while (!ret && req->done < req->len) {
		size_t n = min_t(size_t, req->len - req->done, (size_t)nbv * PAGE_SIZE);

		ret = kvhost_blk_bounce_io(req, bv, nbv, n, req->pos + req->done);
		if (ret > 0) {
			req->done += ret;
			ret = ret == n ? 0 : -EIO;
		} else if (!ret) {
			ret = -EIO;
		}
		cond_resched();
	}
	for (i = 0; i < nbv; i++)
		__free_page(bv[i].bv_page);
	kfree(bv);
finish:
	req->res = ret < 0 ? ret : 0;
	kvhost_blk_req_finish_here(req);
}

static int kvhost_blk_fallocate(struct kvhost_blk_store *st, int mode,
				loff_t pos, loff_t len)
{
	return vfs_fallocate(st->file, mode, pos, len);
}

/* Zeroes written the slow way, for files that cannot zero a range. */
static int kvhost_blk_write_zero_pages(struct kvhost_blk_store *st, loff_t pos,
				       loff_t len)
{
	void *zero = page_address(ZERO_PAGE(0));
	ssize_t ret;

	while (len > 0) {
		ret = kernel_write(st->file, zero, min_t(loff_t, len, PAGE_SIZE), &pos);
		if (ret < 0)
			return ret;
		if (!ret)
			return -EIO;
		len -= ret;
		cond_resched();
	}
	return 0;
}

/* One DISCARD or WRITE_ZEROES range on the helper. */
static int kvhost_blk_dwz_one(struct kvhost_blk_store *st, u8 type, bool unmap,
			      loff_t pos, loff_t len)
{
	int ret;

	if (type == VIRTIO_BLK_T_DISCARD) {
		if (!st->bdev)
			return kvhost_blk_fallocate(st, FALLOC_FL_PUNCH_HOLE |
						    FALLOC_FL_KEEP_SIZE, pos, len);
		/*
		 * A real discard rather than zeroing, which fallocate() offers
		 * no mode for; the page cache of the range goes first, as
		 * blkdev_fallocate() drops it.
		 */
		truncate_inode_pages_range(st->file->f_mapping, pos, pos + len - 1);
		return blkdev_issue_discard(st->bdev, pos >> SECTOR_SHIFT,
					    len >> SECTOR_SHIFT, GFP_KERNEL);
	}
	if (unmap) {
		/* Zeroes by deallocating, where the store can. */
		ret = kvhost_blk_fallocate(st, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
					   pos, len);
		if (ret != -EOPNOTSUPP)
			return ret;
	}
	ret = kvhost_blk_fallocate(st, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE,
				   pos, len);
	if (ret == -EOPNOTSUPP && !st->bdev)
		ret = kvhost_blk_write_zero_pages(st, pos, len);
	return ret;
}

static void kvhost_blk_punt_fn(struct kvhost_work *work)
{
	struct kvhost_blk_req *req = container_of(work, struct kvhost_blk_req,
						  punt_work);
	struct kvhost_blk_queue *q = req->q;	/* @req may be reused once finished */
	struct kvhost_blk_store *st = &q->blk->store;
	const struct kvhost_blk_range *r = req->ranges;
	unsigned int i;
	int ret = 0;

	switch (req->type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT:
		if (req->bounce || !kvhost_blk_rw_issue(req, false))
			kvhost_blk_bounce(req);
		kvhost_blk_helper_done(q);
		return;
	case VIRTIO_BLK_T_FLUSH:
		/* What finished before a wait in the filesystem goes out first. */
		kvhost_blk_helper_publish(q);
		/* Every write used before this request was taken is in the file. */
		ret = vfs_fsync(st->file, 0);
		break;
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		kvhost_blk_helper_publish(q);
		for (i = 0; i < req->nsegs && !ret; i++)
			ret = kvhost_blk_dwz_one(st, req->type, r[i].unmap,
						 r[i].pos, r[i].len);
		break;
	}
	req->res = ret;
	kvhost_blk_req_finish_here(req);
	kvhost_blk_helper_done(q);
}

static void kvhost_blk_punt(struct kvhost_blk_req *req)
{
	req->q->stats.punted++;
	kvhost_blk_helper_queue(req);
}

/* ---- parsing ---- */

/*
 * The chain's layout: the readable part holds the header and then the
 * data of an OUT; the writable part the data of an IN and, last, the status.
 */
struct kvhost_blk_chain {
	struct iovec *iov;
	unsigned int out_num, in_num;
	u64 out_len, in_len;		/* with the header and the status */
};

/* Copy @len readable bytes at @off of the chain. */
static int kvhost_blk_copy_out(const struct kvhost_blk_chain *c, u64 off,
			       void *to, size_t len)
{
	struct iov_iter it;

	iov_iter_init(&it, ITER_SOURCE, c->iov, c->out_num, c->out_len);
	iov_iter_advance(&it, off);
	return copy_from_iter(to, len, &it) == len ? 0 : -EFAULT;
}

/* The last writable byte: the status. */
static u8 __user *kvhost_blk_status_addr(const struct kvhost_blk_chain *c)
{
	int i;

	for (i = c->out_num + c->in_num - 1; i >= (int)c->out_num; i--)
		if (c->iov[i].iov_len)
			return (u8 __user *)c->iov[i].iov_base + c->iov[i].iov_len - 1;
	return NULL;
}

/*
 * Gather @len bytes starting @off into the chain's readable (@write) or
 * writable part as the request's data segments.
 */
static int kvhost_blk_map_data(struct kvhost_blk_req *req,
			       const struct kvhost_blk_chain *c, bool write,
			       u64 off, u64 len)
{
	const struct iovec *src = c->iov + (write ? 0 : c->out_num);
	unsigned int n = write ? c->out_num : c->in_num, i, k = 0, need = 0;
	u64 skip = off, left = len;

	/* Count first: the segment array is sized to the data. */
	for (i = 0; i < n && left; i++) {
		u64 seg = src[i].iov_len;

		if (skip >= seg) {
			skip -= seg;
			continue;
		}
		seg -= skip;
		skip = 0;
		need++;
		left -= min(seg, left);
	}
	if (need > KVHOST_BLK_INLINE_SEGS) {
		req->iov = kmalloc_array(need, sizeof(*req->iov), GFP_KERNEL);
		if (!req->iov) {
			req->iov = req->inline_iov;
			return -ENOMEM;
		}
	}
	skip = off;
	left = len;
	for (i = 0; i < n && left; i++) {
		u64 seg = src[i].iov_len;

		if (skip >= seg) {
			skip -= seg;
			continue;
		}
		req->iov[k].iov_base = src[i].iov_base + skip;
		req->iov[k].iov_len = min(seg - skip, left);
		left -= req->iov[k].iov_len;
		skip = 0;
		k++;
	}
	req->nsegs = k;
	iov_iter_init(&req->iter, write ? ITER_SOURCE : ITER_DEST, req->iov, k, len);
	return 0;
}

/* Whether [@sector, @sector + @bytes / 512) lies within the store. */
static bool kvhost_blk_range_ok(const struct kvhost_blk_store *st, u64 sector,
				u64 bytes)
{
	u64 nsec = bytes >> SECTOR_SHIFT;

	return sector <= st->sectors && nsec <= st->sectors - sector &&
	       !((sector << SECTOR_SHIFT) & (st->lbs - 1)) &&
	       !(bytes & (st->lbs - 1));
}

static u8 kvhost_blk_prep_rw(struct kvhost_blk_req *req,
			     const struct kvhost_blk_chain *c,
			     const struct kvhost_chain *chain, u64 sector)
{
	const struct kvhost_blk_store *st = &req->q->blk->store;
	bool write = req->type == VIRTIO_BLK_T_OUT;
	u64 len;

	if (write) {
		/* Only the status is writable. */
		if (c->in_len != 1)
			return VIRTIO_BLK_S_IOERR;
		len = c->out_len - sizeof(struct virtio_blk_outhdr);
		if (st->ro)
			return VIRTIO_BLK_S_IOERR;
	} else {
		/* Only the header is readable. */
		if (c->out_len != sizeof(struct virtio_blk_outhdr))
			return VIRTIO_BLK_S_IOERR;
		len = c->in_len - 1;
	}
	/* Descriptors with buffers: the data's, the header's and the status's. */
	if (chain->ndesc > KVHOST_BLK_SEG_MAX + 2)
		return VIRTIO_BLK_S_IOERR;
	if (len & (SECTOR_SIZE - 1) || len > U32_MAX ||
	    !kvhost_blk_range_ok(st, sector, len))
		return VIRTIO_BLK_S_IOERR;
	req->pos = sector << SECTOR_SHIFT;
	req->len = len;
	if (!len)
		return VIRTIO_BLK_S_OK;
	if (kvhost_blk_map_data(req, c, write,
				write ? sizeof(struct virtio_blk_outhdr) : 0, len))
		return VIRTIO_BLK_S_IOERR;
	return VIRTIO_BLK_S_OK;
}

static u8 kvhost_blk_prep_dwz(struct kvhost_blk_req *req,
			      const struct kvhost_blk_chain *c)
{
	const struct kvhost_blk_store *st = &req->q->blk->store;
	struct kvhost_blk_range *r = req->ranges;
	bool discard = req->type == VIRTIO_BLK_T_DISCARD;
	u32 max_sectors = discard ? st->discard_sectors : st->wzeroes_sectors;
	struct virtio_blk_discard_write_zeroes d;
	u64 len = c->out_len - sizeof(struct virtio_blk_outhdr), sector;
	unsigned int i, n, nsec, flags;

	/* A read-only store refuses every write, offered or not. */
	if (st->ro)
		return VIRTIO_BLK_S_IOERR;
	if (!max_sectors)
		return VIRTIO_BLK_S_UNSUPP;
	if (c->in_len != 1 || !len || len % sizeof(d))
		return VIRTIO_BLK_S_IOERR;
	n = len / sizeof(d);
	if (n > KVHOST_BLK_DWZ_SEG_MAX)
		return VIRTIO_BLK_S_IOERR;
	for (i = 0; i < n; i++) {
		if (kvhost_blk_copy_out(c, sizeof(struct virtio_blk_outhdr) +
					i * sizeof(d), &d, sizeof(d)))
			return VIRTIO_BLK_S_IOERR;
		/* Little-endian always: the request exists in virtio 1.x only. */
		sector = le64_to_cpu(d.sector);
		nsec = le32_to_cpu(d.num_sectors);
		flags = le32_to_cpu(d.flags);
		/* Unmap is a write-zeroes flag; a discard takes none. */
		if (flags & ~VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP ||
		    (discard && flags))
			return VIRTIO_BLK_S_UNSUPP;
		if (!nsec || nsec > max_sectors ||
		    !kvhost_blk_range_ok(st, sector, (u64)nsec << SECTOR_SHIFT))
			return VIRTIO_BLK_S_IOERR;
		r[i].pos = sector << SECTOR_SHIFT;
		r[i].len = nsec << SECTOR_SHIFT;
		r[i].unmap = flags & VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP &&
			     st->wzeroes_unmap;
	}
	req->nsegs = n;
	return VIRTIO_BLK_S_OK;
}

static void kvhost_blk_get_id(struct kvhost_blk_req *req,
			      const struct kvhost_blk_chain *c)
{
	struct iov_iter it;
	size_t n = min_t(u64, c->in_len - 1, KVHOST_BLK_ID_BYTES);
	u8 serial[KVHOST_BLK_ID_BYTES];

	memcpy(serial, req->q->blk->serial, sizeof(serial));
	iov_iter_init(&it, ITER_DEST, c->iov + c->out_num, c->in_num, c->in_len - 1);
	if (copy_to_iter(serial, n, &it) != n) {
		req->status_val = VIRTIO_BLK_S_IOERR;
		return;
	}
	req->in_len = n;
}

/* Validate and start one request; it is finished or under way after this. */
static void kvhost_blk_start(struct kvhost_blk_req *req,
			     const struct kvhost_blk_chain *c,
			     const struct kvhost_chain *chain)
{
	struct kvhost_blk_queue *q = req->q;
	struct virtio_blk_outhdr hdr;
	bool le = kvhost_blk_le(&q->vq);
	u64 sector;
	u8 st;

	req->type = U8_MAX;
	if (c->out_len < sizeof(hdr) || kvhost_blk_copy_out(c, 0, &hdr, sizeof(hdr))) {
		st = VIRTIO_BLK_S_IOERR;
		goto finish;
	}
	/* Only the types we know fit in u8; others are answered UNSUPP. */
	switch (__virtio32_to_cpu(le, hdr.type)) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT:
	case VIRTIO_BLK_T_FLUSH:
	case VIRTIO_BLK_T_GET_ID:
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		req->type = __virtio32_to_cpu(le, hdr.type);
		break;
	default:
		st = VIRTIO_BLK_S_UNSUPP;
		goto finish;
	}
	sector = __virtio64_to_cpu(le, hdr.sector);

	switch (req->type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT:
		st = kvhost_blk_prep_rw(req, c, chain, sector);
		if (st != VIRTIO_BLK_S_OK || !req->len)
			goto finish;
		if (q->blk->store.nowait && kvhost_blk_rw_issue(req, true))
			return;
		kvhost_blk_punt(req);
		return;
	case VIRTIO_BLK_T_FLUSH:
		/* Nothing but the status is writable. */
		if (c->in_len != 1) {
			st = VIRTIO_BLK_S_IOERR;
			goto finish;
		}
		kvhost_blk_punt(req);
		return;
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		st = kvhost_blk_prep_dwz(req, c);
		if (st != VIRTIO_BLK_S_OK)
			goto finish;
		kvhost_blk_punt(req);
		return;
	case VIRTIO_BLK_T_GET_ID:
		kvhost_blk_get_id(req, c);
		st = req->status_val;
		goto finish;
	}
	st = VIRTIO_BLK_S_UNSUPP;
finish:
	req->status_val = st;
	kvhost_blk_req_finish_here(req);
}

/* Take one chain; false once the ring is empty or broken. */
static bool kvhost_blk_take(struct kvhost_blk_queue *q, u64 *bytes)
{
	struct kvhost_virtqueue *vq = &q->vq;
	struct kvhost_blk_req *req;
	struct kvhost_blk_chain c;
	struct kvhost_chain chain;
	unsigned int inflight;
	int ret;

	ret = kvhost_vq_pop(vq, vq->iov, KVHOST_IOV_MAX, &chain);
	if (ret <= 0)
		return false;
	c.iov = vq->iov;
	c.out_num = chain.out_num;
	c.in_num = chain.in_num;
	c.out_len = chain.out_len;
	c.in_len = chain.in_len;
	*bytes += chain.out_len + chain.in_len;

	/* No status byte: nothing can tell the driver, so the queue breaks. */
	if (!c.in_len) {
		kvhost_vq_mark_broken(vq, -EINVAL);
		return false;
	}
	/* One request per ring entry: the pool cannot run dry on a sane ring. */
	req = kvhost_blk_req_get(q);
	if (!req) {
		kvhost_vq_mark_broken(vq, -ENOSPC);
		return false;
	}
	req->id = chain.id;
	req->start_ns = ktime_get_ns();
	req->status = kvhost_blk_status_addr(&c);
	inflight = atomic_inc_return(&q->inflight);
	if (inflight > q->stats.inflight_max)
		q->stats.inflight_max = inflight;
	kvhost_blk_start(req, &c, &chain);
	return true;
}

/**
 * kvhost_blk_handle_kick() - take and start every available request
 * @work:	the kick poll's work
 *
 * Context: the queue's worker.
 */
void kvhost_blk_handle_kick(struct kvhost_work *work)
{
	struct kvhost_virtqueue *vq = kvhost_work_to_vq(work);
	struct kvhost_blk_queue *q = kvhost_blk_vq_to_q(vq);
	unsigned int n = 0;
	u64 bytes = 0;

	mutex_lock(&vq->mutex);
	if (!kvhost_vq_ready(vq))
		goto out;
	vq->stats.kicks++;
	kvhost_vq_disable_notify(vq);
	for (;;) {
		if (!kvhost_blk_take(q, &bytes)) {
			if (kvhost_vq_broken(vq))
				break;
			/* Empty: ask for kicks, and look once more. */
			if (!kvhost_vq_enable_notify(vq))
				break;
			kvhost_vq_disable_notify(vq);
			continue;
		}
		if (kvhost_vq_budget_spent(vq, ++n, bytes))
			break;
	}
out:
	/* What finished at once (and meanwhile) goes out in this batch. */
	kvhost_blk_reap(q);
	mutex_unlock(&vq->mutex);
}
