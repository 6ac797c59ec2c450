// SPDX-License-Identifier: GPL-2.0
/*
 * t_restart: a vhost-net device stopped and started again the way QEMU
 * does on every guest reboot, driver reload or kexec, and set up in the
 * other orders a VMM may use.  Runs on /dev/kvhost-net and, for
 * comparison, on the in-tree /dev/vhost-net:
 *
 *   t_restart [DEVICE...]   default: /dev/kvhost-test and $KVHOST_NET_DEV,
 *                           else /dev/kvhost-net and /dev/vhost-net
 *
 * QEMU stops with VHOST_NET_SET_BACKEND -1 and VHOST_GET_VRING_BASE on
 * each queue and starts with SET_VRING_NUM, BASE, ADDR, KICK, CALL, then
 * the backend.  After a reboot the rings are somewhere else: the old ring
 * pages, which the guest now uses for other things, are filled with a
 * canary that the device must never touch again, and traffic must flow on
 * the new rings (verified byte for byte on the tap).
 *
 * The same restarts on /dev/kvhost-test (backend: KVHOST_TEST_RUN), with
 * its data checked against the driver's own sums and pattern.  Also: a call
 * eventfd bound only after traffic was used (the notification the driver
 * waits for must still come).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include "gnet.h"
#include "tap.h"

#define CANARY		0x5a

static const char *dev_path;
static uint8_t fbuf[FRAME_MAX], rbuf[FRAME_MAX + 64];
static char why[512];

/* The bytes of one ring's three parts, to canary-fill and check later. */
struct ring_span {
	uint8_t *p[3];
	size_t len[3];
};

static void ring_span_of(const struct vdrv_ring *r, struct ring_span *s)
{
	s->p[0] = (uint8_t *)r->desc;
	s->len[0] = (size_t)r->num * sizeof(struct vring_desc);
	s->p[1] = (uint8_t *)r->avail;
	s->len[1] = sizeof(struct vring_avail) + (r->num + 1) * sizeof(uint16_t);
	s->p[2] = (uint8_t *)r->used;
	s->len[2] = sizeof(struct vring_used) +
		    r->num * sizeof(struct vring_used_elem) + sizeof(uint16_t);
}

static void ring_span_fill(const struct ring_span *s)
{
	unsigned int i;

	for (i = 0; i < 3; i++)
		memset(s->p[i], CANARY, s->len[i]);
}

/* Offset of the first byte that lost its canary, or -1. */
static long ring_span_damage(const struct ring_span *s)
{
	unsigned int i;
	size_t k;

	for (i = 0; i < 3; i++)
		for (k = 0; k < s->len[i]; k++)
			if (s->p[i][k] != CANARY)
				return (long)(s->p[i] + k - s->p[0]);
	return -1;
}

/* ---- traffic both ways, checked byte for byte ---- */

static bool tx_frames(struct gnet *g, int wire, unsigned int n, uint32_t seq0)
{
	struct virtio_net_hdr_mrg_rxbuf h;
	unsigned int i;
	ssize_t got;

	memset(&h, 0, sizeof(h));
	for (i = 0; i < n; i++) {
		size_t len = 60 + (i * 97) % 1400;

		frame_make(fbuf, len, seq0 + i, false);
		if (gnet_tx(g, &h, fbuf, len, i & 1)) {
			snprintf(why, sizeof(why), "TX frame %u: ring stuck", i);
			return false;
		}
		got = wire_recv(wire, rbuf, sizeof(rbuf), WAIT_MS);
		if (got <= 0) {
			snprintf(why, sizeof(why), "TX frame %u not on the tap", i);
			return false;
		}
		if (!frame_check(rbuf, got, len, seq0 + i, false, why, sizeof(why)))
			return false;
	}
	if (gnet_tx_drain(g, WAIT_MS)) {
		snprintf(why, sizeof(why), "TX buffers not returned");
		return false;
	}
	return true;
}

static bool rx_frames(struct gnet *g, int wire, unsigned int n, uint32_t seq0)
{
	struct virtio_net_hdr_mrg_rxbuf h;
	unsigned int i, nb;
	int len;

	for (i = 0; i < n; i++) {
		size_t want = 60 + (i * 131) % 1400;

		frame_make(fbuf, want, seq0 + i, false);
		wire_send(wire, fbuf, want);
		len = gnet_rx(g, rbuf, &h, &nb, WAIT_MS);
		if (len < 0) {
			snprintf(why, sizeof(why), "RX frame %u: %s", i,
				 len == -ETIMEDOUT ? "not received" : g->err);
			return false;
		}
		if (!frame_check(rbuf, len, want, seq0 + i, false, why, sizeof(why)))
			return false;
	}
	return true;
}

