#!/usr/bin/python3
# integration/client/schema.t - the validator itself (schema_check.py) against
# docs/report.schema.json: a valid document of each kind passes, and each way a document
# can be wrong (a missing key, a bad status, an extra key, a bad id, a wrong type, strict
# JSON's traps) fails, as does a schema using a keyword the validator does not implement.
# What bottle-verify really prints is held to the schema by integration/sim/schema.t and
# ci/schema-lanes.sh.
import copy
import json
import os
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the checkout
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import schema_check as sc  # noqa: E402
import schema_wrap as sw  # noqa: E402

n = 0
failed = 0


def point(ok, desc, diag=()):
    global n, failed
    n += 1
    print(f"{'ok' if ok else 'not ok'} {n} - {desc}")
    if not ok:
        failed += 1
        log = os.environ.get("BV_FAIL_LOG")
        for d in diag:
            print("\n".join("# " + line for line in str(d).split("\n")))
        if log:
            with open(log, "a") as f:
                f.write(f"{sys.argv[0]}: not ok {n} - {desc}\n")
                f.writelines(f"#   {d}\n" for d in diag)


S = sc.Schema.load()

REPORT = {
    "format": "bottle-verify/1", "version": "0.16.0", "command": "db", "exit_code": 1,
    "summary": {"ok": 1, "not_ok": 1, "todo": 1, "skip": 1, "inconclusive": 0},
    "notes": ["a note"], "errors": [],
    "points": [
        {"n": 1, "id": "db.allowed_cidrs.exact", "status": "not_ok", "description": "d",
         "fields": {"expected": "[192.0.2.10/32]", "actual": "null", "remediation": "r"}},
        {"n": 2, "id": "db.bypass.ssh_agent", "status": "ok", "description": "d", "fields": {}},
        {"n": 3, "id": "egress.denied.dns-direct", "status": "todo", "description": "d",
         "reason": "the DNS carve-out", "fields": {}},
        {"n": 4, "id": "gate.canary.http-path", "status": "skip", "description": "d", "reason": "r",
         "fields": {"skipped_reason": "r"}},
    ],
}
WATCH = [
    {"type": "begin", "text": "watch", "format": "bottle-verify/1", "version": "0.16.0"},
    {"type": "note", "text": "a pass every 300 ms"},
    {"type": "point", "n": 1, "id": "watch.row.allowed_cidrs.exact", "status": "not_ok",
     "description": "d", "fields": {"actual": "x"}},
    {"type": "error", "text": "e"},
    {"type": "end", "format": "bottle-verify/1", "command": "watch", "points": 1, "exit_code": 2,
     "summary": {"ok": 0, "not_ok": 1, "todo": 0, "skip": 0, "inconclusive": 0}},
]
LAUNCH = {
    "format": "bottle-launch/1", "version": "0.16.0", "command": "up", "name": "b", "outcome": "ready",
    "exit_code": 0, "step": 9, "reason": None, "smolvm_version": "1.9.3",
    "bottle": {"allowlist": "192.0.2.10/32", "address": "192.0.2.10", "alias": None, "slug": "b",
               "subnet": "192.168.83.0/24", "dns_guard": "127.83.254.53", "watch_tap": None},
    "verification": {"exit_code": 0, "report": None},
}


def lines(docs):
    return "".join(json.dumps(d) + "\n" for d in docs)


def valid(desc, errs):
    point(errs == [], desc, errs)


def invalid(desc, errs, want):
    point(any(want in e for e in errs), f"{desc}: fails, saying '{want}'", errs or ["(no violation)"])


def changed(f, doc=REPORT):
    d = copy.deepcopy(doc)
    f(d)
    return json.dumps(d)


# --- what passes ---------------------------------------------------------------------------
valid("a report with each status, a reason and fields passes", sc.check_document(S, json.dumps(REPORT)))
usage = {"format": "bottle-verify/1", "version": "0.16.0", "command": "usage", "exit_code": 2,
         "summary": {"ok": 0, "not_ok": 0, "todo": 0, "skip": 0, "inconclusive": 0},
         "notes": [], "errors": ["usage: unknown option '--frob'"], "points": []}
