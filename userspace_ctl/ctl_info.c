// SPDX-License-Identifier: GPL-2.0
/*
 * kvhostctl info and kvhostctl stats: the modules, the device nodes and
 * every open kvhost device on the host.
 *
 * An open device is found as a file descriptor of some process whose file
 * is one of our device nodes (same st_rdev); what it is set up to do comes
 * from the "kvhost-" lines the modules add to /proc/PID/fdinfo/FD, and its
 * counters from the device's own stats ioctl on a copy of the file taken
 * with pidfd_getfd() (root, or ptrace rights over the holder).  A file
 * several processes hold (a fork, a passed fd) is listed once, with every
 * holder.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>
#include <json-c/json.h>
#include "kvhost.h"
#include "kvhostctl.h"

#ifndef SYS_kcmp
#define SYS_kcmp	312
#endif
#define KCMP_FILE	0

#define MAX_HOLDERS	8
#define MAX_VQS		KVHOST_BLK_QUEUES_MAX

static const char *const module_names[] = { "kvhost", "kvhost_net", "kvhost_blk" };

enum kind { KIND_NET, KIND_BLK, NKINDS };

static const char *const node_paths[NKINDS] = { "/dev/kvhost-net", "/dev/kvhost-blk" };
static const char *const node_modules[NKINDS] = { "kvhost_net", "kvhost_blk" };

struct node {
	bool present;
	dev_t rdev;
	uint64_t features;
	int err;		/* opening it or VHOST_GET_FEATURES, else 0 */
};

struct holder {
	pid_t pid;
	int fd;
	char comm[32];
};

/* A ring of the device, from its kvhost-vq line (and kvhost-blk-queue). */
struct vq_info {
	int index, worker, started, broken;
	unsigned int num, last_avail, last_used;
	unsigned long long kicks, calls;
	int running, inflight, helper;	/* blk only; -1 if unknown */
	char backend[160];		/* net only: the queue's backend file */
};

struct worker_info {
	unsigned int id;
	int tid;
};

/* One open device file. */
struct open_dev {
	enum kind kind;
	struct holder holders[MAX_HOLDERS];
	int nholders;
	long owner;
	char owner_comm[32];
	unsigned long long features;
	int queues;
	struct worker_info *workers;
	int nworkers;
	struct vq_info *vqs;
	int nvqs;
	char backend[512];		/* blk: the store line */
};

struct scan {
	struct node nodes[NKINDS];
	struct open_dev *devs;
	int ndevs;
};

/* ---- reading ---- */

static int read_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	int ret = 0;

	if (!f)
		return errno;
	if (!fgets(buf, len, f))
		ret = EIO;
	fclose(f);
	buf[strcspn(buf, "\n")] = 0;
	return ret;
}

static void scan_nodes(struct scan *s)
{
	int k, fd;

	for (k = 0; k < NKINDS; k++) {
		struct node *n = &s->nodes[k];
		struct stat st;

		if (stat(node_paths[k], &st) || !S_ISCHR(st.st_mode))
			continue;
		n->present = true;
		n->rdev = st.st_rdev;
		n->err = open_device(node_paths[k], &fd);
		if (n->err)
			continue;
		if (ioctl(fd, VHOST_GET_FEATURES, &n->features))
			n->err = errno;
		close(fd);
	}
}

/* Which of our nodes @path (a /proc/PID/fd/N link) leads to, or -1. */
static int node_kind(const struct scan *s, const char *path)
{
	struct stat st;
	int k;

	if (stat(path, &st) || !S_ISCHR(st.st_mode))
		return -1;
	for (k = 0; k < NKINDS; k++)
		if (s->nodes[k].present && s->nodes[k].rdev == st.st_rdev)
			return k;
	return -1;
}

static struct vq_info *vq_slot(struct open_dev *d, int index)
{
	int i;

