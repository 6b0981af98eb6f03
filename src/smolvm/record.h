/* record.h - smolvm's per-machine VmRecord (the JSON in vms.data), read strictly.
 * Validates the bytes with jsonstrict, parses them with cJSON for typed access, keeps
 * the raw bytes and member spans (for a byte-exact patch), and knows the field names. */
#ifndef BV_SMOLVM_RECORD_H
#define BV_SMOLVM_RECORD_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "core/cidr.h"
#include "core/error.h"
#include "core/jsonstrict.h"

struct vm_record {
	unsigned char *raw;  /* copy of the record bytes, NUL-terminated */
	size_t raw_len;
	struct json_top top; /* top-level member spans */
	cJSON *root;
};

/* Strict parse. -EINVAL when the bytes are not strict JSON or not an object, with err
 * saying why; -ENOMEM, -E2BIG. rec is always safe to record_free. */
int record_parse(const unsigned char *data, size_t len, struct vm_record *rec,
		 struct bv_error *err);
/* record_parse of a whole file (agent.config.json): -errno when it cannot be opened, and
 * record_parse's errors, err naming the path. */
int record_read_file(const char *path, struct vm_record *rec, struct bv_error *err);
void record_free(struct vm_record *rec);

/* Top-level member, or NULL when absent. */
const cJSON *record_get(const struct vm_record *rec, const char *key);

/* Exact unsigned integer value of a top-level member, read from its text (cJSON keeps
 * numbers as doubles, which loses precision above 2^53). 1 and *out when present and a
 * non-negative integer; 0 when absent or null; -EINVAL for any other value. */
int record_get_u64(const struct vm_record *rec, const char *key, unsigned long long *out,
		   struct bv_error *err);

#define RECORD_MAX_CIDRS 1024

/* Strings of a JSON list as CIDR prefixes (at most RECORD_MAX_CIDRS). -ENODATA for null/absent, -EINVAL for a
 * non-list, a non-string entry or an entry smolvm could not parse (err names it). */
int record_cidr_list(const cJSON *list, struct bv_cidr_set *out, struct bv_error *err);

/* "[a, b]" text of a CIDR list as stored (or "null"), malloc'd. */
char *record_list_text(const cJSON *list);

/* The VmRecord fields smolvm writes at the version this verifier was written against. */
bool record_key_is_known(const char *key);

#endif
