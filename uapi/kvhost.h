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

/* The release: every module's MODULE_VERSION, and kvhostctl's. */
#define KVHOST_VERSION		"0.9.0"

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

/* ---- /dev/kvhost-blk: the virtio-blk backend ---- */

/*
 * One open file of /dev/kvhost-blk is one virtio-blk device with up to
 * max_queues request queues (module parameter, default 64; the queue count
 * is fixed by the first VHOST_SET_OWNER from KVHOST_BLK_SET_QUEUES, default 1).
 *
 * A queue serves requests while (1) a backing store is attached, (2) the
 * queue is enabled with KVHOST_BLK_RUN_QUEUE and (3) its ring is set up
 * (SET_VRING_NUM and SET_VRING_ADDR).  Stopping a queue, by RUN_QUEUE 0,
 * VHOST_GET_VRING_BASE, detaching the store, VHOST_RESET_OWNER or close,
 * first waits for every request taken from its ring to complete and be
 * put in the used ring: nothing is lost and nothing is done twice.  After
 * GET_VRING_BASE a queue stays stopped until RUN_QUEUE 1 again.
 */
#define KVHOST_BLK_QUEUES_MAX	1024	/* what max_queues may be raised to */
#define KVHOST_BLK_ID_BYTES	20	/* VIRTIO_BLK_ID_BYTES */

/* KVHOST_BLK_SET_BACKEND flags */
#define KVHOST_BLK_BACKEND_RO	(1U << 0)	/* offer VIRTIO_BLK_F_RO, fail writes */

/**
 * struct kvhost_blk_backend - the backing store of a device
 * @fd:		a regular file (an image) or a block device, opened for
 *		reading (and writing unless read-only); -1 detaches
 * @flags:	KVHOST_BLK_BACKEND_*
 */
struct kvhost_blk_backend {
	__s32 fd;
	__u32 flags;
};

/**
 * struct kvhost_blk_config - bytes of the device's struct virtio_blk_config
 * @offset:	first byte wanted
 * @size:	bytes wanted, at most KVHOST_BLK_CONFIG_MAX - @offset
 * @data:	out: the bytes, little-endian as virtio 1.x lays them out; a
 *		front hands them to the driver unchanged
 *
 * The configuration follows the attached store (capacity, block size,
 * topology, discard and write-zeroes limits) and the queue count; without
 * a store, capacity is 0.  Same fields as vhost-user's GET_CONFIG.
 */
#define KVHOST_BLK_CONFIG_MAX	256
struct kvhost_blk_config {
	__u32 offset;
	__u32 size;
	__u8 data[KVHOST_BLK_CONFIG_MAX];
};

/**
 * struct kvhost_blk_queue_stats - counters of one kvhost-blk request queue
 * @index:	in: the queue
 * @reads:	IN requests completed
 * @writes:	OUT requests completed
 * @flushes:	FLUSH requests completed
 * @discards:	DISCARD requests completed
 * @write_zeroes: WRITE_ZEROES requests completed
 * @get_ids:	GET_ID requests completed
 * @unsupported: requests of another type (status VIRTIO_BLK_S_UNSUPP)
 * @read_bytes:	bytes read for the driver
 * @write_bytes: bytes written for the driver
 * @errors:	requests completed with VIRTIO_BLK_S_IOERR: malformed, refused
 *		(read-only) or failed by the store
 * @punted:	requests handed to the queue's helper thread because they
 *		would have blocked the worker (buffered I/O, FLUSH, DISCARD,
 *		WRITE_ZEROES)
 * @inflight:	requests taken from the ring and not yet used, now
 * @inflight_max: the most there ever were at once
 * @broken:	1 if the queue was marked broken by bad guest input
 * @last_err:	errno (positive) of the breakage, 0 if none
 * @lat_hist:	completed requests by latency from taking the chain to
 *		publishing it used: bucket k counts latencies in
 *		[2^k, 2^(k+1)) microseconds (bucket 0 also counts < 1 us), the
 *		last bucket everything longer
 *
 * Counters start at 0 when the device is opened and after VHOST_RESET_OWNER.
 */
#define KVHOST_BLK_LAT_BUCKETS	24
struct kvhost_blk_queue_stats {
	__u32 index;
	__u32 broken;
	__u64 reads;
	__u64 writes;
	__u64 flushes;
	__u64 discards;
	__u64 write_zeroes;
	__u64 get_ids;
	__u64 unsupported;
	__u64 read_bytes;
	__u64 write_bytes;
	__u64 errors;
	__u64 punted;
	__u32 inflight;
	__u32 inflight_max;
	__u32 last_err;
	__u32 reserved;
	__u64 lat_hist[KVHOST_BLK_LAT_BUCKETS];
};

/* Number of request queues (1..max_queues); before VHOST_SET_OWNER only. */
#define KVHOST_BLK_SET_QUEUES	_IOW(KVHOST_IOC_TYPE, 0x40, __u32)
/* Attach (fd >= 0) or detach (fd -1) the backing store; owner only. */
#define KVHOST_BLK_SET_BACKEND	_IOW(KVHOST_IOC_TYPE, 0x41, struct kvhost_blk_backend)
/* Read the virtio-blk configuration space. */
#define KVHOST_BLK_GET_CONFIG	_IOWR(KVHOST_IOC_TYPE, 0x42, struct kvhost_blk_config)
/* The serial VIRTIO_BLK_T_GET_ID returns (NUL-padded, not terminated). */
#define KVHOST_BLK_SET_SERIAL	_IOW(KVHOST_IOC_TYPE, 0x43, __u8[KVHOST_BLK_ID_BYTES])
/* Enable (num 1) or stop (num 0) one queue: struct vhost_vring_state. */
#define KVHOST_BLK_RUN_QUEUE	_IOW(KVHOST_IOC_TYPE, 0x44, struct vhost_vring_state)
/* Read one queue's counters (no ownership needed). */
#define KVHOST_BLK_GET_STATS	_IOWR(KVHOST_IOC_TYPE, 0x45, struct kvhost_blk_queue_stats)

#endif /* _UAPI_KVHOST_H */
