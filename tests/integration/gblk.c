// SPDX-License-Identifier: GPL-2.0
/* gblk: the guest side of a /dev/kvhost-blk device (see gblk.h). */
#define _GNU_SOURCE
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/fs.h>
#include <linux/loop.h>
#include "gblk.h"

#define MIB		(1ULL << 20)
#define LOAD_REGION_MAX	(64 * MIB)

int gblk_fail(struct gblk *g, int ret, const char *what)
{
	snprintf(g->err, sizeof(g->err), "%s: %s", what, strerror(-ret));
	return ret;
}

uint64_t gblk_rand(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545f4914f6cdd1dULL;
}

void gblk_fill(void *p, uint64_t len, uint64_t seed)
{
	uint64_t st = seed | 1, v, i;

	for (i = 0; i + 8 <= len; i += 8) {
		v = gblk_rand(&st);
		memcpy((uint8_t *)p + i, &v, 8);
	}
}

bool gblk_debug_kernel(void)
{
	struct utsname u;

	return !uname(&u) && strstr(u.release, "kvdebug");
}

unsigned int gblk_wait_ms(void)
{
	return gblk_debug_kernel() ? 60000 : 10000;
}

double gblk_scale(void)
{
	static double scale;
	const char *env = getenv("KVHOST_BLK_SCALE");

	if (scale > 0)
		return scale;
	scale = env && *env ? strtod(env, NULL) : 0;
	/* The debug kernel runs beside the stock VMs in make check, too. */
	if (scale <= 0)
		scale = gblk_debug_kernel() ? 0.25 : 1;
	return scale;
}

uint64_t gblk_scaled(uint64_t n)
{
	uint64_t v = (uint64_t)(n * gblk_scale());

	return v ? v : 1;
}

/* ---- ioctls ---- */

int gblk_get_config(struct kvdev *d, uint32_t off, uint32_t size, void *out)
{
	struct kvhost_blk_config c = { .offset = off, .size = size };
	int ret = kvdev_ioctl(d, KVHOST_BLK_GET_CONFIG, &c);

	if (!ret && out)
		memcpy(out, c.data, size < sizeof(c.data) ? size : sizeof(c.data));
	return ret;
}

int gblk_read_config(struct gblk *g)
{
	struct virtio_blk_config c;
	int ret;

	memset(&c, 0, sizeof(c));
	ret = gblk_get_config(&g->dev, 0, sizeof(c), &c);
	if (ret)
		return ret;
	g->capacity = le64toh(c.capacity);
	g->seg_max = le32toh(c.seg_max);
	g->blk_size = le32toh(c.blk_size);
	g->num_queues = le16toh(c.num_queues);
	g->max_discard_sectors = le32toh(c.max_discard_sectors);
	g->max_discard_seg = le32toh(c.max_discard_seg);
	g->max_wz_sectors = le32toh(c.max_write_zeroes_sectors);
	g->max_wz_seg = le32toh(c.max_write_zeroes_seg);
	return 0;
}

#define ST_FIELD(f)	{ #f, offsetof(struct kvhost_blk_queue_stats, f) }
static const struct { const char *name; size_t off; } st_fields[] = {
	ST_FIELD(reads), ST_FIELD(writes), ST_FIELD(flushes), ST_FIELD(discards),
	ST_FIELD(write_zeroes), ST_FIELD(get_ids), ST_FIELD(unsupported),
	ST_FIELD(errors), ST_FIELD(read_bytes), ST_FIELD(write_bytes),
};

static uint64_t st_get(const struct kvhost_blk_queue_stats *st, unsigned int k)
{
	uint64_t v;

	memcpy(&v, (const char *)st + st_fields[k].off, sizeof(v));
	return v;
}

bool gblk_stats_are(struct gblk *g, unsigned int q,
		    const struct kvhost_blk_queue_stats *want, bool bytes,
		    struct kvhost_blk_queue_stats *st)
{
	uint64_t deadline = kvdev_now_ms() + 2000;
	unsigned int k, n = bytes ? 10 : 8;
	size_t len = 0;
	bool ok;
	int ret;

	/* Counters may trail the used index by a moment. */
	do {
		ret = gblk_stats(&g->dev, q, st);
		if (ret)
			return !gblk_fail(g, ret, "KVHOST_BLK_GET_STATS");
		for (k = 0, ok = !st->broken && !st->inflight; k < n; k++)
			ok &= st_get(st, k) == st_get(want, k);
	} while (!ok && kvdev_now_ms() < deadline && !usleep(10000));
	len = snprintf(g->err, sizeof(g->err), "queue %u counters (device/driver):", q);
	for (k = 0; k < n && len < sizeof(g->err); k++)
		if (st_get(st, k) != st_get(want, k))
			len += snprintf(g->err + len, sizeof(g->err) - len, " %s %llu/%llu",
					st_fields[k].name, (unsigned long long)st_get(st, k),
					(unsigned long long)st_get(want, k));
	if (len < sizeof(g->err) && (st->broken || st->inflight))
		snprintf(g->err + len, sizeof(g->err) - len, " broken %u inflight %u",
			 st->broken, st->inflight);
	return ok;
}

/* ---- set-up ---- */

static void gblk_free_queues(struct gblk *g)
{
	unsigned int q;

	for (q = 0; q < GBLK_MAXQ; q++) {
		vdrv_ring_destroy(&g->q[q].ring);
		free(g->q[q].head);
		free(g->q[q].segs);
		g->q[q].head = NULL;
		g->q[q].segs = NULL;
	}
}

static int gblk_ring_init(struct gblk *g, unsigned int q)
{
	struct vdrv_ring_opts o = {
		.num = g->cfg.num, .event_idx = true, .indirect = true,
		.indirect_max = g->cfg.indirect_max,
	};
	int ret = vdrv_ring_init(&g->q[q].ring, &g->mem, &o);

	if (ret)
		return gblk_fail(g, ret, "ring");
	vdrv_ring_set_base(&g->q[q].ring, g->cfg.base);
	return 0;
}

