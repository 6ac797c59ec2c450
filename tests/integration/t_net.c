// SPDX-License-Identifier: GPL-2.0
/*
 * t_net: a vhost-net device (/dev/kvhost-net, and the in-tree /dev/vhost-net
 * for comparison) driven like QEMU drives it, with a tap device as backend.
 *
 *   t_net [DEVICE...]      default: $KVHOST_NET_DEV, else /dev/kvhost-net
 *                          and, if present, /dev/vhost-net
 *
 * The "wire" is an AF_PACKET socket bound to the tap interface: what the
 * guest sends is injected by the tap into the host stack, where the socket
 * captures it; what the socket sends the host transmits on the tap, where
 * the device receives it for the guest.  Every frame carries a sequence
 * number and a pattern derived from it, and is compared byte for byte.
 * Checks of kvhost's own statistics run only where KVHOST_NET_GET_STATS
 * exists.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include "gnet.h"
#include "tap.h"

static const char *dev_path;
static bool dev_kvhost;		/* has KVHOST_NET_GET_STATS */

/* ---- tests ---- */

static uint8_t fbuf[FRAME_MAX], rbuf[FRAME_MAX + 64];
static char why[512];

static const struct gcfg cfg_v1_mrg = {
	.features = F_V1 | F_MRG | F_EVENT_IDX | F_INDIRECT,
	.num = 256, .rx_buf = 1536, .event_idx = true, .indirect = true,
};

/* Open tap + wire + guest; the tap's vnet header follows @c. */
static bool setup(struct tapdev *t, int *wire, struct gnet *g,
		  const struct gcfg *c, const char *what)
{
	bool vnet = !(c->features & F_NET_HDR);
	int hdrsz = c->features & (F_MRG | F_V1) ? 12 : 10;
	int ret;

	*wire = -1;
	ret = tapdev_open(t, vnet, hdrsz);
	if (ret) {
		tap_ok(false, "%s: %s: tap: %s", dev_path, what, strerror(-ret));
		return false;
	}
	*wire = wire_open(t->ifindex);
	if (*wire < 0) {
		tap_ok(false, "%s: %s: packet socket: %s", dev_path, what,
		       strerror(-*wire));
		tapdev_close(t);
		return false;
	}
	ret = gnet_open(g, dev_path, c, t->fd);
	if (ret) {
		tap_ok(false, "%s: %s: set-up: %s", dev_path, what, g->err);
		gnet_close(g);
		close(*wire);
		tapdev_close(t);
		return false;
	}
	return true;
}

static void teardown(struct tapdev *t, int wire, struct gnet *g)
{
	gnet_close(g);
	if (wire >= 0)
		close(wire);
	tapdev_close(t);
}

static void test_features_and_backend(void)
{
	struct vhost_vring_file f;
	struct kvdev d;
	struct gnet g;
	uint64_t feat = 0;
	int efd, udp, ret;

	ret = kvdev_open(&d, dev_path, 2);
	if (!tap_ok(!ret, "%s: open", dev_path))
		return;
	ret = kvdev_get_features(&d, &feat);
	tap_ok(!ret && (feat & (F_V1 | F_MRG | F_NET_HDR | F_EVENT_IDX)) ==
	       (F_V1 | F_MRG | F_NET_HDR | F_EVENT_IDX),
	       "%s: offers VERSION_1, MRG_RXBUF, VHOST_NET_F_VIRTIO_NET_HDR, EVENT_IDX (%#llx)",
	       dev_path, (unsigned long long)feat);
	f = (struct vhost_vring_file){ .index = 0, .fd = -1 };
	tap_errno(kvdev_ioctl(&d, VHOST_NET_SET_BACKEND, &f), EPERM,
		  "%s: SET_BACKEND before SET_OWNER -> EPERM", dev_path);
	kvdev_close(&d);

	/* vhost-net checks the ring before the fd: set the queues up first. */
	ret = gnet_open(&g, dev_path, &cfg_v1_mrg, -1);
	if (!tap_ok(!ret, "%s: set-up without backend", dev_path)) {
		tap_diag("  %s", g.err);
		gnet_close(&g);
		return;
	}
	efd = eventfd(0, EFD_CLOEXEC);
	f = (struct vhost_vring_file){ .index = 0, .fd = efd };
	tap_errno(kvdev_ioctl(&g.dev, VHOST_NET_SET_BACKEND, &f), ENOTSOCK,
		  "%s: SET_BACKEND with an eventfd -> ENOTSOCK", dev_path);
	udp = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	f = (struct vhost_vring_file){ .index = 1, .fd = udp };
	ret = kvdev_ioctl(&g.dev, VHOST_NET_SET_BACKEND, &f);
	tap_ok(ret == -ENOTSOCK || ret == -EINVAL || ret == -EOPNOTSUPP,
	       "%s: SET_BACKEND with a UDP socket is refused (%d)", dev_path, ret);
	f = (struct vhost_vring_file){ .index = 2, .fd = -1 };
	tap_errno(kvdev_ioctl(&g.dev, VHOST_NET_SET_BACKEND, &f), ENOBUFS,
		  "%s: SET_BACKEND on queue 2 -> ENOBUFS", dev_path);
	f = (struct vhost_vring_file){ .index = 0, .fd = -1 };
	tap_ok(!kvdev_ioctl(&g.dev, VHOST_NET_SET_BACKEND, &f),
	       "%s: SET_BACKEND -1 on an unattached queue -> 0", dev_path);
	close(udp);
	close(efd);
	gnet_close(&g);
}

/* The next frame of ours on the wire must be @seq, @len bytes. */
static bool wire_expect(int wire, size_t len, uint32_t seq, bool tcp,
			unsigned int nr)
{
	ssize_t got = wire_recv(wire, rbuf, sizeof(rbuf), WAIT_MS);

	if (got <= 0) {
		snprintf(why, sizeof(why), "frame %u not seen on the tap", nr);
		return false;
	}
	return frame_check(rbuf, got, len, seq, tcp, why, sizeof(why));
}

/* Every TX buffer must come back. */
static bool tx_drained(struct gnet *g)
{
	if (!gnet_tx_drain(g, WAIT_MS))
		return true;
	snprintf(why, sizeof(why), "TX buffers not returned");
	return false;
}

