// SPDX-License-Identifier: GPL-2.0
/*
 * kvdev: vhost-style device set-up and notification.
 */
#include <errno.h>
#include <stdio.h>
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "kvdev.h"

#ifdef KVDEV_FAKE
#include "kvdev_fake.h"
#define kvdev_sys_open(path)		kvdev_fake_open(path)
#define kvdev_sys_ioctl(fd, req, arg)	kvdev_fake_ioctl(fd, req, arg)
#define kvdev_sys_close(fd)		kvdev_fake_close(fd)
#else
#define kvdev_sys_open(path)		open(path, O_RDWR | O_CLOEXEC)
#define kvdev_sys_ioctl(fd, req, arg)	ioctl(fd, req, arg)
#define kvdev_sys_close(fd)		close(fd)
#endif

uint64_t kvdev_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void kvdev_close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static int kvdev_new_eventfd(int *fd)
{
	*fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	return *fd < 0 ? -errno : 0;
}

void kvdev_init(struct kvdev *d)
{
	unsigned int i;

	memset(d, 0, sizeof(*d));
	d->fd = -1;
	for (i = 0; i < KVDEV_MAX_VQ; i++) {
		d->vq[i].kick_fd = -1;
		d->vq[i].call_fd = -1;
		d->vq[i].err_fd = -1;
	}
}

int kvdev_open(struct kvdev *d, const char *path, unsigned int nvqs)
{
	unsigned int i;
	int ret;

	kvdev_init(d);
	if (nvqs > KVDEV_MAX_VQ)
		return -EINVAL;
	d->nvqs = nvqs;
	for (i = 0; i < nvqs; i++) {
		struct kvdev_vq *vq = &d->vq[i];

		ret = kvdev_new_eventfd(&vq->kick_fd);
		if (!ret)
			ret = kvdev_new_eventfd(&vq->call_fd);
		if (!ret)
			ret = kvdev_new_eventfd(&vq->err_fd);
		if (ret) {
			kvdev_close(d);
			return ret;
		}
	}
	d->fd = kvdev_sys_open(path);
	if (d->fd < 0) {
		ret = -errno;
		kvdev_close(d);
		return ret;
	}
	return 0;
}

void kvdev_close(struct kvdev *d)
{
	unsigned int i;

	if (d->fd >= 0)
		kvdev_sys_close(d->fd);
	d->fd = -1;
	for (i = 0; i < KVDEV_MAX_VQ; i++) {
		kvdev_close_fd(&d->vq[i].kick_fd);
		kvdev_close_fd(&d->vq[i].call_fd);
		kvdev_close_fd(&d->vq[i].err_fd);
	}
}

int kvdev_ioctl(struct kvdev *d, unsigned long req, void *arg)
{
	return kvdev_sys_ioctl(d->fd, req, arg) < 0 ? -errno : 0;
}

int kvdev_set_owner(struct kvdev *d)
{
	return kvdev_ioctl(d, VHOST_SET_OWNER, NULL);
}

int kvdev_get_features(struct kvdev *d, uint64_t *features)
{
	return kvdev_ioctl(d, VHOST_GET_FEATURES, features);
}

int kvdev_set_features(struct kvdev *d, uint64_t features)
{
	return kvdev_ioctl(d, VHOST_SET_FEATURES, &features);
}

int kvdev_get_backend_features(struct kvdev *d, uint64_t *features)
{
	return kvdev_ioctl(d, VHOST_GET_BACKEND_FEATURES, features);
}

int kvdev_set_backend_features(struct kvdev *d, uint64_t features)
{
	return kvdev_ioctl(d, VHOST_SET_BACKEND_FEATURES, &features);
}

int kvdev_set_mem_table_raw(struct kvdev *d, const struct vhost_memory *t)
{
	return kvdev_ioctl(d, VHOST_SET_MEM_TABLE, (void *)t);
}

int kvdev_set_mem_table(struct kvdev *d, const struct vdrv_mem *m)
{
	struct vhost_memory *t = vdrv_mem_table(m);
	int ret;

	if (!t)
		return -ENOMEM;
	ret = kvdev_set_mem_table_raw(d, t);
	free(t);
	return ret;
}

static int kvdev_vring_state(struct kvdev *d, unsigned long req,
			     unsigned int idx, unsigned int num)
{
	struct vhost_vring_state s = { .index = idx, .num = num };

	return kvdev_ioctl(d, req, &s);
}

