// SPDX-License-Identifier: GPL-2.0
/*
 * t_blk: /dev/kvhost-blk driven the way a front (QEMU) and a Linux guest's
 * virtio-blk driver drive it, every byte checked against the backing store
 * read directly with pread(): 1. set-up ioctls and their errors, features
 * and configuration; 2. random reads and writes (512 B .. 1 MiB, direct and
 * indirect, depths 1/8/128, 1 queue and 4 on their own workers) over a
 * /tmp file (buffered, O_DIRECT), null_blk and a loop device, also with
 * byte-granular segments; 3. every request type; 4. FLUSH reaches the
 * store; 5. read-only store, malformed requests, a chain without a status
 * byte, the core's malformed rings, ENOSPC, store I/O errors; 6. stop and
 * resume under load (GET_VRING_BASE, detach, RUN_QUEUE 0): every request
 * completes exactly once.  Tear-down with I/O in flight and the helpers
 * are t_blk_teardown's.
 *
 * Needs root, kvhost.ko and kvhost_blk.ko; null_blk and loop are loaded if
 * need be, a part whose device is missing is skipped.  Knobs:
 * KVHOST_BLK_SCALE (request counts, default 1), KVHOST_BLK_SEED,
 * KVHOST_BLK_STORES (e.g. "file,loop"; default all four).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "badring.h"
#include "blk_common.h"

#define FILE_SIZE	(64 * MIB)
#define F_HAS(g, f)	(!!((g)->features & GBLK_F(VIRTIO_BLK_F_##f)))

enum { ST_FILE, ST_ODIRECT, ST_NULLB, ST_LOOP, NSTORES };
static const char *const store_names[NSTORES] = {
	"file", "file-odirect", "null_blk", "loop",
};

static struct gblk_store stores[NSTORES], ext4_loop;
static bool have[NSTORES];
static char file_path[128], ext4_mnt[128];
static uint64_t seed_base = 1;

/* KVHOST_BLK_STORES: the stores to use (default all). */
static bool store_wanted(const char *name)
{
	const char *env = getenv("KVHOST_BLK_STORES"), *p;
	size_t n = strlen(name);

	if (!env || !*env)
		return true;
	for (p = env; (p = strstr(p, name)); p += n)
		if ((p == env || p[-1] == ',') && (!p[n] || p[n] == ','))
			return true;
	return false;
}

/* Random data into [@sector, +@len) through the device, from g->aux. */
static bool write_random(struct gblk *g, uint64_t sector, uint32_t len,
			 uint64_t seed)
{
	gblk_fill(g->aux, len, seed);
	return rw_ok(g, 0, T_OUT, sector, 0, len, S_OK, 1);
}

/* ---- 1. set-up ---- */

/* In a child (another mm): owner ioctls EPERM, GET_STATS allowed. */
static void not_owner(struct kvdev *d, int store_fd)
{
	struct kvhost_blk_queue_stats st;
	int status = -1;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid == 0)
		_exit((gblk_set_backend(d, store_fd, 0) != -EPERM) |
		      (gblk_run_queue(d, 0, 1) != -EPERM) << 1 |
		      (gblk_stats(d, 0, &st) != 0) << 2);
	if (pid > 0)
		waitpid(pid, &status, 0);
	tap_ok(WIFEXITED(status) && !(WEXITSTATUS(status) & 3),
	       "another process: SET_BACKEND and RUN_QUEUE get EPERM (status 0x%x)",
	       status);
	tap_ok(WIFEXITED(status) && !(WEXITSTATUS(status) & 4),
	       "another process: GET_STATS works (no ownership needed)");
}

static void check_features(uint64_t f, bool ro, const char *what)
{
	uint64_t missing = GBLK_F_REQUIRED & ~f;

	if (!tap_ok(!missing, "%s: GET_FEATURES offers VERSION_1, INDIRECT_DESC, EVENT_IDX, NOTIFY_ON_EMPTY, ANY_LAYOUT, SEG_MAX, BLK_SIZE, TOPOLOGY, MQ, FLUSH",
		    what))
		tap_diag("  offered 0x%llx, missing 0x%llx", ULL(f), ULL(missing));
	tap_ok(!!(f & GBLK_F(VIRTIO_BLK_F_RO)) == ro, "%s: VIRTIO_BLK_F_RO %s",
	       what, ro ? "offered" : "not offered");
}

static void test_config(struct kvdev *d, const struct gblk_store *s)
{
	struct virtio_blk_config c;
	uint16_t n = 0;

	memset(&c, 0, sizeof(c));
	tap_errno(gblk_get_config(d, 0, sizeof(c), &c), 0, "GET_CONFIG");
	tap_is(le64toh(c.capacity), s->size / GBLK_SECTOR, "config: capacity = file size / 512");
	tap_is(le32toh(c.blk_size), 512, "config: blk_size 512 for a file");
	tap_ok(le32toh(c.seg_max) > 0, "config: seg_max > 0 (%u)", le32toh(c.seg_max));
	tap_is(le16toh(c.num_queues), 4, "config: num_queues 4");
	gblk_get_config(d, offsetof(struct virtio_blk_config, num_queues), 2, &n);
	tap_is(le16toh(n), 4, "GET_CONFIG of 2 bytes at offset 34: num_queues 4");
	tap_errno(gblk_get_config(d, 0, KVHOST_BLK_CONFIG_MAX, NULL), 0,
		  "GET_CONFIG of all 256 bytes");
	tap_errno(gblk_get_config(d, 250, 7, NULL), EINVAL,
		  "GET_CONFIG offset 250 size 7 (past 256)");
	tap_errno(gblk_get_config(d, 0, KVHOST_BLK_CONFIG_MAX + 1, NULL), EINVAL,
		  "GET_CONFIG size 257");
}

static void test_ring_index(struct kvdev *d)
{
	struct kvhost_blk_queue_stats st;
	unsigned int base;
	int ret;

	tap_errno(kvdev_set_vring_num(d, 4, 256), ENOBUFS, "SET_VRING_NUM index 4 of 4 queues");
	tap_errno(kvdev_set_vring_base(d, 4, 0), ENOBUFS, "SET_VRING_BASE index 4");
	tap_errno(kvdev_set_vring_addr_raw(d, 4, 0x10000, 0x20000, 0x30000, 0), ENOBUFS,
		  "SET_VRING_ADDR index 4");
	tap_errno(kvdev_set_vring_kick_fd(d, 4, d->vq[0].kick_fd), ENOBUFS,
		  "SET_VRING_KICK index 4");
	tap_errno(kvdev_set_vring_call_fd(d, 4, d->vq[0].call_fd), ENOBUFS,
		  "SET_VRING_CALL index 4");
	tap_errno(kvdev_get_vring_base(d, 4, &base), ENOBUFS, "GET_VRING_BASE index 4");
	tap_errno(kvdev_set_vring_num(d, 3, 256), 0, "SET_VRING_NUM index 3");
	ret = gblk_run_queue(d, 4, 1);
	tap_ok(ret == -ENOBUFS || ret == -EINVAL, "RUN_QUEUE index 4 refused (%s)",
	       strerror(-ret));
	ret = gblk_stats(d, 4, &st);
	tap_ok(ret == -ENOBUFS || ret == -EINVAL, "GET_STATS index 4 refused (%s)",
	       strerror(-ret));
}

