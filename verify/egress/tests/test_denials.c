/* test_denials.c - smolvm's egress-denials.log: the strict line parser (each form smolvm
 * writes, and everything it does not) and the set (test_denials_read.c: the files). */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "egress/denials.h"
#include "denials_test.h"

#define TS "[2026-08-13T02:31:05Z]: "
#define HEAD TS "egress policy denied "

/* ---- helpers ---- */

static struct denial P(const char *line)
{
	struct denial d;
	cr_assert_eq(denial_parse_line(line, strlen(line), &d), DENIAL_LINE_DENIAL, "rejected \"%s\"", line);
	return d;
}

static enum denial_line kind(const char *line)
{
	struct denial d;
	return denial_parse_line(line, strlen(line), &d);
}


static void expect_dest(const char *line, const char *want)
{
	char buf[DENIAL_TEXT_MAX];
	struct denial d = P(line);
	denial_format_dest(&d, buf);
	cr_assert_str_eq(buf, want);
}

/* ---- the forms smolvm writes ---- */

Test(denial_parse_line, ipv4_connect)
{
	struct denial d = P(HEAD "connect to 1.2.3.4:80");
	cr_assert_eq(d.op, DENIAL_CONNECT);
	cr_assert_eq(d.family, AF_INET);
	cr_assert_eq(memcmp(d.addr, "\x01\x02\x03\x04", 4), 0);
	cr_assert_eq(d.port, 80);
}

Test(denial_parse_line, timestamp_is_seconds_since_the_epoch_utc)
{
	struct tm tm = { .tm_year = 126, .tm_mon = 7, .tm_mday = 13, .tm_hour = 2, .tm_min = 31, .tm_sec = 5 };
	cr_assert_eq(P(HEAD "connect to 1.2.3.4:80").time, (int64_t)timegm(&tm));
}

Test(denial_parse_line, epoch_and_leap_day_timestamps)
{
	struct tm tm = { .tm_year = 124, .tm_mon = 1, .tm_mday = 29, .tm_hour = 23, .tm_min = 59, .tm_sec = 59 };
	cr_assert_eq(P("[1970-01-01T00:00:00Z]: egress policy denied sendto 1.2.3.4:1").time, 0);
	cr_assert_eq(P("[2024-02-29T23:59:59Z]: egress policy denied sendto 1.2.3.4:1").time, (int64_t)timegm(&tm));
}

Test(denial_parse_line, ipv6_connect)
{
	struct denial d = P(HEAD "connect to [2001:db8::1]:443");
	unsigned char want[16];
	inet_pton(AF_INET6, "2001:db8::1", want);
	cr_assert_eq(d.op, DENIAL_CONNECT);
	cr_assert_eq(d.family, AF_INET6);
	cr_assert_eq(memcmp(d.addr, want, 16), 0);
	cr_assert_eq(d.port, 443);
}

Test(denial_parse_line, ipv4_sendto)
{
	struct denial d = P(HEAD "sendto 9.9.9.9:123");
	cr_assert_eq(d.op, DENIAL_SENDTO);
	cr_assert_eq(d.family, AF_INET);
	cr_assert_eq(d.port, 123);
}

Test(denial_parse_line, ipv6_sendto)
{
	struct denial d = P(HEAD "sendto [fd00::2]:5353");
	cr_assert_eq(d.op, DENIAL_SENDTO);
	cr_assert_eq(d.family, AF_INET6);
}

Test(denial_parse_line, ipv4_mapped_stays_ipv6_as_rust_prints_it)
{
	struct denial d = P(HEAD "connect to [::ffff:10.0.0.1]:80");
	cr_assert_eq(d.family, AF_INET6);
	cr_assert_eq(memcmp(d.addr, "\0\0\0\0\0\0\0\0\0\0\xff\xff\x0a\0\0\x01", 16), 0);
}

Test(denial_parse_line, edge_ports_0_and_65535)
{
	cr_assert_eq(P(HEAD "connect to 1.2.3.4:0").port, 0);
	cr_assert_eq(P(HEAD "connect to [::1]:65535").port, 65535);
}