/* More frames than the rings hold: every head of a bigger ring is used. */
static bool traffic(struct gnet *g, int wire, uint32_t seq0)
{
	unsigned int n = g->ring[RX].num + 8;

	return tx_frames(g, wire, n, seq0) && rx_frames(g, wire, n, seq0 + n);
}

/* ---- set-up ---- */

static bool open_all(struct tapdev *t, int *wire, struct gnet *g,
		     const struct gcfg *c, int backend_fd, const char *what)
{
	int ret;

	*wire = -1;
	ret = tapdev_open(t, true, 12);
	if (ret) {
		tap_ok(false, "%s: %s: tap: %s", dev_path, what, strerror(-ret));
		return false;
	}
	*wire = wire_open(t->ifindex);
	ret = *wire < 0 ? *wire : gnet_open(g, dev_path, c, backend_fd ? t->fd : -1);
	if (ret) {
		tap_ok(false, "%s: %s: set-up: %s", dev_path, what,
		       *wire < 0 ? strerror(-*wire) : g->err);
		gnet_close(g);
		if (*wire >= 0)
			close(*wire);
		tapdev_close(t);
		return false;
	}
	return true;
}

static void close_all(struct tapdev *t, int wire, struct gnet *g)
{
	gnet_close(g);
	if (wire >= 0)
		close(wire);
	tapdev_close(t);
}

/* QEMU's vhost_dev_stop(): backends off, then where each ring stopped. */
static int qemu_stop(struct gnet *g, unsigned int base[2])
{
	unsigned int q;
	int ret;

	for (q = 0; q < 2; q++) {
		ret = gnet_set_backend(g, q, -1);
		if (ret)
			return gnet_fail(g, ret, "SET_BACKEND -1");
	}
	for (q = 0; q < 2; q++) {
		ret = kvdev_get_vring_base(&g->dev, q, &base[q]);
		if (ret)
			return gnet_fail(g, ret, "GET_VRING_BASE");
	}
	return 0;
}

/*
 * The guest driver after a reboot: new rings of @num entries elsewhere in
 * guest memory, both indexes back at 0, every RX buffer posted, all TX
 * buffers free.  The old rings' driver state is dropped, their memory
 * left as it is.
 */
static int guest_new_rings(struct gnet *g, unsigned int num)
{
	struct vdrv_ring_opts o = {
		.num = num, .event_idx = g->cfg.event_idx,
		.indirect = g->cfg.indirect,
	};
	unsigned int q, i;
	int ret;

	for (i = g->cfg.num; i < num; i++) {
		g->rxb[i] = vdrv_alloc(&g->mem, g->cfg.rx_buf, 64, &g->rxg[i]);
		if (!g->rxb[i])
			return gnet_fail(g, -ENOMEM, "more RX buffers");
	}
	for (q = 0; q < 2; q++) {
		vdrv_ring_destroy(&g->ring[q]);
		ret = vdrv_ring_init(&g->ring[q], &g->mem, &o);
		if (ret)
			return gnet_fail(g, ret, "new ring");
		vdrv_ring_set_base(&g->ring[q], 0);
	}
	g->cfg.num = num;
	g->ntx_free = 0;
	for (i = 0; i < NTXBUF; i++)
		g->tx_free[g->ntx_free++] = i;
	for (i = 0; i < num; i++) {
		ret = gnet_rx_post(g, i);
		if (ret)
			return gnet_fail(g, ret, "RX post");
	}
	return 0;
}

enum vq_order {
	ORDER_QEMU,		/* NUM, BASE, ADDR, KICK, CALL */
	ORDER_FDS_FIRST,	/* KICK, CALL, NUM, BASE, ADDR */
	ORDER_ADDR_FIRST,	/* CALL, ADDR, BASE, NUM, KICK */
};

