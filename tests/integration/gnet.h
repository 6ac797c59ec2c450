/* SPDX-License-Identifier: GPL-2.0 */
/*
 * gnet: the guest side of a vhost-net device for the integration tests:
 * guest memory, an RX and a TX split ring with their buffers, and the
 * device set up the way QEMU sets it up.
 */
#ifndef GNET_H
#define GNET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/vhost.h>
#include <linux/virtio_net.h>
#include "kvdev.h"
#include "netdev.h"
#include "vring_drv.h"

#define RX 0
#define TX 1

#define TXBUF_LEN	(FRAME_MAX + 64)
#define NTXBUF		64
#define NUM_MAX		256
#define MEM_SIZE	(24ULL << 20)
#define WAIT_MS		5000

#define F(bit)		(1ULL << (bit))
#define F_MRG		F(VIRTIO_NET_F_MRG_RXBUF)
#define F_V1		F(VIRTIO_F_VERSION_1)
#define F_NET_HDR	F(VHOST_NET_F_VIRTIO_NET_HDR)
#define F_EVENT_IDX	F(VIRTIO_RING_F_EVENT_IDX)
#define F_INDIRECT	F(VIRTIO_RING_F_INDIRECT_DESC)


struct gcfg {
	uint64_t features;
	unsigned int num;	/* ring size, both queues */
	unsigned int rx_buf;	/* bytes per RX buffer */
	bool event_idx;
	bool indirect;
	bool no_vq_setup;	/* gnet_open() leaves the queues unconfigured */
	bool no_rx_post;	/* ... and the RX ring empty */
};

struct gnet {
	struct gcfg cfg;
	struct kvdev dev;
	struct vdrv_mem mem;
	struct vdrv_ring ring[2];
	unsigned int hlen;
	bool mrg;
	uint8_t *rxb[NUM_MAX];
	uint64_t rxg[NUM_MAX];
	uint8_t *txb[NTXBUF];
	uint64_t txg[NTXBUF];
	unsigned int tx_free[NTXBUF];
	unsigned int ntx_free;
	char err[256];
};

int gnet_fail(struct gnet *g, int ret, const char *what);
int gnet_set_backend(struct gnet *g, unsigned int idx, int fd);
/* Publish, and kick if the device asks for it. */
void gnet_kick(struct gnet *g, unsigned int q);
/* Put RX buffer @i in the RX ring (not published). */
int gnet_rx_post(struct gnet *g, unsigned int i);
void gnet_close(struct gnet *g);
/* The guest alone: memory, both rings and their buffers, nothing posted. */
int gnet_guest_init(struct gnet *g, const struct gcfg *c);
/* Memory, rings, device @path set up QEMU-style, backend @fd on both queues. */
int gnet_open(struct gnet *g, const char *path, const struct gcfg *c, int fd);
/* Next used element of queue @q within @timeout_ms; -ETIMEDOUT. */
int gnet_used(struct gnet *g, unsigned int q, unsigned int *tok,
	      uint32_t *len, int timeout_ms);
/*
 * Receive the next frame of ours: header into @hdr, frame into @f.
 * Return its length, -ETIMEDOUT, or -EPROTO with g->err set.
 */
int gnet_rx(struct gnet *g, uint8_t *f, struct virtio_net_hdr_mrg_rxbuf *hdr,
	    unsigned int *nbufs, int timeout_ms);
void gnet_tx_reclaim(struct gnet *g);
/* Post one frame behind @hdr on TX and kick. */
int gnet_tx(struct gnet *g, const void *hdr, const uint8_t *f, size_t len,
	    bool split);
/* Wait until every TX buffer is back. */
int gnet_tx_drain(struct gnet *g, int timeout_ms);
int gnet_stats(struct gnet *g, struct kvhost_net_stats *st);
void diag_vq_stats(const char *name, const struct kvhost_net_vq_stats *s);

#endif /* GNET_H */
