// SPDX-License-Identifier: GPL-2.0
/*
 * t_ctl_net: kvhostctl net hands QEMU a tap and kvhost-net devices.
 * With fake_qemu in QEMU's place, what QEMU would get is checked from the
 * other side: its arguments (-netdev tap,...,vhost=on,vhostfds=..., a
 * virtio-net-pci unless the command line has one), and every fd it
 * inherited, by what it is (a tap queue of the named interface, as tun's
 * own fdinfo says, or /dev/kvhost-net) and that there is no other.  Then
 * the bad arguments (exit 2) and the device that cannot do what the
 * command line asks (exit 1).  Last, the real QEMU of this machine starts
 * on it (paused, no guest) and owns the device, as kvhostctl info shows.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "tap.h"
#include "kvdev.h"

static char tool[512], fake[512];

/* Run "kvhostctl @args" with 2>&1; output in @out.  Return: exit status. */
static int run(const char *args, char *out, size_t size)
{
	char cmd[2048];

	snprintf(cmd, sizeof(cmd), "%s %s 2>&1", tool, args);
	return kvdev_run(cmd, out, size);
}

/* fake_qemu's "arg N VALUE" line for the value after @opt, or NULL. */
static const char *arg_after(const char *out, const char *opt, char *buf, size_t len)
{
	char want[64];
	const char *p;
	int n;

	snprintf(want, sizeof(want), " %s\n", opt);
	for (p = strstr(out, want); p; p = strstr(p + 1, want)) {
		if (sscanf(p + strlen(want), "arg %*d %n", &n) == 0 && n > 0) {
			p += strlen(want) + n;
			snprintf(buf, len, "%.*s", (int)strcspn(p, "\n"), p);
			return buf;
		}
	}
	return NULL;
}

/* The fds fake_qemu listed beyond 0-2, and what each is. */
struct inherited {
	int n, tun, kvnet, other;
	char iff[64];		/* the tap name, if every tap fd agrees */
	bool iff_mixed;
};

static void scan_fds(const char *out, struct inherited *in)
{
	const char *p;
	char link[256], iff[64];
	int fd;

	memset(in, 0, sizeof(*in));
	for (p = out; (p = strstr(p, "\nfd ")); p++) {
		if (sscanf(p, "\nfd %d %255s", &fd, link) != 2 || fd <= 2)
			continue;
		in->n++;
		if (!strcmp(link, "/dev/net/tun"))
			in->tun++;
		else if (!strcmp(link, "/dev/kvhost-net"))
			in->kvnet++;
		else
			in->other++;
	}
	for (p = out; (p = strstr(p, "\niff ")); p++) {
		if (sscanf(p, "\niff %d %63s", &fd, iff) != 2)
			continue;
		if (in->iff[0] && strcmp(in->iff, iff))
			in->iff_mixed = true;
		snprintf(in->iff, sizeof(in->iff), "%s", iff);
	}
}

/* "fd=3,..." style: the numbers of @key in @netdev ("a:b"), as a count. */
static int fd_count(const char *netdev, const char *key)
{
	char want[32];
	const char *p;
	int n = 1;

	snprintf(want, sizeof(want), ",%s=", key);
	p = strstr(netdev, want);
	if (!p)
		return 0;
	for (p += strlen(want); *p && *p != ','; p++)
		n += *p == ':';
	return n;
}

static bool tap_exists(const char *name)
{
	char path[128];

	snprintf(path, sizeof(path), "/sys/class/net/%s", name);
	return !access(path, F_OK);
}

/* kvhostctl net @opts -- fake_qemu @qemu_args: its output, what it inherited. */
static int launch(const char *opts, const char *qemu_args, char *out, size_t size,
		  struct inherited *in)
{
	char args[1024];
	int rc;

	snprintf(args, sizeof(args), "net %s -- %s %s", opts, fake, qemu_args);
	rc = run(args, out, size);
	scan_fds(out, in);
	return rc;
}

