/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * kvhost project ioctls.
 *
 * The standard vhost ioctls (VHOST_SET_OWNER, VHOST_SET_VRING_*, ...) come
 * unchanged from <linux/vhost.h>; only kvhost's own additions live here.
 * They use their own ioctl type byte, KVHOST_IOC_TYPE (0xB7), not vhost's
 * VHOST_VIRTIO (0xAF), so no kvhost ioctl can ever collide with a present or
 * future upstream VHOST_* number.
 */
#ifndef _UAPI_KVHOST_H
#define _UAPI_KVHOST_H

#include <linux/types.h>
#include <linux/ioctl.h>
#include <linux/vhost.h>

#define KVHOST_IOC_TYPE		0xB7

/*
 * Worker ioctls.  Kernels since 6.4 carry these in <linux/vhost.h> with the
 * same numbers and layouts; older userspace headers do not, so define them.
 */
#ifndef VHOST_NEW_WORKER
struct vhost_worker_state {
	__u32 worker_id;
};

struct vhost_vring_worker {
	unsigned int index;
	unsigned int worker_id;
};

#define VHOST_NEW_WORKER		_IOR(VHOST_VIRTIO, 0x8, struct vhost_worker_state)
#define VHOST_FREE_WORKER		_IOW(VHOST_VIRTIO, 0x9, struct vhost_worker_state)
#define VHOST_ATTACH_VRING_WORKER	_IOW(VHOST_VIRTIO, 0x15, struct vhost_vring_worker)
#define VHOST_GET_VRING_WORKER		_IOWR(VHOST_VIRTIO, 0x16, struct vhost_vring_worker)
#endif

/* ---- /dev/kvhost-test: the core's test backend ---- */

/* Virtqueue roles of the test device. */
#define KVHOST_TEST_VQ_TX	0	/* driver -> device: readable buffers, checksummed */
#define KVHOST_TEST_VQ_RX	1	/* device -> driver: writable buffers, pattern-filled */
#define KVHOST_TEST_VQ_MAX	2

/**
 * struct kvhost_test_vq_stats - counters of one test-device virtqueue
 * @bufs:	chains completed (pushed to the used ring)
 * @bytes:	bytes read (TX) or written (RX)
 * @csum:	TX: sum over all bytes read of (byte value), modulo 2^64,
 *		so the driver can compare with what it wrote.
 *		RX: next pattern offset (see KVHOST_TEST_PATTERN)
 * @kicks:	kick eventfd wake-ups handled
 * @calls:	call eventfd signals sent
 * @requeues:	times the worker yielded because the work budget ran out
 * @broken:	1 if the queue was marked broken by bad guest input
 * @last_err:	errno (positive) of the breakage, 0 if none
 */
struct kvhost_test_vq_stats {
	__u64 bufs;
	__u64 bytes;
	__u64 csum;
	__u64 kicks;
	__u64 calls;
	__u64 requeues;
	__u32 broken;
	__u32 last_err;
};

struct kvhost_test_stats {
	struct kvhost_test_vq_stats vq[KVHOST_TEST_VQ_MAX];
};

/*
 * RX pattern: the byte at stream offset N (counting every byte the device
 * ever wrote on this RX queue since the backend was started) is
 * KVHOST_TEST_PATTERN(N).
 */
#define KVHOST_TEST_PATTERN(n)	((__u8)(((n) * 7 + ((n) >> 8)) & 0xff))

/* Start (1) or stop (0) the backend on every queue of the device. */
#define KVHOST_TEST_RUN		_IOW(KVHOST_IOC_TYPE, 0x01, int)
/* Read the counters. */
#define KVHOST_TEST_GET_STATS	_IOR(KVHOST_IOC_TYPE, 0x02, struct kvhost_test_stats)

#endif /* _UAPI_KVHOST_H */
