/* census_ping.c - the VMM's ping sockets in the census. smolvm's gateway relays guest echo
 * through one connected ICMP datagram socket per (guest, destination, ident)
 * (crates/smolvm-network/src/icmp_relay.rs @v1.9.3, create_flow_socket). sock_diag dumps no
 * ping sockets, so they are read from /proc/net/icmp and /proc/net/icmp6 of our network
 * namespace (the VMM's, census_open checked), joined by inode with the fd scan. */
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "core/cleanup.h"
#include "egress/census_diag.h"

/* The kernel prints an address as 32-bit words in host order ("0500007F" is 127.0.0.5 on
 * a little-endian host): read each word back the same way to get the bytes. */
static int hex_addr(const char *hex, unsigned char *out, size_t len)
{
	if (strlen(hex) != len * 2)
		return -1;
	for (size_t w = 0; w < len / 4; w++) {
		char word[9];
		uint32_t v;
		memcpy(word, hex + w * 8, 8);
		word[8] = '\0';
		if (sscanf(word, "%8" SCNx32, &v) != 1)
			return -1;
		memcpy(out + w * 4, &v, 4);
	}
	return 0;
}

/* One line of /proc/net/icmp{,6}: its entry when the socket is the VMM's. 1 when it is,
 * 0 when not (or the header), -1 when the line cannot be read. */
static int ping_line(const struct census *c, const char *line, int family, struct census_entry *e)
{
	char local[40], remote[40];
	unsigned lport, rport, state;
	unsigned long long inode;
	if (sscanf(line, " %*u: %39[0-9A-Fa-f]:%x %39[0-9A-Fa-f]:%x %x %*x:%*x %*x:%*x %*x %*u %*d %llu", local,
		   &lport, remote, &rport, &state, &inode) != 6)
		return strstr(line, "local_address") ? 0 : -1;
	if (inode == 0 || !census_is_vmm_inode(c, inode))
		return 0;
	size_t alen = family == AF_INET6 ? 16 : 4;
	memset(e, 0, sizeof *e);
	if (hex_addr(local, e->local.addr, alen) < 0 || hex_addr(remote, e->remote.addr, alen) < 0)
		return -1;
	e->proto = IPPROTO_ICMP; /* both families: an echo socket */
	e->family = family;
	e->state = (int)state;
	e->inode = inode;
	e->local.port = (uint16_t)lport; /* the echo identifier */
	e->remote.port = (uint16_t)rport;
	return 1;
}

static int ping_file(struct census *c, const char *path, int family, long now, struct bv_error *err)
{
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	char line[512];
	if (!f) /* a kernel without ping sockets lists none */
		return errno == ENOENT ? 0 : bv_error_errno(err, errno, "%s", path);
	while (fgets(line, sizeof line, f)) {
		struct census_entry e;
		int r = ping_line(c, line, family, &e);
		if (r < 0)
			return bv_error_set(err, EIO, "%s: a line that is not the kernel's format", path);
		if (r > 0 && (r = census_entry_upsert(c, &e, now)) != 0)
			return r < 0 ? bv_error_set(err, -r, "out of memory") : 0;
	}
	return 0;
}

int census_ping_all(struct census *c, long now, struct bv_error *err)
{
	int r = ping_file(c, "/proc/net/icmp", AF_INET, now, err);
	return r < 0 ? r : ping_file(c, "/proc/net/icmp6", AF_INET6, now, err);
}
