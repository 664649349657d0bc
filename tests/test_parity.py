"""Parity: the CLI and the pytest plugin record the same thing and report a failure in the
same words; the report, the site, the GitHub step summary and JUnit state the same verdict.

Every run here is a real subprocess (``python -m runbook_checks``, ``python -m pytest
--runbooks``, ``python -m mkdocs build``) over small bash-only runbooks written to tmp_path.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from html import unescape as html_unescape
from pathlib import Path

import pytest

from .conftest import clean_env
from .helpers import tbody_rows
from .test_site import build, mkdocs_yml

# -- the two runners -------------------------------------------------------------------------


def cli_run(
    runbook: Path, results: Path, *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess:
    """``runbook-checks run RUNBOOK -q --results RESULTS ARGS`` in a subprocess."""
    return subprocess.run(
        [sys.executable, "-m", "runbook_checks", "run", str(runbook), "-q", "--results", str(results), *args],
        cwd=cwd or runbook.parent,
        env=env or clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def pytest_run(runbook: Path, results: Path, *args: str) -> subprocess.CompletedProcess:
    """``pytest --runbooks RUNBOOK --runbooks-results RESULTS ARGS`` in a subprocess."""
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        "-p",
        "no:cacheprovider",
        "--runbooks",
        str(runbook),
        "--runbooks-results",
        str(results),
        "-rA",
        *args,
    ]
    env = {k: v for k, v in clean_env().items() if k not in ("PYTEST_ADDOPTS", "PYTEST_PLUGINS")}
    return subprocess.run(cmd, cwd=runbook.parent, env=env, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)


def ledger(results: Path, runbook_id: str = "par") -> list[dict]:
    path = results / f"{runbook_id}.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


#: what legitimately differs between two runs of the same runbook
RECORD_IGNORED = {"run_id", "attempt_id", "started_at", "finished_at", "duration_s", "host", "prev", "hash"}
BLOCK_IGNORED = {"started_at", "duration_s"}


def comparable(record: dict) -> dict:
    out = {k: v for k, v in record.items() if k not in RECORD_IGNORED}
    out["options"] = {k: v for k, v in record["options"].items() if k != "runner"}
    out["blocks"] = [{k: v for k, v in b.items() if k not in BLOCK_IGNORED} for b in record["blocks"]]
    for b in out["blocks"]:  # a timeout's measured duration is a timing too
        b["expectations"] = [{**e, "actual": None} if e["name"] == "timeout" else e for e in b["expectations"]]
    return out


def differences(a: dict, b: dict) -> list[str]:
    """Field-by-field differences of two comparable records, block by block."""
    diffs = [f"record.{k}: cli={a.get(k)!r} pytest={b.get(k)!r}" for k in sorted(set(a) | set(b)) if k != "blocks" and a.get(k) != b.get(k)]
    assert [x["id"] for x in a["blocks"]] == [x["id"] for x in b["blocks"]]
    for x, y in zip(a["blocks"], b["blocks"]):
        diffs += [f"{x['id']}.{k}: cli={x.get(k)!r} pytest={y.get(k)!r}" for k in sorted(set(x) | set(y)) if x.get(k) != y.get(k)]
    return diffs


# -- small runbooks ---------------------------------------------------------------------------


def runbook_text(body: str, *, environment: str = "test", extra: str = "") -> str:
    head = f"---\ntitle: Parity runbook\nrunbook:\n  id: par\n  environment: {environment}\n  confirm: GO-OK\n  secrets: []\n{extra}---\n# Parity runbook\n\n"
    return head + textwrap.dedent(body).lstrip("\n")


def fence(block_id: str, kind: str, code: str, attrs: str = "") -> str:
    return f"```bash {{#{block_id} .{kind}{' ' + attrs if attrs else ''}}}\n{textwrap.dedent(code).strip()}\n```\n\n"


TROUBLESHOOTING = """\
## Troubleshooting

### Volume full {#volume-full .troubleshoot match="volume \\S+ is \\d+% full"}

