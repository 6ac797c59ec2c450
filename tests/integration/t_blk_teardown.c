// SPDX-License-Identifier: GPL-2.0
/*
 * t_blk_teardown: /dev/kvhost-blk torn down with I/O in flight, and the
 * threads it runs on: 1. close (1 and 4 queues), owner killed and
 * RESET_OWNER with 128 requests in flight on each queue: every call
 * returns, what was used is right, no pinned page is left and the store's
 * own tmpfs unmounts; 2. a helper thread per started queue, charged to the
 * owner: refused (EAGAIN) beyond its pids.max, none left after close.
 *
 * Needs root, kvhost.ko and kvhost_blk.ko.  t_blk tests the datapath.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "blk_common.h"

static struct gblk_store file_store;	/* for the helpers' reads */
static bool pins_known;
static int64_t pins_base;

/* ---- 1. tear-down ---- */

static bool pins_read(int64_t *diff)
{
	unsigned long long acq = 0, rel = 0, v;
	FILE *f = fopen("/proc/vmstat", "r");
	char name[64];
	int found = 0;

	while (f && fscanf(f, "%63s %llu", name, &v) == 2) {
		if (!strcmp(name, "nr_foll_pin_acquired"))
			acq = v, found |= 1;
		else if (!strcmp(name, "nr_foll_pin_released"))
			rel = v, found |= 2;
	}
	if (f)
		fclose(f);
	*diff = (int64_t)(acq - rel);
	return found == 3;
}

static void pins_check(const char *what)
{
	uint64_t deadline = kvdev_now_ms() + 3000;
	int64_t diff = 0;

	if (!pins_known) {
		tap_ok(true, "%s: pinned pages released # SKIP no nr_foll_pin_* in /proc/vmstat",
		       what);
		return;
	}
	while (pins_read(&diff) && diff > pins_base && kvdev_now_ms() < deadline)
		usleep(50000);
	tap_ok(diff <= pins_base, "%s: every page pinned is released (acquired - released %lld, %lld before)",
	       what, (long long)diff, (long long)pins_base);
}

/* A device on a file of its own tmpfs, @nq queues, each with a load. */
struct td_env {
	char dir[128], path[160];
	struct gblk_store s;
	struct gblk g;
	struct gblk_load l[4];
};

static bool td_open(struct td_env *e, const char *tag, unsigned int nq,
		    const char *what)
{
	struct gblk_cfg c;
	unsigned int q;
	int ret;

	memset(e, 0, sizeof(*e));
	kvdev_init(&e->g.dev);
	gblk_store_init(&e->s);
	ret = tmpfs_mount(e->dir, sizeof(e->dir), tag, getpid(), "size=96m");
	snprintf(e->path, sizeof(e->path), "%s/img", e->dir);
	ret = ret ?: gblk_store_file(&e->s, tag, e->path, 32 * MIB, false);
	if (ret)
		return report(false, NULL, "%s: store on a tmpfs of its own: %s", what,
			      strerror(-ret));
	c = cfg_for(&e->s, nq, gblk_load_mem(nq, 128));
	if (!open_or_report(&e->g, &c, what))
		return false;
	for (q = 0; q < nq; q++) {
		struct gblk_load_cfg lc = {
			.qd = 128, .region = e->s.region, .nreq = 1000000,
			.check_fd = e->s.check_fd, .write_pct = 70, .seed = q + 11,
		};

		if (gblk_load_init(&e->l[q], &e->g, q, &lc))
			return report(false, e->l[q].err, "%s: load set-up", what);
	}
	return true;
}

/* Close everything: then the file system must go and no pin stay. */
static void td_close(struct td_env *e, const char *what, int grace_ms)
{
	unsigned int q;

	gblk_close(&e->g);
	for (q = 0; q < 4; q++)
		gblk_load_free(&e->l[q]);
	gblk_store_close(&e->s);
	if (e->dir[0]) {
		unlink(e->path);
		tmpfs_umount(e->dir, what, grace_ms);
	}
	pins_check(what);
}

static void close_in_flight(unsigned int nq)
{
	static struct td_env e;
	unsigned int q, n = 0;
	uint64_t t0, ms;
	char what[80];

	snprintf(what, sizeof(what), "close with %u x 128 in flight", nq);
	if (td_open(&e, "close", nq, what)) {
		for (q = 0; q < nq; q++)
			n += gblk_load_submit(&e.l[q], 128);
		t0 = kvdev_now_ms();
		kvdev_close(&e.g.dev);
		ms = kvdev_now_ms() - t0;
		tap_ok(ms < GBLK_WAIT_MS, "%s: close returns (%u posted, %llu ms)", what, n,
		       ULL(ms));
	}
	td_close(&e, what, 0);
}

