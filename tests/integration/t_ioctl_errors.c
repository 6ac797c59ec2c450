// SPDX-License-Identifier: GPL-2.0
/*
 * t_ioctl_errors: every malformed vhost ioctl argument gets its errno, and
 * the well-formed neighbour of each bad value is accepted.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "tap.h"
#include "kvdev.h"
#include "vring_drv.h"

#define NUM		256
#define PAGE		4096ULL
#define MEM_REGIONS_DEFAULT	64	/* the device's default region limit */

struct env {
	struct kvdev dev;
	struct vdrv_mem mem;
	struct vdrv_ring ring[KVHOST_TEST_VQ_MAX];
	int pipe_fd[2];
	int null_fd;
	int closed_fd;
	void *unmapped;		/* a page that is not mapped any more */
};

static int env_init(struct env *e)
{
	struct vdrv_ring_opts o = { .num = NUM, .event_idx = true };
	unsigned int qi;
	int ret;

	ret = vdrv_mem_init_identity(&e->mem, 4 << 20);
	for (qi = 0; !ret && qi < KVHOST_TEST_VQ_MAX; qi++)
		ret = vdrv_ring_init(&e->ring[qi], &e->mem, &o);
	if (ret)
		return ret;
	if (pipe(e->pipe_fd))
		return -errno;
	e->null_fd = open("/dev/null", O_RDWR);
	/* Far above anything the test opens later, so the number stays free. */
	e->closed_fd = e->null_fd < 0 ? -1 : fcntl(e->null_fd, F_DUPFD, 900);
	if (e->null_fd < 0 || e->closed_fd < 0)
		return -errno;
	close(e->closed_fd);
	e->unmapped = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (e->unmapped == MAP_FAILED)
		return -errno;
	munmap(e->unmapped, 2 * PAGE);
	return 0;
}

static int env_open(struct env *e)
{
	int ret = kvdev_open(&e->dev, KVDEV_TEST_PATH, KVHOST_TEST_VQ_MAX);

	if (!tap_ok(!ret, "open %s", KVDEV_TEST_PATH))
		tap_diag("  %s", strerror(-ret));
	return ret;
}

/* ---- before SET_OWNER ---- */

static void test_before_owner(struct env *e)
{
	struct kvdev *d = &e->dev;
	uint64_t f = 0;
	unsigned int base;

	tap_errno(kvdev_get_features(d, &f), 0, "GET_FEATURES before SET_OWNER");
	tap_errno(kvdev_set_features(d, 1ULL << VIRTIO_F_VERSION_1), EPERM,
		  "SET_FEATURES before SET_OWNER");
	tap_errno(kvdev_set_mem_table(d, &e->mem), EPERM,
		  "SET_MEM_TABLE before SET_OWNER");
	tap_errno(kvdev_set_vring_num(d, 0, NUM), EPERM,
		  "SET_VRING_NUM before SET_OWNER");
	tap_errno(kvdev_set_vring_base(d, 0, 0), EPERM,
		  "SET_VRING_BASE before SET_OWNER");
	tap_errno(kvdev_set_vring_addr(d, 0, &e->ring[0]), EPERM,
		  "SET_VRING_ADDR before SET_OWNER");
	tap_errno(kvdev_set_vring_kick(d, 0), EPERM,
		  "SET_VRING_KICK before SET_OWNER");
	tap_errno(kvdev_set_vring_call(d, 0), EPERM,
		  "SET_VRING_CALL before SET_OWNER");
	tap_errno(kvdev_set_vring_err(d, 0), EPERM,
		  "SET_VRING_ERR before SET_OWNER");
	tap_errno(kvdev_get_vring_base(d, 0, &base), EPERM,
		  "GET_VRING_BASE before SET_OWNER");
}

static void test_owner(struct env *e)
{
	tap_errno(kvdev_set_owner(&e->dev), 0, "SET_OWNER");
	tap_errno(kvdev_set_owner(&e->dev), EBUSY, "second SET_OWNER");
}

/* ---- features ---- */

/* The highest feature bit not in @offered. */
static uint64_t unknown_bit(uint64_t offered)
{
	int b;

	for (b = 63; b >= 0; b--)
		if (!(offered & (1ULL << b)))
			return 1ULL << b;
	return 0;
}