	if (index < 0 || index >= MAX_VQS)
		return NULL;
	for (i = 0; i < d->nvqs; i++)
		if (d->vqs[i].index == index)
			return &d->vqs[i];
	if (d->nvqs == MAX_VQS)
		return NULL;
	d->vqs[d->nvqs] = (struct vq_info){ .index = index, .worker = -1,
					    .running = -1, .inflight = -1,
					    .helper = -1 };
	return &d->vqs[d->nvqs++];
}

/* One "kvhost-..." line of fdinfo into @d; others are the kernel's own. */
static void parse_fdinfo_line(struct open_dev *d, const char *key, const char *val)
{
	struct vq_info *v;
	int index;

	if (!strcmp(key, "kvhost-owner")) {
		if (sscanf(val, "%ld %31s", &d->owner, d->owner_comm) < 1)
			d->owner = -1;
	} else if (!strcmp(key, "kvhost-features")) {
		d->features = strtoull(val, NULL, 0);
	} else if (!strcmp(key, "kvhost-queues")) {
		d->queues = atoi(val);
	} else if (!strcmp(key, "kvhost-worker") && d->nworkers < MAX_VQS) {
		struct worker_info *w = &d->workers[d->nworkers];

		if (sscanf(val, "%u %d", &w->id, &w->tid) == 2)
			d->nworkers++;
	} else if (!strcmp(key, "kvhost-vq") && sscanf(val, "%d", &index) == 1 &&
		   (v = vq_slot(d, index))) {
		sscanf(val, "%*d worker=%d num=%u started=%d broken=%d last_avail=%u last_used=%u kicks=%llu calls=%llu",
		       &v->worker, &v->num, &v->started, &v->broken, &v->last_avail,
		       &v->last_used, &v->kicks, &v->calls);
	} else if (!strcmp(key, "kvhost-blk-queue") && sscanf(val, "%d", &index) == 1 &&
		   (v = vq_slot(d, index))) {
		sscanf(val, "%*d running=%d inflight=%d helper=%d", &v->running,
		       &v->inflight, &v->helper);
	} else if (!strcmp(key, "kvhost-net-backend") && sscanf(val, "%d", &index) == 1 &&
		   (v = vq_slot(d, index))) {
		sscanf(val, "%*d %159s", v->backend);
	} else if (!strcmp(key, "kvhost-blk-backend")) {
		snprintf(d->backend, sizeof(d->backend), "%s", val);
	}
}

static int parse_fdinfo(struct open_dev *d, pid_t pid, int fd)
{
	char path[64], line[1024], *colon, *val;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/fdinfo/%d", (int)pid, fd);
	f = fopen(path, "r");
	if (!f)
		return errno;
	d->owner = -1;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = 0;
		colon = strchr(line, ':');
		if (!colon || strncmp(line, "kvhost-", 7))
			continue;
		*colon = 0;
		for (val = colon + 1; *val == '\t' || *val == ' '; val++)
			;
		parse_fdinfo_line(d, line, val);
	}
	fclose(f);
	return 0;
}

/* The same open file as one listed already: another holder of it. */
static struct open_dev *same_file(struct scan *s, enum kind kind, pid_t pid, int fd)
{
	int i;

	for (i = 0; i < s->ndevs; i++) {
		struct holder *h = &s->devs[i].holders[0];

		if (s->devs[i].kind == kind &&
		    syscall(SYS_kcmp, h->pid, pid, KCMP_FILE, h->fd, fd) == 0)
			return &s->devs[i];
	}
	return NULL;
}

static void add_holder(struct open_dev *d, pid_t pid, int fd)
{
	struct holder *h;
	char path[64];

	if (d->nholders == MAX_HOLDERS)
		return;
	h = &d->holders[d->nholders++];
	h->pid = pid;
	h->fd = fd;
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	if (read_line(path, h->comm, sizeof(h->comm)))
		snprintf(h->comm, sizeof(h->comm), "?");
}

