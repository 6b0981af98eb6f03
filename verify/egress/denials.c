/* denials.c - see denials.h; the line parser is denials_line.c.
 * The log is written by the VMM on the host, not by the guest, but part of one line kind
 * ("resolve <name>") is the guest's text, so every line is held to smolvm's exact bytes:
 * an address must be the very text Rust's Display prints for it (re-formatted and
 * compared), the timestamp must be humantime's, and nothing else may follow. Reading is
 * streamed through one fixed line buffer; the set is capped; nothing grows with the file. */
#include "egress/denials.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/cleanup.h"


#define READ_CHUNK (64 * 1024)

/* ---- the set: distinct (op, family, address, port), hash-indexed ---- */

static size_t set_max(const struct denial_set *s)
{
	return s->max && s->max < DENIALS_MAX ? s->max : DENIALS_MAX;
}

static bool same_key(const struct denial *a, const struct denial *b)
{
	return a->op == b->op && a->family == b->family && a->port == b->port &&
	       memcmp(a->addr, b->addr, sizeof a->addr) == 0;
}

static uint64_t mix64(uint64_t k) /* murmur3's fmix64: a bijection that spreads every bit */
{
	k = (k ^ (k >> 33)) * 0xff51afd7ed558ccdull;
	k = (k ^ (k >> 33)) * 0xc4ceb9fe1a85ec53ull;
	return k ^ (k >> 33);
}

/* Keyed with the set's random seed: the guest picks the addresses and ports, so with a
 * fixed hash it could pick colliding ones and make each insert walk the whole table. */
static uint64_t key_hash(const struct denial_set *s, const struct denial *d)
{
	uint64_t w[2];
	memcpy(w, d->addr, sizeof w);
	uint64_t tail = (uint64_t)d->op << 32 | (uint64_t)(d->family == AF_INET6) << 16 | d->port;
	return mix64(mix64(mix64(s->seed ^ w[0]) ^ w[1]) ^ tail);
}

static void set_seed(struct denial_set *s)
{
	struct timespec ts;
	if (getrandom(&s->seed, sizeof s->seed, GRND_NONBLOCK) == (ssize_t)sizeof s->seed)
		return;
	clock_gettime(CLOCK_MONOTONIC, &ts); /* weaker, but never fatal */
	s->seed = mix64((uint64_t)ts.tv_nsec ^ (uint64_t)ts.tv_sec << 30 ^ (uint64_t)(uintptr_t)s);
}

/* The slot holding d's key, or the empty slot where it would go (nslots > 0). */
static size_t slot_of(const struct denial_set *s, const struct denial *d)
{
	size_t mask = s->nslots - 1, i = (size_t)(key_hash(s, d) & mask);
	while (s->slots[i] && !same_key(&s->items[s->slots[i] - 1].d, d))
		i = (i + 1) & mask;
	return i;
}

/* Room for one more item, the index kept at most half full. */
static int set_reserve(struct denial_set *s, struct bv_error *err)
{
	if (s->len == s->nslots / 2) {
		size_t n = s->nslots ? s->nslots * 2 : 64;
		if (!s->nslots)
			set_seed(s);
		uint32_t *slots = calloc(n, sizeof *slots);
		struct denial_entry *items = realloc(s->items, n / 2 * sizeof *items);
		if (items)
			s->items = items;
		if (!slots || !items) {
			free(slots);
			return bv_error_set(err, ENOMEM, "out of memory for %zu denials", s->len + 1);
		}
		free(s->slots);
		s->slots = slots;
		s->nslots = n;
		for (size_t i = 0; i < s->len; i++)
			s->slots[slot_of(s, &s->items[i].d)] = (uint32_t)(i + 1);
	}
	return 0;
}

static int set_add(struct denial_set *s, const struct denial *d, struct bv_error *err)
{
	size_t i = s->nslots ? slot_of(s, d) : 0;
	if (s->nslots && s->slots[i]) {
		struct denial_entry *e = &s->items[s->slots[i] - 1];
		if (e->count < UINT32_MAX)
			e->count++;
		if (d->time > e->last)
			e->last = d->time;
		return 0;
	}
	if (s->len >= set_max(s)) {
		s->truncated = true;
		return 0;
	}
	int r = set_reserve(s, err);
	if (r < 0)
		return r;
	s->items[s->len] = (struct denial_entry){ .d = *d, .last = d->time, .count = 1 };
	s->slots[slot_of(s, d)] = (uint32_t)++s->len;
	return 0;
}

const struct denial_entry *denials_find(const struct denial_set *s, enum denial_op op,
					const struct sockaddr *sa)
{
	struct denial key = { .op = op };
	union { struct sockaddr_in in; struct sockaddr_in6 in6; } u;
	if (!s || !sa || s->nslots == 0 || (sa->sa_family != AF_INET && sa->sa_family != AF_INET6))
		return NULL;
	key.family = sa->sa_family;
	memcpy(&u, sa, key.family == AF_INET ? sizeof u.in : sizeof u.in6);
	if (key.family == AF_INET)
		memcpy(key.addr, &u.in.sin_addr, 4);
	else
		memcpy(key.addr, &u.in6.sin6_addr, 16);
	key.port = ntohs(key.family == AF_INET ? u.in.sin_port : u.in6.sin6_port);
	size_t i = slot_of(s, &key);
	return s->slots[i] ? &s->items[s->slots[i] - 1] : NULL;
}

