// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/kvhost-blk: the virtio-blk datapath of a guest in the host kernel,
 * on an image file or a block device, asynchronous and multiqueue.
 *
 * Each open file is one device: up to max_queues request queues (the count
 * set by KVHOST_BLK_SET_QUEUES before VHOST_SET_OWNER), driven by the
 * core's standard ioctls and the KVHOST_BLK_* ioctls of uapi/kvhost.h.  A
 * queue runs while the store is attached, the queue enabled
 * (KVHOST_BLK_RUN_QUEUE) and its ring set up.  Only queues that ran cost
 * memory beyond their descriptor: the core's segment array and the pool
 * of requests come at the first start.
 *
 * The request path is in blk_req.c.  Every way a queue stops (RUN_QUEUE 0,
 * GET_VRING_BASE, detach, RESET_OWNER, close) waits for the requests it
 * took, through the core's handle_drain.
 */
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/miscdevice.h>
#include <linux/fs.h>
#include <linux/file.h>
#include <linux/blkdev.h>
#include <linux/slab.h>
#include <linux/mm.h>
#include <linux/uaccess.h>
#include <linux/compat.h>
#include <linux/nospec.h>
#include <linux/log2.h>
#include "blk.h"
#include "compat.h"

static unsigned int max_queues = 64;

static int max_queues_set(const char *val, const struct kernel_param *kp)
{
	unsigned int n;
	int ret = kstrtouint(val, 0, &n);

	if (ret)
		return ret;
	if (n < 1 || n > KVHOST_BLK_QUEUES_MAX)
		return -EINVAL;
	return param_set_uint(val, kp);
}

static const struct kernel_param_ops max_queues_ops = {
	.set = max_queues_set,
	.get = param_get_uint,
};
module_param_cb(max_queues, &max_queues_ops, &max_queues, 0644);
MODULE_PARM_DESC(max_queues,
		 "Request queues a device may have (1.." __stringify(KVHOST_BLK_QUEUES_MAX) ", default 64); read at open");

/* ---- the backing store ---- */

static void kvhost_blk_store_limits_file(struct kvhost_blk_store *st)
{
	struct inode *inode = file_inode(st->file);

	st->sectors = i_size_read(inode) >> SECTOR_SHIFT;
	st->lbs = SECTOR_SIZE;
	st->pbs = max_t(u32, SECTOR_SIZE, i_blocksize(inode));
	st->io_min = st->pbs;
	st->io_opt = 0;
	/* Punching and zeroing ranges need the filesystem's fallocate. */
	if (st->file->f_op->fallocate && !st->ro) {
		st->discard_sectors = KVHOST_BLK_DWZ_SECTORS_MAX;
		st->wzeroes_sectors = KVHOST_BLK_DWZ_SECTORS_MAX;
		st->wzeroes_unmap = true;
	}
}

static void kvhost_blk_store_limits_bdev(struct kvhost_blk_store *st)
{
	struct block_device *bdev = st->bdev;

	st->sectors = bdev_nr_sectors(bdev);
	st->lbs = bdev_logical_block_size(bdev);
	st->pbs = bdev_physical_block_size(bdev);
	st->io_min = bdev_io_min(bdev);
	st->io_opt = bdev_io_opt(bdev);
	if (st->ro)
		return;
	st->discard_sectors = min_t(u64, bdev_max_discard_sectors(bdev),
				    KVHOST_BLK_DWZ_SECTORS_MAX);
	/* Zeroing falls back to writing zeroes where the device has no command. */
	st->wzeroes_sectors = KVHOST_BLK_DWZ_SECTORS_MAX;
	st->wzeroes_unmap = bdev_write_zeroes_sectors(bdev) != 0;
}

/* Fill @st from @file; Return: 0 or -EINVAL/-EBADF for an unusable file. */
static int kvhost_blk_store_init(struct kvhost_blk_store *st, struct file *file,
				 u32 flags)
{
	struct inode *inode = file_inode(file);

	memset(st, 0, sizeof(*st));
	if (!S_ISREG(inode->i_mode) && !S_ISBLK(inode->i_mode))
		return -EINVAL;
	if (!(file->f_mode & FMODE_READ) ||
	    (!(flags & KVHOST_BLK_BACKEND_RO) && !(file->f_mode & FMODE_WRITE)))
		return -EBADF;
	if (!file->f_op->read_iter || !file->f_op->write_iter)
		return -EINVAL;
	st->file = file;
	st->ro = flags & KVHOST_BLK_BACKEND_RO;
	st->nowait = file->f_mode & FMODE_NOWAIT;
	if (S_ISBLK(inode->i_mode)) {
		st->bdev = I_BDEV(file->f_mapping->host);
		kvhost_blk_store_limits_bdev(st);
	} else {
		kvhost_blk_store_limits_file(st);
	}
	if (!is_power_of_2(st->lbs) || st->lbs < SECTOR_SIZE)
		return -EINVAL;
	return 0;
}