static void test_setup(const struct gblk_store *s)
{
	uint32_t maxq = 64;
	uint64_t v = 0, f = 0;
	int fd, ro_fd, ret;
	struct kvdev d;

	tap_diag("1. set-up");
	if (!gblk_read_u64("/sys/module/kvhost_blk/parameters/max_queues", &v) &&
	    v && v <= KVHOST_BLK_QUEUES_MAX)
		maxq = v;
	if (!tap_errno(kvdev_open(&d, GBLK_PATH, 1), 0, "open %s", GBLK_PATH))
		return;
	tap_errno(gblk_set_queues(&d, 0), EINVAL, "SET_QUEUES 0");
	tap_errno(gblk_set_queues(&d, maxq + 1), EINVAL, "SET_QUEUES %u (max_queues + 1)",
		  maxq + 1);
	tap_errno(gblk_set_queues(&d, maxq), 0, "SET_QUEUES %u", maxq);
	tap_errno(gblk_set_queues(&d, 4), 0, "SET_QUEUES 4");
	tap_errno(gblk_set_backend(&d, s->fd, 0), EPERM, "SET_BACKEND before SET_OWNER");
	tap_errno(kvdev_set_owner(&d), 0, "SET_OWNER");
	tap_errno(gblk_set_queues(&d, 2), EBUSY, "SET_QUEUES after SET_OWNER");
	ret = gblk_get_config(&d, 0, 8, &f);
	tap_ok(!ret && !f, "GET_CONFIG without a store: capacity 0 (%llu)", ULL(f));

	fd = eventfd(0, EFD_CLOEXEC);
	tap_errno(gblk_set_backend(&d, fd, 0), EINVAL, "SET_BACKEND of an eventfd");
	close(fd);
	tap_errno(gblk_set_backend(&d, fd, 0), EBADF, "SET_BACKEND of a closed fd");
	ro_fd = open(s->path, O_RDONLY | O_CLOEXEC);
	ret = gblk_set_backend(&d, ro_fd, 0);
	tap_ok(ret < 0, "SET_BACKEND of an O_RDONLY file without KVHOST_BLK_BACKEND_RO refused (%s)",
	       ret < 0 ? strerror(-ret) : "accepted");
	ret = gblk_set_backend(&d, s->fd, 1U << 31);
	tap_ok(ret < 0, "SET_BACKEND with an unknown flag refused (%s)",
	       ret < 0 ? strerror(-ret) : "accepted");
	not_owner(&d, s->fd);
	tap_errno(gblk_set_backend(&d, s->fd, 0), 0, "SET_BACKEND of a 64 MiB file in /tmp");
	tap_errno(kvdev_get_features(&d, &f), 0, "GET_FEATURES");
	check_features(f, false, "writable file");
	tap_ok((f & GBLK_F(VIRTIO_BLK_F_DISCARD)) && (f & GBLK_F(VIRTIO_BLK_F_WRITE_ZEROES)),
	       "writable file on tmpfs: DISCARD and WRITE_ZEROES offered");
	test_config(&d, s);
	test_ring_index(&d);
	tap_errno(gblk_set_backend(&d, -1, 0), 0, "SET_BACKEND -1 detaches");
	ret = gblk_get_config(&d, 0, 8, &f);
	tap_ok(!ret && !f, "GET_CONFIG after the detach: capacity 0");
	kvdev_close(&d);

	if (!kvdev_open(&d, GBLK_PATH, 1)) {
		kvdev_set_owner(&d);
		tap_errno(gblk_set_backend(&d, ro_fd, KVHOST_BLK_BACKEND_RO), 0,
			  "SET_BACKEND of an O_RDONLY file with KVHOST_BLK_BACKEND_RO");
		f = 0;
		kvdev_get_features(&d, &f);
		check_features(f, true, "read-only file");
	}
	kvdev_close(&d);
	close(ro_fd);

	if (!kvdev_open(&d, GBLK_PATH, 1)) {
		uint16_t n = 0;

		tap_errno(gblk_set_queues(&d, maxq), 0, "SET_QUEUES %u", maxq);
		kvdev_set_owner(&d);
		gblk_get_config(&d, offsetof(struct virtio_blk_config, num_queues), 2, &n);
		tap_is(le16toh(n), maxq, "%u queues: config num_queues", maxq);
		tap_errno(kvdev_set_vring_num(&d, maxq - 1, 64), 0,
			  "%u queues: SET_VRING_NUM index %u", maxq, maxq - 1);
		tap_errno(kvdev_set_vring_num(&d, maxq, 64), ENOBUFS,
			  "%u queues: SET_VRING_NUM index %u", maxq, maxq);
	}
	kvdev_close(&d);
}

/* ---- 2. integrity ---- */

static void integrity_case(struct gblk_store *s, unsigned int nq,
			   unsigned int qd, bool odd)
{
	static struct gblk g;
	static struct gblk_load l[GBLK_MAXQ];
	struct gblk_cfg c = cfg_for(s, nq, gblk_load_mem(nq, qd));
	uint64_t n = gblk_scaled(qd == 1 ? 200 : qd == 8 ? 400 : 800) / nq, bytes = 0;
	unsigned int q, bad = 0, stats_bad = 0;
	char what[96];

	snprintf(what, sizeof(what), "%s %s q%u qd%u", odd ? "any layout" : "integrity",
		 s->name, nq, qd);
	if (n < 2 * qd)
		n = 2 * qd;
	if (!open_or_report(&g, &c, what))
		goto out;
	for (q = 0; q < nq; q++) {
		struct gblk_load_cfg lc = {
			.qd = qd, .region = s->region, .nreq = n + qd,
			.check_fd = s->check_fd, .write_pct = 50, .odd = odd,
			.seed = seed_base * 1000003 + nq * 1000 + qd * 10 + odd,
		};

		if (gblk_load_init(&l[q], &g, q, &lc)) {
			report(false, l[q].err, "%s: load set-up", what);
			goto out;
		}
	}
	bad = gblk_load_run_all(l, nq, n);
	for (q = 0; q < nq; q++) {
		bytes += l[q].read_bytes + l[q].write_bytes;
		if (!bad && !stats_bad && !gblk_load_stats_ok(&l[q]))
			stats_bad = q + 1;
	}
	if (!report(!bad, bad ? l[bad - 1].err : NULL,
		    "%s: %llu requests (%llu KiB) verified against the store", what,
		    ULL(n * nq), ULL(bytes >> 10)))
		tap_diag("  seed %llu (KVHOST_BLK_SEED=%llu)", ULL(l[bad - 1].cfg.seed),
			 ULL(seed_base));
	else
		report(!stats_bad, stats_bad ? l[stats_bad - 1].err : NULL,
		       "%s: device counters match", what);
out:
	gblk_close(&g);
	for (q = 0; q < nq; q++)
		gblk_load_free(&l[q]);
}

