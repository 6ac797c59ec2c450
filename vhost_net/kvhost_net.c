// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/kvhost-net: the virtio-net datapath of a QEMU guest in the host
 * kernel, speaking the vhost-net ABI of <linux/vhost.h> so that QEMU uses it
 * unmodified (-netdev tap,...,vhost=on,vhostfd=N).
 *
 * Each open file is one device with two virtqueues, RX (0) and TX (1).
 * VHOST_NET_SET_BACKEND attaches a queue to a socket: a tap or macvtap file,
 * or a raw AF_PACKET socket.
 *
 * TX: on a kick, every available chain is sent as one frame, nonblocking.
 * To tun and tap with an unlimited send buffer (their default, and QEMU's),
 * frames that fit a page are copied into page fragments laid out as
 * struct xdp_buff, and up to KVHOST_NET_TX_BATCH of them go in one
 * sendmsg(TUN_MSG_PTR): the socket builds each skb around its fragment
 * (build_skb) without a second copy or a socket call per frame.  Other
 * frames (GSO, bigger than a page, a header the socket would refuse, other
 * backends, a limited send buffer) take one sendmsg each, after the batch
 * before them, so the order on the wire is the ring's.  A full socket puts
 * the chain back and makes the queue wait for EPOLLOUT; a frame the socket
 * refuses is counted and its buffer still goes back to the driver.
 *
 * RX: when the socket polls readable (or the driver adds buffers after we
 * ran short) the length of the next frame is peeked, chains are taken until
 * they hold it -- one, or several with VIRTIO_NET_F_MRG_RXBUF -- and the
 * frame is received straight into them.  From tun and tap, frames are taken
 * off the socket's own queue (a ptr_ring) KVHOST_NET_RX_BATCH at a time,
 * and each is handed back to recvmsg to copy out: two lock round trips per
 * frame fewer than asking the socket for each length and each frame.  A frame that can never fit is
 * discarded from the socket and counted; nothing is ever written past the
 * buffers the driver offered.
 *
 * Virtio-net header: with VHOST_NET_F_VIRTIO_NET_HDR acked the socket
 * carries none and we add (RX) or strip (TX) it; otherwise the driver's
 * header is the socket's own vnet header (tap with IFF_VNET_HDR and a
 * matching TUNSETVNETHDRSZ), so checksum and GSO offloads pass through.
 *
 * Every handler run stops after a packet or byte budget and is requeued
 * (kvhost_vq_budget_spent()), so no guest can monopolise the worker, and
 * may busy-poll for up to VHOST_SET_VRING_BUSYLOOP_TIMEOUT before sleeping.
 */
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/miscdevice.h>
#include <linux/fs.h>
#include <linux/file.h>
#include <linux/slab.h>
#include <linux/mm.h>
#include <linux/uaccess.h>
#include <linux/compat.h>
#include <linux/nospec.h>
#include <linux/net.h>
#include <linux/socket.h>
#include <linux/if_tun.h>
#include <linux/if_tap.h>
#include <linux/virtio_net.h>
#include <linux/virtio_byteorder.h>
#include <linux/sched/clock.h>
#include <linux/skbuff.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/vhost.h>
#include <linux/ptr_ring.h>
#include <linux/skb_array.h>
#include <net/sock.h>
#include <net/xdp.h>
#include "uapi/kvhost.h"
#include "vhost.h"
#include "compat.h"

#define KVHOST_NET_FEATURES					\
	(KVHOST_CORE_FEATURES |					\
	 (1ULL << VHOST_NET_F_VIRTIO_NET_HDR) |			\
	 (1ULL << VIRTIO_NET_F_MRG_RXBUF))

/*
 * RX segment array: a merged frame stops taking chains once it has
 * KVHOST_IOV_MAX segments, and every chain is popped with KVHOST_IOV_MAX
 * segments of room, so a chain the core accepts always fits.
 */
#define KVHOST_NET_RX_SEGS	(2 * KVHOST_IOV_MAX)
/* Chains one merged RX frame may use (num_buffers is 16 bits). */
#define KVHOST_NET_RX_HEADS	KVHOST_IOV_MAX
/* Used buffers between two used-index updates (and call decisions) in a run. */
#define KVHOST_NET_USED_BATCH	64
/*
 * Frames in one sendmsg(TUN_MSG_PTR).  Equal to the used batch: a batch
 * is sent before every used-index update, so it never holds more.
 */
#define KVHOST_NET_TX_BATCH	KVHOST_NET_USED_BATCH
/* Frames taken off a tun/tap queue at once. */
#define KVHOST_NET_RX_BATCH	64
/* Room to peek at or discard a frame: more than any vnet header. */
#define KVHOST_NET_SCRATCH	64

/*
 * TX page fragments, see kvhost_net_frag_alloc().  Each page holds
 * KVHOST_NET_FRAG_BIAS references while the pool has it; @bias of them are
 * the pool's own, the rest belong to fragments handed out.
 */
#define KVHOST_NET_FRAG_ORDER	get_order(32768)
#define KVHOST_NET_FRAG_BIAS	(32768 + 1)	/* more than fragments per page */
#define KVHOST_NET_FRAG_SPARES	8

struct kvhost_net_frag_page {
	struct page *page;
	unsigned int bias;
};

struct kvhost_net_frag_pool {
	struct kvhost_net_frag_page cur;	/* page == NULL: none yet */
	unsigned int offset;			/* next free byte of cur */
	unsigned int size;			/* bytes of cur */
	struct kvhost_net_frag_page spare[KVHOST_NET_FRAG_SPARES];
	unsigned int nspare;			/* oldest first */
};

/* One chain taken for an RX frame. */
struct kvhost_net_head {
	u64 room;	/* writable bytes of the chain */
	u32 len;	/* bytes of the frame put in it */
	u16 id;
};

struct kvhost_net_queue {
	struct kvhost_virtqueue vq;
	/* RX: EPOLLIN, armed once the socket is drained; TX: EPOLLOUT when full. */
	struct kvhost_poll sock_poll;

	/* Guarded by vq.mutex; changed under dev.mutex as well. */
	struct file *file;		/* backend file, referenced while attached */
	unsigned int vhost_hlen;	/* header we add (RX) or strip (TX) */
	unsigned int sock_hlen;		/* header the socket carries itself */

	/* TX only, guarded by vq.mutex; empty whenever the mutex is free. */
	bool tx_can_batch;		/* backend takes TUN_MSG_PTR (tun, tap) */
	struct xdp_buff *tx_xdp;	/* KVHOST_NET_TX_BATCH frames built */
	unsigned int tx_nxdp;
	u64 tx_xdp_bytes;		/* their frame bytes, for the counters */
	struct kvhost_net_frag_pool tx_frags;

