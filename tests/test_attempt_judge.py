"""One attempt's status, expectations and reason from how it ended (``capture.judge``), in
process: the same rules with real processes are in test_process.py and test_run.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from runbook_checks.capture import OutputMatcher, judge
from runbook_checks.model import Block, Expectation
from runbook_checks.status import BlockStatus, Kind


def block(**attrs: object) -> Block:
    return Block(id="b", kind=Kind.CHECK, lang="bash", code="true", path=Path("rb.md"), line=1, timeout_s=5.0, **attrs)


def output(b: Block, text: str) -> list[Expectation]:
    matcher = OutputMatcher(b)
    matcher.feed(text)
    matcher.finish()
    return matcher.expectations()


@pytest.mark.parametrize(
    ("attrs", "exit_code", "text", "ended", "status", "reason"),
    [
        ({}, 0, "", {}, BlockStatus.PASSED, None),
        ({}, 1, "", {}, BlockStatus.FAILED, "exit code 1, expected 0"),
        ({"exit_codes": (0, 2)}, 2, "", {}, BlockStatus.PASSED, None),
        ({"pending_exit": 3}, 3, "", {}, BlockStatus.PASSED, None),
        ({}, 137, "", {}, BlockStatus.FAILED, "exit code 137, expected 0"),
        ({"expect": "ok"}, 0, "all ok\n", {}, BlockStatus.PASSED, None),
        ({"expect": "ok"}, 0, "nope\n", {}, BlockStatus.FAILED, "output does not contain 'ok'"),
        ({"forbid": "ERROR"}, 0, "an ERROR\n", {}, BlockStatus.FAILED, "output contains forbidden text 'ERROR'"),
        ({"expect_regex": "^done$"}, 0, "not done\n", {}, BlockStatus.FAILED, "no output line matches /^done$/"),
        (
            {"expect": "ok"},
            1,
            "",
            {},
            BlockStatus.FAILED,
            "exit code 1, expected 0; output does not contain 'ok'",
        ),
        ({}, 143, "", {"timed_out": True}, BlockStatus.TIMED_OUT, "timed out after 5 s; the block's process group was stopped"),
        (
            {},
            0,
            "",
            {"timed_out": True, "interrupted": "SIGTERM"},
            BlockStatus.INTERRUPTED,
            "interrupted by SIGTERM; the block's process group was stopped",
        ),
    ],
)
def test_how_an_attempt_ended_gives_its_status_and_reason(attrs, exit_code, text, ended, status, reason):
    b = block(**attrs)
    got_status, expectations, got_reason = judge(b, exit_code, 5.2, output(b, text), **ended)
    assert (got_status, got_reason) == (status, reason)
    assert expectations[0].name == "exit" and expectations[0].actual == str(exit_code)
    assert expectations[0].met == (status == BlockStatus.PASSED or (exit_code in b.accepted_exit_codes and not ended))
    assert [e.name for e in expectations[1:]] == [e.name for e in output(b, text)] + (
        ["timeout"] if status == BlockStatus.TIMED_OUT else []
    )


def test_a_timeout_records_how_long_the_attempt_took():
    _, expectations, _ = judge(block(), 143, 5.04, [], timed_out=True)
    assert expectations[-1] == Expectation("timeout", "5 s", False, "5.0 s")
