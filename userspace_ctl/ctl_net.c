// SPDX-License-Identifier: GPL-2.0
/*
 * kvhostctl net: start QEMU with a NIC whose datapath is kvhost-net.
 *
 *   kvhostctl net [--tap NAME] [--queues N] [--poll-us US] [--id ID]
 *                 -- QEMU [ARGS...]
 *
 * Opens (creating it if need be) the tap, one file per queue pair
 * (IFF_MULTI_QUEUE when N > 1), and one /dev/kvhost-net per queue pair,
 * checks that the device offers what the QEMU command line asks of the
 * NIC, and execs QEMU with
 *
 *   -netdev tap,id=ID,fds=T0:T1..,vhost=on,vhostfds=V0:V1..[,poll-us=US]
 *
 * (fd=/vhostfd= for one pair) and, unless the command line already has a
 * -device on netdev=ID, a virtio-net-pci on it.  Those fds are the only
 * ones QEMU inherits besides 0-2.  QEMU then owns the devices and
 * negotiates the features itself, exactly as with an fd libvirt passes;
 * nothing here calls VHOST_SET_OWNER.
 */
#define _GNU_SOURCE		/* close_range() */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/if_tun.h>
#include <linux/vhost.h>
#include <linux/virtio_config.h>
#include <linux/virtio_net.h>
#include "kvhost.h"
#include "kvhostctl.h"

#define NET_QUEUES_MAX	64		/* queue pairs; QEMU's virtio-net allows 1024 */
#define POLL_US_MAX	1000000
#define DEFAULT_ID	"kvnet0"
#define DEFAULT_TAP	"kvtap%d"	/* the kernel picks the number */
#define HELP_SHOWN	(-1)		/* parse_net_opts(): --help printed */

struct net_opts {
	char tap[IFNAMSIZ];
	long queues;
	long poll_us;			/* -1: QEMU's default (none) */
	const char *id;
	char **qemu;			/* QEMU and its arguments */
	int nqemu;
};

/* What the QEMU command line asks of the NIC on netdev=ID. */
struct nic_wants {
	bool has_device;	/* a -device with netdev=ID */
	bool mq;		/* ... with mq=on */
	bool packed;		/* ... with packed=on */
};

struct net_fds {
	int tap[NET_QUEUES_MAX];
	int vhost[NET_QUEUES_MAX];
	int n;
};

static int net_usage(FILE *f)
{
	fprintf(f,
		"usage: %s net [--tap NAME] [--queues N] [--poll-us US] [--id ID] -- QEMU [ARGS...]\n"
		"  Starts QEMU with a virtio-net NIC served by kvhost-net: opens the tap NAME\n"
		"  (created if missing; default: a new kvtapN), N queue pairs (1..%d, default 1;\n"
		"  a multiqueue tap when N > 1), one /dev/kvhost-net per pair, and execs QEMU\n"
		"  with -netdev tap,id=ID,...,vhost=on,vhostfds=... (ID default %s) and, unless\n"
		"  ARGS have a -device with netdev=ID, a virtio-net-pci on it.  --poll-us is\n"
		"  QEMU's poll-us= (the worker busy-polls the ring that long, 0..%d).\n",
		prog, NET_QUEUES_MAX, DEFAULT_ID, POLL_US_MAX);
	return f == stdout ? 0 : 2;
}

static bool valid_ifname(const char *s)
{
	size_t n = strlen(s), i;

	if (!n || n >= IFNAMSIZ || !strcmp(s, ".") || !strcmp(s, ".."))
		return false;
	for (i = 0; i < n; i++)
		if (s[i] == '/' || s[i] == ':' || s[i] == ',' || s[i] <= ' ')
			return false;
	return true;
}