valid("a usage error's document passes", sc.check_document(S, json.dumps(usage)))
valid("a watch stream (begin, note, point, error, end) passes", sc.check_lines(S, lines(WATCH), stream=True))
valid("bottle-launch's result passes $defs/launch_result", sc.check_document(S, json.dumps(LAUNCH), "launch_result"))
valid("class names as a policy allows them: egress.denied.Upper_case.dotted-32",
      sc.check_document(S, changed(lambda d: d["points"][2].update(id="egress.denied." + "A.b_c-" * 5 + "xy"))))

# --- a report that fails ------------------------------------------------------------------
invalid("a missing key (summary)", sc.check_document(S, changed(lambda d: d.pop("summary"))), "required key 'summary'")
invalid("a point without fields", sc.check_document(S, changed(lambda d: d["points"][0].pop("fields"))),
        "/points/0: required key 'fields'")
invalid("a bad status (\"passed\")", sc.check_document(S, changed(lambda d: d["points"][1].update(status="passed"))),
        "/points/1/status: \"passed\" is not one of")
invalid("TAP's spelling of a status (\"not ok\")",
        sc.check_document(S, changed(lambda d: d["points"][0].update(status="not ok"))), "is not one of")
invalid("an extra key at the top", sc.check_document(S, changed(lambda d: d.update(extra=1))), "key 'extra' is not allowed")
invalid("an extra key in a point", sc.check_document(S, changed(lambda d: d["points"][0].update(evidence="e"))),
        "/points/0/evidence: key 'evidence' is not allowed")
invalid("an extra status in summary", sc.check_document(S, changed(lambda d: d["summary"].update(passed=0))),
        "key 'passed' is not allowed")
for bad in ("DB.allowed_cidrs.exact", "db", "db.", "db..x", "db.Allowed", "db.allowed cidrs", "host.kvm.present",
            "db.allowed_cidrs.exact\n", "egress.denied." + "x" * 33, "egress.denied.a/b"):
    invalid(f"a bad id {bad!r}", sc.check_document(S, changed(lambda d: d["points"][0].update(id=bad))),
            "does not match")
invalid("n as a string", sc.check_document(S, changed(lambda d: d["points"][0].update(n="1"))), "is not of type integer")
invalid("n 0", sc.check_document(S, changed(lambda d: d["points"][0].update(n=0))), "is less than 1")
invalid("n true (a boolean is not a number)", sc.check_document(S, changed(lambda d: d["points"][0].update(n=True))),
        "is not of type integer")
invalid("n 1.5", sc.check_document(S, changed(lambda d: d["points"][0].update(n=1.5))), "is not of type integer")
invalid("a field that is not a string", sc.check_document(S, changed(lambda d: d["points"][0]["fields"].update(actual=None))),
        "/points/0/fields/actual: null is not of type string")
invalid("exit_code 3", sc.check_document(S, changed(lambda d: d.update(exit_code=3))), "is not one of 0, 1, 2")
invalid("another format", sc.check_document(S, changed(lambda d: d.update(format="bottle-verify/2"))),
        "is not \"bottle-verify/1\"")
invalid("an unknown command", sc.check_document(S, changed(lambda d: d.update(command="watch"))), "/command")
invalid("a negative count", sc.check_document(S, changed(lambda d: d["summary"].update(skip=-1))), "is less than 0")
invalid("a version that is not X.Y.Z", sc.check_document(S, changed(lambda d: d.update(version="0.16"))), "does not match")
invalid("a note that is not a string", sc.check_document(S, changed(lambda d: d["notes"].append(1))), "/notes/1")
invalid("a duplicate key", sc.check_document(S, json.dumps(REPORT)[:-1] + ', "notes": []}'), "duplicate key 'notes'")
invalid("NaN", sc.check_document(S, json.dumps(REPORT).replace('"exit_code": 1', '"exit_code": NaN')), "NaN is not JSON")
invalid("two documents", sc.check_document(S, json.dumps(REPORT) + "\n" + json.dumps(REPORT)), "not one JSON document")
invalid("TAP", sc.check_document(S, "TAP version 13\n1..0\n"), "not one JSON document")

