/* SPDX-License-Identifier: GPL-2.0 */
/* Shim: the kernel's <linux/virtio_ring.h> wraps the uapi one and barriers. */
#ifndef SHIM_LINUX_VIRTIO_RING_H
#define SHIM_LINUX_VIRTIO_RING_H

#include <asm/barrier.h>
#include <linux/types.h>
#include_next <linux/virtio_ring.h>

#endif /* SHIM_LINUX_VIRTIO_RING_H */
