"""Fleets, in process: ``runbook.targets`` (inline and a targets file) read and refused at
``path:line``, ``targets.select`` and the selection rules, the ``targets`` command's formats,
the ledger paths and the record's ``target.name`` in the schema."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from runbook_checks.cli import main
from runbook_checks.context import runbook_env
from runbook_checks.errors import UsageProblem
from runbook_checks.ledger.paths import ledger_path, record_ledger_path, runbook_ledger, target_ledger_path
from runbook_checks.ledger.record_schema import line_problem
from runbook_checks.parse import parse_runbook
from runbook_checks.targets import NoTargets, chosen, github_matrix, select, waves
from tests.helpers import run_record

FLEET = """\
- name: tenant-acme
  secret: DATABASE_URL_TENANT_ACME
  labels: {wave: 0, region: eu}
- name: tenant-beta
  secret: DATABASE_URL_TENANT_BETA
  labels: {wave: 2, region: us}
- name: tenant-gamma
  secret: DATABASE_URL_TENANT_GAMMA
  labels: {region: us}
"""


def runbook_text(targets: str = "fleet.yml", extra: str = "") -> str:
    return f"---\nrunbook:\n  id: fleet\n  environment: production\n  confirm: GO\n  targets: {targets}\n{extra}---\n\n```bash {{#b .check}}\ntrue\n```\n"


def parsed(tmp_path: Path, text: str, fleet: str | None = FLEET):
    if fleet is not None:
        (tmp_path / "fleet.yml").write_text(fleet, encoding="utf-8")
    path = tmp_path / "rb.md"
    path.write_text(text, encoding="utf-8")
    runbook, problems = parse_runbook(path, display="rb.md")
    return runbook, [str(p) for p in problems]


def test_a_targets_file_is_read_in_order_with_waves_and_lines(tmp_path):
    runbook, problems = parsed(tmp_path, runbook_text())
    assert problems == []
    assert [(t.name, t.secret, t.wave, t.line) for t in runbook.targets] == [
        ("tenant-acme", "DATABASE_URL_TENANT_ACME", 0, 1),
        ("tenant-beta", "DATABASE_URL_TENANT_BETA", 2, 4),
        ("tenant-gamma", "DATABASE_URL_TENANT_GAMMA", 1, 7),
    ]
    assert runbook.targets_file == tmp_path / "fleet.yml"


BAD_FLEET = """\
- name: acme
  secret: DATABASE_URL_ACME
- name: acme
  secret: DATABASE_URL_ACME2
- name: Not OK
  secret: X
- name: nosecret
- name: badsecret
  secret: 9lives
- name: waves
  secret: W
  labels:
    wave: -1
- name: typo
  secrte: T
- name: reserved
  secret: R
  labels: {target: x}
