/* SPDX-License-Identifier: GPL-2.0 */
/*
 * gblk: the guest side of a /dev/kvhost-blk device for the integration
 * tests: guest memory, one split ring per request queue, the device set up
 * the way a front (QEMU) sets it up, virtio-blk requests built from header,
 * data and status segments, and a random read/write load whose every byte
 * is checked against the backing store read directly (pread).
 *
 * Also the stores the load runs on: files, loop devices, null_blk.
 */
#ifndef GBLK_H
#define GBLK_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/vhost.h>
#include <linux/virtio_blk.h>
#include "kvdev.h"
#include "vring_drv.h"

#define GBLK_PATH	"/dev/kvhost-blk"
#define GBLK_MAXQ	KVDEV_MAX_VQ
#define GBLK_NUM	256		/* default ring size */
#define GBLK_INDIRECT	32		/* default entries per indirect table */
#define GBLK_SECTOR	512ULL
/* Any single wait for the device: 10 s, 60 s on the debug kernel. */
#define GBLK_WAIT_MS	gblk_wait_ms()
unsigned int gblk_wait_ms(void);
/* The debug kernel (KASAN, lockdep, kmemleak): several times slower. */
bool gblk_debug_kernel(void);
#define GBLK_META	64		/* header/status bytes per ring head */
#define GBLK_HDR_LEN	16
#define GBLK_HDR_NONE	(-1)		/* gblk_io.hdr_len: header is in seg[0] */
#define GBLK_AUX_LEN	((2U << 20) + (64U << 10))	/* bytes of g->aux */

#define GBLK_F(bit)	(1ULL << (bit))
/* What the device must always offer. */
#define GBLK_F_REQUIRED							\
	(GBLK_F(VIRTIO_F_VERSION_1) | GBLK_F(VIRTIO_RING_F_INDIRECT_DESC) | \
	 GBLK_F(VIRTIO_RING_F_EVENT_IDX) | GBLK_F(VIRTIO_F_NOTIFY_ON_EMPTY) | \
	 GBLK_F(VIRTIO_F_ANY_LAYOUT) | GBLK_F(VIRTIO_BLK_F_SEG_MAX) |	\
	 GBLK_F(VIRTIO_BLK_F_BLK_SIZE) | GBLK_F(VIRTIO_BLK_F_TOPOLOGY) |	\
	 GBLK_F(VIRTIO_BLK_F_MQ) | GBLK_F(VIRTIO_BLK_F_FLUSH))
/* What the driver accepts of the offer (a Linux guest's choice). */
#define GBLK_F_WANTED							\
	(GBLK_F(VIRTIO_F_VERSION_1) | GBLK_F(VIRTIO_RING_F_INDIRECT_DESC) | \
	 GBLK_F(VIRTIO_RING_F_EVENT_IDX) | GBLK_F(VIRTIO_BLK_F_SEG_MAX) |	\
	 GBLK_F(VIRTIO_BLK_F_BLK_SIZE) | GBLK_F(VIRTIO_BLK_F_TOPOLOGY) |	\
	 GBLK_F(VIRTIO_BLK_F_MQ) | GBLK_F(VIRTIO_BLK_F_FLUSH) |		\
	 GBLK_F(VIRTIO_BLK_F_DISCARD) | GBLK_F(VIRTIO_BLK_F_WRITE_ZEROES) |	\
	 GBLK_F(VIRTIO_BLK_F_RO))

struct gblk_cfg {
	unsigned int nq;		/* request queues, 1..GBLK_MAXQ (0: 1) */
	unsigned int num;		/* ring size (0: GBLK_NUM) */
	unsigned int indirect_max;	/* entries per indirect table (0: GBLK_INDIRECT) */
	uint64_t mem_size;		/* guest memory bytes (0: 16 MiB) */
	const struct vdrv_mem *mem;	/* guest memory to take over (a
					 * vhost-user front's); NULL: identity */
	bool workers;			/* queue k > 0 on a new worker of its own */
	bool no_run;			/* leave every queue stopped */
	bool no_set_queues;		/* leave the queue count alone */
	uint16_t base;			/* every ring's starting index */
	uint64_t features_off;		/* not to negotiate of GBLK_F_WANTED */
	int fd;				/* backing store; < 0: none */
	uint32_t flags;			/* KVHOST_BLK_BACKEND_* */
};

