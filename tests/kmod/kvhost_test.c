// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/kvhost-test: a backend that exercises the kvhost core alone.
 *
 * Every chain on every queue is served the same way: the readable bytes
 * are summed into a checksum and the writable bytes are filled with
 * KVHOST_TEST_PATTERN() of a running per-queue offset, so a driver can
 * verify both directions independently of this code.
 */
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/miscdevice.h>
#include <linux/fs.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/compat.h>
#include "uapi/kvhost.h"
#include "vhost.h"

#define KVHOST_TEST_CHUNK	256
/*
 * Bytes one chain may carry, as a real backend bounds a request (a net
 * frame, a blk request of seg_max segments): larger chains break the
 * queue instead of being walked for hours.
 */
#define KVHOST_TEST_CHAIN_MAX	(16U << 20)

struct kvhost_test_queue {
	struct kvhost_virtqueue vq;
	/* Counters below are guarded by vq.mutex. */
	u64 bufs;
	u64 bytes;
	u64 csum;
	u64 pattern_off;
	u8 chunk[KVHOST_TEST_CHUNK];
};

struct kvhost_test {
	struct kvhost_dev dev;
	struct kvhost_test_queue queues[KVHOST_TEST_VQ_MAX];
	struct kvhost_virtqueue *vqs[KVHOST_TEST_VQ_MAX];
};

static struct kvhost_test_queue *to_test_queue(struct kvhost_virtqueue *vq)
{
	return container_of(vq, struct kvhost_test_queue, vq);
}

/* Sum the readable bytes of one segment. */
static int kvhost_test_consume(struct kvhost_test_queue *q,
			       const struct iovec *seg)
{
	const u8 __user *src = seg->iov_base;
	size_t left = seg->iov_len;

	while (left) {
		size_t n = min_t(size_t, left, sizeof(q->chunk));
		size_t i;

		if (copy_from_user(q->chunk, src, n))
			return -EFAULT;
		for (i = 0; i < n; i++)
			q->csum += q->chunk[i];
		src += n;
		left -= n;
		cond_resched();
	}
	return 0;
}

/* Fill one writable segment with the pattern stream. */
static int kvhost_test_fill(struct kvhost_test_queue *q,
			    const struct iovec *seg)
{
	u8 __user *dst = seg->iov_base;
	size_t left = seg->iov_len;

	while (left) {
		size_t n = min_t(size_t, left, sizeof(q->chunk));
		size_t i;

		for (i = 0; i < n; i++)
			q->chunk[i] = KVHOST_TEST_PATTERN(q->pattern_off + i);
		if (copy_to_user(dst, q->chunk, n))
			return -EFAULT;
		q->pattern_off += n;
		dst += n;
		left -= n;
		cond_resched();
	}
	return 0;
}

static int kvhost_test_serve_chain(struct kvhost_test_queue *q,
				   const struct kvhost_chain *chain)
{
	struct iovec *iov = q->vq.iov;
	unsigned int i;
	int ret;

	if (chain->out_len + chain->in_len > KVHOST_TEST_CHAIN_MAX)
		return -E2BIG;
	for (i = 0; i < chain->out_num; i++) {
		ret = kvhost_test_consume(q, &iov[i]);
		if (ret)
			return ret;
	}
	for (; i < chain->out_num + chain->in_num; i++) {
		ret = kvhost_test_fill(q, &iov[i]);
		if (ret)
			return ret;
	}
	return kvhost_vq_add_used(&q->vq, chain->id, chain->in_len);
}

static void kvhost_test_handle_kick(struct kvhost_work *work)
{
	struct kvhost_virtqueue *vq = kvhost_work_to_vq(work);
	struct kvhost_test_queue *q = to_test_queue(vq);
	struct kvhost_chain chain;
	unsigned int descs = 0, retries = 0;
	u64 bytes = 0;
	int ret;

	mutex_lock(&vq->mutex);
	if (!kvhost_vq_ready(vq))
		goto unlock;
	vq->stats.kicks++;
	kvhost_vq_disable_notify(vq);

	for (;;) {
		ret = kvhost_vq_pop(vq, vq->iov, KVHOST_IOV_MAX, &chain);
		if (ret < 0)
			break;
		if (!ret) {
			if (!kvhost_vq_enable_notify(vq))
				break;
			kvhost_vq_disable_notify(vq);
			/* Looking again costs budget, as in the real backends. */
			if (kvhost_vq_budget_spent(vq, descs + ++retries, bytes))
				break;
			continue;
		}
		ret = kvhost_test_serve_chain(q, &chain);
		if (ret) {
			kvhost_vq_mark_broken(vq, ret);
			break;
		}
		q->bufs++;
		q->bytes += chain.out_len + chain.in_len;
		descs += chain.ndesc;
		bytes += chain.out_len + chain.in_len;
		if (kvhost_vq_budget_spent(vq, descs + retries, bytes))
			break;
	}
	kvhost_vq_flush_used(vq);
unlock:
	mutex_unlock(&vq->mutex);
}

/*
 * RUN(1) attaches the backend to every queue and starts those whose ring
 * is configured (num and address set), as vhost-net's SET_BACKEND would;
 * a queue configured later starts at the next RUN(1).  RUN(0) detaches.
 */
