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
#include <linux/if_link.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
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
	int fd, ret;

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
	ret = link_up(t->name, TAP_MTU);
	if (ret < 0) {
		close(fd);
		return ret;
	}
	t->ifindex = ret;
	t->fd = fd;
	return 0;

fail:
	ret = -errno;
	close(fd);
	return ret;
}

/* ---- links ---- */

/* IPv6 off (no chatter), MTU @mtu, up; return the ifindex. */
int link_up(const char *name, int mtu)
{
	struct ifreq ifr;
	char path[128];
	int s, ret;

	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6",
		 name);
	s = open(path, O_WRONLY | O_CLOEXEC);
	if (s >= 0) {
		if (write(s, "1", 1) != 1) {
			/* Best effort: frame_seq() filters any chatter. */
		}
		close(s);
	}

	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
	ifr.ifr_mtu = mtu;
	ret = ioctl(s, SIOCSIFMTU, &ifr);
	if (!ret)
		ret = ioctl(s, SIOCGIFFLAGS, &ifr);
	ifr.ifr_flags |= IFF_UP;
	if (!ret)
		ret = ioctl(s, SIOCSIFFLAGS, &ifr);
	if (!ret)
		ret = ioctl(s, SIOCGIFINDEX, &ifr);
	ret = ret ? -errno : ifr.ifr_ifindex;
	close(s);
	return ret;
}

struct nlreq {
	struct nlmsghdr n;
	struct ifinfomsg i;
	char attrs[512];
};

static void nl_init(struct nlreq *r, int type, int flags)
{
	memset(r, 0, sizeof(*r));
	r->n.nlmsg_len = NLMSG_LENGTH(sizeof(r->i));
	r->n.nlmsg_type = type;
	r->n.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	r->i.ifi_family = AF_UNSPEC;
}

/* Append an attribute (a nest if @data is NULL and @len 0); NULL if full. */
static struct rtattr *nl_put(struct nlreq *r, int type, const void *data,
			     size_t len)
{
	struct rtattr *a = (struct rtattr *)((char *)r + NLMSG_ALIGN(r->n.nlmsg_len));
	size_t need = NLMSG_ALIGN(r->n.nlmsg_len) + RTA_SPACE(len);

	if (need > sizeof(*r))
		return NULL;
	a->rta_type = type;
	a->rta_len = RTA_LENGTH(len);
	if (len)
		memcpy(RTA_DATA(a), data, len);
	r->n.nlmsg_len = need;
	return a;
}

static void nl_end(struct nlreq *r, struct rtattr *nest)
{
	nest->rta_len = (char *)r + r->n.nlmsg_len - (char *)nest;
}

static bool nl_put_name(struct nlreq *r, int type, const char *name)
{
	return nl_put(r, type, name, strlen(name) + 1);
}

/* Send @r, return the kernel's answer: 0 or -errno. */
static int nl_talk(struct nlreq *r)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	union {
		struct nlmsghdr n;
		char buf[4096];
	} ans;
	struct nlmsgerr *e;
	ssize_t n;
	int s, ret;

	if (r->n.nlmsg_len > sizeof(*r))
		return -ENOSPC;
	s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (s < 0)
		return -errno;
	r->n.nlmsg_seq = 1;
	if (sendto(s, r, r->n.nlmsg_len, 0, (struct sockaddr *)&sa,
		   sizeof(sa)) < 0) {
		ret = -errno;
		goto out;
	}
	n = recv(s, &ans, sizeof(ans), 0);
	if (n < 0) {
		ret = -errno;
		goto out;
	}
	if (!NLMSG_OK(&ans.n, (size_t)n) || ans.n.nlmsg_type != NLMSG_ERROR ||
	    ans.n.nlmsg_len < NLMSG_LENGTH(sizeof(*e))) {
		ret = -EPROTO;
		goto out;
	}
	e = NLMSG_DATA(&ans.n);
	ret = e->error;
out:
	close(s);
	return ret;
}

int link_add_veth(const char *name, const char *peer)
{
	struct ifinfomsg pi = { .ifi_family = AF_UNSPEC };
	struct rtattr *info, *data, *pa;
	struct nlreq r;

	nl_init(&r, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
	nl_put_name(&r, IFLA_IFNAME, name);
	info = nl_put(&r, IFLA_LINKINFO, NULL, 0);
	nl_put_name(&r, IFLA_INFO_KIND, "veth");
	data = nl_put(&r, IFLA_INFO_DATA, NULL, 0);
	pa = nl_put(&r, VETH_INFO_PEER, &pi, sizeof(pi));
	if (!info || !data || !pa || !nl_put_name(&r, IFLA_IFNAME, peer))
		return -ENOSPC;
	nl_end(&r, pa);
	nl_end(&r, data);
	nl_end(&r, info);
	return nl_talk(&r);
}

int link_add_macvtap(const char *name, const char *lower, uint32_t mode)
{
	struct rtattr *info, *data;
	struct nlreq r;
	int lidx = if_nametoindex(lower);

	if (!lidx)
		return -errno;
	nl_init(&r, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
	nl_put_name(&r, IFLA_IFNAME, name);
	nl_put(&r, IFLA_LINK, &lidx, sizeof(lidx));
	info = nl_put(&r, IFLA_LINKINFO, NULL, 0);
	nl_put_name(&r, IFLA_INFO_KIND, "macvtap");
	data = nl_put(&r, IFLA_INFO_DATA, NULL, 0);
	if (!info || !data || !nl_put(&r, IFLA_MACVLAN_MODE, &mode, sizeof(mode)))
		return -ENOSPC;
	nl_end(&r, data);
	nl_end(&r, info);
	return nl_talk(&r);
}

int link_del(const char *name)
{
	struct nlreq r;

	nl_init(&r, RTM_DELLINK, 0);
	if (!nl_put_name(&r, IFLA_IFNAME, name))
		return -ENOSPC;
	return nl_talk(&r);
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
