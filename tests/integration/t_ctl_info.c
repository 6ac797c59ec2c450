// SPDX-License-Identifier: GPL-2.0
/*
 * t_ctl_info: kvhostctl info and kvhostctl stats on devices other
 * processes hold, checked against what those processes set up and did:
 * a child drives a kvhost-blk device (an image file, 2 queues, each on a
 * worker of its own) with a known number of reads and writes, another
 * child owns a kvhost-net device with no backend.  info --json must name
 * both holders, owners, queue counts, the workers (their threads exist,
 * named kvhost-PID) and the image; stats --json the children's own counts;
 * stats --watch two rounds with rates; bad arguments exit 2; once the
 * children are gone no device of theirs is listed.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <json-c/json.h>
#include "blk_common.h"

#define NREADS		7
#define NWRITES		5

static char tool[512], img_path[128];

/* What the blk child reports once its I/O is done. */
struct blk_child_report {
	int fd;			/* its /dev/kvhost-blk descriptor */
	int ok;
	unsigned int reads[2], writes[2];
	char err[1100];
};

/* Run kvhostctl with @args (and 2>/dev/null); stdout in @out. Return: exit status. */
static int run_tool(const char *args, char *out, size_t size)
{
	char cmd[1024];

	snprintf(cmd, sizeof(cmd), "%s %s 2>/dev/null", tool, args);
	return kvdev_run(cmd, out, size);
}

/* In the child: a device on the image, 2 queues on their own workers, some I/O. */
static void blk_child(int report_fd, const struct gblk_store *s)
{
	static struct gblk g;
	struct gblk_cfg c = cfg_for(s, 2, 0);
	struct blk_child_report r = { .fd = -1 };
	unsigned int q, i;

	if (gblk_open(&g, &c)) {
		snprintf(r.err, sizeof(r.err), "%s", g.err);
		goto out;
	}
	r.fd = g.dev.fd;
	r.ok = 1;
	for (q = 0; q < 2; q++) {
		for (i = 0; r.ok && i < NREADS + q; i++, r.reads[q]++)
			r.ok = good_read(&g, q, s);
		for (i = 0; r.ok && i < NWRITES + q; i++, r.writes[q]++)
			r.ok = rw_ok(&g, q, T_OUT, 8 * i, 0, 4096, S_OK, 1);
	}
	if (!r.ok)
		snprintf(r.err, sizeof(r.err), "%s", blk_why);
out:
	if (write(report_fd, &r, sizeof(r)) != sizeof(r))
		_exit(1);
	pause();
	_exit(0);
}

static pid_t start_blk_child(const struct gblk_store *s, struct blk_child_report *r)
{
	int p[2];
	pid_t pid;

	if (pipe(p))
		return -1;
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		close(p[0]);
		blk_child(p[1], s);
	}
	close(p[1]);
	if (pid < 0 || read(p[0], r, sizeof(*r)) != sizeof(*r))
		r->ok = 0;
	close(p[0]);
	return pid;
}

