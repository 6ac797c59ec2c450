// SPDX-License-Identifier: GPL-2.0
/* gnet: the guest side of a vhost-net device (see gnet.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "gnet.h"
#include "tap.h"

int gnet_fail(struct gnet *g, int ret, const char *what)
{
	snprintf(g->err, sizeof(g->err), "%s: %s", what, strerror(-ret));
	return ret;
}

int gnet_set_backend(struct gnet *g, unsigned int idx, int fd)
{
	struct vhost_vring_file f = { .index = idx, .fd = fd };

	return kvdev_ioctl(&g->dev, VHOST_NET_SET_BACKEND, &f);
}

void gnet_kick(struct gnet *g, unsigned int q)
{
	if (vdrv_kick_prepare(&g->ring[q]))
		kvdev_kick(&g->dev, q);
}

int gnet_rx_post(struct gnet *g, unsigned int i)
{
	struct vdrv_seg seg = {
		.gpa = g->rxg[i], .len = g->cfg.rx_buf, .writable = true,
	};
	int ret;

	/* Stale bytes must not pass for a header field the device set. */
	memset(g->rxb[i], 0xa5, g->cfg.rx_buf < 64 ? g->cfg.rx_buf : 64);
	ret = vdrv_add(&g->ring[RX], &seg, 1, i, false);
	return ret < 0 ? ret : 0;
}

void gnet_close(struct gnet *g)
{
	kvdev_close(&g->dev);
	vdrv_ring_destroy(&g->ring[RX]);
	vdrv_ring_destroy(&g->ring[TX]);
	vdrv_mem_destroy(&g->mem);
}

/* Memory, rings, device set up QEMU-style, backend @fd on both queues. */
int gnet_guest_init(struct gnet *g, const struct gcfg *c)
{
	struct vdrv_ring_opts o = {
		.num = c->num, .event_idx = c->event_idx, .indirect = c->indirect,
	};
	unsigned int i, q;
	int ret;

	memset(g, 0, sizeof(*g));
	kvdev_init(&g->dev);
	g->cfg = *c;
	g->mrg = c->features & F_MRG;
	g->hlen = c->features & (F_MRG | F_V1) ?
		  sizeof(struct virtio_net_hdr_mrg_rxbuf) :
		  sizeof(struct virtio_net_hdr);
	ret = vdrv_mem_init_identity(&g->mem, MEM_SIZE);
	if (ret)
		return gnet_fail(g, ret, "guest memory");
	for (q = 0; q < 2; q++) {
		ret = vdrv_ring_init(&g->ring[q], &g->mem, &o);
		if (ret)
			return gnet_fail(g, ret, "ring");
	}
	for (i = 0; i < c->num; i++) {
		g->rxb[i] = vdrv_alloc(&g->mem, c->rx_buf, 64, &g->rxg[i]);
		if (!g->rxb[i])
			return gnet_fail(g, -ENOMEM, "RX buffers");
	}
	for (i = 0; i < NTXBUF; i++) {
		g->txb[i] = vdrv_alloc(&g->mem, TXBUF_LEN, 64, &g->txg[i]);
		if (!g->txb[i])
			return gnet_fail(g, -ENOMEM, "TX buffers");
		g->tx_free[g->ntx_free++] = i;
	}
	return 0;
}

int gnet_open(struct gnet *g, const char *path, const struct gcfg *c, int fd)
{
	unsigned int i, q;
	int ret;

	ret = gnet_guest_init(g, c);
	if (ret)
		return ret;
	ret = kvdev_open(&g->dev, path, 2);
	if (ret)
		return gnet_fail(g, ret, path);
	ret = kvdev_setup_dev(&g->dev, c->features, &g->mem);
	if (ret)
		return gnet_fail(g, ret, "SET_OWNER/FEATURES/MEM_TABLE");
	for (q = 0; !c->no_vq_setup && q < 2; q++) {
		ret = kvdev_setup_vq(&g->dev, q, &g->ring[q]);
		if (ret)
			return gnet_fail(g, ret, "queue set-up");
	}
	for (i = 0; !c->no_rx_post && i < c->num; i++) {
		ret = gnet_rx_post(g, i);
		if (ret)
			return gnet_fail(g, ret, "RX post");
	}
	gnet_kick(g, RX);
	for (q = 0; fd >= 0 && q < 2; q++) {
		ret = gnet_set_backend(g, q, fd);
		if (ret)
			return gnet_fail(g, ret, "VHOST_NET_SET_BACKEND");
	}
	return 0;
}

/* Next used element of queue @q within @timeout_ms; -ETIMEDOUT. */
int gnet_used(struct gnet *g, unsigned int q, unsigned int *tok,
		     uint32_t *len, int timeout_ms)
{
	uint64_t deadline = kvdev_now_ms() + timeout_ms;
	uint64_t t;
	int ret;

	for (;;) {
		ret = vdrv_get_used(&g->ring[q], &t, len);
		if (ret < 0)
			return ret;
		if (ret) {
			*tok = t;
			return 0;
		}
		if (kvdev_now_ms() >= deadline)
			return -ETIMEDOUT;
		kvdev_wait_call(&g->dev, q, 2);
	}
}

