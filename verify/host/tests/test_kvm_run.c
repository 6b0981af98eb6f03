/* The KVM run probe: the guest image, the verdict and words from a result, and the parts
 * of a real run that hold whatever this machine's KVM does (or without one). */
#include <criterion/criterion.h>

#include <errno.h>
#include <linux/kvm.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "host/kvm_run.h"

static uint8_t mem[KVM_GUEST_MEM];

static uint64_t u64_at(size_t off)
{
	uint64_t v;
	memcpy(&v, mem + off, sizeof v);
	return v;
}

static int built(void)
{
	memset(mem, 0, sizeof mem);
	return kvm_guest_build(mem, sizeof mem);
}

Test(kvm_guest, the_pml4_points_at_the_pdpt_present_and_writable)
{
	cr_assert_gt(built(), 0);
	cr_assert_eq(u64_at(KVM_GUEST_PML4), KVM_GUEST_PDPT | 0x3);
}

Test(kvm_guest, the_pdpt_points_at_the_pd_present_and_writable)
{
	built();
	cr_assert_eq(u64_at(KVM_GUEST_PDPT), KVM_GUEST_PD | 0x3);
}

Test(kvm_guest, the_pd_maps_the_first_2mib_to_itself_with_one_large_page)
{
	built();
	cr_assert_eq(u64_at(KVM_GUEST_PD), 0x83u, "base 0, present, writable, PS");
	cr_assert_eq(u64_at(KVM_GUEST_PD + 8), 0, "nothing else mapped");
}

Test(kvm_guest, the_tables_the_code_and_the_stack_fit_the_one_page_mapped_memory)
{
	int n = built();
	cr_assert_leq(KVM_GUEST_CODE + (unsigned)n, KVM_GUEST_MEM);
	cr_assert_leq(KVM_GUEST_STACK, KVM_GUEST_MEM);
	cr_assert_lt(KVM_GUEST_PD, KVM_GUEST_CODE);
}

Test(kvm_guest, the_code_ends_in_out_then_hlt)
{
	int n = built();
	const uint8_t *code = mem + KVM_GUEST_CODE;
	cr_assert_eq(code[n - 2], 0xee, "out dx, al");
	cr_assert_eq(code[n - 1], 0xf4, "hlt");
	cr_assert_eq(code[n - 4], 0xb0, "mov al, ...");
	cr_assert_eq(code[n - 3], KVM_GUEST_MARK_DONE);
}

Test(kvm_guest, the_code_starts_by_writing_the_start_marker_to_the_port)
{
	built();
	const uint8_t want[] = { 0x66, 0xba, KVM_GUEST_PORT & 0xff, KVM_GUEST_PORT >> 8,
				 0xb0, KVM_GUEST_MARK_START, 0xee };
	cr_assert_arr_eq(mem + KVM_GUEST_CODE, want, sizeof want);
}

Test(kvm_guest, the_loop_range_holds_dec_ecx_jnz_back_to_itself)
{
	built();
	uint64_t lo, hi;
	kvm_guest_loop_range(&lo, &hi);
	const uint8_t want[] = { 0xff, 0xc9, 0x75, 0xfc };
	cr_assert_eq(hi - lo, sizeof want);
	cr_assert_arr_eq(mem + lo, want, sizeof want);
}

Test(kvm_guest, the_loop_counts_down_from_kvm_guest_loops)
{
	built();
	uint64_t lo, hi;
	kvm_guest_loop_range(&lo, &hi);
	uint32_t count;
	cr_assert_eq(mem[lo - 5], 0xb9, "mov ecx, imm32");
	memcpy(&count, mem + lo - 4, sizeof count);
	cr_assert_eq(count, KVM_GUEST_LOOPS);
}

Test(kvm_guest, a_buffer_smaller_than_the_guest_is_refused)
{
	cr_assert_eq(kvm_guest_build(mem, KVM_GUEST_MEM - 1), -EINVAL);
	cr_assert_eq(kvm_guest_build(NULL, KVM_GUEST_MEM), -EINVAL);
}

/* A run that got as far as KVM_RUN and the start marker. */
static struct kvm_run_result entered(void)
{
	return (struct kvm_run_result){
		.opened = true, .api_version = 12, .vm_created = true, .vcpu_created = true,
		.entered = true, .start_seen = true, .n_exits = 1, .exits = { KVM_EXIT_IO },
		.last_exit = KVM_EXIT_IO,
	};
}

