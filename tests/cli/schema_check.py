#!/usr/bin/python3
"""The JSON Schema (schema/topology-v1.schema.json) against the loader.

Every example must be valid for both. Every case of the bad corpus whose
error is one of shape (unknown key, wrong type, missing required key, a
value outside an enumeration) must fail the schema too. The rest of the
corpus (rules of meaning: addresses, bridges, routes; and text the YAML
parser rejects) is listed with the schema's verdict, so the places where
the two disagree are printed, not hidden.

usage: schema_check.py SCHEMA SOURCE_DIR NETLABCTL
"""
import json
import re
import subprocess
import sys
from pathlib import Path

import jsonschema
import yaml

SHAPE = re.compile(
    r"unknown key|is only for `kind|must be a list|must be a map|must be a number|must be true or false|"
    r"not the scalar|missing `version|unsupported version|has no parent|has no netns|route needs|"
    r"route has no|has both `|is attached to nothing|unknown interface kind|unknown macvlan mode|"
    r"unsupported network driver|drift must be|the topology must be a map|is not a namespace target|"
    r"out of range|has no prefix length")


def expect_line(path):
    for line in path.read_text(errors="replace").splitlines():
        if line.startswith("# expect:"):
            return line[len("# expect:"):].strip()
    return ""


def main():
    schema_path, src, ctl = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
    schema = json.loads(schema_path.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    fails = 0

    def verdict(doc):
        errs = sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
        return ["/".join(map(str, e.absolute_path)) + ": " + e.message[:150] for e in errs]

    for f in sorted((src / "examples").glob("*.yaml")):
        loader_ok = subprocess.run([ctl, "check", str(f)], capture_output=True).returncode == 0
        errs = verdict(yaml.safe_load(f.read_text()))
        if errs or not loader_ok:
            fails += 1
            print(f"FAIL: example {f.name}: loader {'accepts' if loader_ok else 'REJECTS'}, schema: {errs}")
        else:
            print(f"ok: example {f.name} is valid for the loader and the schema")

    shape = agree_meaning = only_loader = unparsable = 0
    for f in sorted((src / "tests" / "bad").glob("*.yaml")):
        expect = expect_line(f)
        try:
            doc = yaml.safe_load(f.read_text())
        except yaml.YAMLError as e:
            unparsable += 1
            print(f"-- {f.name}: not YAML for any validator ({str(e).splitlines()[0]})")
            continue
        errs = verdict(doc)
        if SHAPE.search(expect):
            shape += 1
            if errs:
                print(f"ok: {f.name}: shape error, schema rejects it too: {errs[0]}")
            else:
                fails += 1
                print(f"FAIL: {f.name}: the loader says '{expect}', the schema accepts it")
        elif errs:
            agree_meaning += 1
            print(f"-- {f.name}: the schema rejects it too ({errs[0]}); loader: {expect}")
        else:
            only_loader += 1
            print(f"-- {f.name}: only the loader rejects it (a rule the schema cannot state): {expect}")
    print(f"examples valid for both; {shape} shape errors checked; {agree_meaning} other cases the schema "
          f"also rejects; {only_loader} only the loader rejects; {unparsable} not YAML")
    if shape < 15:
        fails += 1
        print(f"FAIL: only {shape} shape errors found in the corpus; the classification is broken")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
