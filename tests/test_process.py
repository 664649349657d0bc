"""Processes: timeouts kill the whole group, stdin never hangs, Ctrl-C and SIGKILL of the
runner, the run lock, bounded memory for huge output."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import select
import signal
import subprocess
import sys
import termios
import time
import tracemalloc
from pathlib import Path

import pytest

from runbook_checks.lint import load_runbook
from runbook_checks.redact import Redactor
from runbook_checks.runner import run_block

from .conftest import clean_env, fence, front
from .test_run import ledger, statuses


def alive(pid: int) -> bool:
    """A process that exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def _pgid(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except OSError:
        return None


def wait_for(predicate, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)


def start_cli(args: list[str], cwd: Path, env: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "runbook_checks", *map(str, args)],
        cwd=cwd,
        env=env or clean_env(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_timeout_kills_the_whole_group_with_no_orphan(cli, write, tmp_path):
    code = f"sleep 300 & echo $! > {tmp_path}/bg.pid\nsleep 300"
    started = time.monotonic()
    result = cli("run", write(front(fence("slow", "check", code, "timeout=1"))), "--grace", "0.5")
    assert time.monotonic() - started < 30
    assert result.returncode == 1
    block = ledger(tmp_path)[0]["blocks"][0]
    assert block["status"] == "timed-out" and block["reason"] == "timed out after 1 s; the block's process group was stopped"
    assert not alive(int((tmp_path / "bg.pid").read_text()))


def test_term_ignoring_block_is_killed_after_grace(cli, write, tmp_path):
    code = f"trap '' TERM\nsleep 300 & echo $! > {tmp_path}/bg.pid\nwhile true; do sleep 0.1; done"
    result = cli("run", write(front(fence("stubborn", "check", code, "timeout=1"))), "--grace", "0.5")
    assert result.returncode == 1 and ledger(tmp_path)[0]["blocks"][0]["status"] == "timed-out"
    assert not alive(int((tmp_path / "bg.pid").read_text()))


def test_background_process_left_by_a_passing_block_is_stopped(cli, write, tmp_path):
    code = f"sleep 300 > /dev/null 2>&1 & echo $! > {tmp_path}/bg.pid\necho done"
    result = cli("run", write(front(fence("leaves-bg", "check", code))))
    assert result.returncode == 0
    assert not alive(int((tmp_path / "bg.pid").read_text()))


def test_block_reading_stdin_does_not_hang(cli, write, tmp_path):
    result = cli("run", write(front(fence("reads", "check", "cat; read -r line || echo 'stdin is empty'", "timeout=20"))), timeout=30)
    assert result.returncode == 0
    assert ledger(tmp_path)[0]["blocks"][0]["output"] == "stdin is empty\n"


def test_ctrl_c_stops_the_block_and_records_an_interrupted_run(write, tmp_path):
    body = (
        fence("first", "check", "echo one")
        + fence("long", "check", f"sleep 300 & echo $! > {tmp_path}/bg.pid\nsleep 300")
        + fence("never", "check", "echo never")
    )
    proc = start_cli(["run", write(front(body))], tmp_path)
    wait_for(lambda: (tmp_path / "bg.pid").exists() and (tmp_path / "bg.pid").read_text().strip())
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, out + err
    [record] = ledger(tmp_path)
    assert record["status"] == "interrupted"
    assert statuses(record) == {"first": "passed", "long": "interrupted", "never": "not-run"}
    assert not alive(int((tmp_path / "bg.pid").read_text()))
    verify = subprocess.run([sys.executable, "-m", "runbook_checks", "verify"], cwd=tmp_path, capture_output=True, text=True)
    assert verify.returncode == 0, verify.stdout


def test_sigterm_is_treated_like_ctrl_c(write, tmp_path):
    proc = start_cli(["run", write(front(fence("long", "check", f"touch {tmp_path}/started; sleep 300")))], tmp_path)
    wait_for(lambda: (tmp_path / "started").exists())
    proc.terminate()
    proc.communicate(timeout=30)
    assert proc.returncode == 130 and ledger(tmp_path)[0]["status"] == "interrupted"


def test_sigkill_of_the_runner_leaves_a_verifiable_ledger_and_a_lock_that_is_taken_over(cli, write, tmp_path):
    path = write(front(fence("quick", "check", "echo ok") + fence("hang", "check", f"touch {tmp_path}/started; sleep 300", "timeout=600")))
    assert cli("run", path, "--only", "quick").returncode == 0
    proc = start_cli(["run", path], tmp_path)
    holder = tmp_path / "runbook-results" / ".rb.test.holder.json"

    def noted() -> bool:  # the block may start before the runner notes its process group
        try:
            return "pgid" in json.loads(holder.read_text())
        except (OSError, ValueError):
            return False

    wait_for(lambda: (tmp_path / "started").exists() and noted())
    proc.kill()
    proc.communicate(timeout=30)
    verify = cli("verify")
    assert verify.returncode == 0 and "ok, 1 record(s), chain intact" in verify.stdout
    # the killed runner's block is still running: no takeover while it does
    blocked = cli("run", path, "--only", "quick")
    assert blocked.returncode == 3 and "left block 'hang' running (process group" in blocked.stderr
    pgid = int(blocked.stderr.split("kill -- -")[1].split(")")[0])
    os.killpg(pgid, signal.SIGKILL)
    wait_for(lambda: not any(alive(int(p)) for p in os.listdir("/proc") if p.isdigit() and _pgid(int(p)) == pgid))
    again = cli("run", path, "--only", "quick")
    assert again.returncode == 0, again.stderr
    assert f"took over a stale lock left by pid {proc.pid}" in again.stdout
    assert cli("verify").stdout.strip().endswith("ok, 2 record(s), chain intact")


def test_second_concurrent_run_exits_3_naming_the_holder(cli, write, tmp_path):
    path = write(front(fence("wait", "check", f"touch {tmp_path}/started; while [ ! -e {tmp_path}/go ]; do sleep 0.05; done")))
    first = start_cli(["run", path], tmp_path)
    wait_for(lambda: (tmp_path / "started").exists())
    second = cli("run", path)
    (tmp_path / "go").touch()
    first.communicate(timeout=30)
    assert second.returncode == 3
    assert f"another run of 'rb' (test) holds the lock: pid {first.pid} on {os.uname().nodename}, started 20" in second.stderr
    assert first.returncode == 0 and len(ledger(tmp_path)) == 1


def test_second_rehearsal_is_refused_before_it_starts_a_database(cli, write, tmp_path):
    path = write(
        front(
            fence("wait", "check", f"touch {tmp_path}/started; while [ ! -e {tmp_path}/go ]; do sleep 0.05; done"),
            secrets="[DATABASE_URL_X]",
            extra="  env:\n    DATABASE_URL: ${DATABASE_URL_X}",
        )
    )
    first = start_cli(["rehearse", path, "--database-url", "postgresql://u@127.0.0.1:9/db"], tmp_path)
    wait_for(lambda: (tmp_path / "started").exists())
    second = cli("rehearse", path)  # --db pglite, and this workdir has no PGlite: only the lock may refuse it
    (tmp_path / "go").touch()
    first.communicate(timeout=30)
    assert second.returncode == 3, second.stderr
    assert "another run of 'rb' (rehearsal) holds the lock" in second.stderr and "Rehearsing" not in second.stdout
    assert first.returncode == 0 and len(ledger(tmp_path)) == 1


def test_fifty_megabytes_of_output_keep_memory_bounded(write, tmp_path):
    rb = load_runbook(
        write(front(fence("flood", "check", "head -c 50000000 /dev/zero | tr '\\0' 'a'; echo; echo the-end", 'expect="the-end"')))
    )
    tracemalloc.start()
    try:
        result = run_block(rb.blocks[0], cwd=tmp_path, env=os.environ, redactor=Redactor(["aaaa-not-there"]))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.status == "passed"
    assert result.output_bytes == 50_000_000 + len("\nthe-end\n")
    assert result.output_truncated and len(result.output) < 40_000
    assert result.output.endswith("the-end\n") and "characters omitted" in result.output
    assert peak < 5_000_000, f"peak traced memory {peak} bytes"


def test_invalid_utf8_and_ansi_escapes_are_cleaned(cli, write, tmp_path):
    code = r"printf 'bad \xff\xfe bytes\n'; printf '\033[31mred\033[0m \033]0;title\007plain\r\n'"
    assert cli("run", write(front(fence("bytes", "check", code)))).returncode == 0
    out = ledger(tmp_path)[0]["blocks"][0]["output"]
    assert out == "bad \ufffd\ufffd bytes\nred plain\n"
    json.dumps(out)  # valid text


def test_timeout_holds_when_the_block_redirects_its_own_output(cli, write, tmp_path):
    started = time.monotonic()
    result = cli("run", write(front(fence("quiet", "check", f"exec > {tmp_path}/log 2>&1\nsleep 30", "timeout=1"))), "--grace", "0.5")
    assert time.monotonic() - started < 15
    assert result.returncode == 1 and ledger(tmp_path)[0]["blocks"][0]["status"] == "timed-out"


def test_timeout_holds_when_a_process_escapes_the_group(cli, write, tmp_path):
    code = f"setsid sleep 30 & echo $! > {tmp_path}/escaped.pid\nsleep 30"
    started = time.monotonic()
    result = cli("run", write(front(fence("escapes", "check", code, "timeout=1"))), "--grace", "0.5")
    assert time.monotonic() - started < 15
    escaped = int((tmp_path / "escaped.pid").read_text())
    try:
        assert result.returncode == 1 and ledger(tmp_path)[0]["blocks"][0]["status"] == "timed-out"
        assert not alive(escaped)  # it left the group on purpose, and is stopped all the same
    finally:
        stop_if_left(escaped)


def test_second_ctrl_c_during_the_grace_period_still_stops_the_group(write, tmp_path):
    code = f"trap '' TERM INT\nsleep 300 & echo $! > {tmp_path}/bg.pid\nwhile true; do sleep 0.1; done"
    proc = start_cli(["run", write(front(fence("stubborn", "check", code))), "--grace", "2"], tmp_path)
    wait_for(lambda: (tmp_path / "bg.pid").exists() and (tmp_path / "bg.pid").read_text().strip())
    proc.send_signal(signal.SIGINT)
    for _ in range(3):  # more Ctrl-C, paced through the 2 s grace period the runner waits out
        time.sleep(0.2)
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=30)
    assert proc.returncode == 130
    assert ledger(tmp_path)[0]["blocks"][0]["status"] == "interrupted"
    assert not alive(int((tmp_path / "bg.pid").read_text()))


def test_ctrl_c_while_the_block_starts_still_stops_its_group(write, tmp_path):
    """A Ctrl-C that lands while bash is being started (here: as it is reported spawned)
    is held back, then delivered: the block is interrupted and its group stopped."""
    runbook = load_runbook(write(front(fence("slow", "check", "sleep 30"))))
    spawned: list[int] = []

    class Observer:
        def spawned(self, block, pgid):
            spawned.append(pgid)
            os.kill(os.getpid(), signal.SIGINT)  # the interrupt arrives inside the start-up window

    result = run_block(runbook.block("slow"), cwd=tmp_path, env=clean_env(), redactor=Redactor([]), observer=Observer(), grace_s=0.5)
    assert result.status == "interrupted" and result.duration_s < 10
    assert spawned and _pgid(spawned[0]) is None  # nothing of the group is left


def test_a_pattern_that_backtracks_forever_gives_up_instead_of_hanging_the_run(write, tmp_path, monkeypatch):
    import runbook_checks.capture as capture
    from runbook_checks.troubleshoot import explain

    monkeypatch.setattr(capture, "REGEX_TIMEOUT_S", 0.5)
    monkeypatch.setattr("runbook_checks.troubleshoot.MATCH_TIMEOUT_S", 0.5)
    text = front(
        fence("slow-match", "check", "printf 'a%.0s' $(seq 60); echo b", 'expect-regex="(a|aa)+$"')
        + '\n### Stuck {#stuck .troubleshoot match="(a|aa)+$"}\n\nNever.\n'
    )
    runbook = load_runbook(write(text))
    started = time.monotonic()
    result = explain(runbook, run_block(runbook.block("slow-match"), cwd=tmp_path, env=clean_env(), redactor=Redactor([])))
    assert time.monotonic() - started < 10
    assert result.status == "failed" and result.troubleshooting == ()
    assert result.reason == "expect-regex /(a|aa)+$/ gave up: one search took over 0.5 s (the pattern backtracks too much)"


def test_a_plain_pattern_over_a_million_lines_still_matches(write, tmp_path):
    rb = load_runbook(write(front(fence("many", "check", "seq 1000000; echo the-end", 'expect-regex="^the-end$"'))))
    result = run_block(rb.blocks[0], cwd=tmp_path, env=os.environ, redactor=Redactor([]))
    assert result.status == "passed", result.reason


def test_one_lock_per_runbook_and_environment_whatever_the_current_directory(cli, write, tmp_path):
    (tmp_path / ".git").mkdir()  # the project root
    write(front(fence("wait", "check", f"touch {tmp_path}/started; while [ ! -e {tmp_path}/go ]; do sleep 0.05; done")), "docs/rb.md")
    first = start_cli(["run", "docs/rb.md"], tmp_path)
    wait_for(lambda: (tmp_path / "started").exists())
    second = cli("run", "rb.md", cwd=tmp_path / "docs")  # the same runbook, started from another directory
    (tmp_path / "go").touch()
    first.communicate(timeout=30)
    assert second.returncode == 3 and "holds the lock" in second.stderr, second.stderr
    assert first.returncode == 0 and len(ledger(tmp_path)) == 1 and not (tmp_path / "docs" / "runbook-results").exists()
    assert cli("report", "rb.md", cwd=tmp_path / "docs").returncode == 0  # reads the project's ledger too


# --- Processes that leave the block's process group, signals that end a run, a closed output ---


def own_children() -> set[int]:
    """This test process's children (the kernel's list, not the process table)."""
    kids: set[int] = set()
    for task in os.listdir("/proc/self/task"):
        with open(f"/proc/self/task/{task}/children") as fh:
            kids.update(int(p) for p in fh.read().split())
    return kids


def pid_in(path: Path) -> int:
    wait_for(lambda: path.exists() and path.read_text().strip())
    return int(path.read_text())


def stop_if_left(*pids: int) -> None:
    """Clean-up for a failing test: a process the test's block started and that survived."""
    for pid in pids:
        if alive(pid):
            os.kill(pid, signal.SIGKILL)


ESCAPES = {
    # each process writes its pid once it has left the group, and the block waits for that
    "setsid": "setsid sh -c 'echo $$ > {d}/escaped.pid; exec sleep 300' > /dev/null 2>&1 &",
    "setpgid": f"{sys.executable} -c 'import os, sys, time; os.setpgid(0, 0); open(sys.argv[1], \"w\").write(str(os.getpid())); time.sleep(300)' "
    "{d}/escaped.pid > /dev/null 2>&1 &",
    "daemon": "setsid sh -c 'sleep 300 & echo $! > {d}/escaped.pid' > /dev/null 2>&1 &",  # double fork: its parent is gone at once
    "ignores-term": "setsid sh -c 'trap \"\" TERM; echo $$ > {d}/escaped.pid; while :; do sleep 0.1; done' > /dev/null 2>&1 &",
    "holds-the-output": "setsid sh -c 'echo $$ > {d}/escaped.pid; exec sleep 300' &",
}


@pytest.mark.parametrize("how", list(ESCAPES))
def test_a_process_that_left_the_group_does_not_outlive_a_passing_block(cli, write, tmp_path, how):
    code = ESCAPES[how].format(d=tmp_path) + f"\nwhile [ ! -s {tmp_path}/escaped.pid ]; do sleep 0.05; done\necho done"
    started = time.monotonic()
    result = cli("run", write(front(fence("escapes", "check", code, "timeout=60"))), "--grace", "0.5")
    escaped = int((tmp_path / "escaped.pid").read_text())
    try:
        assert result.returncode == 0, result.stdout + result.stderr
        assert not alive(escaped)
        assert time.monotonic() - started < 20
        block = ledger(tmp_path)[0]["blocks"][0]
        assert block["status"] == "passed"
        assert "stopped 1 process that had left the block's process group" in block["reason"] and f"(pid {escaped})" in block["reason"]
        assert f"(pid {escaped})" in result.stdout  # the progress line says so too
    finally:
        stop_if_left(escaped)


def test_timeout_stops_a_process_that_escaped_the_group(cli, write, tmp_path):
    code = ESCAPES["holds-the-output"].format(d=tmp_path) + "\nsleep 300"
    started = time.monotonic()
    result = cli("run", write(front(fence("escapes", "check", code, "timeout=2"))), "--grace", "0.5")
    escaped = int((tmp_path / "escaped.pid").read_text())
    try:
        assert time.monotonic() - started < 15
        assert result.returncode == 1 and not alive(escaped)
        reason = ledger(tmp_path)[0]["blocks"][0]["reason"]
        assert reason.startswith(
            "timed out after 2 s; the block's process group was stopped; stopped 1 process that had left the block's process group"
        )
    finally:
        stop_if_left(escaped)


def test_ctrl_c_stops_a_process_that_escaped_the_group(write, tmp_path):
    code = ESCAPES["setsid"].format(d=tmp_path) + "\nsleep 300"
    proc = start_cli(["run", write(front(fence("escapes", "check", code)))], tmp_path)
    escaped = pid_in(tmp_path / "escaped.pid")
    try:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=30)
        assert proc.returncode == 130 and not alive(escaped)
        assert "stopped 1 process that had left" in ledger(tmp_path)[0]["blocks"][0]["reason"]
    finally:
        stop_if_left(escaped)


