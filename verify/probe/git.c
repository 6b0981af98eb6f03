/* git.c - see git.h. Formats: git's pack-format and pack-protocol documentation
 * (pkt-line, receive-pack, report-status, side-band-64k; pack v2 with zlib streams). */
#include "git.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- SHA-1 (FIPS 180-4), written for object ids and the pack trailer ---- */

static uint32_t rol(uint32_t x, int n)
{
	return x << n | x >> (32 - n);
}

static void sha1_block(uint32_t h[5], const unsigned char *b)
{
	uint32_t w[80], a = h[0], bb = h[1], c = h[2], d = h[3], e = h[4];
	for (int i = 0; i < 16; i++)
		w[i] = (uint32_t)b[4 * i] << 24 | (uint32_t)b[4 * i + 1] << 16 | (uint32_t)b[4 * i + 2] << 8 | b[4 * i + 3];
	for (int i = 16; i < 80; i++)
		w[i] = rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
	for (int i = 0; i < 80; i++) {
		uint32_t f, k;
		if (i < 20)
			f = (bb & c) | (~bb & d), k = 0x5a827999;
		else if (i < 40)
			f = bb ^ c ^ d, k = 0x6ed9eba1;
		else if (i < 60)
			f = (bb & c) | (bb & d) | (c & d), k = 0x8f1bbcdc;
		else
			f = bb ^ c ^ d, k = 0xca62c1d6;
		uint32_t t = rol(a, 5) + f + e + k + w[i];
		e = d, d = c, c = rol(bb, 30), bb = a, a = t;
	}
	h[0] += a, h[1] += bb, h[2] += c, h[3] += d, h[4] += e;
}

void git_sha1(const void *data, size_t len, unsigned char out[20])
{
	uint32_t h[5] = { 0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0 };
	const unsigned char *p = data;
	unsigned char tail[128] = { 0 };
	size_t full = len / 64 * 64, rest = len - full;
	for (size_t i = 0; i < full; i += 64)
		sha1_block(h, p + i);
	memcpy(tail, p + full, rest);
	tail[rest] = 0x80;
	size_t tl = rest + 9 <= 64 ? 64 : 128;
	uint64_t bits = (uint64_t)len * 8;
	for (int i = 0; i < 8; i++)
		tail[tl - 1 - i] = (unsigned char)(bits >> (8 * i));
	sha1_block(h, tail);
	if (tl == 128)
		sha1_block(h, tail + 64);
	for (int i = 0; i < 20; i++)
		out[i] = (unsigned char)(h[i / 4] >> (24 - 8 * (i % 4)));
}

static void hex40(const unsigned char id[20], char out[41])
{
	for (int i = 0; i < 20; i++)
		snprintf(out + 2 * i, 3, "%02x", id[i]);
}

/* ---- a growable buffer ---- */

struct buf {
	unsigned char *p;
	size_t len, cap;
	int failed;
};

static void put(struct buf *b, const void *d, size_t n)
{
	if (b->failed)
		return;
	if (b->len + n > b->cap) {
		size_t cap = (b->len + n) * 2 + 256;
		unsigned char *q = realloc(b->p, cap);
		if (!q) {
			b->failed = 1;
			return;
		}
		b->p = q, b->cap = cap;
	}
	memcpy(b->p + b->len, d, n);
	b->len += n;
}

/* A git object's id: SHA-1 of "TYPE LEN\0" + content. */
static void object_id(const char *type, const unsigned char *d, size_t n, unsigned char id[20])
{
	char head[48];
	int hl = snprintf(head, sizeof head, "%s %zu", type, n) + 1;
	unsigned char *all = malloc((size_t)hl + n + 1);
	if (!all) {
		memset(id, 0, 20);
		return;
	}
	memcpy(all, head, (size_t)hl);
	if (n)
		memcpy(all + hl, d, n);
	git_sha1(all, (size_t)hl + n, id);
	free(all);
}

/* One pack entry: the type-and-size header, then a zlib stream of stored blocks (no
 * compression is needed, and the canary stays readable on the wire). */
