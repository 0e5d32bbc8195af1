"""W7 of bench/report.py: netlab beside a declarative peer (ifupdown2's
`ifreload -a`) and `ip -batch`, from the raw rows bench/w7_declarative.sh
writes (workload W7, the phase in the IPv6 column): the target rows and the
report's W7 section."""

import statistics

LABELS = {"netlab": "`netlabctl apply`", "ifupdown2": "`ifreload -a` (ifupdown2)", "ipbatch": "`ip -batch`"}
PHASES = [("cold", "cold apply"), ("noop", "no-change reload"), ("change", "one bridge changed")]


def _cells(rows):
    t, bad = {}, {}
    for r in rows:
        if r.workload != "W7":
            continue
        key = (r.method, r.n, r.mode)
        if r.ok and r.wall is not None:
            t.setdefault(key, []).append(r.wall)
        else:
            bad.setdefault(key, []).append(r.status)
    return t, bad


def _med(t, key):
    v = t.get(key)
    return statistics.median(v) if v else None


def _ms(x):
    return "%.0f ms" % x if x is not None else "–"


def targets(rows):
    """One target row per N and phase: netlab >= 10x faster than ifupdown2."""
    t, bad = _cells(rows)
    out = []
    for n in sorted({k[1] for k in list(t) + list(bad)}):
        for ph, label in PHASES:
            a, b = _med(t, ("ifupdown2", n, ph)), _med(t, ("netlab", n, ph))
            name = "W7 %s, %d bridges" % (label, n)
            if a is None or b is None:
                why = (bad.get(("netlab", n, ph)) or bad.get(("ifupdown2", n, ph)) or ["not measured"])[0]
                out.append([name, "netlab ≥ 10× faster than ifupdown2", why.replace("|", "\\|"),
                            "**missed**" if why.startswith("failed") else "not run"])
                continue
            r = a / max(b, 1)
            out.append([name, "netlab ≥ 10× faster than ifupdown2",
                        "netlab %s vs ifupdown2 %s = %.1f×" % (_ms(b), _ms(a), r),
                        "**met**" if r >= 10 else "**missed**"])
    return out


def section(rows, meta, w):
    """The report's W7 section (nothing when the run did not measure W7)."""
    t, bad = _cells(rows)
    if not t and not bad:
        return
    methods = [m for m in ("netlab", "ifupdown2", "ipbatch") if any(k[0] == m for k in list(t) + list(bad))]
    runs = {}
    for r in rows:
        if r.workload == "W7":
            runs[(r.method, r.n, r.mode)] = runs.get((r.method, r.n, r.mode), 0) + 1
    w("## W7: a declarative peer, ifupdown2\n")
    w("N bridges, each with an address (the k-th /28 of 198.18.0.0/16) and a route through it, in a")
    w("fresh namespace per method and run: applied from cold, again with nothing changed, then with")
    w("one bridge's address changed (`bench/w7_declarative.sh`; ifupdown2 %s, `ifreload -a` of a" % meta.get(
        "w7-ifupdown2", "?"))
    w("generated interfaces file in the bench's namespace). Wall time of the one command (`ip netns")
    w("exec` included for every method), median of the runs; load average at its end %s.\n" % meta.get(
        "w7-loadavg-at-end", "?"))
    body = []
    for n in sorted({k[1] for k in list(t) + list(bad)}):
        for m in methods:
            cells = []
            for ph, _ in PHASES:
                v = _med(t, (m, n, ph))
                c = _ms(v) if v is not None else "not run"
                if runs.get((m, n, ph)) == 1:
                    c += " (1 run)"
                if bad.get((m, n, ph)):
                    c += " **%s**" % bad[(m, n, ph)][0].replace("|", "\\|")
                cells.append(c)
            body.append([str(n), LABELS[m]] + cells)
        if "netlab" in methods and "ifupdown2" in methods:
            rs = []
            for ph, _ in PHASES:
                a, b = _med(t, ("ifupdown2", n, ph)), _med(t, ("netlab", n, ph))
                rs.append("%.1f×" % (a / max(b, 1)) if a is not None and b is not None else "–")
            body.append([str(n), "ifupdown2 ÷ netlab (target ≥ 10×)"] + rs)
    w("| N | method | " + " | ".join(p[1] for p in PHASES) + " |")
    w("|---|---|" + "---|" * len(PHASES))
    for b in body:
        w("| " + " | ".join(b) + " |")
    w("")
    if meta.get("w7-checks"):
        w("Checks: %s.\n" % meta["w7-checks"])