static int add_open(struct scan *s, enum kind kind, pid_t pid, int fd)
{
	struct open_dev *d = same_file(s, kind, pid, fd), *grown;

	if (d) {
		add_holder(d, pid, fd);
		return 0;
	}
	grown = realloc(s->devs, (s->ndevs + 1) * sizeof(*s->devs));
	if (!grown)
		return ENOMEM;
	s->devs = grown;
	d = &s->devs[s->ndevs];
	memset(d, 0, sizeof(*d));
	d->kind = kind;
	d->workers = calloc(MAX_VQS, sizeof(*d->workers));
	d->vqs = calloc(MAX_VQS, sizeof(*d->vqs));
	if (!d->workers || !d->vqs) {
		free(d->workers);
		free(d->vqs);
		return ENOMEM;
	}
	s->ndevs++;
	add_holder(d, pid, fd);
	/* The holder may have closed it meanwhile: what fdinfo had is kept. */
	parse_fdinfo(d, pid, fd);
	return 0;
}

static bool all_digits(const char *s)
{
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

static int scan_process(struct scan *s, pid_t pid)
{
	char dir[64], path[64];
	struct dirent *e;
	int kind, ret = 0;
	DIR *d;

	snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)pid);
	d = opendir(dir);
	if (!d)
		return 0;	/* gone, or not ours to look at */
	while (!ret && (e = readdir(d))) {
		if (!all_digits(e->d_name))
			continue;
		snprintf(path, sizeof(path), "/proc/%d/fd/%.16s", (int)pid, e->d_name);
		kind = node_kind(s, path);
		if (kind >= 0)
			ret = add_open(s, kind, pid, atoi(e->d_name));
	}
	closedir(d);
	return ret;
}

static int scan_all(struct scan *s)
{
	struct dirent *e;
	int ret = 0;
	DIR *proc;

	memset(s, 0, sizeof(*s));
	scan_nodes(s);
	if (!s->nodes[KIND_NET].present && !s->nodes[KIND_BLK].present)
		return 0;
	proc = opendir("/proc");
	if (!proc)
		return errno;
	while (!ret && (e = readdir(proc)))
		if (all_digits(e->d_name) && atoi(e->d_name) != getpid())
			ret = scan_process(s, atoi(e->d_name));
	closedir(proc);
	return ret;
}

static void scan_free(struct scan *s)
{
	int i;

	for (i = 0; i < s->ndevs; i++) {
		free(s->devs[i].workers);
		free(s->devs[i].vqs);
	}
	free(s->devs);
	s->devs = NULL;
	s->ndevs = 0;
}

/* ---- info ---- */

static json_object *json_u64(uint64_t v)
{
	return json_object_new_int64((int64_t)v);
}

static json_object *features_json(uint64_t f, bool blk)
{
	json_object *names = json_object_new_array();
	unsigned int bit;

	for (bit = 0; bit < 64; bit++) {
		const char *name = feature_name(bit, blk);
		char other[16];

		if (!(f & (1ULL << bit)))
			continue;
		snprintf(other, sizeof(other), "bit %u", bit);
		json_object_array_add(names, json_object_new_string(name ? name : other));
	}
	return names;
}

static void print_feature_names(uint64_t f, bool blk)
{
	unsigned int bit;

	for (bit = 0; bit < 64; bit++) {
		const char *name = feature_name(bit, blk);

		if (f & (1ULL << bit))
			name ? printf(" %s", name) : printf(" bit%u", bit);
	}
}

/* /sys/module/@name/parameters, as "name=value ..." or a JSON object. */
static void module_params(const char *name, json_object *jparams)
{
	char dir[128], path[384], val[128];
	struct dirent *e;
	DIR *d;

	snprintf(dir, sizeof(dir), "/sys/module/%s/parameters", name);
	d = opendir(dir);
	if (!d)
		return;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (read_line(path, val, sizeof(val)))
			continue;
		if (jparams)
			json_object_object_add(jparams, e->d_name, json_object_new_string(val));
		else
			printf(" %s=%s", e->d_name, val);
	}
	closedir(d);
}

