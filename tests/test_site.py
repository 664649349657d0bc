"""The published site: a real `mkdocs build` of a fixture site with a recorded ledger,
assertions on the built HTML, and a real headless Chromium looking at the page."""

from __future__ import annotations

import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from .conftest import clean_env

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = Path(os.environ.get("RUNBOOK_CHECKS_CHROMIUM", "/usr/bin/chromium"))

RUNBOOK = """\
---
title: Fixture runbook
runbook:
  id: fixture
  environment: staging
  confirm: FIX-OK
  phases:
    - {{id: prep, name: Preparation, estimate: 1-2 min}}
    - {{id: verify, name: Verification, estimate: 10 s}}
---
# Fixture runbook

```bash {{#good .check phase=prep criterion="Good things happen"}}
echo good; touch "{mark}"
```

```bash {{#bad .check phase=verify criterion="Bad things are caught"}}
echo "something broke" >&2; exit 3
```

```bash {{#changing .check phase=verify criterion="Changes are noticed"}}
echo version-1
```

```bash {{#apply .step criterion="Change applied"}}
echo applying
```

## Timeline

<!-- runbook-checks: timeline -->

## Success criteria

<!-- runbook-checks: success-criteria -->

## History

<!-- runbook-checks: history -->
"""


def mkdocs_yml(**plugin: str) -> str:
    options = "".join(f"\n      {k}: {v}" for k, v in plugin.items())
    return (
        textwrap.dedent("""\
        site_name: fixture
        theme: {name: material}
        plugins:
          - runbook-checks:""")
        + (options or " {}")
        + textwrap.dedent("""
        markdown_extensions: [attr_list, admonition, pymdownx.details, pymdownx.superfences, tables]
        """)
    )


def build(site: Path, strict: bool = True) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "mkdocs", "build", "-q", "-d", str(site / "site")] + (["--strict"] if strict else [])
    return subprocess.run(cmd, cwd=site, capture_output=True, text=True, env=clean_env(NO_MKDOCS_2_WARNING="1"), timeout=120)


@pytest.fixture
def site(tmp_path: Path, cli) -> Path:
    """A fixture site whose ledger holds a passed, a failed, a stale and a never-run block."""
    mark = tmp_path / "side-effect"
    docs = tmp_path / "docs"
    docs.mkdir()
    (tmp_path / "mkdocs.yml").write_text(mkdocs_yml(results_dir="runbook-results"))
    (docs / "index.md").write_text("# Home\n\n<!-- runbook-checks: comparison rb.md other.md -->\n")
    (docs / "audit.md").write_text("# Audit\n\n<!-- runbook-checks: audit -->\n")
    runbook = docs / "rb.md"
    runbook.write_text(RUNBOOK.format(mark=mark))
    (docs / "other.md").write_text(
        "---\nrunbook:\n  id: other\n  environment: production\n  summary: {Risk: High}\n---\n# Other\n\n```bash {#o .check}\ntrue\n```\n"
    )
    assert (
        cli("run", runbook, "--execute", "--confirm", "FIX-OK", "--skip", "apply", cwd=tmp_path).returncode == 1
    )  # a failed migration attempt
    runbook.write_text(runbook.read_text().replace("echo version-1", "echo version-2"))  # now stale
    mark.unlink()
    return tmp_path


def page(site: Path, name: str) -> str:
    return (site / "site" / name / "index.html").read_text()


def badges(html: str) -> dict[str, str]:
    return dict(re.findall(r'class="rbc-badge[^"]*" data-block="([^"]+)" data-status="([^"]+)"', html))


