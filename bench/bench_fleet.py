"""Fleet fan-in and fleet page: ``runbook-checks merge`` of many target ledgers, and a site build with a 1,000-target fleet page.

Run: .venv/bin/python bench/bench_fleet.py [--targets 100] [--attempts 100] [--page-targets 1000] [--repeat 3] [--page-only]

1. The fan-in: TARGETS target ledgers of ATTEMPTS migration attempts each (staging-like
   records from ``gen_ledger.template``, about 6.4 KB a line), published with one attempt
   fewer; one incoming folder per job holds its target's extended ledger. Times
   ``runbook-checks merge JOB... --into PUBLISHED`` as a process (verify every chain,
   schema included, and write the extended ones). Target: <= 2 s for 100 x 100.
2. The fleet page: a page with ``<!-- runbook-checks: fleet ID -->`` over PAGE_TARGETS
   target ledgers (3 attempts each), added to two sites — ``minimal`` (a home page and the
   staging runbook) and ``docs`` (this project's documentation site) — each built with the
   plugin and without it (``enabled: false``; the marker then stays an HTML comment),
   alternately, in this process. Target: <= 1.5x the plain build.

Prints figures and ratios only; never fails on timing.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import logging
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gen_ledger import STAGING, template
from mkdocs.commands.build import build
from mkdocs.config import load_config

from runbook_checks.ledger import sealed_line
from runbook_checks.mkdocs.cache import forget

ROOT = Path(__file__).resolve().parent.parent


def target_ledger(path: Path, runbook_id: str, name: str, attempts: int) -> None:
    """Write ``attempts`` chained migration records of target ``name`` to ``path``."""
    base = template()
    base["runbook_id"] = runbook_id
    path.parent.mkdir(parents=True, exist_ok=True)
    prev, lines = None, []
    for n in range(attempts):
        record = dict(base)
        record.update(run_id=f"{name}-{n}", attempt_id=f"{name}-{n}", mode="execute", prev=prev)
        record["target"] = {"from": f"DATABASE_URL_{name.upper().replace('-', '_')}", "digest": f"{n % 10}" * 64}
        record["duration_s"] = 1.0 + sum(map(ord, name)) % 100 / 10
        record["ci"] = {"provider": "github-actions", "run_url": f"https://github.com/o/r/actions/runs/{n}"}
        lines.append(sealed_line(record))
        prev = record["hash"]
    path.write_bytes(b"".join(lines))


def fan_in(root: Path, targets: int, attempts: int, repeat: int) -> None:
    """Time ``merge`` of ``targets`` jobs' ledgers (each extended by one attempt) into the published folder."""
    runbook_id = "db-migration-staging"
    jobs = []
    for i in range(targets):
        name = f"tenant-{i:03d}"
        job = root / "incoming" / f"runbook-results-{name}"
        target_ledger(job / runbook_id / f"{name}.jsonl", runbook_id, name, attempts)
        jobs.append(job)
    size = sum(f.stat().st_size for f in (root / "incoming").rglob("*.jsonl")) / 1e6
    print(f"fan-in: {targets} targets x {attempts} attempts ({targets * attempts} records, {size:.0f} MB)")
    exe = shutil.which("runbook-checks", path=str(Path(sys.executable).parent)) or "runbook-checks"
    times = []
    for _ in range(repeat):
        published = root / f"published-{len(times)}"
        for job in jobs:  # the published copy: one attempt fewer than the job's
            for f in job.rglob("*.jsonl"):
                dest = published / f.relative_to(job)
                dest.parent.mkdir(parents=True, exist_ok=True)
                data = f.read_bytes()
                dest.write_bytes(data[: data.rstrip(b"\n").rfind(b"\n") + 1])
        start = time.perf_counter()
        out = subprocess.run([exe, "merge", *map(str, jobs), "--into", str(published)], capture_output=True, text=True)
        times.append(time.perf_counter() - start)
        if out.returncode != 0:
            print(f"  merge failed (exit {out.returncode}): {out.stderr.strip()[-500:]}")
            return
        shutil.rmtree(published)
    t = statistics.median(times)
    print(f"  {out.stdout.strip().splitlines()[-1]}")
    print(f"  merge (one process, verify + write): {t:.2f} s (median of {repeat}); target <= 2 s: {'met' if t <= 2 else 'MISSED'}")


