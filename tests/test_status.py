"""The vocabulary: every value has one presentation row and reads as the plain recorded string."""

from __future__ import annotations

import json

import pytest

from runbook_checks.status import EXECUTED, FAILURES, PRESENTATION, BlockStatus, EvidenceStatus, Kind, Mode, RunStatus

ENUMS = (Kind, Mode, BlockStatus, RunStatus, EvidenceStatus)


@pytest.mark.parametrize("member", [m for enum in (BlockStatus, RunStatus, EvidenceStatus) for m in enum])
def test_every_status_has_one_presentation_row(member):
    row = PRESENTATION[member]
    assert row is PRESENTATION[str(member)] and row.label and row.mark and row.icon and row.style


@pytest.mark.parametrize("member", [m for enum in ENUMS for m in enum])
def test_a_member_reads_as_its_recorded_value(member):
    value = member.value
    assert member == value and str(member) == value and f"{member}" == value and repr(member) == repr(value)
    assert json.dumps({"s": member}) == json.dumps({"s": value})


def test_executed_and_failures_follow_the_rows():
    assert EXECUTED == {"passed", "failed", "timed-out", "interrupted"}
    assert FAILURES == {"failed", "timed-out"}


def test_a_value_no_row_knows_is_shown_as_itself():
    from runbook_checks.status import presentation

    row = presentation("paused")  # a record written by a newer version
    assert (row.label, row.mark, row.icon, row.style, row.executed, row.failure) == ("paused", "?", "", "", False, False)
    assert presentation(BlockStatus.TIMED_OUT) is PRESENTATION["timed-out"]
