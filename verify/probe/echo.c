/* echo.c - see echo.h. The identifier is the kernel's on a ping socket (its port) and ours
 * on a raw one; replies are matched by their data, which carries the nonce. */
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "echo.h"

enum { ECHO_HDR = 8, ICMP4_REQUEST = 8, ICMP4_REPLY = 0, ICMP6_REQUEST = 128, ICMP6_REPLY = 129 };

int echo_socket(int family, bool *raw)
{
	int proto = family == AF_INET6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP;
	int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);
	*raw = false;
	if (fd >= 0 || (errno != EACCES && errno != EPERM && errno != EPROTONOSUPPORT))
		return fd;
	*raw = true;
	return socket(family, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);
}

/* RFC 1071: the one's complement of the one's complement sum of 16-bit words. */
static unsigned short inet_sum(const unsigned char *b, size_t n)
{
	unsigned long sum = 0;
	for (size_t i = 0; i + 1 < n; i += 2)
		sum += (unsigned long)(b[i] << 8 | b[i + 1]);
	if (n & 1)
		sum += (unsigned long)b[n - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (unsigned short)~sum;
}

size_t echo_request(int family, const char *text, unsigned char *buf, size_t cap)
{
	size_t len = strlen(text);
	if (cap < ECHO_HDR + len)
		return 0;
	memset(buf, 0, ECHO_HDR);
	buf[0] = family == AF_INET6 ? ICMP6_REQUEST : ICMP4_REQUEST;
	unsigned id = (unsigned)getpid() & 0xffff; /* a raw socket's; a ping socket sets its own */
	buf[4] = (unsigned char)(id >> 8), buf[5] = (unsigned char)id;
	buf[7] = 1; /* sequence 1 */
	memcpy(buf + ECHO_HDR, text, len);
	if (family == AF_INET) { /* ICMPv6's covers a pseudo-header: the kernel's to fill */
		unsigned short c = inet_sum(buf, ECHO_HDR + len);
		buf[2] = (unsigned char)(c >> 8), buf[3] = (unsigned char)c;
	}
	return ECHO_HDR + len;
}

bool echo_reply_to(int family, bool raw, const unsigned char *buf, size_t n, const char *text)
{
	size_t off = 0, len = strlen(text);
	if (family == AF_INET && raw) {
		if (n < 20 || (buf[0] >> 4) != 4)
			return false;
		off = (size_t)(buf[0] & 15) * 4;
	}
	if (n < off + ECHO_HDR + len)
		return false;
	unsigned char want = family == AF_INET6 ? ICMP6_REPLY : ICMP4_REPLY;
	return buf[off] == want && buf[off + 1] == 0 && memcmp(buf + off + ECHO_HDR, text, len) == 0;
}
