// SPDX-License-Identifier: GPL-2.0
/*
 * t_fuzz: a seeded, bounded ioctl fuzzer for the kvhost devices, in the
 * spirit of syzkaller's vhost descriptions.  Several /dev/kvhost-net and
 * /dev/kvhost-test fds at once get random sequences of every ioctl they
 * take (the core's, the worker ioctls, SET_BACKEND, KVHOST_TEST_RUN, the
 * stats), with mostly valid and some hostile arguments; meanwhile the
 * guest rings are scribbled on under the workers, fds are closed and
 * reopened, children inherit fds they do not own, and owners exit with
 * their devices set up.
 *
 * Checked here: every ioctl returns 0 or an errno from the documented set,
 * and afterwards a fresh device moves verified traffic.  Checked around
 * it: the kernel log (KASAN, lockdep, ...) and kmemleak, by the VM runner.
 *
 *   t_fuzz [SEED [OPS]]     env: KVHOST_FUZZ_SEED, KVHOST_FUZZ_OPS (3000)
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include "gnet.h"
#include "tap.h"

#define NFD		4
#define NEFD		6
#define GUEST_MEM	(4ULL << 20)

static uint64_t rng_state;

static uint64_t rnd(void)
{
	/* xorshift64*: the seed decides everything */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

static unsigned int rndn(unsigned int n)
{
	return (unsigned int)(rnd() % n);
}

static bool chance(unsigned int pct)
{
	return rndn(100) < pct;
}

struct fz {
	int fd[NFD];
	bool net[NFD];			/* kvhost-net, else kvhost-test */
	int efd[NEFD];
	struct tapdev tap;
	int packet, udp;
	struct vdrv_mem mem;
	struct vdrv_ring ring[4];
	uint64_t ops, errors_ok, bad;
	char first_bad[200];
};

static const int allowed[] = {
	0, EINVAL, EFAULT, EBUSY, EPERM, ENOBUFS, ENOSPC, EAGAIN, EOPNOTSUPP,
	ENOTSOCK, EBADF, ENODEV, E2BIG, ENOMEM, ENOTTY,
};

