// SPDX-License-Identifier: GPL-2.0
/*
 * kvnet_stats: print the KVHOST_NET_GET_STATS counters of an open
 * /dev/kvhost-net file, for tests/e2e/qemu-net.sh.
 *
 *   kvnet_stats FD      an inherited descriptor (the one handed to QEMU)
 *   kvnet_stats PATH    opens PATH (a new device instance: all zero)
 *
 * Output, one line:
 *   rx_packets=N rx_bytes=N rx_drops=N rx_broken=N tx_packets=N ...
 * Exit 0 on success, 1 if the ioctl fails (not a kvhost-net file).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include "kvhost.h"

static int open_arg(const char *arg)
{
	char *end;
	long fd;

	errno = 0;
	fd = strtol(arg, &end, 10);
	if (*arg && !*end && !errno && fd >= 0 && fd <= 1024)
		return (int)fd;
	return open(arg, O_RDWR | O_CLOEXEC);
}

static void print_vq(const char *name, const struct kvhost_net_vq_stats *s)
{
	printf("%s_packets=%llu %s_bytes=%llu %s_drops=%llu %s_rejected=%llu "
	       "%s_kicks=%llu %s_calls=%llu %s_broken=%u %s_err=%u %s_batched=%llu",
	       name, (unsigned long long)s->packets,
	       name, (unsigned long long)s->bytes,
	       name, (unsigned long long)s->drops,
	       name, (unsigned long long)s->rejected,
	       name, (unsigned long long)s->kicks,
	       name, (unsigned long long)s->calls,
	       name, s->broken, name, s->last_err,
	       name, (unsigned long long)s->batched);
}

int main(int argc, char **argv)
{
	struct kvhost_net_stats st;
	int fd;

	if (argc != 2) {
		fprintf(stderr, "usage: kvnet_stats FD|PATH\n");
		return 2;
	}
	fd = open_arg(argv[1]);
	if (fd < 0) {
		fprintf(stderr, "kvnet_stats: open %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	memset(&st, 0, sizeof(st));
	if (ioctl(fd, KVHOST_NET_GET_STATS, &st) < 0) {
		fprintf(stderr, "kvnet_stats: KVHOST_NET_GET_STATS on %s: %s\n",
			argv[1], strerror(errno));
		return 1;
	}
	print_vq("rx", &st.vq[KVHOST_NET_VQ_RX]);
	putchar(' ');
	print_vq("tx", &st.vq[KVHOST_NET_VQ_TX]);
	putchar('\n');
	return 0;
}
