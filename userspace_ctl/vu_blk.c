// SPDX-License-Identifier: GPL-2.0
/*
 * kvhostctl blk: a vhost-user-blk backend whose datapath is /dev/kvhost-blk.
 *
 * It listens on a Unix socket and serves one front-end (QEMU) connection at
 * a time, forever.  For each connection it opens a fresh /dev/kvhost-blk
 * with the store attached, translates the front-end's messages into the
 * device's ioctls (guest memory fds are mapped here and the kernel is given
 * our own addresses), and closes the device when the connection ends: the
 * kernel then completes every request in flight, so a reconnecting
 * front-end resumes from the guest's used index.
 *
 * The front-end is not trusted: every header field, payload and fd count
 * is checked; a malformed message closes the connection, a well-formed one
 * with bad values gets an error ack (REPLY_ACK with NEED_REPLY) or, if the
 * front-end could not learn of the failure otherwise, closes it too.  A
 * message body must arrive within KVHOST_VU_TIMEOUT_MS (default 10 s) of
 * its first byte.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include "kvhost.h"
#include "vu_blk.h"
#include "vu_proto.h"

#define BLK_DEV_PATH		"/dev/kvhost-blk"
#define VU_QUEUES_MAX		64
#define VU_SLOTS_MAX		32	/* GET_MAX_MEM_SLOTS; the kernel takes 64 */
#define VU_FDS_MAX		(VU_MEM_REGIONS_MAX + 8)	/* room to see extras */
#define VU_RING_MAX		32768
#define VU_TIMEOUT_MS_DEFAULT	10000

#define BIT(n)			(1ULL << (n))
#define VU_PROTOCOL_OFFER	(BIT(VU_PF_MQ) | BIT(VU_PF_REPLY_ACK) | \
				 BIT(VU_PF_CONFIG) | BIT(VU_PF_CONFIGURE_MEM_SLOTS))

static const char *prog = "kvhostctl blk";

struct blk_opts {
	const char *socket;
	const char *image;		/* --image, or */
	const char *device;		/* --device */
	bool readonly, direct;
	unsigned int queues;
	bool has_serial;
	uint8_t serial[KVHOST_BLK_ID_BYTES];
};

/* One mapped guest memory region. */
struct vu_map {
	struct vu_region r;		/* as the front-end sent it */
	void *base;			/* our mmap */
	size_t len;
	uint8_t *start;			/* the region's first byte, here */
	dev_t dev;			/* the file, to recognise it again */
	ino_t ino;
};

struct vu_queue {
	bool num_set, addr_set;
	bool kicked;			/* SET_VRING_KICK since the last stop */
	bool enabled;
	bool running;			/* KVHOST_BLK_RUN_QUEUE 1 given */
	uint32_t num;
};

/* A received message and the fds that came with it (-1 once taken). */
struct vu_in {
	struct vu_msg m;
	int fds[VU_FDS_MAX];
	unsigned int nfds;
	bool fds_truncated;
};

struct vu_server {
	struct blk_opts o;
	int store_fd, listen_fd, conn_fd, dev_fd;
	int timeout_ms;
	sigset_t wait_mask;		/* the mask to wait with: signals open */
	uint64_t protocol;		/* negotiated protocol features */
	bool owner;
	struct vu_map map[VU_SLOTS_MAX];
	unsigned int nmaps;
	struct vu_queue q[VU_QUEUES_MAX];
};

static volatile sig_atomic_t stop_requested;

static void on_stop_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

/* ---- arguments ---- */

void blk_usage_line(FILE *f, const char *tool)
{
	fprintf(f, "       %s blk --socket PATH (--image FILE | --device BLKDEV) [--readonly]\n"
		"              [--queues N] [--serial S] [--direct]\n", tool);
}

static void blk_help(FILE *f)
{
	fprintf(f,
		"usage: %s --socket PATH (--image FILE | --device BLKDEV) [--readonly]\n"
		"           [--queues N] [--serial S] [--direct]\n"
		"\n"
		"Serve a vhost-user-blk device on the Unix socket PATH, with the virtio\n"
		"datapath in /dev/kvhost-blk (modprobe kvhost_blk first).  QEMU connects with\n"
		"  -chardev socket,path=PATH,id=c0 -device vhost-user-blk-pci,chardev=c0,num-queues=N\n"
		"and shared fd-backed guest memory (memory-backend-memfd,share=on).\n"
		"Connections are served one after the other until SIGTERM or SIGINT.\n"
		"\n"
		"  --socket PATH    the socket to listen on (a stale socket there is replaced)\n"
		"  --image FILE     a regular file as the disk\n"
		"  --device BLKDEV  a block device as the disk\n"
		"  --readonly       open the store read-only and offer VIRTIO_BLK_F_RO\n"
		"  --queues N       request queues, 1..%d (default 1)\n"
		"  --serial S       what VIRTIO_BLK_T_GET_ID returns, at most %d bytes\n"
		"  --direct         open the store with O_DIRECT\n"
		"\n"
		"KVHOST_VU_TIMEOUT_MS: how long a message may take to arrive once its first\n"
		"byte did (default %d); a slower peer is disconnected.\n"
		"Exit status: 0 after SIGTERM/SIGINT, 1 on failure, 2 on a usage error.\n",
		prog, VU_QUEUES_MAX, KVHOST_BLK_ID_BYTES, VU_TIMEOUT_MS_DEFAULT);
}

static int usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "%s: ", prog);
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n(%s --help tells the options)\n", prog);
	return 2;
}

static int parse_queues(const char *s, unsigned int *n)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 1 || v > VU_QUEUES_MAX)
		return -1;
	*n = v;
	return 0;
}

