"""The evidence policy, in process: verdicts, grouping, evidence selection, timeline and links as tables."""

from __future__ import annotations

import random
from array import array

import pytest

from runbook_checks import evidence
from runbook_checks.model import BlockResult
from runbook_checks.model.headers import Headers
from runbook_checks.status import BlockStatus, EvidenceStatus, Mode

from .conftest import FIXTURES
from .helpers import block_result as block
from .helpers import code_block, runbook_of
from .helpers import run_record as run

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


@pytest.mark.parametrize("seed", range(6))
def test_attempts_group_as_a_plain_grouping_by_environment_and_id(seed: int) -> None:
    """The compact grouping (a few bytes a line, ``model.headers``) against the rule written
    plainly: interleaved attempts, attempts rejoined after others, mixed modes."""
    rng = random.Random(seed)
    envs, modes = ["staging", "production", "rehearsal"], ["check", "rehearsal", "execute", "other"]
    records = [
        run(str(i), (STEP_OK,), attempt=f"A{rng.randrange(12)}", environment=rng.choice(envs), mode=rng.choice(modes))
        for i in range(rng.randrange(1, 80))
    ]
    lines: dict[tuple[str, str], list[int]] = {}
    for i, r in enumerate(records):
        lines.setdefault((r.environment, r.attempt), []).append(i)
    expected = sorted(lines.items(), key=lambda item: item[1][0])
    attempts = evidence.Attempts(records)
    assert [(a.environment, a.id, [r.run_id for r in a.runs]) for a in attempts] == [
        (e, a, [str(i) for i in ls]) for (e, a), ls in expected
    ]
    for env in [None, *envs, "nowhere"]:
        for mode in [None, "check", "rehearsal", "execute", "other"]:
            got = [(a.environment, a.id) for a in attempts.newest(env, mode)]
            assert got == [a for a, _ in reversed(expected) if env in (None, a[0]) and mode in (None, attempts.find(*a).mode)]
    for (env, attempt), ls in expected:
        assert [r.run_id for r in attempts.find(env, attempt).runs] == [str(i) for i in ls]
    assert attempts.find("staging", "A99") is None


class _Keyed(list):
    """Records whose headers carry the attempt keys ``keys`` (two 64-bit words each, native order)."""

    def __init__(self, records: list, keys: list[tuple[int, int]]) -> None:
        super().__init__(records)
        self.keys = keys

    def headers(self) -> Headers:
        h = Headers()
        for r in self:
            h.append(r.environment, r.attempt, r.mode)
        h.keys[:] = array("Q", [w for key in self.keys for w in key]).tobytes()
        return h


@pytest.mark.parametrize(
    "keys",
    [
        [(0, 7), (0, 8), (0, 7)],  # the same first half
        [(1, 1), (26, 26), (1, 1)],  # both halves in the same slots of the filters (3 lines: 25 slots)
    ],
)
def test_keys_alike_in_part_are_still_told_apart(keys: list[tuple[int, int]]) -> None:
    runs = [run("1", (STEP_OK,), attempt="X"), run("2", (STEP_OK,), attempt="Y"), run("3", (CHECK_OK,), attempt="X", mode="check")]
    attempts = evidence.Attempts(_Keyed(runs, keys))
    assert [(a.id, [r.run_id for r in a.runs], a.mode) for a in attempts] == [("X", ["1", "3"], "execute"), ("Y", ["2"], "execute")]


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


# -- which result becomes a block's evidence, and a criterion's ---------------------------------

OTHER_SHA = "9" * 64
P, F = BlockStatus.PASSED, BlockStatus.FAILED


def c(status: str, sha256: str = "0" * 64) -> BlockResult:
    """The result of the check ``c`` (criterion ``Checked``)."""
    return block("c", status, criterion="Checked", sha256=sha256)


