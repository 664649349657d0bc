"""The sections of `bench/run.py`: each builds its inputs, measures interleaved whole processes
(`measure.interleave`) and returns rows of the table, every figure a ratio to a floor of the same run.

A row is a dict: ``work``, ``measured``, ``floor``, ``ratio`` (median of per-repetition ratios),
``over`` (the difference from the floor, per block or in %), ``target`` (the issue's target).
"""

from __future__ import annotations

import math
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from measure import Case, Sample, busy_cores, interleave, median_of, paired
from peers import NAMES as PEER_NAMES
from peers import peer_cases

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
FLOOR = "floor"


def product_runbook(n: int) -> str:
    """A runbook of N trivial `echo x` checks, with a declared secret as real runbooks have."""
    blocks = "".join(f"```bash {{#b{i} .check}}\necho x\n```\n\n" for i in range(n))
    front = f"runbook:\n  id: bench-{n}\n  secrets: [BENCH_SECRET]\n  env:\n    BENCH_TOKEN: ${{BENCH_SECRET}}\n"
    return f"---\n{front}---\n# Bench {n}\n\n{blocks}"


def row(work: str, measured: str, floor: str, ratio: float, over: str, target: str) -> dict:
    """One row of the table."""
    return {"work": work, "measured": measured, "floor": floor, "ratio": ratio, "over": over, "target": target}


def seconds(samples: list[Sample], digits: int = 3) -> str:
    """The median wall time, or "failed" when no sample ran as expected."""
    value = median_of(samples)
    return "failed" if math.isnan(value) else f"{value:.{digits}f} s"


def missing(work: str, why: str) -> dict:
    """A row for work that could not be measured in this run, saying why."""
    return row(work, "not available", why, math.nan, "", "")


def _floor_case(n: int, cwd: Path) -> Case:
    return Case(FLOOR, [sys.executable, HERE / "floors.py", "spawn", str(n)], cwd)


def product_block_cases(n: int, cwd: Path, tty: bool, pytest: bool) -> list[Case]:
    """`runbook-checks run` (and on a pty, and `pytest --runbooks`) over N trivial blocks in CWD."""
    cwd.mkdir(parents=True, exist_ok=True)
    (cwd / "RB.md").write_text(product_runbook(n))
    (cwd / "pytest.ini").write_text("[pytest]\n")
    env = {"BENCH_SECRET": "s3cret-value-for-redaction"}
    passed = rf"PASSED: {n} passed"
    run = [str(BIN / "runbook-checks"), "run", "RB.md", "--results"]
    cases = [Case("`run`", [*run, "res-run"], cwd, env, passed, "res-run")]
    if tty and shutil.which("script"):
        command = shlex.join([*run, "res-tty"])
        cases.append(Case("`run` on a pty", ["script", "-qefc", command, "/dev/null"], cwd, env, passed, "res-tty"))
    if pytest:
        cmd = [str(BIN / "pytest"), "-q", "-p", "no:cacheprovider", "--runbooks", "RB.md", "--runbooks-results", "res-pytest"]
        cases.append(Case("`pytest --runbooks`", cmd, cwd, env, rf"\b{n} passed", "res-pytest"))
    return cases


def block_rows(samples: dict[str, list[Sample]], n: int, label: str, targets: dict[str, str]) -> list[dict]:
    """Rows for every block-running case: its wall time over the spawn loop's, per block."""
    floor = samples[FLOOR]
    fl = median_of(floor)
    rows = [row(f"spawn loop ({FLOOR}), N = {n}{label}", seconds(floor), "-", 1.0, "", "")]
    for name, ss in samples.items():
        if name == FLOOR:
            continue
        where = label.replace(", no tty", "") if "pty" in name else label
        over = paired(ss, floor, lambda a, b: (a.wall - b.wall) / n * 1000)
        ratio = paired(ss, floor, lambda a, b: a.wall / b.wall)
        rows.append(row(f"{name}, N = {n}{where}", seconds(ss), f"{fl:.3f} s", ratio, f"{over:+.2f} ms/block", targets.get(name, "peer")))
    return rows


def bench_blocks(work: Path, n: int, reps: int, peers_venv: Path | None, peers_why: str | None, busy: int) -> list[dict]:
    """Per-block overhead of run / run on a pty / pytest --runbooks / the peers over the spawn loop.

    With BUSY > 0, only `run` and the peers, while BUSY spinning processes keep the cores busy.
    """
    root = work / (f"blocks-{n}-busy" if busy else f"blocks-{n}")
    cases = [_floor_case(n, root), *product_block_cases(n, root / "rc", tty=not busy, pytest=not busy)]
    if peers_venv is not None:
        cases += peer_cases(peers_venv, n, root / "peers")
    if busy:
        targets = {"`run`": "≤ +1.0 ms/block"}
        label = f", {busy} busy loop{'s' if busy > 1 else ''}"
    else:
        targets = {"`run`": "≤ +0.3 ms/block", "`run` on a pty": "≤ +0.4 ms/block", "`pytest --runbooks`": "≤ +0.5 ms/block"}
        label = ", no tty"
    with busy_cores(busy):
        samples = interleave(cases, reps, work / "logs", f"blocks-{n}{'-busy' if busy else ''}")
    rows = block_rows(samples, n, label, targets)
    if not busy and not shutil.which("script"):
        rows.append(missing(f"`run` on a pty, N = {n}", "script(1) (util-linux) not found"))
    if peers_venv is None:
        rows += [missing(f"{name}, N = {n}{label}", peers_why or "peers skipped") for name in PEER_NAMES]
    return rows


