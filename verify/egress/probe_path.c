/* probe_path.c - see probe_path.h. Both places hold a binary of the same install as
 * bottle-verify's own (the real path of /proc/self/exe), never one found on PATH: the
 * probe is what drives the guest's traffic, and a stray one would test something else. */
#include "egress/probe_path.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const PLACES[] = { "bottle-probe", "../lib/bottle-verify/bottle-probe" };

int probe_path_in(const char *dir, char **out, struct bv_error *err)
{
	char tried[2][PATH_MAX];
	*out = NULL;
	for (size_t i = 0; i < 2; i++) {
		int n = snprintf(tried[i], sizeof tried[i], "%s/%s", dir, PLACES[i]);
		if (n < 0 || (size_t)n >= sizeof tried[i])
			return bv_error_set(err, ENAMETOOLONG, "cannot find bottle-probe: %s is too long a directory (pass --probe)", dir);
		if (access(tried[i], X_OK) != 0)
			continue;
		*out = realpath(tried[i], NULL);
		if (!*out && !(*out = strdup(tried[i])))
			return bv_error_set(err, ENOMEM, "out of memory");
		return 0;
	}
	return bv_error_set(err, ENOENT, "cannot find bottle-probe: neither %s nor %s is executable (pass --probe)",
			    tried[0], tried[1]);
}

int probe_path_find(const char *given, char **out, struct bv_error *err)
{
	if (given)
		return (*out = strdup(given)) ? 0 : bv_error_set(err, ENOMEM, "out of memory");
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self);
	*out = NULL;
	if (n < 0)
		return bv_error_errno(err, errno, "cannot find bottle-probe: /proc/self/exe (pass --probe)");
	if (n == 0 || (size_t)n >= sizeof self)
		return bv_error_set(err, ENOENT, "cannot find bottle-probe: /proc/self/exe is empty or too long (pass --probe)");
	self[n] = '\0';
	char *slash = strrchr(self, '/');
	if (!slash)
		return bv_error_set(err, ENOENT, "cannot find bottle-probe: /proc/self/exe is %s (pass --probe)", self);
	*slash = '\0';
	return probe_path_in(self[0] ? self : "/", out, err);
}
