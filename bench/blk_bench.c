// SPDX-License-Identifier: GPL-2.0
/*
 * blk_bench: the same block workloads through /dev/kvhost-blk, driven by the
 * guest driver library (tests/lib, tests/integration/gblk.c), and from
 * userspace with fio's io_uring engine, on the same store, interleaved round
 * by round, reported as one Markdown table.
 *
 *   blk_bench [-a] [-r ROUNDS] [-d SECONDS] [-o FILE.md] [-k KERNEL]
 *             [-f ROW_FILTER] [-F FIO]
 *
 * Stores: a configfs null_blk with memory_backed=0 (nothing kept: the path's
 * overhead alone), O_DIRECT on both sides; a prefilled file on a tmpfs of
 * our own, buffered on both sides.  Rows: store x workload x queues (QD1
 * rows at 2 queues only with -a); a round runs kvhost-blk, then fio, SECONDS
 * each (fio first in even rounds).  Queue (fio: job) k of n owns the k-th
 * n-th of the first REGION_MB MiB of the store.
 *
 * kvhost: a fresh device per run, set up as QEMU sets it up (gblk_open()),
 * queue k > 0 on a worker of its own; a thread per queue keeps QD requests
 * in flight, kicks once per batch and sleeps on the call eventfd.  Latency:
 * from adding a request to the ring to harvesting it.  CPU: the device's
 * kernel threads (kvhost-PID, kvhost-helper-PID) over the run.
 * fio: --ioengine=io_uring --numjobs=QUEUES --iodepth=QD, JSON report; total
 * latency (lat_ns) mean and p99; CPU as fio reports it.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <linux/fs.h>
#include <json-c/json.h>
#include "gblk.h"
#include "kvdev.h"
#include "kvhost.h"

#define MIB		(1ULL << 20)
#define NULLB_MB	4096
#define REGION_MB	1024ULL
#define TMPFS_DIR	"/tmp/kvblk-bench"
#define TMPFS_OPTS	"size=1200m"
#define TMPFS_FILE	TMPFS_DIR "/store"
#define NULLB_CFS	"/sys/kernel/config/nullb"
#define FIO_DEFAULT	"/usr/bin/fio"
#define FIO_SLACK_S	90	/* fio's start-up and exit, beyond its runtime */
#define RING_NUM	256
#define MAX_QD		64
#define MAX_Q		2
#define MAX_ROUNDS	50
#define WAIT_MS		10000	/* no completion for this long: the run fails */
#define KV		0
#define UR		1
#define NSIDE		2

/* ---- time ---- */

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static uint64_t tv_ns(const struct timeval *tv)
{
	return (uint64_t)tv->tv_sec * 1000000000ULL + tv->tv_usec * 1000ULL;
}

/* ---- latency histogram: 64 buckets per power of two (< 1.6 % wide) ---- */

#define HIST_SUB_BITS	6
#define HIST_SUB	(1U << HIST_SUB_BITS)
#define HIST_MAX_BITS	40	/* up to 2^40 ns, 18 minutes */
#define HIST_N		((HIST_MAX_BITS - HIST_SUB_BITS + 1) * HIST_SUB)

struct hist {
	uint64_t n;
	uint64_t sum_ns;
	uint64_t b[HIST_N];
};

static unsigned int hist_idx(uint64_t v)
{
	unsigned int msb, shift;

	if (v >= 1ULL << HIST_MAX_BITS)
		v = (1ULL << HIST_MAX_BITS) - 1;
	if (v < HIST_SUB)
		return v;
	msb = 63 - __builtin_clzll(v);
	shift = msb - HIST_SUB_BITS;
	return (shift + 1) * HIST_SUB + ((v >> shift) & (HIST_SUB - 1));
}

/* The middle of bucket @i, ns. */
static double hist_val(unsigned int i)
{
	unsigned int shift;

	if (i < HIST_SUB)
		return i;
	shift = i / HIST_SUB - 1;
	return (double)((uint64_t)(HIST_SUB + i % HIST_SUB) << shift) +
	       ((1ULL << shift) - 1) / 2.0;
}

static void hist_add(struct hist *h, uint64_t ns)
{
	h->b[hist_idx(ns)]++;
	h->n++;
	h->sum_ns += ns;
}

static void hist_merge(struct hist *to, const struct hist *from)
{
	unsigned int i;

	for (i = 0; i < HIST_N; i++)
		to->b[i] += from->b[i];
	to->n += from->n;
	to->sum_ns += from->sum_ns;
}

/* The @pct percentile (nearest rank), ns. */
static double hist_pct(const struct hist *h, unsigned int pct)
{
	uint64_t rank = (h->n * pct + 99) / 100, seen = 0;
	unsigned int i;

	if (!rank)
		rank = 1;
	for (i = 0; i < HIST_N; i++) {
		seen += h->b[i];
		if (seen >= rank)
			return hist_val(i);
	}
	return NAN;
}

/* ---- results ---- */

enum metric { M_IOPS, M_MBPS, M_MEAN, M_P99, M_CPU, M_CPU2, NMETRIC };

/*
 * One run of one row on one side: IOPS, MB/s (10^6 bytes), mean and p99
 * latency (us), CPU us per I/O (kvhost's workers, fio's job threads), and
 * CPU us per I/O of kvhost's submitting threads or of every fio process.
 */
struct run_result {
	bool ok;
	double v[NMETRIC];
	double secs;		/* the measured window */
	double wall;		/* the whole run, set-up and exit included */
	uint64_t ios;
	uint64_t punted;	/* kvhost: requests handed to the queues' helpers */
	char note[200];
};

