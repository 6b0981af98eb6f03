/* probe.c - bottle-probe: run a probe plan inside the guest and report what happened.
 * Every probe starts at once (non-blocking sockets, one epoll loop) and the whole run
 * ends at the plan's deadline whatever the network does. The guest is where an attacker
 * lives, so this program only reports: the host's sinks decide (docs/probe.md). */
#include <errno.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdbool.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "core/release.h"
#include "echo.h"
#include "pressure.h"
#include "slot.h"

enum { EXIT_USAGE = 64, EXIT_BADPLAN = 65, EXIT_INTERNAL = 70 };
long long slot_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

const char *slot_errno_outcome(int e)
{
	switch (e) {
	case ECONNREFUSED: return "refused";
	case EACCES:
	case EPERM: return "denied";
	case EHOSTUNREACH:
	case ENETUNREACH: return "unreachable";
	case ETIMEDOUT: return "timeout";
	default: return "error";
	}
}

/* A flow that got through is held open until the run ends, and the run lasts at least
 * HOLD_MS after the last one: whatever relays it (smolvm's gateway, TSI) then keeps its
 * own host socket long enough for bottle-verify's census of the VMM to see it. The host
 * never takes the guest's word that something connected. */
#define HOLD_MS 200
static int held[PLAN_MAX_PROBES];
static size_t n_held;
static int run_ep = -1;
static long long last_through_us;

/* Tries again: a probe (not http or git) that has not got through starts over every gap_ms
 * (a new socket, a new source port; a DNS query keeps its id), up to the plan's attempts,
 * until the run is over. */
static const struct plan *run_plan;
static bool run_over;

static bool tries_left(const struct slot *s)
{
	return !run_over && run_plan && !slot_is_conv(s) && s->tries < run_plan->attempts;
}

static void drop_fd(struct slot *s)
{
	if (s->fd < 0)
		return;
	if (run_ep >= 0)
		epoll_ctl(run_ep, EPOLL_CTL_DEL, s->fd, NULL);
	close(s->fd);
	s->fd = -1;
}

void slot_finish(struct slot *s, const char *outcome, int err)
{
	if (s->st == ST_DONE)
		return;
	s->outcome = outcome;
	s->err = err;
	s->t1 = slot_now_us();
	bool through = !strcmp(outcome, "connected") || !strcmp(outcome, "replied") ||
		       !strcmp(outcome, "answered") || !strcmp(outcome, "accepted");
	if (!through && tries_left(s)) {
		drop_fd(s);
		s->st = ST_RETRY;
		return;
	}
	s->st = ST_DONE;
	if (s->fd >= 0 && through && n_held < PLAN_MAX_PROBES) {
		if (run_ep >= 0)
			epoll_ctl(run_ep, EPOLL_CTL_DEL, s->fd, NULL);
		held[n_held++] = s->fd;
		last_through_us = s->t1;
		s->fd = -1;
	}
	drop_fd(s);
}

/* The end of the run: the hold, then every held flow closed. */
static void release_held(void)
{
	long long until = last_through_us + HOLD_MS * 1000LL;
	for (long long now = slot_now_us(); n_held && now < until; now = slot_now_us())
		usleep((useconds_t)(until - now));
	while (n_held)
		close(held[--n_held]);
}

static int is_dns(const struct slot *s)
{
	return s->p->kind == PROBE_DNS_UDP || s->p->kind == PROBE_DNS_TCP;
}

int slot_is_conv(const struct slot *s)
{
	return s->p->kind == PROBE_HTTP || s->p->kind == PROBE_GIT;
}

static int is_stream(const struct slot *s)
{
	return s->p->kind == PROBE_TCP || s->p->kind == PROBE_DNS_TCP || slot_is_conv(s);
}

/* The first payload: the nonce line, or the DNS query (length-prefixed over TCP). */
static size_t payload(const struct slot *s, const char *run, unsigned char *buf, size_t cap)
{
	if (!is_dns(s))
		return (size_t)snprintf((char *)buf, cap, "BV1 %s %s\n", run, s->p->id);
	size_t off = s->p->kind == PROBE_DNS_TCP ? 2 : 0;
	memcpy(buf + off, s->query, (size_t)s->qlen);
	if (off) {
		buf[0] = (unsigned char)(s->qlen >> 8);
		buf[1] = (unsigned char)s->qlen;
	}
	return off + (size_t)s->qlen;
}

