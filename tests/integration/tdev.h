/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tdev: a /dev/kvhost-test device with guest memory and driver rings, and a
 * traffic engine that verifies every byte the device reads or writes.
 *
 * Expected values are computed by the driver alone: the checksum of what it
 * wrote into readable buffers, and KVHOST_TEST_PATTERN() over the stream
 * offset for writable bytes, in used-ring order.
 */
#ifndef TDEV_H
#define TDEV_H

#include <stdbool.h>
#include <stdint.h>
#include "kvdev.h"
#include "vring_drv.h"

#define TDEV_NQ			KVHOST_TEST_VQ_MAX
#define TDEV_MAX_SEGS		8
#define TDEV_TIMEOUT_MS		10000	/* any single wait for the device */

enum tdev_mem_kind {
	TDEV_MEM_IDENTITY,		/* one region, gpa == user address */
	TDEV_MEM_IDENTITY_MULTI,	/* several regions with gaps */
	TDEV_MEM_OFFSET_CONTIG,		/* gpa-contiguous regions from 0x100000,
					 * apart in user space: buffers straddle */
	TDEV_MEM_OFFSET_STRIDED,	/* region k at 0x100000 + k GiB */
};

/* What chains a queue gets. */
enum tdev_chain_kind {
	TDEV_CHAIN_READ,		/* readable only (TX style) */
	TDEV_CHAIN_WRITE,		/* writable only (RX style) */
	TDEV_CHAIN_MIXED,		/* readable then writable */
};

struct tdev_cfg {
	const char *path;		/* NULL: KVDEV_TEST_PATH */
	unsigned int num;		/* ring size, both queues */
	bool event_idx;
	bool indirect;
	uint16_t base;			/* starting ring index */
	enum tdev_mem_kind mem;
	unsigned int max_segs;		/* segments per chain, 1..TDEV_MAX_SEGS */
	uint32_t max_len;		/* bytes per segment */
	unsigned int nq;		/* queues to set up: 1 or 2 (0: 2) */
	bool no_run;			/* stop before KVHOST_TEST_RUN(1) */
};

struct tdev_rec {
	uint64_t seq;
	uint64_t rsum;			/* sum of the readable bytes written */
	uint64_t rbytes;		/* readable bytes */
	unsigned int area;		/* buffer area it uses */
	unsigned int nseg;
	struct vdrv_seg seg[TDEV_MAX_SEGS];
};

struct tdev_q {
	struct vdrv_ring ring;
	unsigned int idx;
	uint64_t *area;			/* num buffer areas (gpa) */
	unsigned int *area_free;	/* FIFO of free areas: all get used */
	unsigned int area_first;
	unsigned int area_nfree;
	struct tdev_rec *rec;		/* per head: the chain in flight */
	unsigned int straddling;	/* segments that crossed a region */

	uint64_t gen;			/* readable-byte generator state */
	uint64_t rnd;			/* chain-shape generator state */
	uint64_t seq;			/* chains posted */
	uint64_t done;			/* chains completed and verified */
	uint64_t sum_read;		/* expected csum of readable bytes */
	uint64_t bytes_read;		/* readable bytes completed */
	uint64_t wpos;			/* next expected pattern offset */
	uint64_t kicks;			/* kicks we sent */
	uint64_t waits;			/* times we slept on the call fd */
	char err[256];			/* first failure, empty if none */
};

struct tdev {
	struct tdev_cfg cfg;
	struct kvdev dev;
	struct vdrv_mem mem;
	uint64_t features;		/* negotiated */
	uint64_t offered;		/* GET_FEATURES */
	struct tdev_q q[TDEV_NQ];
	char err[256];
};

/* Core features the test device must offer. */
#define TDEV_CORE_FEATURES						\
	((1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_RING_F_INDIRECT_DESC) | \
	 (1ULL << VIRTIO_RING_F_EVENT_IDX) | (1ULL << VIRTIO_F_NOTIFY_ON_EMPTY) | \
	 (1ULL << VIRTIO_F_ANY_LAYOUT))

/*
 * Build memory and rings, open the device and set it up QEMU-style, then
 * KVHOST_TEST_RUN(1).  On failure returns -errno with t->err saying where;
 * tdev_close() is still needed.
 */
int tdev_open(struct tdev *t, const struct tdev_cfg *c);
void tdev_close(struct tdev *t);

/*
 * Post @nbufs chains of @kind on queue @qi, @batch per kick, and wait for all
 * of them, verifying each.  0 or -1 with q->err set.
 */
int tdev_traffic(struct tdev *t, unsigned int qi, enum tdev_chain_kind kind,
		 uint64_t nbufs, unsigned int batch);
/* Post up to @nbufs chains and kick, no waiting.  Returns chains posted. */
uint64_t tdev_post(struct tdev *t, unsigned int qi, enum tdev_chain_kind kind,
		   uint64_t nbufs);
/* Wait for and verify every chain in flight; 0 or -1 with q->err set. */
int tdev_drain(struct tdev *t, unsigned int qi);
/* Harvest and verify what is used now; -1 on a verification failure. */
int tdev_harvest(struct tdev *t, unsigned int qi);

/*
 * Compare the device counters of queue @qi with what the driver verified
 * (waits briefly for them to settle).  Reports failures through tap_diag.
 */
bool tdev_stats_match(struct tdev *t, unsigned int qi);

/* Run traffic on every configured queue at once, one thread each. */
int tdev_traffic_all(struct tdev *t, const enum tdev_chain_kind *kinds,
		     uint64_t nbufs, unsigned int batch);

/* tap_ok() for "queue traffic verified", with q->err as a diagnostic. */
bool tdev_report_q(struct tdev *t, unsigned int qi, int ret, const char *what);

#endif /* TDEV_H */