/* The value of option @argv[*i], or NULL (then a usage error). */
static const char *opt_value(int argc, char **argv, int *i)
{
	if (*i + 1 >= argc)
		return NULL;
	return argv[++*i];
}

static int parse_one(struct blk_opts *o, int argc, char **argv, int *i)
{
	const char *a = argv[*i], *v = NULL;

	if (!strcmp(a, "--readonly")) {
		o->readonly = true;
		return 0;
	}
	if (!strcmp(a, "--direct")) {
		o->direct = true;
		return 0;
	}
	if (strcmp(a, "--socket") && strcmp(a, "--image") && strcmp(a, "--device") &&
	    strcmp(a, "--queues") && strcmp(a, "--serial"))
		return usage_error("unknown argument '%s'", a);
	v = opt_value(argc, argv, i);
	if (!v)
		return usage_error("%s needs a value", a);
	if (!strcmp(a, "--socket")) {
		o->socket = v;
	} else if (!strcmp(a, "--image")) {
		o->image = v;
	} else if (!strcmp(a, "--device")) {
		o->device = v;
	} else if (!strcmp(a, "--queues")) {
		if (parse_queues(v, &o->queues))
			return usage_error("--queues '%s': give a number from 1 to 64", v);
	} else {
		if (strlen(v) > KVHOST_BLK_ID_BYTES)
			return usage_error("--serial '%s' is longer than 20 bytes", v);
		memset(o->serial, 0, sizeof(o->serial));
		memcpy(o->serial, v, strlen(v));
		o->has_serial = true;
	}
	return 0;
}

static int parse_args(struct blk_opts *o, int argc, char **argv)
{
	struct sockaddr_un sun;
	int i, ret;

	memset(o, 0, sizeof(*o));
	o->queues = 1;
	for (i = 0; i < argc; i++) {
		ret = parse_one(o, argc, argv, &i);
		if (ret)
			return ret;
	}
	if (!o->socket)
		return usage_error("%s--socket PATH is required", "");
	if (!*o->socket || strlen(o->socket) >= sizeof(sun.sun_path))
		return usage_error("--socket '%s': the path must be 1..107 bytes", o->socket);
	if (!o->image == !o->device)
		return usage_error("%sgive exactly one of --image FILE and --device BLKDEV", "");
	return 0;
}

/* ---- start-up ---- */

static int fail(const char *what, const char *detail, int err)
{
	fprintf(stderr, "%s: %s%s%s: %s\n", prog, what, detail ? " " : "",
		detail ? detail : "", strerror(err));
	return 1;
}

/* The store, opened once for the life of the process. */
static int open_store(struct vu_server *s)
{
	const char *path = s->o.image ? s->o.image : s->o.device;
	int flags = (s->o.readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC;
	struct stat st;

	if (s->o.direct)
		flags |= O_DIRECT;
	s->store_fd = open(path, flags);
	if (s->store_fd < 0)
		return fail(s->o.image ? "--image" : "--device", path, errno);
	if (fstat(s->store_fd, &st))
		return fail("fstat", path, errno);
	if (s->o.image && !S_ISREG(st.st_mode)) {
		fprintf(stderr, "%s: --image %s is not a regular file (use --device for a block device)\n",
			prog, path);
		return 1;
	}
	if (s->o.device && !S_ISBLK(st.st_mode)) {
		fprintf(stderr, "%s: --device %s is not a block device (use --image for a file)\n",
			prog, path);
		return 1;
	}
	if (s->o.image && st.st_size < 512) {
		fprintf(stderr, "%s: --image %s is smaller than one sector (512 bytes)\n",
			prog, path);
		return 1;
	}
	return 0;
}

/* A socket left at @path by a dead server is removed; a live one is not. */
static int clear_stale_socket(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct stat st;
	int fd, ret;

	if (lstat(path, &st))
		return errno == ENOENT ? 0 : fail("--socket", path, errno);
	if (!S_ISSOCK(st.st_mode)) {
		fprintf(stderr, "%s: --socket %s exists and is not a socket; remove it or pick another path\n",
			prog, path);
		return 1;
	}
	strcpy(sun.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return fail("socket", NULL, errno);
	ret = connect(fd, (struct sockaddr *)&sun, sizeof(sun));
	close(fd);
	if (!ret) {
		fprintf(stderr, "%s: --socket %s: another server is listening there\n",
			prog, path);
		return 1;
	}
	if (unlink(path))
		return fail("unlink", path, errno);
	return 0;
}

static int listen_socket(struct vu_server *s)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int ret = clear_stale_socket(s->o.socket);

	if (ret)
		return ret;
	strcpy(sun.sun_path, s->o.socket);
	s->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s->listen_fd < 0)
		return fail("socket", NULL, errno);
	if (bind(s->listen_fd, (struct sockaddr *)&sun, sizeof(sun)))
		return fail("bind", s->o.socket, errno);
	if (listen(s->listen_fd, 1))
		return fail("listen", s->o.socket, errno);
	return 0;
}

/* SIGTERM/SIGINT are blocked except while waiting (ppoll): no lost wake-up. */
static int setup_signals(struct vu_server *s)
{
	struct sigaction sa = { .sa_handler = on_stop_signal };
	sigset_t block;

	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	if (sigprocmask(SIG_BLOCK, &block, &s->wait_mask))
		return fail("sigprocmask", NULL, errno);
	sigdelset(&s->wait_mask, SIGTERM);
	sigdelset(&s->wait_mask, SIGINT);
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGTERM, &sa, NULL) || sigaction(SIGINT, &sa, NULL))
		return fail("sigaction", NULL, errno);
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