static u64 kvhost_blk_store_features(const struct kvhost_blk_store *st)
{
	u64 f = KVHOST_BLK_FEATURES_ALWAYS;

	if (!st->file)
		return f;
	if (st->ro)
		f |= 1ULL << VIRTIO_BLK_F_RO;
	if (st->discard_sectors)
		f |= 1ULL << VIRTIO_BLK_F_DISCARD;
	if (st->wzeroes_sectors)
		f |= 1ULL << VIRTIO_BLK_F_WRITE_ZEROES;
	return f;
}

/* ---- queues ---- */

static struct kvhost_blk_queue *kvhost_blk_queue_of(struct kvhost_blk *b,
						     u32 index)
{
	if (index >= b->dev.nvqs)
		return NULL;
	return &b->q[array_index_nospec(index, b->dev.nvqs)];
}

/*
 * Start a queue that is enabled, set up and has a store; a queue lacking
 * one of them stays stopped until it has it.  Caller holds q->vq.mutex.
 */
static int kvhost_blk_queue_start(struct kvhost_blk_queue *q)
{
	struct kvhost_virtqueue *vq = &q->vq;
	int ret;

	lockdep_assert_held(&q->blk->dev.mutex);
	lockdep_assert_held(&vq->mutex);
	if (vq->started || !q->enabled || !q->blk->store.file)
		return 0;
	if (!vq->ring.num || !vq->addr_set)
		return 0;
	if (!q->helper) {
		struct kvhost_worker *helper = kvhost_helper_create(&q->blk->dev);

		if (IS_ERR(helper))
			return PTR_ERR(helper);
		q->helper = helper;
	}
	ret = kvhost_blk_pool_alloc(q);
	if (ret)
		return ret;
	vq->private_data = q->blk;
	ret = kvhost_vq_start(vq);
	if (ret)
		vq->private_data = NULL;
	return ret;
}

/* Stop, then wait for what the queue took.  Caller holds dev.mutex. */
static void kvhost_blk_queue_stop(struct kvhost_blk_queue *q)
{
	mutex_lock(&q->vq.mutex);
	kvhost_vq_stop(&q->vq);
	q->vq.private_data = NULL;
	mutex_unlock(&q->vq.mutex);
	kvhost_vq_flush(&q->vq);
	kvhost_blk_handle_drain(&q->vq);
}

static int kvhost_blk_start_all(struct kvhost_blk *b)
{
	int i, ret = 0;

	for (i = 0; i < b->dev.nvqs && !ret; i++) {
		mutex_lock(&b->q[i].vq.mutex);
		ret = kvhost_blk_queue_start(&b->q[i]);
		mutex_unlock(&b->q[i].vq.mutex);
	}
	return ret;
}

static void kvhost_blk_stop_all(struct kvhost_blk *b)
{
	int i;

	for (i = 0; i < b->dev.nvqs; i++)
		kvhost_blk_queue_stop(&b->q[i]);
}

/* Every queue stopped and drained: let go of the store and the helpers. */
static void kvhost_blk_detach(struct kvhost_blk *b)
{
	int i;

	lockdep_assert_held(&b->dev.mutex);
	kvhost_blk_stop_all(b);
	for (i = 0; i < b->dev.nvqs; i++) {
		if (b->q[i].helper)
			kvhost_helper_destroy(b->q[i].helper);
		b->q[i].helper = NULL;
	}
	if (b->store.file)
		fput(b->store.file);
	memset(&b->store, 0, sizeof(b->store));
	b->dev.features_supported = kvhost_blk_store_features(&b->store);
}

static long kvhost_blk_set_backend(struct kvhost_blk *b, void __user *argp)
{
	struct kvhost_blk_backend be;
	struct kvhost_blk_store st;
	struct file *file;
	long ret;

	if (copy_from_user(&be, argp, sizeof(be)))
		return -EFAULT;
	ret = kvhost_dev_check_owner(&b->dev);
	if (ret)
		return ret;
	if (be.flags & ~KVHOST_BLK_BACKEND_RO)
		return -EINVAL;
	if (be.fd == -1) {
		kvhost_blk_detach(b);
		return 0;
	}
	file = fget(be.fd);
	if (!file)
		return -EBADF;
	ret = kvhost_blk_store_init(&st, file, be.flags);
	if (ret)
		goto put_file;
	/* Acked features cannot lose what the new store lacks. */
	if (b->dev.acked_features & ~kvhost_blk_store_features(&st)) {
		ret = -EBUSY;
		goto put_file;
	}
	kvhost_blk_detach(b);
	b->store = st;
	b->dev.features_supported = kvhost_blk_store_features(&st);
	ret = kvhost_blk_start_all(b);
	if (ret)
		kvhost_blk_detach(b);
	return ret;

put_file:
	fput(file);
	return ret;
}

