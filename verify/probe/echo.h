/* echo.h - bottle-probe's ICMP echo: a request carrying the nonce line, sent from an
 * unprivileged ping socket where the guest allows one, else a raw socket (root), and the
 * reply that answers it. Guest side only; the host judges by its own evidence. */
#ifndef BV_VERIFY_PROBE_ECHO_H
#define BV_VERIFY_PROBE_ECHO_H

#include <stdbool.h>
#include <stddef.h>

/* A non-blocking ICMP socket of family (AF_INET, AF_INET6): a ping socket (SOCK_DGRAM),
 * or raw (*raw set) when ping sockets are not allowed. -1 with errno. */
int echo_socket(int family, bool *raw);

/* An echo request (ICMP type 8, or ICMPv6 128) whose data is text; its length, or 0 when
 * cap is too small. The IPv4 checksum is filled (a raw socket sends it as it is). */
size_t echo_request(int family, const char *text, unsigned char *buf, size_t cap);

/* Is buf (what the socket read: a raw IPv4 socket's includes the IP header) an echo reply
 * whose data starts with text? */
bool echo_reply_to(int family, bool raw, const unsigned char *buf, size_t n, const char *text);

#endif
