// SPDX-License-Identifier: GPL-2.0
/*
 * t_memlimit: the memory-table size limit, kvhost.ko's max_mem_regions
 * parameter: 64 by default like upstream, raisable to QEMU's 509, never
 * beyond; a table over the limit gets E2BIG.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "kvdev.h"
#include "tap.h"

#define PARAM	"/sys/module/kvhost/parameters/max_mem_regions"
#define PAGE	4096UL

static int param_write(const char *val)
{
	FILE *f = fopen(PARAM, "w");
	int ret = 0;

	if (!f)
		return -errno;
	if (fputs(val, f) < 0)
		ret = -EIO;
	/* The kernel's answer to the write arrives at the flush. */
	if (fclose(f))
		ret = -errno;
	return ret;
}

static long param_read(void)
{
	char buf[32] = "";
	FILE *f = fopen(PARAM, "r");

	if (!f)
		return -errno;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = 0;
	fclose(f);
	return strtol(buf, NULL, 0);
}

/* @n one-page regions, gpa-contiguous, over one mapping of @n pages. */
static struct vhost_memory *table(unsigned int n, void *mem)
{
	struct vhost_memory *t;
	unsigned int i;

	t = calloc(1, sizeof(*t) + n * sizeof(t->regions[0]));
	if (!t)
		return NULL;
	t->nregions = n;
	for (i = 0; i < n; i++) {
		t->regions[i].guest_phys_addr = 0x100000 + i * PAGE;
		t->regions[i].memory_size = PAGE;
		t->regions[i].userspace_addr = (uintptr_t)mem + i * PAGE;
	}
	return t;
}

static int set_table(struct kvdev *d, unsigned int n, void *mem)
{
	struct vhost_memory *t = table(n, mem);
	int ret;

	if (!t)
		return -ENOMEM;
	ret = kvdev_set_mem_table_raw(d, t);
	free(t);
	return ret;
}

int main(void)
{
	void *mem = mmap(NULL, 600 * PAGE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct kvdev d;
	long def;

	tap_init();
	tap_watchdog(60);
	kvdev_init(&d);
	if (!tap_ok(mem != MAP_FAILED, "guest memory") ||
	    !tap_errno(kvdev_open(&d, KVDEV_TEST_PATH, 2), 0, "open") ||
	    !tap_errno(kvdev_set_owner(&d), 0, "SET_OWNER")) {
		kvdev_close(&d);
		return tap_done();
	}

	def = param_read();
	tap_is(def, 64, "max_mem_regions defaults to 64");
	tap_errno(set_table(&d, 64, mem), 0, "64 regions accepted");
	tap_errno(set_table(&d, 65, mem), E2BIG, "65 regions -> E2BIG");

	tap_errno(param_write("509"), 0, "max_mem_regions raised to 509");
	tap_errno(set_table(&d, 509, mem), 0, "509 regions accepted");
	tap_errno(set_table(&d, 510, mem), E2BIG, "510 regions -> E2BIG");
	tap_errno(param_write("510"), EINVAL, "max_mem_regions 510 refused");
	tap_errno(param_write("0"), EINVAL, "max_mem_regions 0 refused");
	tap_is(param_read(), 509, "a refused write leaves the limit as it was");

	tap_errno(param_write("64"), 0, "max_mem_regions back to 64");
	tap_errno(set_table(&d, 509, mem), E2BIG, "509 regions -> E2BIG again");
	tap_errno(set_table(&d, 0, mem), 0, "an empty table is accepted");

	kvdev_close(&d);
	munmap(mem, 600 * PAGE);
	return tap_done();
}