/* Send @n frames of @sizes (cycled) from the guest and capture them. */
static bool tx_run(struct gnet *g, int wire, const size_t *sizes,
		   unsigned int nsizes, unsigned int n, uint32_t seq0,
		   bool burst, uint64_t *bytes)
{
	struct virtio_net_hdr_mrg_rxbuf h;
	unsigned int i, sent = 0, got = 0;

	*bytes = 0;
	while (got < n) {
		/* A burst keeps up to NTXBUF frames in flight. */
		while (sent < n && (burst || sent == got)) {
			size_t sz = sizes[sent % nsizes];
			bool tcp = sz > 1514;

			if (tcp)
				hdr_gso(&h);
			else
				memset(&h, 0, sizeof(h));
			frame_make(fbuf, sz, seq0 + sent, tcp);
			if (gnet_tx(g, &h, fbuf, sz, sent & 1)) {
				snprintf(why, sizeof(why), "frame %u: TX ring stuck", sent);
				return false;
			}
			*bytes += sz;
			sent++;
			if (burst && g->ntx_free == 0)
				break;
		}
		i = got;
		if (!wire_expect(wire, sizes[i % nsizes], seq0 + i,
				 sizes[i % nsizes] > 1514, i))
			return false;
		got++;
	}
	return tx_drained(g);
}

static void test_tx(void)
{
	static const size_t sizes[] = {
		60, 61, 64, 100, 577, 1000, 1513, 1514,
		1515, 2000, 4096, 9000, 16384, 32768, 60000, 65535,
	};
	static const size_t burst_sizes[] = { 60, 1514, 128, 999, 1400, 77, 512 };
	struct kvhost_net_stats st;
	struct virtio_net_hdr_mrg_rxbuf h;
	struct tapdev t;
	struct gnet g;
	uint64_t b1, b2;
	int wire;
	bool ok;

	if (!setup(&t, &wire, &g, &cfg_v1_mrg, "TX"))
		return;
	ok = tx_run(&g, wire, sizes, 16, 16, 1000, false, &b1);
	tap_ok(ok, "%s: TX 60..65535 bytes (GSO TCPv4 above 1514) arrive byte for byte",
	       dev_path);
	if (!ok)
		tap_diag("  %s", why);
	ok = tx_run(&g, wire, burst_sizes, 7, 500, 5000, true, &b2);
	tap_ok(ok, "%s: TX burst of 500 frames arrives in order", dev_path);
	if (!ok)
		tap_diag("  %s", why);

	/* A header the tap refuses: the buffer comes back, the ring goes on. */
	memset(&h, 0, sizeof(h));
	h.hdr.gso_type = 0x42;
	frame_make(fbuf, 200, 9000, false);
	gnet_tx(&g, &h, fbuf, 200, false);
	memset(&h, 0, sizeof(h));
	frame_make(fbuf, 300, 9001, false);
	gnet_tx(&g, &h, fbuf, 300, false);
	ok = wire_recv(wire, rbuf, sizeof(rbuf), WAIT_MS) == 300 &&
	     frame_check(rbuf, 300, 300, 9001, false, why, sizeof(why));
	tap_ok(ok && !gnet_tx_drain(&g, WAIT_MS),
	       "%s: TX frame with nonsense GSO type is refused, its buffer returned, the next one sent",
	       dev_path);
	if (dev_kvhost) {
		ok = !gnet_stats(&g, &st);
		tap_ok(ok && st.vq[TX].packets == 16 + 500 + 1 &&
		       st.vq[TX].bytes == b1 + b2 + 300 &&
		       st.vq[TX].drops == 1 && st.vq[TX].rejected == 1 &&
		       !st.vq[TX].broken,
		       "%s: TX stats: packets, bytes, one drop rejected by the socket",
		       dev_path);
		diag_vq_stats("TX", &st.vq[TX]);
	}
	teardown(&t, wire, &g);
}

/*
 * One round of the mixed TX pattern: frames tun/tap takes in a batch,
 * frames that must go one by one (GSO), and frames the socket refuses (too
 * short for Ethernet; a checksum request past the end of the frame), all
 * in one burst.  The accepted ones must arrive in ring order.
 */
enum { MIX_PLAIN, MIX_SHORT, MIX_BAD_CSUM, MIX_GSO, MIX_CSUM, MIX_FULL, MIX_N };
static const size_t mix_len[MIX_N] = { 100, 10, 200, 9000, 300, 1514 };
#define MIX_SENT	4	/* frames of a round that reach the wire */
#define MIX_ROUNDS	8	/* rounds posted before reading the wire */

static void mix_hdr(struct virtio_net_hdr_mrg_rxbuf *h, unsigned int kind)
{
	memset(h, 0, sizeof(*h));
	switch (kind) {
	case MIX_GSO:
		hdr_gso(h);
		break;
	case MIX_BAD_CSUM:
		h->hdr.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
		h->hdr.csum_start = htole16(190);
		h->hdr.csum_offset = htole16(16);
		break;
	case MIX_CSUM:
		h->hdr.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
		h->hdr.csum_start = htole16(ETH_HLEN + 20);
		h->hdr.csum_offset = htole16(16);
		break;
	}
}

static bool tx_mix_run(struct gnet *g, int wire, unsigned int loops,
		       uint32_t seq0, uint64_t *bytes)
{
	struct virtio_net_hdr_mrg_rxbuf h;
	unsigned int l, r, k;
	uint32_t seq;

	*bytes = 0;
	for (l = 0; l < loops; l++) {
		seq = seq0 + l * MIX_ROUNDS * MIX_SENT;
		for (r = 0; r < MIX_ROUNDS; r++) {
			for (k = 0; k < MIX_N; k++) {
				bool sent = k != MIX_SHORT && k != MIX_BAD_CSUM;

				mix_hdr(&h, k);
				frame_make(fbuf, mix_len[k], sent ? seq : 0,
					   k == MIX_GSO);
				if (gnet_tx(g, &h, fbuf, mix_len[k], k & 1)) {
					snprintf(why, sizeof(why), "TX ring stuck");
					return false;
				}
				if (sent) {
					*bytes += mix_len[k];
					seq++;
				}
			}
		}
		seq = seq0 + l * MIX_ROUNDS * MIX_SENT;
		for (r = 0; r < MIX_ROUNDS; r++) {
			for (k = 0; k < MIX_N; k++) {
				if (k == MIX_SHORT || k == MIX_BAD_CSUM)
					continue;
				if (!wire_expect(wire, mix_len[k], seq,
						 k == MIX_GSO, seq - seq0))
					return false;
				seq++;
			}
		}
		if (!tx_drained(g))
			return false;
	}
	return true;
}

