"""The run engine's skip rules, in process: which block runs, is skipped or is not run, for
which plan and which earlier results (``session.RunSession.decide``, ``needed_status``).

Pure: runbooks and records are built here, the run's start is given (no git, no
fingerprints), and no block executes. The same rules with real processes are in
test_run.py, test_process.py and test_pending_migrations.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from runbook_checks.lifecycle import RunStart
from runbook_checks.model import Block, BlockResult, Runbook, RunRecord, TroubleshootingEntry
from runbook_checks.plan import plan_run
from runbook_checks.redact import Redactor
from runbook_checks.session import RunSession, needed_status, not_run
from runbook_checks.status import BlockStatus, Kind, Mode

PASSED, FAILED, TIMED_OUT = BlockStatus.PASSED, BlockStatus.FAILED, BlockStatus.TIMED_OUT
SKIPPED, NOT_RUN, INTERRUPTED = BlockStatus.SKIPPED, BlockStatus.NOT_RUN, BlockStatus.INTERRUPTED
RUNS = None  # decide's answer for a block that executes

PATH = Path("/nowhere/rb.md")


def block(block_id: str, kind: Kind = Kind.CHECK, **attrs: object) -> Block:
    return Block(id=block_id, kind=kind, lang="bash", code="true", path=PATH, line=1, sha256=f"sha-{block_id}", **attrs)


def runbook(*blocks: Block, entries: tuple[TroubleshootingEntry, ...] = ()) -> Runbook:
    return Runbook(
        path=PATH,
        id="rb",
        title="rb",
        environment="staging",
        confirm="OK",
        secrets=(),
        workdir=PATH.parent,
        phases=(),
        blocks=blocks,
        sha256="sha-rb",
        root=PATH.parent,
        entries=entries,
    )


def result(b: Block, status: BlockStatus, exit_code: int | None = 0, output: str = "") -> BlockResult:
    return BlockResult(id=b.id, kind=b.kind, status=status, line=b.line, sha256=b.sha256, exit_code=exit_code, output=output)


def record(rb: Runbook, attempt: str, *results: BlockResult, environment: str = "staging") -> RunRecord:
    return RunRecord(
        run_id=f"run-{attempt}",
        runbook_id=rb.id,
        runbook_path="rb.md",
        runbook_sha256=rb.sha256,
        environment=environment,
        mode=Mode.EXECUTE,
        status="passed",
        exit_code=0,
        started_at="2026-11-30T12:00:00.000Z",
        finished_at="2026-11-30T12:01:00.000Z",
        duration_s=60.0,
        actor="me",
        host="here",
        git=None,
        ci=None,
        blocks=results,
        attempt_id=attempt,
    )


def session(rb: Runbook, *, execute: bool = True, prior: tuple[RunRecord, ...] = (), **plan: object) -> RunSession:
    """A session whose start is given: nothing is read from git, the clock of a block or the disk."""
    start = RunStart("this-run", "2026-11-30T12:00:00.000Z", 0.0, rb.environment, None, None, {}, {})
    return RunSession(
        rb,
        plan_run(rb, execute=execute, **plan),  # type: ignore[arg-type]
        environ={},
        redactor=Redactor([]),
        mode=Mode.EXECUTE if execute else Mode.CHECK,
        attempt="the-attempt",
        prior=prior,
        start=start,
    )


def outcome(decided: BlockResult | None) -> tuple[BlockStatus, str | None, bool] | None:
    return None if decided is None else (decided.status, decided.reason, decided.after_failure)


# --- needs=: the status of the needed block in this run ------------------------------------


@pytest.mark.parametrize(
    ("needed", "expected"),
    [
        (PASSED, RUNS),
        (FAILED, NOT_RUN),
        (TIMED_OUT, NOT_RUN),
        (INTERRUPTED, NOT_RUN),
        (NOT_RUN, NOT_RUN),
        (SKIPPED, SKIPPED),
        (None, SKIPPED),  # no result in this run (a later block, or one of another run)
    ],
)
def test_needs_runs_only_after_the_needed_block_passed_in_this_run(needed, expected):
    first, second = block("first"), block("second", needs="first")
    s = session(runbook(first, second))
    if needed is not None:
        s.results["first"] = result(first, needed)
    assert needed_status(s.results, "first") == (needed or SKIPPED)
    decided = s.decide(second)
    if expected is RUNS:
        assert decided is None
    else:
        assert outcome(decided) == (expected, "needs 'first', which did not pass in this run", False)


def test_a_pass_of_the_needed_block_in_an_earlier_run_of_the_attempt_does_not_count():
    first, second = block("first"), block("second", needs="first")
    rb = runbook(first, second)
    s = session(rb, prior=(record(rb, "the-attempt", result(first, PASSED)),))
    assert outcome(s.decide(second)) == (SKIPPED, "needs 'first', which did not pass in this run", False)


# --- the order of the rules: the first that applies wins -----------------------------------

CHECK, STEP = block("check"), block("step", Kind.STEP)
STEP_NEEDING = block("step-needing", Kind.STEP, needs="check")


@pytest.mark.parametrize(
    ("case", "target", "plan", "state", "expected"),
    [
        ("a planned check", CHECK, {}, {}, RUNS),
        ("a planned step", STEP, {}, {}, RUNS),
        ("a step without --execute", STEP, {"execute": False}, {}, (SKIPPED, "mutating step", False)),
        ("not in --only", STEP, {"only": ("check",)}, {}, (SKIPPED, "not selected by --only", False)),
        ("named by --skip", CHECK, {"skip": ("check",)}, {}, (SKIPPED, "skipped by --skip", False)),
        ("before --from", CHECK, {"from_id": "step"}, {}, (SKIPPED, "before --from step: not re-run", False)),
        ("interrupted run", CHECK, {}, {"interrupted": True}, (NOT_RUN, "not run: the run was interrupted", False)),
        (
            "interrupted beats the plan",
            CHECK,
            {"skip": ("check",)},
            {"interrupted": True},
            (NOT_RUN, "not run: the run was interrupted", False),
        ),
        (
            "interrupted after a failure",
            STEP,
            {},
            {"interrupted": True, "failed_at": "check"},
            (NOT_RUN, "not run: the run was interrupted", True),
        ),
        ("the plan beats a failure", STEP, {"execute": False}, {"failed_at": "check"}, (SKIPPED, "mutating step", True)),
        ("a step after a failure", STEP, {}, {"failed_at": "check"}, (NOT_RUN, "not run: block 'check' failed earlier", True)),
        ("a check after a failure still runs", CHECK, {}, {"failed_at": "step"}, RUNS),
        (
            "a failure beats needs=",
            STEP_NEEDING,
            {},
            {"failed_at": "check"},
            (NOT_RUN, "not run: block 'check' failed earlier", True),
        ),
        (
            "a block not in the plan at all",
            block("elsewhere"),
            {},
            {},
            (SKIPPED, "skipped", False),
        ),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_decide_applies_the_first_rule_that_fits(case, target, plan, state, expected):
    s = session(runbook(CHECK, STEP, STEP_NEEDING), **plan)
    for name, value in state.items():
        setattr(s, name, value)
    decided = s.decide(target)
    if expected is RUNS:
        assert decided is None, case
        return
    status, reason, after_failure = expected
    assert decided is not None, case
    assert (decided.status, decided.after_failure) == (status, after_failure), case
    assert decided.reason is not None and decided.reason.startswith(reason), (case, decided.reason)
    assert (decided.id, decided.kind, decided.sha256, decided.exit_code, decided.output) == (
        target.id,
        target.kind,
        target.sha256,
        None,
        "",
    )


def test_a_recovery_step_is_skipped_unless_named_with_only():
    fix = block("fix", Kind.STEP)
    entry = TroubleshootingEntry(id="stuck", title="Stuck", line=9, level=3, recovery=("fix",))
    rb = runbook(CHECK, fix, entries=(entry,))
    assert outcome(session(rb).decide(fix)) == (
        SKIPPED,
        "recovery step of troubleshooting entry 'stuck': runs only when named with --only fix",
        False,
    )
    assert session(rb, only=("fix",)).decide(fix) is None


# --- after=: a check of a step that has not run while migrations are pending -----------------

STATUS = block("status", pending_exit=3)
DEPLOY = block("deploy", Kind.STEP)
VERIFY = block("verify", after="deploy")
PENDING = "1 migration found\n  20261130_add_column\n"
PENDING_REASON = (
    "checks the result of step 'deploy', which has not run in this attempt, and 'status' says: "
    "1 migration found 20261130_add_column — apply them with --execute"
)


@pytest.mark.parametrize(
    ("case", "this_run", "earlier", "expected"),
    [
        ("pending, the step never ran", {"status": (PASSED, 3)}, {}, (SKIPPED, PENDING_REASON)),
        ("pending said in an earlier run of the attempt", {}, {"status": (PASSED, 3)}, (SKIPPED, PENDING_REASON)),
        ("nothing pending", {"status": (PASSED, 0)}, {}, RUNS),
        ("the pending check failed", {"status": (FAILED, 3)}, {}, RUNS),
        ("no pending check ran", {}, {}, RUNS),
        ("the step ran in this run", {"status": (PASSED, 3), "deploy": (PASSED, 0)}, {}, RUNS),
        ("the step failed in this run: its checks still run", {"status": (PASSED, 3), "deploy": (FAILED, 1)}, {}, RUNS),
        ("the step ran earlier in the attempt", {"status": (PASSED, 3)}, {"deploy": (PASSED, 0)}, RUNS),
        ("the step was skipped: not executed", {"status": (PASSED, 3), "deploy": (SKIPPED, None)}, {}, (SKIPPED, PENDING_REASON)),
        # the latest pending-exit result wins: this run's over the attempt's earlier one
        ("pending before, nothing pending now", {"status": (PASSED, 0)}, {"status": (PASSED, 3)}, RUNS),
        ("nothing pending before, pending now", {"status": (PASSED, 3)}, {"status": (PASSED, 0)}, (SKIPPED, PENDING_REASON)),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_a_check_after_a_step_is_skipped_only_while_migrations_are_pending(case, this_run, earlier, expected):
    rb = runbook(STATUS, DEPLOY, VERIFY)
    blocks = {b.id: b for b in rb.blocks}
    prior = (record(rb, "the-attempt", *(result(blocks[i], st, code, PENDING) for i, (st, code) in earlier.items())),)
    s = session(rb, prior=prior if earlier else ())
    for i, (st, code) in this_run.items():
        s.results[i] = result(blocks[i], st, code, PENDING)
    decided = s.decide(VERIFY)
    assert outcome(decided) == (None if expected is RUNS else (*expected, False)), case


def test_another_attempts_runs_are_not_read():
    rb = runbook(STATUS, DEPLOY, VERIFY)
    prior = (record(rb, "another-attempt", result(STATUS, PASSED, 3, PENDING)), record(rb, "the-attempt", environment="production"))
    assert session(rb, prior=prior).decide(VERIFY) is None


def test_the_pending_output_is_quoted_on_one_line_and_cut_at_300_characters():
    rb = runbook(STATUS, DEPLOY, VERIFY)
    s = session(rb)
    s.results["status"] = result(STATUS, PASSED, 3, "x" * 500)
    reason = s.decide(VERIFY).reason  # type: ignore[union-attr]
    said = reason.split("'status' says: ")[1].split(" — ")[0]
    assert said == "x" * 299 + "…"
    s.results["status"] = result(STATUS, PASSED, 3, "\n  \n")
    assert "'status' says: migrations are pending — " in s.decide(VERIFY).reason  # type: ignore[union-attr]


# --- what the session keeps --------------------------------------------------------------


def test_a_resume_records_the_blocks_before_from_as_not_rerun():
    s = session(runbook(CHECK, STEP, STEP_NEEDING), from_id="step-needing")
    assert s.not_rerun == ("check", "step")
    assert s.options == {"runner": "cli", "execute": True, "from": None}
    assert s.attempt == "the-attempt" and s.start.env == {"RUNBOOK_ATTEMPT_ID": "the-attempt"}


def test_not_run_carries_the_block_and_nothing_it_did_not_do():
    r = not_run(STEP, NOT_RUN, "why", after_failure=True)
    assert r == BlockResult(id="step", kind=Kind.STEP, status=NOT_RUN, line=1, sha256="sha-step", reason="why", after_failure=True)
    assert r.to_dict()["status"] == "not-run" and r.to_dict()["kind"] == "step"