def test_run_block_stops_what_the_block_started_but_not_the_callers_own_children(write, tmp_path):
    """The pytest plugin's path (run_block in this process): a child the caller had before
    the block (as a rehearsal's database server) is left alone, and no zombie is left."""
    own = subprocess.Popen(["sleep", "300"])
    try:
        before = own_children()
        code = ESCAPES["daemon"].format(d=tmp_path) + f"\nwhile [ ! -s {tmp_path}/escaped.pid ]; do sleep 0.05; done\necho done"
        runbook = load_runbook(write(front(fence("escapes", "check", code))))
        result = run_block(runbook.blocks[0], cwd=tmp_path, env=clean_env(), redactor=Redactor([]), grace_s=0.5)
        escaped = int((tmp_path / "escaped.pid").read_text())
        try:
            assert result.status == "passed" and not alive(escaped)
            assert "stopped 1 process that had left the block's process group: sleep" in result.reason
            assert own.poll() is None and alive(own.pid)
            assert own_children() <= before  # the escaped process was reaped: no zombie child left
        finally:
            stop_if_left(escaped)
    finally:
        own.kill()
        own.wait()


def test_pytest_plugin_stops_a_process_that_escaped_the_group(pytester):
    marks = pytester.path / "marks"
    marks.mkdir()
    code = ESCAPES["setsid"].format(d=marks) + f"\nwhile [ ! -s {marks}/escaped.pid ]; do sleep 0.05; done\necho done"
    path = pytester.makefile(".md", ESC=front(fence("escapes", "check", code)))
    result = pytester.runpytest_subprocess("--runbooks", str(path))
    escaped = int((marks / "escaped.pid").read_text())
    try:
        result.assert_outcomes(passed=1)
        assert not alive(escaped)
    finally:
        stop_if_left(escaped)


