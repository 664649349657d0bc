"""Failures -> the runbook's troubleshooting entries that explain them (pure)."""

from __future__ import annotations

from dataclasses import replace

import regex

from .model import FAILED, TIMED_OUT, BlockResult, Entry, Runbook

MATCH_TIMEOUT_S = 1.0


def applies(entry: Entry, block_id: str | None, text: str, exit_code: int | None) -> bool:
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
    if result.status not in (FAILED, TIMED_OUT) or not runbook.entries:
        return result
    text = failure_text(result)
    ids = tuple(e.id for e in runbook.entries if applies(e, result.id, text, result.exit_code))
    return replace(result, troubleshooting=ids) if ids else result


def failure_text(result: BlockResult) -> str:
    """What entries' ``match=`` is searched in: the block's redacted output and the reason it failed."""
    return f"{result.output}\n{result.reason or ''}"


def for_message(runbook: Runbook, message: str) -> list[Entry]:
    """Entries whose pattern explains a refusal message (missing secret, wrong token...)."""
    return [e for e in runbook.entries if e.match and not e.blocks and not e.exit_codes and search(e.match, message)]


def search(pattern: str, text: str) -> bool:
    """Whether ``pattern`` matches ``text`` (multi-line); one that backtracks past a second does not."""
    try:
        return regex.search(pattern, text, regex.M, timeout=MATCH_TIMEOUT_S) is not None
    except TimeoutError:
        return False


def describe(runbook: Runbook, entry: Entry, width: int = 240) -> str:
    advice = entry.advice if len(entry.advice) <= width else entry.advice[: width - 1] + "…"
    return f"see: {entry.title} — {runbook.path}:{entry.line} (#{entry.id})" + (f"\n      {advice}" if advice else "")


def entry(runbook: Runbook, entry_id: str) -> Entry:
    return next(e for e in runbook.entries if e.id == entry_id)