static void send_first(struct slot *s, const char *run, int ep)
{
	if (slot_is_conv(s)) {
		slot_conv_start(s, ep);
		return;
	}
	unsigned char buf[DNS_QUERY_MAX + 2 + 128];
	size_t n = payload(s, run, buf, sizeof buf);
	if (s->p->kind == PROBE_ICMP) { /* the nonce line as the echo's data */
		char text[96];
		snprintf(text, sizeof text, "%.*s", (int)n, (const char *)buf);
		n = echo_request(s->p->addr.ss_family, text, buf, sizeof buf);
	}
	ssize_t w = send(s->fd, buf, n, MSG_NOSIGNAL);
	if (w < 0) {
		slot_finish(s, slot_errno_outcome(errno), errno);
		return;
	}
	/* A connected stream is already evidence of reachability; a datagram is only sent. */
	s->outcome = is_stream(s) ? "connected" : "sent";
	s->st = ST_WAITING;
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP, .data.ptr = s };
	if (epoll_ctl(ep, EPOLL_CTL_MOD, s->fd, &ev) < 0)
		slot_finish(s, "error", errno);
}

/* The guest's own resolver: the first "nameserver ADDR" of /etc/resolv.conf. */
static int guest_resolver(struct plan_probe *p)
{
	char line[256];
	FILE *f = fopen("/etc/resolv.conf", "re");
	int r = -1;
	unsigned short port = ((struct sockaddr_in *)&p->addr)->sin_port;
	while (f && r < 0 && fgets(line, sizeof line, f)) {
		char addr[64];
		if (sscanf(line, " nameserver %63s", addr) != 1)
			continue;
		struct sockaddr_in *v4 = (struct sockaddr_in *)&p->addr;
		struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&p->addr;
		memset(&p->addr, 0, sizeof p->addr);
		if (inet_pton(AF_INET, addr, &v4->sin_addr) == 1) {
			v4->sin_family = AF_INET, v4->sin_port = port, p->addr_len = sizeof *v4, r = 0;
		} else if (inet_pton(AF_INET6, addr, &v6->sin6_addr) == 1) {
			v6->sin6_family = AF_INET6, v6->sin6_port = port, p->addr_len = sizeof *v6, r = 0;
		}
	}
	if (f)
		fclose(f);
	return r;
}

static void start(struct slot *s, const char *run, int ep)
{
	int type = is_stream(s) ? SOCK_STREAM : SOCK_DGRAM;
	long long now = slot_now_us();
	if (s->tries++ == 0)
		s->t0 = now;
	s->rx = s->inlen = 0; /* a try starts clean: nothing of the last one is read into it */
	s->next_us = now + (long long)run_plan->gap_ms * 1000;
	s->last_us = now;
	s->rcode = -1;
	if (s->p->use_resolv && guest_resolver((struct plan_probe *)s->p) < 0) {
		slot_finish(s, "error", ENOENT);
		return;
	}
	s->fd = s->p->kind == PROBE_ICMP ? echo_socket(s->p->addr.ss_family, &s->raw)
					 : socket(s->p->addr.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->fd < 0) {
		slot_finish(s, "error", errno);
		return;
	}
	if (is_dns(s) && (s->qlen = dns_build_query((uint16_t)(s->t0 ^ (s->t0 >> 16)), s->p->qname,
						      s->query, sizeof s->query)) < 0) {
		slot_finish(s, "error", EINVAL);
		return;
	}
	struct epoll_event ev = { .events = EPOLLOUT, .data.ptr = s };
	if (epoll_ctl(ep, EPOLL_CTL_ADD, s->fd, &ev) < 0) {
		slot_finish(s, "error", errno);
		return;
	}
	int r = connect(s->fd, (const struct sockaddr *)&s->p->addr, s->p->addr_len);
	if (r < 0 && errno != EINPROGRESS)
		slot_finish(s, slot_errno_outcome(errno), errno);
	else if (r == 0)
		send_first(s, run, ep);
}

static void on_writable(struct slot *s, const char *run, int ep)
{
	int e = 0;
	socklen_t len = sizeof e;
	if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &e, &len) < 0)
		e = errno;
	if (e)
		slot_finish(s, slot_errno_outcome(e), e);
	else
		send_first(s, run, ep);
}

/* DNS over TCP: the answer is complete once its 2-byte length is satisfied. */
static void dns_tcp_data(struct slot *s)
{
	if (s->inlen < 2)
		return;
	size_t want = (size_t)s->in[0] << 8 | s->in[1];
	if (want + 2 > sizeof s->in) {
		slot_finish(s, "bad-answer", 0);
		return;
	}
	if (s->inlen < want + 2)
		return;
	struct dns_answer a;
	if (dns_parse_answer(s->in + 2, want, s->query, (size_t)s->qlen, &a) < 0) {
		slot_finish(s, "bad-answer", 0);
		return;
	}
	s->rcode = a.rcode;
	slot_finish(s, "answered", 0);
}