The data volume is full: remove old dumps under /data/backups, then run again.
"""

FAILED_THEN_MORE = (
    fence("pre", "check", "echo preparing")
    + fence(
        "room",
        "check",
        'echo "checking /data"; echo "volume /data is 97% full" >&2; exit 4',
        'criterion="Volume has room" expect="room left"',
    )
    + fence("later", "check", "echo still checked")
    + fence("apply", "step", "echo applying")
    + fence("post", "check", "echo post-check")
    + TROUBLESHOOTING
)
NEEDS_FAILED = (
    fence("conn", "check", 'echo "no route to db" >&2; exit 1')
    + fence("query", "check", "echo selected", "needs=conn")
    + fence("other", "check", "echo independent")
)
NEEDS_SKIPPED_STEP = (
    fence("first", "check", "echo first")
    + fence("migrate", "step", "echo migrated")
    + fence("verify", "check", "echo verified", "needs=migrate")
)
CHECKS_AND_STEPS = (
    fence("c1", "check", "echo one", 'criterion="One"')
    + fence("s1", "step", "echo applied one", 'criterion="Applied"')
    + fence("c2", "check", "echo two")
    + fence("s2", "step", "echo applied two")
)
AFTER_PENDING = (
    fence("list-pending", "check", 'echo "2 pending migration(s):"; echo "  20250101_a"; echo "  20250102_b"; exit 3', "pending-exit=3")
    + fence("deploy", "step", "echo All migrations have been successfully applied.")
    + fence("status", "check", "echo Database schema is up to date!", 'after=deploy expect="up to date"')
    + fence("log", "check", "echo no failed migrations")
)
RETRY_AND_TIMEOUT = (
    fence("flaky", "check", 'echo "attempt"; exit 2', "retries=1 retry-delay=0")
    + fence("slow", "check", "echo started; sleep 30", "timeout=1")
    + fence("fine", "check", "echo fine")
)

#: case -> (runbook body, --execute?, {block id: (status, text in its reason or None, after_failure)} as the CLI must record it)
CASES = {
    "failed-check-then-checks-and-a-step": (
        FAILED_THEN_MORE,
        True,
        {
            "pre": ("passed", None, False),
            "room": ("failed", "exit code 4", False),
            "later": ("passed", None, True),
            "apply": ("not-run", "'room' failed earlier", True),
            "post": ("passed", None, True),
        },
    ),
    "needs-a-failed-check": (
        NEEDS_FAILED,
        False,
        {"conn": ("failed", None, False), "query": ("not-run", "needs 'conn'", True), "other": ("passed", None, True)},
    ),
    "needs-a-skipped-step": (
        NEEDS_SKIPPED_STEP,
        False,
        {
            "first": ("passed", None, False),
            "migrate": ("skipped", "runs only with the confirmation token", False),
            "verify": ("skipped", "needs 'migrate'", False),
        },
    ),
    "steps-without-execute": (
        CHECKS_AND_STEPS,
        False,
        {
            "c1": ("passed", None, False),
            "s1": ("skipped", "runs only with the confirmation token", False),
            "c2": ("passed", None, False),
            "s2": ("skipped", "runs only with the confirmation token", False),
        },
    ),
    "steps-with-execute": (
        CHECKS_AND_STEPS,
        True,
        {"c1": ("passed", None, False), "s1": ("passed", None, False), "c2": ("passed", None, False), "s2": ("passed", None, False)},
    ),
    "after-a-step-while-migrations-are-pending": (
        AFTER_PENDING,
        False,
        {
            "list-pending": ("passed", None, False),
            "deploy": ("skipped", "runs only with the confirmation token", False),
            "status": ("skipped", "'list-pending' says: 2 pending migration(s):", False),
            "log": ("passed", None, False),
        },
    ),
    "after-a-step-that-ran": (
        AFTER_PENDING,
        True,
        {
            "list-pending": ("passed", None, False),
            "deploy": ("passed", None, False),
            "status": ("passed", None, False),
            "log": ("passed", None, False),
        },
    ),
    "retries-and-a-timeout": (
        RETRY_AND_TIMEOUT,
        False,
        {"flaky": ("failed", None, False), "slow": ("timed-out", None, True), "fine": ("passed", None, True)},
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_cli_and_pytest_record_the_same_results(tmp_path, case):
    body, execute, expected = CASES[case]
    runbook = tmp_path / "par.md"
    runbook.write_text(runbook_text(body))
    cli = cli_run(runbook, tmp_path / "cli-results", *(["--execute", "--confirm", "GO-OK"] if execute else []))
    via_pytest = pytest_run(
        runbook, tmp_path / "pytest-results", *(["--runbooks-execute", "--runbooks-confirm", "GO-OK"] if execute else [])
    )
    [a] = ledger(tmp_path / "cli-results")
    [b] = ledger(tmp_path / "pytest-results")
    # the case exercises its rule (so the comparison below is not vacuous)
    got = {blk["id"]: blk for blk in a["blocks"]}
    for block_id, (status, reason, after_failure) in expected.items():
        assert got[block_id]["status"] == status and got[block_id]["after_failure"] is after_failure, got[block_id]
        assert reason is None or reason in (got[block_id]["reason"] or ""), got[block_id]
    assert a["mode"] == ("execute" if execute else "check")
    assert a["options"]["ran"] == [i for i, (status, _, _) in expected.items() if status in ("passed", "failed", "timed-out")]
    # the two runners recorded the same thing, field by field
    assert (a["options"]["runner"], b["options"]["runner"]) == ("cli", "pytest")
    assert differences(comparable(a), comparable(b)) == []
    # and exited alike: 0 when every executed block passed, 1 when one failed
    assert cli.returncode == a["exit_code"] and via_pytest.returncode == b["exit_code"], (
        cli.stdout + cli.stderr,
        via_pytest.stdout[-3000:],
    )
    if case == "retries-and-a-timeout":
        assert got["flaky"]["attempts"] == 2 and b["blocks"][0]["attempts"] == 2


# -- the failure report: CLI -q vs pytest's failure repr ----------------------------------------


def cli_failure_sections(stdout: str) -> dict[str, list[str]]:
    """The CLI's failure reports (``✘ path:line: block 'id' ...`` up to the next blank line), by block id."""
    sections, current = {}, None
    for line in stdout.splitlines():
        m = re.match(r"^✘ \S+:\d+: block '([^']+)' ", line)
        if m:  # not the progress line "✘ id failed in ..."
            current = sections[m.group(1)] = [line[2:]]
        elif current is not None:
            if not line.strip():
                current = None
            else:
                current.append(line)
    return sections