static void one_pair(void)
{
	static char out[65536];
	char netdev[512], device[256];
	struct inherited in;
	int rc;

	rc = launch("--tap kvct1", "-m 64", out, sizeof(out), &in);
	tap_is(rc, 0, "net --tap kvct1 -- fake_qemu: exits 0 (fake_qemu's status)");
	tap_ok(arg_after(out, "-netdev", netdev, sizeof(netdev)) &&
	       !strncmp(netdev, "tap,id=kvnet0,fd=", 17) && strstr(netdev, ",vhost=on,vhostfd=") &&
	       fd_count(netdev, "fd") == 1 && fd_count(netdev, "vhostfd") == 1,
	       "-netdev tap,id=kvnet0,fd=T,vhost=on,vhostfd=V (\"%s\")",
	       arg_after(out, "-netdev", netdev, sizeof(netdev)) ? netdev : "none");
	tap_ok(arg_after(out, "-device", device, sizeof(device)) &&
	       !strcmp(device, "virtio-net-pci,netdev=kvnet0"),
	       "a -device virtio-net-pci,netdev=kvnet0 is added");
	tap_ok(strstr(out, "arg 1 -m\narg 2 64\n") != NULL, "QEMU's own arguments come first, unchanged");
	tap_ok(in.n == 2 && in.tun == 1 && in.kvnet == 1 && !strcmp(in.iff, "kvct1"),
	       "QEMU inherits exactly a queue of tap kvct1 and a /dev/kvhost-net (%d fds: %d tun, %d kvhost-net, %d other; iff %s)",
	       in.n, in.tun, in.kvnet, in.other, in.iff);
	tap_ok(!tap_exists("kvct1"), "the tap created for QEMU goes with it");
}

static void two_pairs(void)
{
	static char out[65536];
	char netdev[512], device[256];
	struct inherited in;
	int rc;

	rc = launch("--tap kvct2 --queues 2 --poll-us 50", "", out, sizeof(out), &in);
	tap_is(rc, 0, "net --queues 2 --poll-us 50: exits 0");
	tap_ok(arg_after(out, "-netdev", netdev, sizeof(netdev)) &&
	       fd_count(netdev, "fds") == 2 && fd_count(netdev, "vhostfds") == 2 &&
	       strstr(netdev, ",poll-us=50"),
	       "-netdev with fds=T0:T1, vhostfds=V0:V1, poll-us=50 (\"%s\")", netdev);
	tap_ok(arg_after(out, "-device", device, sizeof(device)) &&
	       !strcmp(device, "virtio-net-pci,netdev=kvnet0,mq=on,vectors=6"),
	       "the -device added has mq=on,vectors=6");
	tap_ok(in.n == 4 && in.tun == 2 && in.kvnet == 2 && !in.iff_mixed &&
	       !strcmp(in.iff, "kvct2"),
	       "QEMU inherits 2 queues of one multiqueue tap kvct2 and 2 /dev/kvhost-net, nothing else (%d fds)",
	       in.n);
}

static void own_device_and_default_tap(void)
{
	static char out[65536];
	char netdev[512], device[256];
	struct inherited in;
	int rc;

	rc = launch("--id nic7", "-device virtio-net-pci,netdev=nic7,mac=52:54:00:12:34:56",
		    out, sizeof(out), &in);
	tap_ok(rc == 0 && arg_after(out, "-netdev", netdev, sizeof(netdev)) &&
	       !strncmp(netdev, "tap,id=nic7,", 12) &&
	       arg_after(out, "-device", device, sizeof(device)) && strstr(device, "mac=") &&
	       !strstr(out, "virtio-net-pci,netdev=nic7\n"),
	       "--id nic7 with the command line's own -device: no second -device");
	tap_ok(!strncmp(in.iff, "kvtap", 5) && in.tun == 1,
	       "without --tap a new tap named kvtapN (%s)", in.iff);
}