static long kvhost_blk_run_queue(struct kvhost_blk *b, void __user *argp)
{
	struct vhost_vring_state s;
	struct kvhost_blk_queue *q;
	long ret;

	if (copy_from_user(&s, argp, sizeof(s)))
		return -EFAULT;
	ret = kvhost_dev_check_owner(&b->dev);
	if (ret)
		return ret;
	q = kvhost_blk_queue_of(b, s.index);
	if (!q)
		return -ENOBUFS;
	if (s.num > 1)
		return -EINVAL;
	if (!s.num) {
		kvhost_blk_queue_stop(q);
		mutex_lock(&q->vq.mutex);
		q->enabled = false;
		mutex_unlock(&q->vq.mutex);
		return 0;
	}
	mutex_lock(&q->vq.mutex);
	q->enabled = true;
	ret = kvhost_blk_queue_start(q);
	if (ret)
		q->enabled = false;
	mutex_unlock(&q->vq.mutex);
	return ret;
}

/* ---- configuration, serial, counters ---- */

static void kvhost_blk_fill_config(struct kvhost_blk *b, struct virtio_blk_config *c)
{
	const struct kvhost_blk_store *st = &b->store;

	memset(c, 0, sizeof(*c));
	/* Little-endian, as virtio 1.x lays the space out. */
	c->capacity = (__force __virtio64)cpu_to_le64(st->sectors);
	c->seg_max = (__force __virtio32)cpu_to_le32(KVHOST_BLK_SEG_MAX);
	c->blk_size = (__force __virtio32)cpu_to_le32(st->lbs ?: SECTOR_SIZE);
	if (st->pbs > st->lbs && st->lbs)
		c->physical_block_exp = ilog2(st->pbs / st->lbs);
	if (st->lbs) {
		c->min_io_size = (__force __virtio16)cpu_to_le16(
			min_t(u32, st->io_min / st->lbs, U16_MAX));
		c->opt_io_size = (__force __virtio32)cpu_to_le32(st->io_opt / st->lbs);
	}
	c->num_queues = (__force __virtio16)cpu_to_le16(b->dev.nvqs);
	c->max_discard_sectors = (__force __virtio32)cpu_to_le32(st->discard_sectors);
	c->max_discard_seg = (__force __virtio32)cpu_to_le32(st->discard_sectors ?
							     KVHOST_BLK_DWZ_SEG_MAX : 0);
	c->discard_sector_alignment = (__force __virtio32)cpu_to_le32(
		(st->lbs ?: SECTOR_SIZE) >> SECTOR_SHIFT);
	c->max_write_zeroes_sectors = (__force __virtio32)cpu_to_le32(st->wzeroes_sectors);
	c->max_write_zeroes_seg = (__force __virtio32)cpu_to_le32(st->wzeroes_sectors ?
								  KVHOST_BLK_DWZ_SEG_MAX : 0);
	c->write_zeroes_may_unmap = st->wzeroes_unmap;
}

static long kvhost_blk_get_config(struct kvhost_blk *b, void __user *argp)
{
	struct kvhost_blk_config *cfg;
	struct virtio_blk_config vc;
	long ret = 0;

	BUILD_BUG_ON(sizeof(vc) > KVHOST_BLK_CONFIG_MAX);
	cfg = kzalloc(sizeof(*cfg), GFP_KERNEL);
	if (!cfg)
		return -ENOMEM;
	if (copy_from_user(cfg, argp, offsetof(struct kvhost_blk_config, data))) {
		ret = -EFAULT;
		goto free_cfg;
	}
	if (cfg->offset > KVHOST_BLK_CONFIG_MAX ||
	    cfg->size > KVHOST_BLK_CONFIG_MAX - cfg->offset) {
		ret = -EINVAL;
		goto free_cfg;
	}
	kvhost_blk_fill_config(b, &vc);
	/* Bytes past the fields we know read as 0. */
	memset(cfg->data, 0, sizeof(cfg->data));
	if (cfg->offset < sizeof(vc))
		memcpy(cfg->data, (u8 *)&vc + cfg->offset,
		       min_t(size_t, cfg->size, sizeof(vc) - cfg->offset));
	if (copy_to_user(argp, cfg, sizeof(*cfg)))
		ret = -EFAULT;
free_cfg:
	kfree(cfg);
	return ret;
}

