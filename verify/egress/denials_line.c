/* denials_line.c - one line of egress-denials.log, held to smolvm's exact bytes (see
 * denials.h for the format and where each part of it comes from): an address must be the
 * very text Rust's Display prints for it, the timestamp humantime's, nothing may follow. */
#include "egress/denials.h"

#include "core/cidr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

/* "[" + "YYYY-MM-DDTHH:MM:SSZ" + "]: egress policy denied " (lib.rs format_network_log_line
 * and egress.rs record_denial @v1.9.3). */
#define TS_LEN 20
static const char MARKER[] = "]: egress policy denied ";
#define MARKER_LEN (sizeof MARKER - 1)
#define HEAD_LEN (1 + TS_LEN + MARKER_LEN)

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool has_prefix(const char *p, size_t n, const char *prefix)
{
	size_t k = strlen(prefix);
	return n >= k && memcmp(p, prefix, k) == 0;
}

/* ---- timestamp ---- */

/* Exactly n decimal digits, or -1. */
static int digits(const char *s, size_t n)
{
	int v = 0;
	for (size_t i = 0; i < n; i++) {
		if (!is_digit(s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

static int days_in_month(int y, int m)
{
	static const int days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return days[m - 1] + (m == 2 && leap);
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian, y >= 1970). */
static int64_t days_since_epoch(int y, int m, int d)
{
	int64_t yy = y - (m <= 2);
	int64_t era = yy / 400;
	int64_t yoe = yy - era * 400;
	int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* humantime::format_rfc3339_seconds: "YYYY-MM-DDTHH:MM:SSZ", UTC, upper-case T and Z.
 * The case matters: smolvm lower-cases the DNS names it logs, so a guest's name can never
 * carry an upper-case T or Z into a forged line. */
static int parse_time(const char *s, int64_t *out)
{
	int y = digits(s, 4), mo = digits(s + 5, 2), d = digits(s + 8, 2);
	int h = digits(s + 11, 2), mi = digits(s + 14, 2), sec = digits(s + 17, 2);
	if (s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' ||
	    s[19] != 'Z')
		return -1;
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h < 0 ||
	    h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 59)
		return -1;
	*out = days_since_epoch(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec;
	return 0;
}

/* ---- addresses, as Rust's Display writes them ---- */

/* Ipv6Addr's Display (core::net): "::ffff:a.b.c.d" for IPv4-mapped; otherwise lower-case
 * hex groups with the first longest run of more than one zero group as "::". */
static void format_v6(const unsigned char a[16], char out[INET6_ADDRSTRLEN])
{
	unsigned seg[8];
	int best = 0, best_len = 0, run = 0;
	for (int i = 0; i < 8; i++) {
		seg[i] = (unsigned)a[2 * i] << 8 | a[2 * i + 1];
		run = seg[i] == 0 ? run + 1 : 0;
		if (run > best_len) {
			best_len = run;
			best = i - run + 1;
		}
	}
	if (!seg[0] && !seg[1] && !seg[2] && !seg[3] && !seg[4] && seg[5] == 0xffff) {
		snprintf(out, INET6_ADDRSTRLEN, "::ffff:%u.%u.%u.%u", a[12], a[13], a[14], a[15]);
		return;
	}
	if (best_len < 2)
		best = 8; /* no "::" */
	size_t n = 0;
	for (int i = 0; i < 8; i++) {
		if (i == best) {
			n += (size_t)snprintf(out + n, INET6_ADDRSTRLEN - n, "::");
			i += best_len - 1;
			continue;
		}
		const char *sep = i > 0 && i != best + best_len ? ":" : "";
		n += (size_t)snprintf(out + n, INET6_ADDRSTRLEN - n, "%s%x", sep, seg[i]);
	}
}


/* Only what Display can print reaches inet_pton (lower-case hex, ':' and '.'); the
 * result must then print back to the same bytes, so "0:0::1" or "::FFFF:1.2.3.4" fail. */
static int parse_v6(const char *s, size_t len, unsigned char out[16])
{
	char buf[INET6_ADDRSTRLEN], again[INET6_ADDRSTRLEN];
	if (len == 0 || len >= sizeof buf)
		return -1;
	for (size_t i = 0; i < len; i++)
		if (!is_digit(s[i]) && !(s[i] >= 'a' && s[i] <= 'f') && s[i] != ':' && s[i] != '.')
			return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (inet_pton(AF_INET6, buf, out) != 1)
		return -1;
	format_v6(out, again);
	return strcmp(buf, again) == 0 ? 0 : -1;
}

/* u16's Display: 1-5 digits, no leading zero but "0" itself, at most 65535. */
static int parse_port(const char *s, size_t len, uint16_t *out)
{
	int v = len >= 1 && len <= 5 && !(len > 1 && s[0] == '0') ? digits(s, len) : -1;
	if (v < 0 || v > 65535)
		return -1;
	*out = (uint16_t)v;
	return 0;
}

/* SocketAddr's Display: "a.b.c.d:port" or "[v6]:port" (no scope id: the gateway builds
 * it with SocketAddr::new, stack.rs classify_guest_frame). */
static int parse_dest(const char *p, size_t n, struct denial *x)
{
	const char *colon;
	if (n > 0 && p[0] == '[') {
		const char *close = memchr(p, ']', n);
		if (!close || (size_t)(close - p) + 1 >= n || close[1] != ':' ||
		    parse_v6(p + 1, (size_t)(close - p) - 1, x->addr) < 0)
			return -1;
		x->family = AF_INET6;
		colon = close + 1;
	} else {
		colon = memchr(p, ':', n);
		if (!colon || cidr_parse_v4(p, (size_t)(colon - p), x->addr) < 0)
			return -1;
		x->family = AF_INET;
	}
	return parse_port(colon + 1, n - (size_t)(colon + 1 - p), &x->port);
}

/* ---- lines ---- */

/* One UTF-8 sequence at s (n > 0 bytes left): its length, or 0 when invalid (overlong,
 * surrogate, past U+10FFFF, cut short). */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	unsigned c = s[0], cp, min;
	size_t k;
	if (c < 0x80)
		return 1;
	if ((c & 0xe0) == 0xc0)
		k = 1, cp = c & 0x1f, min = 0x80;
	else if ((c & 0xf0) == 0xe0)
		k = 2, cp = c & 0x0f, min = 0x800;
	else if ((c & 0xf8) == 0xf0)
		k = 3, cp = c & 0x07, min = 0x10000;
	else
		return 0;
	if (n <= k)
		return 0;
	for (size_t j = 1; j <= k; j++) {
		if ((s[j] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[j] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return k + 1;
}

/* A name as smolvm logs it for "resolve": the guest's DNS labels, UTF-8 (a Rust String),
 * ASCII lower-cased (dns.rs read_name @v1.9.3), joined by '.'. Any bytes but those. */
static bool resolve_name_ok(const char *p, size_t n)
{
	const unsigned char *s = (const unsigned char *)p;
	size_t i = 0;
	while (i < n) {
		size_t k = utf8_seq(s + i, n - i);
		if (k == 0 || (s[i] >= 'A' && s[i] <= 'Z'))
			return false;
		i += k;
	}
	return true;
}

enum denial_line denial_parse_line(const char *line, size_t len, struct denial *d)
{
	struct denial x = { 0 };
	if (!line || len > DENIAL_LINE_MAX || len < HEAD_LEN || line[0] != '[' ||
	    parse_time(line + 1, &x.time) < 0 || memcmp(line + 1 + TS_LEN, MARKER, MARKER_LEN) != 0)
		return DENIAL_LINE_MALFORMED;
	const char *p = line + HEAD_LEN;
	size_t n = len - HEAD_LEN;
	size_t skip;
	if (has_prefix(p, n, "resolve "))
		return resolve_name_ok(p + 8, n - 8) ? DENIAL_LINE_IGNORED : DENIAL_LINE_MALFORMED;
	if (has_prefix(p, n, "connect to ")) /* tcp_relay.rs: format_args!("to {destination}") */
		x.op = DENIAL_CONNECT, skip = 11;
	else if (has_prefix(p, n, "sendto "))
		x.op = DENIAL_SENDTO, skip = 7;
	else
		return DENIAL_LINE_MALFORMED;
	if (parse_dest(p + skip, n - skip, &x) < 0)
		return DENIAL_LINE_MALFORMED;
	*d = x;
	return DENIAL_LINE_DENIAL;
}

static const char *op_text(enum denial_op op)
{
	switch (op) {
	case DENIAL_CONNECT:
		return "connect to";
	case DENIAL_SENDTO:
		return "sendto";
	}
	return "?";
}

void denial_format_dest(const struct denial *d, char buf[DENIAL_TEXT_MAX])
{
	char ip[INET6_ADDRSTRLEN];
	if (d->family == AF_INET6) {
		format_v6(d->addr, ip);
		snprintf(buf, DENIAL_TEXT_MAX, "%s [%s]:%u", op_text(d->op), ip, (unsigned)d->port);
	} else {
		snprintf(buf, DENIAL_TEXT_MAX, "%s %u.%u.%u.%u:%u", op_text(d->op), d->addr[0],
			 d->addr[1], d->addr[2], d->addr[3], (unsigned)d->port);
	}
}
