"""Redacting a run record: its free text masked, its structure kept."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from ..model import BlockResult, RunRecord


def redact_record(record: RunRecord, redact: Callable[[str], str]) -> RunRecord:
    """A copy of a run record whose free text (blocks' output, reasons, expectations'
    actual values) is masked; ids, hashes, times, numbers and statuses stay as they are.
    JSON, JUnit and the step summary are built from it: masking a serialized document
    could mask its syntax (a secret ``false`` or ``testcase``)."""

    def block(b: BlockResult) -> BlockResult:
        expectations = tuple(
            replace(e, actual=masked) if e.actual and (masked := redact(e.actual)) != e.actual else e for e in b.expectations
        )
        output, reason = redact(b.output), redact(b.reason) if b.reason else b.reason
        if output == b.output and reason == b.reason and all(x is y for x, y in zip(expectations, b.expectations, strict=True)):
            return b  # nothing to mask: the result itself (a frozen value), not a copy
        return replace(b, output=output, reason=reason, expectations=expectations)

    return replace(record, blocks=tuple(block(b) for b in record.blocks))