static void test_features(struct env *e)
{
	struct kvdev *d = &e->dev;
	uint64_t offered = 0, backend = 0, good;

	tap_errno(kvdev_get_features(d, &offered), 0, "GET_FEATURES");
	good = offered & ((1ULL << VIRTIO_F_VERSION_1) |
			  (1ULL << VIRTIO_RING_F_EVENT_IDX) |
			  (1ULL << VIRTIO_RING_F_INDIRECT_DESC));
	tap_errno(kvdev_set_features(d, offered | unknown_bit(offered)),
		  EOPNOTSUPP, "SET_FEATURES with an unknown bit (0x%llx)",
		  (unsigned long long)unknown_bit(offered));
	tap_errno(kvdev_get_backend_features(d, &backend), 0,
		  "GET_BACKEND_FEATURES");
	tap_errno(kvdev_set_backend_features(d, backend | unknown_bit(backend)),
		  EOPNOTSUPP, "SET_BACKEND_FEATURES with an unknown bit (0x%llx)",
		  (unsigned long long)unknown_bit(backend));
	tap_errno(kvdev_set_features(d, good), 0, "SET_FEATURES 0x%llx",
		  (unsigned long long)good);
}

/* ---- memory table ---- */

static struct vhost_memory *table_new(unsigned int n)
{
	struct vhost_memory *t = calloc(1, vdrv_mem_table_size(n));

	if (t)
		t->nregions = n;
	return t;
}

static void region_set(struct vhost_memory_region *r, uint64_t gpa,
		       uint64_t size, uint64_t uaddr)
{
	r->guest_phys_addr = gpa;
	r->memory_size = size;
	r->userspace_addr = uaddr;
	r->flags_padding = 0;
}

/* @n one-page regions over @pages, each at its own gpa. */
static int set_pages_table(struct kvdev *d, uint8_t *pages, unsigned int n)
{
	struct vhost_memory *t = table_new(n);
	unsigned int k;
	int ret;

	if (!t)
		return -ENOMEM;
	for (k = 0; k < n; k++)
		region_set(&t->regions[k], k * 2 * PAGE, PAGE,
			   (uintptr_t)(pages + k * PAGE));
	ret = kvdev_set_mem_table_raw(d, t);
	free(t);
	return ret;
}

static int set_one_region(struct kvdev *d, uint64_t gpa, uint64_t size,
			  uint64_t uaddr, uint64_t padding)
{
	struct vhost_memory *t = table_new(1);
	int ret;

	region_set(&t->regions[0], gpa, size, uaddr);
	t->regions[0].flags_padding = padding;
	ret = kvdev_set_mem_table_raw(d, t);
	free(t);
	return ret;
}

static void test_mem_table(struct env *e)
{
	struct kvdev *d = &e->dev;
	uint64_t u = (uintptr_t)e->mem.region[0].uaddr;
	struct vhost_memory *t;
	uint8_t *pages;

	pages = e->mem.region[0].uaddr + (2 << 20);	/* unused by rings */
	tap_errno(set_pages_table(d, pages, MEM_REGIONS_DEFAULT), 0,
		  "SET_MEM_TABLE with 64 regions");
	tap_errno(set_pages_table(d, pages, MEM_REGIONS_DEFAULT + 1),
		  E2BIG, "SET_MEM_TABLE with 65 regions");
	tap_errno(set_one_region(d, 0, 0, u, 0), EINVAL,
		  "SET_MEM_TABLE zero-size region");
	tap_errno(set_one_region(d, 0, PAGE, u, 1), EINVAL,
		  "SET_MEM_TABLE nonzero flags_padding");
	tap_errno(set_one_region(d, UINT64_MAX - PAGE + 1, 2 * PAGE, u, 0),
		  EINVAL, "SET_MEM_TABLE gpa + size wraps 2^64");
	tap_errno(set_one_region(d, 0, PAGE, 0xffff800000000000ULL, 0), EFAULT,
		  "SET_MEM_TABLE userspace_addr in kernel space");

	t = table_new(2);
	region_set(&t->regions[0], 0, 2 * PAGE, u);
	region_set(&t->regions[1], PAGE, PAGE, u + 4 * PAGE);
	tap_errno(kvdev_set_mem_table_raw(d, t), EINVAL,
		  "SET_MEM_TABLE overlapping regions");
	region_set(&t->regions[1], 2 * PAGE, PAGE, u + 4 * PAGE);
	tap_errno(kvdev_set_mem_table_raw(d, t), 0,
		  "SET_MEM_TABLE adjacent regions");
	free(t);

	tap_errno(kvdev_set_mem_table(d, &e->mem), 0, "SET_MEM_TABLE valid");
}

