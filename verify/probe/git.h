/* git.h - the smallest git push client bottle-probe needs: one root commit holding a
 * README, pushed over git:// (receive-pack, report-status, side-band-64k). It lets the
 * gate ask a bottle's git gate to carry a canary without any git in the guest. libc only. */
#ifndef BV_VERIFY_PROBE_GIT_H
#define BV_VERIFY_PROBE_GIT_H

#include <stddef.h>

#define GIT_TEXT_MAX 1024

void git_sha1(const void *data, size_t len, unsigned char out[20]);

/* The opening pkt-line "git-receive-pack REPO\0host=HOST\0". Its length, or -1. */
int git_request(const char *repo, const char *host, unsigned char *out, size_t cap);

/* Has the ref advertisement ended (a flush pkt)? 1 yes, 0 not yet, -1 malformed or an
 * "ERR" line from the server (its text is then copied to text). */
int git_adv_done(const unsigned char *buf, size_t len, char *text, size_t cap);

/* The update command for refs/heads/REF (a new branch) and the pack of blob, tree and
 * commit, in one malloc'd buffer. 0, or -1 out of memory. */
int git_push_payload(const char *ref, const unsigned char *readme, size_t len,
		     unsigned char **out, size_t *out_len);

/* Read the server's answer: side-band frames (1 status, 2 progress, 3 error) up to the
 * flush. *accepted: 1 "ok refs/heads/REF", 0 "ng ..." or an unpack error. Messages and
 * status lines are appended to text (NUL-terminated, printable). 0 when the status for
 * REF was found, 1 when more bytes are needed, -1 malformed. */
int git_parse_result(const unsigned char *buf, size_t len, const char *ref, int *accepted,
		     char *text, size_t cap);

#endif