static void test_tx_mixed(void)
{
	const unsigned int loops = 5, refused = 2 * loops * MIX_ROUNDS;
	const unsigned int sent = MIX_SENT * loops * MIX_ROUNDS;
	struct kvhost_net_stats st, st1 = {};
	uint64_t b1, b2;
	struct tapdev t;
	struct gnet g;
	int wire, sndbuf = 1 << 20;
	bool ok;

	if (!setup(&t, &wire, &g, &cfg_v1_mrg, "TX mixed"))
		return;
	ok = (tx_mix_run(&g, wire, loops, 20000, &b1));
	tap_ok(ok, "%s: TX burst mixing small, GSO, short and bad-checksum frames: the accepted ones arrive in order",
	       dev_path);
	if (!ok)
		tap_diag("  %s", why);
	if (dev_kvhost) {
		ok = !gnet_stats(&g, &st1);
		tap_ok(ok && st1.vq[TX].batched > 0 &&
		       st1.vq[TX].batched <= sent / MIX_SENT * 3,
		       "%s: small frames went in batches, GSO ones on their own (%llu batched)",
		       dev_path, (unsigned long long)st1.vq[TX].batched);
	}
	/* A limited send buffer: every frame goes on its own, same result. */
	ok = !ioctl(t.fd, TUNSETSNDBUF, &sndbuf) &&
	     (tx_mix_run(&g, wire, loops, 30000, &b2));
	tap_ok(ok, "%s: the same with a limited tap send buffer", dev_path);
	if (!ok)
		tap_diag("  %s", why);
	if (dev_kvhost) {
		ok = !gnet_stats(&g, &st);
		tap_ok(ok && st.vq[TX].packets == 2 * sent &&
		       st.vq[TX].bytes == b1 + b2 &&
		       st.vq[TX].drops == 2 * refused &&
		       st.vq[TX].rejected == 2 * refused && !st.vq[TX].broken &&
		       st.vq[TX].batched == st1.vq[TX].batched,
		       "%s: TX stats count every refused frame of a batch run",
		       dev_path);
		diag_vq_stats("TX", &st.vq[TX]);
	}
	teardown(&t, wire, &g);
}

/* Inject frames on the wire and check what the guest receives. */
static bool rx_run(struct gnet *g, int wire, const size_t *sizes,
		   unsigned int nsizes, unsigned int n, uint32_t seq0,
		   unsigned int window, uint64_t *bytes)
{
	struct virtio_net_hdr_mrg_rxbuf h;
	unsigned int sent = 0, got = 0, nb;
	int len;

	*bytes = 0;
	while (got < n) {
		while (sent < n && sent - got < window) {
			size_t sz = sizes[sent % nsizes];

			frame_make(fbuf, sz, seq0 + sent, false);
			if (wire_send(wire, fbuf, sz)) {
				snprintf(why, sizeof(why), "inject: %s", strerror(errno));
				return false;
			}
			*bytes += sz;
			sent++;
		}
		len = gnet_rx(g, rbuf, &h, &nb, WAIT_MS);
		if (len < 0) {
			snprintf(why, sizeof(why), "frame %u of %u: %s", got, n,
				 len == -ETIMEDOUT ? "not received" : g->err);
			return false;
		}
		if (!frame_check(rbuf, len, sizes[got % nsizes], seq0 + got,
				 false, why, sizeof(why)))
			return false;
		if (h.hdr.gso_type != VIRTIO_NET_HDR_GSO_NONE) {
			snprintf(why, sizeof(why), "frame %u: gso_type %u", got,
				 h.hdr.gso_type);
			return false;
		}
		/* With 12-byte headers num_buffers must be right (1 unmerged). */
		if (g->hlen == 12 && (g->mrg || dev_kvhost) &&
		    le16toh(h.num_buffers) != nb) {
			snprintf(why, sizeof(why), "frame %u: num_buffers %u, used %u",
				 got, le16toh(h.num_buffers), nb);
			return false;
		}
		if (g->mrg && g->cfg.rx_buf >= 1536 && len + g->hlen > g->cfg.rx_buf &&
		    nb < 2) {
			snprintf(why, sizeof(why), "frame %u: %d bytes in one buffer",
				 got, len);
			return false;
		}
		got++;
	}
	return true;
}

static const size_t rx_sizes[] = {
	60, 61, 100, 1000, 1514, 1515, 1523, 1524, 1525, 3000, 9000, 32768,
	65535,
};

static void rx_case(const struct gcfg *c, const char *what, const size_t *sizes,
		    unsigned int nsizes)
{
	struct kvhost_net_stats st;
	struct tapdev t;
	struct gnet g;
	uint64_t bytes, b2;
	int wire;
	bool ok;

	if (!setup(&t, &wire, &g, c, what))
		return;
	ok = rx_run(&g, wire, sizes, nsizes, nsizes, 100, 1, &bytes);
	tap_ok(ok, "%s: RX %s: 60..%zu bytes arrive byte for byte, header right",
	       dev_path, what, sizes[nsizes - 1]);
	if (!ok)
		tap_diag("  %s", why);
	ok = rx_run(&g, wire, sizes, nsizes - 3, 400, 1000, 64, &b2);
	tap_ok(ok, "%s: RX %s: 400 frames in a stream arrive in order", dev_path, what);
	if (!ok)
		tap_diag("  %s", why);
	if (dev_kvhost) {
		ok = !gnet_stats(&g, &st);
		tap_ok(ok && st.vq[RX].packets == nsizes + 400 &&
		       st.vq[RX].bytes == bytes + b2 && !st.vq[RX].drops,
		       "%s: RX %s: stats count every frame and byte, no drop",
		       dev_path, what);
	}
	teardown(&t, wire, &g);
}

static void test_rx(void)
{
	struct gcfg legacy = {
		.features = F_EVENT_IDX, .num = 64, .rx_buf = FRAME_MAX + 10,
		.event_idx = true,
	};
	struct gcfg v1 = {
		.features = F_V1 | F_INDIRECT, .num = 64, .rx_buf = FRAME_MAX + 12,
	};
	struct gcfg mrg_noevt = cfg_v1_mrg;

	mrg_noevt.features &= ~F_EVENT_IDX;
	mrg_noevt.event_idx = false;
	rx_case(&cfg_v1_mrg, "mergeable", rx_sizes, 13);
	rx_case(&mrg_noevt, "mergeable, no event index", rx_sizes, 13);
	rx_case(&legacy, "legacy 10-byte header", rx_sizes, 13);
	rx_case(&v1, "VERSION_1 unmerged", rx_sizes, 13);
}

