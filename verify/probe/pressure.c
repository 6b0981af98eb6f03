/* pressure.c - the pressure flows of a plan (pressure.h). They carry nothing: each is a
 * handshake the gateway must keep in its flow table while the probes run. Only the host's
 * census of the VMM says how many were held (the guest's count is not evidence). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "pressure.h"
#include "slot.h"

static const struct plan_probe *pressure_target(const struct plan *plan)
{
	for (size_t i = 0; i < plan->n_probes; i++)
		if (!strcmp(plan->probes[i].id, plan->pressure_id))
			return &plan->probes[i];
	return NULL;
}

/* Start flow i: connected at once, pending in ep, or failed. */
static void pressure_start(struct pressure *pr, size_t i, const struct plan_probe *t, int ep, size_t *pending)
{
	int fd = socket(t->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	struct epoll_event ev = { .events = EPOLLOUT, .data.u64 = i };
	pr->fds[i] = -1;
	if (fd < 0) {
		pr->failed++;
		return;
	}
	int r = connect(fd, (const struct sockaddr *)&t->addr, t->addr_len);
	if (r == 0) {
		pr->fds[i] = fd, pr->connected++;
	} else if (errno == EINPROGRESS && epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == 0) {
		pr->fds[i] = fd, (*pending)++;
	} else {
		close(fd);
		pr->failed++;
	}
}

/* A pending flow answered: held when its handshake completed, else closed. */
static void pressure_settle(struct pressure *pr, size_t i, int ep)
{
	int e = 0;
	socklen_t len = sizeof e;
	epoll_ctl(ep, EPOLL_CTL_DEL, pr->fds[i], NULL);
	if (getsockopt(pr->fds[i], SOL_SOCKET, SO_ERROR, &e, &len) == 0 && e == 0) {
		pr->connected++;
		return;
	}
	close(pr->fds[i]);
	pr->fds[i] = -1;
	pr->failed++;
}

int pressure_open(const struct plan *plan, unsigned wait_ms, struct pressure *out)
{
	memset(out, 0, sizeof *out);
	const struct plan_probe *t = plan->pressure ? pressure_target(plan) : NULL;
	if (!t)
		return 0;
	int ep = epoll_create1(EPOLL_CLOEXEC);
	out->fds = calloc(plan->pressure, sizeof *out->fds);
	if (ep < 0 || !out->fds) {
		if (ep >= 0)
			close(ep);
		free(out->fds);
		out->fds = NULL;
		return -1;
	}
	out->n = plan->pressure;
	size_t pending = 0;
	for (size_t i = 0; i < out->n; i++)
		pressure_start(out, i, t, ep, &pending);
	long long until = slot_now_us() + (long long)wait_ms * 1000;
	struct epoll_event evs[64];
	while (pending) {
		long long left = until - slot_now_us();
		int k = left > 0 ? epoll_wait(ep, evs, 64, (int)((left + 999) / 1000)) : 0;
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		for (int j = 0; j < k; j++, pending--)
			pressure_settle(out, (size_t)evs[j].data.u64, ep);
	}
	/* What has not answered by now is not held: it would only muddle the count. */
	for (size_t i = 0; i < out->n; i++)
		if (out->fds[i] >= 0 && epoll_ctl(ep, EPOLL_CTL_DEL, out->fds[i], NULL) == 0) {
			close(out->fds[i]);
			out->fds[i] = -1;
			out->failed++;
		}
	close(ep);
	return 0;
}

void pressure_close(struct pressure *pr)
{
	for (size_t i = 0; pr->fds && i < pr->n; i++)
		if (pr->fds[i] >= 0)
			close(pr->fds[i]);
	free(pr->fds);
	memset(pr, 0, sizeof *pr);
}