static json_object *info_modules(bool json)
{
	json_object *arr = json ? json_object_new_array() : NULL;
	char path[128], version[64];
	size_t i;

	if (!json)
		printf("modules:\n");
	for (i = 0; i < ARRAY_LEN(module_names); i++) {
		const char *m = module_names[i];
		bool loaded;

		snprintf(path, sizeof(path), "/sys/module/%s", m);
		loaded = !access(path, F_OK);
		snprintf(path, sizeof(path), "/sys/module/%s/version", m);
		if (!loaded || read_line(path, version, sizeof(version)))
			snprintf(version, sizeof(version), "%s", loaded ? "unknown" : "");
		if (json) {
			json_object *o = json_object_new_object(), *p = json_object_new_object();

			json_object_object_add(o, "name", json_object_new_string(m));
			json_object_object_add(o, "loaded", json_object_new_boolean(loaded));
			if (loaded) {
				json_object_object_add(o, "version", json_object_new_string(version));
				module_params(m, p);
			}
			json_object_object_add(o, "parameters", p);
			json_object_array_add(arr, o);
			continue;
		}
		if (!loaded) {
			printf("  %-11s not loaded\n", m);
			continue;
		}
		printf("  %-11s version %s", m, version);
		module_params(m, NULL);
		printf("\n");
	}
	return arr;
}

static json_object *info_nodes(const struct scan *s, bool json)
{
	json_object *arr = json ? json_object_new_array() : NULL;
	int k;

	if (!json)
		printf("device nodes:\n");
	for (k = 0; k < NKINDS; k++) {
		const struct node *n = &s->nodes[k];

		if (json) {
			json_object *o = json_object_new_object();

			json_object_object_add(o, "path", json_object_new_string(node_paths[k]));
			json_object_object_add(o, "present", json_object_new_boolean(n->present));
			if (n->present) {
				json_object_object_add(o, "major", json_object_new_int(major(n->rdev)));
				json_object_object_add(o, "minor", json_object_new_int(minor(n->rdev)));
			}
			if (n->present && !n->err) {
				json_object_object_add(o, "features", json_u64(n->features));
				json_object_object_add(o, "feature_names",
						       features_json(n->features, k == KIND_BLK));
			} else if (n->present) {
				json_object_object_add(o, "error",
						       json_object_new_string(strerror(n->err)));
			}
			json_object_array_add(arr, o);
			continue;
		}
		if (!n->present) {
			printf("  %s missing (modprobe %s)\n", node_paths[k], node_modules[k]);
			continue;
		}
		printf("  %s %u:%u", node_paths[k], major(n->rdev), minor(n->rdev));
		if (n->err) {
			printf(" (cannot open: %s)\n", strerror(n->err));
			continue;
		}
		printf(" offers 0x%016" PRIx64 ":", n->features);
		print_feature_names(n->features, k == KIND_BLK);
		printf("\n");
	}
	return arr;
}

