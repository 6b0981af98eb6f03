/* census_sampler.c - see census.h: the background sampler of census_start/census_stop, a
 * pass every interval on a thread of its own, for a run of a few seconds (egress). */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <time.h>

#include "core/clock.h"
#include "egress/census.h"

static void sampler_pass(struct census *c)
{
	struct bv_error e = { 0 };
	int r = census_sample(c, bv_now_ms() - c->started_ms, &e);
	if (r == 0)
		return;
	pthread_mutex_lock(&c->lock);
	if (c->thread_rc == 0) {
		c->thread_rc = r;
		c->thread_err = e;
	}
	pthread_mutex_unlock(&c->lock);
}

static void timespec_add_ms(struct timespec *t, int ms)
{
	t->tv_sec += ms / 1000;
	t->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (t->tv_nsec >= 1000000000L) {
		t->tv_sec++;
		t->tv_nsec -= 1000000000L;
	}
}

/* Until the next tick (a slow pass moves the schedule, never bunches passes) or a stop.
 * true when the sampler should end: stop asked, or no VMM left to watch. */
static bool sampler_wait(struct census *c, struct timespec *next)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	timespec_add_ms(next, c->interval_ms);
	if (next->tv_sec < now.tv_sec || (next->tv_sec == now.tv_sec && next->tv_nsec < now.tv_nsec))
		*next = now;
	pthread_mutex_lock(&c->lock);
	while (!c->stop && !c->vmm_gone && !c->vmm_replaced &&
	       pthread_cond_timedwait(&c->wake, &c->lock, next) != ETIMEDOUT)
		;
	bool end = c->stop || c->vmm_gone || c->vmm_replaced;
	pthread_mutex_unlock(&c->lock);
	return end;
}

/* A pass, a wait, a pass, ...; once told to stop, one last pass. */
static void *sampler_main(void *arg)
{
	struct census *c = arg;
	struct timespec next;
	clock_gettime(CLOCK_MONOTONIC, &next);
	sampler_pass(c);
	bool last = false;
	while (!last) {
		last = sampler_wait(c, &next);
		sampler_pass(c);
	}
	return NULL;
}

int census_start(struct census *c, int interval_ms, struct bv_error *err)
{
	if (!c->is_open)
		return bv_error_set(err, EBADF, "the census is not open");
	if (c->running)
		return bv_error_set(err, EBUSY, "the census sampler already runs");
	c->interval_ms = interval_ms > 0 ? interval_ms : CENSUS_INTERVAL_MS;
	c->stop = false;
	c->thread_rc = 0;
	bv_error_clear(&c->thread_err);
	c->started_ms = bv_now_ms();
	/* Signals stay with the caller's threads: the sampler starts with all blocked. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int r = pthread_create(&c->thread, NULL, sampler_main, c);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r != 0)
		return bv_error_errno(err, r, "start the census sampler");
	c->running = true;
	return 0;
}

int census_stop(struct census *c, struct bv_error *err)
{
	if (!c->is_open || !c->running)
		return 0;
	pthread_mutex_lock(&c->lock);
	c->stop = true;
	pthread_cond_signal(&c->wake);
	pthread_mutex_unlock(&c->lock);
	pthread_join(c->thread, NULL);
	c->running = false;
	if (c->thread_rc == 0)
		return 0;
	if (err)
		*err = c->thread_err;
	return c->thread_rc;
}

