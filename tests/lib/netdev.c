// SPDX-License-Identifier: GPL-2.0
/*
 * netdev: test frames, a tap device and the "wire" (an AF_PACKET socket
 * bound to the tap), shared by the vhost-net test (t_net) and benchmark
 * (bench/net_bench).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include "kvdev.h"
#include "netdev.h"

static const uint8_t mac_dst[ETH_ALEN] = { 0x02, 0x6b, 0x76, 0x68, 0x00, 0x02 };
static const uint8_t mac_src[ETH_ALEN] = { 0x02, 0x6b, 0x76, 0x68, 0x00, 0x01 };

/* ---- frames ---- */

static uint8_t pattern(uint32_t seq, size_t i)
{
	return (uint8_t)(seq * 31 + i * 7 + (i >> 8));
}

/*
 * A test frame of @len bytes.  @tcp: an IPv4/TCP frame a GSO header can
 * describe, else a plain frame of WIRE_TYPE.  The sequence number follows
 * the headers; the rest is pattern.
 */
void frame_make(uint8_t *f, size_t len, uint32_t seq, bool tcp)
{
	size_t i, off = ETH_HLEN;

	for (i = 0; i < len; i++)
		f[i] = pattern(seq, i);
	memcpy(f, mac_dst, ETH_ALEN);
	memcpy(f + ETH_ALEN, mac_src, ETH_ALEN);
	if (tcp) {
		uint8_t *ip = f + ETH_HLEN, *th = ip + 20;
		uint16_t tot = htons((uint16_t)(len - ETH_HLEN));

		f[12] = 0x08;
		f[13] = 0x00;
		memset(ip, 0, 40);
		ip[0] = 0x45;
		memcpy(ip + 2, &tot, 2);
		ip[6] = 0x40;		/* DF */
		ip[8] = 64;
		ip[9] = 6;		/* TCP */
		ip[12] = 10; ip[15] = 1;
		ip[16] = 10; ip[19] = 2;
		th[0] = 0x04; th[1] = 0xd2;
		th[2] = 0x16; th[3] = 0x2e;
		th[12] = 5 << 4;
		th[13] = 0x18;		/* PSH ACK */
		th[14] = 0xff; th[15] = 0xff;
		off = ETH_HLEN + 40;
	} else {
		f[12] = WIRE_TYPE >> 8;
		f[13] = WIRE_TYPE & 0xff;
	}
	if (len >= off + 4)
		memcpy(f + off, &seq, 4);
}

/* Where frame_make() put the sequence number of frame @f. */
static size_t frame_seq_off(const uint8_t *f)
{
	return (f[12] == 0x08 && f[13] == 0x00) ? ETH_HLEN + 40 : ETH_HLEN;
}

/* Renumber a frame made by frame_make(); only the sequence number changes. */
void frame_set_seq(uint8_t *f, size_t len, uint32_t seq)
{
	size_t off = frame_seq_off(f);

	if (len >= off + 4)
		memcpy(f + off, &seq, 4);
}

/* The sequence number of a frame, or -1 if it is not one of ours. */
int64_t frame_seq(const uint8_t *f, size_t len)
{
	size_t off;
	uint32_t seq;

	if (len < ETH_HLEN + 4 || memcmp(f + ETH_ALEN, mac_src, ETH_ALEN))
		return -1;
	off = frame_seq_off(f);
	if (len < off + 4)
		return -1;
	memcpy(&seq, f + off, 4);
	return seq;
}

bool frame_check(const uint8_t *f, size_t len, size_t want_len,
		 uint32_t seq, bool tcp, char *why, size_t why_len)
{
	static __thread uint8_t want[FRAME_MAX];
	size_t i;

	if (len != want_len) {
		snprintf(why, why_len, "frame %u: %zu bytes, want %zu", seq,
			 len, want_len);
		return false;
	}
	frame_make(want, want_len, seq, tcp);
	for (i = 0; i < len; i++) {
		if (f[i] != want[i]) {
			snprintf(why, why_len,
				 "frame %u (%zu bytes): byte %zu is %#x, want %#x",
				 seq, len, i, f[i], want[i]);
			return false;
		}
	}
	return true;
}