/* Per ring head: where its status byte is. */
struct gblk_head {
	uint8_t *status;		/* NULL: the chain has no writable byte */
	uint32_t type;
	uint64_t token;			/* the caller's */
};

struct gblk_q {
	struct vdrv_ring ring;
	uint8_t *meta;			/* num * GBLK_META bytes: header, status */
	uint64_t meta_gpa;
	struct gblk_head *head;
	struct vdrv_seg *segs;		/* chain scratch */
	unsigned int nsegs_max;
	unsigned int worker;		/* worker id, with cfg.workers */
};

/* A byte range of the store a request in flight owns. */
struct gblk_range {
	uint64_t start, end;
};

struct gblk {
	struct gblk_cfg cfg;
	struct kvdev dev;
	struct vdrv_mem mem;
	struct gblk_q q[GBLK_MAXQ];
	uint64_t offered;		/* GET_FEATURES (store attached) */
	uint64_t features;		/* negotiated */
	/* Configuration read at set-up, host byte order. */
	uint64_t capacity;		/* sectors */
	uint32_t seg_max, blk_size, num_queues;
	uint32_t max_discard_sectors, max_discard_seg;
	uint32_t max_wz_sectors, max_wz_seg;
	/* Ranges owned by requests in flight, over every queue. */
	pthread_mutex_t busy_lock;
	struct gblk_range *busy;
	unsigned int nbusy, busy_max;
	/* Guest memory for one-off requests (gblk_rw()'s callers, gblk_dwz()). */
	uint8_t *aux;
	uint64_t aux_gpa;
	char err[256];
};

/*
 * One request: header {type, 0, sector} (GBLK_HDR_LEN bytes of the head's
 * meta area, or @hdr_len of them, or none when the caller put it in seg[0]),
 * the data segments, then a 1-byte status descriptor unless @no_status (the
 * status is then the last byte of the last writable segment, if any).
 */
struct gblk_io {
	uint32_t type;
	uint64_t sector;
	const struct vdrv_seg *seg;
	unsigned int nseg;
	bool indirect;
	int hdr_len;			/* 0: 16; 1..15: short; GBLK_HDR_NONE */
	bool no_status;
};

struct gblk_done {
	uint64_t token;
	uint32_t len;			/* used length */
	int status;			/* status byte, -1 if none */
	uint32_t type;
};

int gblk_fail(struct gblk *g, int ret, const char *what);

/* Memory, rings and meta areas; no device. */
int gblk_guest_init(struct gblk *g, const struct gblk_cfg *c);
/*
 * The device steps of a front on an open g->dev: SET_QUEUES, SET_OWNER,
 * SET_BACKEND, GET_FEATURES, GET_CONFIG, SET_FEATURES, SET_MEM_TABLE,
 * queue set-up, workers, RUN_QUEUE 1 on every queue.
 */
int gblk_setup(struct gblk *g);
/* gblk_guest_init(), open GBLK_PATH, gblk_setup(). */
int gblk_open(struct gblk *g, const struct gblk_cfg *c);
void gblk_close(struct gblk *g);
/* The guest rebooted: new rings at index 0 for every queue (no ioctl). */
int gblk_new_rings(struct gblk *g);

/* Zeroed guest memory, 4 KiB aligned; NULL if out of it. */
void *gblk_alloc(struct gblk *g, uint64_t size, uint64_t *gpa);

static inline int gblk_set_queues(struct kvdev *d, uint32_t n)
{
	return kvdev_ioctl(d, KVHOST_BLK_SET_QUEUES, &n);
}

static inline int gblk_set_backend(struct kvdev *d, int fd, uint32_t flags)
{
	struct kvhost_blk_backend b = { .fd = fd, .flags = flags };

	return kvdev_ioctl(d, KVHOST_BLK_SET_BACKEND, &b);
}

static inline int gblk_run_queue(struct kvdev *d, unsigned int q, unsigned int on)
{
	struct vhost_vring_state s = { .index = q, .num = on };

	return kvdev_ioctl(d, KVHOST_BLK_RUN_QUEUE, &s);
}

static inline int gblk_set_serial(struct kvdev *d,
				  const uint8_t id[KVHOST_BLK_ID_BYTES])
{
	return kvdev_ioctl(d, KVHOST_BLK_SET_SERIAL, (void *)id);
}

static inline int gblk_stats(struct kvdev *d, unsigned int q,
			     struct kvhost_blk_queue_stats *st)
{
	*st = (struct kvhost_blk_queue_stats){ .index = q };
	return kvdev_ioctl(d, KVHOST_BLK_GET_STATS, st);
}

