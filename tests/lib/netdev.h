/* SPDX-License-Identifier: GPL-2.0 */
/*
 * netdev: what a vhost-net test or benchmark needs around the device:
 * numbered test frames, a tap device as backend, and the "wire", an
 * AF_PACKET socket bound to the tap.  What the guest sends is injected by
 * the tap into the host stack, where the wire captures it; what the wire
 * sends the host transmits on the tap, where the device receives it.
 *
 * Functions returning int return 0 (or a count / fd) or -errno.
 */
#ifndef KV_NETDEV_H
#define KV_NETDEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <net/if.h>
#include <linux/if_ether.h>
#include <linux/virtio_net.h>

#define WIRE_TYPE	0x88b5		/* local experimental ethertype */
#define FRAME_MAX	65535
#define TAP_MTU		(65535 - ETH_HLEN)	/* tun's largest */

/*
 * A test frame of @len bytes with sequence number @seq.  @tcp: an
 * IPv4/TCP frame a GSO header can describe, else a plain frame of
 * WIRE_TYPE.  The rest is a pattern derived from @seq.
 */
void frame_make(uint8_t *f, size_t len, uint32_t seq, bool tcp);
/*
 * Renumber a frame made by frame_make() (only the number changes, so only
 * frames made for @seq pass frame_check() for it).
 */
void frame_set_seq(uint8_t *f, size_t len, uint32_t seq);
/* The sequence number of a frame, or -1 if it is not one of ours. */
int64_t frame_seq(const uint8_t *f, size_t len);
/* Whether @f is frame_make(@want_len, @seq, @tcp); else why not in @why. */
bool frame_check(const uint8_t *f, size_t len, size_t want_len,
		 uint32_t seq, bool tcp, char *why, size_t why_len);
/* GSO TCPv4 header (gso_size 1448) for a TCP frame made by frame_make(). */
void hdr_gso(struct virtio_net_hdr_mrg_rxbuf *h);

struct tapdev {
	int fd;
	int ifindex;
	char name[IFNAMSIZ];
};

/*
 * A tap, up, with a large MTU and IPv6 off.  @vnet: IFF_VNET_HDR of
 * @hdrsz bytes with checksum and TSO offloads on.
 */
int tapdev_open(struct tapdev *t, bool vnet, int hdrsz);
void tapdev_close(struct tapdev *t);

/*
 * Links made with rtnetlink: a veth pair @name/@peer; a macvtap @name on
 * @lower in macvlan @mode (MACVLAN_MODE_*); delete @name.  -EOPNOTSUPP
 * when the kernel lacks the link kind.
 */
int link_add_veth(const char *name, const char *peer);
int link_add_macvtap(const char *name, const char *lower, uint32_t mode);
int link_del(const char *name);
/* IPv6 off (no chatter), MTU @mtu, up; return the ifindex. */
int link_up(const char *name, int mtu);

/* An AF_PACKET socket on @ifindex: sends on it, captures what it receives. */
int wire_open(int ifindex);
/*
 * Next frame of ours from @fd (a wire socket or a tap fd), within
 * @timeout_ms.  Return its length, 0 on timeout, -errno on error.
 */
ssize_t wire_recv(int fd, uint8_t *buf, size_t cap, int timeout_ms);
/* Send one frame, retrying while the socket is full. */
int wire_send(int fd, const uint8_t *f, size_t len);

#endif /* KV_NETDEV_H */
