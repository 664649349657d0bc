"""GitHub Actions workflow commands (runbook_checks/github.py): masks, groups, annotations
and step outputs, from the real CLI with the variables and files a runner provides."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import pytest
import yaml

from runbook_checks.github import annotation, command, escape_data, escape_property, mask_commands

from .conftest import DB_URL, clean_env, fence, front

PASSWORD = "p@ss/w0rd-XyZ"  # DB_URL's password, percent-decoded


def unescape(text: str) -> str:
    """What the runner makes of escaped command data (the inverse of escape_data)."""
    return text.replace("%0A", "\n").replace("%0D", "\r").replace("%3A", ":").replace("%2C", ",").replace("%25", "%")


def outputs(path: Path) -> dict[str, str]:
    """Parse a $GITHUB_OUTPUT file as the runner does: ``name<<DELIMITER`` blocks."""
    found, lines = {}, path.read_text().split("\n")
    i = 0
    while i < len(lines) and lines[i]:
        name, _, delimiter = lines[i].partition("<<")
        end = lines.index(delimiter, i + 1)
        found[name] = "\n".join(lines[i + 1 : end])
        i = end + 1
    return found


@pytest.mark.parametrize(
    "text, data, prop",
    [
        ("50% done", "50%25 done", "50%25 done"),
        ("a\nb\r\nc", "a%0Ab%0D%0Ac", "a%0Ab%0D%0Ac"),
        ("docs/a,b.md:3", "docs/a,b.md:3", "docs/a%2Cb.md%3A3"),
        ("%0A", "%250A", "%250A"),  # an escape written out is not an escape
    ],
)
def test_workflow_command_data_and_properties_are_escaped_as_github_documents(text, data, prop):
    assert escape_data(text) == data and escape_property(text) == prop
    assert unescape(escape_data(text)) == text


def test_a_command_line_is_one_line_whatever_it_holds():
    line = annotation("error", "failed: exit 1\nnext: x", file="/nowhere/a,b.md", line=3, title="block a:b")
    assert "\n" not in line and line.startswith("::error file=/nowhere/a%2Cb.md,line=3,title=block a%3Ab::failed: exit 1%0Anext: x")
    assert command("endgroup") == "::endgroup::" and mask_commands(["", "ab", "ab", "abcd"]) == ["::add-mask::abcd", "::add-mask::ab"]


@pytest.fixture
def runner_files(tmp_path: Path) -> dict[str, str]:
    files = {"GITHUB_OUTPUT": tmp_path / "output", "GITHUB_STEP_SUMMARY": tmp_path / "summary", "GITHUB_ENV": tmp_path / "env"}
    for f in files.values():
        f.write_text("")
    return clean_env(GITHUB_ACTIONS="true", GITHUB_WORKSPACE=str(tmp_path), DATABASE_URL_X=DB_URL, **{k: str(v) for k, v in files.items()})


def test_a_run_registers_masks_first_folds_each_block_and_annotates_its_failure(cli, write, tmp_path, runner_files):
    path = write(
        front(
            fence("show", "check", 'echo "url=$DATABASE_URL_X"') + fence("boom", "check", "echo broken; exit 3"), secrets="[DATABASE_URL_X]"
        )
    )
    result = cli("run", path, env=runner_files)
    assert result.returncode == 1
    lines = result.stdout.split("\n")
    masks = [unescape(line[len("::add-mask::") :]) for line in lines if line.startswith("::add-mask::")]
    assert lines[: len(masks)] == [line for line in lines if line.startswith("::add-mask::")]  # before anything else
    assert {DB_URL, PASSWORD, quote(PASSWORD, safe=""), "p%40ss%2Fw0rd-XyZ", quote(DB_URL, safe="")} <= set(masks)
    body = "\n".join(lines[len(masks) :])
    assert PASSWORD not in body and DB_URL not in body
    assert re.search(
        r"::group::▶ show \(check\) \S*runbook\.md:8\n::stop-commands::(\w{32})\nurl=\*\*\*\n::\1::\n::endgroup::\n✔ show passed", body
    )
    assert re.search(
        r"::group::▶ boom \(check\) \S*runbook\.md:11\n::stop-commands::(\w{32})\nbroken\n::\1::\n::endgroup::\n✘ boom failed", body
    )
    [error] = [line for line in lines if line.startswith("::error")]
    assert error.startswith("::error file=runbook.md,line=11,title=block boom::failed: exit code 3, expected 0%0A")
    assert f"next: runbook-checks run {path} --from boom" in unescape(error)


def test_a_blocks_output_cannot_issue_workflow_commands(cli, write, runner_files):
    """A line of output that looks like a command sits between ::stop-commands::TOKEN and
    ::TOKEN::, with a token the block cannot know in advance (a new one per block)."""
    path = write(front(fence("a", "check", "echo '::add-mask::x'; echo '::endgroup::'") + fence("b", "check", "echo '::error::forged'")))
    result = cli("run", path, env=runner_files)
    tokens = re.findall(r"::stop-commands::(\w+)\n", result.stdout)
    assert result.returncode == 0 and len(set(tokens)) == 2
    for token, forged in zip(tokens, ["::add-mask::x\n::endgroup::", "::error::forged"]):
        assert f"::stop-commands::{token}\n{forged}\n::{token}::\n::endgroup::\n" in result.stdout


def test_outputs_name_the_verdict_the_attempt_and_the_ledger_head(cli, write, tmp_path, runner_files):
    path = write(front(fence("ok", "check", "true")))
    result = cli("run", path, "--attempt", "deploy-42", env=runner_files)
    assert result.returncode == 0
    got = outputs(Path(runner_files["GITHUB_OUTPUT"]))
    ledger = tmp_path / "runbook-results" / "rb.jsonl"
    head = json.loads(ledger.read_text().splitlines()[-1])["hash"]
    assert got["verdict"] == "passed" and got["attempt-id"] == "deploy-42" and got["status"] == "passed"
    assert got["exit-code"] == "0" and got["ledger-head"] == head and (tmp_path / got["ledger"]).resolve() == ledger.resolve()


def test_lint_problems_and_a_refused_runbook_are_annotations_on_their_lines(cli, write, runner_files):
    path = write(front("```bash {#a .chek}\ntrue\n```\n"))
    linted = cli("lint", path, env=runner_files)
    assert linted.returncode == 2
    assert "::error file=runbook.md,line=8::unknown kind '.chek' (did you mean 'check'?)" in linted.stdout
    ran = cli("run", path, env=runner_files)
    assert ran.returncode == 2 and "::error file=runbook.md,line=8::unknown kind" in ran.stdout


def test_outside_a_github_job_there_are_no_workflow_commands(cli, write, runner_files):
    path = write(front(fence("boom", "check", 'echo "$DATABASE_URL_X"; exit 1'), secrets="[DATABASE_URL_X]"))
    env = {**runner_files, "GITHUB_ACTIONS": "false"}
    result = cli("run", path, env=env)
    assert result.returncode == 1 and "::" not in result.stdout + result.stderr


def test_every_output_is_documented(cli, write, runner_files):
    assert cli("run", write(front(fence("ok", "check", "true"))), env=runner_files).returncode == 0
    doc = (Path(__file__).parent.parent / "docs" / "reference" / "github.md").read_text()
    for name in outputs(Path(runner_files["GITHUB_OUTPUT"])):
        assert f"| `{name}` |" in doc, name


# -- the composite action and the pre-commit hook ----------------------------------------------

ROOT = Path(__file__).resolve().parent.parent


def replay_action(inputs: dict[str, str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    """Run action.yml's steps as the runner does: each ``run`` with ``bash --noprofile
    --norc -eo pipefail``, its ``env`` with ``${{ inputs.X }}`` (defaults filled in) and
    ``${{ github.action_path }}`` substituted, steps whose ``if`` is false skipped.
    Returns the last step's process (the run)."""
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    values = {name: inputs.get(name, spec.get("default", "")) for name, spec in action["inputs"].items()}
    assert set(inputs) <= set(values), "an input the action does not declare"

    def expand(text: str) -> str:
        text = re.sub(r"\$\{\{\s*inputs\.([\w-]+)\s*\}\}", lambda m: values[m.group(1)], text)
        return re.sub(r"\$\{\{\s*github\.action_path\s*\}\}", str(ROOT), text)

    result = None
    env = dict(env)
    for step in action["runs"]["steps"]:
        condition = re.fullmatch(r"inputs\.([\w-]+) == '([^']*)'", step.get("if", "")) if step.get("if") else None
        if step.get("if") and (condition is None or values[condition.group(1)] != condition.group(2)):
            continue
        step_env = {**env, **{k: expand(str(v)) for k, v in step.get("env", {}).items()}}
        script = cwd / "step.sh"
        script.write_text(step["run"])
        result = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
            cwd=cwd,
            env=step_env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if result.returncode != 0:
            return result
        if env.get("GITHUB_PATH") and Path(env["GITHUB_PATH"]).exists():  # the runner puts these first on PATH for later steps
            added = [line for line in Path(env["GITHUB_PATH"]).read_text().splitlines() if line]
            env["PATH"] = ":".join([*reversed(added), env["PATH"]])
    return result


