/* kvm_run.h - does KVM really run a vCPU? A tiny long-mode guest of our own, run for a bounded time.
 * A /dev/kvm can open and answer KVM_GET_API_VERSION and still never boot a Linux guest (a
 * software KVM that emulates guest-kernel code): only guest code that runs, at speed, proves it. */
#ifndef BV_VERIFY_HOST_KVM_RUN_H
#define BV_VERIFY_HOST_KVM_RUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

/* The guest's memory: one slot at guest-physical 0, eight pages. Page tables for long mode
 * (PML4 -> PDPT -> PD, one 2 MiB page mapping 0-2 MiB to itself), then the code. */
#define KVM_GUEST_MEM   0x8000u
#define KVM_GUEST_PML4  0x1000u
#define KVM_GUEST_PDPT  0x2000u
#define KVM_GUEST_PD    0x3000u
#define KVM_GUEST_CODE  0x4000u
#define KVM_GUEST_STACK 0x8000u

/* The code: out KVM_GUEST_MARK_START to KVM_GUEST_PORT, count KVM_GUEST_LOOPS down in a
 * dec/jnz loop (a boot's worth of guest-kernel work in miniature: tens of ms on hardware
 * KVM, minutes where guest-kernel code is emulated), out KVM_GUEST_MARK_DONE, hlt. */
#define KVM_GUEST_PORT       0x3f0
#define KVM_GUEST_MARK_START 0xb5
#define KVM_GUEST_MARK_DONE  0xbd
#define KVM_GUEST_LOOPS      50000000u

/* The whole run's bound, first KVM_RUN to HLT. */
#define KVM_RUN_BUDGET_MS 2000

/* Writes the page tables and the code into mem (len >= KVM_GUEST_MEM bytes, zeroed by
 * the caller). Returns the code's length, or -EINVAL when len is too small. */
int kvm_guest_build(uint8_t *mem, size_t len);

/* Where in the code the loop is: [start, end) of the dec/jnz pair, for "where it stopped". */
void kvm_guest_loop_range(uint64_t *start, uint64_t *end);

#define KVM_RUN_EXITS_KEPT 8

/* What a probe reached, step by step; each flag implies the ones before it. */
struct kvm_run_result {
	bool opened;          /* the device opened read/write */
	int api_version;      /* KVM_GET_API_VERSION, -1 until it answered */
	bool vm_created;      /* KVM_CREATE_VM, memory slot set */
	bool vcpu_created;    /* KVM_CREATE_VCPU, its kvm_run area mapped, registers set */
	bool entered;         /* KVM_RUN was called */
	bool start_seen;      /* KVM_EXIT_IO with MARK_START: the guest runs 64-bit code */
	bool done_seen;       /* KVM_EXIT_IO with MARK_DONE: it ran the loop to the end */
	bool hlt_seen;        /* KVM_EXIT_HLT after MARK_DONE */
	bool timed_out;       /* the budget ran out before HLT */
	bool host_failed;     /* our own set-up failed (memory, timer): says nothing of KVM */
	const char *failed;   /* the step that failed ("KVM_CREATE_VM", "mmap"...), or NULL */
	int err;              /* its errno */
	uint32_t exits[KVM_RUN_EXITS_KEPT]; /* the first exit reasons, in order */
	size_t n_exits;       /* how many exits in all */
	uint32_t last_exit;   /* the one that ended the run (KVM_EXIT_INTR: the budget) */
	uint64_t detail;      /* FAIL_ENTRY hardware reason, INTERNAL_ERROR suberror, IO port */
	long elapsed_ms;      /* first KVM_RUN to the end (HLT, a wrong exit, or the budget) */
	long start_ms;        /* first KVM_RUN to MARK_START, when it came */
	long loop_ms;         /* MARK_START to MARK_DONE, when both came */
	bool regs_read;       /* on a timeout or a wrong exit: where the guest stopped */
	uint64_t stop_rip;
	uint64_t loops_left;  /* the loop counter there (meaningful when rip is in the loop) */
};

/* Runs the guest on device for at most budget_ms and fills res (always, from zero).
 * 0 when the guest was run: res says how far it got (HLT, a wrong exit, the budget);
 * -errno with err set when a step failed before or around KVM_RUN (res->failed names it,
 * res->host_failed when it was ours, not KVM's). Installs a SIGALRM handler and a
 * per-thread timer for the run and restores the previous handler and mask afterwards. */
int kvm_run_probe(const char *device, int budget_ms, struct kvm_run_result *res, struct bv_error *err);

enum kvm_run_verdict {
	KVM_RUNS,         /* MARK_DONE and then HLT, within the budget */
	KVM_DOES_NOT_RUN, /* tried, and the guest did not get there */
	KVM_UNTRIED,      /* could not be tried: the device did not open, or our own set-up failed */
};
enum kvm_run_verdict kvm_run_verdict_of(const struct kvm_run_result *res);

/* "KVM_EXIT_IO", "KVM_EXIT_HLT"...; "exit N" for a reason this build does not name. */
const char *kvm_exit_name(uint32_t reason, char *buf, size_t len);

/* One line of every step the run reached, where it stopped and the exits, for evidence. */
void kvm_run_describe(const struct kvm_run_result *res, char *buf, size_t len);

/* One sentence: how the run went ("... took 23 ms", "... still in its loop after 2000 ms").
 * A device that is not KVM (ENOTTY) is named as such. */
void kvm_run_summary(const struct kvm_run_result *res, char *buf, size_t len);

#endif
