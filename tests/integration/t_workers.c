// SPDX-License-Identifier: GPL-2.0
/*
 * t_workers: VHOST_NEW_WORKER / VHOST_ATTACH_VRING_WORKER /
 * VHOST_GET_VRING_WORKER / VHOST_FREE_WORKER.  Two queues of one device on
 * two worker threads move verified traffic at once; workers still serving a
 * queue cannot be freed; moving a queue back keeps its traffic intact.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include "tap.h"
#include "tdev.h"

static const enum tdev_chain_kind kinds[TDEV_NQ] = {
	TDEV_CHAIN_READ, TDEV_CHAIN_WRITE,
};

#define CG_ROOT		"/tmp/kvhost-cg"
#define CG_CHILD	CG_ROOT "/t_workers"
#define MAX_WORKERS	8

/* Kernel threads named after our pid: the device's workers. */
static int find_workers(pid_t *pids, int max)
{
	return kvdev_find_workers(getpid(), pids, max);
}

static int count_workers(void)
{
	pid_t pids[MAX_WORKERS];

	return find_workers(pids, MAX_WORKERS);
}

static int write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	int ret = 0;

	if (!f)
		return -errno;
	if (fputs(text, f) < 0)
		ret = -EIO;
	if (fclose(f))
		ret = -errno;
	return ret;
}

/* Move this process into a fresh cgroup2 child: the workers must follow. */
static int enter_child_cgroup(void)
{
	mkdir(CG_ROOT, 0755);
	if (mount("none", CG_ROOT, "cgroup2", 0, NULL))
		return -errno;
	if (mkdir(CG_CHILD, 0755) && errno != EEXIST)
		return -errno;
	return write_file(CG_CHILD "/cgroup.procs", "0");
}

static void leave_child_cgroup(void)
{
	write_file(CG_ROOT "/cgroup.procs", "0");
	rmdir(CG_CHILD);
	umount(CG_ROOT);
}

/* Whether every worker's cgroup2 path is the child's. */
static bool workers_in_child_cgroup(void)
{
	pid_t pids[MAX_WORKERS];
	char path[64], line[256];
	int n, i, found = 0;

	n = find_workers(pids, MAX_WORKERS);
	for (i = 0; i < n && i < MAX_WORKERS; i++) {
		FILE *f;

		snprintf(path, sizeof(path), "/proc/%d/cgroup", pids[i]);
		f = fopen(path, "r");
		if (!f)
			return false;
		while (fgets(line, sizeof(line), f))
			if (!strcmp(line, "0::/t_workers\n"))
				found++;
		fclose(f);
	}
	if (found != n)
		tap_diag("  %d of %d workers in /t_workers", found, n);
	return n > 0 && found == n;
}

static int new_worker(struct tdev *t, unsigned int *id)
{
	struct vhost_worker_state ws = { .worker_id = ~0U };
	int ret = kvdev_ioctl(&t->dev, VHOST_NEW_WORKER, &ws);

	*id = ws.worker_id;
	return ret;
}

static int free_worker(struct tdev *t, unsigned int id)
{
	struct vhost_worker_state ws = { .worker_id = id };

	return kvdev_ioctl(&t->dev, VHOST_FREE_WORKER, &ws);
}

static int attach(struct tdev *t, unsigned int index, unsigned int id)
{
	struct vhost_vring_worker vw = { .index = index, .worker_id = id };

	return kvdev_ioctl(&t->dev, VHOST_ATTACH_VRING_WORKER, &vw);
}

static int get_worker(struct tdev *t, unsigned int index, unsigned int *id)
{
	struct vhost_vring_worker vw = { .index = index, .worker_id = ~0U };
	int ret = kvdev_ioctl(&t->dev, VHOST_GET_VRING_WORKER, &vw);

	*id = vw.worker_id;
	return ret;
}

static void traffic_both(struct tdev *t, const char *what)
{
	int ret = tdev_traffic_all(t, kinds, 20000, 64);
	unsigned int qi;

	for (qi = 0; qi < TDEV_NQ; qi++)
		tdev_report_q(t, qi, ret, what);
	for (qi = 0; qi < TDEV_NQ; qi++)
		tap_ok(tdev_stats_match(t, qi), "%s: queue %u device counters",
		       what, qi);
}

int main(void)
{
	const struct tdev_cfg cfg = {
		.num = 256, .event_idx = true, .max_segs = 4, .max_len = 512,
	};
	unsigned int id0 = ~0U, id1 = ~0U, got = ~0U;
	struct tdev t;
	int ret, cg;

	tap_init();
	tap_watchdog(300);
	cg = enter_child_cgroup();
	if (cg)
		tap_diag("  cgroup2 child: %s", strerror(-cg));
	ret = tdev_open(&t, &cfg);
	if (!tap_ok(!ret, "device set-up")) {
		tap_diag("  %s", t.err);
		tdev_close(&t);
		return tap_done();
	}

	tap_is(count_workers(), 1, "SET_OWNER started one worker thread");
	tap_errno(get_worker(&t, 0, &id0), 0, "GET_VRING_WORKER queue 0");
	tap_errno(new_worker(&t, &id1), 0, "NEW_WORKER");
	tap_ok(id1 != id0 && id1 != ~0U, "new worker has its own id (%u, %u)",
	       id0, id1);
	tap_is(count_workers(), 2, "NEW_WORKER started a second thread");
	if (cg)
		tap_ok(true, "workers run in the owner's cgroup # SKIP no cgroup2");
	else
		tap_ok(workers_in_child_cgroup(),
		       "workers run in the owner's cgroup");

	tap_errno(attach(&t, 1, id1), 0, "ATTACH_VRING_WORKER queue 1");
	tap_errno(get_worker(&t, 1, &got), 0, "GET_VRING_WORKER queue 1");
	tap_is(got, id1, "queue 1 is on the new worker");
	tap_errno(get_worker(&t, 0, &got), 0, "GET_VRING_WORKER queue 0 again");
	tap_is(got, id0, "queue 0 stayed on the first worker");
	traffic_both(&t, "two workers");

	tap_errno(free_worker(&t, id1), EBUSY, "FREE_WORKER of a busy worker");
	tap_errno(free_worker(&t, 999), ENODEV, "FREE_WORKER of an unknown id");
	tap_errno(attach(&t, 1, 999), ENODEV, "ATTACH to an unknown worker");
	tap_errno(attach(&t, 2, id0), ENOBUFS, "ATTACH of a queue out of range");

	tap_errno(attach(&t, 1, id0), 0, "queue 1 back on the first worker");
	tap_errno(free_worker(&t, id1), 0, "FREE_WORKER once idle");
	tap_is(count_workers(), 1, "the freed worker's thread is gone");
	traffic_both(&t, "one worker again");

	tap_errno(kvdev_ioctl(&t.dev, VHOST_RESET_OWNER, NULL), 0,
		  "RESET_OWNER");
	tap_is(count_workers(), 0, "RESET_OWNER stops every worker");
	tap_errno(kvdev_set_owner(&t.dev), 0, "SET_OWNER again after RESET_OWNER");
	tap_is(count_workers(), 1, "... with a new worker");

	tdev_close(&t);
	tap_is(count_workers(), 0, "close stops every worker");
	if (!cg)
		leave_child_cgroup();
	return tap_done();
}
