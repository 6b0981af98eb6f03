/* VmRecord reading: strictness, exact integers, CIDR lists, known keys. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "smolvm/record.h"

static int parse(const char *s, struct vm_record *rec)
{
	return record_parse((const unsigned char *)s, strlen(s), rec, NULL);
}

/* The record parsed from s, which must succeed. */
static struct vm_record parsed(const char *s)
{
	struct vm_record rec;
	cr_assert_eq(parse(s, &rec), 0, "%s", s);
	return rec;
}

Test(record, parses_an_object_and_finds_members)
{
	struct vm_record rec = parsed("{\"name\":\"a\",\"network\":true}");
	cr_assert(cJSON_IsTrue(record_get(&rec, "network")));
	cr_assert_null(record_get(&rec, "ports"));
	record_free(&rec);
}

Test(record, refuses_a_non_object)
{
	struct vm_record rec;
	cr_assert_eq(parse("[]", &rec), -EINVAL);
	record_free(&rec);
}

Test(record, reads_u64_exactly_beyond_double_precision)
{
	struct vm_record rec = parsed("{\"pid_start_time\":18446744073709551615}");
	unsigned long long v = 0;
	cr_assert_eq(record_get_u64(&rec, "pid_start_time", &v, NULL), 1);
	cr_assert_eq(v, 18446744073709551615ULL);
	record_free(&rec);
}

Test(record, u64_absent_or_null_is_zero)
{
	struct vm_record rec = parsed("{\"pid\":null}");
	unsigned long long v = 7;
	cr_assert_eq(record_get_u64(&rec, "pid", &v, NULL), 0);
	cr_assert_eq(record_get_u64(&rec, "pid_start_time", &v, NULL), 0);
	cr_assert_eq(v, 7);
	record_free(&rec);
}

Test(record, u64_refuses_negative_fraction_and_overflow)
{
	struct vm_record rec = parsed("{\"a\":-1,\"b\":1.5,\"c\":18446744073709551616,\"d\":\"1\"}");
	unsigned long long v;
	cr_assert_eq(record_get_u64(&rec, "a", &v, NULL), -EINVAL);
	cr_assert_eq(record_get_u64(&rec, "b", &v, NULL), -EINVAL);
	cr_assert_eq(record_get_u64(&rec, "c", &v, NULL), -EINVAL);
	cr_assert_eq(record_get_u64(&rec, "d", &v, NULL), -EINVAL);
	record_free(&rec);
}

Test(record, cidr_list_null_is_enodata)
{
	struct vm_record rec = parsed("{\"allowed_cidrs\":null}");
	struct bv_cidr_set s = { 0 };
	cr_assert_eq(record_cidr_list(record_get(&rec, "allowed_cidrs"), &s, NULL), -ENODATA);
	cr_assert_eq(record_cidr_list(NULL, &s, NULL), -ENODATA);
	record_free(&rec);
}

Test(record, cidr_list_refuses_non_strings_and_garbage)
{
	struct vm_record rec = parsed("{\"a\":[1],\"b\":[\"x\"],\"c\":\"1.2.3.4/32\"}");
	struct bv_cidr_set s = { 0 };
	cr_assert_eq(record_cidr_list(record_get(&rec, "a"), &s, NULL), -EINVAL);
	cr_assert_eq(record_cidr_list(record_get(&rec, "b"), &s, NULL), -EINVAL);
	cr_assert_eq(record_cidr_list(record_get(&rec, "c"), &s, NULL), -EINVAL);
	cidr_set_free(&s);
	record_free(&rec);
}

Test(record, known_keys_include_the_policy_fields_and_not_deny_cidrs)
{
	cr_assert(record_key_is_known("allowed_cidrs"));
	cr_assert(record_key_is_known("dns_filter_hosts"));
	cr_assert(record_key_is_known("network_backend"));
	cr_assert_not(record_key_is_known("deny_cidrs"));
	cr_assert_not(record_key_is_known(""));
}
