// SPDX-License-Identifier: GPL-2.0
/* vu_client: a vhost-user front-end for the tests (see vu_client.h). */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include "kvdev.h"
#include "vu_client.h"

int vu_connect(struct vu_client *c, const char *path, int timeout_ms)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	uint64_t deadline = kvdev_now_ms() + timeout_ms;
	int err;

	memset(c, 0, sizeof(*c));
	if (strlen(path) >= sizeof(sun.sun_path))
		return -ENAMETOOLONG;
	strcpy(sun.sun_path, path);
	for (;;) {
		c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (c->fd < 0)
			return -errno;
		if (!connect(c->fd, (struct sockaddr *)&sun, sizeof(sun)))
			return 0;
		err = -errno;
		close(c->fd);
		c->fd = -1;
		if ((err != -ENOENT && err != -ECONNREFUSED) || kvdev_now_ms() >= deadline)
			return err;
		usleep(20000);
	}
}

void vu_disconnect(struct vu_client *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

int vu_send_raw(struct vu_client *c, const struct vu_hdr *h, const void *payload,
		size_t len, const int *fds, unsigned int nfds)
{
	union {
		char buf[CMSG_SPACE(16 * sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov[2] = {
		{ .iov_base = (void *)h, .iov_len = sizeof(*h) },
		{ .iov_base = (void *)payload, .iov_len = len },
	};
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = len ? 2 : 1 };
	ssize_t n;

	if (nfds > 16)
		return -EINVAL;
	if (nfds) {
		struct cmsghdr *cm;

		memset(&ctl, 0, sizeof(ctl));
		mh.msg_control = ctl.buf;
		mh.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(nfds * sizeof(int));
		memcpy(CMSG_DATA(cm), fds, nfds * sizeof(int));
	}
	n = sendmsg(c->fd, &mh, MSG_NOSIGNAL);
	if (n < 0)
		return -errno;
	return (size_t)n == sizeof(*h) + len ? 0 : -EIO;
}

static int recv_full(int fd, void *buf, size_t len, uint64_t deadline)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	size_t got = 0;
	ssize_t n;

	while (got < len) {
		int left = (int)(deadline - kvdev_now_ms());

		if (left <= 0)
			return -ETIMEDOUT;
		if (poll(&p, 1, left) <= 0)
			continue;
		n = recv(fd, (char *)buf + got, len - got, MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n < 0)
			return errno == ECONNRESET ? -ECONNRESET : -errno;
		if (!n)
			return -ECONNRESET;
		got += n;
	}
	return 0;
}

int vu_recv(struct vu_client *c, struct vu_msg *m, int timeout_ms)
{
	uint64_t deadline = kvdev_now_ms() + timeout_ms;
	int ret = recv_full(c->fd, &m->hdr, sizeof(m->hdr), deadline);

	if (ret)
		return ret;
	if (m->hdr.flags != (VU_VERSION | VU_FLAG_REPLY) || m->hdr.size > sizeof(m->p))
		return -EPROTO;
	return recv_full(c->fd, &m->p, m->hdr.size, deadline);
}

int vu_outcome(struct vu_client *c, uint32_t request, int timeout_ms)
{
	struct vu_msg m;
	int ret = vu_recv(c, &m, timeout_ms);

	if (ret)
		return ret;
	if ((request && m.hdr.request != request) || m.hdr.size != sizeof(uint64_t))
		return -EPROTO;
	if (m.p.u64) {
		c->ack = m.p.u64;
		return -EREMOTEIO;
	}
	return 0;
}

static bool reply_ack(const struct vu_client *c)
{
	return c->protocol & (1ULL << VU_PF_REPLY_ACK);
}

int vu_request(struct vu_client *c, uint32_t request, const void *payload,
	       uint32_t size, const int *fds, unsigned int nfds)
{
	struct vu_hdr h = {
		.request = request, .flags = VU_VERSION, .size = size,
	};
	int ret;

	if (reply_ack(c))
		h.flags |= VU_FLAG_NEED_REPLY;
	ret = vu_send_raw(c, &h, payload, size, fds, nfds);
	if (ret || !reply_ack(c))
		return ret;
	return vu_outcome(c, request, VU_CLIENT_WAIT_MS);
}

/* Send @request with @size bytes of @m's payload; the reply into @m. */
static int vu_call(struct vu_client *c, uint32_t request, struct vu_msg *m,
		   uint32_t size)
{
	struct vu_hdr h = { .request = request, .flags = VU_VERSION, .size = size };
	int ret = vu_send_raw(c, &h, &m->p, size, NULL, 0);

	if (!ret)
		ret = vu_recv(c, m, VU_CLIENT_WAIT_MS);
	if (!ret && m->hdr.request != request)
		ret = -EPROTO;
	return ret;
}

int vu_get_u64(struct vu_client *c, uint32_t request, uint64_t *v)
{
	struct vu_msg m;
	int ret = vu_call(c, request, &m, 0);

	if (!ret && m.hdr.size != sizeof(*v))
		ret = -EPROTO;
	if (!ret)
		*v = m.p.u64;
	return ret;
}

int vu_set_u64(struct vu_client *c, uint32_t request, uint64_t v)
{
	return vu_request(c, request, &v, sizeof(v), NULL, 0);
}

int vu_set_state(struct vu_client *c, uint32_t request, uint32_t index, uint32_t num)
{
	struct vu_vring_state s = { .index = index, .num = num };

	return vu_request(c, request, &s, sizeof(s), NULL, 0);
}

int vu_get_vring_base(struct vu_client *c, uint32_t index, uint32_t *base)
{
	struct vu_msg m = { .p.state = { .index = index } };
	int ret = vu_call(c, VU_GET_VRING_BASE, &m, sizeof(m.p.state));

	if (!ret && (m.hdr.size != sizeof(m.p.state) || m.p.state.index != index))
		ret = -EPROTO;
	if (!ret)
		*base = m.p.state.num;
	return ret;
}

int vu_set_vring_fd(struct vu_client *c, uint32_t request, uint32_t index, int fd)
{
	uint64_t v = index | (fd < 0 ? VU_VRING_NOFD : 0);

	return vu_request(c, request, &v, sizeof(v), &fd, fd < 0 ? 0 : 1);
}

int vu_set_vring_addr(struct vu_client *c, uint32_t index, uint64_t desc,
		      uint64_t avail, uint64_t used)
{
	struct vu_vring_addr a = {
		.index = index, .desc = desc, .avail = avail, .used = used,
	};

	return vu_request(c, VU_SET_VRING_ADDR, &a, sizeof(a), NULL, 0);
}

int vu_get_config(struct vu_client *c, uint32_t offset, uint32_t size, void *out)
{
	struct vu_msg m = { .p.config = { .offset = offset, .size = size } };
	int ret;

	if (size > VU_CONFIG_MAX)
		return -EINVAL;
	ret = vu_call(c, VU_GET_CONFIG, &m, VU_CONFIG_HDR + size);
	if (!ret && (m.hdr.size != VU_CONFIG_HDR + size || m.p.config.size != size ||
		     m.p.config.offset != offset))
		ret = -EPROTO;
	if (!ret)
		memcpy(out, m.p.config.data, size);
	return ret;
}

int vu_set_mem_table(struct vu_client *c, const struct vu_region *r,
		     const int *fds, unsigned int n)
{
	struct vu_mem_table t = { .nregions = n };

	if (n > VU_MEM_REGIONS_MAX)
		return -EINVAL;
	memcpy(t.region, r, n * sizeof(*r));
	return vu_request(c, VU_SET_MEM_TABLE, &t, VU_MEM_TABLE_HDR + n * sizeof(*r),
			  fds, n);
}

int vu_add_mem_reg(struct vu_client *c, const struct vu_region *r, int fd)
{
	struct vu_mem_reg m = { .region = *r };

	return vu_request(c, VU_ADD_MEM_REG, &m, sizeof(m), &fd, 1);
}
