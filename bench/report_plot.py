"""The W1 plot of bench/report.py: per-container cost (median wall time / N)
against N for each method, IPv6 on and off in one SVG (gnuplot)."""

import os
import shutil
import subprocess

COLORS = {"a": "#d62728", "b": "#ff7f0e", "c": "#1f77b4", "d": "#2ca02c"}


def write_plot(cs, modes, ns, svg, names):
    """Writes svg from the W1 cells cs[("W1", method, mode, n)]; returns why
    there is no plot, or None."""
    if not shutil.which("gnuplot"):
        return "gnuplot is not installed (scripts/setup.sh installs gnuplot-nox): no plot."
    dat = svg + ".dat"
    series = []
    with open(dat, "w") as f:
        for mode in modes:
            for m in "abcd":
                pts = [(n, cs[("W1", m, mode, n)].wall) for n in ns
                       if ("W1", m, mode, n) in cs and cs[("W1", m, mode, n)].wall is not None]
                if not pts:
                    continue
                f.write("# %s %s\n" % (m, mode))
                for n, w in pts:
                    f.write("%d %.6f\n" % (n, w / n))
                f.write("\n\n")
                series.append((m, mode))
    if not series:
        os.unlink(dat)
        return "no W1 data to plot."
    plots = []
    for i, (m, mode) in enumerate(series):
        dash = {"on": "1", "off": "2"}.get(mode, "3")
        plots.append("'%s' index %d with linespoints lw 2 pt %d dt %s lc rgb '%s' title '%s, IPv6 %s'"
                     % (os.path.basename(dat), i, 7 if mode == "on" else 6, dash, COLORS[m],
                        names[m].replace("`", ""), mode))
    script = "\n".join([
        "set terminal svg size 800,600 dynamic font 'sans,11' background '#ffffff'",
        "set termoption noenhanced",
        "set output '%s'" % os.path.basename(svg),
        "set title 'W1 attach: cost per container (median wall time / N)'",
        "set xlabel 'containers (N)'", "set ylabel 'milliseconds per container'",
        "set logscale xy", "set grid", "set key below maxrows 4",
        "set xrange [%g:%g]" % (min(ns) / 1.5, max(ns) * 1.5),
        "set xtics (%s)" % ", ".join(str(n) for n in ns),
        "plot " + ", \\\n     ".join(plots),
    ])
    subprocess.run(["gnuplot"], input=script, text=True, check=True, cwd=os.path.dirname(svg) or ".")
    os.unlink(dat)
    return None
