#!/usr/bin/env python3
"""Reads netlabd's --metrics-file with Prometheus' own exposition-format
parser (python3-prometheus-client), for the kernel tests.

  metrics.py FILE SAMPLE...   prints each SAMPLE's value, one a line;
                              SAMPLE is NAME or NAME{LABEL=VALUE}

Exits 1 when the file does not parse, a family lacks HELP or TYPE, or a
SAMPLE is absent.
"""

import re
import sys

try:
    from prometheus_client.parser import text_string_to_metric_families
except ImportError:
    sys.exit("metrics.py: python3-prometheus-client is missing (scripts/setup.sh installs it)")


def main():
    path, wanted = sys.argv[1], sys.argv[2:]
    text = open(path).read()
    samples = {}
    try:
        for family in text_string_to_metric_families(text):
            if not family.documentation or family.type == "unknown":
                sys.exit(f"metrics.py: {path}: {family.name} has no HELP or TYPE")
            for s in family.samples:
                key = s.name + "".join(f"{{{k}={v}}}" for k, v in sorted(s.labels.items()))
                samples[key] = s.value
    except ValueError as e:
        sys.exit(f"metrics.py: {path} does not parse: {e}")
    for w in wanted:
        m = re.fullmatch(r'([a-z_:]+)(?:\{(\w+)="?([^"}]*)"?\})?', w)
        key = m.group(1) + (f"{{{m.group(2)}={m.group(3)}}}" if m.group(2) else "")
        if key not in samples:
            sys.exit(f"metrics.py: {path}: no sample {w} in:\n{text}")
        v = samples[key]
        print(int(v) if v == int(v) else v)


main()
