#!/usr/bin/python3
"""Summarizes bench/run's JSON lines: per benchmark and thread count, the median over rounds of our
figure and PyTorch's, their ratio, the share of the measured FMA peak, the peak memory, the goals.

  bench/summarize.py RESULTS.jsonl    prints the summary
  bench/summarize.py --meta LABEL     prints one JSON line on the machine and its load (bench/run
                                      logs one before and one after the runs)

Standard library only (runs with /usr/bin/python3). Lines it reads (see bench/bench_util.h):
  {"bench", "impl": "bayesgrad" | "pytorch" | "machine", "threads", "us_per_iter" | "gflops",
   "peak_rss_mb", "spread_pct", optional "aggregate": "max" (else the median over rounds is used),
   optional goals on our lines: "goal_max_us", "goal_min_ratio", "goal_min_peak_share",
   "goal_min_scaling"}
"""

import datetime
import hashlib
import json
import os
import statistics
import subprocess
import sys

OURS, PEER, MACHINE = "bayesgrad", "pytorch", "machine"
# figure key -> (unit, True when larger is better)
FIGURES = {"us_per_iter": ("us", False), "gflops": ("GFLOP/s", True)}


def source_state():
    """The commit, and when the library or benchmark sources differ from it, a short hash of the
    differences: runs on different working trees then never look alike."""

    def git(*args):
        return subprocess.run(["git", *args], capture_output=True, check=True).stdout

    try:
        commit = git("rev-parse", "--short", "HEAD").decode().strip()
        paths = ["core", "bench", "CMakeLists.txt"]
        changes = git("diff", "HEAD", "--", *paths)
        for path in git("ls-files", "--others", "--exclude-standard", "--", *paths).split():
            with open(path, "rb") as untracked:
                changes += path + untracked.read()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{commit}+dirty:{hashlib.sha1(changes).hexdigest()[:8]}" if changes else commit


def meta(label):
    cpu = {}
    with open("/proc/cpuinfo") as cpuinfo:
        for line in cpuinfo:
            key, _, value = line.partition(":")
            cpu.setdefault(key.strip(), value.strip())
    return {
        "meta": label,
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "cpu": cpu.get("model name", "unknown"),
        "cpu_family_model": f"{cpu.get('cpu family', '?')}/{cpu.get('model', '?')}",
        "avx512f": "avx512f" in cpu.get("flags", "").split(),
        "cpus": os.cpu_count(),
        "loadavg_1m": os.getloadavg()[0],
        "source": source_state(),
    }


def figure_key(record):
    return next(key for key in FIGURES if key in record)


def aggregate(records, key):
    values = [r[key] for r in records]
    if records and records[0].get("aggregate") == "max":
        return max(values)
    return statistics.median(values)


def fmt(value, digits=3):
    if value is None:
        return "-"
    return f"{value:.{digits}g}" if abs(value) < 10 ** digits else f"{value:.0f}"