static json_object *open_dev_json(const struct open_dev *d)
{
	json_object *o = json_object_new_object(), *a;
	int i;

	json_object_object_add(o, "path", json_object_new_string(node_paths[d->kind]));
	a = json_object_new_array();
	for (i = 0; i < d->nholders; i++) {
		json_object *h = json_object_new_object();

		json_object_object_add(h, "pid", json_object_new_int(d->holders[i].pid));
		json_object_object_add(h, "comm", json_object_new_string(d->holders[i].comm));
		json_object_object_add(h, "fd", json_object_new_int(d->holders[i].fd));
		json_object_array_add(a, h);
	}
	json_object_object_add(o, "holders", a);
	json_object_object_add(o, "owner_pid", json_object_new_int64(d->owner));
	json_object_object_add(o, "owner_comm", json_object_new_string(d->owner_comm));
	json_object_object_add(o, "features", json_u64(d->features));
	json_object_object_add(o, "feature_names", features_json(d->features, d->kind == KIND_BLK));
	json_object_object_add(o, "queues", json_object_new_int(d->queues));
	if (d->kind == KIND_BLK)
		json_object_object_add(o, "backend", json_object_new_string(d->backend));
	a = json_object_new_array();
	for (i = 0; i < d->nworkers; i++) {
		json_object *w = json_object_new_object();

		json_object_object_add(w, "id", json_object_new_int(d->workers[i].id));
		json_object_object_add(w, "tid", json_object_new_int(d->workers[i].tid));
		json_object_array_add(a, w);
	}
	json_object_object_add(o, "workers", a);
	a = json_object_new_array();
	for (i = 0; i < d->nvqs; i++) {
		const struct vq_info *v = &d->vqs[i];
		json_object *q = json_object_new_object();

		json_object_object_add(q, "index", json_object_new_int(v->index));
		json_object_object_add(q, "worker", json_object_new_int(v->worker));
		json_object_object_add(q, "num", json_object_new_int(v->num));
		json_object_object_add(q, "started", json_object_new_boolean(v->started));
		json_object_object_add(q, "broken", json_object_new_boolean(v->broken));
		json_object_object_add(q, "last_avail", json_object_new_int(v->last_avail));
		json_object_object_add(q, "last_used", json_object_new_int(v->last_used));
		if (d->kind == KIND_BLK) {
			json_object_object_add(q, "running", json_object_new_boolean(v->running > 0));
			json_object_object_add(q, "inflight", json_object_new_int(v->inflight));
			json_object_object_add(q, "helper_tid", json_object_new_int(v->helper));
		} else {
			json_object_object_add(q, "backend", json_object_new_string(v->backend));
		}
		json_object_array_add(a, q);
	}
	json_object_object_add(o, "vqs", a);
	return o;
}

static void print_open_dev(const struct open_dev *d)
{
	int i;

	printf("  %s held by", node_paths[d->kind]);
	for (i = 0; i < d->nholders; i++)
		printf("%s %d (%s) fd %d", i ? "," : "", (int)d->holders[i].pid,
		       d->holders[i].comm, d->holders[i].fd);
	printf("\n    owner ");
	if (d->owner > 0)
		printf("%ld (%s)", d->owner, d->owner_comm);
	else
		printf("none (no VHOST_SET_OWNER yet)");
	printf(", %d queue%s, features 0x%016llx:", d->queues, d->queues == 1 ? "" : "s",
	       d->features);
	print_feature_names(d->features, d->kind == KIND_BLK);
	printf("\n    workers:");
	for (i = 0; i < d->nworkers; i++)
		printf(" %u (tid %d)", d->workers[i].id, d->workers[i].tid);
	if (!d->nworkers)
		printf(" none");
	printf("\n");
	if (d->kind == KIND_BLK)
		printf("    backend: %s\n", d->backend[0] ? d->backend : "none");
	for (i = 0; i < d->nvqs; i++) {
		const struct vq_info *v = &d->vqs[i];

		printf("    vq %d: worker %d, %u entries, %s%s, avail %u used %u", v->index,
		       v->worker, v->num, v->started ? "started" : "stopped",
		       v->broken ? ", BROKEN" : "", v->last_avail, v->last_used);
		if (d->kind == KIND_BLK)
			printf(", %s, %d in flight, helper tid %d",
			       v->running > 0 ? "running" : "not running", v->inflight,
			       v->helper);
		else
			printf(", backend %s", v->backend[0] ? v->backend : "none");
		printf("\n");
	}
}

static int info_usage(FILE *f)
{
	fprintf(f, "usage: %s info [--json]\n"
		"  The kvhost modules loaded (version, parameters), the device nodes and\n"
		"  what each offers, and every open kvhost device on the host: who holds\n"
		"  it, its owner, queues, workers and backend.  Root sees every process.\n",
		prog);
	return f == stdout ? 0 : 2;
}