	/* RX only, guarded by vq.mutex. */
	struct ptr_ring *rx_ring;	/* tun/tap's queue, NULL for packet sockets */
	void **rx_batch;		/* KVHOST_NET_RX_BATCH frames taken off it */
	unsigned int rx_head, rx_tail;	/* the ones not received yet */
	struct iovec *rx_iov;		/* KVHOST_NET_RX_SEGS */
	struct kvhost_net_head *heads;	/* KVHOST_NET_RX_HEADS */

	/* Counters, guarded by vq.mutex (see struct kvhost_net_vq_stats). */
	u64 packets;
	u64 bytes;
	u64 drops;
	u64 rejected;
	u64 batched;
};

struct kvhost_net {
	struct kvhost_dev dev;
	struct kvhost_net_queue q[KVHOST_NET_VQ_MAX];
	struct kvhost_virtqueue *vqs[KVHOST_NET_VQ_MAX];
};

/* Busy-poll state of one handler run. */
struct kvhost_net_busy {
	u64 deadline;		/* local_clock() ns, set at the first spin */
	bool armed;
};

static struct kvhost_net_queue *to_net_queue(struct kvhost_virtqueue *vq)
{
	return container_of(vq, struct kvhost_net_queue, vq);
}

static __virtio16 kvhost_net_cpu_to_virtio16(const struct kvhost_virtqueue *vq,
					      u16 v)
{
	return __cpu_to_virtio16(kvhost_vq_has_feature(vq, VIRTIO_F_VERSION_1) ||
				 virtio_legacy_is_little_endian(), v);
}

/*
 * Whether to poll once more instead of sleeping.  A run spins for at most
 * the queue's busyloop timeout in all, and never while the scheduler or
 * other work on the worker wants the CPU.
 */
static bool kvhost_net_busy_spin(struct kvhost_virtqueue *vq,
				 struct kvhost_net_busy *busy)
{
	u64 now;

	if (!vq->busyloop_timeout || need_resched() ||
	    kvhost_vq_work_pending(vq))
		return false;
	now = local_clock();
	if (!busy->armed) {
		busy->armed = true;
		busy->deadline = now + (u64)vq->busyloop_timeout * NSEC_PER_USEC;
	} else if (now >= busy->deadline) {
		return false;
	}
	cpu_relax();
	return true;
}

/* ---- TX page fragments ---- */

/*
 * Like page_frag_cache, with one difference that matters here: a used-up
 * page is not let go at once but waits among KVHOST_NET_FRAG_SPARES
 * spares, and the first spare whose fragments have all come back is
 * reused.  A fresh 32 KiB page is zeroed on allocation (init_on_alloc, on
 * by default in Debian's kernels), which costs more than copying the small
 * frames it holds; a recycled one is not.
 */

static void kvhost_net_frag_put(struct kvhost_net_frag_page *fp)
{
	/* Our references; the page goes when its last fragment does. */
	__page_frag_cache_drain(fp->page, fp->bias);
	fp->page = NULL;
}

/* Whether every fragment of a spare has been freed. */
static bool kvhost_net_frag_idle(const struct kvhost_net_frag_page *fp)
{
	if (page_ref_count(fp->page) != fp->bias)
		return false;
	/*
	 * Nobody else holds a reference, so nobody can take one.  Pairs with
	 * the full barrier of the put_page() that freed the last fragment:
	 * its reader is done before we write the page again.
	 */
	smp_acquire__after_ctrl_dep();
	return true;
}

static void kvhost_net_frag_spare_del(struct kvhost_net_frag_pool *pool,
				      unsigned int i)
{
	pool->nspare--;
	memmove(&pool->spare[i], &pool->spare[i + 1],
		(pool->nspare - i) * sizeof(pool->spare[0]));
}

/*
 * The current page is used up: keep it as a spare if there is room.
 * Fragments come back about in the order they went out, so the spares we
 * already have are the first to be free again: when full, the newest page
 * is the one let go.  So are pages from the emergency reserves.
 */
static void kvhost_net_frag_retire(struct kvhost_net_frag_pool *pool)
{
	if (pool->nspare == KVHOST_NET_FRAG_SPARES ||
	    page_is_pfmemalloc(pool->cur.page)) {
		kvhost_net_frag_put(&pool->cur);
		return;
	}
	pool->spare[pool->nspare++] = pool->cur;
	pool->cur.page = NULL;
}

static bool kvhost_net_frag_reuse(struct kvhost_net_frag_pool *pool)
{
	unsigned int i;

	for (i = 0; i < pool->nspare; i++) {
		if (!kvhost_net_frag_idle(&pool->spare[i]))
			continue;
		pool->cur = pool->spare[i];
		kvhost_net_frag_spare_del(pool, i);
		page_ref_add(pool->cur.page, KVHOST_NET_FRAG_BIAS - pool->cur.bias);
		pool->cur.bias = KVHOST_NET_FRAG_BIAS;
		return true;
	}
	return false;
}

static bool kvhost_net_frag_new(struct kvhost_net_frag_pool *pool, gfp_t gfp)
{
	unsigned int order = KVHOST_NET_FRAG_ORDER;
	struct page *page;

	page = alloc_pages(gfp | __GFP_COMP | __GFP_NOWARN | __GFP_NORETRY |
			   __GFP_NOMEMALLOC, order);
	if (!page) {
		order = 0;
		page = alloc_pages(gfp, 0);
		if (!page)
			return false;
	}
	page_ref_add(page, KVHOST_NET_FRAG_BIAS - 1);
	pool->cur.page = page;
	pool->cur.bias = KVHOST_NET_FRAG_BIAS;
	return true;
}

/*
 * A cache-line aligned fragment of @size bytes (at most PAGE_SIZE) holding
 * one page reference, for page_frag_free() by whoever ends up with it.
 * Return: its address, or NULL if no page could be had.
 */
static void *kvhost_net_frag_alloc(struct kvhost_net_frag_pool *pool,
				   unsigned int size, gfp_t gfp)
{
	void *buf;

	size = ALIGN(size, SMP_CACHE_BYTES);
	if (WARN_ON_ONCE(size > PAGE_SIZE))
		return NULL;
	if (pool->cur.page && pool->offset + size > pool->size)
		kvhost_net_frag_retire(pool);
	if (!pool->cur.page) {
		if (!kvhost_net_frag_reuse(pool) &&
		    !kvhost_net_frag_new(pool, gfp))
			return NULL;
		pool->offset = 0;
		pool->size = page_size(pool->cur.page);
	}
	buf = page_address(pool->cur.page) + pool->offset;
	pool->offset += size;
	pool->cur.bias--;
	return buf;
}

