// SPDX-License-Identifier: GPL-2.0
/*
 * t_faults: allocation failures in every set-up step and in the datapath
 * of the kvhost devices, on a kernel with fault injection (the debug
 * kernel; elsewhere the program reports a skip).
 *
 * Set-up: each step (open, SET_OWNER, SET_MEM_TABLE, NEW_WORKER,
 * SET_BACKEND, RESET_OWNER) is run with its 1st, 2nd, ... allocation
 * failing (/proc/thread-self/fail-nth, failslab and fail_page_alloc with
 * ignore-gfp-wait off) until it runs without reaching the failure.  Each
 * failing run must end in a clean errno (or succeed where the code has a
 * fallback), and the same step must then work.  Datapath: the device's
 * workers get allocation failures at random (task-filter, make-it-fail)
 * while frames flow; frames may be dropped, but nothing may break, and
 * once the faults stop everything must flow again.  Leaks are found by
 * the kmemleak scan tests/vm/in-vm.sh runs after the program.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "gnet.h"
#include "tap.h"

#define FI		"/sys/kernel/debug"
#define NET_PATH	"/dev/kvhost-net"
#define MAX_NTH		400

static uint8_t fbuf[FRAME_MAX], rbuf[FRAME_MAX + 64];
/* Opened once: opening it while armed would count against the arming. */
static int fail_nth_fd = -1;

/* Both injectors on GFP_KERNEL allocations, quiet (no stack dumps). */
static int faults_setup(void)
{
	static const char *const files[][2] = {
		{ FI "/failslab/ignore-gfp-wait", "N" },
		{ FI "/failslab/verbose", "0" },
		{ FI "/failslab/probability", "0" },
		{ FI "/failslab/task-filter", "Y" },
		{ FI "/fail_page_alloc/ignore-gfp-wait", "N" },
		{ FI "/fail_page_alloc/ignore-gfp-highmem", "N" },
		{ FI "/fail_page_alloc/min-order", "0" },
		{ FI "/fail_page_alloc/verbose", "0" },
		{ FI "/fail_page_alloc/probability", "0" },
		{ FI "/fail_page_alloc/task-filter", "Y" },
	};
	unsigned int i;
	int ret;

	fail_nth_fd = open("/proc/thread-self/fail-nth", O_RDWR | O_CLOEXEC);
	if (fail_nth_fd < 0)
		return -errno;
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		ret = kvdev_write_str(files[i][0], files[i][1]);
		if (ret)
			return ret;
	}
	return 0;
}

/* The Nth allocation from here on fails; 0 disarms. */
static void fail_nth(unsigned int n)
{
	char s[16];

	snprintf(s, sizeof(s), "%u", n);
	if (pwrite(fail_nth_fd, s, strlen(s), 0) < 0)
		tap_diag("  fail-nth: %s", strerror(errno));
}

/* Whether the failure armed with fail_nth() was reached; disarms it. */
static bool fail_nth_hit(void)
{
	char buf[16] = "";
	ssize_t n = pread(fail_nth_fd, buf, sizeof(buf) - 1, 0);

	fail_nth(0);
	return n > 0 && strtol(buf, NULL, 10) == 0;
}

/* ---- set-up steps ---- */

enum step { S_OPEN, S_OWNER, S_MEM, S_WORKER, S_BACKEND, S_RESET, S_NSTEPS };

static const char *const step_name[] = {
	[S_OPEN] = "open", [S_OWNER] = "SET_OWNER", [S_MEM] = "SET_MEM_TABLE",
	[S_WORKER] = "NEW_WORKER", [S_BACKEND] = "SET_BACKEND",
	[S_RESET] = "RESET_OWNER",
};

struct fixture {
	struct tapdev t;
	struct gnet g;
	int wire;
};

