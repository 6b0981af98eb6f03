/* probe_report.c - see probe_report.h */
#include "egress/probe_report.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const outcome_names[] = { "connected", "replied", "answered", "sent",
					     "refused", "denied", "unreachable", "timeout",
					     "bad-answer", "error", "accepted", "rejected" };

const char *probe_outcome_name(enum probe_outcome o)
{
	return (unsigned)o < sizeof outcome_names / sizeof outcome_names[0] ? outcome_names[o] : "?";
}

static int outcome_of(const char *s, enum probe_outcome *o)
{
	for (unsigned i = 0; i < sizeof outcome_names / sizeof outcome_names[0]; i++)
		if (strcmp(s, outcome_names[i]) == 0) {
			*o = (enum probe_outcome)i;
			return 0;
		}
	return -1;
}

/* "key=N" with N decimal (no sign, no leading zeros) at most max. */
static int keyed_uint(const char *w, const char *key, unsigned long long max,
		      unsigned long long *out)
{
	size_t k = strlen(key);
	if (strncmp(w, key, k) != 0 || w[k] != '=')
		return -1;
	const char *s = w + k + 1;
	size_t n = strlen(s);
	unsigned long long v = 0;
	if (n == 0 || n > 19 || (n > 1 && s[0] == '0'))
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned long long)(s[i] - '0');
	}
	if (v > max)
		return -1;
	*out = v;
	return 0;
}

static int rcode_of(const char *w, unsigned long long max, int *rcode)
{
	unsigned long long v;
	if (strcmp(w, "rcode=-") == 0) {
		*rcode = -1;
		return 0;
	}
	if (keyed_uint(w, "rcode", max, &v) < 0)
		return -1;
	*rcode = (int)v;
	return 0;
}

static long find_probe(const struct plan *plan, const char *id)
{
	for (size_t i = 0; i < plan->n_probes; i++)
		if (strcmp(plan->probes[i].id, id) == 0)
			return (long)i;
	return -1;
}

/* "result ID KIND OUTCOME errno=N us=N rx=N rcode=N|-" */
static int parse_result(char **w, int nw, const struct plan *plan, struct probe_result *res,
			bool *seen)
{
	unsigned long long e, us, rx;
	enum probe_outcome o;
	int rcode;
	if (nw != 8 || strcmp(w[0], "result"))
		return -1;
	long i = find_probe(plan, w[1]);
	if (i < 0 || seen[i] || strcmp(w[2], probe_kind_name(plan->probes[i].kind)))
		return -1;
	enum probe_kind k = plan->probes[i].kind;
	bool http = k == PROBE_HTTP, git = k == PROBE_GIT;
	if (outcome_of(w[3], &o) < 0 || o == OUT_SENT || keyed_uint(w[4], "errno", 4095, &e) < 0 ||
	    keyed_uint(w[5], "us", 600000000ULL, &us) < 0 ||
	    keyed_uint(w[6], "rx", 1ULL << 32, &rx) < 0 || rcode_of(w[7], http ? 999 : 15, &rcode) < 0)
		return -1;
	/* An rcode belongs to a DNS answer or an HTTP reply, and only to one. */
	if ((o == OUT_ANSWERED || (http && o == OUT_REPLIED)) != (rcode >= 0))
		return -1;
	if ((o == OUT_ACCEPTED || o == OUT_REJECTED) != git || (http && o == OUT_REPLIED && rcode < 100))
		return -1;
	seen[i] = true;
	memset(&res[i], 0, sizeof res[i]);
	res[i].probe = &plan->probes[i];
	res[i].outcome = o, res[i].err = (int)e, res[i].us = us, res[i].rx = rx, res[i].rcode = rcode;
	return (int)i;
}

static int hexdig(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* "text ID HEX|-" for the result just read: printable ASCII and newlines only. */
static int parse_text(char **w, int nw, struct probe_result *r)
{
	if (nw != 3 || strcmp(w[0], "text") || strcmp(w[1], r->probe->id))
		return -1;
	if (strcmp(w[2], "-") == 0)
		return 0;
	size_t n = strlen(w[2]);
	if (n == 0 || n % 2 || n / 2 > PROBE_TEXT_MAX)
		return -1;
	for (size_t j = 0; j < n / 2; j++) {
		int hi = hexdig(w[2][2 * j]), lo = hexdig(w[2][2 * j + 1]);
		int c = hi < 0 || lo < 0 ? -1 : hi << 4 | lo;
		if (c < 0 || c == 0 || (c != '\n' && (c < 0x20 || c > 0x7e)))
			return -1;
		r->text[j] = (char)c;
	}
	r->text[n / 2] = '\0';
	return 0;
}

static bool count_is(const char *w, size_t n)
{
	char want[24];
	snprintf(want, sizeof want, "%zu", n);
	return strcmp(w, want) == 0;
}

static int parse_lines(char *copy, size_t len, const struct plan *plan,
		       struct probe_result *res, bool *seen, struct bv_error *err)
{
	char *line = copy, *w[10];
	size_t n_results = 0;
	long want_text = -1; /* the http/git result whose text line must come next */
	for (unsigned no = 1; line < copy + len; no++) {
		char *nl = strchr(line, '\n');
		if (!nl)
			return bv_error_set(err, EINVAL, "probe report line %u: truncated (no newline)", no);
		*nl = '\0';
		int nw = plan_split(line, w, 10);
		bool ok;
		if (no == 1)
			ok = nw == 4 && !strcmp(w[0], "BV-REPORT") && !strcmp(w[1], "1") &&
			     !strcmp(w[2], "run") && !strcmp(w[3], plan->run);
		else if (want_text >= 0)
			ok = parse_text(w, nw, &res[want_text]) == 0, want_text = -1;
		else if (nw == 2 && !strcmp(w[0], "end"))
			return nl + 1 == copy + len && n_results == plan->n_probes &&
					       count_is(w[1], plan->n_probes)
				       ? 0
				       : bv_error_set(err, EINVAL, "probe report line %u: end does not close a complete report", no);
		else {
			int i = parse_result(w, nw, plan, res, seen);
			ok = i >= 0 && ++n_results;
			if (ok && (plan->probes[i].kind == PROBE_HTTP || plan->probes[i].kind == PROBE_GIT))
				want_text = i;
		}
		if (!ok)
			return bv_error_set(err, EINVAL, "probe report line %u: not a valid line for this plan", no);
		line = nl + 1;
	}
	return bv_error_set(err, EINVAL, "probe report truncated: no end line");
}

int probe_report_parse(const char *text, size_t len, const struct plan *plan,
		       struct probe_result *results, struct bv_error *err)
{
	if (len > REPORT_MAX_BYTES || memchr(text, '\0', len))
		return bv_error_set(err, EINVAL, "probe report too large or holds a NUL byte");
	char *copy = malloc(len + 1);
	bool *seen = calloc(plan->n_probes + 1, sizeof *seen);
	int r = -ENOMEM;
	if (!copy || !seen) {
		r = bv_error_set(err, ENOMEM, "out of memory");
		goto out;
	}
	memcpy(copy, text, len);
	copy[len] = '\0';
	r = parse_lines(copy, len, plan, results, seen, err);
out:
	free(copy);
	free(seen);
	return r;
}
