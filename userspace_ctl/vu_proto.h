/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vu_proto: the vhost-user wire protocol as far as a virtio-blk backend
 * speaks it (QEMU's docs/interop/vhost-user.rst): message numbers, flags,
 * protocol feature bits and payload layouts, little-endian, packed.
 * Shared by kvhostctl blk and the integration test's client.
 */
#ifndef VU_PROTO_H
#define VU_PROTO_H

#include <stdint.h>

/* Front-end requests. */
enum vu_request {
	VU_GET_FEATURES = 1,
	VU_SET_FEATURES = 2,
	VU_SET_OWNER = 3,
	VU_RESET_OWNER = 4,
	VU_SET_MEM_TABLE = 5,
	VU_SET_LOG_BASE = 6,
	VU_SET_LOG_FD = 7,
	VU_SET_VRING_NUM = 8,
	VU_SET_VRING_ADDR = 9,
	VU_SET_VRING_BASE = 10,
	VU_GET_VRING_BASE = 11,
	VU_SET_VRING_KICK = 12,
	VU_SET_VRING_CALL = 13,
	VU_SET_VRING_ERR = 14,
	VU_GET_PROTOCOL_FEATURES = 15,
	VU_SET_PROTOCOL_FEATURES = 16,
	VU_GET_QUEUE_NUM = 17,
	VU_SET_VRING_ENABLE = 18,
	VU_GET_CONFIG = 24,
	VU_SET_CONFIG = 25,
	VU_GET_MAX_MEM_SLOTS = 36,
	VU_ADD_MEM_REG = 37,
	VU_REM_MEM_REG = 38,
	VU_REQUEST_MAX = 44,	/* one past the highest number any spec has */
};

/* Header flags: version in bits 0-1. */
#define VU_VERSION		0x1U
#define VU_VERSION_MASK		0x3U
#define VU_FLAG_REPLY		(1U << 2)
#define VU_FLAG_NEED_REPLY	(1U << 3)

/* The virtio feature bit that says protocol features exist. */
#define VU_F_PROTOCOL_FEATURES	30

/* Protocol feature bits. */
#define VU_PF_MQ		0
#define VU_PF_LOG_SHMFD		1
#define VU_PF_REPLY_ACK		3
#define VU_PF_BACKEND_REQ	5
#define VU_PF_CONFIG		9
#define VU_PF_INFLIGHT_SHMFD	12
#define VU_PF_CONFIGURE_MEM_SLOTS 15

/* Kick/call/err payload: ring index in bits 0-7, bit 8 = no fd. */
#define VU_VRING_IDX_MASK	0xffULL
#define VU_VRING_NOFD		(1ULL << 8)

#define VU_MEM_REGIONS_MAX	8	/* SET_MEM_TABLE, and fds per message */
#define VU_CONFIG_MAX		256

struct vu_hdr {
	uint32_t request;
	uint32_t flags;
	uint32_t size;			/* payload bytes after the header */
} __attribute__((packed));

struct vu_vring_state {
	uint32_t index;
	uint32_t num;
} __attribute__((packed));

struct vu_vring_addr {
	uint32_t index;
	uint32_t flags;
	uint64_t desc;			/* the front-end's virtual addresses */
	uint64_t used;
	uint64_t avail;
	uint64_t log;
} __attribute__((packed));

struct vu_region {
	uint64_t gpa;
	uint64_t size;
	uint64_t uaddr;			/* the front-end's virtual address */
	uint64_t mmap_offset;		/* where the region starts in the fd */
} __attribute__((packed));

struct vu_mem_table {
	uint32_t nregions;
	uint32_t padding;
	struct vu_region region[VU_MEM_REGIONS_MAX];
} __attribute__((packed));

/* ADD_MEM_REG / REM_MEM_REG */
struct vu_mem_reg {
	uint64_t padding;
	struct vu_region region;
} __attribute__((packed));

struct vu_config {
	uint32_t offset;
	uint32_t size;
	uint32_t flags;
	uint8_t data[VU_CONFIG_MAX];
} __attribute__((packed));

#define VU_CONFIG_HDR		12	/* struct vu_config before data */
#define VU_MEM_TABLE_HDR	8	/* struct vu_mem_table before region */

union vu_payload {
	uint64_t u64;
	struct vu_vring_state state;
	struct vu_vring_addr addr;
	struct vu_mem_table mem;
	struct vu_mem_reg reg;
	struct vu_config config;
};

struct vu_msg {
	struct vu_hdr hdr;
	union vu_payload p;
} __attribute__((packed));

#endif /* VU_PROTO_H */
