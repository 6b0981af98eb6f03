/* kvm_run.c - see kvm_run.h. Nothing here prints: the result says what was reached.
 *
 * Why a loop, and not just out + hlt. Written on a machine whose /dev/kvm opens, answers
 * KVM_GET_API_VERSION 12 and creates VMs and vCPUs, yet hangs every Linux guest: a
 * Firecracker guest (kernel 6.18.44-fc) whose KVM is the kvm_pvm module ("kvm-pvm: loaded
 * (native=1 ... emul_batch=1024)"), with no vmx/svm in its CPU flags. There,
 * `qemu-system-x86_64 -accel kvm -kernel /boot/vmlinuz-6.1.0-57-amd64` prints SeaBIOS and
 * Linux's real-mode "Probing EDD ... ok", then nothing: qemu's `info registers` a second
 * apart shows the vCPU in long mode (CR0 0x80050033, EFER 0x500, CS64, CPL 0) inside the
 * kernel's decompressor, its loop counter moving ~100,000 a second, all of qemu's time in
 * the host kernel. Firmware, real mode, protected mode and the switch to long mode all
 * work; what never finishes is a lot of code at CPL 0. The first version of this guest
 * (start marker, hlt) passed there in 0 ms. Measured with the same guest:
 *   CPL 0, 1 / 1,000 / 100,000 / 1,000,000 iterations: 0 / 2 / 170 / 1768 ms
 *   CPL 3 (user segments, U/S pages, IOPL 3), 50,000,000 iterations: 22 ms
 * so that KVM runs guest user code at hardware speed and emulates guest-kernel code
 * (~0.5 M iterations, ~1 M instructions, a second). The loop below is that step: 50 M
 * iterations are tens of ms on hardware KVM, nested VT-x/AMD-V included (guest code runs
 * natively there; only exits are slow), and ~100 s there. On that machine preflight.kvm.runs
 * says: still in the loop after 2001 ms, ~990,000 of 50,000,000 iterations (~494,000/s),
 * exits KVM_EXIT_IO (start marker), KVM_EXIT_INTR (the budget).
 *
 * The run is bounded by a per-thread POSIX timer (SIGEV_THREAD_ID, so the signal reaches
 * the thread inside KVM_RUN even in a threaded process) raising SIGALRM: the handler sets
 * kvm_run.immediate_exit, so a signal that lands between two KVM_RUNs still ends the next
 * one at once, and the timer repeats every KICK_REPEAT_MS in case one is lost. */
#include "host/kvm_run.h"
#include "core/clock.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#ifndef sigev_notify_thread_id
#define sigev_notify_thread_id _sigev_un._tid /* glibc 2.36 does not name it */
#endif

#define PTE_P  0x1ull
#define PTE_RW 0x2ull
#define PTE_PS 0x80ull /* in a PD entry: a 2 MiB page */

#define KICK_REPEAT_MS 50

#define LE32(v) (uint8_t)((v) & 0xff), (uint8_t)(((v) >> 8) & 0xff), \
		(uint8_t)(((v) >> 16) & 0xff), (uint8_t)(((v) >> 24) & 0xff)

/* 64-bit code, run at KVM_GUEST_CODE with CPL 0. */
static const uint8_t guest_code[] = {
	0x66, 0xba, KVM_GUEST_PORT & 0xff, KVM_GUEST_PORT >> 8, /* mov dx, PORT */
	0xb0, KVM_GUEST_MARK_START,                             /* mov al, START */
	0xee,                                                   /* out dx, al */
	0xb9, LE32(KVM_GUEST_LOOPS),                            /* mov ecx, LOOPS */
	0xff, 0xc9,                                             /* 1: dec ecx */
	0x75, 0xfc,                                             /* jnz 1b */
	0xb0, KVM_GUEST_MARK_DONE,                              /* mov al, DONE */
	0xee,                                                   /* out dx, al */
	0xf4,                                                   /* hlt */
};
#define LOOP_OFF 12 /* the dec */
#define LOOP_END 16 /* after the jnz */

static void put_u64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, sizeof v); /* x86 page tables are little-endian, as is the host */
}

