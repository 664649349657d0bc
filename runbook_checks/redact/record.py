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
        expectations = tuple(replace(e, actual=redact(e.actual)) if e.actual else e for e in b.expectations)
        return replace(b, output=redact(b.output), reason=redact(b.reason) if b.reason else b.reason, expectations=expectations)

    return replace(record, blocks=tuple(block(b) for b in record.blocks))
