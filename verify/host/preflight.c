/* preflight.c - see preflight.h */
#include "host/preflight.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "host/kvm_run.h"
#include "smolvm/cli.h"

static struct bv_point *finding(struct bv_report *r, const char *id, enum bv_status st,
				const char *desc, const char *expected, const char *actual,
				const char *fix)
{
	struct bv_finding f = { .id = id, .status = st, .description = desc,
				.expected = expected, .actual = actual, .remediation = fix };
	return report_add_finding(r, &f);
}

static void check_smolvm(struct bv_report *r, const struct preflight_opts *o, struct bv_version *v)
{
	_cleanup_free_ char *path = NULL;
	_cleanup_free_ char *raw = NULL;
	struct bv_error err = { 0 };
	if (smolvm_find(o->smolvm_bin, &path, &err) < 0) {
		finding(r, "preflight.smolvm.present", BV_NOT_OK, "smolvm is installed", "smolvm on PATH",
			err.msg, "install smolvm as its documentation says and put it on PATH");
		point_set_blocked_by(report_add(r, "preflight.smolvm.version", BV_INCONCLUSIVE, "smolvm reports its version"),
				     "preflight.smolvm.present");
		return;
	}
	report_addf(r, "preflight.smolvm.present", BV_OK, "smolvm is installed at %s", path);
	if (o->version_override) {
		if (version_parse(o->version_override, v, &err) < 0)
			finding(r, "preflight.smolvm.version", BV_INCONCLUSIVE, "smolvm reports its version",
				"X.Y.Z", err.msg, "pass --smolvm-version X.Y.Z");
		else
			report_addf(r, "preflight.smolvm.version", BV_OK, "smolvm version %s (from --smolvm-version)",
				    o->version_override);
		return;
	}
	if (smolvm_version(path, v, &raw, &err) < 0) {
		finding(r, "preflight.smolvm.version", BV_INCONCLUSIVE, "smolvm reports its version",
			"smolvm X.Y.Z", err.msg, "check that smolvm runs: smolvm --version");
		return;
	}
	char vt[32];
	report_addf(r, "preflight.smolvm.version", BV_OK, "smolvm version %s",
		    version_format(v, vt, sizeof vt));
}

static void check_from_policy(struct bv_report *r, const struct bv_version *v)
{
	const char *desc = "machine create --from keeps --allow-cidr";
	if (!v->known) {
		point_set_blocked_by(report_add(r, "preflight.smolvm.from_keeps_policy", BV_INCONCLUSIVE, desc),
				     "preflight.smolvm.version");
		return;
	}
	char vt[32];
	version_format(v, vt, sizeof vt);
	if (!version_from_drops_policy(v)) {
		report_addf(r, "preflight.smolvm.from_keeps_policy", BV_OK, "%s (smolvm %s >= 1.8.0)", desc, vt);
		return;
	}
	struct bv_point *p = finding(r, "preflight.smolvm.from_keeps_policy", BV_TODO, desc, ">= 1.8.0", vt,
				     "smolvm < 1.8.0 silently drops --allow-cidr with --from: run bottle-launch enforce NAME --allow CIDR between create and start (bottle-launch up does), or upgrade");
	point_set_reason(p, "known smolvm < 1.8.0 behaviour; bottle-launch enforce repairs each row");
}

/* true when the device is present and read/write: preflight.kvm.runs can try it. */
static bool check_kvm(struct bv_report *r, const struct preflight_opts *o)
{
	struct stat st;
	if (stat(o->kvm_device, &st) < 0) {
		char why[256];
		snprintf(why, sizeof why, "%s: %s", o->kvm_device, strerror(errno));
		finding(r, "preflight.kvm.present", BV_NOT_OK, "KVM device present", o->kvm_device, why,
			"load the module (sudo modprobe kvm-intel, or kvm-amd on AMD) and enable virtualisation (VT-x/AMD-V) in the firmware");
		point_set_blocked_by(report_add(r, "preflight.kvm.access", BV_INCONCLUSIVE, "KVM device usable by this user"),
				     "preflight.kvm.present");
		return false;
	}
	if (!S_ISCHR(st.st_mode)) {
		finding(r, "preflight.kvm.present", BV_NOT_OK, "KVM device present", "a character device",
			o->kvm_device, "this is not the kvm device node: load the module (sudo modprobe kvm-intel, or kvm-amd)");
		point_set_blocked_by(report_add(r, "preflight.kvm.access", BV_INCONCLUSIVE, "KVM device usable by this user"),
				     "preflight.kvm.present");
		return false;
	}
	report_addf(r, "preflight.kvm.present", BV_OK, "KVM device %s present", o->kvm_device);
	int fd = open(o->kvm_device, O_RDWR | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		char why[256];
		snprintf(why, sizeof why, "open %s read/write: %s", o->kvm_device, strerror(errno));
		finding(r, "preflight.kvm.access", BV_NOT_OK, "KVM device usable by this user", "read/write",
			why, errno == EACCES || errno == EPERM
				     ? "join the kvm group (sudo usermod -aG kvm $USER), then log out and in again"
				     : "check the device node and the kvm module");
		return false;
	}
	close(fd);
	report_addf(r, "preflight.kvm.access", BV_OK, "KVM device %s is read/write for this user", o->kvm_device);
	return true;
}

