/* SPDX-License-Identifier: GPL-2.0 */
/*
 * In-process stand-in for /dev/kvhost-test (build with -DKVDEV_FAKE), to
 * check the test programs without the kernel module.  Same conventions as
 * open(2), ioctl(2) and close(2): -1 with errno set on failure.
 */
#ifndef KVDEV_FAKE_H
#define KVDEV_FAKE_H

int kvdev_fake_open(const char *path);
int kvdev_fake_ioctl(int fd, unsigned long req, void *arg);
int kvdev_fake_close(int fd);

#endif /* KVDEV_FAKE_H */
