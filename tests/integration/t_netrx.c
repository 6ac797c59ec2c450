// SPDX-License-Identifier: GPL-2.0
/*
 * t_netrx: kvhost-net RX and TX handlers that must always make progress.
 *
 *  - A raw AF_PACKET backend with a virtio-net header cannot describe some
 *    frames in that header (UDP GSO on 6.1, UFO on 6.12): every look at
 *    such a frame fails.  It must be dropped and counted, and the frames
 *    behind it delivered.  Both kinds are injected on both kernels: one of
 *    them is the undescribable one.
 *  - A driver that keeps adding tiny RX buffers one at a time while a
 *    frame waits for more room sends the RX handler round its "look
 *    again" path; that path must cost budget, so the worker yields and the
 *    device's other queue, on the same worker, keeps moving.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/socket.h>
#include <linux/if_packet.h>
#include "gnet.h"
#include "tap.h"

#ifndef UDP_SEGMENT
#define UDP_SEGMENT	103
#endif

static const char *dev_path = "/dev/kvhost-net";
static uint8_t fbuf[FRAME_MAX], rbuf[FRAME_MAX + 64];
static char why[512];

/* Legacy 10-byte header: what PACKET_VNET_HDR carries on both kernels. */
static const struct gcfg cfg_legacy = {
	.features = F_EVENT_IDX, .num = 64, .rx_buf = 4096, .event_idx = true,
};

/* A packet socket on @ifindex that carries a virtio-net header. */
static int vnet_packet_socket(int ifindex)
{
	int fd = wire_open(ifindex), one = 1;

	if (fd >= 0 && setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, &one,
				  sizeof(one)) < 0) {
		close(fd);
		return -errno;
	}
	return fd;
}

typedef int (*send_fn)(int fd, const uint8_t *f, size_t len);

/* Into a tap whose fd carries a 10-byte vnet header: the tap's ingress. */
static int tap_write(int fd, const uint8_t *f, size_t len)
{
	static uint8_t buf[sizeof(struct virtio_net_hdr) + FRAME_MAX];

	memset(buf, 0, sizeof(struct virtio_net_hdr));
	memcpy(buf + sizeof(struct virtio_net_hdr), f, len);
	return write(fd, buf, sizeof(struct virtio_net_hdr) + len) < 0 ? -errno : 0;
}

/* Frames @seq0.. sent with @send on @fd must reach the guest, in order. */
static bool rx_expect(struct gnet *g, send_fn send, int fd, unsigned int n,
		      uint32_t seq0)
{
	struct virtio_net_hdr_mrg_rxbuf h;
	unsigned int i, nb;
	int len;

	for (i = 0; i < n; i++) {
		size_t want = 60 + i * 50;

		frame_make(fbuf, want, seq0 + i, false);
		send(fd, fbuf, want);
		len = gnet_rx(g, rbuf, &h, &nb, WAIT_MS);
		if (len < 0) {
			snprintf(why, sizeof(why), "frame %u: %s", i,
				 len == -ETIMEDOUT ? "never received" : g->err);
			return false;
		}
		if (!frame_check(rbuf, len, want, seq0 + i, false, why, sizeof(why)))
			return false;
	}
	return true;
}

/* An IPv4/UDP frame of @payload bytes to 127.0.0.1 inside @f. */
static size_t udp_frame(uint8_t *f, size_t payload)
{
	static const uint8_t eth[ETH_HLEN] = {
		2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x00,
	};
	size_t len = ETH_HLEN + 20 + 8 + payload;
	uint8_t *ip = f + ETH_HLEN, *udp = ip + 20;

	memset(f, 0, len);
	memcpy(f, eth, sizeof(eth));
	ip[0] = 0x45;
	ip[2] = (len - ETH_HLEN) >> 8;
	ip[3] = (len - ETH_HLEN) & 0xff;
	ip[8] = 64;
	ip[9] = IPPROTO_UDP;
	ip[12] = 10; ip[15] = 1;
	ip[16] = 10; ip[19] = 2;
	udp[0] = 0x30; udp[1] = 0x39;
	udp[2] = 0x00; udp[3] = 0x09;
	udp[4] = (len - ETH_HLEN - 20) >> 8;
	udp[5] = (len - ETH_HLEN - 20) & 0xff;
	return len;
}

/*
 * UFO (VIRTIO_NET_HDR_GSO_UDP) written into a tap: the tap's packet
 * socket gets an skb that 6.12 cannot describe in a vnet header.
 */