/* QEMU ids: a letter, then letters, digits, '-', '.', '_'. */
static bool valid_qemu_id(const char *s)
{
	size_t i;

	if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
		return false;
	for (i = 1; s[i]; i++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._", s[i]))
			return false;
	return i <= 64;
}

static int parse_net_opts(int argc, char **argv, struct net_opts *o)
{
	int i;

	*o = (struct net_opts){ .queues = 1, .poll_us = -1, .id = DEFAULT_ID };
	snprintf(o->tap, sizeof(o->tap), "%s", DEFAULT_TAP);
	for (i = 0; i < argc && strcmp(argv[i], "--"); i++) {
		const char *opt = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(opt, "--help") || !strcmp(opt, "-h"))
			return net_usage(stdout), HELP_SHOWN;
		if (!val || !strcmp(val, "--"))
			return usage_error("net: %s needs a value (try: %s net --help)", opt, prog);
		i++;
		if (!strcmp(opt, "--tap")) {
			if (!valid_ifname(val))
				return usage_error("net: --tap \"%s\" is no interface name (1..%d characters, no '/', ':', ',' or blanks)",
						   val, IFNAMSIZ - 1);
			snprintf(o->tap, sizeof(o->tap), "%s", val);
		} else if (!strcmp(opt, "--queues")) {
			o->queues = parse_num(val, 1, NET_QUEUES_MAX);
			if (o->queues < 0)
				return usage_error("net: --queues takes 1..%d queue pairs, not \"%s\"",
						   NET_QUEUES_MAX, val);
		} else if (!strcmp(opt, "--poll-us")) {
			o->poll_us = parse_num(val, 0, POLL_US_MAX);
			if (o->poll_us < 0)
				return usage_error("net: --poll-us takes 0..%d microseconds, not \"%s\"",
						   POLL_US_MAX, val);
		} else if (!strcmp(opt, "--id")) {
			if (!valid_qemu_id(val))
				return usage_error("net: --id \"%s\" is no QEMU id (a letter, then letters, digits, '-', '.', '_')",
						   val);
			o->id = val;
		} else {
			return usage_error("net: unknown option \"%s\" (try: %s net --help)", opt, prog);
		}
	}
	if (i + 1 >= argc)
		return usage_error("net: no QEMU command after \"--\" (for example: %s net -- qemu-system-x86_64 -m 1G ...)",
				   prog);
	o->qemu = argv + i + 1;
	o->nqemu = argc - i - 1;
	return 0;
}

/* Whether the QEMU option list @opts (a,b=c,...) has @key=@val. */
static bool has_opt(const char *opts, const char *key, const char *val)
{
	size_t k = strlen(key), v = strlen(val);
	const char *p = opts;

	while (p && *p) {
		if (!strncmp(p, key, k) && p[k] == '=' && !strncmp(p + k + 1, val, v) &&
		    (p[k + 1 + v] == ',' || !p[k + 1 + v]))
			return true;
		p = strchr(p, ',');
		p = p ? p + 1 : NULL;
	}
	return false;
}

static int scan_qemu_args(const struct net_opts *o, struct nic_wants *w)
{
	int i;

	*w = (struct nic_wants){ 0 };
	for (i = 0; i + 1 < o->nqemu; i++) {
		const char *opt = o->qemu[i], *val = o->qemu[i + 1];

		if ((!strcmp(opt, "-netdev") || !strcmp(opt, "--netdev")) &&
		    has_opt(val, "id", o->id))
			return usage_error("net: the QEMU arguments already have a -netdev with id=%s; kvhostctl adds that one (choose another --id, or drop yours)",
					   o->id);
		if ((!strcmp(opt, "-device") || !strcmp(opt, "--device")) &&
		    has_opt(val, "netdev", o->id)) {
			w->has_device = true;
			w->mq = has_opt(val, "mq", "on") || has_opt(val, "mq", "true");
			w->packed = has_opt(val, "packed", "on") || has_opt(val, "packed", "true");
		}
	}
	if (w->has_device && o->queues > 1 && !w->mq)
		return usage_error("net: %ld queue pairs, but the -device on netdev=%s has no mq=on; add mq=on,vectors=%ld to it",
				   o->queues, o->id, 2 * o->queues + 2);
	return 0;
}

