// SPDX-License-Identifier: GPL-2.0
/*
 * kvdev_fake: an in-process stand-in for /dev/kvhost-test, for checking the
 * test programs themselves on a machine without the module.  Built only
 * with -DKVDEV_FAKE ("make fake" in tests/integration).  One thread per
 * running queue serves the split ring like the test device is specified to:
 * readable bytes are summed, writable bytes get KVHOST_TEST_PATTERN().
 *
 * Argument checking is minimal: this is not a model of the kernel's.
 */
#include <endian.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include "kvdev.h"
#include "kvdev_fake.h"

#define FAKE_MAX_FD	1024
#define FAKE_FEATURES	(TDEV_FAKE_CORE | (1ULL << 28))
#define TDEV_FAKE_CORE							\
	((1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_RING_F_INDIRECT_DESC) | \
	 (1ULL << VIRTIO_RING_F_EVENT_IDX) | (1ULL << VIRTIO_F_NOTIFY_ON_EMPTY) | \
	 (1ULL << VIRTIO_F_ANY_LAYOUT))

struct fake_dev;

struct fake_stats {
	uint64_t bufs;
	uint64_t bytes_r;	/* readable bytes */
	uint64_t csum_r;	/* their sum */
	uint64_t csum_w;	/* writable bytes = next pattern offset */
	uint64_t kicks;
	uint64_t calls;
	uint32_t broken;
	uint32_t last_err;
};

struct fake_vq {
	struct fake_dev *dev;
	unsigned int idx;
	unsigned int num;
	uint16_t last_avail;
	uint16_t used_idx;
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	int kick_fd, call_fd, err_fd;
	pthread_t thread;
	bool running;
	volatile bool stop;
	struct fake_stats st;
};

struct fake_dev {
	bool owned;
	bool run;
	uint64_t features;
	struct vhost_memory *mt;
	struct fake_vq vq[KVHOST_TEST_VQ_MAX];
	pthread_mutex_t lock;
};

static struct fake_dev *fake_devs[FAKE_MAX_FD];

/* KVDEV_FAKE_BUG=pattern|len|nocall|noerr: misbehave, to see tests fail. */
static bool fake_bug(const char *what)
{
	const char *b = getenv("KVDEV_FAKE_BUG");

	return b && !strcmp(b, what);
}

int kvdev_fake_open(const char *path)
{
	struct fake_dev *d;
	unsigned int i;
	int fd;

	(void)path;
	fd = eventfd(0, EFD_CLOEXEC);
	if (fd < 0 || fd >= FAKE_MAX_FD)
		return -1;
	d = calloc(1, sizeof(*d));
	pthread_mutex_init(&d->lock, NULL);
	for (i = 0; i < KVHOST_TEST_VQ_MAX; i++) {
		d->vq[i].dev = d;
		d->vq[i].idx = i;
		d->vq[i].kick_fd = d->vq[i].call_fd = d->vq[i].err_fd = -1;
	}
	fake_devs[fd] = d;
	return fd;
}

static bool has(const struct fake_vq *vq, unsigned int bit)
{
	return vq->dev->features & (1ULL << bit);
}

static void *xlate(struct fake_vq *vq, uint64_t gpa, uint64_t *room)
{
	const struct vhost_memory *mt = vq->dev->mt;
	uint32_t k;

	for (k = 0; mt && k < mt->nregions; k++) {
		const struct vhost_memory_region *r = &mt->regions[k];

		if (gpa >= r->guest_phys_addr &&
		    gpa - r->guest_phys_addr < r->memory_size) {
			*room = r->memory_size - (gpa - r->guest_phys_addr);
			return (uint8_t *)(uintptr_t)r->userspace_addr +
			       (gpa - r->guest_phys_addr);
		}
	}
	return NULL;
}

