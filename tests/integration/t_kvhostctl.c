// SPDX-License-Identifier: GPL-2.0
/*
 * t_kvhostctl: kvhostctl reads what an operator needs from a running
 * device: the features /dev/kvhost-net offers, and the counters of a
 * kvhost-net file held by another process (as QEMU holds its vhostfd),
 * compared with the counters that process reads itself.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include "kvhost.h"
#include "kvdev.h"
#include "tap.h"

static char tool[512];

/* Run kvhostctl with @args; its stdout in @out.  Return: exit status. */
static int run_tool(const char *args, char *out, size_t size)
{
	char cmd[1024];

	snprintf(cmd, sizeof(cmd), "%s %s 2>/dev/null", tool, args);
	return kvdev_run(cmd, out, size);
}

int main(void)
{
	const char *top = getenv("KVHOST_TOP");
	char out[4096], args[128], want[128];
	struct kvhost_net_stats st;
	int ready[2], fd, rc;
	pid_t child;

	tap_init();
	tap_watchdog(60);
	snprintf(tool, sizeof(tool), "%s/build/user/userspace_ctl/kvhostctl",
		 top ? top : "../..");
	if (!tap_ok(access(tool, X_OK) == 0, "kvhostctl built (%s)", tool))
		return tap_done();

	rc = run_tool("features /dev/kvhost-net", out, sizeof(out));
	tap_is(rc, 0, "features /dev/kvhost-net exits 0");
	tap_ok(strstr(out, "VIRTIO_NET_F_MRG_RXBUF") &&
	       strstr(out, "VIRTIO_F_VERSION_1") &&
	       strstr(out, "VIRTIO_RING_F_EVENT_IDX"),
	       "features lists MRG_RXBUF, VERSION_1, EVENT_IDX");

	/* A child holds the device like QEMU holds its vhostfd. */
	fd = open("/dev/kvhost-net", O_RDWR);
	if (!tap_ok(fd >= 0 && !pipe(ready), "open /dev/kvhost-net"))
		return tap_done();
	child = fork();
	if (child == 0) {
		char c = 1;

		if (ioctl(fd, VHOST_SET_OWNER))
			_exit(1);
		if (write(ready[1], &c, 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	if (read(ready[0], out, 1) != 1)
		tap_ok(false, "child set up its device");

	snprintf(args, sizeof(args), "net-stats --pid %d --fd %d", child, fd);
	rc = run_tool(args, out, sizeof(out));
	tap_is(rc, 0, "net-stats of another process's kvhost-net fd exits 0");
	tap_ok(!ioctl(fd, KVHOST_NET_GET_STATS, &st), "KVHOST_NET_GET_STATS here");
	snprintf(want, sizeof(want), "rx packets=%llu bytes=%llu",
		 (unsigned long long)st.vq[KVHOST_NET_VQ_RX].packets,
		 (unsigned long long)st.vq[KVHOST_NET_VQ_RX].bytes);
	tap_ok(strstr(out, want) && strstr(out, "\ntx packets="),
	       "net-stats prints both queues' counters");

	snprintf(args, sizeof(args), "net-stats --pid %d --fd 0", child);
	tap_is(run_tool(args, out, sizeof(out)), 1,
	       "net-stats of a file that is not kvhost-net fails");
	tap_is(run_tool("net-stats --pid 1 --fd", out, sizeof(out)), 2,
	       "net-stats without an fd number is a usage error");
	tap_is(run_tool("net-stats --pid 0 --fd 3", out, sizeof(out)), 2,
	       "net-stats with pid 0 is a usage error");

	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	close(fd);
	return tap_done();
}
