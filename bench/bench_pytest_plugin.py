"""Where the time of `pytest --runbooks` goes: start-up, pytest's own per-item protocol, the run
engine and the plugin's own work, each against a floor measured in the same run.

Run: PYTHONPATH=$PWD .venv/bin/python bench/bench_pytest_plugin.py [--n 1000] [--repeat 5] [--before /work/main]

Whole processes, timed interleaved (the order rotated each repetition; medians), each on a
runbook of N trivial blocks (`true`, as bench/bench_runner.py makes it) and of 1 block:
  floor        a Python process spawning `bash -euo pipefail -c true` N times (bench_runner's loop)
  plugin       `python -m pytest -q -p no:cacheprovider -p no:xdist --runbooks RUNBOOK`
  bare-spawn   the same with the run engine's `run_block` replaced by the floor's bare spawn and a
               passing result (a `-p` module written to the work directory): pytest and the
               plugin without the engine, which is what a pytest plugin such as
               pytest-codeblocks pays
  codeblocks   pytest-codeblocks on N `true` blocks, when the peers venv of bench/peers.py is
               there (never installed here; `bench/run.py` installs it)
  before       `plugin` from another checkout (`--before`)
For each: the overhead per block over the floor at N, the start-up (the 1-block run over a
1-spawn floor) and the per-item cost (the slope between 1 and N blocks, over the floor's).
`plugin - bare-spawn` is the engine's share; `bare-spawn - codeblocks` is the plugin's (with
the product's start-up: imports, lint, the ledger record). Then one more run of `plugin`
with a `-p` timer prints the plugin's own time in that process: lint, the items' `runtest`
outside the engine, the run's start and its ledger record.
Prints figures only; never fails on timing (issue #17: `pytest --runbooks` <= +0.5 ms/block).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_runner import FLOOR, make_runbook  # noqa: E402

BARE_SPAWN = '''"""bench only: the run engine's run_block replaced by a bare spawn and a passing result."""
import subprocess

import runbook_checks.session as engine
from runbook_checks.model import BlockResult
from runbook_checks.status import BlockStatus


def run_block(block, **_):
    subprocess.run(["bash", "-euo", "pipefail", "-c", "true"], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                   stderr=subprocess.STDOUT, check=True)
    return BlockResult(id=block.id, kind=block.kind, status=BlockStatus.PASSED, line=block.line, sha256=block.sha256,
                       exit_code=0, attempts=1)


engine.run_block = run_block
'''

OWN_TIMER = '''"""bench only: the plugin's own time in this process, written to $RBC_OWN_TIMES at exit."""
import atexit, functools, json, os, time

import runbook_checks.pytest_plugin.items as items
import runbook_checks.pytest_plugin.run as run
import runbook_checks.session as engine

spent = {}


def timed(owner, name, key):
    inner = getattr(owner, name)

    @functools.wraps(inner)
    def wrapper(*args, **kwargs):
        start = time.perf_counter()
        try:
            return inner(*args, **kwargs)
        finally:
            spent[key] = spent.get(key, 0.0) + time.perf_counter() - start

    setattr(owner, name, wrapper)