static long kvhost_blk_set_serial(struct kvhost_blk *b, void __user *argp)
{
	u8 serial[KVHOST_BLK_ID_BYTES];
	long ret;

	ret = kvhost_dev_check_owner(&b->dev);
	if (ret)
		return ret;
	if (copy_from_user(serial, argp, sizeof(serial)))
		return -EFAULT;
	memcpy(b->serial, serial, sizeof(serial));
	return 0;
}

static long kvhost_blk_get_stats(struct kvhost_blk *b, void __user *argp)
{
	struct kvhost_blk_queue_stats *s;
	struct kvhost_blk_queue *q;
	struct kvhost_blk_counters *c;
	u32 index;
	long ret = 0;

	if (get_user(index, (u32 __user *)argp))
		return -EFAULT;
	q = kvhost_blk_queue_of(b, index);
	if (!q)
		return -ENOBUFS;
	s = kzalloc(sizeof(*s), GFP_KERNEL);
	if (!s)
		return -ENOMEM;
	mutex_lock(&q->vq.mutex);
	c = &q->stats;
	s->index = index;
	s->reads = c->reads;
	s->writes = c->writes;
	s->flushes = c->flushes;
	s->discards = c->discards;
	s->write_zeroes = c->write_zeroes;
	s->get_ids = c->get_ids;
	s->unsupported = c->unsupported;
	s->read_bytes = c->read_bytes;
	s->write_bytes = c->write_bytes;
	s->errors = c->errors;
	s->punted = c->punted;
	s->inflight = atomic_read(&q->inflight);
	s->inflight_max = c->inflight_max;
	s->broken = kvhost_vq_broken(&q->vq);
	s->last_err = -q->vq.ring.error;
	memcpy(s->lat_hist, c->lat_hist, sizeof(s->lat_hist));
	mutex_unlock(&q->vq.mutex);
	if (copy_to_user(argp, s, sizeof(*s)))
		ret = -EFAULT;
	kfree(s);
	return ret;
}

static long kvhost_blk_set_queues(struct kvhost_blk *b, void __user *argp)
{
	u32 n;

	if (get_user(n, (u32 __user *)argp))
		return -EFAULT;
	if (n > INT_MAX)
		return -EINVAL;
	return kvhost_dev_set_nvqs(&b->dev, n);
}

/* Back to the state of a fresh open, after kvhost_dev_cleanup(). */
static void kvhost_blk_reset(struct kvhost_blk *b)
{
	int i;

	for (i = 0; i < b->dev.nvqs_init; i++) {
		struct kvhost_blk_queue *q = &b->q[i];

		mutex_lock(&q->vq.mutex);
		q->enabled = false;
		kvhost_blk_pool_free(q);
		memset(&q->stats, 0, sizeof(q->stats));
		mutex_unlock(&q->vq.mutex);
	}
}

static long kvhost_blk_ioctl(struct file *f, unsigned int ioctl,
			     unsigned long arg)
{
	struct kvhost_blk *b = f->private_data;
	void __user *argp = (void __user *)arg;
	long ret;

	mutex_lock(&b->dev.mutex);
	switch (ioctl) {
	case KVHOST_BLK_SET_QUEUES:
		ret = kvhost_blk_set_queues(b, argp);
		break;
	case KVHOST_BLK_SET_BACKEND:
		ret = kvhost_blk_set_backend(b, argp);
		break;
	case KVHOST_BLK_GET_CONFIG:
		ret = kvhost_blk_get_config(b, argp);
		break;
	case KVHOST_BLK_SET_SERIAL:
		ret = kvhost_blk_set_serial(b, argp);
		break;
	case KVHOST_BLK_RUN_QUEUE:
		ret = kvhost_blk_run_queue(b, argp);
		break;
	case KVHOST_BLK_GET_STATS:
		ret = kvhost_blk_get_stats(b, argp);
		break;
	case VHOST_RESET_OWNER:
		ret = kvhost_dev_check_owner(&b->dev);
		if (ret)
			break;
		kvhost_blk_detach(b);
		kvhost_dev_cleanup(&b->dev);
		kvhost_blk_reset(b);
		break;
	default:
		ret = kvhost_dev_ioctl(&b->dev, ioctl, argp);
		if (ret == -ENOIOCTLCMD)
			ret = kvhost_vring_ioctl(&b->dev, ioctl, argp);
		break;
	}
	mutex_unlock(&b->dev.mutex);
	return ret;
}

