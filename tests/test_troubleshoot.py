"""Troubleshooting entries: lint, matching failures, refusals, diagnose, JUnit, summary, site."""

from __future__ import annotations

import json
import re

import pytest

from .conftest import clean_env, fence, front

GUIDE = """
## Troubleshooting

### Port busy {#port-busy .troubleshoot match="address already in use" blocks=serve}

Another process holds the port. Stop it (`ss -ltnp`) and run again.

```bash {#diag-port .check}
echo "listen tcp :8080: bind: address already in use"; exit 1
```

### Exit three {#exit-three .troubleshoot exit=3}

The tool exits 3 when its config is missing.

### Secret not set {#no-secret .troubleshoot match="needs the secret\\(s\\) TOK"}

Export TOK first.
"""


def runbook(write, serve_code: str = 'echo "listen tcp :8080: bind: address already in use" >&2; exit 1'):
    body = fence("serve", "check", serve_code) + fence("other", "check", "exit 3") + GUIDE
    return write(front(body, secrets="[TOK]", extra="  env:\n    API_TOKEN: ${TOK}"))


def test_failure_names_the_matching_entries_everywhere(cli, write, tmp_path):
    path = runbook(write)
    summary = tmp_path / "summary.md"
    result = cli(
        "run",
        path,
        "--only",
        "serve",
        "--only",
        "other",
        "--junit",
        tmp_path / "j.xml",
        env=clean_env(TOK="t0ken-value", GITHUB_STEP_SUMMARY=str(summary)),
    )
    assert result.returncode == 1
    assert f"see: Port busy — {path}:19 (#port-busy)" in result.stdout
    assert "Another process holds the port. Stop it (`ss -ltnp`) and run again." in result.stdout
    assert f"see: Exit three — {path}:27 (#exit-three)" in result.stdout
    record = json.loads((tmp_path / "runbook-results" / "rb.jsonl").read_text())
    assert {b["id"]: b["troubleshooting"] for b in record["blocks"] if b["id"] in ("serve", "other")} == {
        "serve": ["port-busy"],
        "other": ["exit-three"],
    }
    assert "see: Port busy (#port-busy)" in (tmp_path / "j.xml").read_text()
    assert "see: Exit three (#exit-three)" in summary.read_text()
    assert cli("verify").returncode == 0


def test_entry_limited_to_blocks_and_passing_blocks_get_none(cli, write, tmp_path):
    path = runbook(write, serve_code="echo fine")
    cli("run", path, "--only", "serve", "--only", "diag-port", env=clean_env(TOK="x"))
    blocks = {b["id"]: b for b in json.loads((tmp_path / "runbook-results" / "rb.jsonl").read_text())["blocks"]}
    assert blocks["serve"]["troubleshooting"] == []  # passed
    assert blocks["diag-port"]["troubleshooting"] == []  # the pattern matches, but the entry covers only 'serve'


def test_refusal_names_the_entry(cli, write):
    result = cli("run", runbook(write))
    assert result.returncode == 2 and "see: Secret not set" in result.stderr and "#no-secret" in result.stderr


def test_diagnose_names_the_entries_that_apply(cli, write, tmp_path):
    path = runbook(write)
    result = cli("diagnose", path, env=clean_env(TOK="x"))
    assert result.returncode == 1
    assert "✘ diag-port: listen tcp :8080: bind: address already in use → Port busy" in result.stdout
    assert "1 troubleshooting entry applies:" in result.stdout and f"Port busy — {path}:19 (#port-busy)" in result.stdout
    assert not (tmp_path / "runbook-results").exists()  # diagnose records nothing
    healthy = write(
        front(
            fence("c", "check", "true") + "\n### Slow {#slow .troubleshoot match=slow}\n\nWait.\n\n" + fence("diag", "check", "echo fast")
        ),
        "ok.md",
    )
    ok = cli("diagnose", healthy)
    assert ok.returncode == 0 and "no troubleshooting entry applies" in ok.stdout


@pytest.mark.parametrize(
    "heading, message",
    [
        ('### X {#x .troubleshoot match="(unclosed"}', "entry 'x': match='(unclosed' is not a valid regular expression"),
        ("### X {#x .troubleshoot blocks=nope}", "entry 'x': blocks= names 'nope', which is not a block of this runbook"),
        ("### X {#x .troubleshoot}", "entry 'x' explains nothing: give it match=, exit= and/or blocks="),
        ("### X {#x .troubleshoot mach=y}", "entry 'x': unknown attribute 'mach' (did you mean 'match'?)"),
        ("### X {#c .troubleshoot match=y}", "duplicate id 'c' (also used at line 8)"),
    ],
)
def test_lint_checks_entries(cli, write, heading, message):
    path = write(front(fence("c", "check", "true") + "\n" + heading + "\n\ntext\n"))
    result = cli("lint", path)
    assert result.returncode == 2 and f"{path}:12: {message}" in result.stdout


def test_lint_reports_two_entries_with_the_same_pattern(cli, write):
    path = write(front(fence("c", "check", "true") + "\n### A {#a .troubleshoot match=boom}\n\n### B {#b .troubleshoot match=boom}\n"))
    assert f"{path}:14: entry 'b' has the same match= pattern as entry 'a'" in cli("lint", path).stdout


def test_list_shows_entries(cli, write):
    data = json.loads(cli("list", runbook(write), "--format", "json").stdout)
    assert [(e["id"], e["line"], e["diagnostics"]) for e in data["entries"]] == [
        ("port-busy", 19, ["diag-port"]),
        ("exit-three", 27, []),
        ("no-secret", 31, []),
    ]


def test_site_badge_of_a_failed_block_links_to_its_entry(cli, write, tmp_path):
    from .test_site import build, mkdocs_yml

    docs = tmp_path / "docs"
    path = runbook(write)
    docs.mkdir()
    path.rename(docs / "rb.md")
    (tmp_path / "mkdocs.yml").write_text(mkdocs_yml(results_dir="runbook-results"))
    assert cli("run", docs / "rb.md", "--only", "serve", env=clean_env(TOK="x")).returncode == 1
    assert build(tmp_path).returncode == 0
    html = (tmp_path / "site" / "rb" / "index.html").read_text()
    badge = re.search(r'<div class="rbc-badge[^"]*" data-block="serve".*?</div>', html).group(0)
    assert '<a class="rbc-troubleshoot" href="#port-busy">troubleshooting: Port busy</a>' in badge
    assert re.search(r'<h3[^>]* id="port-busy"', html)
