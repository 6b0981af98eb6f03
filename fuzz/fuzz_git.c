/* libFuzzer target: what a git server (in the guest's reach, so hostile) answers to
 * bottle-probe's push: the ref advertisement and the side-band result.
 * Invariants: no crash; text stays NUL-terminated and printable; a found result sets
 * accepted to 0 or 1. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "probe/git.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char text[GIT_TEXT_MAX + 1];
	int accepted = -1;
	text[0] = '\0';
	git_adv_done(data, size, text, sizeof text);
	if (strlen(text) > GIT_TEXT_MAX)
		abort();
	int r = git_parse_result(data, size, "b1", &accepted, text, sizeof text);
	if (r == 0 && accepted != 0 && accepted != 1)
		abort();
	for (const char *t = text; *t; t++)
		if (*t != '\n' && (*t < 0x20 || *t > 0x7e))
			abort();
	return 0;
}