static void on_readable(struct slot *s, int ep)
{
	unsigned char buf[4096];
	ssize_t n = recv(s->fd, buf, sizeof buf, 0);
	if (n < 0) {
		if (errno != EAGAIN && errno != EINTR)
			slot_finish(s, s->rx || is_stream(s) ? s->outcome : slot_errno_outcome(errno), errno);
		return;
	}
	s->rx += (size_t)n;
	if (slot_is_conv(s)) {
		slot_conv_data(s, buf, n, ep);
	} else if (n == 0) {
		slot_finish(s, s->outcome, 0);
	} else if (s->p->kind == PROBE_DNS_TCP) {
		size_t keep = sizeof s->in - s->inlen < (size_t)n ? sizeof s->in - s->inlen : (size_t)n;
		memcpy(s->in + s->inlen, buf, keep);
		s->inlen += keep;
		dns_tcp_data(s);
	} else if (s->p->kind == PROBE_DNS_UDP) {
		struct dns_answer a;
		if (dns_parse_answer(buf, (size_t)n, s->query, (size_t)s->qlen, &a) == 0) {
			s->rcode = a.rcode;
			slot_finish(s, "answered", 0);
		} /* else: not our answer; keep waiting (a spoof must not end the probe) */
	} else if (s->p->kind == PROBE_ICMP) {
		char text[96];
		payload(s, run_plan->run, (unsigned char *)text, sizeof text - 1);
		text[sizeof text - 1] = '\0';
		if (echo_reply_to(s->p->addr.ss_family, s->raw, buf, (size_t)n, text))
			slot_finish(s, "replied", 0);
		/* else another probe's reply (a raw socket sees every one): keep waiting */
	} else if (s->p->kind == PROBE_UDP) {
		slot_finish(s, "replied", 0);
	} else if (s->rx >= 256) {
		slot_finish(s, "connected", 0);
	}
}

