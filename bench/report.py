#!/usr/bin/env python3
"""Turns the raw results of bench/run.sh into docs/benchmarks.md and the W1 plot.

  report.py --raw RAW.tsv --out benchmarks.md [--notes bench/notes.md]

One raw file holds the whole run (`bench/run.sh --n "10 100 1000 2000 5000"
--runs 3 --ipv6 "on off" --w7 "10 100 1000" ...`; containers over bridges of
1000, addresses from 198.18.0.0/15, unique at every N; W7's rows have the
phase in the ipv6 column, rendered by report_w7.py). Raw files
of runs before 2026-12-03 (two documentation /24s, `--v6-above 506`) still
render: netlab's IPv6-off cells above N = 506 there say why they were not run.
--raw2 (a second run's file, shown as IPv6 "on*") is still read for results
taken before run.sh did both in one invocation.

RAW.tsv, one measurement per line (tab-separated):
  workload method ipv6 n run wall_ms user_ms sys_ms maxrss_kib exit status extra
and "# key value" lines describing the machine and the run. The plot (per-
container cost against N, report_plot.py) is written beside the report as
benchmarks-w1.svg (gnuplot, when installed).
"""

import argparse
import os
import re
import sys

import report_plot
import report_w7
from report_data import Cell, cells, fmt_mib, fmt_ms, load, med, ratio, table

METHOD_NAMES = {
    "a": "`ip` per command (pipework)",
    "b": "`ip -batch` per netns",
    "c": "`netlabctl apply`",
    "d": "floor (bench_floor)",
}
W4_NAMES = {
    "a": "`ip link del` per link",
    "b": "`ip -batch` of `link del`",
    "c": "`netlabctl apply` without the containers",
    "d": "floor: group + one RTM_DELLINK",
}


PHASE_ORDER = ["load", "compile", "attach", "observe", "plan", "journal", "execute", "verify", "commit", "rollback"]


def netlab_phases(w, cs, modes, ns, *workloads, method="c", source="`netlabctl apply --json`"):
    """One line per (workload, IPv6, N): the medians of netlab's phases (ms) and its plan's ops."""
    lines = []
    for wl in workloads:
        for mode in modes:
            for n in ns:
                c = cs.get((wl, method, mode, n))
                if not c or not c.good:
                    continue
                phs = [r.phases() for r in c.good]
                keys = [k for k in PHASE_ORDER if any(k in p for p in phs)]
                keys += sorted({k for p in phs for k in p} - set(keys))
                if not keys:
                    continue
                parts = ["%s %s" % (k, fmt_ms(med([p[k] for p in phs if k in p]))) for k in keys]
                ops = sorted({r.kv("ops") for r in c.good if r.kv("ops")})
                reused = med([float(r.kv("reused")) for r in c.good if (r.kv("reused") or "").isdigit()])
                lines.append("%s IPv6 %s N=%d: %s%s%s" % (wl, mode, n, ", ".join(parts),
                                                           "; steps " + " / ".join(ops) if ops else "",
                                                           "; %d namespaces reused from the last verified run" % reused
                                                           if reused else ""))
    if lines:
        w("netlab phases (median, from %s): " % source)
        w("; ".join(lines) + ".\n")


def esc(s):
    if "is already assigned to container" in s:
        # The IPv4-only plan repeats addresses above N = 506 (two /24s); netlab
        # rightly refuses duplicates. The on* rows use unique addresses.
        return "rejected by netlab's validator: the IPv4-only address plan repeats addresses above N = 506 (\"address … is already assigned to container c0\"); `bench/run.sh --v6-above 506` measures N = 1000 with IPv6 on"
    s = re.sub(r"/tmp/nlb\d+\.\w+/", "", s)
    return s.replace("|", "\\|").replace("\n", " ")


def daemon_ms(c):
    """Median of the time netlabd itself reports (daemon_ms=) over a cell's good runs."""
    return med([float(r.kv("daemon_ms")) for r in c.good if re.match(r"^[0-9.]+$", r.kv("daemon_ms") or "")])


