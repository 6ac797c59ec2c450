// SPDX-License-Identifier: GPL-2.0
/*
 * kvhostctl: look at kvhost devices.
 *
 *   kvhostctl info [--json]
 *	the modules, the device nodes and what they offer, every open device
 *   kvhostctl stats [--watch SECS] [--json]
 *	the per-queue counters of every open device (ctl_info.c)
 *   kvhostctl net [--tap NAME] [--queues N] [--poll-us US] [--id ID] -- QEMU ...
 *	QEMU with a NIC on kvhost-net (ctl_net.c)
 *   kvhostctl features DEVICE
 *	the virtio and backend features a device offers, by name
 *   kvhostctl net-stats [--pid PID] --fd FD
 *	counters of a /dev/kvhost-net file: one this process inherited, or
 *	one another process holds (QEMU's vhostfd), fetched with pidfd_getfd()
 *   kvhostctl blk-stats [--pid PID] --fd FD
 *	counters and latency histogram of every queue of a /dev/kvhost-blk file
 *   kvhostctl blk --socket PATH (--image FILE | --device BLKDEV) ...
 *	a vhost-user-blk backend on /dev/kvhost-blk (vu_blk.c)
 *
 * Every argument is validated before the ioctl that uses it; each step is
 * one small function.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>
#include <linux/virtio_net.h>
#include <linux/virtio_blk.h>
#include "kvhost.h"
#include "kvhostctl.h"
#include "vu_blk.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open		434
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd		438
#endif

const char *prog = "kvhostctl";

int fail(int err, const char *what)
{
	fprintf(stderr, "%s: %s: %s\n", prog, what, strerror(err));
	return 1;
}

int usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	return 2;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: %s info [--json]\n"
		"       %s stats [--watch SECS] [--json]\n"
		"       %s net [--tap NAME] [--queues N] [--poll-us US] [--id ID] -- QEMU [ARGS...]\n"
		"       %s features DEVICE\n"
		"       %s net-stats [--pid PID] --fd FD\n"
		"       %s blk-stats [--pid PID] --fd FD\n", prog, prog, prog, prog, prog, prog);
	blk_usage_line(f, prog);
	fprintf(f, "       %s --version\nEach subcommand takes --help.\n", prog);
}

long parse_num(const char *s, long min, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		return -1;
	return v;
}

struct feature_name {
	unsigned int bit;
	const char *name;
};

static const struct feature_name feature_names[] = {
	{ VIRTIO_NET_F_CSUM, "VIRTIO_NET_F_CSUM" },
	{ VIRTIO_NET_F_GUEST_CSUM, "VIRTIO_NET_F_GUEST_CSUM" },
	{ VIRTIO_NET_F_MAC, "VIRTIO_NET_F_MAC" },
	{ VIRTIO_NET_F_GUEST_TSO4, "VIRTIO_NET_F_GUEST_TSO4" },
	{ VIRTIO_NET_F_GUEST_TSO6, "VIRTIO_NET_F_GUEST_TSO6" },
	{ VIRTIO_NET_F_HOST_TSO4, "VIRTIO_NET_F_HOST_TSO4" },
	{ VIRTIO_NET_F_HOST_TSO6, "VIRTIO_NET_F_HOST_TSO6" },
	{ VIRTIO_NET_F_MRG_RXBUF, "VIRTIO_NET_F_MRG_RXBUF" },
	{ VIRTIO_NET_F_STATUS, "VIRTIO_NET_F_STATUS" },
	{ VIRTIO_NET_F_CTRL_VQ, "VIRTIO_NET_F_CTRL_VQ" },
	{ VIRTIO_NET_F_MQ, "VIRTIO_NET_F_MQ" },
	{ VIRTIO_F_NOTIFY_ON_EMPTY, "VIRTIO_F_NOTIFY_ON_EMPTY" },
	{ VIRTIO_F_ANY_LAYOUT, "VIRTIO_F_ANY_LAYOUT / VHOST_NET_F_VIRTIO_NET_HDR" },
	{ VIRTIO_RING_F_INDIRECT_DESC, "VIRTIO_RING_F_INDIRECT_DESC" },
	{ VIRTIO_RING_F_EVENT_IDX, "VIRTIO_RING_F_EVENT_IDX" },
	{ VHOST_F_LOG_ALL, "VHOST_F_LOG_ALL" },
	{ VIRTIO_F_VERSION_1, "VIRTIO_F_VERSION_1" },
	{ VIRTIO_F_ACCESS_PLATFORM, "VIRTIO_F_ACCESS_PLATFORM" },
	{ VIRTIO_F_RING_PACKED, "VIRTIO_F_RING_PACKED" },
	{ VIRTIO_F_IN_ORDER, "VIRTIO_F_IN_ORDER" },
};

/* Device-type bits below 24 mean something else on each device type. */
static const struct feature_name blk_feature_names[] = {
	{ VIRTIO_BLK_F_SIZE_MAX, "VIRTIO_BLK_F_SIZE_MAX" },
	{ VIRTIO_BLK_F_SEG_MAX, "VIRTIO_BLK_F_SEG_MAX" },
	{ VIRTIO_BLK_F_GEOMETRY, "VIRTIO_BLK_F_GEOMETRY" },
	{ VIRTIO_BLK_F_RO, "VIRTIO_BLK_F_RO" },
	{ VIRTIO_BLK_F_BLK_SIZE, "VIRTIO_BLK_F_BLK_SIZE" },
	{ VIRTIO_BLK_F_FLUSH, "VIRTIO_BLK_F_FLUSH" },
	{ VIRTIO_BLK_F_TOPOLOGY, "VIRTIO_BLK_F_TOPOLOGY" },
	{ VIRTIO_BLK_F_MQ, "VIRTIO_BLK_F_MQ" },
	{ VIRTIO_BLK_F_DISCARD, "VIRTIO_BLK_F_DISCARD" },
	{ VIRTIO_BLK_F_WRITE_ZEROES, "VIRTIO_BLK_F_WRITE_ZEROES" },
};