/* ---- vring state ---- */

static void test_vring_num_base(struct env *e)
{
	struct kvdev *d = &e->dev;

	tap_errno(kvdev_set_vring_num(d, 0, 0), EINVAL, "SET_VRING_NUM 0");
	tap_errno(kvdev_set_vring_num(d, 0, 3), EINVAL, "SET_VRING_NUM 3");
	tap_errno(kvdev_set_vring_num(d, 0, 65536), EINVAL,
		  "SET_VRING_NUM 65536");
	tap_errno(kvdev_set_vring_num(d, 0, 32768), 0, "SET_VRING_NUM 32768");
	tap_errno(kvdev_set_vring_num(d, 0, 1), 0, "SET_VRING_NUM 1");
	tap_errno(kvdev_set_vring_num(d, 0, NUM), 0, "SET_VRING_NUM %u", NUM);
	tap_errno(kvdev_set_vring_base(d, 0, 0x10000), EINVAL,
		  "SET_VRING_BASE 0x10000");
	tap_errno(kvdev_set_vring_base(d, 0, 0xffff), 0, "SET_VRING_BASE 0xffff");
	tap_errno(kvdev_set_vring_base(d, 0, 0), 0, "SET_VRING_BASE 0");
}

static void test_vring_index(struct env *e)
{
	struct kvdev *d = &e->dev;
	const unsigned int bad[] = { KVHOST_TEST_VQ_MAX, 1000, 0xffffffffu };
	unsigned int i, base;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		unsigned int x = bad[i];

		tap_errno(kvdev_set_vring_num(d, x, NUM), ENOBUFS,
			  "SET_VRING_NUM index %u", x);
		tap_errno(kvdev_set_vring_base(d, x, 0), ENOBUFS,
			  "SET_VRING_BASE index %u", x);
		tap_errno(kvdev_get_vring_base(d, x, &base), ENOBUFS,
			  "GET_VRING_BASE index %u", x);
		tap_errno(kvdev_set_vring_addr_raw(d, x, e->ring[0].desc_gpa,
						   e->ring[0].avail_gpa,
						   e->ring[0].used_gpa, 0),
			  ENOBUFS, "SET_VRING_ADDR index %u", x);
		tap_errno(kvdev_set_vring_kick_fd(d, x, d->vq[0].kick_fd),
			  ENOBUFS, "SET_VRING_KICK index %u", x);
		tap_errno(kvdev_set_vring_call_fd(d, x, d->vq[0].call_fd),
			  ENOBUFS, "SET_VRING_CALL index %u", x);
		tap_errno(kvdev_set_vring_err_fd(d, x, d->vq[0].err_fd),
			  ENOBUFS, "SET_VRING_ERR index %u", x);
	}
}

static void test_vring_addr(struct env *e)
{
	struct kvdev *d = &e->dev;
	struct vdrv_ring *r = &e->ring[0];
	uint64_t desc = vdrv_ring_desc_uaddr(r);
	uint64_t avail = vdrv_ring_avail_uaddr(r);
	uint64_t used = vdrv_ring_used_uaddr(r);
	uint64_t gone = (uintptr_t)e->unmapped;

	tap_errno(kvdev_set_vring_addr_raw(d, 0, desc + 8, avail, used, 0),
		  EINVAL, "SET_VRING_ADDR desc not 16-aligned");
	tap_errno(kvdev_set_vring_addr_raw(d, 0, desc, avail + 1, used, 0),
		  EINVAL, "SET_VRING_ADDR avail not 2-aligned");
	tap_errno(kvdev_set_vring_addr_raw(d, 0, desc, avail, used + 2, 0),
		  EINVAL, "SET_VRING_ADDR used not 4-aligned");
	tap_errno(kvdev_set_vring_addr_raw(d, 0, gone, avail, used, 0), EFAULT,
		  "SET_VRING_ADDR desc on an unmapped page");
	tap_errno(kvdev_set_vring_addr_raw(d, 0, desc, gone, used, 0), EFAULT,
		  "SET_VRING_ADDR avail on an unmapped page");
	tap_errno(kvdev_set_vring_addr_raw(d, 0, desc, avail, gone, 0), EFAULT,
		  "SET_VRING_ADDR used on an unmapped page");
	tap_errno(kvdev_set_vring_addr_raw(d, 0, desc, avail, used, 1u << 1),
		  EOPNOTSUPP, "SET_VRING_ADDR unknown flag bit 1");
	tap_errno(kvdev_set_vring_addr_raw(d, 0, desc, avail, used, 1u << 31),
		  EOPNOTSUPP, "SET_VRING_ADDR unknown flag bit 31");
	tap_errno(kvdev_set_vring_addr(d, 0, r), 0, "SET_VRING_ADDR valid");
}

