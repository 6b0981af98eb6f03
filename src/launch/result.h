/* result.h - what bottle-launch did, as one JSON document (--format json): the bottle,
 * its address, the smolvm it runs on, bottle-verify's own report of it, or the refusal
 * and why. A caller in another language reads this instead of our stderr (docs/bot-bottle.md). */
#ifndef BV_LAUNCH_RESULT_H
#define BV_LAUNCH_RESULT_H

#include <stdio.h>

#include "core/cidr.h"
#include "core/error.h"
#include "launch/alias_pool.h"

#define LAUNCH_RESULT_FORMAT "bottle-launch/1"

struct launch_result {
	const char *command;              /* "up", "down" */
	const char *name;
	/* up: "ready" (handed over), "planned" (--dry-run), "refused" (exit 1: a finding or
	 * a refusal), "error" (exit 2); down: "down", "nothing" (no such machine), "refused"
	 * (exit 1: its watch saw a finding, or the teardown did not complete), "error" */
	const char *outcome;
	int exit_code;
	int step;                         /* up: the step it ended at (1..9), 0: not up */
	char reason[BV_ERROR_MSG_MAX];    /* why it was refused or failed, or "" */
	char allowlist[CIDR_TEXT_MAX];    /* "127.0.0.16/32", or "" before step 2 */
	char address[LEASE_ADDR_MAX];     /* the leased address */
	char alias[LEASE_ADDR_MAX];       /* --alias auto: the pool alias, else "" */
	char slug[256];
	unsigned subnet_octet;            /* bot-bottle's bundle subnet 192.168.OCTET.0/24; 0: none */
	char dns_guard[64];               /* the guard's address, or "" */
	char smolvm_version[32];          /* "1.9.3", "unknown", or "" when not read */
	int verify_exit;                  /* bottle-verify all's exit status, -1: it did not run */
	char *verify_report;              /* its --format json report as printed (malloc'd), or NULL */
	char *watch_tap;                  /* up --watch: the watch's TAP file (malloc'd), or NULL */
};

/* Print r as one JSON object and a newline. 0, or -errno (out of memory, a failed write). */
int launch_result_emit(const struct launch_result *r, FILE *out);

void launch_result_free(struct launch_result *r);

#endif