Test(denial_parse_line, rust_ipv6_forms_are_accepted)
{
	P(HEAD "connect to [::]:1");
	P(HEAD "connect to [1::]:1");
	P(HEAD "connect to [1:0:0:2::3]:1");              /* the longer zero run is "::" */
	P(HEAD "connect to [1::2:0:0:3]:1");              /* equal runs: the first */
	P(HEAD "connect to [2001:db8:0:1:1:1:1:1]:1");    /* a single zero group stays */
	P(HEAD "connect to [ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535");
	P(HEAD "connect to [::102:304]:1");               /* IPv4-compatible: plain hex */
}

Test(denial_parse_line, resolve_lines_are_recognised_and_ignored)
{
	cr_assert_eq(kind(HEAD "resolve example.com"), DENIAL_LINE_IGNORED);
	cr_assert_eq(kind(HEAD "resolve "), DENIAL_LINE_IGNORED); /* the root name */
	cr_assert_eq(kind(HEAD "resolve b\xc3\xbc" "cher.example"), DENIAL_LINE_IGNORED);
	cr_assert_eq(kind(HEAD "resolve a name with spaces: 1.2.3.4:80"), DENIAL_LINE_IGNORED);
}

Test(denial_parse_line, a_resolve_line_may_hold_nul_bytes)
{
	static const char line[] = HEAD "resolve a\0b";
	struct denial d;
	cr_assert_eq(denial_parse_line(line, sizeof line - 1, &d), DENIAL_LINE_IGNORED);
}

Test(denial_parse_line, a_line_of_exactly_the_maximum_length_is_read)
{
	char line[DENIAL_LINE_MAX];
	struct denial d;
	memset(line, 'a', sizeof line);
	memcpy(line, HEAD "resolve ", strlen(HEAD "resolve "));
	cr_assert_eq(denial_parse_line(line, sizeof line, &d), DENIAL_LINE_IGNORED);
}

Test(denial_parse_line, an_overlong_line_is_malformed)
{
	char line[DENIAL_LINE_MAX + 1];
	struct denial d;
	memset(line, 'a', sizeof line);
	memcpy(line, HEAD "resolve ", strlen(HEAD "resolve "));
	cr_assert_eq(denial_parse_line(line, sizeof line, &d), DENIAL_LINE_MALFORMED);
}

Test(denial_parse_line, null_line_is_malformed)
{
	struct denial d;
	cr_assert_eq(denial_parse_line(NULL, 10, &d), DENIAL_LINE_MALFORMED);
}

Test(denial_format_dest, prints_what_smolvm_wrote)
{
	expect_dest(HEAD "connect to 1.2.3.4:80", "connect to 1.2.3.4:80");
	expect_dest(HEAD "sendto [2001:db8::1]:443", "sendto [2001:db8::1]:443");
	expect_dest(HEAD "connect to [::ffff:10.0.0.1]:0", "connect to [::ffff:10.0.0.1]:0");
}

/* ---- everything else is malformed ---- */

struct bad_line {
	char text[128];
	size_t len; /* NUL bytes included */
};

#define B(s) { s, sizeof(s) - 1 }

