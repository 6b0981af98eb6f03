/* The gate's policy object and its host-side readers. */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gate/gate.h"
#include "egress/policy.h"

#define BASE "{\"deadline_ms\": 500, \"controls\": [{\"proto\": \"tcp\", \"addr\": \"127.0.0.1\", \"port\": 1}]," \
	     " \"denied\": {\"public\": [{\"proto\": \"tcp\", \"addr\": \"127.0.0.2\", \"port\": 1}]}"

static int parse(const char *gate, struct policy *p)
{
	char text[1024];
	snprintf(text, sizeof text, "%s, \"gate\": %s}", BASE, gate);
	return policy_parse(text, strlen(text), p, NULL);
}

Test(gate, policy_reads_the_proxy_and_the_git_gate)
{
	struct policy p;
	cr_assert_eq(parse("{\"proxy\": {\"addr\": \"192.0.2.1\", \"port\": 8888, \"allowed_host\": \"a.test\","
			   " \"denied_host\": \"d.test\", \"denied_ip\": \"198.51.100.1\","
			   " \"upstream\": {\"addr\": \"192.0.2.2\", \"port\": 80}},"
			   " \"git\": {\"addr\": \"192.0.2.1\", \"port\": 9418, \"repo\": \"/g.git\", \"scanner\": \"s\","
			   " \"upstream\": {\"addr\": \"192.0.2.2\", \"port\": 81}},"
			   " \"allowed_addr\": \"192.0.2.1\", \"declared_ports\": [8888, 9418]}", &p), 0);
	cr_assert(p.gate.proxy.set && p.gate.git.set);
	cr_assert_eq(p.gate.denied_ip_port, 80);
	cr_assert_eq(p.gate.n_declared, 2);
	cr_assert_str_eq(p.gate.scanner, "s");
	policy_free(&p);
}

Test(gate, policy_refuses_a_part_without_its_upstream_or_with_bad_ports)
{
	struct policy p;
	cr_assert_lt(parse("{\"git\": {\"addr\": \"192.0.2.1\", \"port\": 9418, \"repo\": \"/g\", \"scanner\": \"s\"}}", &p), 0);
	policy_free(&p);
	cr_assert_lt(parse("{\"declared_ports\": [8888.5]}", &p), 0);
	policy_free(&p);
	cr_assert_lt(parse("{\"declared_ports\": [-1]}", &p), 0);
	policy_free(&p);
}

Test(gate, host_listeners_on_the_allowed_address_minus_the_declared)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	struct sockaddr_in a = { .sin_family = AF_INET };
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
	cr_assert_eq(listen(fd, 1), 0);
	socklen_t len = sizeof a;
	getsockname(fd, (struct sockaddr *)&a, &len);
	unsigned port = ntohs(a.sin_port), ports[64];
	size_t n = 0;
	bool found = false;
	cr_assert_eq(gate_host_listeners("127.0.0.1", NULL, 0, ports, 64, &n, NULL), 0);
	for (size_t i = 0; i < n; i++)
		found = found || ports[i] == port;
	cr_assert(found, "listener on 127.0.0.1:%u not found", port);
	cr_assert_eq(gate_host_listeners("127.0.0.1", &port, 1, ports, 64, &n, NULL), 0);
	for (size_t i = 0; i < n; i++)
		cr_assert_neq(ports[i], port, "a declared port is the bundle's own");
	close(fd);
}

Test(gate, a_secret_on_a_command_line_is_found_and_not_repeated)
{
	const char *secret = "ghp_testsecret0000000000000000000000000";
	pid_t pid = fork();
	if (pid == 0) {
		execl("/bin/sh", "sh", "-c", "sleep 5", secret, (char *)NULL);
		_exit(127);
	}
	usleep(200000);
	char names[512];
	long hits = gate_host_cmdline_secret(secret, names, sizeof names);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	cr_assert_geq(hits, 1);
	cr_assert(strstr(names, "pid ") != NULL);
	cr_assert(strstr(names, secret) == NULL);
}