/*
 * A block device with 2 tags that ends every bio inside submit_bio()
 * (null_blk irqmode=0): nonblocking submissions are refused there
 * (BLK_STS_AGAIN) and completed before write_iter() has returned, so the
 * request must not be handed on until it has.  A kernel BUG (the iterator
 * re-expanded under a re-issue) or a wrong byte fails it.
 */
static void test_starved_bdev(void)
{
	static const char *const attrs[] = { "hw_queue_depth=2", "irqmode=2",
					      "completion_nsec=20000", NULL };
	static struct gblk_store s;
	int ret;

	if (!store_wanted("null_blk")) {
		tap_ok(true, "starved null_blk # SKIP not in KVHOST_BLK_STORES");
		return;
	}
	ret = gblk_store_nullb_attrs(&s, "null_blk-2tags", 256, NULL, attrs);
	ret = ret ?: gblk_store_prefill(&s, s.region, seed_base + 9);
	if (ret) {
		tap_ok(true, "starved null_blk # SKIP %s", strerror(-ret));
		gblk_store_close(&s);
		return;
	}
	integrity_case(&s, 1, 128, false);
	integrity_case(&s, 4, 32, false);
	gblk_store_close(&s);
}

static void test_integrity(void)
{
	static const unsigned int depth[] = { 1, 8, 128 };
	static struct gblk g;
	unsigned int i, nq, k;

	tap_diag("2. integrity");
	for (i = 0; i < NSTORES; i++) {
		struct gblk_store *s = &stores[i];
		struct gblk_cfg c = cfg_for(s, 1, 0);

		if (!have[i])
			continue;
		if (open_or_report(&g, &c, s->name))
			tap_ok(g.capacity == s->size / GBLK_SECTOR && g.blk_size == s->lbs,
			       "config %s: capacity %llu (want %llu), blk_size %u (want %u)",
			       s->name, ULL(g.capacity), ULL(s->size / GBLK_SECTOR),
			       g.blk_size, s->lbs);
		gblk_close(&g);
		for (nq = 1; nq <= 4; nq += 3)
			for (k = 0; k < 3; k++)
				integrity_case(s, nq, depth[k], false);
		integrity_case(s, 1, 8, true);
	}
	test_starved_bdev();
}

/* ---- 3. request types ---- */

static bool get_id_case(struct gblk *g, uint32_t buflen, const uint8_t *want)
{
	uint32_t n = buflen < KVHOST_BLK_ID_BYTES ? buflen : KVHOST_BLK_ID_BYTES;
	bool ok;

	memset(g->aux, 0xa5, 64);
	ok = rw_ok(g, 0, VIRTIO_BLK_T_GET_ID, 0, 0, buflen, S_OK, n + 1);
	if (ok && (memcmp(g->aux, want, n) || (buflen > n && g->aux[n] != 0xa5)))
		ok = !WHY("got \"%.20s\"", (const char *)g->aux);
	return report(ok, NULL, "GET_ID into %u bytes: the serial's first %u bytes, used len %u",
		      buflen, n, n + 1);
}

static uint64_t st_blocks(const struct gblk_store *s)
{
	struct stat st;

	fsync(s->check_fd);
	return fstat(s->check_fd, &st) ? 0 : (uint64_t)st.st_blocks;
}

/*
 * DISCARD or WRITE_ZEROES of @len bytes at @off over random data: zeros read
 * back, the neighbours kept; with @blocks (a file), blocks freed.
 */
static void dwz_case(struct gblk *g, const struct gblk_store *s, uint32_t type,
		     uint32_t flags, uint64_t off, uint32_t len, bool blocks)
{
	const char *name = type == T_DISCARD ? "DISCARD" : flags ? "WRITE_ZEROES unmap" :
			   "WRITE_ZEROES";
	static uint8_t before[2 * 4096];
	/* An unaligned DISCARD may leave partial blocks: it is only a hint. */
	bool zeros = type != T_DISCARD || !(off % 4096 || len % 4096), ok;
	struct gblk_done d = { .status = -1 };
	uint64_t b0, b1;

	ok = write_random(g, off / GBLK_SECTOR - 8, len + 8192, off) &&
	     !gblk_store_pread(s, before, 4096, off - 4096) &&
	     !gblk_store_pread(s, before + 4096, 4096, off + len);
	b0 = st_blocks(s);
	if (ok && (gblk_dwz(g, 0, type, off / GBLK_SECTOR, len / GBLK_SECTOR, flags, &d) ||
		   d.status != S_OK || d.len != 1))
		ok = !WHY("status %d used len %u %s", d.status, d.len, g->err);
	ok = ok && (!zeros || store_zero(s, off, len)) &&
	     store_is(s, off - 4096, before, 4096) &&
	     store_is(s, off + len, before + 4096, 4096);
	report(ok, NULL, "%s %s of %u bytes at %llu: %sneighbours kept", s->name, name,
	       len, ULL(off), zeros ? "zeros read back, " : "");
	b1 = st_blocks(s);
	if (blocks)
		tap_ok(b1 < b0, "%s %s frees the file's blocks (st_blocks %llu -> %llu)",
		       s->name, name, ULL(b0), ULL(b1));
}

static void dwz_store(struct gblk *g, const struct gblk_store *s, bool blocks)
{
	if (!F_HAS(g, DISCARD))
		tap_ok(true, "%s DISCARD # SKIP not offered", s->name);
	else
		dwz_case(g, s, T_DISCARD, 0, 8 * MIB, MIB, blocks);
	if (!F_HAS(g, WRITE_ZEROES)) {
		tap_ok(true, "%s WRITE_ZEROES # SKIP not offered", s->name);
		return;
	}
	dwz_case(g, s, T_WZ, 0, 10 * MIB, MIB, false);
	dwz_case(g, s, T_WZ, UNMAP, 12 * MIB, MIB, blocks);
	/* Not page-aligned: the store must zero parts of pages. */
	dwz_case(g, s, T_WZ, 0, 20001 * GBLK_SECTOR, 3 * GBLK_SECTOR, false);
	if (F_HAS(g, DISCARD))
		dwz_case(g, s, T_DISCARD, 0, 30003 * GBLK_SECTOR, 5 * GBLK_SECTOR, false);
}