static int read_timeout(void)
{
	const char *env = getenv("KVHOST_VU_TIMEOUT_MS");
	long v;

	if (!env || !*env)
		return VU_TIMEOUT_MS_DEFAULT;
	v = strtol(env, NULL, 10);
	return v > 0 && v <= 3600000 ? (int)v : VU_TIMEOUT_MS_DEFAULT;
}

/* ---- the device ---- */

static int dev_ioctl(struct vu_server *s, unsigned long req, void *arg)
{
	return ioctl(s->dev_fd, req, arg) ? -errno : 0;
}

/* Queue k > 0 on a worker thread of its own. */
static int dev_new_workers(struct vu_server *s)
{
	unsigned int k;
	int ret;

	for (k = 1; k < s->o.queues; k++) {
		struct vhost_worker_state ws = { .worker_id = ~0U };
		struct vhost_vring_worker vw = { .index = k };

		ret = dev_ioctl(s, VHOST_NEW_WORKER, &ws);
		if (ret)
			return ret;
		vw.worker_id = ws.worker_id;
		ret = dev_ioctl(s, VHOST_ATTACH_VRING_WORKER, &vw);
		if (ret)
			return ret;
	}
	return 0;
}

/* A fresh device with the store attached: what every connection starts on. */
static int dev_open(struct vu_server *s, const char **step)
{
	struct kvhost_blk_backend be = {
		.fd = s->store_fd,
		.flags = s->o.readonly ? KVHOST_BLK_BACKEND_RO : 0,
	};
	uint32_t nq = s->o.queues;
	int ret;

	*step = BLK_DEV_PATH;
	s->dev_fd = open(BLK_DEV_PATH, O_RDWR | O_CLOEXEC);
	if (s->dev_fd < 0)
		return -errno;
	*step = "KVHOST_BLK_SET_QUEUES";
	ret = dev_ioctl(s, KVHOST_BLK_SET_QUEUES, &nq);
	if (!ret) {
		*step = "VHOST_SET_OWNER";
		ret = dev_ioctl(s, VHOST_SET_OWNER, NULL);
	}
	if (!ret) {
		*step = "KVHOST_BLK_SET_BACKEND";
		ret = dev_ioctl(s, KVHOST_BLK_SET_BACKEND, &be);
	}
	if (!ret && s->o.has_serial) {
		*step = "KVHOST_BLK_SET_SERIAL";
		ret = dev_ioctl(s, KVHOST_BLK_SET_SERIAL, s->o.serial);
	}
	if (!ret) {
		*step = "VHOST_NEW_WORKER";
		ret = dev_new_workers(s);
	}
	return ret;
}

static void unmap_one(struct vu_map *m)
{
	munmap(m->base, m->len);
	memset(m, 0, sizeof(*m));
}

/* Close the device (the kernel completes what is in flight), then unmap. */
static void dev_close(struct vu_server *s)
{
	unsigned int k;

	if (s->dev_fd >= 0)
		close(s->dev_fd);
	s->dev_fd = -1;
	for (k = 0; k < s->nmaps; k++)
		unmap_one(&s->map[k]);
	s->nmaps = 0;
	memset(s->q, 0, sizeof(s->q));
	s->protocol = 0;
	s->owner = false;
}

/* ---- receiving and sending ---- */

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for @events on @fd until @deadline (ms, -1: forever).  0 or -errno. */
static int wait_fd(struct vu_server *s, int fd, short events, int64_t deadline)
{
	struct pollfd p = { .fd = fd, .events = events };
	struct timespec ts, *tp = NULL;
	int ret;

	for (;;) {
		if (stop_requested)
			return -EINTR;
		if (deadline >= 0) {
			int64_t left = deadline - now_ms();

			if (left <= 0)
				return -ETIMEDOUT;
			ts.tv_sec = left / 1000;
			ts.tv_nsec = (left % 1000) * 1000000;
			tp = &ts;
		}
		ret = ppoll(&p, 1, tp, &s->wait_mask);
		if (ret > 0)
			return 0;
		if (ret < 0 && errno != EINTR)
			return -errno;
	}
}

/* Keep the fds of @cm in @in; any beyond its room are closed. */
static void take_fds(struct vu_in *in, struct msghdr *mh)
{
	struct cmsghdr *cm;

	if (mh->msg_flags & MSG_CTRUNC)
		in->fds_truncated = true;
	for (cm = CMSG_FIRSTHDR(mh); cm; cm = CMSG_NXTHDR(mh, cm)) {
		size_t n, k;
		int fd;

		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (k = 0; k < n; k++) {
			memcpy(&fd, CMSG_DATA(cm) + k * sizeof(int), sizeof(int));
			if (in->nfds < VU_FDS_MAX) {
				in->fds[in->nfds++] = fd;
			} else {
				close(fd);
				in->fds_truncated = true;
			}
		}
	}
}

/*
 * @len bytes into @buf, fds into @in.  The first byte may take forever
 * (an idle front-end) when *@deadline is -1; the rest must come by the
 * deadline set when the first arrived.  0, -ECONNRESET (EOF) or -errno.
 */
static int recv_bytes(struct vu_server *s, void *buf, size_t len, struct vu_in *in,
		      int64_t *deadline)
{
	union {
		char buf[CMSG_SPACE(VU_FDS_MAX * sizeof(int))];
		struct cmsghdr align;
	} ctl;
	size_t got = 0;
	ssize_t n;
	int ret;

	while (got < len) {
		struct iovec iov = { .iov_base = (char *)buf + got, .iov_len = len - got };
		struct msghdr mh = {
			.msg_iov = &iov, .msg_iovlen = 1,
			.msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf),
		};

		ret = wait_fd(s, s->conn_fd, POLLIN, *deadline);
		if (ret)
			return ret;
		n = recvmsg(s->conn_fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n < 0)
			return -errno;
		take_fds(in, &mh);
		if (!n)
			return -ECONNRESET;
		if (*deadline < 0)
			*deadline = now_ms() + s->timeout_ms;
		got += n;
	}
	return 0;
}