static void owner_killed(void)
{
	static struct td_env e;
	const char *what = "owner killed with 128 in flight";
	uint64_t deadline;
	struct pollfd pf;
	int p[2], status = 0;
	pid_t pid, w = 0;
	char r = 0;

	if (pipe(p))
		return;
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		/* The child's TAP would be numbered on its own: keep it quiet. */
		if (!freopen("/dev/null", "w", stdout) || !td_open(&e, "kill", 1, what) ||
		    gblk_load_submit(&e.l[0], 128) < 64 || write(p[1], "R", 1) != 1)
			_exit(1);
		gblk_load_run(&e.l[0], 100000000);
		_exit(2);
	}
	close(p[1]);
	pf = (struct pollfd){ .fd = p[0], .events = POLLIN };
	if (pid < 0 || poll(&pf, 1, 60000) != 1 || read(p[0], &r, 1) != 1)
		r = 0;
	close(p[0]);
	tap_ok(r == 'R', "%s: child set up with requests in flight", what);
	if (pid < 0)
		return;
	usleep(100000);
	kill(pid, SIGKILL);
	for (deadline = kvdev_now_ms() + 20000;
	     (w = waitpid(pid, &status, WNOHANG)) == 0 && kvdev_now_ms() < deadline;)
		usleep(20000);
	if (!tap_ok(w == pid && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
		    "%s: child reaped, killed by SIGKILL (status 0x%x)", what, status)) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
	}
	/* The child's mount is in our namespace: unmount it here. */
	snprintf(e.dir, sizeof(e.dir), "/tmp/kvblk-kill-%d", (int)pid);
	snprintf(e.path, sizeof(e.path), "%s/img", e.dir);
	unlink(e.path);
	tmpfs_umount(e.dir, what, 2000);
	pins_check(what);
}

static void reset_owner_in_flight(void)
{
	static struct td_env e;
	const char *what = "RESET_OWNER with 128 in flight";
	struct kvhost_blk_queue_stats st;
	struct gblk_load *l = &e.l[0];
	uint64_t t0, ms;
	uint16_t u;
	int ret;
	bool ok;

	if (!td_open(&e, "reset", 1, what))
		goto out;
	gblk_load_submit(l, 128);
	t0 = kvdev_now_ms();
	ret = kvdev_ioctl(&e.g.dev, VHOST_RESET_OWNER, NULL);
	ms = kvdev_now_ms() - t0;
	tap_ok(!ret && ms < GBLK_WAIT_MS, "%s: returns (%s, %llu ms)", what,
	       strerror(-ret), ULL(ms));
	u = vdrv_raw_used_idx(&e.g.q[0].ring);
	usleep(200000);
	tap_is(vdrv_raw_used_idx(&e.g.q[0].ring), u, "%s: the old ring stays still", what);
	report(gblk_load_harvest(l) >= 0, l->err, "%s: what was used is right", what);
	gblk_stats(&e.g.dev, 0, &st);
	tap_ok(!st.reads && !st.writes && !st.inflight, "%s: counters start again at 0", what);
	/* The guest reboots: new rings, the requests never taken given up. */
	gblk_load_abandon(l);
	l->reads = l->writes = l->read_bytes = l->write_bytes = 0;
	e.g.cfg.no_set_queues = true;
	ret = gblk_new_rings(&e.g);
	ret = ret ?: gblk_setup(&e.g);
	if (!report(!ret, e.g.err, "%s: set up again (SET_OWNER ... RUN_QUEUE)", what))
		goto out;
	ok = !gblk_load_run(l, 300) && gblk_load_check(l);
	report(ok, l->err, "%s: I/O after the new set-up verified (%llu abandoned)", what,
	       ULL(l->abandoned));
	report(ok && gblk_load_stats_ok(l), l->err, "%s: counters of the new set-up", what);
out:
	td_close(&e, what, 0);
}

/* ---- 2. helpers: one per started queue, charged to the owner ---- */

#define CG_MNT		"/tmp/kvblk-cg"
#define CG_DIR		CG_MNT "/t_blk_teardown"

/* What helper_child() reports back. */
struct helper_result {
	int setup, run0, run1_full, run1_after;	/* 0 or -errno */
	int helpers_one, helpers_two, helpers_left;
	long pids_full, pids_after;
	bool io_ok[2];
	char err[1100];
};

/*
 * In a child in CG_DIR, pids.max 3: the child, the worker both queues
 * share and queue 0's helper fit; queue 1's helper does not, until
 * pids.max is 4.
 */