static void test_requests(void)
{
	static const uint8_t serial[KVHOST_BLK_ID_BYTES] = "kvhost-blk-serial-01";
	static const uint8_t shorter[KVHOST_BLK_ID_BYTES] = "short";
	/* 0x101: OUT if cut to 8 bits. */
	static const uint32_t unknown[] = { 99, VIRTIO_BLK_T_SECURE_ERASE, 0x101 };
	struct gblk_store *s = &stores[ST_FILE];
	struct gblk_cfg c = cfg_for(s, 1, 0);
	struct kvhost_blk_queue_stats st, w;
	struct vdrv_seg none;
	struct gblk_io flush = { .type = T_FLUSH, .seg = &none };
	static struct gblk g;
	struct gblk_done d;
	unsigned int i;
	bool ok;

	tap_diag("3. request types");
	if (!open_or_report(&g, &c, "request types"))
		goto out;
	tap_errno(gblk_set_serial(&g.dev, serial), 0, "SET_SERIAL");
	get_id_case(&g, 20, serial);
	get_id_case(&g, 32, serial);
	get_id_case(&g, 8, serial);
	gblk_set_serial(&g.dev, shorter);
	get_id_case(&g, 20, shorter);

	ok = write_random(&g, 1000, 64 << 10, 5) &&
	     rw_ok(&g, 0, T_IN, 1000, 1 * MIB, 64 << 10, S_OK, (64 << 10) + 1);
	gblk_fill(g.aux, 64 << 10, 5);
	report(ok && !memcmp(g.aux + MIB, g.aux, 64 << 10), NULL,
	       "OUT then IN of 64 KiB: the data comes back");
	/* A completion signals the call eventfd (EVENT_IDX: used_event). */
	kvdev_wait_call(&g.dev, 0, 0);
	ok = gblk_submit(&g, 0, &flush, 7) >= 0;
	gblk_kick(&g, 0);
	ok = kvdev_wait_call(&g.dev, 0, 5000) == 1 && ok;
	ok = !gblk_wait(&g, 0, &d, GBLK_WAIT_MS) && d.status == S_OK && d.len == 1 && ok;
	tap_ok(ok, "FLUSH: OK, used len 1, and the call eventfd signalled");
	dwz_store(&g, s, true);
	for (i = 0; i < 3; i++)
		report(rw_ok(&g, 0, unknown[i], 0, 0, 0, S_UNSUPP, 1), NULL,
		       "request type %u: UNSUPP, used len 1", unknown[i]);
	report(good_read(&g, 0, s), NULL, "the queue serves on after them");
	/* What was sent: 4 GET_ID, OUT/IN, 1 FLUSH, DISCARD/WZ cases, 3 others. */
	w = (struct kvhost_blk_queue_stats){
		.get_ids = 4, .flushes = 1, .unsupported = 3, .reads = 2,
		.writes = 1 + F_HAS(&g, DISCARD) * (1 + F_HAS(&g, WRITE_ZEROES)) +
			  F_HAS(&g, WRITE_ZEROES) * 3,
		.discards = F_HAS(&g, DISCARD) * (1 + F_HAS(&g, WRITE_ZEROES)),
		.write_zeroes = F_HAS(&g, WRITE_ZEROES) * 3,
	};
	report(gblk_stats_are(&g, 0, &w, false, &st), g.err,
	       "counters: reads, writes, flushes, discards, write_zeroes, get_ids, unsupported, errors");
out:
	gblk_close(&g);
	/* The block devices: what they offer must zero too. */
	for (i = ST_NULLB; i <= ST_LOOP; i++) {
		c = cfg_for(&stores[i], 1, 0);
		if (have[i] && open_or_report(&g, &c, stores[i].name))
			dwz_store(&g, &stores[i], false);
		if (have[i])
			gblk_close(&g);
	}
}

/* ---- 4. flush ---- */

/* Field 16 of /sys/block/<dev>/stat: flush requests completed. */
static int flush_count(const char *dev, uint64_t *v)
{
	const char *base = strrchr(dev, '/');
	unsigned long long f[16];
	char path[160];
	FILE *fp;
	int n;

	base = base ? base + 1 : dev;
	if (!strncmp(base, "kvblk-", 6))
		base += 6;
	snprintf(path, sizeof(path), "/sys/block/%s/stat", base);
	fp = fopen(path, "r");
	if (!fp)
		return -errno;
	for (n = 0; n < 16 && fscanf(fp, "%llu", &f[n]) == 1; n++)
		;
	fclose(fp);
	if (n < 16)
		return -ENOENT;
	*v = f[15];
	return 0;
}

static void test_flush(void)
{
	struct gblk_store *s = &stores[ST_LOOP];
	struct gblk_cfg c = cfg_for(s, 1, 0);
	struct kvhost_blk_queue_stats st;
	static struct gblk g;
	uint64_t before = 0, after = 0;
	bool ok;

	tap_diag("4. flush");
	if (!have[ST_LOOP] || flush_count(s->path, &before)) {
		tap_ok(true, "FLUSH reaches the loop device # SKIP %s",
		       have[ST_LOOP] ? "no flush field in its stat" : "no loop device");
		return;
	}
	if (open_or_report(&g, &c, "flush")) {
		ok = write_random(&g, 2048, 64 << 10, 9);
		flush_count(s->path, &before);
		ok = ok && rw_ok(&g, 0, T_FLUSH, 0, 0, 0, S_OK, 1);
		flush_count(s->path, &after);
		report(ok && after > before, NULL,
		       "FLUSH after a write reaches the loop device (flushes %llu -> %llu)",
		       ULL(before), ULL(after));
		gblk_stats(&g.dev, 0, &st);
		tap_is(st.flushes, 1, "flush counter 1");
	}
	gblk_close(&g);
}

/* ---- 5. errors ---- */

static struct gblk bg;			/* the device of the malformed cases */
static struct vdrv_seg bseg[4100];
static unsigned int bad_ioerr;

static struct vdrv_seg seg_of(uint64_t off, uint32_t len, bool w)
{
	return (struct vdrv_seg){ .gpa = bg.aux_gpa + off, .len = len, .writable = w };
}

/* Send @io; want IOERR (or UNSUPP if @unsupp_ok); then a good request. */
static void bad_case(const struct gblk_io *io, bool unsupp_ok, const char *name,
		     const char *detail)
{
	struct gblk_done d = { .status = -1 };
	bool ok = !gblk_do(&bg, 0, io, &d);

	bad_ioerr += ok && d.status == S_IOERR;
	if (!ok || (d.status != S_IOERR && (!unsupp_ok || d.status != S_UNSUPP)))
		ok = !WHY("status %d used len %u %s", d.status, d.len, ok ? "" : bg.err);
	ok = ok && good_read(&bg, 0, &stores[ST_FILE]);
	report(ok, NULL, "malformed: %s%s: %s, and the queue serves on", name, detail,
	       unsupp_ok ? "IOERR or UNSUPP" : "IOERR");
}

