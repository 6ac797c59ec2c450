// SPDX-License-Identifier: GPL-2.0
/*
 * tdev: test-device set-up and a self-verifying traffic engine.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tap.h"
#include "tdev.h"

#define TDEV_POISON	0xa5
#define TDEV_GPA_BASE	0x100000ULL
#define TDEV_NREGIONS	6
#define TDEV_NREGIONS_CONTIG	32

static void tdev_seterr(char *buf, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void tdev_seterr(char *buf, const char *fmt, ...)
{
	va_list ap;

	if (buf[0])
		return;		/* keep the first failure */
	va_start(ap, fmt);
	vsnprintf(buf, 256, fmt, ap);
	va_end(ap);
}

static uint8_t tdev_pattern(uint64_t n)
{
	return KVHOST_TEST_PATTERN(n);
}

static uint64_t tdev_rand(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static unsigned int tdev_nq(const struct tdev_cfg *c)
{
	return c->nq ? c->nq : TDEV_NQ;
}

static uint64_t tdev_area_size(const struct tdev_cfg *c)
{
	return (uint64_t)c->max_segs * c->max_len;
}

/* ---- set-up ---- */

static uint64_t tdev_indir_bytes(const struct tdev_cfg *c)
{
	return c->indirect ? (uint64_t)c->num * TDEV_MAX_SEGS * 16 : 0;
}

static int tdev_mem_init(struct tdev *t)
{
	const struct tdev_cfg *c = &t->cfg;
	uint64_t ring = vring_size(c->num, VDRV_RING_ALIGN) + VDRV_RING_ALIGN;
	uint64_t indir = tdev_indir_bytes(c);
	uint64_t per_q = ring + indir + c->num * (tdev_area_size(c) + 40);
	uint64_t total = TDEV_NQ * per_q + (1 << 20);
	uint64_t largest = ring > indir ? ring : indir;
	struct vdrv_mem_layout l = { .nregions = TDEV_NREGIONS };

	/* Several regions: each holds a third, so allocations spill over. */
	l.region_size = total / 3;
	if (l.region_size < largest + 2 * VDRV_RING_ALIGN)
		l.region_size = largest + 2 * VDRV_RING_ALIGN;
	switch (c->mem) {
	case TDEV_MEM_IDENTITY:
		return vdrv_mem_init_identity(&t->mem, total);
	case TDEV_MEM_IDENTITY_MULTI:
		l.identity = true;
		l.guard = 1 << 20;
		break;
	case TDEV_MEM_OFFSET_CONTIG:
		/* Many small regions: many boundaries inside buffer areas. */
		l.nregions = TDEV_NREGIONS_CONTIG;
		l.region_size = total / (TDEV_NREGIONS_CONTIG / 2);
		if (l.region_size < largest + 2 * VDRV_RING_ALIGN)
			l.region_size = largest + 2 * VDRV_RING_ALIGN;
		l.gpa_base = TDEV_GPA_BASE;
		break;
	case TDEV_MEM_OFFSET_STRIDED:
		l.gpa_base = TDEV_GPA_BASE;
		l.gpa_stride = 1ULL << 30;
		break;
	}
	return vdrv_mem_init(&t->mem, &l);
}

static int tdev_q_init(struct tdev *t, unsigned int qi)
{
	const struct tdev_cfg *c = &t->cfg;
	struct tdev_q *q = &t->q[qi];
	struct vdrv_ring_opts o = {
		.num = c->num,
		.event_idx = c->event_idx,
		.indirect = c->indirect,
		.indirect_max = TDEV_MAX_SEGS,
	};
	int ret;

	q->idx = qi;
	q->gen = 0x243f6a8885a308d3ULL + qi;
	q->rnd = 0x13198a2e03707344ULL * (qi + 1);
	ret = vdrv_ring_init(&q->ring, &t->mem, &o);
	if (ret)
		return ret;
	vdrv_ring_set_base(&q->ring, c->base);
	vdrv_disable_intr(&q->ring);
	q->area = calloc(c->num, sizeof(*q->area));
	q->area_free = calloc(c->num, sizeof(*q->area_free));
	q->rec = calloc(c->num, sizeof(*q->rec));
	if (!q->area || !q->area_free || !q->rec)
		return -ENOMEM;
	for (q->area_nfree = 0; q->area_nfree < c->num; q->area_nfree++)
		q->area_free[q->area_nfree] = q->area_nfree;
	return 0;
}

/* Buffer areas come after both rings, so each queue's lie together. */
static int tdev_q_alloc_areas(struct tdev *t, unsigned int qi)
{
	struct tdev_q *q = &t->q[qi];
	unsigned int h;
	int ret;

	for (h = 0; h < t->cfg.num; h++) {
		/* The odd gap moves region boundaries around inside areas. */
		ret = vdrv_alloc_gpa(&t->mem, tdev_area_size(&t->cfg) + 40, 1,
				     &q->area[h]);
		if (ret)
			return ret;
	}
	return 0;
}

static int tdev_build_guest(struct tdev *t)
{
	unsigned int qi, nq = tdev_nq(&t->cfg);
	int ret;

	ret = tdev_mem_init(t);
	if (ret) {
		tdev_seterr(t->err, "guest memory: %s", strerror(-ret));
		return ret;
	}
	for (qi = 0; qi < nq; qi++) {
		ret = tdev_q_init(t, qi);
		if (ret) {
			tdev_seterr(t->err, "ring %u: %s", qi, strerror(-ret));
			return ret;
		}
	}
	for (qi = 0; qi < nq; qi++) {
		ret = tdev_q_alloc_areas(t, qi);
		if (ret) {
			tdev_seterr(t->err, "buffers %u: %s", qi, strerror(-ret));
			return ret;
		}
	}
	return 0;
}

static int tdev_step(struct tdev *t, int ret, const char *what, int qi)
{
	if (ret) {
		if (qi >= 0)
			tdev_seterr(t->err, "%s (vq %d): %s", what, qi,
				    strerror(-ret));
		else
			tdev_seterr(t->err, "%s: %s", what, strerror(-ret));
	}
	return ret;
}

static int tdev_setup_device(struct tdev *t)
{
	const struct tdev_cfg *c = &t->cfg;
	unsigned int qi;
	int ret;

	ret = kvdev_open(&t->dev, c->path ? c->path : KVDEV_TEST_PATH, TDEV_NQ);
	if (tdev_step(t, ret, "open", -1))
		return ret;
	ret = kvdev_get_features(&t->dev, &t->offered);
	if (tdev_step(t, ret, "VHOST_GET_FEATURES", -1))
		return ret;
	t->features = (1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_F_ANY_LAYOUT);
	if (c->event_idx)
		t->features |= 1ULL << VIRTIO_RING_F_EVENT_IDX;
	if (c->indirect)
		t->features |= 1ULL << VIRTIO_RING_F_INDIRECT_DESC;
	ret = kvdev_set_owner(&t->dev);
	if (tdev_step(t, ret, "VHOST_SET_OWNER", -1))
		return ret;
	ret = kvdev_set_features(&t->dev, t->features);
	if (tdev_step(t, ret, "VHOST_SET_FEATURES", -1))
		return ret;
	ret = kvdev_set_mem_table(&t->dev, &t->mem);
	if (tdev_step(t, ret, "VHOST_SET_MEM_TABLE", -1))
		return ret;
	for (qi = 0; qi < tdev_nq(c); qi++) {
		ret = kvdev_setup_vq(&t->dev, qi, &t->q[qi].ring);
		if (tdev_step(t, ret, "vring set-up", qi))
			return ret;
	}
	if (c->no_run)
		return 0;
	ret = kvdev_test_run(&t->dev, 1);
	return tdev_step(t, ret, "KVHOST_TEST_RUN(1)", -1);
}

int tdev_open(struct tdev *t, const struct tdev_cfg *c)
{
	int ret;

	memset(t, 0, sizeof(*t));
	kvdev_init(&t->dev);
	t->cfg = *c;
	if (!t->cfg.max_segs)
		t->cfg.max_segs = 1;
	if (t->cfg.max_segs > TDEV_MAX_SEGS)
		t->cfg.max_segs = TDEV_MAX_SEGS;
	if (!t->cfg.max_len)
		t->cfg.max_len = 64;
	ret = tdev_build_guest(t);
	if (ret)
		return ret;
	return tdev_setup_device(t);
}

void tdev_close(struct tdev *t)
{
	unsigned int qi;

	/* The device goes first: it must let go of guest memory. */
	kvdev_close(&t->dev);
	for (qi = 0; qi < TDEV_NQ; qi++) {
		vdrv_ring_destroy(&t->q[qi].ring);
		free(t->q[qi].area);
		free(t->q[qi].area_free);
		free(t->q[qi].rec);
		t->q[qi].area = NULL;
		t->q[qi].area_free = NULL;
		t->q[qi].rec = NULL;
	}
	vdrv_mem_destroy(&t->mem);
}

/* ---- posting ---- */

/* Fill a readable segment from the generator; return the byte sum. */
static uint64_t tdev_fill_readable(struct tdev *t, struct tdev_q *q,
				   const struct vdrv_seg *s)
{
	uint64_t gpa = s->gpa, left = s->len, sum = 0, n, i;
	uint8_t *p;

	while (left) {
		p = vdrv_span(&t->mem, gpa, left, &n);
		for (i = 0; i < n; i++) {
			q->gen = q->gen * 6364136223846793005ULL +
				 1442695040888963407ULL;
			p[i] = q->gen >> 56;
			sum += p[i];
		}
		gpa += n;
		left -= n;
	}
	return sum;
}

/* Choose the shape of the next chain; 0 segments if the ring is full. */
static unsigned int tdev_shape(struct tdev *t, struct tdev_q *q,
			       enum tdev_chain_kind kind, bool *indirect,
			       unsigned int *nread)
{
	unsigned int free = vdrv_num_free(&q->ring);
	uint64_t r = tdev_rand(&q->rnd);
	unsigned int n = 1 + r % t->cfg.max_segs;

	if (!free)
		return 0;
	*indirect = t->cfg.indirect && ((r >> 8) & 1);
	if (!*indirect && n > free)
		n = free;
	if (kind == TDEV_CHAIN_MIXED && n == 1 && t->cfg.max_segs > 1 &&
	    (*indirect || free > 1))
		n = 2;
	switch (kind) {
	case TDEV_CHAIN_READ:
		*nread = n;
		break;
	case TDEV_CHAIN_WRITE:
		*nread = 0;
		break;
	case TDEV_CHAIN_MIXED:
		*nread = n == 1 ? (r >> 9) & 1 : 1 + (r >> 9) % (n - 1);
		break;
	}
	return n;
}

/*
 * Buffer areas rotate first-in first-out, so every area (and every region
 * boundary inside one) gets used, whatever heads the free list hands out.
 * At most num chains are in flight, so the FIFO is never empty here.
 */
static unsigned int tdev_area_get(struct tdev_q *q)
{
	unsigned int a = q->area_free[q->area_first];

	q->area_first = (q->area_first + 1) % q->ring.num;
	q->area_nfree--;
	return a;
}

static void tdev_area_put(struct tdev_q *q, unsigned int a)
{
	q->area_free[(q->area_first + q->area_nfree) % q->ring.num] = a;
	q->area_nfree++;
}

static int tdev_post_one(struct tdev *t, struct tdev_q *q,
			 enum tdev_chain_kind kind)
{
	uint16_t head = vdrv_next_head(&q->ring);
	struct tdev_rec *rec = &q->rec[head];
	unsigned int n, nread = 0, k;
	bool indirect;
	int ret;

	n = tdev_shape(t, q, kind, &indirect, &nread);
	if (!n)
		return 0;
	rec->area = tdev_area_get(q);
	rec->rsum = 0;
	rec->rbytes = 0;
	for (k = 0; k < n; k++) {
		struct vdrv_seg *s = &rec->seg[k];

		s->gpa = q->area[rec->area] + (uint64_t)k * t->cfg.max_len;
		s->len = 1 + tdev_rand(&q->rnd) % t->cfg.max_len;
		s->writable = k >= nread;
		if (vdrv_mem_nsegs(&t->mem, s->gpa, s->len) > 1)
			q->straddling++;
		if (s->writable) {
			vdrv_memset(&t->mem, s->gpa, TDEV_POISON, s->len);
		} else {
			rec->rsum += tdev_fill_readable(t, q, s);
			rec->rbytes += s->len;
		}
	}
	rec->nseg = n;
	rec->seq = q->seq;
	ret = vdrv_add(&q->ring, rec->seg, n, (q->seq << 16) | head, indirect);
	if (ret != head) {
		tdev_seterr(q->err, "vdrv_add: %d, expected head %u", ret, head);
		return -1;
	}
	q->seq++;
	return 1;
}

static int tdev_kick(struct tdev *t, struct tdev_q *q)
{
	int ret;

	if (!vdrv_kick_prepare(&q->ring))
		return 0;
	ret = kvdev_kick(&t->dev, q->idx);
	if (ret) {
		tdev_seterr(q->err, "kick: %s", strerror(-ret));
		return -1;
	}
	q->kicks++;
	return 0;
}

uint64_t tdev_post(struct tdev *t, unsigned int qi, enum tdev_chain_kind kind,
		   uint64_t nbufs)
{
	struct tdev_q *q = &t->q[qi];
	uint64_t n = 0;

	while (n < nbufs && tdev_post_one(t, q, kind) == 1)
		n++;
	tdev_kick(t, q);
	return n;
}

/* ---- completion ---- */

static int tdev_check_writable(struct tdev *t, struct tdev_q *q,
			       const struct tdev_rec *rec)
{
	unsigned int k;
	uint64_t i, n;

	for (k = 0; k < rec->nseg; k++) {
		uint64_t gpa = rec->seg[k].gpa, left = rec->seg[k].len;

		if (!rec->seg[k].writable)
			continue;
		while (left) {
			const uint8_t *p = vdrv_span(&t->mem, gpa, left, &n);

			for (i = 0; i < n; i++, q->wpos++) {
				if (p[i] == tdev_pattern(q->wpos))
					continue;
				tdev_seterr(q->err,
					    "vq %u chain %" PRIu64 " seg %u: byte at stream offset %" PRIu64 " is 0x%02x, want 0x%02x",
					    q->idx, rec->seq, k, q->wpos, p[i],
					    tdev_pattern(q->wpos));
				return -1;
			}
			gpa += n;
			left -= n;
		}
	}
	return 0;
}

static uint32_t tdev_writable_len(const struct tdev_rec *rec)
{
	uint32_t len = 0;
	unsigned int k;

	for (k = 0; k < rec->nseg; k++)
		if (rec->seg[k].writable)
			len += rec->seg[k].len;
	return len;
}

static int tdev_complete(struct tdev *t, struct tdev_q *q, uint64_t token,
			 uint32_t len)
{
	struct tdev_rec *rec = &q->rec[token & 0xffff];

	if (rec->seq != token >> 16) {
		tdev_seterr(q->err, "vq %u: token mismatch", q->idx);
		return -1;
	}
	if (len != tdev_writable_len(rec)) {
		tdev_seterr(q->err, "vq %u chain %" PRIu64 ": used len %u, want %u",
			    q->idx, rec->seq, len, tdev_writable_len(rec));
		return -1;
	}
	if (tdev_check_writable(t, q, rec))
		return -1;
	tdev_area_put(q, rec->area);
	q->sum_read += rec->rsum;
	q->bytes_read += rec->rbytes;
	q->done++;
	return 0;
}

int tdev_harvest(struct tdev *t, unsigned int qi)
{
	struct tdev_q *q = &t->q[qi];
	uint64_t token;
	uint32_t len;
	int ret, n = 0;

	while ((ret = vdrv_get_used(&q->ring, &token, &len)) == 1) {
		if (tdev_complete(t, q, token, len))
			return -1;
		n++;
	}
	if (ret < 0) {
		tdev_seterr(q->err, "vq %u: device broke the used ring (%s)",
			    q->idx, strerror(-ret));
		return -1;
	}
	return n;
}

static void tdev_timeout(struct tdev *t, struct tdev_q *q)
{
	struct kvhost_test_stats st;
	int err = kvdev_wait_err(&t->dev, q->idx, 0);

	kvdev_test_stats(&t->dev, &st);
	tdev_seterr(q->err,
		    "vq %u: no used buffers after %d ms: %u in flight, avail %u, "
		    "used %u, err eventfd %s, device bufs %llu broken %u last_err %u",
		    q->idx, TDEV_TIMEOUT_MS, vdrv_inflight(&q->ring),
		    q->ring.avail_idx, vdrv_raw_used_idx(&q->ring),
		    err == 1 ? "signalled" : "quiet",
		    (unsigned long long)st.vq[q->idx].bufs,
		    st.vq[q->idx].broken, st.vq[q->idx].last_err);
}

/* Sleep until the device signals used buffers; -1 on timeout. */
static int tdev_wait(struct tdev *t, struct tdev_q *q)
{
	int ret;

	if (!vdrv_enable_intr(&q->ring)) {
		vdrv_disable_intr(&q->ring);
		return 0;
	}
	ret = kvdev_wait_call(&t->dev, q->idx, TDEV_TIMEOUT_MS);
	vdrv_disable_intr(&q->ring);
	q->waits++;
	if (ret == 1)
		return 0;
	if (vdrv_used_pending(&q->ring))
		tdev_seterr(q->err, "vq %u: used buffers but no call", q->idx);
	else
		tdev_timeout(t, q);
	return -1;
}

int tdev_traffic(struct tdev *t, unsigned int qi, enum tdev_chain_kind kind,
		 uint64_t nbufs, unsigned int batch)
{
	struct tdev_q *q = &t->q[qi];
	uint64_t end = q->done + nbufs, posted = 0;
	int ret;

	while (q->done < end) {
		unsigned int n = 0;

		while (n < batch && posted < nbufs) {
			ret = tdev_post_one(t, q, kind);
			if (ret < 0)
				return -1;
			if (!ret)
				break;
			n++;
			posted++;
		}
		if (n && tdev_kick(t, q))
			return -1;
		ret = tdev_harvest(t, qi);
		if (ret < 0)
			return -1;
		if (ret)
			continue;
		if (tdev_wait(t, q))
			return -1;
	}
	return 0;
}

int tdev_drain(struct tdev *t, unsigned int qi)
{
	struct tdev_q *q = &t->q[qi];
	int ret;

	while (vdrv_inflight(&q->ring)) {
		ret = tdev_harvest(t, qi);
		if (ret < 0)
			return -1;
		if (!ret && tdev_wait(t, q))
			return -1;
	}
	return 0;
}

struct tdev_thread {
	pthread_t tid;
	struct tdev *t;
	unsigned int qi;
	enum tdev_chain_kind kind;
	uint64_t nbufs;
	unsigned int batch;
	int ret;
};

static void *tdev_thread_main(void *arg)
{
	struct tdev_thread *th = arg;

	th->ret = tdev_traffic(th->t, th->qi, th->kind, th->nbufs, th->batch);
	return NULL;
}

int tdev_traffic_all(struct tdev *t, const enum tdev_chain_kind *kinds,
		     uint64_t nbufs, unsigned int batch)
{
	struct tdev_thread th[TDEV_NQ];
	unsigned int qi, nq = tdev_nq(&t->cfg);
	int ret = 0;

	for (qi = 0; qi < nq; qi++) {
		th[qi] = (struct tdev_thread){
			.t = t, .qi = qi, .kind = kinds[qi],
			.nbufs = nbufs, .batch = batch, .ret = -1,
		};
		if (pthread_create(&th[qi].tid, NULL, tdev_thread_main, &th[qi])) {
			tdev_seterr(t->q[qi].err, "pthread_create failed");
			nq = qi;
			ret = -1;
			break;
		}
	}
	for (qi = 0; qi < nq; qi++) {
		pthread_join(th[qi].tid, NULL);
		if (th[qi].ret)
			ret = -1;
	}
	return ret;
}

/* ---- checks ---- */

static bool tdev_stat_is(const char *name, unsigned int qi, uint64_t got,
			 uint64_t want)
{
	if (got == want)
		return true;
	tap_diag("  vq %u stats.%s = %" PRIu64 ", want %" PRIu64, qi, name, got,
		 want);
	return false;
}

bool tdev_stats_match(struct tdev *t, unsigned int qi)
{
	struct tdev_q *q = &t->q[qi];
	struct kvhost_test_stats st;
	const struct kvhost_test_vq_stats *v = &st.vq[qi];
	uint64_t deadline = kvdev_now_ms() + 2000;
	bool ok = true;
	int ret;

	/* Counters may trail the used index by a moment. */
	do {
		ret = kvdev_test_stats(&t->dev, &st);
		if (ret) {
			tap_diag("  KVHOST_TEST_GET_STATS: %s", strerror(-ret));
			return false;
		}
	} while (v->bufs != q->done && kvdev_now_ms() < deadline);

	ok &= tdev_stat_is("bufs", qi, v->bufs, q->done);
	/* Any queue: bytes read plus bytes written, csum of the bytes read. */
	ok &= tdev_stat_is("bytes", qi, v->bytes, q->bytes_read + q->wpos);
	ok &= tdev_stat_is("csum", qi, v->csum, q->sum_read);
	ok &= tdev_stat_is("broken", qi, v->broken, 0);
	ok &= tdev_stat_is("last_err", qi, v->last_err, 0);
	return ok;
}

bool tdev_report_q(struct tdev *t, unsigned int qi, int ret, const char *what)
{
	struct tdev_q *q = &t->q[qi];
	/*
	 * @ret may cover several queues; every failure of this queue left
	 * its message in q->err, so judge by that.
	 */
	bool ok = !q->err[0] && !t->err[0];

	(void)ret;

	tap_ok(ok, "%s: vq %u: %" PRIu64 " chains verified", what, qi, q->done);
	if (!ok)
		tap_diag("  %s", q->err[0] ? q->err : t->err);
	return ok;
}