timed(items, "load_runbook", "lint (load_runbook)")
timed(items.RunbookItem, "runtest", "items' runtest")
timed(engine.RunSession, "run", "engine (RunSession.run)")
timed(run.RunbookRun, "start", "run start (lock, ledger head, session)")
timed(run.RunbookRun, "finish", "run finish (ledger record)")
atexit.register(lambda: open(os.environ["RBC_OWN_TIMES"], "w").write(json.dumps(spent)))
'''


def cpu_s() -> float:
    """CPU seconds (user + system) of this process and its waited-for children so far."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def timed(cmd: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """Wall and CPU seconds of one whole process (its children included); exits when it fails."""
    cpu, start = cpu_s(), time.perf_counter()
    proc = subprocess.run(cmd, env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{cmd} exited {proc.returncode}:\n{proc.stdout.decode()[-2000:]}")
    return wall, cpu_s() - cpu


def cases(work: Path, n: int, roots: dict[str, Path], peers: Path | None) -> dict[str, tuple[list[str], Path, dict[str, str]]]:
    """name -> (argv, cwd, environment) of every case for a runbook of ``n`` blocks."""
    env = dict(os.environ, BENCH_SECRET="s3cret-value-for-redaction")
    # without PYTHONDONTWRITEBYTECODE pytest keeps the modules it rewrites (every module of a
    # distribution with a pytest plugin) beside their bytecode, as in an installed environment
    for name in ("CI", "GITHUB_ACTIONS", "PYTEST_ADDOPTS", "PYTEST_XDIST_WORKER", "PYTHONDONTWRITEBYTECODE"):
        env.pop(name, None)
    path = make_runbook(work, n)
    pytest = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist"]
    found = {"floor": ([sys.executable, "-c", FLOOR, str(n)], work, env)}
    for label, root in roots.items():
        found[label] = ([*pytest, "--runbooks", str(path)], work, dict(env, PYTHONPATH=str(root)))
    found["bare-spawn"] = (
        [*pytest, "-p", "rbc_bare_spawn", "--runbooks", str(path)],
        work,
        dict(env, PYTHONPATH=f"{roots['plugin']}:{work}"),
    )
    if peers is not None:
        folder = work / f"codeblocks-{n}"
        folder.mkdir(exist_ok=True)
        (folder / "blocks.md").write_text("".join("```bash\ntrue\n```\n\n" for _ in range(n)))
        (folder / "pytest.ini").write_text("[pytest]\n")
        found["codeblocks"] = (
            [str(peers / "bin" / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider", "--codeblocks", "blocks.md"],
            folder,
            env,
        )
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--before", type=Path, help="another checkout of the product, timed alongside")
    parser.add_argument("--peers-venv", type=Path, default=Path(os.environ.get("TMPDIR", "/tmp")) / "rbc-bench-peers")
    args = parser.parse_args()
    roots = {"plugin": HERE.parent, **({"before": args.before.resolve()} if args.before else {})}
    peers = args.peers_venv if list(args.peers_venv.glob("lib/python*/site-packages/pytest_codeblocks")) else None
    print(f"machine: {os.cpu_count()} cores, load average at start {os.getloadavg()[0]:.2f}")
    if peers is None:
        print(f"pytest-codeblocks: not available (no peers venv at {args.peers_venv}; bench/run.py installs it)")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "rbc_bare_spawn.py").write_text(BARE_SPAWN)
        (work / "rbc_own_timer.py").write_text(OWN_TIMER)
        by_n = {size: cases(work, size, roots, peers) for size in (1, args.n)}
        med: dict[tuple[str, int], tuple[float, float]] = {}
        samples: dict[tuple[str, int], list[tuple[float, float]]] = {}
        names = list(by_n[args.n])
        for rep in range(args.repeat):
            order = names[rep % len(names) :] + names[: rep % len(names)]  # rotate which goes first
            for size in (1, args.n):
                for name in order:
                    cmd, cwd, env = by_n[size][name]
                    if name in roots or name == "bare-spawn":
                        cmd = [*cmd, "--runbooks-results", str(work / f"results-{name}-{size}-{rep}")]
                    samples.setdefault((name, size), []).append(timed(cmd, env, cwd))
        for key, values in samples.items():
            med[key] = (statistics.median(v[0] for v in values), statistics.median(v[1] for v in values))
        n = args.n
        f_n, f_1 = med[("floor", n)], med[("floor", 1)]
        print(f"\nN = {n}: floor {f_n[0]:.3f} s wall = {f_n[0] / n * 1000:.3f} ms/spawn; medians of {args.repeat}")
        print(
            f"{'case':<11} {'wall s':>7} {'+ms/block':>10} {'cpu +ms/block':>14} {'start-up s':>11} {'per item ms':>12}  (wall over the floor)"
        )
        for name in names[1:]:
            (w, c), (w1, _) = med[(name, n)], med[(name, 1)]
            slope = ((w - w1) - (f_n[0] - f_1[0])) / (n - 1) * 1000
            print(
                f"{name:<11} {w:>7.3f} {(w - f_n[0]) / n * 1000:>+10.3f} {(c - f_n[1]) / n * 1000:>+14.3f} "
                f"{w1 - f_1[0]:>11.3f} {slope:>+12.3f}"
            )
        cmd, cwd, env = by_n[n]["plugin"]
        own = work / "own.json"
        timed(
            [*cmd[:3], "-p", "rbc_own_timer", *cmd[3:], "--runbooks-results", str(work / "results-own")],
            dict(env, PYTHONPATH=f"{env['PYTHONPATH']}:{work}", RBC_OWN_TIMES=str(own)),
            cwd,
        )
        spent = json.loads(own.read_text())
        spent["items' runtest outside the engine"] = spent.pop("items' runtest") - spent["engine (RunSession.run)"]
        print(f"\nthe plugin's own time in one `plugin` process at N = {n} (in-process timers):")
        for key, value in spent.items():
            print(f"  {key:<42} {value * 1000:8.1f} ms = {value / n * 1000:.4f} ms/block")
        print(f"load average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