int gblk_guest_init(struct gblk *g, const struct gblk_cfg *c)
{
	unsigned int q, n;
	int ret;

	memset(g, 0, sizeof(*g));
	kvdev_init(&g->dev);
	pthread_mutex_init(&g->busy_lock, NULL);
	g->cfg = *c;
	if (!g->cfg.nq)
		g->cfg.nq = 1;
	if (!g->cfg.num)
		g->cfg.num = GBLK_NUM;
	if (!g->cfg.indirect_max)
		g->cfg.indirect_max = GBLK_INDIRECT;
	if (!g->cfg.mem_size)
		g->cfg.mem_size = 16 * MIB;
	if (g->cfg.nq > GBLK_MAXQ)
		return gblk_fail(g, -EINVAL, "queues");
	if (c->mem)
		g->mem = *c->mem;
	ret = c->mem ? 0 : vdrv_mem_init_identity(&g->mem, g->cfg.mem_size);
	if (ret)
		return gblk_fail(g, ret, "guest memory");
	g->aux = gblk_alloc(g, GBLK_AUX_LEN, &g->aux_gpa);
	n = (g->cfg.num > g->cfg.indirect_max ? g->cfg.num :
	     g->cfg.indirect_max) + 2;
	for (q = 0; q < g->cfg.nq; q++) {
		struct gblk_q *gq = &g->q[q];

		ret = gblk_ring_init(g, q);
		if (ret)
			return ret;
		gq->meta = vdrv_alloc(&g->mem, (uint64_t)g->cfg.num * GBLK_META,
				      64, &gq->meta_gpa);
		gq->head = calloc(g->cfg.num, sizeof(*gq->head));
		gq->segs = calloc(n, sizeof(*gq->segs));
		gq->nsegs_max = n;
		if (!gq->meta || !gq->head || !gq->segs || !g->aux)
			return gblk_fail(g, -ENOMEM, "queue memory");
	}
	g->busy_max = g->cfg.nq * g->cfg.num;
	g->busy = calloc(g->busy_max, sizeof(*g->busy));
	return g->busy ? 0 : gblk_fail(g, -ENOMEM, "ranges");
}

int gblk_new_rings(struct gblk *g)
{
	unsigned int q;
	int ret;

	for (q = 0; q < g->cfg.nq; q++) {
		vdrv_ring_destroy(&g->q[q].ring);
		ret = gblk_ring_init(g, q);
		if (ret)
			return ret;
		memset(g->q[q].head, 0, g->cfg.num * sizeof(*g->q[q].head));
	}
	return 0;
}

/* Do @call; on failure, say @what failed and return. */
#define STEP(call, what) do {						\
		int ret_ = (call);					\
									\
		if (ret_)						\
			return gblk_fail(g, ret_, what);		\
	} while (0)

int gblk_setup(struct gblk *g)
{
	struct kvdev *d = &g->dev;
	unsigned int q;

	if (!g->cfg.no_set_queues)
		STEP(gblk_set_queues(d, g->cfg.nq), "KVHOST_BLK_SET_QUEUES");
	STEP(kvdev_set_owner(d), "VHOST_SET_OWNER");
	if (g->cfg.fd >= 0)
		STEP(gblk_set_backend(d, g->cfg.fd, g->cfg.flags), "KVHOST_BLK_SET_BACKEND");
	/* As a front does: the features and config follow the store. */
	STEP(kvdev_get_features(d, &g->offered), "VHOST_GET_FEATURES");
	STEP(gblk_read_config(g), "KVHOST_BLK_GET_CONFIG");
	g->features = g->offered & GBLK_F_WANTED & ~g->cfg.features_off;
	STEP(kvdev_set_features(d, g->features), "VHOST_SET_FEATURES");
	STEP(kvdev_set_mem_table(d, &g->mem), "VHOST_SET_MEM_TABLE");
	for (q = 0; q < g->cfg.nq; q++)
		STEP(kvdev_setup_vq(d, q, &g->q[q].ring), "queue set-up");
	/* Queue k > 0 on a worker of its own. */
	for (q = 1; g->cfg.workers && q < g->cfg.nq; q++) {
		struct vhost_worker_state ws = { .worker_id = ~0U };
		struct vhost_vring_worker vw = { .index = q };

		STEP(kvdev_ioctl(d, VHOST_NEW_WORKER, &ws), "VHOST_NEW_WORKER");
		vw.worker_id = g->q[q].worker = ws.worker_id;
		STEP(kvdev_ioctl(d, VHOST_ATTACH_VRING_WORKER, &vw),
		     "VHOST_ATTACH_VRING_WORKER");
	}
	for (q = 0; !g->cfg.no_run && q < g->cfg.nq; q++)
		STEP(gblk_run_queue(d, q, 1), "KVHOST_BLK_RUN_QUEUE 1");
	return 0;
}

int gblk_open(struct gblk *g, const struct gblk_cfg *c)
{
	int ret = gblk_guest_init(g, c);

	if (ret)
		return ret;
	ret = kvdev_open(&g->dev, GBLK_PATH, g->cfg.nq);
	if (ret)
		return gblk_fail(g, ret, GBLK_PATH);
	return gblk_setup(g);
}

void gblk_close(struct gblk *g)
{
	kvdev_close(&g->dev);
	gblk_free_queues(g);
	vdrv_mem_destroy(&g->mem);
	free(g->busy);
	g->busy = NULL;
	pthread_mutex_destroy(&g->busy_lock);
}

void *gblk_alloc(struct gblk *g, uint64_t size, uint64_t *gpa)
{
	return vdrv_alloc(&g->mem, size, 4096, gpa);
}

/* ---- requests ---- */

void gblk_put_hdr(void *p, uint32_t type, uint64_t sector)
{
	struct virtio_blk_outhdr h = {
		.type = htole32(type), .ioprio = 0, .sector = htole64(sector),
	};

	memcpy(p, &h, sizeof(h));
}