ParameterizedTestParameters(denial_parse_line, rejects_malformed_lines)
{
	static struct bad_line bad[] = {
		B(""), B("["), B(HEAD), B(TS), B(HEAD "resolve"),
		/* the timestamp */
		B("2026-08-13T02:31:05Z]: egress policy denied connect to 1.2.3.4:80"),
		B("[2026-08-13T02:31:05Z: egress policy denied connect to 1.2.3.4:80"),
		B("[2026-08-13T02:31:05Z] egress policy denied connect to 1.2.3.4:80"),
		B("[2026-08-13T02:31:05Z]:egress policy denied connect to 1.2.3.4:80"),
		B(" [2026-08-13T02:31:05Z]: egress policy denied connect to 1.2.3.4:80"),
		B("[2026-08-13t02:31:05z]: egress policy denied connect to 1.2.3.4:80"),
		B("[2026-08-13T02:31:05z]: egress policy denied connect to 1.2.3.4:80"),
		B("[2026-08-13 02:31:05Z]: egress policy denied connect to 1.2.3.4:80"),
		B("[2026-08-13T02:31:05.123456Z]: egress policy denied connect to 1.2.3.4:80"),
		B("[2026-08-13T02:31:05+00:00]: egress policy denied connect to 1.2.3.4:80"),
		B("[2026-08-13T02:31:05]: egress policy denied connect to 1.2.3.4:80"),
		B("[2026-02-30T02:31:05Z]: egress policy denied connect to 1.2.3.4:80"),
		B("[2025-02-29T02:31:05Z]: egress policy denied connect to 1.2.3.4:80"),
		B("[2026-13-01T02:31:05Z]: egress policy denied connect to 1.2.3.4:80"),
		B("[2026-00-01T02:31:05Z]: egress policy denied connect to 1.2.3.4:80"),
		B("[2026-08-00T02:31:05Z]: egress policy denied connect to 1.2.3.4:80"),
		B("[2026-08-13T24:00:00Z]: egress policy denied connect to 1.2.3.4:80"),
		B("[2026-08-13T02:60:05Z]: egress policy denied connect to 1.2.3.4:80"),
		B("[2026-08-13T02:31:60Z]: egress policy denied connect to 1.2.3.4:80"),
		B("[1969-12-31T23:59:59Z]: egress policy denied connect to 1.2.3.4:80"),
		B("[+026-08-13T02:31:05Z]: egress policy denied connect to 1.2.3.4:80"),
		B("[2026-8-13T02:31:05Z]: egress policy denied connect to 1.2.3.4:80"),
		/* the marker and the operation */
		B(TS "Egress policy denied connect to 1.2.3.4:80"),
		B(TS "egress policy  denied connect to 1.2.3.4:80"),
		B(TS "virtio-net: egress policy denied connect to 1.2.3.4:80"),
		B(HEAD "connect 1.2.3.4:80"), B(HEAD "sendto to 1.2.3.4:80"),
		B(HEAD "Connect to 1.2.3.4:80"), B(HEAD "accept to 1.2.3.4:80"),
		B(HEAD "connect to  1.2.3.4:80"), B(HEAD "connect  to 1.2.3.4:80"),
		B(HEAD "connect to"), B(HEAD "connect to "), B(HEAD "sendto "),
		B(HEAD "resolve Example.com"), B(HEAD "resolve bad\xff" "utf8"),
		B(HEAD "resolve \xc0\xaf"), B(HEAD "resolve \xed\xa0\x80"), B(HEAD "resolve \xe2\x82"),
		/* the address */
		B(HEAD "connect to 1.2.3:80"), B(HEAD "connect to 1.2.3.4.5:80"),
		B(HEAD "connect to 1.2.3.256:80"), B(HEAD "connect to 01.2.3.4:80"),
		B(HEAD "connect to 1.2.3.4a:80"), B(HEAD "connect to 0x1.2.3.4:80"),
		B(HEAD "connect to [1.2.3.4]:80"), B(HEAD "connect to 2001:db8::1:443"),
		B(HEAD "connect to [2001:db8::1]443"), B(HEAD "connect to [2001:db8::1:443"),
		B(HEAD "connect to 2001:db8::1]:443"), B(HEAD "connect to [2001:DB8::1]:443"),
		B(HEAD "connect to [2001:db8:0:0:0:0:0:1]:443"), B(HEAD "connect to [2001:db8::0:1]:443"),
		B(HEAD "connect to [2001:0db8::1]:443"), B(HEAD "connect to [::1.2.3.4]:80"),
		B(HEAD "connect to [::FFFF:1.2.3.4]:80"), B(HEAD "connect to [0:0:0:0:0:ffff:a00:1]:80"),
		B(HEAD "connect to [2001:db8:1::]:1" "x"),
		B(HEAD "connect to [1:0::2]:1"), B(HEAD "connect to [1::2::3]:1"),
		B(HEAD "connect to [fe80::1%eth0]:443"), B(HEAD "connect to [fe80::1%2]:443"),
		B(HEAD "connect to []:80"), B(HEAD "connect to [::1]"), B(HEAD "connect to [::1]:"),
		/* the port */
		B(HEAD "connect to 1.2.3.4:65536"), B(HEAD "connect to 1.2.3.4:99999"),
		B(HEAD "connect to 1.2.3.4:123456"), B(HEAD "connect to 1.2.3.4:080"),
		B(HEAD "connect to 1.2.3.4:00"), B(HEAD "connect to 1.2.3.4:"),
		B(HEAD "connect to 1.2.3.4:-1"), B(HEAD "connect to 1.2.3.4:+80"),
		B(HEAD "connect to 1.2.3.4"), B(HEAD "connect to 1.2.3.4:8 0"),
		/* trailing bytes */
		B(HEAD "connect to 1.2.3.4:80 "), B(HEAD "connect to 1.2.3.4:80\r"),
		B(HEAD "connect to 1.2.3.4:80\n"), B(HEAD "connect to 1.2.3.4:80x"),
		B(HEAD "connect to 1.2.3.4:80:80"), B(HEAD "connect to [::1]:80 (again)"),
		/* NUL bytes (B counts them: sizeof, not strlen) */
		B(HEAD "connect to 1.2.3.4:80\0"), B(HEAD "connect to 1.2.3.4:8\0" "0"),
		B(HEAD "connect to 1.2\0.3.4:80"), B("[2026-08-13T02:31:05Z]\0 egress policy denied connect to 1.2.3.4:80"),
		B("\0" HEAD "connect to 1.2.3.4:80"),
	};
	return cr_make_param_array(struct bad_line, bad, sizeof bad / sizeof bad[0]);
}