static void run_fail(struct run_result *res, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void run_fail(struct run_result *res, const char *fmt, ...)
{
	va_list ap;

	if (!res->ok)
		return;		/* keep the first reason */
	res->ok = false;
	va_start(ap, fmt);
	vsnprintf(res->note, sizeof(res->note), fmt, ap);
	va_end(ap);
}

/* ---- stores ---- */

struct store {
	const char *name;
	char path[160];
	bool direct;		/* O_DIRECT on both sides */
	uint64_t size;		/* bytes */
	uint64_t region;	/* bytes the workloads use, from 0 */
	char nullb[160];	/* configfs dir to remove */
	bool mounted;		/* TMPFS_DIR to unmount */
	bool used;		/* by a row */
	bool ok;
	char note[200];
};

static int nullb_attr(const char *dir, const char *attr, const char *val)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", dir, attr);
	return gblk_write_file(path, val);
}

/* A memory_backed=0 null_blk of NULLB_MB MiB through configfs. */
static int store_nullb(struct store *s)
{
	char val[32], node[200];
	uint64_t index;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	int ret, fd;

	if (access("/sys/module/null_blk", F_OK))
		gblk_sh("modprobe null_blk nr_devices=0");
	if (access(NULLB_CFS, F_OK))
		mount("none", "/sys/kernel/config", "configfs", 0, NULL);
	snprintf(s->nullb, sizeof(s->nullb), NULLB_CFS "/kvblk-bench%d",
		 (int)getpid());
	if (mkdir(s->nullb, 0755)) {
		ret = -errno;
		s->nullb[0] = 0;
		return ret;
	}
	snprintf(val, sizeof(val), "%u", NULLB_MB);
	ret = nullb_attr(s->nullb, "size", val);
	ret = ret ?: nullb_attr(s->nullb, "blocksize", "512");
	ret = ret ?: nullb_attr(s->nullb, "memory_backed", "0");
	/* Best effort: a hardware queue per CPU, room for both queues' QD. */
	snprintf(val, sizeof(val), "%ld", ncpu > 0 ? ncpu : 1);
	if (!ret)
		nullb_attr(s->nullb, "submit_queues", val);
	if (!ret)
		nullb_attr(s->nullb, "hw_queue_depth", "256");
	ret = ret ?: nullb_attr(s->nullb, "power", "1");
	snprintf(node, sizeof(node), "%s/index", s->nullb);
	ret = ret ?: gblk_read_u64(node, &index);
	if (ret)
		return ret;
	/* Since 5.19 the disk takes the configfs directory's name; before, nullbN. */
	snprintf(s->path, sizeof(s->path), "/dev/%s", strrchr(s->nullb, '/') + 1);
	if (access(s->path, F_OK))
		snprintf(s->path, sizeof(s->path), "/dev/nullb%llu",
			 (unsigned long long)index);
	s->direct = true;
	fd = open(s->path, O_RDONLY | O_CLOEXEC);
	ret = fd < 0 || ioctl(fd, BLKGETSIZE64, &s->size) ? -errno : 0;
	if (fd >= 0)
		close(fd);
	return ret;
}

/* A REGION_MB MiB file on a tmpfs of its own, every byte written. */
static int store_tmpfs(struct store *s)
{
	uint64_t *buf = malloc(MIB), i, off;
	int fd, ret = 0;

	if (!buf)
		return -ENOMEM;
	if (mkdir(TMPFS_DIR, 0755) && errno != EEXIST)
		ret = -errno;
	if (!ret && mount("none", TMPFS_DIR, "tmpfs", 0, TMPFS_OPTS))
		ret = -errno;
	s->mounted = !ret;
	snprintf(s->path, sizeof(s->path), "%s", TMPFS_FILE);
	fd = ret ? -1 : open(s->path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (!ret && fd < 0)
		ret = -errno;
	for (i = 0; i < MIB / 8; i++)
		buf[i] = (i * 0x9e3779b97f4a7c15ULL) | 1;
	for (off = 0; !ret && off < REGION_MB * MIB; off += MIB)
		if (pwrite(fd, buf, MIB, off) != (ssize_t)MIB)
			ret = errno ? -errno : -EIO;
	if (fd >= 0)
		close(fd);
	free(buf);
	s->size = REGION_MB * MIB;
	return ret;
}

static void store_open(struct store *s)
{
	int ret;

	ret = !strcmp(s->name, "null_blk") ? store_nullb(s) : store_tmpfs(s);
	s->region = s->size < REGION_MB * MIB ? s->size : REGION_MB * MIB;
	s->ok = !ret && s->region >= MIB;
	if (!s->ok)
		snprintf(s->note, sizeof(s->note), "%s set-up: %s", s->name,
			 strerror(ret ? -ret : EINVAL));
}

static void store_close(struct store *s)
{
	if (s->nullb[0]) {
		nullb_attr(s->nullb, "power", "0");
		rmdir(s->nullb);
		s->nullb[0] = 0;
	}
	if (s->mounted) {
		unlink(TMPFS_FILE);
		umount2(TMPFS_DIR, MNT_DETACH);
		rmdir(TMPFS_DIR);
		s->mounted = false;
	}
}

/* ---- workloads and rows ---- */

struct workload {
	const char *name;
	const char *fio_rw;
	bool write;
	bool rnd;
	uint32_t bs;
	unsigned int qd;
};

static const struct workload workloads[] = {
	{ "4K randread QD1",	"randread",	false,	true,	4096,	1 },
	{ "4K randread QD32",	"randread",	false,	true,	4096,	32 },
	{ "4K randwrite QD1",	"randwrite",	true,	true,	4096,	1 },
	{ "4K randwrite QD32",	"randwrite",	true,	true,	4096,	32 },
	{ "128K read QD32",	"read",		false,	false,	131072,	32 },
	{ "128K write QD32",	"write",	true,	false,	131072,	32 },
};

#define NWL	(sizeof(workloads) / sizeof(workloads[0]))
#define WL_GOAL	1	/* 4K randread QD32: kvhost-blk should reach io_uring */
#define NSTORE	2
#define MAX_ROWS (NSTORE * NWL * MAX_Q)

struct row {
	unsigned int st;
	unsigned int wl;
	unsigned int nq;
	char label[80];
};

struct bench {
	unsigned int rounds;
	double secs;
	const char *out_path;
	const char *kernel;
	const char *filter;
	const char *fio;
	bool all;		/* also the QD1 rows at 2 queues */
	char date[32];
	long ncpu;
	double elapsed;		/* seconds the whole benchmark took */
	struct store store[NSTORE];
	struct row row[MAX_ROWS];
	unsigned int nrows;
	unsigned int failed;	/* runs */
	struct run_result res[MAX_ROWS][NSIDE][MAX_ROUNDS];
};

/* ---- kvhost-blk: CPU time of the device's threads ---- */

/* utime + stime of /proc/@pid/stat (fields 14, 15), clock ticks; 0 if gone. */
static uint64_t task_ticks(const char *pid)
{
	char path[300], buf[1024], *p;
	unsigned long long ut, st;
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%s/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
			 &ut, &st) != 2)
		return 0;
	return ut + st;
}

