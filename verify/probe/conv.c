/* conv.c - bottle-probe's conversations: an http request whose answer's start is kept, and
 * a git push over git:// (the gate's probes). What the server said is only reported: the
 * host judges by its own sinks (docs/probe.md). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "slot.h"

/* Send what is left; once all is out, wait for the answer. */
void slot_conv_send(struct slot *s, int ep)
{
	while (s->out_len > 0) {
		ssize_t w = send(s->fd, s->out, s->out_len, MSG_NOSIGNAL);
		if (w < 0 && errno == EAGAIN)
			break;
		if (w <= 0) {
			slot_finish(s, s->phase || s->p->kind == PROBE_HTTP ? "connected" : slot_errno_outcome(errno), errno);
			return;
		}
		s->out += w;
		s->out_len -= (size_t)w;
	}
	s->st = s->out_len ? ST_SENDING : ST_WAITING;
	struct epoll_event ev = { .events = s->out_len ? EPOLLOUT : EPOLLIN | EPOLLRDHUP, .data.ptr = s };
	if (epoll_ctl(ep, EPOLL_CTL_MOD, s->fd, &ev) < 0)
		slot_finish(s, "error", errno);
}

void slot_conv_start(struct slot *s, int ep)
{
	static unsigned char req[600];
	s->outcome = "connected";
	if (s->p->kind == PROBE_HTTP) {
		s->out = s->p->data, s->out_len = s->p->data_len;
	} else {
		char host[64] = "bottle";
		int n = git_request(s->p->repo, host, req, sizeof req);
		if (n < 0 || !(s->owned = malloc((size_t)n))) {
			slot_finish(s, "error", EINVAL);
			return;
		}
		memcpy(s->owned, req, (size_t)n);
		s->out = s->owned, s->out_len = (size_t)n;
	}
	slot_conv_send(s, ep);
}

/* "HTTP/1.x NNN": the status, or -1. */
static int http_status(const unsigned char *b, size_t n)
{
	if (n < 12 || memcmp(b, "HTTP/1.", 7) != 0 || b[8] != ' ')
		return -1;
	int v = 0;
	for (int i = 9; i < 12; i++) {
		if (b[i] < '0' || b[i] > '9')
			return -1;
		v = v * 10 + (b[i] - '0');
	}
	return v >= 100 ? v : -1;
}

void slot_http_done(struct slot *s)
{
	size_t keep = s->conv_len < GIT_TEXT_MAX ? s->conv_len : GIT_TEXT_MAX;
	for (size_t i = 0; i < keep; i++)
		s->text[i] = s->conv[i] >= 0x20 && s->conv[i] < 0x7f ? (char)s->conv[i] : s->conv[i] == '\n' ? '\n' : '?';
	s->text[keep] = '\0';
	s->rcode = http_status(s->conv, s->conv_len);
	slot_finish(s, s->rcode >= 0 ? "replied" : s->conv_len ? "bad-answer" : "connected", 0);
}

/* git: the advertisement ends, then the push goes out; its result ends the probe. */
static void git_data(struct slot *s, int eof, int ep)
{
	int accepted = 0;
	if (s->phase == 0) {
		unsigned char *push = NULL;
		size_t push_len = 0;
		int r = git_adv_done(s->conv, s->conv_len, s->text, sizeof s->text);
		if (r == 1 && git_push_payload(s->p->ref, s->p->data, s->p->data_len, &push, &push_len) == 0) {
			free(s->owned);
			s->owned = push;
			s->out = push, s->out_len = push_len;
			s->conv_len = 0, s->phase = 1;
			slot_conv_send(s, ep);
		} else if (r != 0 || eof) {
			slot_finish(s, "bad-answer", 0);
		}
		return;
	}
	int r = git_parse_result(s->conv, s->conv_len, s->p->ref, &accepted, s->text, sizeof s->text);
	if (r == 0)
		slot_finish(s, accepted ? "accepted" : "rejected", 0);
	else if (r < 0 || eof)
		slot_finish(s, "bad-answer", 0);
}

void slot_conv_data(struct slot *s, const unsigned char *buf, ssize_t n, int ep)
{
	if (n > 0) {
		if (!s->conv && !(s->conv = malloc(CONV_MAX))) {
			slot_finish(s, "error", ENOMEM);
			return;
		}
		size_t keep = CONV_MAX - s->conv_len < (size_t)n ? CONV_MAX - s->conv_len : (size_t)n;
		memcpy(s->conv + s->conv_len, buf, keep);
		s->conv_len += keep;
	}
	int eof = n == 0 || s->conv_len == CONV_MAX;
	if (s->p->kind == PROBE_HTTP) {
		if (eof)
			slot_http_done(s);
	} else {
		git_data(s, eof, ep);
	}
}
