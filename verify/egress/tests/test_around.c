/* The class around-allowed: the neighbours of each allowed prefix, made per run. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "egress/around.h"

static struct policy with_control(unsigned port)
{
	struct policy p = { .dests = calloc(POLICY_MAX_DESTS, sizeof(struct policy_dest)) };
	cr_assert_not_null(p.dests);
	struct policy_dest *c = &p.dests[p.n_dests++];
	snprintf(c->cls, sizeof c->cls, "control");
	c->control = true;
	c->port = port;
	return p;
}

/* "addr addr ..." of the around-allowed destinations, in order. */
static void around_of(const struct policy *p, char *out, size_t cap)
{
	out[0] = '\0';
	for (size_t i = 0; i < p->n_dests; i++) {
		if (strcmp(p->dests[i].cls, AROUND_CLASS) != 0)
			continue;
		size_t n = strlen(out);
		snprintf(out + n, cap - n, "%s%s", n ? " " : "", p->dests[i].addr);
	}
}

static void around(const char *const *cidrs, unsigned port, char *out, size_t cap, struct policy *keep)
{
	struct bv_cidr_set allowed = { 0 };
	struct bv_error err = { 0 };
	*keep = with_control(port);
	for (size_t i = 0; cidrs[i]; i++)
		cr_assert_eq(cidr_set_add_text(&allowed, cidrs[i], &err), 0, "%s", err.msg);
	cr_assert_eq(policy_add_around(keep, &allowed, &err), 0, "%s", err.msg);
	around_of(keep, out, cap);
	cidr_set_free(&allowed);
}

Test(around, a_single_address_gets_both_sides_its_24_and_the_next_24_of_its_16)
{
	struct policy p;
	char s[512];
	around((const char *[]){ "192.0.2.10/32", NULL }, 8888, s, sizeof s, &p);
	cr_assert_str_eq(s, "192.0.2.9 192.0.2.11 192.0.2.1 192.0.2.254 192.0.3.10");
	for (size_t i = 1; i < p.n_dests; i++) {
		cr_assert_eq(p.dests[i].port, 8888, "the control's port");
		cr_assert_eq(p.dests[i].kind, PROBE_TCP);
		cr_assert_not(p.dests[i].sink, "this host does not hold %s: no sink", p.dests[i].addr);
	}
	policy_free(&p);
}

Test(around, a_wide_prefix_gets_its_edges_and_nothing_inside_it)
{
	struct policy p;
	char s[512];
	around((const char *[]){ "192.0.2.0/24", NULL }, 443, s, sizeof s, &p);
	cr_assert_str_eq(s, "192.0.1.255 192.0.3.0");
	policy_free(&p);
}

Test(around, a_neighbour_that_is_allowed_itself_is_not_probed)
{
	struct policy p;
	char s[512];
	around((const char *[]){ "192.0.2.10/32", "192.0.2.11/32", NULL }, 443, s, sizeof s, &p);
	cr_assert_null(strstr(s, "192.0.2.11 "), "%s", s);
	cr_assert_null(strstr(s, "192.0.2.10 "), "%s", s);
	cr_assert(strstr(s, "192.0.2.12"), "%s", s);
	policy_free(&p);
}

Test(around, ipv6_gets_both_sides_and_the_ends_of_the_range_do_not_wrap)
{
	struct policy p;
	char s[512];
	around((const char *[]){ "2001:db8::1/128", "0.0.0.0/32", NULL }, 443, s, sizeof s, &p);
	cr_assert_str_eq(s, "2001:db8:: 2001:db8::2 0.0.0.1 0.0.0.254 0.0.1.0");
	policy_free(&p);
}

Test(around, a_loopback_neighbour_this_host_holds_gets_a_sink)
{
	struct policy p;
	char s[512];
	around((const char *[]){ "127.0.0.16/32", NULL }, 47123, s, sizeof s, &p);
	cr_assert(strstr(s, "127.0.0.15"), "%s", s);
	cr_assert(p.dests[1].sink, "127.0.0.15 is this host's: a sink binds it");
	policy_free(&p);
}