/* A child that only owns a kvhost-net device; its fd number in *@fd. */
static pid_t start_net_child(int *fd)
{
	int p[2], dev = open("/dev/kvhost-net", O_RDWR);
	pid_t pid;
	char c = 0;

	if (dev < 0 || pipe(p))
		return -1;
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		c = ioctl(dev, VHOST_SET_OWNER) ? 'E' : 'R';
		if (write(p[1], &c, 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	close(dev);
	close(p[1]);
	if (pid < 0 || read(p[0], &c, 1) != 1 || c != 'R')
		pid = pid > 0 ? -pid : -1;
	close(p[0]);
	*fd = dev;
	return pid;
}

static json_object *get(json_object *o, const char *key)
{
	json_object *v = NULL;

	return json_object_object_get_ex(o, key, &v) ? v : NULL;
}

static int64_t get_int(json_object *o, const char *key)
{
	json_object *v = get(o, key);

	return v ? json_object_get_int64(v) : -1;
}

/* The open_devices (or stats) entry held by @pid as @fd, or NULL. */
static json_object *find_dev(json_object *arr, pid_t pid, int fd, bool stats)
{
	size_t i, j;

	for (i = 0; arr && i < json_object_array_length(arr); i++) {
		json_object *d = json_object_array_get_idx(arr, i);
		json_object *h = get(d, "holders");

		if (stats && get_int(d, "pid") == pid && get_int(d, "fd") == fd)
			return d;
		for (j = 0; h && j < json_object_array_length(h); j++) {
			json_object *x = json_object_array_get_idx(h, j);

			if (get_int(x, "pid") == pid && get_int(x, "fd") == fd)
				return d;
		}
	}
	return NULL;
}

static bool names_have(json_object *names, const char *want)
{
	size_t i;

	for (i = 0; names && i < json_object_array_length(names); i++)
		if (!strcmp(json_object_get_string(json_object_array_get_idx(names, i)), want))
			return true;
	return false;
}

/* Every worker's thread exists and is named kvhost-@owner. */
static bool workers_are_threads(json_object *workers, pid_t owner, int *n)
{
	char path[64], comm[64], want[32];
	size_t i;

	*n = workers ? json_object_array_length(workers) : 0;
	snprintf(want, sizeof(want), "kvhost-%d\n", (int)owner);
	for (i = 0; i < (size_t)*n; i++) {
		int64_t tid = get_int(json_object_array_get_idx(workers, i), "tid");
		FILE *f;

		snprintf(path, sizeof(path), "/proc/%lld/comm", (long long)tid);
		f = fopen(path, "r");
		if (!f)
			return false;
		if (!fgets(comm, sizeof(comm), f))
			comm[0] = 0;
		fclose(f);
		if (strcmp(comm, want))
			return false;
	}
	return true;
}

static void check_info_blk(json_object *root, pid_t pid, const struct blk_child_report *r)
{
	json_object *d = find_dev(get(root, "open_devices"), pid, r->fd, false), *vqs;
	const char *backend;
	int nworkers = 0;
	size_t i;
	bool vq_ok;

	if (!tap_ok(d != NULL, "info --json lists the blk child's device (pid %d fd %d)",
		    (int)pid, r->fd))
		return;
	tap_is(get_int(d, "owner_pid"), pid, "... its owner is the child");
	tap_is(get_int(d, "queues"), 2, "... 2 queues");
	vq_ok = workers_are_threads(get(d, "workers"), pid, &nworkers);
	tap_ok(vq_ok && nworkers == 2, "... 2 workers, each a thread kvhost-%d (%d listed)",
	       (int)pid, nworkers);
	backend = get(d, "backend") ? json_object_get_string(get(d, "backend")) : "";
	tap_ok(!strncmp(backend, img_path, strlen(img_path)) && strstr(backend, "ro=0"),
	       "... backend is the image, writable (\"%s\")", backend);
	tap_ok(names_have(get(d, "feature_names"), "VIRTIO_BLK_F_FLUSH") &&
	       names_have(get(d, "feature_names"), "VIRTIO_F_VERSION_1"),
	       "... acked features by name include FLUSH and VERSION_1");
	vqs = get(d, "vqs");
	vq_ok = vqs && json_object_array_length(vqs) == 2;
	for (i = 0; vq_ok && i < 2; i++) {
		json_object *v = json_object_array_get_idx(vqs, i);

		vq_ok = json_object_get_boolean(get(v, "started")) &&
			json_object_get_boolean(get(v, "running")) &&
			get_int(v, "last_used") == r->reads[i] + r->writes[i] &&
			get_int(v, "helper_tid") > 0;
	}
	tap_ok(vq_ok, "... both queues started and running, used index = requests done, a helper each");
}

static void check_info(pid_t blk_pid, const struct blk_child_report *r, pid_t net_pid,
		       int net_fd)
{
	static char out[1 << 17];
	json_object *root, *mods, *d;
	size_t i;
	int rc;

	rc = run_tool("info --json", out, sizeof(out));
	root = json_tokener_parse(out);
	if (!tap_ok(rc == 0 && root, "info --json exits 0 with JSON (rc %d)", rc))
		return;
	mods = get(root, "modules");
	for (i = 0, rc = 0; mods && i < json_object_array_length(mods); i++) {
		json_object *m = json_object_array_get_idx(mods, i);
		json_object *v = get(m, "version");

		if (json_object_get_boolean(get(m, "loaded")) && v &&
		    !strcmp(json_object_get_string(v), KVHOST_VERSION))
			rc++;
	}
	tap_is(rc, 3, "info: kvhost, kvhost_net, kvhost_blk loaded, version %s", KVHOST_VERSION);
	check_info_blk(root, blk_pid, r);
	d = find_dev(get(root, "open_devices"), net_pid, net_fd, false);
	tap_ok(d && get_int(d, "owner_pid") == net_pid && get_int(d, "queues") == 2 &&
	       get(d, "vqs") && json_object_array_length(get(d, "vqs")) == 2 &&
	       !strcmp(json_object_get_string(get(json_object_array_get_idx(get(d, "vqs"), 0),
						 "backend")), "none"),
	       "info lists the net child's device: owner, 2 queues, no backend");
	json_object_put(root);

	rc = run_tool("info", out, sizeof(out));
	tap_ok(rc == 0 && strstr(out, "backend: ") && strstr(out, img_path) &&
	       strstr(out, "open devices: "),
	       "info (text) exits 0 and names the image");
}

/* --watch 1 until its second round shows rates; then SIGINT ends it, status 0. */
static void check_watch(void)
{
	static char out[1 << 16];
	uint64_t deadline = kvdev_now_ms() + (gblk_debug_kernel() ? 120000 : 30000);
	size_t n = 0;
	int p[2], status = -1;
	ssize_t got;
	pid_t pid;

	if (pipe(p))
		return;
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		dup2(p[1], 1);
		close(p[0]);
		close(p[1]);
		execl(tool, tool, "stats", "--watch", "1", (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	while (!strstr(out, "/s)") && kvdev_now_ms() < deadline && n < sizeof(out) - 1) {
		struct pollfd pf = { .fd = p[0], .events = POLLIN };

		if (poll(&pf, 1, 1000) != 1)
			continue;
		got = read(p[0], out + n, sizeof(out) - 1 - n);
		if (got <= 0)
			break;
		n += got;
		out[n] = 0;
	}
	if (pid > 0) {
		kill(pid, SIGINT);
		waitpid(pid, &status, 0);
	}
	close(p[0]);
	tap_ok(strstr(out, "/s)") && WIFEXITED(status) && !WEXITSTATUS(status),
	       "stats --watch 1: a second round with rates, exit 0 on SIGINT (status 0x%x)", status);
}

static void check_stats(pid_t pid, const struct blk_child_report *r)
{
	static char out[1 << 17];
	json_object *root, *d, *qs;
	bool ok;
	size_t i;
	int rc;

	rc = run_tool("stats --json", out, sizeof(out));
	root = json_tokener_parse(out);
	if (!tap_ok(rc == 0 && root, "stats --json exits 0 with JSON (rc %d)", rc))
		return;
	d = find_dev(root, pid, r->fd, true);
	qs = d ? get(d, "queues") : NULL;
	ok = qs && json_object_array_length(qs) == 2;
	for (i = 0; ok && i < 2; i++) {
		json_object *q = json_object_array_get_idx(qs, i);

		ok = get_int(q, "reads") == r->reads[i] && get_int(q, "writes") == r->writes[i] &&
		     get_int(q, "read_bytes") == 4096LL * r->reads[i] &&
		     get_int(q, "kicks") >= 1 && get_int(q, "calls") >= 1 &&
		     get_int(q, "inflight") == 0 && get(q, "latency_log2_us");
		if (!ok)
			tap_diag("  queue %zu: %s", i, json_object_to_json_string(q));
	}
	tap_ok(ok, "stats --json: each queue's reads, writes, bytes as the child counted them; kicks, calls, no request in flight");
	json_object_put(root);

	rc = run_tool("stats", out, sizeof(out));
	tap_ok(rc == 0 && strstr(out, "queue 1:") && strstr(out, "latency_us"),
	       "stats (text) exits 0 with both queues and the latency histogram");
	check_watch();
}

static void check_usage(void)
{
	char out[256];

	tap_is(run_tool("info --bogus", NULL, 0), 2, "info --bogus: usage error (2)");
	tap_is(run_tool("stats --watch 0", NULL, 0), 2, "stats --watch 0: usage error (2)");
	tap_is(run_tool("stats --watch x", NULL, 0), 2, "stats --watch x: usage error (2)");
	tap_is(run_tool("stats --watch", NULL, 0), 2, "stats --watch without SECS: usage error (2)");
	tap_is(run_tool("frobnicate", NULL, 0), 2, "an unknown subcommand: usage error (2)");
	tap_is(run_tool("info --help", NULL, 0), 0, "info --help exits 0");
	tap_ok(run_tool("--version", out, sizeof(out)) == 0 && strstr(out, KVHOST_VERSION),
	       "--version prints %s", KVHOST_VERSION);
}

static void check_gone(pid_t blk_pid, int blk_fd, pid_t net_pid, int net_fd)
{
	static char out[1 << 17];
	json_object *root, *devs;
	int rc;

	rc = run_tool("info --json", out, sizeof(out));
	root = json_tokener_parse(out);
	devs = root ? get(root, "open_devices") : NULL;
	tap_ok(rc == 0 && devs && !find_dev(devs, blk_pid, blk_fd, false) &&
	       !find_dev(devs, net_pid, net_fd, false),
	       "after the children exit, info lists no device of theirs");
	if (root)
		json_object_put(root);
}

static void reap(pid_t pid)
{
	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
}

int main(void)
{
	const char *top = getenv("KVHOST_TOP");
	struct blk_child_report r = { .fd = -1 };
	struct gblk_store s;
	pid_t blk_pid, net_pid;
	int net_fd = -1, ret;

	tap_init();
	tap_watchdog(gblk_debug_kernel() ? 400 : 120);
	snprintf(tool, sizeof(tool), "%s/build/user/userspace_ctl/kvhostctl",
		 top ? top : "../..");
	if (!tap_ok(access(tool, X_OK) == 0, "kvhostctl built (%s)", tool))
		return tap_done();
	check_usage();
	gblk_store_init(&s);
	snprintf(img_path, sizeof(img_path), "/tmp/kvctl-%d.img", (int)getpid());
	ret = gblk_store_file(&s, "file", img_path, 16 * MIB, false);
	ret = ret ?: gblk_store_prefill(&s, s.region, 3);
	if (!tap_ok(!ret, "image %s, 16 MiB, prefilled (%s)", img_path, strerror(-ret)))
		goto out;
	blk_pid = start_blk_child(&s, &r);
	net_pid = start_net_child(&net_fd);
	if (tap_ok(blk_pid > 0 && r.ok && net_pid > 0,
		   "children set up: blk (pid %d, %u+%u reads, %u+%u writes) and net (pid %d) %s",
		   (int)blk_pid, r.reads[0], r.reads[1], r.writes[0], r.writes[1],
		   (int)net_pid, r.err)) {
		check_info(blk_pid, &r, net_pid, net_fd);
		check_stats(blk_pid, &r);
	}
	reap(blk_pid);
	reap(net_pid < 0 ? -net_pid : net_pid);
	check_gone(blk_pid, r.fd, net_pid, net_fd);
out:
	gblk_store_close(&s);
	unlink(img_path);
	return tap_done();
}