- just a string
"""


def test_each_bad_entry_of_a_targets_file_is_a_problem_at_its_line(tmp_path):
    runbook, problems = parsed(tmp_path, runbook_text(), BAD_FLEET)
    assert problems == [
        "fleet.yml:3: target 'acme' is declared twice (first at line 1)",
        "fleet.yml:5: target name 'Not OK': a name is lower-case letters, digits, '.', '_', '-' (e.g. tenant-acme)",
        "fleet.yml:7: target 'nosecret' needs 'secret': the environment variable holding its database URL",
        "fleet.yml:9: target 'badsecret': secret '9lives' is not an environment variable name",
        "fleet.yml:13: target 'waves': wave -1 must be an integer ≥ 0 (0 is the canary wave)",
        "fleet.yml:14: target 'typo' needs 'secret': the environment variable holding its database URL",
        "fleet.yml:15: unknown target key 'secrte' (did you mean 'secret'?)",
        "fleet.yml:18: target 'reserved': label 'target' is not a label name (letters, digits, '_', '-'; not target, name, secret)",
        "fleet.yml:19: a target must be a mapping {name, secret, labels}, not 'just a string'",
    ]
    assert [t.name for t in runbook.targets] == ["acme"]


@pytest.mark.parametrize(
    ("fleet", "problem"),
    [
        ("- name: [unclosed\n", "fleet.yml:2: targets file is not valid YAML"),
        ("{}\n", "fleet.yml:1: a targets file must hold a non-empty YAML list"),
        (None, "fleet.yml:0: cannot read the targets file"),
        ("- {name: a, secret: A, labels: {wave: true}}\n", "fleet.yml:1: target 'a': wave True must be an integer"),
    ],
)
def test_a_bad_targets_file_is_a_problem_in_that_file(tmp_path, fleet, problem):
    _, problems = parsed(tmp_path, runbook_text(), fleet)
    assert len(problems) == 1 and problems[0].startswith(problem), problems


def test_inline_targets_are_problems_at_their_lines_in_the_runbook(tmp_path):
    text = runbook_text("\n    - {name: a, secret: A}\n    - {name: a, secret: B}\n    - {name: b}")
    runbook, problems = parsed(tmp_path, text, fleet=None)
    assert problems == [
        "rb.md:8: target 'a' is declared twice (first at line 7)",
        "rb.md:9: target 'b' needs 'secret': the environment variable holding its database URL",
    ]
    assert [t.name for t in runbook.targets] == ["a"]


@pytest.mark.parametrize(
    ("targets", "extra", "problem"),
    [
        ("../elsewhere.yml", "", "rb.md:6: 'runbook.targets' '../elsewhere.yml': a targets file is named relative"),
        ("[]", "", "rb.md:6: 'runbook.targets' must be a non-empty list"),
        ("fleet.yml", "  target: ${DATABASE_URL}\n", "rb.md:7: 'runbook.target' and 'runbook.targets' exclude each other"),
        ("fleet.yml", "  requires: [{runbook: staging, target: canary}]\n", "rb.md:7: requirement 'target: canary' needs 'path'"),
        ("fleet.yml", "  requires: [{runbook: staging, target: beta}]\n", "rb.md:7: requirement target 'beta': the only value is 'canary'"),
    ],
)
def test_the_key_is_refused_where_it_is_written(tmp_path, targets, extra, problem):
    _, problems = parsed(tmp_path, runbook_text(targets, extra))
    assert any(p.startswith(problem) for p in problems), problems


def test_lint_refuses_a_bad_fleet_with_exit_2(tmp_path):
    parsed(tmp_path, runbook_text(), BAD_FLEET)
    result = CliRunner().invoke(main, ["lint", str(tmp_path / "rb.md")])
    assert result.exit_code == 2
    assert f"{tmp_path / 'fleet.yml'}:3: target 'acme' is declared twice" in result.output


def test_select_adds_the_secret_and_the_env_names_the_target(tmp_path):
    runbook, _ = parsed(tmp_path, runbook_text())
    one = select(runbook, "tenant-beta")
    assert one.selected.name == "tenant-beta"
    assert one.secrets == ("DATABASE_URL_TENANT_BETA",) and one.target == "${DATABASE_URL_TENANT_BETA}"
    env = runbook_env(one, {"DATABASE_URL_TENANT_BETA": "postgresql://u:p@h/beta"}, "production")
    assert env["RUNBOOK_TARGET"] == "tenant-beta" and env["RUNBOOK_TARGET_URL"] == "postgresql://u:p@h/beta"
    assert "RUNBOOK_TARGET" not in runbook_env(runbook, {}, "production")
    assert select(runbook, None) is runbook


@pytest.mark.parametrize(
    ("name", "execute", "message"),
    [
        ("tenant-acm", False, "has no target 'tenant-acm' (did you mean 'tenant-acme'?)"),
        ("zzz", False, "has no target 'zzz'; its targets: tenant-acme, tenant-beta, tenant-gamma"),
        (None, True, "--execute needs --target NAME (one of: tenant-acme, tenant-beta, tenant-gamma)"),
    ],
)
def test_a_selection_that_names_nothing_is_refused(tmp_path, name, execute, message):
    runbook, _ = parsed(tmp_path, runbook_text())
    with pytest.raises(UsageProblem, match=message.replace("(", r"\(").replace(")", r"\)").replace("?", r"\?")):
        select(runbook, name, needed_by="--execute" if execute else None)


def test_a_runbook_without_targets_refuses_target(tmp_path):
    path = tmp_path / "plain.md"
    path.write_text("---\nrunbook:\n  id: plain\n---\n\n```bash {#b .check}\ntrue\n```\n", encoding="utf-8")
    runbook, _ = parse_runbook(path)
    with pytest.raises(UsageProblem, match="declares no 'targets', so --target acme names nothing"):
        select(runbook, "acme")
    assert select(runbook, None, needed_by="--execute") is runbook


def test_waves_labels_and_the_github_matrix(tmp_path):
    runbook, _ = parsed(tmp_path, runbook_text())
    assert [t.name for t in chosen(runbook)] == ["tenant-acme", "tenant-gamma", "tenant-beta"]  # by wave, then declaration
    assert waves(runbook.targets) == [0, 1, 2]
    assert [t.name for t in chosen(runbook, labels=[("region", "us")])] == ["tenant-gamma", "tenant-beta"]
    assert [t.name for t in chosen(runbook, labels=[("wave", "0")])] == ["tenant-acme"]
    matrix = json.loads(github_matrix(chosen(runbook, wave=2)))
    assert matrix == {"include": [{"target": "tenant-beta", "secret": "DATABASE_URL_TENANT_BETA", "wave": 2, "region": "us"}]}
    with pytest.raises(NoTargets, match="no target of runbook 'fleet' is in wave 3 and region=eu"):
        chosen(runbook, wave=3, labels=[("region", "eu")])


@pytest.mark.parametrize(
    ("args", "out"),
    [
        (["--format", "waves"], "[0, 1, 2]\n"),
        (["--format", "waves", "--label", "region=us"], "[1, 2]\n"),
        (
            ["--format", "github-matrix", "--wave", "0"],
            '{"include":[{"target":"tenant-acme","secret":"DATABASE_URL_TENANT_ACME","wave":0,"region":"eu"}]}\n',
        ),
    ],
)
def test_the_targets_command_prints_matrices_and_waves(tmp_path, args, out):
    parsed(tmp_path, runbook_text())
    result = CliRunner().invoke(main, ["targets", str(tmp_path / "rb.md"), *args])
    assert (result.exit_code, result.stdout) == (0, out)


def test_the_targets_command_text_and_json(tmp_path):
    parsed(tmp_path, runbook_text())
    text = CliRunner().invoke(main, ["targets", str(tmp_path / "rb.md")])
    assert text.exit_code == 0
    assert text.stdout.splitlines()[0].split() == ["tenant-acme", "wave", "0", "$DATABASE_URL_TENANT_ACME", "region=eu"]
    rows = json.loads(CliRunner().invoke(main, ["targets", str(tmp_path / "rb.md"), "--format", "json"]).stdout)
    assert rows[2] == {"name": "tenant-beta", "secret": "DATABASE_URL_TENANT_BETA", "wave": 2, "labels": {"wave": 2, "region": "us"}}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--wave", "7"], "no target of runbook 'fleet' is in wave 7 (its waves: 0, 1, 2); an empty matrix"),
        (["--label", "region"], "--label 'region': write it as NAME=VALUE"),
        (["--label", "tier=gold"], "is in tier=gold"),
    ],
)
def test_an_empty_selection_exits_2_and_prints_no_matrix(tmp_path, args, message):
    parsed(tmp_path, runbook_text())
    result = CliRunner().invoke(main, ["targets", str(tmp_path / "rb.md"), "--format", "github-matrix", *args])
    assert result.exit_code == 2 and result.stdout == ""
    assert message in result.stderr


def test_the_targets_command_refuses_a_runbook_without_targets(tmp_path):
    path = tmp_path / "plain.md"
    path.write_text("---\nrunbook:\n  id: plain\n---\n\n```bash {#b .check}\ntrue\n```\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["targets", str(path)])
    assert result.exit_code == 2 and "declares no 'targets'" in result.stderr


def test_ledger_paths_of_a_fleet_and_of_a_single_target_runbook(tmp_path):
    runbook, _ = parsed(tmp_path, runbook_text())
    results = tmp_path / "results"
    assert target_ledger_path(results, "fleet", "tenant-acme") == results / "fleet" / "tenant-acme.jsonl"
    assert runbook_ledger(results, select(runbook, "tenant-acme")) == results / "fleet" / "tenant-acme.jsonl"
    assert runbook_ledger(results, runbook) == ledger_path(results, "fleet") == results / "fleet.jsonl"
    named = run_record("r1", ())
    assert record_ledger_path(results, named) == results / "rb.jsonl"
    named = type(named)(**{**named.__dict__, "target": {**named.target, "name": "tenant-acme"}})
    assert record_ledger_path(results, named) == results / "rb" / "tenant-acme.jsonl"


def test_the_record_schema_takes_a_target_name_and_still_reads_records_without_one():
    record = run_record("r1", ()).to_dict()
    record.update(prev=None, hash="0" * 64)
    assert line_problem(json.dumps(record).encode()) is None  # a record from before fleets
    record["target"] = {**record["target"], "name": "tenant-acme"}
    assert line_problem(json.dumps(record).encode()) is None
    record["target"]["name"] = "Tenant Acme"
    assert "does not match" in (line_problem(json.dumps(record).encode()) or "")
