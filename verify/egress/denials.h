/* denials.h - smolvm's own record of the egress its gateway refused: egress-denials.log.
 * The one witness of DENIED that lives outside the guest (docs/trust.md): a mark at the start
 * of a run, then every connect/sendto refusal appended since, read strictly and bounded. */
#ifndef BV_VERIFY_EGRESS_DENIALS_H
#define BV_VERIFY_EGRESS_DENIALS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "core/error.h"

/* The format, as smolvm writes it from v1.8.1 (ca0b2bf1) to v1.9.3, unchanged between;
 * files under crates/smolvm-network/src/ @v1.9.3 unless named otherwise:
 *   "[2026-08-13T02:31:05Z]: egress policy denied connect to 1.2.3.4:80\n"
 *   "[...]: egress policy denied connect to [2001:db8::1]:443\n"
 *   "[...]: egress policy denied sendto 1.2.3.4:123\n"
 *   "[...]: egress policy denied resolve <dns name>\n"
 * - record_denial, egress.rs: one writeln! per refusal into <vm data dir>/
 *   egress-denials.log (append), renamed to egress-denials.log.1 when the file is already
 *   over 8 MiB, just before the next line (one generation kept);
 * - format_network_log_line, lib.rs: "[<ts>]: <msg>" with humantime's
 *   format_rfc3339_seconds: whole seconds, UTC, upper-case 'T' and 'Z';
 * - the destination is Rust's SocketAddr Display: "a.b.c.d:port" or "[v6]:port", the v6
 *   address lower-case with the first longest run (> 1) of zero groups as "::", and
 *   IPv4-mapped as "::ffff:a.b.c.d" (kept IPv6: the frame's address, stack.rs
 *   classify_guest_frame); no scope id. "connect to" is TCP (tcp_relay.rs
 *   create_tcp_socket), "sendto" UDP (stack.rs), never to port 53: UDP/53 is the
 *   gateway's DNS and is not logged as sendto;
 * - "resolve <name>" (stack.rs classify_dns_query, only under an allow-host list) is the
 *   DNS name the guest asked for, lower-cased (dns.rs read_name) but otherwise verbatim:
 *   the guest can put newlines in it. Such lines are recognised and ignored, and whatever
 *   follows a newline in a name counts as malformed, so n_malformed is guest-influenced.
 *   Because smolvm lower-cases names, a guest cannot forge a connect/sendto line: the
 *   timestamp's 'T' and 'Z' must be upper case, and this parser insists on it. */

#define DENIALS_LOG_NAME "egress-denials.log"
#define DENIALS_ROTATE_BYTES (8L * 1024 * 1024) /* record_denial's ROTATE_BYTES */
/* The most read since one mark: the rest of .1 plus a whole live file, each at most
 * 8 MiB plus one last line (a "resolve" line can be long: a guest's DNS name, labels
 * re-read through up to 16 compression pointers); past this the reader stops, -EFBIG. */
#define DENIALS_READ_MAX (2 * DENIALS_ROTATE_BYTES + 4L * 1024 * 1024)
/* Longest line looked at; longer lines (only a guest's long DNS name makes them) are
 * malformed. A connect line is at most 103 bytes. */
#define DENIAL_LINE_MAX 4096
/* Distinct (op, address, port) kept per set; past it the set is truncated. */
#define DENIALS_MAX 65536
/* Longest text denial_format_dest writes, NUL included. */
#define DENIAL_TEXT_MAX 80

enum denial_op {
	DENIAL_CONNECT = 1, /* "connect to": a TCP SYN refused */
	DENIAL_SENDTO,      /* "sendto": a UDP datagram dropped */
};

struct denial {
	enum denial_op op;
	int family;              /* AF_INET or AF_INET6 (IPv4-mapped stays AF_INET6) */
	unsigned char addr[16];  /* network order; IPv4 uses the first 4 bytes */
	uint16_t port;           /* 0..65535 (a guest may SYN port 0; smolvm logs it) */
	int64_t time;            /* seconds since the epoch, as logged (UTC) */
};

enum denial_line {
	DENIAL_LINE_MALFORMED, /* not exactly a line smolvm writes */
	DENIAL_LINE_DENIAL,    /* connect/sendto: d is filled */
	DENIAL_LINE_IGNORED,   /* a line smolvm writes that is no connect/sendto ("resolve") */
};

/* Classify one line (without its '\n'). Strict: anything but smolvm's exact bytes is
 * malformed, NUL bytes and over-long lines included; no allocation, any input is safe.
 * d is written only for DENIAL_LINE_DENIAL. */
