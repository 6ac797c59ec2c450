// SPDX-License-Identifier: GPL-2.0
/*
 * t_teardown: closing with buffers in flight, the owner dying mid-traffic,
 * and stopping / restarting a queue with GET_VRING_BASE / SET_VRING_BASE.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "tap.h"
#include "tdev.h"

#define CLOSE_MAX_MS	10000
#define REAP_MAX_MS	20000
#define READY_MAX_MS	60000

static const enum tdev_chain_kind rw[TDEV_NQ] = {
	TDEV_CHAIN_READ, TDEV_CHAIN_WRITE,
};

static bool open_or_report(struct tdev *t, const struct tdev_cfg *c,
			   const char *what)
{
	int ret = tdev_open(t, c);

	if (!tap_ok(!ret, "%s: set-up", what))
		tap_diag("  %s", t->err);
	return !ret;
}

/* A fresh device moves verified traffic: the host is still fine. */
static void fresh_device_works(const char *after)
{
	static struct tdev t;
	struct tdev_cfg c = { .num = 128, .event_idx = true, .max_segs = 2,
			      .max_len = 256 };
	int ret;

	if (open_or_report(&t, &c, after)) {
		ret = tdev_traffic_all(&t, rw, 2000, 64);
		tap_ok(!ret && tdev_stats_match(&t, 0) && tdev_stats_match(&t, 1),
		       "%s: a new device moves traffic", after);
		if (ret)
			tap_diag("  %s", t.q[0].err[0] ? t.q[0].err : t.q[1].err);
	}
	tdev_close(&t);
}

/* ---- close with buffers in flight ---- */

static void close_in_flight(const char *what, const struct tdev_cfg *c)
{
	static struct tdev t;
	uint64_t n0, n1, start, ms;

	if (!open_or_report(&t, c, what)) {
		tdev_close(&t);
		return;
	}
	n0 = tdev_post(&t, 0, TDEV_CHAIN_READ, c->num);
	n1 = tdev_post(&t, 1, TDEV_CHAIN_WRITE, c->num);
	start = kvdev_now_ms();
	kvdev_close(&t.dev);
	ms = kvdev_now_ms() - start;
	tap_ok(ms < CLOSE_MAX_MS, "%s: close with %llu + %llu chains posted returns (%llu ms)",
	       what, (unsigned long long)n0, (unsigned long long)n1,
	       (unsigned long long)ms);
	tdev_close(&t);
	fresh_device_works(what);
}

/* ---- owner dies ---- */

enum child_end { CHILD_KILLED, CHILD_EXITS };

static void child_main(int ready_fd, enum child_end end)
{
	static struct tdev t;
	struct tdev_cfg c = { .num = 256, .event_idx = true, .indirect = true,
			      .max_segs = 4, .max_len = 512 };
	char r = 'R';

	if (tdev_open(&t, &c) || tdev_traffic_all(&t, rw, 500, 64)) {
		r = 'F';
		if (write(ready_fd, &r, 1) < 0)
			_exit(3);
		_exit(1);
	}
	if (write(ready_fd, &r, 1) < 0)
		_exit(3);
	if (end == CHILD_EXITS) {
		/* Leave with the device open and the rings full. */
		tdev_post(&t, 0, TDEV_CHAIN_READ, c.num);
		tdev_post(&t, 1, TDEV_CHAIN_WRITE, c.num);
		_exit(0);
	}
	for (;;)
		if (tdev_traffic_all(&t, rw, 1000, 64))
			_exit(2);
}

/* waitpid() with a deadline; -1 if the child did not go away in time. */
static int reap(pid_t pid, int *status, int timeout_ms)
{
	uint64_t deadline = kvdev_now_ms() + timeout_ms;
	pid_t ret;

	do {
		ret = waitpid(pid, status, WNOHANG);
		if (ret == pid)
			return 0;
		if (ret < 0 && errno != EINTR)
			return -1;
		usleep(20000);
	} while (kvdev_now_ms() < deadline);
	return -1;
}

static char wait_ready(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char c = 0;

	if (poll(&p, 1, READY_MAX_MS) == 1 && read(fd, &c, 1) == 1)
		return c;
	return 0;
}

