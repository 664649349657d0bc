"""`runbook-checks report` and `list`: criteria and timeline from the ledger, stale detection."""

from __future__ import annotations

import json

from runbook_checks.lint import load_runbook
from runbook_checks.model import BlockResult, RunRecord
from runbook_checks.report import build_report

from .conftest import FIXTURES, clean_env, fence, front

PHASES = "  phases:\n    - {id: prep, name: Preparation, estimate: 1-2 min}\n    - {id: check, name: Checking, estimate: 30 s}"


def body(check_code: str = "echo up to date") -> str:
    return (
        fence("prep", "check", "sleep 0.2; echo prepared", 'phase=prep criterion="Prepared"')
        + fence("status", "check", check_code, 'phase=check expect="up to date" criterion="Status is clean"')
        + fence("extra", "check", "true", 'criterion="Status is clean"')
        + fence("untested", "step", "true", 'criterion="Deployed"')
    )


def test_report_markdown_and_json(cli, write):
    path = write(front(body(), extra=PHASES))
    assert cli("run", path, "--execute", "--confirm", "GO-OK", "--skip", "untested").returncode == 0
    assert cli("run", path, "--only", "prep").returncode == 0  # a later read-only run replaces neither evidence nor timing
    md = cli("report", path)
    assert md.returncode == 0
    assert "**test: migration incomplete (" in md.stdout  # the step 'untested' never ran in the attempt
    assert "| Prepared | `prep` | ✅ passed |" in md.stdout
    assert "| Status is clean | `status`, `extra` | ✅ passed |" in md.stdout
    assert "| Deployed | `untested` | ⚪ never-run | — | — | — |" in md.stdout
    assert "| **Total** | **1 min 30 s - 2 min 30 s** |" in md.stdout
    data = json.loads(cli("report", path, "--format", "json").stdout)
    prep = data["timeline"][0]
    assert prep["phase"] == "prep" and prep["measured_s"] >= 0.2 and prep["verdict"] == "under"
    assert data["timeline"][1]["verdict"] == "under"


def test_changed_block_is_stale_never_passed(cli, write):
    path = write(front(body(), extra=PHASES))
    assert cli("run", path, "--execute", "--confirm", "GO-OK", "--skip", "untested").returncode == 0
    write(front(body("echo 'up to date' # edited"), extra=PHASES))  # the runbook changes after the run
    data = json.loads(cli("report", path, "--format", "json").stdout)
    by_id = {b["block_id"]: b["status"] for b in data["blocks"]}
    assert by_id == {"prep": "passed", "status": "stale", "extra": "passed", "untested": "never-run"}
    assert [c["status"] for c in data["criteria"]] == ["passed", "stale", "never-run"]


def test_failed_latest_result_wins_and_environment_filter(cli, write):
    path = write(front(body(), extra=PHASES))
    assert cli("run", path).returncode == 0
    env = clean_env()
    path.write_text(path.read_text().replace("    - {id: check", "    - {id: check").replace("echo up to date", "echo up to date; false"))
    assert cli("run", path, env=env).returncode == 1
    data = json.loads(cli("report", path, "--format", "json").stdout)
    assert data["criteria"][1]["status"] == "failed"
    assert json.loads(cli("report", path, "--format", "json", "--environment", "prod").stdout)["criteria"][0]["status"] == "never-run"


def _record(run_id: str, durations: dict[str, float], runbook, attempt: str, mode: str = "execute") -> RunRecord:
    blocks = tuple(
        BlockResult(id=b.id, kind=b.kind, status="passed", line=b.line, sha256=b.sha256, phase=b.phase, duration_s=durations[b.id])
        for b in runbook.blocks
        if b.id in durations
    )
    return RunRecord(
        run_id=run_id,
        runbook_id=runbook.id,
        runbook_path="x.md",
        runbook_sha256=runbook.sha256,
        environment="staging",
        mode=mode,
        status="passed",
        exit_code=0,
        started_at="2026-01-01T00:00:00Z",
        finished_at=f"2026-01-01T00:00:0{run_id}Z",
        duration_s=1.0,
        actor="a",
        host="h",
        git={"commit": "abc"},
        ci=None,
        blocks=blocks,
        attempt_id=attempt,
    )


def test_timeline_sums_the_latest_migration_attempt_and_judges_against_estimates():
    rb = load_runbook(FIXTURES / "demo.md")
    records = [
        _record("1", {"verify-secret": 600.0, "deploy": 100.0, "status": 1.0, "validate": 1.0}, rb, "A"),
        # attempt B: one dispatch whose blocks ran as separate runs
        _record("2", {"verify-secret": 90.0}, rb, "B", "check"),
        _record("3", {"deploy": 200.0}, rb, "B"),
        _record("4", {"status": 30.0, "validate": 40.0}, rb, "B", "check"),
        _record("5", {"status": 1.0}, rb, "C", "check"),  # a later read-only run does not replace the timeline
    ]
    report = build_report(rb, records)
    assert report.timeline_attempt == "B" and report.attempt.runs == 3 and report.verdict == "passed"
    assert [(t.phase, t.measured_s, t.verdict) for t in report.timeline] == [
        ("setup", 90.0, "within"),
        ("migrate", 200.0, "within"),
        ("validate", 70.0, "over"),
    ]
    assert (report.total_estimate, report.total_measured_s, report.total_verdict) == ("4-8 min", 360.0, "within")
    # an attempt missing a phase is incomplete, never "under"
    partial = build_report(rb, records[:3])
    assert [t.verdict for t in partial.timeline][2] == "not measured" and partial.total_verdict == "incomplete"


def test_list_table_and_json(cli):
    table = cli("list", FIXTURES / "demo.md")
    assert table.returncode == 0
    assert "verify-secret │ check │ setup" in table.stdout and "│   300 s │   17 │" in table.stdout
    data = json.loads(cli("list", FIXTURES / "demo.md", "--format", "json").stdout)
    assert [(b["id"], b["kind"], b["phase"], b["line"]) for b in data["blocks"]] == [
        ("verify-secret", "check", "setup", 17),
        ("deploy", "step", "migrate", 23),
        ("status", "check", "validate", 30),
        ("validate", "check", "validate", 36),
    ]
    assert data["blocks"][2]["criterion"] == "Status is clean"


def test_list_bad_runbook_exits_2(cli, write):
    result = cli("list", write(front(fence("a", "check", "true", "nope=1"))))
    assert result.returncode == 2 and ":8: block 'a': unknown attribute 'nope'" in result.stderr


def test_xml_text_replaces_exactly_what_xml_1_0_forbids():
    """Every code point: kept when XML 1.0's Char production allows it (#x9 | #xA | #xD |
    [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF]), else U+FFFD (JUnit files must parse)."""
    from runbook_checks.render import xml_text

    def allowed(c: int) -> bool:
        return c in (0x9, 0xA, 0xD) or 0x20 <= c <= 0xD7FF or 0xE000 <= c <= 0xFFFD or 0x10000 <= c <= 0x10FFFF

    text = "".join(map(chr, range(0x110000)))
    out = xml_text(text)
    assert len(out) == len(text)
    wrong = [c for c in range(0x110000) if (out[c] == text[c]) != allowed(c)]
    assert wrong == []
