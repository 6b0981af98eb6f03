/* sink.c - see sink.h */
#include "egress/sink.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "probe/plan.h"

#define SINK_MAX 64
#define CONN_MAX 1024
#define CONN_BUF 600
#define SCAN_BUF (64u * 1024u)
#define SINK_STOP_MS 5000

struct sink_set {
	size_t n;
	int fds[SINK_MAX];
	enum sink_kind kinds[SINK_MAX];
	struct sockaddr_storage bound[SINK_MAX];
	pid_t child;
	int stop_w;    /* closing it tells the child to exit */
	int log_fd;    /* memfd the child appends "ID\n" lines to */
	char run[PLAN_RUN_MAX + 1];
	char *seen;    /* log contents: so far (sinks_peek), or all of it after stop */
	size_t seen_len;
};

struct conn {
	int fd;
	size_t sink; /* which sink accepted it: tokens are logged with it */
	enum sink_kind kind;
	size_t len, cap;
	bool answered; /* SINK_SCAN: the HTTP answer went out */
	char *buf;
};

static int token_end(const char *s, size_t len, size_t i)
{
	while (i < len && s[i] != ' ' && s[i] != '\n' && s[i] != '\r')
		i++;
	return (int)i;
}

int sink_nonce_from_payload(const char *buf, size_t len, const char *run, char *id, size_t idlen)
{
	size_t rl = strlen(run);
	if (len < 4 || memcmp(buf, "BV1 ", 4) != 0 || len < 4 + rl + 2 ||
	    memcmp(buf + 4, run, rl) != 0 || buf[4 + rl] != ' ')
		return -1;
	size_t start = 4 + rl + 1, end = (size_t)token_end(buf, len, start);
	if (end == start || end - start >= idlen || end - start > PLAN_ID_MAX)
		return -1;
	memcpy(id, buf + start, end - start);
	id[end - start] = '\0';
	return plan_token_ok(id, PLAN_ID_MAX) ? 0 : -1;
}

/* The first two labels of the question name: ID and RUN. */
int sink_nonce_from_qname(const unsigned char *msg, size_t len, const char *run, char *id,
			  size_t idlen)
{
	if (len < 13 || (msg[4] == 0 && msg[5] == 0))
		return -1;
	size_t l1 = msg[12];
	if (l1 == 0 || l1 > 63 || 13 + l1 >= len || l1 >= idlen)
		return -1;
	size_t l2 = msg[13 + l1];
	size_t rl = strlen(run);
	/* Case-insensitive: a forwarding resolver may randomise the case (0x20 bit). */
	if (l2 != rl || 14 + l1 + l2 > len || strncasecmp((const char *)msg + 14 + l1, run, rl) != 0)
		return -1;
	for (size_t i = 0; i < l1; i++)
		id[i] = (char)((msg[13 + i] >= 'A' && msg[13 + i] <= 'Z') ? msg[13 + i] + 32 : msg[13 + i]);
	id[l1] = '\0';
	return plan_token_ok(id, PLAN_ID_MAX) ? 0 : -1;
}

static void log_id(int log_fd, const char *id)
{
	char line[SINK_TOKEN_LEN + 20];
	int n = snprintf(line, sizeof line, "%s\n", id);
	if (n <= 0 || (size_t)n >= sizeof line || write(log_fd, line, (size_t)n) != n)
		_exit(3); /* a lost record must not look like silence: the parent sees exit 3 */
}

static bool token_char(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z');
}

void sink_scan(const char *buf, size_t len, const char *run, void (*found)(const char *what, void *ctx),
	       void *ctx)
{
	char id[PLAN_ID_MAX + 1], tok[SINK_TOKEN_LEN + 2];
	for (size_t i = 0; i < len; i++) {
		if (buf[i] == 'B' && sink_nonce_from_payload(buf + i, len - i, run, id, sizeof id) == 0)
			found(id, ctx);
		if (i + SINK_TOKEN_LEN > len || buf[i + 3] != '_' ||
		    (memcmp(buf + i, "ghp", 3) != 0 && memcmp(buf + i, "bvn", 3) != 0))
			continue;
		size_t k = 4;
		while (k < SINK_TOKEN_LEN && token_char(buf[i + k]))
			k++;
		if (k != SINK_TOKEN_LEN)
			continue;
		/* "~" keeps tokens apart from probe ids in the log */
		tok[0] = '~';
		memcpy(tok + 1, buf + i, SINK_TOKEN_LEN);
		tok[SINK_TOKEN_LEN + 1] = '\0';
		found(tok, ctx);
	}
}

