// SPDX-License-Identifier: GPL-2.0
/*
 * fake_qemu: stands in for qemu-system-x86_64 where t_ctl_net checks what
 * kvhostctl net hands to QEMU.  Prints its arguments ("arg N VALUE") and
 * every file descriptor it inherited ("fd N LINK", plus "iff N NAME" for
 * a tap), then exits 0.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void print_iff(int fd)
{
	char path[64], line[256];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "iff:", 4))
			printf("iff %d %s", fd, line + 4 + strspn(line + 4, " \t"));
	if (f)
		fclose(f);
}

int main(int argc, char **argv)
{
	char path[64], link[256];
	int i, fds[1024], nfds = 0;
	struct dirent *e;
	ssize_t n;
	DIR *d;

	for (i = 0; i < argc; i++)
		printf("arg %d %s\n", i, argv[i]);
	/* The list first: what print_iff() opens must not show up in it. */
	d = opendir("/proc/self/fd");
	while (d && (e = readdir(d)) && nfds < 1024)
		if (e->d_name[0] != '.' && atoi(e->d_name) != dirfd(d))
			fds[nfds++] = atoi(e->d_name);
	if (d)
		closedir(d);
	for (i = 0; i < nfds; i++) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fds[i]);
		n = readlink(path, link, sizeof(link) - 1);
		link[n > 0 ? n : 0] = 0;
		printf("fd %d %s\n", fds[i], link);
		if (!strcmp(link, "/dev/net/tun"))
			print_iff(fds[i]);
	}
	return 0;
}