Test(kvm_verdict, marker_then_hlt_runs)
{
	struct kvm_run_result r = entered();
	r.done_seen = r.hlt_seen = true;
	cr_assert_eq(kvm_run_verdict_of(&r), KVM_RUNS);
}

Test(kvm_verdict, a_timeout_in_the_loop_does_not_run)
{
	struct kvm_run_result r = entered();
	r.timed_out = true;
	cr_assert_eq(kvm_run_verdict_of(&r), KVM_DOES_NOT_RUN);
}

Test(kvm_verdict, a_timeout_is_never_ok_even_with_both_markers_recorded)
{
	struct kvm_run_result r = entered();
	r.done_seen = r.hlt_seen = r.timed_out = true;
	cr_assert_eq(kvm_run_verdict_of(&r), KVM_DOES_NOT_RUN);
}

Test(kvm_verdict, hlt_without_the_loop_done_marker_does_not_run)
{
	struct kvm_run_result r = entered();
	r.hlt_seen = true;
	cr_assert_eq(kvm_run_verdict_of(&r), KVM_DOES_NOT_RUN);
}

Test(kvm_verdict, a_failed_entry_does_not_run)
{
	struct kvm_run_result r = entered();
	r.start_seen = false;
	r.last_exit = r.exits[0] = KVM_EXIT_FAIL_ENTRY;
	r.detail = 0x80000021;
	cr_assert_eq(kvm_run_verdict_of(&r), KVM_DOES_NOT_RUN);
}

Test(kvm_verdict, no_device_is_untried)
{
	struct kvm_run_result r = { .api_version = -1, .failed = "open", .err = ENOENT };
	cr_assert_eq(kvm_run_verdict_of(&r), KVM_UNTRIED);
}

Test(kvm_verdict, our_own_set_up_failing_is_untried)
{
	struct kvm_run_result r = entered();
	r.entered = r.start_seen = false;
	r.host_failed = true;
	r.failed = "timer_create";
	r.err = EAGAIN;
	cr_assert_eq(kvm_run_verdict_of(&r), KVM_UNTRIED);
}

Test(kvm_verdict, a_device_that_is_not_kvm_does_not_run)
{
	struct kvm_run_result r = { .opened = true, .api_version = -1, .failed = "KVM_GET_API_VERSION",
				    .err = ENOTTY };
	cr_assert_eq(kvm_run_verdict_of(&r), KVM_DOES_NOT_RUN);
}

Test(kvm_words, a_timeout_in_the_loop_says_how_far_and_how_fast)
{
	struct kvm_run_result r = entered();
	uint64_t lo, hi;
	kvm_guest_loop_range(&lo, &hi);
	r.timed_out = r.regs_read = true;
	r.elapsed_ms = 2000;
	r.start_ms = 0;
	r.stop_rip = lo + 2;
	r.loops_left = KVM_GUEST_LOOPS - 1000000;
	char buf[512];
	kvm_run_summary(&r, buf, sizeof buf);
	cr_assert(strstr(buf, "still in its loop after 2000 ms: 1000000 of 50000000 iterations"), "%s", buf);
	cr_assert(strstr(buf, "~500000/s"), "%s", buf);
}

Test(kvm_words, the_evidence_lists_the_steps_reached_and_the_exits)
{
	struct kvm_run_result r = entered();
	r.timed_out = true;
	r.elapsed_ms = 2001;
	r.n_exits = 2;
	r.last_exit = r.exits[1] = KVM_EXIT_INTR;
	char buf[512];
	kvm_run_describe(&r, buf, sizeof buf);
	cr_assert(strstr(buf, "reached: open, API 12, VM, vCPU in long mode, KVM_RUN, start marker;"), "%s", buf);
	cr_assert(strstr(buf, "no HLT within 2001 ms"), "%s", buf);
	cr_assert(strstr(buf, "exits (2): KVM_EXIT_IO KVM_EXIT_INTR"), "%s", buf);
}

Test(kvm_words, a_wrong_exit_is_named_with_its_detail)
{
	struct kvm_run_result r = entered();
	r.start_seen = false;
	r.last_exit = r.exits[0] = KVM_EXIT_FAIL_ENTRY;
	r.detail = 0x21;
	r.elapsed_ms = 3;
	char buf[512];
	kvm_run_summary(&r, buf, sizeof buf);
	cr_assert(strstr(buf, "stopped with KVM_EXIT_FAIL_ENTRY (0x21) after 3 ms"), "%s", buf);
}

