/* libFuzzer target: the strict record reader and the enforce splice on hostile bytes.
 * Invariants: no crash or leak; an accepted record re-validates after the splice, and the
 * splice changes nothing outside the allowed_cidrs member. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "launch/enforce.h"
#include "smolvm/record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_splice(const struct vm_record *rec)
{
	struct bv_cidr_set allow = { 0 };
	unsigned char *out = NULL;
	size_t len = 0;
	if (cidr_set_add_text(&allow, "192.0.2.10/32", NULL) < 0)
		abort();
	if (enforce_splice(rec->raw, rec->raw_len, &allow, &out, &len, NULL) < 0)
		abort(); /* a record that parsed must splice */
	struct vm_record again = { 0 };
	if (record_parse(out, len, &again, NULL) < 0)
		abort(); /* the splice must keep the record strict JSON */
	const struct json_member_span *m = json_top_find(&rec->top, "allowed_cidrs");
	if (m && memcmp(out, rec->raw, m->value_start) != 0)
		abort(); /* bytes before the value are kept */
	record_free(&again);
	free(out);
	cidr_set_free(&allow);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vm_record rec = { 0 };
	struct bv_cidr_set set = { 0 };
	if (record_parse(data, size, &rec, NULL) == 0) {
		record_cidr_list(record_get(&rec, "allowed_cidrs"), &set, NULL);
		unsigned long long v;
		record_get_u64(&rec, "pid", &v, NULL);
		check_splice(&rec);
	}
	cidr_set_free(&set);
	record_free(&rec);
	return 0;
}
