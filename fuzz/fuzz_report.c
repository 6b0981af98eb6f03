/* libFuzzer target: the host's reader of the guest's report, against a fixed plan.
 * Invariants: no crash; an accepted report has one result per plan probe, each pointing
 * at its own plan entry, an rcode exactly with a DNS answer or an HTTP reply, and texts
 * that are printable. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "egress/probe_report.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char plan_text[] = "BV-PLAN 1\nrun r1 deadline_ms 500\n"
				"probe a tcp 127.0.0.1 80\nprobe b udp ::1 9\n"
				"probe c dns-udp 127.0.0.1 53 c.r1.exfil.test\n"
				"probe d http 127.0.0.1 8888 474554\nprobe e git 127.0.0.1 9418 /g.git b1 6869\nend 5\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct plan plan;
	static int ready;
	char err[160];
	if (!ready && plan_parse(plan_text, sizeof plan_text - 1, &plan, err, sizeof err) == 0)
		ready = 1;
	if (!ready)
		abort();
	static struct probe_result res[5];
	if (probe_report_parse((const char *)data, size, &plan, res, NULL) == 0)
		for (int i = 0; i < 5; i++) {
			bool rc = res[i].outcome == OUT_ANSWERED || (i == 3 && res[i].outcome == OUT_REPLIED);
			if (res[i].probe != &plan.probes[i] || rc != (res[i].rcode >= 0) ||
			    strlen(res[i].text) > PROBE_TEXT_MAX)
				abort();
			for (const char *t = res[i].text; *t; t++)
				if (*t != '\n' && (*t < 0x20 || *t > 0x7e))
					abort();
		}
	return 0;
}