/* A frame larger than the buffers is dropped, the ring goes on. */
static void test_rx_oversize(void)
{
	struct gcfg c = {
		.features = F_V1 | F_EVENT_IDX, .num = 64, .rx_buf = 2048,
		.event_idx = true,
	};
	struct virtio_net_hdr_mrg_rxbuf h;
	struct kvhost_net_stats st;
	struct tapdev t;
	struct gnet g;
	unsigned int nb;
	int wire, len;
	bool ok;

	if (!setup(&t, &wire, &g, &c, "RX oversize"))
		return;
	frame_make(fbuf, 9000, 1, false);
	wire_send(wire, fbuf, 9000);
	frame_make(fbuf, 100, 2, false);
	wire_send(wire, fbuf, 100);
	len = gnet_rx(&g, rbuf, &h, &nb, WAIT_MS);
	ok = len == 100 && frame_check(rbuf, len, 100, 2, false, why, sizeof(why));
	tap_ok(ok, "%s: RX 9000-byte frame into 2048-byte buffers is dropped, the next arrives",
	       dev_path);
	if (!ok)
		tap_diag("  got %d: %s", len, len < 0 ? g.err : why);
	if (dev_kvhost) {
		ok = !gnet_stats(&g, &st);
		tap_ok(ok && st.vq[RX].drops == 1 && st.vq[RX].packets == 1 &&
		       !st.vq[RX].broken,
		       "%s: RX oversize frame counted as a drop (drops %llu)",
		       dev_path, (unsigned long long)st.vq[RX].drops);
	}

	/* Mergeable, but the whole ring cannot hold it: dropped too. */
	teardown(&t, wire, &g);
	c.features = F_V1 | F_MRG;
	c.event_idx = false;
	c.num = 16;
	c.rx_buf = 256;
	if (!dev_kvhost || !setup(&t, &wire, &g, &c, "RX oversize merged"))
		return;
	frame_make(fbuf, 9000, 3, false);
	wire_send(wire, fbuf, 9000);
	frame_make(fbuf, 1000, 4, false);
	wire_send(wire, fbuf, 1000);
	len = gnet_rx(&g, rbuf, &h, &nb, WAIT_MS);
	ok = len == 1000 && frame_check(rbuf, len, 1000, 4, false, why, sizeof(why));
	ok = ok && !gnet_stats(&g, &st) && st.vq[RX].drops == 1;
	tap_ok(ok, "%s: RX mergeable frame larger than the whole ring is dropped and counted",
	       dev_path);
	teardown(&t, wire, &g);
}

/* VHOST_NET_F_VIRTIO_NET_HDR: the device adds and strips the header. */
static void test_net_hdr(void)
{
	static const size_t sizes[] = { 60, 100, 1514, 9000 };
	struct gcfg c = cfg_v1_mrg;
	struct virtio_net_hdr_mrg_rxbuf h, zero = {};
	struct tapdev t;
	struct gnet g;
	unsigned int nb, i;
	uint64_t bytes;
	int wire, len;
	bool ok;

	c.features |= F_NET_HDR;
	if (!setup(&t, &wire, &g, &c, "NET_HDR"))
		return;
	ok = tx_run(&g, wire, sizes, 3, 30, 1, true, &bytes);
	tap_ok(ok, "%s: NET_HDR: TX header stripped, frames arrive byte for byte",
	       dev_path);
	if (!ok)
		tap_diag("  %s", why);
	ok = true;
	for (i = 0; ok && i < 4; i++) {
		frame_make(fbuf, sizes[i], 50 + i, false);
		wire_send(wire, fbuf, sizes[i]);
		len = gnet_rx(&g, rbuf, &h, &nb, WAIT_MS);
		ok = len > 0 && frame_check(rbuf, len, sizes[i], 50 + i, false,
					    why, sizeof(why));
		zero.num_buffers = htole16(nb);
		if (ok && memcmp(&h, &zero, sizeof(h))) {
			snprintf(why, sizeof(why), "header not zero but num_buffers %u",
				 nb);
			ok = false;
		}
	}
	tap_ok(ok, "%s: NET_HDR: RX header added (zero, num_buffers), frames intact",
	       dev_path);
	if (!ok)
		tap_diag("  %s", why);
	teardown(&t, wire, &g);
}

/* A raw AF_PACKET socket as backend; the tap is only the wire. */
static void test_packet_backend(void)
{
	struct gcfg c = cfg_v1_mrg;
	struct virtio_net_hdr_mrg_rxbuf h;
	struct tapdev t;
	struct gnet g;
	unsigned int nb;
	int psock, ret, len;
	ssize_t n;

	c.features |= F_NET_HDR;
	ret = tapdev_open(&t, false, 0);
	if (!tap_ok(!ret, "%s: packet backend: wire tap", dev_path))
		return;
	psock = wire_open(t.ifindex);
	ret = gnet_open(&g, dev_path, &c, psock);
	if (!tap_ok(psock >= 0 && !ret, "%s: packet backend: SET_BACKEND with AF_PACKET",
		    dev_path)) {
		tap_diag("  %s", g.err);
		goto out;
	}
	memset(&h, 0, sizeof(h));
	frame_make(fbuf, 1000, 7, false);
	gnet_tx(&g, &h, fbuf, 1000, true);
	n = wire_recv(t.fd, rbuf, sizeof(rbuf), WAIT_MS);
	tap_ok(n == 1000 && frame_check(rbuf, n, 1000, 7, false, why, sizeof(why)),
	       "%s: packet backend: TX frame reaches the tap", dev_path);
	frame_make(fbuf, 1200, 8, false);
	ret = write(t.fd, fbuf, 1200) == 1200 ? 0 : -errno;
	len = gnet_rx(&g, rbuf, &h, &nb, WAIT_MS);
	tap_ok(!ret && len == 1200 &&
	       frame_check(rbuf, len, 1200, 8, false, why, sizeof(why)),
	       "%s: packet backend: frame written to the tap reaches the guest",
	       dev_path);
out:
	gnet_close(&g);
	if (psock >= 0)
		close(psock);
	tapdev_close(&t);
}

/* ---- macvtap ---- */

#define MVT_LOWER	"kvmv0"		/* veth end the macvtap sits on */
#define MVT_PEER	"kvmv1"		/* veth end the wire is bound to */
#define MVT_NAME	"kvmvt0"

static void macvtap_links_del(void)
{
	link_del(MVT_NAME);
	link_del(MVT_LOWER);	/* takes the peer with it */
}

/*
 * The character device of macvtap @ifindex: /dev/tap<ifindex> from
 * devtmpfs, else a node made from its sysfs dev numbers.
 */
