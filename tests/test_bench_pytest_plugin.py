"""bench/bench_pytest_plugin.py runs at a tiny size and prints every case and the plugin's own time
(no timing is asserted; the peers venv is pointed at a folder that does not exist)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_pytest_plugin_bench_runs_at_a_tiny_size(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    cmd = [sys.executable, str(ROOT / "bench" / "bench_pytest_plugin.py"), "--n", "3", "--repeat", "1"]
    proc = subprocess.run(
        [*cmd, "--peers-venv", str(tmp_path / "none")], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "pytest-codeblocks: not available" in proc.stdout
    number = r"[+-]?\d+\.\d+"
    for case in ("plugin", "bare-spawn"):  # wall, over the floor (wall, cpu), start-up, per item
        assert re.search(rf"^{case} +{number} +{number} +{number} +{number} +{number}$", proc.stdout, re.M), proc.stdout
    for part in ("lint (load_runbook)", "engine (RunSession.run)", "run finish (ledger record)", "items' runtest outside the engine"):
        assert re.search(rf"^  {re.escape(part)} +{number} ms = {number} ms/block$", proc.stdout, re.M), proc.stdout