static void kvhost_net_frag_pool_drain(struct kvhost_net_frag_pool *pool)
{
	if (pool->cur.page)
		kvhost_net_frag_put(&pool->cur);
	while (pool->nspare) {
		kvhost_net_frag_put(&pool->spare[pool->nspare - 1]);
		pool->nspare--;
	}
}

/* ---- TX ---- */

/*
 * Send one chain as one frame.  Return: -EAGAIN or -ENOBUFS if the socket
 * is full (try again when it is writable), 0 otherwise: sent, or refused
 * and counted.
 */
static int kvhost_net_tx_send(struct kvhost_net_queue *q, struct socket *sock,
			      const struct kvhost_chain *chain)
{
	struct msghdr msg = { .msg_flags = MSG_DONTWAIT };
	size_t len;
	int ret;

	if (chain->out_len <= q->vhost_hlen) {
		/* Nothing after the header we would strip: no frame. */
		q->drops++;
		return 0;
	}
	iov_iter_init(&msg.msg_iter, ITER_SOURCE, q->vq.iov, chain->out_num,
		      chain->out_len);
	iov_iter_advance(&msg.msg_iter, q->vhost_hlen);
	len = iov_iter_count(&msg.msg_iter);

	ret = sock->ops->sendmsg(sock, &msg, len);
	if (ret == -EAGAIN || ret == -ENOBUFS)
		return ret;
	if (ret < 0) {
		/* E.g. -EINVAL for nonsense GSO fields: the ring goes on. */
		q->drops++;
		q->rejected++;
		return 0;
	}
	q->packets++;
	q->bytes += len > q->sock_hlen ? len - q->sock_hlen : 0;
	return 0;
}

/*
 * Whether tun or tap accepts @gso on a frame of @len bytes as it stands,
 * checked here so that every frame it would refuse takes the one-by-one
 * path, where the refusal is seen and counted: a batched sendmsg reports
 * nothing per frame.  Only plain frames qualify: no GSO, and a checksum
 * request inside the frame, past the Ethernet and an IPv4 header.
 */
static bool kvhost_net_tx_hdr_batchable(struct kvhost_net_queue *q,
					const struct virtio_net_hdr *gso,
					size_t len)
{
	bool le = kvhost_vq_has_feature(&q->vq, VIRTIO_F_VERSION_1) ||
		  virtio_legacy_is_little_endian();
	u32 start, off;

	if (gso->gso_type != VIRTIO_NET_HDR_GSO_NONE)
		return false;
	if (!(gso->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM))
		return true;
	start = __virtio16_to_cpu(le, gso->csum_start);
	off = __virtio16_to_cpu(le, gso->csum_offset);
	return start >= ETH_HLEN + sizeof(struct iphdr) &&
	       start + off + sizeof(__sum16) <= len;
}

/*
 * Copy one chain into a page fragment laid out for build_skb(): the
 * socket's struct tun_xdp_hdr at the start, the frame after the headroom,
 * struct skb_shared_info's room at the end.
 * Return: 0 if the frame joined the batch; -ENOSPC if it must take the
 * one-by-one path instead; -ENOMEM; -EFAULT if guest memory was unreadable.
 */