# --- a watch stream that fails ------------------------------------------------------------
invalid("a point line without its type",
        sc.check_lines(S, lines(WATCH[:2] + [{k: v for k, v in WATCH[2].items() if k != "type"}] + WATCH[3:]), stream=True),
        "line 3: /: matches none of oneOf")
invalid("a point line with a bad status",
        sc.check_lines(S, lines(WATCH[:2] + [dict(WATCH[2], status="warn")] + WATCH[3:]), stream=True), "line 3")
invalid("an end line without its summary",
        sc.check_lines(S, lines(WATCH[:4] + [{k: v for k, v in WATCH[4].items() if k != "summary"}]), stream=True),
        "line 5")
invalid("a line of another type", sc.check_lines(S, lines(WATCH[:1] + [{"type": "warning", "text": "x"}] + WATCH[1:]),
                                                  stream=True), "line 2")
invalid("no begin line", sc.check_lines(S, lines(WATCH[1:]), stream=True), "not begin")
invalid("a line after the end", sc.check_lines(S, lines(WATCH + [WATCH[1]]), stream=True), "after the end line")
invalid("no end line", sc.check_lines(S, lines(WATCH[:-1]), stream=True), "does not end with an end line")
valid("no end line from a watch a signal ended", sc.check_lines(S, lines(WATCH[:-1]), stream=True, complete=False))
invalid("an empty line", sc.check_lines(S, lines(WATCH[:2]) + "\n" + lines(WATCH[2:]), stream=True), "line 3: empty")

# --- bottle-launch's result that fails ----------------------------------------------------
invalid("a launch result \"handed-over\"",
        sc.check_document(S, changed(lambda d: d.update(outcome="handed-over"), LAUNCH), "launch_result"), "/outcome")
invalid("a launch result without its name",
        sc.check_document(S, changed(lambda d: d.pop("name"), LAUNCH), "launch_result"), "required key 'name'")
invalid("a report is not a launch result", sc.check_document(S, json.dumps(REPORT), "launch_result"), "/format")

# --- a schema the validator cannot judge --------------------------------------------------
for kw, val in (("maxLength", 3), ("format", "email"), ("allOf", [{}]), ("if", {}), ("dependentRequired", {})):
    doc = json.load(open(sc.DEFAULT_SCHEMA))
    doc["$defs"]["point"]["properties"]["description"][kw] = val
    try:
        sc.Schema(doc)
        point(False, f"a schema using {kw} is refused", ["accepted"])
    except sc.SchemaError as e:
        point("is not implemented by schema_check.py" in str(e), f"a schema using {kw} is refused", [e])
doc = json.load(open(sc.DEFAULT_SCHEMA))
doc["$defs"]["point"]["properties"]["id"] = {"$ref": "other.json#/x"}
try:
    sc.Schema(doc)
    point(False, "a $ref outside the schema's $defs is refused", ["accepted"])
except sc.SchemaError as e:
    point("only #/$defs/NAME" in str(e), "a $ref outside the schema's $defs is refused", [e])

# --- the wrapper's reading of a command line ----------------------------------------------
for args, want in ((["--format", "json", "db", "x"], True), (["db", "--format=json"], True),
                   (["--form", "json", "all"], True), (["--format", "tap", "db"], False),
                   (["db", "json"], False), (["--f", "json"], False)):
    point(sw.format_json(args) == want, f"{' '.join(args)}: {'JSON' if want else 'not JSON'}")
for args, want in ((["--format", "json", "watch", "b"], "watch"), (["--quiet", "db", "b"], "db"), (["--frob"], None)):
    point(sw.command_of(args) == want, f"the command of {' '.join(args)} is {want}")

print(f"1..{n}")
sys.exit(1 if failed else 0)
