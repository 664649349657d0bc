"""The ledger's edge: appends are all or nothing, a run that cannot be recorded does not
start (exit 2) or says it was not recorded (exit 4), every reader verifies, no content
makes a traceback (planted links: ``test_ledger_links.py``).

Disk full and read-only are real: a small tmpfs, a read-only bind mount (root only;
skipped elsewhere). The rollback itself is also proven on a real file with the
failure injected at ``os.write``/``os.fsync``/``os.ftruncate`` for the ledger's fd only.
"""

from __future__ import annotations

import dataclasses
import errno
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from runbook_checks.errors import EXIT_NOT_RECORDED, EXIT_USAGE, LedgerError, NotRecorded
from runbook_checks.ledger import LazyRecords, append_record, read_records, reading, verified_records, verify_ledger
from runbook_checks.ledger import append as ledger_append
from runbook_checks.ledger import lines as ledger_lines

from .conftest import clean_env, fence, front

LEDGER = "runbook-results/rb.jsonl"


def marker_runbook(write, tmp_path: Path, extra_blocks: str = "") -> Path:
    """A runbook whose first block appends a line to ``ran``: how many times it executed."""
    return write(front(fence("mark", "check", f"echo x >> {tmp_path}/ran") + extra_blocks))


def executed(tmp_path: Path) -> int:
    ran = tmp_path / "ran"
    return len(ran.read_text().splitlines()) if ran.exists() else 0


@pytest.fixture
def recorded(cli, write, tmp_path) -> Path:
    """A ledger with two runs of the marker runbook."""
    path = marker_runbook(write, tmp_path)
    for _ in range(2):
        assert cli("run", path).returncode == 0
    assert executed(tmp_path) == 2
    return tmp_path / LEDGER


class Mounts:
    """Real mounts for a test (root only), all taken down afterwards, also those a block made."""

    def __init__(self) -> None:
        self.targets: list[Path] = []

    @staticmethod
    def require() -> None:
        if os.geteuid() != 0 or not shutil.which("mount"):
            pytest.skip("needs root and mount(8) for a real small or read-only filesystem")

    def mount(self, *args: str, target: Path) -> None:
        self.require()
        self.targets.append(target)
        done = subprocess.run(["mount", *args, str(target)], capture_output=True, text=True)
        if done.returncode != 0:
            pytest.skip(f"cannot mount here: {done.stderr.strip()}")

    def forget_later(self, target: Path) -> None:
        """``target`` will be mounted by a block: taken down afterwards."""
        self.require()
        self.targets.append(target)

    def close(self) -> None:
        for target in reversed(self.targets):
            for _ in range(3):  # a bind mount and its read-only remount are one mount; tolerate "not mounted"
                if subprocess.run(["umount", str(target)], capture_output=True).returncode != 0:
                    break


@pytest.fixture
def mounts():
    m = Mounts()
    yield m
    m.close()


def ro_bind(target: Path) -> str:
    """Shell commands that make ``target`` (a file) read-only in place, as root can."""
    return f"mount --bind {target} {target} && mount -o remount,ro,bind {target}"


# -- disk full: a real, small filesystem ------------------------------------------------------


def filling_runbook(write, tmp_path: Path, results: Path) -> Path:
    """Fills the results filesystem while it runs, then prints more than the ledger's last
    page has room for, so the append fails part-way through its line. The second block
    starts after the disk is full: the lock's holder note must not stop the run."""
    return write(
        front(
            fence("mark", "check", f"echo x >> {tmp_path}/ran")
            + fence("fill", "check", f"cat /dev/zero > {results}/filler 2>/dev/null || true")
            + fence("talk", "check", "python3 -c \"print('x' * 9000)\"")
        ),
        name="full.md",
    )


@pytest.fixture
def small_results(tmp_path, mounts) -> Path:
    results = tmp_path / "runbook-results"
    results.mkdir()
    mounts.mount("-t", "tmpfs", "-o", "size=256k", "tmpfs", target=results)
    return results