def test_the_action_metadata_is_valid_and_its_outputs_are_the_runs():
    schema = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-actions", str(ROOT / "action.yml")],
        capture_output=True,
        text=True,
    )
    assert schema.returncode == 0, schema.stdout + schema.stderr
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    doc = (ROOT / "docs" / "reference" / "github.md").read_text()
    for name in action["outputs"]:
        assert action["outputs"][name]["value"] == f"${{{{ steps.run.outputs.{name} }}}}" and f"| `{name}` |" in doc
    for name in action["inputs"]:
        assert f"| `{name}` |" in doc, name


def test_the_action_runs_a_runbook_with_its_inputs_as_data(write, tmp_path, runner_files):
    marker = tmp_path / "pwned"
    path = write(
        front(
            fence("look", "check", 'echo "db=$DATABASE_URL_X"')
            + fence("apply", "step", "echo applied")
            + fence("other", "check", "exit 1"),
            secrets="[DATABASE_URL_X]",
            confirm="GO-OK",
        )
    )
    env = {**runner_files, "PATH": f"{Path(sys.executable).parent}:{runner_files['PATH']}"}
    inputs = {"runbook": str(path), "execute": "true", "confirm": "GO-OK", "only": "look apply", "attempt": "act-1", "install": "false"}
    (tmp_path / "look").write_text("")  # a file an unquoted $ONLY would glob to
    result = replay_action(inputs, env, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "::group::▶ look" in result.stdout and "::group::▶ apply" in result.stdout and "▶ other" not in result.stdout
    got = outputs(Path(runner_files["GITHUB_OUTPUT"]))
    assert got["verdict"] == "passed" and got["attempt-id"] == "act-1"
    hostile = replay_action({**inputs, "confirm": f"$(touch {marker})", "only": f"look;touch {marker} l*"}, env, tmp_path)
    assert hostile.returncode == 2 and not marker.exists()  # a wrong token refuses; nothing in an input runs


def test_the_pre_commit_hook_manifest_is_valid_and_lints(cli, write, tmp_path):
    from pre_commit.clientlib import load_manifest

    [hook] = load_manifest(str(ROOT / ".pre-commit-hooks.yaml"))
    assert hook["entry"].split()[:2] == ["runbook-checks", "lint"] and hook["pass_filenames"] is False
    write(front("```bash {#a .chek}\ntrue\n```\n"))
    linted = subprocess.run(
        [str(Path(sys.executable).parent / "runbook-checks"), *hook["entry"].split()[1:], *hook["args"]],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=clean_env(),
    )
    assert linted.returncode == 2 and "runbook.md:8: unknown kind '.chek'" in linted.stdout


def test_diagnose_masks_and_folds_as_run_does(cli, write, runner_files):
    path = write(
        front(
            "## Down {#down .troubleshoot match=url}\n\nLook.\n\n" + fence("diag-look", "check", 'echo "url=$DATABASE_URL_X"; exit 1'),
            secrets="[DATABASE_URL_X]",
        )
    )
    result = cli("diagnose", path, env=runner_files)
    lines = result.stdout.split("\n")
    assert lines[0].startswith("::add-mask::") and any(unescape(line[12:]) == PASSWORD for line in lines if line.startswith("::add-mask::"))
    assert "::group::▶ diag-look" in result.stdout and PASSWORD not in result.stdout.split("::group::", 1)[1]


def test_the_action_installs_itself_with_the_site_extra_for_the_steps_after(write, tmp_path, runner_files):
    """install: true (the default): a virtual environment of its own under $RUNNER_TEMP
    (the runner's system Python refuses pip installs), with the site extra, put on PATH."""
    path = write(front(fence("ok", "check", "echo fine")))
    runner = tmp_path / "runner"
    runner.mkdir()
    (runner / "path").touch()
    env = {
        **runner_files,
        "RUNNER_TEMP": str(runner),
        "GITHUB_PATH": str(runner / "path"),
        "PATH": ":".join(p for p in os.environ["PATH"].split(":") if Path(p) != Path(sys.executable).parent),
    }
    result = replay_action({"runbook": str(path)}, env, tmp_path)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    venv = runner / "runbook-checks" / "bin"
    assert (runner / "path").read_text().splitlines() == [str(venv)] and "::group::▶ ok" in result.stdout
    assert subprocess.run([str(venv / "python"), "-c", "import html5lib, pymdownx, runbook_checks"]).returncode == 0
