"""The machine the benchmark runs on, and how much of it other processes used while it ran.

A verdict (target met or missed) is only worth printing when the benchmark had the machine to
itself. The load average says little about that: it counts runnable tasks, decays over minutes and
includes our own processes. So each part measures it directly, from the kernel's counters: all busy
CPU time (/proc/stat) over the part, minus the CPU time of this benchmark's own process tree (this
process, its children and theirs: the app processes, the gunicorn masters and workers, the FHIR test
server), read from /proc/<pid>/stat at the start and at the end of the part.
"""

from __future__ import annotations

import contextlib
import os
import platform
import time
from dataclasses import dataclass
from pathlib import Path

# Other processes may use this share of one core, on average over a part, before its verdicts are
# withheld. A test suite of another worktree uses a whole core; 10% of a core is a couple of idle
# editors, shells and daemons, which move a 2-core machine's figures by less than the run-to-run
# spread. Above it, two runs of the same code no longer agree, so a "met" or "missed" would be noise.
BUSY_OTHERS_CORE_FRACTION = 0.10

# Parts whose figures other processes' CPU use cannot move (resident memory): they keep their verdict.
UNAFFECTED_BY_LOAD = frozenset({"memory"})

_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
# /proc/stat "cpu" columns that are work: user nice system (idle iowait) irq softirq steal. Guest time
# is already inside user and nice. Steal is time the hypervisor gave our cores to someone else: it
# disturbs the figures like a busy neighbour does, so it counts as "others".
_BUSY_COLUMNS = (0, 1, 2, 5, 6, 7)
_STEAL_COLUMN = 7


def describe() -> str:
    model = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    mem = ""
    with contextlib.suppress(OSError, ValueError, IndexError):
        kb = int(Path("/proc/meminfo").read_text().split("\n")[0].split()[1])
        mem = f", {kb / 1024 / 1024:.1f} GiB RAM"
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return (f"{model}, {os.cpu_count()} cores ({usable} usable){mem}; {platform.system()} {platform.release()}; "
            f"Python {platform.python_version()} ({platform.python_implementation()})")


def load_average() -> list[float]:
    """The 1-, 5- and 15-minute load averages ([] where /proc/loadavg is missing)."""
    with contextlib.suppress(OSError, ValueError):
        return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]
    return []


def _system_ticks() -> tuple[int, int]:
    """(busy, steal) ticks of all CPUs together since boot."""
    columns = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return sum(columns[i] for i in _BUSY_COLUMNS if i < len(columns)), columns[_STEAL_COLUMN]


def _stat_fields(pid: str) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:  # gone since the directory was listed
        return None
    # The command name (field 2) is in parentheses and may hold spaces: split after the last ')'.
    return text[text.rindex(")") + 2:].split()


def tree_ticks(root: int | None = None) -> int:
    """CPU ticks used by `root` (default: this process) and every descendant, living or reaped.

    Each process counts its own user+system time and its reaped children's (cutime+cstime), so a
    child that exits between two readings moves its time into its parent's count: the sum only grows.
    """
    root = root or os.getpid()
    parent_of: dict[int, int] = {}
    ticks_of: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        fields = _stat_fields(entry)
        if fields is None:
            continue
        # After the name: state(0) ppid(1) ... utime(11) stime(12) cutime(13) cstime(14)
        parent_of[int(entry)] = int(fields[1])
        ticks_of[int(entry)] = sum(int(x) for x in fields[11:15])
    children: dict[int, list[int]] = {}
    for pid, ppid in parent_of.items():
        children.setdefault(ppid, []).append(pid)
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += ticks_of.get(pid, 0)
        todo.extend(children.get(pid, ()))
    return total


@dataclass
class Check:
    """What the machine did during one part of the benchmark."""
    part: str
    seconds: float
    all_cores: float      # busy CPU seconds of the whole machine, per second of the part
    ours: float           # of which this benchmark's process tree
    others: float         # the rest: other processes (and steal), in cores
    steal: float
    load_start: list[float]
    load_end: list[float]

    @property
    def busy(self) -> bool:
        return self.others > BUSY_OTHERS_CORE_FRACTION

    def line(self, cpu_bound: bool = True) -> str:
        """The verdict line under a part; `cpu_bound=False` for figures other processes cannot move."""
        load = f"load average {_fmt_load(self.load_start)} -> {_fmt_load(self.load_end)}"
        figures = (f"over {self.seconds:.1f} s all processes used {self.all_cores:.2f} cores, this benchmark "
                   f"{self.ours:.2f}, others {self.others:.0%} of a core (steal {self.steal:.0%}); {load}")
        if self.busy and not cpu_bound:
            return f"Machine check: busy, but these figures do not depend on other processes' CPU use; {figures}"
        if self.busy:
            return f"**NO VERDICT: machine busy (others used {self.others:.0%} of a core)**; {figures}"
        return f"Machine check: quiet enough (others <= {BUSY_OTHERS_CORE_FRACTION:.0%} of a core); {figures}"

    def as_dict(self) -> dict:
        return {"part": self.part, "seconds": self.seconds, "all_cores": self.all_cores, "ours": self.ours,
                "others": self.others, "steal": self.steal, "busy": self.busy,
                "threshold": BUSY_OTHERS_CORE_FRACTION, "load_start": self.load_start, "load_end": self.load_end}


def _fmt_load(load: list[float]) -> str:
    return " ".join(f"{x:.2f}" for x in load) or "unknown"


class Watch:
    """`with Watch("part") as w: ...` then `w.check`: the machine's CPU use during the block."""

    def __init__(self, part: str):
        self.part = part
        self.check: Check | None = None

    def __enter__(self) -> Watch:
        self._load = load_average()
        self._t = time.monotonic()
        self._system, self._steal = _system_ticks()
        self._ours = tree_ticks()
        return self

    def __exit__(self, *exc) -> None:
        ours = tree_ticks()
        system, steal = _system_ticks()
        seconds = max(1e-9, time.monotonic() - self._t)
        all_cores = (system - self._system) / _TICK / seconds
        mine = (ours - self._ours) / _TICK / seconds
        self.check = Check(self.part, seconds, all_cores, mine, max(0.0, all_cores - mine),
                           (steal - self._steal) / _TICK / seconds, self._load, load_average())