static void close_fds(struct vu_in *in)
{
	unsigned int k;

	for (k = 0; k < in->nfds; k++)
		if (in->fds[k] >= 0)
			close(in->fds[k]);
	in->nfds = 0;
}

static int send_bytes(struct vu_server *s, const void *buf, size_t len)
{
	int64_t deadline = now_ms() + s->timeout_ms;
	size_t done = 0;
	ssize_t n;
	int ret;

	while (done < len) {
		ret = wait_fd(s, s->conn_fd, POLLOUT, deadline);
		if (ret)
			return ret;
		n = send(s->conn_fd, (const char *)buf + done, len - done,
			 MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n < 0)
			return -errno;
		done += n;
	}
	return 0;
}

/* The reply to @req with @size payload bytes of @reply. */
static int send_reply(struct vu_server *s, const struct vu_hdr *req,
		      struct vu_msg *reply, uint32_t size)
{
	reply->hdr.request = req->request;
	reply->hdr.flags = VU_VERSION | VU_FLAG_REPLY;
	reply->hdr.size = size;
	return send_bytes(s, reply, sizeof(reply->hdr) + size);
}

/* ---- memory ---- */

/* The offset into our mapping of @qva with @len bytes there, or NULL. */
static void *qva_to_va(struct vu_server *s, uint64_t qva, uint64_t len)
{
	unsigned int k;

	for (k = 0; k < s->nmaps; k++) {
		const struct vu_region *r = &s->map[k].r;
		uint64_t off = qva - r->uaddr;

		if (qva >= r->uaddr && off < r->size && len <= r->size - off)
			return s->map[k].start + off;
	}
	return NULL;
}

static bool ranges_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

/* Sizes nonzero, no sum wrapping, within @fd's file. */
static int region_check(const struct vu_region *r, int fd, struct stat *st)
{
	if (!r->size || r->size - 1 > UINT64_MAX - r->gpa ||
	    r->size - 1 > UINT64_MAX - r->uaddr ||
	    r->size > UINT64_MAX - r->mmap_offset || r->size > SIZE_MAX / 2)
		return -EINVAL;
	if (fstat(fd, st))
		return -errno;
	if ((!S_ISREG(st->st_mode) && !S_ISBLK(st->st_mode)) ||
	    r->mmap_offset + r->size > (uint64_t)st->st_size)
		return -EINVAL;
	return 0;
}

/* No two of @n regions share guest-physical or front-end addresses. */
static int regions_disjoint(const struct vu_region *const *r, unsigned int n)
{
	unsigned int i, j;

	for (i = 0; i < n; i++)
		for (j = i + 1; j < n; j++)
			if (ranges_overlap(r[i]->gpa, r[i]->size, r[j]->gpa, r[j]->size) ||
			    ranges_overlap(r[i]->uaddr, r[i]->size, r[j]->uaddr, r[j]->size))
				return -EINVAL;
	return 0;
}

/* Map @fd's region @r: at its mmap_offset, rounded down to a page boundary. */
static int map_region(struct vu_map *m, const struct vu_region *r, int fd,
		      const struct stat *st)
{
	uint64_t align = (uint64_t)sysconf(_SC_PAGESIZE);
	uint64_t delta;

	/* hugetlbfs: its block size is the huge page size. */
	if (st->st_blksize > 0 && !(st->st_blksize & (st->st_blksize - 1)) &&
	    (uint64_t)st->st_blksize > align)
		align = st->st_blksize;
	delta = r->mmap_offset % align;
	m->len = r->size + delta;
	m->base = mmap(NULL, m->len, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		       r->mmap_offset - delta);
	if (m->base == MAP_FAILED) {
		m->base = NULL;
		return -errno;
	}
	m->r = *r;
	m->start = (uint8_t *)m->base + delta;
	m->dev = st->st_dev;
	m->ino = st->st_ino;
	return 0;
}

/* Give the kernel the table of @maps (our addresses). */
static int program_mem_table(struct vu_server *s, const struct vu_map *maps,
			     unsigned int n)
{
	struct {
		struct vhost_memory hdr;
		struct vhost_memory_region region[VU_SLOTS_MAX];
	} t;
	unsigned int k;

	memset(&t, 0, sizeof(t));
	t.hdr.nregions = n;
	for (k = 0; k < n; k++) {
		t.region[k].guest_phys_addr = maps[k].r.gpa;
		t.region[k].memory_size = maps[k].r.size;
		t.region[k].userspace_addr = (uintptr_t)maps[k].start;
	}
	return dev_ioctl(s, VHOST_SET_MEM_TABLE, &t);
}

/* The mapping of the current table that is @r of file @st, or -1. */
static int find_same_map(struct vu_server *s, const struct vu_region *r,
			 const struct stat *st, const bool *taken)
{
	unsigned int k;

	for (k = 0; k < s->nmaps; k++) {
		const struct vu_map *m = &s->map[k];

		if (!taken[k] && !memcmp(&m->r, r, sizeof(*r)) &&
		    m->dev == st->st_dev && m->ino == st->st_ino)
			return k;
	}
	return -1;
}

/*
 * A whole new table.  A region the old table had too (same addresses, same
 * file) keeps its mapping, so a running ring in it stays valid; the old
 * mappings go only once the kernel has the new table.
 */