static int kvhost_net_tx_build(struct kvhost_net_queue *q, struct socket *sock,
			       const struct kvhost_chain *chain)
{
	struct xdp_buff *xdp = &q->tx_xdp[q->tx_nxdp];
	unsigned int headroom, buflen, off;
	struct tun_xdp_hdr *hdr;
	struct iov_iter from;
	struct page *page;
	size_t len;
	void *buf;

	iov_iter_init(&from, ITER_SOURCE, q->vq.iov, chain->out_num,
		      chain->out_len);
	iov_iter_advance(&from, q->vhost_hlen);
	len = iov_iter_count(&from);
	/* Short frames too: tun/tap may leak the fragment of one they refuse. */
	if (len < q->sock_hlen + ETH_HLEN)
		return -ENOSPC;
	len -= q->sock_hlen;

	/* An XDP program on the tap may grow the frame at the front. */
	headroom = SKB_DATA_ALIGN(sizeof(*hdr) + NET_SKB_PAD + NET_IP_ALIGN +
				  (sock_flag(sock->sk, SOCK_XDP) ?
				   XDP_PACKET_HEADROOM : 0));
	buflen = SKB_DATA_ALIGN(headroom + len) +
		 SKB_DATA_ALIGN(sizeof(struct skb_shared_info));
	if (buflen > PAGE_SIZE)
		return -ENOSPC;

	buf = kvhost_net_frag_alloc(&q->tx_frags, buflen, GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	hdr = buf;
	memset(&hdr->gso, 0, sizeof(hdr->gso));
	/*
	 * Straight into the page (copy_page_from_iter() knows its bounds, so
	 * no hardened-usercopy walk per copy): the socket's header, whose
	 * virtio_net_hdr is tun's, then the frame.
	 */
	page = virt_to_head_page(buf);
	off = buf - page_address(page);
	if (q->sock_hlen) {
		if (copy_page_from_iter(page, off + offsetof(struct tun_xdp_hdr, gso),
					sizeof(hdr->gso), &from) != sizeof(hdr->gso))
			goto fault;
		iov_iter_advance(&from, q->sock_hlen - sizeof(hdr->gso));
	}
	if (!kvhost_net_tx_hdr_batchable(q, &hdr->gso, len)) {
		page_frag_free(buf);
		return -ENOSPC;
	}
	if (copy_page_from_iter(page, off + headroom, len, &from) != len)
		goto fault;
	hdr->buflen = buflen;
	xdp_init_buff(xdp, buflen, NULL);
	xdp_prepare_buff(xdp, buf, headroom, len, true);
	q->tx_nxdp++;
	q->tx_xdp_bytes += len;
	return 0;

fault:
	page_frag_free(buf);
	return -EFAULT;
}

/* Hand the frames built so far to the socket in one sendmsg. */
static void kvhost_net_tx_send_batch(struct kvhost_net_queue *q,
				     struct socket *sock)
{
	struct tun_msg_ctl ctl = {
		.type = TUN_MSG_PTR,
		.num = q->tx_nxdp,
		.ptr = q->tx_xdp,
	};
	struct msghdr msg = {
		.msg_control = &ctl,
		.msg_controllen = sizeof(ctl),
		.msg_flags = MSG_DONTWAIT,
	};
	unsigned int i;
	int ret;

	if (!q->tx_nxdp)
		return;
	/* The socket owns every fragment once it accepts the call. */
	ret = sock->ops->sendmsg(sock, &msg, q->tx_xdp_bytes);
	if (ret < 0) {
		/* E.g. -EBADFD: the tap device is gone.  The frames are dropped. */
		for (i = 0; i < q->tx_nxdp; i++)
			page_frag_free(q->tx_xdp[i].data_hard_start);
		q->drops += q->tx_nxdp;
		q->rejected += q->tx_nxdp;
	} else {
		q->packets += q->tx_nxdp;
		q->batched += q->tx_nxdp;
		q->bytes += q->tx_xdp_bytes;
	}
	q->tx_nxdp = 0;
	q->tx_xdp_bytes = 0;
}

/*
 * Send one chain: into the batch if it can go there, else on its own
 * after the batch.  Return: as kvhost_net_tx_send().
 */
static int kvhost_net_tx_one(struct kvhost_net_queue *q, struct socket *sock,
			     const struct kvhost_chain *chain, bool batch)
{
	int ret;

	if (batch && chain->out_len > q->vhost_hlen) {
		ret = kvhost_net_tx_build(q, sock, chain);
		if (!ret)
			return 0;
		if (ret == -EFAULT) {
			/* As the socket would have refused it. */
			q->drops++;
			q->rejected++;
			return 0;
		}
	}
	kvhost_net_tx_send_batch(q, sock);
	return kvhost_net_tx_send(q, sock, chain);
}

static void kvhost_net_tx_run(struct kvhost_net_queue *q, bool kick)
{
	struct kvhost_virtqueue *vq = &q->vq;
	struct kvhost_net_busy busy = {};
	struct kvhost_chain chain;
	unsigned int pkts = 0, retries = 0;
	struct socket *sock;
	u64 bytes = 0;
	bool batch;
	int ret;

	mutex_lock(&vq->mutex);
	/* Only armed while a frame waits for room; this run retries it. */
	kvhost_poll_stop(&q->sock_poll);
	if (!kvhost_vq_ready(vq))
		goto unlock;
	if (kick)
		vq->stats.kicks++;
	sock = vq->private_data;
	/* A limited send buffer must push back: batches bypass its accounting. */
	batch = q->tx_can_batch && READ_ONCE(sock->sk->sk_sndbuf) == INT_MAX;
	kvhost_vq_disable_notify(vq);

	for (;;) {
		ret = kvhost_vq_pop(vq, vq->iov, KVHOST_IOV_MAX, &chain);
		if (ret < 0)
			break;
		if (!ret) {
			/* Nothing more to add: what is built goes now. */
			kvhost_net_tx_send_batch(q, sock);
			if (kvhost_net_busy_spin(vq, &busy))
				continue;
			if (!kvhost_vq_enable_notify(vq))
				break;
			kvhost_vq_disable_notify(vq);
			/*
			 * Buffers arrived meanwhile: look again, but a look
			 * costs budget like a frame, so a driver racing
			 * avail->idx cannot keep the run going.
			 */
			if (kvhost_vq_budget_spent(vq, pkts + ++retries, bytes))
				break;
			continue;
		}
		if (chain.in_num) {
			/* TX buffers are device-readable only. */
			kvhost_vq_mark_broken(vq, -EINVAL);
			break;
		}
		if (kvhost_net_tx_one(q, sock, &chain, batch)) {
			/*
			 * The socket is full: the chain goes back and we wait
			 * for room.  Polling queues this run at once if room
			 * appeared meanwhile.
			 */
			kvhost_vq_unpop(vq, 1);
			kvhost_poll_start(&q->sock_poll, q->file);
			break;
		}
		if (kvhost_vq_add_used(vq, chain.id, 0))
			break;
		pkts++;
		bytes += chain.out_len;
		if (kvhost_vq_budget_spent(vq, pkts + retries, bytes))
			break;
		/*
		 * Give room back while we go on, so the driver refills
		 * meanwhile; the frames go out before their buffers do.
		 */
		if (!(pkts % KVHOST_NET_USED_BATCH)) {
			kvhost_net_tx_send_batch(q, sock);
			kvhost_vq_flush_used(vq);
		}
	}
	kvhost_net_tx_send_batch(q, sock);
	kvhost_vq_flush_used(vq);
unlock:
	mutex_unlock(&vq->mutex);
}

static void kvhost_net_handle_tx_kick(struct kvhost_work *work)
{
	kvhost_net_tx_run(to_net_queue(kvhost_work_to_vq(work)), true);
}

static void kvhost_net_handle_tx_sock(struct kvhost_work *work)
{
	kvhost_net_tx_run(to_net_queue(kvhost_work_to_vq(work)), false);
}

/* ---- RX ---- */

/*
 * Length of the frame at the head of the socket, the socket's own header
 * included.  Return: the length, 0 if there is no frame, or a negative
 * errno if the socket failed to tell.
 */
/* The length tun/tap's recvmsg gives a queued frame, without vnet header. */
static int kvhost_net_rx_ptr_len(void *ptr)
{
	if (tun_is_xdp_frame(ptr))
		return tun_ptr_to_xdp(ptr)->len;
	/* tun and tap put a VLAN tag held aside back into the frame. */
	return __skb_array_len_with_tag(ptr);
}

/* The frame at the head of the batch, refilled from the queue if empty. */
static void *kvhost_net_rx_batch_head(struct kvhost_net_queue *q)
{
	if (q->rx_head == q->rx_tail) {
		q->rx_head = 0;
		q->rx_tail = ptr_ring_consume_batched(q->rx_ring, q->rx_batch,
						      KVHOST_NET_RX_BATCH);
		if (!q->rx_tail)
			return NULL;
	}
	return q->rx_batch[q->rx_head];
}

/*
 * The head frame for recvmsg to copy out (its msg_control), now ours to
 * hand over: tun and tap free it whatever recvmsg returns.  NULL for a
 * packet socket, whose recvmsg takes its own head frame.
 */
static void *kvhost_net_rx_take(struct kvhost_net_queue *q)
{
	if (!q->rx_ring)
		return NULL;
	return q->rx_batch[q->rx_head++];
}

/* What tun_ptr_free() does, without needing tun loaded for a tap queue. */
static void kvhost_net_rx_ptr_free(void *ptr)
{
	if (tun_is_xdp_frame(ptr))
		xdp_return_frame(tun_ptr_to_xdp(ptr));
	else
		kfree_skb(ptr);
}

/* Put the frames taken and not received back at the head of the queue. */
static void kvhost_net_rx_unbatch(struct kvhost_net_queue *q)
{
	if (q->rx_ring && q->rx_head != q->rx_tail)
		ptr_ring_unconsume(q->rx_ring, q->rx_batch + q->rx_head,
				   q->rx_tail - q->rx_head,
				   kvhost_net_rx_ptr_free);
	q->rx_head = 0;
	q->rx_tail = 0;
}

static int kvhost_net_rx_peek(struct kvhost_net_queue *q, struct socket *sock)
{
	u8 scratch[KVHOST_NET_SCRATCH];
	struct kvec kv = { .iov_base = scratch, .iov_len = sizeof(scratch) };
	struct msghdr msg = {};
	void *ptr;
	int ret;

	if (q->rx_ring) {
		ptr = kvhost_net_rx_batch_head(q);
		return ptr ? kvhost_net_rx_ptr_len(ptr) + q->sock_hlen : 0;
	}

	/* tun and tap: the length of the queued skb, without the vnet header. */
	if (sock->ops->peek_len) {
		ret = sock->ops->peek_len(sock);
		return ret > 0 ? ret + q->sock_hlen : ret;
	}
	/* Packet sockets: MSG_TRUNC makes recvmsg return the whole length. */
	iov_iter_kvec(&msg.msg_iter, ITER_DEST, &kv, 1, sizeof(scratch));
	ret = sock->ops->recvmsg(sock, &msg, sizeof(scratch),
				 MSG_PEEK | MSG_TRUNC | MSG_DONTWAIT);
	if (ret == -EAGAIN)
		return 0;
	/* An empty frame is still a frame: received (and dropped) like any. */
	return ret ?: 1;
}

/* Drop the frame at the head of the socket. */
static void kvhost_net_rx_discard(struct kvhost_net_queue *q,
				  struct socket *sock)
{
	u8 scratch[KVHOST_NET_SCRATCH];
	struct kvec kv = { .iov_base = scratch, .iov_len = sizeof(scratch) };
	struct msghdr msg = { .msg_control = kvhost_net_rx_take(q) };

	/* Not into an empty iterator: tun leaves the frame queued then. */
	iov_iter_kvec(&msg.msg_iter, ITER_DEST, &kv, 1, sizeof(scratch));
	sock->ops->recvmsg(sock, &msg, sizeof(scratch),
			   MSG_DONTWAIT | MSG_TRUNC);
}

/*
 * Take chains until they hold @need bytes: one chain, or up to
 * KVHOST_NET_RX_HEADS of them with mergeable buffers.
 * Return: the number of chains taken, their segments in q->rx_iov and
 * their ids in q->heads; 0 if the ring ran out first; -EMSGSIZE if the
 * frame can never fit; another negative errno if the queue is broken.
 * On 0 and -EMSGSIZE every chain taken has been given back.
 */
static int kvhost_net_rx_gather(struct kvhost_net_queue *q, u64 need,
				unsigned int *nsegs)
{
	struct kvhost_virtqueue *vq = &q->vq;
	unsigned int max = 1, n = 0, segs = 0;
	struct kvhost_chain chain;
	u64 have = 0;
	int ret;

	if (kvhost_vq_has_feature(vq, VIRTIO_NET_F_MRG_RXBUF))
		max = min_t(unsigned int, KVHOST_NET_RX_HEADS, vq->ring.num);

	while (have < need) {
		/*
		 * Too big for one chain, for all the chains of the ring or for
		 * what one frame may use: no refill will ever make it fit.
		 */
		if (n == max || segs > KVHOST_IOV_MAX) {
			ret = -EMSGSIZE;
			goto unpop;
		}
		ret = kvhost_vq_pop(vq, q->rx_iov + segs, KVHOST_IOV_MAX, &chain);
		if (ret < 0)
			return ret;
		if (!ret)
			goto unpop;
		if (chain.out_num) {
			/* RX buffers are device-writable only. */
			kvhost_vq_mark_broken(vq, -EINVAL);
			return -EINVAL;
		}
		q->heads[n].id = chain.id;
		q->heads[n].room = chain.in_len;
		n++;
		segs += chain.in_num;
		have += chain.in_len;
	}
	*nsegs = segs;
	return n;

unpop:
	kvhost_vq_unpop(vq, n);
	return ret;
}

/*
 * Write our part of the header: all of it if we add the header (no offload
 * information), else only num_buffers after the one the socket wrote.
 */
static int kvhost_net_rx_put_hdr(struct kvhost_net_queue *q,
				 struct iov_iter *it, unsigned int nbufs)
{
	struct virtio_net_hdr_mrg_rxbuf hdr = {};
	size_t n = sizeof(hdr.num_buffers);

	hdr.num_buffers = kvhost_net_cpu_to_virtio16(&q->vq, nbufs);
	if (q->vhost_hlen)
		return copy_to_iter(&hdr, q->vhost_hlen, it) == q->vhost_hlen ?
		       0 : -EFAULT;
	if (q->sock_hlen != sizeof(hdr))
		return 0;
	iov_iter_advance(it, offsetof(struct virtio_net_hdr_mrg_rxbuf, num_buffers));
	return copy_to_iter(&hdr.num_buffers, n, it) == n ? 0 : -EFAULT;
}

/*
 * Receive the head frame, @len bytes as peeked, into the chains gathered.
 * Return: the number of chains it used (0 if none: dropped or broken).
 */
static unsigned int kvhost_net_rx_recv(struct kvhost_net_queue *q, struct socket *sock,
			       int len, unsigned int nheads, unsigned int nsegs)
{
	struct kvhost_virtqueue *vq = &q->vq;
	struct msghdr msg = { .msg_control = kvhost_net_rx_take(q) };
	struct iov_iter hdr_it;
	unsigned int used, i;
	size_t left;
	int ret;

	/* Exactly the bytes peeked: the socket cannot write past them. */
	iov_iter_init(&msg.msg_iter, ITER_DEST, q->rx_iov, nsegs,
		      (size_t)len + q->vhost_hlen);
	hdr_it = msg.msg_iter;
	iov_iter_advance(&msg.msg_iter, q->vhost_hlen);

	ret = sock->ops->recvmsg(sock, &msg, len, MSG_DONTWAIT | MSG_TRUNC);
	if (ret <= 0 || ret > len || (unsigned int)ret < q->sock_hlen ||
	    (msg.msg_flags & MSG_TRUNC)) {
		/* Gone, failed or grown since the peek: nothing is used. */
		kvhost_vq_unpop(vq, nheads);
		if (ret == -EAGAIN)
			return 0;
		q->drops++;
		if (ret < 0)
			q->rejected++;
		return 0;
	}

	/* Fill the chains in order; those a shrunken frame leaves go back. */
	left = (size_t)ret + q->vhost_hlen;
	for (used = 0; left; used++) {
		q->heads[used].len = min_t(u64, q->heads[used].room, left);
		left -= q->heads[used].len;
	}
	kvhost_vq_unpop(vq, nheads - used);

	if (kvhost_net_rx_put_hdr(q, &hdr_it, used)) {
		kvhost_vq_mark_broken(vq, -EFAULT);
		return 0;
	}
	for (i = 0; i < used; i++)
		if (kvhost_vq_add_used(vq, q->heads[i].id, q->heads[i].len))
			return 0;
	q->packets++;
	q->bytes += ret - q->sock_hlen;
	return used;
}

static void kvhost_net_rx_run(struct kvhost_net_queue *q, bool kick)
{
	struct kvhost_virtqueue *vq = &q->vq;
	struct kvhost_net_busy busy = {};
	unsigned int pkts = 0, retries = 0, unflushed = 0, nsegs;
	bool rearm = false;
	struct socket *sock;
	u64 bytes = 0;
	int len, ret;

	mutex_lock(&vq->mutex);
	/* Off while we serve: armed again below once the socket is drained. */
	kvhost_poll_stop(&q->sock_poll);
	if (!kvhost_vq_ready(vq))
		goto unlock;
	if (kick)
		vq->stats.kicks++;
	sock = vq->private_data;
	kvhost_vq_disable_notify(vq);

	while (!kvhost_vq_broken(vq)) {
		len = kvhost_net_rx_peek(q, sock);
		if (!len) {
			if (kvhost_net_busy_spin(vq, &busy))
				continue;
			rearm = true;
			break;
		}
		if (len < 0) {
			/*
			 * The socket cannot give us its head frame.  A socket
			 * error is reported once and the next look succeeds;
			 * a frame it cannot describe in the vnet header (UFO,
			 * and UDP GSO on 6.1) fails every look: it is taken
			 * off the socket and counted, and RX goes on.
			 */
			if (kvhost_net_rx_peek(q, sock) < 0) {
				kvhost_net_rx_discard(q, sock);
				q->drops++;
				q->rejected++;
			}
			len = 0;
		} else {
			ret = kvhost_net_rx_gather(q, (u64)len + q->vhost_hlen,
						   &nsegs);
			if (!ret) {
				/* Short of buffers: the frame waits in the socket. */
				if (kvhost_net_busy_spin(vq, &busy))
					continue;
				/* Ask for a kick; buffers added meanwhile: look again now. */
				if (!kvhost_vq_enable_notify(vq))
					break;
				kvhost_vq_disable_notify(vq);
				/* Each look costs budget: trickled buffers cannot stretch the run. */
				if (kvhost_vq_budget_spent(vq, pkts + ++retries, bytes))
					break;
				continue;
			}
			if (ret == -EMSGSIZE) {
				kvhost_net_rx_discard(q, sock);
				q->drops++;
			} else if (ret < 0) {
				break;
			} else {
				unflushed += kvhost_net_rx_recv(q, sock, len,
								ret, nsegs);
			}
		}
		/* Dropped frames count too: tiny buffers cannot make us spin. */
		pkts++;
		bytes += len;
		if (kvhost_vq_budget_spent(vq, pkts + retries, bytes))
			break;
		/*
		 * Buffers, not frames, decide: a ring holds few big merged
		 * frames, and the driver refills while we go on.  Between
		 * frames, so a merged frame is always published whole.
		 */
		if (unflushed >= KVHOST_NET_USED_BATCH) {
			kvhost_vq_flush_used(vq);
			unflushed = 0;
		}
	}
	kvhost_vq_flush_used(vq);
	/* A frame that arrived since the last peek queues this run at once. */
	if (rearm)
		kvhost_poll_start(&q->sock_poll, q->file);
unlock:
	mutex_unlock(&vq->mutex);
}

static void kvhost_net_handle_rx_kick(struct kvhost_work *work)
{
	kvhost_net_rx_run(to_net_queue(kvhost_work_to_vq(work)), true);
}

static void kvhost_net_handle_rx_sock(struct kvhost_work *work)
{
	kvhost_net_rx_run(to_net_queue(kvhost_work_to_vq(work)), false);
}

/* ---- backends ---- */

/*
 * Call tun's or tap's @fn on @file without linking against them: with the
 * module not loaded the file cannot be theirs.  The module reference is
 * dropped at once; the file (whose f_op pins its module) keeps what @fn
 * returns alive while attached.  Return: @fn's result or ERR_PTR(-ENOENT).
 */
#define kvhost_net_tuntap_call(fn, file) ({				\
	typeof(&fn) fn_ = symbol_get(fn);				\
	void *ret_ = ERR_PTR(-ENOENT);					\
									\
	if (fn_) {							\
		ret_ = fn_(file);					\
		symbol_put(fn);						\
	}								\
	ret_;								\
})