def test_a_full_disk_mid_append_is_rolled_back_and_the_run_says_it_was_not_recorded(cli, write, tmp_path, small_results):
    assert cli("run", marker_runbook(write, tmp_path)).returncode == 0
    ledger = small_results / "rb.jsonl"
    before = ledger.read_bytes()
    assert len(before) % 4096 not in (0, 4095)  # room left in the last page: the write gets part-way before ENOSPC
    result = cli("run", filling_runbook(write, tmp_path, small_results))
    assert executed(tmp_path) == 2  # the blocks ran
    assert result.returncode == EXIT_NOT_RECORDED, result.stderr
    assert "Traceback" not in result.stderr
    run_id = result.stdout.split("— run ")[1].split()[0]
    assert "PASSED: 3 passed in" in result.stdout and f"run {run_id} (attempt {run_id}) NOT recorded in {LEDGER}" in result.stdout
    assert result.stderr == (
        f"Error: {LEDGER}: writing the record failed (No space left on device); the ledger was rolled back to its 1 record(s) "
        f"({len(before)} bytes) and still verifies. The run {run_id} (passed, exit 0) executed but is NOT recorded: "
        "fix the cause and run it again\n"
    )
    assert ledger.read_bytes() == before
    assert cli("verify").stdout == f"{LEDGER}: ok, 1 record(s), chain intact\n"
    # once there is room again, the next run is recorded
    (small_results / "filler").unlink()
    assert cli("run", tmp_path / "runbook.md").returncode == 0
    result = cli("verify")
    assert result.returncode == 0 and result.stdout == f"{LEDGER}: ok, 2 record(s), chain intact\n"


def test_a_full_disk_on_the_first_append_leaves_no_ledger(cli, write, tmp_path, small_results):
    result = cli("run", filling_runbook(write, tmp_path, small_results), "--format", "json")
    assert result.returncode == EXIT_NOT_RECORDED and executed(tmp_path) == 1
    assert "the ledger this run would have created was removed again" in result.stderr and "Traceback" not in result.stderr
    summary = json.loads(result.stdout)
    assert summary["recorded"] is False and summary["hash"] is None and summary["status"] == "passed"
    assert not (small_results / "rb.jsonl").exists()
    (small_results / "filler").unlink()
    assert cli("run", marker_runbook(write, tmp_path)).returncode == 0 and cli("verify").returncode == 0


def test_a_pytest_session_that_cannot_record_fails_and_says_so(tmp_path, write, small_results):
    assert (
        subprocess.run(
            [sys.executable, "-m", "runbook_checks", "run", marker_runbook(write, tmp_path)],
            cwd=tmp_path,
            env=clean_env(),
            capture_output=True,
        ).returncode
        == 0
    )
    before = (small_results / "rb.jsonl").read_bytes()
    full = filling_runbook(write, tmp_path, small_results)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--runbooks", str(full), "-p", "no:cacheprovider", f"--rootdir={tmp_path}"],
        cwd=tmp_path,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "3 passed" in result.stdout and executed(tmp_path) == 2
    assert result.returncode == 1, result.stdout
    assert "runbook-checks: " in result.stdout and "No space left on device" in result.stdout and "is NOT recorded" in result.stdout
    assert "INTERNALERROR" not in result.stdout + result.stderr
    assert (small_results / "rb.jsonl").read_bytes() == before


# -- the rollback on a real file, with the failure injected for the ledger's fd only -----------


def _is_ledger(fd: int, path: Path) -> bool:
    try:
        return os.readlink(f"/proc/self/fd/{fd}") == str(path)
    except OSError:
        return False


