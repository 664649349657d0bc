"""Site build overhead of the runbook-checks plugin.

Run: .venv/bin/python bench/bench_site.py [--pages 100] [--records 10000] [--repeat 3]

Generates a site of PAGES runbook pages and RECORDS ledger records spread over them,
then builds it with the plugin enabled and disabled, alternately, in this process
(MkDocs' own build function), for two kinds of page:

- ``minimal``: 5 one-line tagged blocks and a sentence each, with the timeline,
  success-criteria and history markers (the plugin's worst case: little else to build);
- ``staging``: copies of the shipped staging runbook (its prose, tabs, troubleshooting
  entries and markers), each record holding every block with a few hundred bytes of
  output, as a real run records.

Targets (the performance issue): a cold build <= +15 % of the plain build, a rebuild <= +5 %. Prints figures only.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import logging
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gen_ledger import passed_blocks
from mkdocs.commands.build import build
from mkdocs.config import load_config

from runbook_checks.ledger import LazyRecords, sealed_line, verify_ledger
from runbook_checks.lint import load_runbook
from runbook_checks.mkdocs.cache import forget
from runbook_checks.parse import parse_runbook

BLOCKS = 5
ROOT = Path(__file__).resolve().parent.parent
STAGING = ROOT / "docs" / "OPS" / "RUNBOOKS" / "DB-MIGRATION-STAGING.md"
OUTPUT = (
    'Prisma schema loaded from prisma/schema.prisma\nDatasource "db": PostgreSQL database "dixis", schema "public" at "127.0.0.1:5432"\n'
)


def minimal_page(i: int) -> str:
    blocks = "".join(
        f'```bash {{#b{j} .{"step" if j == 2 else "check"} phase={"one" if j < 2 else "two"} criterion="Criterion {j}"}}\necho {i}-{j}\n```\n\nSome prose about block {j}.\n\n'
        for j in range(BLOCKS)
    )
    return (
        f"---\nrunbook:\n  id: rb{i:03d}\n  environment: staging\n  confirm: OK\n  phases:\n"
        f"    - {{id: one, name: One, estimate: 1-2 min}}\n    - {{id: two, name: Two, estimate: 2-5 min}}\n---\n"
        f"# Runbook {i}\n\n{blocks}## Timeline\n\n<!-- runbook-checks: timeline -->\n\n## Success criteria\n\n"
        f"<!-- runbook-checks: success-criteria -->\n\n## History\n\n<!-- runbook-checks: history -->\n"
    )


def staging_page(i: int) -> str:
    text = STAGING.read_text().replace("id: db-migration-staging", f"id: rb{i:03d}", 1)
    return re.sub(r"\]\((?!https?:)[^)]*\.md[^)]*\)", "]", text).replace(
        "<!-- runbook-checks: timeline -->", "<!-- runbook-checks: timeline -->\n\n<!-- runbook-checks: history -->"
    )


def make_site(root: Path, kind: str, pages: int, records: int) -> None:
    docs, results = root / "docs", root / "runbook-results"
    docs.mkdir()
    results.mkdir()
    (root / ".git").mkdir()  # the runbooks' workdir is relative to the repository root
    (root / "examples" / "dixis" / "prisma" / "migrations").mkdir(parents=True)
    (docs / "index.md").write_text("# Bench\n")
    (docs / "audit.md").write_text("---\nsearch:\n  exclude: true\n---\n# Audit\n\n<!-- runbook-checks: audit -->\n")
    per_page = records // pages
    for i in range(pages):
        path = docs / f"rb{i:03d}.md"
        path.write_text(minimal_page(i) if kind == "minimal" else staging_page(i))
        runbook = load_runbook(path)
        output = "output of {}\n" if kind == "minimal" else OUTPUT * 2 + "{}: done\n"
        prev = None
        lines = []
        for n in range(per_page):
            record = {
                "schema_version": 1,
                "run_id": f"r{i}-{n}",
                "runbook_id": runbook.id,
                "runbook_path": path.name,
                "runbook_sha256": runbook.sha256,
                "environment": "staging",
                "mode": "execute",
                "status": "passed",
                "exit_code": 0,
                "started_at": "2026-11-24T08:00:00.000Z",
                "finished_at": f"2026-11-24T08:{n % 60:02d}:00.000Z",
                "duration_s": 1.0,
                "actor": "bench",
                "host": "h",
                "git": {"commit": "0" * 40, "dirty": False},
                "ci": None,
                "resumes": None,
                "not_rerun": [],
                "options": {},
                "fingerprints": {},
                "blocks": passed_blocks(runbook, output),
                "prev": prev,
            }
            lines.append(sealed_line(record))  # as runbook-checks writes a record
            prev = record["hash"]
        (results / f"{runbook.id}.jsonl").write_bytes(b"".join(lines))


def write_config(root: Path, enabled: bool) -> Path:
    path = root / f"mkdocs-{'with' if enabled else 'without'}.yml"
    plugin = f"  - runbook-checks:\n      enabled: {str(enabled).lower()}\n      results_dir: runbook-results\n"
    path.write_text(
        f"site_name: bench\ndocs_dir: docs\nsite_dir: site\ntheme: {{name: material}}\nplugins:\n  - search\n{plugin}"
        "markdown_extensions: [attr_list, admonition, pymdownx.details, pymdownx.superfences, tables, "
        "{pymdownx.tabbed: {alternate_style: true}}]\n"
    )
    return path


def timed_build(config_file: Path) -> float:
    start = time.perf_counter()
    with contextlib.redirect_stderr(io.StringIO()):
        build(load_config(str(config_file)))
    return time.perf_counter() - start


def required_work(root: Path) -> float:
    """Seconds to parse every runbook page and verify every ledger, and nothing else."""
    start = time.perf_counter()
    for page in sorted((root / "docs").glob("rb*.md")):
        runbook, _ = parse_runbook(page)
        verify_ledger(root / "runbook-results" / f"{runbook.id}.jsonl", validate_schema=False, records=LazyRecords())
    return time.perf_counter() - start


def compare(kind: str, pages: int, records: int, repeat: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        t = time.perf_counter()
        make_site(root, kind, pages, records)
        size = sum(f.stat().st_size for f in (root / "runbook-results").iterdir()) / 1e6
        print(f"{kind}: {pages} runbook pages, {records} ledger records ({size:.0f} MB), generated in {time.perf_counter() - t:.1f} s")
        with_cfg, without_cfg = write_config(root, True), write_config(root, False)
        timed_build(without_cfg)  # warm-up (imports, theme)
        timed_build(with_cfg)
        plain, cold, rebuild = [], [], []
        for _ in range(repeat):
            plain.append(timed_build(without_cfg))
            forget()  # as a fresh `mkdocs build` process: nothing parsed or verified yet
            cold.append(timed_build(with_cfg))
            rebuild.append(timed_build(with_cfg))  # as `mkdocs serve` after an edit elsewhere
        p = statistics.median(plain)
        floor = statistics.median(required_work(root) for _ in range(repeat))
        print(
            f"  the reading any build must do (parse every runbook page, verify every ledger line): {floor:.2f} s, "
            f"{floor / p * 100:.1f} % of the plain build"
        )
        for label, runs, target in (("with plugin", cold, 15), ("rebuild", rebuild, 5)):
            w = statistics.median(runs)
            overhead = (w - p) / p * 100
            print(
                f"  plain build {p:.2f} s, {label} {w:.2f} s (median of {repeat}): overhead {overhead:.1f} %, ratio {w / p:.3f}; "
                f"target <= {target} %: {'met' if overhead <= target else 'MISSED'}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=100)
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--kind", choices=["minimal", "staging", "both"], default="both")
    args = parser.parse_args()
    logging.getLogger("mkdocs").setLevel(logging.ERROR)
    for kind in ["minimal", "staging"] if args.kind == "both" else [args.kind]:
        compare(kind, args.pages, args.records, args.repeat)


if __name__ == "__main__":
    main()