static int kvhost_blk_open(struct inode *inode, struct file *f)
{
	unsigned int nq = READ_ONCE(max_queues), i;
	struct kvhost_blk *b;
	int ret;

	b = kzalloc(sizeof(*b), GFP_KERNEL_ACCOUNT);
	if (!b)
		return -ENOMEM;
	b->q = kvcalloc(nq, sizeof(*b->q), GFP_KERNEL_ACCOUNT);
	b->vqs = kvcalloc(nq, sizeof(*b->vqs), GFP_KERNEL_ACCOUNT);
	if (!b->q || !b->vqs) {
		ret = -ENOMEM;
		goto free_blk;
	}
	for (i = 0; i < nq; i++) {
		struct kvhost_blk_queue *q = &b->q[i];

		q->blk = b;
		q->vq.handle_kick = kvhost_blk_handle_kick;
		q->vq.handle_drain = kvhost_blk_handle_drain;
		q->free_head = U16_MAX;
		init_llist_head(&q->done);
		kvhost_work_init(&q->done_work, kvhost_blk_handle_done);
		atomic_set(&q->inflight, 0);
		atomic_set(&q->helper_pending, 0);
		init_waitqueue_head(&q->drained);
		b->vqs[i] = &q->vq;
	}
	ret = kvhost_dev_init(&b->dev, b->vqs, nq, KVHOST_BLK_FEATURES_ALWAYS);
	if (ret)
		goto free_blk;
	/* One request queue unless told otherwise, as QEMU's default. */
	mutex_lock(&b->dev.mutex);
	kvhost_dev_set_nvqs(&b->dev, 1);
	mutex_unlock(&b->dev.mutex);
	f->private_data = b;
	return 0;

free_blk:
	kvfree(b->vqs);
	kvfree(b->q);
	kfree(b);
	return ret;
}

static int kvhost_blk_release(struct inode *inode, struct file *f)
{
	struct kvhost_blk *b = f->private_data;

	mutex_lock(&b->dev.mutex);
	kvhost_blk_detach(b);
	kvhost_dev_cleanup(&b->dev);
	kvhost_blk_reset(b);
	mutex_unlock(&b->dev.mutex);
	kvhost_dev_exit(&b->dev);
	kvfree(b->vqs);
	kvfree(b->q);
	kfree(b);
	return 0;
}

/* fdinfo: the core's lines, then the store and each queue in use. */
static void kvhost_blk_show_fdinfo(struct seq_file *m, struct file *f)
{
	struct kvhost_blk *b = f->private_data;
	struct kvhost_blk_store *st = &b->store;
	int i;

	kvhost_dev_show_fdinfo(&b->dev, m);
	if (mutex_lock_killable(&b->dev.mutex))
		return;
	if (st->file) {
		seq_puts(m, "kvhost-blk-backend:\t");
		seq_file_path(m, st->file, " \t\n\\");
		seq_printf(m, " sectors=%llu ro=%d nowait=%d\n", st->sectors, st->ro,
			   st->nowait);
	} else {
		seq_puts(m, "kvhost-blk-backend:\tnone\n");
	}
	for (i = 0; i < b->dev.nvqs; i++) {
		struct kvhost_blk_queue *q = &b->q[i];

		mutex_lock(&q->vq.mutex);
		seq_printf(m, "kvhost-blk-queue:\t%d running=%d inflight=%d helper=%d\n",
			   i, q->enabled, atomic_read(&q->inflight),
			   q->helper ? task_pid_vnr(q->helper->task) : -1);
		mutex_unlock(&q->vq.mutex);
	}
	mutex_unlock(&b->dev.mutex);
}

static const struct file_operations kvhost_blk_fops = {
	.owner		= THIS_MODULE,
	.open		= kvhost_blk_open,
	.release	= kvhost_blk_release,
	.unlocked_ioctl	= kvhost_blk_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.llseek		= noop_llseek,
	.show_fdinfo	= kvhost_blk_show_fdinfo,
};

static struct miscdevice kvhost_blk_misc = {
	.minor	= MISC_DYNAMIC_MINOR,
	.name	= "kvhost-blk",
	.fops	= &kvhost_blk_fops,
};

module_misc_device(kvhost_blk_misc);

MODULE_LICENSE("GPL");
MODULE_VERSION(KVHOST_VERSION);
MODULE_DESCRIPTION("kvhost-blk: in-kernel virtio-blk datapath on files and block devices");