/* The malformed reads and writes: data segments of @len1 and @len2 (if any). */
struct bad_rw {
	const char *name;
	uint32_t type;
	uint64_t sector;		/* back from the capacity if @from_end */
	bool from_end;
	int hdr;			/* header bytes, 0: 16 */
	uint32_t len1;
	bool w1;
	uint32_t len2;
	bool w2;
};

#define R	false
#define W	true
static const struct bad_rw bad[] = {
	{ "IN with an 8-byte header", T_IN, 0, 0, 8, 512, W, 0, 0 },
	{ "GET_ID with a 15-byte header", VIRTIO_BLK_T_GET_ID, 0, 0, 15, 20, W, 0, 0 },
	{ "OUT of 513 bytes", T_OUT, 0, 0, 0, 513, R, 0, 0 },
	{ "IN of 1000 bytes", T_IN, 0, 0, 0, 1000, W, 0, 0 },
	{ "IN of 512 + 100 bytes", T_IN, 0, 0, 0, 512, W, 100, W },
	{ "IN at sector 2^55 (offset wraps 2^64)", T_IN, 1ULL << 55, 0, 0, 512, W, 0, 0 },
	{ "OUT at sector 2^64 - 1", T_OUT, UINT64_MAX, 0, 0, 512, R, 0, 0 },
	{ "IN at sector = capacity", T_IN, 0, 1, 0, 512, W, 0, 0 },
	{ "OUT of 2 sectors from the last one", T_OUT, 1, 1, 0, 1024, R, 0, 0 },
	{ "IN with readable data after the header", T_IN, 0, 0, 0, 512, R, 512, W },
	{ "OUT with writable data besides the status", T_OUT, 0, 0, 0, 512, R, 512, W },
};
#undef R
#undef W

/* DISCARD / WRITE_ZEROES with @n ranges of @nsect from @sector, 16 apart. */
static void bad_dwz(uint32_t type, unsigned int n, uint64_t sector, uint32_t nsect,
		    uint32_t flags, const char *what)
{
	struct virtio_blk_discard_write_zeroes *r = (void *)bg.aux;
	struct vdrv_seg seg = seg_of(0, n * sizeof(*r), false);
	struct gblk_io io = { .type = type, .seg = &seg, .nseg = !!n };
	char name[96], detail[64] = "";
	unsigned int i;

	for (i = 0; i < n; i++)
		r[i] = (struct virtio_blk_discard_write_zeroes){
			.sector = htole64(sector + 16 * i),
			.num_sectors = htole32(nsect), .flags = htole32(flags),
		};
	if (n > 1 || nsect > 16)
		snprintf(detail, sizeof(detail), " (%u x %u sectors)", n, nsect);
	snprintf(name, sizeof(name), "%s %s", type == T_DISCARD ? "DISCARD" :
		 "WRITE_ZEROES", what);
	bad_case(&io, type == T_DISCARD && flags, name, detail);
}

static void bad_dwz_all(uint32_t type, uint32_t max_sect, uint32_t max_seg)
{
	bad_dwz(type, 0, 0, 0, 0, "without any range");
	if (max_seg && max_seg < 4096)
		bad_dwz(type, max_seg + 1, 0, 8, 0, "with max_seg + 1 ranges");
	bad_dwz(type, 1, bg.capacity - 8, 16, 0, "past the capacity");
	if (max_sect && max_sect < UINT32_MAX)
		bad_dwz(type, 1, 0, max_sect + 1, 0, "of max sectors + 1");
	if (type == T_DISCARD)
		bad_dwz(type, 1, 0, 8, UNMAP, "with the unmap flag");
}

/* The device's seg_max, from a device that only reads its config. */
static uint32_t probe_seg_max(const struct gblk_store *s)
{
	struct kvdev d;
	uint32_t v = 0;

	if (!kvdev_open(&d, GBLK_PATH, 1) && !kvdev_set_owner(&d) &&
	    !gblk_set_backend(&d, s->fd, 0))
		gblk_get_config(&d, offsetof(struct virtio_blk_config, seg_max), 4, &v);
	kvdev_close(&d);
	return le32toh(v);
}

static void test_malformed(void)
{
	const struct gblk_store *s = &stores[ST_FILE];
	uint32_t segmax = probe_seg_max(s), num = 256, i;
	struct gblk_cfg c = cfg_for(s, 1, 32 * MIB);
	struct kvhost_blk_queue_stats st;
	struct vdrv_seg *sg = bseg;
	uint64_t cap;

	/* A ring and indirect tables that hold seg_max + 1 data segments. */
	while (num < segmax + 3 && num < 4096)
		num *= 2;
	c.num = num;
	c.indirect_max = segmax + 3 < GBLK_INDIRECT ? GBLK_INDIRECT :
			 segmax + 3 > 4096 ? 4096 : segmax + 3;
	if (!open_or_report(&bg, &c, "malformed requests"))
		goto out;
	cap = bg.capacity;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const struct bad_rw *b = &bad[i];
		struct gblk_io io = { .type = b->type, .seg = sg, .nseg = 1 + !!b->len2,
				      .hdr_len = b->hdr, .indirect = true,
				      .sector = b->from_end ? cap - b->sector : b->sector };

		sg[0] = seg_of(0, b->len1, b->w1);
		sg[1] = seg_of(b->len1, b->len2, b->w2);
		bad_case(&io, false, b->name, "");
	}
	if (segmax + 3 <= c.indirect_max) {
		struct gblk_io io = { .type = T_IN, .seg = sg, .nseg = segmax + 1,
				      .indirect = true };

		for (i = 0; i <= segmax; i++)
			sg[i] = seg_of((uint64_t)i * 512 % MIB, 512, true);
		bad_case(&io, false, "IN in seg_max + 1 segments", "");
	} else {
		tap_ok(true, "malformed: seg_max + 1 segments # SKIP seg_max %u", segmax);
	}
	if (F_HAS(&bg, DISCARD))
		bad_dwz_all(T_DISCARD, bg.max_discard_sectors, bg.max_discard_seg);
	if (F_HAS(&bg, WRITE_ZEROES))
		bad_dwz_all(T_WZ, bg.max_wz_sectors, bg.max_wz_seg);
	report(rw_ok(&bg, 0, T_IN, cap - 1, 0, 512, S_OK, 513), NULL,
	       "control: IN of the last sector is OK");
	usleep(100000);
	gblk_stats(&bg.dev, 0, &st);
	tap_is(st.errors, bad_ioerr, "errors counter = IOERR completions");
	tap_ok(!st.broken && kvdev_wait_err(&bg.dev, 0, 0) == 0,
	       "no malformed request broke the queue");
out:
	gblk_close(&bg);
}