/* @size bytes of the configuration from @off into @out (if not NULL). */
int gblk_get_config(struct kvdev *d, uint32_t off, uint32_t size, void *out);
/*
 * The counters of queue @q (*@st) are @want's reads, writes, flushes,
 * discards, write_zeroes, get_ids, unsupported and errors (and read_bytes,
 * write_bytes if @bytes), with nothing broken or in flight, within 2 s.
 * false with g->err listing the differences.
 */
bool gblk_stats_are(struct gblk *g, unsigned int q,
		    const struct kvhost_blk_queue_stats *want, bool bytes,
		    struct kvhost_blk_queue_stats *st);
/* Re-read the configuration into g (capacity, seg_max, ...). */
int gblk_read_config(struct gblk *g);

/* The 16-byte request header at @p. */
void gblk_put_hdr(void *p, uint32_t type, uint64_t sector);
/*
 * Add @io to queue @q (not kicked) with @token.  Return the head, or
 * -ENOSPC (not enough free descriptors), -E2BIG, -EINVAL.
 */
int gblk_submit(struct gblk *g, unsigned int q, const struct gblk_io *io,
		uint64_t token);
/* Publish, and kick if the device asks for it. */
void gblk_kick(struct gblk *g, unsigned int q);
/* Harvest one completion: 1, 0 if none, -EPROTO. */
int gblk_get(struct gblk *g, unsigned int q, struct gblk_done *d);
/* The next completion within @timeout_ms: 0, -ETIMEDOUT, -EPROTO. */
int gblk_wait(struct gblk *g, unsigned int q, struct gblk_done *d,
	      int timeout_ms);
/* Submit, kick and wait for @io alone: 0 or -errno (g->err says). */
int gblk_do(struct gblk *g, unsigned int q, const struct gblk_io *io,
	    struct gblk_done *d);
/*
 * IN or OUT (or any type) of [@gpa, @gpa + @len) at @sector, split into
 * @nsplit segments at sector boundaries (as far as it goes).
 */
int gblk_rw(struct gblk *g, unsigned int q, uint32_t type, uint64_t sector,
	    uint64_t gpa, uint32_t len, unsigned int nsplit,
	    struct gblk_done *d);
/* DISCARD / WRITE_ZEROES of one range. */
int gblk_dwz(struct gblk *g, unsigned int q, uint32_t type, uint64_t sector,
	     uint32_t nsectors, uint32_t flags, struct gblk_done *d);

/* ---- random read/write load on one queue, verified by pread ---- */

struct gblk_load_cfg {
	unsigned int qd;		/* requests in flight at most (<= ring) */
	uint64_t region;		/* bytes of the store used, from 0 */
	uint64_t nreq;			/* requests at most over the load's life */
	int check_fd;			/* the store, opened again, for pread */
	unsigned int write_pct;		/* share of OUT requests, percent */
	bool odd;			/* byte-granular splits, merged header
					 * (OUT) and status (IN) descriptors */
	uint64_t seed;
};

struct gblk_slot {
	uint8_t *buf;			/* data; 512 bytes of room either side */
	uint64_t gpa;
	uint32_t cap;
	bool big, busy;
	uint32_t type, len;
	uint64_t seq, sector;
};

struct gblk_load {
	struct gblk *g;
	unsigned int q;
	struct gblk_load_cfg cfg;
	struct gblk_slot *slot;
	unsigned int nslot;
	unsigned int *free_small, *free_big;
	unsigned int nfree_small, nfree_big;
	uint8_t *seen;			/* per seq: 1 done, GBLK_ABANDONED */
	uint8_t *scratch;		/* pread buffer, 4 KiB aligned */
	uint64_t rnd;
	uint64_t seq;			/* requests submitted */
	uint64_t done;			/* completed and verified */
	uint64_t abandoned;
	unsigned int inflight;
	uint64_t reads, writes, read_bytes, write_bytes;
	uint64_t last_progress_ms;
	char err[320];
};

#define GBLK_ABANDONED	0x80
#define GBLK_SMALL_LEN	(64U << 10)
#define GBLK_BIG_LEN	(1U << 20)
#define GBLK_BIG_SLOTS	8

