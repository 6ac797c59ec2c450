// SPDX-License-Identifier: GPL-2.0
/*
 * t_limits: what one device, and one owner, may make the host do.
 *
 *  - Workers: a device has at most one per queue (VHOST_NEW_WORKER then
 *    fails with ENOSPC), and an owner gets no more workers than it could
 *    create threads itself: a cgroup's pids.max and RLIMIT_NPROC stop
 *    creation with EAGAIN, and nothing is left behind once the devices
 *    are closed.
 *  - Chains: the test backend refuses a chain of 1024 descriptors of
 *    4 GiB each (the queue breaks at once) instead of reading 4 TiB.
 */
#include <errno.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include "kvdev.h"
#include "tap.h"
#include "vring_drv.h"

#define NET_PATH	"/dev/kvhost-net"
#define NDEV		8
#define CG_MNT		"/tmp/kvhost-cg-limits"
#define CG_DIR		CG_MNT "/t_limits"
#define NOBODY		65534

/* Threads named kvhost-<pid>: the workers of @pid's devices. */
static int count_workers(pid_t pid)
{
	pid_t pids[1];

	return kvdev_find_workers(pid, pids, 0);
}

/* Workers left once stopped threads are reaped (they linger in /proc briefly). */
static int workers_gone(pid_t pid)
{
	int n, i;

	for (i = 0; (n = count_workers(pid)) > 0 && i < 100; i++)
		usleep(10000);
	return n;
}

static int new_worker(struct kvdev *d)
{
	struct vhost_worker_state ws = { 0 };

	return kvdev_ioctl(d, VHOST_NEW_WORKER, &ws);
}

static void test_per_device(const char *path)
{
	struct vhost_worker_state ws = { 0 };
	struct kvdev d;
	int ret;

	ret = kvdev_open(&d, path, 0);
	if (!tap_ok(!ret, "%s: open", path))
		return;
	tap_errno(kvdev_set_owner(&d), 0, "%s: SET_OWNER (worker 1 of 2)", path);
	tap_errno(kvdev_ioctl(&d, VHOST_NEW_WORKER, &ws), 0,
		  "%s: NEW_WORKER (worker 2 of 2)", path);
	tap_errno(new_worker(&d), ENOSPC,
		  "%s: NEW_WORKER beyond one per queue -> ENOSPC", path);
	tap_is(count_workers(getpid()), 2, "%s: two worker threads", path);
	tap_errno(kvdev_ioctl(&d, VHOST_FREE_WORKER, &ws), 0,
		  "%s: FREE_WORKER", path);
	tap_errno(new_worker(&d), 0, "%s: NEW_WORKER after a free", path);
	kvdev_close(&d);
	tap_is(workers_gone(getpid()), 0, "%s: close stops them all", path);
}

/* What a child that makes workers until refused reports back. */
struct make_result {
	int made;		/* workers created */
	int err;		/* errno of the first refusal, 0 if none */
	int left;		/* worker threads after closing every device */
	long pids_full;		/* pids.current once refused, -1 if unknown */
	long pids_after;	/* pids.current after closing, -1 if unknown */
};

/*
 * In the child: open NDEV devices (as root), then as @uid (if not 0) give
 * each an owner and a second worker until refused.
 */
static void make_workers(int fd_out, uid_t uid, bool cgroup)
{
	struct make_result r = { .pids_full = -1, .pids_after = -1 };
	struct kvdev d[NDEV];
	int i, k, ret = 0;

	for (i = 0; i < NDEV; i++)
		if (kvdev_open(&d[i], NET_PATH, 0))
			_exit(3);
	if (uid && setuid(uid))
		_exit(4);
	for (i = 0; i < NDEV && !ret; i++) {
		for (k = 0; k < 2 && !ret; k++) {
			ret = k ? new_worker(&d[i]) : kvdev_set_owner(&d[i]);
			if (!ret)
				r.made++;
		}
	}
	r.err = -ret;
	/* A refused worker's thread is gone once its exit is reaped. */
	for (i = 0; cgroup && i < 50; i++) {
		r.pids_full = kvdev_read_long(CG_DIR "/pids.current");
		if (r.pids_full <= 4)
			break;
		usleep(10000);
	}
	for (i = 0; i < NDEV; i++)
		kvdev_close(&d[i]);
	r.left = workers_gone(getpid());
	for (i = 0; cgroup && i < 100; i++) {
		r.pids_after = kvdev_read_long(CG_DIR "/pids.current");
		if (r.pids_after <= 1)
			break;
		usleep(10000);
	}
	if (write(fd_out, &r, sizeof(r)) != sizeof(r))
		_exit(5);
	_exit(0);
}

/* make_workers() in a child in CG_DIR (@cgroup) with RLIMIT_NPROC @nproc. */
static bool run_child(struct make_result *r, uid_t uid, bool cgroup,
		      rlim_t nproc)
{
	int p[2], status;
	pid_t pid;

	if (pipe(p))
		return false;
	pid = fork();
	if (pid == 0) {
		close(p[0]);
		if (cgroup && kvdev_write_str(CG_DIR "/cgroup.procs", "0"))
			_exit(6);
		if (nproc) {
			struct rlimit rl = { nproc, nproc };

			if (setrlimit(RLIMIT_NPROC, &rl))
				_exit(7);
		}
		make_workers(p[1], uid, cgroup);
	}
	close(p[1]);
	memset(r, 0, sizeof(*r));
	status = read(p[0], r, sizeof(*r)) == sizeof(*r);
	close(p[0]);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status)) {
		tap_diag("  child status 0x%x", status);
		return false;
	}
	return true;
}