/* The core's malformed-ring cases (badring.c) on queue 0 of a blk device. */
static void badring_case(const struct badring_case *c)
{
	const struct gblk_store *s = &stores[ST_FILE];
	struct kvhost_blk_queue_stats st;
	struct gblk_cfg cfg = cfg_for(s, 2, 0);
	static struct gblk g;
	struct vdrv_ring *r;
	int fired;

	cfg.num = 8;
	cfg.base = 100;
	if (c->no_indirect)
		cfg.features_off = GBLK_F(VIRTIO_RING_F_INDIRECT_DESC);
	if (!open_or_report(&g, &cfg, c->name))
		goto out;
	r = &g.q[0].ring;
	c->build(&(struct badring_env){ .r = r, .mem = &g.mem, .buf = g.aux_gpa,
					.buf2 = g.aux_gpa + 4096, .base = cfg.base });
	/* The raw chain bypassed the driver's notification logic: kick always. */
	kvdev_kick(&g.dev, 0);
	fired = kvdev_wait_err(&g.dev, 0, GBLK_WAIT_MS);
	memset(&st, 0, sizeof(st));
	gblk_stats(&g.dev, 0, &st);
	tap_ok(fired == 1 && st.broken == 1 && (int)st.last_err == c->err &&
	       vdrv_raw_used_idx(r) == cfg.base,
	       "bad ring: %s: err eventfd %d, queue broken %u with %s (want %s), used->idx %u",
	       c->name, fired, st.broken, strerror(st.last_err), strerror(c->err),
	       vdrv_raw_used_idx(r));
	report(good_read(&g, 1, s), NULL, "bad ring: %s: the other queue serves on",
	       c->name);
out:
	gblk_close(&g);
}

static void test_badring(void)
{
	unsigned int i;

	for (i = 0; i < badring_ncases; i++)
		badring_case(&badring_cases[i]);
}

static void test_readonly(void)
{
	static const uint32_t ty[] = { T_OUT, T_WZ, T_DISCARD };
	static const char *const name[] = { "OUT", "WRITE_ZEROES", "DISCARD" };
	const struct gblk_store *s = &stores[ST_FILE];
	struct kvhost_blk_queue_stats st;
	struct gblk_cfg c = cfg_for(NULL, 1, 0);
	static uint8_t keep[65536];
	static struct gblk g;
	struct gblk_done d = { .status = -1 };
	unsigned int nerr = 0, i;
	bool ok, offered;

	c.fd = open(s->path, O_RDONLY | O_CLOEXEC);
	c.flags = KVHOST_BLK_BACKEND_RO;
	if (!open_or_report(&g, &c, "read-only store"))
		goto out;
	gblk_store_pread(s, keep, 65536, 4096 * GBLK_SECTOR);
	for (i = 0; i < 3; i++) {
		offered = !i || (g.features & GBLK_F(i == 1 ? VIRTIO_BLK_F_WRITE_ZEROES :
						       VIRTIO_BLK_F_DISCARD));
		if (!offered)
			continue;
		gblk_fill(g.aux, 65536, 3);
		ok = !(i ? gblk_dwz(&g, 0, ty[i], 4096, 128, 0, &d) :
		       gblk_rw(&g, 0, T_OUT, 4096, g.aux_gpa, 65536, 2, &d)) &&
		     d.status == S_IOERR;
		nerr += ok;
		ok = (ok || !WHY("status %d", d.status)) &&
		     store_is(s, 4096 * GBLK_SECTOR, keep, 65536);
		report(ok, NULL, "read-only: %s gets IOERR, the store is unchanged", name[i]);
	}
	ok = rw_ok(&g, 0, T_IN, 4096, 0, 65536, S_OK, 65537);
	report(ok && !memcmp(g.aux, keep, 65536), NULL, "read-only: IN works");
	usleep(100000);
	gblk_stats(&g.dev, 0, &st);
	tap_is(st.errors, nerr, "read-only: errors counter");
out:
	gblk_close(&g);
	if (c.fd >= 0)
		close(c.fd);
}

static void test_broken(void)
{
	const struct gblk_store *s = &stores[ST_FILE];
	struct kvhost_blk_queue_stats st;
	struct gblk_cfg c = cfg_for(s, 2, 0);
	static struct gblk g;
	struct vdrv_seg seg;
	struct gblk_io io = { .type = T_OUT, .seg = &seg, .nseg = 1, .no_status = true };
	int ret;

	if (!open_or_report(&g, &c, "chain without a status byte"))
		goto out;
	seg = (struct vdrv_seg){ .gpa = g.aux_gpa, .len = 512 };
	ret = gblk_submit(&g, 0, &io, 1);
	gblk_kick(&g, 0);
	tap_ok(ret >= 0 && kvdev_wait_err(&g.dev, 0, 5000) == 1,
	       "a chain with no writable byte: the err eventfd fires");
	gblk_stats(&g.dev, 0, &st);
	tap_is(st.broken, 1, "... and the queue is broken");
	report(good_read(&g, 1, s), NULL, "... the device's other queue serves on");
out:
	gblk_close(&g);
}

static void test_enospc(void)
{
	struct kvhost_blk_queue_stats st;
	static struct gblk g;
	struct gblk_store s;
	struct gblk_cfg c;
	char dir[128], path[160];
	unsigned int i, nok = 0, nerr = 0;
	bool okw[64], ok = true;
	int ret;

	gblk_store_init(&s);
	ret = tmpfs_mount(dir, sizeof(dir), "nospc", getpid(), "size=1m");
	if (ret) {
		tap_ok(true, "ENOSPC # SKIP cannot mount a tmpfs: %s", strerror(-ret));
		return;
	}
	snprintf(path, sizeof(path), "%s/img", dir);
	ret = gblk_store_file(&s, "1 MiB tmpfs", path, 16 * MIB, false);
	c = cfg_for(&s, 1, 0);
	if (ret || !open_or_report(&g, &c, "ENOSPC"))
		goto out;
	for (i = 0; i < 64; i++) {
		struct gblk_done d = { .status = -1 };

		gblk_fill(g.aux, 65536, 100 + i);
		ret = gblk_rw(&g, 0, T_OUT, i * 128, g.aux_gpa, 65536, 2, &d);
		okw[i] = !ret && d.status == S_OK;
		nok += okw[i];
		nerr += !ret && d.status == S_IOERR;
	}
	tap_ok(nok && nerr && nok + nerr == 64,
	       "ENOSPC: 4 MiB written to a 1 MiB tmpfs: %u OK, %u IOERR", nok, nerr);
	for (i = 0; i < 64 && ok; i++) {
		memset(g.aux + MIB, 0xdb, 65536);
		ok = rw_ok(&g, 0, T_IN, i * 128, MIB, 65536, S_OK, 65537) &&
		     store_is(&s, i * 65536ULL, g.aux + MIB, 65536);
		gblk_fill(g.aux, 65536, 100 + i);
		if (ok && okw[i] && memcmp(g.aux + MIB, g.aux, 65536))
			ok = !WHY("chunk %u written OK reads back wrong", i);
	}
	report(ok, NULL, "ENOSPC: every read afterwards OK and right");
	usleep(100000);
	gblk_stats(&g.dev, 0, &st);
	tap_ok(st.errors == nerr && !st.broken, "ENOSPC: errors counter %llu = %u, not broken",
	       ULL(st.errors), nerr);
out:
	gblk_close(&g);
	gblk_store_close(&s);
	unlink(path);
	tmpfs_umount(dir, "ENOSPC", 0);
}