static void helper_child(int fd_out)
{
	static struct gblk g;
	struct gblk_cfg c = cfg_for(&file_store, 2, 0);
	struct helper_result r = { .pids_full = -1, .pids_after = -1 };
	pid_t me = getpid();
	int i;

	c.workers = false;
	c.no_run = true;
	r.setup = gblk_open(&g, &c);
	if (r.setup) {
		snprintf(r.err, sizeof(r.err), "%s", g.err);
		goto out;
	}
	r.run0 = gblk_run_queue(&g.dev, 0, 1);
	r.helpers_one = kvdev_find_helpers(me, NULL, 0);
	r.run1_full = gblk_run_queue(&g.dev, 1, 1);
	/* A refused thread is gone once its exit is reaped. */
	for (i = 0; i < 50; i++) {
		r.pids_full = kvdev_read_long(CG_DIR "/pids.current");
		if (r.pids_full <= 3)
			break;
		usleep(10000);
	}
	if (kvdev_write_str(CG_DIR "/pids.max", "4"))
		_exit(8);
	r.run1_after = gblk_run_queue(&g.dev, 1, 1);
	r.helpers_two = kvdev_find_helpers(me, NULL, 0);
	for (i = 0; i < 2; i++) {
		r.io_ok[i] = good_read(&g, i, &file_store);
		if (!r.io_ok[i])
			snprintf(r.err, sizeof(r.err), "queue %d: %s", i, blk_why);
	}
	gblk_close(&g);
	for (i = 0; i < 100; i++) {
		r.helpers_left = kvdev_find_helpers(me, NULL, 0);
		r.pids_after = kvdev_read_long(CG_DIR "/pids.current");
		if (!r.helpers_left && r.pids_after <= 1)
			break;
		usleep(10000);
	}
out:
	if (write(fd_out, &r, sizeof(r)) != sizeof(r))
		_exit(5);
	_exit(0);
}

static void test_helpers(void)
{
	const char *what = "helpers";
	struct helper_result r;
	int p[2], status = 0, ret;
	bool got;
	pid_t pid;

	tap_diag("2. helpers: one per started queue, charged to the owner");
	ret = kvdev_pids_cgroup(CG_MNT, CG_DIR, 3);
	if (ret) {
		tap_ok(true, "%s # SKIP no cgroup2 pids controller (%s)", what,
		       strerror(-ret));
		goto out;
	}
	if (pipe(p))
		goto out;
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		close(p[0]);
		if (kvdev_write_str(CG_DIR "/cgroup.procs", "0"))
			_exit(6);
		helper_child(p[1]);
	}
	close(p[1]);
	memset(&r, 0, sizeof(r));
	got = read(p[0], &r, sizeof(r)) == sizeof(r);
	close(p[0]);
	if (pid > 0)
		waitpid(pid, &status, 0);
	if (!tap_ok(got && WIFEXITED(status) && !WEXITSTATUS(status) && !r.setup,
		    "%s: child set up 2 queues on one worker (status 0x%x) %s", what,
		    status, r.err))
		goto out;
	tap_ok(!r.run0 && r.helpers_one == 1,
	       "%s: queue 0 started (%s) with a helper of its own (%d helper threads)",
	       what, strerror(-r.run0), r.helpers_one);
	tap_ok(r.run1_full == -EAGAIN && r.pids_full == 3,
	       "%s: pids.max 3 (child, worker, helper): queue 1's helper refused -> EAGAIN (%s, pids.current %ld)",
	       what, strerror(-r.run1_full), r.pids_full);
	tap_ok(!r.run1_after && r.helpers_two == 2,
	       "%s: pids.max 4: queue 1 starts with its own helper (%s, %d helper threads)",
	       what, strerror(-r.run1_after), r.helpers_two);
	tap_ok(r.io_ok[0] && r.io_ok[1], "%s: a read on each queue checks out %s",
	       what, r.err);
	tap_ok(!r.helpers_left && r.pids_after == 1,
	       "%s: after close no helper is left (%d, pids.current %ld)", what,
	       r.helpers_left, r.pids_after);
out:
	kvdev_pids_cgroup_remove(CG_MNT, CG_DIR);
}

int main(void)
{
	char path[128];
	uint64_t t0 = kvdev_now_ms();
	int ret;

	tap_init();
	tap_watchdog(gblk_debug_kernel() ? 590 : 290);
	gblk_store_init(&file_store);
	pins_known = pins_read(&pins_base);
	if (!tap_ok(!access(GBLK_PATH, F_OK), "%s exists", GBLK_PATH))
		return tap_done();
	tap_diag("1. tear-down");
	close_in_flight(1);
	close_in_flight(4);
	owner_killed();
	reset_owner_in_flight();
	snprintf(path, sizeof(path), "/tmp/kvblk-td-%d.img", (int)getpid());
	ret = gblk_store_file(&file_store, "file", path, 16 * MIB, false);
	ret = ret ?: gblk_store_prefill(&file_store, file_store.region, 5);
	if (tap_ok(!ret, "store file: %s, 16 MiB, prefilled (%s)", path, strerror(-ret)))
		test_helpers();
	gblk_store_close(&file_store);
	unlink(path);
	tap_diag("t_blk_teardown took %llu s", ULL((kvdev_now_ms() - t0) / 1000));
	return tap_done();
}