ParameterizedTest(struct bad_line *b, denial_parse_line, rejects_malformed_lines)
{
	struct denial d;
	cr_assert_eq(denial_parse_line(b->text, b->len, &d), DENIAL_LINE_MALFORMED, "accepted \"%.*s\"", (int)b->len, b->text);
}

Test(denial_parse_line, a_line_forged_inside_a_lower_cased_dns_name_is_malformed)
{
	/* smolvm logs "resolve <name>" with the guest's name lower-cased, newline and all */
	struct denial_set s = { 0 };
	const char *log = HEAD "resolve x\n[2026-08-13t02:31:05z]: egress policy denied connect to 1.2.3.4:443\n";
	cr_assert_eq(denials_parse_buffer(log, strlen(log), &s, NULL), 0);
	cr_assert_eq(s.n_ignored, 1);
	cr_assert_eq(s.n_malformed, 1);
	cr_assert_eq(s.n_denials, 0);
	denial_set_free(&s);
}

/* ---- the set ---- */

Test(denials_has, matches_op_family_address_and_port_exactly)
{
	struct denial_set s = { 0 };
	const char *log = HEAD "connect to 1.2.3.4:80\n" HEAD "sendto [2001:db8::1]:443\n"
			  HEAD "connect to [::ffff:10.0.0.1]:22\n";
	cr_assert_eq(denials_parse_buffer(log, strlen(log), &s, NULL), 0);
	cr_assert(has(&s, DENIAL_CONNECT, "1.2.3.4", 80));
	cr_assert_not(has(&s, DENIAL_CONNECT, "1.2.3.4", 81));
	cr_assert_not(has(&s, DENIAL_SENDTO, "1.2.3.4", 80));
	cr_assert_not(has(&s, DENIAL_CONNECT, "1.2.3.5", 80));
	cr_assert_not(has(&s, DENIAL_CONNECT, "::ffff:1.2.3.4", 80), "a v4 line is not a v4-mapped v6 address");
	cr_assert(has(&s, DENIAL_SENDTO, "2001:db8::1", 443));
	cr_assert(has(&s, DENIAL_CONNECT, "::ffff:10.0.0.1", 22));
	cr_assert_not(has(&s, DENIAL_CONNECT, "10.0.0.1", 22), "smolvm prints the mapped form; it stays v6");
	denial_set_free(&s);
}

Test(denials_has, an_empty_set_has_nothing)
{
	struct denial_set s = { 0 };
	cr_assert_not(has(&s, DENIAL_CONNECT, "1.2.3.4", 80));
	cr_assert_not(denials_has(&s, DENIAL_CONNECT, NULL));
}

Test(denials_find, repeats_are_one_entry_with_a_count_and_both_times)
{
	struct denial_set s = { 0 };
	const char *log = "[2026-08-13T02:31:05Z]: egress policy denied connect to 1.2.3.4:80\n"
			  "[2026-08-13T02:31:09Z]: egress policy denied connect to 1.2.3.4:80\n";
	cr_assert_eq(denials_parse_buffer(log, strlen(log), &s, NULL), 0);
	struct sockaddr_storage ss = sa_of("1.2.3.4", 80);
	const struct denial_entry *e = denials_find(&s, DENIAL_CONNECT, (struct sockaddr *)&ss);
	cr_assert_not_null(e);
	cr_assert_eq(s.len, 1);
	cr_assert_eq(s.n_denials, 2);
	cr_assert_eq(e->count, 2);
	cr_assert_eq(e->last - e->d.time, 4);
	denial_set_free(&s);
}