static void pack_object(struct buf *b, int type, const unsigned char *d, size_t n)
{
	unsigned char hdr[16];
	size_t h = 0, size = n;
	hdr[h++] = (unsigned char)(type << 4 | (size & 15) | (size > 15 ? 0x80 : 0));
	for (size >>= 4; size; size >>= 7)
		hdr[h++] = (unsigned char)((size & 0x7f) | (size > 0x7f ? 0x80 : 0));
	put(b, hdr, h);
	put(b, "\x78\x01", 2);
	uint32_t a = 1, s = 0;
	for (size_t i = 0; i < n; i++)
		a = (a + d[i]) % 65521, s = (s + a) % 65521;
	size_t off = 0;
	do {
		size_t k = n - off > 65535 ? 65535 : n - off;
		unsigned char blk[5] = { (unsigned char)(off + k == n), (unsigned char)k, (unsigned char)(k >> 8),
					 (unsigned char)~k, (unsigned char)(~k >> 8) };
		put(b, blk, 5);
		put(b, d + off, k);
		off += k;
	} while (off < n);
	uint32_t ad = s << 16 | a;
	unsigned char adl[4] = { (unsigned char)(ad >> 24), (unsigned char)(ad >> 16), (unsigned char)(ad >> 8),
				 (unsigned char)ad };
	put(b, adl, 4);
}

static void pkt_line(struct buf *b, const char *data, size_t n)
{
	char len[5];
	snprintf(len, sizeof len, "%04zx", n + 4);
	put(b, len, 4);
	put(b, data, n);
}

int git_request(const char *repo, const char *host, unsigned char *out, size_t cap)
{
	char body[512];
	int n = snprintf(body, sizeof body, "git-receive-pack %s%chost=%s%c", repo, 0, host, 0);
	if (n < 0 || (size_t)n >= sizeof body || (size_t)n + 4 > cap)
		return -1;
	snprintf((char *)out, cap, "%04x", n + 4);
	memcpy(out + 4, body, (size_t)n);
	return n + 4;
}

/* The length of the pkt-line at p: 0 flush, 4..65520 data, -1 malformed, -2 incomplete. */
static long pkt_len(const unsigned char *p, size_t avail)
{
	if (avail < 4)
		return -2;
	long v = 0;
	for (int i = 0; i < 4; i++) {
		int c = p[i], d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
		if (d < 0)
			return -1;
		v = v * 16 + d;
	}
	if (v == 0)
		return 0;
	if (v < 4 || v > 65520)
		return -1;
	return (size_t)v > avail ? -2 : v;
}

static void text_add(char *text, size_t cap, const unsigned char *d, size_t n)
{
	size_t t = strlen(text);
	for (size_t i = 0; i < n && t + 1 < cap; i++)
		text[t++] = d[i] >= 0x20 && d[i] < 0x7f ? (char)d[i] : d[i] == '\n' ? '\n' : '?';
	text[t] = '\0';
}

int git_adv_done(const unsigned char *buf, size_t len, char *text, size_t cap)
{
	for (size_t off = 0;;) {
		long l = pkt_len(buf + off, len - off);
		if (l == -2)
			return 0;
		if (l < 0)
			return -1;
		if (l == 0)
			return 1;
		if (l >= 8 && memcmp(buf + off + 4, "ERR ", 4) == 0) {
			text_add(text, cap, buf + off + 4, (size_t)l - 4);
			return -1;
		}
		off += (size_t)l;
	}
}