typedef int (*set_fd_fn)(struct kvdev *d, unsigned int idx, int fd);

static void test_vring_fd(struct env *e, set_fd_fn fn, const char *name,
			  int good_fd)
{
	struct kvdev *d = &e->dev;

	tap_errno(fn(d, 0, e->pipe_fd[0]), EINVAL, "%s with a pipe", name);
	tap_errno(fn(d, 0, e->null_fd), EINVAL, "%s with /dev/null", name);
	tap_errno(fn(d, 0, e->closed_fd), EBADF, "%s with a closed fd", name);
	tap_errno(fn(d, 0, -1), 0, "%s with -1 (none)", name);
	tap_errno(fn(d, 0, good_fd), 0, "%s with an eventfd", name);
}

static void test_vring_fds(struct env *e)
{
	struct kvdev *d = &e->dev;

	test_vring_fd(e, kvdev_set_vring_kick_fd, "SET_VRING_KICK",
		      d->vq[0].kick_fd);
	test_vring_fd(e, kvdev_set_vring_call_fd, "SET_VRING_CALL",
		      d->vq[0].call_fd);
	test_vring_fd(e, kvdev_set_vring_err_fd, "SET_VRING_ERR",
		      d->vq[0].err_fd);
}

static void test_busy(struct env *e)
{
	struct kvdev *d = &e->dev;

	vdrv_ring_set_base(&e->ring[1], 0);
	tap_errno(kvdev_setup_vq(d, 1, &e->ring[1]), 0, "set up vq 1");
	tap_errno(kvdev_test_run(d, 1), 0, "KVHOST_TEST_RUN(1)");
	tap_errno(kvdev_set_vring_num(d, 1, NUM), EBUSY,
		  "SET_VRING_NUM while running");
	tap_errno(kvdev_set_vring_base(d, 1, 0), EBUSY,
		  "SET_VRING_BASE while running");
	tap_errno(kvdev_set_vring_addr_raw(d, 1, e->ring[0].desc_gpa,
					   e->ring[0].avail_gpa,
					   e->ring[0].used_gpa, 0),
		  EBUSY, "SET_VRING_ADDR of other addresses while running");
	tap_errno(kvdev_set_vring_addr(d, 1, &e->ring[1]), 0,
		  "SET_VRING_ADDR of the same addresses while running");
	tap_errno(kvdev_test_run(d, 0), 0, "KVHOST_TEST_RUN(0)");
	tap_errno(kvdev_set_vring_num(d, 1, NUM), 0,
		  "SET_VRING_NUM once stopped");
}

int main(void)
{
	static struct env e;
	int ret;

	tap_init();
	tap_watchdog(120);
	ret = env_init(&e);
	if (!tap_ok(!ret, "test environment")) {
		tap_diag("  %s", strerror(-ret));
		return tap_done();
	}
	if (!env_open(&e))
		test_before_owner(&e);
	kvdev_close(&e.dev);

	if (!env_open(&e)) {
		test_owner(&e);
		test_features(&e);
		test_mem_table(&e);
		test_vring_num_base(&e);
		test_vring_index(&e);
		test_vring_addr(&e);
		test_vring_fds(&e);
		test_busy(&e);
	}
	kvdev_close(&e.dev);
	return tap_done();
}