/* Run step @s on a device brought up to just before it. */
static int do_step(struct fixture *f, enum step s)
{
	struct vhost_worker_state ws = { 0 };
	struct gnet *g = &f->g;
	int ret = 0;

	switch (s) {
	case S_OPEN:
		ret = kvdev_open(&g->dev, NET_PATH, 2);
		break;
	case S_OWNER:
		ret = kvdev_set_owner(&g->dev);
		break;
	case S_MEM:
		ret = kvdev_set_mem_table(&g->dev, &g->mem);
		break;
	case S_WORKER:
		ret = kvdev_ioctl(&g->dev, VHOST_NEW_WORKER, &ws);
		break;
	case S_BACKEND:
		ret = gnet_set_backend(g, RX, f->t.fd);
		ret = ret ?: gnet_set_backend(g, TX, f->t.fd);
		break;
	case S_RESET:
		ret = kvdev_ioctl(&g->dev, VHOST_RESET_OWNER, NULL);
		break;
	default:
		break;
	}
	return ret;
}

static const struct gcfg fcfg = {
	.features = F_V1 | F_MRG | F_EVENT_IDX, .num = 64, .rx_buf = 1536,
	.event_idx = true,
};

/* A fresh guest and device with the steps before @s done. */
static int fixture_up_to(struct fixture *f, enum step s)
{
	enum step k;
	unsigned int q;
	int ret;

	memset(f, 0, sizeof(*f));
	f->wire = -1;
	ret = tapdev_open(&f->t, true, 12);
	if (ret)
		return ret;
	f->wire = wire_open(f->t.ifindex);
	/* The guest alone: the device steps are ours. */
	ret = f->wire < 0 ? f->wire : gnet_guest_init(&f->g, &fcfg);
	for (k = S_OPEN; !ret && k < s; k++) {
		ret = do_step(f, k);
		if (!ret && k == S_MEM) {
			ret = kvdev_set_features(&f->g.dev, fcfg.features);
			for (q = 0; !ret && q < 2; q++)
				ret = kvdev_setup_vq(&f->g.dev, q, &f->g.ring[q]);
			for (q = 0; !ret && q < fcfg.num; q++)
				ret = gnet_rx_post(&f->g, q);
		}
	}
	return ret;
}

static void fixture_down(struct fixture *f)
{
	gnet_close(&f->g);
	if (f->wire >= 0)
		close(f->wire);
	tapdev_close(&f->t);
}

/* Errors an allocation failure may surface as. */
static bool clean_errno(int ret)
{
	return ret == -ENOMEM || ret == -EAGAIN || ret == -ENOBUFS ||
	       ret == -EINTR || ret == -EFAULT;
}

static void test_step(enum step s)
{
	unsigned int n, hits = 0;
	bool ok = true, done = false;
	struct fixture f;
	int ret, bad = 0;
	char why[160] = "";

	for (n = 1; n <= MAX_NTH && !done && ok; n++) {
		ret = fixture_up_to(&f, s);
		if (ret) {
			snprintf(why, sizeof(why), "fixture: %s", strerror(-ret));
			ok = false;
			fixture_down(&f);
			break;
		}
		fail_nth(n);
		ret = do_step(&f, s);
		if (!fail_nth_hit()) {
			/* Fewer than n allocations: the step ran whole. */
			done = true;
			if (ret) {
				snprintf(why, sizeof(why), "unfaulted run: %s", strerror(-ret));
				ok = false;
			}
		} else {
			hits++;
			if (ret && !clean_errno(ret)) {
				bad = ret;
				snprintf(why, sizeof(why), "allocation %u: errno %d", n, -ret);
				ok = false;
			}
			/* After a failure the step must work (unless it succeeded). */
			if (ok && ret && s != S_OPEN && do_step(&f, s)) {
				snprintf(why, sizeof(why), "allocation %u failed, then the step failed again", n);
				ok = false;
			}
		}
		fixture_down(&f);
	}
	(void)bad;
	tap_ok(ok && done, "%s: each of its %u allocations failing gives a clean errno, then it works%s%s",
	       step_name[s], hits, why[0] ? ": " : "", why);
}

/* ---- the datapath under failing allocations in the workers ---- */

/* Let the workers of this process's devices fail allocations (@on). */
static int mark_workers(int on)
{
	pid_t pids[64];
	char path[64];
	int n, i, marked = 0;

	n = kvdev_find_workers(getpid(), pids, 64);
	for (i = 0; i < n && i < 64; i++) {
		snprintf(path, sizeof(path), "/proc/%d/make-it-fail", pids[i]);
		if (!kvdev_write_str(path, on ? "1" : "0"))
			marked++;
	}
	return marked;
}

