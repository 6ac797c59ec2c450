// SPDX-License-Identifier: GPL-2.0
/*
 * net_bench: the same guest-driver workloads against two vhost-net devices
 * (default /dev/kvhost-net and the in-tree /dev/vhost-net), interleaved
 * round by round, reported as one Markdown table.
 *
 *   net_bench [-r ROUNDS] [-d SECONDS] [-o FILE.md] [-k KERNEL] [DEV_A DEV_B]
 *
 * Each run opens a fresh tap (vnet header, offloads on), a packet socket
 * bound to it as the "wire" and a guest (tests/lib: guest memory, split
 * rings of RING_NUM, VERSION_1 + MRG_RXBUF + EVENT_IDX):
 *
 *   TX   the guest keeps its TX ring full; a sink thread captures the
 *        frames on the wire and checks order, length and (one frame in
 *        SPOT_EVERY) every byte; the tap's RX counter must match.
 *   RX   a generator thread injects frames on the wire as fast as it can;
 *        the guest keeps its RX ring full and checks what arrives the same
 *        way; delivered frames per second are reported, the rest counted
 *        as dropped.
 *   RR   the guest sends one frame, a responder echoes it back on the wire,
 *        the guest waits for it: round-trip latency, median and p99.
 *
 * Kicks are the kick eventfd writes the guest makes, calls the sum of the
 * values read from the call eventfds, both over both queues, so they mean
 * the same for either device.
 */
#define _GNU_SOURCE	/* recvmmsg, sendmmsg */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/utsname.h>
#include <linux/if_packet.h>
#include <linux/virtio_net.h>
#include "kvdev.h"
#include "kvhost.h"
#include "netdev.h"
#include "vring_drv.h"

#define RX 0
#define TX 1

#define RING_NUM	256
#define RX_BUF_LEN	2048
#define HDR_LEN		sizeof(struct virtio_net_hdr_mrg_rxbuf)
#define GSO_LEN		65535	/* largest frame tun takes: "64 KiB" */
#define SPOT_EVERY	256	/* byte-for-byte check of one frame in this many */
#define MMSG_BATCH	64
#define WAIT_MS		10
#define DRAIN_MS	2000
#define IDLE_MS		200
#define MAX_ROUNDS	50
#define NDEV		2
#define LAT_SAMPLES_MAX	(1 << 20)

#define F(bit)		(1ULL << (bit))
#define GUEST_FEATURES	(F(VIRTIO_F_VERSION_1) | F(VIRTIO_NET_F_MRG_RXBUF) | \
			 F(VIRTIO_RING_F_EVENT_IDX))

/* ---- time ---- */

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* ---- results ---- */