struct found_ctx {
	int log_fd;
	size_t sink;
};

/* Nonces as "ID"; tokens as "~TOKEN@SINK", so a control can demand its own sink. */
static void log_found(const char *what, void *ctx)
{
	const struct found_ctx *f = ctx;
	char line[SINK_TOKEN_LEN + 16];
	if (what[0] != '~') {
		log_id(f->log_fd, what);
		return;
	}
	snprintf(line, sizeof line, "%s@%zu", what, f->sink);
	log_id(f->log_fd, line);
}

/* Turn a DNS query into an NXDOMAIN answer in place. */
static void make_nxdomain(unsigned char *msg)
{
	msg[2] = (unsigned char)(0x80 | (msg[2] & 0x79)); /* QR, keep opcode and RD */
	msg[3] = 0x83;                                     /* RA, NXDOMAIN */
	msg[6] = msg[7] = msg[8] = msg[9] = msg[10] = msg[11] = 0;
}

/* An echo request's data: after the IPv4 header (a raw IPv4 socket reads it) and the 8
 * bytes of ICMP header; NULL when buf is no echo request. */
static const unsigned char *echo_data(const unsigned char *buf, size_t n, int family, size_t *len)
{
	size_t off = 0;
	if (family == AF_INET) {
		if (n < 20 || (buf[0] >> 4) != 4)
			return NULL;
		off = (size_t)(buf[0] & 15) * 4;
	}
	if (n < off + 8 || buf[off] != (family == AF_INET ? 8 : 128) || buf[off + 1] != 0)
		return NULL;
	*len = n - off - 8;
	return buf + off + 8;
}

static bool serve_datagram(int fd, enum sink_kind kind, const char *run, int log_fd)
{
	unsigned char buf[CONN_BUF];
	struct sockaddr_storage from;
	socklen_t flen = sizeof from;
	char id[PLAN_ID_MAX + 1];
	ssize_t n = recvfrom(fd, buf, sizeof buf, MSG_DONTWAIT, (struct sockaddr *)&from, &flen);
	if (n <= 0)
		return false;
	size_t dlen = 0;
	const unsigned char *echo = kind == SINK_ICMP ? echo_data(buf, (size_t)n, from.ss_family, &dlen) : NULL;
	int got = kind == SINK_DNS_UDP ? sink_nonce_from_qname(buf, (size_t)n, run, id, sizeof id)
		  : kind == SINK_ICMP	? (echo ? sink_nonce_from_payload((const char *)echo, dlen, run, id, sizeof id) : -1)
					: sink_nonce_from_payload((const char *)buf, (size_t)n, run, id, sizeof id);
	if (got == 0)
		log_id(log_fd, id);
	if (kind == SINK_DNS_UDP && n >= 12) {
		make_nxdomain(buf);
		sendto(fd, buf, (size_t)n, MSG_DONTWAIT, (struct sockaddr *)&from, flen);
	} else if (kind == SINK_UDP) {
		sendto(fd, "ACK\n", 4, MSG_DONTWAIT, (struct sockaddr *)&from, flen);
	}
	return true;
}

static void conn_close(struct conn **slot)
{
	close((*slot)->fd);
	free((*slot)->buf);
	free(*slot);
	*slot = NULL;
}

/* Is an HTTP request complete (head, and the body its Content-Length announces)? The
 * digits are read within the head only, and capped. */
static bool http_complete(const char *b, size_t len)
{
	const char *end = memmem(b, len, "\r\n\r\n", 4);
	if (!end)
		return false;
	size_t head = (size_t)(end - b) + 4, body = 0;
	for (const char *p = b; p && p < end; p = memchr(p, '\n', (size_t)(end - p))) {
		p += *p == '\n';
		if ((size_t)(end - p) <= 15 || strncasecmp(p, "content-length:", 15) != 0)
			continue;
		const char *d = p + 15;
		while (d < end && *d == ' ')
			d++;
		for (body = 0; d < end && *d >= '0' && *d <= '9' && body < SCAN_BUF; d++)
			body = body * 10 + (size_t)(*d - '0');
	}
	return len >= head + body;
}

/* An upstream stand-in: keep reading; answer an HTTP request once it is complete, so a
 * forwarding proxy finishes; scan everything when the peer closes or the buffer fills. */
