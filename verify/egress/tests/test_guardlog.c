/* The DNS guard's record: dnsmasq's query log read strictly, names the guest chose kept
 * whole, and only what follows the run's mark. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "egress/guardlog.h"

#define PFX "Nov 30 16:03:36 dnsmasq[13800]: "

static enum guardlog_line parse(const char *line, char name[GUARDLOG_NAME_MAX])
{
	return guardlog_parse_line(line, strlen(line), name, GUARDLOG_NAME_MAX);
}

Test(guardlog, a_query_line_gives_its_name_lower_cased)
{
	char name[GUARDLOG_NAME_MAX];
	cr_assert_eq(parse(PFX "2 127.0.0.1/59675 query[A] D3.rAbc.exfil.test from 127.0.0.1", name), GUARDLOG_QUERY);
	cr_assert_str_eq(name, "d3.rabc.exfil.test");
}

Test(guardlog, a_forwarded_line_is_told_apart)
{
	char name[GUARDLOG_NAME_MAX];
	cr_assert_eq(parse(PFX "7 127.0.0.1/40000 forwarded x.example.com to 198.51.100.53", name), GUARDLOG_FORWARDED);
	cr_assert_str_eq(name, "x.example.com");
}

/* The guest chooses the name, spaces and " from " included: dnsmasq's own " from " is last. */
Test(guardlog, a_name_holding_from_ends_at_the_last_from)
{
	char name[GUARDLOG_NAME_MAX];
	cr_assert_eq(parse(PFX "3 127.0.0.1/1 query[A] d3.r1.exfil.test from 127.0.0.1 from 127.0.0.1", name),
		     GUARDLOG_QUERY);
	cr_assert_str_eq(name, "d3.r1.exfil.test from 127.0.0.1");
}

Test(guardlog, other_lines_and_malformed_ones_are_other)
{
	char name[GUARDLOG_NAME_MAX];
	const char *lines[] = {
		PFX "1 127.0.0.1/59184 config bundle.test is 192.0.2.10",
		PFX "started, version 2.90 cachesize 150",
		"Nov 30 16:03:36 dnsmasq[]: 2 127.0.0.1/5 query[A] a.b from 127.0.0.1",
		"Nov 30 16:03:36 dnsmasq[1]: x 127.0.0.1/5 query[A] a.b from 127.0.0.1",
		PFX "2 127.0.0.1/5 query[A] from 127.0.0.1",
		"query[A] d1.r.exfil.test from 127.0.0.1",
		"",
	};
	for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++)
		cr_assert_eq(parse(lines[i], name), GUARDLOG_OTHER, "line %zu", i);
}

static char *write_log(const char *text)
{
	char *path = strdup("/tmp/bv-guardlog.XXXXXX");
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

static void append(const char *path, const char *text)
{
	FILE *f = fopen(path, "a");
	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
}

Test(guardlog, only_what_follows_the_mark_counts_and_only_the_runs_names_are_kept)
{
	char *path = write_log(PFX "1 127.0.0.1/1 query[A] d0.r9.exfil.test from 127.0.0.1\n");
	struct guardlog_mark m;
	struct guardlog_names g = { .suffix = ".r9.exfil.test" };
	struct bv_error err = { 0 };
	cr_assert_eq(guardlog_mark(path, &m, &err), 0, "%s", err.msg);
	append(path, PFX "2 127.0.0.1/2 query[A] d1.r9.exfil.test from 127.0.0.1\n"
		     PFX "3 127.0.0.1/3 query[A] other.example from 127.0.0.1\n"
		     PFX "4 127.0.0.1/4 query[A] d2.r9.exfil.test from 127.0.0.1");
	cr_assert_eq(guardlog_read_since(path, &m, &g, &err), 0, "%s", err.msg);
	cr_assert_not(guardlog_asked(&g, "d0.r9.exfil.test"), "before the mark");
	cr_assert(guardlog_asked(&g, "D1.r9.exfil.test"));
	cr_assert_not(guardlog_asked(&g, "d2.r9.exfil.test"), "a line still being written");
	cr_assert_eq(g.n_other, 1);
	guardlog_names_free(&g);
	unlink(path);
	free(path);
}

Test(guardlog, a_log_replaced_during_the_run_is_estale)
{
	char *path = write_log(PFX "1 127.0.0.1/1 query[A] a.b from 127.0.0.1\n");
	struct guardlog_mark m;
	struct guardlog_names g = { 0 };
	struct bv_error err = { 0 };
	cr_assert_eq(guardlog_mark(path, &m, &err), 0);
	unlink(path);
	char *again = write_log("x\n");
	cr_assert_eq(rename(again, path), 0);
	cr_assert_eq(guardlog_read_since(path, &m, &g, &err), -ESTALE);
	guardlog_names_free(&g);
	unlink(path);
	free(path);
	free(again);
}