const char *feature_name(unsigned int bit, bool blk)
{
	size_t i;

	if (blk && bit < VIRTIO_TRANSPORT_F_START) {
		for (i = 0; i < ARRAY_LEN(blk_feature_names); i++)
			if (blk_feature_names[i].bit == bit)
				return blk_feature_names[i].name;
		return NULL;
	}
	for (i = 0; i < ARRAY_LEN(feature_names); i++)
		if (feature_names[i].bit == bit)
			return feature_names[i].name;
	return NULL;
}

static void print_features(const char *what, uint64_t f, bool blk)
{
	unsigned int bit;

	printf("%s: 0x%016" PRIx64 "\n", what, f);
	for (bit = 0; bit < 64; bit++) {
		const char *name = feature_name(bit, blk);

		if (f & (1ULL << bit))
			printf("  bit %2u %s\n", bit, name ? name : "");
	}
}

int open_device(const char *path, int *fd)
{
	struct stat st;

	if (stat(path, &st))
		return errno;
	if (!S_ISCHR(st.st_mode))
		return ENODEV;
	*fd = open(path, O_RDWR | O_CLOEXEC);
	return *fd < 0 ? errno : 0;
}

/* Whether @fd is a /dev/kvhost-blk file: only it has a configuration. */
static bool is_blk(int fd)
{
	static struct kvhost_blk_config cfg;

	cfg.offset = 0;
	cfg.size = 0;
	return ioctl(fd, KVHOST_BLK_GET_CONFIG, &cfg) == 0;
}

static int cmd_features(int argc, char **argv)
{
	uint64_t features, backend;
	int fd = -1, err;
	bool blk;

	if (argc != 1) {
		usage(stderr);
		return 2;
	}
	err = open_device(argv[0], &fd);
	if (err)
		return fail(err, argv[0]);
	if (ioctl(fd, VHOST_GET_FEATURES, &features)) {
		err = errno;
		close(fd);
		return fail(err, "VHOST_GET_FEATURES");
	}
	/* Older devices may not know backend features: report none. */
	if (ioctl(fd, VHOST_GET_BACKEND_FEATURES, &backend))
		backend = 0;
	blk = is_blk(fd);
	close(fd);
	print_features("features", features, blk);
	print_features("backend features", backend, false);
	return 0;
}

int get_fd(long pid, int target_fd, int *fd)
{
	int pidfd;

	if (pid < 0) {
		if (fcntl(target_fd, F_GETFD) < 0)
			return errno;
		*fd = target_fd;
		return 0;
	}
	pidfd = syscall(SYS_pidfd_open, (pid_t)pid, 0);
	if (pidfd < 0)
		return errno;
	*fd = syscall(SYS_pidfd_getfd, pidfd, target_fd, 0);
	close(pidfd);
	return *fd < 0 ? errno : 0;
}

static void print_net_vq(const char *name, const struct kvhost_net_vq_stats *s)
{
	printf("%s packets=%llu bytes=%llu drops=%llu rejected=%llu kicks=%llu calls=%llu requeues=%llu broken=%u last_err=%u batched=%llu\n",
	       name, (unsigned long long)s->packets,
	       (unsigned long long)s->bytes, (unsigned long long)s->drops,
	       (unsigned long long)s->rejected, (unsigned long long)s->kicks,
	       (unsigned long long)s->calls, (unsigned long long)s->requeues,
	       s->broken, s->last_err, (unsigned long long)s->batched);
}