/*
 * The socket behind a backend file and, for tun and tap, the queue of
 * frames it receives (@ring, else NULL).  tun and tap also take batched
 * sends (TUN_MSG_PTR); raw packet sockets get neither.
 */
static struct socket *kvhost_net_backend_socket(struct file *file,
						struct ptr_ring **ring)
{
	struct socket *sock;

	*ring = NULL;
	sock = sock_from_file(file);
	if (sock) {
		if (sock->sk->sk_family != AF_PACKET ||
		    sock->sk->sk_type != SOCK_RAW)
			return ERR_PTR(-EINVAL);
		return sock;
	}
	sock = kvhost_net_tuntap_call(tun_get_socket, file);
	if (!IS_ERR(sock)) {
		*ring = kvhost_net_tuntap_call(tun_get_tx_ring, file);
	} else {
		sock = kvhost_net_tuntap_call(tap_get_socket, file);
		if (IS_ERR(sock))
			return ERR_PTR(-ENOTSOCK);
		*ring = kvhost_net_tuntap_call(tap_get_ptr_ring, file);
	}
	if (IS_ERR(*ring))
		*ring = NULL;
	return sock;
}

/*
 * Take the backend off a queue and stop the ring.  Once this returns no
 * handler starts on the old socket; one already queued finds no backend.
 * Return: the old file, for the caller to put after a flush.
 */
