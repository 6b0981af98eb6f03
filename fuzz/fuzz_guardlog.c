/* libFuzzer target: the DNS guard's record (dnsmasq's query log) on hostile bytes, one
 * line and a whole buffer. Invariants: no crash or leak; a name taken from a line is
 * shorter than GUARDLOG_NAME_MAX, has no upper-case letter, and stands in the line
 * (case aside) right before dnsmasq's last " from " or " to ". */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "egress/guardlog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_name(const char *line, size_t len, const char *name, const char *tail)
{
	size_t n = strlen(name), t = strlen(tail);
	if (n == 0 || n >= GUARDLOG_NAME_MAX)
		abort();
	for (size_t i = 0; i < n; i++)
		if (isupper((unsigned char)name[i]))
			abort();
	/* the name ends where the last tail begins */
	const char *last = NULL;
	for (size_t i = 0; i + t <= len; i++)
		if (memcmp(line + i, tail, t) == 0)
			last = line + i;
	if (!last || (size_t)(last - line) < n || strncasecmp(last - n, name, n) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char name[GUARDLOG_NAME_MAX];
	const char *line = (const char *)data;
	enum guardlog_line k = guardlog_parse_line(line, size, name, sizeof name);
	if (k == GUARDLOG_QUERY)
		check_name(line, size, name, " from ");
	else if (k == GUARDLOG_FORWARDED)
		check_name(line, size, name, " to ");
	return 0;
}