Test(kvm_words, a_device_that_is_not_kvm_is_called_so)
{
	struct kvm_run_result r = { .opened = true, .api_version = -1, .failed = "KVM_GET_API_VERSION",
				    .err = ENOTTY };
	char buf[256];
	kvm_run_summary(&r, buf, sizeof buf);
	cr_assert(strstr(buf, "not a KVM device"), "%s", buf);
}

Test(kvm_words, an_exit_this_build_does_not_know_gets_its_number)
{
	char buf[32];
	cr_assert_str_eq(kvm_exit_name(KVM_EXIT_HLT, buf, sizeof buf), "KVM_EXIT_HLT");
	cr_assert_str_eq(kvm_exit_name(4242, buf, sizeof buf), "exit 4242");
}

Test(kvm_words, a_short_buffer_is_cut_and_terminated)
{
	struct kvm_run_result r = entered();
	char buf[16];
	kvm_run_describe(&r, buf, sizeof buf);
	cr_assert_eq(strlen(buf), sizeof buf - 1);
}

/* Real runs: what holds on any machine, working KVM or not. */

Test(kvm_probe, a_missing_device_is_untried_and_says_open_failed)
{
	struct kvm_run_result r;
	struct bv_error err = { 0 };
	cr_assert_eq(kvm_run_probe("/nonexistent/kvm", 100, &r, &err), -ENOENT);
	cr_assert_not(r.opened);
	cr_assert_str_eq(r.failed, "open");
	cr_assert_eq(kvm_run_verdict_of(&r), KVM_UNTRIED);
}

Test(kvm_probe, dev_null_opens_but_is_not_kvm)
{
	struct kvm_run_result r;
	struct bv_error err = { 0 };
	cr_assert_eq(kvm_run_probe("/dev/null", 100, &r, &err), -ENOTTY);
	cr_assert(r.opened);
	cr_assert_eq(r.api_version, -1);
	cr_assert_not(r.entered);
	cr_assert_eq(kvm_run_verdict_of(&r), KVM_DOES_NOT_RUN);
	cr_assert(strstr(err.msg, "KVM_GET_API_VERSION"), "%s", err.msg);
}

static void need_kvm(void)
{
	if (access("/dev/kvm", R_OK | W_OK) != 0)
		cr_skip_test("no usable /dev/kvm here");
}

/* KVM_SET_SREGS refuses an inconsistent long-mode state (EINVAL), and a wrong page table
 * or segment would end in FAIL_ENTRY or SHUTDOWN before the first out: reaching the start
 * marker proves the image and the registers, even where the loop then crawls. */
Test(kvm_probe, a_real_kvm_takes_the_registers_and_the_guest_reaches_its_start_marker)
{
	need_kvm();
	struct kvm_run_result r;
	struct bv_error err = { 0 };
	cr_assert_eq(kvm_run_probe("/dev/kvm", 300, &r, &err), 0, "%s", err.msg);
	cr_assert(r.vcpu_created && r.entered);
	cr_assert(r.start_seen, "exits %zu, last %u", r.n_exits, r.last_exit);
	cr_assert_eq(r.exits[0], KVM_EXIT_IO);
}

Test(kvm_probe, a_real_run_ends_within_its_budget)
{
	need_kvm();
	struct kvm_run_result r;
	struct bv_error err = { 0 };
	kvm_run_probe("/dev/kvm", 300, &r, &err);
	cr_assert(r.hlt_seen || r.timed_out);
	cr_assert_leq(r.elapsed_ms, 300 + 250);
}

static void on_alrm(int sig)
{
	(void)sig;
}

Test(kvm_probe, the_callers_sigalrm_handler_and_mask_come_back)
{
	need_kvm();
	struct sigaction sa = { .sa_handler = on_alrm }, now;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	sigset_t block, mask;
	sigemptyset(&block);
	sigaddset(&block, SIGALRM);
	sigprocmask(SIG_BLOCK, &block, NULL);
	struct kvm_run_result r;
	struct bv_error err = { 0 };
	kvm_run_probe("/dev/kvm", 100, &r, &err);
	sigaction(SIGALRM, NULL, &now);
	sigprocmask(SIG_BLOCK, NULL, &mask);
	cr_assert_eq(now.sa_handler, on_alrm);
	cr_assert(sigismember(&mask, SIGALRM));
}