static int serve_desc(struct fake_vq *vq, const struct vring_desc *d,
		      bool *seen_w, uint32_t *written)
{
	uint64_t gpa = le64toh(d->addr), room;
	uint32_t len = le32toh(d->len);
	bool w = le16toh(d->flags) & VRING_DESC_F_WRITE;

	if (!len || (!w && *seen_w) || len - 1 > UINT64_MAX - gpa)
		return -EINVAL;
	*seen_w |= w;
	while (len) {
		uint8_t *p = xlate(vq, gpa, &room);
		uint32_t n, i;

		if (!p)
			return -EFAULT;
		n = room < len ? room : len;
		for (i = 0; i < n; i++) {
			if (w) {
				p[i] = KVHOST_TEST_PATTERN(vq->st.csum_w);
				if (vq->st.csum_w == 77777 && fake_bug("pattern"))
					p[i]++;
				vq->st.csum_w++;
				(*written)++;
			} else {
				vq->st.csum_r += p[i];
				vq->st.bytes_r++;
			}
		}
		gpa += n;
		len -= n;
	}
	return 0;
}

static int serve_indirect(struct fake_vq *vq, const struct vring_desc *o,
			  bool *seen_w, uint32_t *written)
{
	uint32_t len = le32toh(o->len), n, j = 0, steps = 0;
	uint64_t room;
	struct vring_desc *t;
	int ret;

	if (!has(vq, VIRTIO_RING_F_INDIRECT_DESC) ||
	    (le16toh(o->flags) & VRING_DESC_F_NEXT) || !len || len % 16)
		return -EINVAL;
	n = len / 16;
	if (n > 32768)
		return -E2BIG;
	t = xlate(vq, le64toh(o->addr), &room);
	if (!t || room < len)
		return -EFAULT;
	for (;;) {
		if (++steps > n)
			return -ELOOP;
		if (le16toh(t[j].flags) & VRING_DESC_F_INDIRECT)
			return -EINVAL;
		ret = serve_desc(vq, &t[j], seen_w, written);
		if (ret)
			return ret;
		if (!(le16toh(t[j].flags) & VRING_DESC_F_NEXT))
			return 0;
		j = le16toh(t[j].next);
		if (j >= n)
			return -EINVAL;
	}
}

/* 1 served a chain, 0 empty, <0 broken. */
static int serve_one(struct fake_vq *vq)
{
	uint16_t aidx = le16toh(__atomic_load_n(&vq->avail->idx,
						__ATOMIC_ACQUIRE));
	uint16_t head, i;
	uint32_t written = 0, steps = 0;
	bool seen_w = false;
	struct vring_used_elem *e;
	int ret;

	if (aidx == vq->last_avail)
		return 0;
	if ((uint16_t)(aidx - vq->last_avail) > vq->num)
		return -EINVAL;
	head = le16toh(vq->avail->ring[vq->last_avail & (vq->num - 1)]);
	if (head >= vq->num)
		return -EINVAL;
	for (i = head;;) {
		const struct vring_desc *d = &vq->desc[i];
		uint16_t flags = le16toh(d->flags);

		if (++steps > vq->num)
			return -ELOOP;
		if (flags & VRING_DESC_F_INDIRECT)
			ret = serve_indirect(vq, d, &seen_w, &written);
		else
			ret = serve_desc(vq, d, &seen_w, &written);
		if (ret)
			return ret;
		if (!(flags & VRING_DESC_F_NEXT))
			break;
		i = le16toh(d->next);
		if (i >= vq->num)
			return -EINVAL;
	}
	vq->last_avail++;
	e = &vq->used->ring[vq->used_idx & (vq->num - 1)];
	e->id = htole32(head);
	e->len = htole32(written + (vq->st.bufs == 5000 && fake_bug("len")));
	vq->used_idx++;
	__atomic_store_n(&vq->used->idx, htole16(vq->used_idx),
			 __ATOMIC_RELEASE);
	vq->st.bufs++;
	return 1;
}

static uint16_t *avail_event(struct fake_vq *vq)
{
	return (uint16_t *)((char *)vq->used + 4 + vq->num * 8);
}

static void signal_fd(int fd)
{
	uint64_t one = 1;

	if (fd >= 0 && write(fd, &one, sizeof(one)) < 0)
		return;
}

