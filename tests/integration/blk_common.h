/* SPDX-License-Identifier: GPL-2.0 */
/*
 * blk_common: what t_blk and t_blk_teardown share on top of gblk: a TAP
 * report with the reason of the last failed check, the device opened the
 * way the tests open it, requests checked against the store read directly,
 * and a tmpfs of a test's own (to fill up, or to see unmount).
 */
#ifndef BLK_COMMON_H
#define BLK_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include "gblk.h"
#include "tap.h"

#define MIB		(1ULL << 20)
#define S_OK		VIRTIO_BLK_S_OK
#define S_IOERR		VIRTIO_BLK_S_IOERR
#define S_UNSUPP	VIRTIO_BLK_S_UNSUPP
#define T_IN		VIRTIO_BLK_T_IN
#define T_OUT		VIRTIO_BLK_T_OUT
#define T_FLUSH		VIRTIO_BLK_T_FLUSH
#define T_DISCARD	VIRTIO_BLK_T_DISCARD
#define T_WZ		VIRTIO_BLK_T_WRITE_ZEROES
#define UNMAP		VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP
#define ULL(x)		((unsigned long long)(x))

/* What went wrong, for the next report(); set with WHY(). */
extern char blk_why[800];
#define WHY(...)	snprintf(blk_why, sizeof(blk_why), __VA_ARGS__)

/* tap_ok(), with @err (else blk_why) as the diagnostic on failure. */
bool report(bool ok, const char *err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* @nq queues over store @s (NULL: none), a worker per queue when nq > 1. */
struct gblk_cfg cfg_for(const struct gblk_store *s, unsigned int nq, uint64_t mem);
/* gblk_open(), a failed TAP line saying why if it fails. */
bool open_or_report(struct gblk *g, const struct gblk_cfg *c, const char *what);

/* The store holds @want (or zeros) at @off; else blk_why says where not. */
bool store_is(const struct gblk_store *s, uint64_t off, const uint8_t *want,
	      uint32_t len);
bool store_zero(const struct gblk_store *s, uint64_t off, uint32_t len);
/* A request over g->aux at @off that must complete with @status, used @used. */
bool rw_ok(struct gblk *g, unsigned int q, uint32_t type, uint64_t sector,
	   uint32_t off, uint32_t len, int status, uint32_t used);
/* A good IN of 4 KiB somewhere, checked against the store. */
bool good_read(struct gblk *g, unsigned int q, const struct gblk_store *s);

/* A tmpfs at /tmp/kvblk-@tag-@pid into @dir; 0 or -errno (dir then ""). */
int tmpfs_mount(char *dir, size_t len, const char *tag, pid_t pid,
		const char *opts);
/* A TAP line: it unmounts within @grace_ms, so nothing holds it. */
void tmpfs_umount(const char *dir, const char *what, int grace_ms);

#endif