/* Guest memory a load of @qd on each of @nq queues needs (with rings). */
uint64_t gblk_load_mem(unsigned int nq, unsigned int qd);
int gblk_load_init(struct gblk_load *l, struct gblk *g, unsigned int q,
		   const struct gblk_load_cfg *c);
void gblk_load_free(struct gblk_load *l);
/* Post up to @n more requests (qd allowing) and kick; the number posted. */
unsigned int gblk_load_submit(struct gblk_load *l, unsigned int n);
/* Harvest and verify what is used now: the count, or -1 (l->err). */
int gblk_load_harvest(struct gblk_load *l);
/* Complete @n more requests, qd in flight: 0 or -1 (l->err). */
int gblk_load_run(struct gblk_load *l, uint64_t n);
/*
 * gblk_load_run() and then gblk_load_drain() of @n requests on each of
 * @nq loads at once, a thread each; then gblk_load_check() of each.
 * Return 0, or the first failing load's index + 1.
 */
unsigned int gblk_load_run_all(struct gblk_load *l, unsigned int nq, uint64_t n);
/* Wait for everything in flight: 0 or -1. */
int gblk_load_drain(struct gblk_load *l);
/* Give up every request in flight (the device will never use them). */
void gblk_load_abandon(struct gblk_load *l);
/* Every request submitted completed exactly once (or was abandoned). */
bool gblk_load_check(struct gblk_load *l);
/* The device's counters of the queue match the load's: false, l->err. */
bool gblk_load_stats_ok(struct gblk_load *l);

/* ---- stores ---- */

struct gblk_store {
	char name[64];
	char path[128];			/* the file or block device */
	int fd;				/* what the device gets */
	int check_fd;			/* pread/pwrite checks (O_DIRECT: bdev) */
	uint64_t size;			/* bytes */
	uint64_t region;		/* bytes the loads use */
	uint32_t lbs;			/* logical block size */
	bool bdev;
	/* clean-up */
	char loop_file[128];		/* file under a loop device, to unlink */
	char nullb[128];		/* configfs dir of a null_blk device */
	char dm[64];			/* device-mapper device over it */
};

void gblk_store_init(struct gblk_store *s);
/* A sparse file of @size at @path; O_DIRECT for the device if @direct. */
int gblk_store_file(struct gblk_store *s, const char *name, const char *path,
		    uint64_t size, bool direct);
/* A block device node, opened O_RDWR (check fd O_DIRECT). */
int gblk_store_bdev(struct gblk_store *s, const char *name, const char *dev);
/* A loop device over a new file of @size at @file. */
int gblk_store_loop(struct gblk_store *s, const char *name, const char *file,
		    uint64_t size);
/* A memory-backed null_blk device of @mb MiB (configfs; else module params),
 * @badblocks "start-end" sectors or NULL. */
/*
 * A device-mapper device over a new memory-backed null_blk of @mb MiB whose
 * sectors [@bad, @bad + @nbad) are dm's "error" target: I/O there fails.
 */
int gblk_store_dm_error(struct gblk_store *s, const char *name, unsigned int mb,
			uint64_t bad, uint64_t nbad);
int gblk_store_nullb(struct gblk_store *s, const char *name, unsigned int mb,
		     const char *badblocks);
/* The same with more configfs attributes, "name=value" each, NULL-ended. */
int gblk_store_nullb_attrs(struct gblk_store *s, const char *name, unsigned int mb,
			   const char *badblocks, const char *const *attrs);
/* Fill the first @len bytes with a known non-zero pattern. */
int gblk_store_prefill(struct gblk_store *s, uint64_t len, uint64_t seed);
void gblk_store_close(struct gblk_store *s);
/* Read back through the check fd, with an aligned bounce buffer. */
int gblk_store_pread(const struct gblk_store *s, void *buf, uint64_t len,
		     uint64_t off);

/* Run a shell command quietly; its exit status, -1 if it could not run. */
int gblk_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Write @text to a sysfs/configfs file. */
int gblk_write_file(const char *path, const char *text);
/* Read a number from a file (first field); -errno. */
int gblk_read_u64(const char *path, uint64_t *v);

/* Scale factor for request counts (KVHOST_BLK_SCALE, default 1). */
double gblk_scale(void);
uint64_t gblk_scaled(uint64_t n);
/* xorshift64* */
uint64_t gblk_rand(uint64_t *s);
/* @len bytes (a multiple of 8) of the random stream of @seed. */
void gblk_fill(void *p, uint64_t len, uint64_t seed);

#endif /* GBLK_H */
