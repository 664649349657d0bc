"""Per-block overhead of the runner over plain subprocess spawning, and CLI start-up time.

Run: .venv/bin/python bench/bench_runner.py [--sizes 10,100,1000] [--repeat 3]

For each N, a runbook of N trivial blocks (`true`) is generated; the runner
(`execute.run_plan`, the same call `runbook-checks run` makes) and a baseline that
spawns the same `bash -euo pipefail -c true` with plain `subprocess.run` are timed
alternately in this process. Reported: per-block overhead = (runner - baseline) / N.
Targets: <= 2 ms per block at N = 1000; `runbook-checks --help` < 0.25 s.
Prints figures only; never fails on timing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from runbook_checks.execute import run_plan
from runbook_checks.lint import load_runbook
from runbook_checks.plan import plan_run
from runbook_checks.redact import Redactor


def make_runbook(directory: Path, n: int) -> Path:
    blocks = "".join(f"```bash {{#b{i} .check}}\ntrue\n```\n\n" for i in range(n))
    path = directory / f"bench-{n}.md"
    path.write_text(f"---\nrunbook:\n  id: bench-{n}\n  secrets: [BENCH_SECRET]\n  env:\n    BENCH_TOKEN: ${{BENCH_SECRET}}\n---\n{blocks}")
    return path


def baseline(n: int, cwd: Path) -> float:
    start = time.perf_counter()
    for _ in range(n):
        subprocess.run(
            ["bash", "-euo", "pipefail", "-c", "true"],
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            check=True,
        )
    return time.perf_counter() - start


def runner(path: Path, environ: dict[str, str]) -> float:
    runbook = load_runbook(path)
    start = time.perf_counter()
    record = run_plan(runbook, plan_run(runbook), environ=environ, redactor=Redactor.for_secrets(runbook.secrets, environ))
    elapsed = time.perf_counter() - start
    assert record.status == "passed", record.status
    return elapsed


def cli_startup(repeat: int) -> tuple[float, float]:
    exe = Path(sys.executable).parent / "runbook-checks"
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "runbook_checks"]
    cli, bare = [], []
    for _ in range(repeat):
        t = time.perf_counter()
        subprocess.run([*cmd, "--help"], stdout=subprocess.DEVNULL, check=True)
        cli.append(time.perf_counter() - t)
        t = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        bare.append(time.perf_counter() - t)
    return statistics.median(cli), statistics.median(bare)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10,100,1000")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    environ = dict(os.environ, BENCH_SECRET="s3cret-value-for-redaction")
    with tempfile.TemporaryDirectory() as tmp:
        tmpdir = Path(tmp)
        print(f"{'N':>6} {'baseline s':>11} {'runner s':>9} {'ratio':>6} {'overhead ms/block':>18}")
        for n in (int(s) for s in args.sizes.split(",")):
            path = make_runbook(tmpdir, n)
            base, run = [], []
            for _ in range(args.repeat):
                base.append(baseline(n, tmpdir))
                run.append(runner(path, environ))
            b, r = statistics.median(base), statistics.median(run)
            per_block = (r - b) / n * 1000
            verdict = "" if n < 1000 else ("  target <= 2 ms: met" if per_block <= 2 else "  target <= 2 ms: MISSED")
            print(f"{n:>6} {b:>11.3f} {r:>9.3f} {r / b:>6.2f} {per_block:>18.3f}{verdict}")
    cli, bare = cli_startup(10)
    print(
        f"\nrunbook-checks --help: {cli * 1000:.0f} ms median of 10 (python -c pass: {bare * 1000:.0f} ms, ratio {cli / bare:.2f}); "
        f"target < 250 ms: {'met' if cli < 0.25 else 'MISSED'}"
    )


if __name__ == "__main__":
    main()