int kvdev_set_vring_num(struct kvdev *d, unsigned int idx, unsigned int num)
{
	return kvdev_vring_state(d, VHOST_SET_VRING_NUM, idx, num);
}

int kvdev_set_vring_base(struct kvdev *d, unsigned int idx, unsigned int num)
{
	return kvdev_vring_state(d, VHOST_SET_VRING_BASE, idx, num);
}

int kvdev_get_vring_base(struct kvdev *d, unsigned int idx, unsigned int *base)
{
	struct vhost_vring_state s = { .index = idx, .num = ~0u };
	int ret;

	ret = kvdev_ioctl(d, VHOST_GET_VRING_BASE, &s);
	if (!ret)
		*base = s.num;
	return ret;
}

int kvdev_set_vring_addr_raw(struct kvdev *d, unsigned int idx, uint64_t desc,
			     uint64_t avail, uint64_t used, unsigned int flags)
{
	struct vhost_vring_addr a = {
		.index = idx,
		.flags = flags,
		.desc_user_addr = desc,
		.used_user_addr = used,
		.avail_user_addr = avail,
	};

	return kvdev_ioctl(d, VHOST_SET_VRING_ADDR, &a);
}

int kvdev_set_vring_addr(struct kvdev *d, unsigned int idx,
			 const struct vdrv_ring *r)
{
	return kvdev_set_vring_addr_raw(d, idx, vdrv_ring_desc_uaddr(r),
					vdrv_ring_avail_uaddr(r),
					vdrv_ring_used_uaddr(r), 0);
}

static int kvdev_vring_file(struct kvdev *d, unsigned long req,
			    unsigned int idx, int fd)
{
	struct vhost_vring_file f = { .index = idx, .fd = fd };

	return kvdev_ioctl(d, req, &f);
}

int kvdev_set_vring_kick_fd(struct kvdev *d, unsigned int idx, int fd)
{
	return kvdev_vring_file(d, VHOST_SET_VRING_KICK, idx, fd);
}

int kvdev_set_vring_call_fd(struct kvdev *d, unsigned int idx, int fd)
{
	return kvdev_vring_file(d, VHOST_SET_VRING_CALL, idx, fd);
}

int kvdev_set_vring_err_fd(struct kvdev *d, unsigned int idx, int fd)
{
	return kvdev_vring_file(d, VHOST_SET_VRING_ERR, idx, fd);
}

int kvdev_set_vring_kick(struct kvdev *d, unsigned int idx)
{
	if (idx >= d->nvqs)
		return -EINVAL;
	return kvdev_set_vring_kick_fd(d, idx, d->vq[idx].kick_fd);
}

int kvdev_set_vring_call(struct kvdev *d, unsigned int idx)
{
	if (idx >= d->nvqs)
		return -EINVAL;
	return kvdev_set_vring_call_fd(d, idx, d->vq[idx].call_fd);
}

int kvdev_set_vring_err(struct kvdev *d, unsigned int idx)
{
	if (idx >= d->nvqs)
		return -EINVAL;
	return kvdev_set_vring_err_fd(d, idx, d->vq[idx].err_fd);
}

int kvdev_setup_vq(struct kvdev *d, unsigned int idx, const struct vdrv_ring *r)
{
	int ret;

	ret = kvdev_set_vring_num(d, idx, r->num);
	if (!ret)
		ret = kvdev_set_vring_base(d, idx, r->avail_idx);
	if (!ret)
		ret = kvdev_set_vring_addr(d, idx, r);
	if (!ret)
		ret = kvdev_set_vring_kick(d, idx);
	if (!ret)
		ret = kvdev_set_vring_call(d, idx);
	if (!ret)
		ret = kvdev_set_vring_err(d, idx);
	return ret;
}

int kvdev_setup_dev(struct kvdev *d, uint64_t features,
		    const struct vdrv_mem *m)
{
	int ret;

	ret = kvdev_set_owner(d);
	if (!ret)
		ret = kvdev_set_features(d, features);
	if (!ret)
		ret = kvdev_set_mem_table(d, m);
	return ret;
}

int kvdev_kick(struct kvdev *d, unsigned int idx)
{
	uint64_t one = 1;

	if (idx >= d->nvqs)
		return -EINVAL;
	if (write(d->vq[idx].kick_fd, &one, sizeof(one)) != sizeof(one))
		return -errno;
	return 0;
}

