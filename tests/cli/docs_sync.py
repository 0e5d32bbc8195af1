#!/usr/bin/python3
"""netlab-topology(5), docs/topology.md, the JSON Schema and the loader name
the same keys, and the man page lists the same validation rules as the docs.

usage: docs_sync.py SOURCE_DIR
"""
import json
import re
import sys
from pathlib import Path

SECTIONS = {"interfaces", "networks", "containers"}  # maps whose keys are names, not keys


def reference_keys(yaml_block):
    """Keys of the reference YAML (commented-out alternatives included),
    without the example names under interfaces/networks/containers."""
    keys, stack = set(), []  # stack of (indent, key)
    for line in yaml_block.splitlines():
        m = re.match(r"^(\s*)(?:#\s*)?(?:-\s+)?([a-z_][a-z0-9_]*):", line)
        if not m:
            continue
        indent = len(m.group(1)) + (2 if re.match(r"^\s*-\s", line) else 0)
        while stack and stack[-1][0] >= indent:
            stack.pop()
        parent = stack[-1][1] if stack else None
        if parent not in SECTIONS or indent == 0:
            keys.add(m.group(2))
        stack.append((indent, m.group(2)))
    return keys


def schema_keys(node, out):
    if isinstance(node, dict):
        for k, v in node.get("properties", {}).items():
            out.add(k)
        for v in node.values():
            schema_keys(v, out)
    elif isinstance(node, list):
        for v in node:
            schema_keys(v, out)
    return out


def loader_keys(source):
    out = set()
    for m in re.finditer(r"(?:fields\([^{]*|allowed|insert\(allowed\.end\(\), )\{((?:\"[a-z_]+\",?\s*)+)\}", source):
        out.update(re.findall(r"\"([a-z_]+)\"", m.group(1)))
    out.update(re.findall(r"allowed\.push_back\(\"([a-z_]+)\"\)", source))
    return out


def words(text):
    text = re.sub(r"[`*\\]", "", text)
    return " ".join(text.split())


def main():
    src = Path(sys.argv[1])
    doc = (src / "docs/topology.md").read_text()
    man = (src / "man/netlab-topology.5.scd").read_text()
    fails = []

    doc_ref = re.search(r"## Reference\n\n```yaml\n(.*?)```", doc, re.S).group(1)
    man_ref = re.search(r"# REFERENCE\n\n```\n(.*?)```", man, re.S).group(1)
    d, m = reference_keys(doc_ref), reference_keys(man_ref)
    s = schema_keys(json.loads((src / "schema/topology-v1.schema.json").read_text()), set())
    # The loader's key lists live in the files that read the sections.
    ld = set().union(*(loader_keys(f.read_text()) for f in sorted((src / "model").glob("reader*.cpp"))))
    print(f"keys: docs/topology.md {len(d)}, netlab-topology(5) {len(m)}, schema {len(s)}, loader {len(ld)}")
    for name, other in (("netlab-topology(5)", m), ("the schema", s), ("the loader (model/reader*.cpp)", ld)):
        if other != d:
            fails.append(f"{name} and docs/topology.md differ: only in {name}: {sorted(other - d)}; "
                         f"only in the docs: {sorted(d - other)}")

    def doc_rules(section):
        body = doc.split(section, 1)[1]
        rows = re.findall(r"^\| (?!rule |---)(.*) \| (error|warning) \|$", body.split("\n### ", 1)[0].split("\n## ", 1)[0], re.M)
        return [words(r) + f" ({sev})" for r, sev in rows]

    def man_rules(section):
        body = man.split(section, 1)[1].split("\n# ", 1)[0]
        return [words(line[2:]) for line in body.splitlines() if line.startswith("- ")]

    for doc_sec, man_sec in (("### Shape (while reading)", "# VALIDATION: SHAPE"),
                             ("### Meaning (validate)", "# VALIDATION: MEANING")):
        dr, mr = doc_rules(doc_sec), man_rules(man_sec)
        print(f"{man_sec[2:]}: {len(dr)} rules in the docs, {len(mr)} in the man page")
        if not dr:
            fails.append(f"no rules found under {doc_sec}")
        for i in range(max(len(dr), len(mr))):
            a = dr[i] if i < len(dr) else "(none)"
            b = mr[i] if i < len(mr) else "(none)"
            if a != b:
                fails.append(f"{man_sec[2:]} rule {i + 1}: docs say '{a}', the man page '{b}'")
    for f in fails:
        print("FAIL:", f)
    if not fails:
        print("ok: the docs, the man page, the schema and the loader agree on the keys and the rules")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
