/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kvhostctl blk: a vhost-user-blk backend on /dev/kvhost-blk (vu_blk.c).
 */
#ifndef VU_BLK_H
#define VU_BLK_H

#include <stdio.h>

/* The subcommand; @argv after "blk".  Return: the exit status (0, 1, 2). */
int cmd_blk(int argc, char **argv);
/* Its usage line, for the tool's overview. */
void blk_usage_line(FILE *f, const char *prog);

#endif /* VU_BLK_H */