static void handle(struct slot *s, unsigned events, const char *run, int ep)
{
	if (s->st == ST_DONE)
		return;
	if (s->st == ST_CONNECTING && (events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
		on_writable(s, run, ep);
	else if (s->st == ST_SENDING && (events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
		slot_conv_send(s, ep);
	else if (s->st == ST_WAITING && (events & (EPOLLIN | EPOLLERR | EPOLLHUP | EPOLLRDHUP)))
		on_readable(s, ep);
}

static size_t pending(const struct slot *slots, size_t n)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		k += slots[i].st != ST_DONE;
	return k;
}

/* Is s due for its next try at now? A try that ended, a datagram no reply came to, or a
 * handshake still unanswered; never a flow that got through. */
static bool due_again(const struct slot *s, long long now)
{
	if (!tries_left(s) || now < s->next_us)
		return false;
	return s->st == ST_RETRY || (s->st == ST_CONNECTING && is_stream(s)) || (s->st == ST_WAITING && !is_stream(s));
}

/* With tries again, a datagram's last try waits REPLY_WAIT_MS for its reply, not the whole
 * deadline: the run (and its pressure flows) then ends soon after the last try, instead of
 * holding the gateway's table for a run that follows. */
#define REPLY_WAIT_MS 200

static long long reply_due(const struct slot *s)
{
	return s->last_us + REPLY_WAIT_MS * 1000LL;
}

static bool reply_waited(const struct slot *s, long long now)
{
	return run_plan->attempts > 1 && !tries_left(s) && s->st == ST_WAITING && !is_stream(s) &&
	       now >= reply_due(s);
}

/* Start the tries that are due, end the reply waits that are over; the next moment one
 * will be (or until). */
static long long tries_again(struct slot *slots, size_t n, const char *run, int ep, long long until)
{
	long long now = slot_now_us(), next = until;
	for (size_t i = 0; i < n; i++) {
		struct slot *s = &slots[i];
		if (due_again(s, now)) {
			drop_fd(s);
			s->st = ST_CONNECTING;
			start(s, run, ep);
		} else if (reply_waited(s, now)) {
			slot_finish(s, "timeout", ETIMEDOUT);
		}
		bool waits_try = s->st == ST_RETRY || (s->st == ST_CONNECTING && is_stream(s)) ||
				 (s->st == ST_WAITING && !is_stream(s));
		if (tries_left(s) && waits_try && s->next_us < next)
			next = s->next_us;
		else if (run_plan->attempts > 1 && s->st == ST_WAITING && !is_stream(s) && reply_due(s) < next)
			next = reply_due(s);
	}
	return next;
}

/* The pressure flows stay at least this long once open, whatever the probes do: long
 * enough for several of the host's census passes (every 20 ms) to count them. */
#define PRESSURE_MIN_MS 200

/* Does any probe still try? Not a done one, a stream that got through (it only waits for
 * its answer), nor a datagram whose last try is out (the gateway took its decision on it
 * as the datagram arrived, before anything sent after it). */
static bool trying(const struct slot *slots, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct slot *s = &slots[i];
		bool sent = s->st == ST_WAITING && (is_stream(s) || !tries_left(s));
		if (s->st != ST_DONE && !sent)
			return true;
	}
	return false;
}

/* Run until every probe is done or the deadline passes; what is left then timed out
 * (a connected stream that got no reply stays "connected"). The pressure flows, if the
 * plan has them, are opened first (within a third of the deadline) and held to the end. */
static int run_all(struct slot *slots, size_t n, const struct plan *plan)
{
	struct pressure pr;
	long long deadline = slot_now_us() + (long long)plan->deadline_ms * 1000;
	int ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0 || pressure_open(plan, plan->deadline_ms / 3, &pr) < 0) {
		if (ep >= 0)
			close(ep);
		return -1;
	}
	run_ep = ep, run_plan = plan;
	long long held_from = slot_now_us();
	for (size_t i = 0; i < n; i++)
		start(&slots[i], plan->run, ep);
	struct epoll_event evs[256];
	while (pending(slots, n) > 0) {
		/* The pressure is for the probes that still try: once none does, it goes, so a run
		 * that follows (the host may have stopped waiting for this one) finds the
		 * gateway's table as it was. */
		if (pr.n && !trying(slots, n) && slot_now_us() >= held_from + PRESSURE_MIN_MS * 1000LL)
			pressure_close(&pr);
		long long next = tries_again(slots, n, plan->run, ep, deadline);
		long long left = next - slot_now_us();
		if (deadline <= slot_now_us())
			break;
		int wait_ms = left > 0 ? (int)((left + 999) / 1000) : 0;
		if (pr.n && wait_ms > PRESSURE_MIN_MS / 4)
			wait_ms = PRESSURE_MIN_MS / 4; /* to let the pressure go once it may */
		int k = epoll_wait(ep, evs, 256, wait_ms);
		if (k < 0 && errno != EINTR) {
			close(ep);
			pressure_close(&pr);
			return -1;
		}
		for (int i = 0; i < k; i++)
			handle(evs[i].data.ptr, evs[i].events, plan->run, ep);
	}
	run_over = true;
	for (size_t i = 0; i < n; i++) {
		struct slot *s = &slots[i];
		if (s->st == ST_RETRY) { /* the last try's outcome stands */
			slot_finish(s, s->outcome, s->err);
			continue;
		}
		if (s->st != ST_DONE && s->p->kind == PROBE_HTTP && s->conv_len)
			slot_http_done(s); /* the proxy answered but kept the connection open */
		slot_finish(s, (s->st == ST_WAITING || s->st == ST_SENDING) && is_stream(s) ? "connected" : "timeout",
		       s->st == ST_DONE ? s->err : ETIMEDOUT);
	}
	run_ep = -1;
	close(ep);
	pressure_close(&pr); /* the census saw them while the probes ran; the hold is for the rest */
	release_held();
	return 0;
}

static void print_report(const struct plan *plan, const struct slot *slots, size_t n)
{
	printf("BV-REPORT 1 run %s\n", plan->run);
	for (size_t i = 0; i < n; i++) {
		const struct slot *s = &slots[i];
		char rc[16] = "-";
		if (s->rcode >= 0)
			snprintf(rc, sizeof rc, "%d", s->rcode);
		printf("result %s %s %s errno=%d us=%lld rx=%zu rcode=%s\n", s->p->id,
		       probe_kind_name(s->p->kind), s->outcome, s->err, s->t1 - s->t0, s->rx, rc);
		if (!slot_is_conv(s))
			continue;
		printf("text %s ", s->p->id);
		for (const char *t = s->text; *t; t++)
			printf("%02x", (unsigned char)*t);
		printf("%s\n", s->text[0] ? "" : "-");
	}
	printf("end %zu\n", n);
}

static int read_all(FILE *f, char **out, size_t *len)
{
	size_t cap = PLAN_MAX_BYTES + 1;
	char *buf = malloc(cap);
	if (!buf)
		return -1;
	size_t n = fread(buf, 1, cap, f);
	if (ferror(f) || n == cap) {
		free(buf);
		return -1;
	}
	*out = buf;
	*len = n;
	return 0;
}

/* Enough descriptors for one socket per probe. */
static void raise_nofile(size_t need)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < need + 16) {
		rl.rlim_cur = rl.rlim_max < need + 16 ? rl.rlim_max : need + 16;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

struct probe_args {
	int ok_exit;      /* --ok-exit N: exit N instead of 0 after a complete report, so a
	                   * transport with exit codes of its own (smolvm exits 1 on its errors,
	                   * 124 on timeouts) can never pass its own status off as the probe's */
	bool remove;      /* --remove: delete the plan file and this binary once the plan is
	                   * read (the smolvm transport copies both in per run) */
	const char *plan; /* PLAN or - */
};

#define PROBE_USAGE "usage: bottle-probe [--ok-exit N] [--remove] PLAN|-   (docs/probe.md)\n" \
		    "       bottle-probe --help | --version\n"

/* 0 parsed, 1 --help or --version printed, -1 a usage error (named on stderr). */
static int parse_args(int argc, char **argv, struct probe_args *a)
{
	*a = (struct probe_args){ 0 };
	if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "--version") == 0)) {
		fputs(argv[1][2] == 'h' ? PROBE_USAGE : "bottle-probe " BV_RELEASE "\n", stdout);
		return 1;
	}
	int i = 1;
	for (; i < argc - 1; i++) {
		if (strcmp(argv[i], "--remove") == 0 && !a->remove) {
			a->remove = true;
		} else if (strcmp(argv[i], "--ok-exit") == 0 && !a->ok_exit && i + 1 < argc - 1) {
			char *end = NULL;
			long v = strtol(argv[++i], &end, 10);
			if (!end || *end || v < 1 || v > 125) {
				fprintf(stderr, "bottle-probe: --ok-exit '%s': an exit status 1-125\n", argv[i]);
				return -1;
			}
			a->ok_exit = (int)v;
		} else {
			fprintf(stderr, "bottle-probe: unexpected argument '%s'\n", argv[i]);
			return -1;
		}
	}
	if (i != argc - 1) {
		fputs("bottle-probe: no PLAN (a file, or - for stdin)\n", stderr);
		return -1;
	}
	a->plan = argv[i];
	return 0;
}