static bool errno_allowed(int e)
{
	unsigned int i;

	for (i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
		if (allowed[i] == e)
			return true;
	return false;
}

static void fz_ioctl(struct fz *z, int fd, unsigned long req, void *arg,
		     const char *what)
{
	int ret = ioctl(fd, req, arg), e = ret < 0 ? errno : 0;

	z->ops++;
	if (e)
		z->errors_ok++;
	if (!errno_allowed(e)) {
		if (!z->bad++)
			snprintf(z->first_bad, sizeof(z->first_bad),
				 "op %llu: %s -> %s", (unsigned long long)z->ops,
				 what, strerror(e));
	}
}

static int pick_efd(struct fz *z)
{
	if (chance(10))
		return -1;
	if (chance(5))
		return z->udp;		/* not an eventfd */
	if (chance(3))
		return 1000;		/* not open */
	return z->efd[rndn(NEFD)];
}

static unsigned int pick_index(void)
{
	return chance(90) ? rndn(2) : rndn(5);
}

static void op_vring(struct fz *z, int fd)
{
	struct vdrv_ring *r = &z->ring[rndn(4)];
	struct vhost_vring_state s = { .index = pick_index() };
	struct vhost_vring_addr a = { .index = s.index };
	struct vhost_vring_file f = { .index = s.index };

	switch (rndn(7)) {
	case 0:
		s.num = chance(80) ? r->num : (unsigned int)rnd();
		fz_ioctl(z, fd, VHOST_SET_VRING_NUM, &s, "SET_VRING_NUM");
		break;
	case 1:
		s.num = chance(80) ? rndn(0x10000) : (unsigned int)rnd();
		fz_ioctl(z, fd, VHOST_SET_VRING_BASE, &s, "SET_VRING_BASE");
		break;
	case 2:
		fz_ioctl(z, fd, VHOST_GET_VRING_BASE, &s, "GET_VRING_BASE");
		break;
	case 3:
		a.desc_user_addr = vdrv_ring_desc_uaddr(r);
		a.avail_user_addr = vdrv_ring_avail_uaddr(r);
		a.used_user_addr = vdrv_ring_used_uaddr(r);
		if (chance(15))
			a.desc_user_addr += rndn(64);
		if (chance(10))
			a.used_user_addr = rnd();
		if (chance(5))
			a.flags = 1 << rndn(32);
		fz_ioctl(z, fd, VHOST_SET_VRING_ADDR, &a, "SET_VRING_ADDR");
		break;
	case 4:
		f.fd = pick_efd(z);
		fz_ioctl(z, fd, VHOST_SET_VRING_KICK, &f, "SET_VRING_KICK");
		break;
	case 5:
		f.fd = pick_efd(z);
		fz_ioctl(z, fd, chance(50) ? VHOST_SET_VRING_CALL : VHOST_SET_VRING_ERR,
			 &f, "SET_VRING_CALL/ERR");
		break;
	default:
		s.num = rndn(100);
		fz_ioctl(z, fd, chance(50) ? VHOST_SET_VRING_BUSYLOOP_TIMEOUT :
			 VHOST_GET_VRING_BUSYLOOP_TIMEOUT, &s, "BUSYLOOP_TIMEOUT");
		break;
	}
}

static void op_device(struct fz *z, int slot)
{
	int fd = z->fd[slot];
	struct vhost_worker_state ws = { .worker_id = rndn(4) };
	struct vhost_vring_worker vw = { .index = pick_index(), .worker_id = rndn(4) };
	struct vhost_vring_file f = { .index = pick_index() };
	struct kvhost_net_stats nst;
	struct kvhost_test_stats tst;
	struct vhost_memory *t;
	uint64_t feat;
	int run;

	switch (rndn(11)) {
	case 0:
		fz_ioctl(z, fd, VHOST_SET_OWNER, NULL, "SET_OWNER");
		break;
	case 1:
		if (chance(20))
			fz_ioctl(z, fd, VHOST_RESET_OWNER, NULL, "RESET_OWNER");
		break;
	case 2:
		fz_ioctl(z, fd, VHOST_GET_FEATURES, &feat, "GET_FEATURES");
		feat = chance(80) ? (feat & rnd()) : rnd();
		fz_ioctl(z, fd, VHOST_SET_FEATURES, &feat, "SET_FEATURES");
		break;
	case 3:
		t = vdrv_mem_table(&z->mem);
		if (t && chance(20))
			t->regions[0].memory_size = rnd();
		if (t && chance(10))
			t->regions[0].userspace_addr = rnd();
		if (t)
			fz_ioctl(z, fd, VHOST_SET_MEM_TABLE, t, "SET_MEM_TABLE");
		free(t);
		break;
	case 4:
		fz_ioctl(z, fd, VHOST_NEW_WORKER, &ws, "NEW_WORKER");
		break;
	case 5:
		fz_ioctl(z, fd, chance(50) ? VHOST_FREE_WORKER : VHOST_NEW_WORKER,
			 &ws, "FREE/NEW_WORKER");
		fz_ioctl(z, fd, chance(50) ? VHOST_ATTACH_VRING_WORKER :
			 VHOST_GET_VRING_WORKER, &vw, "ATTACH/GET_VRING_WORKER");
		break;
	case 6:
		if (z->net[slot]) {
			int pick = rndn(5);

			f.fd = pick == 0 ? -1 : pick == 1 ? z->packet :
			       pick == 2 ? z->udp : z->tap.fd;
			fz_ioctl(z, fd, VHOST_NET_SET_BACKEND, &f, "SET_BACKEND");
		} else {
			run = chance(90) ? (int)rndn(2) : (int)rnd();
			fz_ioctl(z, fd, KVHOST_TEST_RUN, &run, "KVHOST_TEST_RUN");
		}
		break;
	case 7:
		if (z->net[slot])
			fz_ioctl(z, fd, KVHOST_NET_GET_STATS, &nst, "NET_GET_STATS");
		else
			fz_ioctl(z, fd, KVHOST_TEST_GET_STATS, &tst, "TEST_GET_STATS");
		break;
	case 8:
		/* An ioctl nobody defines, of our type and of vhost's. */
		fz_ioctl(z, fd, _IO(chance(50) ? KVHOST_IOC_TYPE : VHOST_VIRTIO,
				    0x60 + rndn(16)), NULL, "unknown ioctl");
		break;
	default:
		op_vring(z, fd);
		break;
	}
}

/* The guest rewrites its rings under the workers, and kicks. */
static void op_scribble(struct fz *z)
{
	struct vdrv_ring *r = &z->ring[rndn(4)];
	unsigned int i = rndn(r->num);

	switch (rndn(4)) {
	case 0:
		vdrv_raw_desc(r, i, rnd() & (GUEST_MEM - 1), rndn(4096),
			      rndn(8), rndn(r->num + 2));
		break;
	case 1:
		vdrv_raw_avail_entry(r, rndn(0x10000), rndn(r->num + 2));
		break;
	case 2:
		vdrv_raw_avail_idx(r, chance(70) ? r->avail_idx + rndn(4) : rndn(0x10000));
		break;
	default:
		vdrv_raw_used_event(r, rndn(0x10000));
		break;
	}
	eventfd_write(z->efd[rndn(NEFD)], 1);
}

static void reopen(struct fz *z, int slot)
{
	if (z->fd[slot] >= 0)
		close(z->fd[slot]);
	z->net[slot] = chance(60);
	z->fd[slot] = open(z->net[slot] ? "/dev/kvhost-net" : KVDEV_TEST_PATH,
			   O_RDWR | O_CLOEXEC);
}

/* A child works the inherited fds (it owns none), or owns one and exits. */
static void op_fork(struct fz *z)
{
	bool own = chance(50);
	uint64_t seed = rnd();
	pid_t pid = fork();
	int i, status;

	if (pid < 0)
		return;
	if (pid == 0) {
		rng_state = seed | 1;
		if (own) {
			reopen(z, 0);
			fz_ioctl(z, z->fd[0], VHOST_SET_OWNER, NULL, "child SET_OWNER");
		}
		for (i = 0; i < 20; i++)
			op_device(z, rndn(NFD));
		/* Leaves with whatever it set up: the owner exits. */
		_exit(z->bad ? 1 : 0);
	}
	if (waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	    WEXITSTATUS(status) && !z->bad++)
		snprintf(z->first_bad, sizeof(z->first_bad),
			 "a forked child saw an unexpected errno");
}

static int fz_init(struct fz *z)
{
	struct vdrv_ring_opts o = { .event_idx = true, .indirect = true };
	unsigned int i;
	int ret;

	memset(z, 0, sizeof(*z));
	ret = vdrv_mem_init_identity(&z->mem, GUEST_MEM);
	for (i = 0; !ret && i < 4; i++) {
		o.num = 1u << (2 + i * 2);	/* 4, 16, 64, 256 */
		ret = vdrv_ring_init(&z->ring[i], &z->mem, &o);
	}
	for (i = 0; !ret && i < NEFD; i++) {
		z->efd[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (z->efd[i] < 0)
			ret = -errno;
	}
	ret = ret ?: tapdev_open(&z->tap, true, 12);
	if (!ret) {
		z->packet = wire_open(z->tap.ifindex);
		z->udp = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	}
	for (i = 0; !ret && i < NFD; i++) {
		z->fd[i] = -1;
		reopen(z, i);
	}
	return ret;
}

static void fz_fini(struct fz *z)
{
	unsigned int i;

	for (i = 0; i < NFD; i++)
		if (z->fd[i] >= 0)
			close(z->fd[i]);
	for (i = 0; i < NEFD; i++)
		close(z->efd[i]);
	close(z->packet);
	close(z->udp);
	tapdev_close(&z->tap);
	for (i = 0; i < 4; i++)
		vdrv_ring_destroy(&z->ring[i]);
	vdrv_mem_destroy(&z->mem);
}

/* After all that, a fresh device and tap move frames both ways. */
static bool fresh_device_works(void)
{
	static const struct gcfg c = {
		.features = F_V1 | F_MRG | F_EVENT_IDX, .num = 64,
		.rx_buf = 1536, .event_idx = true,
	};
	static uint8_t f[1500], got[FRAME_MAX + 64];
	struct virtio_net_hdr_mrg_rxbuf h = { 0 };
	struct tapdev t;
	struct gnet g;
	unsigned int nb;
	int wire, ret;
	bool ok;

	if (tapdev_open(&t, true, 12))
		return false;
	wire = wire_open(t.ifindex);
	ret = gnet_open(&g, "/dev/kvhost-net", &c, t.fd);
	frame_make(f, 1000, 77, false);
	ok = !ret && !gnet_tx(&g, &h, f, 1000, false) &&
	     wire_recv(wire, got, sizeof(got), WAIT_MS) == 1000;
	frame_make(f, 900, 78, false);
	ok = ok && !wire_send(wire, f, 900) &&
	     gnet_rx(&g, got, &h, &nb, WAIT_MS) == 900;
	gnet_close(&g);
	close(wire);
	tapdev_close(&t);
	return ok;
}

int main(int argc, char **argv)
{
	const char *es = getenv("KVHOST_FUZZ_SEED"), *eo = getenv("KVHOST_FUZZ_OPS");
	uint64_t seed = argc > 1 ? strtoull(argv[1], NULL, 0) :
			es ? strtoull(es, NULL, 0) : 0x6b76686f7374ULL;
	uint64_t nops = argc > 2 ? strtoull(argv[2], NULL, 0) :
			eo ? strtoull(eo, NULL, 0) : 3000, n;
	struct fz z;
	int ret;

	tap_init();
	tap_watchdog(280);
	rng_state = seed | 1;
	ret = fz_init(&z);
	if (!tap_ok(!ret, "fuzz: set-up (seed %#llx, %llu operations)",
		    (unsigned long long)seed, (unsigned long long)nops)) {
		tap_diag("  %s", strerror(-ret));
		return tap_done();
	}
	for (n = 0; n < nops; n++) {
		unsigned int k = rndn(100);

		if (k < 70)
			op_device(&z, rndn(NFD));
		else if (k < 90)
			op_scribble(&z);
		else if (k < 97)
			reopen(&z, rndn(NFD));
		else
			op_fork(&z);
	}
	tap_ok(!z.bad, "fuzz: %llu ioctls, each 0 or a documented errno (%llu errors)%s%s",
	       (unsigned long long)z.ops, (unsigned long long)z.errors_ok,
	       z.bad ? ": " : "", z.first_bad);
	fz_fini(&z);
	tap_ok(fresh_device_works(), "fuzz: afterwards a fresh device moves frames both ways");
	return tap_done();
}