int kvm_guest_build(uint8_t *mem, size_t len)
{
	if (!mem || len < KVM_GUEST_MEM)
		return -EINVAL;
	put_u64(mem + KVM_GUEST_PML4, KVM_GUEST_PDPT | PTE_P | PTE_RW);
	put_u64(mem + KVM_GUEST_PDPT, KVM_GUEST_PD | PTE_P | PTE_RW);
	put_u64(mem + KVM_GUEST_PD, 0 | PTE_P | PTE_RW | PTE_PS);
	memcpy(mem + KVM_GUEST_CODE, guest_code, sizeof guest_code);
	return (int)sizeof guest_code;
}

void kvm_guest_loop_range(uint64_t *start, uint64_t *end)
{
	*start = KVM_GUEST_CODE + LOOP_OFF;
	*end = KVM_GUEST_CODE + LOOP_END;
}

/* ---- the VM ---- */

struct vm {
	int kvm, vm, vcpu;
	uint8_t *mem;
	struct kvm_run *run;
	size_t run_size;
};

static void vm_close(struct vm *v)
{
	if (v->run)
		munmap(v->run, v->run_size);
	if (v->mem)
		munmap(v->mem, KVM_GUEST_MEM);
	if (v->vcpu >= 0)
		close(v->vcpu);
	if (v->vm >= 0)
		close(v->vm);
	if (v->kvm >= 0)
		close(v->kvm);
}

/* ours: the failure is our own set-up's (memory, timer), not KVM's. */
static int step_failed(struct kvm_run_result *res, const char *step, int e, bool ours,
		       struct bv_error *err)
{
	res->failed = step;
	res->err = e;
	res->host_failed = ours;
	return bv_error_errno(err, e, "%s", step);
}

static int open_kvm(const char *device, struct vm *v, struct kvm_run_result *res, struct bv_error *err)
{
	v->kvm = open(device, O_RDWR | O_CLOEXEC | O_NOCTTY);
	if (v->kvm < 0)
		return step_failed(res, "open", errno, false, err);
	res->opened = true;
	int api = ioctl(v->kvm, KVM_GET_API_VERSION, 0);
	if (api < 0)
		return step_failed(res, "KVM_GET_API_VERSION", errno, false, err);
	res->api_version = api;
	if (api != KVM_API_VERSION) {
		res->failed = "KVM_GET_API_VERSION";
		res->err = EPROTO;
		return bv_error_set(err, EPROTO, "KVM_GET_API_VERSION: %d, expected %d", api, KVM_API_VERSION);
	}
	return 0;
}