@pytest.mark.parametrize("sig", [signal.SIGHUP, signal.SIGTERM, signal.SIGQUIT])
def test_hangup_and_quit_stop_the_block_and_record_an_interrupted_run(write, tmp_path, sig):
    body = fence("long", "check", f"sleep 300 & echo $! > {tmp_path}/bg.pid\nsleep 300", "timeout=600") + fence(
        "never", "check", "echo never"
    )
    proc = start_cli(["run", write(front(body))], tmp_path)
    bg = pid_in(tmp_path / "bg.pid")
    try:
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=30)
        assert proc.returncode == 130, out + err
        [record] = ledger(tmp_path)
        assert record["status"] == "interrupted" and statuses(record) == {"long": "interrupted", "never": "not-run"}
        assert record["blocks"][0]["reason"].startswith(f"interrupted by {sig.name}")
        assert not alive(bg)
        assert not list((tmp_path / "runbook-results").glob(".*.holder.json"))
    finally:
        stop_if_left(bg)


def test_a_run_under_nohup_goes_on_after_a_hangup(write, tmp_path):
    code = f"touch {tmp_path}/started; while [ ! -e {tmp_path}/go ]; do sleep 0.05; done; echo finished"
    proc = subprocess.Popen(
        [sys.executable, "-m", "runbook_checks", "run", write(front(fence("wait", "check", code)))],
        cwd=tmp_path,
        env=clean_env(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGHUP, signal.SIG_IGN),
    )
    wait_for(lambda: (tmp_path / "started").exists())
    proc.send_signal(signal.SIGHUP)
    (tmp_path / "go").touch()
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, out + err
    assert ledger(tmp_path)[0]["status"] == "passed"