int kvdev_wait_eventfd(int fd, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	uint64_t deadline = kvdev_now_ms() + timeout_ms;
	uint64_t v;
	int ret;

	for (;;) {
		int left = (int)(deadline - kvdev_now_ms());

		if (left < 0)
			left = 0;
		ret = poll(&p, 1, left);
		if (ret < 0 && errno == EINTR)
			continue;
		if (ret < 0)
			return -errno;
		if (!ret)
			return 0;
		/* Nonblocking eventfd: consume the count. */
		if (read(fd, &v, sizeof(v)) == sizeof(v))
			return 1;
		if (errno != EAGAIN)
			return -errno;
		if (!left)
			return 0;
	}
}

int kvdev_wait_call(struct kvdev *d, unsigned int idx, int timeout_ms)
{
	if (idx >= d->nvqs)
		return -EINVAL;
	return kvdev_wait_eventfd(d->vq[idx].call_fd, timeout_ms);
}

int kvdev_wait_err(struct kvdev *d, unsigned int idx, int timeout_ms)
{
	if (idx >= d->nvqs)
		return -EINVAL;
	return kvdev_wait_eventfd(d->vq[idx].err_fd, timeout_ms);
}

int kvdev_test_run(struct kvdev *d, int run)
{
	return kvdev_ioctl(d, KVHOST_TEST_RUN, &run);
}

int kvdev_test_stats(struct kvdev *d, struct kvhost_test_stats *st)
{
	memset(st, 0, sizeof(*st));
	return kvdev_ioctl(d, KVHOST_TEST_GET_STATS, st);
}

/* Threads whose comm is @name: up to @max of their pids in @pids. */
static int kvdev_find_comm(const char *name, pid_t *pids, int max)
{
	char want[48], path[300], comm[64];
	struct dirent *de;
	int n = 0;
	DIR *d;

	snprintf(want, sizeof(want), "%s\n", name);
	d = opendir("/proc");
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		FILE *f;

		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/comm", de->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fgets(comm, sizeof(comm), f) && !strcmp(comm, want)) {
			if (n < max)
				pids[n] = atoi(de->d_name);
			n++;
		}
		fclose(f);
	}
	closedir(d);
	return n;
}

int kvdev_find_workers(pid_t owner, pid_t *pids, int max)
{
	char name[32];

	snprintf(name, sizeof(name), "kvhost-%d", (int)owner);
	return kvdev_find_comm(name, pids, max);
}

int kvdev_find_helpers(pid_t owner, pid_t *pids, int max)
{
	char name[32];

	snprintf(name, sizeof(name), "kvhost-helper-%d", (int)owner);
	return kvdev_find_comm(name, pids, max);
}

int kvdev_write_str(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), ret = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, s, strlen(s)) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

int kvdev_run(const char *cmd, char *out, size_t size)
{
	char sink[512];
	size_t n = 0;
	FILE *p = popen(cmd, "r");

	if (!p)
		return -1;
	if (out && size)
		n = fread(out, 1, size - 1, p);
	while (fread(sink, 1, sizeof(sink), p) > 0)
		;
	if (out && size)
		out[n] = 0;
	return WEXITSTATUS(pclose(p));
}

long kvdev_read_long(const char *path)
{
	FILE *f = fopen(path, "r");
	long v = -1;

	if (f) {
		if (fscanf(f, "%ld", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

int kvdev_pids_cgroup(const char *mnt, const char *dir, long max)
{
	char path[300], val[24];
	int ret;

	mkdir(mnt, 0755);
	ret = mount("none", mnt, "cgroup2", 0, NULL) ? -errno : 0;
	snprintf(path, sizeof(path), "%s/cgroup.subtree_control", mnt);
	ret = ret ?: kvdev_write_str(path, "+pids");
	if (!ret && mkdir(dir, 0755) && errno != EEXIST)
		ret = -errno;
	snprintf(path, sizeof(path), "%s/pids.max", dir);
	snprintf(val, sizeof(val), "%ld", max);
	return ret ?: kvdev_write_str(path, val);
}

void kvdev_pids_cgroup_remove(const char *mnt, const char *dir)
{
	rmdir(dir);
	umount(mnt);
	rmdir(mnt);
}
