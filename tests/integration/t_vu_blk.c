// SPDX-License-Identifier: GPL-2.0
/*
 * t_vu_blk: kvhostctl blk, the vhost-user-blk back-end on /dev/kvhost-blk,
 * driven by a front-end of our own (vu_client) the way QEMU drives it:
 * guest memory in a memfd mapped at addresses of the test's own, rings in
 * it (gblk), sessions started and stopped, I/O on both queues checked
 * byte for byte against the image read directly; a reconnect with
 * requests in flight; hostile messages, each on a connection of its own,
 * after which the back-end must still serve, with no fd or mapping
 * leaked; and SIGTERM.
 */
#define _GNU_SOURCE
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "blk_common.h"
#include "vu_client.h"

#define NQ		2
#define RING_NUM	128
#define IMG_BYTES	(64 * MIB)
#define MEM_BYTES	(48 * MIB)
#define LOAD_BYTES	(32 * MIB)	/* the loads' part; 40 MiB on stays as filled */
#define GPA0		0x40000000ULL
#define GPA1		0x100000000ULL
#define FRONT_TIMEOUT_MS 2000		/* the back-end's per-message timeout */
#define IMG_SEED	0x766b626c6bULL
#define LOAD_QD		8
#define F_PROTOCOL	(1ULL << VU_F_PROTOCOL_FEATURES)
#define PF_WANTED	((1ULL << VU_PF_MQ) | (1ULL << VU_PF_REPLY_ACK) | \
			 (1ULL << VU_PF_CONFIG) | (1ULL << VU_PF_CONFIGURE_MEM_SLOTS))

struct t_env {
	char sock[64], img[64], log[64], tool[512];
	pid_t front;
	int img_fd;			/* the image, for pread checks */
	int memfd;
	uint8_t *mem;			/* the guest memory, mapped here */
	struct gblk g;
	struct gblk_load load[NQ];
	uint16_t taken[NQ];		/* avail index at the session's start */
};

static struct t_env env;

/* ---- the front-end process ---- */

/* kvhostctl blk on socket @sock, its stderr appended to the log. */
static pid_t start_front(struct t_env *e, const char *sock, bool readonly)
{
	pid_t pid = fork();
	int log;

	if (pid)
		return pid;
	log = open(e->log, O_WRONLY | O_CREAT | O_APPEND, 0600);
	if (log >= 0)
		dup2(log, 2);
	setenv("KVHOST_VU_TIMEOUT_MS", "2000", 1);
	execl(e->tool, "kvhostctl", "blk", "--socket", sock, "--image", e->img,
	      "--queues", "2", "--serial", "kvtest", readonly ? "--readonly" : (char *)NULL,
	      (char *)NULL);
	_exit(127);
}

/* SIGTERM to @pid: its exit status, -1 if it did not exit within 10 s. */
static int stop_front(pid_t pid)
{
	uint64_t deadline = kvdev_now_ms() + 10000;
	int st = -1;
	pid_t r = 0;

	kill(pid, SIGTERM);
	while (kvdev_now_ms() < deadline && (r = waitpid(pid, &st, WNOHANG)) == 0)
		usleep(20000);
	if (r == pid)
		return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	return -1;
}

static bool front_alive(struct t_env *e)
{
	return waitpid(e->front, NULL, WNOHANG) == 0;
}

/* Entries of /proc/PID/fd, -1 if unreadable. */
static int front_fds(struct t_env *e)
{
	char path[64];
	struct dirent *d;
	int n = 0;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%d/fd", e->front);
	dir = opendir(path);
	if (!dir)
		return -1;
	while ((d = readdir(dir)))
		n += d->d_name[0] != '.';
	closedir(dir);
	return n;
}

/* Mappings of a memfd the front-end holds. */
static int front_memfd_maps(struct t_env *e)
{
	char path[64], line[512];
	int n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", e->front);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		n += strstr(line, "/memfd:") != NULL;
	fclose(f);
	return n;
}

/*
 * The back-end's fds while a peer is connected, with its memory mappings
 * (none may be left from before) checked too: -1 if either is wrong.
 */
static int front_fds_connected(struct t_env *e)
{
	struct vu_client c;
	int n = -1;
	uint64_t f;

	if (!vu_connect(&c, e->sock, VU_CLIENT_WAIT_MS) && !vu_get_u64(&c, VU_GET_FEATURES, &f))
		n = front_fds(e);
	if (!tap_ok(front_memfd_maps(e) == 0, "no guest memory mapped in a new connection"))
		n = -1;
	vu_disconnect(&c);
	return n;
}