def pytest_failure_sections(stdout: str) -> dict[str, list[str]]:
    """pytest's failure reprs under FAILURES (``___ par.md::id ___`` up to the next header), by block id."""
    sections, current, in_failures = {}, None, False
    for line in stdout.splitlines():
        if re.match(r"^=+ FAILURES =+$", line):
            in_failures = True
            continue
        if not in_failures:
            continue
        if re.match(r"^=+ .* =+$", line):
            break
        m = re.match(r"^_+ (?:\S+::)?(\S+) _+$", line)
        if m:
            current = sections[m.group(1)] = []
        elif current is not None:
            current.append(line)
    return {k: [line for line in v if line.strip()] for k, v in sections.items()}


FAILURE_TEXT_CASES = {
    # a plain failure: location, exit code, command, output tail, troubleshooting, next
    "plain": FAILED_THEN_MORE,
    # the same failure whose command and output hold square brackets, as shell and logs do
    "brackets-in-command-and-output": (
        fence("pre", "check", "echo preparing")
        + fence(
            "room",
            "check",
            'used=97\ndirs=(/data /logs); i=0\nif [[ $used -gt 90 ]]; then echo "[error] volume ${dirs[i]} is ${used}% full" >&2; fi\nexit 4',
            'criterion="Volume has room"',
        )
        + fence("apply", "step", "echo applying")
        + TROUBLESHOOTING
    ),
    # output with what looks like a closing markup tag (a path in brackets)
    "closing-bracket-path-in-output": (fence("room", "check", 'echo "volume /data is 97% full [/dev/sda1]" >&2; exit 4') + TROUBLESHOOTING),
}


