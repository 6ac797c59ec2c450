/* SPDX-License-Identifier: GPL-2.0 */
/* Core-internal helpers shared between the files of kvhost.ko. */
#ifndef KVHOST_INTERNAL_H
#define KVHOST_INTERNAL_H

#include "vhost.h"

struct kvhost_worker *kvhost_worker_create(struct kvhost_dev *dev);
void kvhost_worker_destroy(struct kvhost_worker *worker);
void kvhost_worker_flush(struct kvhost_worker *worker);

#endif /* KVHOST_INTERNAL_H */