def test_closing_the_terminal_stops_the_block_and_records_an_interrupted_run(write, tmp_path):
    """A real hangup: the CLI runs on a pty that is its controlling terminal; closing the
    pty's master sends it SIGHUP and makes every later write to the terminal fail (EIO)."""
    master, slave = pty.openpty()
    body = fence("long", "check", f"sleep 300 & echo $! > {tmp_path}/bg.pid\nwhile :; do echo tick; sleep 0.05; done", "timeout=600")
    proc = subprocess.Popen(
        [sys.executable, "-m", "runbook_checks", "run", write(front(body))],
        cwd=tmp_path,
        env=clean_env(TERM="xterm"),
        stdin=slave,
        stdout=slave,
        stderr=slave,
        start_new_session=True,
        preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0),
    )
    os.close(slave)
    try:
        deadline = time.monotonic() + 30
        while not ((tmp_path / "bg.pid").exists() and (tmp_path / "bg.pid").read_text().strip()):
            assert time.monotonic() < deadline and proc.poll() is None
            if select.select([master], [], [], 0.05)[0]:
                os.read(master, 65536)  # keep the terminal drained while the block starts
    finally:
        os.close(master)  # the terminal is gone
    bg = int((tmp_path / "bg.pid").read_text())
    try:
        assert proc.wait(timeout=30) == 130
        [record] = ledger(tmp_path)
        assert record["status"] == "interrupted" and record["blocks"][0]["reason"].startswith("interrupted by SIGHUP")
        assert not alive(bg)
        assert not list((tmp_path / "runbook-results").glob(".*.holder.json"))
    finally:
        stop_if_left(bg)