/*
 * CPU time, in clock ticks, of the kernel threads of the devices we own:
 * the workers "kvhost-PID" and the helpers "kvhost-helper-PID" (also when
 * /proc shows it cut at 15 bytes).  The threads of this program are not
 * counted: they stand in for the guest's vCPUs.
 */
static uint64_t worker_ticks(void)
{
	char a[32], b[32], path[300], comm[64];
	struct dirent *de;
	uint64_t sum = 0;
	DIR *d;
	FILE *f;

	snprintf(a, sizeof(a), "kvhost-%d", (int)getpid());
	snprintf(b, sizeof(b), "kvhost-helper-%d", (int)getpid());
	d = opendir("/proc");
	if (!d)
		return 0;
	while ((de = readdir(d))) {
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/comm", de->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (!fgets(comm, sizeof(comm), f))
			comm[0] = 0;
		fclose(f);
		comm[strcspn(comm, "\n")] = 0;
		if (!strcmp(comm, a) || !strcmp(comm, b) ||
		    (strlen(comm) == 15 && !strncmp(comm, b, 15)))
			sum += task_ticks(de->d_name);
	}
	closedir(d);
	return sum;
}

/* ---- kvhost-blk: one queue's submitting thread ---- */

struct kq {
	struct gblk *g;
	unsigned int q;
	const struct workload *w;
	uint64_t start, span;	/* the queue's share of the region, bytes */
	uint64_t next;		/* sequential: next offset in the share */
	uint64_t rnd;
	uint64_t end_ns;	/* no new request from then on */
	uint64_t gpa[MAX_QD];
	uint64_t t_sub[MAX_QD];
	unsigned int free[MAX_QD];
	unsigned int nfree;
	uint64_t ios, bytes;
	uint64_t last_ns;	/* the last completion */
	uint64_t cpu_ns;	/* this thread's CPU time */
	struct hist h;
	pthread_t th;
	bool started;
	char err[200];
};