static int inject_ufo(int tapfd)
{
	struct virtio_net_hdr h = {
		.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
		.gso_type = VIRTIO_NET_HDR_GSO_UDP,
		.hdr_len = htole16(ETH_HLEN + 28),
		.gso_size = htole16(1000),
		.csum_start = htole16(ETH_HLEN + 20),
		.csum_offset = htole16(6),
	};
	size_t len = udp_frame(fbuf + sizeof(h), 3000);

	memcpy(fbuf, &h, sizeof(h));
	return write(tapfd, fbuf, sizeof(h) + len) < 0 ? -errno : 0;
}

/* A UDP_SEGMENT datagram on lo: an skb 6.1 cannot describe in a vnet header. */
static int inject_udp_gso(void)
{
	struct sockaddr_in to = {
		.sin_family = AF_INET, .sin_port = htons(9),
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};
	int fd, seg = 1000, ret = 0;
	static uint8_t payload[3000];

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, IPPROTO_UDP, UDP_SEGMENT, &seg, sizeof(seg)) < 0 ||
	    sendto(fd, payload, sizeof(payload), 0, (struct sockaddr *)&to,
		   sizeof(to)) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

/*
 * One packet-socket backend on @ifindex; @inject puts a GSO frame on its
 * interface, then normal frames from @wire must arrive.
 */
static void undescribable_case(const char *what, int ifindex, send_fn send,
			       int fd, int (*inject)(void *), void *arg)
{
	struct kvhost_net_stats st;
	struct gnet g;
	int psock, ret;

	psock = vnet_packet_socket(ifindex);
	ret = psock < 0 ? psock : gnet_open(&g, dev_path, &cfg_legacy, psock);
	if (!tap_ok(!ret, "%s: packet backend with a vnet header", what)) {
		tap_diag("  %s", ret == psock ? strerror(-ret) : g.err);
		goto out;
	}
	ret = inject(arg);
	if (!tap_ok(!ret, "%s: injected", what))
		tap_diag("  %s", strerror(-ret));
	if (!tap_ok(rx_expect(&g, send, fd, 20, 100), "%s: the frames behind it arrive",
		    what))
		tap_diag("  %s", why);
	if (!gnet_stats(&g, &st)) {
		tap_ok(!st.vq[RX].broken, "%s: RX queue not broken", what);
		diag_vq_stats("RX", &st.vq[RX]);
	}
out:
	gnet_close(&g);
	if (psock >= 0)
		close(psock);
}

static int inject_ufo_fn(void *arg)
{
	return inject_ufo(*(int *)arg);
}

static int inject_udp_gso_fn(void *arg)
{
	(void)arg;
	return inject_udp_gso();
}

static void test_undescribable(void)
{
	struct tapdev t;
	int wire, lo, ret;

	ret = tapdev_open(&t, true, 10);
	if (!tap_ok(!ret, "UFO into a tap: tap with a vnet header"))
		return;
	/* Normal frames come through the tap too: written to its fd. */
	undescribable_case("UFO into a tap", t.ifindex, tap_write, t.fd,
			   inject_ufo_fn, &t.fd);
	tapdev_close(&t);

	lo = link_up("lo", 65536);
	wire = lo < 0 ? lo : wire_open(lo);
	if (!tap_ok(wire >= 0, "UDP GSO on lo: lo up, wire on it")) {
		tap_diag("  %s", strerror(-wire));
		return;
	}
	undescribable_case("UDP GSO on lo", lo, wire_send, wire,
			   inject_udp_gso_fn, NULL);
	close(wire);
}

/* ---- a driver trickling tiny RX buffers ---- */

#define TINY		16	/* bytes per trickled RX buffer */
#define TRICKLE_NUM	256

struct trickle {
	struct gnet *g;
	volatile bool stop;
	unsigned long added;
};

/* Add one tiny buffer at a time as fast as possible, reusing used ones. */
static void *trickle_fn(void *arg)
{
	struct trickle *tr = arg;
	struct vdrv_ring *r = &tr->g->ring[RX];
	struct vdrv_seg seg = { .len = TINY, .writable = true };
	unsigned int next = 0;
	uint64_t tok;
	uint32_t len;

	while (!tr->stop) {
		while (vdrv_get_used(r, &tok, &len) == 1)
			;
		if (!vdrv_num_free(r))
			continue;
		seg.gpa = tr->g->rxg[next % TRICKLE_NUM] + (next / TRICKLE_NUM % 64) * TINY;
		if (vdrv_add(r, &seg, 1, next, false) < 0)
			continue;
		next++;
		tr->added++;
		gnet_kick(tr->g, RX);
	}
	return NULL;
}

#define BUDGET_PARAM	"/sys/module/kvhost/parameters/budget_descs"
#define TRICKLE_BUDGET	"4"
#define TRICKLE_FRAMES	20

