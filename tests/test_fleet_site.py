"""The site's fleet page: a real ``mkdocs build`` of a site with 1,000 target ledgers and
the ``fleet`` marker, the rows checked against ``report --fleet``'s, and a real headless
Chromium checking that the page fits at 1400 px and 390 px and that the label filter
works with scripts off."""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys
from pathlib import Path

import pytest

from runbook_checks.fleet.view import read_fleet
from runbook_checks.lint import load_runbook
from runbook_checks.status import BlockStatus

from .conftest import clean_env
from .fleet_ledgers import write_ledger
from .test_fleet_report import RUNBOOK, migration
from .test_site import mkdocs_yml
from .test_site_banner import ARTIFACTS, Served, assert_fits, browser  # noqa: F401 (browser is a fixture)

TARGETS = 1000
REGIONS = ("ap", "eu", "us")


def target(i: int) -> tuple[str, dict]:
    return f"tenant-{i:04}", {"region": REGIONS[i % 3], "wave": i % 4}


def build(site: Path) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "mkdocs", "build", "-q", "--strict", "-d", str(site / "site")]
    return subprocess.run(cmd, cwd=site, capture_output=True, text=True, env=clean_env(NO_MKDOCS_2_WARNING="1"), timeout=600)


@pytest.fixture(scope="module")
def fleet_site(tmp_path_factory) -> Path:
    """A site whose runbook ``rb`` has 1,000 target ledgers (every 7th target's latest migration failed)."""
    site = tmp_path_factory.mktemp("fleet-site")
    docs = site / "docs"
    docs.mkdir()
    (site / "mkdocs.yml").write_text(mkdocs_yml(results_dir="runbook-results"))
    (docs / "index.md").write_text("# Home\n")
    fleet_runbook = RUNBOOK.replace("  secrets: []\n", "  secrets: []\n  targets: tenants.yml\n", 1)
    (docs / "rb.md").write_text(fleet_runbook.replace("---\n#", "---\n# Fleet runbook\n#", 1))
    (docs / "tenants.yml").write_text(
        "".join(
            f"- {{name: {n}, secret: URL_{i}, labels: {{region: {lb['region']}, wave: {lb['wave']}}}}}\n"
            for i, (n, lb) in map(lambda i: (i, target(i)), range(TARGETS))
        )
    )
    (docs / "fleet.md").write_text("# Fleet\n\n<!-- runbook-checks: fleet rb -->\n")
    for i in range(TARGETS):
        name, _ = target(i)
        status = BlockStatus.FAILED if i % 7 == 0 else BlockStatus.PASSED
        ci = f"https://github.com/o/r/actions/runs/9/job/{i}"
        run = migration(f"r{i}", status, ci=ci, duration=1 + i % 50)
        run = dataclasses.replace(run, target={"from": f"URL_{i}", "digest": "d" * 64, "name": name})
        write_ledger(site / "runbook-results" / "rb" / f"{name}.jsonl", [run])
    result = build(site)
    assert result.returncode == 0, result.stderr
    return site


def fleet_rows(html: str) -> dict[str, list[str]]:
    """Target name -> its cells, from the fleet table of a built page."""
    start = html.index('class="rbc-table rbc-fleet-table"')
    body = html[html.index("<tbody>", start) : html.index("</tbody>", start)]
    rows = [re.findall(r"<td>(.*?)</td>", row, re.S) for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)]
    return {re.sub(r"<[^>]+>", "", cells[0]): cells for cells in rows}


def test_the_page_shows_each_target_as_report_fleet_does(fleet_site):
    html = (fleet_site / "site" / "fleet" / "index.html").read_text()
    rows = fleet_rows(html)
    assert len(rows) == TARGETS
    failed = -(-TARGETS // 7)
    assert f"{TARGETS} target(s): ✅ {TARGETS - failed} passed, ❌ {failed} failed" in html
    cli_view = read_fleet(load_runbook(fleet_site / "docs" / "rb.md"), fleet_site / "runbook-results", validate_schema=False)
    for row in cli_view.rows:
        cells = rows[row.target]
        assert row.verdict in cells[2] and f'href="{row.ci_url}"' in cells[8]
    assert rows["tenant-0007"][2].endswith("failed") and "region=eu" in rows["tenant-0007"][1]
    assert "2026-01-01 00:00 UTC" in rows["tenant-0001"][3]
    slowest = re.search(r'class="rbc-fleet-slowest">Slowest: (.*?)</p>', html).group(1)
    assert slowest.startswith('<code class="rbc-id">tenant-0049</code> 50.0 s')
    assert html.count('class="rbc-fleet-radio"') == 1 + 3 + 1 + 4  # region: all + 3, wave: all + 4


def test_a_fleet_marker_without_a_known_runbook_id_fails_the_build(tmp_path):
    site = tmp_path
    (site / "docs").mkdir()
    (site / "mkdocs.yml").write_text(mkdocs_yml())
    (site / "docs" / "index.md").write_text("# Home\n\n<!-- runbook-checks: fleet -->\n")
    result = build(site)
    assert result.returncode != 0 and "docs/index.md:3: the 'fleet' marker takes one runbook id" in result.stderr
    (site / "docs" / "index.md").write_text("# Home\n\n<!-- runbook-checks: fleet nope -->\n")
    result = build(site)
    assert result.returncode != 0 and "docs/index.md:3: fleet: no runbook page has the id 'nope'" in result.stderr


def test_chromium_the_fleet_page_fits_and_filters_by_label_without_scripts(fleet_site, browser):
    served = Served(fleet_site)
    try:
        for width in (1400, 390):
            tab = browser.new_page(viewport={"width": width, "height": 900})
            tab.goto(f"{served.base}/fleet/")
            tab.wait_for_selector(".md-typeset__table", state="attached")
            assert_fits(tab, width, f"fleet page ({TARGETS} targets)")
            tab.screenshot(path=str(ARTIFACTS / f"site-fleet-{width}.png"))
            tab.close()
        context = browser.new_context(java_script_enabled=False, viewport={"width": 1400, "height": 900})
        tab = context.new_page()
        tab.goto(f"{served.base}/fleet/")
        visible = "() => [...document.querySelectorAll('.rbc-fleet-table tbody tr')].filter(r => r.getClientRects().length).length"
        assert tab.evaluate(visible) == TARGETS
        tab.locator(".rbc-fleet-filters label", has_text="eu (").click()
        assert tab.evaluate(visible) == len([i for i in range(TARGETS) if REGIONS[i % 3] == "eu"])
        tab.locator(".rbc-fleet-filters label", has_text="0 (").click()  # wave 0 as well
        assert tab.evaluate(visible) == len([i for i in range(TARGETS) if REGIONS[i % 3] == "eu" and i % 4 == 0])
        tab.locator(".rbc-fleet-filters p", has_text="region").locator("label", has_text="all").click()
        assert tab.evaluate(visible) == TARGETS // 4
        context.close()
    finally:
        served.close()