int gblk_submit(struct gblk *g, unsigned int q, const struct gblk_io *io,
		uint64_t token)
{
	struct gblk_q *gq = &g->q[q];
	struct vdrv_ring *r = &gq->ring;
	uint8_t *status = NULL, *meta;
	unsigned int n = 0, k;
	uint64_t mgpa;
	uint16_t h;
	int ret;

	if (!vdrv_num_free(r))
		return -ENOSPC;
	if (io->nseg + 2 > gq->nsegs_max)
		return -E2BIG;
	h = vdrv_next_head(r);
	meta = gq->meta + (size_t)h * GBLK_META;
	mgpa = gq->meta_gpa + (uint64_t)h * GBLK_META;
	if (io->hdr_len != GBLK_HDR_NONE) {
		gblk_put_hdr(meta, io->type, io->sector);
		gq->segs[n++] = (struct vdrv_seg){
			.gpa = mgpa, .len = io->hdr_len ? io->hdr_len : GBLK_HDR_LEN,
		};
	}
	for (k = 0; k < io->nseg; k++)
		gq->segs[n++] = io->seg[k];
	if (!io->no_status) {
		status = meta + 32;
		*status = 0xff;
		gq->segs[n++] = (struct vdrv_seg){
			.gpa = mgpa + 32, .len = 1, .writable = true,
		};
	} else {
		for (k = io->nseg; k-- > 0;)
			if (io->seg[k].writable) {
				status = vdrv_ptr(&g->mem, io->seg[k].gpa +
						  io->seg[k].len - 1);
				break;
			}
	}
	/* Indirect tables only where negotiated. */
	ret = vdrv_add(r, gq->segs, n, h, io->indirect &&
		       g->features & GBLK_F(VIRTIO_RING_F_INDIRECT_DESC));
	if (ret < 0)
		return ret;
	if (ret != h)
		return -EPROTO;
	/* vdrv's token is the head; the caller's is kept with it. */
	gq->head[h].status = status;
	gq->head[h].type = io->type;
	gq->head[h].token = token;
	return h;
}

void gblk_kick(struct gblk *g, unsigned int q)
{
	if (vdrv_kick_prepare(&g->q[q].ring))
		kvdev_kick(&g->dev, q);
}

int gblk_get(struct gblk *g, unsigned int q, struct gblk_done *d)
{
	struct gblk_q *gq = &g->q[q];
	uint64_t h;
	uint32_t len;
	int ret = vdrv_get_used(&gq->ring, &h, &len);

	if (ret <= 0)
		return ret;
	d->token = gq->head[h].token;
	d->len = len;
	d->type = gq->head[h].type;
	d->status = gq->head[h].status ?
		    __atomic_load_n(gq->head[h].status, __ATOMIC_ACQUIRE) : -1;
	return 1;
}

int gblk_wait(struct gblk *g, unsigned int q, struct gblk_done *d,
	      int timeout_ms)
{
	uint64_t deadline = kvdev_now_ms() + timeout_ms;
	int ret;

	for (;;) {
		ret = gblk_get(g, q, d);
		if (ret)
			return ret < 0 ? ret : 0;
		if (kvdev_now_ms() >= deadline)
			return -ETIMEDOUT;
		kvdev_wait_call(&g->dev, q, 50);
	}
}

int gblk_do(struct gblk *g, unsigned int q, const struct gblk_io *io,
	    struct gblk_done *d)
{
	static const uint64_t tok = 0x6b76626c6b;	/* "kvblk" */
	int ret = gblk_submit(g, q, io, tok);

	if (ret == -ENOSPC && !io->indirect) {
		struct gblk_io i2 = *io;

		i2.indirect = true;
		ret = gblk_submit(g, q, &i2, tok);
	}
	if (ret < 0)
		return gblk_fail(g, ret, "add to the ring");
	gblk_kick(g, q);
	ret = gblk_wait(g, q, d, GBLK_WAIT_MS);
	if (ret)
		return gblk_fail(g, ret, ret == -ETIMEDOUT ?
				 "no completion in time" : "used ring");
	if (d->token != tok)
		return gblk_fail(g, -EPROTO, "completion of another request");
	return 0;
}

int gblk_rw(struct gblk *g, unsigned int q, uint32_t type, uint64_t sector,
	    uint64_t gpa, uint32_t len, unsigned int nsplit,
	    struct gblk_done *d)
{
	struct vdrv_seg seg[GBLK_INDIRECT];
	bool w = type == VIRTIO_BLK_T_IN || type == VIRTIO_BLK_T_GET_ID;
	struct gblk_io io = { .type = type, .sector = sector, .seg = seg };
	uint32_t piece, off = 0;
	unsigned int k;

	if (nsplit > GBLK_INDIRECT - 4)
		nsplit = GBLK_INDIRECT - 4;
	if (nsplit > len / GBLK_SECTOR)
		nsplit = len / GBLK_SECTOR;
	if (!nsplit)
		nsplit = 1;
	piece = len / nsplit / GBLK_SECTOR * GBLK_SECTOR;
	for (k = 0; len && k < nsplit; k++) {
		uint32_t l = k + 1 == nsplit ? len - off : piece;

		seg[k] = (struct vdrv_seg){ .gpa = gpa + off, .len = l,
					    .writable = w };
		off += l;
	}
	io.nseg = len ? nsplit : 0;
	io.indirect = io.nseg > 2;
	return gblk_do(g, q, &io, d);
}

int gblk_dwz(struct gblk *g, unsigned int q, uint32_t type, uint64_t sector,
	     uint32_t nsectors, uint32_t flags, struct gblk_done *d)
{
	struct virtio_blk_discard_write_zeroes r = {
		.sector = htole64(sector), .num_sectors = htole32(nsectors),
		.flags = htole32(flags),
	};
	struct vdrv_seg seg = { .gpa = g->aux_gpa, .len = sizeof(r) };
	struct gblk_io io = { .type = type, .seg = &seg, .nseg = 1 };

	memcpy(g->aux, &r, sizeof(r));
	return gblk_do(g, q, &io, d);
}

/* ---- the load ---- */

static bool range_reserve(struct gblk *g, uint64_t start, uint64_t end)
{
	bool ok = g->nbusy < g->busy_max;
	unsigned int i;

	pthread_mutex_lock(&g->busy_lock);
	for (i = 0; ok && i < g->nbusy; i++)
		if (start < g->busy[i].end && g->busy[i].start < end)
			ok = false;
	if (ok)
		g->busy[g->nbusy++] = (struct gblk_range){ start, end };
	pthread_mutex_unlock(&g->busy_lock);
	return ok;
}

