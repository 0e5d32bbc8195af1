"""The raw results of bench/run.sh as bench/report.py reads them: one Row per
measurement line, the "# key value" lines, a Cell per (workload, method,
IPv6, N) with its medians, and the number and table formatting."""

import json
import re
import statistics


class Row:
    def __init__(self, f):
        self.workload, self.method, self.mode = f[0], f[1], f[2]
        self.n, self.run = int(f[3]), int(f[4])

        def num(x):
            try:
                return float(x)
            except ValueError:
                return None
        self.wall, self.user, self.sys, self.rss = (num(x) for x in f[5:9])
        self.exit = f[9]
        self.status = f[10]
        self.extra = f[11] if len(f) > 11 else ""

    @property
    def ok(self):
        return self.status == "ok"

    @property
    def cpu(self):
        if self.user is None or self.sys is None:
            return None
        return self.user + self.sys

    def json(self):
        try:
            return json.loads(self.extra)
        except ValueError:
            return {}

    def kv(self, key):
        m = re.search(r"\b%s=(\S+)" % re.escape(key), self.extra)
        return m.group(1) if m else None

    def phases(self):
        """netlab's own phase timings (ms) from phases=load:1.2,observe:3.4,..."""
        out = {}
        for part in (self.kv("phases") or "").split(","):
            k, _, v = part.partition(":")
            try:
                out[k] = float(v)
            except ValueError:
                pass
        return out


def load(path):
    rows, meta = [], {}
    for line in open(path):
        line = line.rstrip("\n")
        if not line:
            continue
        if line.startswith("#"):
            k, _, v = line[1:].strip().partition(" ")
            meta[k] = v
            continue
        f = line.split("\t")
        if len(f) >= 11:
            rows.append(Row(f))
    return rows, meta


def fmt_ms(ms):
    if ms is None:
        return "–"
    if ms >= 10000:
        return "%.1f s" % (ms / 1000)
    if ms >= 1000:
        return "%.2f s" % (ms / 1000)
    if ms >= 100:
        return "%.0f ms" % ms
    if ms >= 10:
        return "%.1f ms" % ms
    return "%.2f ms" % ms


def fmt_mib(kib):
    return "–" if kib is None else "%.1f MiB" % (kib / 1024)


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


class Cell:
    """Summary of the runs of one (workload, method, mode, n)."""

    def __init__(self, rows):
        self.rows = rows
        self.good = [r for r in rows if r.ok]
        self.wall = med([r.wall for r in self.good])
        self.wall_min = min((r.wall for r in self.good), default=None)
        self.wall_max = max((r.wall for r in self.good), default=None)
        self.cpu = med([r.cpu for r in self.good])
        self.rss = max((r.rss for r in self.good if r.rss is not None), default=None)
        bad = [r.status for r in rows if not r.ok]
        self.problem = bad[0] if bad else ""

    def runs(self):
        if len(self.good) == len(self.rows):
            return str(len(self.rows))
        return "%d of %d" % (len(self.good), len(self.rows))


def cells(rows):
    out = {}
    for r in rows:
        out.setdefault((r.workload, r.method, r.mode, r.n), []).append(r)
    return {k: Cell(v) for k, v in out.items()}


def table(header, body):
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for b in body:
        lines.append("| " + " | ".join(b) + " |")
    return "\n".join(lines)


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b