static void maybe_signal(struct fake_vq *vq, uint16_t old)
{
	bool sig;

	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (has(vq, VIRTIO_RING_F_EVENT_IDX))
		sig = vring_need_event(le16toh(vq->avail->ring[vq->num]),
				       vq->used_idx, old);
	else
		sig = !(le16toh(vq->avail->flags) & VRING_AVAIL_F_NO_INTERRUPT);
	if (sig && !(vq->st.bufs > 3000 && fake_bug("nocall"))) {
		vq->st.calls++;
		signal_fd(vq->call_fd);
	}
}

static void set_notify(struct fake_vq *vq, bool on)
{
	if (has(vq, VIRTIO_RING_F_EVENT_IDX))
		__atomic_store_n(avail_event(vq), htole16(vq->last_avail),
				 __ATOMIC_RELAXED);
	else
		__atomic_store_n(&vq->used->flags,
				 htole16(on ? 0 : VRING_USED_F_NO_NOTIFY),
				 __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

static void *vq_thread(void *arg)
{
	struct fake_vq *vq = arg;
	struct pollfd p = { .fd = vq->kick_fd, .events = POLLIN };
	uint64_t v;
	int ret;

	vq->used_idx = le16toh(vq->used->idx);
	while (!vq->stop) {
		uint16_t old = vq->used_idx;
		unsigned int n = 0;

		set_notify(vq, false);
		while ((ret = serve_one(vq)) == 1 && ++n < 256)
			;
		if (ret < 0) {
			vq->st.broken = 1;
			vq->st.last_err = -ret;
			if (!fake_bug("noerr"))
				signal_fd(vq->err_fd);
			break;
		}
		if (vq->used_idx != old)
			maybe_signal(vq, old);
		if (n == 256)
			continue;
		set_notify(vq, true);
		if (le16toh(__atomic_load_n(&vq->avail->idx, __ATOMIC_RELAXED)) !=
		    vq->last_avail)
			continue;
		if (poll(&p, 1, 20) == 1 && read(vq->kick_fd, &v, 8) == 8)
			vq->st.kicks++;
	}
	return NULL;
}

static void vq_stop(struct fake_vq *vq)
{
	if (!vq->running)
		return;
	vq->stop = true;
	pthread_join(vq->thread, NULL);
	vq->running = false;
	vq->stop = false;
}

static void vq_start(struct fake_vq *vq)
{
	if (vq->running || !vq->dev->run || !vq->desc || vq->kick_fd < 0)
		return;
	vq->running = !pthread_create(&vq->thread, NULL, vq_thread, vq);
}

int kvdev_fake_close(int fd)
{
	struct fake_dev *d = fd >= 0 && fd < FAKE_MAX_FD ? fake_devs[fd] : NULL;
	unsigned int i;

	if (d) {
		for (i = 0; i < KVHOST_TEST_VQ_MAX; i++)
			vq_stop(&d->vq[i]);
		free(d->mt);
		free(d);
		fake_devs[fd] = NULL;
	}
	return close(fd);
}

static int fake_fd(int fd)
{
	return fd < 0 ? -1 : dup(fd);
}

static int vq_ioctl(struct fake_dev *d, unsigned long req, void *arg)
{
	struct vhost_vring_state *s = arg;
	struct vhost_vring_addr *a = arg;
	struct vhost_vring_file *f = arg;
	struct fake_vq *vq;

	/* index is the first field of all three. */
	if (s->index >= KVHOST_TEST_VQ_MAX)
		return -ENOBUFS;
	vq = &d->vq[s->index];
	switch (req) {
	case VHOST_SET_VRING_NUM:
		if (vq->running)
			return -EBUSY;
		if (!s->num || s->num > 32768 || (s->num & (s->num - 1)))
			return -EINVAL;
		vq->num = s->num;
		return 0;
	case VHOST_SET_VRING_BASE:
		if (vq->running)
			return -EBUSY;
		if (s->num > 0xffff)
			return -EINVAL;
		vq->last_avail = s->num;
		return 0;
	case VHOST_GET_VRING_BASE:
		vq_stop(vq);
		s->num = vq->last_avail;
		return 0;
	case VHOST_SET_VRING_ADDR:
		if ((a->desc_user_addr & 15) || (a->avail_user_addr & 1) ||
		    (a->used_user_addr & 3))
			return -EINVAL;
		if (a->flags)
			return -EOPNOTSUPP;
		if (vq->running)
			return -EBUSY;
		vq->desc = (void *)(uintptr_t)a->desc_user_addr;
		vq->avail = (void *)(uintptr_t)a->avail_user_addr;
		vq->used = (void *)(uintptr_t)a->used_user_addr;
		return 0;
	case VHOST_SET_VRING_KICK: {
		/* Only the backend (KVHOST_TEST_RUN) starts a ring. */
		bool was_running = vq->running;

		vq_stop(vq);
		if (vq->kick_fd >= 0)
			close(vq->kick_fd);
		vq->kick_fd = fake_fd(f->fd);
		if (was_running)
			vq_start(vq);
		return 0;
	}
	case VHOST_SET_VRING_CALL:
		if (vq->call_fd >= 0)
			close(vq->call_fd);
		vq->call_fd = fake_fd(f->fd);
		return 0;
	case VHOST_SET_VRING_ERR:
		if (vq->err_fd >= 0)
			close(vq->err_fd);
		vq->err_fd = fake_fd(f->fd);
		return 0;
	}
	return -ENOTTY;
}

static int dev_ioctl(struct fake_dev *d, unsigned long req, void *arg)
{
	struct kvhost_test_stats *st = arg;
	struct vhost_memory *mt = arg;
	unsigned int i;
	size_t sz;

	switch (req) {
	case VHOST_GET_FEATURES:
		*(uint64_t *)arg = FAKE_FEATURES;
		return 0;
	case VHOST_SET_OWNER:
		if (d->owned)
			return -EBUSY;
		d->owned = true;
		return 0;
	}
	if (!d->owned)
		return -EPERM;
	switch (req) {
	case VHOST_SET_FEATURES:
		if (*(uint64_t *)arg & ~FAKE_FEATURES)
			return -EOPNOTSUPP;
		d->features = *(uint64_t *)arg;
		return 0;
	case VHOST_SET_MEM_TABLE:
		if (mt->nregions > 64)
			return -E2BIG;
		sz = vdrv_mem_table_size(mt->nregions);
		free(d->mt);
		d->mt = malloc(sz);
		memcpy(d->mt, mt, sz);
		return 0;
	case KVHOST_TEST_RUN:
		d->run = *(int *)arg;
		for (i = 0; i < KVHOST_TEST_VQ_MAX; i++) {
			if (d->run)
				vq_start(&d->vq[i]);
			else
				vq_stop(&d->vq[i]);
		}
		return 0;
	case KVHOST_TEST_GET_STATS:
		for (i = 0; i < KVHOST_TEST_VQ_MAX; i++) {
			const struct fake_vq *vq = &d->vq[i];

			st->vq[i] = (struct kvhost_test_vq_stats){
				.bufs = vq->st.bufs,
				.bytes = i == 0 ? vq->st.bytes_r : vq->st.csum_w,
				.csum = i == 0 ? vq->st.csum_r : vq->st.csum_w,
				.kicks = vq->st.kicks,
				.calls = vq->st.calls,
				.broken = vq->st.broken,
				.last_err = vq->st.last_err,
			};
		}
		return 0;
	}
	return vq_ioctl(d, req, arg);
}

int kvdev_fake_ioctl(int fd, unsigned long req, void *arg)
{
	struct fake_dev *d = fd >= 0 && fd < FAKE_MAX_FD ? fake_devs[fd] : NULL;
	int ret;

	if (!d) {
		errno = EBADF;
		return -1;
	}
	pthread_mutex_lock(&d->lock);
	ret = dev_ioctl(d, req, arg);
	pthread_mutex_unlock(&d->lock);
	if (ret < 0) {
		errno = -ret;
		return -1;
	}
	return 0;
}