def test_a_write_that_fails_part_way_is_truncated_away(recorded, monkeypatch):
    before = recorded.read_bytes()
    record = read_records(recorded)[-1]
    real_write, wrote = os.write, []

    def half_then_enospc(fd, data):
        if not _is_ledger(fd, recorded):
            return real_write(fd, data)
        if not wrote:
            wrote.append(real_write(fd, data[: len(data) // 2]))
            return wrote[0]
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(ledger_append.os, "write", half_then_enospc)
    with pytest.raises(NotRecorded) as caught:
        append_record(recorded.parent, record)
    monkeypatch.undo()
    assert wrote and wrote[0] > 0  # half a line did reach the file
    assert caught.value.exit_code == EXIT_NOT_RECORDED
    assert str(caught.value).startswith(
        f"{recorded}: writing the record failed (No space left on device); the ledger was rolled back to its "
        f"2 record(s) ({len(before)} bytes) and still verifies."
    )
    assert recorded.read_bytes() == before and verify_ledger(recorded).ok
    append_record(recorded.parent, record)
    assert verify_ledger(recorded).records == 3


def test_a_failed_fsync_is_rolled_back_too(recorded, monkeypatch):
    before = recorded.read_bytes()
    real_fsync = os.fsync

    def eio(fd):
        if _is_ledger(fd, recorded) and os.fstat(fd).st_size > len(before):
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        return real_fsync(fd)

    monkeypatch.setattr(ledger_append.os, "fsync", eio)
    with pytest.raises(NotRecorded, match=r"writing the record failed \(Input/output error\); the ledger was rolled back"):
        append_record(recorded.parent, read_records(recorded)[-1])
    assert recorded.read_bytes() == before


def test_a_rollback_that_fails_says_where_to_cut(recorded, monkeypatch):
    before = recorded.read_bytes()
    real_write = os.write
    calls = []

    def half_then_enospc(fd, data):
        if not _is_ledger(fd, recorded):
            return real_write(fd, data)
        calls.append(1)
        if len(calls) == 1:
            return real_write(fd, data[:100])
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def refuse(fd, size):
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    monkeypatch.setattr(ledger_append.os, "write", half_then_enospc)
    monkeypatch.setattr(ledger_append.os, "ftruncate", refuse)
    with pytest.raises(NotRecorded) as caught:
        append_record(recorded.parent, read_records(recorded)[-1])
    monkeypatch.undo()
    assert (
        f"and rolling the ledger back to its {len(before)} bytes failed too (Input/output error): its last line may be cut. "
        f"Run 'runbook-checks verify {recorded}' and remove what follows byte {len(before)}"
    ) in str(caught.value)
    v = verify_ledger(recorded)
    assert (v.bad_line, v.problem) == (3, "the last line is cut or half-written (no newline at its end)")


def test_a_failed_first_append_removes_the_ledger_it_created(recorded, monkeypatch, tmp_path):
    record = read_records(recorded)[-1]
    fresh = tmp_path / "fresh"
    real_write = os.write

    def enospc(fd, data):
        if _is_ledger(fd, fresh / "rb.jsonl"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_write(fd, data)

    monkeypatch.setattr(ledger_append.os, "write", enospc)
    with pytest.raises(NotRecorded, match="the ledger this run would have created was removed again"):
        append_record(fresh, record)
    assert not (fresh / "rb.jsonl").exists()


# -- read-only: checked before anything runs; made read-only while running: exit 4 -----------


def test_a_read_only_ledger_refuses_the_run_before_anything_runs(cli, write, tmp_path, recorded, mounts):
    mounts.mount("--bind", str(recorded), target=recorded)
    assert subprocess.run(["mount", "-o", "remount,ro,bind", str(recorded)], capture_output=True).returncode == 0
    before = recorded.read_bytes()
    result = cli("run", tmp_path / "runbook.md")
    assert result.returncode == EXIT_USAGE and executed(tmp_path) == 2  # nothing ran
    assert result.stderr == (
        f"Error: {LEDGER}: the ledger cannot be written (Read-only file system). This run's record could not be kept, "
        "so nothing was executed.\n"
    )
    assert recorded.read_bytes() == before


def test_a_ledger_made_read_only_during_the_run_is_reported_not_recorded(cli, write, tmp_path, recorded, mounts):
    before = recorded.read_bytes()
    mounts.forget_later(recorded)
    path = marker_runbook(write, tmp_path, fence("lock-down", "check", ro_bind(recorded)))
    result = cli("run", path)
    assert executed(tmp_path) == 3
    assert result.returncode == EXIT_NOT_RECORDED, result.stderr
    assert f"{LEDGER}: the ledger cannot be written (Read-only file system). The run " in result.stderr
    assert "(passed, exit 0) executed but is NOT recorded" in result.stderr and "NOT recorded in" in result.stdout
    assert recorded.read_bytes() == before


# -- no content makes a traceback ------------------------------------------------------------------


def _sealed_forgery(prev: str) -> str:
    """A line in the sealed form whose hash holds over its bytes (so the byte check passes)
    but which nests 100,000 levels deep: only a parser meets the nesting."""
    rest = '"deep":' + "[" * 100_000 + "]" * 100_000 + f',"prev":"{prev}"}}'
    digest = hashlib.sha256(b"{" + rest.encode()).hexdigest()
    return f'{{"hash":"{digest}",{rest}'


@pytest.mark.parametrize("case", ["open brackets", "nested hash", "sealed forgery"])
def test_deeply_nested_lines_are_path_n_problems_never_tracebacks(cli, tmp_path, recorded, case):
    head = json.loads(recorded.read_text().splitlines()[-1])["hash"]
    line = {
        "open brackets": "[" * 100_000,
        "nested hash": '{"hash": ' + "[" * 100_000 + "]" * 100_000 + "}",
        "sealed forgery": _sealed_forgery(head),
    }[case]
    with recorded.open("a") as fh:
        fh.write(line + "\n")
    result = cli("verify")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stdout == f"{LEDGER}:3: not valid JSON (nested too deeply to be a run record)\n"
    result = cli("report", tmp_path / "runbook.md")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert f"error: {LEDGER}:3: not valid JSON (nested too deeply to be a run record)" in result.stderr
    if case == "sealed forgery":  # the byte check passes it; reading it is a path:N problem
        records = LazyRecords(recorded)
        assert verify_ledger(recorded, validate_schema=False, records=records).ok
        with pytest.raises(LedgerError, match=rf"^{recorded}:3: not a run record \(nested too deeply to be a run record\)"):
            records[2]
        result = cli("run", tmp_path / "runbook.md", "--from", "mark")  # a resume reads the earlier runs
        assert result.returncode == EXIT_USAGE and executed(tmp_path) == 2, result.stderr
        assert (
            result.stderr.startswith(f"Error: {LEDGER}:3: not a run record (nested too deeply") and "Nothing was executed." in result.stderr
        )
    else:
        result = cli("run", tmp_path / "runbook.md")
        assert result.returncode == EXIT_USAGE and executed(tmp_path) == 2 and "Traceback" not in result.stderr
        assert result.stderr.startswith(
            f"Error: {LEDGER}:3: not valid JSON (nested too deeply to be a run record) — this run's record "
            "could not be chained to it, so nothing was executed."
        )
    assert "Traceback" not in result.stderr


def test_a_lone_surrogate_escape_is_a_path_n_problem_never_a_traceback(cli, tmp_path, recorded):
    lines = recorded.read_bytes().splitlines(keepends=True)
    record = json.loads(lines[1]) | {"environment": "\ud800"}  # its hash kept: the check gets as far as hashing it
    recorded.write_bytes(lines[0] + json.dumps(record).encode() + b"\n")
    problem = f"{LEDGER}:2: not a run record (a string holds a lone surrogate escape, which no run writes and no hash covers)"
    result = cli("verify")
    assert result.returncode == 1 and result.stdout == problem + "\n" and "Traceback" not in result.stderr
    result = cli("run", tmp_path / "runbook.md")
    assert result.returncode == EXIT_USAGE and executed(tmp_path) == 2 and "Traceback" not in result.stderr
    assert result.stderr.startswith(f"Error: {problem} — this run's record could not be chained to it"), result.stderr


def _resealed(records: list[dict]) -> bytes:
    """``records`` chained and sealed again as a forger would, ASCII escapes kept: every
    hash holds over its line's bytes."""
    lines, prev = [], None
    for record in records:
        body = json.dumps({k: v for k, v in record.items() if k != "hash"} | {"prev": prev}, sort_keys=True, separators=(",", ":"))
        prev = hashlib.sha256(body.encode()).hexdigest()
        lines.append(f'{{"hash":"{prev}",{body[1:]}\n')
    return "".join(lines).encode()


@pytest.mark.parametrize("where", ["actor", "environment", "a key in options", "a block's output"])
def test_a_sealed_line_with_a_lone_surrogate_is_refused_by_every_reader(cli, tmp_path, recorded, where):
    records = [json.loads(line) for line in recorded.read_text().splitlines()]
    last = records[-1]
    if where == "a key in options":
        last["options"] = {**last.get("options", {}), "\udead": 1}
    elif where == "a block's output":
        last["blocks"][0]["output"] = "x\udc80\n"
    else:
        last[where] = "\ud800"
    recorded.write_bytes(_resealed(records))
    problem = f"{LEDGER}:2: not a run record (a string holds a lone surrogate escape, which no run writes and no hash covers)"
    result = cli("verify")
    assert (result.returncode, result.stdout) == (1, problem + "\n"), result
    for args in (("report", "runbook.md"), ("report", "runbook.md", "--format", "json")):
        result = cli(*args)
        assert "Traceback" not in result.stderr and problem in result.stderr, (args, result.stderr)
    recorded.write_bytes(_resealed(records[:1]))  # the forger's hand, not the lone surrogate, is what the rest of the suite sees
    assert cli("verify").returncode == 0


def test_names_that_are_not_utf8_are_recorded_as_escapes_after_the_blocks_ran(cli, write, tmp_path):
    folder = tmp_path / "d\udcff"  # a folder whose name is the byte 0xff, as Python keeps it (PEP 383)
    folder.mkdir()
    path = marker_runbook(write, tmp_path)
    shutil.copy(path, folder / "run\udcffbook.md")
    env = clean_env(LOGNAME="ev\udcffil", USER="ev\udcffil", GITHUB_REPOSITORY="o/r\udcfe", CI="true")
    result = cli("run", folder / "run\udcffbook.md", env=env)
    assert result.returncode == 0 and executed(tmp_path) == 1 and "Traceback" not in result.stderr, result
    [record] = read_records(folder / LEDGER)
    assert (record.actor, record.runbook_path, record.ci["repository"]) == ("ev\\xffil", "run\\xffbook.md", "o/r\\xfe")


def test_a_record_no_utf8_holds_is_not_recorded_and_says_why(recorded):
    record = read_records(recorded)[-1]
    before = recorded.read_bytes()
    with pytest.raises(NotRecorded, match=r"the record holds text that is not UTF-8 \('\\udcff'\), which no ledger line can keep"):
        append_record(recorded.parent, dataclasses.replace(record, actor="x\udcff"))
    assert recorded.read_bytes() == before


# -- every reader verifies -----------------------------------------------------------------------------


def test_read_records_verifies_the_chain(recorded):
    assert [r.run_id for r in read_records(recorded)] == [json.loads(x)["run_id"] for x in recorded.read_text().splitlines()]
    content = recorded.read_text().splitlines(keepends=True)
    recorded.write_text(content[1])  # the first record removed: the chain is broken at line 1
    with pytest.raises(LedgerError, match=rf"^{recorded}:1: chain broken"):
        read_records(recorded)


def test_a_run_refuses_a_ledger_broken_before_its_last_line(cli, tmp_path, recorded):
    content = recorded.read_text().splitlines(keepends=True)
    recorded.write_text(content[0].replace('"actor":"', '"actor":"x', 1) + content[1])
    result = cli("run", tmp_path / "runbook.md")
    assert result.returncode == EXIT_USAGE and executed(tmp_path) == 2
    assert result.stderr.startswith(
        f"Error: {LEDGER}:1: hash mismatch: the record was edited after it was written — this run's record "
        "could not be chained to it, so nothing was executed."
    )


EDIT_SCRIPT = """import sys
data = bytearray(open(sys.argv[1], "rb").read())
at = data.index(b'"actor":"') + 9
data[at] = 89 if data[at] != 89 else 90
open(sys.argv[1], "r+b").write(data)
"""


def test_a_ledger_edited_in_place_while_the_blocks_run_is_not_appended_to(cli, write, tmp_path, recorded):
    (tmp_path / "edit.py").write_text(EDIT_SCRIPT)  # one character of the first record, the size kept
    path = marker_runbook(write, tmp_path, fence("tamper", "check", f"{sys.executable} {tmp_path}/edit.py {recorded}"))
    result = cli("run", path)
    assert result.returncode == EXIT_NOT_RECORDED and executed(tmp_path) == 3, result.stderr
    assert f"{LEDGER}:1: hash mismatch: the record was edited after it was written — the record cannot be chained" in result.stderr


def edited_in_place(path: Path) -> None:
    """One character of the first record changed in place (the size kept), as ``EDIT_SCRIPT``
    does, its modification time a second later (whatever the file system's clock granularity)."""
    data = bytearray(path.read_bytes())
    at = data.index(b'"actor":"') + 9
    data[at] = 89 if data[at] != 89 else 90
    st = path.stat()
    with open(path, "r+b") as f:
        f.write(data)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))


def counted_verifications(monkeypatch) -> list[Path]:
    """The ledgers ``append`` verifies from now on, one entry a pass."""
    calls: list[Path] = []
    real = ledger_append.verify_ledger
    monkeypatch.setattr(ledger_append, "verify_ledger", lambda path, *a, **k: calls.append(path) or real(path, *a, **k))
    return calls


def test_the_append_after_a_run_does_not_read_an_unchanged_ledger_again(recorded, monkeypatch):
    record = read_records(recorded)[-1]
    passes = counted_verifications(monkeypatch)
    monkeypatch.setattr(ledger_append, "_SETTLED_NS", 0)  # the ledger was written just now, by the fixture
    head = ledger_append.last_hash(recorded)
    sealed = append_record(recorded.parent, dataclasses.replace(record, run_id="again-0"))
    assert sealed["prev"] == head and passes == [recorded]  # no pass but the check's
    sealed = append_record(recorded.parent, dataclasses.replace(record, run_id="again-1"))  # no check before it
    assert sealed["prev"] == verify_ledger(recorded).hashes[-2] and passes == [recorded, recorded]
    verification = verify_ledger(recorded)
    assert verification.ok and verification.records == 4 and verification.head == sealed["hash"]


def test_a_ledger_changed_just_before_the_check_is_verified_again_at_the_append(recorded, monkeypatch):
    record = read_records(recorded)[-1]
    passes = counted_verifications(monkeypatch)
    ledger_append.last_hash(recorded)  # the fixture wrote it less than 2 s ago: a write in the same clock tick would not show
    append_record(recorded.parent, dataclasses.replace(record, run_id="again"))
    assert passes == [recorded, recorded] and verify_ledger(recorded).ok


def test_the_check_before_a_run_reads_the_earlier_records_in_the_same_pass(recorded, monkeypatch):
    passes = counted_verifications(monkeypatch)
    records = LazyRecords(recorded, streamed=True)
    head = ledger_append.last_hash(recorded, records)
    assert passes == [recorded]
    expected, verification = verified_records(recorded)
    assert head == verification.head and [r.to_dict() for r in records] == [r.to_dict() for r in expected]


@pytest.mark.parametrize("change", ["edited in place", "replaced", "appended to"])
def test_a_ledger_changed_after_the_check_before_the_run_is_verified_again(recorded, monkeypatch, change):
    record = read_records(recorded)[-1]
    passes = counted_verifications(monkeypatch)
    monkeypatch.setattr(ledger_append, "_SETTLED_NS", 0)  # remembered, though written just now
    ledger_append.last_hash(recorded)
    assert str(recorded) in ledger_append._verified
    if change == "edited in place":
        edited_in_place(recorded)
    elif change == "replaced":
        copy = recorded.with_name("copy.jsonl")
        shutil.copy2(recorded, copy)
        edited_in_place(copy)
        os.utime(copy, ns=(recorded.stat().st_atime_ns, recorded.stat().st_mtime_ns))  # only the file is another
        os.replace(copy, recorded)
    else:
        with open(recorded, "ab") as f:
            f.write(b"{not json\n")
    before = recorded.read_bytes()
    with pytest.raises(NotRecorded, match="fails verification"):
        append_record(recorded.parent, dataclasses.replace(record, run_id="after"))
    assert passes == [recorded, recorded] and recorded.read_bytes() == before


def same_records(records, path: Path) -> bool:
    """Whether ``records`` are what a fresh read of ``path`` gives: every record, and each
    line's place, digest and header (``to_bytes``)."""
    expected = verified_records(path)[0]
    return [r.to_dict() for r in records] == [r.to_dict() for r in expected] and b"".join(records.to_bytes()) == b"".join(
        expected.to_bytes()
    )


@pytest.mark.parametrize("ledger", ["two records", "none yet"])
def test_the_check_and_the_append_give_the_whole_ledger_in_one_pass(recorded, monkeypatch, ledger):
    record = read_records(recorded)[-1]
    if ledger == "none yet":
        recorded.unlink()
    passes = counted_verifications(monkeypatch)
    monkeypatch.setattr(ledger_append, "_SETTLED_NS", 0)  # the ledger was written just now, by the fixture
    records = LazyRecords(recorded, streamed=True)
    ledger_append.last_hash(recorded, records)
    append_record(recorded.parent, dataclasses.replace(record, run_id="again"), records=records)
    assert passes == ([recorded] if ledger == "two records" else [])  # the check's pass, and no other
    assert len(records) == (3 if ledger == "two records" else 1) and same_records(records, recorded)
    assert records[-1].run_id == "again"


@pytest.mark.parametrize("change", ["appended to by another run", "changed just before the check", "replaced"])
def test_records_taken_by_a_check_the_ledger_outgrew_are_given_up(recorded, monkeypatch, change):
    record = read_records(recorded)[-1]
    if change != "changed just before the check":
        monkeypatch.setattr(ledger_append, "_SETTLED_NS", 0)
    records = LazyRecords(recorded, streamed=True)
    ledger_append.last_hash(recorded, records)
    if change == "appended to by another run":
        append_record(recorded.parent, dataclasses.replace(record, run_id="between"))
    elif change == "replaced":
        recorded.unlink()
    append_record(recorded.parent, dataclasses.replace(record, run_id="again"), records=records)
    assert len(records) == 0 and verify_ledger(recorded).ok  # empty: the caller reads the ledger again


def test_a_runs_files_from_its_own_pass_are_those_a_read_of_the_ledger_writes(recorded, tmp_path, monkeypatch):
    """``run --junit`` in a GitHub job (step summary, step outputs): the files made from the
    records the run's check took are byte for byte those made from reading the ledger again."""
    from click.testing import CliRunner

    from runbook_checks import outputs
    from runbook_checks.cli import main

    monkeypatch.setattr(ledger_append, "_SETTLED_NS", 0)  # remembered, though the fixture wrote it just now
    real, calls = outputs.write_run_files, []

    def both(runbook, record, sealed, **files):
        calls.append(files["records"])
        real(runbook, record, sealed, **files)
        environ = {**files["environ"], "GITHUB_STEP_SUMMARY": "again/summary.md", "GITHUB_OUTPUT": "again/output"}
        real(runbook, record, sealed, **{**files, "records": None, "environ": environ, "junit": "again/junit.xml"})

    monkeypatch.setattr(outputs, "write_run_files", both)
    monkeypatch.chdir(tmp_path)
    for folder in ("first", "again"):
        (tmp_path / folder).mkdir()
    env = {"GITHUB_STEP_SUMMARY": "first/summary.md", "GITHUB_OUTPUT": "first/output"}
    result = CliRunner().invoke(main, ["run", "runbook.md", "--junit", "first/junit.xml"], env=env)
    assert result.exit_code == 0, result.output
    assert len(calls) == 1 and calls[0] is not None and len(calls[0]) == 3  # the run's own records, its own included
    for name in ("summary.md", "output", "junit.xml"):
        first, again = ((tmp_path / f / name).read_text() for f in ("first", "again"))
        assert re.sub("ghadelimiter_[0-9a-f]+", "D", first) == re.sub("ghadelimiter_[0-9a-f]+", "D", again) != ""


def test_whether_a_run_executes_does_not_depend_on_the_files_it_writes(cli, write, tmp_path):
    """A sealed line that is no record, in the attempt a run joins: the blocks of a run
    that writes GitHub's files execute as those of one that does not (taking the records
    for the files is not reading them)."""
    path = marker_runbook(write, tmp_path)
    assert cli("run", path, "--attempt", "X").returncode == 0
    ledger = tmp_path / LEDGER
    last = json.loads(ledger.read_text().splitlines()[-1])
    forged = {k: v for k, v in last.items() if k != "hash"} | {"prev": last["hash"], "blocks": 5, "run_id": "forged"}
    with open(ledger, "ab") as f:
        f.write(ledger_lines.sealed_line(forged))
    with_files = cli("run", path, "--attempt", "X", env=clean_env(GITHUB_OUTPUT=str(tmp_path / "out")))
    assert executed(tmp_path) == 2 and with_files.returncode == 1 and "Traceback" not in with_files.stderr
    assert with_files.stderr.startswith(f"Error: {LEDGER}:2: not a run record"), with_files.stderr
    assert cli("run", path, "--attempt", "X").returncode == 0 and executed(tmp_path) == 3


# -- empty and foreign files ---------------------------------------------------------------------------


def test_an_empty_ledger_is_neither_intact_nor_runnable(cli, write, tmp_path):
    path = marker_runbook(write, tmp_path)
    (tmp_path / "runbook-results").mkdir()
    (tmp_path / LEDGER).write_bytes(b"")
    message = (
        f"{LEDGER}:1: empty file: no records. runbook-checks creates a ledger with its first record and never empties one, "
        "so this file was emptied or made by something else"
    )
    result = cli("verify")
    assert result.returncode == 1 and result.stdout == message + "\n"
    result = cli("report", path)
    assert result.returncode == 1 and f"error: {message}" in result.stderr
    result = cli("run", path)
    assert result.returncode == EXIT_USAGE and executed(tmp_path) == 0 and result.stderr.startswith(f"Error: {message} — ")


@pytest.mark.parametrize(
    "foreign, why",
    [
        ('{"event": "deploy", "ok": true}\n', "does not match the record schema at record: 'schema_version' is a required property"),
        ("name,ok\nstaging,1\n", "not valid JSON (Expecting value: line 1 column 1 (char 0))"),
    ],
)
def test_a_foreign_jsonl_is_not_a_ledger_not_tampering(cli, tmp_path, recorded, foreign, why):
    (tmp_path / "runbook-results" / "other.jsonl").write_text(foreign)
    result = cli("verify")
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        f"runbook-results/other.jsonl:1: not a runbook-checks ledger: no line of it is a run record (line 1: {why})",
        f"{LEDGER}: ok, 2 record(s), chain intact",
    ]
    # a ledger with one bad line is still a ledger: that line is reported as tampering
    content = recorded.read_text().splitlines(keepends=True)
    recorded.write_text(foreign.splitlines(keepends=True)[0] + content[1])
    assert cli("verify", LEDGER).stdout == f"{LEDGER}:1: {why}\n"


@pytest.mark.parametrize("text", [b"a\nbb\n\nccc\n", b"one long line\nx", b"\n\n", b"no newline at all", b"ab\ncd\n" * 3])
def test_lines_come_whole_and_in_place_whatever_the_chunks(text: bytes) -> None:
    """``reading.lines``: every line with where it starts in the file, whichever bytes the
    chunks end at (a line inside one chunk, across several, a chunk that starts or ends
    with a newline), and a last line without a newline marked with end -1."""
    expected, at = [], 0
    for line in text.split(b"\n")[:-1]:
        expected.append((line, at, True))
        at += len(line) + 1
    if not text.endswith(b"\n"):
        expected.append((text[at:], at, False))
    for size in range(1, len(text) + 1):
        chunks = [text[i : i + size] for i in range(0, len(text), size)]
        got = [(buffer[start : end if end >= 0 else None], at, end >= 0) for buffer, start, end, at in reading.lines(iter(chunks))]
        assert got == expected, size


@pytest.mark.parametrize("chunk", [1, 3, 7, 1 << 20])
def test_raw_lines_are_the_files_lines_whatever_the_chunks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int) -> None:
    """``reading.raw_lines`` (what tells a damaged ledger from another tool's file) reads the
    lines as ``reading.lines`` does: a last line without a newline included, none after a final newline."""
    monkeypatch.setattr(reading, "CHUNK", chunk)
    for text in (b"a\nbb\n\nccc\n", b"one long line\nx", b"no newline"):
        path = tmp_path / "f.jsonl"
        path.write_bytes(text)
        expected = text.split(b"\n")[:-1] if text.endswith(b"\n") else text.split(b"\n")
        assert list(reading.raw_lines(path, None)) == expected
        with open(path, "rb") as f:
            assert list(reading.raw_lines(path, f.fileno())) == expected