static void range_release(struct gblk *g, uint64_t start)
{
	unsigned int i;

	pthread_mutex_lock(&g->busy_lock);
	for (i = 0; i < g->nbusy; i++)
		if (g->busy[i].start == start) {
			g->busy[i] = g->busy[--g->nbusy];
			break;
		}
	pthread_mutex_unlock(&g->busy_lock);
}

static uint64_t load_rnd(struct gblk_load *l, uint64_t below)
{
	return below ? gblk_rand(&l->rnd) % below : 0;
}

uint64_t gblk_load_mem(unsigned int nq, unsigned int qd)
{
	unsigned int big = qd < GBLK_BIG_SLOTS ? qd : GBLK_BIG_SLOTS;
	uint64_t per_q = (uint64_t)big * (GBLK_BIG_LEN + 4096) +
			 (uint64_t)(qd - big) * (GBLK_SMALL_LEN + 4096) + 2 * MIB;

	return nq * per_q + 4 * MIB;
}

int gblk_load_init(struct gblk_load *l, struct gblk *g, unsigned int q,
		   const struct gblk_load_cfg *c)
{
	unsigned int i, nbig;

	memset(l, 0, sizeof(*l));
	l->g = g;
	l->q = q;
	l->cfg = *c;
	if (l->cfg.region > g->capacity * GBLK_SECTOR)
		l->cfg.region = g->capacity * GBLK_SECTOR;
	if (!l->cfg.qd || l->cfg.qd > g->cfg.num || l->cfg.region < GBLK_SECTOR) {
		snprintf(l->err, sizeof(l->err), "bad load (qd %u, region %llu)",
			 l->cfg.qd, (unsigned long long)l->cfg.region);
		return -EINVAL;
	}
	l->rnd = c->seed * 0x9e3779b97f4a7c15ULL + q + 1;
	l->nslot = l->cfg.qd;
	nbig = l->nslot < GBLK_BIG_SLOTS ? l->nslot : GBLK_BIG_SLOTS;
	l->slot = calloc(l->nslot, sizeof(*l->slot));
	l->free_small = calloc(l->nslot, sizeof(unsigned int));
	l->free_big = calloc(l->nslot, sizeof(unsigned int));
	l->seen = calloc(l->cfg.nreq ? l->cfg.nreq : 1, 1);
	l->scratch = aligned_alloc(4096, GBLK_BIG_LEN);
	if (!l->slot || !l->free_small || !l->free_big || !l->seen || !l->scratch)
		goto nomem;
	for (i = 0; i < l->nslot; i++) {
		struct gblk_slot *s = &l->slot[i];
		uint8_t *p;

		s->big = i < nbig;
		s->cap = s->big ? GBLK_BIG_LEN : GBLK_SMALL_LEN;
		p = gblk_alloc(g, s->cap + 1024, &s->gpa);
		if (!p)
			goto nomem;
		s->buf = p + 512;
		s->gpa += 512;
		if (s->big)
			l->free_big[l->nfree_big++] = i;
		else
			l->free_small[l->nfree_small++] = i;
	}
	return 0;
nomem:
	snprintf(l->err, sizeof(l->err), "load: out of memory");
	return -ENOMEM;
}

void gblk_load_free(struct gblk_load *l)
{
	free(l->slot);
	free(l->free_small);
	free(l->free_big);
	free(l->seen);
	free(l->scratch);
	memset(l, 0, sizeof(*l));
}