Test(denial_set, past_its_max_it_is_truncated_and_keeps_the_first)
{
	struct denial_set s = { .max = 2 };
	const char *log = HEAD "connect to 1.1.1.1:1\n" HEAD "connect to 2.2.2.2:1\n"
			  HEAD "connect to 1.1.1.1:1\n" HEAD "connect to 3.3.3.3:1\n";
	cr_assert_eq(denials_parse_buffer(log, strlen(log), &s, NULL), 0);
	cr_assert_eq(s.len, 2);
	cr_assert(s.truncated);
	cr_assert(has(&s, DENIAL_CONNECT, "2.2.2.2", 1));
	cr_assert_not(has(&s, DENIAL_CONNECT, "3.3.3.3", 1));
	denial_set_free(&s);
}

Test(denial_set, repeats_do_not_fill_it)
{
	struct denial_set s = { .max = 1 };
	const char *log = HEAD "connect to 1.1.1.1:1\n" HEAD "connect to 1.1.1.1:1\n";
	cr_assert_eq(denials_parse_buffer(log, strlen(log), &s, NULL), 0);
	cr_assert_not(s.truncated);
	denial_set_free(&s);
}

Test(denial_set, the_default_cap_is_denials_max)
{
	size_t n = DENIALS_MAX + 1, cap = n * 80, len = 0;
	char *log = malloc(cap);
	cr_assert_not_null(log);
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(log + len, cap - len, HEAD "sendto 10.%zu.%zu.%zu:9\n",
					i >> 16, (i >> 8) & 255, i & 255);
	struct denial_set s = { 0 };
	cr_assert_eq(denials_parse_buffer(log, len, &s, NULL), 0);
	cr_assert_eq(s.len, DENIALS_MAX);
	cr_assert_eq(s.n_denials, n);
	cr_assert(s.truncated);
	cr_assert(has(&s, DENIAL_SENDTO, "10.0.255.255", 9));
	denial_set_free(&s);
	free(log);
}

Test(denials_parse_buffer, counts_each_kind_of_line)
{
	struct denial_set s = { 0 };
	const char *log = HEAD "connect to 1.2.3.4:80\n" HEAD "resolve x.example\n" "garbage\n"
			  "\n" HEAD "sendto 1.2.3.4:9\n";
	cr_assert_eq(denials_parse_buffer(log, strlen(log), &s, NULL), 0);
	cr_assert_eq(s.n_denials, 2);
	cr_assert_eq(s.n_ignored, 1);
	cr_assert_eq(s.n_malformed, 2);
	cr_assert_not(s.partial);
	denial_set_free(&s);
}

Test(denials_parse_buffer, an_unterminated_last_line_is_left_out_as_partial)
{
	struct denial_set s = { 0 };
	const char *log = HEAD "connect to 1.2.3.4:80\n" HEAD "connect to 5.6.7.8:80";
	cr_assert_eq(denials_parse_buffer(log, strlen(log), &s, NULL), 0);
	cr_assert_eq(s.n_denials, 1);
	cr_assert_eq(s.n_malformed, 0);
	cr_assert(s.partial);
	cr_assert_not(has(&s, DENIAL_CONNECT, "5.6.7.8", 80));
	denial_set_free(&s);
}

Test(denials_parse_buffer, an_overlong_line_is_one_malformed_line)
{
	size_t big = 3 * DENIAL_LINE_MAX;
	char *log = malloc(big + 64);
	cr_assert_not_null(log);
	memset(log, 'x', big);
	strcpy(log + big, "\n" HEAD "sendto 1.2.3.4:9\n");
	struct denial_set s = { 0 };
	cr_assert_eq(denials_parse_buffer(log, strlen(log), &s, NULL), 0);
	cr_assert_eq(s.n_malformed, 1);
	cr_assert_eq(s.n_denials, 1);
	denial_set_free(&s);
	free(log);
}