/* --remove: the copies are ours to delete, not evidence (the host judges by what it saw). */
static void remove_copies(const char *plan)
{
	char self[4096];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (strcmp(plan, "-") != 0)
		(void)unlink(plan);
	if (n > 0 && (size_t)n < sizeof self - 1) {
		self[n] = '\0';
		(void)unlink(self);
	}
}

int main(int argc, char **argv)
{
	struct probe_args a;
	int p = parse_args(argc, argv, &a);
	if (p != 0) {
		if (p < 0)
			fputs(PROBE_USAGE, stderr);
		return p < 0 ? EXIT_USAGE : 0;
	}
	FILE *f = strcmp(a.plan, "-") ? fopen(a.plan, "re") : stdin;
	char *text = NULL, err[160] = "";
	size_t len = 0;
	struct plan plan;
	int rd = f ? read_all(f, &text, &len) : -1;
	if (a.remove)
		remove_copies(a.plan);
	if (rd < 0) {
		fprintf(stderr, "bottle-probe: cannot read the plan (at most %u bytes)\n", PLAN_MAX_BYTES);
		return EXIT_BADPLAN;
	}
	if (plan_parse(text, len, &plan, err, sizeof err) < 0) {
		fprintf(stderr, "bottle-probe: %s\n", err);
		return EXIT_BADPLAN;
	}
	free(text);
	struct slot *slots = calloc(plan.n_probes ? plan.n_probes : 1, sizeof *slots);
	if (!slots)
		return EXIT_INTERNAL;
	for (size_t i = 0; i < plan.n_probes; i++)
		slots[i] = (struct slot){ .p = &plan.probes[i], .fd = -1, .rcode = -1 };
	raise_nofile(plan.n_probes + plan.pressure);
	if (run_all(slots, plan.n_probes, &plan) < 0)
		return EXIT_INTERNAL;
	print_report(&plan, slots, plan.n_probes);
	int rc = fflush(stdout) == 0 ? a.ok_exit : EXIT_INTERNAL;
	for (size_t i = 0; i < plan.n_probes; i++)
		free(slots[i].owned), free(slots[i].conv);
	free(slots);
	plan_free(&plan);
	return rc;
}