static int load_fail(struct gblk_load *l, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int load_fail(struct gblk_load *l, const char *fmt, ...)
{
	va_list ap;

	if (l->err[0])
		return -1;
	va_start(ap, fmt);
	vsnprintf(l->err, sizeof(l->err), fmt, ap);
	va_end(ap);
	return -1;
}

/* Request length: mostly small, some up to 64 KiB, a few up to 1 MiB. */
static uint32_t load_pick_sectors(struct gblk_load *l)
{
	uint64_t r = load_rnd(l, 100);

	if (l->seq < 2 && l->nfree_big)
		return GBLK_BIG_LEN / GBLK_SECTOR;
	if (r < 50)
		return 1 + load_rnd(l, 8);
	if (r < 95 || !l->nfree_big)
		return 9 + load_rnd(l, GBLK_SMALL_LEN / GBLK_SECTOR - 8);
	return GBLK_SMALL_LEN / GBLK_SECTOR + 1 +
	       load_rnd(l, (GBLK_BIG_LEN - GBLK_SMALL_LEN) / GBLK_SECTOR);
}

/* Up to @max - 1 sorted distinct cut points in (0, @units). */
static unsigned int load_cuts(struct gblk_load *l, uint32_t units,
			      unsigned int max, uint32_t *cut)
{
	unsigned int want = load_rnd(l, max), n = 0, i, j;

	if (units < 2)
		return 0;
	for (i = 0; i < want; i++) {
		uint32_t c = 1 + load_rnd(l, units - 1);

		for (j = 0; j < n && cut[j] < c; j++)
			;
		if (j < n && cut[j] == c)
			continue;
		memmove(&cut[j + 1], &cut[j], (n - j) * sizeof(*cut));
		cut[j] = c;
		n++;
	}
	return n;
}

/* The chain of slot @s: its data segments in @seg; fills @io. */
static void load_layout(struct gblk_load *l, struct gblk_slot *s,
			struct vdrv_seg *seg, struct gblk_io *io)
{
	struct gblk *g = l->g;
	unsigned int maxseg = g->seg_max < 16 ? g->seg_max : 16;
	uint32_t unit = l->cfg.odd ? 1 : GBLK_SECTOR;
	uint32_t cut[17], prev = 0;
	unsigned int n, k, first = 0;
	bool in = s->type == VIRTIO_BLK_T_IN;

	if (maxseg < 1)
		maxseg = 1;
	n = load_cuts(l, s->len / unit, maxseg, cut);
	memset(io, 0, sizeof(*io));
	io->type = s->type;
	io->sector = s->sector;
	io->seg = seg;
	if (l->cfg.odd) {
		/* The header lives just before the data, in the slot's room. */
		gblk_put_hdr(s->buf - GBLK_HDR_LEN, s->type, s->sector);
		io->hdr_len = GBLK_HDR_NONE;
		if (in) {
			/* Header in two pieces, status after the data. */
			seg[0] = (struct vdrv_seg){ s->gpa - 16, 5, false };
			seg[1] = (struct vdrv_seg){ s->gpa - 11, 11, false };
			first = 2;
			io->no_status = true;
			s->buf[s->len] = 0xff;
		}
	}
	for (k = 0; k <= n; k++) {
		uint32_t end = k < n ? cut[k] * unit : s->len;

		seg[first + k] = (struct vdrv_seg){
			.gpa = s->gpa + prev, .len = end - prev, .writable = in,
		};
		prev = end;
	}
	io->nseg = first + n + 1;
	if (l->cfg.odd && in) {
		seg[io->nseg - 1].len++;		/* the status byte */
	} else if (l->cfg.odd) {
		seg[0].gpa -= GBLK_HDR_LEN;		/* header + data */
		seg[0].len += GBLK_HDR_LEN;
	}
	io->indirect = load_rnd(l, 2);
}

static int load_post_one(struct gblk_load *l)
{
	struct gblk *g = l->g;
	uint64_t nsect = l->cfg.region / GBLK_SECTOR, sector = 0, max;
	uint32_t sectors = load_pick_sectors(l);
	struct vdrv_seg seg[24];
	struct gblk_slot *s;
	struct gblk_io io;
	unsigned int i, id;
	bool big, placed = false;
	int ret;

	if (!l->nfree_small && !l->nfree_big)
		return 0;
	if (sectors > nsect)
		sectors = nsect;
	for (i = 0; i < 16 && !placed; i++) {
		/* Crowded by requests in flight: try smaller. */
		if (i && !(i & 1) && sectors > 1)
			sectors /= 2;
		max = nsect - sectors;
		/* Now and then the very end of the region. */
		sector = load_rnd(l, 32) ? load_rnd(l, max + 1) : max;
		placed = range_reserve(g, sector * GBLK_SECTOR,
				       (sector + sectors) * GBLK_SECTOR);
	}
	if (!placed)
		return 0;
	big = sectors * GBLK_SECTOR > GBLK_SMALL_LEN;
	id = big || !l->nfree_small ? l->free_big[--l->nfree_big] :
				      l->free_small[--l->nfree_small];
	s = &l->slot[id];
	s->type = load_rnd(l, 100) < l->cfg.write_pct ? VIRTIO_BLK_T_OUT :
							VIRTIO_BLK_T_IN;
	/* The first two of a mixed load: a 1 MiB write, then a 1 MiB read. */
	if (l->seq < 2 && l->cfg.write_pct && l->cfg.write_pct < 100)
		s->type = l->seq ? VIRTIO_BLK_T_IN : VIRTIO_BLK_T_OUT;
	s->len = sectors * GBLK_SECTOR;
	s->sector = sector;
	s->seq = l->seq;
	if (s->type == VIRTIO_BLK_T_OUT) {
		uint64_t *w = (uint64_t *)s->buf;

		for (i = 0; i < s->len / 8; i++)
			w[i] = gblk_rand(&l->rnd);
	} else {
		memset(s->buf, 0xdb, s->len);
	}
	load_layout(l, s, seg, &io);
	/* Direct only while the ring keeps a descriptor for every other slot. */
	if (vdrv_num_free(&g->q[l->q].ring) < io.nseg + 2 + l->cfg.qd - l->inflight)
		io.indirect = true;
	ret = gblk_submit(g, l->q, &io, id);
	if (ret == -ENOSPC && !io.indirect) {
		io.indirect = true;
		ret = gblk_submit(g, l->q, &io, id);
	}
	if (ret < 0) {
		range_release(g, sector * GBLK_SECTOR);
		if (s->big)
			l->free_big[l->nfree_big++] = id;
		else
			l->free_small[l->nfree_small++] = id;
		return ret == -ENOSPC ? 0 :
		       load_fail(l, "add to the ring: %s", strerror(-ret));
	}
	s->busy = true;
	l->inflight++;
	l->seq++;
	return 1;
}

unsigned int gblk_load_submit(struct gblk_load *l, unsigned int n)
{
	unsigned int posted = 0;

	while (posted < n && l->inflight < l->cfg.qd && l->seq < l->cfg.nreq &&
	       load_post_one(l) == 1)
		posted++;
	if (posted)
		gblk_kick(l->g, l->q);
	return posted;
}

static int pread_full(int fd, uint8_t *buf, uint64_t len, uint64_t off)
{
	uint64_t got = 0;
	ssize_t n;

	while (got < len) {
		n = pread(fd, buf + got, len - got, off + got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		got += n;
	}
	return 0;
}

static int load_complete(struct gblk_load *l, const struct gblk_done *d)
{
	struct gblk_slot *s;
	bool in;
	uint64_t off;
	uint32_t want_len, k;
	int ret;

	if (d->token >= l->nslot || !l->slot[d->token].busy)
		return load_fail(l, "completion of unknown slot %llu",
				 (unsigned long long)d->token);
	s = &l->slot[d->token];
	in = s->type == VIRTIO_BLK_T_IN;
	off = s->sector * GBLK_SECTOR;
	want_len = in ? s->len + 1 : 1;
	if (d->status != VIRTIO_BLK_S_OK)
		return load_fail(l, "%s #%llu sector %llu len %u: status %d",
				 in ? "IN" : "OUT", (unsigned long long)s->seq,
				 (unsigned long long)s->sector, s->len, d->status);
	if (d->len != want_len)
		return load_fail(l, "%s #%llu len %u: used len %u, want %u",
				 in ? "IN" : "OUT", (unsigned long long)s->seq,
				 s->len, d->len, want_len);
	ret = pread_full(l->cfg.check_fd, l->scratch, s->len, off);
	if (ret)
		return load_fail(l, "pread of the store at %llu: %s",
				 (unsigned long long)off, strerror(-ret));
	if (memcmp(l->scratch, s->buf, s->len)) {
		for (k = 0; k < s->len && l->scratch[k] == s->buf[k]; k++)
			;
		return load_fail(l, "%s #%llu sector %llu len %u: byte %u is 0x%02x in the %s, 0x%02x in the store",
				 in ? "IN" : "OUT", (unsigned long long)s->seq,
				 (unsigned long long)s->sector, s->len, k,
				 s->buf[k], in ? "data read" : "data written",
				 l->scratch[k]);
	}
	if (l->seen[s->seq])
		return load_fail(l, "request #%llu completed twice",
				 (unsigned long long)s->seq);
	l->seen[s->seq] = 1;
	if (in) {
		l->reads++;
		l->read_bytes += s->len;
	} else {
		l->writes++;
		l->write_bytes += s->len;
	}
	range_release(l->g, off);
	s->busy = false;
	if (s->big)
		l->free_big[l->nfree_big++] = d->token;
	else
		l->free_small[l->nfree_small++] = d->token;
	l->inflight--;
	l->done++;
	l->last_progress_ms = kvdev_now_ms();
	return 0;
}

int gblk_load_harvest(struct gblk_load *l)
{
	struct gblk_done d;
	int n = 0, ret;

	if (l->err[0])
		return -1;
	while ((ret = gblk_get(l->g, l->q, &d)) == 1) {
		if (load_complete(l, &d))
			return -1;
		n++;
	}
	if (ret < 0)
		return load_fail(l, "used ring: %s", strerror(-ret));
	return n;
}

/* Nothing harvested: wait for the call, fail after GBLK_WAIT_MS of none. */
static int load_wait(struct gblk_load *l)
{
	if (!l->inflight) {
		usleep(1000);
		l->last_progress_ms = kvdev_now_ms();
		return 0;
	}
	if (kvdev_now_ms() - l->last_progress_ms > GBLK_WAIT_MS)
		return load_fail(l, "no completion in %d s (%u in flight, %llu done, used idx %u, avail idx %u)",
				 GBLK_WAIT_MS / 1000, l->inflight,
				 (unsigned long long)l->done,
				 vdrv_raw_used_idx(&l->g->q[l->q].ring),
				 l->g->q[l->q].ring.avail_idx);
	kvdev_wait_call(&l->g->dev, l->q, 50);
	return 0;
}

int gblk_load_run(struct gblk_load *l, uint64_t n)
{
	uint64_t target = l->done + n;
	int got;

	l->last_progress_ms = kvdev_now_ms();
	while (l->done < target) {
		uint64_t want = target - l->done;
		uint64_t left = want > l->inflight ? want - l->inflight : 0;

		if (l->seq >= l->cfg.nreq && !l->inflight)
			return load_fail(l, "load of %llu requests used up",
					 (unsigned long long)l->cfg.nreq);
		if (left)
			gblk_load_submit(l, left > l->cfg.qd ? l->cfg.qd : left);
		got = gblk_load_harvest(l);
		if (got < 0 || (!got && load_wait(l)))
			return -1;
	}
	return 0;
}

int gblk_load_drain(struct gblk_load *l)
{
	int got;

	l->last_progress_ms = kvdev_now_ms();
	while (l->inflight) {
		got = gblk_load_harvest(l);
		if (got < 0 || (!got && load_wait(l)))
			return -1;
	}
	return 0;
}

struct load_thread {
	pthread_t t;
	struct gblk_load *l;
	uint64_t n;
	int ret;
	bool started;
};

static void *load_thread(void *arg)
{
	struct load_thread *t = arg;

	t->ret = gblk_load_run(t->l, t->n);
	t->ret = t->ret ?: gblk_load_drain(t->l);
	return NULL;
}

unsigned int gblk_load_run_all(struct gblk_load *l, unsigned int nq, uint64_t n)
{
	struct load_thread t[GBLK_MAXQ];
	unsigned int q, bad = 0;

	for (q = 0; q < nq; q++) {
		t[q] = (struct load_thread){ .l = &l[q], .n = n, .ret = -1 };
		t[q].started = !pthread_create(&t[q].t, NULL, load_thread, &t[q]);
		if (!t[q].started)
			load_thread(&t[q]);
	}
	for (q = 0; q < nq; q++) {
		if (t[q].started)
			pthread_join(t[q].t, NULL);
		if ((t[q].ret || !gblk_load_check(&l[q])) && !bad)
			bad = q + 1;
	}
	return bad;
}

void gblk_load_abandon(struct gblk_load *l)
{
	unsigned int i;

	for (i = 0; i < l->nslot; i++) {
		struct gblk_slot *s = &l->slot[i];

		if (!s->busy)
			continue;
		range_release(l->g, s->sector * GBLK_SECTOR);
		l->seen[s->seq] = GBLK_ABANDONED;
		s->busy = false;
		if (s->big)
			l->free_big[l->nfree_big++] = i;
		else
			l->free_small[l->nfree_small++] = i;
		l->abandoned++;
	}
	l->inflight = 0;
}

bool gblk_load_check(struct gblk_load *l)
{
	uint64_t s, n = 0;

	if (l->err[0])
		return false;
	for (s = 0; s < l->seq; s++)
		if (l->seen[s] == 1)
			n++;
		else if (l->seen[s] != GBLK_ABANDONED)
			return !load_fail(l, "request #%llu never completed",
					  (unsigned long long)s);
	if (n != l->done)
		return !load_fail(l, "%llu completions counted, %llu seen",
				  (unsigned long long)l->done,
				  (unsigned long long)n);
	return true;
}

bool gblk_load_stats_ok(struct gblk_load *l)
{
	struct kvhost_blk_queue_stats want = {
		.reads = l->reads, .writes = l->writes,
		.read_bytes = l->read_bytes, .write_bytes = l->write_bytes,
	}, st;
	uint64_t hist = 0;
	unsigned int k;

	if (!gblk_stats_are(l->g, l->q, &want, true, &st))
		return !load_fail(l, "%s", l->g->err);
	for (k = 0; k < KVHOST_BLK_LAT_BUCKETS; k++)
		hist += st.lat_hist[k];
	if (hist != l->reads + l->writes || st.inflight_max < 1 ||
	    st.inflight_max > l->cfg.qd)
		return !load_fail(l, "queue %u: lat_hist total %llu for %llu requests, inflight_max %u (qd %u)",
				  l->q, (unsigned long long)hist,
				  (unsigned long long)(l->reads + l->writes),
				  st.inflight_max, l->cfg.qd);
	return true;
}

/* ---- stores ---- */

int gblk_sh(const char *fmt, ...)
{
	char cmd[800];
	va_list ap;
	int ret, n;

	/*
	 * The VM's init runs us with PATH=/bin: modprobe and mkfs are in sbin.
	 * The test VM's kernel modules are in its extracted tree, $KVHOST_KDIR.
	 */
	n = snprintf(cmd, sizeof(cmd), "PATH=/sbin:/usr/sbin:/bin:/usr/bin; "
		     "modprobe() { command modprobe ${KVHOST_KDIR:+-d \"$KVHOST_KDIR\"} \"$@\"; }; ");
	va_start(ap, fmt);
	vsnprintf(cmd + n, sizeof(cmd) - n - 20, fmt, ap);
	va_end(ap);
	strcat(cmd, " >/dev/null 2>&1");
	fflush(NULL);
	ret = system(cmd);
	return ret < 0 || !WIFEXITED(ret) ? -1 : WEXITSTATUS(ret);
}

int gblk_write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), ret = 0;
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, text, strlen(text));
	if (n != (ssize_t)strlen(text))
		ret = n < 0 ? -errno : -EIO;
	close(fd);
	return ret;
}

