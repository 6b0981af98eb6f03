/* claims.c - see claims.h */
#include "launch/claims.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smolvm/record.h"
#include "smolvm/statedb.h"

struct load_ctx {
	const char *self;
	struct claims *out;
};

static int claim_add(struct claims *c, const char *machine, struct bv_cidr_set *allow,
		     struct bv_error *err)
{
	if (c->len == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 8;
		struct claim *items = realloc(c->items, cap * sizeof *items);
		if (!items)
			return bv_error_set(err, ENOMEM, "out of memory");
		c->items = items;
		c->cap = cap;
	}
	char *name = strdup(machine);
	if (!name)
		return bv_error_set(err, ENOMEM, "out of memory");
	c->items[c->len++] = (struct claim){ .machine = name, .allow = *allow };
	*allow = (struct bv_cidr_set){ 0 };
	return 0;
}

/* One row: its allowed_cidrs, or an error naming the machine (fail closed). */
static int take_row(const char *name, const struct statedb_row *row, void *ctx, struct bv_error *err)
{
	struct load_ctx *l = ctx;
	struct vm_record rec = { 0 };
	struct bv_cidr_set allow = { 0 };
	if (strcmp(name, l->self) == 0)
		return 0;
	int r = record_parse(row->data, row->len, &rec, err);
	if (r == 0) {
		r = record_cidr_list(record_get(&rec, "allowed_cidrs"), &allow, err);
		if (r == -ENODATA) /* null or absent: this machine names no address */
			r = 0;
	}
	if (r == 0)
		r = claim_add(l->out, name, &allow, err);
	else
		bv_error_wrap(err, "machine %s's row cannot be read, so which addresses it allows is unknown", name);
	cidr_set_free(&allow);
	record_free(&rec);
	return r;
}

int claims_load(const char *db_path, const char *self, struct claims *out, struct bv_error *err)
{
	sqlite3 *db = NULL;
	struct load_ctx l = { .self = self, .out = out };
	*out = (struct claims){ 0 };
	int r = statedb_open_readonly(db_path, &db, err);
	if (r == 0)
		r = statedb_each_row(db, take_row, &l, err);
	statedb_close(db);
	if (r == -ENOENT) { /* no DB (or no vms table) yet: no machine */
		claims_free(out);
		return 0;
	}
	if (r < 0)
		claims_free(out);
	return r;
}

const struct claim *claims_find(const struct claims *c, const struct bv_cidr *addr,
				const struct bv_cidr **entry)
{
	for (size_t i = 0; i < c->len; i++) {
		const struct bv_cidr_set *s = &c->items[i].allow;
		for (size_t j = 0; j < s->len; j++) {
			if (cidr_contains(&s->items[j], addr)) {
				if (entry)
					*entry = &s->items[j];
				return &c->items[i];
			}
		}
	}
	return NULL;
}

void claims_free(struct claims *c)
{
	for (size_t i = 0; i < c->len; i++) {
		free(c->items[i].machine);
		cidr_set_free(&c->items[i].allow);
	}
	free(c->items);
	*c = (struct claims){ 0 };
}

int claims_taken(const char *addr, void *ctx, struct addr_owner *owner, struct bv_error *err)
{
	struct claims_lookup *l = ctx;
	struct bv_cidr a;
	const struct bv_cidr *entry = NULL;
	char text[CIDR_TEXT_MAX];
	if (!l->loaded) {
		if (claims_load(l->db_path, l->self, &l->c, err) < 0)
			return bv_error_wrap(err, "cannot tell which addresses other machines allow (%s); refusing rather than guessing",
					     l->db_path);
		l->loaded = true;
	}
	if (cidr_parse(addr, &a, err) < 0)
		return -EINVAL;
	const struct claim *c = claims_find(&l->c, &a, &entry);
	if (!c)
		return 0;
	cidr_format(entry, text);
	snprintf(owner->machine, sizeof owner->machine, "%s", c->machine);
	snprintf(owner->how, sizeof owner->how, "its allowlist has %s", text);
	return 1;
}

void claims_lookup_free(struct claims_lookup *l)
{
	claims_free(&l->c);
	l->loaded = false;
}