/*
 * Receive the next frame of ours: header into @hdr, frame into @f.
 * Return its length, -ETIMEDOUT, or -EPROTO with g->err set.
 */
int gnet_rx(struct gnet *g, uint8_t *f, struct virtio_net_hdr_mrg_rxbuf *hdr,
		   unsigned int *nbufs, int timeout_ms)
{
	unsigned int idx, nb, k;
	uint32_t len;
	size_t total;
	int ret;

again:
	ret = gnet_used(g, RX, &idx, &len, timeout_ms);
	if (ret)
		return ret;
	if (len < g->hlen || len > g->cfg.rx_buf) {
		snprintf(g->err, sizeof(g->err), "RX used len %u (buffer %u)",
			 len, g->cfg.rx_buf);
		return -EPROTO;
	}
	memset(hdr, 0, sizeof(*hdr));
	memcpy(hdr, g->rxb[idx], g->hlen);
	nb = g->mrg ? le16toh(hdr->num_buffers) : 1;
	if (!nb || nb > g->cfg.num) {
		snprintf(g->err, sizeof(g->err), "num_buffers %u", nb);
		return -EPROTO;
	}
	total = len - g->hlen;
	memcpy(f, g->rxb[idx] + g->hlen, total);
	gnet_rx_post(g, idx);
	for (k = 1; k < nb; k++) {
		ret = gnet_used(g, RX, &idx, &len, timeout_ms);
		if (ret) {
			snprintf(g->err, sizeof(g->err),
				 "buffer %u of %u of a merged frame missing", k, nb);
			return -EPROTO;
		}
		if (total + len > FRAME_MAX) {
			snprintf(g->err, sizeof(g->err), "merged frame too long");
			return -EPROTO;
		}
		memcpy(f + total, g->rxb[idx], len);
		total += len;
		gnet_rx_post(g, idx);
	}
	gnet_kick(g, RX);
	if (frame_seq(f, total) < 0)
		goto again;	/* not ours: host chatter */
	*nbufs = nb;
	return (int)total;
}

/* Reclaim the TX buffers the device returned. */
void gnet_tx_reclaim(struct gnet *g)
{
	uint64_t t;
	uint32_t len;

	while (vdrv_get_used(&g->ring[TX], &t, &len) == 1)
		g->tx_free[g->ntx_free++] = t;
}

/* Post one frame behind @hdr on TX and kick. */
int gnet_tx(struct gnet *g, const void *hdr, const uint8_t *f,
		   size_t len, bool split)
{
	uint64_t deadline = kvdev_now_ms() + WAIT_MS;
	struct vdrv_seg seg[2];
	unsigned int i;
	int ret;

	for (;;) {
		gnet_tx_reclaim(g);
		if (g->ntx_free)
			break;
		if (kvdev_now_ms() >= deadline)
			return -ETIMEDOUT;
		kvdev_wait_call(&g->dev, TX, 2);
	}
	i = g->tx_free[--g->ntx_free];
	memcpy(g->txb[i], hdr, g->hlen);
	memcpy(g->txb[i] + g->hlen, f, len);
	seg[0] = (struct vdrv_seg){ .gpa = g->txg[i], .len = g->hlen };
	seg[1] = (struct vdrv_seg){ .gpa = g->txg[i] + g->hlen, .len = len };
	if (!split) {
		seg[0].len += len;
		ret = vdrv_add(&g->ring[TX], seg, 1, i, false);
	} else {
		ret = vdrv_add(&g->ring[TX], seg, 2, i, g->cfg.indirect);
	}
	if (ret < 0)
		return ret;
	gnet_kick(g, TX);
	return 0;
}

/* Wait until every TX buffer is back. */
int gnet_tx_drain(struct gnet *g, int timeout_ms)
{
	uint64_t deadline = kvdev_now_ms() + timeout_ms;

	for (;;) {
		gnet_tx_reclaim(g);
		if (g->ntx_free == NTXBUF)
			return 0;
		if (kvdev_now_ms() >= deadline)
			return -ETIMEDOUT;
		kvdev_wait_call(&g->dev, TX, 2);
	}
}

int gnet_stats(struct gnet *g, struct kvhost_net_stats *st)
{
	memset(st, 0, sizeof(*st));
	return kvdev_ioctl(&g->dev, KVHOST_NET_GET_STATS, st);
}

void diag_vq_stats(const char *name, const struct kvhost_net_vq_stats *s)
{
	tap_diag("  %s packets %llu bytes %llu drops %llu rejected %llu batched %llu kicks %llu calls %llu",
		 name, (unsigned long long)s->packets,
		 (unsigned long long)s->bytes, (unsigned long long)s->drops,
		 (unsigned long long)s->rejected, (unsigned long long)s->batched,
		 (unsigned long long)s->kicks, (unsigned long long)s->calls);
}