@pytest.mark.parametrize(
    "args, second, code", [([], "echo second ran", 0), (["--format", "json"], "echo second ran", 0), ([], "echo second ran; exit 3", 1)]
)
def test_a_closed_output_does_not_stop_the_run_or_lose_its_record(write, tmp_path, args, second, code):
    """``run … | head -1``: the reader goes away after the first line."""
    first = f"echo line-1; while [ ! -e {tmp_path}/go ]; do sleep 0.05; done; seq 1 20000; echo first-end"
    path = write(front(fence("first", "check", first) + fence("second", "check", second)))
    proc = start_cli(["run", path, *args], tmp_path)
    reader = proc.stderr if "json" in args else proc.stdout  # what a terminal would show
    assert reader.readline()
    reader.close()
    (tmp_path / "go").touch()
    other = proc.stdout if reader is proc.stderr else proc.stderr
    left = other.read()
    assert proc.wait(timeout=60) == code, left
    for bad in ("Traceback", "Broken pipe", "BrokenPipeError", "Exception ignored"):
        assert bad not in left
    [record] = ledger(tmp_path)
    assert (
        record["exit_code"] == code
        and record["blocks"][0]["status"] == "passed"
        and record["blocks"][0]["output"].endswith("20000\nfirst-end\n")
    )
    assert "second ran" in record["blocks"][1]["output"]


