"""Per-block overhead of the runner over a bare bash spawn loop (the floor, measured in the
same run): `runbook-checks run` without a terminal and on a pty (live progress), and
`pytest --runbooks`; each as a whole process, and the run engine alone in this process.

Run: .venv/bin/python bench/bench_runner.py [--sizes 1000] [--repeat 3] [--before /work/main]

For each N a runbook of N trivial blocks (`true`) is generated. Timed, interleaved,
`--repeat` times (medians):
  floor        a Python process spawning `bash -euo pipefail -c true` N times (subprocess.run)
  run          `python -m runbook_checks run RUNBOOK` (output to a pipe: no terminal)
  run-pty      the same on a pseudo-terminal (rich's live progress)
  pytest       `python -m pytest --runbooks RUNBOOK` (no xdist, no cache)
  engine       `execute.run_plan` in this process (no lock, no reporter), against an
               in-process floor loop
Overhead per block = (command - floor) / N, in wall time and in CPU time (user + system of
the process and its children: far less disturbed by other work on a busy machine); a whole process also pays its start-up and the
runbook's lint, which `lint` shows (seconds to load and lint the runbook, in this process).
With `--before DIR` the same commands also run from another checkout (e.g. the product
before a change) in the same repetitions, for before/after ratios on the same load.
Targets (issue #17, N = 1000): run <= +0.3 ms/block, run-pty <= +0.4, pytest <= +0.5.
Prints figures only; never fails on timing.
"""

from __future__ import annotations

import argparse
import compileall
import os
import pty
import resource
import select
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(HERE))

from runbook_checks.execute import run_plan  # noqa: E402
from runbook_checks.lint import load_runbook  # noqa: E402
from runbook_checks.plan import plan_run  # noqa: E402
from runbook_checks.redact import Redactor  # noqa: E402

FLOOR = "import subprocess, sys\nfor _ in range(int(sys.argv[1])):\n    subprocess.run(['bash', '-euo', 'pipefail', '-c', 'true'], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=True)\n"
TARGETS = {"run": 0.3, "run-pty": 0.4, "pytest": 0.5}


def make_runbook(directory: Path, n: int) -> Path:
    blocks = "".join(f"```bash {{#b{i} .check}}\ntrue\n```\n\n" for i in range(n))
    path = directory / f"bench-{n}.md"
    path.write_text(f"---\nrunbook:\n  id: bench-{n}\n  secrets: [BENCH_SECRET]\n  env:\n    BENCH_TOKEN: ${{BENCH_SECRET}}\n---\n{blocks}")
    return path


