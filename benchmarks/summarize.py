"""Median and spread of every figure over several benchmark runs (`bench.py --json`).

    for i in 1 2 3 4 5; do python -m benchmarks.bench --json /tmp/run$i.json; done
    python -m benchmarks.summarize /tmp/run*.json [--exclude-busy]

Issue 14 asks for every figure of its table as the median of at least 5 runs, with the spread.
This prints that table (median, min-max, how many runs, how many of them ran on a busy machine,
the target and a verdict on the median), then every other figure the runs have in common. A
figure from a part that ran on a busy machine withholds the verdict on the median, unless
`--exclude-busy` leaves those runs out (then the verdict is on the quiet runs only).
Memory figures do not depend on other processes' CPU use and are never counted as busy.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys

from benchmarks.machine import UNAFFECTED_BY_LOAD
from benchmarks.report import Target, table

MIN_RUNS = 5  # issue 14: "median of at least 5 runs, with the spread"


def _busy(run: dict, figure: str) -> bool:
    part = figure.split(".", 1)[0]
    return part not in UNAFFECTED_BY_LOAD and run["parts"].get(part, {}).get("check", {}).get("busy", False)


def _x(value: float) -> str:
    return f"{value:.2f}"


def headline_rows(runs: list[dict], exclude_busy: bool) -> list[list[str]]:
    rows = []
    for k, first in enumerate(runs[0]["headline"]):
        items = [run["headline"][k] for run in runs if run["headline"][k]["value"] is not None]
        busy = sum(1 for i in items if i["busy"])
        used = [i for i in items if not (exclude_busy and i["busy"])]
        target = Target(first["target"], first["higher_is_better"])
        if not used:
            rows.append([first["label"], "-", "-", str(len(items)), str(busy), target.text(),
                         "not run" if not items else "NO VERDICT (every run busy)"])
            continue
        values = [i["value"] for i in used]
        mid = statistics.median(values)
        if any(i["busy"] for i in used):
            verdict = f"NO VERDICT ({busy} of {len(items)} runs busy)"
        else:
            verdict = "met" if target.met(mid) else "missed"
        if len(used) < MIN_RUNS:
            verdict += f"; only {len(used)} run(s), the issue asks for {MIN_RUNS}"
        rows.append([first["label"], f"**{_x(mid)}x**", f"{_x(min(values))}-{_x(max(values))}", str(len(used)),
                     str(busy), target.text(), verdict])
    return rows


def figure_rows(runs: list[dict], exclude_busy: bool) -> list[list[str]]:
    names = sorted(set.intersection(*(set(run["figures"]) for run in runs)))
    rows = []
    for name in names:
        pairs = [(run["figures"][name], _busy(run, name)) for run in runs]
        values = [v for v, b in pairs if not (exclude_busy and b)]
        if not values:
            continue
        rows.append([name, _x(statistics.median(values)), f"{_x(min(values))}-{_x(max(values))}", str(len(values)),
                     str(sum(1 for _, b in pairs if b))])
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.summarize", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", help="JSON files written by python -m benchmarks.bench --json")
    parser.add_argument("--exclude-busy", action="store_true",
                        help="leave out figures of parts that ran on a busy machine")
    args = parser.parse_args(argv)
    runs = []
    for path in args.runs:
        with open(path) as f:
            runs.append(json.load(f))
    if len({len(run["headline"]) for run in runs}) != 1:
        raise SystemExit("the runs come from different versions of the benchmark")
    # Where each run wrote its JSON is no difference between runs.
    commands = sorted({re.sub(r"\s--json(=|\s+)\S+", "", run["command"]) for run in runs})
    print(f"# {len(runs)} benchmark runs, {min(r['started'] for r in runs)} to {max(r['started'] for r in runs)}\n")
    print(f"Machine: {'; '.join(sorted({run['machine'] for run in runs}))}  ")
    print("Commands: " + "; ".join(f"`{c}`" for c in commands) + ("  (they differ!)" if len(commands) > 1 else ""))
    busy_runs = sum(1 for run in runs if any(p not in UNAFFECTED_BY_LOAD and v["check"]["busy"]
                                             for p, v in run["parts"].items()))
    print(f"Runs with at least one busy part: {busy_runs} of {len(runs)}"
          + (" (left out of the figures they touch)" if args.exclude_busy else "") + "\n")
    print("## Issue 14's table: median over the runs, spread = min-max\n")
    print(table(["measure", "median", "spread", "runs", "busy runs", "new target", "verdict"],
                headline_rows(runs, args.exclude_busy), "lrrrrrl"))
    print("\n## Every figure\n")
    print(table(["figure", "median", "spread", "runs", "busy runs"], figure_rows(runs, args.exclude_busy), "lrrrr"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