/*
 * The store failing: sectors 8192..16383 of a device-mapper device are its
 * "error" target.  Reads there get IOERR and the rest is served; a write
 * there lands in the block device's page cache, and the FLUSH after it
 * must report that it never reached the store.
 */
static void test_store_errors(void)
{
	static const uint64_t sector[] = { 0, 8192, 12000, 32768 };
	static struct gblk g;
	struct gblk_store s;
	struct gblk_cfg c;
	unsigned int i;
	int ret = -ENODEV;

	gblk_store_init(&s);
	if (store_wanted("null_blk"))
		ret = gblk_store_dm_error(&s, "ioerr", 64, 8192, 8192);
	if (ret) {
		tap_ok(true, "store I/O errors # SKIP no dm error target over null_blk (%s)",
		       strerror(-ret));
		gblk_store_close(&s);
		return;
	}
	c = cfg_for(&s, 1, 0);
	if (open_or_report(&g, &c, "dm-error store")) {
		for (i = 0; i < 4; i++)
			report(rw_ok(&g, 0, T_IN, sector[i], 0, 4096, i == 1 || i == 2 ?
				     S_IOERR : S_OK, i == 1 || i == 2 ? 1 : 4097), NULL,
			       "dm error target at 8192-16383: IN at %llu: %s",
			       ULL(sector[i]), i == 1 || i == 2 ? "IOERR" : "OK");
		report(rw_ok(&g, 0, T_OUT, 9000, 0, 4096, S_OK, 1) &&
		       rw_ok(&g, 0, T_FLUSH, 0, 0, 0, S_IOERR, 1), NULL,
		       "dm error target: a buffered write there is taken, the FLUSH after it reports IOERR");
		report(rw_ok(&g, 0, T_OUT, 40000, 0, 4096, S_OK, 1) &&
		       rw_ok(&g, 0, T_FLUSH, 0, 0, 0, S_OK, 1) &&
		       rw_ok(&g, 0, T_IN, 40000, 0, 4096, S_OK, 4097), NULL,
		       "dm error target: the device serves on (write, FLUSH, read elsewhere)");
	}
	gblk_close(&g);
	gblk_store_close(&s);
}

/* ---- 6. stop and resume ---- */

enum stop_how { STOP_BASE, STOP_DETACH, STOP_RUNQ };

static const char *const stop_name[] = {
	[STOP_BASE] = "GET_VRING_BASE + SET_VRING_BASE + RUN_QUEUE 1",
	[STOP_DETACH] = "SET_BACKEND -1 + SET_BACKEND fd",
	[STOP_RUNQ] = "RUN_QUEUE 0 + RUN_QUEUE 1",
};

/* Keep the first failure's explanation. */
#define ROUND_FAIL(...)	do {						\
		if (ok)							\
			WHY(__VA_ARGS__);				\
		ok = false;						\
	} while (0)

/*
 * One round: @l[0] (and @l[1] for a detach) full, stopped at once; every
 * request the device took must be used when the ioctl returns, and nothing
 * more may move; then started again, and more requests run.
 */
static bool stop_round(struct gblk *g, struct gblk_load *l, enum stop_how how,
		       const struct gblk_store *s)
{
	unsigned int nq = how == STOP_DETACH ? 2 : 1, q, base = 0, sub[2];
	struct kvhost_blk_queue_stats st;
	uint16_t used[2], now;
	bool ok = true;
	int ret;

	for (q = 0; q < nq; q++)
		sub[q] = gblk_load_submit(&l[q], l[q].cfg.qd);
	ret = how == STOP_BASE ? kvdev_get_vring_base(&g->dev, 0, &base) :
	      how == STOP_DETACH ? gblk_set_backend(&g->dev, -1, 0) :
	      gblk_run_queue(&g->dev, 0, 0);
	if (ret)
		return !WHY("stop: %s", strerror(-ret));
	for (q = 0; q < nq; q++) {
		used[q] = vdrv_raw_used_idx(&g->q[q].ring);
		gblk_stats(&g->dev, q, &st);
		if (l[q].inflight < 64 || st.inflight ||
		    (how == STOP_BASE && used[q] != (uint16_t)base))
			ROUND_FAIL("queue %u: %u submitted, %u in flight at the stop, device inflight %u, used idx %u, base %u",
				   q, sub[q], l[q].inflight, st.inflight, used[q], base);
	}
	usleep(200000);
	for (q = 0; q < nq; q++) {
		struct vdrv_ring *r = &g->q[q].ring;

		now = vdrv_raw_used_idx(r);
		if (now != used[q])
			ROUND_FAIL("queue %u moved on while stopped (used %u -> %u)",
				   q, used[q], now);
		if (gblk_load_harvest(&l[q]) < 0) {
			ROUND_FAIL("harvest: %s", l[q].err);
			return false;
		}
		/* What is left in flight is what the device never took. */
		if (l[q].inflight != (uint16_t)(r->avail_idx - now))
			ROUND_FAIL("queue %u: %u in flight after the harvest, %u never taken",
				   q, l[q].inflight, (uint16_t)(r->avail_idx - now));
	}
	ret = how == STOP_BASE ? kvdev_set_vring_base(&g->dev, 0, base) : 0;
	ret = ret ?: how == STOP_DETACH ? gblk_set_backend(&g->dev, s->fd, 0) :
		     gblk_run_queue(&g->dev, 0, 1);
	if (ret) {
		ROUND_FAIL("restart: %s", strerror(-ret));
		return false;
	}
	for (q = 0; q < nq; q++) {
		/* A front kicks after a restart: what was pending gets looked at. */
		kvdev_kick(&g->dev, q);
		if (gblk_load_run(&l[q], 64)) {
			ROUND_FAIL("after the restart: %s", l[q].err);
			return false;
		}
	}
	return ok;
}