#define KVM_RUNS_DESC "KVM runs a vCPU (a tiny long-mode guest reaches HLT)"

/* Which KVM back-ends are loaded: names the usual culprit (kvm_pvm emulates guest-kernel
 * code; no kvm_intel/kvm_amd means no hardware virtualisation). */
static void kvm_modules(char *buf, size_t len)
{
	static const char *const mods[] = { "kvm", "kvm_intel", "kvm_amd", "kvm_pvm" };
	size_t used = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < sizeof mods / sizeof mods[0] && used < len; i++) {
		char p[64];
		snprintf(p, sizeof p, "/sys/module/%s", mods[i]);
		if (access(p, F_OK) == 0)
			used += (size_t)snprintf(buf + used, len - used, "%s%s", used ? ", " : "", mods[i]);
	}
	if (!buf[0])
		snprintf(buf, len, "none of kvm, kvm_intel, kvm_amd, kvm_pvm");
}

static void kvm_runs_finding(struct bv_report *r, const struct kvm_run_result *res, enum bv_status st)
{
	char expected[128], actual[512], evidence[1024], mods[96];
	snprintf(expected, sizeof expected, "the guest's loop-done marker on port 0x%x, then KVM_EXIT_HLT, within %d ms",
		 KVM_GUEST_PORT, KVM_RUN_BUDGET_MS);
	kvm_run_summary(res, actual, sizeof actual);
	kvm_run_describe(res, evidence, sizeof evidence);
	const char *fix = st == BV_INCONCLUSIVE
		? "bottle-verify could not set the run up (see evidence): rerun preflight"
		: res->api_version < 0
		? "point --kvm-device at the KVM device node (/dev/kvm, character device 10:232)"
		: "this KVM cannot run a guest at speed (nested virtualisation off or broken, or a software KVM such as kvm_pvm that emulates guest-kernel code): use a runner with working hardware KVM (bare metal, or a VM with nested VT-x/AMD-V on)";
	struct bv_point *p = finding(r, "preflight.kvm.runs", st, KVM_RUNS_DESC, expected, actual, fix);
	point_field(p, "evidence", evidence);
	kvm_modules(mods, sizeof mods);
	point_field(p, "kvm_modules", mods);
}

static void check_kvm_runs(struct bv_report *r, const struct preflight_opts *o, bool usable)
{
	if (!usable) {
		point_set_blocked_by(report_add(r, "preflight.kvm.runs", BV_INCONCLUSIVE, KVM_RUNS_DESC), "preflight.kvm.access");
		return;
	}
	if (o->kvm_standin && strcmp(o->kvm_standin, o->kvm_device) == 0) {
		struct bv_point *p = report_add(r, "preflight.kvm.runs", BV_SKIP, KVM_RUNS_DESC);
		point_set_reason(p, "the KVM device is a test's stand-in (BOTTLE_VERIFY_KVM_STANDIN): no vCPU can run on it");
		return;
	}
	struct kvm_run_result res;
	struct bv_error err = { 0 };
	kvm_run_probe(o->kvm_device, KVM_RUN_BUDGET_MS, &res, &err);
	switch (kvm_run_verdict_of(&res)) {
	case KVM_RUNS:
		report_addf(r, "preflight.kvm.runs", BV_OK, "%s: %u-iteration loop in %ld ms, HLT after %ld ms",
			    KVM_RUNS_DESC, KVM_GUEST_LOOPS, res.loop_ms, res.elapsed_ms);
		return;
	case KVM_DOES_NOT_RUN:
		kvm_runs_finding(r, &res, BV_NOT_OK);
		return;
	case KVM_UNTRIED:
		kvm_runs_finding(r, &res, BV_INCONCLUSIVE);
		return;
	}
}

