"""Part `memory`: the peak resident memory of a worker for one request, service against floor.

Per record size and app, a fresh process (benchmarks/child.py: the floor with default GC, the
service readied as a gunicorn worker) builds its app, is handed the 100-resource request and the
measured one, answers the small one (warm-up: lazy imports, validators, the store), collects
garbage, reads its resident set (VmRSS: the baseline) and restarts the kernel's high-water mark
there (/proc/self/clear_refs "5"), answers the measured request once as a WSGI call, and reads the
high-water mark (VmHWM: the peak). A fresh process per figure, so nothing an earlier request left
behind is counted. Not getrusage's ru_maxrss: Linux carries it across fork and exec, so a child
reports its parent's peak until it outgrows it (measured: 75 MB for a 33 MB floor).

Two ratios, service / floor: of the peak (what a worker needs for the request, the issue's figure:
it includes what the service holds before any request) and of the increase over the baseline
(what the request itself costs: the copies of the record alive at once).
"""

from __future__ import annotations

import sys
import tempfile

from benchmarks.child import Child
from benchmarks.inprocess import checked, prefetch_body
from benchmarks.report import Target, table, verdict

# Issue 14, "new target": peak RSS of a worker for one 20,000-resource request / floor's.
TARGETS = {20000: Target(1.3)}
# The figure the target is judged on: the "peak RSS of a worker" (246 / 162 MB when filed),
# which counts what each process holds before the request too; "increase_ratio" would count only
# what the request adds.
HEADLINE = "peak_ratio"
WARM_UP_SIZE = 100


def _one(kind: str, size: int, data_dir: str) -> dict:
    with Child(kind, tempfile.mkdtemp(prefix=f"mem-{kind}-", dir=data_dir)) as child:
        child.send_body(("warm",), prefetch_body(WARM_UP_SIZE))
        child.send_body(("measured",), prefetch_body(size))
        checked(child.call(("warm",), "direct"), kind, WARM_UP_SIZE)
        before = child.ask("reset_peak")
        checked(child.call(("measured",), "direct"), kind, size)
        after = child.ask("memory")
    base, peak = before["rss_kb"] / 1024, after["hwm_kb"] / 1024
    return {"baseline_mb": base, "peak_mb": peak, "increase_mb": peak - base, "peak_reset": before["peak_reset"]}


def run(sizes: list[int], data_dir: str) -> list[dict]:
    rows = []
    for size in sizes:
        floor, service = _one("floor", size, data_dir), _one("service", size, data_dir)
        row = {"size": size, "mb": len(prefetch_body(size)) / 1e6, "floor": floor, "service": service,
               "peak_ratio": service["peak_mb"] / floor["peak_mb"],
               "increase_ratio": service["increase_mb"] / max(floor["increase_mb"], 1e-9)}
        rows.append(row)
        print(f"  [memory] {size}: peak floor {floor['peak_mb']:.0f} MB, service {service['peak_mb']:.0f} MB, "
              f"x{row['peak_ratio']:.2f}; increase {floor['increase_mb']:.0f} / {service['increase_mb']:.0f} MB, "
              f"x{row['increase_ratio']:.2f}", file=sys.stderr, flush=True)
    return rows


def render(rows: list[dict]) -> str:
    head = ("## memory: peak resident memory of one process for one request\n\n"
            "A fresh process per figure: app built, warmed with a 100-resource request, then one request "
            "of the size (direct WSGI call). Baseline = VmRSS before it; peak = the high-water mark "
            "(VmHWM) during it, restarted at the baseline; increase = peak - baseline. The verdict is on the "
            "peak ratio. Memory does not depend on other processes' CPU use, so it gets a verdict even on "
            "a busy machine.\n")
    out = []
    for r in rows:
        f, s = r["floor"], r["service"]
        target = TARGETS.get(r["size"])
        out.append([f"{r['size']:,}", f"{r['mb']:.1f}", f"{f['baseline_mb']:.0f}", f"{s['baseline_mb']:.0f}",
                    f"{f['peak_mb']:.0f}", f"{s['peak_mb']:.0f}", f"**{r['peak_ratio']:.2f}x**",
                    f"{f['increase_mb']:.0f}", f"{s['increase_mb']:.0f}", f"{r['increase_ratio']:.2f}x",
                    target.text() if target else "-", verdict(r[HEADLINE], target, False)])
    if not all(r[who]["peak_reset"] for r in rows for who in ("floor", "service")):
        head += ("\nThe kernel refused to restart the high-water mark: peaks are since each process "
                 "started.\n")
    return head + "\n" + table(["resources", "body MB", "floor baseline MB", "service baseline MB",
                                "floor peak MB", "service peak MB", "peak service / floor", "floor increase MB",
                                "service increase MB", "increase service / floor", "target", "verdict"], out)