static int install_table(struct vu_server *s, const struct vu_region *r,
			 const int *fds, unsigned int n)
{
	struct vu_map next[VU_MEM_REGIONS_MAX];
	bool taken[VU_SLOTS_MAX] = { false }, reused[VU_MEM_REGIONS_MAX];
	unsigned int k;
	struct stat st;
	int ret = 0, j;

	memset(next, 0, sizeof(next));
	for (k = 0; k < n; k++) {
		ret = region_check(&r[k], fds[k], &st);
		if (ret)
			break;
		j = find_same_map(s, &r[k], &st, taken);
		reused[k] = j >= 0;
		if (reused[k]) {
			taken[j] = true;
			next[k] = s->map[j];
			continue;
		}
		ret = map_region(&next[k], &r[k], fds[k], &st);
		if (ret)
			break;
	}
	if (!ret)
		ret = program_mem_table(s, next, n);
	if (ret) {
		while (k-- > 0)
			if (!reused[k])
				unmap_one(&next[k]);
		return ret;
	}
	for (k = 0; k < s->nmaps; k++)
		if (!taken[k])
			unmap_one(&s->map[k]);
	memcpy(s->map, next, n * sizeof(next[0]));
	s->nmaps = n;
	return 0;
}

/* ---- message handlers: 0 or -errno; a reply goes in @out ---- */

typedef int vu_handler_fn(struct vu_server *s, struct vu_in *in, struct vu_msg *out,
			  uint32_t *out_size);

static int reply_u64(struct vu_msg *out, uint32_t *out_size, uint64_t v)
{
	out->p.u64 = v;
	*out_size = sizeof(out->p.u64);
	return 0;
}

static int h_get_features(struct vu_server *s, struct vu_in *in, struct vu_msg *out,
			  uint32_t *out_size)
{
	uint64_t f;
	int ret = dev_ioctl(s, VHOST_GET_FEATURES, &f);

	(void)in;
	if (ret)
		return ret;
	return reply_u64(out, out_size, f | BIT(VU_F_PROTOCOL_FEATURES));
}

static int h_set_features(struct vu_server *s, struct vu_in *in, struct vu_msg *out,
			  uint32_t *out_size)
{
	uint64_t f = in->m.p.u64, offered;
	unsigned int k;
	int ret = dev_ioctl(s, VHOST_GET_FEATURES, &offered);

	(void)out;
	(void)out_size;
	if (ret)
		return ret;
	if (f & ~(offered | BIT(VU_F_PROTOCOL_FEATURES)))
		return -EINVAL;
	ret = dev_ioctl(s, VHOST_SET_FEATURES, &(uint64_t){ f & ~BIT(VU_F_PROTOCOL_FEATURES) });
	if (ret)
		return ret;
	/* Without protocol features a ring is enabled from the start. */
	for (k = 0; !(f & BIT(VU_F_PROTOCOL_FEATURES)) && k < s->o.queues; k++)
		s->q[k].enabled = true;
	return 0;
}

static int h_get_protocol_features(struct vu_server *s, struct vu_in *in,
				   struct vu_msg *out, uint32_t *out_size)
{
	(void)s;
	(void)in;
	return reply_u64(out, out_size, VU_PROTOCOL_OFFER);
}

static int h_set_protocol_features(struct vu_server *s, struct vu_in *in,
				   struct vu_msg *out, uint32_t *out_size)
{
	(void)out;
	(void)out_size;
	if (in->m.p.u64 & ~VU_PROTOCOL_OFFER)
		return -EINVAL;
	s->protocol = in->m.p.u64;
	return 0;
}

/* The device's owner was set when it was opened; only once per connection. */
static int h_set_owner(struct vu_server *s, struct vu_in *in, struct vu_msg *out,
		       uint32_t *out_size)
{
	(void)in;
	(void)out;
	(void)out_size;
	if (s->owner)
		return -EBUSY;
	s->owner = true;
	return 0;
}

/* Back to a fresh device: every queue drained, memory unmapped. */
static int h_reset_owner(struct vu_server *s, struct vu_in *in, struct vu_msg *out,
			 uint32_t *out_size)
{
	uint64_t protocol = s->protocol;	/* negotiated for the connection */
	const char *step;
	int ret;

	(void)in;
	(void)out;
	(void)out_size;
	dev_close(s);
	s->protocol = protocol;
	ret = dev_open(s, &step);
	if (ret)
		fprintf(stderr, "%s: %s: %s\n", prog, step, strerror(-ret));
	return ret;
}

static int h_get_queue_num(struct vu_server *s, struct vu_in *in, struct vu_msg *out,
			   uint32_t *out_size)
{
	(void)in;
	return reply_u64(out, out_size, s->o.queues);
}

static int h_get_max_mem_slots(struct vu_server *s, struct vu_in *in,
			       struct vu_msg *out, uint32_t *out_size)
{
	(void)s;
	(void)in;
	return reply_u64(out, out_size, VU_SLOTS_MAX);
}

static int h_get_config(struct vu_server *s, struct vu_in *in, struct vu_msg *out,
			uint32_t *out_size)
{
	const struct vu_config *c = &in->m.p.config;
	struct kvhost_blk_config kc;
	int ret;

	if (c->size > VU_CONFIG_MAX || c->offset > VU_CONFIG_MAX - c->size ||
	    in->m.hdr.size != VU_CONFIG_HDR + c->size)
		return -EINVAL;
	kc.offset = c->offset;
	kc.size = c->size;
	ret = dev_ioctl(s, KVHOST_BLK_GET_CONFIG, &kc);
	if (ret)
		return ret;
	out->p.config.offset = c->offset;
	out->p.config.size = c->size;
	out->p.config.flags = c->flags;
	memcpy(out->p.config.data, kc.data, c->size);
	*out_size = in->m.hdr.size;
	return 0;
}

