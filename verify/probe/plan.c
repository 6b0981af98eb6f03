/* plan.c - see plan.h */
#include "plan.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const kind_names[] = { "tcp", "udp", "dns-udp", "dns-tcp", "http", "git", "icmp" };

const char *probe_kind_name(enum probe_kind k)
{
	return (unsigned)k < PROBE_KINDS ? kind_names[k] : "?";
}

int plan_token_ok(const char *s, size_t max)
{
	size_t n = strlen(s);
	if (n == 0 || n > max)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

/* Decimal without sign or leading zeros, at most max. */
static int parse_uint(const char *s, unsigned max, unsigned *out)
{
	size_t n = strlen(s);
	unsigned long v = 0;
	if (n == 0 || n > 10 || (n > 1 && s[0] == '0'))
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v > max)
		return -1;
	*out = (unsigned)v;
	return 0;
}

static int parse_addr(const char *host, const char *port, struct plan_probe *p)
{
	unsigned pt;
	if (parse_uint(port, 65535, &pt) < 0 || pt == 0)
		return -1;
	memset(&p->addr, 0, sizeof p->addr);
	struct sockaddr_in *v4 = (struct sockaddr_in *)&p->addr;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&p->addr;
	if (strchr(host, ':')) {
		if (inet_pton(AF_INET6, host, &v6->sin6_addr) != 1)
			return -1;
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons((unsigned short)pt);
		p->addr_len = sizeof *v6;
	} else {
		if (inet_pton(AF_INET, host, &v4->sin_addr) != 1)
			return -1;
		v4->sin_family = AF_INET;
		v4->sin_port = htons((unsigned short)pt);
		p->addr_len = sizeof *v4;
	}
	return 0;
}

/* A DNS name: dot-separated labels of 1..63 token characters, at most 253 bytes. */
static int qname_ok(const char *q)
{
	size_t label = 0, n = strlen(q);
	if (n == 0 || n > PLAN_QNAME_MAX || !plan_token_ok(q, PLAN_QNAME_MAX))
		return 0;
	for (size_t i = 0; i <= n; i++) {
		if (q[i] == '.' || q[i] == '\0') {
			if (label == 0 || label > 63)
				return 0;
			label = 0;
		} else {
			label++;
		}
	}
	return 1;
}

