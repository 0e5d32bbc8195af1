#!/usr/bin/env python3
"""Makes netlabctl's JSON comparable with a golden file: the values that
change from run to run (times, durations, pids, MAC addresses, the run's
temporary paths and namespace names) become placeholders; everything else —
the keys, the statuses, the steps — is kept as printed.

usage: normalize.py JSON_FILE [TEXT=PLACEHOLDER...]"""
import json
import re
import sys

VOLATILE = {
    "seconds", "phases", "pid", "started", "finished", "since", "at", "deadline", "seconds_left",
    "latency_ms", "event_at", "detected", "after_deadline_ms", "reconciles", "uptime_s",
    # kernel events netlabd heard: the kernel's own follow-ups (carrier, DAD) come when they come
    "events",
}
MAC = re.compile(r"\b[0-9a-f]{2}(:[0-9a-f]{2}){5}\b")


def walk(v, subs):
    if isinstance(v, dict):
        return {k: ("<volatile>" if k in VOLATILE and v[k] is not None else walk(x, subs)) for k, x in v.items()}
    if isinstance(v, list):
        return [walk(x, subs) for x in v]
    if isinstance(v, str):
        for old, new in subs:
            v = v.replace(old, new)
        return MAC.sub("<mac>", v)
    return v


def main():
    subs = [tuple(a.split("=", 1)) for a in sys.argv[2:]]
    subs.sort(key=lambda s: -len(s[0]))  # longest first: a path before its prefix
    with open(sys.argv[1]) as f:
        doc = json.load(f)
    print(json.dumps(walk(doc, subs), indent=2, sort_keys=True))


if __name__ == "__main__":
    main()