static const char *const order_name[] = {
	[ORDER_QEMU] = "NUM, BASE, ADDR, KICK, CALL",
	[ORDER_FDS_FIRST] = "KICK, CALL, NUM, BASE, ADDR",
	[ORDER_ADDR_FIRST] = "CALL, ADDR, BASE, NUM, KICK",
};

/* Both rings (re)start at index 0, as after a reset of the device. */
static int vq_setup_in_order(struct kvdev *d, unsigned int q,
			     const struct vdrv_ring *r, enum vq_order o)
{
	int ret = 0;

	switch (o) {
	case ORDER_QEMU:
		ret = kvdev_set_vring_num(d, q, r->num);
		ret = ret ?: kvdev_set_vring_base(d, q, 0);
		ret = ret ?: kvdev_set_vring_addr(d, q, r);
		ret = ret ?: kvdev_set_vring_kick(d, q);
		ret = ret ?: kvdev_set_vring_call(d, q);
		break;
	case ORDER_FDS_FIRST:
		ret = kvdev_set_vring_kick(d, q);
		ret = ret ?: kvdev_set_vring_call(d, q);
		ret = ret ?: kvdev_set_vring_num(d, q, r->num);
		ret = ret ?: kvdev_set_vring_base(d, q, 0);
		ret = ret ?: kvdev_set_vring_addr(d, q, r);
		break;
	case ORDER_ADDR_FIRST:
		ret = kvdev_set_vring_call(d, q);
		ret = ret ?: kvdev_set_vring_addr(d, q, r);
		ret = ret ?: kvdev_set_vring_base(d, q, 0);
		ret = ret ?: kvdev_set_vring_num(d, q, r->num);
		ret = ret ?: kvdev_set_vring_kick(d, q);
		break;
	}
	return ret;
}

/* Both rings (re)start at index 0, as after a reset of the device. */
static int setup_vq_in_order(struct gnet *g, unsigned int q, enum vq_order o)
{
	int ret = vq_setup_in_order(&g->dev, q, &g->ring[q], o);

	return ret ? gnet_fail(g, ret, order_name[o]) : 0;
}

/* QEMU's vhost_dev_start() after the stop: queues, then the backends. */
static int qemu_start(struct gnet *g, int backend, enum vq_order o)
{
	unsigned int q;
	int ret;

	for (q = 0; q < 2; q++) {
		ret = setup_vq_in_order(g, q, o);
		if (ret)
			return ret;
	}
	for (q = 0; q < 2; q++) {
		ret = gnet_set_backend(g, q, backend);
		if (ret)
			return gnet_fail(g, ret, "SET_BACKEND");
	}
	gnet_kick(g, RX);
	return 0;
}

/* Frames left on the tap by a stopped device are not ours to check. */
static void drain_wire(int wire)
{
	while (wire_recv(wire, rbuf, sizeof(rbuf), 50) > 0)
		;
}

/*
 * Reboot: traffic, stop, rings moved (of @new_num entries), old ring
 * memory canary-filled, start in @order, traffic, canaries intact.
 */
static void reboot_case(unsigned int num, unsigned int new_num,
			enum vq_order order, const char *what)
{
	struct gcfg c = {
		.features = F_V1 | F_MRG | F_EVENT_IDX | F_INDIRECT,
		.num = num, .rx_buf = 1536, .event_idx = true, .indirect = true,
	};
	struct ring_span old[2];
	unsigned int base[2], q;
	struct tapdev t;
	struct gnet g;
	long bad = -1;
	int wire, ret;

	if (!open_all(&t, &wire, &g, &c, 1, what))
		return;
	if (!tap_ok(traffic(&g, wire, 1), "%s: %s: traffic before the stop",
		    dev_path, what))
		tap_diag("  %s", why);

	ret = qemu_stop(&g, base);
	tap_ok(!ret && base[TX] == g.ring[TX].avail_idx &&
	       base[RX] == (uint16_t)(g.ring[RX].avail_idx - num),
	       "%s: %s: stopped where the rings were (TX %u, RX %u)", dev_path,
	       what, base[TX], base[RX]);
	drain_wire(wire);
	for (q = 0; q < 2; q++) {
		ring_span_of(&g.ring[q], &old[q]);
		ring_span_fill(&old[q]);
	}