def test_a_closed_output_and_error_stream_do_not_stop_the_run(write, tmp_path):
    """``run … 2>&1 | head -1``: both streams go to the reader that went away."""
    first = f"echo line-1; while [ ! -e {tmp_path}/go ]; do sleep 0.05; done; seq 1 20000"
    path = write(front(fence("first", "check", first) + fence("second", "check", "exit 3")))
    proc = subprocess.Popen(
        [sys.executable, "-m", "runbook_checks", "run", str(path)],
        cwd=tmp_path,
        env=clean_env(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout.readline()
    proc.stdout.close()
    (tmp_path / "go").touch()
    assert proc.wait(timeout=60) == 1
    assert statuses(ledger(tmp_path)[0]) == {"first": "passed", "second": "failed"}


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_pytest_session_stops_the_block_and_records_it_on_sigterm_or_hangup(write, tmp_path, sig):
    body = fence("long", "check", f"sleep 300 & echo $! > {tmp_path}/bg.pid\nsleep 300") + fence(
        "apply", "step", f"touch {tmp_path}/applied"
    )
    path = write(front(body), "RB.md")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "--runbooks",
            str(path),
            "--runbooks-execute",
            "--runbooks-confirm",
            "GO-OK",
        ],
        cwd=tmp_path,
        env=clean_env(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    bg = pid_in(tmp_path / "bg.pid")
    try:
        proc.send_signal(sig)
        out, _ = proc.communicate(timeout=30)
        assert proc.returncode == 2, out  # pytest's "interrupted"
        [record] = ledger(tmp_path)
        assert statuses(record) == {"long": "interrupted", "apply": "not-run"}
        assert record["blocks"][0]["reason"].startswith(f"interrupted by {sig.name}")
        assert not alive(bg) and not (tmp_path / "applied").exists()
        assert not list((tmp_path / "runbook-results").glob(".*.holder.json"))
    finally:
        stop_if_left(bg)


def test_a_stopped_process_that_left_the_group_is_stopped_within_the_grace(cli, write, tmp_path):
    """A process that left the group and is stopped (SIGSTOP) acts on SIGTERM once
    continued: it is gone within the grace period, with no SIGKILL needed."""
    code = (
        f'setsid sh -c \'trap "echo term > {tmp_path}/got-term; exit 0" TERM; echo $$ > {tmp_path}/escaped.pid; '
        f"while :; do sleep 0.1; done' > /dev/null 2>&1 &\nwhile [ ! -s {tmp_path}/escaped.pid ]; do sleep 0.05; done\n"
        f"kill -STOP $(cat {tmp_path}/escaped.pid)\necho done"
    )
    result = cli("run", write(front(fence("escapes", "check", code))), "--grace", "20")
    escaped = int((tmp_path / "escaped.pid").read_text())
    try:
        assert result.returncode == 0 and not alive(escaped)
        assert (tmp_path / "got-term").read_text() == "term\n"  # it had its SIGTERM, not a SIGKILL
    finally:
        stop_if_left(escaped)


def test_a_process_the_caller_had_before_the_block_is_left_alone_even_when_it_is_orphaned_during_the_block(write, tmp_path):
    """The caller's child ends while the block runs; its own child, re-parented to the
    caller (the subreaper), was there before the block: it is not the block's."""
    own = subprocess.Popen(
        ["sh", "-c", f"sleep 300 & echo $! > {tmp_path}/grandchild.pid; while [ ! -e {tmp_path}/go ]; do sleep 0.05; done"]
    )
    grandchild = pid_in(tmp_path / "grandchild.pid")
    try:
        code = (
            f"touch {tmp_path}/go\n"
            f"while [ \"$(cut -d' ' -f4 /proc/{grandchild}/stat)\" = {own.pid} ]; do sleep 0.05; done\necho re-parented"
        )
        runbook = load_runbook(write(front(fence("orphans-the-callers", "check", code, "timeout=20"))))
        result = run_block(runbook.blocks[0], cwd=tmp_path, env=clean_env(), redactor=Redactor([]), grace_s=0.5)
        assert result.status == "passed" and result.reason is None, result.reason
        assert alive(grandchild)
    finally:
        own.wait(timeout=10)
        stop_if_left(grandchild)
        if grandchild in own_children():
            os.waitpid(grandchild, 0)  # it became this process's child: reap it


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGHUP])
def test_an_interrupted_diagnose_stops_its_check_and_exits_130(write, tmp_path, sig):
    diag = f"sleep 300 & echo $! > {tmp_path}/bg.pid\nsleep 300"
    path = write(
        front(fence("c", "check", "true") + "\n### Slow {#slow .troubleshoot match=slow}\n\nWait.\n\n" + fence("diag", "check", diag))
    )
    proc = start_cli(["diagnose", path], tmp_path)
    bg = pid_in(tmp_path / "bg.pid")
    try:
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=30)
        assert proc.returncode == 130, out + err
        assert "interrupted" in err and "troubleshooting entr" not in out
        assert not alive(bg) and not (tmp_path / "runbook-results").exists()
    finally:
        stop_if_left(bg)