enum denial_line denial_parse_line(const char *line, size_t len, struct denial *d);

/* "connect to 1.2.3.4:80" / "sendto [::1]:123", as smolvm writes it. */
void denial_format_dest(const struct denial *d, char buf[DENIAL_TEXT_MAX]);

/* One distinct refusal and how often it was logged. */
struct denial_entry {
	struct denial d; /* d.time: the first time logged */
	int64_t last;    /* the last time logged */
	uint32_t count;  /* lines (saturates) */
};

/* What was read: distinct refusals in first-seen order, and the line counts. Start it
 * zeroed ({0}); max = 0 means DENIALS_MAX. Free with denial_set_free. */
struct denial_set {
	struct denial_entry *items;
	size_t len;
	size_t max;
	uint32_t *slots;  /* hash index into items (index + 1, 0 = empty) */
	size_t nslots;
	uint64_t seed;    /* the index's random hash key */
	size_t n_denials;   /* connect/sendto lines, duplicates included */
	size_t n_ignored;   /* resolve lines */
	size_t n_malformed; /* lines that are not smolvm's format */
	/* Distinct refusals past max were not kept: a refusal not found may have been
	 * logged, so the caller treats "not found" as inconclusive. */
	bool truncated;
	/* The live file ended in a line still being written; it was left out. */
	bool partial;
};

/* Where the run starts: the live log's identity and size then. The mark holds the file
 * it names open, so no other file can take its inode number while the run lasts (a log
 * replaced, or rotated twice, could otherwise come back under the marked identity). */
struct denials_mark {
	bool present;        /* the live file existed */
	int fd;              /* the live file, held; -1 when absent */
	dev_t dev;
	ino_t ino;
	off_t size;
	bool rot_present;    /* egress-denials.log.1 existed (only looked at when !present) */
	int rot_fd;          /* it, held; -1 when absent */
	dev_t rot_dev;
	ino_t rot_ino;
};

/* "<data_dir>/egress-denials.log", or ".log.1" when rotated. 0 or -ENAMETOOLONG. */
int denials_path(const char *data_dir, bool rotated, char *buf, size_t len);

/* Take the mark. A missing log is a valid mark (nothing logged yet; smolvm creates it on
 * the first refusal). Returns 0, or -errno with err set (-ELOOP: a symlink; -EINVAL: not a
 * regular file). m is always left releasable, on failure too. */
int denials_mark(const char *data_dir, struct denials_mark *m, struct bv_error *err);

/* Close what the mark holds (after the last denials_read_since). Only for a mark that
 * denials_mark filled: a zeroed struct would name fd 0. */
void denials_mark_release(struct denials_mark *m);

/* Add to out every line appended since m:
 * - the live file still has the marked inode: its bytes from m->size on;
 * - it was rotated once (.1 has the marked inode): the rest of .1, then the whole live file;
 * - the mark was "absent": the whole live file, and a .1 that appeared since (a double
 *   rotation cannot be told from one here; what it loses is only evidence of refusals);
 * - otherwise (rotated twice, replaced, shrunk): -ESTALE, the record is incomplete.
 * A line cut by the mark belongs to before it and is skipped. A last line without '\n' is
 * still being written: left out, out->partial set. More than DENIALS_READ_MAX bytes:
 * -EFBIG. Returns 0 or -errno with err set; out keeps what was added on error too. */
int denials_read_since(const char *data_dir, const struct denials_mark *m,
		       struct denial_set *out, struct bv_error *err);

/* The same line handling on a buffer (complete lines only; a tail without '\n' sets
 * partial). For tests and the fuzzer. 0 or -ENOMEM. */
int denials_parse_buffer(const char *buf, size_t len, struct denial_set *out,
			 struct bv_error *err);

/* One line (without its '\n'; overlong: it was cut, so it is malformed) counted into s and,
 * when it is a connect/sendto refusal, added. 0 or -ENOMEM. */
int denial_set_add_line(struct denial_set *s, const char *line, size_t len, bool overlong,
			struct bv_error *err);

/* The entry logged for exactly this op, family, address and port, or NULL. sa is a
 * sockaddr_in or sockaddr_in6 (an IPv4-mapped sockaddr_in6 matches only an IPv6 line,
 * as smolvm prints it). */
const struct denial_entry *denials_find(const struct denial_set *s, enum denial_op op,
					const struct sockaddr *sa);
bool denials_has(const struct denial_set *s, enum denial_op op, const struct sockaddr *sa);

void denial_set_free(struct denial_set *s);

#endif