int gblk_read_u64(const char *path, uint64_t *v)
{
	unsigned long long x;
	FILE *f = fopen(path, "r");
	int ret;

	if (!f)
		return -errno;
	ret = fscanf(f, "%llu", &x) == 1 ? 0 : -EINVAL;
	fclose(f);
	if (!ret)
		*v = x;
	return ret;
}

/* The first line of a small file, without its newline. */
static int gblk_read_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	int ret;

	if (!f)
		return -errno;
	ret = fgets(buf, len, f) ? 0 : -EINVAL;
	fclose(f);
	if (!ret)
		buf[strcspn(buf, "\n")] = 0;
	return ret;
}

void gblk_store_init(struct gblk_store *s)
{
	memset(s, 0, sizeof(*s));
	s->fd = -1;
	s->check_fd = -1;
}

int gblk_store_file(struct gblk_store *s, const char *name, const char *path,
		    uint64_t size, bool direct)
{
	int fd;

	gblk_store_init(s);
	snprintf(s->name, sizeof(s->name), "%s", name);
	snprintf(s->path, sizeof(s->path), "%s", path);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 || ftruncate(fd, size)) {
		if (fd >= 0)
			close(fd);
		return -errno;
	}
	close(fd);
	s->fd = open(path, O_RDWR | O_CLOEXEC | (direct ? O_DIRECT : 0));
	s->check_fd = open(path, O_RDWR | O_CLOEXEC);
	if (s->fd < 0 || s->check_fd < 0)
		return -errno;
	s->size = size;
	s->region = size < LOAD_REGION_MAX ? size : LOAD_REGION_MAX;
	s->lbs = GBLK_SECTOR;
	return 0;
}

