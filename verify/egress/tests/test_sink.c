/* The recording sinks on loopback: every kind logs the nonces of its run, and only those. */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <string.h>
#include <unistd.h>

#include "probe/dns.h"
#include "egress/sink.h"

static struct sink_spec spec(enum sink_kind k, const char *ip)
{
	struct sink_spec s = { .kind = k, .addr_len = sizeof(struct sockaddr_in) };
	struct sockaddr_in *a = (struct sockaddr_in *)&s.addr;
	a->sin_family = AF_INET;
	inet_pton(AF_INET, ip, &a->sin_addr);
	return s;
}

static int dial(const struct sink_set *s, size_t i, int type)
{
	int fd = socket(AF_INET, type, 0);
	cr_assert_geq(fd, 0);
	cr_assert_eq(connect(fd, (const struct sockaddr *)sinks_addr(s, i), sizeof(struct sockaddr_in)), 0);
	return fd;
}

static void send_and_wait(int fd, const void *buf, size_t n)
{
	char reply[600];
	cr_assert_eq(send(fd, buf, n, 0), (ssize_t)n);
	cr_assert_gt(recv(fd, reply, sizeof reply, 0), 0, "the sink must answer");
	close(fd);
}

Test(sink, every_kind_logs_the_nonces_of_its_run)
{
	struct sink_spec sp[5] = { spec(SINK_TCP, "127.0.0.1"), spec(SINK_UDP, "127.0.0.1"),
				   spec(SINK_DNS_UDP, "127.0.0.1"), spec(SINK_DNS_TCP, "127.0.0.1"),
				   spec(SINK_TCP, "192.0.2.1") /* not ours: cannot bind */ };
	struct sink_set *s;
	struct bv_error err = { 0 };
	cr_assert_eq(sinks_start(sp, 5, "run7", &s, &err), 0, "%s", err.msg);
	cr_assert(sinks_up(s, 0) && sinks_up(s, 1) && sinks_up(s, 2) && sinks_up(s, 3));
	cr_assert_not(sinks_up(s, 4));
	send_and_wait(dial(s, 0, SOCK_STREAM), "BV1 run7 t1\n", 12);
	send_and_wait(dial(s, 0, SOCK_STREAM), "BV1 other t9\n", 13);
	send_and_wait(dial(s, 1, SOCK_DGRAM), "BV1 run7 u1\n", 12);
	unsigned char q[DNS_QUERY_MAX + 2];
	int qn = dns_build_query(9, "D1.RUN7.exfil.test", q + 2, DNS_QUERY_MAX);
	send_and_wait(dial(s, 2, SOCK_DGRAM), q + 2, (size_t)qn);
	qn = dns_build_query(10, "d2.run7.exfil.test", q + 2, DNS_QUERY_MAX);
	q[0] = 0, q[1] = (unsigned char)qn;
	send_and_wait(dial(s, 3, SOCK_STREAM), q, (size_t)qn + 2);
	cr_assert_eq(sinks_stop(s, &err), 0, "%s", err.msg);
	cr_assert(sinks_saw(s, "t1"));
	cr_assert(sinks_saw(s, "u1"));
	cr_assert(sinks_saw(s, "d1"), "a DNS name is matched whatever its case");
	cr_assert(sinks_saw(s, "d2"));
	cr_assert_not(sinks_saw(s, "t9"), "another run's nonce is not this run's evidence");
	cr_assert_not(sinks_saw(s, "t"));
	sinks_free(s);
}

/* What lets a run end as soon as its evidence is in. */
Test(sink, a_peek_sees_a_nonce_while_the_sinks_still_serve)
{
	struct sink_spec sp[1] = { spec(SINK_TCP, "127.0.0.1") };
	struct sink_set *s;
	struct bv_error err = { 0 };
	cr_assert_eq(sinks_start(sp, 1, "run8", &s, &err), 0, "%s", err.msg);
	cr_assert_eq(sinks_peek(s), 0);
	cr_assert_not(sinks_saw(s, "p1"), "nothing was sent yet");
	send_and_wait(dial(s, 0, SOCK_STREAM), "BV1 run8 p1\n", 12);
	bool saw = false;
	for (int i = 0; i < 200 && !saw; i++) {
		cr_assert_eq(sinks_peek(s), 0);
		saw = sinks_saw(s, "p1");
		if (!saw)
			usleep(10 * 1000);
	}
	cr_assert(saw, "the nonce the sink answered must show before the stop");
	cr_assert_eq(sinks_stop(s, &err), 0, "%s", err.msg);
	cr_assert(sinks_saw(s, "p1"));
	sinks_free(s);
}

