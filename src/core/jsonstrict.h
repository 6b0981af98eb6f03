/* jsonstrict.h - a strict, bounded RFC 8259 validator for untrusted JSON.
 * Rejects what serde_json rejects or what would make our reading ambiguous: duplicate
 * keys, trailing bytes, invalid UTF-8, lone surrogates, absurd nesting. It also returns
 * the byte spans of the top-level object's members so a writer can splice one value. */
#ifndef BV_CORE_JSONSTRICT_H
#define BV_CORE_JSONSTRICT_H

#include <stddef.h>

#include "core/error.h"

#define JSONSTRICT_MAX_DEPTH 32
#define JSONSTRICT_MAX_BYTES (1u << 20)

struct json_member_span {
	char *key;          /* decoded key, malloc'd */
	size_t key_start;   /* offset of the opening quote of the key */
	size_t value_start; /* first byte of the value */
	size_t value_end;   /* one past the last byte of the value */
};

struct json_top {
	int is_object;                    /* the document is an object */
	struct json_member_span *members; /* top-level members in document order */
	size_t n_members;
	size_t close_brace;               /* offset of the top-level '}' */
};

/* Validate data[0..len). On success fill top (may be NULL) and return 0. On a
 * violation return -EINVAL with err saying what and at which byte; -ENOMEM, -E2BIG
 * (over JSONSTRICT_MAX_BYTES) likewise. top is always safe to json_top_free. */
int jsonstrict_validate(const unsigned char *data, size_t len, struct json_top *top,
			struct bv_error *err);

void json_top_free(struct json_top *top);

/* The member with this key, or NULL. */
const struct json_member_span *json_top_find(const struct json_top *top, const char *key);

#endif