int gblk_store_bdev(struct gblk_store *s, const char *name, const char *dev)
{
	int lbs = 0;

	snprintf(s->name, sizeof(s->name), "%s", name);
	snprintf(s->path, sizeof(s->path), "%s", dev);
	s->bdev = true;
	s->fd = open(dev, O_RDWR | O_CLOEXEC);
	s->check_fd = open(dev, O_RDWR | O_DIRECT | O_CLOEXEC);
	if (s->fd < 0 || s->check_fd < 0 || ioctl(s->fd, BLKGETSIZE64, &s->size) ||
	    ioctl(s->fd, BLKSSZGET, &lbs))
		return -errno;
	s->lbs = lbs;
	s->region = s->size < LOAD_REGION_MAX ? s->size : LOAD_REGION_MAX;
	return 0;
}

int gblk_store_loop(struct gblk_store *s, const char *name, const char *file,
		    uint64_t size)
{
	int ctl, n, lfd, ffd, ret = -EBUSY, tries;
	char node[64];

	gblk_store_init(s);
	snprintf(s->loop_file, sizeof(s->loop_file), "%s", file);
	if (access("/dev/loop-control", F_OK))
		gblk_sh("modprobe loop");
	ffd = open(file, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
	if (ffd < 0 || ctl < 0 || ftruncate(ffd, size))
		ret = -errno;
	/* Someone else may take the free device first: try another. */
	for (tries = 0; ret == -EBUSY && tries < 5; tries++) {
		struct loop_config lc = { .fd = ffd };

		n = ioctl(ctl, LOOP_CTL_GET_FREE);
		snprintf(node, sizeof(node), "/dev/loop%d", n);
		lfd = n < 0 ? -1 : open(node, O_RDWR | O_CLOEXEC);
		if (lfd < 0) {
			ret = -errno;
			break;
		}
		ret = ioctl(lfd, LOOP_CONFIGURE, &lc) ? -errno : 0;
		if (ret == -EINVAL || ret == -ENOTTY)	/* before 5.8 */
			ret = ioctl(lfd, LOOP_SET_FD, ffd) ? -errno : 0;
		close(lfd);
	}
	if (ctl >= 0)
		close(ctl);
	if (ffd >= 0)
		close(ffd);
	return ret ? ret : gblk_store_bdev(s, name, node);
}

#define NULLB_CFS	"/sys/kernel/config/nullb"

static int nullb_attr(const char *dir, const char *attr, const char *val)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", dir, attr);
	return gblk_write_file(path, val);
}

int gblk_store_nullb(struct gblk_store *s, const char *name, unsigned int mb,
		     const char *badblocks)
{
	return gblk_store_nullb_attrs(s, name, mb, badblocks, NULL);
}

