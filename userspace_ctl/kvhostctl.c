// SPDX-License-Identifier: GPL-2.0
/*
 * kvhostctl: look at kvhost devices.
 *
 *   kvhostctl features DEVICE
 *	the virtio and backend features a device offers, by name
 *   kvhostctl net-stats [--pid PID] --fd FD
 *	counters of a /dev/kvhost-net file: one this process inherited, or
 *	one another process holds (QEMU's vhostfd), fetched with pidfd_getfd()
 *
 * Every argument is validated before the ioctl that uses it; each step is
 * one small function.
 */
#include <errno.h>
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
#include "kvhost.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open		434
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd		438
#endif

static const char *prog = "kvhostctl";

static int fail(int err, const char *what)
{
	fprintf(stderr, "%s: %s: %s\n", prog, what, strerror(err));
	return 1;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: %s features DEVICE\n"
		"       %s net-stats [--pid PID] --fd FD\n", prog, prog);
}

/* A whole decimal number in [min, max], or -1. */
static long parse_num(const char *s, long min, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		return -1;
	return v;
}

static const struct {
	unsigned int bit;
	const char *name;
} feature_names[] = {
	{ VIRTIO_NET_F_MRG_RXBUF, "VIRTIO_NET_F_MRG_RXBUF" },
	{ VIRTIO_F_NOTIFY_ON_EMPTY, "VIRTIO_F_NOTIFY_ON_EMPTY" },
	{ VIRTIO_F_ANY_LAYOUT, "VIRTIO_F_ANY_LAYOUT / VHOST_NET_F_VIRTIO_NET_HDR" },
	{ VIRTIO_RING_F_INDIRECT_DESC, "VIRTIO_RING_F_INDIRECT_DESC" },
	{ VIRTIO_RING_F_EVENT_IDX, "VIRTIO_RING_F_EVENT_IDX" },
	{ VHOST_F_LOG_ALL, "VHOST_F_LOG_ALL" },
	{ VIRTIO_F_VERSION_1, "VIRTIO_F_VERSION_1" },
};

static const char *feature_name(unsigned int bit)
{
	size_t i;

	for (i = 0; i < sizeof(feature_names) / sizeof(feature_names[0]); i++)
		if (feature_names[i].bit == bit)
			return feature_names[i].name;
	return NULL;
}

static void print_features(const char *what, uint64_t f)
{
	unsigned int bit;

	printf("%s: 0x%016" PRIx64 "\n", what, f);
	for (bit = 0; bit < 64; bit++) {
		const char *name = feature_name(bit);

		if (f & (1ULL << bit))
			printf("  bit %2u %s\n", bit, name ? name : "");
	}
}

/* A character device, opened read-write as QEMU would. */
static int open_device(const char *path, int *fd)
{
	struct stat st;

	if (stat(path, &st))
		return errno;
	if (!S_ISCHR(st.st_mode))
		return ENODEV;
	*fd = open(path, O_RDWR | O_CLOEXEC);
	return *fd < 0 ? errno : 0;
}

static int cmd_features(int argc, char **argv)
{
	uint64_t features, backend;
	int fd = -1, err;

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
	close(fd);
	print_features("features", features);
	print_features("backend features", backend);
	return 0;
}

/* Our own copy of another process's file, or of an inherited one. */
static int get_fd(long pid, int target_fd, int *fd)
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

static int cmd_net_stats(int argc, char **argv)
{
	struct kvhost_net_stats st;
	long pid = -1, target = -1;
	int i, fd = -1, err;

	for (i = 0; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--pid"))
			pid = parse_num(argv[i + 1], 1, INT_MAX);
		else if (!strcmp(argv[i], "--fd"))
			target = parse_num(argv[i + 1], 0, INT_MAX);
		else
			break;
		if (pid == -1 && !strcmp(argv[i], "--pid"))
			break;
	}
	if (i != argc || target < 0) {
		usage(stderr);
		return 2;
	}
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

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "features"))
		return cmd_features(argc - 2, argv + 2);
	if (!strcmp(argv[1], "net-stats"))
		return cmd_net_stats(argc - 2, argv + 2);
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(stdout);
		return 0;
	}
	usage(stderr);
	return 2;
}
