/* guardlog.h - the DNS guard's record: which names the bottle's resolver was asked.
 * bottle-launch points a bottle's DNS (smolvm --dns, >= 1.2.5) at a dnsmasq of its own that
 * answers only the policy's names and forwards nothing (docs/launch.md, "The DNS guard");
 * its query log says which names reached it. A run marks the log, then reads what follows. */
#ifndef BV_VERIFY_EGRESS_GUARDLOG_H
#define BV_VERIFY_EGRESS_GUARDLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "core/error.h"

/* The most read after one mark; past it the record is incomplete (-EFBIG). */
#define GUARDLOG_READ_MAX (16L * 1024 * 1024)
#define GUARDLOG_NAME_MAX 256 /* a DNS name as dnsmasq prints it, NUL included */

/* Where the run starts: the log's identity and size then (absent: nothing logged yet). */
struct guardlog_mark {
	bool present;
	dev_t dev;
	ino_t ino;
	off_t size;
};

enum guardlog_line {
	GUARDLOG_OTHER,     /* any other line dnsmasq writes (config, reply, start-up) */
	GUARDLOG_QUERY,     /* "N ADDR/PORT query[TYPE] NAME from ADDR": NAME asked */
	GUARDLOG_FORWARDED, /* "N ADDR/PORT forwarded NAME to ADDR": NAME left the guard */
};

/* Names seen since a mark, lower-cased, that end with the run's suffix (others are only
 * counted): asked, and forwarded (a guard that forwards is no guard: its names are not
 * contained). Each list is NUL-separated names in one buffer. Start it zeroed. */
struct guardlog_names {
	const char *suffix; /* e.g. ".RUN.exfil.test"; NULL keeps every name */
	char *asked, *forwarded;
	size_t asked_len, forwarded_len, asked_cap, forwarded_cap;
	size_t n_asked, n_forwarded, n_other;
};

int guardlog_mark(const char *path, struct guardlog_mark *m, struct bv_error *err);
/* Add every query and forward logged since m. The same file grown: its bytes from m->size
 * on; absent at the mark: the whole file. Replaced or shrunk: -ESTALE (incomplete). A last
 * line without '\n' is still being written and left out. 0 or -errno with err set. */
int guardlog_read_since(const char *path, const struct guardlog_mark *m, struct guardlog_names *out,
			struct bv_error *err);
/* One line of dnsmasq's --log-queries=extra output (without its '\n'); name (cap at least
 * GUARDLOG_NAME_MAX) gets the name, lower-cased, for QUERY and FORWARDED. Any input is safe. */
enum guardlog_line guardlog_parse_line(const char *line, size_t len, char *name, size_t cap);
bool guardlog_asked(const struct guardlog_names *g, const char *name);
bool guardlog_forwarded(const struct guardlog_names *g, const char *name);
void guardlog_names_free(struct guardlog_names *g);

#endif
