"""The fan-in: many folders of ledgers (one per CI job) merged into one, all or nothing.

``plan_merge`` verifies every ledger under the incoming folders and the published copy
of each in the destination (one process, each file streamed once by
``ledger.verify_ledger``; the record schema on the records new to the destination) and
decides, ledger by ledger, what the destination gets (``status.MergeOutcome``).
``apply_merge`` writes the plan: nothing unless every ledger verified and no two chains
diverged; each file replaced atomically (a temporary file in the same
folder, fsync, rename). The rules are documented in docs/reference/fleets.md.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from ..ledger import Verification, verify_ledger
from ..ledger.record_schema import line_problem
from ..status import MergeOutcome
from .collect import find_ledgers


@dataclass(frozen=True)
class Chain:
    """One verified copy of a ledger: where it is and the hashes of its records, oldest first."""

    path: Path
    hashes: tuple[str, ...]
    #: the file's size in bytes when it verified (the merge copies exactly these bytes), and
    #: its inode, modification time and size then (a file changed since is not copied)
    size: int = 0
    stamp: tuple[int, int, int] = (0, 0, 0)

    def holds(self, other: Chain) -> bool:
        """Whether ``other``'s chain is a prefix of this one (or the same): its newest hash
        is this chain's at the same position (each hash covers the one before, so the
        whole prefix is equal)."""
        n = len(other.hashes)
        return n <= len(self.hashes) and (n == 0 or self.hashes[n - 1] == other.hashes[-1])


@dataclass(frozen=True)
class Step:
    """What the merge does with one ledger: ``outcome``, and the file whose bytes the
    destination ends up with (``source``; the destination's own for ``unchanged``/``stale``)."""

    rel: PurePosixPath
    outcome: MergeOutcome
    source: Path
    #: the bytes of ``source`` that verified, and its inode, modification time and size then
    size: int
    stamp: tuple[int, int, int]
    #: how many records the destination's copy had before (0: none) and has after
    before: int
    after: int


@dataclass
class MergePlan:
    """The merge of the incoming folders into ``into``: a step per ledger, or the problems
    that refuse it (then nothing is written)."""

    into: Path
    steps: list[Step] = field(default_factory=list)
    #: ``path:N: problem`` lines: a ledger that fails verification, or two chains that diverged
    problems: list[str] = field(default_factory=list)
    #: how many ledger files were verified (incoming and destination copies)
    verified: int = 0

    @property
    def ok(self) -> bool:
        """Whether the merge may be written (no problem found)."""
        return not self.problems

    def summary(self) -> str:
        """One line: how many ledgers and what happened to them (``merged 3 ledger(s) into DIR: 1 new, ...``)."""
        counts = {o: sum(s.outcome == o for s in self.steps) for o in MergeOutcome}
        parts = ", ".join(f"{n} {o.value}" for o, n in counts.items() if n)
        return f"merged {len(self.steps)} ledger(s) into {self.into}: {parts or 'nothing to do'}"


def _verify(path: Path, problems: list[str]) -> Chain | None:
    """``path``'s hashes and chain verified, as a ``Chain`` (the record schema is checked
    later, and only on the records new to the destination: ``_schema_from``); ``None``, with
    its ``path:N: problem`` added to ``problems``, when it does not verify or cannot be read."""
    try:
        st = path.stat()
        result: Verification = verify_ledger(path, validate_schema=False)
    except OSError as exc:
        problems.append(f"{path}: cannot read it ({exc.strerror or exc})")
        return None
    if not result.ok:
        problems.append(str(result))
        return None
    return Chain(path, result.hashes, st.st_size, (st.st_ino, st.st_mtime_ns, st.st_size))


def _schema_from(chain: Chain, first: int) -> str | None:
    """The first of ``chain``'s records from line ``first + 1`` on that does not match the
    record schema, as ``path:N: problem`` (``None``: all match). The file is streamed: its
    lines before ``first + 1`` are only counted."""
    n = 0
    with open(chain.path, "rb") as f:
        for raw in f:
            n += 1
            if n <= first:
                continue
            problem = line_problem(raw)
            if problem is not None:
                return f"{chain.path}:{n}: {problem}"
    return None


def _diverged(a: Chain, b: Chain) -> str:
    """The problem of two chains of one ledger of which neither holds the other: both files and the first line that differs."""
    line = next(i for i, (x, y) in enumerate(zip(a.hashes, b.hashes, strict=False)) if x != y) + 1
    return (
        f"{a.path}:{line} and {b.path}:{line}: the chains diverged at line {line} (neither holds the other: records "
        "were rewritten or two runs appended to different copies); nothing was merged"
    )


def plan_merge(incoming: Sequence[Path], into: Path, progress: Callable[[int, int], None] | None = None) -> MergePlan:
    """What merging the ledgers under the ``incoming`` folders into ``into`` does (reads only).

    Ledgers are found by ``collect.find_ledgers`` (``<id>.jsonl`` and ``<id>/<target>.jsonl``)
    and matched by relative path. Every copy's hashes and chain are verified in full; the
    record schema is checked on the records the destination does not hold yet (those it
    holds were checked when they were published, and their hashes prove them unchanged).
    For each ledger the newest chain wins, starting from the destination's copy: an
    incoming copy that extends it replaces it, one it already holds (the same chain or a
    prefix of it) is ignored, one that diverged from it is a problem naming both files and
    the first differing line. Several incoming folders may hold copies of one ledger (every
    job fetched the published ledgers): the same rule folds them in folder order.
    ``progress(done, total)`` is called after each file verified. Raises ``OSError`` when
    a folder cannot be listed.
    """
    into = Path(into)
    plan = MergePlan(into)
    copies: dict[PurePosixPath, list[Path]] = {}
    for folder in incoming:
        for found in find_ledgers(Path(folder)):
            copies.setdefault(found.rel, []).append(found.path)
    total = sum(len(v) for v in copies.values()) + sum((into / str(rel)).is_file() for rel in copies)
    for rel in sorted(copies, key=str):
        mine = into / str(rel)
        best: Chain | None = None
        if mine.is_file() or mine.is_symlink():
            best = _verify(mine, plan.problems)
            plan.verified += 1
            if progress:
                progress(plan.verified, total)
            if best is None:
                continue
        before = best
        clash = False
        lengths: list[int] = []
        for path in copies[rel]:
            chain = _verify(path, plan.problems)
            lengths.append(len(chain.hashes) if chain else 0)
            plan.verified += 1
            if progress:
                progress(plan.verified, total)
            if chain is None:
                clash = True
            elif best is None or chain.holds(best):
                best = chain if best is None or len(chain.hashes) > len(best.hashes) else best
            elif not best.holds(chain):
                plan.problems.append(_diverged(best, chain))
                clash = True
        if clash or best is None:
            continue
        if before is None:
            outcome = MergeOutcome.NEW
        elif best is before:
            outcome = MergeOutcome.STALE if any(n < len(before.hashes) for n in lengths) else MergeOutcome.UNCHANGED
        else:
            outcome = MergeOutcome.EXTENDED
        n_before = len(before.hashes) if before else 0
        if outcome in (MergeOutcome.NEW, MergeOutcome.EXTENDED) and (problem := _schema_from(best, n_before)) is not None:
            plan.problems.append(problem)
            continue
        plan.steps.append(Step(rel, outcome, best.path, best.size, best.stamp, n_before, len(best.hashes)))
    return plan


def apply_merge(plan: MergePlan) -> int:
    """Write ``plan``: each ``new`` or ``extended`` ledger copied into ``plan.into`` through a
    temporary file in its folder (exactly the bytes that verified, the source's inode,
    modification time and size checked unchanged after the copy; fsync'd, renamed over the old copy, so a reader sees the old chain or
    the new one, never half of one). Returns how many files were
    written. Raises ``ValueError`` for a plan with problems (nothing may be written), and
    ``OSError`` when a file cannot be written (the ones written before stay: each is a
    verified chain that holds the one it replaced)."""
    if not plan.ok:
        raise ValueError("a merge with problems writes nothing")
    written = 0
    for step in plan.steps:
        if step.outcome not in (MergeOutcome.NEW, MergeOutcome.EXTENDED):
            continue
        dest = plan.into / str(step.rel)
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent)
        try:
            with os.fdopen(fd, "wb") as out, open(step.source, "rb") as src:
                left = step.size
                while left and (chunk := src.read(min(left, 1 << 20))):
                    out.write(chunk)
                    left -= len(chunk)
                out.flush()
                os.fsync(out.fileno())
            st = step.source.stat()
            if left or (st.st_ino, st.st_mtime_ns, st.st_size) != step.stamp:
                raise OSError(f"{step.source}: the file changed after it was verified; nothing of it was merged")
            os.replace(tmp, dest)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        written += 1
    return written