static struct file *kvhost_net_detach(struct kvhost_net_queue *q)
{
	struct file *old;

	mutex_lock(&q->vq.mutex);
	kvhost_vq_stop(&q->vq);
	kvhost_poll_stop(&q->sock_poll);
	/* Frames taken off the queue go back to it, in order. */
	kvhost_net_rx_unbatch(q);
	q->rx_ring = NULL;
	q->vq.private_data = NULL;
	q->tx_can_batch = false;
	old = q->file;
	q->file = NULL;
	mutex_unlock(&q->vq.mutex);
	return old;
}

/*
 * Put @file on a detached queue and start the ring, as in-tree vhost-net
 * first touches the ring at SET_BACKEND.  On failure the queue stays
 * detached and @file is the caller's to put.
 */
static int kvhost_net_attach(struct kvhost_net_queue *q, struct file *file,
			     struct socket *sock, struct ptr_ring *ring)
{
	int ret;

	mutex_lock(&q->vq.mutex);
	q->file = file;
	q->vq.private_data = sock;
	q->tx_can_batch = ring != NULL;
	/* The RX batch needs its array; the TX queue has none. */
	q->rx_ring = q->rx_batch ? ring : NULL;
	/* Serves what is pending; RX arms its socket poll once drained. */
	ret = kvhost_vq_start(&q->vq);
	if (ret) {
		q->rx_ring = NULL;
		q->tx_can_batch = false;
		q->vq.private_data = NULL;
		q->file = NULL;
	}
	mutex_unlock(&q->vq.mutex);
	return ret;
}