def bench_lint(work: Path, blocks: int, reps: int) -> list[dict]:
    """`lint` of a runbook of BLOCKS blocks vs a markdown-it parse of the same file, both whole processes:
    cold (no cache: the page rendered as the site renders it) and warm (what the page shows read from a
    cache folder filled by one lint before; docs/reference/cli.md, "The page-blocks cache")."""
    root = work / f"lint-{blocks}"
    root.mkdir(parents=True, exist_ok=True)
    path = root / "RB.md"
    path.write_text(product_runbook(blocks))
    warm = {"RUNBOOK_CHECKS_CACHE_DIR": str(root / "cache")}
    lint = [str(BIN / "runbook-checks"), "lint", path]
    subprocess.run(lint, cwd=root, env={**os.environ, **warm}, capture_output=True)  # fills the cache
    cases = [
        Case(FLOOR, [sys.executable, HERE / "floors.py", "markdown", path], root),
        Case("cold", lint, root, {"RUNBOOK_CHECKS_CACHE_DIR": "off"}),
        Case("warm", lint, root, warm),
    ]
    samples = interleave(cases, reps, work / "logs", f"lint-{blocks}")
    fl = samples[FLOOR]
    rows = []
    for how in ("cold", "warm"):
        ratio = paired(samples[how], fl, lambda a, b: a.wall / b.wall)
        over = paired(samples[how], fl, lambda a, b: a.wall - b.wall)
        rows.append(
            row(
                f"`lint` of a {blocks:,}-block runbook, {how}",
                seconds(samples[how]) + f", {median_of(samples[how], lambda s: s.rss_mb):.0f} MB",
                f"markdown-it parse {median_of(fl):.3f} s",
                ratio,
                f"{over:+.3f} s",
                "≤ 0.5 s" if blocks >= 10_000 else "(≤ 0.5 s at 10,000)",
            )
        )
    return rows


def bench_site(work: Path, pages: int, records: int, reps: int) -> list[dict]:
    """`mkdocs build` of a staging-like site with the plugin vs `enabled: false`, wall and peak RSS."""
    sys.path.insert(0, str(HERE))
    from bench_site import make_site, write_config

    root = work / f"site-{pages}-{records}"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    make_site(root, "staging", pages, records)
    mkdocs = [str(BIN / "mkdocs"), "build", "-q", "-f"]
    env = {"NO_MKDOCS_2_WARNING": "1"}
    cases = [
        Case(FLOOR, [*mkdocs, write_config(root, False)], root, env, fresh="site"),
        Case("plugin", [*mkdocs, write_config(root, True)], root, env, fresh="site"),
        Case("reading", [sys.executable, HERE / "floors.py", "site-reading", root], root),
    ]
    samples = interleave(cases, reps, work / "logs", f"site-{pages}")
    plain, plugin, reading = samples[FLOOR], samples["plugin"], samples["reading"]
    work_name = f"`mkdocs build`, {pages} staging-like pages, {records:,} records"
    wall = paired(plugin, plain, lambda a, b: a.wall / b.wall)
    rss = paired(plugin, plain, lambda a, b: a.rss_mb / b.rss_mb)
    share = paired(reading, plain, lambda a, b: a.wall / b.wall)
    rss_of = median_of(plugin, lambda s: s.rss_mb), median_of(plain, lambda s: s.rss_mb)
    return [
        row(
            f"{work_name}: wall",
            seconds(plugin, 2),
            f"`enabled: false` {median_of(plain):.2f} s",
            wall,
            f"{(wall - 1) * 100:+.0f} %",
            "≤ +15 %",
        ),
        row(f"{work_name}: peak RSS", f"{rss_of[0]:.0f} MB", f"`enabled: false` {rss_of[1]:.0f} MB", rss, "", "≤ 1.5×"),
        row(
            f"{work_name}: the reading it must do (parse pages, verify lines)",
            seconds(reading, 2),
            f"`enabled: false` {median_of(plain):.2f} s",
            share,
            f"{share * 100:.0f} % of the plain build",
            "",
        ),
        missing("`mkdocs serve` rebuild", "an in-process figure: `python bench/bench_site.py` (target ≤ +5 %)"),
    ]


def bench_ledger(quick: bool, extra: list[str]) -> tuple[list[dict], str]:
    """verify/report rows from `bench/bench_ledger.py` when it exists: its Markdown rows with our six columns
    are merged into the table, anything else it prints is returned to print under the table."""
    script = HERE / "bench_ledger.py"
    if not script.exists():
        why = "bench/bench_ledger.py is not in this checkout"
        return [missing("`verify` of a generated ledger", why), missing("`report` of a generated ledger", why)], ""
    cmd = [sys.executable, str(script), *(["--quick"] if quick else []), *extra]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=HERE.parent)
    if proc.returncode != 0:
        why = f"`{shlex.join(cmd[1:])}` exited {proc.returncode}: {(proc.stderr.strip().splitlines() or [''])[-1]}"
        return [missing("`verify` / `report` (ledger bench)", why)], proc.stdout
    rows, rest = [], []
    for line in proc.stdout.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")] if line.startswith("|") else []
        if len(cells) == 6 and not set(cells[0]) <= set("-: ") and cells[0] != "work":
            ratio = float(cells[3]) if cells[3].replace(".", "", 1).isdigit() else math.nan
            rows.append(row(cells[0], cells[1], cells[2], ratio, cells[4], cells[5]))
        else:
            rest.append(line)
    return rows, "\n".join(rest).strip()