@pytest.mark.parametrize("case", FAILURE_TEXT_CASES)
def test_cli_and_pytest_report_a_failure_in_the_same_lines(tmp_path, case):
    runbook = tmp_path / "par.md"
    runbook.write_text(runbook_text(FAILURE_TEXT_CASES[case]))
    junit = tmp_path / "junit.xml"
    cli = cli_run(runbook, tmp_path / "cli-results", "--execute", "--confirm", "GO-OK", "--junit", str(junit))
    via_pytest = pytest_run(runbook, tmp_path / "pytest-results", "--runbooks-execute", "--runbooks-confirm", "GO-OK")
    assert via_pytest.returncode == 1, via_pytest.stdout[-3000:]
    ours = pytest_failure_sections(via_pytest.stdout)
    assert list(ours) == ["room"], via_pytest.stdout[-3000:]
    expected = ours["room"]
    # what the report must hold (both renderings come from one FailureReport; check it is whole)
    line = next(i for i, text in enumerate(runbook.read_text().splitlines(), 1) if "{#room " in text)
    assert expected[0].startswith(f"{runbook}:{line}: block 'room' failed: exit code 4, expected 0")
    assert "  exit code: 4" in expected and "  command:" in expected and "  output (last lines, redacted):" in expected
    code = runbook.read_text().split("{#room ", 1)[1].split("\n", 1)[1].split("```", 1)[0].rstrip("\n").splitlines()
    assert [text[len("    $ ") :] for text in expected if text.startswith("    $ ")] == code
    assert any("volume /data is 97% full" in text for text in expected[expected.index("  output (last lines, redacted):") :])
    assert any(text.startswith(f"  see: Volume full — {runbook}:") and text.endswith("(#volume-full)") for text in expected)
    assert (
        expected[-1]
        == f"  next: fix the cause (see {runbook}:{line}), then run: runbook-checks run {runbook} --from room --execute --confirm <token>"
    )
    # the CLI prints the very same lines
    assert cli.returncode == 1 and "Traceback" not in cli.stderr and junit.exists(), cli.stdout[-3000:] + cli.stderr[-3000:]
    assert cli_failure_sections(cli.stdout) == {"room": expected}


# -- one verdict everywhere ---------------------------------------------------------------------

STAGING_LIKE = runbook_text(
    fence(
        "verify-secret",
        "check",
        'case "$DATABASE_URL_STAGING" in postgres*) echo set ;; *) exit 1 ;; esac',
        'phase=setup criterion="Secret is set"',
    )
    + fence("install", "check", "echo installed", 'phase=setup criterion="Dependencies install"')
    + fence(
        "list-pending",
        "check",
        'if [ -e "$RUNBOOK_WORKDIR/applied" ]; then echo "No pending migrations"; else echo "1 pending migration(s):"; exit 3; fi',
        "phase=setup pending-exit=3",
    )
    + fence(
        "migrate-deploy",
        "step",
        'touch "$RUNBOOK_WORKDIR/applied"; echo All migrations have been successfully applied.',
        'phase=migrate criterion="Deploy completed"',
    )
    + fence(
        "migrate-status",
        "check",
        'if [ -e "$RUNBOOK_WORKDIR/broken" ]; then echo "Following migration have failed: x" >&2; exit 1; fi; echo Database schema is up to date!',
        'phase=validate after=migrate-deploy expect="up to date" criterion="Status is up to date"',
    )
    + fence("app-smoke", "check", "echo App smoke check passed", 'phase=validate after=migrate-deploy criterion="App reads every model"')
    + "## Timeline\n\n<!-- runbook-checks: timeline -->\n\n## Success criteria\n\n<!-- runbook-checks: success-criteria -->\n\n"
    "## History\n\n<!-- runbook-checks: history -->\n",
    environment="staging",
    extra="  secrets: [DATABASE_URL_STAGING]\n  target: ${DATABASE_URL_STAGING}\n  phases:\n"
    "    - {id: setup, name: Setup, estimate: 1-2 min}\n    - {id: migrate, name: Migrate, estimate: 1 min}\n"
    "    - {id: validate, name: Validate, estimate: 1 min}\n",
).replace("  secrets: []\n", "")
STAGING_URL = "postgresql://app:St4ging-pw@staging.db.internal:5432/dixis"