static int macvtap_open(int ifindex)
{
	static const char *const dirs[] = { "/dev", "/tmp" };
	unsigned int maj, min, i;
	char path[96];
	FILE *f;
	int fd, n;

	snprintf(path, sizeof(path), "/dev/tap%d", ifindex);
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd >= 0 || errno != ENOENT)
		return fd >= 0 ? fd : -errno;
	snprintf(path, sizeof(path), "/sys/class/macvtap/tap%d/dev", ifindex);
	f = fopen(path, "re");
	if (!f)
		return -ENOENT;
	n = fscanf(f, "%u:%u", &maj, &min);
	fclose(f);
	if (n != 2)
		return -ENOENT;
	for (i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/tap%d", dirs[i], ifindex);
		unlink(path);
		if (mknod(path, S_IFCHR | 0600, makedev(maj, min)))
			continue;
		fd = open(path, O_RDWR | O_CLOEXEC);
		unlink(path);
		if (fd >= 0) {
			tap_diag("  no /dev/tap%d from devtmpfs: opened via %s",
				 ifindex, path);
			return fd;
		}
	}
	return -errno;
}

/*
 * A macvtap (/dev/tapN) as backend: kvmvt0 in passthru mode on one end of
 * a veth pair, the wire on the other.  Passthru takes every frame the
 * lower link receives, whatever its destination.
 */
static void test_macvtap(void)
{
	static const size_t tx_sizes[] = { 60, 100, 1514, 2000, 9000, 65535 };
	static const size_t sizes[] = {
		60, 61, 100, 1000, 1514, 1515, 9000, 65535,
	};
	struct kvhost_net_stats st;
	struct gnet g;
	uint64_t tb, rb;
	int hdrsz = 12, fd = -1, wire = -1, idx, ret;
	bool opened = false, ok;

	macvtap_links_del();	/* left over by a killed run */
	ret = link_add_veth(MVT_LOWER, MVT_PEER);
	if (!ret)
		ret = link_add_macvtap(MVT_NAME, MVT_LOWER, MACVLAN_MODE_PASSTHRU);
	if (ret == -EOPNOTSUPP) {
		tap_ok(true, "%s: macvtap backend # SKIP no macvtap", dev_path);
		goto out;
	}
	if (!tap_ok(!ret, "%s: macvtap: veth pair and passthru macvtap created (%s)",
		    dev_path, ret ? strerror(-ret) : "ok"))
		goto out;
	ret = link_up(MVT_LOWER, TAP_MTU);
	if (ret >= 0)
		ret = link_up(MVT_PEER, TAP_MTU);
	if (ret >= 0)
		wire = wire_open(ret);
	idx = link_up(MVT_NAME, TAP_MTU);
	if (!tap_ok(ret >= 0 && wire >= 0 && idx >= 0,
		    "%s: macvtap: links up, wire on %s", dev_path, MVT_PEER))
		goto out;
	fd = macvtap_open(idx);
	if (fd == -ENOENT) {
		tap_ok(true, "%s: macvtap backend # SKIP no macvtap (no /dev/tap%d)",
		       dev_path, idx);
		goto out;
	}
	if (!tap_ok(fd >= 0, "%s: macvtap: open /dev/tap%d (%s)", dev_path, idx,
		    fd < 0 ? strerror(-fd) : "ok"))
		goto out;
	ret = 0;
	if (ioctl(fd, TUNSETVNETHDRSZ, &hdrsz) ||
	    ioctl(fd, TUNSETOFFLOAD, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6))
		ret = -errno;
	if (!tap_ok(!ret, "%s: macvtap: TUNSETVNETHDRSZ 12, TUNSETOFFLOAD", dev_path))
		goto out;
	ret = gnet_open(&g, dev_path, &cfg_v1_mrg, fd);
	opened = true;
	if (!tap_ok(!ret, "%s: macvtap: SET_BACKEND /dev/tap%d on both queues",
		    dev_path, idx)) {
		tap_diag("  %s", g.err);
		goto out;
	}
	ok = tx_run(&g, wire, tx_sizes, 6, 6, 2000, false, &tb) &&
	     tx_run(&g, wire, tx_sizes, 3, 200, 2100, true, &tb);
	tap_ok(ok, "%s: macvtap: TX 60..65535 bytes (GSO above 1514) arrive byte for byte on %s",
	       dev_path, MVT_PEER);
	if (!ok)
		tap_diag("  %s", why);
	ok = rx_run(&g, wire, sizes, 8, 8, 3000, 1, &rb) &&
	     rx_run(&g, wire, sizes, 6, 200, 3100, 32, &rb);
	tap_ok(ok, "%s: macvtap: RX 60..65535 bytes sent on %s arrive byte for byte",
	       dev_path, MVT_PEER);
	if (!ok)
		tap_diag("  %s", why);
	if (dev_kvhost) {
		ok = !gnet_stats(&g, &st);
		tap_ok(ok && st.vq[TX].packets == 6 + 200 &&
		       st.vq[RX].packets >= 8 + 200 &&
		       !st.vq[TX].drops && !st.vq[RX].drops &&
		       !st.vq[TX].broken && !st.vq[RX].broken,
		       "%s: macvtap: stats count the frames, no drop", dev_path);
		tap_diag("  TX packets %llu drops %llu; RX packets %llu drops %llu",
			 (unsigned long long)st.vq[TX].packets,
			 (unsigned long long)st.vq[TX].drops,
			 (unsigned long long)st.vq[RX].packets,
			 (unsigned long long)st.vq[RX].drops);
	}
out:
	if (opened)
		gnet_close(&g);
	if (fd >= 0)
		close(fd);
	if (wire >= 0)
		close(wire);
	macvtap_links_del();
}

/* VHOST_SET_VRING_BUSYLOOP_TIMEOUT: traffic flows the same with busy polling. */
static void test_busyloop(void)
{
	static const size_t sizes[] = { 60, 1514, 300, 9000, 65535 };
	struct vhost_vring_state s;
	struct tapdev t;
	struct gnet g;
	uint64_t bytes;
	unsigned int q;
	int wire, ret = 0;
	bool ok;

	if (!setup(&t, &wire, &g, &cfg_v1_mrg, "busyloop"))
		return;
	for (q = 0; q < 2 && !ret; q++) {
		s = (struct vhost_vring_state){ .index = q, .num = 200 };
		ret = kvdev_ioctl(&g.dev, VHOST_SET_VRING_BUSYLOOP_TIMEOUT, &s);
	}
	tap_ok(!ret, "%s: busyloop: SET_VRING_BUSYLOOP_TIMEOUT 200 us", dev_path);
	ok = tx_run(&g, wire, sizes, 5, 300, 1, true, &bytes) &&
	     rx_run(&g, wire, sizes, 5, 300, 1, 16, &bytes);
	tap_ok(ok, "%s: busyloop: TX and RX streams arrive intact", dev_path);
	if (!ok)
		tap_diag("  %s", why);
	teardown(&t, wire, &g);
}