static void serve_scan(struct conn **slot, const char *run, int log_fd)
{
	struct found_ctx f = { log_fd, (*slot)->sink };
	struct conn *c = *slot;
	ssize_t n = read(c->fd, c->buf + c->len, c->cap - c->len);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n > 0)
		c->len += (size_t)n;
	if (!c->answered && c->len > 4 && memcmp(c->buf, "BV1 ", 4) != 0 && http_complete(c->buf, c->len)) {
		static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n";
		(void)!write(c->fd, ok, sizeof ok - 1);
		c->answered = true;
	}
	if (n > 0 && c->len < c->cap)
		return;
	sink_scan(c->buf, c->len, run, log_found, &f);
	conn_close(slot);
}

/* Read what the peer sends; decide once a line (TCP) or a whole length-prefixed query
 * (DNS over TCP) is in, or the buffer is full, or the peer closed. */
static void serve_stream(struct conn **slot, const char *run, int log_fd)
{
	struct conn *c = *slot;
	char id[PLAN_ID_MAX + 1];
	ssize_t n = read(c->fd, c->buf + c->len, c->cap - c->len);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n > 0)
		c->len += (size_t)n;
	bool dns = c->kind == SINK_DNS_TCP;
	size_t want = dns && c->len >= 2 ? 2 + ((size_t)(unsigned char)c->buf[0] << 8 | (unsigned char)c->buf[1]) : 0;
	bool done = n <= 0 || c->len == c->cap || (dns ? want && c->len >= want : memchr(c->buf, '\n', c->len) != NULL);
	if (!done)
		return;
	int got = dns ? (c->len > 2 ? sink_nonce_from_qname((unsigned char *)c->buf + 2, c->len - 2, run, id, sizeof id) : -1)
		      : sink_nonce_from_payload(c->buf, c->len, run, id, sizeof id);
	if (got == 0)
		log_id(log_fd, id);
	if (dns && c->len >= 14) {
		make_nxdomain((unsigned char *)c->buf + 2);
		(void)!write(c->fd, c->buf, c->len < want ? c->len : want);
	} else if (!dns) {
		(void)!write(c->fd, "ACK\n", 4);
	}
	conn_close(slot);
}

static int conn_add(int ep, struct conn **conns, int lfd, enum sink_kind kind, size_t sink)
{
	int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return -1;
	for (size_t k = 0; k < CONN_MAX; k++) {
		if (conns[k])
			continue;
		conns[k] = calloc(1, sizeof **conns);
		size_t cap = kind == SINK_SCAN ? SCAN_BUF : CONN_BUF;
		if (conns[k] && !(conns[k]->buf = malloc(cap)))
			free(conns[k]), conns[k] = NULL;
		if (!conns[k])
			break;
		conns[k]->fd = fd;
		conns[k]->sink = sink;
		conns[k]->kind = kind;
		conns[k]->cap = cap;
		struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP, .data.u64 = SINK_MAX + k };
		if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == 0)
			return 0;
		conn_close(&conns[k]);
		return -1;
	}
	close(fd);
	return -1;
}

static void dispatch(int ep, struct sink_set *s, struct conn **conns, unsigned long long tag)
{
	if (tag < s->n) {
		enum sink_kind k = s->kinds[tag];
		if (k == SINK_TCP || k == SINK_DNS_TCP || k == SINK_SCAN)
			conn_add(ep, conns, s->fds[tag], k, (size_t)tag);
		else
			serve_datagram(s->fds[tag], k, s->run, s->log_fd);
	} else if (tag >= SINK_MAX && tag < SINK_MAX + CONN_MAX && conns[tag - SINK_MAX]) {
		struct conn **c = &conns[tag - SINK_MAX];
		if ((*c)->kind == SINK_SCAN)
			serve_scan(c, s->run, s->log_fd);
		else
			serve_stream(c, s->run, s->log_fd);
	}
}

/* What a connection holds at the end, judged as it is (a line without its newline, a
 * proxy's upstream connection still open). */
static void judge_rest(struct conn *c, const struct sink_set *s)
{
	char id[PLAN_ID_MAX + 1];
	struct found_ctx f = { s->log_fd, c->sink };
	for (ssize_t n; c->len < c->cap && (n = read(c->fd, c->buf + c->len, c->cap - c->len)) > 0;)
		c->len += (size_t)n;
	if (c->kind == SINK_SCAN)
		sink_scan(c->buf, c->len, s->run, log_found, &f);
	else if (c->kind == SINK_TCP && sink_nonce_from_payload(c->buf, c->len, s->run, id, sizeof id) == 0)
		log_id(s->log_fd, id);
	else if (c->kind == SINK_DNS_TCP && c->len > 2 &&
		 sink_nonce_from_qname((unsigned char *)c->buf + 2, c->len - 2, s->run, id, sizeof id) == 0)
		log_id(s->log_fd, id);
}