def test_a_folder_name_that_is_not_utf8_in_a_block_reason_is_recorded_as_escapes(cli, write, tmp_path):
    """A block that cannot start because its workdir is gone says so with the folder's
    name; a name that is not UTF-8 is recorded with its bytes as escapes, not refused
    (the run executed: its record must not be lost)."""
    folder = tmp_path / "d\udcff"
    folder.mkdir()
    (folder / "runbook.md").write_text(front(fence("gone", "check", 'rm -rf "$PWD"') + fence("after", "check", "true")))
    result = cli("run", folder / "runbook.md", "--results", tmp_path / "res")
    assert result.returncode == 1 and "NOT recorded" not in result.stdout + result.stderr, result
    [record] = read_records(tmp_path / "res" / "rb.jsonl")
    after = record.blocks[1]
    assert (after.status, after.exit_code) == ("failed", 127)
    assert (
        after.reason
        == f"cannot start bash in {str(tmp_path).encode('utf-8', 'surrogateescape').decode('utf-8', 'backslashreplace')}/d\\xff: No such file or directory"
    )


def test_a_fingerprinted_file_and_a_changed_file_whose_names_are_not_utf8(cli, write, tmp_path):
    """A fingerprinted folder holding a file whose name is not UTF-8 is fingerprinted by the
    name's own bytes, and git naming a changed file as it is (``core.quotePath=false``) is
    read as bytes: the run executes and is recorded, where both ended in a traceback before
    any block ran."""
    git = ["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@t", "-c", "core.quotePath=false"]
    subprocess.run([*git[:3], "init", "-q"], check=True)
    (tmp_path / "mig").mkdir()
    odd = tmp_path / "mig" / "a\udcffb.sql"
    odd.write_text("select 1;\n")
    path = write(front(fence("a", "check", "true"), extra="  fingerprint: [mig]"))
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "x"], check=True)
    odd.write_text("select 2;\n")  # a changed tracked file: git status names it, as it is
    env = clean_env(GIT_CONFIG_COUNT="1", GIT_CONFIG_KEY_0="core.quotePath", GIT_CONFIG_VALUE_0="false")
    assert cli("run", path, env=env).returncode == 0
    odd.rename(tmp_path / "mig" / "a\udcfeb.sql")  # another name, other bytes: another fingerprint
    result = cli("run", path, env=env)
    assert result.returncode == 0 and "Traceback" not in result.stderr, result
    first, second = read_records(tmp_path / LEDGER)
    assert first.git is not None and first.git["dirty"] is True
    assert first.fingerprints["mig"] != second.fingerprints["mig"]