def phases_ms(c):
    """Median over a cell's good runs of the sum of netlab's phases (ms); None without phases.
    netlabd's `seconds` (daemon_ms) runs from attach to commit: its load of the
    files and its status step are phases outside it."""
    return med([sum(r.phases().values()) for r in c.good if r.phases()])


def missing(problem):
    """The verdict of a target row without a figure."""
    if problem.startswith("not run"):
        return "not run"
    return "missed" if problem.startswith("failed") else "not yet"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--raw", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--notes")
    ap.add_argument("--raw2", help="a second run (bench/run.sh --v6-above ...): its rows are shown with IPv6 'on*'")
    a = ap.parse_args()
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    rows, meta = load(a.raw)
    if a.raw2:
        rows2, meta2 = load(a.raw2)
        for r in rows2:
            if r.workload != "W5":
                r.mode = r.mode + "*"
            rows.append(r)
        for k, v in meta2.items():
            meta[k if k.endswith("-v6") else k + "-v6"] = v
        if "command-v6-v6" in meta:
            meta["command-v6"] = meta.pop("command-v6-v6")
    cs = cells(rows)
    modes = []
    for r in rows:
        if r.mode not in modes and r.workload not in ("W5", "W7", "W8"):
            modes.append(r.mode)
    ns = sorted({r.n for r in rows if r.workload in ("W1", "W4")})
    nmax = max(ns) if ns else 0
    # The scale targets are judged at every N from 1,000 up (1000, 2000,
    # 5000 in the full run), W2's no-op apply at 1,000 and the largest N.
    target_ns = [n for n in ns if n >= 1000] or ns[-1:]
    w2_ns = sorted({n for n in ns if n == 1000} | set(ns[-1:]))
    out = []
    w = out.append

    w("# Benchmarks: netlab against `ip`, `ip -batch` and a raw-netlink floor\n")
    w("Generated by `bench/run.sh` (issue 7) on one machine in one invocation (the command")
    w("below); do not edit by hand — the hand-written part comes from `bench/notes.md`.")
    w("Re-render from the raw results with `python3 bench/report.py --raw bench/results/latest.tsv")
    w("--notes bench/notes.md --out docs/benchmarks.md`.\n")
    w("| | |\n|---|---|")
    w("| taken | %s → %s |" % (meta.get("start", "?"), meta.get("end", "(interrupted)")))
    w("| command | `%s` |" % meta.get("command", "?"))
    w("| kernel | %s |" % meta.get("kernel", "?"))
    w("| CPU | %s |" % meta.get("cpus", "?"))
    w("| memory | %s |" % meta.get("memory", "?"))
    w("| iproute2 | %s |" % meta.get("iproute2", "?"))
    w("| netlab | commit %s |" % meta.get("netlab", "?"))
    if "command-v6" in meta:
        w("| second run (rows marked `on*`) | `%s`, %s → %s, load average %s → %s |" % (
            meta["command-v6"], meta.get("start-v6", "?"), meta.get("end-v6", "?"),
            meta.get("loadavg-at-start-v6", "?"), meta.get("loadavg-at-end-v6", "?")))
    w("| load average (1/5/15 min) | at the start %s, at the end %s |" % (meta.get("loadavg-at-start", "?"),
                                                                     meta.get("loadavg-at-end", "?")))
    la = [r for r in rows if r.workload == "launch" and r.ok]
    if la:
        w("| starting one process in the host netns (`ip netns exec NS true`) | median %s, %s – %s over the run |" % (
            fmt_ms(med([r.wall for r in la])), fmt_ms(min(r.wall for r in la)), fmt_ms(max(r.wall for r in la))))
    w("")
    w("Every figure is the median of the runs, with min–max; wall time by a monotonic clock,")
    w("CPU = user + system of the process and every child it waited for, peak RSS = the")
    w("largest single process (`bench/timeit.cpp`). \"IPv6 on/off\" is")
    w("`net.ipv6.conf.{all,default}.disable_ipv6` in the host netns and every container netns.\n")

    # ---- targets
    w("## Targets against results\n")
    tb = []

    def status(ok):
        return "**met**" if ok else "**missed**"

    for mode in modes:
        for n in target_ns:
            c = cs.get(("W1", "c", mode, n))
            d = cs.get(("W1", "d", mode, n))
            r = ratio(c.wall if c else None, d.wall if d else None)
            if r is not None:
                tb.append(["W1 attach, N=%d, IPv6 %s" % (n, mode), "≤ 1.25× floor",
                           "%s vs floor %s = %.2f×" % (fmt_ms(c.wall), fmt_ms(d.wall), r), status(r <= 1.25)])
            else:
                why = c.problem if c and c.problem else "not measured"
                tb.append(["W1 attach, N=%d, IPv6 %s" % (n, mode), "≤ 1.25× floor",
                           "netlab: %s; floor %s" % (esc(why), fmt_ms(d.wall if d else None)), missing(why)])
    for mode in modes:
        for n in w2_ns:
            c = cs.get(("W2", "c", mode, n))
            d = cs.get(("W2", "d", mode, n))
            if c and c.wall is not None:
                wr = [r.kv("writes") for r in c.good]
                r = ratio(c.wall, d.wall if d else None)
                ok = r is not None and r <= 2 and all(x == "0" for x in wr)
                tb.append(["W2 no-op apply, N=%d, IPv6 %s" % (n, mode), "≤ 2× raw dump, 0 writes",
                           "%s vs dump %s = %s×, writes %s" % (fmt_ms(c.wall), fmt_ms(d.wall if d else None),
                                                              "%.1f" % r if r else "?", ",".join(sorted(set(wr)))),
                           status(ok)])
            else:
                why = (c.problem if c and c.problem else "") or (cs.get(("W1", "c", mode, n)) or Cell([])).problem \
                    or "not measured"
                tb.append(["W2 no-op apply, N=%d, IPv6 %s" % (n, mode), "≤ 2× raw dump, 0 writes",
                           "netlab: %s; raw dump %s" % (esc(why), fmt_ms(d.wall if d else None)), missing(why)])
    for k in sorted(k for k in cs if k[0] == "W2" and k[1] == "reload"):
        c = cs[k]
        label = "W2 no-change reload (netlabd), N=%d, IPv6 %s" % (k[3], k[2])
        if c.wall is None:
            tb.append([label, "≤ 50 ms", esc(c.problem), missing(c.problem)])
            continue
        dm = daemon_ms(c)
        judged = dm if dm is not None else c.wall
        full = cs.get(("W2", "reload-full", k[2], k[3]))
        fdm = daemon_ms(full) if full else None
        tb.append([label, "≤ 50 ms", "%s in netlabd, %s for `netlabctl reload` as a whole (process start included)%s" % (
            fmt_ms(dm), fmt_ms(c.wall), "; `reload --full`: %s in netlabd" % fmt_ms(fdm) if fdm is not None else ""),
            status(judged <= 50)])
    if not any(k[0] == "W2" and k[1] == "reload" for k in cs):
        tb.append(["W2 no-change reload (netlabd)", "≤ 50 ms", "not measured", "not yet"])
    for mode in modes:
        c = cs.get(("W3", "c", mode, nmax))
        label = "W3 one of %d changed (cold `netlabctl apply`), IPv6 %s" % (nmax, mode)
        if c and c.wall is not None:
            wr = [int(r.kv("writes")) for r in c.good if (r.kv("writes") or "").isdigit()]
            ok = c.wall <= 50 and wr and max(wr) <= 20
            tb.append([label, "≤ 20 writes, ≤ 50 ms",
                       "%s, writes %s" % (fmt_ms(c.wall), ",".join(str(x) for x in sorted(set(wr))) or "?"), status(ok)])
        else:
            why = (c.problem if c and c.problem else "") or (cs.get(("W1", "c", mode, nmax)) or Cell([])).problem
            tb.append([label, "≤ 20 writes, ≤ 50 ms", "netlab: %s" % esc(why or "not measured"),
                       missing(why or "")])
    # W3 through netlabd: its state kept current by events, the change is a
    # `netlabctl reload` after the file changed. Judged on all of netlabd's
    # phases added up (reading the files, the transaction, the status step):
    # its `seconds` alone (attach to commit) leaves the YAML parse out. The
    # client's whole wall time (its process start and the socket round trip)
    # is shown beside it.
    for k in sorted(k for k in cs if k[0] == "W3" and k[1] == "reload"):
        c = cs[k]
        label = "W3 one of %d changed (netlabd reload), IPv6 %s" % (k[3], k[2])
        if c.wall is None:
            tb.append([label, "≤ 20 writes, ≤ 20 ms in netlabd", esc(c.problem), missing(c.problem)])
            continue
        dm = daemon_ms(c)
        wr = [int(r.kv("writes")) for r in c.good if (r.kv("writes") or "").isdigit()]
        fast = sum(1 for r in c.good if r.kv("fast") == "True")
        ph = phases_ms(c)
        judged = ph if ph is not None else dm
        ok = judged is not None and judged <= 20 and bool(wr) and max(wr) <= 20
        # The announcements (topology `announce:`, 3 sends 20 ms apart) sit
        # between commit and the status step: said apart, as they are a wait.
        ann = med([r.phases()["announce"] for r in c.good if "announce" in r.phases()])
        tb.append([label, "≤ 20 writes, ≤ 20 ms in netlabd",
                   "%s in netlabd (judged: all its phases, from reading the files to the status step)%s, %s for "
                   "`netlabctl reload` as a whole (process start included); writes %s (median %s)%s" % (
                       fmt_ms(judged), "; of it the transaction (attach to commit, its `seconds`) %s" % fmt_ms(dm)
                       if ph is not None and dm is not None else "", fmt_ms(c.wall), ",".join(str(x) for x in sorted(set(wr))) or "?",
                       "%g" % med(wr) if wr else "?",
                       "; %d of %d replies took the fast path (nothing done: not a measurement)" % (fast, len(c.good))
                       if fast else "") + ("; of it announcing the changed address %s (3 sends 20 ms apart)" % fmt_ms(ann)
                                          if ann is not None else ""),
                   status(ok)])
    for mode in modes:
        # "One-by-one" is one request per link: `ip -batch` of `link del` (the
        # kernel's per-request cost without process starts); one `ip` process
        # per link where that was not measured.
        a_ = None
        for mm in (mode, mode.rstrip("*")):
            for meth in ("b", "a"):
                cand = cs.get(("W4", meth, mm, nmax))
                if not a_ and cand and cand.wall is not None:
                    a_ = cand
        c = cs.get(("W4", "c", mode, nmax))
        d = cs.get(("W4", "d", mode, nmax))
        rd = ratio(a_.wall if a_ else None, d.wall if d else None)
        if c and c.wall is not None and a_ is None:
            tb.append(["W4 teardown %d, IPv6 %s" % (nmax, mode), "≥ 10× faster than one-by-one",
                       "netlab %s (floor %s); no one-request-per-link method in this run" % (
                           fmt_ms(c.wall), fmt_ms(d.wall if d else None)), "not run"])
        elif c and c.wall is not None:
            r = ratio(a_.wall if a_ else None, c.wall)
            tb.append(["W4 teardown %d, IPv6 %s" % (nmax, mode), "≥ 10× faster than one-by-one",
                       "netlab %s vs one request per link %s = %s× (floor %s×)" % (fmt_ms(c.wall), fmt_ms(a_.wall if a_ else None),
                                                                     "%.1f" % r if r else "?", "%.1f" % rd if rd else "?"),
                       status(r is not None and r >= 10)])
        else:
            why = (c.problem if c and c.problem else "") or (cs.get(("W1", "c", mode, nmax)) or Cell([])).problem \
                or "not measured"
            tb.append(["W4 teardown %d, IPv6 %s" % (nmax, mode), "≥ 10× faster than one-by-one",
                       "netlab: %s; floor %s vs one request per link %s = %s×" % (
                           esc(why), fmt_ms(d.wall if d else None), fmt_ms(a_.wall if a_ else None),
                           "%.1f" % rd if rd else "?"),
                       missing(why)])
    w5 = [r for r in rows if r.workload == "W5"]
    w5n = [r for r in w5 if r.method == "netlab"]
    if w5n and all(r.ok for r in w5n):
        lost = [int(r.kv("lost") or -1) for r in w5n]
        tb.append(["W5 takeover under 10 ms ping", "0 lost", "netlab lost %s (per run)" % ",".join(map(str, lost)),
                   status(max(lost) == 0)])
    else:
        tb.append(["W5 takeover under 10 ms ping", "0 lost",
                   "netlab: %s" % esc(w5n[0].status if w5n else "not measured"), "not yet"])
    w6 = [r for r in rows if r.workload == "W6"]
    if w6 and w6[0].ok:
        r0 = w6[0]
        fast = ""
        if r0.kv("rss_reloads"):
            fast = "%s after %s no-change `reload`s (the fast path), " % (r0.kv("rss_reloads"), r0.kv("reloads"))
        tb.append(["W6 netlabd RSS, N=%d" % r0.n, "≤ 64 MiB, no upward trend from the first converged state",
                   "%s once converged, %s%s after %s reconciles (no-change `reload --full`s, %s ms each on average)" % (
                       r0.kv("rss_start"), fast, r0.kv("rss_end"), r0.kv("reconciles"), r0.kv("reconcile_ms_avg")),
                   "**%s**" % r0.kv("verdict") if r0.kv("verdict") else "?"])
    else:
        tb.append(["W6 netlabd RSS", "≤ 64 MiB, no upward trend from the first converged state",
                   esc(w6[0].status if w6 else "not measured"), missing(w6[0].status) if w6 else "not yet"])
    tb.extend(report_w7.targets(rows))
    w(table(["workload", "target", "result", ""], tb))
    w("")

    # ---- W1
    w("## W1: attach N containers pipework-style\n")
    w("veth pair; container end in the container's netns named eth1 with its address and a")
    w("default route via the gateway; host end enslaved to br0; both up.\n")
    err = report_plot.write_plot(cs, modes, ns, os.path.join(os.path.dirname(os.path.abspath(a.out)), "benchmarks-w1.svg"),
                                 METHOD_NAMES)
    if err:
        w("_%s_\n" % err)
    else:
        w("![W1: per-container cost (wall / N) against N, each method, IPv6 on and off](benchmarks-w1.svg)\n")
        w("The plot gives each method's cost per container (median wall time / N) against N (log")
        w("scales): a flat line is work that grows linearly with N; the floor's own rise is the")
        w("kernel's per-container cost growing with N (longer bridge-port and device lists).\n")
    body = []
    for mode in modes:
        for n in ns:
            floor = cs.get(("W1", "d", mode, n))
            for m in "abcd":
                c = cs.get(("W1", m, mode, n))
                if not c:
                    continue
                if c.wall is None:
                    body.append([mode, str(n), METHOD_NAMES[m], esc(c.problem), "", "", "", "", c.runs()])
                    continue
                r = ratio(c.wall, floor.wall if floor else None)
                body.append([mode, str(n), METHOD_NAMES[m], fmt_ms(c.wall),
                             "%s – %s" % (fmt_ms(c.wall_min), fmt_ms(c.wall_max)), fmt_ms(c.cpu), fmt_mib(c.rss),
                             "%.2f×" % r if r else "–", c.runs()])
    w(table(["IPv6", "N", "method", "wall (median)", "min – max", "CPU", "peak RSS", "× floor", "runs"], body))
    w("")
    fl = [(r.mode, r.n, r.json()) for r in rows if r.workload == "W1" and r.method == "d" and r.ok]
    if fl:
        w("Floor phases (median): ")
        ph = []
        for mode in modes:
            for n in ns:
                js = [j for (md, nn, j) in fl if md == mode and nn == n and j]
                if js:
                    ph.append("IPv6 %s N=%d: %d writes, open %s, host %s, containers %s" % (
                        mode, n, js[0].get("writes", 0), fmt_ms(med([j.get("open_ms") for j in js])),
                        fmt_ms(med([j.get("host_ms") for j in js])), fmt_ms(med([j.get("containers_ms") for j in js]))))
        w("; ".join(ph) + ".\n")

    netlab_phases(w, cs, modes, ns, "W1")

    # ---- W2 / W3
    w("## W2: no-op reconcile, W3: one container changed\n")
    body = []
    for mode in modes:
        for n in ns:
            d = cs.get(("W2", "d", mode, n))
            if d and d.wall is not None:
                js = [r.json() for r in d.good]
                body.append([mode, str(n), "floor: raw dump of links, addresses, routes (all netns)", fmt_ms(d.wall),
                             "%s – %s" % (fmt_ms(d.wall_min), fmt_ms(d.wall_max)),
                             "open %s + dump %s; %s objects, %s sockets" % (
                                 fmt_ms(med([j.get("open_ms") for j in js])), fmt_ms(med([j.get("dump_ms") for j in js])),
                                 js[0].get("links", 0) + js[0].get("addresses", 0) + js[0].get("routes", 0),
                                 js[0].get("sockets", "?")) if js else "", "0"])
            for wl, label in (("W2", "netlab: apply, converged"), ("W3", "netlab: apply, one address changed")):
                c = cs.get((wl, "c", mode, n))
                if c is None:
                    continue
                if c.wall is None:
                    body.append([mode, str(n), label, esc(c.problem), "", "", ""])
                else:
                    wr = sorted({r.kv("writes") or "?" for r in c.good})
                    body.append([mode, str(n), label, fmt_ms(c.wall), "%s – %s" % (fmt_ms(c.wall_min), fmt_ms(c.wall_max)),
                                 "CPU %s, RSS %s" % (fmt_ms(c.cpu), fmt_mib(c.rss)), ",".join(wr)])
            c1 = cs.get(("W1", "c", mode, n))
            if c1 and c1.wall is None and not cs.get(("W2", "c", mode, n)):
                body.append([mode, str(n), "netlab", esc(c1.problem), "", "", ""])
    # netlabd: W2 (nothing changed; plain, then --full), then W3 (one address
    # changed in the file, then a plain reload).
    order = {("W2", "reload"): 0, ("W2", "reload-full"): 1, ("W3", "reload"): 2}
    for k in sorted((k for k in cs if (k[0], k[1]) in order), key=lambda k: (k[2], k[3], order[(k[0], k[1])])):
        c = cs[k]
        dm = daemon_ms(c)
        fast = sorted({r.kv("fast") or "?" for r in c.good})
        if k[0] == "W3":
            what = ("`netlabctl reload` (netlabd running) after the last container's address changed in its file "
                    "(runs alternate changed / original; fast path: %s)" % ",".join(fast))
        elif k[1] == "reload":
            what = "`netlabctl reload` (netlabd running), nothing changed (fast path: %s)" % ",".join(fast)
        else:
            what = "`netlabctl reload --full` (netlabd running, observes everything), nothing changed"
        body.append([k[2], str(k[3]), what,
                     fmt_ms(c.wall) if c.wall is not None else esc(c.problem),
                     "%s – %s" % (fmt_ms(c.wall_min), fmt_ms(c.wall_max)) if c.wall is not None else "",
                     ("inside netlabd %s%s" % (fmt_ms(dm), " (all phases %s)" % fmt_ms(phases_ms(c)) if phases_ms(c) is not None
                                               else "")) if c.wall is not None else "",
                     ",".join(sorted({r.kv("writes") or "?" for r in c.good}))])
    w(table(["IPv6", "N", "what", "wall (median)", "min – max", "detail", "netlink writes"], body))
    w("")

    netlab_phases(w, cs, modes, ns, "W2", "W3")
    netlab_phases(w, cs, modes, ns, "W2", method="reload-full", source="netlabd's reply to `netlabctl reload --full --json`")
    netlab_phases(w, cs, modes, ns, "W3", method="reload", source="netlabd's reply to `netlabctl reload --json`")

    # ---- W4
    w("## W4: teardown of the N attachments\n")
    body = []
    for mode in modes:
        for n in ns:
            one = None
            for mm in (mode, mode.rstrip("*")):
                for meth in ("b", "a"):
                    cand = cs.get(("W4", meth, mm, n))
                    if not one and cand and cand.wall is not None:
                        one = cand
            for m in "abcd":
                c = cs.get(("W4", m, mode, n))
                if not c:
                    continue
                if c.wall is None:
                    body.append([mode, str(n), W4_NAMES[m], esc(c.problem), "", "", "", c.runs()])
                    continue
                r = ratio(one.wall if one else None, c.wall)
                detail = fmt_ms(c.cpu)
                if m == "d":
                    js = [r_.json() for r_ in c.good]
                    detail += " (group %s + delete %s)" % (fmt_ms(med([j.get("group_ms") for j in js])),
                                                           fmt_ms(med([j.get("delete_ms") for j in js])))
                body.append([mode, str(n), W4_NAMES[m], fmt_ms(c.wall), "%s – %s" % (fmt_ms(c.wall_min), fmt_ms(c.wall_max)),
                             detail, "%.1f×" % r if r else "–", c.runs()])
    w(table(["IPv6", "N", "method", "wall (median)", "min – max", "CPU", "speed-up vs one request per link", "runs"], body))
    w("")
    netlab_phases(w, cs, modes, ns, "W4")
    w("\"One request per link\" is the `ip -batch` of `link del` (one process); the one `ip` process per")
    w("link row adds a process start per link to the same kernel work.")
    w("")

    # ---- W5
    w("## W5: bridge takeover under a 10 ms ping from another subnet\n")
    if w5:
        body = []
        by = {}
        for r in w5:
            by.setdefault(r.method, []).append(r)
        for m, rs in by.items():
            good = [r for r in rs if r.ok or (r.status.startswith("chain stopped"))]
            if not good:
                body.append([m, esc(rs[0].status), "", "", "", ""])
                continue
            lost = [int(r.kv("lost") or 0) for r in good]
            tx = [int(r.kv("tx") or 0) for r in good]
            runl = [int(r.kv("run") or 0) for r in good]
            body.append([esc(rs[0].kv("label") or m).replace("_", " "), ",".join(map(str, lost)), ",".join(map(str, tx)),
                         ",".join(map(str, runl)), fmt_ms(med([r.wall for r in good])),
                         esc(rs[0].status if not rs[0].ok else "ok")])
        w(table(["method", "lost (per run)", "sent (per run)", "longest loss run", "change took", "outcome"], body))
    else:
        w("_not measured in this run_")
    w("")

    # ---- W6
    w("## W6: netlabd memory\n")
    if w6:
        for r in w6:
            w("- IPv6 %s, N=%d: %s %s" % (r.mode, r.n, esc(r.status), esc(r.extra)))
    else:
        w("_not measured in this run_")
    w("")

    # ---- W7 (only when the run measured it: bench/run.sh --w7)
    report_w7.section(rows, meta, w)

    # ---- W8 (only when the run measured it: bench/run.sh --w8)
    w8 = [r for r in rows if r.workload == "W8"]
    if w8:
        w("## W8: the no-change reload just after a large apply (netlabd)\n")
        w("One apply (netlabd's start-up reconcile), then `netlabctl reload` with nothing changed at each")
        w("offset after the apply's end, in that order (`bench/w8_after_apply.sh`).\n")
        body = []
        for r in w8:
            why = (r.kv("why") or "?").replace("_", " ")
            body.append([str(r.n), str(r.run), "+%s s" % (r.kv("at_s") or "?"), fmt_ms(r.wall),
                         fmt_ms(float(r.kv("daemon_ms") or "nan")), "fast path" if r.kv("fast") == "True" else esc(why)])
        w(table(["N", "run", "reload at", "`netlabctl reload`", "in netlabd", "answered by"], body))
        w("")

    if a.notes and os.path.exists(a.notes):
        w(open(a.notes).read())
    with open(a.out, "w") as f:
        f.write("\n".join(out).rstrip("\n") + "\n")


if __name__ == "__main__":
    sys.exit(main())
