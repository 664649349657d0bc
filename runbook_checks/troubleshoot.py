"""Failures -> the runbook's troubleshooting entries that explain them (pure): a failed
block's result, a refused gate's message, and the answers of ``diagnose``'s checks.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

from .errors import GateRefused
from .model import BlockResult, Runbook, RunRecord, TroubleshootingEntry
from .status import BlockStatus

#: the block statuses an entry can explain: the block ran and did not pass
EXPLAINED = (BlockStatus.FAILED, BlockStatus.TIMED_OUT)

MATCH_TIMEOUT_S = 1.0


def applies(entry: TroubleshootingEntry, block_id: str | None, text: str, exit_code: int | None) -> bool:
    """Whether ``entry`` explains a failure of ``block_id`` with this text and exit code."""
    if not (entry.match or entry.exit_codes or entry.blocks):
        return False
    if entry.blocks and block_id not in entry.blocks:
        return False
    if entry.exit_codes and exit_code not in entry.exit_codes:
        return False
    return not entry.match or search(entry.match, text)


def explain(runbook: Runbook, result: BlockResult) -> BlockResult:
    """The result with the ids of the entries that explain it (failures only)."""
    if result.status not in EXPLAINED or not runbook.entries:
        return result
    text = failure_text(result)
    ids = tuple(e.id for e in runbook.entries if applies(e, result.id, text, result.exit_code))
    return replace(result, troubleshooting=ids) if ids else result


def failure_text(result: BlockResult) -> str:
    """What entries' ``match=`` is searched in: the block's redacted output and the reason it failed."""
    return f"{result.output}\n{result.reason or ''}"


def for_message(runbook: Runbook, message: str) -> list[TroubleshootingEntry]:
    """Entries whose pattern explains a refusal message (missing secret, wrong token...)."""
    return [e for e in runbook.entries if e.match and not e.blocks and not e.exit_codes and search(e.match, message)]


def search(pattern: str, text: str) -> bool:
    """Whether ``pattern`` matches ``text`` (multi-line); one that backtracks past a second does not."""
    import regex  # only when an entry has a pattern to match

    try:
        return regex.search(pattern, text, regex.M, timeout=MATCH_TIMEOUT_S) is not None
    except TimeoutError:
        return False


def diagnosis(runbook: Runbook, result: BlockResult, owner: TroubleshootingEntry) -> list[TroubleshootingEntry]:
    """The entries a failed diagnostic check (``result``, a check in ``owner``'s section)
    names, matched on that check's own output and reason (``failure_text``) only:

    - ``owner`` when its ``match=`` is found there (or it has none);
    - every entry with no diagnostic check of its own that ``applies`` to the failure (a
      wrong password fails the reachability check with the text the "wrong secret" entry
      matches); an entry with diagnostics of its own is judged by those, never here;
    - when neither names one, ``owner``: its check failed in a way no pattern foresaw.
    """
    text = failure_text(result)
    found = [owner] if owner.match is None or search(owner.match, text) else []
    found += [e for e in runbook.entries if e is not owner and not e.diagnostics and applies(e, result.id, text, result.exit_code)]
    return found or [owner]


@functools.cache
def _line_patterns() -> tuple[Any, Any]:
    """``(noise, error words)``, compiled once when a failure is first explained (the
    ``regex`` package is imported only then: a passing run never needs it). Noise: lines a
    runtime prints around an error that say nothing about it: Node's version banner, stack
    frames, the source line and caret of an uncaught error, an error object's fields."""
    import regex

    noise = regex.compile(
        r"""^\s*(?:$|Node\.js\ v\d|at\ \S|\^+\s*$|[{}\[\]],?\s*$|(?:file://)?/\S+:\d+(?::\d+)?\s*$
                        |Traceback\ \(most\ recent|File\ "|\.\.\.\ \d+\ more|throw\ |await\ )""",
        regex.X,
    )
    error_words = regex.compile(
        r"(?i)\b(?:error|fail(?:ed|ure)?|fatal|refused|denied|cannot|can't|could\ not|unable|does\ not\ exist|"
        r"not\ found|timed?\ ?out|invalid|unreachable|P\d{4})\b",
        regex.X,
    )
    return noise, error_words


def summary_line(result: BlockResult, patterns: list[str] = ()) -> str:
    """The line that says what went wrong: the first line an entry's pattern in ``patterns``
    matches, else the first meaningful line with an error word (not a runtime's banner such
    as ``Node.js v20``, a stack frame or a caret), else the last meaningful line, else the
    result's reason or status."""
    noise, error_words = _line_patterns()
    lines = [line.strip() for line in result.output.splitlines() if not noise.match(line)]
    for pattern in patterns:
        if (hit := next((line for line in lines if search(pattern, line)), None)) is not None:
            return hit
    return (
        next((line for line in lines if error_words.search(line)), None) or (lines[-1] if lines else None) or result.reason or result.status
    )


def entry_reference(runbook: Runbook, entry: TroubleshootingEntry, width: int = 240) -> str:
    """``see: Title — path:line (#id)``, then the entry's advice on its own indented line,
    cut to ``width`` characters (with ``…``); what a failure report or a refusal points to."""
    advice = entry.advice if len(entry.advice) <= width else entry.advice[: width - 1] + "…"
    return f"see: {entry.title} — {runbook.path}:{entry.line} (#{entry.id})" + (f"\n      {advice}" if advice else "")


def entry(runbook: Runbook, entry_id: str) -> TroubleshootingEntry:
    """The runbook's entry with id ``entry_id``; raises ``StopIteration`` when there is none."""
    return next(e for e in runbook.entries if e.id == entry_id)


@contextlib.contextmanager
def refusals_explained(runbook: Runbook) -> Iterator[None]:
    """A ``GateRefused`` raised inside also names the runbook's entries that explain its
    message (``for_message``), one ``entry_reference`` per line; re-raised as ``GateRefused``."""
    try:
        yield
    except GateRefused as exc:
        hints = "".join(f"\n  {entry_reference(runbook, e)}" for e in for_message(runbook, str(exc)))
        raise GateRefused(f"{exc}{hints}") from None


def diagnostic_checks(runbook: Runbook) -> dict[str, TroubleshootingEntry]:
    """``{block id: entry}`` for every diagnostic check an entry lists (``diagnostics=``)."""
    return {block_id: e for e in runbook.entries for block_id in e.diagnostics}


@dataclass(frozen=True)
class Answer:
    """What one diagnostic check that did not pass says."""

    result: BlockResult
    #: the entries it names (empty: it did not run, e.g. a ``needs=`` check failed first)
    entries: tuple[TroubleshootingEntry, ...]
    #: the output line that says what went wrong (``summary_line``); ``None`` when it did not run
    evidence: str | None


@dataclass(frozen=True)
class Diagnosis:
    """The answers of ``diagnose``'s checks, and the entries that apply."""

    #: one per diagnostic check that did not pass, in run order
    answers: tuple[Answer, ...]
    #: the entries that apply, each once, in the order first named
    found: tuple[TroubleshootingEntry, ...]
    #: how many diagnostic checks passed
    passed: int


def diagnose(runbook: Runbook, record: RunRecord) -> Diagnosis:
    """The entries that apply, from a run of the runbook's diagnostic checks (``record``):
    each failed or timed-out check names the entries ``diagnosis`` finds; a check that did
    not run says nothing."""
    checks = diagnostic_checks(runbook)
    answers: list[Answer] = []
    found: list[TroubleshootingEntry] = []
    for result in record.blocks:
        if result.id not in checks or result.status == BlockStatus.PASSED:
            continue
        if result.status not in EXPLAINED:  # needs= a check that failed: not run, so it says nothing
            answers.append(Answer(result, (), None))
            continue
        matched = diagnosis(runbook, result, checks[result.id])
        found += [e for e in matched if e not in found]
        answers.append(Answer(result, tuple(matched), summary_line(result, [e.match for e in matched if e.match])))
    passed = sum(1 for r in record.blocks if r.id in checks and r.status == BlockStatus.PASSED)
    return Diagnosis(tuple(answers), tuple(found), passed)
