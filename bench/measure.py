"""Whole-process measurements for `bench/run.py`: one subprocess per sample, repetitions interleaved.

Each sample is a process started with `subprocess.Popen` and reaped with `os.wait4`, which gives
that process tree's own resource usage: wall time (perf_counter around the process), peak RSS
(the largest single process it waited for) and the exit code. Output goes to a log file, never to
a pipe the bench would have to drain. `interleave` runs rep 1 of every case, then rep 2, ... with
the order rotated each rep, after one warm-up each, so that ratios compare runs made seconds apart.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Sample:
    """One measured process: wall seconds, peak RSS in MB, exit code, whether its output was as expected."""

    wall: float
    rss_mb: float
    rc: int
    ok: bool


@dataclass
class Case:
    """A command to measure: its name, argv, working directory, extra environment and a check of its output.

    ``expect`` is a regular expression the process's output must match; ``fresh`` names a
    directory (relative to ``cwd``) removed before every sample, e.g. a results directory.
    """

    name: str
    cmd: list[str]
    cwd: Path
    env: dict[str, str] = field(default_factory=dict)
    expect: str | None = None
    fresh: str | None = None


FAILURES: list[str] = []  # "name: exit N, log PATH" of every sample that did not run as expected


def loadavg() -> str:
    """The 1, 5 and 15 minute load averages, as /proc/loadavg gives them."""
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "n/a"


def run_process(case: Case, logfile: Path) -> Sample:
    """Run CASE to completion, its output into LOGFILE; measure wall time and peak RSS."""
    if case.fresh:
        shutil.rmtree(case.cwd / case.fresh, ignore_errors=True)
    env = dict(os.environ, **case.env)
    with open(logfile, "wb") as out:
        start = time.perf_counter()
        proc = subprocess.Popen(
            [str(c) for c in case.cmd], cwd=case.cwd, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT
        )
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
    proc.returncode = rc = os.waitstatus_to_exitcode(status)
    ok = rc == 0
    if ok and case.expect:
        ok = re.search(case.expect, logfile.read_text(errors="replace")) is not None
    if not ok:
        FAILURES.append(f"{case.name}: exit {rc}, log {logfile}")
        tail = logfile.read_text(errors="replace")[-800:]
        print(f"bench: {case.name}: exit {rc}, output not as expected; log {logfile}\n{tail}", file=sys.stderr)
    return Sample(wall=wall, rss_mb=usage.ru_maxrss / 1024, rc=rc, ok=ok)


def interleave(cases: list[Case], reps: int, logs: Path, label: str = "") -> dict[str, list[Sample]]:
    """Warm each case up once, then run REPS interleaved repetitions; samples by case name."""
    logs.mkdir(parents=True, exist_ok=True)

    def logfile(case: Case) -> Path:
        return logs / (re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{label}-{case.name}") + ".log")

    for case in cases:
        run_process(case, logfile(case))
    samples: dict[str, list[Sample]] = {c.name: [] for c in cases}
    for rep in range(reps):
        print(f"bench: {label} rep {rep + 1}/{reps}, load {loadavg()}", file=sys.stderr, flush=True)
        k = rep % len(cases)
        for case in cases[k:] + cases[:k]:
            samples[case.name].append(run_process(case, logfile(case)))
    return samples


def median_of(samples: list[Sample], value: Callable[[Sample], float] = lambda s: s.wall) -> float:
    """The median of VALUE over the samples that ran as expected (NaN when none did)."""
    good = [value(s) for s in samples if s.ok]
    return statistics.median(good) if good else float("nan")


def paired(a: list[Sample], b: list[Sample], combine: Callable[[Sample, Sample], float]) -> float:
    """The median over repetitions of COMBINE(a[i], b[i]), taken per repetition (NaN when none ran)."""
    values = [combine(x, y) for x, y in zip(a, b, strict=False) if x.ok and y.ok]
    return statistics.median(values) if values else float("nan")


@contextlib.contextmanager
def busy_cores(count: int) -> Iterator[None]:
    """Keep COUNT cores busy with spinning Python processes while the block runs; stop exactly those."""
    procs = [
        subprocess.Popen([sys.executable, "-c", "while True: pass"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        for _ in range(count)
    ]
    try:
        yield
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()