class Summary:
    def __init__(self, lines):
        self.meta = []
        # (bench, threads) -> impl -> records, in the order the benches first ran
        self.groups = {}
        for line in lines:
            line = line.strip()
            if not line:
                continue
            record = json.loads(line)
            if "meta" in record:
                self.meta.append(record)
                continue
            group = self.groups.setdefault((record["bench"], record["threads"]), {})
            group.setdefault(record["impl"], []).append(record)
        self.peak = {threads: aggregate(impls[MACHINE], "gflops")
                     for (bench, threads), impls in self.groups.items() if MACHINE in impls}

    def figure(self, bench, threads, impl):
        records = self.groups.get((bench, threads), {}).get(impl)
        return aggregate(records, figure_key(records[0])) if records else None

    def goals(self, bench, threads, ours, ratio):
        """The goals our lines carry, each as text with its verdict."""
        record = self.groups[(bench, threads)][OURS][0]
        verdicts = []

        def judge(text, met):
            verdicts.append(f"{text} {'met' if met else 'MISSED'}")

        if "goal_max_us" in record:
            judge(f"<={fmt(record['goal_max_us'])}us", ours <= record["goal_max_us"])
        if "goal_min_ratio" in record and ratio is not None:
            judge(f"ratio>={fmt(record['goal_min_ratio'])}", ratio >= record["goal_min_ratio"])
        if "goal_min_peak_share" in record and threads in self.peak:
            share = ours / self.peak[threads]
            judge(f"peak {100 * share:.0f}%>={100 * record['goal_min_peak_share']:.0f}%",
                  share >= record["goal_min_peak_share"])
        one_thread = self.figure(bench, 1, OURS)
        if "goal_min_scaling" in record and threads > 1 and one_thread is not None:
            key = figure_key(record)
            scaling = ours / one_thread if FIGURES[key][1] else one_thread / ours
            judge(f"vs 1 thread {fmt(scaling)}x>={fmt(record['goal_min_scaling'])}",
                  scaling >= record["goal_min_scaling"])
        return "; ".join(verdicts)

    def rows(self):
        first_seen = {}
        for bench, _ in self.groups:
            first_seen.setdefault(bench, len(first_seen))

        def order(item):
            (bench, threads), _ = item
            return first_seen[bench], threads

        for (bench, threads), impls in sorted(self.groups.items(), key=order):
            if OURS not in impls:
                continue
            key = figure_key(impls[OURS][0])
            unit, higher_is_better = FIGURES[key]
            ours = self.figure(bench, threads, OURS)
            peer = self.figure(bench, threads, PEER)
            ratio = None
            if peer is not None:
                ratio = ours / peer if higher_is_better else peer / ours

            def share_of_peak(value):
                if key != "gflops" or value is None or threads not in self.peak:
                    return "-"
                return f"{100 * value / self.peak[threads]:.0f}%"

            def median_of(impl, key, digits=3):
                records = impls.get(impl)
                return fmt(statistics.median(r[key] for r in records), digits) if records else "-"

            yield [bench, str(threads), unit, fmt(ours), fmt(peer), fmt(ratio),
                   share_of_peak(ours), share_of_peak(peer),
                   median_of(OURS, "peak_rss_mb"), median_of(PEER, "peak_rss_mb"),
                   f"{median_of(OURS, 'spread_pct', 2)}/{median_of(PEER, 'spread_pct', 2)}",
                   str(len(impls[OURS])),
                   self.goals(bench, threads, ours, ratio)]

    def print(self, out):
        for record in self.meta:
            out.write(f"{record['meta']}: {record['date']}  {record['cpu']} (family/model "
                      f"{record['cpu_family_model']}), {record['cpus']} cpus, load average "
                      f"{record['loadavg_1m']:.2f}, source {record['source']}\n")
        for threads, peak in sorted(self.peak.items()):
            out.write(f"measured FMA peak, {threads} thread(s): {fmt(peak, 4)} GFLOP/s (fp32)\n")
        peers = {(r.get("torch", "?"), r.get("blas", "?"), r.get("blas_core", "-"))
                 for impls in self.groups.values() for r in impls.get(PEER, [])}
        for torch, blas, core in sorted(peers):
            out.write(f"pytorch {torch}, BLAS {blas}, OpenBLAS core {core}\n")
            if "openblas" not in blas:
                out.write("WARNING: PyTorch is not running on OpenBLAS: its GEMM figure is not a "
                          "fair one (install libopenblas0-pthread)\n")
        out.write("\nratio > 1: bayesgrad is better (time: pytorch/bayesgrad; GFLOP/s: "
                  "bayesgrad/pytorch). Figures: medians over rounds.\n\n")
        header = ["bench", "thr", "unit", "bayesgrad", "pytorch", "ratio", "%peak bg", "%peak pt",
                  "rss MB bg", "rss MB pt", "spread% bg/pt", "rounds", "goals"]
        table = [header] + list(self.rows())
        widths = [max(len(row[i]) for row in table) for i in range(len(header) - 1)]
        for row in table:
            cells = [cell.ljust(width) for cell, width in zip(row, widths)]
            out.write("  ".join(cells + [row[-1]]).rstrip() + "\n")


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--meta":
        print(json.dumps(meta(sys.argv[2])))
        return
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    with open(sys.argv[1]) as results:
        Summary(results).print(sys.stdout)


if __name__ == "__main__":
    main()