static void check_kvm_all(struct bv_report *r, const struct preflight_opts *o)
{
	if (o->platform != BV_PLATFORM_LINUX) {
		static const char *const ids[][2] = {
			{ "preflight.kvm.present", "KVM device present" },
			{ "preflight.kvm.access", "KVM device usable by this user" },
			{ "preflight.kvm.runs", KVM_RUNS_DESC },
		};
		for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
			struct bv_point *p = report_add(r, ids[i][0], BV_SKIP, ids[i][1]);
			point_set_reason(p, i == 0 ? "not Linux: smolvm uses Hypervisor.framework" : "not Linux");
		}
		return;
	}
	check_kvm_runs(r, o, check_kvm(r, o));
}

struct weak_env {
	const char *name;
	const char *id;
	const char *risk;
};

static const struct weak_env weak_envs[] = {
	{ "SMOLVM_EGRESS_FLOOR", "preflight.env.egress_floor",
	  "off removes the metadata floor (169.254/16, fe80::/10) that the allowlist cannot reopen" },
	{ "SMOLVM_EGRESS_ALLOW_PRIVATE", "preflight.env.egress_allow_private",
	  "lifts the egress floor for private and metadata ranges" },
	{ "SMOLVM_GUEST_HOST_SERVICE", "preflight.env.guest_host_service",
	  "opens gateway:G to host 127.0.0.1:H even under a deny-all allowlist" },
	{ "SMOLVM_PUBLISH_ADDR", "preflight.env.publish_addr",
	  "publishes machine ports on this address instead of host loopback" },
};

/* SMOLVM_EGRESS_FLOOR=strict or =metadata keep (or raise) the floor; anything else
 * set weakens it or is a value we cannot judge. */
static bool env_weakens(const char *name, const char *value)
{
	if (!value || !*value)
		return false;
	if (strcmp(name, "SMOLVM_EGRESS_FLOOR") != 0)
		return true;
	/* smolvm trims and ignores case; strict and the metadata forms keep the floor. */
	char v[32];
	size_t n = 0;
	while (*value == ' ' || *value == '\t')
		value++;
	for (; *value && n < sizeof v - 1; value++)
		v[n++] = (char)(*value >= 'A' && *value <= 'Z' ? *value + 32 : *value);
	while (n && (v[n - 1] == ' ' || v[n - 1] == '\t' || v[n - 1] == '\n'))
		n--;
	v[n] = '\0';
	return strcmp(v, "strict") && strcmp(v, "metadata") && strcmp(v, "metadata-only") &&
	       strcmp(v, "metadataonly");
}

static void check_env(struct bv_report *r)
{
	for (size_t i = 0; i < sizeof weak_envs / sizeof weak_envs[0]; i++) {
		const struct weak_env *w = &weak_envs[i];
		const char *v = getenv(w->name);
		if (!env_weakens(w->name, v)) {
			report_addf(r, w->id, BV_OK, "%s does not weaken confinement (%s)", w->name,
				    v && *v ? v : "unset");
			continue;
		}
		char desc[96], actual[256], fix[256];
		snprintf(desc, sizeof desc, "%s does not weaken confinement", w->name);
		snprintf(actual, sizeof actual, "%s=%s: %s", w->name, v, w->risk);
		snprintf(fix, sizeof fix,
			 "unset %s in the environment that runs smolvm machine start (it is read at start)",
			 w->name);
		finding(r, w->id, BV_NOT_OK, desc, "unset", actual, fix);
	}
}

void detect_version(struct bv_report *r, const char *smolvm_bin, const char *override,
		    struct bv_version *v)
{
	struct bv_error err = { 0 };
	memset(v, 0, sizeof *v);
	if (override) {
		if (version_parse(override, v, &err) < 0)
			report_note(r, "--smolvm-version %s: %s", override, err.msg);
		return;
	}
	if (smolvm_version(smolvm_bin, v, NULL, &err) < 0)
		report_note(r, "smolvm version unknown: %s", err.msg);
}

int check_preflight(struct bv_report *r, const struct preflight_opts *o, struct bv_version *v)
{
	memset(v, 0, sizeof *v);
	check_smolvm(r, o, v);
	check_from_policy(r, v);
	if (v->known && version_loopback_stays_in_guest(v))
		report_note(r, "this smolvm keeps a 127/8 allowlist inside the guest: a loopback-alias /32 cannot reach a host bundle; use the gateway or a bridge address");
	if (v->known && version_policy_defaults_virtio(v))
		report_note(r, "this smolvm's gateway answers UDP/53 to any address whatever the allowlist (DNS carve-out): prove DNS with bottle-verify egress");
	if (version_ignores_data_dir_env(v) && getenv("SMOLVM_DATA_DIR"))
		report_note(r, "SMOLVM_DATA_DIR is set, but this smolvm (< 1.2.5) ignores it: its state DB and machine dirs are under HOME (apply_system_data_root, src/main.rs, is new in v1.2.5)");
	check_kvm_all(r, o);
	check_env(r);
	return 0;
}