/* GSO header for a TCP frame made by frame_make(). */
void hdr_gso(struct virtio_net_hdr_mrg_rxbuf *h)
{
	memset(h, 0, sizeof(*h));
	h->hdr.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	h->hdr.gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
	h->hdr.hdr_len = htole16(ETH_HLEN + 40);
	h->hdr.gso_size = htole16(1448);
	h->hdr.csum_start = htole16(ETH_HLEN + 20);
	h->hdr.csum_offset = htole16(16);
}

/* ---- tap and wire ---- */

void tapdev_close(struct tapdev *t)
{
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
}

/* A tap, up, with a large MTU and IPv6 off (no chatter on the wire). */
int tapdev_open(struct tapdev *t, bool vnet, int hdrsz)
{
	struct ifreq ifr;
	char path[128];
	int s, fd, ret;

	t->fd = -1;
	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | (vnet ? IFF_VNET_HDR : 0);
	snprintf(ifr.ifr_name, IFNAMSIZ, "kvtn%%d");
	if (ioctl(fd, TUNSETIFF, &ifr) < 0)
		goto fail;
	snprintf(t->name, IFNAMSIZ, "%s", ifr.ifr_name);
	if (vnet) {
		if (ioctl(fd, TUNSETVNETHDRSZ, &hdrsz) < 0)
			goto fail;
		if (ioctl(fd, TUNSETOFFLOAD,
			  TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6) < 0)
			goto fail;
	}
	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6",
		 t->name);
	s = open(path, O_WRONLY | O_CLOEXEC);
	if (s >= 0) {
		if (write(s, "1", 1) != 1) {
			/* Best effort: frame_seq() filters any chatter. */
		}
		close(s);
	}

	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		goto fail;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", t->name);
	ifr.ifr_mtu = TAP_MTU;
	ret = ioctl(s, SIOCSIFMTU, &ifr);
	if (!ret)
		ret = ioctl(s, SIOCGIFFLAGS, &ifr);
	ifr.ifr_flags |= IFF_UP;
	if (!ret)
		ret = ioctl(s, SIOCSIFFLAGS, &ifr);
	if (!ret)
		ret = ioctl(s, SIOCGIFINDEX, &ifr);
	if (ret) {
		ret = -errno;
		close(s);
		close(fd);
		return ret;
	}
	t->ifindex = ifr.ifr_ifindex;
	close(s);
	t->fd = fd;
	return 0;

fail:
	ret = -errno;
	close(fd);
	return ret;
}

/* An AF_PACKET socket on @ifindex: sends on it, captures what it receives. */
int wire_open(int ifindex)
{
	struct sockaddr_ll sll = {
		.sll_family = AF_PACKET,
		.sll_protocol = htons(ETH_P_ALL),
		.sll_ifindex = ifindex,
	};
	int one = 1, buf = 64 << 20;
	int fd, ret;

	fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0 ||
	    setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one,
		       sizeof(one)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof(buf)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &buf, sizeof(buf)) < 0) {
		ret = -errno;
		close(fd);
		return ret;
	}
	return fd;
}

/*
 * Next frame of ours from @fd (a wire socket or a tap fd), within
 * @timeout_ms.  Return its length, 0 on timeout, -errno on error.
 */
ssize_t wire_recv(int fd, uint8_t *buf, size_t cap, int timeout_ms)
{
	uint64_t deadline = kvdev_now_ms() + timeout_ms;
	struct pollfd p = { .fd = fd, .events = POLLIN };
	ssize_t n;

	for (;;) {
		int left = (int)(deadline - kvdev_now_ms());

		if (left < 0)
			return 0;
		n = poll(&p, 1, left);
		if (n < 0 && errno != EINTR)
			return -errno;
		if (n <= 0)
			continue;
		/* read(), not recv(): @fd may be a tap. */
		n = read(fd, buf, cap);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n < 0)
			return -errno;
		if (frame_seq(buf, n) >= 0)
			return n;
	}
}

int wire_send(int fd, const uint8_t *f, size_t len)
{
	for (;;) {
		if (send(fd, f, len, 0) == (ssize_t)len)
			return 0;
		if (errno != ENOBUFS && errno != EAGAIN)
			return -errno;
		usleep(100);
	}
}