	ret = guest_new_rings(&g, new_num);
	ret = ret ?: qemu_start(&g, t.fd, order);
	if (!tap_ok(!ret, "%s: %s: started again in the order %s", dev_path,
		    what, order_name[order])) {
		tap_diag("  %s", g.err);
		goto out;
	}
	if (!tap_ok(traffic(&g, wire, 10000), "%s: %s: traffic flows on the new %u-entry rings",
		    dev_path, what, new_num))
		tap_diag("  %s", why);
	for (q = 0; q < 2 && bad < 0; q++)
		bad = ring_span_damage(&old[q]);
	if (!tap_ok(bad < 0, "%s: %s: the old rings' memory is untouched",
		    dev_path, what))
		tap_diag("  %s ring: byte %ld of it changed", q == 1 ? "RX" : "TX",
			 bad);
out:
	close_all(&t, wire, &g);
}

/* First set-up of a device with the eventfds given before the ring. */
static void first_setup_case(enum vq_order order)
{
	struct gcfg c = {
		.features = F_V1 | F_MRG | F_EVENT_IDX, .num = 64,
		.rx_buf = 1536, .event_idx = true,
	};
	struct tapdev t;
	struct gnet g;
	int wire, ret;

	c.no_vq_setup = true;
	if (!open_all(&t, &wire, &g, &c, 0, order_name[order]))
		return;
	ret = qemu_start(&g, t.fd, order);
	if (tap_ok(!ret, "%s: first set-up in the order %s", dev_path,
		   order_name[order])) {
		if (!tap_ok(traffic(&g, wire, 1), "%s: %s: traffic flows",
			    dev_path, order_name[order]))
			tap_diag("  %s", why);
	} else {
		tap_diag("  %s", g.err);
	}
	close_all(&t, wire, &g);
}

/*
 * Used buffers published while no call eventfd is bound: once one is
 * bound, the notification the driver asked for comes, at the latest with
 * the next used buffer (in-tree sends it then; kvhost already at the bind).
 */
static void late_call_case(void)
{
	struct gcfg c = {
		.features = F_V1 | F_MRG | F_EVENT_IDX, .num = 64,
		.rx_buf = 1536, .event_idx = true,
	};
	struct virtio_net_hdr_mrg_rxbuf h;
	struct vdrv_ring *r;
	struct tapdev t;
	struct gnet g;
	unsigned int i;
	int wire, got_bind, got_next = 0;

	if (!open_all(&t, &wire, &g, &c, 1, "late call eventfd"))
		return;
	r = &g.ring[TX];
	tap_errno(kvdev_set_vring_call_fd(&g.dev, TX, -1), 0,
		  "%s: late call: SET_VRING_CALL -1 on TX", dev_path);
	memset(&h, 0, sizeof(h));
	for (i = 0; i < 3; i++) {
		frame_make(fbuf, 100, 20000 + i, false);
		gnet_tx(&g, &h, fbuf, 100, false);
		wire_recv(wire, rbuf, sizeof(rbuf), WAIT_MS);
	}
	/* Wait for all three used, and ask to be told of the last one. */
	for (i = 0; i < 200 && vdrv_raw_used_idx(r) != r->avail_idx; i++)
		usleep(10000);
	vdrv_raw_used_event(r, (uint16_t)(r->avail_idx - 1));
	kvdev_wait_call(&g.dev, TX, 0);

	tap_errno(kvdev_set_vring_call(&g.dev, TX), 0,
		  "%s: late call: SET_VRING_CALL binds an eventfd", dev_path);
	got_bind = kvdev_wait_call(&g.dev, TX, 300);
	if (!got_bind) {
		/*
		 * One more buffer, added without harvesting (gnet_tx() would,
		 * and so move used_event on): the notification must come now.
		 */
		struct vdrv_seg seg;
		unsigned int b = g.tx_free[--g.ntx_free];

		frame_make(fbuf, 100, 20003, false);
		memcpy(g.txb[b], &h, g.hlen);
		memcpy(g.txb[b] + g.hlen, fbuf, 100);
		seg = (struct vdrv_seg){ .gpa = g.txg[b], .len = g.hlen + 100 };
		vdrv_add(r, &seg, 1, b, false);
		vdrv_publish(r);
		kvdev_kick(&g.dev, TX);
		got_next = kvdev_wait_call(&g.dev, TX, 2000);
	}
	tap_ok(got_bind || got_next,
	       "%s: late call: the notification asked for before the bind arrives (%s)",
	       dev_path, got_bind ? "at the bind" :
	       got_next ? "with the next buffer" : "never");
	close_all(&t, wire, &g);
}