static void refused(void)
{
	static const struct {
		const char *args, *why;
	} usage[] = {
		{ "net --queues 0 -- Q", "--queues 0" },
		{ "net --queues 65 -- Q", "--queues 65" },
		{ "net --poll-us -1 -- Q", "--poll-us -1" },
		{ "net --poll-us 1000001 -- Q", "--poll-us 1000001" },
		{ "net --tap abcdefghijklmnop -- Q", "a 16-character tap name" },
		{ "net --tap a/b -- Q", "a tap name with /" },
		{ "net --id 1nic -- Q", "an --id not starting with a letter" },
		{ "net --queues 2", "no --" },
		{ "net --queues 2 --", "nothing after --" },
		{ "net --bogus 1 -- Q", "an unknown option" },
		{ "net -- Q -netdev user,id=kvnet0", "a -netdev of the same id" },
		{ "net --queues 2 -- Q -device virtio-net-pci,netdev=kvnet0", "2 pairs, -device without mq=on" },
	};
	static char out[65536];
	char args[1024];
	size_t i;
	int rc;

	for (i = 0; i < sizeof(usage) / sizeof(usage[0]); i++) {
		rc = run(usage[i].args, out, sizeof(out));
		tap_ok(rc == 2 && strstr(out, "kvhostctl: net: "),
		       "%s: usage error 2 with a message (rc %d: %.*s)", usage[i].why, rc,
		       (int)strcspn(out, "\n"), out);
	}
	snprintf(args, sizeof(args), "net -- %s -device virtio-net-pci,netdev=kvnet0,packed=on", fake);
	rc = run(args, out, sizeof(out));
	tap_ok(rc == 1 && strstr(out, "VIRTIO_F_RING_PACKED") && !strstr(out, "arg 0"),
	       "packed=on, which kvhost-net does not offer: exit 1 naming VIRTIO_F_RING_PACKED, QEMU not run");
	/* A persistent tap without multi_queue cannot take 2 queues. */
	if (system("ip tuntap add dev kvct9 mode tap vnet_hdr 2>/dev/null") == 0) {
		snprintf(args, sizeof(args), "net --tap kvct9 --queues 2 -- %s", fake);
		rc = run(args, out, sizeof(out));
		tap_ok(rc == 1 && strstr(out, "multi_queue") && !strstr(out, "arg 0"),
		       "2 queues on a tap made without multi_queue: exit 1 saying so");
		snprintf(args, sizeof(args), "net --tap kvct9 -- %s", fake);
		tap_is(run(args, out, sizeof(out)), 0, "1 queue on that existing tap: exits 0");
		tap_ok(tap_exists("kvct9"), "... and the persistent tap stays");
		if (system("ip tuntap del dev kvct9 mode tap"))
			tap_diag("  could not delete kvct9");
	} else {
		tap_ok(true, "existing tap without multi_queue # SKIP no ip tuntap");
		tap_ok(true, "1 queue on an existing tap # SKIP no ip tuntap");
		tap_ok(true, "the persistent tap stays # SKIP no ip tuntap");
	}
}

/* The machine's QEMU, paused with no guest, owns the kvhost-net device. */
static void real_qemu(void)
{
	static char out[1 << 17];
	char cmd[1024], owner[64];
	uint64_t deadline;
	pid_t pid;
	bool seen = false;

	if (access("/usr/bin/qemu-system-x86_64", X_OK)) {
		tap_ok(true, "real QEMU owns the device # SKIP no qemu-system-x86_64");
		return;
	}
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		if (!freopen("/dev/null", "w", stdout) || !freopen("/dev/null", "w", stderr))
			_exit(126);
		execl(tool, tool, "net", "--tap", "kvct3", "--", "/usr/bin/qemu-system-x86_64",
		      "-M", "q35", "-nodefaults", "-display", "none", "-S", "-monitor", "none",
		      "-serial", "none", "-m", "64", (char *)NULL);
		_exit(127);
	}
	/* QEMU calls VHOST_SET_OWNER when it sets up the netdev, before any guest. */
	snprintf(owner, sizeof(owner), "\"owner_pid\":%d", (int)pid);
	snprintf(cmd, sizeof(cmd), "%s info --json | tr -d ' \\n'", tool);
	for (deadline = kvdev_now_ms() + 90000; !seen && kvdev_now_ms() < deadline;) {
		kvdev_run(cmd, out, sizeof(out));
		seen = strstr(out, owner) && strstr(out, "qemu-system-x86");
		if (!seen)
			usleep(500000);
	}
	tap_ok(seen, "real QEMU started by kvhostctl net holds and owns a /dev/kvhost-net (pid %d)",
	       (int)pid);
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
}

int main(void)
{
	const char *top = getenv("KVHOST_TOP");
	int stray;

	tap_init();
	tap_watchdog(200);
	snprintf(tool, sizeof(tool), "%s/build/user/userspace_ctl/kvhostctl", top ? top : "../..");
	snprintf(fake, sizeof(fake), "%s/build/user/tests/integration/fake_qemu", top ? top : "../..");
	if (!tap_ok(!access(tool, X_OK) && !access(fake, X_OK), "kvhostctl and fake_qemu built"))
		return tap_done();
	if (!tap_ok(!access("/dev/kvhost-net", F_OK) && !access("/dev/net/tun", F_OK),
		    "/dev/kvhost-net and /dev/net/tun exist"))
		return tap_done();
	/* An fd of ours without close-on-exec: QEMU must not get it. */
	stray = open("/dev/null", O_RDONLY);
	one_pair();
	two_pairs();
	own_device_and_default_tap();
	refused();
	real_qemu();
	close(stray);
	return tap_done();
}
