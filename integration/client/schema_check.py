#!/usr/bin/python3
"""schema_check.py - validate bottle-verify's JSON output against docs/report.schema.json.

Python 3 standard library only (Debian 12's python3), so the lanes need no validator
package. It implements just the JSON Schema (draft 2020-12) keywords the schema uses and
refuses a schema holding any other: a schema that outgrew it fails loudly instead of
passing everything.

    schema_check.py [--schema FILE] [--def NAME] [--lines | --stream] [FILE|- ...]

Each FILE (or stdin) is one JSON document, validated against the schema's root, or
against $defs/NAME with --def. --lines: every line is one document. --stream: --lines,
against $defs/watch_line, and in the order of a watch (begin first, end last, nothing
after it). Stricter than a JSON parser needs to be, as a consumer would want: duplicate
keys, NaN and Infinity, and anything after the document are violations.
Exit 0 valid, 1 a violation (each on stderr, with where), 2 a usage error or a schema
this validator cannot judge.
"""
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_SCHEMA = os.path.join(HERE, "..", "..", "docs", "report.schema.json")

# What this validator checks; anything else in a schema is refused (SchemaError).
ASSERTIONS = {"type", "required", "properties", "additionalProperties", "items", "enum",
              "const", "pattern", "minimum", "oneOf", "anyOf", "$ref"}
# Keywords that assert nothing.
ANNOTATIONS = {"$schema", "$id", "$comment", "title", "description", "$defs"}
TYPES = {"object", "array", "string", "integer", "number", "boolean", "null"}


class SchemaError(Exception):
    """The schema uses something this validator does not implement."""


class Violation(Exception):
    """The document is not what the schema says (or not strict JSON)."""


def _ecma_pattern(p, where):
    # JSON Schema patterns are ECMA-262 and unanchored (re.search). Python's $ also matches
    # before a final newline, ECMA's does not: a trailing $ becomes \Z. \d, \w are ASCII.
    if p.endswith("$") and not p.endswith("\\$"):
        p = p[:-1] + r"\Z"
    try:
        return re.compile(p, re.ASCII)
    except re.error as e:
        raise SchemaError(f"{where}: pattern {p!r}: {e}")


