/* run.c - see run.h */
#include "egress/run.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "core/clock.h"
#include "egress/confine.h"
#include "egress/probe_report.h"
#include "egress/sink.h"
#include "egress/verdict.h"

static bool is_dns(const struct policy_dest *d)
{
	return d->kind == PROBE_DNS_UDP || d->kind == PROBE_DNS_TCP;
}

void egress_qname(const struct egress_run *e, size_t i, char *buf, size_t cap)
{
	snprintf(buf, cap, "d%zu.%s.exfil.test", i, e->run);
}

bool egress_gap_accepted(const struct egress_run *e, const struct policy_dest *d)
{
	/* A guard closes the DNS carve-out: what it was conceded for must now be proven. */
	return d->accept_gap && !(e->outside && e->ev.guarded && is_dns(d));
}

static enum sink_kind sink_kind_of(const struct policy_dest *d)
{
	enum probe_kind k = d->kind;
	return d->scan ? SINK_SCAN : k == PROBE_TCP ? SINK_TCP : k == PROBE_UDP ? SINK_UDP
				   : k == PROBE_DNS_UDP ? SINK_DNS_UDP : k == PROBE_ICMP ? SINK_ICMP : SINK_DNS_TCP;
}

static int spec_of(const struct policy_dest *d, struct sink_spec *s)
{
	unsigned port = d->sink_port ? d->sink_port : d->port;
	memset(s, 0, sizeof *s);
	s->kind = sink_kind_of(d);
	struct sockaddr_in *v4 = (struct sockaddr_in *)&s->addr;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&s->addr;
	if (inet_pton(AF_INET, d->sink_addr, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		v4->sin_port = htons((unsigned short)port);
		s->addr_len = sizeof *v4;
	} else if (inet_pton(AF_INET6, d->sink_addr, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons((unsigned short)port);
		s->addr_len = sizeof *v6;
	} else {
		return -1;
	}
	return 0;
}

/* One sink per distinct (kind, address, port); destinations share it. */
static void plan_sinks(struct egress_run *e)
{
	for (size_t i = 0; i < e->p->n_dests; i++) {
		struct sink_spec s;
		e->sink_of[i] = e->p->dests[i].sink ? SINK_MISSING : NO_SINK;
		if (!e->p->dests[i].sink || spec_of(&e->p->dests[i], &s) < 0)
			continue;
		for (size_t j = 0; j < e->n_specs && e->sink_of[i] < 0; j++)
			if (e->specs[j].kind == s.kind && e->specs[j].addr_len == s.addr_len &&
			    memcmp(&e->specs[j].addr, &s.addr, s.addr_len) == 0)
				e->sink_of[i] = (long)j;
		if (e->sink_of[i] < 0 && e->n_specs < 64) {
			e->specs[e->n_specs] = s;
			e->sink_of[i] = (long)e->n_specs++;
		}
	}
}

static size_t put_hex(char *t, size_t cap, const unsigned char *d, size_t len)
{
	size_t n = 0;
	for (size_t i = 0; i < len && n + 3 <= cap; i++)
		n += (size_t)snprintf(t + n, cap - n, "%02x", d[i]);
	return n;
}

static char *plan_text(const struct egress_run *e, size_t *len)
{
	size_t cap = 128 + e->p->n_dests * 400, n = 0;
	for (size_t i = 0; i < e->p->n_dests; i++)
		cap += 2 * e->p->dests[i].data_len;
	char *t = malloc(cap);
	if (!t)
		return NULL;
	n += (size_t)snprintf(t + n, cap - n, "BV-PLAN 1\nrun %s deadline_ms %u\n", e->run, e->p->deadline_ms);
	if (e->p->attempts > 1)
		n += (size_t)snprintf(t + n, cap - n, "attempts %u gap_ms %u\n", e->p->attempts, e->p->retry_gap_ms);
	long pc = policy_pressure_control(e->p);
	if (pc >= 0)
		n += (size_t)snprintf(t + n, cap - n, "pressure d%ld %u\n", pc, e->p->flow_pressure);
	for (size_t i = 0; i < e->p->n_dests; i++) {
		const struct policy_dest *d = &e->p->dests[i];
		char q[EGRESS_QNAME_MAX];
		egress_qname(e, i, q, sizeof q);
		n += (size_t)snprintf(t + n, cap - n, "probe d%zu %s %s %u", i, probe_kind_name(d->kind), d->addr, d->port);
		if (is_dns(d))
			n += (size_t)snprintf(t + n, cap - n, " %s", q);
		if (d->kind == PROBE_GIT)
			n += (size_t)snprintf(t + n, cap - n, " %s %s", d->repo, d->ref);
		if (d->kind == PROBE_HTTP || d->kind == PROBE_GIT) {
			n += (size_t)snprintf(t + n, cap - n, " ");
			n += put_hex(t + n, cap - n, d->data, d->data_len);
		}
		n += (size_t)snprintf(t + n, cap - n, "\n");
	}
	n += (size_t)snprintf(t + n, cap - n, "end %zu\n", e->p->n_dests);
	*len = n;
	return t;
}

void egress_new_run_id(char run[PLAN_RUN_MAX + 1])
{
	unsigned char b[8] = { 0 };
	if (getrandom(b, sizeof b, 0) != (ssize_t)sizeof b)
		memset(b, 0x5a, sizeof b); /* still unique enough per run: the pid is mixed in */
	snprintf(run, PLAN_RUN_MAX + 1, "r%02x%02x%02x%02x%02x%02x%05d", b[0], b[1], b[2], b[3], b[4], b[5],
		 (int)(getpid() % 100000));
}

/* Has destination i its outside evidence already (so the run need not wait for it)? A
 * nonce at a sink, a VMM socket to it, the gateway's record of refusing it, or (virtio-net)
 * the guest's own loopback, which the bottle's points leave out. An accepted DNS-over-UDP
 * gap at a gateway that answers every UDP/53 needs none: open or unproven, its point is
 * the same TODO. http and git never: their points read the probe's conversation too. */
static bool decided_early(struct egress_run *e, size_t i)
{
	const struct policy_dest *d = &e->p->dests[i];
	char q[EGRESS_QNAME_MAX];
	if (d->kind == PROBE_HTTP || d->kind == PROBE_GIT)
		return false;
	if (d->kind == PROBE_DNS_UDP && egress_gap_accepted(e, d) && !d->control && e->udp53_answered)
		return true;
	egress_qname(e, i, q, sizeof q);
	if (evidence_census_saw_so_far(&e->ev, d))
		return true;
	/* An escape a sink saw is waited for in the census too, so that its socket is in the
	 * evidence (a relayed UDP/53 query is a socket to the upstream, not to d: not that). */
	if (egress_sink_saw(e, i))
		return !e->ev.census_started || d->kind == PROBE_DNS_UDP || (e->outside && evidence_dns_relayed(&e->ev, d));
	/* An echo's denial is read off the other traffic's refusals at its address: once they
	 * are all in (the echo's last try went with them), it is waited for long enough for a
	 * relayed echo to show at a sink or in the census. */
	if (d->kind == PROBE_ICMP) {
		if (!evidence_refused_so_far(&e->ev, d, e->need[i]))
			return false;
		if (!e->ready_ms[i])
			e->ready_ms[i] = bv_now_ms();
		/* (the refusals may be the first round's, at an address probed many times) */
		long grace = EGRESS_ICMP_GRACE_MS + (long)(e->p->attempts - 1) * e->p->retry_gap_ms;
		return bv_now_ms() - e->ready_ms[i] >= grace;
	}
	return evidence_guest_local(&e->ev, d) || evidence_refused_so_far(&e->ev, d, e->need[i]) ||
	       (is_dns(d) && d->accept_gap && evidence_contained_so_far(&e->ev, q));
}

/* A run under flow pressure does not end before the census saw the flows held at once:
 * ended sooner, a slow gateway's count would be cut short and the load left unproven. */
static bool pressure_seen(struct egress_run *e)
{
	long c = policy_pressure_control(e->p);
	if (e->pressure_seen || !e->p->flow_pressure || c < 0 || !e->ev.census_started)
		return true;
	e->pressure_seen = evidence_census_alive_now(&e->ev, &e->p->dests[c]) >= e->p->flow_pressure;
	return e->pressure_seen;
}

/* The transport's watch: true once every destination is decided (the run ends there). */
static bool evidence_is_in(void *ctx)
{
	struct egress_run *e = ctx;
	if (!pressure_seen(e) || sinks_peek(e->sinks) < 0)
		return false;
	evidence_peek(&e->ev);
	for (size_t i = 0; i < e->p->n_dests; i++)
		if (!decided_early(e, i))
			return false;
	return true;
}

/* Run the probe and read its report; any failure leaves report_ok false. On a smolvm
 * bottle the run ends as soon as the outside evidence is in (ended_early): the deadline
 * bounds only what is still undecided. */
static void probe_and_read(struct egress_run *e, const struct transport *t, const char *pt, size_t len)
{
	struct spawn_result res;
	struct bv_error err = { 0 };
	struct spawn_watch w = { .stop = evidence_is_in, .ctx = e, .every_ms = EGRESS_WATCH_MS };
	bool may_stop = e->outside && !t->full_window;
	long t0 = bv_now_ms();
	e->report_ok = false;
	if (transport_run_probe(t, pt, len, (int)e->p->deadline_ms + 5000, may_stop ? &w : NULL, &res, &err) < 0) {
		snprintf(e->report_err, sizeof e->report_err, "%s", err.msg);
		return;
	}
	if (res.stopped) {
		e->ended_early = true;
		snprintf(e->report_err, sizeof e->report_err,
			 "not waited for: every destination had its outside evidence %ld ms into the run",
			 bv_now_ms() - t0);
	} else if (res.timed_out || !res.exited || res.status != 0) {
		snprintf(e->report_err, sizeof e->report_err,
			 "the probe did not complete (%s %d%s): %.200s", res.exited ? "exit" : "signal",
			 res.status, res.timed_out ? ", killed at the deadline" : "", res.errout);
	} else if (probe_report_parse_confined(res.out, res.out_len, &e->plan, e->results, &err) < 0) {
		snprintf(e->report_err, sizeof e->report_err, "%s", err.msg);
	} else {
		e->report_ok = true;
	}
	spawn_result_free(&res);
}

static void judge(struct egress_run *e)
{
	bool *allowed = calloc(e->p->n_dests, sizeof *allowed);
	for (size_t i = 0; i < e->p->n_dests; i++) {
		char q[EGRESS_QNAME_MAX];
		egress_qname(e, i, q, sizeof q);
		long s = e->sink_of[i];
		struct verdict_input in = {
			.result = e->report_ok ? &e->results[i] : NULL,
			.sink_saw_nonce = egress_sink_saw(e, i),
			/* Without a configured sink only the guest's errno speaks; with one that
			 * failed to bind, a denial proves nothing. */
			.sink_up = s == NO_SINK || (s >= 0 && e->sinks && sinks_up(e->sinks, (size_t)s)),
			.never_denied = e->udp53_answered && e->p->dests[i].kind == PROBE_DNS_UDP,
			.outside = e->outside,
			.census_saw = e->outside && evidence_census_saw(&e->ev, &e->p->dests[i]),
			.refused = e->outside && evidence_refused(&e->ev, &e->p->dests[i], e->need[i]),
			/* Only for what the carve-out concedes: the guard's record says the name
			 * reached it, not which path the guest sent it by (docs/trust.md). */
			.contained = e->outside && is_dns(&e->p->dests[i]) && e->p->dests[i].accept_gap &&
				     evidence_contained(&e->ev, q),
		};
		/* A sink log we could not read could hide an escape: nothing is judged. */
		e->v[i] = e->sinks ? verdict_of(&in) : VERDICT_INCONCLUSIVE;
		if (allowed)
			allowed[i] = e->p->dests[i].control;
	}
	if (allowed)
		verdict_apply_controls(e->v, allowed, e->p->n_dests);
	else /* without the control check nothing may stand */
		for (size_t i = 0; i < e->p->n_dests; i++)
			e->v[i] = VERDICT_INCONCLUSIVE;
	free(allowed);
}

bool egress_sink_saw(const struct egress_run *e, size_t i)
{
	char id[24];
	snprintf(id, sizeof id, "d%zu", i);
	const char *tok = e->p->dests[i].token;
	return e->sinks && (sinks_saw(e->sinks, id) || (tok[0] && sinks_saw_token(e->sinks, tok, -1)));
}

bool egress_sink_saw_own(const struct egress_run *e, size_t i)
{
	const char *tok = e->p->dests[i].token;
	return e->sinks && tok[0] && e->sink_of[i] >= 0 && sinks_saw_token(e->sinks, tok, e->sink_of[i]);
}

void egress_evidence_line(const struct egress_run *e, size_t i, char *buf, size_t cap)
{
	const struct policy_dest *d = &e->p->dests[i];
	char id[24];
	snprintf(id, sizeof id, "d%zu", i);
	size_t n = strlen(buf);
	const struct probe_result *r = e->report_ok ? &e->results[i] : NULL;
	snprintf(buf + n, cap - n, "%s%s %s port %u: %s errno=%d %lluus sink=%s verdict=%s",
		 n ? "; " : "", probe_kind_name(d->kind), d->addr, d->port,
		 r ? probe_outcome_name(r->outcome) : e->ended_early ? "not waited for" : "no valid report", r ? r->err : 0,
		 r ? r->us : 0ULL, egress_sink_saw(e, i) ? "saw-nonce" : "nothing",
		 verdict_name(e->v[i]));
	if (e->outside) {
		n = strlen(buf);
		if (n + 1 < cap)
			buf[n++] = ' ', buf[n] = '\0';
		char q[EGRESS_QNAME_MAX];
		egress_qname(e, i, q, sizeof q);
		evidence_words(&e->ev, d, e->need[i], q, buf + n, cap - n);
	}
}

void egress_group_fold(const struct egress_run *e,
		       bool (*member)(const struct policy_dest *d, const void *key), const void *key,
		       struct egress_group *g)
{
	*g = (struct egress_group){ .all_gaps = true };
	for (size_t i = 0; i < e->p->n_dests; i++) {
		const struct policy_dest *d = &e->p->dests[i];
		if (!member(d, key))
			continue;
		if (e->outside && e->v[i] != VERDICT_OPEN && evidence_guest_local(&e->ev, d)) {
			g->guest_local++;
			continue;
		}
		g->n++;
		g->control = g->control || d->control;
		g->echo = g->echo || d->kind == PROBE_ICMP;
		egress_evidence_line(e, i, g->evidence, sizeof g->evidence);
		bool is_open = e->v[i] == VERDICT_OPEN;
		bool unjudged = e->v[i] == VERDICT_INCONCLUSIVE;
		/* An accepted gap is conceded: unproven (e.g. a UDP/53 timeout at a gateway that
		 * answers them all) it stays the known gap, a TODO, never ok. */
		bool gap = egress_gap_accepted(e, d);
		if (gap && !d->control && unjudged)
			is_open = true, unjudged = false;
		g->open = g->open || (!d->control && is_open);
		g->unsure = g->unsure || unjudged || (d->control && !is_open);
		if (!d->control && is_open && !gap)
			g->all_gaps = false;
		if (gap)
			g->gap = d->gap_reason, g->dns_gap = g->dns_gap || is_dns(d);
	}
}

/* How many refusals of destination i the gateway must log for it to be denied: one per
 * try (tcp and udp are tried attempts times), summed over every destination logged under
 * the same record. A gateway that refused the first try and let another through has
 * logged too few, whatever the guest says. */
static unsigned tries_of(const struct policy *p, const struct policy_dest *d)
{
	return d->kind == PROBE_HTTP || d->kind == PROBE_GIT ? 1 : p->attempts;
}

static void count_needed_refusals(struct egress_run *e)
{
	for (size_t i = 0; i < e->p->n_dests; i++) {
		const struct policy_dest *d = &e->p->dests[i];
		e->need[i] = tries_of(e->p, d);
		for (size_t j = 0; j < e->p->n_dests; j++)
			if (j != i && evidence_same_record(d, &e->p->dests[j]))
				e->need[i] += tries_of(e->p, &e->p->dests[j]);
	}
}

static int setup(struct egress_run *e, struct bv_error *err)
{
	size_t len = 0;
	char perr[160] = "";
	if (!e->run[0])
		egress_new_run_id(e->run);
	plan_sinks(e);
	char *pt = plan_text(e, &len);
	e->results = calloc(e->p->n_dests + 1, sizeof *e->results);
	e->v = calloc(e->p->n_dests + 1, sizeof *e->v);
	e->need = calloc(e->p->n_dests + 1, sizeof *e->need);
	e->ready_ms = calloc(e->p->n_dests + 1, sizeof *e->ready_ms);
	if (!pt || !e->results || !e->v || !e->need || !e->ready_ms) {
		free(pt);
		return bv_error_set(err, ENOMEM, "out of memory");
	}
	count_needed_refusals(e);
	/* Parse our own plan back: the report is checked against exactly what was sent. */
	int r = plan_parse(pt, len, &e->plan, perr, sizeof perr);
	free(pt);
	return r < 0 ? bv_error_set(err, EINVAL, "the policy gives an invalid plan: %s", perr) : 0;
}

static void (*after_run)(void);

void egress_run_set_after(void (*fn)(void))
{
	after_run = fn;
}

int egress_run_exec(struct egress_run *e, const struct policy *p, const struct transport *t,
		    struct bv_error *err)
{
	/* A smolvm bottle of unknown version gets the strict reading. */
	e->udp53_answered = t->kind == TRANSPORT_SMOLVM &&
			    (!t->version || !t->version->known || version_policy_defaults_virtio(t->version));
	e->outside = t->kind == TRANSPORT_SMOLVM;
	e->allowed = t->allowed;
	size_t len = 0;
	e->p = p;
	int rc = setup(e, err);
	char *pt = rc == 0 ? plan_text(e, &len) : NULL;
	if (rc == 0 && !pt)
		rc = bv_error_set(err, ENOMEM, "out of memory");
	if (rc == 0 && (rc = sinks_start(e->specs, e->n_specs, e->run, &e->sinks, err)) == 0) {
		if (e->outside) {
			struct evidence_opts eo = { .data_dir = t->data_dir ? t->data_dir : "", .version = t->version,
						    .guard_addr = t->guard_addr, .guard_log = t->guard_log, .run = e->run,
						    .dns_upstream = p->dns_upstream };
			evidence_begin(&e->ev, &eo);
		}
		probe_and_read(e, t, pt, len);
		/* What a proxy or gate forwards after answering the guest still counts; once every
		 * destination is decided (an early end, or a probe that ended with all its outside
		 * evidence in), the tail is the census's last look. */
		bool decided = e->ended_early || (e->outside && !t->full_window && evidence_is_in(e));
		usleep((decided ? EGRESS_TAIL_MS : EGRESS_SETTLE_MS) * 1000);
		if (e->outside)
			evidence_end(&e->ev);
		struct bv_error serr = { 0 };
		if (sinks_stop(e->sinks, &serr) < 0) {
			/* A sink log we cannot read could hide an escape: nothing is judged. */
			snprintf(e->report_err, sizeof e->report_err, "%s", serr.msg);
			e->report_ok = false;
			sinks_free(e->sinks);
			e->sinks = NULL;
		}
		if (after_run)
			after_run();
		judge(e);
	}
	free(pt);
	return rc;
}

void egress_run_free(struct egress_run *e)
{
	if (e->outside)
		evidence_free(&e->ev);
	sinks_free(e->sinks);
	plan_free(&e->plan);
	free(e->results);
	free(e->v);
	free(e->need);
	free(e->ready_ms);
	memset(e, 0, sizeof *e);
}