static int kq_fail(struct kq *k, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int kq_fail(struct kq *k, const char *fmt, ...)
{
	va_list ap;

	if (!k->err[0]) {
		va_start(ap, fmt);
		vsnprintf(k->err, sizeof(k->err), fmt, ap);
		va_end(ap);
	}
	return -1;
}

static int kq_post(struct kq *k, unsigned int slot)
{
	const struct workload *w = k->w;
	struct vdrv_seg seg = {
		.gpa = k->gpa[slot], .len = w->bs, .writable = !w->write,
	};
	struct gblk_io io = {
		.type = w->write ? VIRTIO_BLK_T_OUT : VIRTIO_BLK_T_IN,
		.seg = &seg, .nseg = 1, .indirect = true,
	};
	uint64_t off;
	int ret;

	if (w->rnd) {
		off = gblk_rand(&k->rnd) % (k->span / w->bs) * w->bs;
	} else {
		off = k->next;
		k->next = off + 2 * w->bs > k->span ? 0 : off + w->bs;
	}
	io.sector = (k->start + off) / GBLK_SECTOR;
	k->t_sub[slot] = now_ns();
	ret = gblk_submit(k->g, k->q, &io, slot);
	return ret < 0 ? kq_fail(k, "add to the ring: %s", strerror(-ret)) : 0;
}

static int kq_complete(struct kq *k, const struct gblk_done *d, uint64_t now)
{
	uint32_t want = k->w->write ? 1 : k->w->bs + 1;

	if (d->token >= k->w->qd)
		return kq_fail(k, "completion of unknown request %llu",
			       (unsigned long long)d->token);
	if (d->status != VIRTIO_BLK_S_OK || d->len != want)
		return kq_fail(k, "request completed with status %d, used length %u (want %u)",
			       d->status, d->len, want);
	hist_add(&k->h, now - k->t_sub[d->token]);
	k->free[k->nfree++] = d->token;
	k->ios++;
	k->bytes += k->w->bs;
	k->last_ns = now;
	return 0;
}

/* Keep QD requests in flight until end_ns, then take every one back. */
static void kq_loop(struct kq *k)
{
	uint64_t now, progress = now_ns();
	struct gblk_done d;
	unsigned int posted;
	int got, ret;

	for (;;) {
		now = now_ns();
		for (posted = 0; now < k->end_ns && k->nfree; posted++)
			if (kq_post(k, k->free[--k->nfree]))
				return;
		if (posted)
			gblk_kick(k->g, k->q);
		got = 0;
		while ((ret = gblk_get(k->g, k->q, &d)) == 1) {
			now = now_ns();
			if (kq_complete(k, &d, now))
				return;
			got++;
		}
		if (ret < 0) {
			kq_fail(k, "used ring: %s", strerror(-ret));
			return;
		}
		if (got) {
			progress = now;
			continue;
		}
		if (k->nfree == k->w->qd && now >= k->end_ns)
			return;		/* all back */
		if (now - progress > WAIT_MS * 1000000ULL) {
			kq_fail(k, "no completion in %d s (%u in flight)",
				WAIT_MS / 1000, k->w->qd - k->nfree);
			return;
		}
		kvdev_wait_call(&k->g->dev, k->q, 50);
	}
}

static void *kq_thread(void *arg)
{
	struct kq *k = arg;
	struct rusage r0, r1;

	getrusage(RUSAGE_THREAD, &r0);
	kq_loop(k);
	getrusage(RUSAGE_THREAD, &r1);
	k->cpu_ns = tv_ns(&r1.ru_utime) + tv_ns(&r1.ru_stime) -
		    tv_ns(&r0.ru_utime) - tv_ns(&r0.ru_stime);
	return NULL;
}

/* Set up queue @q's share, buffers and free list. */
static int kq_init(struct kq *k, struct gblk *g, unsigned int q, unsigned int nq,
		   const struct workload *w, const struct store *s)
{
	unsigned int i;
	uint8_t *p;

	memset(k, 0, sizeof(*k));
	k->g = g;
	k->q = q;
	k->w = w;
	k->span = s->region / nq / w->bs * w->bs;
	k->start = q * k->span;
	k->rnd = now_ns() * 0x9e3779b97f4a7c15ULL + q + 1;
	for (i = 0; i < w->qd; i++) {
		p = gblk_alloc(g, w->bs, &k->gpa[i]);
		if (!p)
			return -ENOMEM;
		memset(p, 0x5a + i, w->bs);	/* faulted in, not zero */
		k->free[k->nfree++] = i;
	}
	return 0;
}

static void run_kvhost(const struct store *s, const struct workload *w,
		       unsigned int nq, double secs, struct run_result *res)
{
	static struct gblk g;
	static struct kq kq[MAX_Q];
	struct gblk_cfg c = {
		.nq = nq, .num = RING_NUM, .workers = true,
		.mem_size = (uint64_t)nq * (w->qd * (uint64_t)w->bs + MIB) + 8 * MIB,
	};
	struct kvhost_blk_queue_stats st;
	uint64_t t0, wall0 = now_ns(), ticks0, ticks1, last = 0, cpu_ns = 0;
	uint64_t bytes = 0;
	struct hist *h = &kq[0].h;
	unsigned int q;
	int fd, ret;

	fd = open(s->path, O_RDWR | O_CLOEXEC | (s->direct ? O_DIRECT : 0));
	if (fd < 0) {
		run_fail(res, "open %s: %s", s->path, strerror(errno));
		return;
	}
	c.fd = fd;
	ret = gblk_open(&g, &c);
	if (ret) {
		run_fail(res, "device set-up: %s", g.err);
		goto out;
	}
	if (g.capacity * GBLK_SECTOR < s->region) {
		run_fail(res, "capacity %llu sectors, want %llu bytes",
			 (unsigned long long)g.capacity,
			 (unsigned long long)s->region);
		goto out;
	}
	for (q = 0; q < nq; q++)
		if (kq_init(&kq[q], &g, q, nq, w, s)) {
			run_fail(res, "guest memory");
			goto out;
		}
	ticks0 = worker_ticks();
	t0 = now_ns();
	for (q = 0; q < nq; q++) {
		kq[q].end_ns = t0 + (uint64_t)(secs * 1e9);
		ret = pthread_create(&kq[q].th, NULL, kq_thread, &kq[q]);
		kq[q].started = !ret;
		if (ret)
			kq_fail(&kq[q], "thread: %s", strerror(ret));
	}
	for (q = 0; q < nq; q++)
		if (kq[q].started)
			pthread_join(kq[q].th, NULL);
	ticks1 = worker_ticks();
	for (q = 0; q < nq; q++) {
		if (kq[q].err[0])
			run_fail(res, "queue %u: %s", q, kq[q].err);
		if (!gblk_stats(&g.dev, q, &st)) {
			res->punted += st.punted;
			if (st.errors)
				run_fail(res, "queue %u: %llu errors", q,
					 (unsigned long long)st.errors);
		}
		if (q)
			hist_merge(h, &kq[q].h);
		res->ios += kq[q].ios;
		bytes += kq[q].bytes;
		cpu_ns += kq[q].cpu_ns;
		if (kq[q].last_ns > last)
			last = kq[q].last_ns;
	}
	if (!res->ios || last <= t0) {
		run_fail(res, "nothing completed");
		goto out;
	}
	res->secs = (last - t0) / 1e9;
	res->v[M_IOPS] = res->ios / res->secs;
	res->v[M_MBPS] = bytes / res->secs / 1e6;
	res->v[M_MEAN] = (double)h->sum_ns / h->n / 1e3;
	res->v[M_P99] = hist_pct(h, 99) / 1e3;
	res->v[M_CPU] = (double)(ticks1 - ticks0) * 1e6 / sysconf(_SC_CLK_TCK) /
		      res->ios;
	res->v[M_CPU2] = cpu_ns / 1e3 / res->ios;
out:
	gblk_close(&g);
	close(fd);
	res->wall = (now_ns() - wall0) / 1e9;
}

/* ---- fio ---- */

#define FIO_ARGS	32

/* The fio command line of a run (no argument has a space in it). */
static void fio_cmd(const struct bench *b, const struct store *s,
		    const struct workload *w, unsigned int nq, const char *json,
		    char *cmd, size_t len)
{
	unsigned long long span = s->region / nq / w->bs * w->bs;

	snprintf(cmd, len, "%s --name=kvblk --filename=%s --ioengine=io_uring --direct=%d "
		 "--rw=%s --bs=%u --iodepth=%u --numjobs=%u --thread --group_reporting "
		 "--size=%llu --offset_increment=%llu --time_based --runtime=%llums "
		 "--norandommap --randrepeat=0 --invalidate=0 --lat_percentiles=1 "
		 "--percentile_list=99 --eta=never --output-format=json --output=%s",
		 b->fio, s->path[0] ? s->path : "STORE", s->direct, w->fio_rw, w->bs,
		 w->qd, nq, span, span, (unsigned long long)(b->secs * 1e3), json);
}

/* The first 1 MiB of @path, NUL-terminated; free() it; NULL on error. */
static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = f ? malloc(MIB) : NULL;

	if (buf)
		buf[fread(buf, 1, MIB - 1, f)] = 0;
	if (f)
		fclose(f);
	return buf;
}

