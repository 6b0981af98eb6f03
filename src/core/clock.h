/* clock.h - one monotonic clock for deadlines and elapsed times.
 * Milliseconds of CLOCK_MONOTONIC, which no wall-clock change moves: every "how long
 * has it run" and "until when may it run" in this tree reads it from here. */
#ifndef BV_CORE_CLOCK_H
#define BV_CORE_CLOCK_H

#include <time.h>

static inline long bv_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

#endif
