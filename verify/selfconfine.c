/* selfconfine.c - see selfconfine.h. The list is what the read-judge-print phase needs:
 * files opened and read (the DB read-only through SQLite, /proc, agent.config.json),
 * SQLite's locks and shared-memory index (which it may create, and chmod/chown to match
 * the DB's), memory, time, the report written to stdout.
 * No execve, no fork or clone, no sockets, no ptrace, no namespace or mount calls. */
#include "selfconfine.h"

#include <errno.h>
#include <seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <linux/netlink.h>

#include <valgrind/valgrind.h>

#include "core/sanitizer.h"

static const int allowed[] = {
	/* files and SQLite's I/O (locks, the -shm index it may create and map) */
	SCMP_SYS(openat), SCMP_SYS(open), SCMP_SYS(close), SCMP_SYS(read), SCMP_SYS(pread64),
	SCMP_SYS(write), SCMP_SYS(pwrite64), SCMP_SYS(writev), SCMP_SYS(lseek), SCMP_SYS(fstat),
	SCMP_SYS(newfstatat), SCMP_SYS(stat), SCMP_SYS(lstat), SCMP_SYS(statx), SCMP_SYS(access),
	SCMP_SYS(faccessat), SCMP_SYS(faccessat2), SCMP_SYS(readlink), SCMP_SYS(readlinkat), SCMP_SYS(getdents64),
	SCMP_SYS(fcntl), SCMP_SYS(flock), SCMP_SYS(fsync), SCMP_SYS(fdatasync), SCMP_SYS(ftruncate),
	SCMP_SYS(fchown), SCMP_SYS(fchmod), SCMP_SYS(getcwd), SCMP_SYS(ioctl),
	/* memory */
	SCMP_SYS(mmap), SCMP_SYS(munmap), SCMP_SYS(mremap), SCMP_SYS(mprotect), SCMP_SYS(brk),
	SCMP_SYS(madvise),
	/* time, identity, signals, exit */
	SCMP_SYS(clock_gettime), SCMP_SYS(gettimeofday), SCMP_SYS(nanosleep), SCMP_SYS(clock_nanosleep),
	SCMP_SYS(getpid), SCMP_SYS(getuid), SCMP_SYS(geteuid), SCMP_SYS(getrandom), SCMP_SYS(futex),
	/* glibc's qsort asks sysinfo for the memory size once an array passes 1 KiB (128 socket
	 * inodes): without it a busy VMM would get the census killed */
	SCMP_SYS(sysinfo),
	SCMP_SYS(rt_sigaction), SCMP_SYS(rt_sigprocmask), SCMP_SYS(rt_sigreturn),
	SCMP_SYS(exit), SCMP_SYS(exit_group),
};

/* bottle-verify watch samples the VMM's sockets for hours: one NETLINK_SOCK_DIAG socket a
 * pass (it can only ask the kernel about sockets, never carry traffic), and waits on its
 * stopper's pipe. Any other socket family or protocol is still killed. */
static int allow_sock_diag(scmp_filter_ctx ctx)
{
	static const int io[] = { SCMP_SYS(setsockopt), SCMP_SYS(sendto), SCMP_SYS(recvmsg),
				  SCMP_SYS(poll), SCMP_SYS(ppoll) };
	const struct scmp_arg_cmp diag_only[2] = {
		{ .arg = 0, .op = SCMP_CMP_EQ, .datum_a = AF_NETLINK, .datum_b = 0 },
		{ .arg = 2, .op = SCMP_CMP_EQ, .datum_a = NETLINK_SOCK_DIAG, .datum_b = 0 },
	};
	int r = seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 2, diag_only);
	for (size_t i = 0; i < sizeof io / sizeof io[0] && r == 0; i++)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, io[i], 0);
	return r;
}

int selfconfine(struct bv_error *err)
{
	return selfconfine_with(0, err);
}

int selfconfine_with(unsigned flags, struct bv_error *err)
{
	/* valgrind cannot run a process under a seccomp filter (its own syscalls would be
	 * filtered): a test run under valgrind says so instead. Nothing in the guest or the
	 * DB can make bottle-verify run under valgrind. */
	if (RUNNING_ON_VALGRIND)
		return 1;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return bv_error_errno(err, errno, "no_new_privs");
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
	if (!ctx)
		return bv_error_set(err, ENOMEM, "seccomp_init");
	int r = 0;
	for (size_t i = 0; i < sizeof allowed / sizeof allowed[0] && r == 0; i++)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, allowed[i], 0);
	if (r == 0 && (flags & SELFCONFINE_SOCK_DIAG))
		r = allow_sock_diag(ctx);
#ifdef BV_ASAN
	/* Sanitize builds only: LeakSanitizer stops the world at exit with a traced clone. */
	static const int asan[] = { SCMP_SYS(sigaltstack), SCMP_SYS(clone), SCMP_SYS(ptrace),
				    SCMP_SYS(wait4), SCMP_SYS(sched_yield), SCMP_SYS(prctl),
				    SCMP_SYS(gettid), SCMP_SYS(tgkill), SCMP_SYS(getppid), SCMP_SYS(getdents) };
	for (size_t i = 0; i < sizeof asan / sizeof asan[0] && r == 0; i++)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, asan[i], 0);
#endif
	if (r == 0)
		r = seccomp_load(ctx);
	seccomp_release(ctx);
	return r < 0 ? bv_error_set(err, -r, "cannot load the seccomp filter") : 0;
}