class Schema:
    def __init__(self, doc, name="schema"):
        self.root = doc
        self.name = name
        self.patterns = {}
        if not isinstance(doc, dict):
            raise SchemaError(f"{name}: the root is not an object")
        self._defs = doc.get("$defs", {})
        if not isinstance(self._defs, dict):
            raise SchemaError(f"{name}: $defs is not an object")
        self._check(doc, "#", root=True)

    @classmethod
    def load(cls, path=DEFAULT_SCHEMA):
        with open(path, encoding="utf-8") as f:
            try:
                doc = json.load(f)
            except ValueError as e:
                raise SchemaError(f"{path}: not JSON: {e}")
        return cls(doc, path)

    def definition(self, name):
        if name not in self._defs:
            raise SchemaError(f"{self.name}: no $defs/{name}")
        return self._defs[name]

    # Every subschema, before any document is judged: only known keywords, well formed.
    def _check(self, s, where, root=False):
        if isinstance(s, bool):
            return
        if not isinstance(s, dict):
            raise SchemaError(f"{where}: a schema must be an object or a boolean")
        for k, v in s.items():
            if k in ANNOTATIONS:
                if k == "$defs" and not root:
                    raise SchemaError(f"{where}: $defs only at the root")
                continue
            if k not in ASSERTIONS:
                raise SchemaError(f"{where}: keyword {k!r} is not implemented by schema_check.py "
                                  "(implement it there, with a must-fail test, or do not use it)")
            w = f"{where}/{k}"
            if k == "type":
                ts = v if isinstance(v, list) else [v]
                if not ts or any(t not in TYPES for t in ts):
                    raise SchemaError(f"{w}: bad type {v!r}")
            elif k == "required":
                if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
                    raise SchemaError(f"{w}: must be a list of names")
            elif k == "properties":
                if not isinstance(v, dict):
                    raise SchemaError(f"{w}: must be an object")
                for name, sub in v.items():
                    self._check(sub, f"{w}/{name}")
            elif k in ("additionalProperties", "items"):
                self._check(v, w)
            elif k == "enum":
                if not isinstance(v, list) or not v:
                    raise SchemaError(f"{w}: must be a non-empty list")
            elif k == "pattern":
                if not isinstance(v, str):
                    raise SchemaError(f"{w}: must be a string")
                self.patterns[v] = _ecma_pattern(v, w)
            elif k == "minimum":
                if isinstance(v, bool) or not isinstance(v, (int, float)):
                    raise SchemaError(f"{w}: must be a number")
            elif k in ("oneOf", "anyOf"):
                if not isinstance(v, list) or not v:
                    raise SchemaError(f"{w}: must be a non-empty list")
                for i, sub in enumerate(v):
                    self._check(sub, f"{w}/{i}")
            elif k == "$ref":
                if not isinstance(v, str) or not v.startswith("#/$defs/") or v[8:] not in self._defs:
                    raise SchemaError(f"{w}: only #/$defs/NAME of this schema is implemented, got {v!r}")
        if root:
            for name, sub in self._defs.items():
                self._check(sub, f"#/$defs/{name}")

    # The errors of instance x against subschema s, each "PATH: what" (PATH a JSON pointer).
    def errors(self, x, s, path=""):
        out = []
        if s is True:
            return out
        if s is False:
            return [f"{path or '/'}: nothing is allowed here"]
        if "$ref" in s:
            out += self.errors(x, self._defs[s["$ref"][8:]], path)
        if "type" in s:
            ts = s["type"] if isinstance(s["type"], list) else [s["type"]]
            if not any(_is_type(x, t) for t in ts):
                return out + [f"{path or '/'}: {_show(x)} is not of type {' or '.join(ts)}"]
        if "const" in s and not _equal(x, s["const"]):
            out.append(f"{path or '/'}: {_show(x)} is not {_show(s['const'])}")
        if "enum" in s and not any(_equal(x, e) for e in s["enum"]):
            out.append(f"{path or '/'}: {_show(x)} is not one of {', '.join(_show(e) for e in s['enum'])}")
        if "pattern" in s and isinstance(x, str) and not self.patterns[s["pattern"]].search(x):
            out.append(f"{path or '/'}: {_show(x)} does not match {s['pattern']}")
        if "minimum" in s and _is_type(x, "number") and x < s["minimum"]:
            out.append(f"{path or '/'}: {x} is less than {s['minimum']}")
        if isinstance(x, dict):
            props = s.get("properties", {})
            for k in s.get("required", []):
                if k not in x:
                    out.append(f"{path or '/'}: required key {k!r} is missing")
            for k, v in x.items():
                p = f"{path}/{_pointer(k)}"
                if k in props:
                    out += self.errors(v, props[k], p)
                elif "additionalProperties" in s:
                    ap = s["additionalProperties"]
                    if ap is False:
                        out.append(f"{p}: key {k!r} is not allowed here")
                    else:
                        out += self.errors(v, ap, p)
        if isinstance(x, list) and "items" in s:
            for i, v in enumerate(x):
                out += self.errors(v, s["items"], f"{path}/{i}")
        if "anyOf" in s:
            results = [self.errors(x, sub, path) for sub in s["anyOf"]]
            if all(results):
                out.append(f"{path or '/'}: matches none of anyOf: " + _closest(results))
        if "oneOf" in s:
            results = [self.errors(x, sub, path) for sub in s["oneOf"]]
            n = sum(1 for r in results if not r)
            if n == 0:
                out.append(f"{path or '/'}: matches none of oneOf: " + _closest(results))
            elif n > 1:
                out.append(f"{path or '/'}: matches {n} of oneOf, must match exactly one")
        return out

    def validate(self, x, definition=None):
        """The violations of document x (a list of strings; empty when valid)."""
        return self.errors(x, self.definition(definition) if definition else self.root)


def _is_type(x, t):
    if t == "object":
        return isinstance(x, dict)
    if t == "array":
        return isinstance(x, list)
    if t == "string":
        return isinstance(x, str)
    if t == "boolean":
        return isinstance(x, bool)
    if t == "null":
        return x is None
    if isinstance(x, bool):
        return False
    if t == "integer":
        return isinstance(x, int) or (isinstance(x, float) and x.is_integer())
    return isinstance(x, (int, float))  # number