static void test_pids_max(void)
{
	struct make_result r;
	int ret;

	ret = kvdev_pids_cgroup(CG_MNT, CG_DIR, 4);
	if (ret) {
		tap_ok(true, "pids.max # SKIP no cgroup2 pids controller (%s)",
		       strerror(-ret));
		goto out;
	}
	if (!tap_ok(run_child(&r, 0, true, 0), "pids.max 4: child ran"))
		goto out;
	tap_ok(r.made == 3 && r.err == EAGAIN,
	       "pids.max 4: the owner and 3 workers fit, the next -> EAGAIN (made %d, err %s)",
	       r.made, strerror(r.err));
	tap_is(r.pids_full, 4, "pids.max 4: pids.current at the limit, not above");
	tap_ok(r.left == 0 && r.pids_after == 1,
	       "pids.max 4: after close no worker is left (%d threads, pids.current %ld)",
	       r.left, r.pids_after);
out:
	kvdev_pids_cgroup_remove(CG_MNT, CG_DIR);
}

static void test_nproc(void)
{
	struct make_result r;
	int round;

	/* Twice: a charge left behind by the first would show in the second. */
	for (round = 1; round <= 2; round++) {
		if (!tap_ok(run_child(&r, NOBODY, false, 3),
			    "RLIMIT_NPROC 3, round %d: child ran", round))
			return;
		tap_ok(r.made == 2 && r.err == EAGAIN,
		       "RLIMIT_NPROC 3, round %d: one task and 2 workers fit, the next -> EAGAIN (made %d, err %s)",
		       round, r.made, strerror(r.err));
		tap_is(r.left, 0, "RLIMIT_NPROC 3, round %d: no worker left", round);
	}
	/* Root is exempt, as from fork(): the per-device limit still holds. */
	if (tap_ok(run_child(&r, 0, false, 3), "RLIMIT_NPROC 3 as root: child ran"))
		tap_ok(r.made == 2 * NDEV && r.err == 0,
		       "RLIMIT_NPROC 3 as root: every device gets its 2 workers (made %d)",
		       r.made);
}

/* ---- a chain of 4 TiB on the test backend ---- */

#define HUGE_GPA	(1ULL << 40)
#define HUGE_LEN	0xfffff000U
#define HUGE_NDESC	1024

static void test_huge_chain(void)
{
	struct vdrv_ring_opts o = { .num = HUGE_NDESC };
	struct kvhost_test_stats st;
	struct vhost_memory *t;
	struct vdrv_mem mem;
	struct vdrv_ring r;
	struct kvdev d;
	uint64_t t0;
	void *big;
	unsigned int i;
	int ret;

	big = mmap(NULL, HUGE_LEN, PROT_READ,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	ret = big == MAP_FAILED ? -errno : vdrv_mem_init_identity(&mem, 1 << 20);
	ret = ret ?: vdrv_ring_init(&r, &mem, &o);
	t = ret ? NULL : vdrv_mem_table(&mem);
	if (!tap_ok(!ret && t, "huge chain: guest memory with a 4 GiB region")) {
		tap_diag("  %s", strerror(-ret));
		return;
	}
	t = realloc(t, vdrv_mem_table_size(2));
	t->regions[1] = (struct vhost_memory_region){
		.guest_phys_addr = HUGE_GPA, .memory_size = HUGE_LEN,
		.userspace_addr = (uintptr_t)big,
	};
	t->nregions = 2;
	vdrv_ring_set_base(&r, 0);
	ret = kvdev_open(&d, KVDEV_TEST_PATH, 2);
	ret = ret ?: kvdev_set_owner(&d);
	ret = ret ?: kvdev_set_features(&d, 1ULL << VIRTIO_F_VERSION_1);
	ret = ret ?: kvdev_set_mem_table_raw(&d, t);
	ret = ret ?: kvdev_setup_vq(&d, 0, &r);
	ret = ret ?: kvdev_test_run(&d, 1);
	if (!tap_ok(!ret, "huge chain: device set up")) {
		tap_diag("  %s", strerror(-ret));
		goto out;
	}
	for (i = 0; i < HUGE_NDESC; i++)
		vdrv_raw_desc(&r, i, HUGE_GPA, HUGE_LEN,
			      i + 1 < HUGE_NDESC ? VRING_DESC_F_NEXT : 0, i + 1);
	vdrv_raw_avail_entry(&r, 0, 0);
	vdrv_raw_avail_idx(&r, 1);
	t0 = kvdev_now_ms();
	kvdev_kick(&d, 0);
	tap_is(kvdev_wait_err(&d, 0, 10000), 1,
	       "huge chain: 1024 x 4 GiB breaks the queue at once (%llu ms)",
	       (unsigned long long)(kvdev_now_ms() - t0));
	if (!kvdev_test_stats(&d, &st))
		tap_ok(st.vq[0].broken && st.vq[0].last_err == E2BIG &&
		       !st.vq[0].bufs,
		       "huge chain: broken with E2BIG, nothing consumed (err %u, bufs %llu)",
		       st.vq[0].last_err, (unsigned long long)st.vq[0].bufs);
out:
	t0 = kvdev_now_ms();
	kvdev_close(&d);
	tap_ok(kvdev_now_ms() - t0 < 5000, "huge chain: close returns at once");
	free(t);
	vdrv_ring_destroy(&r);
	vdrv_mem_destroy(&mem);
	munmap(big, HUGE_LEN);
}

int main(void)
{
	tap_init();
	tap_watchdog(240);
	test_per_device(NET_PATH);
	test_per_device(KVDEV_TEST_PATH);
	test_pids_max();
	test_nproc();
	test_huge_chain();
	return tap_done();
}