static void test_stop_resume(void)
{
	static struct gblk g;
	static struct gblk_load l[2];
	struct gblk_store *s = &stores[ST_FILE];
	struct gblk_cfg c = cfg_for(s, 2, gblk_load_mem(2, 128));
	unsigned int rounds = gblk_scaled(6), q, k, how;
	bool ok;

	tap_diag("6. stop and resume under load");
	if (!open_or_report(&g, &c, "stop/resume"))
		goto out;
	for (q = 0; q < 2; q++) {
		struct gblk_load_cfg lc = {
			.qd = 128, .region = s->region, .nreq = 40000,
			.check_fd = s->check_fd, .write_pct = 50, .seed = seed_base * 7 + q,
		};

		if (gblk_load_init(&l[q], &g, q, &lc)) {
			report(false, l[q].err, "stop/resume: load set-up");
			goto out;
		}
	}
	for (how = STOP_BASE; how <= STOP_RUNQ; how++) {
		for (k = 0, ok = true; k < rounds && ok; k++)
			ok = stop_round(&g, l, how, s);
		report(ok, NULL, "%s under load, %u rounds of 128 in flight: all taken used at once, nothing moves while stopped, the rest completes after",
		       stop_name[how], k);
	}
	/* Queue 0 stopped, queue 1 keeps going on its own worker. */
	ok = !gblk_run_queue(&g.dev, 0, 0) && !gblk_load_run(&l[1], 300);
	report(ok, l[1].err, "RUN_QUEUE 0 on queue 0: queue 1 serves on");
	ok = !gblk_run_queue(&g.dev, 0, 1) && !gblk_load_run(&l[0], 100);
	report(ok, l[0].err, "RUN_QUEUE 1 on queue 0: it serves again");
	for (q = 0, ok = true; q < 2; q++)
		ok = ok && !gblk_load_drain(&l[q]) && gblk_load_check(&l[q]);
	report(ok, l[0].err[0] ? l[0].err : l[1].err,
	       "stop/resume: every request completed exactly once, every byte verified (%llu + %llu)",
	       ULL(l[0].done), ULL(l[1].done));
	for (q = 0; ok && q < 2; q++)
		ok = gblk_load_stats_ok(&l[q]);
	report(ok, l[0].err[0] ? l[0].err : l[1].err, "stop/resume: device counters match");
out:
	gblk_close(&g);
	gblk_load_free(&l[0]);
	gblk_load_free(&l[1]);
}

/* ---- stores ---- */

/* O_DIRECT on the /tmp file, or else on a file of an ext4 on a loop device. */
static int open_odirect(struct gblk_store *s)
{
	char path[160];
	int ret = gblk_store_file(s, "file-odirect", file_path, FILE_SIZE, true);

	if (ret != -EINVAL)
		return ret;
	gblk_store_close(s);
	snprintf(path, sizeof(path), "/tmp/kvblk-ext4-%d.img", (int)getpid());
	ret = gblk_store_loop(&ext4_loop, "ext4", path, 96 * MIB);
	if (ret)
		return ret;
	if (gblk_sh("PATH=$PATH:/sbin:/usr/sbin mkfs.ext4 -q -F %s", ext4_loop.path))
		return -ENOEXEC;
	snprintf(ext4_mnt, sizeof(ext4_mnt), "/tmp/kvblk-ext4-%d", (int)getpid());
	mkdir(ext4_mnt, 0700);
	gblk_sh("modprobe ext4");
	if (mount(ext4_loop.path, ext4_mnt, "ext4", 0, NULL)) {
		ret = -errno;
		rmdir(ext4_mnt);
		ext4_mnt[0] = 0;
		return ret;
	}
	snprintf(path, sizeof(path), "%s/img", ext4_mnt);
	tap_diag("  tmpfs has no O_DIRECT here: file-odirect is on ext4");
	return gblk_store_file(s, "file-odirect(ext4)", path, FILE_SIZE, true);
}

static void open_stores(void)
{
	char loop_file[160];
	int ret, i;

	snprintf(file_path, sizeof(file_path), "/tmp/kvblk-%d.img", (int)getpid());
	snprintf(loop_file, sizeof(loop_file), "/tmp/kvblk-loop-%d.img", (int)getpid());
	for (i = 0; i < NSTORES; i++) {
		const char *name = store_names[i];
		struct gblk_store *s = &stores[i];

		if (i != ST_FILE && !store_wanted(name)) {
			tap_ok(true, "store %s # SKIP not in KVHOST_BLK_STORES", name);
			continue;
		}
		ret = i == ST_FILE ? gblk_store_file(s, name, file_path, FILE_SIZE, false) :
		      i == ST_ODIRECT ? open_odirect(s) :
		      i == ST_NULLB ? gblk_store_nullb(s, name, 1024, NULL) :
		      gblk_store_loop(s, name, loop_file, FILE_SIZE);
		ret = ret ?: gblk_store_prefill(s, s->region, seed_base + i);
		have[i] = !ret;
		if (ret && i == ST_FILE)
			tap_ok(false, "store %s: %s: %s", name, file_path, strerror(-ret));
		else if (ret)
			tap_ok(true, "store %s # SKIP %s", name, strerror(-ret));
		if (ret) {
			gblk_store_close(s);
		} else {
			tap_ok(true, "store %s: %s, %llu MiB, prefilled", name, s->path,
			       ULL(s->size >> 20));
		}
	}
}

static void close_stores(void)
{
	char path[160];
	int i;

	for (i = NSTORES - 1; i >= 0; i--)
		gblk_store_close(&stores[i]);
	if (ext4_mnt[0]) {
		snprintf(path, sizeof(path), "%s/img", ext4_mnt);
		unlink(path);
		umount2(ext4_mnt, 0);
		rmdir(ext4_mnt);
	}
	gblk_store_close(&ext4_loop);
	unlink(file_path);
}

int main(void)
{
	const char *seed = getenv("KVHOST_BLK_SEED");
	bool nullb_loaded = !access("/sys/module/null_blk", F_OK);
	uint64_t t0 = kvdev_now_ms();
	int i;

	tap_init();
	tap_watchdog(gblk_debug_kernel() ? 590 : 290);
	for (i = 0; i < NSTORES; i++)
		gblk_store_init(&stores[i]);
	gblk_store_init(&ext4_loop);
	if (seed && *seed)
		seed_base = strtoull(seed, NULL, 0);
	if (!tap_ok(!access(GBLK_PATH, F_OK), "%s exists", GBLK_PATH))
		return tap_done();
	tap_diag("scale %.2f, seed %llu", gblk_scale(), ULL(seed_base));
	open_stores();
	if (have[ST_FILE]) {
		test_setup(&stores[ST_FILE]);
		test_integrity();
		test_requests();
		test_flush();
		tap_diag("5. errors");
		test_readonly();
		test_malformed();
		test_broken();
		test_badring();
		test_enospc();
		test_store_errors();
		test_stop_resume();
	}
	close_stores();
	if (!nullb_loaded)
		gblk_sh("modprobe -r null_blk");
	tap_diag("t_blk took %llu s", ULL((kvdev_now_ms() - t0) / 1000));
	return tap_done();
}
