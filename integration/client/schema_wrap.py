#!/usr/bin/python3
"""schema_wrap.py - run bottle-verify or bottle-launch and hold what it printed with
--format json to docs/report.schema.json (the wrappers integration/client/schema-wrap.sh
writes call it; ci/schema-lanes.sh runs the lanes through them).

    schema_wrap.py PROG REAL [ARGS...]

PROG is bottle-verify or bottle-launch, REAL the binary. Its stdout goes through as it
comes (a watch streams), stdin, stderr and other descriptors are its own, and the signals
a test sends the wrapper (TERM, INT, HUP, QUIT, USR1, USR2) are passed on; the program's
exit status (or the signal that ended it) is the wrapper's. Once it has ended, what it
printed is judged:
  bottle-verify watch: every line a $defs/watch_line, begin first, end last (unless a
    signal ended it), the end line's exit_code the exit status;
  other bottle-verify commands: one report document on one line, its exit_code the exit
    status;
  bottle-launch: one $defs/launch_result, its exit_code the exit status.
A violation is named on stderr and the wrapper exits 97, a status neither program uses.
With BV_SCHEMA_LOG set, one line per run is appended there: "ok PROG COMMAND ...", or
"FAIL PROG COMMAND: why" with the arguments, so a lane that ignores an exit status cannot
hide a violation (ci/schema-lanes.sh fails on any FAIL line). BV_SCHEMA overrides the
schema's path (the must-fail tests point it at a broken copy).
"""
import os
import signal
import subprocess
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the checkout
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import schema_check  # noqa: E402

VIOLATION = 97
FORWARD = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2)
CAP = 64 << 20  # what is kept to judge; more than any lane prints


def format_json(args):
    """--format json (or --format=json, or a unique prefix getopt_long accepts) among args."""
    def is_format(a):
        return len(a) >= 4 and "--format".startswith(a)
    for i, a in enumerate(args):
        if "=" in a and is_format(a.split("=", 1)[0]) and a.split("=", 1)[1] == "json":
            return True
        if is_format(a) and i + 1 < len(args) and args[i + 1] == "json":
            return True
    return False


def command_of(args):
    """The first argument that is not an option (skipping --format's value), as
    watch_is_command (verify/watch/cli.c) finds it; None when there is none."""
    i = 0
    while i < len(args):
        a = args[i]
        if a == "--format" or (len(a) >= 4 and "--format".startswith(a)):
            i += 2
            continue
        if not a.startswith("-"):
            return a
        i += 1
    return None


def log(line):
    path = os.environ.get("BV_SCHEMA_LOG")
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(line.replace("\n", " ") + "\n")


def write_all(fd, data):
    while data:
        n = os.write(fd, data)
        data = data[n:]


def run(real, args):
    """Run real with args; stdout passed through and kept. (exit status or -signal, bytes)"""
    child = subprocess.Popen([real] + args, stdout=subprocess.PIPE, close_fds=False)
    for s in FORWARD:
        signal.signal(s, lambda sig, _f: child.send_signal(sig))
    kept = bytearray()
    reader = child.stdout.fileno()
    passing = True
    while True:
        chunk = os.read(reader, 65536)
        if not chunk:
            break
        if len(kept) < CAP:
            kept += chunk
        if passing:
            try:
                write_all(1, chunk)
            except BrokenPipeError:
                # the reader went away: so does the program's stdout, as it would unwrapped
                passing = False
                child.stdout.close()
                break
    if passing:
        child.stdout.close()
    rc = child.wait()
    return rc, bytes(kept)


def judge(prog, args, rc, out):
    """Violations of what prog printed (a list of strings)."""
    schema = schema_check.Schema.load(os.environ.get("BV_SCHEMA") or schema_check.DEFAULT_SCHEMA)
    if len(out) >= CAP:
        return [f"printed {len(out)} bytes or more: too much to judge"]
    try:
        text = out.decode("utf-8")
    except UnicodeDecodeError as e:
        return [f"stdout is not UTF-8: {e}"]
    killed = rc < 0
    if prog == "bottle-verify" and command_of(args) == "watch":
        errs = schema_check.check_lines(schema, text, "watch_line", stream=True, complete=not killed)
        last = text.rstrip("\n").rsplit("\n", 1)[-1] if text.strip() else ""
        if not errs and not killed:
            end = schema_check.parse(last)
            if end.get("exit_code") != rc:
                errs.append(f"the end line says exit_code {end.get('exit_code')}, the exit status is {rc}")
        return errs
    if killed:
        return []  # ended by a signal the test sent: a document cut short is not a violation
    # (bottle-launch preflight prints bottle-verify's own report)
    definition = "launch_result" if prog == "bottle-launch" and command_of(args) != "preflight" else None
    if not text.endswith("\n") or text.count("\n") != 1:
        return [f"stdout is not one document on one line ({text.count(chr(10))} newlines): {text[:200]!r}"]
    errs = schema_check.check_document(schema, text, definition)
    if not errs:
        doc = schema_check.parse(text)
        if doc.get("exit_code") != rc:
            errs.append(f"the document says exit_code {doc.get('exit_code')}, the exit status is {rc}")
    return errs


def main(argv):
    if len(argv) < 2:
        print("usage: schema_wrap.py PROG REAL [ARGS...]", file=sys.stderr)
        return 2
    prog, real, args = argv[0], argv[1], argv[2:]
    if not format_json(args) or any(a in ("-h", "--help", "--version") for a in args):
        os.execv(real, [real] + args)  # TAP, or help text: nothing to judge
    rc, out = run(real, args)
    what = f"{prog} {command_of(args) or '-'}"
    try:
        errs = judge(prog, args, rc, out)
    except (OSError, schema_check.SchemaError) as e:
        errs = [f"cannot judge: {e}"]
    if errs:
        for e in errs[:20]:
            print(f"{prog} (schema wrapper): {e}", file=sys.stderr)
        log(f"FAIL {what}: {'; '.join(errs[:5])} [args: {' '.join(args)}]")
        return VIOLATION
    lines = out.count(b"\n")
    if prog == "bottle-verify" and command_of(args) != "watch" and rc >= 0:
        what = f"{prog} {schema_check.parse(out.decode('utf-8')).get('command')}"
    log(f"ok {what} exit={rc} lines={lines}" + (" (ended by a signal)" if rc < 0 else ""))
    if rc < 0:
        signal.signal(-rc, signal.SIG_DFL)
        os.kill(os.getpid(), -rc)
        return 128 - rc
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