def _equal(a, b):
    # JSON equality: true is not 1, 1 is 1.0
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


def _show(x):
    s = json.dumps(x, ensure_ascii=False)
    return s if len(s) <= 80 else s[:77] + "..."


def _pointer(k):
    return k.replace("~", "~0").replace("/", "~1")


def _closest(results):
    # the alternative that failed with the fewest errors says most about what went wrong
    best = min(results, key=len)
    return "; ".join(best[:3])


def _no_dupes(pairs):
    d = {}
    for k, v in pairs:
        if k in d:
            raise Violation(f"duplicate key {k!r}")
        d[k] = v
    return d


def _no_constant(c):
    raise Violation(f"{c} is not JSON")


def parse(text):
    """One strict JSON document (whitespace around it allowed), or Violation."""
    try:
        return json.loads(text, object_pairs_hook=_no_dupes, parse_constant=_no_constant)
    except ValueError as e:  # json.JSONDecodeError, and what the hooks raise through it
        raise Violation(f"not one JSON document: {e}")


def check_document(schema, text, definition=None):
    """Violations of text as one document (a list of strings)."""
    try:
        doc = parse(text)
    except Violation as e:
        return [str(e)]
    return schema.validate(doc, definition)


def check_lines(schema, text, definition="watch_line", stream=False, complete=True):
    """Violations of text as one document per line: "line N: ..." for each. stream: the
    order of a watch; complete: the stream ended by itself (so its end line is due)."""
    out = []
    if text and not text.endswith("\n") and complete:
        out.append("the last line has no newline")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    types = []
    for i, line in enumerate(lines, 1):
        try:
            doc = parse(line) if line.strip() else None
        except Violation as e:
            out.append(f"line {i}: {e}")
            types.append(None)
            continue
        if doc is None:
            out.append(f"line {i}: empty")
            types.append(None)
            continue
        out += [f"line {i}: {e}" for e in schema.validate(doc, definition)]
        types.append(doc.get("type") if isinstance(doc, dict) else None)
    if stream:
        if not types:
            if complete:
                out.append("no line at all: a watch prints begin and end")
        elif types[0] != "begin":
            out.append(f"line 1 is {types[0]!r}, not begin")
        if types.count("begin") > 1:
            out.append("more than one begin line")
        if "end" in types and types.index("end") != len(types) - 1:
            out.append(f"line {types.index('end') + 2} comes after the end line")
        if complete and types and types[-1] != "end":
            out.append("the stream does not end with an end line")
    return out


def main(argv):
    import argparse
    ap = argparse.ArgumentParser(prog="schema_check.py", description=__doc__.split("\n\n")[0])
    ap.add_argument("--schema", default=DEFAULT_SCHEMA)
    ap.add_argument("--def", dest="definition", help="validate against $defs/NAME")
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--lines", action="store_true", help="one document per line")
    g.add_argument("--stream", action="store_true", help="a watch stream ($defs/watch_line, in order)")
    ap.add_argument("files", nargs="*", default=["-"])
    try:
        a = ap.parse_args(argv)
    except SystemExit as e:
        return 2 if e.code else 0
    try:
        schema = Schema.load(a.schema)
        if a.definition:
            schema.definition(a.definition)
    except (OSError, SchemaError) as e:
        print(f"schema_check.py: {e}", file=sys.stderr)
        return 2
    bad = 0
    for f in a.files:
        try:
            if f == "-":
                text = sys.stdin.read()
            else:
                with open(f, encoding="utf-8") as fh:
                    text = fh.read()
        except (OSError, UnicodeDecodeError) as e:
            print(f"schema_check.py: {f}: {e}", file=sys.stderr)
            bad = 1
            continue
        if a.stream:
            errs = check_lines(schema, text, a.definition or "watch_line", stream=True)
        elif a.lines:
            errs = check_lines(schema, text, a.definition)
        else:
            errs = check_document(schema, text, a.definition)
        for e in errs:
            print(f"{f}: {e}", file=sys.stderr)
        bad |= bool(errs)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
