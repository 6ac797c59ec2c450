// SPDX-License-Identifier: GPL-2.0
/* blk_common: what t_blk and t_blk_teardown share (see blk_common.h). */
#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>
#include "blk_common.h"

char blk_why[800];

bool report(bool ok, const char *err, const char *fmt, ...)
{
	char line[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	tap_ok(ok, "%s", line);
	err = err ? err : blk_why;
	if (!ok && *err)
		tap_diag("  %s", err);
	blk_why[0] = 0;
	return ok;
}

struct gblk_cfg cfg_for(const struct gblk_store *s, unsigned int nq,
			uint64_t mem)
{
	return (struct gblk_cfg){ .nq = nq, .mem_size = mem, .workers = nq > 1,
				  .fd = s ? s->fd : -1 };
}

bool open_or_report(struct gblk *g, const struct gblk_cfg *c,
		    const char *what)
{
	int ret = gblk_open(g, c);

	if (ret)
		report(false, g->err, "%s: device set-up", what);
	return !ret;
}

/* The store holds @want at @off (else blk_why says where not). */
bool store_is(const struct gblk_store *s, uint64_t off,
	      const uint8_t *want, uint32_t len)
{
	static uint8_t got[2 * GBLK_BIG_LEN];
	int ret = gblk_store_pread(s, got, len, off);
	uint32_t k;

	if (ret)
		return !WHY("pread at %llu: %s", ULL(off), strerror(-ret));
	for (k = 0; k < len && got[k] == want[k]; k++)
		;
	if (k < len)
		WHY("byte %llu of the store is 0x%02x, want 0x%02x", ULL(off + k),
		    got[k], want[k]);
	return k == len;
}

bool store_zero(const struct gblk_store *s, uint64_t off, uint32_t len)
{
	static const uint8_t zero[GBLK_BIG_LEN];

	return store_is(s, off, zero, len);
}

/* A request over g->aux at @off that must complete with @status, used @len. */
bool rw_ok(struct gblk *g, unsigned int q, uint32_t type, uint64_t sector,
	   uint32_t off, uint32_t len, int status, uint32_t used)
{
	struct gblk_done d;

	if (gblk_rw(g, q, type, sector, g->aux_gpa + off, len, 4, &d))
		return !WHY("%s", g->err);
	if (d.status != status || (used && d.len != used))
		return !WHY("type %u sector %llu: status %d used len %u, want %d/%u",
			    type, ULL(sector), d.status, d.len, status, used);
	return true;
}

/* A good IN of 4 KiB somewhere, checked against the store. */
bool good_read(struct gblk *g, unsigned int q, const struct gblk_store *s)
{
	static uint64_t rnd = 77;
	uint64_t sector = gblk_rand(&rnd) % (g->capacity - 8);
	uint8_t *buf = g->aux + GBLK_AUX_LEN - 4096;

	memset(buf, 0xdb, 4096);
	return rw_ok(g, q, T_IN, sector, GBLK_AUX_LEN - 4096, 4096, S_OK, 4097) &&
	       store_is(s, sector * GBLK_SECTOR, buf, 4096);
}

int tmpfs_mount(char *dir, size_t len, const char *tag, pid_t pid,
		const char *opts)
{
	snprintf(dir, len, "/tmp/kvblk-%s-%d", tag, (int)pid);
	mkdir(dir, 0700);
	if (!mount("tmpfs", dir, "tmpfs", 0, opts))
		return 0;
	rmdir(dir);
	dir[0] = 0;
	return -errno;
}

/* The store's file system unmounts: nothing of the device holds it. */
void tmpfs_umount(const char *dir, const char *what, int grace_ms)
{
	uint64_t deadline = kvdev_now_ms() + grace_ms;
	int ret;

	while ((ret = umount2(dir, 0) ? -errno : 0) == -EBUSY &&
	       kvdev_now_ms() < deadline)
		usleep(20000);
	tap_errno(ret, 0, "%s: the tmpfs the store lives on unmounts", what);
	if (ret)
		umount2(dir, MNT_DETACH);
	rmdir(dir);
}