/* ---- flood, detach, close ---- */

struct flood {
	int wire;
	size_t len;
	volatile bool stop;
	uint64_t sent;
};

static void *flood_fn(void *arg)
{
	struct flood *fl = arg;
	uint8_t f[1514];

	frame_make(f, fl->len, 0xf100d, false);
	while (!fl->stop) {
		if (send(fl->wire, f, fl->len, MSG_DONTWAIT) == (ssize_t)fl->len)
			fl->sent++;
		else
			sched_yield();
	}
	return NULL;
}

/*
 * CVE-2019-3900 pattern: tiny RX buffers while frames flood in.  The same
 * device's TX queue (same worker) and a second device keep flowing.
 */
static void test_flood(void)
{
	static const size_t sizes[] = { 1000 };
	struct gcfg tiny = {
		.features = F_V1 | F_EVENT_IDX, .num = 256, .rx_buf = 64,
		.event_idx = true,
	};
	struct kvhost_net_stats st;
	struct tapdev ta, tb;
	struct gnet ga, gb;
	struct flood fl = {};
	int wa, wb, fw;
	pthread_t th;
	uint64_t bytes, t0;
	bool ok;

	if (!setup(&ta, &wa, &ga, &tiny, "flood"))
		return;
	if (!setup(&tb, &wb, &gb, &cfg_v1_mrg, "flood second device")) {
		teardown(&ta, wa, &ga);
		return;
	}
	fw = wire_open(ta.ifindex);
	fl.wire = fw;
	fl.len = 1514;
	if (pthread_create(&th, NULL, flood_fn, &fl)) {
		tap_ok(false, "%s: flood thread", dev_path);
		goto out;
	}
	usleep(200 * 1000);
	t0 = kvdev_now_ms();
	ok = tx_run(&ga, wa, sizes, 1, 200, 1, true, &bytes);
	tap_ok(ok, "%s: flood: TX of the flooded device flows (%llu ms)", dev_path,
	       (unsigned long long)(kvdev_now_ms() - t0));
	if (!ok)
		tap_diag("  %s", why);
	t0 = kvdev_now_ms();
	ok = tx_run(&gb, wb, sizes, 1, 200, 1, true, &bytes) &&
	     rx_run(&gb, wb, rx_sizes, 9, 200, 1, 32, &bytes);
	tap_ok(ok, "%s: flood: a second device's TX and RX flow (%llu ms)", dev_path,
	       (unsigned long long)(kvdev_now_ms() - t0));
	if (!ok)
		tap_diag("  %s", why);
	fl.stop = true;
	pthread_join(th, NULL);
	tap_diag("  flood: %llu frames injected", (unsigned long long)fl.sent);
	if (dev_kvhost) {
		ok = !gnet_stats(&ga, &st);
		tap_ok(ok && st.vq[RX].drops > 0 && !st.vq[RX].packets &&
		       !st.vq[RX].broken,
		       "%s: flood: frames too big for the tiny buffers are dropped and counted",
		       dev_path);
		tap_diag("  RX drops %llu requeues %llu; TX requeues %llu",
			 (unsigned long long)st.vq[RX].drops,
			 (unsigned long long)st.vq[RX].requeues,
			 (unsigned long long)st.vq[TX].requeues);
	}
out:
	if (fw >= 0)
		close(fw);
	teardown(&tb, wb, &gb);
	teardown(&ta, wa, &ga);
}

struct injector {
	int wire;
	unsigned int n;
	volatile unsigned int sent;
};

static void *inject_fn(void *arg)
{
	struct injector *in = arg;
	uint8_t f[1514];
	unsigned int i;

	for (i = 0; i < in->n; i++) {
		size_t sz = 60 + (i * 97) % 1455;

		frame_make(f, sz, i, false);
		if (wire_send(in->wire, f, sz))
			break;
		in->sent = i + 1;
		if (i % 8 == 0)
			usleep(200);
	}
	return NULL;
}

static void test_detach(void)
{
	struct virtio_net_hdr_mrg_rxbuf h;
	struct injector in = {};
	struct tapdev t;
	struct gnet g;
	unsigned int i, nb, got = 0, toggles = 0, toggled_at = ~0u;
	int64_t last = -1;
	pthread_t th;
	uint64_t idle;
	int wire, len;
	bool ok = true;

	if (!setup(&t, &wire, &g, &cfg_v1_mrg, "detach"))
		return;

	/* RX: frames queue in the tap while detached, then arrive. */
	tap_ok(!gnet_set_backend(&g, RX, -1), "%s: detach RX (fd -1)", dev_path);
	for (i = 0; i < 10; i++) {
		frame_make(fbuf, 100 + i, i, false);
		wire_send(wire, fbuf, 100 + i);
	}
	len = gnet_rx(&g, rbuf, &h, &nb, 300);
	tap_ok(len == -ETIMEDOUT, "%s: nothing received while detached", dev_path);
	tap_ok(!gnet_set_backend(&g, RX, t.fd), "%s: re-attach RX", dev_path);
	for (i = 0; ok && i < 10; i++) {
		len = gnet_rx(&g, rbuf, &h, &nb, WAIT_MS);
		ok = len > 0 && frame_check(rbuf, len, 100 + i, i, false, why,
					    sizeof(why));
	}
	tap_ok(ok, "%s: frames queued while detached arrive after re-attach", dev_path);

	/* TX: the ring waits while detached. */
	tap_ok(!gnet_set_backend(&g, TX, -1), "%s: detach TX", dev_path);
	memset(&h, 0, sizeof(h));
	for (i = 0; i < 10; i++) {
		frame_make(fbuf, 200 + i, 100 + i, false);
		gnet_tx(&g, &h, fbuf, 200 + i, false);
	}
	tap_ok(wire_recv(wire, rbuf, sizeof(rbuf), 300) == 0,
	       "%s: nothing sent while TX is detached", dev_path);
	tap_ok(!gnet_set_backend(&g, TX, t.fd), "%s: re-attach TX", dev_path);
	ok = true;
	for (i = 0; ok && i < 10; i++) {
		ssize_t n = wire_recv(wire, rbuf, sizeof(rbuf), WAIT_MS);

		ok = n > 0 && frame_check(rbuf, n, 200 + i, 100 + i, false, why,
					  sizeof(why));
	}
	tap_ok(ok && !gnet_tx_drain(&g, WAIT_MS),
	       "%s: TX frames posted while detached are sent after re-attach",
	       dev_path);

	/* Detach and re-attach RX over and over while frames stream in. */
	in.wire = wire;
	in.n = 3000;
	if (pthread_create(&th, NULL, inject_fn, &in)) {
		tap_ok(false, "%s: injector thread", dev_path);
		goto out;
	}
	ok = true;
	idle = kvdev_now_ms();
	while (ok && kvdev_now_ms() - idle < 1000) {
		len = gnet_rx(&g, rbuf, &h, &nb, 5);
		if (len > 0) {
			int64_t seq = frame_seq(rbuf, len);
			size_t sz = 60 + (seq * 97) % 1455;

			ok = seq > last && frame_check(rbuf, len, sz, seq, false,
						       why, sizeof(why));
			if (seq <= last)
				snprintf(why, sizeof(why), "seq %lld after %lld",
					 (long long)seq, (long long)last);
			last = seq;
			got++;
			idle = kvdev_now_ms();
		} else if (len != -ETIMEDOUT) {
			snprintf(why, sizeof(why), "%s", g.err);
			ok = false;
		}
		if (in.sent < in.n && got % 50 == 25 && got != toggled_at) {
			toggled_at = got;
			ok = ok && !gnet_set_backend(&g, RX, -1);
			usleep(1000);
			ok = ok && !gnet_set_backend(&g, RX, t.fd);
			toggles++;
			idle = kvdev_now_ms();
		}
	}
	pthread_join(th, NULL);
	tap_ok(ok && got > 0 && toggles > 0,
	       "%s: RX detached and re-attached %u times while streaming: %u of %u frames, intact and in order",
	       dev_path, toggles, got, in.n);
	if (!ok)
		tap_diag("  %s", why);
out:
	teardown(&t, wire, &g);
}