/* The parent closed the stop pipe: nothing that already arrived may be lost. Accept what
 * waits in the backlogs, read what is queued, judge every buffer, then exit. */
static void __attribute__((noreturn)) drain_and_exit(int ep, struct sink_set *s, struct conn **conns)
{
	for (size_t i = 0; i < s->n; i++) {
		if (s->fds[i] < 0)
			continue;
		if (s->kinds[i] == SINK_UDP || s->kinds[i] == SINK_DNS_UDP || s->kinds[i] == SINK_ICMP)
			while (serve_datagram(s->fds[i], s->kinds[i], s->run, s->log_fd))
				;
		else
			while (conn_add(ep, conns, s->fds[i], s->kinds[i], i) == 0)
				;
	}
	for (size_t c = 0; c < CONN_MAX; c++)
		if (conns[c])
			judge_rest(conns[c], s);
	_exit(0);
}

static void __attribute__((noreturn)) child_loop(struct sink_set *s, int stop_r)
{
	static struct conn *conns[CONN_MAX];
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = ~0ULL };
	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, stop_r, &ev) < 0)
		_exit(4);
	for (size_t i = 0; i < s->n; i++) {
		ev.data.u64 = i;
		if (s->fds[i] >= 0 && epoll_ctl(ep, EPOLL_CTL_ADD, s->fds[i], &ev) < 0)
			_exit(4);
	}
	for (;;) {
		struct epoll_event evs[64];
		int k = epoll_wait(ep, evs, 64, -1);
		if (k < 0 && errno != EINTR)
			_exit(4);
		for (int i = 0; i < k; i++) {
			if (evs[i].data.u64 == ~0ULL)
				drain_and_exit(ep, s, conns);
			dispatch(ep, s, conns, evs[i].data.u64);
		}
	}
}

static int sink_bind(const struct sink_spec *sp)
{
	bool stream = sp->kind == SINK_TCP || sp->kind == SINK_DNS_TCP || sp->kind == SINK_SCAN;
	int icmp = sp->addr.ss_family == AF_INET6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP;
	int fd = sp->kind == SINK_ICMP ? socket(sp->addr.ss_family, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, icmp)
				       : socket(sp->addr.ss_family, (stream ? SOCK_STREAM : SOCK_DGRAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1;
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (sp->addr.ss_family == AF_INET6) {
		/* v6 only, except an IPv4-mapped address: that sink must catch what arrives as
		 * IPv4, which is how a guest's connect to ::ffff:a.b.c.d leaves the guest. */
		const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)&sp->addr;
		int v6only = !IN6_IS_ADDR_V4MAPPED(&a6->sin6_addr);
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof v6only);
	}
	if (bind(fd, (const struct sockaddr *)&sp->addr, sp->addr_len) < 0 ||
	    (stream && listen(fd, 512) < 0)) {
		close(fd);
		return -1;
	}
	return fd;
}

int sinks_start(const struct sink_spec *specs, size_t n, const char *run, struct sink_set **out,
		struct bv_error *err)
{
	int stop[2];
	if (n > SINK_MAX || !plan_token_ok(run, PLAN_RUN_MAX))
		return bv_error_set(err, EINVAL, "at most %d sinks and a valid run id", SINK_MAX);
	struct sink_set *s = calloc(1, sizeof *s);
	if (!s)
		return bv_error_set(err, ENOMEM, "out of memory");
	s->n = n;
	snprintf(s->run, sizeof s->run, "%s", run);
	for (size_t i = 0; i < n; i++) {
		s->kinds[i] = specs[i].kind;
		s->fds[i] = sink_bind(&specs[i]);
		socklen_t len = sizeof s->bound[i];
		if (s->fds[i] >= 0 && getsockname(s->fds[i], (struct sockaddr *)&s->bound[i], &len) < 0) {
			close(s->fds[i]);
			s->fds[i] = -1;
		}
	}
	s->log_fd = memfd_create("bv-sink-log", MFD_CLOEXEC);
	if (s->log_fd < 0 || pipe2(stop, O_CLOEXEC) < 0) {
		int e = errno;
		sinks_free(s);
		return bv_error_errno(err, e, "sink set-up");
	}
	s->child = fork();
	if (s->child == 0) {
		close(stop[1]);
		child_loop(s, stop[0]);
	}
	close(stop[0]);
	s->stop_w = stop[1];
	if (s->child < 0) {
		int e = errno;
		sinks_free(s);
		return bv_error_errno(err, e, "fork the sinks");
	}
	*out = s;
	return 0;
}