def test_each_block_runs_the_bash_its_own_path_finds(write, tmp_path):
    """The bash is looked up once per PATH value (``runner.bash_path``), as ``subprocess``
    would look it up for every block: the first in PATH order, a relative folder from the
    block's working directory."""
    real = "/usr/bin/bash" if os.path.exists("/usr/bin/bash") else "/bin/bash"
    folders = {}
    for name in ("first", "second", "relative"):
        folder = tmp_path / name
        folder.mkdir()
        (folder / "bash").write_text(f'#!{real}\necho "bash of {name}"\nexec {real} "$@"\n')
        (folder / "bash").chmod(0o755)
        folders[name] = folder
    rb = load_runbook(write(front(fence("which", "check", "echo ran"))))
    seen = []
    for path in (
        f"{folders['first']}:{folders['second']}:/usr/bin:/bin",
        f"{folders['second']}:{folders['first']}:/usr/bin:/bin",
        "relative:/usr/bin:/bin",
    ):
        result = run_block(rb.blocks[0], cwd=tmp_path, env=clean_env(PATH=path), redactor=Redactor([]))
        assert result.status == "passed", result
        seen.append(result.output.split("\n")[0])
    assert seen == ["bash of first", "bash of second", "bash of relative"]


@pytest.mark.parametrize(
    "holder, noted",
    [
        ("[1]", None),  # not a JSON object: as if no holder was named
        ('"str"', None),
        ("[" * 100000, None),  # nested too deeply to read
        ('{"pgid": "x", "host": HOST}', "pid None on HOST"),  # a process group that is no number is not looked for
        ('{"pgid": 1e400, "host": HOST}', "pid None on HOST"),
        ('{"pgid": -5, "host": HOST}', "pid None on HOST"),
        ('{"pgid": true, "host": HOST}', "pid None on HOST"),
        ('{"pgid": 2147483648, "host": HOST}', "pid None on HOST"),  # beyond any pid_t: killpg would overflow
        ('{"pgid": 9223372036854775808, "host": HOST}', "pid None on HOST"),
        ('{"host": "[/x]", "pid": "[bold]"}', "pid [bold] on [/x]"),  # shown as written, not as rich markup
    ],
)
def test_a_broken_or_hostile_holder_file_of_a_free_lock_is_taken_over(cli, write, tmp_path, holder, noted):
    """A holder file left by a run that died (half-written, or written by something else)
    never stops the next run with a traceback: the lock is free, the run takes it over."""
    path = write(front(fence("quick", "check", "true")))
    results = tmp_path / "runbook-results"
    results.mkdir()
    host = json.dumps(os.uname().nodename)
    (results / ".rb.test.holder.json").write_text(holder.replace("HOST", host))
    done = cli("run", path)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    if noted is None:
        assert "took over a stale lock" not in done.stdout
    else:
        assert f"note: took over a stale lock left by {noted.replace('HOST', os.uname().nodename)} (started None)" in done.stdout