def test_build_renders_badges_tables_timeline_history_and_executes_nothing(site):
    result = build(site)
    assert result.returncode == 0, result.stderr
    assert not (site / "side-effect").exists()  # the build ran no block
    html = page(site, "rb")
    assert badges(html) == {"good": "passed", "bad": "failed", "changing": "stale", "apply": "never-run"}
    assert 'href="#evidence-bad"' in html and 'id="evidence-bad"' in html and "something broke" in html
    criteria = html[html.index('id="success-criteria"') :]
    for criterion, status in [
        ("Good things happen", "passed"),
        ("Bad things are caught", "failed"),
        ("Changes are noticed", "stale"),
        ("Change applied", "never-run"),
    ]:
        assert re.search(rf"<td>{criterion}</td>\s*<td><code>\w+</code></td>\s*<td>\S+ {status}</td>", criteria), criterion
    assert '<svg class="rbc-timeline"' in html and 'data-phase="prep"' in html
    assert "<td>Preparation</td>" in html and "<td>1-2 min</td>" in html
    record = json.loads((site / "runbook-results" / "fixture.jsonl").read_text())
    assert f'href="../audit/#attempt-fixture-staging-{record["attempt_id"]}"' in html  # history links to the attempt's evidence
    audit = page(site, "audit")
    assert (
        "chain intact (1 records)" in audit
        and f'id="attempt-fixture-staging-{record["attempt_id"]}"' in audit
        and f'id="run-{record["run_id"]}"' in audit
    )
    assert "never run" in audit and record["hash"] in audit  # the head hash, to anchor with verify --anchor
    # the whole ledger, as verified, is published beside the audit page; a never-run runbook has none
    assert '<a href="../runbook-results/fixture.jsonl">' in audit
    assert (site / "site" / "runbook-results" / "fixture.jsonl").read_bytes() == (site / "runbook-results" / "fixture.jsonl").read_bytes()
    assert sorted(p.name for p in (site / "site" / "runbook-results").iterdir()) == ["fixture.jsonl"]
    home = (site / "site" / "index.html").read_text()
    assert "<td><strong>Risk</strong></td>" in home and "<td>High</td>" in home


def test_old_passes_are_overdue(site):
    (site / "mkdocs.yml").write_text(mkdocs_yml(results_dir="runbook-results", max_age="0s"))
    assert build(site).returncode == 0
    assert badges(page(site, "rb"))["good"] == "overdue"


@pytest.mark.parametrize(
    ("written", "seconds"),
    [("7 days", 7 * 86400), ("12 h", 12 * 3600), ("30 min", 1800), ("0s", 0.0), ("1-2 days", 86400), (None, 7 * 86400)],
)
def test_max_age_is_read_as_seconds(written, seconds):
    """``max_age`` is read as ``units.parse_duration`` reads a runbook's durations (a range
    counts as its low end; absent, it is the default ``7 days``)."""
    from runbook_checks.mkdocs.config import Duration

    assert Duration(default="7 days").validate(written) == seconds


@pytest.mark.parametrize("written", ["soon", "2-1 days", 7, True])
def test_max_age_that_is_not_a_duration_is_refused(written):
    from mkdocs.config.base import ValidationError

    from runbook_checks.mkdocs.config import Duration

    with pytest.raises(ValidationError, match="duration"):
        Duration(default="7 days").validate(written)


def test_a_bad_max_age_stops_the_build_with_a_configuration_error_not_a_traceback(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "index.md").write_text("# Home\n")
    (tmp_path / "mkdocs.yml").write_text(mkdocs_yml(max_age="soon"))
    result = build(tmp_path)
    assert result.returncode != 0 and "Traceback" not in result.stderr, result.stderr
    assert "option 'max_age': 'soon' is not a duration" in result.stderr


def test_the_audit_page_is_the_same_filled_in_its_written_file_or_before_another_plugin_sees_it(site):
    assert build(site).returncode == 0
    spliced, index = site / "site" / "audit" / "index.html", site / "site" / "index.html"
    first = spliced.read_bytes()
    assert b'class="rbc-audit-runs"' in first and b"<!--rbc-" not in first
    assert spliced.stat().st_mode == index.stat().st_mode  # written anew beside itself, with the page's mode
    # a hook that sees every finished page after the plugin: the runs are put in the page, for it to see
    (site / "hooks.py").write_text("def on_post_page(output, page, config):\n    assert '<!--rbc-' not in output\n    return output\n")
    with open(site / "mkdocs.yml", "a") as f:
        f.write("hooks: [hooks.py]\n")
    assert build(site).returncode == 0, "the hook saw a placeholder"
    assert spliced.read_bytes() == first
    # a hook that reads the written pages before the plugin's on_post_build: it sees the runs too
    (site / "hooks.py").write_text(
        "from mkdocs.plugins import event_priority\n\n@event_priority(100)\ndef on_post_build(config):\n"
        "    assert '<!--rbc-' not in open(config.site_dir + '/audit/index.html').read()\n"
    )
    assert build(site).returncode == 0, "the hook saw a placeholder"
    assert spliced.read_bytes() == first


def test_without_an_audit_page_no_ledger_is_published(site):
    (site / "docs" / "audit.md").unlink()
    assert build(site).returncode == 0
    assert not (site / "site" / "runbook-results").exists()