/* ---- the same on /dev/kvhost-test ---- */

#define TQ_LEN		64	/* bytes per chain */
#define TQ_MAX		512	/* chains in flight at most (ring size) */

/*
 * The test backend's driver: queue 0 gets readable chains whose bytes the
 * device sums, queue 1 writable chains it fills with KVHOST_TEST_PATTERN()
 * of its running offset; both are checked here, independently of it.
 */
struct tguest {
	struct kvdev dev;
	struct vdrv_mem mem;
	struct vdrv_ring ring[2];
	uint64_t buf[2][TQ_MAX];	/* one TQ_LEN buffer per head */
	uint64_t sum, wpos;		/* expected csum, pattern offset */
	char err[200];
};

static int tguest_rings(struct tguest *g, unsigned int num)
{
	struct vdrv_ring_opts o = { .num = num, .event_idx = true };
	unsigned int q, i;
	int ret;

	for (q = 0; q < 2; q++) {
		vdrv_ring_destroy(&g->ring[q]);
		ret = vdrv_ring_init(&g->ring[q], &g->mem, &o);
		if (ret)
			return ret;
		vdrv_ring_set_base(&g->ring[q], 0);
		for (i = 0; i < num; i++)
			if (!vdrv_alloc(&g->mem, TQ_LEN, 64, &g->buf[q][i]))
				return -ENOMEM;
	}
	return 0;
}

/* @n chains through each queue, at most a ring's worth at once. */
static bool tguest_traffic(struct tguest *g, unsigned int n)
{
	unsigned int q, i, done, k;
	uint64_t tok;
	uint32_t len;
	uint8_t *p;

	for (q = 0; q < 2; q++) {
		struct vdrv_ring *r = &g->ring[q];
		uint64_t deadline = kvdev_now_ms() + WAIT_MS;

		for (i = 0, done = 0; done < n;) {
			while (i < n && vdrv_num_free(r)) {
				struct vdrv_seg seg = {
					.gpa = g->buf[q][i % r->num], .len = TQ_LEN,
					.writable = q == 1,
				};

				p = vdrv_ptr(&g->mem, seg.gpa);
				for (k = 0; k < TQ_LEN; k++) {
					p[k] = q ? 0 : (uint8_t)(i * 7 + k);
					if (!q)
						g->sum += p[k];
				}
				vdrv_add(r, &seg, 1, i % r->num, false);
				i++;
			}
			if (vdrv_kick_prepare(r))
				kvdev_kick(&g->dev, q);
			while (vdrv_get_used(r, &tok, &len) == 1) {
				done++;
				if (!q)
					continue;
				p = vdrv_ptr(&g->mem, g->buf[1][tok]);
				for (k = 0; k < TQ_LEN; k++)
					if (p[k] != KVHOST_TEST_PATTERN(g->wpos + k))
						break;
				if (len != TQ_LEN || k < TQ_LEN) {
					snprintf(g->err, sizeof(g->err),
						 "writable chain %u: len %u, byte %u wrong",
						 done, len, k);
					return false;
				}
				g->wpos += TQ_LEN;
			}
			if (kvdev_now_ms() > deadline) {
				snprintf(g->err, sizeof(g->err),
					 "queue %u: %u of %u chains used", q, done, n);
				return false;
			}
			kvdev_wait_call(&g->dev, q, 2);
		}
	}
	return true;
}

/* The device's checksum of what it read must be the driver's. */
static bool tguest_sum_ok(struct tguest *g)
{
	struct kvhost_test_stats st;

	if (kvdev_test_stats(&g->dev, &st) || st.vq[0].csum != g->sum ||
	    st.vq[0].broken || st.vq[1].broken) {
		snprintf(g->err, sizeof(g->err), "device csum %llu, driver %llu, broken %u/%u",
			 (unsigned long long)st.vq[0].csum,
			 (unsigned long long)g->sum, st.vq[0].broken,
			 st.vq[1].broken);
		return false;
	}
	return true;
}

static void test_device_case(unsigned int num, unsigned int new_num,
			     enum vq_order order, const char *what)
{
	static struct tguest g;
	struct ring_span old[2];
	unsigned int base[2], q;
	long bad = -1;
	int ret;