/* Whether @file already serves a started ring on @q. */
static bool kvhost_net_attached(struct kvhost_net_queue *q, struct file *file)
{
	bool same;

	mutex_lock(&q->vq.mutex);
	same = file && file == q->file && q->vq.started;
	mutex_unlock(&q->vq.mutex);
	return same;
}

static long kvhost_net_set_backend(struct kvhost_net *n, void __user *argp)
{
	struct vhost_vring_file f;
	struct kvhost_net_queue *q;
	struct file *file = NULL, *old;
	struct ptr_ring *ring = NULL;
	struct socket *sock = NULL;
	long ret;

	if (copy_from_user(&f, argp, sizeof(f)))
		return -EFAULT;
	ret = kvhost_dev_check_owner(&n->dev);
	if (ret)
		return ret;
	if (f.index >= KVHOST_NET_VQ_MAX)
		return -ENOBUFS;
	q = &n->q[array_index_nospec(f.index, KVHOST_NET_VQ_MAX)];

	if (f.fd != VHOST_FILE_UNBIND) {
		file = fget(f.fd);
		if (!file)
			return -EBADF;
		sock = kvhost_net_backend_socket(file, &ring);
		if (IS_ERR(sock)) {
			ret = PTR_ERR(sock);
			goto put_file;
		}
	}
	/*
	 * The same backend on a running ring changes nothing; on a ring
	 * stopped by GET_VRING_BASE it restarts it with what was set since.
	 */
	if (kvhost_net_attached(q, file)) {
		ret = 0;
		goto put_file;
	}

	/* Stop, flush, swap, restart. */
	old = kvhost_net_detach(q);
	kvhost_vq_flush(&q->vq);
	if (old)
		fput(old);
	if (file) {
		ret = kvhost_net_attach(q, file, sock, ring);
		if (ret)
			goto put_file;
	}
	return 0;

put_file:
	if (file)
		fput(file);
	return ret;
}

/* Header lengths follow the features, as vhost-net's do. */
static void kvhost_net_set_hdr_len(struct kvhost_net *n)
{
	u64 features = n->dev.acked_features;
	unsigned int hlen = sizeof(struct virtio_net_hdr);
	bool ours = features & (1ULL << VHOST_NET_F_VIRTIO_NET_HDR);
	int i;

	if (features & ((1ULL << VIRTIO_F_VERSION_1) |
			(1ULL << VIRTIO_NET_F_MRG_RXBUF)))
		hlen = sizeof(struct virtio_net_hdr_mrg_rxbuf);
	for (i = 0; i < KVHOST_NET_VQ_MAX; i++) {
		struct kvhost_net_queue *q = &n->q[i];

		mutex_lock(&q->vq.mutex);
		q->vhost_hlen = ours ? hlen : 0;
		q->sock_hlen = ours ? 0 : hlen;
		mutex_unlock(&q->vq.mutex);
	}
}

/* Stop both queues, drop their backends and wait for the handlers. */
static void kvhost_net_stop(struct kvhost_net *n)
{
	struct file *old[KVHOST_NET_VQ_MAX];
	int i;

	kvhost_dev_stop(&n->dev);
	for (i = 0; i < KVHOST_NET_VQ_MAX; i++)
		old[i] = kvhost_net_detach(&n->q[i]);
	/* Socket wake-ups queued before the polls stopped have run. */
	kvhost_dev_flush(&n->dev);
	for (i = 0; i < KVHOST_NET_VQ_MAX; i++)
		if (old[i])
			fput(old[i]);
}

/* Back to the state of a fresh open, after kvhost_dev_cleanup(). */
static void kvhost_net_reset(struct kvhost_net *n)
{
	int i;

	for (i = 0; i < KVHOST_NET_VQ_MAX; i++) {
		struct kvhost_net_queue *q = &n->q[i];

		mutex_lock(&q->vq.mutex);
		q->vhost_hlen = 0;
		q->sock_hlen = 0;
		q->packets = 0;
		q->bytes = 0;
		q->drops = 0;
		q->rejected = 0;
		q->batched = 0;
		mutex_unlock(&q->vq.mutex);
	}
}

static long kvhost_net_get_stats(struct kvhost_net *n, void __user *argp)
{
	struct kvhost_net_stats stats = {};
	int i;

	for (i = 0; i < KVHOST_NET_VQ_MAX; i++) {
		struct kvhost_net_queue *q = &n->q[i];
		struct kvhost_net_vq_stats *s = &stats.vq[i];

		mutex_lock(&q->vq.mutex);
		s->packets = q->packets;
		s->bytes = q->bytes;
		s->drops = q->drops;
		s->rejected = q->rejected;
		s->batched = q->batched;
		s->kicks = q->vq.stats.kicks;
		s->calls = q->vq.stats.calls;
		s->requeues = q->vq.stats.requeues;
		s->broken = kvhost_vq_broken(&q->vq);
		s->last_err = -q->vq.ring.error;
		mutex_unlock(&q->vq.mutex);
	}
	return copy_to_user(argp, &stats, sizeof(stats)) ? -EFAULT : 0;
}