/* No field of the configuration is writable: no CONFIG_WCE is offered. */
static int h_set_config(struct vu_server *s, struct vu_in *in, struct vu_msg *out,
			uint32_t *out_size)
{
	(void)s;
	(void)in;
	(void)out;
	(void)out_size;
	return -EPERM;
}

static int h_set_mem_table(struct vu_server *s, struct vu_in *in, struct vu_msg *out,
			   uint32_t *out_size)
{
	const struct vu_mem_table *t = &in->m.p.mem;
	const struct vu_region *r[VU_MEM_REGIONS_MAX];
	unsigned int k;

	(void)out;
	(void)out_size;
	if (t->nregions > VU_MEM_REGIONS_MAX ||
	    in->m.hdr.size != VU_MEM_TABLE_HDR + t->nregions * sizeof(t->region[0]) ||
	    in->nfds != t->nregions)
		return -EINVAL;
	for (k = 0; k < t->nregions; k++)
		r[k] = &t->region[k];
	if (regions_disjoint(r, t->nregions))
		return -EINVAL;
	return install_table(s, t->region, in->fds, t->nregions);
}

static int h_add_mem_reg(struct vu_server *s, struct vu_in *in, struct vu_msg *out,
			 uint32_t *out_size)
{
	const struct vu_region *r[VU_SLOTS_MAX + 1];
	const struct vu_region *add = &in->m.p.reg.region;
	struct vu_map *m = &s->map[s->nmaps];
	unsigned int k;
	struct stat st;
	int ret;

	(void)out;
	(void)out_size;
	if (s->nmaps >= VU_SLOTS_MAX)
		return -ENOSPC;
	for (k = 0; k < s->nmaps; k++)
		r[k] = &s->map[k].r;
	r[k] = add;
	ret = region_check(add, in->fds[0], &st);
	if (!ret)
		ret = regions_disjoint(r, s->nmaps + 1);
	if (!ret)
		ret = map_region(m, add, in->fds[0], &st);
	if (ret)
		return ret;
	ret = program_mem_table(s, s->map, s->nmaps + 1);
	if (ret) {
		unmap_one(m);
		return ret;
	}
	s->nmaps++;
	return 0;
}

/* The region is named by its addresses and size; an fd, if sent, is unused. */
static int h_rem_mem_reg(struct vu_server *s, struct vu_in *in, struct vu_msg *out,
			 uint32_t *out_size)
{
	const struct vu_region *rem = &in->m.p.reg.region;
	struct vu_map gone;
	unsigned int k;
	int ret;

	(void)out;
	(void)out_size;
	for (k = 0; k < s->nmaps; k++)
		if (s->map[k].r.gpa == rem->gpa && s->map[k].r.size == rem->size &&
		    s->map[k].r.uaddr == rem->uaddr)
			break;
	if (k == s->nmaps)
		return -ENOENT;
	gone = s->map[k];
	s->map[k] = s->map[s->nmaps - 1];
	s->map[s->nmaps - 1] = gone;
	ret = program_mem_table(s, s->map, s->nmaps - 1);
	if (ret) {
		s->map[s->nmaps - 1] = s->map[k];
		s->map[k] = gone;
		return ret;
	}
	s->nmaps--;
	unmap_one(&gone);
	return 0;
}

/* The queue @index names, or NULL. */
static struct vu_queue *queue_of(struct vu_server *s, uint64_t index)
{
	return index < s->o.queues ? &s->q[index] : NULL;
}

/* Run the queue exactly when it is enabled, kicked and fully set up. */
static int queue_update(struct vu_server *s, uint32_t index)
{
	struct vu_queue *q = &s->q[index];
	bool want = q->enabled && q->kicked && q->num_set && q->addr_set;
	struct vhost_vring_state st = { .index = index, .num = want };
	int ret;

	if (want == q->running)
		return 0;
	ret = dev_ioctl(s, KVHOST_BLK_RUN_QUEUE, &st);
	if (!ret)
		q->running = want;
	return ret;
}

static int h_set_vring_num(struct vu_server *s, struct vu_in *in, struct vu_msg *out,
			   uint32_t *out_size)
{
	struct vu_vring_state st = in->m.p.state;
	struct vu_queue *q = queue_of(s, st.index);
	int ret;

	(void)out;
	(void)out_size;
	if (!q || !st.num || st.num > VU_RING_MAX || (st.num & (st.num - 1)))
		return -EINVAL;
	ret = dev_ioctl(s, VHOST_SET_VRING_NUM, &st);
	if (ret)
		return ret;
	q->num = st.num;
	q->num_set = true;
	return 0;
}

static int h_set_vring_base(struct vu_server *s, struct vu_in *in, struct vu_msg *out,
			    uint32_t *out_size)
{
	struct vu_vring_state st = in->m.p.state;

	(void)out;
	(void)out_size;
	/* Split rings only: the index is 16 bits. */
	if (!queue_of(s, st.index) || st.num > 0xffff)
		return -EINVAL;
	return dev_ioctl(s, VHOST_SET_VRING_BASE, &st);
}

/* The ring parts as the front-end sees them, in our mappings. */
static int h_set_vring_addr(struct vu_server *s, struct vu_in *in, struct vu_msg *out,
			    uint32_t *out_size)
{
	const struct vu_vring_addr *a = &in->m.p.addr;
	struct vu_queue *q = queue_of(s, a->index);
	struct vhost_vring_addr k = { .index = a->index, .flags = a->flags,
				      .log_guest_addr = a->log };
	uint64_t num;
	void *desc, *avail, *used;
	int ret;

	(void)out;
	(void)out_size;
	if (!q)
		return -EINVAL;
	num = q->num_set ? q->num : 1;
	desc = qva_to_va(s, a->desc, 16 * num);
	avail = qva_to_va(s, a->avail, 6 + 2 * num);
	used = qva_to_va(s, a->used, 6 + 8 * num);
	if (!desc || !avail || !used)
		return -EFAULT;
	k.desc_user_addr = (uintptr_t)desc;
	k.avail_user_addr = (uintptr_t)avail;
	k.used_user_addr = (uintptr_t)used;
	ret = dev_ioctl(s, VHOST_SET_VRING_ADDR, &k);
	if (ret)
		return ret;
	q->addr_set = true;
	return 0;
}

