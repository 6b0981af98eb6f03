/* The gateway's record as evidence: a destination tried more than once is denied only when
 * every try's refusal was logged (refusals of destinations logged alike add up). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "egress/evidence.h"

static struct policy_dest dest(enum probe_kind kind, const char *addr, unsigned port)
{
	struct policy_dest d = { .kind = kind, .port = port };
	snprintf(d.addr, sizeof d.addr, "%s", addr);
	return d;
}

/* An evidence whose record is the given log text, read whole. */
static void with_record(struct evidence *ev, const char *log)
{
	struct bv_error err = { 0 };
	memset(ev, 0, sizeof *ev);
	cr_assert_eq(denials_parse_buffer(log, strlen(log), &ev->set, &err), 0, "%s", err.msg);
	ev->denial_log = ev->denials_ok = true;
}

#define LINE(dest) "[2026-11-30T12:00:00Z]: egress policy denied " dest "\n"

Test(evidence, a_denial_needs_every_try_on_record)
{
	struct evidence ev;
	struct policy_dest d = dest(PROBE_TCP, "198.51.100.1", 7001);
	with_record(&ev, LINE("connect to 198.51.100.1:7001"));
	cr_assert(evidence_refused(&ev, &d, 1));
	cr_assert_not(evidence_refused(&ev, &d, 2), "one refusal of two tries: the second may have got through");
	denial_set_free(&ev.set);
	with_record(&ev, LINE("connect to 198.51.100.1:7001") LINE("connect to 198.51.100.1:7001"));
	cr_assert(evidence_refused(&ev, &d, 2));
	denial_set_free(&ev.set);
}

Test(evidence, an_unreadable_record_denies_nothing)
{
	struct evidence ev;
	struct policy_dest d = dest(PROBE_UDP, "198.51.100.1", 7002);
	with_record(&ev, LINE("sendto 198.51.100.1:7002"));
	ev.denials_ok = false;
	cr_assert_not(evidence_refused(&ev, &d, 1));
	denial_set_free(&ev.set);
}

Test(evidence, an_ipv4_mapped_try_is_logged_as_ipv4)
{
	struct evidence ev;
	struct policy_dest d = dest(PROBE_TCP, "::ffff:198.51.100.1", 7007);
	with_record(&ev, LINE("connect to 198.51.100.1:7007") LINE("connect to 198.51.100.1:7007"));
	cr_assert(evidence_refused(&ev, &d, 2));
	denial_set_free(&ev.set);
}

Test(evidence, destinations_logged_alike_share_one_record)
{
	struct policy_dest a = dest(PROBE_TCP, "198.51.100.53", 53), b = dest(PROBE_DNS_TCP, "198.51.100.53", 53);
	struct policy_dest m = dest(PROBE_TCP, "::ffff:198.51.100.53", 53), u = dest(PROBE_UDP, "198.51.100.53", 53);
	struct policy_dest q = dest(PROBE_DNS_UDP, "198.51.100.53", 53);
	cr_assert(evidence_same_record(&a, &b), "both are \"connect to 198.51.100.53:53\"");
	cr_assert(evidence_same_record(&a, &m));
	cr_assert_not(evidence_same_record(&a, &u), "connect and sendto are different lines");
	cr_assert_not(evidence_same_record(&q, &q), "UDP/53 is never logged");
}

/* A root guest's raw IPv6 SYN to ::ffff:a.b.c.d is an IPv6 flow smolvm refuses as IPv6
 * (a v4 prefix never holds it): its line must not stand for a refusal of a.b.c.d. */
Test(evidence, a_refusal_of_the_mapped_form_does_not_deny_the_ipv4_address)
{
	struct evidence ev;
	struct policy_dest d = dest(PROBE_TCP, "198.51.100.1", 7001), e = dest(PROBE_ICMP, "198.51.100.1", 0);
	with_record(&ev, LINE("connect to 198.51.100.1:7001") LINE("connect to [::ffff:198.51.100.1]:7001"));
	ev.census_ok = true;
	cr_assert_not(evidence_refused(&ev, &d, 2));
	cr_assert_not(evidence_refused(&ev, &e, 2));
	denial_set_free(&ev.set);
}

/* smolvm keeps no record of a denied echo: its denial is the gateway's refusal of other
 * traffic to the same address (the same egress check), with the census followed whole. */
Test(evidence, an_echo_is_denied_by_a_refusal_at_its_address)
{
	struct evidence ev;
	struct policy_dest e = dest(PROBE_ICMP, "198.51.100.1", 0), f = dest(PROBE_ICMP, "198.51.100.2", 0);
	with_record(&ev, LINE("connect to 198.51.100.1:7001") LINE("sendto 198.51.100.1:7002"));
	cr_assert_not(evidence_refused(&ev, &e, 2), "not without the census");
	ev.census_ok = true;
	cr_assert(evidence_refused(&ev, &e, 2));
	cr_assert_not(evidence_refused(&ev, &e, 3), "fewer refusals at the address than the echo had tries");
	cr_assert_not(evidence_refused(&ev, &f, 1), "no refusal at that address");
	denial_set_free(&ev.set);
}