/*
 * More frames waiting than RX buffers: kvhost takes tun's frames off its
 * queue in batches, so some are in the device, not the tap, when the
 * backend goes.  They must go back to the tap's queue, ahead of later
 * ones, and arrive after re-attach: none lost, none out of order.
 */
static void test_rx_detach_backlog(void)
{
	static const struct gcfg cfg_8 = {
		.features = F_V1 | F_MRG | F_EVENT_IDX, .num = 8,
		.rx_buf = 1536, .event_idx = true,
	};
	struct virtio_net_hdr_mrg_rxbuf h;
	unsigned int i, nb, n = 40;
	struct tapdev t;
	struct gnet g;
	int wire, len;
	bool ok = true;

	if (!setup(&t, &wire, &g, &cfg_8, "RX backlog"))
		return;
	for (i = 0; i < n / 2; i++) {
		frame_make(fbuf, 100 + i, 50000 + i, false);
		wire_send(wire, fbuf, 100 + i);
	}
	/* The device fills its 8 buffers and holds on to the rest. */
	usleep(300 * 1000);
	ok = !gnet_set_backend(&g, RX, -1);
	for (; i < n; i++) {
		frame_make(fbuf, 100 + i, 50000 + i, false);
		wire_send(wire, fbuf, 100 + i);
	}
	ok = ok && !gnet_set_backend(&g, RX, t.fd);
	for (i = 0; ok && i < n; i++) {
		len = gnet_rx(&g, rbuf, &h, &nb, WAIT_MS);
		ok = len > 0 && frame_check(rbuf, len, 100 + i, 50000 + i,
					    false, why, sizeof(why));
		if (len <= 0)
			snprintf(why, sizeof(why), "frame %u of %u: %s", i, n,
				 len == -ETIMEDOUT ? "not received" : g.err);
	}
	tap_ok(ok, "%s: RX backlog beyond the guest's buffers survives detach and re-attach, in order",
	       dev_path);
	if (!ok)
		tap_diag("  %s", why);
	teardown(&t, wire, &g);
}

static void test_close_in_flight(void)
{
	struct virtio_net_hdr_mrg_rxbuf h;
	struct tapdev t;
	struct gnet g;
	unsigned int i;
	uint64_t bytes;
	int wire;
	bool ok;

	if (!setup(&t, &wire, &g, &cfg_v1_mrg, "close"))
		return;
	memset(&h, 0, sizeof(h));
	for (i = 0; i < 40; i++) {
		frame_make(fbuf, 1500, i, false);
		wire_send(wire, fbuf, 1500);
		gnet_tx(&g, &h, fbuf, 1500, false);
	}
	gnet_close(&g);
	tap_ok(true, "%s: close with frames in flight returns", dev_path);

	/* The tap and a new device still work. */
	ok = !gnet_open(&g, dev_path, &cfg_v1_mrg, t.fd);
	while (ok && gnet_rx(&g, rbuf, &h, &i, 300) > 0)
		;	/* what the old device left in the tap */
	while (ok && wire_recv(wire, rbuf, sizeof(rbuf), 100) > 0)
		;
	ok = ok && tx_run(&g, wire, rx_sizes, 5, 20, 500, true, &bytes) &&
	     rx_run(&g, wire, rx_sizes, 5, 20, 600, 8, &bytes);
	tap_ok(ok, "%s: after that a new device on the same tap works", dev_path);
	if (!ok)
		tap_diag("  %s %s", g.err, why);

	tap_ok(!kvdev_ioctl(&g.dev, VHOST_RESET_OWNER, NULL),
	       "%s: VHOST_RESET_OWNER with backends attached", dev_path);
	tap_ok(!kvdev_set_owner(&g.dev), "%s: SET_OWNER again after reset", dev_path);
	teardown(&t, wire, &g);
}

/* ---- hostile rings and a killed owner ---- */

enum bad_ring {
	BAD_LOOP,		/* descriptor chaining to itself */
	BAD_UNMAPPED,		/* buffer outside the memory table */
	BAD_DIRECTION,		/* writable on TX, readable on RX */
	BAD_AVAIL_AHEAD,	/* avail->idx more than num ahead (TX) */
};

static const struct {
	enum bad_ring kind;
	const char *name;
	int err;
} bad_rings[] = {
	{ BAD_LOOP, "descriptor loop", ELOOP },
	{ BAD_UNMAPPED, "address outside the memory table", EFAULT },
	{ BAD_DIRECTION, "buffer of the wrong direction", EINVAL },
	{ BAD_AVAIL_AHEAD, "avail->idx more than the queue size ahead", EINVAL },
};

static const struct gcfg cfg_small = {
	.features = F_V1 | F_MRG | F_EVENT_IDX, .num = 16, .rx_buf = 1536,
	.event_idx = true,
};

static void bad_desc_build(struct gnet *g, unsigned int q, uint16_t head,
			   enum bad_ring kind)
{
	struct vdrv_ring *r = &g->ring[q];
	uint16_t wflag = q == RX ? VRING_DESC_F_WRITE : 0;
	uint64_t gpa = q == RX ? g->rxg[0] : g->txg[0];

