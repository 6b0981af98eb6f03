/* slot.h - one probe of the plan as bottle-probe runs it: its socket, state and outcome.
 * probe.c runs the slots in one epoll loop; conv.c speaks the http and git conversations;
 * pressure.c holds the pressure flows (docs/probe.md). Guest side only. */
#ifndef BV_VERIFY_PROBE_SLOT_H
#define BV_VERIFY_PROBE_SLOT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "dns.h"
#include "git.h"
#include "plan.h"

/* ST_RETRY: this try did not get through; the next one is due at next_us. */
enum slot_state { ST_CONNECTING, ST_SENDING, ST_WAITING, ST_RETRY, ST_DONE };
#define CONV_MAX (64u * 1024u) /* what an http or git probe keeps of the answer */

struct slot {
	const struct plan_probe *p;
	int fd;
	enum slot_state st;
	const char *outcome;
	int err;
	long long t0, t1;   /* the first try's start, the outcome's time */
	unsigned tries;     /* tries started */
	long long next_us;  /* ST_RETRY: when the next try starts */
	long long last_us;  /* when the last try started */
	size_t rx;
	int rcode;
	bool raw;           /* icmp: a raw socket (what it reads starts with the IP header) */
	unsigned char query[DNS_QUERY_MAX];
	int qlen;
	unsigned char in[DNS_QUERY_MAX + 2];
	size_t inlen;
	/* http and git: a conversation */
	const unsigned char *out; /* what is left to send */
	size_t out_len;
	unsigned char *owned;     /* the git push payload */
	unsigned char *conv;      /* the answer so far */
	size_t conv_len;
	int phase;                /* git: 0 ref advertisement, 1 push result */
	char text[GIT_TEXT_MAX + 1];
};

long long slot_now_us(void);
const char *slot_errno_outcome(int e);
/* The outcome of this try: the slot is done, or (a probe that did not get through, not
 * http or git, tries left) waits for its next try. */
void slot_finish(struct slot *s, const char *outcome, int err);
int slot_is_conv(const struct slot *s);

/* conv.c: http and git. */
void slot_conv_start(struct slot *s, int ep);
void slot_conv_send(struct slot *s, int ep);
void slot_conv_data(struct slot *s, const unsigned char *buf, ssize_t n, int ep);
void slot_http_done(struct slot *s);

#endif
