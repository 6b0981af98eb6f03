"""bottle_client - drive bottle-launch and bottle-verify from Python the way bot-bottle
would replace its smolmachines glue (docs/bot-bottle.md). Standard library only.

Every call runs a program with an argv (no shell) and reads its --format json document.
What an exit status means for the caller:
  0  hand the bottle over (every check passed)
  1  refuse: a finding, or a setup refused; do not retry the same launch
  2  error or inconclusive: never hand over; retrying may help (a loaded host, a busy DB)
"""
import json
import subprocess

HAND_OVER, REFUSE, RETRY = "hand-over", "refuse", "retry"

# The check ids this client decides by: renaming one breaks it (CHANGELOG.md), and its
# test fails when a report lacks one.
RELIED_ON = (
    "preflight.kvm.present",
    "db.allowed_cidrs.exact",
    "db.network_backend",
    "egress.control",
    "egress.denied.public",
    "egress.census",
)


class BottleError(Exception):
    """A program failed to say anything we can read (not a verdict)."""


class Refused(Exception):
    """bottle-launch refused or tore the bottle down; .result says why."""

    def __init__(self, result):
        super().__init__(f"{result.get('name')}: {result.get('outcome')}: {result.get('reason')}")
        self.result = result


def decision(exit_code):
    """What a caller does with a bottle-launch or bottle-verify exit status."""
    return {0: HAND_OVER, 1: REFUSE}.get(exit_code, RETRY)


def findings(report):
    """The points of a bottle-verify report that are not ok: [(id, status)]."""
    return [(p["id"], p["status"]) for p in report.get("points", ())
            if p["status"] not in ("ok", "skip", "todo")]


class Bottles:
    """bottle-launch and bottle-verify at the given paths, with extra environment."""

    def __init__(self, launch="bottle-launch", verify="bottle-verify", env=None, timeout=900, schema=None):
        """schema: a schema_check.Schema every document is held to (BottleError if not)."""
        self.launch, self.verify, self.env, self.timeout = launch, verify, env, timeout
        self.schema = schema

    def _run(self, argv):
        p = subprocess.run(argv, capture_output=True, text=True, env=self.env, timeout=self.timeout)
        try:
            doc = json.loads(p.stdout)
        except json.JSONDecodeError as e:
            raise BottleError(f"{argv[0]} exited {p.returncode} without a JSON document: {e}; "
                              f"stderr: {p.stderr[-400:]}") from None
        if self.schema is not None:
            what = "launch_result" if doc.get("format") == "bottle-launch/1" else None
            bad = self.schema.validate(doc, what)
            if bad:
                raise BottleError(f"{argv[0]}: the document breaks docs/report.schema.json: {bad[:3]}")
        if doc.get("exit_code") != p.returncode:
            raise BottleError(f"{argv[0]}: the document says exit {doc.get('exit_code')}, "
                              f"the process exited {p.returncode}")
        return doc

    def preflight(self, *opts):
        """bottle-verify preflight: can this host run a confined bottle at all?"""
        return self._run([self.verify, "--format", "json", "preflight", *opts])

    def up(self, name, *, pack, allow=None, control_port=None, policy=None, opts=()):
        """Launch a bottle; its result once proven confined, else Refused (after teardown)."""
        where = ["--allow", allow] if allow else ["--alias", "auto"]
        argv = [self.launch, "up", name, "--from", pack, *where, "--format", "json", *opts]
        if control_port:
            argv += ["--control-port", str(control_port)]
        if policy:
            argv += ["--policy", policy]
        res = self._run(argv)
        if decision(res["exit_code"]) != HAND_OVER or res["outcome"] != "ready":
            raise Refused(res)
        report = (res.get("verification") or {}).get("report") or {}
        missing = [i for i in RELIED_ON if not any(p["id"] == i for p in report.get("points", ()))]
        if missing:
            raise BottleError(f"{name}: the verification lacks check ids this client relies on: {missing}")
        return res

    def down(self, name, opts=()):
        """Stop and delete the bottle, release its address (idempotent)."""
        return self._run([self.launch, "down", name, "--format", "json", *opts])

    def gate(self, name, *, policy, allow_dest, opts=()):
        """The sandbox-escape acceptance gate on a running bottle."""
        return self._run([self.verify, "--format", "json", "gate", name, "--policy", policy,
                          "--allow-dest", allow_dest, *opts])
