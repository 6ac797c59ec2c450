/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vu_client: a vhost-user front-end (the master QEMU is) for the tests:
 * messages built field by field, so a test can send well-formed and
 * malformed ones alike, and the replies or the connection's end read back.
 *
 * Every function returns 0 (or a count) on success and -errno on failure;
 * an error ack from the back-end is -EREMOTEIO (its code in c->ack).
 */
#ifndef VU_CLIENT_H
#define VU_CLIENT_H

#include <stdbool.h>
#include <stdint.h>
#include "../../userspace_ctl/vu_proto.h"

#define VU_CLIENT_WAIT_MS	10000

struct vu_client {
	int fd;
	uint64_t protocol;		/* negotiated protocol features */
	uint64_t ack;			/* the last nonzero REPLY_ACK */
};

/* Connect to @path, retrying for up to @timeout_ms while nobody listens. */
int vu_connect(struct vu_client *c, const char *path, int timeout_ms);
void vu_disconnect(struct vu_client *c);

/* Send one message exactly as given: header, @len payload bytes, @fds. */
int vu_send_raw(struct vu_client *c, const struct vu_hdr *h, const void *payload,
		size_t len, const int *fds, unsigned int nfds);
/* Receive one reply within @timeout_ms: -ECONNRESET on EOF, -ETIMEDOUT. */
int vu_recv(struct vu_client *c, struct vu_msg *m, int timeout_ms);
/*
 * What became of a message sent with NEED_REPLY (@request, 0: any): 0 ack 0, -EREMOTEIO
 * error ack, -ECONNRESET the back-end closed the connection, -ETIMEDOUT.
 */
int vu_outcome(struct vu_client *c, uint32_t request, int timeout_ms);

/*
 * A request of @size payload bytes and @nfds fds.  With REPLY_ACK
 * negotiated it asks for the ack and waits for it.
 */
int vu_request(struct vu_client *c, uint32_t request, const void *payload,
	       uint32_t size, const int *fds, unsigned int nfds);
/* A request without payload whose reply is one u64. */
int vu_get_u64(struct vu_client *c, uint32_t request, uint64_t *v);
int vu_set_u64(struct vu_client *c, uint32_t request, uint64_t v);
int vu_set_state(struct vu_client *c, uint32_t request, uint32_t index, uint32_t num);
int vu_get_vring_base(struct vu_client *c, uint32_t index, uint32_t *base);
/* Kick, call or err of queue @index: @fd, or none if @fd < 0. */
int vu_set_vring_fd(struct vu_client *c, uint32_t request, uint32_t index, int fd);
int vu_set_vring_addr(struct vu_client *c, uint32_t index, uint64_t desc,
		      uint64_t avail, uint64_t used);
/* @size bytes of the configuration space from @offset into @out. */
int vu_get_config(struct vu_client *c, uint32_t offset, uint32_t size, void *out);
/* SET_MEM_TABLE of @n regions, one fd each. */
int vu_set_mem_table(struct vu_client *c, const struct vu_region *r,
		     const int *fds, unsigned int n);
int vu_add_mem_reg(struct vu_client *c, const struct vu_region *r, int fd);

#endif /* VU_CLIENT_H */
