/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kvhostctl: what the subcommands share (kvhostctl.c has main()).
 */
#ifndef KVHOSTCTL_H
#define KVHOSTCTL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#define ARRAY_LEN(a)	(sizeof(a) / sizeof((a)[0]))

extern const char *prog;

/* "kvhostctl: @what: strerror(@err)" on stderr; Return: 1 (failure). */
int fail(int err, const char *what);
/* "kvhostctl: @fmt..." on stderr; Return: 2 (usage). */
int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A whole decimal number in [min, max], or -1. */
long parse_num(const char *s, long min, long max);

/* The name of virtio feature @bit on a net (@blk false) or blk device, or NULL. */
const char *feature_name(unsigned int bit, bool blk);
/* A character device, opened read-write as QEMU would; 0 or errno. */
int open_device(const char *path, int *fd);
/* Our own copy of file @target_fd of process @pid (-1: of ours); 0 or errno. */
int get_fd(long pid, int target_fd, int *fd);

/* ctl_info.c */
int cmd_info(int argc, char **argv);
int cmd_stats(int argc, char **argv);
/* ctl_net.c */
int cmd_net(int argc, char **argv);

#endif