int git_push_payload(const char *ref, const unsigned char *readme, size_t len,
		     unsigned char **out, size_t *out_len)
{
	static const char who[] = "bottle-probe <probe@bottle.invalid> 0 +0000";
	unsigned char blob[20], tree[20], commit[20];
	char tree_hex[41], commit_hex[41], cbody[256], cmd[256];
	unsigned char tbody[64];
	object_id("blob", readme, len, blob);
	memcpy(tbody, "100644 README.md", 17); /* the NUL is part of the entry */
	memcpy(tbody + 17, blob, 20);
	object_id("tree", tbody, 37, tree);
	hex40(tree, tree_hex);
	int cl = snprintf(cbody, sizeof cbody, "tree %s\nauthor %s\ncommitter %s\n\nbottle-verify gate push\n",
			  tree_hex, who, who);
	object_id("commit", (unsigned char *)cbody, (size_t)cl, commit);
	hex40(commit, commit_hex);
	int n = snprintf(cmd, sizeof cmd, "%040d %s refs/heads/%s%creport-status side-band-64k agent=bottle-probe/1\n",
			 0, commit_hex, ref, 0);
	struct buf b = { 0 };
	pkt_line(&b, cmd, (size_t)n);
	put(&b, "0000", 4);
	size_t pack_at = b.len;
	put(&b, "PACK\0\0\0\2\0\0\0\3", 12);
	pack_object(&b, 3, readme, len);
	pack_object(&b, 2, tbody, 37);
	pack_object(&b, 1, (unsigned char *)cbody, (size_t)cl);
	if (b.failed) {
		free(b.p);
		return -1;
	}
	unsigned char trailer[20];
	git_sha1(b.p + pack_at, b.len - pack_at, trailer);
	put(&b, trailer, 20);
	if (b.failed) {
		free(b.p);
		return -1;
	}
	*out = b.p;
	*out_len = b.len;
	return 0;
}

/* The report-status lines inside band 1: "unpack ok", then "ok REF" or "ng REF why". */
static int status_of(const unsigned char *s, size_t len, const char *ref, int *accepted,
		     char *text, size_t cap)
{
	char want_ok[128], want_ng[128];
	snprintf(want_ok, sizeof want_ok, "ok refs/heads/%s", ref);
	snprintf(want_ng, sizeof want_ng, "ng refs/heads/%s ", ref);
	int found = 1;
	for (size_t off = 0; off < len;) {
		long l = pkt_len(s + off, len - off);
		if (l == 0)
			break;
		if (l < 0)
			return -1;
		const char *line = (const char *)s + off + 4;
		size_t ll = (size_t)l - 4;
		text_add(text, cap, s + off + 4, ll);
		if (ll >= 6 && memcmp(line, "unpack", 6) == 0 && (ll < 9 || memcmp(line, "unpack ok", 9)))
			*accepted = 0, found = 0;
		else if (ll >= strlen(want_ok) && memcmp(line, want_ok, strlen(want_ok)) == 0 &&
			 (ll == strlen(want_ok) || line[strlen(want_ok)] == '\n'))
			*accepted = found == 1 ? 1 : 0, found = 0;
		else if (ll >= strlen(want_ng) && memcmp(line, want_ng, strlen(want_ng)) == 0)
			*accepted = 0, found = 0;
		off += (size_t)l;
	}
	return found;
}

int git_parse_result(const unsigned char *buf, size_t len, const char *ref, int *accepted,
		     char *text, size_t cap)
{
	unsigned char *band1 = malloc(len + 1);
	size_t b1 = 0;
	int r = 1;
	if (!band1)
		return -1;
	text[0] = '\0';
	for (size_t off = 0;;) {
		long l = pkt_len(buf + off, len - off);
		if (l == -2)
			break; /* incomplete: wait for more */
		if (l < 0 || l == 4) {
			r = -1;
			break;
		}
		if (l == 0) {
			r = status_of(band1, b1, ref, accepted, text, cap);
			r = r == 1 ? -1 : r; /* a flush without our status line is malformed */
			break;
		}
		unsigned char band = buf[off + 4];
		if (band == 1) {
			memcpy(band1 + b1, buf + off + 5, (size_t)l - 5);
			b1 += (size_t)l - 5;
		} else if (band == 2 || band == 3) {
			text_add(text, cap, buf + off + 5, (size_t)l - 5);
		} else {
			r = -1;
			break;
		}
		off += (size_t)l;
	}
	free(band1);
	return r;
}
