/* census_entry.c - see census.h: what an entry is (egress, a listener) and how it reads. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>

#include "core/cidr.h"
#include "egress/census.h"
#include "egress/census_diag.h"

static bool endpoint_set(const struct census_endpoint *ep)
{
	static const unsigned char zero[16];
	return ep->port != 0 || memcmp(ep->addr, zero, sizeof zero) != 0;
}

/* A remote address without a port still counts: fail closed. */
bool census_entry_is_egress(const struct census_entry *e)
{
	if (!endpoint_set(&e->remote))
		return false;
	if (e->proto == IPPROTO_TCP)
		return e->state != TCP_LISTEN;
	return e->proto == IPPROTO_UDP || e->proto == IPPROTO_ICMP;
}

bool census_entry_is_listener(const struct census_entry *e)
{
	return e->proto == IPPROTO_TCP && e->state == TCP_LISTEN;
}

static const char *state_name(const struct census_entry *e)
{
	_Static_assert(TCP_ESTABLISHED == 1 && TCP_LISTEN == 10 && TCP_CLOSING == 11, "TCP_* numbering");
	static const char *const tcp[] = { /* the kernel's TCP_* numbers, 1 to 11 */
		NULL, "ESTABLISHED", "SYN-SENT", "SYN-RECV", "FIN-WAIT-1", "FIN-WAIT-2",
		"TIME-WAIT", "CLOSE", "CLOSE-WAIT", "LAST-ACK", "LISTEN", "CLOSING",
	};
	if (e->proto == IPPROTO_UDP || e->proto == IPPROTO_ICMP)
		return e->state == TCP_ESTABLISHED ? "CONNECTED" : "UNCONNECTED";
	if (e->state > 0 && (size_t)e->state < sizeof tcp / sizeof *tcp && tcp[e->state])
		return tcp[e->state];
	return "UNKNOWN-STATE";
}

static void endpoint_format(int family, const struct census_endpoint *ep, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];
	if (!endpoint_set(ep)) {
		snprintf(buf, len, "*:*");
		return;
	}
	if (!inet_ntop(family == AF_INET6 ? AF_INET6 : AF_INET, ep->addr, a, sizeof a))
		snprintf(a, sizeof a, "?");
	snprintf(buf, len, family == AF_INET6 ? "[%s]:%u" : "%s:%u", a, (unsigned)ep->port);
}

void census_entry_format(const struct census_entry *e, char *buf, size_t len)
{
	char local[INET6_ADDRSTRLEN + 8], remote[INET6_ADDRSTRLEN + 8];
	endpoint_format(e->family, &e->local, local, sizeof local);
	endpoint_format(e->family, &e->remote, remote, sizeof remote);
	snprintf(buf, len, "%s %s -> %s %s inode %llu seen %ld-%ld ms", census_proto_name(e->proto), local,
		 remote, state_name(e), e->inode, e->first_seen_ms, e->last_seen_ms);
}

size_t census_entry_remote(const struct census_entry *e, const unsigned char **addr)
{
	static const unsigned char v4_mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	if (e->family == AF_INET) {
		*addr = e->remote.addr;
		return 4;
	}
	if (memcmp(e->remote.addr, v4_mapped, 12) == 0) {
		*addr = e->remote.addr + 12;
		return 4;
	}
	*addr = e->remote.addr;
	return 16;
}

bool census_entry_remote_in(const struct census_entry *e, const struct bv_cidr_set *set)
{
	const unsigned char *a;
	size_t n = census_entry_remote(e, &a);
	struct bv_cidr host = { .family = n == 4 ? AF_INET : AF_INET6, .prefix = n == 4 ? 32 : 128 };
	memcpy(host.addr, a, n);
	for (size_t i = 0; set && i < set->len; i++)
		if (cidr_contains(&set->items[i], &host))
			return true;
	return false;
}