/* One queue of the tap; the first call creates it if it does not exist. */
static int open_tap_queue(struct net_opts *o, int *fd)
{
	struct ifreq ifr = { 0 };
	int err;

	*fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (*fd < 0) {
		err = errno;
		fprintf(stderr, "%s: net: /dev/net/tun: %s (modprobe tun; root or CAP_NET_ADMIN)\n",
			prog, strerror(err));
		return 1;
	}
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR |
			(o->queues > 1 ? IFF_MULTI_QUEUE : 0);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", o->tap);
	if (ioctl(*fd, TUNSETIFF, &ifr)) {
		err = errno;
		close(*fd);
		*fd = -1;
		fprintf(stderr, "%s: net: tap %s: %s%s\n", prog, o->tap, strerror(err),
			err == EINVAL ? " (it exists with other flags: a multiqueue tap needs multi_queue, "
					"\"ip tuntap add dev NAME mode tap multi_queue vnet_hdr\")" :
			err == EBUSY ? " (it is in use by another process)" : "");
		return 1;
	}
	/* kvtap%d becomes the name the kernel chose: the next queues join it. */
	snprintf(o->tap, sizeof(o->tap), "%s", ifr.ifr_name);
	return 0;
}

/* Bring the tap up, as "ip link set NAME up" would. */
static int tap_up(const char *name)
{
	struct ifreq ifr = { 0 };
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), err = 0;

	if (s < 0)
		return errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(s, SIOCGIFFLAGS, &ifr) == 0 && !(ifr.ifr_flags & IFF_UP)) {
		ifr.ifr_flags |= IFF_UP;
		if (ioctl(s, SIOCSIFFLAGS, &ifr))
			err = errno;
	}
	close(s);
	return err;
}

/* One /dev/kvhost-net, and whether it offers what QEMU will ask. */
static int open_vhost(const struct nic_wants *w, int *fd)
{
	uint64_t f;
	int err = open_device("/dev/kvhost-net", fd);

	if (err) {
		fprintf(stderr, "%s: net: /dev/kvhost-net: %s%s\n", prog, strerror(err),
			err == ENOENT ? " (modprobe kvhost_net, or insmod kvhost_net.ko)" : "");
		return 1;
	}
	if (ioctl(*fd, VHOST_GET_FEATURES, &f))
		return fail(errno, "net: VHOST_GET_FEATURES on /dev/kvhost-net");
	if (!(f & (1ULL << VIRTIO_F_VERSION_1))) {
		fprintf(stderr, "%s: net: /dev/kvhost-net does not offer VIRTIO_F_VERSION_1, which QEMU's virtio-net-pci needs\n",
			prog);
		return 1;
	}
	if (w->packed && !(f & (1ULL << VIRTIO_F_RING_PACKED))) {
		fprintf(stderr, "%s: net: the -device asks for packed=on, but /dev/kvhost-net does not offer VIRTIO_F_RING_PACKED (0x%016" PRIx64 "); drop packed=on\n",
			prog, f);
		return 1;
	}
	return 0;
}

static int open_all(struct net_opts *o, const struct nic_wants *w, struct net_fds *fds)
{
	int i, ret, err;

	for (fds->n = 0; fds->n < o->queues; fds->n++) {
		i = fds->n;
		fds->tap[i] = fds->vhost[i] = -1;
		ret = open_tap_queue(o, &fds->tap[i]);
		ret = ret ?: open_vhost(w, &fds->vhost[i]);
		if (ret)
			return ret;
	}
	err = tap_up(o->tap);
	if (err)
		fprintf(stderr, "%s: net: warning: tap %s stays down: %s\n", prog, o->tap,
			strerror(err));
	return 0;
}