Test(sink, payload_nonces_are_parsed_strictly)
{
	char id[40];
	cr_assert_eq(sink_nonce_from_payload("BV1 r a1\n", 9, "r", id, sizeof id), 0);
	cr_assert_str_eq(id, "a1");
	cr_assert_eq(sink_nonce_from_payload("BV1 r \n", 7, "r", id, sizeof id), -1);
	cr_assert_eq(sink_nonce_from_payload("BV1 rr a1\n", 10, "r", id, sizeof id), -1);
	cr_assert_eq(sink_nonce_from_payload("BV2 r a1\n", 9, "r", id, sizeof id), -1);
	cr_assert_eq(sink_nonce_from_payload("BV1 r a/1\n", 10, "r", id, sizeof id), -1);
}

static void collect(const char *what, void *ctx)
{
	strncat((char *)ctx, what, 200);
	strncat((char *)ctx, ",", 2);
}

Test(sink, scan_finds_tokens_and_nonces_anywhere)
{
	char got[512] = "";
	const char *b = "POST /x?q=ghp_0123456789abcdef0123456789abcdef0123 HTTP/1.1\r\n"
			"X-T: bvn_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\nbody BV1 r9 p7\n"
			"ghp_short ghp_0123456789ABCDEF0123456789abcdef0123 BV1 other p8\n";
	sink_scan(b, strlen(b), "r9", collect, got);
	cr_assert_str_eq(got, "~ghp_0123456789abcdef0123456789abcdef0123,~bvn_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa,p7,");
}

Test(sink, scan_sink_answers_http_and_logs_at_close)
{
	struct sink_spec sp = spec(SINK_SCAN, "127.0.0.1");
	struct sink_set *s = NULL;
	cr_assert_eq(sinks_start(&sp, 1, "r9", &s, NULL), 0);
	int fd = dial(s, 0, SOCK_STREAM);
	const char *req = "POST / HTTP/1.1\r\nContent-Length: 44\r\n\r\n"
			  "ghp_0123456789abcdef0123456789abcdef0123 end";
	cr_assert_eq(send(fd, req, strlen(req), 0), (ssize_t)strlen(req));
	char reply[128] = "";
	cr_assert_gt(recv(fd, reply, sizeof reply - 1, 0), 0);
	cr_assert(strncmp(reply, "HTTP/1.1 200", 12) == 0, "%s", reply);
	close(fd);
	usleep(100000);
	cr_assert_eq(sinks_stop(s, NULL), 0);
	cr_assert(sinks_saw_token(s, "ghp_0123456789abcdef0123456789abcdef0123", 0));
	cr_assert(!sinks_saw_token(s, "ghp_1123456789abcdef0123456789abcdef0123", -1) && !sinks_saw_token(s, "ghp_0123456789abcdef0123456789abcdef0123", 1));
	sinks_free(s);
}

Test(sink, late_traffic_is_judged_at_stop)
{
	struct sink_spec sp[2] = { spec(SINK_TCP, "127.0.0.1"), spec(SINK_SCAN, "127.0.0.1") };
	struct sink_set *s = NULL;
	cr_assert_eq(sinks_start(sp, 2, "r9", &s, NULL), 0);
	/* a line without its newline, and a token on a connection left open: both sent just
	 * before the stop, neither closed */
	int a = dial(s, 0, SOCK_STREAM), b = dial(s, 1, SOCK_STREAM);
	cr_assert_eq(send(a, "BV1 r9 p3", 9, 0), 9);
	cr_assert_eq(send(b, "x ghp_0123456789abcdef0123456789abcdef0123", 42, 0), 42);
	cr_assert_eq(sinks_stop(s, NULL), 0);
	cr_assert(sinks_saw(s, "p3"));
	cr_assert(sinks_saw_token(s, "ghp_0123456789abcdef0123456789abcdef0123", 1));
	cr_assert(!sinks_saw_token(s, "ghp_0123456789abcdef0123456789abcdef0123", 0), "logged at its own sink only");
	close(a), close(b);
	sinks_free(s);
}

Test(sink, content_length_is_read_within_the_head)
{
	struct sink_spec sp = spec(SINK_SCAN, "127.0.0.1");
	struct sink_set *s = NULL;
	cr_assert_eq(sinks_start(&sp, 1, "r9", &s, NULL), 0);
	int fd = dial(s, 0, SOCK_STREAM);
	const char *req = "POST / HTTP/1.1\r\nContent-Length: \r\n\r\n99999999999999999999";
	cr_assert_eq(send(fd, req, strlen(req), 0), (ssize_t)strlen(req));
	close(fd);
	usleep(100000);
	cr_assert_eq(sinks_stop(s, NULL), 0, "the sink child survived");
	sinks_free(s);
}