static void owner_dies(const char *what, enum child_end end)
{
	int p[2], status = 0;
	pid_t pid;
	char ready;

	if (!tap_ok(!pipe(p), "%s: pipe", what))
		return;
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		close(p[0]);
		child_main(p[1], end);
	}
	close(p[1]);
	if (!tap_ok(pid > 0, "%s: fork", what)) {
		close(p[0]);
		return;
	}
	ready = wait_ready(p[0]);
	close(p[0]);
	tap_ok(ready == 'R', "%s: child device set up and moving traffic", what);
	if (end == CHILD_KILLED) {
		usleep(200000);
		kill(pid, SIGKILL);
	}
	if (!tap_ok(!reap(pid, &status, REAP_MAX_MS), "%s: child reaped", what)) {
		kill(pid, SIGKILL);
		return;
	}
	if (end == CHILD_KILLED)
		tap_ok(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
		       "%s: child died of SIGKILL (status 0x%x)", what, status);
	else
		tap_ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		       "%s: child exited 0 (status 0x%x)", what, status);
	fresh_device_works(what);
}

/* ---- GET_VRING_BASE / restart ---- */

/* GET_VRING_BASE on queue @qi stops it at index @want. */
static bool check_base(struct tdev *t, unsigned int qi, uint16_t want,
		       unsigned int *base, const char *what)
{
	int ret = kvdev_get_vring_base(&t->dev, qi, base);

	if (!tap_is(ret, 0, "%s: GET_VRING_BASE vq %u", what, qi))
		return false;
	return tap_is(*base, want, "%s: vq %u stopped at index %u", what, qi,
		      want);
}

static void traffic_ok(struct tdev *t, uint64_t n, const char *what)
{
	int ret = tdev_traffic_all(t, rw, n, 64);
	unsigned int qi;

	for (qi = 0; qi < TDEV_NQ; qi++) {
		tdev_report_q(t, qi, ret, what);
		tap_ok(tdev_stats_match(t, qi), "%s: vq %u counters", what, qi);
	}
}

static void stop_restart(uint16_t base)
{
	static struct tdev t;
	struct tdev_cfg c = { .num = 128, .event_idx = true, .base = base,
			      .max_segs = 2, .max_len = 128 };
	const uint64_t n = 1000, late = 10;
	unsigned int b[TDEV_NQ], qi;
	char what[64];
	int ret;

	snprintf(what, sizeof(what), "stop/restart from %u", base);
	if (!open_or_report(&t, &c, what)) {
		tdev_close(&t);
		return;
	}
	traffic_ok(&t, n, what);
	for (qi = 0; qi < TDEV_NQ; qi++)
		check_base(&t, qi, base + n, &b[qi], what);

	/* Stopped: posted and kicked buffers stay in the avail ring. */
	tap_is(tdev_post(&t, 0, TDEV_CHAIN_READ, late), late,
	       "%s: post %llu while stopped", what, (unsigned long long)late);
	kvdev_kick(&t.dev, 0);
	usleep(300000);
	tap_is(vdrv_raw_used_idx(&t.q[0].ring), (uint16_t)(base + n),
	       "%s: stopped queue consumes nothing", what);

	for (qi = 0; qi < TDEV_NQ; qi++) {
		ret = kvdev_set_vring_base(&t.dev, qi, b[qi]);
		tap_is(ret, 0, "%s: SET_VRING_BASE vq %u", what, qi);
		ret = kvdev_set_vring_kick(&t.dev, qi);
		tap_is(ret, 0, "%s: SET_VRING_KICK vq %u", what, qi);
	}
	usleep(100000);
	tap_is(vdrv_raw_used_idx(&t.q[0].ring), (uint16_t)(base + n),
	       "%s: configuring a stopped queue does not start it", what);
	tap_is(kvdev_test_run(&t.dev, 1), 0, "%s: KVHOST_TEST_RUN(1) restarts",
	       what);
	kvdev_kick(&t.dev, 0);
	ret = tdev_drain(&t, 0);
	if (!tap_ok(!ret, "%s: buffers posted while stopped complete", what))
		tap_diag("  %s", t.q[0].err);
	traffic_ok(&t, n, what);
	check_base(&t, 0, base + 2 * n + late, &b[0], what);
	check_base(&t, 1, base + 2 * n, &b[1], what);
	tdev_close(&t);
}

int main(void)
{
	static const struct tdev_cfg small = {
		.num = 256, .event_idx = true, .max_segs = 2, .max_len = 256,
	};
	static const struct tdev_cfg big = {
		.num = 1024, .indirect = true, .max_segs = 1, .max_len = 4096,
	};

	tap_init();
	tap_watchdog(600);
	close_in_flight("close, 256-entry rings full", &small);
	close_in_flight("close, 1024 x 4 KiB in flight", &big);
	owner_dies("owner killed mid-traffic", CHILD_KILLED);
	owner_dies("owner exits with the device open", CHILD_EXITS);
	stop_restart(0);
	stop_restart(65000);
	return tap_done();
}