static int param_rw(const char *path, char *old, size_t oldsz, const char *val)
{
	FILE *f = fopen(path, "r+");
	int ret = 0;

	if (!f)
		return -errno;
	if (old && !fgets(old, oldsz, f))
		ret = -EIO;
	rewind(f);
	if (!ret && fputs(val, f) < 0)
		ret = -EIO;
	if (fclose(f) && !ret)
		ret = -errno;
	return ret;
}

/* RX packets the device counted, waiting up to WAIT_MS for @want. */
static uint64_t rx_packets_reach(struct gnet *g, uint64_t want)
{
	struct kvhost_net_stats st = { 0 };
	uint64_t deadline = kvdev_now_ms() + WAIT_MS;

	while (!gnet_stats(g, &st) && st.vq[RX].packets < want &&
	       kvdev_now_ms() < deadline)
		usleep(2000);
	return st.vq[RX].packets;
}

/*
 * One 1500-byte frame at a time waits for ~95 tiny buffers, which the
 * trickle thread adds one by one: the handler goes round its "look
 * again" path several times per frame.  With a budget of 4 per run, a
 * run that only looks again must be cut short (requeued): one frame per
 * run never reaches the budget by frames alone.  Meanwhile TX, on the
 * same worker, must keep moving.
 */
static void test_trickle(void)
{
	struct gcfg c = {
		.features = F_V1 | F_MRG | F_EVENT_IDX, .num = TRICKLE_NUM,
		.rx_buf = 1536, .event_idx = true, .no_rx_post = true,
	};
	struct virtio_net_hdr_mrg_rxbuf h;
	struct kvhost_net_stats st;
	struct trickle tr = { 0 };
	uint64_t t0, worst = 0, dt;
	char budget[32] = "256\n";
	struct tapdev t;
	struct gnet g;
	pthread_t th;
	unsigned int i;
	int wire = -1, ret;
	ssize_t got;
	bool ok = true;

	/* Read at open: the device set up below runs with this budget. */
	ret = param_rw(BUDGET_PARAM, budget, sizeof(budget), TRICKLE_BUDGET);
	if (!tap_ok(!ret, "trickle: budget_descs %s for this device", TRICKLE_BUDGET))
		return;
	ret = tapdev_open(&t, true, 12);
	wire = ret ? -1 : wire_open(t.ifindex);
	ret = ret ?: wire < 0 ? wire : gnet_open(&g, dev_path, &c, t.fd);
	param_rw(BUDGET_PARAM, NULL, 0, budget);
	if (!tap_ok(!ret, "trickle: set-up")) {
		tap_diag("  %s", g.err);
		goto out;
	}
	tr.g = &g;
	if (pthread_create(&th, NULL, trickle_fn, &tr)) {
		tap_ok(false, "trickle: thread");
		goto out;
	}
	memset(&h, 0, sizeof(h));
	for (i = 0; i < TRICKLE_FRAMES && ok; i++) {
		frame_make(fbuf, 1500, 50000 + i, false);
		wire_send(wire, fbuf, 1500);
		ok = rx_packets_reach(&g, i + 1) == i + 1;
		/* TX shares the worker with RX: it must get its turn. */
		frame_make(fbuf, 200, 60000 + i, false);
		t0 = kvdev_now_ms();
		ok = ok && !gnet_tx(&g, &h, fbuf, 200, false);
		do {
			got = wire_recv(wire, rbuf, sizeof(rbuf), WAIT_MS);
		} while (ok && got > 0 && frame_seq(rbuf, got) != 60000 + i);
		ok = ok && got > 0;
		dt = kvdev_now_ms() - t0;
		if (dt > worst)
			worst = dt;
	}
	tr.stop = true;
	pthread_join(th, NULL);
	tap_ok(ok, "trickle: %u frames received in tiny buffers, TX in between (worst %llu ms, %lu buffers added)",
	       i, (unsigned long long)worst, tr.added);
	if (!gnet_stats(&g, &st)) {
		tap_ok(!st.vq[RX].broken && !st.vq[TX].broken,
		       "trickle: neither queue broken");
		/*
		 * How often the handler looked again depends on the race
		 * between the thread and the worker: reported, not asserted.
		 */
		tap_diag("  RX runs requeued by the budget: %llu",
			 (unsigned long long)st.vq[RX].requeues);
		diag_vq_stats("RX", &st.vq[RX]);
		diag_vq_stats("TX", &st.vq[TX]);
	}
out:
	gnet_close(&g);
	if (wire >= 0)
		close(wire);
	tapdev_close(&t);
}

int main(void)
{
	tap_init();
	tap_watchdog(280);
	test_undescribable();
	test_trickle();
	return tap_done();
}