	switch (kind) {
	case BAD_LOOP:
		vdrv_raw_desc(r, head, gpa, 64, wflag | VRING_DESC_F_NEXT, head);
		break;
	case BAD_UNMAPPED:
		vdrv_raw_desc(r, head, 0xdead00000000ULL, 64, wflag, 0);
		break;
	default:
		vdrv_raw_desc(r, head, gpa, 64, wflag ^ VRING_DESC_F_WRITE, 0);
		break;
	}
}

/*
 * Make the next chain the device takes from queue @q hostile.  RX: every
 * buffer is posted already, so all their descriptors are rewritten; TX: a
 * chain is put in the empty ring by hand.
 */
static void bad_ring_build(struct gnet *g, unsigned int q, enum bad_ring kind)
{
	struct vdrv_ring *r = &g->ring[q];
	uint16_t head = vdrv_next_head(r);
	unsigned int i;

	if (kind == BAD_AVAIL_AHEAD) {
		vdrv_raw_avail_idx(r, r->avail_idx + r->num + 1);
		return;
	}
	if (q == RX) {
		for (i = 0; i < r->num; i++)
			bad_desc_build(g, q, i, kind);
		return;
	}
	bad_desc_build(g, q, head, kind);
	vdrv_raw_avail_entry(r, r->avail_idx, head);
	vdrv_raw_avail_idx(r, r->avail_idx + 1);
}

static void bad_ring_case(unsigned int q, unsigned int c)
{
	const char *qname = q == RX ? "RX" : "TX";
	struct kvhost_net_stats st;
	struct tapdev t;
	struct gnet g;
	int wire;

	if (!setup(&t, &wire, &g, &cfg_small, bad_rings[c].name))
		return;
	bad_ring_build(&g, q, bad_rings[c].kind);
	kvdev_kick(&g.dev, q);
	/* RX takes a chain only for a frame. */
	frame_make(fbuf, 200, 1, false);
	wire_send(wire, fbuf, 200);

	tap_is(kvdev_wait_err(&g.dev, q, WAIT_MS), 1,
	       "%s: %s %s: err eventfd signalled", dev_path, qname,
	       bad_rings[c].name);
	if (!gnet_stats(&g, &st)) {
		tap_ok(st.vq[q].broken && st.vq[q].last_err == (uint32_t)bad_rings[c].err,
		       "%s: %s %s: queue broken with %s", dev_path, qname,
		       bad_rings[c].name, strerror(bad_rings[c].err));
		if (!st.vq[q].broken || st.vq[q].last_err != (uint32_t)bad_rings[c].err)
			tap_diag("  broken %u last_err %u", st.vq[q].broken,
				 st.vq[q].last_err);
		tap_ok(!st.vq[q ^ 1].broken, "%s: %s %s: the other queue is fine",
		       dev_path, qname, bad_rings[c].name);
	}
	teardown(&t, wire, &g);
}

/* kvhost only: in-tree vhost-net retries a bad ring at every kick. */
static void test_bad_rings(void)
{
	uint64_t bytes;
	struct tapdev t;
	struct gnet g;
	unsigned int q, c;
	int wire;

	if (!dev_kvhost)
		return;
	for (q = 0; q < 2; q++)
		for (c = 0; c < sizeof(bad_rings) / sizeof(bad_rings[0]); c++)
			bad_ring_case(q, c);
	if (!setup(&t, &wire, &g, &cfg_v1_mrg, "after hostile rings"))
		return;
	tap_ok(tx_run(&g, wire, rx_sizes, 5, 20, 700, true, &bytes) &&
	       rx_run(&g, wire, rx_sizes, 5, 20, 800, 8, &bytes),
	       "%s: a new device moves traffic after the hostile rings", dev_path);
	teardown(&t, wire, &g);
}

/* The owner is SIGKILLed with traffic flowing both ways. */
static void test_owner_killed(void)
{
	struct virtio_net_hdr_mrg_rxbuf h;
	uint64_t bytes;
	struct tapdev t;
	struct gnet g;
	unsigned int i;
	int wire, status = 0;
	pid_t child;

	child = fork();
	if (child == 0) {
		if (!setup(&t, &wire, &g, &cfg_v1_mrg, "owner killed"))
			_exit(1);
		memset(&h, 0, sizeof(h));
		for (i = 0;; i++) {
			frame_make(fbuf, 1500, i, false);
			wire_send(wire, fbuf, 1500);
			gnet_tx(&g, &h, fbuf, 1500, false);
			gnet_tx_reclaim(&g);
		}
	}
	usleep(500 * 1000);
	kill(child, SIGKILL);
	tap_ok(waitpid(child, &status, 0) == child && WIFSIGNALED(status),
	       "%s: owner killed mid-traffic exits", dev_path);

	if (!setup(&t, &wire, &g, &cfg_v1_mrg, "after owner killed"))
		return;
	tap_ok(tx_run(&g, wire, rx_sizes, 5, 20, 900, true, &bytes) &&
	       rx_run(&g, wire, rx_sizes, 5, 20, 1000, 8, &bytes),
	       "%s: a new device moves traffic after the owner was killed",
	       dev_path);
	teardown(&t, wire, &g);
}

static void run_device(const char *path)
{
	struct kvhost_net_stats st;
	struct kvdev d;
	int ret;

	dev_path = path;
	ret = kvdev_open(&d, path, 0);
	if (!tap_ok(!ret, "%s: open (%s)", path, ret ? strerror(-ret) : "ok"))
		return;
	dev_kvhost = !kvdev_ioctl(&d, KVHOST_NET_GET_STATS, &st);
	kvdev_close(&d);
	tap_diag("%s: %s", path, dev_kvhost ? "kvhost (statistics checked)" :
		 "no KVHOST_NET_GET_STATS: vhost-net ABI checks only");

	test_features_and_backend();
	test_tx();
	test_tx_mixed();
	test_rx();
	test_rx_oversize();
	test_net_hdr();
	test_packet_backend();
	test_macvtap();
	test_busyloop();
	test_flood();
	test_detach();
	test_rx_detach_backlog();
	test_close_in_flight();
	test_bad_rings();
	test_owner_killed();
}

int main(int argc, char **argv)
{
	const char *env = getenv("KVHOST_NET_DEV");
	int i;

	tap_init();
	tap_watchdog(280);
	if (argc > 1) {
		for (i = 1; i < argc; i++)
			run_device(argv[i]);
	} else if (env && *env) {
		run_device(env);
	} else {
		run_device("/dev/kvhost-net");
		if (access("/dev/vhost-net", F_OK) == 0)
			run_device("/dev/vhost-net");
	}
	return tap_done();
}