static long kvhost_net_ioctl(struct file *f, unsigned int ioctl,
			     unsigned long arg)
{
	struct kvhost_net *n = f->private_data;
	void __user *argp = (void __user *)arg;
	long ret;

	mutex_lock(&n->dev.mutex);
	switch (ioctl) {
	case VHOST_NET_SET_BACKEND:
		ret = kvhost_net_set_backend(n, argp);
		break;
	case VHOST_SET_FEATURES:
		ret = kvhost_dev_ioctl(&n->dev, ioctl, argp);
		if (!ret)
			kvhost_net_set_hdr_len(n);
		break;
	case VHOST_RESET_OWNER:
		ret = kvhost_dev_check_owner(&n->dev);
		if (ret)
			break;
		kvhost_net_stop(n);
		kvhost_dev_cleanup(&n->dev);
		kvhost_net_reset(n);
		break;
	case KVHOST_NET_GET_STATS:
		ret = kvhost_net_get_stats(n, argp);
		break;
	default:
		ret = kvhost_dev_ioctl(&n->dev, ioctl, argp);
		if (ret == -ENOIOCTLCMD)
			ret = kvhost_vring_ioctl(&n->dev, ioctl, argp);
		break;
	}
	mutex_unlock(&n->dev.mutex);
	return ret;
}

static int kvhost_net_open(struct inode *inode, struct file *f)
{
	struct kvhost_net_queue *rx, *tx;
	struct kvhost_net *n;
	int i, ret;

	n = kvzalloc(sizeof(*n), GFP_KERNEL_ACCOUNT);
	if (!n)
		return -ENOMEM;
	rx = &n->q[KVHOST_NET_VQ_RX];
	tx = &n->q[KVHOST_NET_VQ_TX];
	rx->rx_iov = kvmalloc_array(KVHOST_NET_RX_SEGS, sizeof(*rx->rx_iov),
				    GFP_KERNEL_ACCOUNT);
	if (!rx->rx_iov) {
		ret = -ENOMEM;
		goto free_net;
	}
	rx->heads = kvmalloc_array(KVHOST_NET_RX_HEADS, sizeof(*rx->heads),
				   GFP_KERNEL_ACCOUNT);
	if (!rx->heads) {
		ret = -ENOMEM;
		goto free_rx_iov;
	}
	rx->rx_batch = kvmalloc_array(KVHOST_NET_RX_BATCH,
				      sizeof(*rx->rx_batch), GFP_KERNEL_ACCOUNT);
	if (!rx->rx_batch) {
		ret = -ENOMEM;
		goto free_heads;
	}
	tx->tx_xdp = kvmalloc_array(KVHOST_NET_TX_BATCH, sizeof(*tx->tx_xdp),
				    GFP_KERNEL_ACCOUNT);
	if (!tx->tx_xdp) {
		ret = -ENOMEM;
		goto free_rx_batch;
	}

	rx->vq.handle_kick = kvhost_net_handle_rx_kick;
	tx->vq.handle_kick = kvhost_net_handle_tx_kick;
	for (i = 0; i < KVHOST_NET_VQ_MAX; i++)
		n->vqs[i] = &n->q[i].vq;
	ret = kvhost_dev_init(&n->dev, n->vqs, KVHOST_NET_VQ_MAX,
			      KVHOST_NET_FEATURES);
	if (ret)
		goto free_tx_xdp;
	kvhost_poll_init(&rx->sock_poll, kvhost_net_handle_rx_sock, EPOLLIN,
			 &rx->vq);
	kvhost_poll_init(&tx->sock_poll, kvhost_net_handle_tx_sock, EPOLLOUT,
			 &tx->vq);

	f->private_data = n;
	return 0;

free_tx_xdp:
	kvfree(tx->tx_xdp);
free_rx_batch:
	kvfree(rx->rx_batch);
free_heads:
	kvfree(rx->heads);
free_rx_iov:
	kvfree(rx->rx_iov);
free_net:
	kvfree(n);
	return ret;
}

static int kvhost_net_release(struct inode *inode, struct file *f)
{
	struct kvhost_net *n = f->private_data;
	struct kvhost_net_queue *rx = &n->q[KVHOST_NET_VQ_RX];
	struct kvhost_net_queue *tx = &n->q[KVHOST_NET_VQ_TX];

	mutex_lock(&n->dev.mutex);
	kvhost_net_stop(n);
	kvhost_dev_cleanup(&n->dev);
	mutex_unlock(&n->dev.mutex);
	kvhost_dev_exit(&n->dev);
	/* Fragments still in skbs keep their own page references. */
	kvhost_net_frag_pool_drain(&tx->tx_frags);
	kvfree(tx->tx_xdp);
	kvfree(rx->rx_batch);
	kvfree(rx->heads);
	kvfree(rx->rx_iov);
	kvfree(n);
	return 0;
}

/* fdinfo: the core's lines, then each queue's backend file. */
static void kvhost_net_show_fdinfo(struct seq_file *m, struct file *f)
{
	struct kvhost_net *n = f->private_data;
	int i;

	kvhost_dev_show_fdinfo(&n->dev, m);
	if (mutex_lock_killable(&n->dev.mutex))
		return;
	for (i = 0; i < KVHOST_NET_VQ_MAX; i++) {
		struct kvhost_net_queue *q = &n->q[i];

		seq_printf(m, "kvhost-net-backend:\t%d ", i);
		mutex_lock(&q->vq.mutex);
		if (q->file)
			seq_file_path(m, q->file, " \t\n\\");
		else
			seq_puts(m, "none");
		mutex_unlock(&q->vq.mutex);
		seq_putc(m, '\n');
	}
	mutex_unlock(&n->dev.mutex);
}

static const struct file_operations kvhost_net_fops = {
	.owner		= THIS_MODULE,
	.open		= kvhost_net_open,
	.release	= kvhost_net_release,
	.unlocked_ioctl	= kvhost_net_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.llseek		= noop_llseek,
	.show_fdinfo	= kvhost_net_show_fdinfo,
};

static struct miscdevice kvhost_net_misc = {
	.minor	= MISC_DYNAMIC_MINOR,
	.name	= "kvhost-net",
	.fops	= &kvhost_net_fops,
};

module_misc_device(kvhost_net_misc);

MODULE_LICENSE("GPL");
MODULE_VERSION(KVHOST_VERSION);
MODULE_DESCRIPTION("kvhost-net: vhost-net compatible in-kernel virtio-net datapath");