def test_missing_ledger_renders_never_run(site):
    shutil.rmtree(site / "runbook-results")
    assert build(site).returncode == 0
    assert set(badges(page(site, "rb")).values()) == {"never-run"}
    assert "no ledger yet" in page(site, "audit")


def test_corrupted_ledger_fails_a_strict_build_and_is_reported_on_the_audit_page(site):
    ledger = site / "runbook-results" / "fixture.jsonl"
    ledger.write_text(ledger.read_text().replace('"actor":"', '"actor":"x', 1))
    strict = build(site)
    assert strict.returncode != 0 and f"{ledger}:1: hash mismatch" in strict.stderr
    (site / "mkdocs.yml").write_text(mkdocs_yml(results_dir="runbook-results", strict="false"))
    lenient = build(site)
    assert lenient.returncode == 0, lenient.stderr
    assert "fixture.jsonl:1</code>: hash mismatch" in page(site, "audit")
    assert "Ledger failed verification" in page(site, "rb")


@pytest.mark.parametrize(
    "marker, message",
    [
        ("<!-- runbook-checks: timelime -->", "docs/rb.md:{line}: unknown runbook-checks marker 'timelime'"),
        ("<!-- runbook-checks: history extra -->", "docs/rb.md:{line}: the 'history' marker takes no arguments"),
        ("<!-- runbook-checks: runbooks extra -->", "docs/rb.md:{line}: the 'runbooks' marker takes no arguments"),
        ("<!-- runbook-checks: comparison rb.md -->", "docs/rb.md:{line}: 'comparison' needs two or more runbook paths"),
    ],
)
def test_bad_markers_fail_the_build_naming_page_and_line(site, marker, message):
    runbook = site / "docs" / "rb.md"
    lines = runbook.read_text().splitlines()
    lines.insert(12, marker)
    runbook.write_text("\n".join(lines) + "\n")
    result = build(site)
    assert result.returncode != 0 and message.format(line=13) in result.stderr


def test_runbook_marker_on_a_plain_page_fails(site):
    (site / "docs" / "index.md").write_text("# Home\n\n<!-- runbook-checks: timeline -->\n")
    result = build(site)
    assert "docs/index.md:3: the 'timeline' marker belongs on a runbook page" in result.stderr


def test_project_site_builds_strict():
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-d", "/tmp/runbook-checks-site-test"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=clean_env(NO_MKDOCS_2_WARNING="1"),
        timeout=120,
    )
    assert result.returncode == 0, result.stderr


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def test_headless_chromium_sees_tables_timeline_and_badges(site):
    assert build(site).returncode == 0
    from playwright.sync_api import sync_playwright

    handler = lambda *a, **kw: _Quiet(*a, directory=str(site / "site"), **kw)  # noqa: E731
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=str(CHROMIUM),
                args=[
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    "--no-first-run",
                ],
            )
            tab = browser.new_page(viewport={"width": 1280, "height": 2400})
            tab.goto(f"http://127.0.0.1:{server.server_address[1]}/rb/")
            criteria = tab.locator("table", has_text="Criterion")
            assert criteria.is_visible()
            for table in ("Criterion", "Estimate", "Mode"):  # styled and scrollable like any Material table
                assert tab.locator(".md-typeset__table table", has_text=table).count() == 1, table
                assert (
                    tab.locator("table", has_text=table).evaluate("t => getComputedStyle(t.querySelector('td')).borderTopStyle") != "none"
                )
            assert criteria.locator("tr", has_text="Bad things are caught").inner_text().count("failed") == 1
            timeline = tab.locator("svg.rbc-timeline")
            assert timeline.is_visible() and timeline.locator("rect.rbc-measured").count() == 2
            assert tab.locator("table", has_text="Estimate").is_visible()
            badge = tab.locator('.rbc-badge[data-block="bad"]')
            assert badge.is_visible() and "FAILED" in badge.inner_text().upper()
            badge.locator("a", has_text="evidence").click()
            assert tab.locator("#evidence-bad").get_attribute("open") is not None or tab.url.endswith("#evidence-bad")
            ARTIFACTS.mkdir(exist_ok=True)
            tab.screenshot(path=str(ARTIFACTS / "site-runbook.png"), full_page=True)
            browser.close()
    finally:
        server.shutdown()
    assert (ARTIFACTS / "site-runbook.png").stat().st_size > 10_000