/* One run of one workload on one device. */
struct run_result {
	bool ok;
	double value;		/* the row's unit; latency: median us */
	double p99;		/* latency only */
	uint64_t packets;	/* frames (RR: round trips) the counts refer to */
	uint64_t kicks;
	uint64_t calls;
	uint64_t offered;	/* RX: frames injected */
	uint64_t dropped;	/* RX: injected and not delivered */
	uint64_t requeues;	/* kvhost only: budget requeues, both queues */
	uint64_t tap_drops;	/* RX: the tap's tx_dropped (includes refused sends) */
	uint64_t partial;	/* RX: merged frames published in parts */
	uint64_t worker_ns;	/* device worker threads' CPU time, ns */
	char note[160];
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

/* ---- tap counters ---- */

/* /sys/class/net/<tap>/statistics/<name>, or -1. */
static int64_t tap_counter(const struct tapdev *t, const char *name)
{
	char path[128];
	long long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/class/net/%s/statistics/%s",
		 t->name, name);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (fscanf(f, "%lld", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

/* Drops the kernel counted on a packet socket since the last call. */
static uint64_t wire_drops(int fd)
{
	struct tpacket_stats st = {};
	socklen_t len = sizeof(st);

	if (getsockopt(fd, SOL_PACKET, PACKET_STATISTICS, &st, &len))
		return 0;
	return st.tp_drops;
}

/* ---- the guest ---- */

struct guest {
	struct kvdev dev;
	struct vdrv_mem mem;
	struct vdrv_ring ring[2];
	bool kvhost;			/* has KVHOST_NET_GET_STATS */
	uint8_t *rxb[RING_NUM];
	uint64_t rxg[RING_NUM];
	uint8_t *txb[RING_NUM];
	uint64_t txg[RING_NUM];
	uint16_t tx_free[RING_NUM];
	unsigned int ntx_free;
	size_t tx_cap;			/* frame bytes a TX buffer holds */
	uint64_t tx_done;		/* TX chains returned */
	uint64_t kicks;
	uint64_t calls;
	uint64_t worker_ns0;		/* device worker CPU time at the start */
	uint64_t worker_ns;		/* ... spent over the window */
};

static void guest_kick(struct guest *g, unsigned int q)
{
	if (vdrv_kick_prepare(&g->ring[q]) && !kvdev_kick(&g->dev, q))
		g->kicks++;
}

/* Consume queue @q's call eventfd without waiting; count its value. */
static void guest_take_calls(struct guest *g, unsigned int q)
{
	uint64_t v;

	if (read(g->dev.vq[q].call_fd, &v, sizeof(v)) == sizeof(v))
		g->calls += v;
}

/* Sleep until queue @q's call eventfd fires (or @ms pass); count it. */
static void guest_wait_call(struct guest *g, unsigned int q, int ms)
{
	struct pollfd p = { .fd = g->dev.vq[q].call_fd, .events = POLLIN };

	if (poll(&p, 1, ms) > 0)
		guest_take_calls(g, q);
}

/* Start counting kicks and calls from zero. */
/* CPU time of the threads in /proc/@dir named @a or @b, in ns. */
static uint64_t threads_cpu_ns(const char *dir, const char *a, const char *b)
{
	char path[300], comm[64];
	unsigned long long ns;
	struct dirent *de;
	uint64_t sum = 0;
	DIR *d;
	FILE *f;

	d = opendir(dir);
	if (!d)
		return 0;
	while ((de = readdir(d))) {
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "%s/%s/comm", dir, de->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (!fgets(comm, sizeof(comm), f))
			comm[0] = 0;
		fclose(f);
		comm[strcspn(comm, "\n")] = 0;
		if (strcmp(comm, a) && strcmp(comm, b))
			continue;
		snprintf(path, sizeof(path), "%s/%s/schedstat", dir, de->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fscanf(f, "%llu", &ns) == 1)
			sum += ns;
		fclose(f);
	}
	closedir(d);
	return sum;
}

/*
 * CPU time of the worker threads of the devices we own: "vhost-PID" (the
 * in-tree worker: a kernel thread on 6.1, a thread of ours on 6.12) or
 * "kvhost-PID" (a kernel thread).  What the device itself costs, free of
 * the guest-side threads that bound most rows' throughput here.
 */
static uint64_t worker_cpu_ns(void)
{
	char a[32], b[32];

	snprintf(a, sizeof(a), "vhost-%d", (int)getpid());
	snprintf(b, sizeof(b), "kvhost-%d", (int)getpid());
	return threads_cpu_ns("/proc", a, b) +
	       threads_cpu_ns("/proc/self/task", a, b);
}

static void guest_reset_counts(struct guest *g)
{
	g->worker_ns0 = worker_cpu_ns();
	guest_take_calls(g, RX);
	guest_take_calls(g, TX);
	g->kicks = 0;
	g->calls = 0;
	g->tx_done = 0;
}

/* Add up the calls signalled so far. */
static void guest_settle_counts(struct guest *g)
{
	g->worker_ns = worker_cpu_ns() - g->worker_ns0;
	guest_take_calls(g, RX);
	guest_take_calls(g, TX);
}

static int rx_post(struct guest *g, unsigned int i)
{
	struct vdrv_seg seg = {
		.gpa = g->rxg[i], .len = RX_BUF_LEN, .writable = true,
	};
	int ret = vdrv_add(&g->ring[RX], &seg, 1, i, false);

	return ret < 0 ? ret : 0;
}

static void tx_reclaim(struct guest *g)
{
	uint64_t tok;
	uint32_t len;

	while (vdrv_get_used(&g->ring[TX], &tok, &len) == 1) {
		g->tx_free[g->ntx_free++] = tok;
		g->tx_done++;
	}
}

/* Wait for TX buffers to come back: ask for a call at the next one. */
static void tx_wait(struct guest *g, int ms)
{
	if (vdrv_enable_intr(&g->ring[TX]))
		guest_wait_call(g, TX, ms);
	vdrv_disable_intr(&g->ring[TX]);
	tx_reclaim(g);
}

/* Every TX buffer back, within @ms.  Return 0 or -ETIMEDOUT. */
static int tx_drain(struct guest *g, int ms)
{
	uint64_t deadline = now_ns() + ms * 1000000ULL;

	for (tx_reclaim(g); g->ntx_free < RING_NUM; tx_wait(g, WAIT_MS))
		if (now_ns() > deadline)
			return -ETIMEDOUT;
	return 0;
}

/*
 * Fill TX buffer @i with frame @seq behind header @hdr.  The buffers hold
 * a frame from set-up on; most frames only get their sequence number, one
 * in SPOT_EVERY is written in full for the receiver's byte check.
 */
static void tx_fill(struct guest *g, unsigned int i, const void *hdr,
		    size_t len, bool tcp, uint32_t seq)
{
	uint8_t *f = g->txb[i] + HDR_LEN;

	memcpy(g->txb[i], hdr, HDR_LEN);
	if (seq % SPOT_EVERY == 0)
		frame_make(f, len, seq, tcp);
	else
		frame_set_seq(f, len, seq);
}

static int tx_post(struct guest *g, size_t len)
{
	struct vdrv_seg seg;
	unsigned int i = g->tx_free[--g->ntx_free];
	int ret;

	seg = (struct vdrv_seg){ .gpa = g->txg[i], .len = HDR_LEN + len };
	ret = vdrv_add(&g->ring[TX], &seg, 1, i, false);
	return ret < 0 ? ret : 0;
}

static void guest_close(struct guest *g)
{
	kvdev_close(&g->dev);
	vdrv_ring_destroy(&g->ring[RX]);
	vdrv_ring_destroy(&g->ring[TX]);
	vdrv_mem_destroy(&g->mem);
}

static int guest_alloc(struct guest *g, size_t tx_cap)
{
	struct vdrv_ring_opts o = { .num = RING_NUM, .event_idx = true };
	uint64_t tx_buf = (HDR_LEN + tx_cap + 63) & ~63ULL;
	unsigned int i, q;
	int ret;

	ret = vdrv_mem_init_identity(&g->mem, RING_NUM * (RX_BUF_LEN + tx_buf) +
				     (4ULL << 20));
	for (q = 0; !ret && q < 2; q++)
		ret = vdrv_ring_init(&g->ring[q], &g->mem, &o);
	if (ret)
		return ret;
	for (i = 0; i < RING_NUM; i++) {
		g->rxb[i] = vdrv_alloc(&g->mem, RX_BUF_LEN, 64, &g->rxg[i]);
		g->txb[i] = vdrv_alloc(&g->mem, tx_buf, 64, &g->txg[i]);
		if (!g->rxb[i] || !g->txb[i])
			return -ENOMEM;
		g->tx_free[g->ntx_free++] = i;
	}
	g->tx_cap = tx_cap;
	return 0;
}

static int guest_set_backend(struct guest *g, int fd)
{
	struct vhost_vring_file f = { .fd = fd };
	int ret = 0;

	for (f.index = 0; !ret && f.index < 2; f.index++)
		ret = kvdev_ioctl(&g->dev, VHOST_NET_SET_BACKEND, &f);
	return ret;
}

/* Memory, rings and device set up QEMU-style; RX ring full; tap attached. */
static int guest_open(struct guest *g, const char *path, int tap_fd,
		      size_t tx_cap)
{
	struct kvhost_net_stats st;
	unsigned int i, q;
	int ret;

	memset(g, 0, sizeof(*g));
	kvdev_init(&g->dev);
	ret = guest_alloc(g, tx_cap);
	if (!ret)
		ret = kvdev_open(&g->dev, path, 2);
	if (!ret)
		ret = kvdev_setup_dev(&g->dev, GUEST_FEATURES, &g->mem);
	for (q = 0; !ret && q < 2; q++)
		ret = kvdev_setup_vq(&g->dev, q, &g->ring[q]);
	for (i = 0; !ret && i < RING_NUM; i++)
		ret = rx_post(g, i);
	if (ret)
		return ret;
	vdrv_disable_intr(&g->ring[RX]);
	vdrv_disable_intr(&g->ring[TX]);
	guest_kick(g, RX);
	g->kvhost = !kvdev_ioctl(&g->dev, KVHOST_NET_GET_STATS, &st);
	return guest_set_backend(g, tap_fd);
}

static uint64_t guest_requeues(struct guest *g)
{
	struct kvhost_net_stats st;

	if (!g->kvhost || kvdev_ioctl(&g->dev, KVHOST_NET_GET_STATS, &st))
		return 0;
	return st.vq[RX].requeues + st.vq[TX].requeues;
}

/* ---- one run: tap, wire, guest ---- */

struct bench_env {
	struct tapdev tap;
	int wire;
	struct guest g;
};

static void env_close(struct bench_env *e)
{
	guest_close(&e->g);
	if (e->wire >= 0)
		close(e->wire);
	tapdev_close(&e->tap);
}

static int env_open(struct bench_env *e, const char *path, size_t tx_cap,
		    struct run_result *res)
{
	int ret;

	memset(e, 0, sizeof(*e));
	e->wire = -1;
	kvdev_init(&e->g.dev);
	ret = tapdev_open(&e->tap, true, HDR_LEN);
	if (ret) {
		run_fail(res, "tap: %s", strerror(-ret));
		return ret;
	}
	e->wire = wire_open(e->tap.ifindex);
	if (e->wire < 0) {
		run_fail(res, "packet socket: %s", strerror(-e->wire));
		return e->wire;
	}
	ret = guest_open(&e->g, path, e->tap.fd, tx_cap);
	if (ret)
		run_fail(res, "%s set-up: %s", path, strerror(-ret));
	return ret;
}

/* ---- TX: guest -> tap -> wire ---- */

struct tx_sink {
	int fd;
	size_t len;
	bool tcp;
	volatile bool stop;
	uint64_t frames;	/* ours, captured */
	int64_t last_seq;
	bool bad;
	char why[160];
};

/* One captured frame: in order, right length, every byte if spot-checked. */
static void tx_sink_frame(struct tx_sink *s, const uint8_t *f, size_t n)
{
	int64_t seq = frame_seq(f, n);

	if (seq < 0 || s->bad)
		return;
	s->frames++;
	if (seq <= s->last_seq) {
		s->bad = true;
		snprintf(s->why, sizeof(s->why), "frame %lld after %lld",
			 (long long)seq, (long long)s->last_seq);
	} else if (n != s->len) {
		s->bad = true;
		snprintf(s->why, sizeof(s->why), "frame %lld: %zu bytes, want %zu",
			 (long long)seq, n, s->len);
	} else if (seq % SPOT_EVERY == 0 &&
		   !frame_check(f, n, s->len, seq, s->tcp, s->why, sizeof(s->why))) {
		s->bad = true;
	}
	s->last_seq = seq;
}

static void *tx_sink_fn(void *arg)
{
	struct tx_sink *s = arg;
	struct timeval tv = { .tv_usec = 20000 };
	size_t cap = s->len + 64;
	struct mmsghdr msg[MMSG_BATCH];
	struct iovec iov[MMSG_BATCH];
	uint8_t *buf = malloc(cap * MMSG_BATCH);
	int i, n;

	if (!buf) {
		s->bad = true;
		snprintf(s->why, sizeof(s->why), "sink: out of memory");
		return NULL;
	}
	setsockopt(s->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	memset(msg, 0, sizeof(msg));
	for (i = 0; i < MMSG_BATCH; i++) {
		iov[i] = (struct iovec){ .iov_base = buf + i * cap, .iov_len = cap };
		msg[i].msg_hdr.msg_iov = &iov[i];
		msg[i].msg_hdr.msg_iovlen = 1;
	}
	while (!s->stop) {
		n = recvmmsg(s->fd, msg, MMSG_BATCH, MSG_WAITFORONE, NULL);
		for (i = 0; i < n; i++)
			tx_sink_frame(s, iov[i].iov_base, msg[i].msg_len);
	}
	free(buf);
	return NULL;
}

/* Keep the TX ring full for @secs; then every buffer back. */
static int tx_pump(struct guest *g, size_t len, bool tcp, double secs)
{
	struct virtio_net_hdr_mrg_rxbuf hdr = {};
	uint64_t end = now_ns() + (uint64_t)(secs * 1e9);
	uint32_t seq = 1;
	unsigned int i;
	int ret;

	if (tcp)
		hdr_gso(&hdr);
	for (i = 0; i < RING_NUM; i++)
		frame_make(g->txb[i] + HDR_LEN, len, 0, tcp);
	while (now_ns() < end) {
		tx_reclaim(g);
		if (!g->ntx_free) {
			tx_wait(g, WAIT_MS);
			continue;
		}
		while (g->ntx_free) {
			tx_fill(g, g->tx_free[g->ntx_free - 1], &hdr, len, tcp, seq++);
			ret = tx_post(g, len);
			if (ret)
				return ret;
		}
		guest_kick(g, TX);
	}
	return tx_drain(g, DRAIN_MS);
}

/* Wait until the sink has seen @want frames (or IDLE_MS of nothing new). */
static void tx_sink_settle(struct tx_sink *s, uint64_t want)
{
	uint64_t last = s->frames, idle = now_ns();

	while (s->frames < want && !s->bad &&
	       now_ns() - idle < IDLE_MS * 1000000ULL) {
		usleep(1000);
		if (s->frames != last) {
			last = s->frames;
			idle = now_ns();
		}
	}
}

/* Frames of @len (GSO TCP if @tcp) from the guest for @secs. */
static void run_tx(const char *path, size_t len, bool tcp, double secs,
		   struct run_result *res)
{
	struct bench_env e;
	struct tx_sink s = { .len = len, .tcp = tcp, .last_seq = 0 };
	int64_t rx0, rx1, drop0, drop1;
	uint64_t t0, t1, sock_drops;
	pthread_t th;
	int ret;

	if (env_open(&e, path, len, res))
		goto out;
	s.fd = e.wire;
	wire_drops(e.wire);
	if (pthread_create(&th, NULL, tx_sink_fn, &s)) {
		run_fail(res, "sink thread");
		goto out;
	}
	guest_reset_counts(&e.g);
	rx0 = tap_counter(&e.tap, "rx_packets");
	drop0 = tap_counter(&e.tap, "rx_dropped");
	t0 = now_ns();
	ret = tx_pump(&e.g, len, tcp, secs);
	t1 = now_ns();
	guest_settle_counts(&e.g);
	rx1 = tap_counter(&e.tap, "rx_packets");
	drop1 = tap_counter(&e.tap, "rx_dropped");
	if (ret)
		run_fail(res, "TX ring stuck: %s", strerror(-ret));

	tx_sink_settle(&s, rx1 - rx0);
	s.stop = true;
	pthread_join(th, NULL);
	sock_drops = wire_drops(e.wire);

	res->packets = e.g.tx_done;
	res->worker_ns = e.g.worker_ns;
	res->kicks = e.g.kicks;
	res->calls = e.g.calls;
	res->requeues = guest_requeues(&e.g);
	if (tcp)
		res->value = (double)(rx1 - rx0) * len * 8 / ((t1 - t0) / 1e9) / 1e9;
	else
		res->value = (double)(rx1 - rx0) / ((t1 - t0) / 1e9) / 1e3;
	if (s.bad)
		run_fail(res, "wire: %s", s.why);
	if (rx0 < 0 || rx1 - rx0 != (int64_t)e.g.tx_done || drop1 != drop0)
		run_fail(res, "tap counted %lld frames (%lld dropped), guest sent %llu",
			 (long long)(rx1 - rx0), (long long)(drop1 - drop0),
			 (unsigned long long)e.g.tx_done);
	if (s.frames + sock_drops != e.g.tx_done)
		run_fail(res, "wire captured %llu + %llu dropped of %llu",
			 (unsigned long long)s.frames,
			 (unsigned long long)sock_drops,
			 (unsigned long long)e.g.tx_done);
out:
	env_close(&e);
}

/* ---- RX: generator -> wire -> tap -> guest ---- */

struct rx_gen {
	int fd;
	size_t len;
	bool gso;
	volatile bool stop;
	uint64_t sent;
};

/* With a vnet header on the socket a 64 KiB frame goes out as one GSO skb. */
static int rx_gen_socket(struct rx_gen *gen, int ifindex)
{
	int one = 1, fd = wire_open(ifindex);

	if (fd < 0)
		return fd;
	if (setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one)) ||
	    (gen->gso && setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, &one,
				    sizeof(one)))) {
		close(fd);
		return -errno;
	}
	gen->fd = fd;
	return 0;
}

static void *rx_gen_fn(void *arg)
{
	struct rx_gen *gen = arg;
	struct virtio_net_hdr_mrg_rxbuf hdr;
	struct mmsghdr msg[MMSG_BATCH];
	struct iovec iov[MMSG_BATCH][2];
	uint8_t *buf = malloc(gen->len * MMSG_BATCH);
	uint32_t seq = 1;
	int i, n;

	if (!buf)
		return NULL;
	hdr_gso(&hdr);
	memset(msg, 0, sizeof(msg));
	for (i = 0; i < MMSG_BATCH; i++) {
		frame_make(buf + i * gen->len, gen->len, 0, gen->gso);
		iov[i][0] = (struct iovec){ &hdr, sizeof(hdr.hdr) };
		iov[i][1] = (struct iovec){ buf + i * gen->len, gen->len };
		msg[i].msg_hdr.msg_iov = gen->gso ? iov[i] : iov[i] + 1;
		msg[i].msg_hdr.msg_iovlen = gen->gso ? 2 : 1;
	}
	while (!gen->stop) {
		for (i = 0; i < MMSG_BATCH; i++) {
			uint8_t *f = buf + i * gen->len;

			if ((seq + i) % SPOT_EVERY == 0)
				frame_make(f, gen->len, seq + i, gen->gso);
			else
				frame_set_seq(f, gen->len, seq + i);
		}
		n = sendmmsg(gen->fd, msg, MMSG_BATCH, MSG_DONTWAIT);
		if (n <= 0) {
			sched_yield();
			continue;
		}
		gen->sent += n;
		/* Frames not sent keep no number: the guest sees a gap. */
		seq += MMSG_BATCH;
	}
	free(buf);
	return NULL;
}

struct rx_check {
	size_t len;
	bool gso;
	uint64_t frames;
	uint64_t partial;	/* merged frames whose buffers came in parts */
	int64_t last_seq;
	bool bad;
	char why[160];
	uint8_t frame[FRAME_MAX + 64];
};

static void rx_bad(struct rx_check *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void rx_bad(struct rx_check *c, const char *fmt, ...)
{
	va_list ap;

	if (c->bad)
		return;
	c->bad = true;
	va_start(ap, fmt);
	vsnprintf(c->why, sizeof(c->why), fmt, ap);
	va_end(ap);
}

/* Check one received frame whose first buffer is @first (@len bytes). */
static void rx_check_frame(struct rx_check *c, const uint8_t *first,
			   uint32_t len, unsigned int nbufs, size_t total)
{
	const struct virtio_net_hdr_mrg_rxbuf *h = (const void *)first;
	int64_t seq = frame_seq(first + HDR_LEN, len - HDR_LEN);

	if (seq < 0)
		return;		/* not ours */
	c->frames++;
	if (seq <= c->last_seq)
		rx_bad(c, "frame %lld after %lld", (long long)seq,
		       (long long)c->last_seq);
	else if (total != c->len)
		rx_bad(c, "frame %lld: %zu bytes in %u buffers, want %zu",
		       (long long)seq, total, nbufs, c->len);
	else if (c->gso && h->hdr.gso_type != VIRTIO_NET_HDR_GSO_TCPV4)
		rx_bad(c, "frame %lld: gso_type %u", (long long)seq,
		       h->hdr.gso_type);
	else if (seq % SPOT_EVERY == 0 &&
		 !frame_check(c->frame, total, c->len, seq, c->gso, c->why,
			      sizeof(c->why)))
		c->bad = true;
	c->last_seq = seq;
}

/*
 * The next buffer of a merged frame.  Virtio 1.x 5.1.6.4 wants all of a
 * frame's buffers used together (a Linux guest drops the frame otherwise);
 * a device that publishes them in parts is counted, and waited for a
 * little, so that the numbers stay comparable.
 */
static int rx_next_buffer(struct guest *g, struct rx_check *c, bool *waited,
			  uint64_t *tok, uint32_t *len)
{
	uint64_t deadline = 0;
	int ret;

	while (!(ret = vdrv_get_used(&g->ring[RX], tok, len))) {
		if (!*waited) {
			*waited = true;
			c->partial++;
			deadline = now_ns() + 100000000ULL;
		}
		if (now_ns() > deadline)
			return -ETIMEDOUT;
		sched_yield();
	}
	return ret;
}

/*
 * Take one frame off the RX ring (all its merged buffers), check it and
 * give the buffers back.  Return 1, 0 if the ring had none, -EPROTO.
 */
static int rx_take_frame(struct guest *g, struct rx_check *c)
{
	uint64_t tok, first;
	uint32_t len, flen;
	unsigned int nb, k;
	bool spot, waited = false;
	size_t total;
	int ret;

	ret = vdrv_get_used(&g->ring[RX], &first, &flen);
	if (ret <= 0)
		return ret;
	if (flen < HDR_LEN + ETH_HLEN) {
		rx_bad(c, "used length %u", flen);
		return -EPROTO;
	}
	nb = le16toh(((struct virtio_net_hdr_mrg_rxbuf *)g->rxb[first])->num_buffers);
	total = flen - HDR_LEN;
	spot = frame_seq(g->rxb[first] + HDR_LEN, total) % SPOT_EVERY == 0;
	if (spot)
		memcpy(c->frame, g->rxb[first] + HDR_LEN, total);
	for (k = 1; k < nb; k++) {
		if (rx_next_buffer(g, c, &waited, &tok, &len) != 1 ||
		    total + len > FRAME_MAX) {
			rx_bad(c, "buffer %u of %u of a merged frame", k, nb);
			return -EPROTO;
		}
		if (spot)
			memcpy(c->frame + total, g->rxb[tok], len);
		total += len;
		rx_post(g, tok);
	}
	rx_check_frame(c, g->rxb[first], flen, nb, total);
	rx_post(g, first);
	return 1;
}

/* Receive (and give the buffers back) until @end_ns. */
static int rx_pump(struct guest *g, struct rx_check *c, uint64_t end_ns)
{
	unsigned int n;
	int ret;

	while (now_ns() < end_ns && !c->bad) {
		for (n = 0; (ret = rx_take_frame(g, c)) == 1; n++)
			;
		if (ret < 0)
			return ret;
		if (n) {
			guest_kick(g, RX);
			continue;
		}
		if (vdrv_enable_intr(&g->ring[RX]))
			guest_wait_call(g, RX, WAIT_MS);
		vdrv_disable_intr(&g->ring[RX]);
	}
	return 0;
}

/* Receive what is still queued in the tap, until IDLE_MS bring nothing. */
static int rx_drain(struct guest *g, struct rx_check *c)
{
	uint64_t before;
	int ret;

	do {
		before = c->frames;
		ret = rx_pump(g, c, now_ns() + IDLE_MS * 1000000ULL);
	} while (!ret && c->frames != before);
	return ret;
}

/* Frames of @len injected as fast as possible for @secs. */
static void run_rx(const char *path, size_t len, bool gso, double secs,
		   struct run_result *res)
{
	static struct rx_check c;
	struct rx_gen gen = { .len = len, .gso = gso, .fd = -1 };
	struct bench_env e;
	uint64_t t0, t1, in_window;
	int64_t txd0, txd1;
	pthread_t th;
	int ret;

	memset(&c, 0, sizeof(c));
	c.len = len;
	c.gso = gso;
	if (env_open(&e, path, 64, res))
		goto out;
	ret = rx_gen_socket(&gen, e.tap.ifindex);
	if (ret) {
		run_fail(res, "generator socket: %s", strerror(-ret));
		goto out;
	}
	guest_reset_counts(&e.g);
	txd0 = tap_counter(&e.tap, "tx_dropped");
	if (pthread_create(&th, NULL, rx_gen_fn, &gen)) {
		run_fail(res, "generator thread");
		goto out;
	}
	t0 = now_ns();
	ret = rx_pump(&e.g, &c, t0 + (uint64_t)(secs * 1e9));
	t1 = now_ns();
	in_window = c.frames;
	res->kicks = e.g.kicks;
	guest_settle_counts(&e.g);
	res->calls = e.g.calls;
	gen.stop = true;
	pthread_join(th, NULL);

	if (!ret)
		ret = rx_drain(&e.g, &c);
	txd1 = tap_counter(&e.tap, "tx_dropped");

	res->packets = in_window;
	res->worker_ns = e.g.worker_ns;
	res->offered = gen.sent;
	res->dropped = gen.sent - c.frames;
	res->requeues = guest_requeues(&e.g);
	if (gso)
		res->value = (double)in_window * len * 8 / ((t1 - t0) / 1e9) / 1e9;
	else
		res->value = (double)in_window / ((t1 - t0) / 1e9) / 1e3;
	if (ret || c.bad)
		run_fail(res, "guest RX: %s", c.bad ? c.why : strerror(-ret));
	res->tap_drops = txd0 >= 0 ? txd1 - txd0 : 0;
	res->partial = c.partial;
	if (res->tap_drops < res->dropped)
		run_fail(res, "injected %llu, received %llu, the tap dropped only %llu",
			 (unsigned long long)gen.sent,
			 (unsigned long long)c.frames,
			 (unsigned long long)res->tap_drops);
out:
	if (gen.fd >= 0)
		close(gen.fd);
	env_close(&e);
}

/* ---- RR: guest -> wire -> echo -> guest ---- */

struct responder {
	int fd;
	volatile bool stop;
	uint64_t echoed;
};

static void *responder_fn(void *arg)
{
	struct responder *r = arg;
	struct pollfd p = { .fd = r->fd, .events = POLLIN };
	uint8_t f[2048];
	ssize_t n;

	while (!r->stop) {
		if (poll(&p, 1, 20) <= 0)
			continue;
		n = recv(r->fd, f, sizeof(f), MSG_DONTWAIT);
		if (n > 0 && frame_seq(f, n) >= 0 && !wire_send(r->fd, f, n))
			r->echoed++;
	}
	return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The @pct percentile of @n sorted samples (nearest rank). */
static uint64_t percentile(const uint64_t *v, size_t n, unsigned int pct)
{
	size_t i = (n * pct + 99) / 100;

	return v[i ? i - 1 : 0];
}

/* Send frame @seq, wait for its echo.  Return the round trip in ns, 0. */
static uint64_t rr_once(struct guest *g, struct rx_check *c, uint32_t seq,
			size_t len)
{
	struct virtio_net_hdr_mrg_rxbuf hdr = {};
	uint64_t t0 = now_ns(), before = c->frames;
	uint64_t deadline = t0 + 1000000000ULL;

	tx_reclaim(g);
	if (!g->ntx_free)
		tx_wait(g, WAIT_MS);
	if (!g->ntx_free)
		return 0;
	tx_fill(g, g->tx_free[g->ntx_free - 1], &hdr, len, false, seq);
	if (tx_post(g, len))
		return 0;
	guest_kick(g, TX);
	while (c->frames == before && !c->bad) {
		if (rx_take_frame(g, c) == 1) {
			guest_kick(g, RX);
			continue;
		}
		if (now_ns() > deadline)
			return 0;
		if (vdrv_enable_intr(&g->ring[RX]))
			guest_wait_call(g, RX, 100);
		vdrv_disable_intr(&g->ring[RX]);
	}
	return c->bad || c->last_seq != seq ? 0 : now_ns() - t0;
}

static void run_rr(const char *path, size_t len, double secs,
		   struct run_result *res)
{
	static struct rx_check c;
	static uint64_t lat[LAT_SAMPLES_MAX];
	struct responder r = {};
	struct bench_env e;
	uint64_t end, rtt;
	size_t n = 0;
	unsigned int i;
	uint32_t seq;
	pthread_t th;

	memset(&c, 0, sizeof(c));
	c.len = len;
	if (env_open(&e, path, len, res))
		goto out;
	r.fd = e.wire;
	if (pthread_create(&th, NULL, responder_fn, &r)) {
		run_fail(res, "responder thread");
		goto out;
	}
	for (i = 0; i < RING_NUM; i++)
		frame_make(e.g.txb[i] + HDR_LEN, len, 0, false);
	guest_reset_counts(&e.g);
	end = now_ns() + (uint64_t)(secs * 1e9);
	for (seq = 1; now_ns() < end && n < LAT_SAMPLES_MAX; seq++) {
		rtt = rr_once(&e.g, &c, seq, len);
		if (!rtt) {
			run_fail(res, "echo of frame %u: %s", seq,
				 c.bad ? c.why : "lost");
			break;
		}
		lat[n++] = rtt;
	}
	guest_settle_counts(&e.g);
	r.stop = true;
	pthread_join(th, NULL);
	res->packets = n;
	res->worker_ns = e.g.worker_ns;
	res->kicks = e.g.kicks;
	res->calls = e.g.calls;
	res->requeues = guest_requeues(&e.g);
	if (!n) {
		run_fail(res, "no round trip");
		goto out;
	}
	qsort(lat, n, sizeof(lat[0]), cmp_u64);
	res->value = percentile(lat, n, 50) / 1e3;
	res->p99 = percentile(lat, n, 99) / 1e3;
out:
	env_close(&e);
}

/* ---- workloads, rows, report ---- */

enum wl_kind { WL_TX, WL_RX, WL_RR };

struct workload {
	const char *name;
	enum wl_kind kind;
	size_t len;
	bool gso;
	const char *unit;
};

static const struct workload workloads[] = {
	{ "TX 64 B",		WL_TX, 64,	false,	"kpps" },
	{ "TX 1500 B",		WL_TX, 1500,	false,	"kpps" },
	{ "RX 64 B",		WL_RX, 64,	false,	"kpps" },
	{ "RX 1500 B",		WL_RX, 1500,	false,	"kpps" },
	{ "TX 64 KiB GSO",	WL_TX, GSO_LEN,	true,	"Gbit/s" },
	{ "RX 64 KiB GSO",	WL_RX, GSO_LEN,	true,	"Gbit/s" },
	{ "RR 64 B",		WL_RR, 64,	false,	"us" },
};

#define NWL	(sizeof(workloads) / sizeof(workloads[0]))

struct bench {
	const char *dev[NDEV];
	const char *label[NDEV];
	unsigned int rounds;
	double secs;
	const char *out_path;
	const char *kernel;
	char date[32];
	struct run_result res[NWL][NDEV][MAX_ROUNDS];
};

static void run_one(const struct workload *w, const char *dev, double secs,
		    struct run_result *res)
{
	memset(res, 0, sizeof(*res));
	res->ok = true;
	switch (w->kind) {
	case WL_TX:
		run_tx(dev, w->len, w->gso, secs, res);
		break;
	case WL_RX:
		run_rx(dev, w->len, w->gso, secs, res);
		break;
	case WL_RR:
		run_rr(dev, w->len, secs, res);
		break;
	}
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Which number of a run a table cell shows. */
enum metric { M_VALUE, M_P99, M_KICKS, M_CALLS, M_WORKER_NS };

static double metric_of(const struct run_result *r, enum metric m)
{
	double per_k = r->packets ? 1000.0 / r->packets : 0;

	switch (m) {
	case M_VALUE:
		return r->value;
	case M_P99:
		return r->p99;
	case M_KICKS:
		return r->kicks * per_k;
	case M_CALLS:
		return r->calls * per_k;
	case M_WORKER_NS:
		return r->packets ? (double)r->worker_ns / r->packets : NAN;
	}
	return 0;
}

/* Median over the successful rounds; NAN if none succeeded. */
static double median_of(const struct bench *b, unsigned int w, unsigned int d,
			enum metric m)
{
	double v[MAX_ROUNDS];
	unsigned int i, n = 0;

	for (i = 0; i < b->rounds; i++)
		if (b->res[w][d][i].ok)
			v[n++] = metric_of(&b->res[w][d][i], m);
	if (!n)
		return NAN;
	qsort(v, n, sizeof(v[0]), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Print to stdout and to the report file. */
static FILE *report_file;

static void out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

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

/*
 * The two devices of a round ran back to back, so the round's own ratio
 * shows how much of a difference survives the machine's drift: its range
 * over the rounds, and in how many rounds kvhost was ahead.
 */
static void round_ratios(const struct bench *b, unsigned int w, enum metric m,
			 bool lower_is_better, double *lo, double *hi,
			 unsigned int *ahead, unsigned int *n)
{
	const struct run_result *k, *t;
	unsigned int i;
	double r;

	*lo = INFINITY;
	*hi = -INFINITY;
	*ahead = *n = 0;
	for (i = 0; i < b->rounds; i++) {
		k = &b->res[w][0][i];
		t = &b->res[w][1][i];
		if (!k->ok || !t->ok)
			continue;
		r = lower_is_better ? metric_of(t, m) / metric_of(k, m) :
				      metric_of(k, m) / metric_of(t, m);
		if (r < *lo)
			*lo = r;
		if (r > *hi)
			*hi = r;
		*ahead += r > 1.0;
		(*n)++;
	}
}

static void out_row(const struct bench *b, unsigned int w, const char *name,
		    enum metric m, bool lower_is_better)
{
	double a = median_of(b, w, 0, m), t = median_of(b, w, 1, m);
	double ratio = lower_is_better ? t / a : a / t;
	int prec = workloads[w].gso ? 2 : 1;
	unsigned int ahead, n;
	double lo, hi;

	round_ratios(b, w, m, lower_is_better, &lo, &hi, &ahead, &n);
	out("| %s | %.*f | %.*f | %.2f | %.2f-%.2f | %u/%u | %.1f | %.1f | %.1f | %.1f |\n",
	    name, prec, a, prec, t, ratio, lo, hi, ahead, n,
	    median_of(b, w, 0, M_KICKS), median_of(b, w, 0, M_CALLS),
	    median_of(b, w, 1, M_KICKS), median_of(b, w, 1, M_CALLS));
}

static void out_table(const struct bench *b)
{
	char name[64];
	unsigned int w;

	out("# Network benchmark: kvhost-net vs in-tree vhost-net\n\n");
	out("- kernel: %s\n- date: %s\n", b->kernel, b->date);
	out("- devices: %s = %s, %s = %s\n", b->label[0], b->dev[0],
	    b->label[1], b->dev[1]);
	out("- rounds: %u, %.1f s per device per row, interleaved (%s, %s, %s, %s, ...); median per device shown\n",
	    b->rounds, b->secs, b->label[0], b->label[1], b->label[0], b->label[1]);
	out("- guest: split rings of %u, VERSION_1 + MRG_RXBUF + EVENT_IDX, %u-byte RX buffers; tap with vnet header and offloads; QEMU TCG\n",
	    RING_NUM, RX_BUF_LEN);
	out("- ratio: kvhost/in-tree for throughput rows, in-tree/kvhost for latency rows: **> 1.0 always means kvhost is better**\n");
	out("- round ratios, ahead: the ratio within each round (the two devices ran back to back) from lowest to highest, and in how many rounds kvhost was better\n");
	out("- kicks/1k, calls/1k: kick eventfd writes and call eventfd counts (both queues) per 1000 packets (RR: per 1000 round trips), counted by the guest driver\n\n");
	out("| row | kvhost | in-tree | ratio | round ratios | ahead | kvhost kicks/1k | kvhost calls/1k | in-tree kicks/1k | in-tree calls/1k |\n");
	out("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
	for (w = 0; w < NWL; w++) {
		if (workloads[w].kind == WL_RR) {
			snprintf(name, sizeof(name), "%s latency p50 (us)",
				 workloads[w].name);
			out_row(b, w, name, M_VALUE, true);
			snprintf(name, sizeof(name), "%s latency p99 (us)",
				 workloads[w].name);
			out_row(b, w, name, M_P99, true);
			continue;
		}
		snprintf(name, sizeof(name), "%s (%s)", workloads[w].name,
			 workloads[w].unit);
		out_row(b, w, name, M_VALUE, false);
	}
}

static void out_cost_row(const struct bench *b, unsigned int w,
			 const char *name)
{
	double a = median_of(b, w, 0, M_WORKER_NS);
	double t = median_of(b, w, 1, M_WORKER_NS);
	unsigned int ahead, n;
	double lo, hi;

	round_ratios(b, w, M_WORKER_NS, true, &lo, &hi, &ahead, &n);
	out("| %s | %.0f | %.0f | %.2f | %.2f-%.2f | %u/%u |\n", name, a, t,
	    t / a, lo, hi, ahead, n);
}

/*
 * The device's own cost: its worker's CPU time per packet.  Most rows'
 * throughput is bound by the guest-side threads here (the driver, the
 * wire's generator or sink), which both devices share.
 */
static void out_cost_table(const struct bench *b)
{
	char name[64];
	unsigned int w;

	out("\n## Device cost: worker CPU time per packet\n\n");
	out("The worker thread's CPU time (/proc/TID/schedstat) over the measured window, per packet (RR: per round trip), in ns; ratio in-tree/kvhost, **> 1.0 means kvhost spends less**.\n\n");
	out("| row | kvhost ns/pkt | in-tree ns/pkt | ratio | round ratios | ahead |\n");
	out("|---|---:|---:|---:|---:|---:|\n");
	for (w = 0; w < NWL; w++) {
		snprintf(name, sizeof(name), "%s", workloads[w].name);
		out_cost_row(b, w, name);
	}
}

/* Merged RX frames a device published in parts, over all its runs. */
static uint64_t partial_frames(const struct bench *b, unsigned int d)
{
	unsigned int w, i;
	uint64_t n = 0;

	for (w = 0; w < NWL; w++)
		for (i = 0; i < b->rounds; i++)
			n += b->res[w][d][i].partial;
	return n;
}

static void out_notes(const struct bench *b)
{
	unsigned int d;
	uint64_t n;

	for (d = 0; d < NDEV; d++) {
		n = partial_frames(b, d);
		if (n)
			out("\n**%s published %llu merged RX frames in parts** (used index covering only some of a frame's num_buffers; virtio 1.x 5.1.6.4 forbids it and a Linux guest drops such frames; the numbers above waited for the rest).\n",
			    b->label[d], (unsigned long long)n);
	}
}

static void out_raw_run(const struct workload *w, const struct run_result *r)
{
	if (!r->ok) {
		out(" FAILED (%s);", r->note);
		return;
	}
	if (w->kind == WL_RR)
		out(" %.1f/%.1f", r->value, r->p99);
	else
		out(" %.*f", w->gso ? 2 : 1, r->value);
	out(" [k%.0f c%.0f", metric_of(r, M_KICKS), metric_of(r, M_CALLS));
	if (w->kind == WL_RX)
		out(" drop %.1f%%", r->offered ? 100.0 * r->dropped / r->offered : 0);
	if (r->partial)
		out(" PARTIAL %llu", (unsigned long long)r->partial);
	if (r->requeues)
		out(" rq%llu", (unsigned long long)r->requeues);
	out("];");
}

static void out_raw(const struct bench *b)
{
	unsigned int w, d, i;

	out("\n## Raw per-round numbers\n\n");
	out("Per round: value (RR: p50/p99 us) [k kicks/1k, c calls/1k, RX: frames dropped of those injected, rq: kvhost budget requeues, PARTIAL: merged RX frames whose buffers the device published in parts, a virtio 5.1.6.4 violation a Linux guest drops; measured here by waiting for the rest].\n\n");
	for (w = 0; w < NWL; w++) {
		for (d = 0; d < NDEV; d++) {
			out("- %s (%s), %s:", workloads[w].name, workloads[w].unit,
			    b->label[d]);
			for (i = 0; i < b->rounds; i++)
				out_raw_run(&workloads[w], &b->res[w][d][i]);
			out("\n");
		}
	}
}

static unsigned int count_failures(const struct bench *b)
{
	unsigned int w, d, i, n = 0;

	for (w = 0; w < NWL; w++)
		for (d = 0; d < NDEV; d++)
			for (i = 0; i < b->rounds; i++)
				n += !b->res[w][d][i].ok;
	return n;
}

static void run_all(struct bench *b)
{
	unsigned int i, w, d;
	struct run_result *r;

	for (i = 0; i < b->rounds; i++) {
		for (w = 0; w < NWL; w++) {
			for (d = 0; d < NDEV; d++) {
				r = &b->res[w][d][i];
				run_one(&workloads[w], b->dev[d], b->secs, r);
				fprintf(stderr, "# round %u %-14s %-8s %10.2f%s%s\n",
					i + 1, workloads[w].name, b->label[d],
					r->value, r->ok ? "" : " FAILED: ",
					r->ok ? "" : r->note);
			}
		}
	}
}

static void usage(void)
{
	fprintf(stderr,
		"usage: net_bench [-r ROUNDS] [-d SECONDS] [-o FILE.md] [-k KERNEL] [DEV_KVHOST DEV_INTREE]\n");
	exit(2);
}

static void parse_args(struct bench *b, int argc, char **argv)
{
	static struct utsname uts;
	int opt;

	b->dev[0] = "/dev/kvhost-net";
	b->dev[1] = "/dev/vhost-net";
	b->label[0] = "kvhost";
	b->label[1] = "in-tree";
	b->rounds = 5;
	b->secs = 2;
	uname(&uts);
	b->kernel = uts.release;
	while ((opt = getopt(argc, argv, "r:d:o:k:")) != -1) {
		switch (opt) {
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
		default:
			usage();
		}
	}
	if (argc - optind == NDEV) {
		b->dev[0] = argv[optind];
		b->dev[1] = argv[optind + 1];
	} else if (argc != optind) {
		usage();
	}
	if (!b->rounds || b->rounds > MAX_ROUNDS || !(b->secs > 0))
		usage();
}

int main(int argc, char **argv)
{
	static struct bench b;
	time_t now = time(NULL);
	unsigned int failed;

	parse_args(&b, argc, argv);
	strftime(b.date, sizeof(b.date), "%Y-%m-%d %H:%M:%S UTC", gmtime(&now));
	setvbuf(stdout, NULL, _IOLBF, 0);
	run_all(&b);
	if (b.out_path) {
		report_file = fopen(b.out_path, "w");
		if (!report_file)
			perror(b.out_path);
	}
	out_table(&b);
	out_cost_table(&b);
	out_notes(&b);
	out_raw(&b);
	failed = count_failures(&b);
	if (failed)
		out("\n%u of %u runs failed (see the raw numbers).\n", failed,
		    (unsigned int)(NWL * NDEV * b.rounds));
	if (report_file)
		fclose(report_file);
	return failed ? 1 : 0;
}