bool denials_has(const struct denial_set *s, enum denial_op op, const struct sockaddr *sa)
{
	return denials_find(s, op, sa) != NULL;
}

void denial_set_free(struct denial_set *s)
{
	free(s->items);
	free(s->slots);
	*s = (struct denial_set){ .max = s->max };
}

/* ---- lines out of a byte stream ---- */

struct feed {
	struct denial_set *s;
	bool skip;      /* drop through the first '\n': the end of a line begun before the mark */
	bool overlong;  /* the line so far is longer than DENIAL_LINE_MAX */
	size_t len;
	char line[DENIAL_LINE_MAX];
};

int denial_set_add_line(struct denial_set *s, const char *line, size_t len, bool overlong, struct bv_error *err)
{
	struct denial d;
	switch (overlong ? DENIAL_LINE_MALFORMED : denial_parse_line(line, len, &d)) {
	case DENIAL_LINE_MALFORMED:
		s->n_malformed++;
		return 0;
	case DENIAL_LINE_IGNORED:
		s->n_ignored++;
		return 0;
	case DENIAL_LINE_DENIAL:
		s->n_denials++;
		return set_add(s, &d, err);
	}
	return 0;
}

static int feed_line(struct feed *f, struct bv_error *err)
{
	int r = denial_set_add_line(f->s, f->line, f->len, f->overlong, err);
	f->len = 0;
	f->overlong = false;
	return r;
}

static int feed(struct feed *f, const char *buf, size_t n, struct bv_error *err)
{
	while (n > 0) {
		const char *nl = memchr(buf, '\n', n);
		size_t take = nl ? (size_t)(nl - buf) : n;
		if (f->skip) {
			f->skip = nl == NULL;
		} else {
			if (f->overlong || take > DENIAL_LINE_MAX - f->len)
				f->overlong = true;
			else
				memcpy(f->line + f->len, buf, take);
			f->len += f->overlong ? 0 : take;
			int r = nl ? feed_line(f, err) : 0;
			if (r < 0)
				return r;
		}
		take += nl != NULL;
		buf += take;
		n -= take;
	}
	return 0;
}

/* The stream ended. In the live file an unterminated tail is a line still being written
 * (record_denial writes the text, then the '\n'); in .1, which nothing writes any more,
 * it is a malformed line. */
static void feed_end(struct feed *f, bool live)
{
	bool tail = !f->skip && (f->len > 0 || f->overlong);
	f->s->partial |= tail && live;
	f->s->n_malformed += tail && !live;
	f->len = 0;
	f->overlong = f->skip = false;
}

int denials_parse_buffer(const char *buf, size_t len, struct denial_set *out,
			 struct bv_error *err)
{
	struct feed f = { .s = out };
	int r = feed(&f, buf, len, err);
	if (r == 0)
		feed_end(&f, true);
	return r;
}

/* ---- the files ---- */

