"""A cold verification of a large ledger split across the machine's cores: each part of the
file is checked (hashes, chain, record schema) by a process of its own, and the parts are
joined by their boundary lines.

Checking a record's schema costs five times hashing it (``docs/reference/benchmarks.md``),
and every line can be checked alone but for its link to the line before. So a file of at
least ``PART_BYTES`` a part is cut at line starts into one part per core (``os.
sched_getaffinity``); this process checks the first part, a worker process (``main``, the
same code: ``scan.scan``) each other. A part ends with the line that starts the next part,
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
import subprocess
import sys
from collections.abc import Collection
from pathlib import Path
from typing import Any

from .scan import Part, Verification, scan

#: the least bytes of a part: a worker process starts in about 0.1 s, in which this process checks some 20 MB
PART_BYTES = 64 << 20
#: the package's parent folder, put first on a worker's ``sys.path`` (the same code as this process's)
_ROOT = str(Path(__file__).resolve().parents[2])
_WORKER = f"import sys; sys.path.insert(0, {_ROOT!r}); from runbook_checks.ledger.parts import main; main()"


def verify_in_parts(
    path: Path, anchors: Collection[str] = (), part_bytes: int | None = None, cores: int | None = None, python: str = sys.executable
) -> Verification | None:
    """``verify_ledger(path, keep_hashes=False, anchors=anchors)`` with every record's schema
    checked, in parts of at least ``part_bytes`` bytes (``PART_BYTES``), one per core (``cores``: how many,
    by default those this process may run on); the ``python`` interpreter runs the workers.
    ``None`` when the file is too small for two parts, or the parts could not be joined (see
    the module): the caller then verifies in one pass. Raises ``OSError`` when the file
    cannot be read."""
    size = os.stat(path).st_size
    count = min(cores or _cores(), size // max(part_bytes or PART_BYTES, 1))
    bounds = _bounds(path, size, count) if count >= 2 else []
    if not bounds:
        return None
    common = {"path": str(path), "anchors": sorted(anchors), "parent": os.getpid()}
    jobs = [{"start": b, "stop": nxt} | common for b, nxt in zip(bounds, [*bounds[1:], None])]
    workers: list[subprocess.Popen[bytes]] = []
    try:
        for job in jobs:
            workers.append(_spawn(python, job))
        first = Part(0, bounds[0])
        found = scan(path, True, None, None, False, anchors, None, None, False, part=first)
        if found is None or not found.ok:
            return found
        return _join(path, found, first.reached, [_answer(w) for w in workers])
    except OSError:
        return None
    finally:
        for worker in workers:
            with contextlib.suppress(OSError):
                worker.kill()
            worker.wait()


def _cores() -> int:
    """How many cores this process may run on (``os.sched_getaffinity``; where there is no
    such call, the machine's)."""
    affinity = getattr(os, "sched_getaffinity", None)
    return len(affinity(0)) if affinity is not None else os.cpu_count() or 1


def _bounds(path: Path, size: int, count: int) -> list[int]:
    """The starts of parts 2..``count`` of the file: the first line start at or after each
    ``size * i / count``, each after the one before (fewer when lines are long)."""
    out: list[int] = []
    with open(path, "rb") as f:
        for i in range(1, count):
            f.seek(max(size * i // count, out[-1] if out else 1) - 1)
            f.readline()  # the rest of the line the cut falls in
            at = f.tell()
            if at < size and (not out or at > out[-1]):
                out.append(at)
    return out


def _spawn(python: str, job: dict[str, Any]) -> subprocess.Popen[bytes]:
    """A worker checking one part (``main``), its job written to its standard input."""
    worker = subprocess.Popen([python, "-c", _WORKER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert worker.stdin is not None
    with worker.stdin:
        worker.stdin.write(json.dumps(job).encode())
    return worker


def _answer(worker: subprocess.Popen[bytes]) -> dict[str, Any] | None:
    """What a worker found (``main``), or ``None`` when it failed."""
    assert worker.stdout is not None
    with worker.stdout:
        out = worker.stdout.read()
    if worker.wait() != 0:
        return None
    try:
        return json.loads(out)
    except ValueError:
        return None


def _join(path: Path, first: Verification, reached: bool, answers: list[dict[str, Any] | None]) -> Verification | None:
    """The verification of the whole file from its first part's and the workers' ``answers``
    (``None``: they do not join, or one failed)."""
    before, head, found = first.records - 1, first.head, set(first.found)  # lines before the next part's seed line
    for i, answer in enumerate(answers):
        if not reached or answer is None or answer["seed"] != head:
            return None
        if answer["bad_line"] is not None:
            bad = before + answer["bad_line"]
            return Verification(path, bad - 1, bad, answer["problem"], head=answer["head"])
        before, head, reached = before + answer["records"] - 1, answer["head"], answer["reached"] or i == len(answers) - 1
        found |= set(answer["found"])
    return Verification(path, before + 1, head=head, found=frozenset(found))


def main() -> None:
    """A worker: check the part of a ledger its standard input names (``{"path", "start",
    "stop", "anchors", "parent"}``) and print what it found as JSON: its seed, its records
    (the seed line first), its first bad line and problem, its newest hash, the anchors
    found and whether it reached ``stop``. Exits 1 when the seed line is no record, or
    the process ``parent`` that started it has ended."""
    job = json.loads(sys.stdin.buffer.read())
    die_with_parent(job["parent"])
    part = Part(job["start"], job["stop"], seeded=True)
    found = scan(Path(job["path"]), True, None, None, False, job["anchors"], None, None, False, part=part)
    if found is None:
        sys.exit(1)
    answer = {"seed": part.seed, "records": found.records, "bad_line": found.bad_line, "problem": found.problem}
    answer |= {"head": found.head, "found": sorted(found.found), "reached": part.reached}
    sys.stdout.write(json.dumps(answer))


def die_with_parent(parent: int) -> None:
    """This process is killed when its parent ends (Linux: ``prctl(PR_SET_PDEATHSIG)``), and
    exits at once when the parent, the process ``parent``, has ended already; Ctrl-C ends it
    quietly. A worker so never checks a part for nobody."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)
    with contextlib.suppress(OSError, AttributeError):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # 1: PR_SET_PDEATHSIG
    if os.getppid() != parent:
        os._exit(1)


__all__ = ["PART_BYTES", "die_with_parent", "main", "verify_in_parts"]
