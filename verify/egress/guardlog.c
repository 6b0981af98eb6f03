/* guardlog.c - see guardlog.h
 * dnsmasq 2.90 with --log-queries=extra writes, per query,
 *   "Nov 30 16:03:36 dnsmasq[13800]: 2 127.0.0.1/59675 query[A] d3.r1.exfil.test from 127.0.0.1"
 * then "config NAME is ..." for a name it answers itself, or "forwarded NAME to ADDR" for
 * one it sends upstream (the guard has no upstream, so that line means it is no guard).
 * The guest chooses NAME, spaces included: the name ends at the line's last " from " or
 * " to ", which dnsmasq writes after it. */
#include "egress/guardlog.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *find_in(const char *s, size_t len, const char *what)
{
	size_t w = strlen(what);
	for (size_t i = 0; i + w <= len; i++)
		if (memcmp(s + i, what, w) == 0)
			return s + i;
	return NULL;
}

static const char *find_last(const char *s, size_t len, const char *what)
{
	size_t w = strlen(what);
	for (size_t i = len >= w ? len - w + 1 : 0; i-- > 0;)
		if (memcmp(s + i, what, w) == 0)
			return s + i;
	return NULL;
}

/* Skip "TOKEN " where every byte of TOKEN passes ok(); NULL when it does not. */
static const char *skip_token(const char *p, const char *end, int (*ok)(int))
{
	const char *q = p;
	while (q < end && *q != ' ' && ok((unsigned char)*q))
		q++;
	return q > p && q < end && *q == ' ' ? q + 1 : NULL;
}

static int addr_char(int c)
{
	return isxdigit(c) || c == '.' || c == ':' || c == '/';
}

static bool copy_name(const char *from, const char *to, char *name, size_t cap)
{
	size_t n = (size_t)(to - from);
	if (to <= from || n >= cap || n >= GUARDLOG_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		name[i] = (char)tolower((unsigned char)from[i]);
	name[n] = '\0';
	return true;
}

enum guardlog_line guardlog_parse_line(const char *line, size_t len, char *name, size_t cap)
{
	const char *end = line + len, *p = find_in(line, len, "dnsmasq[");
	if (!p || memchr(line, '\0', len))
		return GUARDLOG_OTHER;
	const char *q = p + 8;
	while (q < end && isdigit((unsigned char)*q))
		q++;
	if (q == p + 8 || end - q < 3 || memcmp(q, "]: ", 3) != 0)
		return GUARDLOG_OTHER;
	if (!(p = skip_token(q + 3, end, isdigit)) || !(p = skip_token(p, end, addr_char)))
		return GUARDLOG_OTHER;
	size_t rest = (size_t)(end - p);
	if (rest > 6 && memcmp(p, "query[", 6) == 0) {
		const char *close = find_in(p, rest, "] "), *from = find_last(p, rest, " from ");
		if (close && from && copy_name(close + 2, from, name, cap))
			return GUARDLOG_QUERY;
	} else if (rest > 10 && memcmp(p, "forwarded ", 10) == 0) {
		const char *to = find_last(p, rest, " to ");
		if (to && copy_name(p + 10, to, name, cap))
			return GUARDLOG_FORWARDED;
	}
	return GUARDLOG_OTHER;
}

static bool has_suffix(const char *name, const char *suffix)
{
	size_t n = strlen(name), k = suffix ? strlen(suffix) : 0;
	return !suffix || (n >= k && strcasecmp(name + n - k, suffix) == 0);
}

static int add_name(char **buf, size_t *len, size_t *cap, size_t *count, const char *name)
{
	size_t n = strlen(name) + 1;
	if (*len + n > *cap) {
		size_t c = *cap ? *cap : 1024;
		while (c < *len + n)
			c *= 2;
		char *grown = realloc(*buf, c);
		if (!grown)
			return -ENOMEM;
		*buf = grown;
		*cap = c;
	}
	memcpy(*buf + *len, name, n);
	*len += n;
	(*count)++;
	return 0;
}

static int parse_buffer(const char *buf, size_t len, struct guardlog_names *out)
{
	char name[GUARDLOG_NAME_MAX];
	for (const char *p = buf, *end = buf + len; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			break; /* still being written */
		enum guardlog_line k = guardlog_parse_line(p, (size_t)(nl - p), name, sizeof name);
		int r = 0;
		if (k != GUARDLOG_OTHER && !has_suffix(name, out->suffix))
			out->n_other++;
		else if (k == GUARDLOG_QUERY)
			r = add_name(&out->asked, &out->asked_len, &out->asked_cap, &out->n_asked, name);
		else if (k == GUARDLOG_FORWARDED)
			r = add_name(&out->forwarded, &out->forwarded_len, &out->forwarded_cap, &out->n_forwarded, name);
		if (r < 0)
			return r;
		p = nl + 1;
	}
	return 0;
}

int guardlog_mark(const char *path, struct guardlog_mark *m, struct bv_error *err)
{
	struct stat st;
	memset(m, 0, sizeof *m);
	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : bv_error_errno(err, errno, "%s", path);
	if (!S_ISREG(st.st_mode))
		return bv_error_set(err, EINVAL, "%s is not a regular file", path);
	*m = (struct guardlog_mark){ .present = true, .dev = st.st_dev, .ino = st.st_ino, .size = st.st_size };
	return 0;
}

int guardlog_read_since(const char *path, const struct guardlog_mark *m, struct guardlog_names *out,
			struct bv_error *err)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return errno == ENOENT && !m->present ? 0 : bv_error_errno(err, errno, "%s", path);
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return bv_error_set(err, EINVAL, "%s is not a regular file", path);
	}
	off_t from = m->present ? m->size : 0;
	if (m->present && (st.st_dev != m->dev || st.st_ino != m->ino || st.st_size < m->size)) {
		close(fd);
		return bv_error_set(err, ESTALE, "%s was replaced or truncated during the run: its record is incomplete", path);
	}
	if (st.st_size - from > GUARDLOG_READ_MAX) {
		close(fd);
		return bv_error_set(err, EFBIG, "%s grew by more than %ld bytes during the run", path, GUARDLOG_READ_MAX);
	}
	size_t len = (size_t)(st.st_size - from);
	char *buf = malloc(len + 1);
	ssize_t got = buf ? pread(fd, buf, len, from) : -1;
	close(fd);
	int r = !buf ? -ENOMEM : got < 0 ? -errno : parse_buffer(buf, (size_t)got, out);
	free(buf);
	return r < 0 ? bv_error_errno(err, -r, "read %s", path) : 0;
}

static bool listed(const char *buf, size_t len, const char *name)
{
	for (size_t i = 0; i < len; i += strlen(buf + i) + 1)
		if (strcasecmp(buf + i, name) == 0)
			return true;
	return false;
}

bool guardlog_asked(const struct guardlog_names *g, const char *name)
{
	return listed(g->asked, g->asked_len, name);
}

bool guardlog_forwarded(const struct guardlog_names *g, const char *name)
{
	return listed(g->forwarded, g->forwarded_len, name);
}

void guardlog_names_free(struct guardlog_names *g)
{
	const char *suffix = g->suffix;
	free(g->asked);
	free(g->forwarded);
	memset(g, 0, sizeof *g);
	g->suffix = suffix;
}
