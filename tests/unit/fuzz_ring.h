/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Input layout of the split-ring fuzz target (little-endian, short inputs
 * read as zero-padded):
 *
 *   u8  num_log2 (% 5: num 1..16)     u8  feature bits (FZ_F_*)
 *   u8  iov_max (% 32 + 1)            u8  used_batch_max (% num + 1)
 *   u8  nregions (% FZ_MAX_REGIONS + 1)
 *   nregions x { u64 gpa, u16 size, u16 arena offset, u8 flags_padding }
 *   u16 start index (last_avail_idx and used->idx)
 *   u16 avail->idx, u16 avail->flags, u16 used_event
 *   num x u16 avail ring entries
 *   num x 16-byte descriptors
 *   FZ_ROUNDS x { u8 avail->idx step (% (num + 2)), u8 action bits }
 *   the rest: guest memory arena contents (FZ_ARENA bytes)
 */
#ifndef KVHOST_UNIT_FUZZ_RING_H
#define KVHOST_UNIT_FUZZ_RING_H

#include <stddef.h>
#include <stdint.h>

#define FZ_ARENA		4096
#define FZ_MAX_REGIONS		4
#define FZ_ROUNDS		4

#define FZ_F_INDIRECT		0x01
#define FZ_F_EVENT_IDX		0x02
#define FZ_F_NOTIFY_EMPTY	0x04
#define FZ_F_LEGACY		0x08

#define FZ_A_UNPOP		0x01	/* unpop everything, pop it again */
#define FZ_A_NOTIFY		0x02	/* exercise the notify ops */
#define FZ_A_KEEP		0x04	/* leave used elements for later */

/* What the runs did, for the replay driver to show coverage of outcomes. */
struct fz_stats {
	unsigned long runs, bad_table, chains, indirect_chains, flushed;
	unsigned long einval, eloop, efault, enobufs, e2big;
};
extern struct fz_stats fz_stats;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif /* KVHOST_UNIT_FUZZ_RING_H */