def test_markers_in_code_are_left_alone_and_misspelt_markers_fail(site):
    (site / "docs" / "index.md").write_text("# Home\n\n```markdown\n<!-- runbook-checks: audit -->\n```\n")
    assert build(site).returncode == 0
    assert "&lt;!-- runbook-checks: audit --&gt;" in (site / "site" / "index.html").read_text()
    (site / "docs" / "index.md").write_text("# Home\n\n<!-- runbook_checks: audit -->\n")
    result = build(site)
    assert result.returncode != 0 and "docs/index.md:3: misspelt marker" in result.stderr


def test_a_rehearsal_does_not_stand_in_for_the_runbook_environment(site, cli):
    runbook = site / "docs" / "rb.md"
    runbook.write_text(runbook.read_text().replace("echo version-2", "echo version-1"))  # no longer stale
    data = json.loads((site / "runbook-results" / "fixture.jsonl").read_text())
    rehearsal = runbook.read_text().replace("environment: staging", "environment: rehearsal-copy").replace("exit 3", "exit 0")
    copy = site / "rehearsal.md"
    copy.write_text(rehearsal.replace("id: fixture", "id: fixture"))
    assert cli("run", copy, cwd=site).returncode == 0  # a newer run of the same runbook id, other environment, all passing
    assert build(site).returncode == 0
    assert badges(page(site, "rb"))["bad"] == "failed"  # still the staging result
    assert data["environment"] == "staging"


def test_rebuilds_in_one_process_reuse_nothing_that_changed(site, cli, caplog):
    """`mkdocs serve` rebuilds in one process, reusing parsed runbooks and verified ledgers
    whose bytes are unchanged: a new run, an edited block and a tampered ledger all show."""
    from mkdocs.commands.build import build as mkdocs_build
    from mkdocs.config import load_config
    from mkdocs.exceptions import Abort

    def rebuild() -> str:
        mkdocs_build(load_config(str(site / "mkdocs.yml"), site_dir=str(site / "site")))
        return page(site, "rb")

    runbook, ledger = site / "docs" / "rb.md", site / "runbook-results" / "fixture.jsonl"
    first = rebuild()
    assert badges(first) == {"good": "passed", "bad": "failed", "changing": "stale", "apply": "never-run"}
    assert badges(rebuild()) == badges(first)
    runbook.write_text(runbook.read_text().replace("echo version-2", "echo version-1"))  # as it was run: no longer stale
    assert badges(rebuild())["changing"] == "passed"
    assert cli("run", runbook, cwd=site).returncode == 1  # a new run
    newest = json.loads(ledger.read_text().splitlines()[-1])["attempt_id"]
    assert f"attempt-fixture-staging-{newest}" in rebuild()
    ledger.write_text(ledger.read_text().replace('"actor":"', '"actor":"x', 1))
    with pytest.raises(Abort):
        rebuild()
    assert "fixture.jsonl:1: hash mismatch" in caplog.text


def test_mkdocs_serve_shows_a_run_as_soon_as_it_is_recorded(site, cli):
    import socket
    import time
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "mkdocs", "serve", "-a", f"127.0.0.1:{port}"],
        cwd=site,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=clean_env(NO_MKDOCS_2_WARNING="1"),
    )

    def fetch_until(predicate, what: str) -> str:
        deadline, html = time.monotonic() + 60, ""
        while time.monotonic() < deadline:
            try:
                html = urllib.request.urlopen(f"http://127.0.0.1:{port}/rb/", timeout=5).read().decode()
                if predicate(html):
                    return html
            except OSError:
                pass
            time.sleep(0.2)  # polling a server, not waiting out a race
        raise AssertionError(f"mkdocs serve never showed {what}")

    try:
        fetch_until(lambda html: badges(html).get("bad") == "failed", "the recorded run")
        assert cli("run", site / "docs" / "rb.md", cwd=site).returncode == 1
        newest = json.loads((site / "runbook-results" / "fixture.jsonl").read_text().splitlines()[-1])["attempt_id"]
        fetch_until(lambda html: f"attempt-fixture-staging-{newest}" in html, f"the new run's attempt {newest}")
    finally:
        server.terminate()
        server.wait(timeout=20)


def test_the_removed_prefer_environment_option_warns_instead_of_breaking_the_build(site):
    (site / "mkdocs.yml").write_text(mkdocs_yml(results_dir="runbook-results", prefer_environment="true"))
    assert build(site, strict=False).returncode == 0
    loud = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(site / "site")],
        cwd=site,
        capture_output=True,
        text=True,
        env=clean_env(NO_MKDOCS_2_WARNING="1"),
        timeout=120,
    )
    assert loud.returncode != 0 and "'prefer_environment' is gone" in loud.stderr  # --strict: the warning fails the build, and says why