@pytest.mark.parametrize(
    "records, expected",
    [
        ([], (EvidenceStatus.NEVER_RUN, None, None)),
        ([run("1", (c(P),))], (P, "A", Mode.EXECUTE)),
        ([run("1", (c(P),), attempt="A1"), run("2", (c(F),), attempt="A2")], (F, "A2", Mode.EXECUTE)),  # the newest attempt wins
        ([run("1", (c(F),)), run("2", (c(P),))], (P, "A", Mode.EXECUTE)),  # within an attempt, the latest executed result
        ([run("1", (c(P),), attempt="A1"), run("2", (c(BlockStatus.SKIPPED),), attempt="A2")], (P, "A1", Mode.EXECUTE)),  # not executed
        ([run("1", (c(P, sha256=OTHER_SHA),))], (EvidenceStatus.STALE, "A", Mode.EXECUTE)),  # the block changed since
        ([run("1", (c(BlockStatus.TIMED_OUT),))], (BlockStatus.TIMED_OUT, "A", Mode.EXECUTE)),
        ([run("1", (c(BlockStatus.INTERRUPTED),), status="interrupted")], (BlockStatus.INTERRUPTED, "A", Mode.EXECUTE)),
        ([run("1", (c(P),), environment="production")], (EvidenceStatus.NEVER_RUN, None, None)),  # another environment's run
        ([run("1", (c(P),), environment="rehearsal", mode=Mode.REHEARSAL)], (P, "A", Mode.REHEARSAL)),  # any environment's rehearsal
        ([run("1", (c(P),), attempt="M"), run("2", (c(F),), attempt="K", mode=Mode.CHECK)], (F, "K", Mode.CHECK)),  # any mode
        (
            [run("1", (c(F),), attempt="M"), run("2", (c(P),), environment="rehearsal", mode=Mode.REHEARSAL, attempt="R")],
            (F, "M", Mode.EXECUTE),  # the environment's own result before a rehearsal's
        ),
    ],
)
def test_which_result_is_a_blocks_evidence(records, expected):
    rb = runbook_of(code_block("c", criterion="Checked"))
    [ev] = evidence.block_evidence(rb, evidence.state("rb", "staging", records))
    assert (ev.status, ev.attempt_id, ev.mode) == expected


def checked_by_two(*results: tuple[str, str]) -> tuple[BlockResult, ...]:
    """A run whose blocks ``c1`` and ``c2`` (criterion ``Checked``) have the given (status, sha256)."""
    return tuple(block(f"c{n}", status, criterion="Checked", sha256=sha) for n, (status, sha) in enumerate(results, 1) if status)


OK = (P, "0" * 64)


@pytest.mark.parametrize(
    "records, expected",
    [
        ([], (EvidenceStatus.NEVER_RUN, None)),
        ([run("1", checked_by_two(OK, OK))], (P, "A")),
        ([run("1", checked_by_two(OK, ("", "")))], (EvidenceStatus.NEVER_RUN, "A")),  # c2 never ran in the shown attempt
        ([run("1", checked_by_two(OK, (P, OTHER_SHA)))], (EvidenceStatus.STALE, "A")),
        ([run("1", checked_by_two((P, OTHER_SHA), (F, "0" * 64)))], (F, "A")),  # a failure outranks a stale pass
        ([run("1", checked_by_two((BlockStatus.TIMED_OUT, "0" * 64), (F, "0" * 64)))], (BlockStatus.TIMED_OUT, "A")),  # document order
        (
            [run("1", checked_by_two(OK, OK), attempt="M"), run("2", checked_by_two((F, "0" * 64), OK), attempt="K", mode=Mode.CHECK)],
            (P, "M"),  # criteria come from the shown attempt: the migration, not a later checks-only run
        ),
        (
            [run("1", checked_by_two(OK, OK), attempt="A1"), run("2", checked_by_two(OK, ("", "")), attempt="A2")],
            (EvidenceStatus.NEVER_RUN, "A2"),
        ),
        ([run("1", checked_by_two(OK, OK), environment="rehearsal", mode=Mode.REHEARSAL, attempt="R")], (P, "R")),  # no migration yet
        ([run("1", checked_by_two(OK, OK), environment="production")], (EvidenceStatus.NEVER_RUN, None)),
    ],
)
def test_which_attempt_is_a_criterions_evidence(records, expected):
    rb = runbook_of(code_block("c1", criterion="Checked"), code_block("c2", criterion="Checked"))
    [row] = evidence.criteria(rb, evidence.state("rb", "staging", records).shown)
    assert (row.status, row.attempt_id) == expected and row.blocks == ("c1", "c2")