/* [--pid PID] --fd FD; Return: 0, or 2 after printing the usage. */
static int parse_pid_fd(int argc, char **argv, long *pid, long *target)
{
	int i;

	*pid = -1;
	*target = -1;
	for (i = 0; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--pid"))
			*pid = parse_num(argv[i + 1], 1, INT_MAX);
		else if (!strcmp(argv[i], "--fd"))
			*target = parse_num(argv[i + 1], 0, INT_MAX);
		else
			break;
		if (*pid == -1 && !strcmp(argv[i], "--pid"))
			break;
	}
	if (i != argc || *target < 0) {
		usage(stderr);
		return 2;
	}
	return 0;
}

static int cmd_net_stats(int argc, char **argv)
{
	struct kvhost_net_stats st;
	long pid, target;
	int fd = -1, err;

	err = parse_pid_fd(argc, argv, &pid, &target);
	if (err)
		return err;
	err = get_fd(pid, target, &fd);
	if (err)
		return fail(err, pid < 0 ? "--fd" : "pidfd_getfd");
	if (ioctl(fd, KVHOST_NET_GET_STATS, &st)) {
		err = errno;
		if (pid >= 0)
			close(fd);
		/* ENOTTY: the file is not a /dev/kvhost-net device. */
		return fail(err, "KVHOST_NET_GET_STATS");
	}
	if (pid >= 0)
		close(fd);
	print_net_vq("rx", &st.vq[KVHOST_NET_VQ_RX]);
	print_net_vq("tx", &st.vq[KVHOST_NET_VQ_TX]);
	return 0;
}

static void print_blk_queue(const struct kvhost_blk_queue_stats *s)
{
	unsigned int b;

	printf("queue %u reads=%llu writes=%llu flushes=%llu discards=%llu write_zeroes=%llu get_ids=%llu unsupported=%llu read_bytes=%llu write_bytes=%llu errors=%llu punted=%llu inflight=%u inflight_max=%u broken=%u last_err=%u\n",
	       s->index, (unsigned long long)s->reads,
	       (unsigned long long)s->writes, (unsigned long long)s->flushes,
	       (unsigned long long)s->discards,
	       (unsigned long long)s->write_zeroes,
	       (unsigned long long)s->get_ids,
	       (unsigned long long)s->unsupported,
	       (unsigned long long)s->read_bytes,
	       (unsigned long long)s->write_bytes,
	       (unsigned long long)s->errors, (unsigned long long)s->punted,
	       s->inflight, s->inflight_max, s->broken, s->last_err);
	printf("queue %u latency_us", s->index);
	for (b = 0; b < KVHOST_BLK_LAT_BUCKETS; b++)
		if (s->lat_hist[b])
			printf(" %s%llu:%llu", b + 1 == KVHOST_BLK_LAT_BUCKETS ? ">=" : "<",
			       b + 1 == KVHOST_BLK_LAT_BUCKETS ? 1ULL << b : 2ULL << b,
			       (unsigned long long)s->lat_hist[b]);
	printf("\n");
}

static int cmd_blk_stats(int argc, char **argv)
{
	struct kvhost_blk_queue_stats st;
	long pid, target;
	int fd = -1, err = 0;
	unsigned int q;

	err = parse_pid_fd(argc, argv, &pid, &target);
	if (err)
		return err;
	err = get_fd(pid, target, &fd);
	if (err)
		return fail(err, pid < 0 ? "--fd" : "pidfd_getfd");
	/* Every queue in use, until the device says there are no more. */
	for (q = 0; q < KVHOST_BLK_QUEUES_MAX; q++) {
		memset(&st, 0, sizeof(st));
		st.index = q;
		if (ioctl(fd, KVHOST_BLK_GET_STATS, &st)) {
			err = errno;
			break;
		}
		print_blk_queue(&st);
	}
	if (pid >= 0)
		close(fd);
	/* ENOBUFS after the last queue; ENOTTY: not a /dev/kvhost-blk file. */
	if (err != ENOBUFS || !q)
		return fail(err, "KVHOST_BLK_GET_STATS");
	return 0;
}

static const struct subcommand {
	const char *name;
	int (*run)(int argc, char **argv);
} subcommands[] = {
	{ "info", cmd_info },
	{ "stats", cmd_stats },
	{ "net", cmd_net },
	{ "features", cmd_features },
	{ "net-stats", cmd_net_stats },
	{ "blk-stats", cmd_blk_stats },
	{ "blk", cmd_blk },
};

int main(int argc, char **argv)
{
	size_t i;

	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	for (i = 0; i < ARRAY_LEN(subcommands); i++)
		if (!strcmp(argv[1], subcommands[i].name))
			return subcommands[i].run(argc - 2, argv + 2);
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("kvhostctl %s\n", KVHOST_VERSION);
		return 0;
	}
	usage(stderr);
	return 2;
}
