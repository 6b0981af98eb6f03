/* bottle-probe's git push client: object ids, the pack, and reading the server's answer. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "probe/git.h"

static void hex(const unsigned char *id, char out[41])
{
	for (int i = 0; i < 20; i++)
		sprintf(out + 2 * i, "%02x", id[i]);
}

Test(git, sha1_matches_the_fips_vectors)
{
	unsigned char id[20];
	char h[41];
	git_sha1("abc", 3, id);
	hex(id, h);
	cr_assert_str_eq(h, "a9993e364706816aba3e25717850c26c9cd0d89d");
	const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	git_sha1(two, strlen(two), id);
	hex(id, h);
	cr_assert_str_eq(h, "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
	git_sha1("", 0, id);
	hex(id, h);
	cr_assert_str_eq(h, "da39a3ee5e6b4b0d3255bfef95601890afd80709");
}

Test(git, sha1_of_a_blob_header_matches_git_hash_object)
{
	/* `printf hello | git hash-object --stdin` */
	unsigned char id[20];
	char h[41];
	git_sha1("blob 5\0hello", 12, id);
	hex(id, h);
	cr_assert_str_eq(h, "b6fc4c620b67d95f953a5c1c1230aaab5db5a1b0");
}

Test(git, request_is_one_pkt_line)
{
	unsigned char out[128];
	int n = git_request("/gate.git", "h", out, sizeof out);
	cr_assert_eq(n, 4 + 26 + 8);
	cr_assert_eq(memcmp(out, "0026git-receive-pack /gate.git\0host=h\0", (size_t)n), 0);
}

Test(git, payload_holds_the_command_and_a_pack_of_three)
{
	unsigned char *p = NULL;
	size_t n = 0;
	cr_assert_eq(git_push_payload("b1", (const unsigned char *)"secret", 6, &p, &n), 0);
	cr_assert(memmem(p, n, " refs/heads/b1\0report-status side-band-64k", 42) != NULL);
	unsigned char *pack = memmem(p, n, "PACK\0\0\0\2\0\0\0\3", 12);
	cr_assert(pack != NULL);
	unsigned char trailer[20];
	git_sha1(pack, (size_t)(p + n - pack) - 20, trailer);
	cr_assert_eq(memcmp(trailer, p + n - 20, 20), 0);
	cr_assert(memmem(p, n, "secret", 6) != NULL, "stored blocks keep the README readable");
	free(p);
}

Test(git, advertisement_ends_at_the_flush)
{
	char t[64] = "";
	cr_assert_eq(git_adv_done((const unsigned char *)"000aabcdef", 10, t, sizeof t), 0);
	cr_assert_eq(git_adv_done((const unsigned char *)"000aabcdef0000", 14, t, sizeof t), 1);
	cr_assert_eq(git_adv_done((const unsigned char *)"zzzz", 4, t, sizeof t), -1);
	cr_assert_eq(git_adv_done((const unsigned char *)"000cERR nope", 12, t, sizeof t), -1);
	cr_assert_str_eq(t, "ERR nope");
}

/* A side-band answer: band 2 message, band 1 status pkt-lines, flush. */
static int answer(const char *status1, const char *status2, int *acc, char *t)
{
	char in[512], b1[256];
	int l1 = snprintf(b1, sizeof b1, "%04zx%s%04zx%s0000", strlen(status1) + 4, status1,
			  strlen(status2) + 4, status2);
	int n = snprintf(in, sizeof in, "%04x\2scan: found\n%04x\1%s0000", 4 + 1 + 12, 4 + 1 + l1, b1);
	return git_parse_result((unsigned char *)in, (size_t)n, "b1", acc, t, 256);
}

Test(git, result_ok_and_ng)
{
	int acc = -1;
	char t[256];
	cr_assert_eq(answer("unpack ok\n", "ok refs/heads/b1\n", &acc, t), 0);
	cr_assert_eq(acc, 1);
	cr_assert(strstr(t, "scan: found") != NULL);
	cr_assert_eq(answer("unpack ok\n", "ng refs/heads/b1 pre-receive hook declined\n", &acc, t), 0);
	cr_assert_eq(acc, 0);
	cr_assert_eq(answer("unpack index-pack abnormal exit\n", "ng refs/heads/b1 unpacker error\n", &acc, t), 0);
	cr_assert_eq(acc, 0);
}

Test(git, result_for_another_ref_or_truncated_is_not_a_result)
{
	int acc = -1;
	char t[256];
	cr_assert_eq(answer("unpack ok\n", "ok refs/heads/other\n", &acc, t), -1);
	cr_assert_eq(git_parse_result((const unsigned char *)"0010\2partial", 13, "b1", &acc, t, 256), 1);
	cr_assert_eq(git_parse_result((const unsigned char *)"0006\7x0000", 10, "b1", &acc, t, 256), -1);
}