/* Run kvhostctl with @args: its exit status. */
static int run_tool(struct t_env *e, const char *args)
{
	char cmd[1024];
	int st;

	snprintf(cmd, sizeof(cmd), "%s %s >/dev/null 2>&1", e->tool, args);
	st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* ---- the image and the guest ---- */

static int make_image(struct t_env *e)
{
	static uint8_t chunk[MIB];
	uint64_t off;

	e->img_fd = open(e->img, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (e->img_fd < 0)
		return -errno;
	for (off = 0; off < IMG_BYTES; off += sizeof(chunk)) {
		gblk_fill(chunk, sizeof(chunk), IMG_SEED + off);
		if (pwrite(e->img_fd, chunk, sizeof(chunk), off) != sizeof(chunk))
			return -EIO;
	}
	return fsync(e->img_fd) ? -errno : 0;
}

/* Two regions of one memfd, apart in guest-physical space. */
static int make_guest(struct t_env *e)
{
	struct gblk_cfg c = { .nq = NQ, .num = RING_NUM, .fd = -1 };
	struct vdrv_mem m;
	unsigned int q;
	int ret;

	e->memfd = memfd_create("kvvu-guest", MFD_CLOEXEC);
	if (e->memfd < 0 || ftruncate(e->memfd, MEM_BYTES))
		return -errno;
	e->mem = mmap(NULL, MEM_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, e->memfd, 0);
	if (e->mem == MAP_FAILED)
		return -errno;
	memset(&m, 0, sizeof(m));
	m.nregions = 2;
	m.region[0] = (struct vdrv_region){ e->mem, GPA0, MEM_BYTES / 2 };
	m.region[1] = (struct vdrv_region){ e->mem + MEM_BYTES / 2, GPA1, MEM_BYTES / 2 };
	m.gpa_base = GPA0;
	m.map = e->mem;
	m.map_len = MEM_BYTES;
	c.mem = &m;
	ret = gblk_guest_init(&e->g, &c);
	if (ret)
		return ret;
	e->g.dev.nvqs = NQ;
	for (q = 0; q < NQ; q++) {
		e->g.dev.vq[q].kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		e->g.dev.vq[q].call_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		e->g.dev.vq[q].err_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (e->g.dev.vq[q].kick_fd < 0 || e->g.dev.vq[q].call_fd < 0 ||
		    e->g.dev.vq[q].err_fd < 0)
			return -errno;
	}
	return 0;
}

/* The regions as the front-end's table: our addresses are "QEMU's". */
static void guest_regions(struct t_env *e, struct vu_region r[2])
{
	unsigned int k;

	for (k = 0; k < 2; k++) {
		const struct vdrv_region *g = &e->g.mem.region[k];

		r[k] = (struct vu_region){
			.gpa = g->gpa, .size = g->size, .uaddr = (uintptr_t)g->uaddr,
			.mmap_offset = g->uaddr - e->mem,
		};
	}
}

/* ---- sessions ---- */

struct session {
	struct vu_client c;
	bool add_mem_reg;		/* ADD_MEM_REG instead of SET_MEM_TABLE */
	bool resume;			/* base = the guest's used index */
	bool legacy;			/* no protocol features: no acks, rings
					 * enabled from the start */
	uint64_t features, protocol, nq;
	struct virtio_blk_config cfg;
};

/* Do @call; on failure say which step, with the error. */
#define STEP(call, what) do {						\
		int ret_ = (call);					\
									\
		if (ret_) {						\
			WHY("%s: %s (ack %llu)", what, strerror(-ret_),	\
			    ULL(s->c.ack));				\
			return false;					\
		}							\
	} while (0)

static bool negotiate(struct t_env *e, struct session *s)
{
	uint64_t v;

	STEP(vu_get_u64(&s->c, VU_GET_FEATURES, &s->features), "GET_FEATURES");
	if (s->legacy)
		goto owner;
	STEP(vu_get_u64(&s->c, VU_GET_PROTOCOL_FEATURES, &s->protocol),
	     "GET_PROTOCOL_FEATURES");
	STEP(vu_set_u64(&s->c, VU_SET_PROTOCOL_FEATURES, s->protocol & PF_WANTED),
	     "SET_PROTOCOL_FEATURES");
	s->c.protocol = s->protocol & PF_WANTED;
	STEP(vu_get_u64(&s->c, VU_GET_QUEUE_NUM, &s->nq), "GET_QUEUE_NUM");
	STEP(vu_get_u64(&s->c, VU_GET_MAX_MEM_SLOTS, &v), "GET_MAX_MEM_SLOTS");
owner:
	STEP(vu_request(&s->c, VU_SET_OWNER, NULL, 0, NULL, 0), "SET_OWNER");
	STEP(vu_get_config(&s->c, 0, sizeof(s->cfg), &s->cfg), "GET_CONFIG");
	e->g.capacity = le64toh(s->cfg.capacity);
	e->g.seg_max = le32toh(s->cfg.seg_max);
	e->g.blk_size = le32toh(s->cfg.blk_size);
	e->g.num_queues = le16toh(s->cfg.num_queues);
	e->g.features = s->features & GBLK_F_WANTED;
	STEP(vu_set_u64(&s->c, VU_SET_FEATURES, e->g.features | (s->legacy ? 0 : F_PROTOCOL)),
	     "SET_FEATURES");
	return true;
}

/* QEMU 7.2 gives a temporary call fd first, then the real one. */
static bool give_calls(struct t_env *e, struct session *s)
{
	unsigned int q;

	for (q = 0; q < NQ; q++) {
		int tmp = eventfd(0, EFD_CLOEXEC);

		STEP(tmp < 0 ? -errno : 0, "eventfd");
		STEP(vu_set_vring_fd(&s->c, VU_SET_VRING_CALL, q, tmp), "SET_VRING_CALL (temporary)");
		close(tmp);
		STEP(vu_set_vring_fd(&s->c, VU_SET_VRING_ERR, q, e->g.dev.vq[q].err_fd),
		     "SET_VRING_ERR");
	}
	return true;
}

static bool give_memory(struct t_env *e, struct session *s)
{
	struct vu_region r[2];
	int fds[2] = { e->memfd, e->memfd };

	guest_regions(e, r);
	if (!s->add_mem_reg) {
		STEP(vu_set_mem_table(&s->c, r, fds, 2), "SET_MEM_TABLE");
		return true;
	}
	STEP(vu_add_mem_reg(&s->c, &r[0], e->memfd), "ADD_MEM_REG 0");
	STEP(vu_add_mem_reg(&s->c, &r[1], e->memfd), "ADD_MEM_REG 1");
	return true;
}

static bool give_rings(struct t_env *e, struct session *s)
{
	unsigned int q;

	for (q = 0; q < NQ; q++) {
		struct vdrv_ring *r = &e->g.q[q].ring;
		uint16_t base = s->resume ? vdrv_raw_used_idx(r) : r->avail_idx;

		e->taken[q] = base;
		STEP(vu_set_vring_fd(&s->c, VU_SET_VRING_CALL, q, e->g.dev.vq[q].call_fd),
		     "SET_VRING_CALL");
		STEP(vu_set_state(&s->c, VU_SET_VRING_NUM, q, RING_NUM), "SET_VRING_NUM");
		STEP(vu_set_state(&s->c, VU_SET_VRING_BASE, q, base), "SET_VRING_BASE");
		STEP(vu_set_vring_addr(&s->c, q, vdrv_ring_desc_uaddr(r),
				       vdrv_ring_avail_uaddr(r), vdrv_ring_used_uaddr(r)),
		     "SET_VRING_ADDR");
		STEP(vu_set_vring_fd(&s->c, VU_SET_VRING_KICK, q, e->g.dev.vq[q].kick_fd),
		     "SET_VRING_KICK");
	}
	for (q = 0; !s->legacy && q < NQ; q++)
		STEP(vu_set_state(&s->c, VU_SET_VRING_ENABLE, q, 1), "SET_VRING_ENABLE 1");
	return true;
}

/* Connect and start the device the way QEMU 10 does. */
static bool session_start(struct t_env *e, struct session *s, const char *sock)
{
	STEP(vu_connect(&s->c, sock, VU_CLIENT_WAIT_MS), "connect");
	return negotiate(e, s) && give_calls(e, s) && give_memory(e, s) &&
	       give_rings(e, s);
}

/* Stop as QEMU does; each queue's base must be what it took. */
static bool session_stop(struct t_env *e, struct session *s)
{
	unsigned int q;
	uint32_t base;

	for (q = 0; !s->legacy && q < NQ; q++)
		STEP(vu_set_state(&s->c, VU_SET_VRING_ENABLE, q, 0), "SET_VRING_ENABLE 0");
	for (q = 0; q < NQ; q++) {
		uint16_t avail = e->g.q[q].ring.avail_idx;

		STEP(vu_get_vring_base(&s->c, q, &base), "GET_VRING_BASE");
		if (base != avail || vdrv_raw_used_idx(&e->g.q[q].ring) != avail) {
			WHY("queue %u: base %u, used idx %u, %u requests made (avail idx)",
			    q, base, vdrv_raw_used_idx(&e->g.q[q].ring), avail);
			return false;
		}
	}
	return true;
}

/* ---- I/O ---- */

/* OUT then IN of @len bytes at @sector on queue @q, each checked by pread. */
static bool write_read(struct t_env *e, unsigned int q, uint64_t sector, uint32_t len,
		       unsigned int nsplit, uint64_t seed)
{
	struct gblk *g = &e->g;
	struct gblk_store st = { .check_fd = e->img_fd, .fd = -1 };
	static uint8_t want[2 * MIB];
	struct gblk_done d;

	gblk_fill(want, len, seed);
	memcpy(g->aux, want, len);
	if (gblk_rw(g, q, T_OUT, sector, g->aux_gpa, len, nsplit, &d) || d.status != S_OK) {
		WHY("OUT: %s, status %d", g->err, d.status);
		return false;
	}
	if (!store_is(&st, sector * GBLK_SECTOR, want, len))
		return false;
	memset(g->aux, 0xdb, len);
	if (gblk_rw(g, q, T_IN, sector, g->aux_gpa, len, nsplit, &d) ||
	    d.status != S_OK || d.len != len + 1) {
		WHY("IN: %s, status %d, used %u", g->err, d.status, d.len);
		return false;
	}
	if (memcmp(g->aux, want, len)) {
		WHY("IN of sector %llu: not what was written", ULL(sector));
		return false;
	}
	return true;
}

/* IN of data nobody wrote yet: the image's prefill. */
static bool read_prefill(struct t_env *e, unsigned int q, uint64_t off, uint32_t len)
{
	static uint8_t want[MIB];
	struct gblk *g = &e->g;
	struct gblk_done d;

	gblk_fill(want, MIB, IMG_SEED + off);
	memset(g->aux, 0, len);
	if (gblk_rw(g, q, T_IN, off / GBLK_SECTOR, g->aux_gpa, len, 3, &d) ||
	    d.status != S_OK) {
		WHY("IN: %s, status %d", g->err, d.status);
		return false;
	}
	if (memcmp(g->aux, want, len)) {
		WHY("IN at %llu: not the image's data", ULL(off));
		return false;
	}
	return true;
}

/* GET_ID on queue @q: the serial, NUL-padded; printable in @id. */
static bool get_id(struct t_env *e, unsigned int q, char id[KVHOST_BLK_ID_BYTES + 1])
{
	static const char want[KVHOST_BLK_ID_BYTES] = "kvtest";
	struct gblk *g = &e->g;
	struct gblk_done d;
	unsigned int k;

	memset(g->aux, 0xee, 64);
	if (gblk_rw(g, q, VIRTIO_BLK_T_GET_ID, 0, g->aux_gpa, KVHOST_BLK_ID_BYTES, 1, &d) ||
	    d.status != S_OK)
		return false;
	for (k = 0; k < KVHOST_BLK_ID_BYTES; k++)
		id[k] = g->aux[k] >= ' ' && g->aux[k] < 0x7f ? g->aux[k] : 0;
	id[k] = 0;
	return !memcmp(g->aux, want, sizeof(want));
}

static void io_checks(struct t_env *e)
{
	static const uint32_t sizes[] = { 512, 4096, 65536 + 512, MIB };
	struct gblk *g = &e->g;
	struct gblk_done d;
	unsigned int q, k;
	char id[KVHOST_BLK_ID_BYTES + 1];

	for (q = 0; q < NQ; q++) {
		report(read_prefill(e, q, (40 + q) * MIB, MIB), NULL,
		       "queue %u: IN of 1 MiB is the image's data", q);
		for (k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++)
			report(write_read(e, q, (q * 16 + k * 3) * 2048 + k, sizes[k], k + 1,
					  q * 100 + k),
			       NULL, "queue %u: OUT then IN of %u bytes, checked by pread", q,
			       sizes[k]);
		report(get_id(e, q, id), g->err, "queue %u: GET_ID is \"%s\"", q, id);
		report(!gblk_rw(g, q, T_FLUSH, 0, g->aux_gpa, 0, 1, &d) && d.status == S_OK,
		       g->err, "queue %u: FLUSH completes OK", q);
	}
}

static bool loads_init(struct t_env *e)
{
	unsigned int q;

	for (q = 0; q < NQ; q++) {
		struct gblk_load_cfg lc = {
			.qd = LOAD_QD, .region = LOAD_BYTES, .nreq = 100000,
			.check_fd = e->img_fd, .write_pct = 50, .seed = 7 + q,
		};

		if (gblk_load_init(&e->load[q], &e->g, q, &lc)) {
			WHY("%s", e->load[q].err);
			return false;
		}
	}
	return true;
}

/* Random IN/OUT on both queues at once, every byte checked. */
static void load_both(struct t_env *e, uint64_t n, const char *when)
{
	unsigned int bad = gblk_load_run_all(e->load, NQ, gblk_scaled(n));

	report(!bad, bad ? e->load[bad - 1].err : NULL,
	       "%s: %llu random IN/OUT on each queue at once, all checked", when,
	       ULL(gblk_scaled(n)));
}

/* ---- the sessions of the test ---- */

static void clean_session(struct t_env *e)
{
	pid_t workers[NQ + 1];
	struct session s = { 0 };
	bool ok = session_start(e, &s, e->sock);

	report(ok, NULL, "session 1 (SET_MEM_TABLE) set up as QEMU 10 does");
	if (!ok) {
		vu_disconnect(&s.c);	/* or the back-end waits on it forever */
		return;
	}
	tap_ok(s.features & F_PROTOCOL && (s.features & GBLK_F_REQUIRED) == GBLK_F_REQUIRED,
	       "GET_FEATURES offers PROTOCOL_FEATURES and the device's features (0x%llx)",
	       ULL(s.features));
	tap_ok((s.protocol & PF_WANTED) == PF_WANTED,
	       "protocol features: MQ, REPLY_ACK, CONFIG, CONFIGURE_MEM_SLOTS (0x%llx)",
	       ULL(s.protocol));
	tap_is(s.nq, NQ, "GET_QUEUE_NUM is --queues");
	tap_is(e->g.capacity, IMG_BYTES / GBLK_SECTOR, "GET_CONFIG capacity is the image's sectors");
	tap_is(e->g.num_queues, NQ, "GET_CONFIG num_queues");
	tap_ok(e->g.seg_max > 0, "GET_CONFIG seg_max %u", e->g.seg_max);
	tap_is(kvdev_find_workers(e->front, workers, NQ + 1), NQ,
	       "a kernel worker per queue for the back-end");
	io_checks(e);
	report(loads_init(e), NULL, "loads set up");
	load_both(e, 200, "session 1");
	report(give_memory(e, &s), NULL, "SET_MEM_TABLE again, the same, while the rings run");
	load_both(e, 50, "after the table came again");
	report(session_stop(e, &s), NULL,
	       "session 1 stopped: GET_VRING_BASE of each queue is the requests it took");
	vu_disconnect(&s.c);
}

/*
 * A region that no ring uses comes and goes while the rings run; its
 * "QEMU address" is only a name: the back-end never touches ours.
 */
static bool add_remove(struct t_env *e, struct session *s)
{
	struct vu_region r = {
		.gpa = GPA1 * 2, .size = MIB, .uaddr = (uintptr_t)e->mem + 2 * MEM_BYTES,
		.mmap_offset = MEM_BYTES / 2,
	};
	struct vu_mem_reg m = { .region = r };
	int before = front_memfd_maps(e);

	STEP(vu_add_mem_reg(&s->c, &r, e->memfd), "ADD_MEM_REG");
	if (front_memfd_maps(e) != before + 1)
		return !WHY("%d memfd mappings after ADD_MEM_REG, %d before",
			    front_memfd_maps(e), before);
	r.uaddr += MIB;
	m.region = r;
	STEP(vu_request(&s->c, VU_REM_MEM_REG, &m, sizeof(m), NULL, 0) == -EREMOTEIO ? 0 : -EINVAL,
	     "REM_MEM_REG of a region never added is refused");
	m.region.uaddr -= MIB;
	STEP(vu_request(&s->c, VU_REM_MEM_REG, &m, sizeof(m), NULL, 0), "REM_MEM_REG");
	if (front_memfd_maps(e) != before)
		return !WHY("%d memfd mappings after REM_MEM_REG, %d before",
			    front_memfd_maps(e), before);
	return true;
}

static void reconnect_session(struct t_env *e)
{
	struct session s = { .add_mem_reg = true, .resume = true };
	unsigned int q, posted = 0;
	bool ok = session_start(e, &s, e->sock);

	report(ok, NULL, "session 2 (ADD_MEM_REG) set up");
	if (!ok) {
		vu_disconnect(&s.c);
		return;
	}
	report(add_remove(e, &s), NULL, "ADD_MEM_REG of a third region, then REM_MEM_REG of it");
	for (q = 0; q < NQ; q++)
		posted += gblk_load_submit(&e->load[q], LOAD_QD);
	/* Gone with requests in flight: the back-end closes the device. */
	vu_disconnect(&s.c);
	tap_ok(posted == NQ * LOAD_QD, "%u requests in flight when the connection closed", posted);

	s = (struct session){ .add_mem_reg = true, .resume = true };
	ok = session_start(e, &s, e->sock);
	report(ok, NULL, "session 3: reconnected, rings resumed at the guest's used index (%u, %u)",
	       e->taken[0], e->taken[1]);
	if (!ok) {
		vu_disconnect(&s.c);
		return;
	}
	for (q = 0; q < NQ; q++)
		report(!gblk_load_drain(&e->load[q]) && gblk_load_check(&e->load[q]),
		       e->load[q].err,
		       "queue %u: every request of before completed once, data right", q);
	load_both(e, 100, "after the reconnect");
	io_checks(e);
	report(session_stop(e, &s), NULL, "session 3 stopped at the requests taken");
	vu_disconnect(&s.c);
}

/* A front-end without protocol features: its rings run from SET_VRING_KICK. */
static void legacy_session(struct t_env *e)
{
	struct session s = { .resume = true, .legacy = true };
	bool ok = session_start(e, &s, e->sock);
	unsigned int q;

	report(ok, NULL, "no protocol features: session set up, nothing acked");
	for (q = 0; ok && q < NQ; q++)
		report(write_read(e, q, 5000 + q * 300, 128 << 10, 5, 900 + q), NULL,
		       "no protocol features: queue %u runs without SET_VRING_ENABLE", q);
	if (ok)
		report(session_stop(e, &s), NULL, "no protocol features: stopped by GET_VRING_BASE");
	vu_disconnect(&s.c);
}

/* A second back-end, --readonly, on the same image: RO offered, OUT refused. */
static void readonly_session(struct t_env *e)
{
	struct session s = { .resume = true };
	struct gblk_store st = { .check_fd = e->img_fd, .fd = -1 };
	static uint8_t before[4096];
	char sock[80];
	struct gblk_done d;
	pid_t pid;
	bool ok;

	snprintf(sock, sizeof(sock), "%s.ro", e->sock);
	pid = start_front(e, sock, true);
	ok = session_start(e, &s, sock);
	report(ok, NULL, "--readonly: session set up");
	if (ok) {
		tap_ok(s.features & (1ULL << VIRTIO_BLK_F_RO), "--readonly: VIRTIO_BLK_F_RO offered");
		ok = pread(e->img_fd, before, sizeof(before), 0) == sizeof(before);
		memset(e->g.aux, 0x5a, sizeof(before));
		tap_ok(ok && !gblk_rw(&e->g, 0, T_OUT, 0, e->g.aux_gpa, sizeof(before), 1, &d) &&
		       d.status == S_IOERR && store_is(&st, 0, before, sizeof(before)),
		       "--readonly: OUT fails with IOERR, the image unchanged");
		report(read_prefill(e, 1, 41 * MIB, 64 << 10), NULL, "--readonly: IN works");
		report(session_stop(e, &s), NULL, "--readonly: session stopped");
	}
	vu_disconnect(&s.c);
	tap_is(stop_front(pid), 0, "--readonly: SIGTERM, exit 0");
}

/* ---- hostile front-ends ---- */

enum outcome { ACK_ERR, CLOSED };

struct hostile {
	const char *what;
	enum outcome want;
	bool (*send)(struct t_env *e, struct vu_client *c);
};

/* REPLY_ACK negotiated, the memory table given: most cases start here. */
static bool prepare(struct t_env *e, struct vu_client *c, bool memory)
{
	struct vu_region r[2];
	int fds[2] = { e->memfd, e->memfd };

	if (vu_set_u64(c, VU_SET_PROTOCOL_FEATURES, PF_WANTED))
		return false;
	c->protocol = PF_WANTED;
	guest_regions(e, r);
	return !memory || !vu_set_mem_table(c, r, fds, 2);
}

static bool send_hdr(struct vu_client *c, uint32_t req, uint32_t flags, uint32_t size,
		     const void *p, size_t len, const int *fds, unsigned int nfds)
{
	struct vu_hdr h = { .request = req, .flags = flags, .size = size };

	return !vu_send_raw(c, &h, p, len, fds, nfds);
}

#define NEED	(VU_VERSION | VU_FLAG_NEED_REPLY)

static bool h_unknown(struct t_env *e, struct vu_client *c)
{
	return prepare(e, c, false) && send_hdr(c, 99, NEED, 0, NULL, 0, NULL, 0);
}

static bool h_log_base(struct t_env *e, struct vu_client *c)
{
	uint64_t v[2] = { 4096, 0 };

	return prepare(e, c, false) &&
	       send_hdr(c, VU_SET_LOG_BASE, NEED, sizeof(v), v, sizeof(v), &e->memfd, 1);
}

static bool h_version(struct t_env *e, struct vu_client *c)
{
	(void)e;
	return send_hdr(c, VU_GET_FEATURES, 0x2, 0, NULL, 0, NULL, 0);
}

static bool h_reply_flag(struct t_env *e, struct vu_client *c)
{
	(void)e;
	return send_hdr(c, VU_GET_FEATURES, VU_VERSION | VU_FLAG_REPLY, 0, NULL, 0, NULL, 0);
}

static bool h_too_big(struct t_env *e, struct vu_client *c)
{
	return prepare(e, c, false) && send_hdr(c, VU_SET_FEATURES, NEED, 0x7fffffff, NULL, 0,
						NULL, 0);
}

static bool h_size_mismatch(struct t_env *e, struct vu_client *c)
{
	uint32_t v = 1;

	return prepare(e, c, false) && send_hdr(c, VU_SET_FEATURES, NEED, 4, &v, 4, NULL, 0);
}

static bool h_config_mismatch(struct t_env *e, struct vu_client *c)
{
	struct vu_config cfg = { .offset = 0, .size = 20 };

	(void)e;
	return send_hdr(c, VU_GET_CONFIG, VU_VERSION, VU_CONFIG_HDR + 10, &cfg,
			VU_CONFIG_HDR + 10, NULL, 0);
}

static bool h_truncated(struct t_env *e, struct vu_client *c)
{
	struct vu_vring_addr a = { 0 };

	return prepare(e, c, false) &&
	       send_hdr(c, VU_SET_VRING_ADDR, NEED, sizeof(a), &a, 10, NULL, 0);
}

static bool h_truncated_hdr(struct t_env *e, struct vu_client *c)
{
	uint32_t part[2] = { VU_GET_FEATURES, VU_VERSION };

	(void)e;
	return write(c->fd, part, 6) == 6;
}

/* SET_MEM_TABLE of @n regions of 1 MiB each, @nfds fds, @nregions claimed. */
static bool mem_table(struct t_env *e, struct vu_client *c, unsigned int n,
		      unsigned int nfds, uint32_t nregions, uint64_t offset, uint64_t stride)
{
	struct {
		uint32_t nregions, padding;
		struct vu_region r[10];
	} __attribute__((packed)) t = { .nregions = nregions };
	int fds[10];
	unsigned int k;

	for (k = 0; k < 10; k++) {
		t.r[k] = (struct vu_region){
			.gpa = GPA0 + k * stride, .size = MIB,
			.uaddr = (uintptr_t)e->mem + k * MIB, .mmap_offset = offset + k * MIB,
		};
		fds[k] = e->memfd;
	}
	return prepare(e, c, false) &&
	       send_hdr(c, VU_SET_MEM_TABLE, NEED, 8 + n * 32, &t, 8 + n * 32, fds, nfds);
}

static bool h_nine_regions(struct t_env *e, struct vu_client *c)
{
	return mem_table(e, c, 9, 9, 9, 0, MIB);
}

static bool h_nine_claimed(struct t_env *e, struct vu_client *c)
{
	return mem_table(e, c, 8, 8, 9, 0, MIB);
}

static bool h_beyond_fd(struct t_env *e, struct vu_client *c)
{
	return mem_table(e, c, 1, 1, 1, MEM_BYTES - MIB / 2, MIB);
}

static bool h_overlap(struct t_env *e, struct vu_client *c)
{
	return mem_table(e, c, 2, 2, 2, 0, MIB / 2);
}

static bool h_no_fds(struct t_env *e, struct vu_client *c)
{
	return mem_table(e, c, 1, 0, 1, 0, MIB);
}

static bool h_zero_size(struct t_env *e, struct vu_client *c)
{
	struct vu_mem_table t = {
		.nregions = 1,
		.region[0] = { .gpa = GPA0, .size = 0, .uaddr = (uintptr_t)e->mem },
	};
	uint32_t len = VU_MEM_TABLE_HDR + sizeof(t.region[0]);

	return prepare(e, c, false) &&
	       send_hdr(c, VU_SET_MEM_TABLE, NEED, len, &t, len, &e->memfd, 1);
}

static bool h_addr_outside(struct t_env *e, struct vu_client *c)
{
	struct vu_vring_addr a = { .index = 0, .desc = 0x1000, .avail = 0x2000, .used = 0x3000 };

	return prepare(e, c, true) && !vu_set_state(c, VU_SET_VRING_NUM, 0, RING_NUM) &&
	       send_hdr(c, VU_SET_VRING_ADDR, NEED, sizeof(a), &a, sizeof(a), NULL, 0);
}

/* The rings' addresses in the guest memory, but the desc table's end outside. */
static bool h_addr_end_outside(struct t_env *e, struct vu_client *c)
{
	uint64_t end = (uintptr_t)e->mem + MEM_BYTES;
	struct vu_vring_addr a = {
		.index = 0, .desc = end - 1024, .avail = (uintptr_t)e->mem,
		.used = (uintptr_t)e->mem + 4096,
	};

	return prepare(e, c, true) && !vu_set_state(c, VU_SET_VRING_NUM, 0, RING_NUM) &&
	       send_hdr(c, VU_SET_VRING_ADDR, NEED, sizeof(a), &a, sizeof(a), NULL, 0);
}

static bool vring_num(struct t_env *e, struct vu_client *c, uint32_t index, uint32_t num)
{
	struct vu_vring_state s = { .index = index, .num = num };

	return prepare(e, c, false) &&
	       send_hdr(c, VU_SET_VRING_NUM, NEED, sizeof(s), &s, sizeof(s), NULL, 0);
}

static bool h_num0(struct t_env *e, struct vu_client *c)
{
	return vring_num(e, c, 0, 0);
}

static bool h_num3(struct t_env *e, struct vu_client *c)
{
	return vring_num(e, c, 0, 3);
}

static bool h_num65536(struct t_env *e, struct vu_client *c)
{
	return vring_num(e, c, 0, 65536);
}

static bool h_index(struct t_env *e, struct vu_client *c)
{
	return vring_num(e, c, NQ, RING_NUM);
}

static bool h_base_index(struct t_env *e, struct vu_client *c)
{
	struct vu_vring_state s = { .index = 200 };

	return prepare(e, c, false) &&
	       send_hdr(c, VU_GET_VRING_BASE, VU_VERSION, sizeof(s), &s, sizeof(s), NULL, 0);
}

static bool h_kick_nofd(struct t_env *e, struct vu_client *c)
{
	uint64_t v = 0;

	return prepare(e, c, false) &&
	       send_hdr(c, VU_SET_VRING_KICK, NEED, sizeof(v), &v, sizeof(v), NULL, 0);
}

static bool h_kick_not_eventfd(struct t_env *e, struct vu_client *c)
{
	uint64_t v = 1;

	return prepare(e, c, false) &&
	       send_hdr(c, VU_SET_VRING_KICK, NEED, sizeof(v), &v, sizeof(v), &e->memfd, 1);
}

static bool h_config_range(struct t_env *e, struct vu_client *c)
{
	struct vu_config cfg = { .offset = 200, .size = 100 };

	(void)e;
	return send_hdr(c, VU_GET_CONFIG, VU_VERSION, VU_CONFIG_HDR + 100, &cfg,
			VU_CONFIG_HDR + 100, NULL, 0);
}

static bool h_extra_fds(struct t_env *e, struct vu_client *c)
{
	int fds[3] = { e->memfd, e->memfd, e->img_fd };

	return send_hdr(c, VU_GET_FEATURES, VU_VERSION, 0, NULL, 0, fds, 3);
}

static bool h_extra_fd_state(struct t_env *e, struct vu_client *c)
{
	struct vu_vring_state s = { .index = 0, .num = RING_NUM };

	return prepare(e, c, false) &&
	       send_hdr(c, VU_SET_VRING_NUM, NEED, sizeof(s), &s, sizeof(s), &e->memfd, 1);
}

static bool h_set_config(struct t_env *e, struct vu_client *c)
{
	struct vu_config cfg = { .offset = 32, .size = 1 };

	return prepare(e, c, false) &&
	       send_hdr(c, VU_SET_CONFIG, NEED, VU_CONFIG_HDR + 1, &cfg, VU_CONFIG_HDR + 1,
			NULL, 0);
}

static const struct hostile hostile[] = {
	{ "unknown request number 99", CLOSED, h_unknown },
	{ "SET_LOG_BASE (not offered)", CLOSED, h_log_base },
	{ "version 2 in the flags", CLOSED, h_version },
	{ "the REPLY flag on a request", CLOSED, h_reply_flag },
	{ "size 0x7fffffff", CLOSED, h_too_big },
	{ "SET_FEATURES of 4 bytes", CLOSED, h_size_mismatch },
	{ "GET_CONFIG whose size field disagrees with the message", CLOSED, h_config_mismatch },
	{ "SET_VRING_ADDR cut short, then silence", CLOSED, h_truncated },
	{ "half a header, then silence", CLOSED, h_truncated_hdr },
	{ "SET_MEM_TABLE of 9 regions", CLOSED, h_nine_regions },
	{ "SET_MEM_TABLE saying 9 regions, with 8", ACK_ERR, h_nine_claimed },
	{ "SET_MEM_TABLE, mmap_offset + size beyond the memfd", ACK_ERR, h_beyond_fd },
	{ "SET_MEM_TABLE, overlapping regions", ACK_ERR, h_overlap },
	{ "SET_MEM_TABLE without fds", ACK_ERR, h_no_fds },
	{ "SET_MEM_TABLE, a region of size 0", ACK_ERR, h_zero_size },
	{ "SET_VRING_ADDR outside every region", ACK_ERR, h_addr_outside },
	{ "SET_VRING_ADDR, the table running past the region", ACK_ERR, h_addr_end_outside },
	{ "SET_VRING_NUM 0", ACK_ERR, h_num0 },
	{ "SET_VRING_NUM 3", ACK_ERR, h_num3 },
	{ "SET_VRING_NUM 65536", ACK_ERR, h_num65536 },
	{ "SET_VRING_NUM of queue 2 (of 2)", ACK_ERR, h_index },
	{ "GET_VRING_BASE of queue 200", CLOSED, h_base_index },
	{ "SET_VRING_KICK without an fd or the no-fd bit", ACK_ERR, h_kick_nofd },
	{ "SET_VRING_KICK with a memfd", ACK_ERR, h_kick_not_eventfd },
	{ "GET_CONFIG of offset 200 size 100", CLOSED, h_config_range },
	{ "GET_FEATURES with 3 fds", CLOSED, h_extra_fds },
	{ "SET_VRING_NUM with an fd", CLOSED, h_extra_fd_state },
	{ "SET_CONFIG (refused)", ACK_ERR, h_set_config },
};

/* The back-end still answers GET_FEATURES on a new connection. */
static bool still_serves(struct t_env *e)
{
	struct vu_client c;
	uint64_t f = 0;
	bool ok = !vu_connect(&c, e->sock, VU_CLIENT_WAIT_MS) &&
		  !vu_get_u64(&c, VU_GET_FEATURES, &f) && (f & F_PROTOCOL);

	vu_disconnect(&c);
	return ok;
}

static void run_hostile(struct t_env *e, const struct hostile *h)
{
	uint64_t t0 = kvdev_now_ms();
	struct vu_client c;
	bool sent;
	int ret;

	if (vu_connect(&c, e->sock, VU_CLIENT_WAIT_MS)) {
		tap_ok(false, "%s: connect", h->what);
		return;
	}
	sent = h->send(e, &c);
	/* The outcome must come within the back-end's message timeout. */
	ret = sent ? vu_outcome(&c, 0, FRONT_TIMEOUT_MS + 3000) : -EIO;
	if (h->want == CLOSED)
		tap_ok(ret == -ECONNRESET, "%s: connection closed (%s, %llu ms)", h->what,
		       strerror(-ret), ULL(kvdev_now_ms() - t0));
	else
		tap_ok(ret == -EREMOTEIO && c.ack, "%s: error ack (%s, ack %llu)", h->what,
		       strerror(-ret), ULL(c.ack));
	vu_disconnect(&c);
	tap_ok(front_alive(e) && still_serves(e), "%s: the back-end serves the next connection",
	       h->what);
}

/* RESET_OWNER: the device as new (memory gone), the connection still good. */
static void reset_owner_check(struct t_env *e)
{
	struct vu_client c;
	uint64_t f = 0;
	bool ok = !vu_connect(&c, e->sock, VU_CLIENT_WAIT_MS) && prepare(e, &c, true) &&
		  front_memfd_maps(e) == 2 &&
		  !vu_request(&c, VU_RESET_OWNER, NULL, 0, NULL, 0) &&
		  front_memfd_maps(e) == 0 &&
		  !vu_request(&c, VU_SET_OWNER, NULL, 0, NULL, 0) &&
		  !vu_get_u64(&c, VU_GET_FEATURES, &f) && (f & F_PROTOCOL);

	tap_ok(ok, "RESET_OWNER unmaps the memory; SET_OWNER and GET_FEATURES work after it");
	vu_disconnect(&c);
}

/* A second server on a socket that is being served is refused. */
static void live_socket_check(struct t_env *e)
{
	char args[256];

	snprintf(args, sizeof(args), "blk --socket %s --image %s", e->sock, e->img);
	tap_is(run_tool(e, args), 1, "blk on a socket another back-end serves fails");
	tap_ok(front_alive(e) && still_serves(e), "the first back-end still serves its socket");
}

static void hostile_cases(struct t_env *e, int fds_idle)
{
	unsigned int k;

	for (k = 0; k < sizeof(hostile) / sizeof(hostile[0]); k++)
		run_hostile(e, &hostile[k]);
	/* On a new connection, before any memory: nothing left behind. */
	tap_is(front_fds_connected(e), fds_idle, "no fd leaked: /proc/PID/fd as at the start");
}

/* ---- main ---- */

/* What the back-end said on stderr, as TAP diagnostics. */
static void show_log(struct t_env *e)
{
	FILE *f = fopen(e->log, "r");
	char line[512];
	int n = 0;

	while (f && fgets(line, sizeof(line), f) && n++ < 80)
		tap_diag("kvhostctl: %s", strtok(line, "\n") ?: "");
	if (f)
		fclose(f);
}

static void cli_checks(struct t_env *e)
{
	char args[256];

	tap_is(run_tool(e, "blk --help"), 0, "blk --help exits 0");
	tap_is(run_tool(e, "blk --socket /tmp/x.sock --image /x --queues 0"), 2,
	       "blk --queues 0 is a usage error");
	tap_is(run_tool(e, "blk --image /x"), 2, "blk without --socket is a usage error");
	tap_is(run_tool(e, "blk --socket /tmp/x.sock --image /x --device /y"), 2,
	       "blk with both --image and --device is a usage error");
	tap_is(run_tool(e, "blk --socket /tmp/x.sock --serial 123456789012345678901 --image /x"),
	       2, "blk with a 21-byte serial is a usage error");
	snprintf(args, sizeof(args), "blk --socket %s.no --image /nonexistent/img", e->sock);
	tap_is(run_tool(e, args), 1, "blk on a missing image fails");
	snprintf(args, sizeof(args), "blk --socket %s.no --image /dev/null", e->sock);
	tap_is(run_tool(e, args), 1, "blk --image on a character device fails");
}

static void sigterm_check(struct t_env *e)
{
	tap_is(stop_front(e->front), 0, "SIGTERM: the back-end exits 0");
	tap_ok(access(e->sock, F_OK) != 0, "SIGTERM: the socket is removed");
}

int main(void)
{
	const char *top = getenv("KVHOST_TOP");
	struct t_env *e = &env;
	int fds_idle, ret;

	tap_init();
	tap_watchdog(240);	/* before the VM's 300 s for a program */
	snprintf(e->tool, sizeof(e->tool), "%s/build/user/userspace_ctl/kvhostctl",
		 top ? top : "../..");
	snprintf(e->sock, sizeof(e->sock), "/tmp/kvvu-%d.sock", getpid());
	snprintf(e->img, sizeof(e->img), "/tmp/kvvu-%d.img", getpid());
	snprintf(e->log, sizeof(e->log), "/tmp/kvvu-%d.log", getpid());
	if (!tap_ok(access(e->tool, X_OK) == 0, "kvhostctl built (%s)", e->tool))
		return tap_done();
	cli_checks(e);
	ret = make_image(e);
	if (!tap_ok(!ret, "64 MiB image of random data (%s)", strerror(-ret)))
		return tap_done();
	ret = make_guest(e);
	if (!tap_ok(!ret, "guest memory: a memfd, two regions (%s)", strerror(-ret)))
		return tap_done();
	unlink(e->log);
	e->front = start_front(e, e->sock, false);
	fds_idle = front_fds_connected(e);
	tap_ok(e->front > 0 && fds_idle > 0, "kvhostctl blk started (pid %d, %d fds with a peer)",
	       e->front, fds_idle);

	clean_session(e);
	reconnect_session(e);
	legacy_session(e);
	readonly_session(e);
	reset_owner_check(e);
	hostile_cases(e, fds_idle);
	live_socket_check(e);
	tap_ok(front_alive(e), "the back-end is alive after the hostile cases");
	sigterm_check(e);

	if (tap_failures())
		show_log(e);
	unlink(e->img);
	unlink(e->log);
	return tap_done();
}