static char fio_version[64];	/* from the first report */

/* The member @key of object @o, or NULL. */
static struct json_object *jget(struct json_object *o, const char *key)
{
	struct json_object *v;

	return o && json_object_object_get_ex(o, key, &v) ? v : NULL;
}

/* The number @key of object @o into @v; -1 if there is none. */
static int jnum(struct json_object *o, const char *key, double *v)
{
	struct json_object *n = jget(o, key);

	if (!n || !(json_object_is_type(n, json_type_double) ||
		    json_object_is_type(n, json_type_int)))
		return -1;
	*v = json_object_get_double(n);
	return 0;
}

/* fio's JSON report of one group-reported job: the numbers of @dir. */
static void fio_parse(const char *path, const char *dir, struct run_result *res)
{
	double bw, iops, ios, runtime, mean, p99, job_rt, usr, sys, err;
	struct json_object *top = json_object_from_file(path), *job, *d, *lat;
	const char *ver;

	if (!top) {
		run_fail(res, "fio's report %s: %s", path, json_util_get_last_err());
		return;
	}
	ver = json_object_get_string(jget(top, "fio version"));
	if (ver && !fio_version[0])
		snprintf(fio_version, sizeof(fio_version), "%s", ver);
	job = json_object_array_get_idx(jget(top, "jobs"), 0);
	d = jget(job, dir);
	lat = jget(d, "lat_ns");
	if (jnum(job, "error", &err) || jnum(job, "job_runtime", &job_rt) ||
	    jnum(job, "usr_cpu", &usr) || jnum(job, "sys_cpu", &sys) ||
	    jnum(d, "bw_bytes", &bw) || jnum(d, "iops", &iops) ||
	    jnum(d, "total_ios", &ios) || jnum(d, "runtime", &runtime) ||
	    jnum(lat, "mean", &mean) ||
	    jnum(jget(lat, "percentile"), "99.000000", &p99)) {
		run_fail(res, "fio's JSON report lacks a number");
		goto put;
	}
	if (err || !ios || !runtime) {
		run_fail(res, "fio: error %.0f, %.0f I/Os in %.0f ms", err, ios,
			 runtime);
		goto put;
	}
	res->ios = ios;
	res->secs = runtime / 1e3;
	res->v[M_IOPS] = iops;
	res->v[M_MBPS] = bw / 1e6;
	res->v[M_MEAN] = mean / 1e3;
	res->v[M_P99] = p99 / 1e3;
	/* usr/sys are percent of the summed job runtimes (ms). */
	res->v[M_CPU] = (usr + sys) / 100 * job_rt * 1e3 / ios;
put:
	json_object_put(top);
}

/* The last line of @path, for a failure note. */
static void last_line(const char *path, char *out, size_t len)
{
	char *buf = slurp(path), *p;

	out[0] = 0;
	if (!buf)
		return;
	for (p = buf + strlen(buf); p > buf && isspace((unsigned char)p[-1]); p--)
		*(p - 1) = 0;
	p = strrchr(buf, '\n');
	snprintf(out, len, "%s", p ? p + 1 : buf);
	free(buf);
}

/* Wait for @pid until @deadline (ns); 0 and *@status, or -ETIMEDOUT. */
static int wait_until(pid_t pid, uint64_t deadline, int *status)
{
	pid_t r;

	for (;;) {
		r = waitpid(pid, status, WNOHANG);
		if (r == pid)
			return 0;
		if (r < 0 && errno != EINTR)
			return -errno;
		if (now_ns() > deadline)
			return -ETIMEDOUT;
		usleep(20000);
	}
}

static void run_fio(const struct bench *b, const struct store *s,
		    const struct workload *w, unsigned int nq,
		    struct run_result *res)
{
	static char cmd[1024];
	char *argv[FIO_ARGS + 1], *save = NULL, json[64], log[64], why[120];
	uint64_t t0, cpu;
	struct rusage r0, r1;
	int status = 0, fd, ret;
	unsigned int n = 0;
	pid_t pid;

	snprintf(json, sizeof(json), "/tmp/kvblk-fio-%d.json", (int)getpid());
	snprintf(log, sizeof(log), "/tmp/kvblk-fio-%d.log", (int)getpid());
	unlink(json);
	fio_cmd(b, s, w, nq, json, cmd, sizeof(cmd));
	for (argv[0] = strtok_r(cmd, " ", &save); argv[n] && n < FIO_ARGS;)
		argv[++n] = strtok_r(NULL, " ", &save);
	argv[n] = NULL;

	fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	getrusage(RUSAGE_CHILDREN, &r0);
	t0 = now_ns();
	fflush(NULL);
	pid = fork();
	if (!pid) {
		setpgid(0, 0);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		if (chdir("/tmp"))
			_exit(126);
		execv(argv[0], argv);
		_exit(127);
	}
	if (fd >= 0)
		close(fd);
	if (pid > 0)
		setpgid(pid, pid);	/* the child does too: whoever is first */
	if (pid < 0) {
		run_fail(res, "fork: %s", strerror(errno));
		return;
	}
	ret = wait_until(pid, t0 + (uint64_t)((b->secs + FIO_SLACK_S) * 1e9),
			 &status);
	if (ret) {
		kill(-pid, SIGKILL);
		kill(pid, SIGKILL);
		if (wait_until(pid, now_ns() + 10000000000ULL, &status))
			run_fail(res, "fio (pid %d) did not exit on SIGKILL",
				 (int)pid);
		run_fail(res, "fio: no exit in %.0f s", b->secs + FIO_SLACK_S);
		return;
	}
	res->wall = (now_ns() - t0) / 1e9;
	getrusage(RUSAGE_CHILDREN, &r1);
	cpu = tv_ns(&r1.ru_utime) + tv_ns(&r1.ru_stime) -
	      tv_ns(&r0.ru_utime) - tv_ns(&r0.ru_stime);
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		last_line(log, why, sizeof(why));
		run_fail(res, "fio exited %d: %s", WIFEXITED(status) ?
			 WEXITSTATUS(status) : 128 + WTERMSIG(status), why);
		return;
	}
	fio_parse(json, w->write ? "write" : "read", res);
	if (res->ios)
		res->v[M_CPU2] = cpu / 1e3 / res->ios;
}

/* ---- the rounds ---- */

static void run_one(const struct bench *b, const struct row *r,
		    unsigned int side, struct run_result *res)
{
	const struct store *s = &b->store[r->st];

	memset(res, 0, sizeof(*res));
	res->ok = true;
	if (!s->ok) {
		run_fail(res, "%s", s->note);
		return;
	}
	if (side == KV)
		run_kvhost(s, &workloads[r->wl], r->nq, b->secs, res);
	else
		run_fio(b, s, &workloads[r->wl], r->nq, res);
}

static const char *const side_name[NSIDE] = { "kvhost", "io_uring" };

static void run_all(struct bench *b)
{
	unsigned int i, k, j, side;
	struct run_result *res;

	for (i = 0; i < b->nrows; i++) {
		for (k = 0; k < b->rounds; k++) {
			for (j = 0; j < NSIDE; j++) {
				/* kvhost first in odd rounds, fio first in even ones */
				side = k % 2 ? !j : j;
				res = &b->res[i][side][k];
				run_one(b, &b->row[i], side, res);
				b->failed += !res->ok;
				fprintf(stderr, "# %-34s round %u %-8s %9.0f IOPS %8.1f us%s%s\n",
					b->row[i].label, k + 1, side_name[side],
					res->v[M_IOPS], res->v[M_MEAN],
					res->ok ? "" : " FAILED: ",
					res->ok ? "" : res->note);
			}
		}
	}
}

/* ---- the report ---- */

static FILE *report_file;