int denials_path(const char *data_dir, bool rotated, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s/%s%s", data_dir, DENIALS_LOG_NAME, rotated ? ".1" : "");
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static int log_path(const char *data_dir, bool rotated, char path[PATH_MAX], struct bv_error *err)
{
	if (denials_path(data_dir, rotated, path, PATH_MAX) < 0)
		return bv_error_set(err, ENAMETOOLONG, "egress denial log path too long under %s", data_dir);
	return 0;
}

/* One log opened for reading: fd -1 when absent. */
struct log_file {
	int fd;
	struct stat st;
	char path[PATH_MAX];
};

/* Open one log, never through a symlink, and only ever a regular file. */
static int open_log(const char *data_dir, bool rotated, struct log_file *lf, struct bv_error *err)
{
	lf->fd = -1;
	int r = log_path(data_dir, rotated, lf->path, err);
	if (r < 0)
		return r;
	int fd = open(lf->path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return errno == ENOENT ? 0 : bv_error_errno(err, errno, "egress denial log %s", lf->path);
	if (fstat(fd, &lf->st) < 0)
		r = bv_error_errno(err, errno, "egress denial log %s", lf->path);
	else if (!S_ISREG(lf->st.st_mode))
		r = bv_error_set(err, EINVAL, "egress denial log %s is not a regular file", lf->path);
	if (r < 0) {
		close(fd);
		return r;
	}
	lf->fd = fd;
	return 0;
}

int denials_mark(const char *data_dir, struct denials_mark *m, struct bv_error *err)
{
	struct log_file lf;
	*m = (struct denials_mark){ .fd = -1, .rot_fd = -1 };
	int r = open_log(data_dir, false, &lf, err);
	if (r < 0)
		return r;
	if (lf.fd >= 0) {
		*m = (struct denials_mark){ .present = true, .fd = lf.fd, .rot_fd = -1,
					    .dev = lf.st.st_dev, .ino = lf.st.st_ino, .size = lf.st.st_size };
		return 0;
	}
	r = open_log(data_dir, true, &lf, err);
	if (r == 0 && lf.fd >= 0)
		*m = (struct denials_mark){ .rot_present = true, .fd = -1, .rot_fd = lf.fd,
					    .rot_dev = lf.st.st_dev, .rot_ino = lf.st.st_ino };
	return r;
}

void denials_mark_release(struct denials_mark *m)
{
	if (m->fd >= 0)
		close(m->fd);
	if (m->rot_fd >= 0)
		close(m->rot_fd);
	m->fd = m->rot_fd = -1;
}

/* Bytes [from, to) of one log to stream; from is one before the mark's offset, so a
 * mark that cut a line shows as a first line to skip. */
struct span {
	const struct log_file *lf;
	off_t from, to;
	bool skip, live;
};

static bool same_file(const struct stat *st, dev_t dev, ino_t ino)
{
	return st->st_dev == dev && st->st_ino == ino;
}

static int add_span(struct span *sp, size_t *n, const struct log_file *lf, off_t mark, bool live,
		    struct bv_error *err)
{
	if (lf->st.st_size < mark)
		return bv_error_set(err, ESTALE, "egress denial log %s shrank below the mark (%lld < %lld bytes): the record of refusals is incomplete",
				    lf->path, (long long)lf->st.st_size, (long long)mark);
	sp[(*n)++] = (struct span){ .lf = lf, .from = mark > 0 ? mark - 1 : 0, .to = lf->st.st_size,
				    .skip = mark > 0, .live = live };
	return 0;
}

static int plan_spans(const struct denials_mark *m, const struct log_file *live,
		      const struct log_file *rot, struct span sp[2], size_t *n, struct bv_error *err)
{
	int r = 0;
	*n = 0;
	if (!m->present) {
		bool rot_new = rot->fd >= 0 && !(m->rot_present && same_file(&rot->st, m->rot_dev, m->rot_ino));
		if (rot_new)
			r = add_span(sp, n, rot, 0, false, err);
		if (r == 0 && live->fd >= 0)
			r = add_span(sp, n, live, 0, true, err);
		return r;
	}
	if (live->fd >= 0 && same_file(&live->st, m->dev, m->ino))
		return add_span(sp, n, live, m->size, true, err);
	if (rot->fd < 0 || !same_file(&rot->st, m->dev, m->ino))
		return bv_error_set(err, ESTALE, "egress denial log %s: the file marked at the start of the run is gone (rotated twice past %ld bytes, or replaced): the record of refusals is incomplete",
				    live->path, DENIALS_ROTATE_BYTES);
	r = add_span(sp, n, rot, m->size, false, err);
	if (r == 0 && live->fd >= 0)
		r = add_span(sp, n, live, 0, true, err);
	return r;
}

static int read_span(const struct span *sp, char *buf, struct denial_set *out, struct bv_error *err)
{
	struct feed f = { .s = out, .skip = sp->skip };
	off_t at = sp->from;
	while (at < sp->to) {
		size_t want = sp->to - at < READ_CHUNK ? (size_t)(sp->to - at) : READ_CHUNK;
		ssize_t got = pread(sp->lf->fd, buf, want, at);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return bv_error_errno(err, errno, "read %s", sp->lf->path);
		if (got == 0)
			return bv_error_set(err, ESTALE, "egress denial log %s shrank while read: the record of refusals is incomplete", sp->lf->path);
		int r = feed(&f, buf, (size_t)got, err);
		if (r < 0)
			return r;
		at += got;
	}
	feed_end(&f, sp->live);
	return 0;
}

static int read_spans(const struct span *sp, size_t n, struct denial_set *out, struct bv_error *err)
{
	off_t total = 0;
	for (size_t i = 0; i < n; i++)
		total += sp[i].to - sp[i].from;
	if (total > DENIALS_READ_MAX)
		return bv_error_set(err, EFBIG, "egress denial log %s: %lld bytes since the mark, more than smolvm's rotation leaves (%ld)",
				    sp[0].lf->path, (long long)total, DENIALS_READ_MAX);
	_cleanup_free_ char *buf = malloc(READ_CHUNK);
	if (!buf)
		return bv_error_set(err, ENOMEM, "out of memory reading the egress denial log");
	for (size_t i = 0; i < n; i++) {
		int r = read_span(&sp[i], buf, out, err);
		if (r < 0)
			return r;
	}
	return 0;
}

int denials_read_since(const char *data_dir, const struct denials_mark *m,
		       struct denial_set *out, struct bv_error *err)
{
	struct log_file live = { .fd = -1 }, rot = { .fd = -1 };
	struct span sp[2];
	size_t n = 0;
	int r = open_log(data_dir, false, &live, err);
	if (r == 0)
		r = open_log(data_dir, true, &rot, err);
	if (r == 0)
		r = plan_spans(m, &live, &rot, sp, &n, err);
	if (r == 0)
		r = read_spans(sp, n, out, err);
	cleanup_closep(&live.fd);
	cleanup_closep(&rot.fd);
	return r;
}