@pytest.mark.parametrize(
    "example",
    [
        "Some text.\n\n    <!-- runbook-checks: timeline -->\n",  # an indented code block
        "```\n<!-- runbook-checks: timeline -->\n```\n",
        "!!! note\n\n    ```markdown\n    <!-- runbook-checks: audit -->\n    ```\n",  # a fence in an admonition
    ],
)
def test_a_marker_shown_in_any_kind_of_code_block_is_left_as_written(site, example):
    (site / "docs" / "index.md").write_text("# Home\n\n" + example)
    result = build(site)
    assert result.returncode == 0, result.stderr
    assert "&lt;!-- runbook-checks:" in (site / "site" / "index.html").read_text()


def test_a_resealed_record_with_values_no_run_writes_ends_the_build_cleanly(site):
    from runbook_checks.ledger import sealed_line

    path = site / "runbook-results" / "fixture.jsonl"
    record = json.loads(path.read_text())
    record.pop("hash")
    record.update(finished_at="garbage", duration_s="x")
    path.write_bytes(sealed_line(record))  # the hashes hold: a forger recomputed them
    result = build(site)
    assert result.returncode != 0 and "Traceback" not in result.stderr, result.stderr
    assert "a ledger record holds values no run writes" in result.stderr


@pytest.mark.parametrize("container", ["!!! note", "???+ note", "1. item\n"])
def test_a_marker_inside_a_container_keeps_the_blocks_after_it_in_the_container(site, container):
    """The marker's table goes in at the marker's indentation: written at column 0 it closed
    the container, and the block after it was shown as text while the checker still ran it."""
    runbook = site / "docs" / "rb.md"
    body = f"{container}\n    <!-- runbook-checks: timeline -->\n\n    ```bash {{#inside .check}}\n    echo inside\n    ```\n"
    runbook.write_text(runbook.read_text() + "\n" + body)
    assert build(site).returncode == 0
    html = page(site, "rb")
    assert re.search(r'<(?:div|pre)[^>]*\bid="inside"[^>]*class="[^"]*\bcheck\b', html) or re.search(
        r'<(?:div|pre)[^>]*class="[^"]*\bcheck\b[^"]*"[^>]*\bid="inside"', html
    )
    assert "```bash {#inside" not in html


def test_a_ledger_is_published_only_as_the_bytes_the_build_verified(tmp_path):
    """The publisher copies a ledger a chunk at a time and checks the copy's SHA-256: a file
    changed since it was verified fails the build (no copy left) instead of being published."""
    import hashlib

    from mkdocs.exceptions import PluginError

    from runbook_checks.mkdocs.publish import Publisher

    ledger = tmp_path / "rb.jsonl"
    ledger.write_bytes(b"x" * 3_000_000)
    verified = hashlib.sha256(ledger.read_bytes()).hexdigest()
    publisher = Publisher(tmp_path / "site")
    publisher.publish("rb", ledger, verified)
    publisher.finish()
    assert (tmp_path / "site" / "runbook-results" / "rb.jsonl").read_bytes() == ledger.read_bytes()
    ledger.write_bytes(b"y" * 10)  # changed after it was verified
    publisher = Publisher(tmp_path / "site2")
    publisher.publish("rb", ledger, verified)
    with pytest.raises(PluginError, match="changed while the site was built"):
        publisher.finish()
    assert not (tmp_path / "site2" / "runbook-results" / "rb.jsonl").exists()


def test_a_resealed_record_with_a_lone_surrogate_ends_the_build_as_report_refuses_it(site):
    import hashlib

    path = site / "runbook-results" / "fixture.jsonl"
    record = json.loads(path.read_text())
    record.pop("hash")
    record["actor"] = "\ud800"  # the schema allows it; no run writes it, no canonical JSON holds it
    body = json.dumps(record, sort_keys=True, separators=(",", ":"))  # ASCII escapes: the line's bytes are UTF-8
    path.write_text(f'{{"hash":"{hashlib.sha256(body.encode()).hexdigest()}",{body[1:]}\n')  # a forger recomputed the hash
    result = build(site)
    assert result.returncode != 0 and "Traceback" not in result.stderr, result.stderr
    problem = "fixture.jsonl:1: not a run record (a string holds a lone surrogate escape, which no run writes and no hash covers)"
    assert problem in result.stderr, result.stderr
