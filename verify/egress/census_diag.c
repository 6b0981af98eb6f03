/* census_diag.c - the census's NETLINK_SOCK_DIAG side (see census_diag.h): one inet_diag
 * dump per family and protocol, in this process's network namespace, each socket whose
 * inode the VMM holds becoming an entry. Bounded: a dump stops at a message cap. */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "egress/census_diag.h"

#define NLBUF_SIZE (64 * 1024)
#define NL_TIMEOUT_S 2

static int note_socket(struct census *c, const struct inet_diag_msg *m, int proto, long now)
{
	if (m->idiag_inode == 0 || !census_is_vmm_inode(c, m->idiag_inode))
		return 0;
	if (m->idiag_family != AF_INET && m->idiag_family != AF_INET6)
		return 0;
	size_t alen = m->idiag_family == AF_INET6 ? 16 : 4;
	struct census_entry e;
	memset(&e, 0, sizeof e);
	e.proto = proto;
	e.family = m->idiag_family;
	e.state = m->idiag_state;
	e.inode = m->idiag_inode;
	memcpy(e.local.addr, m->id.idiag_src, alen);
	memcpy(e.remote.addr, m->id.idiag_dst, alen);
	e.local.port = ntohs(m->id.idiag_sport);
	e.remote.port = ntohs(m->id.idiag_dport);
	return census_entry_upsert(c, &e, now);
}

static int diag_request(int nl, uint32_t seq, int family, int proto)
{
	struct {
		struct nlmsghdr nlh;
		struct inet_diag_req_v2 req;
	} msg;
	memset(&msg, 0, sizeof msg);
	msg.nlh.nlmsg_len = sizeof msg;
	msg.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
	msg.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	msg.nlh.nlmsg_seq = seq;
	msg.req.sdiag_family = (unsigned char)family;
	msg.req.sdiag_protocol = (unsigned char)proto;
	msg.req.idiag_states = ~0u;
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	ssize_t n;
	do
		n = sendto(nl, &msg, sizeof msg, 0, (struct sockaddr *)&kernel, sizeof kernel);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : 0;
}

/* One datagram from the kernel: its length, 0 for one from anyone else, or -errno. */
static ssize_t diag_recv(int nl, char *buf)
{
	struct sockaddr_nl from;
	struct iovec iov = { buf, NLBUF_SIZE };
	struct msghdr mh = { .msg_name = &from, .msg_namelen = sizeof from, .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;
	do
		n = recvmsg(nl, &mh, 0);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EAGAIN ? -ETIMEDOUT : -errno;
	if (mh.msg_flags & MSG_TRUNC)
		return -EMSGSIZE;
	return from.nl_pid == 0 ? n : 0;
}

struct dump {
	uint32_t seq;
	int proto;
	long now;
	size_t msgs;
	bool capped; /* stopped at a limit: the rest of the dump is still queued */
};

static int diag_error(const struct nlmsghdr *h)
{
	const struct nlmsgerr *e = NLMSG_DATA(h);
	if (h->nlmsg_len < NLMSG_LENGTH(sizeof *e) || e->error >= 0)
		return -EPROTO;
	return e->error;
}

/* The messages of one datagram: 1 at the dump's end (or its cap), 0 for more, -errno. */
static int diag_parse(struct census *c, size_t len, struct dump *d)
{
	size_t off = 0;
	while (len - off >= sizeof(struct nlmsghdr)) {
		const struct nlmsghdr *h = (const struct nlmsghdr *)(c->nlbuf + off);
		if (h->nlmsg_len < sizeof *h || h->nlmsg_len > len - off)
			return -EBADMSG;
		off += NLMSG_ALIGN(h->nlmsg_len) < len - off ? NLMSG_ALIGN(h->nlmsg_len) : len - off;
		if (h->nlmsg_seq != d->seq)
			continue;
		if (h->nlmsg_type == NLMSG_DONE)
			return 1;
		if (h->nlmsg_type == NLMSG_ERROR)
			return diag_error(h);
		if (h->nlmsg_type != SOCK_DIAG_BY_FAMILY || h->nlmsg_len < NLMSG_LENGTH(sizeof(struct inet_diag_msg)))
			return -EBADMSG;
		if (++d->msgs > CENSUS_MAX_DIAG_MSGS) {
			c->overflowed = d->capped = true;
			return 1;
		}
		int r = note_socket(c, NLMSG_DATA(h), d->proto, d->now);
		if (r < 0)
			return r;
	}
	return 0;
}

const char *census_proto_name(int proto)
{
	return proto == IPPROTO_TCP ? "tcp" : proto == IPPROTO_UDP ? "udp" : proto == IPPROTO_ICMP ? "icmp" : "?";
}

/* One dump (family, proto) read to its end: 0, 1 when cut short at a limit, or -errno. */
static int diag_dump(struct census *c, int nl, int family, int proto, long now, struct bv_error *err)
{
	struct dump d = { ++c->seq, proto, now, 0, false };
	const char *fam = family == AF_INET6 ? "ipv6" : "ipv4";
	int r = diag_request(nl, d.seq, family, proto);
	for (size_t reads = 0; r == 0; reads++) {
		if (reads > CENSUS_MAX_DIAG_MSGS) {
			c->overflowed = d.capped = true;
			break;
		}
		ssize_t n = diag_recv(nl, c->nlbuf);
		r = n < 0 ? (int)n : diag_parse(c, (size_t)n, &d);
	}
	if (r < 0)
		return bv_error_errno(err, -r, "sock_diag dump of %s/%s sockets", census_proto_name(proto), fam);
	return d.capped;
}

static int diag_socket(void)
{
	int nl = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (nl < 0)
		return -errno;
	struct timeval tv = { NL_TIMEOUT_S, 0 };
	if (setsockopt(nl, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0) {
		int e = errno;
		close(nl);
		return -e;
	}
	return nl;
}

int census_diag_all(struct census *c, long now, struct bv_error *err)
{
	static const int families[] = { AF_INET, AF_INET6 };
	static const int protos[] = { IPPROTO_TCP, IPPROTO_UDP };
	_cleanup_close_ int nl = diag_socket();
	if (nl < 0)
		return bv_error_errno(err, -nl, "socket(NETLINK_SOCK_DIAG)");
	for (size_t f = 0; f < 2; f++)
		for (size_t p = 0; p < 2; p++) {
			int r = diag_dump(c, nl, families[f], protos[p], now, err);
			if (r != 0) /* a capped dump ends the pass: overflowed says so */
				return r < 0 ? r : 0;
		}
	return 0;
}
