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

/*
 * Both queues of the test device serve any chain the same way: readable
 * bytes are summed into @csum, writable bytes are filled with the pattern.
 * By convention queue 0 carries driver->device data and queue 1 the reverse.
 */
#define KVHOST_TEST_VQ_TX	0
#define KVHOST_TEST_VQ_RX	1
#define KVHOST_TEST_VQ_MAX	2

/**
 * struct kvhost_test_vq_stats - counters of one test-device virtqueue
 * @bufs:	chains completed (pushed to the used ring)
 * @bytes:	bytes read (TX) or written (RX)
 * @csum:	sum of the values of every readable byte consumed on this
 *		queue, modulo 2^64, so the driver can compare with what it wrote
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

/* ---- /dev/kvhost-net: the vhost-net compatible backend ---- */

/*
 * /dev/kvhost-net speaks the vhost-net ABI of <linux/vhost.h> unchanged
 * (VHOST_NET_SET_BACKEND & co.); only its statistics are kvhost's own.
 */
#define KVHOST_NET_VQ_RX	0	/* device -> driver: frames from the socket */
#define KVHOST_NET_VQ_TX	1	/* driver -> device: frames to the socket */
#define KVHOST_NET_VQ_MAX	2

/**
 * struct kvhost_net_vq_stats - counters of one kvhost-net virtqueue
 * @packets:	frames delivered: TX handed to the socket, RX put in the ring
 * @bytes:	bytes of those frames, any virtio-net header excluded
 * @drops:	frames lost: TX refused or malformed (the buffer still goes
 *		back to the driver, used length 0); RX larger than the buffers
 *		the driver offers, truncated or failed (discarded from the socket)
 * @rejected:	of @drops, frames the socket refused (sendmsg/recvmsg error)
 * @kicks:	handler runs started by the kick eventfd (budget requeues
 *		included, see @requeues)
 * @calls:	call eventfd signals
 * @requeues:	handler runs cut short by the per-run packet/byte budget
 * @broken:	1 if the queue was marked broken by bad guest input
 * @last_err:	errno (positive) of the breakage, 0 if none
 * @batched:	of @packets, TX frames handed to tun/tap in batches (one
 *		sendmsg for up to 64 small frames); always 0 on RX
 *
 * Counters start at 0 when the device is opened and after VHOST_RESET_OWNER.
 */
struct kvhost_net_vq_stats {
	__u64 packets;
	__u64 bytes;
	__u64 drops;
	__u64 rejected;
	__u64 kicks;
	__u64 calls;
	__u64 requeues;
	__u32 broken;
	__u32 last_err;
	__u64 batched;
};

struct kvhost_net_stats {
	struct kvhost_net_vq_stats vq[KVHOST_NET_VQ_MAX];
};

/* Read the counters (no ownership needed). */
#define KVHOST_NET_GET_STATS	_IOR(KVHOST_IOC_TYPE, 0x20, struct kvhost_net_stats)

#endif /* _UAPI_KVHOST_H */
