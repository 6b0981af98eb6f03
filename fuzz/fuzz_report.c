/* libFuzzer target: the host's reader of the guest's report, against a fixed plan.
 * Invariants: no crash; an accepted report has one result per plan probe, each pointing
 * at its own plan entry, and an rcode exactly when the outcome is "answered". */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "probe_report.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char plan_text[] = "BV-PLAN 1\nrun r1 deadline_ms 500\n"
				"probe a tcp 127.0.0.1 80\nprobe b udp ::1 9\n"
				"probe c dns-udp 127.0.0.1 53 c.r1.exfil.test\nend 3\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct plan plan;
	static int ready;
	char err[160];
	if (!ready && plan_parse(plan_text, sizeof plan_text - 1, &plan, err, sizeof err) == 0)
		ready = 1;
	if (!ready)
		abort();
	struct probe_result res[3];
	if (probe_report_parse((const char *)data, size, &plan, res, NULL) == 0)
		for (int i = 0; i < 3; i++)
			if (res[i].probe != &plan.probes[i] || (res[i].outcome == OUT_ANSWERED) != (res[i].rcode >= 0))
				abort();
	return 0;
}
