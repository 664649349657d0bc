"""The evidence policy, in process: verdicts, grouping, timeline and links as tables."""

from __future__ import annotations

import pytest

from runbook_checks import evidence
from runbook_checks.model import BlockResult, RunRecord

from .conftest import FIXTURES


def block(
    block_id: str, status: str, kind: str = "check", criterion: str | None = None, phase: str | None = None, duration_s: float = 1.0
) -> BlockResult:
    return BlockResult(
        id=block_id, kind=kind, status=status, line=1, sha256="0" * 64, phase=phase, criterion=criterion, duration_s=duration_s
    )


def run(
    run_id: str,
    blocks: tuple[BlockResult, ...],
    *,
    attempt: str = "A",
    mode: str = "execute",
    environment: str = "staging",
    status: str = "passed",
    digest: str | None = "d" * 64,
    fingerprints: dict | None = None,
    ci: dict | None = None,
) -> RunRecord:
    return RunRecord(
        run_id=run_id,
        runbook_id="rb",
        runbook_path="rb.md",
        runbook_sha256="0" * 64,
        environment=environment,
        mode=mode,
        status=status,
        exit_code=0,
        started_at="2026-01-01T00:00:00Z",
        finished_at="2026-01-01T00:00:01Z",
        duration_s=1.0,
        actor="a",
        host="h",
        git=None,
        ci=ci,
        blocks=blocks,
        fingerprints=fingerprints or {"m": "1" * 64},
        attempt_id=attempt,
        target={"from": "X", "digest": digest},
    )


STEP_OK = block("s", "passed", "step", "Applied")
CHECK_OK = block("c", "passed", criterion="Checked")


@pytest.mark.parametrize(
    "runs, expected",
    [
        ([run("1", (STEP_OK, CHECK_OK))], "passed"),
        ([run("1", (STEP_OK, block("c", "failed", criterion="Checked")))], "failed"),
        ([run("1", (STEP_OK, block("c", "timed-out")))], "failed"),
        ([run("1", (block("s", "failed", "step", "Applied"), CHECK_OK)), run("2", (STEP_OK,))], "passed"),  # a resume replaces the failure
        ([run("1", (block("s", "interrupted", "step"), CHECK_OK), status="interrupted")], "interrupted"),
        ([run("1", (block("s", "skipped", "step", "Applied"), CHECK_OK))], "incomplete"),  # the step never ran
        ([run("1", (block("s", "skipped", "step"), block("c", "skipped", criterion="Checked")))], "incomplete"),  # nothing executed
        ([run("1", (STEP_OK,), digest="1" * 64), run("2", (CHECK_OK,), digest="2" * 64)], "incomplete"),  # two databases
        ([run("1", (block("s", "failed", "step"),)), run("2", (STEP_OK,), fingerprints={"m": "2" * 64})], "incomplete"),  # content changed
        ([run("1", (CHECK_OK, block("s", "skipped", "step")), mode="check")], "passed"),  # read-only checks: nothing else required
        ([run("1", (block("c", "skipped"),), mode="check")], "incomplete"),
    ],
)
def test_verdicts(runs, expected):
    [attempt] = evidence.Attempts(runs)
    assert attempt.verdict == expected


def test_attempts_are_ordered_by_their_first_run_and_kept_apart_by_environment():
    records = [
        run("1", (STEP_OK,), attempt="A1"),
        run("2", (STEP_OK,), attempt="A2"),
        run("3", (CHECK_OK,), attempt="A1", mode="check"),
        run("4", (STEP_OK,), attempt="A1", environment="rehearsal", mode="rehearsal"),
    ]
    attempts = evidence.Attempts(records)
    assert [(a.environment, a.id, len(a.runs), a.mode) for a in attempts] == [
        ("staging", "A1", 2, "execute"),
        ("staging", "A2", 1, "execute"),
        ("rehearsal", "A1", 1, "rehearsal"),
    ]
    assert next(attempts.newest("staging", "execute")).id == "A2"
    assert attempts.find("rehearsal", "A1").mode == "rehearsal" and attempts.find("staging", "nope") is None


def test_the_timeline_sums_the_attempt_and_leaves_interrupted_time_out():
    from runbook_checks.lint import load_runbook

    rb = load_runbook(FIXTURES / "demo.md")  # phases setup 1-2 min, migrate 2-5 min, validate 1 min
    records = [
        run(
            "1",
            (
                block("verify-secret", "passed", phase="setup", duration_s=60.0),
                block("deploy", "interrupted", "step", phase="migrate", duration_s=30.0),
            ),
            status="interrupted",
        ),
        run(
            "2",
            (block("status", "passed", phase="validate", duration_s=20.0), block("validate", "failed", phase="validate", duration_s=40.0)),
        ),
    ]
    rows, total, verdict = evidence.timeline(rb, evidence.Attempts(records)[0])
    assert [(r.phase, r.measured_s, r.verdict) for r in rows] == [
        ("setup", 60.0, "within"),
        ("migrate", None, "not measured"),
        ("validate", 60.0, "within"),
    ]
    assert (total, verdict) == (120.0, "incomplete")


@pytest.mark.parametrize("url, shown", [("https://github.com/o/r/actions/runs/1", True), ("javascript:alert(1)", False), (["x"], False)])
def test_only_http_links_reach_a_page(url, shown):
    [attempt] = evidence.Attempts([run("1", (STEP_OK,), ci={"run_url": url})])
    assert attempt.ci_url == (url if shown else None)