/* Stops the queue; the kernel waits for what is in flight to be used. */
static int h_get_vring_base(struct vu_server *s, struct vu_in *in, struct vu_msg *out,
			    uint32_t *out_size)
{
	struct vhost_vring_state st = { .index = in->m.p.state.index };
	struct vu_queue *q = queue_of(s, st.index);
	int ret;

	if (!q)
		return -EINVAL;
	ret = dev_ioctl(s, VHOST_GET_VRING_BASE, &st);
	if (ret)
		return ret;
	q->kicked = false;
	q->running = false;
	out->p.state.index = st.index;
	out->p.state.num = st.num;
	*out_size = sizeof(out->p.state);
	return 0;
}

/* Kick, call and err: the fd (or none) straight to the kernel. */
static int set_vring_file(struct vu_server *s, struct vu_in *in, unsigned long req)
{
	uint64_t v = in->m.p.u64;
	struct vhost_vring_file f = { .index = v & VU_VRING_IDX_MASK, .fd = -1 };
	bool nofd = v & VU_VRING_NOFD;

	if (v & ~(VU_VRING_IDX_MASK | VU_VRING_NOFD) || !queue_of(s, f.index) ||
	    in->nfds != (nofd ? 0U : 1U))
		return -EINVAL;
	if (!nofd)
		f.fd = in->fds[0];
	return dev_ioctl(s, req, &f);
}

static int h_set_vring_kick(struct vu_server *s, struct vu_in *in, struct vu_msg *out,
			    uint32_t *out_size)
{
	uint32_t index = in->m.p.u64 & VU_VRING_IDX_MASK;
	int ret = set_vring_file(s, in, VHOST_SET_VRING_KICK);

	(void)out;
	(void)out_size;
	if (ret)
		return ret;
	s->q[index].kicked = true;
	return queue_update(s, index);
}

static int h_set_vring_call(struct vu_server *s, struct vu_in *in, struct vu_msg *out,
			    uint32_t *out_size)
{
	(void)out;
	(void)out_size;
	return set_vring_file(s, in, VHOST_SET_VRING_CALL);
}

static int h_set_vring_err(struct vu_server *s, struct vu_in *in, struct vu_msg *out,
			   uint32_t *out_size)
{
	(void)out;
	(void)out_size;
	return set_vring_file(s, in, VHOST_SET_VRING_ERR);
}

static int h_set_vring_enable(struct vu_server *s, struct vu_in *in,
			      struct vu_msg *out, uint32_t *out_size)
{
	struct vu_vring_state st = in->m.p.state;
	struct vu_queue *q = queue_of(s, st.index);

	(void)out;
	(void)out_size;
	if (!q || st.num > 1)
		return -EINVAL;
	q->enabled = st.num;
	return queue_update(s, st.index);
}

/* ---- dispatch ---- */

struct vu_handler {
	vu_handler_fn *fn;
	const char *name;
	uint32_t size_min, size_max;	/* payload bytes accepted */
	uint8_t fds_min, fds_max;	/* the handler checks the exact count */
	bool replies;			/* has a reply of its own */
};

#define U64	sizeof(uint64_t)
#define STATE	sizeof(struct vu_vring_state)
#define H(req, f, min, max, fmin, fmax, rep)				\
	[VU_##req] = { .fn = f, .name = #req, .size_min = min, .size_max = max, \
		       .fds_min = fmin, .fds_max = fmax, .replies = rep }

static const struct vu_handler handlers[VU_REQUEST_MAX] = {
	H(GET_FEATURES, h_get_features, 0, 0, 0, 0, true),
	H(SET_FEATURES, h_set_features, U64, U64, 0, 0, false),
	H(SET_OWNER, h_set_owner, 0, 0, 0, 0, false),
	H(RESET_OWNER, h_reset_owner, 0, 0, 0, 0, false),
	H(SET_MEM_TABLE, h_set_mem_table, VU_MEM_TABLE_HDR, sizeof(struct vu_mem_table),
	  0, VU_MEM_REGIONS_MAX, false),
	H(SET_VRING_NUM, h_set_vring_num, STATE, STATE, 0, 0, false),
	H(SET_VRING_ADDR, h_set_vring_addr, sizeof(struct vu_vring_addr),
	  sizeof(struct vu_vring_addr), 0, 0, false),
	H(SET_VRING_BASE, h_set_vring_base, STATE, STATE, 0, 0, false),
	H(GET_VRING_BASE, h_get_vring_base, STATE, STATE, 0, 0, true),
	H(SET_VRING_KICK, h_set_vring_kick, U64, U64, 0, 1, false),
	H(SET_VRING_CALL, h_set_vring_call, U64, U64, 0, 1, false),
	H(SET_VRING_ERR, h_set_vring_err, U64, U64, 0, 1, false),
	H(GET_PROTOCOL_FEATURES, h_get_protocol_features, 0, 0, 0, 0, true),
	H(SET_PROTOCOL_FEATURES, h_set_protocol_features, U64, U64, 0, 0, false),
	H(GET_QUEUE_NUM, h_get_queue_num, 0, 0, 0, 0, true),
	H(SET_VRING_ENABLE, h_set_vring_enable, STATE, STATE, 0, 0, false),
	H(GET_CONFIG, h_get_config, VU_CONFIG_HDR, sizeof(struct vu_config), 0, 0, true),
	H(SET_CONFIG, h_set_config, VU_CONFIG_HDR, sizeof(struct vu_config), 0, 0, false),
	H(GET_MAX_MEM_SLOTS, h_get_max_mem_slots, 0, 0, 0, 0, true),
	H(ADD_MEM_REG, h_add_mem_reg, sizeof(struct vu_mem_reg), sizeof(struct vu_mem_reg),
	  1, 1, false),
	H(REM_MEM_REG, h_rem_mem_reg, sizeof(struct vu_mem_reg), sizeof(struct vu_mem_reg),
	  0, 1, false),
};

