/* jsonstrict.c - see jsonstrict.h */
#include "core/jsonstrict.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct scanner {
	const unsigned char *s;
	size_t len;
	size_t pos;
	struct json_top *top;
	struct bv_error *err;
};

struct keybuf {
	char *data;
	size_t len;
	size_t cap;
};

static int fail(struct scanner *sc, const char *what)
{
	return bv_error_set(sc->err, EINVAL, "invalid JSON at byte %zu: %s", sc->pos, what);
}

static void skip_ws(struct scanner *sc)
{
	while (sc->pos < sc->len) {
		unsigned char c = sc->s[sc->pos];
		if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
			break;
		sc->pos++;
	}
}

static int key_push(struct keybuf *k, const void *bytes, size_t n)
{
	if (!k)
		return 0;
	if (k->len + n + 1 > k->cap) {
		size_t cap = (k->cap ? k->cap * 2 : 32) + n;
		char *d = realloc(k->data, cap);
		if (!d)
			return -ENOMEM;
		k->data = d;
		k->cap = cap;
	}
	memcpy(k->data + k->len, bytes, n);
	k->len += n;
	k->data[k->len] = '\0';
	return 0;
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 when it is invalid:
 * overlong forms, surrogates and code points above U+10FFFF are refused. */
static size_t utf8_seq(const unsigned char *s, size_t avail)
{
	unsigned char c = s[0];
	if (c < 0x80)
		return 1;
	size_t n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 ? 2 : 0;
	if (n == 0 || c > 0xf4 || n > avail)
		return 0;
	for (size_t i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	if (c == 0xe0 && s[1] < 0xa0)
		return 0; /* overlong */
	if (c == 0xed && s[1] >= 0xa0)
		return 0; /* surrogate */
	if (c == 0xf0 && s[1] < 0x90)
		return 0; /* overlong */
	if (c == 0xf4 && s[1] >= 0x90)
		return 0; /* above U+10FFFF */
	return n;
}

static int hex4(struct scanner *sc, unsigned *out)
{
	if (sc->len - sc->pos < 4)
		return fail(sc, "truncated \\u escape");
	unsigned v = 0;
	for (int i = 0; i < 4; i++) {
		unsigned char c = sc->s[sc->pos++];
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= c - '0';
		else if (c >= 'a' && c <= 'f')
			v |= c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v |= c - 'A' + 10;
		else
			return fail(sc, "bad hex digit in \\u escape");
	}
	*out = v;
	return 0;
}

static int put_codepoint(struct keybuf *k, unsigned cp)
{
	unsigned char b[4];
	size_t n;
	if (cp < 0x80) {
		b[0] = (unsigned char)cp;
		n = 1;
	} else if (cp < 0x800) {
		b[0] = (unsigned char)(0xc0 | (cp >> 6));
		b[1] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		b[0] = (unsigned char)(0xe0 | (cp >> 12));
		b[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		b[2] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		b[0] = (unsigned char)(0xf0 | (cp >> 18));
		b[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
		b[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		b[3] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	return key_push(k, b, n);
}

/* A \uXXXX escape (the backslash and 'u' already consumed), pairing surrogates. */
static int scan_unicode_escape(struct scanner *sc, struct keybuf *k)
{
	unsigned hi, lo;
	int r = hex4(sc, &hi);
	if (r < 0)
		return r;
	if (hi >= 0xdc00 && hi <= 0xdfff)
		return fail(sc, "lone low surrogate");
	/* smolvm never writes U+0000, and C readers (cJSON included) would cut the string
	 * there: "192.0.2.10/32\u0000,0.0.0.0/0" must not read as the /32 alone. */
	if (hi == 0)
		return fail(sc, "NUL (\\u0000) in a string");
	if (hi < 0xd800 || hi > 0xdbff)
		return put_codepoint(k, hi);
	if (sc->len - sc->pos < 2 || sc->s[sc->pos] != '\\' || sc->s[sc->pos + 1] != 'u')
		return fail(sc, "lone high surrogate");
	sc->pos += 2;
	r = hex4(sc, &lo);
	if (r < 0)
		return r;
	if (lo < 0xdc00 || lo > 0xdfff)
		return fail(sc, "high surrogate not followed by a low one");
	return put_codepoint(k, 0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00));
}

static int scan_escape(struct scanner *sc, struct keybuf *k)
{
	static const char from[] = "\"\\/bfnrt";
	static const char to[] = "\"\\/\b\f\n\r\t";
	if (sc->pos >= sc->len)
		return fail(sc, "truncated escape");
	char c = (char)sc->s[sc->pos++];
	if (c == 'u')
		return scan_unicode_escape(sc, k);
	const char *hit = c ? strchr(from, c) : NULL;
	if (!hit)
		return fail(sc, "unknown escape");
	return key_push(k, &to[hit - from], 1);
}

/* A string starting at the opening quote; k (may be NULL) receives the decoded text. */
static int scan_string(struct scanner *sc, struct keybuf *k)
{
	sc->pos++; /* opening quote */
	for (;;) {
		if (sc->pos >= sc->len)
			return fail(sc, "unterminated string");
		unsigned char c = sc->s[sc->pos];
		if (c == '"') {
			sc->pos++;
			return 0;
		}
		if (c < 0x20)
			return fail(sc, "control character in string");
		int r;
		if (c == '\\') {
			sc->pos++;
			r = scan_escape(sc, k);
		} else {
			size_t n = utf8_seq(sc->s + sc->pos, sc->len - sc->pos);
			if (n == 0)
				return fail(sc, "invalid UTF-8");
			r = key_push(k, sc->s + sc->pos, n);
			sc->pos += n;
		}
		if (r < 0)
			return r == -ENOMEM ? bv_error_set(sc->err, ENOMEM, "out of memory") : r;
	}
}

static bool at_digit(const struct scanner *sc)
{
	return sc->pos < sc->len && sc->s[sc->pos] >= '0' && sc->s[sc->pos] <= '9';
}

static int scan_digits(struct scanner *sc, const char *what)
{
	if (!at_digit(sc))
		return fail(sc, what);
	while (at_digit(sc))
		sc->pos++;
	return 0;
}

static int scan_number(struct scanner *sc)
{
	if (sc->s[sc->pos] == '-')
		sc->pos++;
	if (sc->pos < sc->len && sc->s[sc->pos] == '0') {
		sc->pos++;
		if (at_digit(sc))
			return fail(sc, "leading zero in number");
	} else if (scan_digits(sc, "digit expected") < 0) {
		return -EINVAL;
	}
	if (sc->pos < sc->len && sc->s[sc->pos] == '.') {
		sc->pos++;
		if (scan_digits(sc, "digit expected after '.'") < 0)
			return -EINVAL;
	}
	if (sc->pos < sc->len && (sc->s[sc->pos] == 'e' || sc->s[sc->pos] == 'E')) {
		sc->pos++;
		if (sc->pos < sc->len && (sc->s[sc->pos] == '+' || sc->s[sc->pos] == '-'))
			sc->pos++;
		if (scan_digits(sc, "digit expected in exponent") < 0)
			return -EINVAL;
	}
	return 0;
}

static int scan_literal(struct scanner *sc, const char *word)
{
	size_t n = strlen(word);
	if (sc->len - sc->pos < n || memcmp(sc->s + sc->pos, word, n) != 0)
		return fail(sc, "unexpected character");
	sc->pos += n;
	return 0;
}

static int scan_value(struct scanner *sc, int depth);

static int scan_array(struct scanner *sc, int depth)
{
	sc->pos++;
	skip_ws(sc);
	if (sc->pos < sc->len && sc->s[sc->pos] == ']') {
		sc->pos++;
		return 0;
	}
	for (;;) {
		int r = scan_value(sc, depth + 1);
		if (r < 0)
			return r;
		skip_ws(sc);
		if (sc->pos >= sc->len)
			return fail(sc, "unterminated array");
		if (sc->s[sc->pos] == ']') {
			sc->pos++;
			return 0;
		}
		if (sc->s[sc->pos++] != ',')
			return fail(sc, "',' or ']' expected");
	}
}

static int cmp_strp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Duplicate keys are a finding: serde_json refuses them for a struct, other readers
 * take the first or the last, so the meaning of such a record depends on the reader. */
static int check_duplicates(struct scanner *sc, char **keys, size_t n)
{
	qsort(keys, n, sizeof *keys, cmp_strp);
	for (size_t i = 1; i < n; i++)
		if (strcmp(keys[i - 1], keys[i]) == 0)
			return bv_error_set(sc->err, EINVAL, "invalid JSON: duplicate key \"%.64s\"",
					    keys[i]);
	return 0;
}

struct keylist {
	char **v;
	size_t n, cap;
};

static int keylist_add(struct keylist *l, char *key)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		char **v = realloc(l->v, cap * sizeof *v);
		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = key;
	return 0;
}

static void keylist_free(struct keylist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
}

static int top_add(struct json_top *top, const char *key, size_t key_start, size_t vs, size_t ve)
{
	struct json_member_span *m = realloc(top->members, (top->n_members + 1) * sizeof *m);
	if (!m)
		return -ENOMEM;
	top->members = m;
	m = &top->members[top->n_members];
	m->key = strdup(key);
	if (!m->key)
		return -ENOMEM;
	m->key_start = key_start;
	m->value_start = vs;
	m->value_end = ve;
	top->n_members++;
	return 0;
}

static int scan_member(struct scanner *sc, int depth, struct keylist *keys)
{
	struct keybuf k = { 0 };
	size_t key_start = sc->pos;
	if (sc->pos >= sc->len || sc->s[sc->pos] != '"')
		return fail(sc, "key expected");
	int r = scan_string(sc, &k);
	if (r == 0 && !k.data)
		r = key_push(&k, "", 0);
	if (r < 0 || (r = keylist_add(keys, k.data)) < 0) {
		free(k.data);
		return r == -ENOMEM ? bv_error_set(sc->err, ENOMEM, "out of memory") : r;
	}
	skip_ws(sc);
	if (sc->pos >= sc->len || sc->s[sc->pos++] != ':')
		return fail(sc, "':' expected");
	skip_ws(sc);
	size_t vs = sc->pos;
	r = scan_value(sc, depth + 1);
	if (r < 0)
		return r;
	if (depth == 1 && sc->top && top_add(sc->top, k.data, key_start, vs, sc->pos) < 0)
		return bv_error_set(sc->err, ENOMEM, "out of memory");
	return 0;
}

static int scan_object_body(struct scanner *sc, int depth, struct keylist *keys)
{
	for (;;) {
		skip_ws(sc);
		int r = scan_member(sc, depth, keys);
		if (r < 0)
			return r;
		skip_ws(sc);
		if (sc->pos >= sc->len)
			return fail(sc, "unterminated object");
		if (sc->s[sc->pos] == '}') {
			if (depth == 1 && sc->top)
				sc->top->close_brace = sc->pos;
			sc->pos++;
			return check_duplicates(sc, keys->v, keys->n);
		}
		if (sc->s[sc->pos++] != ',')
			return fail(sc, "',' or '}' expected");
	}
}

static int scan_object(struct scanner *sc, int depth)
{
	struct keylist keys = { 0 };
	sc->pos++;
	skip_ws(sc);
	if (sc->pos < sc->len && sc->s[sc->pos] == '}') {
		if (depth == 1 && sc->top)
			sc->top->close_brace = sc->pos;
		sc->pos++;
		return 0;
	}
	int r = scan_object_body(sc, depth, &keys);
	keylist_free(&keys);
	return r;
}

static int scan_value(struct scanner *sc, int depth)
{
	if (depth > JSONSTRICT_MAX_DEPTH)
		return bv_error_set(sc->err, EINVAL,
				    "invalid JSON at byte %zu: nesting deeper than %d", sc->pos,
				    JSONSTRICT_MAX_DEPTH);
	skip_ws(sc);
	if (sc->pos >= sc->len)
		return fail(sc, "value expected");
	unsigned char c = sc->s[sc->pos];
	switch (c) {
	case '{':
		return scan_object(sc, depth);
	case '[':
		return scan_array(sc, depth);
	case '"':
		return scan_string(sc, NULL);
	case 't':
		return scan_literal(sc, "true");
	case 'f':
		return scan_literal(sc, "false");
	case 'n':
		return scan_literal(sc, "null");
	default:
		if (c == '-' || (c >= '0' && c <= '9'))
			return scan_number(sc);
		return fail(sc, "unexpected character");
	}
}

int jsonstrict_validate(const unsigned char *data, size_t len, struct json_top *top,
			struct bv_error *err)
{
	if (top)
		memset(top, 0, sizeof *top);
	if (len > JSONSTRICT_MAX_BYTES)
		return bv_error_set(err, E2BIG, "JSON document of %zu bytes exceeds %u", len,
				    JSONSTRICT_MAX_BYTES);
	struct scanner sc = { .s = data, .len = len, .top = top, .err = err };
	skip_ws(&sc);
	if (top)
		top->is_object = sc.pos < len && data[sc.pos] == '{';
	int r = scan_value(&sc, 1);
	if (r < 0)
		return r;
	skip_ws(&sc);
	if (sc.pos != len)
		return fail(&sc, "trailing bytes after the document");
	return 0;
}

void json_top_free(struct json_top *top)
{
	if (!top)
		return;
	for (size_t i = 0; i < top->n_members; i++)
		free(top->members[i].key);
	free(top->members);
	memset(top, 0, sizeof *top);
}

const struct json_member_span *json_top_find(const struct json_top *top, const char *key)
{
	for (size_t i = 0; top && i < top->n_members; i++)
		if (strcmp(top->members[i].key, key) == 0)
			return &top->members[i];
	return NULL;
}
