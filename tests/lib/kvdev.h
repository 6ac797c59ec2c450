/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kvdev: the device side of the test library: a vhost-style char device
 * (/dev/kvhost-test, /dev/kvhost-net, /dev/vhost-net) driven through the
 * standard vhost ioctls, with one kick/call/err eventfd per queue.
 *
 * Every function returns 0 (or a count) on success and -errno on failure.
 */
#ifndef KVDEV_H
#define KVDEV_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <linux/vhost.h>
#include "kvhost.h"
#include "vring_drv.h"

#define KVDEV_TEST_PATH		"/dev/kvhost-test"
#define KVDEV_MAX_VQ		8

struct kvdev_vq {
	int kick_fd;		/* eventfd we write to kick the device */
	int call_fd;		/* eventfd the device signals on used */
	int err_fd;		/* eventfd the device signals on a broken ring */
};

struct kvdev {
	int fd;
	unsigned int nvqs;
	struct kvdev_vq vq[KVDEV_MAX_VQ];
};

/* Mark every fd closed (what kvdev_close() expects of an unopened kvdev). */
void kvdev_init(struct kvdev *d);
/* Open @path and create @nvqs sets of eventfds (not yet given to it). */
int kvdev_open(struct kvdev *d, const char *path, unsigned int nvqs);
/* Close the device fd, then the eventfds.  Safe on a failed open. */
void kvdev_close(struct kvdev *d);

/* ioctl(d->fd, req, arg), -errno on failure. */
int kvdev_ioctl(struct kvdev *d, unsigned long req, void *arg);

int kvdev_set_owner(struct kvdev *d);
int kvdev_get_features(struct kvdev *d, uint64_t *features);
int kvdev_set_features(struct kvdev *d, uint64_t features);
int kvdev_get_backend_features(struct kvdev *d, uint64_t *features);
int kvdev_set_backend_features(struct kvdev *d, uint64_t features);
/* Give the table vdrv_mem_table() builds for @m. */
int kvdev_set_mem_table(struct kvdev *d, const struct vdrv_mem *m);
/* Give a table as is (for malformed tables). */
int kvdev_set_mem_table_raw(struct kvdev *d, const struct vhost_memory *t);

int kvdev_set_vring_num(struct kvdev *d, unsigned int idx, unsigned int num);
int kvdev_set_vring_base(struct kvdev *d, unsigned int idx, unsigned int num);
/* Stops the queue; *@base gets the next avail index it would have taken. */
int kvdev_get_vring_base(struct kvdev *d, unsigned int idx, unsigned int *base);
int kvdev_set_vring_addr_raw(struct kvdev *d, unsigned int idx, uint64_t desc,
			     uint64_t avail, uint64_t used, unsigned int flags);
int kvdev_set_vring_addr(struct kvdev *d, unsigned int idx,
			 const struct vdrv_ring *r);
/* Give any fd (or -1) as kick/call/err of queue @idx. */
int kvdev_set_vring_kick_fd(struct kvdev *d, unsigned int idx, int fd);
int kvdev_set_vring_call_fd(struct kvdev *d, unsigned int idx, int fd);
int kvdev_set_vring_err_fd(struct kvdev *d, unsigned int idx, int fd);
/* Give the queue's own eventfds. */
int kvdev_set_vring_kick(struct kvdev *d, unsigned int idx);
int kvdev_set_vring_call(struct kvdev *d, unsigned int idx);
int kvdev_set_vring_err(struct kvdev *d, unsigned int idx);

/*
 * QEMU-order queue set-up for @r: NUM, BASE (from the ring's avail index),
 * ADDR, KICK, CALL, ERR.
 */
int kvdev_setup_vq(struct kvdev *d, unsigned int idx, const struct vdrv_ring *r);
/* SET_OWNER, SET_FEATURES, SET_MEM_TABLE. */
int kvdev_setup_dev(struct kvdev *d, uint64_t features,
		    const struct vdrv_mem *m);

/* Write the queue's kick eventfd. */
int kvdev_kick(struct kvdev *d, unsigned int idx);
/*
 * Wait up to @timeout_ms for the eventfd to be signalled and consume it.
 * Return 1 if it was, 0 on timeout.
 */
int kvdev_wait_call(struct kvdev *d, unsigned int idx, int timeout_ms);
int kvdev_wait_err(struct kvdev *d, unsigned int idx, int timeout_ms);
/* Wait on any fd the same way. */
int kvdev_wait_eventfd(int fd, int timeout_ms);

/* /dev/kvhost-test only. */
int kvdev_test_run(struct kvdev *d, int run);
int kvdev_test_stats(struct kvdev *d, struct kvhost_test_stats *st);

/*
 * The worker threads of @owner's devices (kernel threads named
 * "kvhost-<owner pid>"): up to @max of their pids in @pids.
 * Return: how many there are, -errno if /proc cannot be read.
 */
int kvdev_find_workers(pid_t owner, pid_t *pids, int max);
/* The same for the helper threads ("kvhost-helper-<owner pid>"). */
int kvdev_find_helpers(pid_t owner, pid_t *pids, int max);

/* Write @s to @path (sysfs, cgroupfs); 0 or -errno. */
int kvdev_write_str(const char *path, const char *s);
/* The number @path holds, -1 if none. */
long kvdev_read_long(const char *path);
/*
 * Mount cgroup2 at @mnt, enable the pids controller and make @dir (under
 * @mnt) with pids.max @max.  Return: 0 or -errno (no cgroup2, no pids).
 */
int kvdev_pids_cgroup(const char *mnt, const char *dir, long max);
/* Undo kvdev_pids_cgroup() (every task must have left @dir). */
void kvdev_pids_cgroup_remove(const char *mnt, const char *dir);

/*
 * Run @cmd with sh -c; its standard output (at most @size - 1 bytes, the
 * rest read and dropped) in @out, NUL-terminated, if @out is not NULL.
 * Return: its exit status, -1 if it could not run.
 */
int kvdev_run(const char *cmd, char *out, size_t size);

/* Milliseconds on CLOCK_MONOTONIC. */
uint64_t kvdev_now_ms(void);

#endif /* KVDEV_H */
