"""Recovery steps: a ``.step`` inside a troubleshooting entry runs only when named with
``--only`` (behind the confirmation), never as part of a whole run, a ``--from`` resume,
a rehearsal or the pytest plugin, and is left out of the records of runs that do not run it."""

from __future__ import annotations

import json

from .conftest import clean_env, fence, front

BODY = (
    fence("prepare", "check", "echo ready", 'criterion="Ready"')
    + fence("deploy", "step", "echo deployed >> deployed.txt; echo deployed", 'criterion="Deployed"')
    + fence("verify", "check", "test -f deployed.txt && echo verified")
    + """
## Troubleshooting

### Deploy failed {#deploy-failed .troubleshoot match="boom"}

Undo what it did, then mark it.

"""
    + fence("diag-state", "check", "echo state ok")
    + "\n"
    + fence("mark-undone", "step", 'echo "undone ${WHAT-}" >> recovered.txt; echo "marked ${WHAT-}"', 'expect="marked"')
)


def ledger(tmp_path):
    return [json.loads(line) for line in (tmp_path / "runbook-results" / "rb.jsonl").read_text().splitlines()]


def ids(record: dict) -> list[str]:
    return [b["id"] for b in record["blocks"]]


def test_a_whole_run_leaves_the_recovery_step_out_and_its_attempt_passes(cli, write, tmp_path):
    path = write(front(BODY))
    result = cli("run", path, "--execute", "--confirm", "GO-OK")
    assert result.returncode == 0, result.stdout + result.stderr
    assert not (tmp_path / "recovered.txt").exists()
    [record] = ledger(tmp_path)
    assert ids(record) == ["prepare", "deploy", "verify", "diag-state"]  # not recorded: no part of the migration
    report = json.loads(cli("report", path, "--format", "json").stdout)
    assert report["verdict"] == "passed"  # a skipped recovery step would have left the attempt incomplete
    resumed = cli("run", path, "--execute", "--confirm", "GO-OK", "--from", "verify")
    assert resumed.returncode == 0 and not (tmp_path / "recovered.txt").exists()
    assert "mark-undone" not in ids(ledger(tmp_path)[1])


def test_named_with_only_it_runs_behind_the_confirmation(cli, write, tmp_path):
    path = write(front(BODY))
    unconfirmed = cli("run", path, "--only", "mark-undone")
    assert unconfirmed.returncode == 2 and "nothing to run" in unconfirmed.stderr
    wrong = cli("run", path, "--execute", "--confirm", "NOPE", "--only", "mark-undone")
    assert wrong.returncode == 2
    assert not (tmp_path / "recovered.txt").exists() and not (tmp_path / "runbook-results" / "rb.jsonl").exists()
    result = cli("run", path, "--execute", "--confirm", "GO-OK", "--only", "mark-undone", env=clean_env(WHAT="m1"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "recovered.txt").read_text() == "undone m1\n"
    [record] = ledger(tmp_path)
    blocks = {b["id"]: b for b in record["blocks"]}
    assert blocks["mark-undone"]["status"] == "passed" and "marked m1" in blocks["mark-undone"]["output"]
    assert blocks["deploy"]["status"] == "skipped"


def test_plan_list_and_rehearsal_name_it_a_recovery_step(cli, write, tmp_path):
    path = write(front(BODY))
    plan = json.loads(cli("run", path, "--execute", "--confirm", "GO-OK", "--dry-run", "--format", "json").stdout)["plan"]
    [step] = [p for p in plan if p["id"] == "mark-undone"]
    assert step["run"] is False
    assert step["reason"] == "recovery step of troubleshooting entry 'deploy-failed': runs only when named with --only mark-undone"
    listed = json.loads(cli("list", path, "--format", "json").stdout)
    assert [(e["id"], e["diagnostics"], e["recovery"]) for e in listed["entries"]] == [("deploy-failed", ["diag-state"], ["mark-undone"])]
    rehearsed = write(front(BODY, secrets="[DATABASE_URL_TEST]", extra="  env:\n    DATABASE_URL: ${DATABASE_URL_TEST}"), "rehearsed.md")
    rehearsal = cli("rehearse", rehearsed, "--database-url", "postgresql://u:p@127.0.0.1:1/x")  # no block connects to it
    assert rehearsal.returncode == 0, rehearsal.stdout + rehearsal.stderr
    assert "mark-undone" not in ids(ledger(tmp_path)[0])
    assert not (tmp_path / "recovered.txt").exists()


def test_pytest_plugin_skips_it(write, tmp_path):
    import subprocess
    import sys

    path = write(front(BODY))
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:xdist",
            "--runbooks",
            str(path),
            "--runbooks-execute",
            "--runbooks-confirm",
            "GO-OK",
            "-rs",
            "-q",
        ],
        cwd=tmp_path,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "recovery step of troubleshooting entry 'deploy-failed'" in result.stdout
    assert not (tmp_path / "recovered.txt").exists()
    assert "mark-undone" not in ids(ledger(tmp_path)[0])