static long kvhost_test_run(struct kvhost_test *t, int __user *argp)
{
	int run, i, ret = 0;

	if (get_user(run, argp))
		return -EFAULT;
	if (run != 0 && run != 1)
		return -EINVAL;
	for (i = 0; i < KVHOST_TEST_VQ_MAX; i++) {
		struct kvhost_virtqueue *vq = &t->queues[i].vq;
		int err = 0;

		mutex_lock(&vq->mutex);
		if (run) {
			vq->private_data = t;
			if (vq->ring.num && vq->addr_set)
				err = kvhost_vq_start(vq);
		} else {
			kvhost_vq_stop(vq);
			vq->private_data = NULL;
		}
		mutex_unlock(&vq->mutex);
		if (!run)
			kvhost_vq_flush(vq);
		if (err && !ret)
			ret = err;
	}
	return ret;
}

static long kvhost_test_get_stats(struct kvhost_test *t, void __user *argp)
{
	struct kvhost_test_stats stats = {};
	int i;

	for (i = 0; i < KVHOST_TEST_VQ_MAX; i++) {
		struct kvhost_test_queue *q = &t->queues[i];
		struct kvhost_test_vq_stats *s = &stats.vq[i];

		mutex_lock(&q->vq.mutex);
		s->bufs = q->bufs;
		s->bytes = q->bytes;
		s->csum = q->csum;
		s->kicks = q->vq.stats.kicks;
		s->calls = q->vq.stats.calls;
		s->requeues = q->vq.stats.requeues;
		s->broken = kvhost_vq_broken(&q->vq);
		s->last_err = -q->vq.ring.error;
		mutex_unlock(&q->vq.mutex);
	}
	return copy_to_user(argp, &stats, sizeof(stats)) ? -EFAULT : 0;
}

static void kvhost_test_detach(struct kvhost_test *t)
{
	int i;

	for (i = 0; i < KVHOST_TEST_VQ_MAX; i++) {
		mutex_lock(&t->queues[i].vq.mutex);
		kvhost_vq_stop(&t->queues[i].vq);
		t->queues[i].vq.private_data = NULL;
		mutex_unlock(&t->queues[i].vq.mutex);
	}
}

static long kvhost_test_ioctl(struct file *f, unsigned int ioctl,
			      unsigned long arg)
{
	struct kvhost_test *t = f->private_data;
	void __user *argp = (void __user *)arg;
	long ret;

	mutex_lock(&t->dev.mutex);
	switch (ioctl) {
	case KVHOST_TEST_RUN:
		ret = kvhost_dev_check_owner(&t->dev);
		if (!ret)
			ret = kvhost_test_run(t, argp);
		break;
	case KVHOST_TEST_GET_STATS:
		ret = kvhost_test_get_stats(t, argp);
		break;
	case VHOST_RESET_OWNER:
		ret = kvhost_dev_check_owner(&t->dev);
		if (ret)
			break;
		kvhost_dev_stop(&t->dev);
		kvhost_test_detach(t);
		kvhost_dev_cleanup(&t->dev);
		break;
	default:
		ret = kvhost_dev_ioctl(&t->dev, ioctl, argp);
		if (ret == -ENOIOCTLCMD)
			ret = kvhost_vring_ioctl(&t->dev, ioctl, argp);
		break;
	}
	mutex_unlock(&t->dev.mutex);
	return ret;
}

static int kvhost_test_open(struct inode *inode, struct file *f)
{
	struct kvhost_test *t;
	int i, ret;

	t = kvzalloc(sizeof(*t), GFP_KERNEL_ACCOUNT);
	if (!t)
		return -ENOMEM;
	for (i = 0; i < KVHOST_TEST_VQ_MAX; i++) {
		t->queues[i].vq.handle_kick = kvhost_test_handle_kick;
		t->vqs[i] = &t->queues[i].vq;
	}
	ret = kvhost_dev_init(&t->dev, t->vqs, KVHOST_TEST_VQ_MAX,
			      KVHOST_CORE_FEATURES);
	if (ret) {
		kvfree(t);
		return ret;
	}
	f->private_data = t;
	return 0;
}

static int kvhost_test_release(struct inode *inode, struct file *f)
{
	struct kvhost_test *t = f->private_data;

	mutex_lock(&t->dev.mutex);
	kvhost_dev_stop(&t->dev);
	kvhost_test_detach(t);
	kvhost_dev_cleanup(&t->dev);
	mutex_unlock(&t->dev.mutex);
	kvhost_dev_exit(&t->dev);
	kvfree(t);
	return 0;
}

static const struct file_operations kvhost_test_fops = {
	.owner		= THIS_MODULE,
	.open		= kvhost_test_open,
	.release	= kvhost_test_release,
	.unlocked_ioctl	= kvhost_test_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.llseek		= noop_llseek,
};

static struct miscdevice kvhost_test_misc = {
	.minor	= MISC_DYNAMIC_MINOR,
	.name	= "kvhost-test",
	.fops	= &kvhost_test_fops,
};

module_misc_device(kvhost_test_misc);

MODULE_LICENSE("GPL");
MODULE_VERSION(KVHOST_VERSION);
MODULE_DESCRIPTION("kvhost test backend: exercises the core alone");