bool sinks_up(const struct sink_set *s, size_t i)
{
	return i < s->n && s->fds[i] >= 0;
}

const struct sockaddr_storage *sinks_addr(const struct sink_set *s, size_t i)
{
	return i < s->n ? &s->bound[i] : NULL;
}

int sinks_stop(struct sink_set *s, struct bv_error *err)
{
	int st = 0;
	close(s->stop_w);
	s->stop_w = -1;
	/* Bounded: a child that does not see the stop (it never should) is killed, and its
	 * log is not trusted. */
	for (int waited = 0;; waited += 10) {
		pid_t w = waitpid(s->child, &st, WNOHANG);
		if (w < 0 && errno != EINTR)
			return bv_error_errno(err, errno, "wait for the sinks");
		if (w == s->child)
			break;
		if (waited >= SINK_STOP_MS) {
			kill(s->child, SIGKILL);
			waitpid(s->child, NULL, 0);
			s->child = 0;
			return bv_error_set(err, ETIMEDOUT, "the sink process did not stop within %d ms: its log cannot be trusted", SINK_STOP_MS);
		}
		usleep(10000);
	}
	s->child = 0;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return bv_error_set(err, EIO, "the sink process failed (status %d): its log cannot be trusted", st);
	off_t size = lseek(s->log_fd, 0, SEEK_END);
	free(s->seen);
	s->seen = NULL;
	s->seen_len = 0;
	if (size < 0 || size > (1 << 24) || !(s->seen = malloc((size_t)size + 1)))
		return bv_error_set(err, EIO, "cannot read the sink log");
	if (pread(s->log_fd, s->seen, (size_t)size, 0) != size)
		return bv_error_set(err, EIO, "short read of the sink log");
	s->seen[size] = '\0';
	s->seen_len = (size_t)size;
	return 0;
}

int sinks_peek(struct sink_set *s)
{
	off_t size = s->child > 0 ? lseek(s->log_fd, 0, SEEK_END) : -1;
	if (size < 0 || size > (1 << 24))
		return -EIO;
	char *buf = malloc((size_t)size + 1);
	if (!buf)
		return -ENOMEM;
	ssize_t n = pread(s->log_fd, buf, (size_t)size, 0);
	if (n < 0) {
		free(buf);
		return -EIO;
	}
	/* Only whole lines: the child may be half-way through one. */
	while (n > 0 && buf[n - 1] != '\n')
		n--;
	buf[n] = '\0';
	free(s->seen);
	s->seen = buf;
	s->seen_len = (size_t)n;
	return 0;
}

bool sinks_saw(const struct sink_set *s, const char *id)
{
	size_t n = strlen(id);
	for (const char *p = s->seen; p && *p;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		if (len == n && strncasecmp(p, id, n) == 0)
			return true;
		p += len + (nl ? 1 : 0);
	}
	return false;
}

bool sinks_saw_token(const struct sink_set *s, const char *token, long sink)
{
	char t[SINK_TOKEN_LEN + 24];
	if (sink < 0)
		snprintf(t, sizeof t, "~%s@", token);
	else
		snprintf(t, sizeof t, "~%s@%ld\n", token, sink);
	if (strlen(token) != SINK_TOKEN_LEN || !s->seen)
		return false;
	/* a whole line "~TOKEN@K" for this sink, or "~TOKEN@" at a line start for any */
	for (const char *p = s->seen; (p = strstr(p, t)); p++)
		if (p == s->seen || p[-1] == '\n')
			return true;
	return false;
}

void sinks_free(struct sink_set *s)
{
	if (!s)
		return;
	if (s->child > 0) {
		kill(s->child, SIGKILL);
		waitpid(s->child, NULL, 0);
	}
	for (size_t i = 0; i < s->n; i++)
		if (s->fds[i] >= 0)
			close(s->fds[i]);
	if (s->stop_w > 0)
		close(s->stop_w);
	if (s->log_fd >= 0)
		close(s->log_fd);
	free(s->seen);
	free(s);
}
