"""What a person sees on the site: the status banner of every runbook page, the
production gate, the home page's list of runbooks, rehearsal and read-only passes that
do not look like a migration pass, and tables and the timeline chart that fit a
desktop and a phone. A real `mkdocs build`, runs recorded with the real CLI and a real
headless Chromium; screenshots go to test-artifacts/."""

from __future__ import annotations

import http.server
import json
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import clean_env
from .test_site import ARTIFACTS, CHROMIUM, _Quiet, build, mkdocs_yml, page

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
WIDTHS = (1400, 390)
UTC_TEXT = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC")
ISO_STAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d")
CI = {
    "GITHUB_ACTOR": "octo-operator",
    "GITHUB_SERVER_URL": "https://github.example",
    "GITHUB_REPOSITORY": "acme/shop",
    "GITHUB_RUN_ID": "4242",
    "GITHUB_RUN_ATTEMPT": "1",
}
CI_URL = "https://github.example/acme/shop/actions/runs/4242"
SECRETS = {
    "DATABASE_URL_STAGE": "postgresql://app:stage-pw@db.stage:5432/shop",
    "DATABASE_URL_PROD": "postgresql://app:prod-pw@db.prod:5432/shop",
}
THROWAWAY = "postgresql://app:pw@127.0.0.1:9/rehearsal"  # blocks only echo: nothing connects

BLOCKS = """\
# {title}

```bash {{#ready .check phase=prep criterion="Database reachable"}}
echo ready
```

```bash {{#apply .step phase=apply criterion="Migrations applied"}}
test ! -e broken && echo "applied $(cat migrations.sql)"
```

## Timeline

<!-- runbook-checks: timeline -->

## Success criteria

<!-- runbook-checks: success-criteria -->

## History

<!-- runbook-checks: history -->
"""

PHASES = """\
  phases:
    - {id: prep, name: Preparation, estimate: 1-2 min}
    - {id: apply, name: Migration execution, estimate: 0-5 s}
"""

STAGE = (
    """\
---
title: Stage migration
runbook:
  id: stage
  environment: staging
  confirm: STAGE-OK
  secrets: [DATABASE_URL_STAGE]
  target: ${DATABASE_URL_STAGE}
  workdir: .
  fingerprint: [migrations.sql]
"""
    + PHASES
    + "---\n"
    + BLOCKS.format(title="Stage migration")
)

PROD = (
    """\
---
title: Prod migration
runbook:
  id: prod
  environment: production
  confirm: PROD-OK
  secrets: [DATABASE_URL_PROD]
  target: ${DATABASE_URL_PROD}
  workdir: .
  fingerprint: [migrations.sql]
  requires:
    - {runbook: stage, environment: staging, same: [migrations.sql], path: docs/stage.md}
"""
    + PHASES
    + "---\n"
    + BLOCKS.format(title="Prod migration")
)

DRIFT = """\
---
title: Drift check
runbook:
  id: drift
  environment: staging
  workdir: .
---
# Drift check

```bash {#no-drift .check criterion="No drift"}
echo no drift
```

<!-- runbook-checks: success-criteria -->
"""


def run_cli(site: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "runbook_checks", *map(str, args)],
        cwd=site,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
        env=clean_env(**SECRETS, **env),
    )


