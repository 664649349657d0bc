"""A cold verification of a large ledger split across the machine's cores: each part of the
file is checked (hashes, chain, record schema) by a process of its own, and the parts are
joined by their boundary lines.

Checking a record's schema costs five times hashing it (``docs/reference/benchmarks.md``),
and every line can be checked alone but for its link to the line before. So a file of at
least ``PART_BYTES`` a part is cut at line starts into one part per core it may use
(``_cores``); this process checks the first part, a worker process (``main``, the same
code: ``scan.scan``) each other. A part ends with the line that starts the next part,
checked in full by its own pass; the next part's pass takes only that line's hash as its
first ``prev`` (its seed), and the join holds only when the seed is the hash the part
before found there. The answer is the sequential pass's, line for line: the first bad line
is that of the first part that has one. When a worker cannot start, fails or answers
otherwise than expected (the file was cut or replaced while read), ``verify_in_parts``
returns ``None`` and the caller verifies the whole file in one pass.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import Collection, Iterable
from pathlib import Path
from typing import Any

from ..proctree import die_with_parent
from .lazy import LazyRecords
from .scan import Part, Verification, scan

#: the least bytes of a part: a worker process starts in about 0.1 s, in which this process checks some 20 MB
PART_BYTES = 64 << 20
#: this module's file: a worker answers only when it runs this very code
_CODE = str(Path(__file__).resolve())
#: the worker's program, run with ``-P`` (no current folder on ``sys.path``: nothing of the
#: folder the ledger is verified in is imported); the package's parent folder comes last on
#: ``sys.path``, for a package that is not installed but on this process's ``sys.path``
_WORKER = f"import sys; sys.path.append({str(Path(_CODE).parents[2])!r}); from runbook_checks.ledger.parts import main; main()"


def verify_in_parts(
    path: Path,
    anchors: Collection[str] = (),
    part_bytes: int | None = None,
    cores: int | None = None,
    python: str | None = sys.executable,
    records: LazyRecords | None = None,
) -> Verification | None:
    """``verify_ledger(path, keep_hashes=False, anchors=anchors, records=records)`` with
    every record's schema checked, in parts of at least ``part_bytes`` bytes
    (``PART_BYTES``), one per core (``cores``: how many, by default ``_cores()``); the
    ``python`` interpreter runs the workers. ``records`` (empty, ``streamed``): the lines
    verified are added to it, each part's as its pass took them (``LazyRecords.to_bytes``).
    ``None`` when the file is too small for two parts, there is no interpreter to start
    (``sys.executable`` unknown, or a frozen program), a worker fails, or the parts do not
    join (see the module), ``records`` left empty: the caller then verifies in one pass.
    Raises ``OSError`` when the file's size cannot be read."""
    size, part_bytes = os.stat(path).st_size, max(part_bytes or PART_BYTES, 1)
    if size < 2 * part_bytes or not python or getattr(sys, "frozen", False):
        return None  # the common case, a small ledger, asks nothing of the machine
    count = min(cores or _cores(), size // part_bytes)
    bounds = _bounds(path, size, count) if count >= 2 else []
    if not bounds:
        return None
    common = {"path": str(path), "anchors": sorted(anchors), "parent": os.getpid(), "code": _CODE, "records": records is not None}
    jobs = [{"start": b, "stop": nxt} | common for b, nxt in zip(bounds, [*bounds[1:], None])]
    workers: list[subprocess.Popen[bytes]] = []
    found: Verification | None = None
    try:
        for job in jobs:
            workers.append(_spawn(python, job))  # type: ignore[arg-type]
        first = Part(0, bounds[0])
        found = scan(path, keep_hashes=False, anchors=anchors, part=first, records=records)
        if found is not None and found.ok:
            answers = (_answer(worker, records) for worker in workers)  # a worker is waited for only when its answer counts
            found = _join(path, found, first.reached, answers)
        return found
    except OSError:
        found = None
        return None
    finally:
        for worker in workers:
            with contextlib.suppress(OSError):
                worker.kill()
            worker.wait()
        if found is None and records is not None:
            records.clear()  # what the parts took before they failed to join


def _cores(cpu_max: Path = Path("/sys/fs/cgroup/cpu.max")) -> int:
    """How many cores this process may use: those it may run on (``os.sched_getaffinity``;
    where there is no such call, the machine's), at most its cgroup's CPU quota (a container's
    ``cpu_max``: ``"QUOTA PERIOD"`` or ``"max PERIOD"``) rounded down, at least one."""
    affinity = getattr(os, "sched_getaffinity", None)
    cores = len(affinity(0)) if affinity is not None else os.cpu_count() or 1
    try:
        quota, period = cpu_max.read_text().split()[:2]
        if quota != "max":
            cores = min(cores, int(quota) // int(period))
    except (OSError, ValueError):
        pass
    return max(cores, 1)


def _bounds(path: Path, size: int, count: int) -> list[int]:
    """The starts of parts 2..``count`` of the file: the first line start after each
    ``size * i / count``, looked for only up to the next such point (so the file is read at
    most once: a part with no line start is left out, and fewer parts remain)."""
    out: list[int] = []
    with open(path, "rb") as f:
        for i in range(1, count):
            at, end = max(size * i // count, 1) - 1, size * (i + 1) // count  # a newline just before the point counts
            f.seek(at)
            while at < end and (chunk := f.read(min(1 << 16, end - at))):
                if (cut := chunk.find(b"\n")) >= 0:
                    if at + cut + 1 < size and (not out or at + cut + 1 > out[-1]):
                        out.append(at + cut + 1)
                    break
                at += len(chunk)
    return out


def _spawn(python: str, job: dict[str, Any]) -> subprocess.Popen[bytes]:
    """A worker checking one part (``main``), its job written to its standard input."""
    worker = subprocess.Popen([python, "-P", "-c", _WORKER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert worker.stdin is not None
    with worker.stdin:
        worker.stdin.write(json.dumps(job).encode())
    return worker


def _answer(worker: subprocess.Popen[bytes], records: LazyRecords | None) -> dict[str, Any] | None:
    """What a worker found (``main``), its lines added to ``records`` (when given), or
    ``None`` when it failed."""
    assert worker.stdout is not None
    try:
        with worker.stdout:
            answer = json.loads(worker.stdout.readline())
            if records is not None:
                records.take(worker.stdout, answer["lines"])
    except (ValueError, TypeError, KeyError):
        return None
    return answer if worker.wait() == 0 else None


def _join(path: Path, first: Verification, reached: bool, answers: Iterable[dict[str, Any] | None]) -> Verification | None:
    """The verification of the whole file from its first part's and the workers' ``answers``,
    in file order, read no further than the first part with a bad line (``None``: they do
    not join, or one failed). ``reached``: the first part read the line the next one starts
    with."""
    before, head, found = first.records - 1, first.head, set(first.found)  # lines before the next part's seed line
    for answer in answers:
        if not reached or answer is None or answer["seed"] != head:
            return None
        if answer["bad_line"] is not None:
            bad = before + answer["bad_line"]
            return Verification(path, bad - 1, bad, answer["problem"], head=answer["head"])
        before, head, reached = before + answer["records"] - 1, answer["head"], answer["reached"]
        found |= set(answer["found"])
    return Verification(path, before + 1, head=head, found=frozenset(found))


def main() -> None:
    """A worker: check the part of a ledger its standard input names (``{"path", "start",
    "stop", "anchors", "parent", "code", "records"}``) and print what it found as a line of
    JSON: its seed, its records (the seed line first), its first bad line and problem, its
    newest hash, the anchors found, whether it reached ``stop`` and how many ``lines`` it
    took; then, when ``records`` is true, those lines (``LazyRecords.to_bytes``: all but the
    seed line, up to the first bad one). Exits 1 when the seed line is no record,
    when the process ``parent`` that started it has ended, or when this is not the module
    ``code`` (another runbook-checks came first on ``sys.path``). Ctrl-C ends it quietly."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    job = json.loads(sys.stdin.buffer.read())
    die_with_parent(job["parent"])
    if job["code"] != _CODE:
        sys.exit(1)
    part, path = Part(job["start"], job["stop"], seeded=True), Path(job["path"])
    records = LazyRecords(path, streamed=True) if job["records"] else None
    found = scan(path, keep_hashes=False, anchors=job["anchors"], part=part, records=records)
    if found is None:
        sys.exit(1)
    answer = {"seed": part.seed, "records": found.records, "bad_line": found.bad_line, "problem": found.problem}
    answer |= {"head": found.head, "found": sorted(found.found), "reached": part.reached, "lines": len(records or ())}
    out = sys.stdout.buffer
    out.write(json.dumps(answer).encode() + b"\n")
    for piece in records.to_bytes() if records is not None else ():
        out.write(piece)
    out.flush()


__all__ = ["PART_BYTES", "main", "verify_in_parts"]