def write_config(site: Path, enabled: bool, base: str) -> Path:
    """``mkdocs.yml`` for the bench site, the plugin on or off: ``base`` is the project's
    own ``mkdocs.yml`` (the ``docs`` site) or a minimal one."""
    path = site / f"mkdocs-{'with' if enabled else 'without'}.yml"
    plugin = f"  - runbook-checks:\n      enabled: {str(enabled).lower()}\n      results_dir: runbook-results\n"
    if base:
        text = re.sub(r"  - runbook-checks:\n(      .*\n)*", plugin, base, count=1)
        path.write_text(text.replace("  - Home: index.md\n", "  - Home: index.md\n  - Fleet: fleet.md\n", 1) + "\nsite_dir: site\n")
        return path
    path.write_text(
        "site_name: bench\ndocs_dir: docs\nsite_dir: site\ntheme: {name: material}\nplugins:\n  - search\n"
        + plugin
        + "markdown_extensions: [attr_list, admonition, pymdownx.details, pymdownx.superfences, tables, "
        "{pymdownx.tabbed: {alternate_style: true}}]\n"
    )
    return path


def timed_build(config_file: Path) -> float:
    start = time.perf_counter()
    with contextlib.redirect_stderr(io.StringIO()):
        build(load_config(str(config_file)))
    return time.perf_counter() - start


def fleet_page(root: Path, targets: int, repeat: int, kind: str) -> None:
    """Time a site build with a ``targets``-target fleet page, with and without the plugin:
    ``kind`` ``minimal`` (a home page, the staging runbook and the fleet page) or ``docs``
    (this project's documentation site, the fleet page added)."""
    site = root / f"site-{kind}"
    docs = site / "docs"
    if kind == "docs":
        shutil.copytree(ROOT / "docs", docs)
        base = (ROOT / "mkdocs.yml").read_text()
    else:
        docs.mkdir(parents=True)
        (docs / "index.md").write_text("# Bench\n")
        (docs / "staging.md").write_text(STAGING.read_text().replace("](../../", "](https://example.invalid/"))
        base = ""
    (site / ".git").mkdir()
    (site / "examples" / "dixis" / "prisma" / "migrations").mkdir(parents=True)
    (docs / "fleet.md").write_text("# Fleet\n\n<!-- runbook-checks: fleet db-migration-staging -->\n")
    for i in range(targets):
        name = f"tenant-{i:04d}"
        target_ledger(site / "runbook-results" / "db-migration-staging" / f"{name}.jsonl", "db-migration-staging", name, 3)
    with_cfg, without_cfg = write_config(site, True, base), write_config(site, False, base)
    cwd = os.getcwd()
    os.chdir(site)
    try:
        timed_build(without_cfg)  # warm-up (imports, theme)
        timed_build(with_cfg)
        if "rbc-fleet-table" not in (site / "site" / "fleet" / "index.html").read_text():
            print(f"fleet page ({kind}): the fleet table is missing from the built page")
            return
        plain, cold = [], []
        for _ in range(repeat):
            plain.append(timed_build(without_cfg))
            forget()  # as a fresh `mkdocs build` process: nothing verified yet
            cold.append(timed_build(with_cfg))
    finally:
        os.chdir(cwd)
    p, w = statistics.median(plain), statistics.median(cold)
    pages = len(list(docs.rglob("*.md")))
    print(f"fleet page ({kind}: {pages} pages): {targets} targets x 3 attempts")
    print(
        f"  plain build {p:.2f} s, with the plugin and the fleet page {w:.2f} s (median of {repeat}): ratio {w / p:.2f}; "
        f"target <= 1.5x: {'met' if w / p <= 1.5 else 'MISSED'}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", type=int, default=100)
    parser.add_argument("--attempts", type=int, default=100)
    parser.add_argument("--page-targets", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--page-only", action="store_true", help="leave out the fan-in: only the fleet page")
    args = parser.parse_args()
    logging.getLogger("mkdocs").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory() as tmp:
        if not args.page_only:
            fan_in(Path(tmp), args.targets, args.attempts, args.repeat)
        for kind in ("minimal", "docs"):
            fleet_page(Path(tmp), args.page_targets, args.repeat, kind)


if __name__ == "__main__":
    main()