static int random_faults(bool on)
{
	static const char *const dirs[] = { FI "/failslab", FI "/fail_page_alloc" };
	char path[128];
	unsigned int i;
	int ret = 0;

	/*
	 * The task filter stays on throughout: without it, failures would
	 * hit every task on the machine.  It goes on before the probability
	 * and the probability goes off first.
	 */
	for (i = 0; i < 2 && !ret; i++) {
		snprintf(path, sizeof(path), "%s/probability", dirs[i]);
		ret = on ? 0 : kvdev_write_str(path, "0");
		snprintf(path, sizeof(path), "%s/task-filter", dirs[i]);
		ret = ret ?: kvdev_write_str(path, "Y");
		snprintf(path, sizeof(path), "%s/times", dirs[i]);
		ret = ret ?: kvdev_write_str(path, "-1");
		snprintf(path, sizeof(path), "%s/interval", dirs[i]);
		ret = ret ?: kvdev_write_str(path, "1");
		snprintf(path, sizeof(path), "%s/probability", dirs[i]);
		ret = ret ?: kvdev_write_str(path, on ? "20" : "0");
	}
	return ret;
}

static bool traffic_once(struct fixture *f, unsigned int n, uint32_t seq0,
			 bool must_arrive)
{
	struct virtio_net_hdr_mrg_rxbuf h;
	unsigned int i, nb;
	ssize_t got;
	int len;

	memset(&h, 0, sizeof(h));
	for (i = 0; i < n; i++) {
		frame_make(fbuf, 200 + i, seq0 + i, false);
		if (gnet_tx(&f->g, &h, fbuf, 200 + i, false))
			return false;
		got = wire_recv(f->wire, rbuf, sizeof(rbuf), must_arrive ? WAIT_MS : 200);
		if (must_arrive && (got <= 0 ||
				    !frame_check(rbuf, got, 200 + i, seq0 + i, false, NULL, 0)))
			return false;
		frame_make(fbuf, 300 + i, seq0 + n + i, false);
		wire_send(f->wire, fbuf, 300 + i);
		len = gnet_rx(&f->g, rbuf, &h, &nb, must_arrive ? WAIT_MS : 200);
		if (must_arrive && len != (int)(300 + i))
			return false;
	}
	return !gnet_tx_drain(&f->g, WAIT_MS);
}

static void test_datapath(void)
{
	struct virtio_net_hdr_mrg_rxbuf h;
	struct kvhost_net_stats st;
	struct fixture f;
	unsigned int nb;
	int ret, marked;
	bool ok;

	ret = fixture_up_to(&f, S_RESET);	/* everything up to a running device */
	if (!tap_ok(!ret, "datapath: device with tap backend")) {
		tap_diag("  %s", strerror(-ret));
		fixture_down(&f);
		return;
	}
	gnet_kick(&f.g, RX);
	marked = mark_workers(1);
	ret = random_faults(true);
	tap_ok(!ret && marked > 0, "datapath: 20%% of the workers' allocations fail (%d workers)",
	       marked);
	traffic_once(&f, 60, 1000, false);
	random_faults(false);
	mark_workers(0);
	ok = !gnet_stats(&f.g, &st) && !st.vq[RX].broken && !st.vq[TX].broken;
	tap_ok(ok, "datapath: no queue broken by failed allocations");
	diag_vq_stats("RX", &st.vq[RX]);
	diag_vq_stats("TX", &st.vq[TX]);
	/* Frames lost meanwhile are gone from the wire and the guest alike. */
	while (wire_recv(f.wire, rbuf, sizeof(rbuf), 200) > 0)
		;
	while (gnet_rx(&f.g, rbuf, &h, &nb, 200) >= 0)
		;
	tap_ok(traffic_once(&f, 50, 5000, true),
	       "datapath: once the faults stop, every frame arrives both ways");
	fixture_down(&f);
}

int main(void)
{
	enum step s;
	int ret;

	tap_init();
	tap_watchdog(280);
	ret = faults_setup();
	if (ret) {
		tap_ok(true, "fault injection # SKIP not in this kernel (%s)", strerror(-ret));
		return tap_done();
	}
	for (s = S_OPEN; s < S_NSTEPS; s++)
		test_step(s);
	test_datapath();
	return tap_done();
}