int gblk_store_nullb_attrs(struct gblk_store *s, const char *name, unsigned int mb,
			   const char *badblocks, const char *const *attrs)
{
	char dir[128], val[32], node[160], attr[64];
	uint64_t index;
	int ret, i;

	gblk_store_init(s);
	if (access("/sys/module/null_blk", F_OK))
		gblk_sh("modprobe null_blk nr_devices=0");
	if (access(NULLB_CFS, F_OK))
		mount("none", "/sys/kernel/config", "configfs", 0, NULL);
	snprintf(dir, sizeof(dir), NULLB_CFS "/kvblk%d-%s", (int)getpid(), name);
	if (mkdir(dir, 0755))
		return -errno;
	snprintf(s->nullb, sizeof(s->nullb), "%s", dir);
	snprintf(val, sizeof(val), "%u", mb);
	ret = nullb_attr(dir, "size", val);
	ret = ret ?: nullb_attr(dir, "blocksize", "512");
	ret = ret ?: nullb_attr(dir, "memory_backed", "1");
	if (!ret)
		nullb_attr(dir, "discard", "1");	/* best effort */
	for (i = 0; !ret && attrs && attrs[i]; i++) {
		const char *eq = strchr(attrs[i], '=');

		if (!eq)
			return -EINVAL;
		snprintf(attr, sizeof(attr), "%.*s", (int)(eq - attrs[i]), attrs[i]);
		ret = nullb_attr(dir, attr, eq + 1);
	}
	snprintf(val, sizeof(val), "+%s", badblocks ? badblocks : "");
	ret = ret ?: badblocks ? nullb_attr(dir, "badblocks", val) : 0;
	ret = ret ?: nullb_attr(dir, "power", "1");
	snprintf(node, sizeof(node), "%s/index", dir);
	ret = ret ?: gblk_read_u64(node, &index);
	if (ret)
		return ret;
	/* Since 5.19 the disk takes the configfs directory's name; before, nullbN. */
	snprintf(node, sizeof(node), "/dev/%s", strrchr(dir, '/') + 1);
	if (access(node, F_OK))
		snprintf(node, sizeof(node), "/dev/nullb%llu", (unsigned long long)index);
	return gblk_store_bdev(s, name, node);
}

/* /dev/dm-N of the device-mapper device @name, via sysfs (no udev here). */
static int dm_node(const char *name, char *node, size_t len)
{
	char path[64], got[128];
	int i;

	for (i = 0; i < 256; i++) {
		snprintf(path, sizeof(path), "/sys/block/dm-%d/dm/name", i);
		if (gblk_read_line(path, got, sizeof(got)) || strcmp(got, name))
			continue;
		snprintf(node, len, "/dev/dm-%d", i);
		return 0;
	}
	return -ENODEV;
}

int gblk_store_dm_error(struct gblk_store *s, const char *name, unsigned int mb,
			uint64_t bad, uint64_t nbad)
{
	uint64_t sectors = (uint64_t)mb << 11;
	char base[128], table[128], node[64];
	FILE *f;
	int ret;

	if (bad + nbad > sectors)
		return -EINVAL;
	ret = gblk_store_nullb(s, name, mb, NULL);
	if (ret)
		return ret;
	snprintf(base, sizeof(base), "%s", s->path);
	close(s->fd);
	close(s->check_fd);
	s->fd = s->check_fd = -1;
	gblk_sh("modprobe dm_mod");
	snprintf(table, sizeof(table), "/tmp/kvblk%d-%s.table", (int)getpid(), name);
	f = fopen(table, "w");
	if (!f)
		return -errno;
	fprintf(f, "0 %llu linear %s 0\n%llu %llu error\n%llu %llu linear %s %llu\n",
		(unsigned long long)bad, base, (unsigned long long)bad,
		(unsigned long long)nbad, (unsigned long long)(bad + nbad),
		(unsigned long long)(sectors - bad - nbad), base,
		(unsigned long long)(bad + nbad));
	fclose(f);
	snprintf(s->dm, sizeof(s->dm), "kvblk%d-%s", (int)getpid(), name);
	ret = gblk_sh("dmsetup create %s --noudevsync %s", s->dm, table);
	unlink(table);
	if (ret) {
		s->dm[0] = 0;
		return -ENODEV;
	}
	ret = dm_node(s->dm, node, sizeof(node));
	return ret ? ret : gblk_store_bdev(s, name, node);
}

int gblk_store_prefill(struct gblk_store *s, uint64_t len, uint64_t seed)
{
	uint64_t *buf = aligned_alloc(4096, MIB), off, i, n;
	int ret = buf ? 0 : -ENOMEM;

	for (off = 0; !ret && off < len; off += n) {
		n = len - off < MIB ? len - off : MIB;
		for (i = 0; i < n / 8; i++)
			buf[i] = ((off + i * 8) ^ seed) * 0x9e3779b97f4a7c15ULL | 1;
		if (pwrite(s->check_fd, buf, n, off) != (ssize_t)n)
			ret = -EIO;
	}
	free(buf);
	return ret ? ret : fsync(s->check_fd) ? -errno : 0;
}

int gblk_store_pread(const struct gblk_store *s, void *buf, uint64_t len,
		     uint64_t off)
{
	uint8_t *b = aligned_alloc(4096, (len + 4095) & ~4095ULL ?: 4096);
	int ret = b ? pread_full(s->check_fd, b, len, off) : -ENOMEM;

	if (!ret)
		memcpy(buf, b, len);
	free(b);
	return ret;
}

void gblk_store_close(struct gblk_store *s)
{
	int fd;

	if (s->fd >= 0)
		close(s->fd);
	if (s->check_fd >= 0)
		close(s->check_fd);
	s->fd = s->check_fd = -1;
	if (s->loop_file[0]) {
		fd = s->path[0] ? open(s->path, O_RDWR | O_CLOEXEC) : -1;
		if (fd >= 0) {
			ioctl(fd, LOOP_CLR_FD, 0);
			close(fd);
		}
		unlink(s->loop_file);
	}
	if (s->dm[0])
		gblk_sh("dmsetup remove --noudevsync %s", s->dm);
	if (s->nullb[0]) {
		nullb_attr(s->nullb, "power", "0");
		rmdir(s->nullb);
	}
	s->loop_file[0] = s->nullb[0] = s->dm[0] = s->path[0] = 0;
}
