/* libFuzzer target: smolvm's egress-denials.log lines and the streamed reader on hostile
 * bytes. Invariants: no crash or leak; a line taken as a denial prints back to exactly
 * its own bytes; the reader counts one kind per complete line, flags an unterminated
 * tail as partial, keeps at most max entries and finds every entry it kept. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <netinet/in.h>

#include "egress/denials.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_round_trip(const char *line, size_t len, const struct denial *d)
{
	char dest[DENIAL_TEXT_MAX], again[DENIAL_TEXT_MAX + 64];
	struct tm tm;
	time_t t = (time_t)d->time;
	if (!gmtime_r(&t, &tm))
		abort();
	denial_format_dest(d, dest);
	int n = snprintf(again, sizeof again, "[%04d-%02d-%02dT%02d:%02d:%02dZ]: egress policy denied %s",
			 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, dest);
	if (n < 0 || (size_t)n != len || memcmp(again, line, len) != 0)
		abort(); /* accepted bytes smolvm would not have written */
}

/* The entry as the sockaddr a caller would ask with. */
static void check_found(const struct denial_set *s, const struct denial_entry *e)
{
	struct sockaddr_in in = { .sin_family = AF_INET, .sin_port = htons(e->d.port) };
	struct sockaddr_in6 in6 = { .sin6_family = AF_INET6, .sin6_port = htons(e->d.port) };
	const struct sockaddr *sa = (const struct sockaddr *)&in;
	memcpy(&in.sin_addr, e->d.addr, 4);
	memcpy(&in6.sin6_addr, e->d.addr, 16);
	if (e->d.family == AF_INET6)
		sa = (const struct sockaddr *)&in6;
	if (denials_find(s, e->d.op, sa) != e)
		abort();
}

static void check_reader(const char *buf, size_t size)
{
	struct denial_set s = { .max = 8 };
	size_t lines = 0;
	for (size_t i = 0; i < size; i++)
		lines += buf[i] == '\n';
	if (denials_parse_buffer(buf, size, &s, NULL) < 0)
		abort(); /* only -ENOMEM, and 8 entries never run out */
	if (s.n_denials + s.n_ignored + s.n_malformed != lines || s.len > 8 || s.len > s.n_denials)
		abort();
	if (s.partial != (size > 0 && buf[size - 1] != '\n'))
		abort();
	for (size_t i = 0; i < s.len; i++)
		check_found(&s, &s.items[i]);
	denial_set_free(&s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;
	struct denial d;
	if (denial_parse_line(p, size, &d) == DENIAL_LINE_DENIAL)
		check_round_trip(p, size, &d);
	check_reader(p, size);
	return 0;
}
