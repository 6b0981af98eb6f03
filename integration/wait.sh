# integration/wait.sh - waiting for a condition, shared by the lanes (integration/lib.sh)
# and everything that sources the sim library (integration/sim/lib.sh, fixtures/demo.sh).
# Sourced, never run; prints nothing on stdout but the give-up line, as a TAP comment.

# wait_until CMD...: poll CMD every 0.1 s until it succeeds, for up to 10 s. Set-up steps
# wait for the condition a test needs (a port listening, a lock held), never a fixed sleep:
# a loaded CI machine can take longer than any sleep to start a process.
wait_until() {
	for _ in $(seq 100); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
	echo "# wait_until: gave up after 10 s: $*"
	return 1
}