def make_site(root: Path) -> Path:
    """A git repository with a staging runbook, a production runbook that requires it, a
    checks-only runbook, a home page listing them and an audit page."""
    docs = root / "docs"
    docs.mkdir(parents=True)
    (root / "mkdocs.yml").write_text(mkdocs_yml(results_dir="runbook-results"))
    (root / "migrations.sql").write_text("create table t (id int);\n")
    (docs / "index.md").write_text("# Home\n\n## Runbooks\n\n<!-- runbook-checks: runbooks -->\n")
    (docs / "audit.md").write_text("# Audit\n\n<!-- runbook-checks: audit -->\n")
    (docs / "stage.md").write_text(STAGE)
    (docs / "prod.md").write_text(PROD)
    (docs / "drift.md").write_text(DRIFT)
    git = ["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "fixture"], check=True)
    return root


@pytest.fixture(scope="module")
def shown(tmp_path_factory) -> Path:
    """The built site: staging migrated (in CI, after a rehearsal), production rehearsed
    only (its gate open), drift checked read-only."""
    site = make_site(tmp_path_factory.mktemp("shown"))
    assert run_cli(site, "rehearse", "docs/stage.md", "--database-url", THROWAWAY).returncode == 0
    done = run_cli(site, "run", "docs/stage.md", "--execute", "--confirm", "STAGE-OK", **CI)
    assert done.returncode == 0, done.stdout + done.stderr
    assert run_cli(site, "rehearse", "docs/prod.md", "--database-url", THROWAWAY).returncode == 0
    assert run_cli(site, "run", "docs/drift.md").returncode == 0
    result = build(site)
    assert result.returncode == 0, result.stderr
    return site


def headline(site: Path, runbook: str) -> str:
    """The state line as `runbook-checks report` words it: the site must use the same words."""
    result = run_cli(site, "report", f"docs/{runbook}.md", "--format", "json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)["headline"]


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class Served:
    """A built site served on a loopback port."""

    def __init__(self, site: Path):
        handler = lambda *a, **kw: _Quiet(*a, directory=str(site / "site"), **kw)  # noqa: E731
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def served(shown) -> Iterator[Served]:
    server = Served(shown)
    yield server
    server.close()


# -- what a page must satisfy at any width --------------------------------------------------

FIT_JS = """() => {
  const column = document.querySelector('.md-content').getBoundingClientRect();
  const out = [];
  for (const table of document.querySelectorAll('.md-content table')) {
    if (!table.getClientRects().length) continue;
    let scroller = null;
    for (let el = table.parentElement; el && !el.classList.contains('md-content'); el = el.parentElement) {
      const ox = getComputedStyle(el).overflowX;
      if (ox === 'auto' || ox === 'scroll') { scroller = el; break; }
      if (ox === 'hidden' || ox === 'clip') { out.push({table: table.innerText.slice(0, 40), problem: 'clipped by ' + el.className}); break; }
    }
    const t = table.getBoundingClientRect();
    const box = scroller ? scroller.getBoundingClientRect() : t;
    out.push({table: table.innerText.slice(0, 40), tableLeft: t.left, tableRight: t.right, boxLeft: box.left, boxRight: box.right,
              columnLeft: column.left, columnRight: column.right, scrolls: scroller ? scroller.scrollWidth > scroller.clientWidth : false,
              scrollerWidth: scroller ? scroller.scrollWidth : 0});
  }
  return out;
}"""


# plain words (letters only: no hyphen or slash to break at) split across lines in a table
# cell; ids and hashes may break
BROKEN_WORDS_JS = """() => {
  const broken = [];
  for (const td of document.querySelectorAll('.md-content td')) {
    const walker = document.createTreeWalker(td, NodeFilter.SHOW_TEXT);
    for (let node; (node = walker.nextNode());) {
      if (node.parentElement.closest('code.rbc-id, .rbc-audit code')) continue;
      for (const m of node.data.matchAll(/[A-Za-z]{4,}/g)) {
        const range = document.createRange();
        range.setStart(node, m.index);
        range.setEnd(node, m.index + m[0].length);
        const lines = new Set([...range.getClientRects()].filter(r => r.width > 0).map(r => Math.round(r.top)));
        if (lines.size > 1) broken.push(m[0]);
      }
    }
  }
  return broken;
}"""


def assert_fits(tab, width: int, name: str) -> None:
    """No table is cut off: it fits the content column, or (only narrower than a desktop)
    scrolls inside a wrapper that does; the page is never wider than the viewport."""
    tab.evaluate("() => document.querySelectorAll('details').forEach(d => d.open = true)")  # tables of expanded runs too
    found = tab.evaluate(FIT_JS)
    assert found, f"{name}: no tables"
    for t in found:
        assert "problem" not in t, f"{name}: {t}"
        assert t["boxLeft"] >= t["columnLeft"] - 0.5 and t["boxRight"] <= t["columnRight"] + 0.5, (
            f"{name} at {width}px: table outside the column: {t}"
        )
        if width >= 1400:
            assert not t["scrolls"] and t["tableRight"] <= t["columnRight"] + 0.5, f"{name} at {width}px: table does not fit: {t}"
    stamp = ISO_STAMP.search(tab.locator(".md-content").inner_text())
    assert not stamp, f"{name}: {stamp.group(0)}: every time on the site reads like 2026-11-30 06:30 UTC"
    broken = tab.evaluate(BROKEN_WORDS_JS)
    assert not broken, f"{name} at {width}px: table cells so narrow that words break across lines: {broken}"
    scroll_width = tab.evaluate("() => document.documentElement.scrollWidth")
    assert scroll_width <= width, f"{name} at {width}px: the page is {scroll_width}px wide"


def open_page(browser, served: Served, path: str, width: int):
    tab = browser.new_page(viewport={"width": width, "height": 900})
    tab.goto(f"{served.base}/{path}")
    tab.wait_for_selector(".md-typeset__table", state="attached")  # Material's script has wrapped the tables
    return tab


@pytest.mark.parametrize("width", WIDTHS)
def test_runbook_page_banner_badges_tables_and_chart(browser, served, shown, width):
    tab = open_page(browser, served, "stage/", width)
    banner = tab.locator("article h1 + .rbc-banner")
    assert banner.count() == 1 and banner.is_visible()
    assert banner.bounding_box()["y"] < 400  # at the top of the page, not below the fold
    assert banner.get_attribute("data-verdict") == "passed" and banner.get_attribute("data-mode") == "execute"
    text = banner.inner_text()
    assert headline(shown, "stage") in text and "migration passed" in text and "by octo-operator" in text
    assert UTC_TEXT.search(text)
    commit = subprocess.run(["git", "-C", str(shown), "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    assert f"commit {commit[:12]}" in text and "took " in text
    assert banner.locator("a.rbc-ci").get_attribute("href") == CI_URL
    attempt = banner.locator('a[href*="#attempt-"]')
    assert attempt.get_attribute("href") == "../audit/#attempt-stage-staging-github-4242-1"
    assert banner.locator(".rbc-gate").count() == 0  # staging requires nothing
    ARTIFACTS.mkdir(exist_ok=True)
    tab.screenshot(path=str(ARTIFACTS / f"site-banner-{width}.png"))

    # a migration pass is green and solid; the banner and badges agree
    style = "e => { const s = getComputedStyle(e); return [s.borderLeftStyle, s.borderLeftColor, s.backgroundColor]; }"
    migration = tab.locator('.rbc-badge[data-block="ready"]')
    assert migration.get_attribute("data-mode") == "execute"
    assert migration.evaluate(style)[:2] == ["solid", "rgb(46, 125, 50)"] == banner.evaluate(style)[:2]

    chart = tab.locator(".rbc-timeline-chart")
    assert chart.locator("svg.rbc-timeline").is_visible()
    legend = chart.locator(".rbc-legend")
    assert legend.is_visible()
    assert [t.strip() for t in legend.locator("li").all_inner_texts()] == [
        "estimate range",
        "measured, within the estimate",
        "measured, over it",
        "measured, under it",
    ]
    swatches = legend.locator(".rbc-swatch").evaluate_all("els => els.map(e => getComputedStyle(e).backgroundColor)")
    assert len(set(swatches)) == 4
    column = tab.locator(".md-content").bounding_box()
    svg = chart.locator("svg").bounding_box()
    assert svg["x"] >= column["x"] and svg["x"] + svg["width"] <= column["x"] + column["width"]
    label = chart.locator("text.rbc-label").first.bounding_box()
    assert label["height"] >= 9, f"phase names shrink to {label['height']:.1f}px at {width}px"  # still legible on a phone

    assert_fits(tab, width, "stage")
    tab.screenshot(path=str(ARTIFACTS / f"site-runbook-{width}.png"), full_page=True)
    tab.close()


@pytest.mark.parametrize("width", WIDTHS)
def test_rehearsal_and_read_only_passes_do_not_look_like_a_migration(browser, served, shown, width):
    style = "e => { const s = getComputedStyle(e); return {border: s.borderLeftStyle, color: s.borderLeftColor, bg: s.backgroundColor}; }"
    tab = open_page(browser, served, "stage/", width)
    migration = tab.locator('.rbc-badge[data-block="ready"]').evaluate(style)
    tab.close()

    tab = open_page(browser, served, "prod/", width)
    banner = tab.locator("article h1 + .rbc-banner")
    assert banner.is_visible() and banner.get_attribute("data-mode") == "rehearsal" and banner.get_attribute("data-verdict") == "passed"
    text = banner.inner_text()
    assert headline(shown, "prod") in text and "not migrated yet; rehearsal passed" in text and "REHEARSAL PASSED" in text
    gate = banner.locator(".rbc-gate")
    assert gate.get_attribute("data-gate") == "open" and "checked at run time" in gate.inner_text()
    badge = tab.locator('.rbc-badge[data-block="apply"]')
    assert "REHEARSAL PASSED" in badge.inner_text().upper()
    rehearsal = badge.evaluate(style)
    assert banner.evaluate(style) == rehearsal
    tab.screenshot(path=str(ARTIFACTS / f"site-rehearsal-{width}.png"))
    assert_fits(tab, width, "prod")
    tab.close()

    tab = open_page(browser, served, "drift/", width)
    banner = tab.locator("article h1 + .rbc-banner")
    assert banner.get_attribute("data-mode") == "check" and headline(shown, "drift") in banner.inner_text()
    check = tab.locator('.rbc-badge[data-block="no-drift"]')
    assert "READ-ONLY CHECK PASSED" in check.inner_text().upper()
    checks = check.evaluate(style)
    tab.screenshot(path=str(ARTIFACTS / f"site-checks-{width}.png"))
    tab.close()

    assert migration == {"border": "solid", "color": "rgb(46, 125, 50)", "bg": migration["bg"]}
    for practice in (rehearsal, checks):
        assert practice["border"] == "dashed" and practice["color"] != migration["color"] and practice["bg"] != migration["bg"], practice
        red, green, blue = map(int, re.findall(r"\d+", practice["color"])[:3])
        assert not (green > red and green > blue), f"a practice pass is not green: {practice}"
    assert rehearsal != checks


@pytest.mark.parametrize("width", WIDTHS)
def test_home_page_lists_every_runbook_with_its_state_and_gate(browser, served, shown, width):
    tab = open_page(browser, served, "", width)
    table = tab.locator(".rbc-runbooks table")
    assert table.is_visible()
    assert [t.strip() for t in table.locator("th").all_inner_texts()] == ["Runbook", "Environment", "State", "Gate", "Latest attempt"]
    rows = {r.locator("td").first.inner_text().strip(): r for r in table.locator("tbody tr").all()}
    assert sorted(rows) == ["Drift check", "Prod migration", "Stage migration"]
    for title, name in (("Drift check", "drift"), ("Prod migration", "prod"), ("Stage migration", "stage")):
        assert headline(shown, name) in rows[title].inner_text()
        assert rows[title].locator("td a").first.get_attribute("href") == f"{name}/"
    assert rows["Stage migration"].locator(".rbc-state").get_attribute("data-verdict") == "passed"
    assert rows["Prod migration"].locator("[data-gate]").get_attribute("data-gate") == "open"
    assert rows["Stage migration"].locator("td").nth(3).inner_text().strip() == "—"  # no requires: no gate
    latest = rows["Stage migration"].locator("td").nth(4).locator("a")
    assert latest.get_attribute("href") == "audit/#attempt-stage-staging-github-4242-1"
    latest.click()
    tab.wait_for_url("**/audit/#attempt-stage-staging-github-4242-1")
    assert tab.locator("#attempt-stage-staging-github-4242-1").count() == 1
    tab.close()

    tab = open_page(browser, served, "", width)
    assert_fits(tab, width, "home")
    tab.screenshot(path=str(ARTIFACTS / f"site-home-{width}.png"), full_page=True)
    tab.close()


@pytest.mark.parametrize("width", WIDTHS)
def test_audit_page_renders_attempts_ledger_head_and_ci_link(browser, served, shown, width):
    tab = open_page(browser, served, "audit/", width)
    overview = tab.locator(".rbc-audit table")
    assert overview.is_visible()
    head = json.loads((shown / "runbook-results" / "stage.jsonl").read_text().splitlines()[-1])["hash"]
    assert head in overview.inner_text().replace("\n", "")
    attempt = tab.locator("#attempt-stage-staging-github-4242-1")
    assert attempt.is_visible() and attempt.locator("summary a", has_text="CI run").get_attribute("href") == CI_URL
    assert_fits(tab, width, "audit")  # with every attempt and run opened
    assert attempt.locator("table", has_text="Block").first.is_visible()
    tab.screenshot(path=str(ARTIFACTS / f"site-audit-{width}-full.png"), full_page=True)
    attempt.scroll_into_view_if_needed()
    tab.screenshot(path=str(ARTIFACTS / f"site-audit-{width}.png"))
    tab.close()


# -- the production gate ----------------------------------------------------------------------


def test_production_gate_is_closed_with_a_reason_until_the_required_migration_passes(tmp_path, browser, monkeypatch):
    """Rebuilt in one process, as `mkdocs serve` does: the gate follows the required
    runbook's ledger and the content it fingerprints, not what an earlier build remembered."""
    from mkdocs.commands.build import build as mkdocs_build
    from mkdocs.config import load_config

    site = make_site(tmp_path / "gated")
    monkeypatch.chdir(site)

    def gate() -> tuple[str, str]:
        mkdocs_build(load_config(str(site / "mkdocs.yml"), site_dir=str(site / "site")))
        html = page(site, "prod")
        banner = html[html.index('<div class="rbc-banner') :]
        m = re.search(r'<div class="rbc-gate [^"]*" data-gate="(\w+)">(.*?)</div>', banner)
        assert m, banner[:2000]
        return m.group(1), re.sub(r"<[^>]+>", "", m.group(2)).replace("&#x27;", "'")

    state, why = gate()
    assert state == "closed" and "requires a passing migration of runbook 'stage' (staging) first" in why
    assert "runbook-results/stage.jsonl holds no --execute attempt of it" in why and "Run runbook-checks run docs/stage.md --execute" in why
    assert str(tmp_path) not in why  # the site names paths as an operator types them, not the build machine's
    assert "target" in why and "checked at run time" in why

    (site / "broken").touch()
    assert run_cli(site, "run", "docs/stage.md", "--execute", "--confirm", "STAGE-OK").returncode == 1
    state, why = gate()
    assert state == "closed" and "did not pass (verdict: failed)" in why
    served = Served(site)
    try:
        tab = browser.new_page(viewport={"width": 1400, "height": 900})
        tab.goto(f"{served.base}/prod/")
        closed = tab.locator(".rbc-banner .rbc-gate")
        assert closed.is_visible() and closed.get_attribute("data-gate") == "closed"
        assert "Gate closed" in closed.inner_text() and "did not pass (verdict: failed)" in closed.inner_text()
        tab.screenshot(path=str(ARTIFACTS / "site-gate-closed.png"))
        phone = browser.new_page(viewport={"width": 390, "height": 900})
        phone.goto(f"{served.base}/")
        phone.wait_for_selector(".md-typeset__table", state="attached")
        assert "did not pass (verdict: failed)" in phone.locator(".rbc-runbooks [data-gate=closed]").inner_text()
        assert_fits(phone, 390, "home, gate closed")
        phone.screenshot(path=str(ARTIFACTS / "site-home-gate-closed-390.png"), full_page=True)
        phone.close()
        (site / "broken").unlink()
        assert run_cli(site, "run", "docs/stage.md", "--execute", "--confirm", "STAGE-OK").returncode == 0
        assert gate()[0] == "open"
        tab.reload()
        opened = tab.locator(".rbc-banner .rbc-gate")
        assert opened.get_attribute("data-gate") == "open" and "Gate open" in opened.inner_text()
        assert opened.locator("a", has_text="stage").get_attribute("href") == "../stage/"
        tab.screenshot(path=str(ARTIFACTS / "site-gate-open.png"))
        tab.close()
    finally:
        served.close()

    (site / "migrations.sql").write_text("create table t (id int, name text);\n")  # a new migration staging has not run
    state, why = gate()
    assert state == "closed" and "was for different content of migrations.sql" in why
    home = (site / "site" / "index.html").read_text()
    assert 'data-gate="closed"' in home and "was for different content of migrations.sql" in home


def test_a_runbook_without_runs_says_never_run(tmp_path):
    site = make_site(tmp_path / "empty")
    assert build(site).returncode == 0
    html = page(site, "stage")
    assert re.search(r'<div class="rbc-banner rbc-never-run" role="status" data-verdict="never-run" data-mode=""', html)
    assert "staging: never run" in html
    assert 'data-gate="closed"' in page(site, "prod")


def test_search_indexes_the_runbook_not_its_banner(tmp_path):
    site = make_site(tmp_path / "search")
    (site / "mkdocs.yml").write_text(mkdocs_yml(results_dir="runbook-results").replace("plugins:\n", "plugins:\n  - search\n"))
    assert run_cli(site, "run", "docs/stage.md", "--execute", "--confirm", "STAGE-OK").returncode == 0
    assert build(site).returncode == 0
    assert "staging: migration passed" in page(site, "stage")
    index = (site / "site" / "search" / "search_index.json").read_text()
    assert "Migrations applied" not in index or "Stage migration" in index
    assert "Stage migration" in index and "migration passed" not in index and "octo-operator" not in index and "rbc-banner" not in index


def test_the_attempt_a_banner_links_to_is_on_the_audit_page_even_when_older_than_audit_runs(tmp_path):
    site = make_site(tmp_path / "older")
    (site / "mkdocs.yml").write_text(mkdocs_yml(results_dir="runbook-results", audit_runs="1"))
    assert run_cli(site, "run", "docs/stage.md", "--execute", "--confirm", "STAGE-OK", **CI).returncode == 0
    assert run_cli(site, "run", "docs/stage.md").returncode == 0  # a later read-only run: the newest attempt, not the one shown
    assert build(site).returncode == 0
    stage = page(site, "stage")
    assert 'data-mode="execute"' in stage and 'href="../audit/#attempt-stage-staging-github-4242-1"' in stage
    audit = page(site, "audit")
    newest = json.loads((site / "runbook-results" / "stage.jsonl").read_text().splitlines()[-1])["attempt_id"]
    assert f'id="attempt-stage-staging-{newest}"' in audit and 'id="attempt-stage-staging-github-4242-1"' in audit
    assert "Latest 1 of 2 attempts, and attempt <code>github-4242-1</code>, which the runbook page shows" in audit