static void join_fds(char *buf, size_t len, const int *fd, int n)
{
	size_t used = 0;
	int i;

	buf[0] = 0;
	for (i = 0; i < n && used < len; i++)
		used += snprintf(buf + used, len - used, "%s%d", i ? ":" : "", fd[i]);
}

/* QEMU's argv: the user's, then our -netdev and maybe a -device; malloc'd. */
static char **qemu_argv(const struct net_opts *o, const struct nic_wants *w,
			const struct net_fds *fds)
{
	static char netdev[2048], device[256];
	char taps[NET_QUEUES_MAX * 12], vhosts[NET_QUEUES_MAX * 12], poll[32] = "";
	char **argv = calloc(o->nqemu + 5, sizeof(*argv));
	int n;

	if (!argv)
		return NULL;
	join_fds(taps, sizeof(taps), fds->tap, fds->n);
	join_fds(vhosts, sizeof(vhosts), fds->vhost, fds->n);
	if (o->poll_us >= 0)
		snprintf(poll, sizeof(poll), ",poll-us=%ld", o->poll_us);
	snprintf(netdev, sizeof(netdev), "tap,id=%s,%s=%s,vhost=on,%s=%s%s", o->id,
		 fds->n > 1 ? "fds" : "fd", taps, fds->n > 1 ? "vhostfds" : "vhostfd",
		 vhosts, poll);
	memcpy(argv, o->qemu, o->nqemu * sizeof(*argv));
	n = o->nqemu;
	argv[n++] = "-netdev";
	argv[n++] = netdev;
	if (!w->has_device) {
		if (o->queues > 1)
			snprintf(device, sizeof(device), "virtio-net-pci,netdev=%s,mq=on,vectors=%ld",
				 o->id, 2 * o->queues + 2);
		else
			snprintf(device, sizeof(device), "virtio-net-pci,netdev=%s", o->id);
		argv[n++] = "-device";
		argv[n++] = device;
	}
	argv[n] = NULL;
	return argv;
}

/* Only our fds go to QEMU: everything else from 3 on closes at exec. */
static int inherit_only(const struct net_fds *fds)
{
	int i;

	if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC))
		return errno;
	for (i = 0; i < fds->n; i++)
		if (fcntl(fds->tap[i], F_SETFD, 0) || fcntl(fds->vhost[i], F_SETFD, 0))
			return errno;
	return 0;
}

int cmd_net(int argc, char **argv)
{
	struct net_opts o;
	struct nic_wants w;
	struct net_fds fds = { .n = 0 };
	char **qargv;
	int ret, i;

	ret = parse_net_opts(argc, argv, &o);
	if (ret)
		return ret == HELP_SHOWN ? 0 : ret;
	ret = scan_qemu_args(&o, &w);
	if (ret)
		return ret;
	ret = open_all(&o, &w, &fds);
	if (ret)
		goto close_fds;
	qargv = qemu_argv(&o, &w, &fds);
	if (!qargv) {
		ret = fail(ENOMEM, "net");
		goto close_fds;
	}
	ret = inherit_only(&fds);
	if (ret) {
		ret = fail(ret, "net: passing the fds to QEMU");
		goto free_argv;
	}
	fprintf(stderr, "%s: net: tap %s, %ld queue pair%s on /dev/kvhost-net: -netdev %s\n",
		prog, o.tap, o.queues, o.queues > 1 ? "s" : "", qargv[o.nqemu + 1]);
	execvp(qargv[0], qargv);
	ret = errno;
	fprintf(stderr, "%s: net: cannot run %s: %s\n", prog, qargv[0], strerror(ret));
	ret = 1;
free_argv:
	free(qargv);
close_fds:
	for (i = 0; i < fds.n + (fds.n < o.queues); i++) {
		if (i < NET_QUEUES_MAX && fds.tap[i] >= 0)
			close(fds.tap[i]);
		if (i < NET_QUEUES_MAX && fds.vhost[i] >= 0)
			close(fds.vhost[i]);
	}
	return ret;
}