def report_json(runbook: Path, results: Path, *args: str) -> dict:
    out = subprocess.run(
        [sys.executable, "-m", "runbook_checks", "report", str(runbook), "--results", str(results), "--format", "json", *args],
        cwd=runbook.parent.parent,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def banner(html: str) -> tuple[str, str] | None:
    """The runbook page's status banner, if the site has one: (data-verdict, headline text)."""
    m = re.search(r'<div class="rbc-banner[^"]*"[^>]*data-verdict="([^"]+)"[^>]*>(.*?)</div>', html, re.S)
    if not m:
        return None
    headline = re.search(r'<span class="rbc-headline">(.*?)</span>', m.group(2), re.S)
    return m.group(1), text_of(headline.group(1)) if headline else ""


def text_of(fragment: str) -> str:
    return html_unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", fragment)).strip())


def staging_pass_then_failed_rehearsal(site: Path) -> Path:
    """A site in ``site`` whose staging-like runbook's ledger holds a passing --execute
    attempt, then a failing rehearsal (environment ``rehearsal``); returns the runbook."""
    (site / ".git").mkdir()
    docs = site / "docs"
    docs.mkdir()
    (site / "mkdocs.yml").write_text(mkdocs_yml(results_dir="runbook-results"))
    (docs / "audit.md").write_text("# Audit\n\n<!-- runbook-checks: audit -->\n")
    runbook = docs / "staging.md"
    runbook.write_text(STAGING_LIKE)
    results = site / "runbook-results"
    migrate = cli_run(runbook, results, "--execute", "--confirm", "GO-OK", env=clean_env(DATABASE_URL_STAGING=STAGING_URL), cwd=site)
    assert migrate.returncode == 0, migrate.stdout + migrate.stderr
    (docs / "broken").touch()  # the rehearsal's database has a failed migration
    (docs / "applied").unlink()  # and nothing applied yet
    rehearsal = subprocess.run(
        [
            sys.executable,
            "-m",
            "runbook_checks",
            "rehearse",
            str(runbook),
            "-q",
            "--results",
            str(results),
            "--database-url",
            "postgresql://postgres:rehearsal@127.0.0.1:5999/dixis",
        ],
        cwd=site,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert rehearsal.returncode == 1, rehearsal.stdout + rehearsal.stderr
    (docs / "broken").unlink()
    return runbook


def test_a_failed_rehearsal_after_a_staging_pass_leaves_staging_passed_in_report_and_site(tmp_path):
    """The issue's instance: the report said failed while the built site said passed."""
    runbook = staging_pass_then_failed_rehearsal(tmp_path)
    records = ledger(tmp_path / "runbook-results", "par")
    assert [(r["environment"], r["status"]) for r in records] == [("staging", "passed"), ("rehearsal", "failed")]
    report = report_json(runbook, tmp_path / "runbook-results")
    assert (report["verdict"], report["attempt"]["id"]) == ("passed", records[0]["attempt_id"])
    built = build(tmp_path)
    assert built.returncode == 0, built.stderr
    html = (tmp_path / "site" / "staging" / "index.html").read_text()
    assert {text_of(cells[2]) for cells in tbody_rows(html, "rbc-criteria")} == {"✅ passed"}
    assert banner(html) in (None, ("passed", report["headline"]))
    rehearsal = report_json(runbook, tmp_path / "runbook-results", "--environment", "rehearsal")
    assert rehearsal["verdict"] == "failed"  # the rehearsal's own report still says what happened to it


@pytest.fixture
def staging_site(tmp_path: Path) -> Path:
    """``staging_pass_then_failed_rehearsal``, then a passing read-only staging run that
    writes a GitHub step summary and JUnit."""
    runbook = staging_pass_then_failed_rehearsal(tmp_path)
    (tmp_path / "summary.md").write_text("")
    read_only = cli_run(
        runbook,
        tmp_path / "runbook-results",
        "--junit",
        str(tmp_path / "junit.xml"),
        env=clean_env(DATABASE_URL_STAGING=STAGING_URL, GITHUB_STEP_SUMMARY=str(tmp_path / "summary.md")),
        cwd=tmp_path,
    )
    assert read_only.returncode == 0, read_only.stdout + read_only.stderr
    return tmp_path


def test_report_site_step_summary_and_junit_state_one_verdict(staging_site):
    runbook, results = staging_site / "docs" / "staging.md", staging_site / "runbook-results"
    records = ledger(results, "par")
    assert [(r["environment"], r["mode"], r["status"]) for r in records] == [
        ("staging", "execute", "passed"),
        ("rehearsal", "rehearsal", "failed"),
        ("staging", "check", "passed"),
    ]
    migration = records[0]["attempt_id"]
    report = report_json(runbook, results)
    assert (report["verdict"], report["attempt"]["id"], report["attempt"]["mode"]) == ("passed", migration, "execute")
    headline = report["headline"]
    assert headline.startswith("staging: migration passed (")
    # the GitHub step summary of the last run: its "### Attempt" section carries that headline
    summary = (staging_site / "summary.md").read_text()
    attempt_section = summary.split("### Attempt", 1)[1].split("###", 1)[0]
    assert f"**{headline}**" in attempt_section and f"attempt `{migration}`" in attempt_section
    # JUnit of the last run
    suite = ET.parse(staging_site / "junit.xml").getroot().find("testsuite")
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert props["attempt-verdict"] == report["verdict"]
    # the built site
    built = build(staging_site)
    assert built.returncode == 0, built.stderr
    html = (staging_site / "site" / "staging" / "index.html").read_text()
    shown = banner(html)
    assert shown is None or shown == (report["verdict"], headline), shown
    criteria = {text_of(cells[0]): text_of(cells[2]) for cells in tbody_rows(html, "rbc-criteria")}
    assert criteria == {c["criterion"]: f"✅ {c['status']}" for c in report["criteria"]} and set(criteria.values()) == {"✅ passed"}
    history = {text_of(cells[0]): (text_of(cells[2]), text_of(cells[3]), text_of(cells[4])) for cells in tbody_rows(html, "rbc-history")}
    assert history[migration] == ("staging", "execute", "✅ passed")
    assert history[records[1]["attempt_id"]] == ("rehearsal", "rehearsal", "❌ failed")
    audit = (staging_site / "site" / "audit" / "index.html").read_text()
    assert headline in audit
    # the timeline the site shows is measured over the same attempt as the report's
    assert report["timeline_attempt"] == migration
    assert re.findall(r"Measured over attempt\s*<code>([^<]+)</code>", html) in ([], [migration])


def test_junit_names_the_attempt_whose_verdict_it_gives(staging_site):
    """JUnit's suite properties ``attempt-id`` and ``attempt-verdict`` must be about one attempt:
    after a passing migration, a failing read-only run must not be reported as
    ``attempt-id=<that read-only attempt>`` with ``attempt-verdict=passed``."""
    runbook, results = staging_site / "docs" / "staging.md", staging_site / "runbook-results"
    (staging_site / "docs" / "broken").touch()
    failing = cli_run(
        runbook, results, "--junit", str(staging_site / "junit2.xml"), env=clean_env(DATABASE_URL_STAGING=STAGING_URL), cwd=staging_site
    )
    assert failing.returncode == 1
    [*_, last] = ledger(results, "par")
    assert (last["mode"], last["status"]) == ("check", "failed")
    report = report_json(runbook, results)
    assert report["verdict"] == "passed"  # the migration shown is still the passing one
    props = {p.get("name"): p.get("value") for p in ET.parse(staging_site / "junit2.xml").getroot().iter("property")}
    named = props["attempt-id"]
    # the verdict JUnit gives must be the verdict of the attempt it names
    assert (named, props["attempt-verdict"]) in {(report["attempt"]["id"], report["attempt"]["verdict"]), (last["attempt_id"], "failed")}, (
        props
    )