int cmd_info(int argc, char **argv)
{
	json_object *root = NULL, *arr = NULL;
	bool json = false;
	struct scan s;
	int i, err;

	for (i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			json = true;
		else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			return info_usage(stdout);
		else
			return usage_error("info: unknown argument \"%s\" (try: %s info --help)",
					   argv[i], prog);
	}
	err = scan_all(&s);
	if (json) {
		root = json_object_new_object();
		json_object_object_add(root, "kvhostctl_version",
				       json_object_new_string(KVHOST_VERSION));
		json_object_object_add(root, "modules", info_modules(true));
		json_object_object_add(root, "device_nodes", info_nodes(&s, true));
		arr = json_object_new_array();
		for (i = 0; i < s.ndevs; i++)
			json_object_array_add(arr, open_dev_json(&s.devs[i]));
		json_object_object_add(root, "open_devices", arr);
		printf("%s\n", json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(root);
	} else {
		printf("kvhostctl %s\n", KVHOST_VERSION);
		info_modules(false);
		info_nodes(&s, false);
		printf("open devices: %d\n", s.ndevs);
		for (i = 0; i < s.ndevs; i++)
			print_open_dev(&s.devs[i]);
	}
	scan_free(&s);
	return err ? fail(err, "scanning /proc") : 0;
}

/* ---- stats ---- */

#define NET_COUNTERS	7
#define BLK_COUNTERS	13

/* One queue's counters at one moment, as numbers in a fixed order. */
struct queue_sample {
	int index;
	uint64_t c[BLK_COUNTERS];
	uint64_t lat[KVHOST_BLK_LAT_BUCKETS];
	uint32_t inflight, broken;
};

static const char *const net_counter_names[NET_COUNTERS] = {
	"packets", "bytes", "drops", "rejected", "kicks", "calls", "requeues",
};
static const char *const blk_counter_names[BLK_COUNTERS] = {
	"reads", "writes", "flushes", "discards", "write_zeroes", "get_ids",
	"unsupported", "read_bytes", "write_bytes", "errors", "punted", "kicks",
	"calls",
};

static int sample_net(int fd, struct queue_sample *q, int *nq)
{
	struct kvhost_net_stats st;
	int i;

	if (ioctl(fd, KVHOST_NET_GET_STATS, &st))
		return errno;
	for (i = 0; i < KVHOST_NET_VQ_MAX; i++) {
		const struct kvhost_net_vq_stats *v = &st.vq[i];
		uint64_t c[NET_COUNTERS] = { v->packets, v->bytes, v->drops, v->rejected,
					     v->kicks, v->calls, v->requeues };

		memset(&q[i], 0, sizeof(q[i]));
		q[i].index = i;
		memcpy(q[i].c, c, sizeof(c));
		q[i].broken = v->broken;
	}
	*nq = KVHOST_NET_VQ_MAX;
	return 0;
}

static int sample_blk(int fd, const struct open_dev *d, struct queue_sample *q, int *nq)
{
	struct kvhost_blk_queue_stats st;
	int i, j;

	for (i = 0; i < MAX_VQS; i++) {
		uint64_t *c = q[i].c;

		memset(&st, 0, sizeof(st));
		st.index = i;
		if (ioctl(fd, KVHOST_BLK_GET_STATS, &st))
			break;
		memset(&q[i], 0, sizeof(q[i]));
		q[i].index = i;
		c[0] = st.reads;
		c[1] = st.writes;
		c[2] = st.flushes;
		c[3] = st.discards;
		c[4] = st.write_zeroes;
		c[5] = st.get_ids;
		c[6] = st.unsupported;
		c[7] = st.read_bytes;
		c[8] = st.write_bytes;
		c[9] = st.errors;
		c[10] = st.punted;
		/* Kicks and calls are the core's, from fdinfo. */
		for (j = 0; j < d->nvqs; j++) {
			if (d->vqs[j].index == i) {
				c[11] = d->vqs[j].kicks;
				c[12] = d->vqs[j].calls;
			}
		}
		memcpy(q[i].lat, st.lat_hist, sizeof(q[i].lat));
		q[i].inflight = st.inflight;
		q[i].broken = st.broken;
	}
	*nq = i;
	/* ENOBUFS after the last queue in use. */
	return i ? 0 : errno;
}

/* The counters of every queue of @d now; 0 or errno. */
static int sample_dev(const struct open_dev *d, struct queue_sample *q, int *nq)
{
	int fd, err;

	err = get_fd(d->holders[0].pid, d->holders[0].fd, &fd);
	if (err)
		return err;
	err = d->kind == KIND_NET ? sample_net(fd, q, nq) : sample_blk(fd, d, q, nq);
	close(fd);
	return err;
}

static void sample_json(const struct open_dev *d, const struct queue_sample *now,
			const struct queue_sample *before, double secs, json_object *jq)
{
	const char *const *names = d->kind == KIND_NET ? net_counter_names : blk_counter_names;
	int n = d->kind == KIND_NET ? NET_COUNTERS : BLK_COUNTERS, i;
	json_object *rates = json_object_new_object(), *h;

	json_object_object_add(jq, "index", json_object_new_int(now->index));
	for (i = 0; i < n; i++) {
		json_object_object_add(jq, names[i], json_u64(now->c[i]));
		if (before)
			json_object_object_add(rates, names[i],
					       json_object_new_double((now->c[i] - before->c[i]) / secs));
	}
	json_object_object_add(jq, "broken", json_object_new_boolean(now->broken));
	if (before)
		json_object_object_add(jq, "per_second", rates);
	else
		json_object_put(rates);
	if (d->kind != KIND_BLK)
		return;
	json_object_object_add(jq, "inflight", json_object_new_int(now->inflight));
	h = json_object_new_array();
	for (i = 0; i < KVHOST_BLK_LAT_BUCKETS; i++)
		json_object_array_add(h, json_u64(now->lat[i]));
	json_object_object_add(jq, "latency_log2_us", h);
}

static void sample_print(const struct open_dev *d, const struct queue_sample *now,
			 const struct queue_sample *before, double secs)
{
	const char *const *names = d->kind == KIND_NET ? net_counter_names : blk_counter_names;
	int n = d->kind == KIND_NET ? NET_COUNTERS : BLK_COUNTERS, i;

	printf("    %s %d:", d->kind == KIND_NET ? (now->index ? "tx" : "rx") : "queue",
	       now->index);
	for (i = 0; i < n; i++) {
		printf(" %s=%" PRIu64, names[i], now->c[i]);
		if (before)
			printf(" (%.0f/s)", (now->c[i] - before->c[i]) / secs);
	}
	printf("%s", now->broken ? " BROKEN" : "");
	if (d->kind == KIND_BLK) {
		printf(" inflight=%u\n      latency_us", now->inflight);
		for (i = 0; i < KVHOST_BLK_LAT_BUCKETS; i++)
			if (now->lat[i])
				printf(" %s%llu:%" PRIu64,
				       i + 1 == KVHOST_BLK_LAT_BUCKETS ? ">=" : "<",
				       i + 1 == KVHOST_BLK_LAT_BUCKETS ? 1ULL << i : 2ULL << i,
				       now->lat[i]);
	}
	printf("\n");
}

static volatile sig_atomic_t stop_watch;

static void on_signal(int sig)
{
	(void)sig;
	stop_watch = 1;
}

static int stats_usage(FILE *f)
{
	fprintf(f, "usage: %s stats [--watch SECS] [--json]\n"
		"  The per-queue counters of every open kvhost device; with --watch, again\n"
		"  every SECS seconds (1..3600) with the rates since the last round, until\n"
		"  interrupted.  Needs root (or ptrace rights over the holders).\n", prog);
	return f == stdout ? 0 : 2;
}

#define WATCH_DEVS	16

/* The last round of --watch, to take rates against: keyed by holder. */
struct watch_prev {
	pid_t pid;
	int fd;
	int nq;
	struct queue_sample *q;
};

static struct watch_prev *watch_find(struct watch_prev *prev, const struct holder *h)
{
	int i;

	for (i = 0; prev && i < WATCH_DEVS; i++)
		if (prev[i].nq && prev[i].pid == h->pid && prev[i].fd == h->fd)
			return &prev[i];
	return NULL;
}

/* One round: every device's queues, with rates against @prev if given. */
static int stats_round(bool json, double secs, struct watch_prev *prev)
{
	static struct queue_sample q[MAX_VQS];
	json_object *root = json ? json_object_new_array() : NULL;
	struct watch_prev next[WATCH_DEVS] = { 0 };
	struct scan s;
	int i, j, nq, err = scan_all(&s);

	if (!json)
		printf("open devices: %d\n", s.ndevs);
	for (i = 0; i < s.ndevs; i++) {
		const struct open_dev *d = &s.devs[i];
		const struct holder *h = &d->holders[0];
		struct watch_prev *last = watch_find(prev, h);
		json_object *jd = NULL, *jqs = NULL;

		nq = 0;
		err = sample_dev(d, q, &nq) ?: err;
		if (json) {
			jd = json_object_new_object();
			jqs = json_object_new_array();
			json_object_object_add(jd, "path", json_object_new_string(node_paths[d->kind]));
			json_object_object_add(jd, "pid", json_object_new_int(h->pid));
			json_object_object_add(jd, "fd", json_object_new_int(h->fd));
			json_object_object_add(jd, "comm", json_object_new_string(h->comm));
		} else {
			printf("  %s of %d (%s) fd %d\n", node_paths[d->kind], (int)h->pid,
			       h->comm, h->fd);
		}
		for (j = 0; j < nq; j++) {
			const struct queue_sample *before = last && j < last->nq ? &last->q[j] : NULL;

			if (json) {
				json_object *jq = json_object_new_object();

				sample_json(d, &q[j], before, secs, jq);
				json_object_array_add(jqs, jq);
			} else {
				sample_print(d, &q[j], before, secs);
			}
		}
		if (json) {
			json_object_object_add(jd, "queues", jqs);
			json_object_array_add(root, jd);
		}
		/* Kept for the next round, in the slot order of this one. */
		if (prev && i < WATCH_DEVS) {
			next[i] = (struct watch_prev){ .pid = h->pid, .fd = h->fd, .nq = nq,
						       .q = malloc(nq * sizeof(q[0]) + 1) };
			if (next[i].q)
				memcpy(next[i].q, q, nq * sizeof(q[0]));
			else
				next[i].nq = 0;
		}
	}
	if (json) {
		printf("%s\n", json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(root);
	}
	fflush(stdout);
	scan_free(&s);
	for (i = 0; prev && i < WATCH_DEVS; i++) {
		free(prev[i].q);
		prev[i] = next[i];
	}
	return err;
}

int cmd_stats(int argc, char **argv)
{
	struct watch_prev prev[WATCH_DEVS] = { 0 };
	long watch = 0;
	bool json = false;
	int i, err;

	for (i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--json")) {
			json = true;
		} else if (!strcmp(argv[i], "--watch") && i + 1 < argc) {
			watch = parse_num(argv[++i], 1, 3600);
			if (watch < 0)
				return usage_error("stats: --watch takes whole seconds, 1..3600, not \"%s\"",
						   argv[i]);
		} else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			return stats_usage(stdout);
		} else {
			return usage_error("stats: unknown argument \"%s\" (try: %s stats --help)",
					   argv[i], prog);
		}
	}
	if (!watch) {
		err = stats_round(json, 0, NULL);
		return err ? fail(err, "reading the counters") : 0;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	for (err = 0; !stop_watch;) {
		struct timespec t = { .tv_sec = watch };

		err = stats_round(json, (double)watch, prev);
		while (!stop_watch && nanosleep(&t, &t) && errno == EINTR)
			;
	}
	for (i = 0; i < WATCH_DEVS; i++)
		free(prev[i].q);
	return err ? fail(err, "reading the counters") : 0;
}