/* The handler for a header that is well-formed, or NULL. */
static const struct vu_handler *check_header(const struct vu_hdr *h)
{
	const struct vu_handler *e;

	if (h->request >= VU_REQUEST_MAX || !handlers[h->request].fn)
		return NULL;
	if ((h->flags & VU_VERSION_MASK) != VU_VERSION ||
	    h->flags & ~(VU_VERSION_MASK | VU_FLAG_NEED_REPLY))
		return NULL;
	e = &handlers[h->request];
	if (h->size < e->size_min || h->size > e->size_max)
		return NULL;
	return e;
}

static void log_drop(const struct vu_hdr *h, const char *why)
{
	fprintf(stderr, "%s: dropping the connection: request %u (flags 0x%x, size %u): %s\n",
		prog, h->request, h->flags, h->size, why);
}

/*
 * One message: 0 to go on, -errno to drop the connection.  Fds that came
 * with it and that no handler took are closed here, whatever happens.
 */
static int serve_one(struct vu_server *s)
{
	static struct vu_in in;
	static struct vu_msg out;
	const struct vu_handler *e;
	int64_t deadline = -1;
	uint32_t out_size = 0;
	int ret;

	memset(&in, 0, sizeof(in.m.hdr));
	in.nfds = 0;
	in.fds_truncated = false;
	ret = recv_bytes(s, &in.m.hdr, sizeof(in.m.hdr), &in, &deadline);
	if (ret)
		goto out;
	ret = -EPROTO;
	e = check_header(&in.m.hdr);
	if (!e) {
		log_drop(&in.m.hdr, "not a request this backend takes in this form");
		goto out;
	}
	memset(&in.m.p, 0, sizeof(in.m.p));
	ret = recv_bytes(s, &in.m.p, in.m.hdr.size, &in, &deadline);
	if (ret) {
		log_drop(&in.m.hdr, strerror(-ret));
		goto out;
	}
	if (in.fds_truncated || in.nfds < e->fds_min || in.nfds > e->fds_max) {
		log_drop(&in.m.hdr, "wrong number of fds");
		ret = -EPROTO;
		goto out;
	}
	memset(&out.hdr, 0, sizeof(out.hdr));
	ret = e->fn(s, &in, &out, &out_size);
	if (e->replies) {
		if (ret) {
			log_drop(&in.m.hdr, strerror(-ret));
			ret = -EPROTO;
		} else {
			ret = send_reply(s, &in.m.hdr, &out, out_size);
		}
	} else if (in.m.hdr.flags & VU_FLAG_NEED_REPLY &&
		   s->protocol & BIT(VU_PF_REPLY_ACK)) {
		/* The front-end learns of the failure: go on. */
		reply_u64(&out, &out_size, ret ? (uint64_t)-ret : 0);
		ret = send_reply(s, &in.m.hdr, &out, out_size);
	} else if (ret) {
		log_drop(&in.m.hdr, strerror(-ret));
		ret = -EPROTO;
	}
out:
	close_fds(&in);
	return ret;
}

/* ---- connections ---- */

static int accept_one(struct vu_server *s)
{
	int ret = wait_fd(s, s->listen_fd, POLLIN, -1);

	if (ret)
		return ret;
	s->conn_fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	return s->conn_fd < 0 ? -errno : 0;
}

/* Connections one after another until a stop signal: the exit status. */
static int serve(struct vu_server *s)
{
	const char *step;
	int ret;

	for (;;) {
		ret = dev_open(s, &step);
		if (ret) {
			dev_close(s);
			return fail(step, NULL, -ret);
		}
		ret = accept_one(s);
		while (!ret)
			ret = serve_one(s);
		if (s->conn_fd >= 0)
			close(s->conn_fd);
		s->conn_fd = -1;
		dev_close(s);
		if (ret == -EINTR && stop_requested)
			return 0;
		if (ret != -ECONNRESET && ret != -EPROTO)
			fprintf(stderr, "%s: connection ended: %s\n", prog, strerror(-ret));
	}
}

int cmd_blk(int argc, char **argv)
{
	static struct vu_server s;
	int ret;

	if (argc == 1 && (!strcmp(argv[0], "--help") || !strcmp(argv[0], "-h"))) {
		blk_help(stdout);
		return 0;
	}
	ret = parse_args(&s.o, argc, argv);
	if (ret)
		return ret;
	s.store_fd = s.listen_fd = s.conn_fd = s.dev_fd = -1;
	s.timeout_ms = read_timeout();
	ret = open_store(&s);
	if (!ret)
		ret = setup_signals(&s);
	if (!ret)
		ret = listen_socket(&s);
	if (!ret)
		ret = serve(&s);
	if (s.listen_fd >= 0) {
		close(s.listen_fd);
		unlink(s.o.socket);
	}
	if (s.store_fd >= 0)
		close(s.store_fd);
	return ret;
}