static int create_vm(struct vm *v, struct kvm_run_result *res, struct bv_error *err)
{
	v->vm = ioctl(v->kvm, KVM_CREATE_VM, 0);
	if (v->vm < 0)
		return step_failed(res, "KVM_CREATE_VM", errno, false, err);
	void *mem = mmap(NULL, KVM_GUEST_MEM, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (mem == MAP_FAILED)
		return step_failed(res, "mmap guest memory", errno, true, err);
	v->mem = mem;
	kvm_guest_build(v->mem, KVM_GUEST_MEM);
	struct kvm_userspace_memory_region region = {
		.slot = 0, .guest_phys_addr = 0, .memory_size = KVM_GUEST_MEM,
		.userspace_addr = (uint64_t)(uintptr_t)v->mem,
	};
	if (ioctl(v->vm, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		return step_failed(res, "KVM_SET_USER_MEMORY_REGION", errno, false, err);
	res->vm_created = true;
	return 0;
}

#if defined(__x86_64__)
static void flat_segment(struct kvm_segment *s, uint16_t selector, bool code)
{
	*s = (struct kvm_segment){
		.base = 0, .limit = 0xffffffff, .selector = selector, .present = 1, .dpl = 0, .s = 1, .g = 1,
		.type = code ? 11 : 3, /* execute/read, accessed : read/write, accessed */
		.l = code, .db = !code,
	};
}

/* Straight into 64-bit mode, as a VMM loading a kernel at its 64-bit entry does. */
static int set_registers(struct vm *v, struct kvm_run_result *res, struct bv_error *err)
{
	struct kvm_sregs sregs;
	if (ioctl(v->vcpu, KVM_GET_SREGS, &sregs) < 0)
		return step_failed(res, "KVM_GET_SREGS", errno, false, err);
	sregs.cr3 = KVM_GUEST_PML4;
	sregs.cr4 = 1u << 5;                                      /* PAE */
	sregs.cr0 = 1u << 0 | 1u << 1 | 1u << 4 | 1u << 5 | 1u << 16 | 1u << 31; /* PE MP ET NE WP PG */
	sregs.efer = 1u << 8 | 1u << 10;                          /* LME LMA */
	flat_segment(&sregs.cs, 8, true);
	flat_segment(&sregs.ds, 16, false);
	sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
	if (ioctl(v->vcpu, KVM_SET_SREGS, &sregs) < 0)
		return step_failed(res, "KVM_SET_SREGS", errno, false, err);
	struct kvm_regs regs = { .rip = KVM_GUEST_CODE, .rsp = KVM_GUEST_STACK, .rflags = 2 };
	if (ioctl(v->vcpu, KVM_SET_REGS, &regs) < 0)
		return step_failed(res, "KVM_SET_REGS", errno, false, err);
	return 0;
}

static void read_stop(struct vm *v, struct kvm_run_result *res)
{
	struct kvm_regs regs;
	if (ioctl(v->vcpu, KVM_GET_REGS, &regs) < 0)
		return;
	res->regs_read = true;
	res->stop_rip = regs.rip;
	res->loops_left = regs.rcx & 0xffffffffu;
}
#else
static int set_registers(struct vm *v, struct kvm_run_result *res, struct bv_error *err)
{
	(void)v;
	return step_failed(res, "the probe guest is x86-64 code", ENOTSUP, true, err);
}

static void read_stop(struct vm *v, struct kvm_run_result *res)
{
	(void)v;
	(void)res;
}
#endif

static int create_vcpu(struct vm *v, struct kvm_run_result *res, struct bv_error *err)
{
	int size = ioctl(v->kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (size < 0)
		return step_failed(res, "KVM_GET_VCPU_MMAP_SIZE", errno, false, err);
	if ((size_t)size < sizeof(struct kvm_run))
		return step_failed(res, "KVM_GET_VCPU_MMAP_SIZE", EPROTO, false, err);
	v->vcpu = ioctl(v->vm, KVM_CREATE_VCPU, 0);
	if (v->vcpu < 0)
		return step_failed(res, "KVM_CREATE_VCPU", errno, false, err);
	void *run = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED, v->vcpu, 0);
	if (run == MAP_FAILED)
		return step_failed(res, "mmap kvm_run", errno, false, err);
	v->run = run;
	v->run_size = (size_t)size;
	int rc = set_registers(v, res, err);
	res->vcpu_created = rc == 0;
	return rc;
}

/* ---- the bound: a per-thread timer kicks the vCPU out of KVM_RUN ---- */

static struct kvm_run *volatile kick_run;
static volatile sig_atomic_t kicked;

static void on_alarm(int sig)
{
	(void)sig;
	kicked = 1;
	struct kvm_run *run = kick_run;
	if (run)
		run->immediate_exit = 1;
}

struct kick {
	timer_t timer;
	bool have_timer, have_sa, have_mask;
	struct sigaction old_sa;
	sigset_t old_mask;
};

static struct timespec ms_ts(long ms)
{
	return (struct timespec){ .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };
}

static int kick_arm(struct kick *k, struct kvm_run *run, int budget_ms, struct kvm_run_result *res,
		    struct bv_error *err)
{
	struct sigaction sa = { .sa_handler = on_alarm };
	sigemptyset(&sa.sa_mask);
	kicked = 0;
	kick_run = run;
	if (sigaction(SIGALRM, &sa, &k->old_sa) < 0)
		return step_failed(res, "sigaction SIGALRM", errno, true, err);
	k->have_sa = true;
	sigset_t alrm;
	sigemptyset(&alrm);
	sigaddset(&alrm, SIGALRM);
	int e = pthread_sigmask(SIG_UNBLOCK, &alrm, &k->old_mask);
	if (e)
		return step_failed(res, "unblock SIGALRM", e, true, err);
	k->have_mask = true;
	struct sigevent ev = { .sigev_notify = SIGEV_THREAD_ID, .sigev_signo = SIGALRM };
	ev.sigev_notify_thread_id = gettid();
	if (timer_create(CLOCK_MONOTONIC, &ev, &k->timer) < 0)
		return step_failed(res, "timer_create", errno, true, err);
	k->have_timer = true;
	struct itimerspec its = { .it_value = ms_ts(budget_ms), .it_interval = ms_ts(KICK_REPEAT_MS) };
	if (timer_settime(k->timer, 0, &its, NULL) < 0)
		return step_failed(res, "timer_settime", errno, true, err);
	return 0;
}

/* The timer goes first, so no SIGALRM of ours is left to meet the old handler. */
static void kick_disarm(struct kick *k)
{
	if (k->have_timer)
		timer_delete(k->timer);
	kick_run = NULL;
	if (k->have_mask)
		pthread_sigmask(SIG_SETMASK, &k->old_mask, NULL);
	if (k->have_sa)
		sigaction(SIGALRM, &k->old_sa, NULL);
}

/* ---- the run ---- */

static void note_exit(struct kvm_run_result *res, uint32_t reason)
{
	if (res->n_exits < KVM_RUN_EXITS_KEPT)
		res->exits[res->n_exits] = reason;
	res->n_exits++;
	res->last_exit = reason;
}

/* Our markers, in order; anything else ends the run. true: run again. */
static bool on_io(const struct kvm_run *run, struct kvm_run_result *res, long t0)
{
	res->detail = run->io.port;
	if (run->io.direction != KVM_EXIT_IO_OUT || run->io.port != KVM_GUEST_PORT ||
	    run->io.size != 1 || run->io.count != 1)
		return false;
	uint8_t mark = *((const uint8_t *)run + run->io.data_offset);
	if (mark == KVM_GUEST_MARK_START && !res->start_seen) {
		res->start_seen = true;
		res->start_ms = bv_now_ms() - t0;
		return true;
	}
	if (mark == KVM_GUEST_MARK_DONE && res->start_seen && !res->done_seen) {
		res->done_seen = true;
		res->loop_ms = bv_now_ms() - t0 - res->start_ms;
		return true;
	}
	return false;
}

static bool on_exit(const struct kvm_run *run, struct kvm_run_result *res, long t0)
{
	note_exit(res, run->exit_reason);
	if (run->exit_reason == KVM_EXIT_IO)
		return on_io(run, res, t0);
	if (run->exit_reason == KVM_EXIT_HLT)
		res->hlt_seen = true;
	else if (run->exit_reason == KVM_EXIT_FAIL_ENTRY)
		res->detail = run->fail_entry.hardware_entry_failure_reason;
	else if (run->exit_reason == KVM_EXIT_INTERNAL_ERROR)
		res->detail = run->internal.suberror;
	return false;
}

static int run_guest(struct vm *v, int budget_ms, struct kvm_run_result *res, struct bv_error *err)
{
	struct kick k = { 0 };
	long t0 = bv_now_ms();
	int rc = kick_arm(&k, v->run, budget_ms, res, err);
	res->entered = rc == 0;
	while (rc == 0) {
		if (ioctl(v->vcpu, KVM_RUN, 0) == 0) {
			if (!on_exit(v->run, res, t0))
				break;
			continue;
		}
		if (errno != EINTR && errno != EAGAIN) {
			rc = step_failed(res, "KVM_RUN", errno, false, err);
			break;
		}
		note_exit(res, KVM_EXIT_INTR);
		if (kicked) {
			res->timed_out = true;
			break;
		}
	}
	res->elapsed_ms = bv_now_ms() - t0;
	kick_disarm(&k);
	if (res->entered && !res->hlt_seen)
		read_stop(v, res);
	return rc;
}

int kvm_run_probe(const char *device, int budget_ms, struct kvm_run_result *res, struct bv_error *err)
{
	memset(res, 0, sizeof *res);
	res->api_version = -1;
	if (budget_ms < 1)
		budget_ms = 1; /* a zero it_value would disarm the timer: no bound at all */
	struct vm v = { .kvm = -1, .vm = -1, .vcpu = -1 };
	int rc = open_kvm(device, &v, res, err);
	if (rc == 0)
		rc = create_vm(&v, res, err);
	if (rc == 0)
		rc = create_vcpu(&v, res, err);
	if (rc == 0)
		rc = run_guest(&v, budget_ms, res, err);
	vm_close(&v);
	return rc;
}

enum kvm_run_verdict kvm_run_verdict_of(const struct kvm_run_result *res)
{
	if (!res->opened || res->host_failed)
		return KVM_UNTRIED;
	if (res->done_seen && res->hlt_seen && !res->timed_out)
		return KVM_RUNS;
	return KVM_DOES_NOT_RUN;
}

/* ---- words ---- */

const char *kvm_exit_name(uint32_t reason, char *buf, size_t len)
{
	static const struct { uint32_t reason; const char *name; } names[] = {
		{ KVM_EXIT_UNKNOWN, "KVM_EXIT_UNKNOWN" }, { KVM_EXIT_EXCEPTION, "KVM_EXIT_EXCEPTION" },
		{ KVM_EXIT_IO, "KVM_EXIT_IO" }, { KVM_EXIT_HYPERCALL, "KVM_EXIT_HYPERCALL" },
		{ KVM_EXIT_DEBUG, "KVM_EXIT_DEBUG" }, { KVM_EXIT_HLT, "KVM_EXIT_HLT" },
		{ KVM_EXIT_MMIO, "KVM_EXIT_MMIO" }, { KVM_EXIT_SHUTDOWN, "KVM_EXIT_SHUTDOWN" },
		{ KVM_EXIT_FAIL_ENTRY, "KVM_EXIT_FAIL_ENTRY" }, { KVM_EXIT_INTR, "KVM_EXIT_INTR" },
		{ KVM_EXIT_INTERNAL_ERROR, "KVM_EXIT_INTERNAL_ERROR" },
		{ KVM_EXIT_SYSTEM_EVENT, "KVM_EXIT_SYSTEM_EVENT" },
	};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (names[i].reason == reason)
			return names[i].name;
	snprintf(buf, len, "exit %u", reason);
	return buf;
}

struct line {
	char *buf;
	size_t len, used;
};

__attribute__((format(printf, 2, 3))) static void add(struct line *l, const char *fmt, ...)
{
	if (l->used >= l->len)
		return;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(l->buf + l->used, l->len - l->used, fmt, ap);
	va_end(ap);
	if (n > 0)
		l->used = l->used + (size_t)n < l->len ? l->used + (size_t)n : l->len - 1;
}

static void describe_reached(struct line *l, const struct kvm_run_result *res)
{
	add(l, "reached:%s", res->opened ? " open" : " nothing (the device did not open)");
	if (res->api_version >= 0)
		add(l, ", API %d", res->api_version);
	const struct { bool on; const char *what; } steps[] = {
		{ res->vm_created, "VM" }, { res->vcpu_created, "vCPU in long mode" },
		{ res->entered, "KVM_RUN" }, { res->start_seen, "start marker" },
		{ res->done_seen, "loop done" }, { res->hlt_seen, "HLT" },
	};
	for (size_t i = 0; i < sizeof steps / sizeof steps[0] && steps[i].on; i++)
		add(l, ", %s", steps[i].what);
	if (res->failed)
		add(l, "; failed at %s: %s", res->failed, strerror(res->err));
}

/* Iterations the guest did in the loop, when it stopped there; false otherwise. */
static bool loop_progress(const struct kvm_run_result *res, uint64_t *done, uint64_t *per_s)
{
	uint64_t lo, hi;
	kvm_guest_loop_range(&lo, &hi);
	if (!res->regs_read || res->stop_rip < lo || res->stop_rip >= hi || res->loops_left > KVM_GUEST_LOOPS)
		return false;
	long ms = res->elapsed_ms - res->start_ms;
	*done = KVM_GUEST_LOOPS - res->loops_left;
	*per_s = *done * 1000 / (uint64_t)(ms > 0 ? ms : 1);
	return true;
}

/* " (0x21)": the FAIL_ENTRY reason, INTERNAL_ERROR suberror or stray IO port, if any. */
static const char *detail_text(const struct kvm_run_result *res, char *buf, size_t len)
{
	buf[0] = '\0';
	if (res->detail)
		snprintf(buf, len, " (0x%llx)", (unsigned long long)res->detail);
	return buf;
}

static void describe_stop(struct line *l, const struct kvm_run_result *res)
{
	char nb[32], db[32];
	uint64_t done, per_s;
	if (res->timed_out)
		add(l, "; no HLT within %ld ms", res->elapsed_ms);
	else if (res->entered && !res->hlt_seen && !res->failed)
		add(l, "; stopped by %s%s after %ld ms", kvm_exit_name(res->last_exit, nb, sizeof nb),
		    detail_text(res, db, sizeof db), res->elapsed_ms);
	else if (res->hlt_seen)
		add(l, "; HLT after %ld ms", res->elapsed_ms);
	if (res->done_seen)
		add(l, "; the %u-iteration loop took %ld ms", KVM_GUEST_LOOPS, res->loop_ms);
	if (res->regs_read)
		add(l, "; guest stopped at rip 0x%llx", (unsigned long long)res->stop_rip);
	if (loop_progress(res, &done, &per_s))
		add(l, " in the loop, %llu of %u iterations done (~%llu/s)", (unsigned long long)done,
		    KVM_GUEST_LOOPS, (unsigned long long)per_s);
}

void kvm_run_describe(const struct kvm_run_result *res, char *buf, size_t len)
{
	struct line l = { buf, len, 0 };
	if (len)
		buf[0] = '\0';
	describe_reached(&l, res);
	describe_stop(&l, res);
	if (!res->n_exits)
		return;
	char nb[32];
	add(&l, "; exits (%zu):", res->n_exits);
	for (size_t i = 0; i < res->n_exits && i < KVM_RUN_EXITS_KEPT; i++)
		add(&l, " %s", kvm_exit_name(res->exits[i], nb, sizeof nb));
	if (res->n_exits > KVM_RUN_EXITS_KEPT)
		add(&l, " ...");
}

static void summary_stopped(struct line *l, const struct kvm_run_result *res)
{
	char nb[32], db[32];
	uint64_t done, per_s;
	if (res->timed_out && loop_progress(res, &done, &per_s))
		add(l, "the guest ran 64-bit code but was still in its loop after %ld ms: %llu of %u iterations "
		    "(~%llu/s; hardware KVM runs them all in tens of ms)", res->elapsed_ms,
		    (unsigned long long)done, KVM_GUEST_LOOPS, (unsigned long long)per_s);
	else if (res->timed_out)
		add(l, "the guest did not reach HLT within %ld ms%s", res->elapsed_ms,
		    res->start_seen ? "" : " (not even its first instruction's marker)");
	else if (res->hlt_seen)
		add(l, "HLT before the loop-done marker");
	else
		add(l, "the guest stopped with %s%s after %ld ms instead of reaching HLT",
		    kvm_exit_name(res->last_exit, nb, sizeof nb), detail_text(res, db, sizeof db), res->elapsed_ms);
}

void kvm_run_summary(const struct kvm_run_result *res, char *buf, size_t len)
{
	struct line l = { buf, len, 0 };
	if (len)
		buf[0] = '\0';
	if (!res->opened)
		add(&l, "the device did not open: %s", strerror(res->err));
	else if (res->failed && res->err == ENOTTY && res->api_version < 0)
		add(&l, "%s: %s: not a KVM device", res->failed, strerror(res->err));
	else if (res->failed)
		add(&l, "%s failed: %s", res->failed, strerror(res->err));
	else if (kvm_run_verdict_of(res) == KVM_RUNS)
		add(&l, "a %u-iteration loop in 64-bit mode took %ld ms, HLT after %ld ms", KVM_GUEST_LOOPS,
		    res->loop_ms, res->elapsed_ms);
	else
		summary_stopped(&l, res);
}
