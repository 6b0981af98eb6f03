"""client.t's body: TAP from the client's point of view (see client.t)."""
import os
import sqlite3
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bottle_client as bc  # noqa: E402
import schema_check  # noqa: E402

n = failed = 0


def check(desc, cond, diag=""):
    global n, failed
    n += 1
    print(("ok" if cond else "not ok") + f" {n} - {desc}")
    if not cond:
        failed += 1
        for line in str(diag).splitlines()[:20]:
            print("# " + line)


def rows():
    db = os.path.expanduser("~/.local/share/smolvm/server/smolvm.db")
    if not os.path.exists(db):
        return 0
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as c:
        return c.execute("SELECT count(*) FROM vms").fetchone()[0]


env = dict(os.environ)
# every document the client reads is held to docs/report.schema.json
schema = schema_check.Schema.load()
b = bc.Bottles(launch=env["BL"], verify=env["BV"], env=env, schema=schema)
kvm, pack, policy = ["--kvm-device", env["KVM"]], env["PACK"], env["POLICY"]
up = dict(pack=pack, allow="192.0.2.10/32", control_port=8888, policy=policy, opts=kvm)
print("1..14")

pre = b.preflight(*kvm)
check("preflight: a JSON report with the exit status the process gave",
      pre["format"] == "bottle-verify/1" and pre["command"] == "preflight", pre)

first = None
try:
    first = b.up("agent-1", **up)
except (bc.Refused, bc.BottleError) as e:
    check("up agent-1: handed over", False, e)
else:
    check("up agent-1: handed over (outcome ready, exit 0)", first["outcome"] == "ready")
if first:
    rep = first["verification"]["report"]
    check("... with bottle-verify's own report inside, every point passed",
          rep["exit_code"] == 0 and not [f for f in bc.findings(rep) if f[1] != "todo"], bc.findings(rep))
    check("... with its address, allowlist, subnet and smolvm version",
          first["bottle"]["address"] == "192.0.2.10" and first["bottle"]["allowlist"] == "192.0.2.10/32"
          and first["bottle"]["subnet"].startswith("192.168.") and first["smolvm_version"] == "1.9.3", first["bottle"])
    gate = b.gate("agent-1", policy=policy, allow_dest="tcp:192.0.2.10:8888", opts=kvm)
    check("the acceptance gate on it: exit 0, every gate point there",
          bc.decision(gate["exit_code"]) == bc.HAND_OVER and any(p["id"].startswith("gate.") for p in gate["points"]),
          bc.findings(gate))
    check("a second bottle on the same address is refused (one address per bottle)",
          bc.decision(b._run([env["BL"], "up", "agent-2", "--from", pack, "--allow", "192.0.2.10/32",
                              "--control-port", "8888", "--policy", policy, "--format", "json", *kvm])["exit_code"])
          == bc.REFUSE)
    d = b.down("agent-1")
    check("down agent-1: outcome down, exit 0", d["outcome"] == "down" and d["exit_code"] == 0, d)
else:
    for what in ("its report", "its address", "the gate", "one address per bottle", "down"):
        check(f"... {what}: not reached (up failed)", False)
    b.down("agent-1")

# A leaky bottle: refused, with the finding named, and nothing left behind.
leaky_env = dict(env, FAKE_SMOLVM_LEAK="allowlist-ignored")
leaky = bc.Bottles(launch=env["BL"], verify=env["BV"], env=leaky_env, schema=schema)
try:
    leaky.up("agent-leaky", **up)
    check("a leaky bottle is refused", False, "it was handed over")
except bc.Refused as e:
    rep = (e.result.get("verification") or {}).get("report") or {}
    check("a leaky bottle is refused (exit 1, outcome refused)",
          e.result["exit_code"] == 1 and e.result["outcome"] == "refused", e.result.get("reason"))
    check("... its report names the finding (egress.denied.public not ok)",
          ("egress.denied.public", "not_ok") in bc.findings(rep), bc.findings(rep))
    check("... and it was torn down: no machine row left", rows() == 0, rows())
except bc.BottleError as e:
    check("a leaky bottle is refused", False, e)
    check("... its report names the finding", False)
    check("... torn down", False)

# Resume: the same slug comes back with the same subnet and address.
try:
    again = b.up("agent-1", **up)
    check("resume agent-1: handed over again", True)
    check("... with the same address and subnet",
          first and again["bottle"]["address"] == first["bottle"]["address"]
          and again["bottle"]["subnet"] == first["bottle"]["subnet"], (first or {}).get("bottle"))
except (bc.Refused, bc.BottleError) as e:
    check("resume agent-1: handed over again", False, e)
    check("... same address and subnet", False)
d = b.down("agent-1")
check("teardown: down exits 0 and leaves no machine", d["exit_code"] == 0 and rows() == 0, d)
d = b.down("agent-1")
check("down again: nothing to do (idempotent)", d["outcome"] == "nothing" and d["exit_code"] == 0, d)
sys.exit(1 if failed else 0)