static int kind_of(const char *s, enum probe_kind *k)
{
	for (unsigned i = 0; i < PROBE_KINDS; i++)
		if (strcmp(s, kind_names[i]) == 0) {
			*k = (enum probe_kind)i;
			return 0;
		}
	return -1;
}

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Lower-case hex of 1..PLAN_DATA_MAX bytes into a new buffer. */
static int parse_hex(const char *h, struct plan_probe *p)
{
	size_t n = strlen(h);
	if (n == 0 || n % 2 || n / 2 > PLAN_DATA_MAX || !(p->data = malloc(n / 2)))
		return -1;
	for (size_t i = 0; i < n / 2; i++) {
		int hi = hexval(h[2 * i]), lo = hexval(h[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		p->data[i] = (unsigned char)(hi << 4 | lo);
	}
	p->data_len = n / 2;
	return 0;
}

/* A repository path: "/" then 1..99 of [A-Za-z0-9._/-], no "..". */
static int repo_ok(const char *r)
{
	size_t n = strlen(r);
	if (n < 2 || n > PLAN_REPO_MAX || r[0] != '/' || strstr(r, ".."))
		return 0;
	for (size_t i = 1; i < n; i++)
		if (r[i] != '/' && !plan_token_ok((char[]){ r[i], 0 }, 1))
			return 0;
	return 1;
}

/* "http ADDR PORT HEX" and "git ADDR PORT REPO REF HEX": conversations over TCP. */
static int parse_conversation(char **w, int nw, struct plan_probe *p)
{
	int git = p->kind == PROBE_GIT;
	if (nw != (git ? 8 : 6) || parse_addr(w[3], w[4], p) < 0)
		return -1;
	if (git && (!repo_ok(w[5]) || !plan_token_ok(w[6], PLAN_ID_MAX)))
		return -1;
	if (parse_hex(w[git ? 7 : 5], p) < 0)
		return -1;
	if (git) {
		snprintf(p->repo, sizeof p->repo, "%s", w[5]);
		snprintf(p->ref, sizeof p->ref, "%s", w[6]);
	}
	snprintf(p->id, sizeof p->id, "%s", w[1]);
	return 0;
}

/* "probe ID KIND ADDR PORT [QNAME]" split into w[1..]. */
static int parse_probe(char **w, int nw, struct plan_probe *p)
{
	memset(p, 0, sizeof *p);
	if (nw < 5 || !plan_token_ok(w[1], PLAN_ID_MAX) || kind_of(w[2], &p->kind) < 0)
		return -1;
	if (p->kind == PROBE_HTTP || p->kind == PROBE_GIT)
		return parse_conversation(w, nw, p);
	if (p->kind == PROBE_ICMP) { /* "probe ID icmp ADDR 0": an echo has no port */
		if (nw != 5 || strcmp(w[4], "0") != 0 || parse_addr(w[3], "1", p) < 0)
			return -1;
		((struct sockaddr_in *)&p->addr)->sin_port = 0; /* same offset in sockaddr_in6 */
		snprintf(p->id, sizeof p->id, "%s", w[1]);
		return 0;
	}
	int dns = p->kind == PROBE_DNS_UDP || p->kind == PROBE_DNS_TCP;
	if (nw != (dns ? 6 : 5))
		return -1;
	if (dns && strcmp(w[3], "resolv") == 0) {
		unsigned pt;
		if (parse_uint(w[4], 65535, &pt) < 0 || pt == 0)
			return -1;
		p->use_resolv = 1;
		p->addr.ss_family = AF_INET; /* placeholder until the guest reads resolv.conf */
		((struct sockaddr_in *)&p->addr)->sin_port = htons((unsigned short)pt);
	} else if (parse_addr(w[3], w[4], p) < 0) {
		return -1;
	}
	if (dns && !qname_ok(w[5]))
		return -1;
	snprintf(p->id, sizeof p->id, "%s", w[1]);
	if (dns)
		snprintf(p->qname, sizeof p->qname, "%s", w[5]);
	return 0;
}

int plan_split(char *line, char **w, int max)
{
	int n = 0;
	for (char *s = strtok(line, " "); s; s = strtok(NULL, " "))
		if (n < max)
			w[n++] = s;
		else
			return -1;
	return n;
}

static int fail(char *err, size_t errlen, unsigned line, const char *what)
{
	snprintf(err, errlen, "plan line %u: %s", line, what);
	return -1;
}

/* "attempts N gap_ms M" or "pressure ID N", each at most once, before the first probe. */
static int parse_option(char **w, int nw, struct plan *out)
{
	unsigned n, m;
	if (!strcmp(w[0], "attempts")) {
		if (nw != 4 || out->attempts || strcmp(w[2], "gap_ms") || parse_uint(w[1], PLAN_ATTEMPTS_MAX, &n) < 0 ||
		    !n || parse_uint(w[3], PLAN_GAP_MAX_MS, &m) < 0 || m < PLAN_GAP_MIN_MS)
			return -1;
		out->attempts = n, out->gap_ms = m;
		return 0;
	}
	if (nw != 3 || out->pressure || !plan_token_ok(w[1], PLAN_ID_MAX) ||
	    parse_uint(w[2], PLAN_PRESSURE_MAX, &n) < 0 || !n)
		return -1;
	snprintf(out->pressure_id, sizeof out->pressure_id, "%s", w[1]);
	out->pressure = n;
	return 0;
}

/* The pressure names a tcp probe of the plan. */
static int pressure_ok(const struct plan *p)
{
	if (!p->pressure)
		return 1;
	for (size_t i = 0; i < p->n_probes; i++)
		if (!strcmp(p->probes[i].id, p->pressure_id))
			return p->probes[i].kind == PROBE_TCP;
	return 0;
}

/* One line; *state: 0 expect header, 1 expect run, 2 probes, 3 ended. */
static int parse_line(char *line, unsigned no, int *state, struct plan *out, size_t cap,
		      char *err, size_t errlen)
{
	char *w[8];
	int nw = plan_split(line, w, 8);
	unsigned v;
	if (nw <= 0)
		return fail(err, errlen, no, "empty line or too many words");
	if (*state == 0)
		return nw == 2 && !strcmp(w[0], "BV-PLAN") && !strcmp(w[1], "1")
			       ? (*state = 1, 0) : fail(err, errlen, no, "expected \"BV-PLAN 1\"");
	if (*state == 1) {
		if (nw != 4 || strcmp(w[0], "run") || !plan_token_ok(w[1], PLAN_RUN_MAX) ||
		    strcmp(w[2], "deadline_ms") || parse_uint(w[3], PLAN_DEADLINE_MAX_MS, &v) < 0 || !v)
			return fail(err, errlen, no, "expected \"run ID deadline_ms N\"");
		snprintf(out->run, sizeof out->run, "%s", w[1]);
		out->deadline_ms = v;
		*state = 2;
		return 0;
	}
	if (*state == 2 && !strcmp(w[0], "end")) {
		if (nw != 2 || parse_uint(w[1], PLAN_MAX_PROBES, &v) < 0 || v != out->n_probes)
			return fail(err, errlen, no, "\"end N\" does not match the probe count");
		*state = 3;
		return 0;
	}
	if (*state == 2 && !out->n_probes && (!strcmp(w[0], "attempts") || !strcmp(w[0], "pressure")))
		return parse_option(w, nw, out) < 0
			       ? fail(err, errlen, no, "bad or repeated \"attempts N gap_ms M\" or \"pressure ID N\"")
			       : 0;
	if (*state != 2 || strcmp(w[0], "probe") || out->n_probes >= cap)
		return fail(err, errlen, no, "unexpected line or too many probes");
	if (parse_probe(w, nw, &out->probes[out->n_probes]) < 0) {
		free(out->probes[out->n_probes].data);
		out->probes[out->n_probes].data = NULL;
		return fail(err, errlen, no, "bad probe (ID KIND ADDR PORT [QNAME|HEX|REPO REF HEX])");
	}
	out->n_probes++;
	return 0;
}

int plan_parse(const char *text, size_t len, struct plan *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof *out);
	if (len > PLAN_MAX_BYTES || memchr(text, '\0', len))
		return fail(err, errlen, 0, "too large or holds a NUL byte");
	/* One probe per line at most: size the table by the lines, not by the maximum. */
	size_t lines = 1;
	for (size_t i = 0; i < len; i++)
		lines += text[i] == '\n';
	size_t cap = lines < PLAN_MAX_PROBES ? lines : PLAN_MAX_PROBES;
	out->probes = calloc(cap, sizeof *out->probes);
	char *copy = malloc(len + 1);
	if (!out->probes || !copy) {
		free(copy);
		return fail(err, errlen, 0, "out of memory");
	}
	memcpy(copy, text, len);
	copy[len] = '\0';
	int state = 0, r = 0;
	unsigned no = 0;
	char *line = copy;
	for (char *nl; r == 0 && state != 3 && line < copy + len; line = nl + 1) {
		nl = strchr(line, '\n');
		if (!nl) {
			r = fail(err, errlen, no + 1, "line not terminated by a newline");
			break;
		}
		*nl = '\0';
		r = parse_line(line, ++no, &state, out, cap, err, errlen);
	}
	if (r == 0 && state != 3)
		r = fail(err, errlen, no, "missing \"end N\"");
	if (r == 0 && !pressure_ok(out))
		r = fail(err, errlen, no, "\"pressure ID N\" names no tcp probe of the plan");
	if (r == 0 && !out->attempts)
		out->attempts = 1, out->gap_ms = 0;
	if (r == 0 && line < copy + len)
		r = fail(err, errlen, no, "bytes after \"end N\"");
	free(copy);
	return r;
}

void plan_free(struct plan *p)
{
	for (size_t i = 0; p->probes && i < p->n_probes; i++)
		free(p->probes[i].data);
	free(p->probes);
	p->probes = NULL;
	p->n_probes = 0;
}