def cpu_s() -> float:
    """CPU seconds (user + system) used so far by this process and its waited-for descendants."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def timed(cmd: list[str], env: dict[str, str], cwd: Path, *, on_pty: bool = False) -> tuple[float, float]:
    """Wall and CPU seconds the command takes as a whole process (its bash children
    included); output read and dropped (a pipe, or a pty)."""
    cpu, start = cpu_s(), time.perf_counter()
    if not on_pty:
        proc = subprocess.run(cmd, env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        elapsed = time.perf_counter() - start
        if proc.returncode != 0:
            raise SystemExit(f"{cmd} exited {proc.returncode}:\n{proc.stdout.decode()[-2000:]}")
        return elapsed, cpu_s() - cpu
    master, slave = pty.openpty()
    proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdin=slave, stdout=slave, stderr=slave, close_fds=True)
    os.close(slave)
    while True:
        if select.select([master], [], [], 0.1)[0]:
            try:
                if not os.read(master, 65536):
                    break
            except OSError:  # the pty closed: the process is gone
                break
        elif proc.poll() is not None:
            break
    code = proc.wait()
    elapsed = time.perf_counter() - start
    os.close(master)
    if code != 0:
        raise SystemExit(f"{cmd} exited {code} on a pty")
    return elapsed, cpu_s() - cpu


def engine(path: Path, environ: dict[str, str]) -> tuple[float, float]:
    runbook = load_runbook(path)
    cpu, start = cpu_s(), time.perf_counter()
    record = run_plan(runbook, plan_run(runbook), environ=environ, redactor=Redactor.for_secrets(runbook.secrets, environ))
    elapsed = time.perf_counter() - start
    assert record.status == "passed", record.status
    return elapsed, cpu_s() - cpu


def floor_here(n: int, cwd: Path) -> tuple[float, float]:
    cpu, start = cpu_s(), time.perf_counter()
    for _ in range(n):
        subprocess.run(
            ["bash", "-euo", "pipefail", "-c", "true"],
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            check=True,
        )
    return time.perf_counter() - start, cpu_s() - cpu


def lint_time(path: Path) -> float:
    start = time.perf_counter()
    load_runbook(path)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--before", type=Path, help="another checkout of the product, timed alongside (before/after)")
    parser.add_argument("--skip", default="", help="comma-separated rows to leave out (run, run-pty, pytest, engine)")
    args = parser.parse_args()
    for tree in [HERE, *([args.before] if args.before else [])]:
        compileall.compile_dir(str(tree / "runbook_checks"), quiet=1)  # as installed: no process compiles a changed module
    skip = set(filter(None, args.skip.split(",")))
    checkouts = {"after": HERE, **({"before": args.before.resolve()} if args.before else {})}
    base_env = dict(os.environ, BENCH_SECRET="s3cret-value-for-redaction")
    for name in ("CI", "GITHUB_ACTIONS", "PYTHONDONTWRITEBYTECODE"):  # pytest keeps its rewritten plugin modules, as installed
        base_env.pop(name, None)
    print(f"machine: {os.cpu_count()} cores, load average at start {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory() as tmp:
        tmpdir = Path(tmp)
        for n in (int(s) for s in args.sizes.split(",")):
            path = make_runbook(tmpdir, n)
            times: dict[str, list[float]] = {}

            def add(key: str, value: tuple[float, float], times: dict[str, list[float]] = times) -> None:
                times.setdefault(key, []).append(value[0])
                times.setdefault(f"cpu:{key}", []).append(value[1])

            for rep in range(args.repeat):
                add("floor", timed([sys.executable, "-c", FLOOR, str(n)], base_env, tmpdir))
                order = list(checkouts.items())
                for label, root in order if rep % 2 == 0 else reversed(order):  # alternate which goes first
                    env = dict(base_env, PYTHONPATH=str(root))
                    results = tmpdir / f"results-{label}-{rep}"
                    run = [sys.executable, "-m", "runbook_checks", "run", str(path), "--results", str(results)]
                    if "run" not in skip:
                        add(f"run/{label}", timed(run, env, tmpdir))
                    if "run-pty" not in skip:
                        add(f"run-pty/{label}", timed([*run[:-1], str(results) + "-pty"], dict(env, TERM="xterm"), tmpdir, on_pty=True))
                    if "pytest" not in skip:
                        cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist", "--runbooks", str(path)]
                        add(f"pytest/{label}", timed([*cmd, "--runbooks-results", str(results) + "-pytest"], env, tmpdir))
                if "engine" not in skip:
                    add("engine-floor", floor_here(n, tmpdir))
                    add("engine/after", engine(path, base_env))
            med = {k: statistics.median(v) for k, v in times.items()}
            floor = med["floor"]
            print(f"\nN = {n}: floor (bare bash spawn loop, whole process) {floor:.3f} s = {floor / n * 1000:.3f} ms/spawn")
            lint_s = lint_time(path)
            print(f"lint of the runbook (in every whole-process row): {lint_s:.3f} s = {lint_s / n * 1000:.3f} ms/block")
            print(
                f"{'row':<16} {'wall s':>8} {'x floor':>8} {'wall ms/block':>14} {'cpu s':>8} {'x floor':>8} {'cpu ms/block':>13}  target (wall)"
            )
            for key in sorted(k for k in med if "/" in k and not k.startswith("cpu:")):
                row, label = key.split("/")
                ref = "engine-floor" if row == "engine" else "floor"
                per_block = (med[key] - med[ref]) / n * 1000
                cpu_block = (med[f"cpu:{key}"] - med[f"cpu:{ref}"]) / n * 1000
                target = TARGETS.get(row)
                verdict = f"<= +{target} ms: {'met' if per_block <= target else 'missed'}" if target and label == "after" else ""
                print(
                    f"{key:<16} {med[key]:>8.3f} {med[key] / med[ref]:>8.2f} {per_block:>+14.3f} "
                    f"{med[f'cpu:{key}']:>8.3f} {med[f'cpu:{key}'] / med[f'cpu:{ref}']:>8.2f} {cpu_block:>+13.3f}  {verdict}"
                )
            for row in ("run", "run-pty", "pytest"):
                if f"{row}/before" in med and f"{row}/after" in med:
                    wb, wa, cb, ca = [
                        (med[f"{p}{row}/{lbl}"] - med[f"{p}floor"]) / n * 1000 for p in ("", "cpu:") for lbl in ("before", "after")
                    ]
                    print(f"{row}: overhead per block before -> after: wall {wb:+.3f} -> {wa:+.3f} ms, cpu {cb:+.3f} -> {ca:+.3f} ms")
            print(f"load average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