static void out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Print to stdout and to the report file. */
static void out(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	if (report_file) {
		va_start(ap, fmt);
		vfprintf(report_file, fmt, ap);
		va_end(ap);
	}
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, unsigned int n)
{
	if (!n)
		return NAN;
	qsort(v, n, sizeof(v[0]), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Median of one side over its successful rounds. */
static double side_median(const struct bench *b, unsigned int i,
			  unsigned int side, enum metric m)
{
	double v[MAX_ROUNDS];
	unsigned int k, n = 0;

	for (k = 0; k < b->rounds; k++)
		if (b->res[i][side][k].ok)
			v[n++] = b->res[i][side][k].v[m];
	return median(v, n);
}

/*
 * Per round (both sides ran back to back): kvhost/io_uring of @m, or
 * kvhost - io_uring if @diff.  The median, lowest and highest, and the
 * rounds kvhost was ahead (more of @m; less if @diff, for latencies).
 */
struct round_stat {
	double med, lo, hi;
	unsigned int ahead, n;
};

static struct round_stat round_stat(const struct bench *b, unsigned int i,
				    enum metric m, bool diff)
{
	const struct run_result *k, *u;
	struct round_stat s = { .lo = INFINITY, .hi = -INFINITY };
	double v[MAX_ROUNDS], r;
	unsigned int j;

	for (j = 0; j < b->rounds; j++) {
		k = &b->res[i][KV][j];
		u = &b->res[i][UR][j];
		if (!k->ok || !u->ok)
			continue;
		r = diff ? k->v[m] - u->v[m] : k->v[m] / u->v[m];
		s.lo = r < s.lo ? r : s.lo;
		s.hi = r > s.hi ? r : s.hi;
		s.ahead += diff ? r < 0 : r > 1.0;
		v[s.n++] = r;
	}
	s.med = median(v, s.n);
	if (!s.n)
		s.lo = s.hi = NAN;
	return s;
}

static void out_header(const struct bench *b)
{
	const struct store *n = &b->store[0], *t = &b->store[1];
	const struct row *r = &b->row[0];
	char cmd[1024];

	out("# Block benchmark: kvhost-blk vs io_uring (fio) on the same store\n\n");
	out("- kernel: %s, %ld CPUs\n- date: %s\n", b->kernel, b->ncpu, b->date);
	out("- rounds: %u, %.1f s per side per row, interleaved (kvhost first in odd rounds, io_uring first in even ones); medians shown; %u rows, %.0f s in all\n",
	    b->rounds, b->secs, b->nrows, b->elapsed);
	out("- **QEMU TCG, no KVM: absolute numbers mean little.** Every instruction is emulated; only the two sides of one row, measured back to back on the same store, compare, and even those are skewed: kvhost's path has more thread wake-ups and eventfd signals, which TCG makes dear, and its 2-queue rows run four busy threads (two submitters standing in for the guest's vCPUs, two workers) where fio runs two, on %ld CPUs\n",
	    b->ncpu);
	out("- stores: null_blk = %s (configfs, memory_backed=0, %u MiB: nothing is stored, pure overhead), O_DIRECT on both sides; tmpfs = %s (%llu MiB on a tmpfs of its own, prefilled), buffered on both sides. I/O in the first %llu MiB; queue (fio: job) k of n owns the k-th n-th of it; random offsets uniform and 4 KiB aligned, sequential ones wrap around\n",
	    n->path[0] ? n->path : "(none)", NULLB_MB, t->path, REGION_MB,
	    (unsigned long long)(t->region ? t->region : n->region) >> 20);
	out("- kvhost: /dev/kvhost-blk driven by the userspace split-ring driver (tests/lib, tests/integration/gblk.c) set up as QEMU does; rings of %u, VERSION_1 + EVENT_IDX + INDIRECT_DESC, header/data/status through an indirect table; queue k > 0 on a worker of its own; one thread per queue keeps QD requests in flight, kicks once per batch, sleeps on the call eventfd\n",
	    RING_NUM);
	fio_cmd(b, &b->store[r->st], &workloads[r->wl], r->nq, "FILE.json", cmd,
		sizeof(cmd));
	out("- io_uring: %s, one job per queue, iodepth = QD per job; the first row's run: `%s`\n",
	    fio_version[0] ? fio_version : "fio", cmd);
	out("- latency (us): kvhost from adding a request to the ring to harvesting its used entry (histogram, buckets < 1.6 %% wide); io_uring: fio's total latency lat_ns (submission + completion), p99 from fio's histogram\n");
	out("- CPU us/IO: kvhost: utime + stime of the device's kernel threads (kvhost-PID workers, kvhost-helper-PID) over the run (/proc/TID/stat, %ld ticks/s), per I/O; the submitting threads (the guest's side) are not in it. fio: usr + sys of fio's job threads as fio reports them (getrusage RUSAGE_THREAD of the thread that submits and reaps, user and kernel time; io_uring's io-wq workers, which do the I/O a file cannot do without blocking, are not in it). On both sides the store's completion interrupts are charged to whatever they interrupt. The raw numbers add the submitting threads (kvhost) and every fio process and thread, start-up included (fio)\n",
	    sysconf(_SC_CLK_TCK));
	out("- ratio: kvhost/io_uring IOPS within each round, the median of the rounds; **> 1.0 means kvhost-blk is faster**; round ratios: lowest-highest; ahead: rounds in which kvhost was faster\n");
	out("- QD1 cost: kvhost's mean latency minus io_uring's, the median of the per-round differences, us\n\n");
}

static void out_table(const struct bench *b)
{
	const struct row *r;
	struct round_stat rs, d;
	char qd1[32];
	unsigned int i;

	out("| store | workload | queues | kvhost IOPS | io_uring IOPS | ratio | round ratios | ahead | kvhost MB/s | io_uring MB/s | kvhost mean | io_uring mean | kvhost p99 | io_uring p99 | kvhost CPU us/IO | fio CPU us/IO | QD1 cost us |\n");
	out("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
	for (i = 0; i < b->nrows; i++) {
		r = &b->row[i];
		rs = round_stat(b, i, M_IOPS, false);
		qd1[0] = 0;
		if (workloads[r->wl].qd == 1) {
			d = round_stat(b, i, M_MEAN, true);
			snprintf(qd1, sizeof(qd1), "%+.1f", d.med);
		}
		out("| %s | %s | %u | %.0f | %.0f | %.2f | %.2f-%.2f | %u/%u | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f | %s |\n",
		    b->store[r->st].name, workloads[r->wl].name, r->nq,
		    side_median(b, i, KV, M_IOPS), side_median(b, i, UR, M_IOPS),
		    rs.med, rs.lo, rs.hi, rs.ahead, rs.n,
		    side_median(b, i, KV, M_MBPS), side_median(b, i, UR, M_MBPS),
		    side_median(b, i, KV, M_MEAN), side_median(b, i, UR, M_MEAN),
		    side_median(b, i, KV, M_P99), side_median(b, i, UR, M_P99),
		    side_median(b, i, KV, M_CPU), side_median(b, i, UR, M_CPU),
		    qd1);
	}
}

static int find_row(const struct bench *b, unsigned int st, unsigned int wl,
		    unsigned int nq)
{
	unsigned int i;

	for (i = 0; i < b->nrows; i++)
		if (b->row[i].st == st && b->row[i].wl == wl && b->row[i].nq == nq)
			return i;
	return -1;
}

static void out_goals(const struct bench *b)
{
	struct round_stat rs, d, p;
	unsigned int st, wl, q;
	const char *verdict;
	int i, i1, i2;

	out("\n## Goals\n\n");
	out("**QD32 4 KiB random read: does kvhost-blk reach io_uring's IOPS on the same store?** (reached: median ratio >= 1.00; within 5 %%: >= 0.95)\n\n");
	out("| store | queues | ratio | round ratios | ahead | verdict |\n|---|---:|---:|---:|---:|---|\n");
	for (st = 0; st < NSTORE; st++)
		for (q = 1; q <= MAX_Q; q++) {
			i = find_row(b, st, WL_GOAL, q);
			if (i < 0)
				continue;
			rs = round_stat(b, i, M_IOPS, false);
			verdict = !rs.n ? "no data" : rs.med >= 1.0 ? "reached" :
				  rs.med >= 0.95 ? "within 5 %" : "not reached";
			out("| %s | %u | %.2f | %.2f-%.2f | %u/%u | %s |\n",
			    b->store[st].name, q, rs.med, rs.lo, rs.hi, rs.ahead,
			    rs.n, verdict);
		}
	out("\n**2 queues against 1** (IOPS at 2 queues / IOPS at 1, medians; io_uring's column is what the store and the CPUs allow)\n\n");
	out("| store | workload | kvhost 2q/1q | io_uring 2q/1q |\n|---|---|---:|---:|\n");
	for (st = 0; st < NSTORE; st++)
		for (wl = 0; wl < NWL; wl++) {
			i1 = find_row(b, st, wl, 1);
			i2 = find_row(b, st, wl, 2);
			if (i1 < 0 || i2 < 0)
				continue;
			out("| %s | %s | %.2f | %.2f |\n", b->store[st].name,
			    workloads[wl].name,
			    side_median(b, i2, KV, M_IOPS) / side_median(b, i1, KV, M_IOPS),
			    side_median(b, i2, UR, M_IOPS) / side_median(b, i1, UR, M_IOPS));
		}
	out("\n**QD1 cost of kvhost-blk over io_uring** (kvhost - io_uring latency per request, us; median of the per-round differences, their range; faster: rounds in which kvhost's mean was lower)\n\n");
	out("| store | workload | queues | mean | range | p99 | faster |\n|---|---|---:|---:|---:|---:|---:|\n");
	for (i = 0; i < (int)b->nrows; i++) {
		if (workloads[b->row[i].wl].qd != 1)
			continue;
		d = round_stat(b, i, M_MEAN, true);
		p = round_stat(b, i, M_P99, true);
		out("| %s | %s | %u | %+.1f | %+.1f..%+.1f | %+.1f | %u/%u |\n",
		    b->store[b->row[i].st].name, workloads[b->row[i].wl].name,
		    b->row[i].nq, d.med, d.lo, d.hi, p.med, d.ahead, d.n);
	}
}

static void out_raw(const struct bench *b)
{
	const struct run_result *r;
	unsigned int i, side, k;

	out("\n## Raw per-round numbers\n\n");
	out("Per round: IOPS mean/p99 us [cpu: CPU us/IO as in the table / of kvhost's submitting threads or of every fio process and thread, start-up included; wall: seconds of the whole run, set-up, start-up and exit included; punt: requests kvhost handed to its queues' helper threads].\n\n");
	for (i = 0; i < b->nrows; i++) {
		for (side = 0; side < NSIDE; side++) {
			out("- %s, %s:", b->row[i].label, side_name[side]);
			for (k = 0; k < b->rounds; k++) {
				r = &b->res[i][side][k];
				if (!r->ok) {
					out(" FAILED (%s);", r->note);
					continue;
				}
				out(" %.0f %.1f/%.1f [cpu %.1f/%.1f, wall %.1f",
				    r->v[M_IOPS], r->v[M_MEAN], r->v[M_P99], r->v[M_CPU],
				    r->v[M_CPU2], r->wall);
				if (side == KV)
					out(", punt %llu", (unsigned long long)r->punted);
				out("];");
			}
			out("\n");
		}
	}
}

/* ---- main ---- */

static void make_rows(struct bench *b)
{
	unsigned int st, wl, q;
	struct row *r;

	for (st = 0; st < NSTORE; st++)
		for (wl = 0; wl < NWL; wl++)
			for (q = 1; q <= MAX_Q; q++) {
				if (workloads[wl].qd == 1 && q > 1 && !b->all)
					continue;
				r = &b->row[b->nrows];
				*r = (struct row){ .st = st, .wl = wl, .nq = q };
				snprintf(r->label, sizeof(r->label), "%s %s %uq",
					 b->store[st].name, workloads[wl].name, q);
				if (b->filter && !strstr(r->label, b->filter))
					continue;
				b->store[st].used = true;
				b->nrows++;
			}
}

static void usage(void)
{
	fprintf(stderr,
		"usage: blk_bench [-a] [-r ROUNDS] [-d SECONDS] [-o FILE.md] [-k KERNEL] [-f ROW_FILTER] [-F FIO]\n");
	exit(2);
}

static void parse_args(struct bench *b, int argc, char **argv)
{
	static struct utsname uts;
	int opt;

	b->rounds = 5;
	b->secs = 2;
	b->fio = FIO_DEFAULT;
	uname(&uts);
	b->kernel = uts.release;
	while ((opt = getopt(argc, argv, "ar:d:o:k:f:F:")) != -1) {
		switch (opt) {
		case 'a':
			b->all = true;
			break;
		case 'r':
			b->rounds = strtoul(optarg, NULL, 0);
			break;
		case 'd':
			b->secs = strtod(optarg, NULL);
			break;
		case 'o':
			b->out_path = optarg;
			break;
		case 'k':
			b->kernel = optarg;
			break;
		case 'f':
			b->filter = *optarg ? optarg : NULL;
			break;
		case 'F':
			b->fio = optarg;
			break;
		default:
			usage();
		}
	}
	if (argc != optind || !b->rounds || b->rounds > MAX_ROUNDS ||
	    !(b->secs >= 0.1 && b->secs <= 600))
		usage();
}

int main(int argc, char **argv)
{
	static struct bench b;
	time_t now = time(NULL);
	uint64_t t0 = now_ns();
	unsigned int st;

	parse_args(&b, argc, argv);
	strftime(b.date, sizeof(b.date), "%Y-%m-%d %H:%M:%S UTC", gmtime(&now));
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	b.ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	b.store[0].name = "null_blk";
	b.store[1].name = "tmpfs";
	make_rows(&b);
	if (!b.nrows) {
		fprintf(stderr, "blk_bench: no row matches \"%s\"\n", b.filter);
		return 2;
	}
	for (st = 0; st < NSTORE; st++) {
		if (!b.store[st].used)
			continue;
		store_open(&b.store[st]);
		fprintf(stderr, "# store %s: %s%s%s\n", b.store[st].name,
			b.store[st].path, b.store[st].ok ? "" : " FAILED: ",
			b.store[st].ok ? "" : b.store[st].note);
	}
	run_all(&b);
	for (st = 0; st < NSTORE; st++)
		store_close(&b.store[st]);
	b.elapsed = (now_ns() - t0) / 1e9;
	if (b.out_path) {
		report_file = fopen(b.out_path, "w");
		if (!report_file)
			perror(b.out_path);
	}
	out_header(&b);
	out_table(&b);
	out_goals(&b);
	out_raw(&b);
	if (b.failed)
		out("\n%u of %u runs failed (see the raw numbers).\n", b.failed,
		    b.nrows * NSIDE * b.rounds);
	if (report_file)
		fclose(report_file);
	return b.failed ? 1 : 0;
}