	memset(&g, 0, sizeof(g));
	kvdev_init(&g.dev);
	ret = vdrv_mem_init_identity(&g.mem, 8 << 20);
	ret = ret ?: tguest_rings(&g, num);
	ret = ret ?: kvdev_open(&g.dev, KVDEV_TEST_PATH, 2);
	ret = ret ?: kvdev_setup_dev(&g.dev, (1ULL << VIRTIO_F_VERSION_1) |
				     (1ULL << VIRTIO_RING_F_EVENT_IDX), &g.mem);
	for (q = 0; !ret && q < 2; q++)
		ret = vq_setup_in_order(&g.dev, q, &g.ring[q], ORDER_QEMU);
	ret = ret ?: kvdev_test_run(&g.dev, 1);
	if (!tap_ok(!ret, "%s: %s: set-up", KVDEV_TEST_PATH, what)) {
		tap_diag("  %s", strerror(-ret));
		goto out;
	}
	if (!tap_ok(tguest_traffic(&g, num + 8), "%s: %s: traffic before the stop",
		    KVDEV_TEST_PATH, what))
		tap_diag("  %s", g.err);

	/* The backend off, then where each ring stopped. */
	ret = kvdev_test_run(&g.dev, 0);
	for (q = 0; !ret && q < 2; q++)
		ret = kvdev_get_vring_base(&g.dev, q, &base[q]);
	tap_ok(!ret && base[0] == (uint16_t)(num + 8) && base[1] == base[0],
	       "%s: %s: stopped at %u/%u", KVDEV_TEST_PATH, what, base[0], base[1]);
	for (q = 0; q < 2; q++) {
		ring_span_of(&g.ring[q], &old[q]);
		ring_span_fill(&old[q]);
	}

	ret = tguest_rings(&g, new_num);
	for (q = 0; !ret && q < 2; q++)
		ret = vq_setup_in_order(&g.dev, q, &g.ring[q], order);
	ret = ret ?: kvdev_test_run(&g.dev, 1);
	if (!tap_ok(!ret, "%s: %s: started again in the order %s",
		    KVDEV_TEST_PATH, what, order_name[order])) {
		tap_diag("  %s", strerror(-ret));
		goto out;
	}
	if (!tap_ok(tguest_traffic(&g, new_num + 8) && tguest_sum_ok(&g),
		    "%s: %s: traffic verified on the new %u-entry rings",
		    KVDEV_TEST_PATH, what, new_num))
		tap_diag("  %s", g.err);
	for (q = 0; q < 2 && bad < 0; q++)
		bad = ring_span_damage(&old[q]);
	if (!tap_ok(bad < 0, "%s: %s: the old rings' memory is untouched",
		    KVDEV_TEST_PATH, what))
		tap_diag("  queue %u ring: byte %ld of it changed", q - 1, bad);
out:
	kvdev_close(&g.dev);
	vdrv_ring_destroy(&g.ring[0]);
	vdrv_ring_destroy(&g.ring[1]);
	vdrv_mem_destroy(&g.mem);
}

static void run_test_device(void)
{
	tap_diag("%s", KVDEV_TEST_PATH);
	test_device_case(128, 128, ORDER_QEMU, "restart");
	test_device_case(128, 512, ORDER_QEMU, "restart into a bigger ring");
	test_device_case(256, 64, ORDER_FDS_FIRST, "restart, eventfds first");
	test_device_case(64, 256, ORDER_ADDR_FIRST, "restart, address first");
}

static void run_device(const char *path)
{
	dev_path = path;
	tap_diag("%s", path);
	reboot_case(128, 128, ORDER_QEMU, "reboot");
	reboot_case(128, 256, ORDER_QEMU, "reboot into a bigger ring");
	reboot_case(128, 64, ORDER_FDS_FIRST, "reboot, eventfds first");
	reboot_case(64, 128, ORDER_ADDR_FIRST, "reboot, address first");
	first_setup_case(ORDER_FDS_FIRST);
	first_setup_case(ORDER_ADDR_FIRST);
	late_call_case();
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
		run_test_device();
		run_device(env);
	} else {
		run_test_device();
		run_device("/dev/kvhost-net");
		if (access("/dev/vhost-net", F_OK) == 0)
			run_device("/dev/vhost-net");
	}
	return tap_done();
}
