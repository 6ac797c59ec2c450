/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Shim: the uapi feature bits, plus virtio16_to_cpu() and friends with the
 * kernel's signatures (they take a struct virtio_device *, as in
 * include/linux/virtio_config.h), so code that should call the bool-taking
 * __virtio16_to_cpu() family fails to build here as it would in the kernel.
 */
#ifndef SHIM_LINUX_VIRTIO_CONFIG_H
#define SHIM_LINUX_VIRTIO_CONFIG_H

#include_next <linux/virtio_config.h>
#include <linux/virtio_byteorder.h>

struct virtio_device {
	u64 features;
};

static inline bool virtio_is_little_endian(struct virtio_device *vdev)
{
	return (vdev->features & (1ULL << VIRTIO_F_VERSION_1)) ||
	       virtio_legacy_is_little_endian();
}

static inline u16 virtio16_to_cpu(struct virtio_device *vdev, __virtio16 val)
{
	return __virtio16_to_cpu(virtio_is_little_endian(vdev), val);
}

static inline __virtio16 cpu_to_virtio16(struct virtio_device *vdev, u16 val)
{
	return __cpu_to_virtio16(virtio_is_little_endian(vdev), val);
}

static inline u32 virtio32_to_cpu(struct virtio_device *vdev, __virtio32 val)
{
	return __virtio32_to_cpu(virtio_is_little_endian(vdev), val);
}

static inline __virtio32 cpu_to_virtio32(struct virtio_device *vdev, u32 val)
{
	return __cpu_to_virtio32(virtio_is_little_endian(vdev), val);
}

static inline u64 virtio64_to_cpu(struct virtio_device *vdev, __virtio64 val)
{
	return __virtio64_to_cpu(virtio_is_little_endian(vdev), val);
}

static inline __virtio64 cpu_to_virtio64(struct virtio_device *vdev, u64 val)
{
	return __cpu_to_virtio64(virtio_is_little_endian(vdev), val);
}

#endif /* SHIM_LINUX_VIRTIO_CONFIG_H */
