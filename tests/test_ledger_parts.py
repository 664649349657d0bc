"""A large ledger checked in parts on several cores gives the one-pass answer, line for line
(``ledger.parts``): real worker processes, every kind of bad line at every place around the
parts' boundaries, a worker that fails, an interrupted check, a worker whose parent ends."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from runbook_checks.ledger import LazyRecords, parts, verified_records, verify_ledger
from runbook_checks.ledger import verify as verify_module
from runbook_checks.ledger.lines import sealed_line
from runbook_checks.ledger.scan import scan
from runbook_checks.model.headers import Headers

from .fleet_ledgers import chain_lines
from .helpers import block_result, run_record

LINES = 7


def ledger_lines() -> list[bytes]:
    """``LINES`` sealed, chained records of a few blocks each."""
    records = [run_record(f"r{i}", tuple(block_result(f"b{j}", "passed") for j in range(1 + i % 3))) for i in range(LINES)]
    return chain_lines(records)[0]


def resealed(line: bytes, change: dict) -> bytes:
    """``line``'s record with ``change`` applied, sealed again (its hash right for its new content)."""
    record = json.loads(line) | change
    return sealed_line(record)


#: each kind of line a ledger may hold at place ``i``: the lines with it there
KINDS = {
    "intact": lambda lines, i: lines,
    "edited": lambda lines, i: [*lines[:i], lines[i].replace(b'"actor":"a"', b'"actor":"z"'), *lines[i + 1 :]],
    "off-schema": lambda lines, i: [*lines[:i], resealed(lines[i], {"status": "maybe"}), *lines[i + 1 :]],
    "dropped": lambda lines, i: [*lines[:i], *lines[i + 1 :]],
    "reformatted": lambda lines, i: [*lines[:i], json.dumps(json.loads(lines[i]), indent=None).encode() + b"\n", *lines[i + 1 :]],
    "not json": lambda lines, i: [*lines[:i], b"{not json\n", *lines[i + 1 :]],
    "cut": lambda lines, i: [*lines[:i], lines[i][: len(lines[i]) // 2]],
}


def one_pass(path: Path, anchors: list[str]):
    return scan(path, keep_hashes=False, anchors=anchors)


@pytest.mark.parametrize("kind", KINDS)
def test_every_line_of_every_kind_gets_the_one_pass_answer(tmp_path: Path, kind: str):
    lines = ledger_lines()
    anchors = [json.loads(lines[1])["hash"], json.loads(lines[5])["hash"], "f" * 64]
    path = tmp_path / "rb.jsonl"
    oks = []
    for i in range(LINES):
        path.write_bytes(b"".join(KINDS[kind](lines, i)))
        expected = one_pass(path, anchors)
        oks.append(expected.ok)
        for cores in (2, 3):
            got = parts.verify_in_parts(path, anchors, part_bytes=1, cores=cores)
            if got is None:  # only a file of fewer lines than parts is left to one pass
                assert not parts._bounds(path, path.stat().st_size, cores), (kind, i, cores)
                continue
            assert got == expected, (kind, i, cores)
    assert all(oks) if kind in ("intact", "reformatted") else not all(oks)


def test_anchors_are_found_in_every_part(tmp_path: Path):
    lines = ledger_lines()
    path = tmp_path / "rb.jsonl"
    path.write_bytes(b"".join(lines))
    anchors = [json.loads(line)["hash"] for line in lines]
    got = parts.verify_in_parts(path, anchors, part_bytes=1, cores=3)
    assert got is not None and got.found == frozenset(anchors) and got.records == LINES and got.head == anchors[-1]


def test_a_file_too_small_for_two_parts_is_left_to_one_pass(tmp_path: Path):
    path = tmp_path / "rb.jsonl"
    path.write_bytes(b"".join(ledger_lines()))
    assert parts.verify_in_parts(path, part_bytes=path.stat().st_size) is None
    assert parts.verify_in_parts(path, part_bytes=1, cores=1) is None


@pytest.mark.parametrize("python", ["/bin/false", "/bin/true", "/no/such/python"])
def test_a_worker_that_fails_or_says_nothing_leaves_it_to_one_pass(tmp_path: Path, python: str):
    path = tmp_path / "rb.jsonl"
    path.write_bytes(b"".join(ledger_lines()))
    assert parts.verify_in_parts(path, part_bytes=1, cores=2, python=python) is None


def test_verify_ledger_checks_a_large_file_in_parts_with_the_same_answer(tmp_path: Path, monkeypatch):
    lines = ledger_lines()
    path = tmp_path / "rb.jsonl"
    path.write_bytes(b"".join(KINDS["edited"](lines, 5)))
    spawned = []
    spawn = parts._spawn
    monkeypatch.setattr(parts, "_spawn", lambda python, job: spawned.append(job) or spawn(python, job))
    monkeypatch.setattr(parts, "PART_BYTES", 1)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1})
    monkeypatch.setenv("RUNBOOK_CHECKS_CACHE_DIR", "off")
    got = verify_ledger(path, keep_hashes=False)
    assert spawned and str(got) == f"{path}:6: hash mismatch: the record was edited after it was written"
    assert got == one_pass(path, [])


@pytest.mark.parametrize("kind", ["intact", "edited", "off-schema", "reformatted", "cut"])
def test_records_read_after_a_check_in_parts_are_those_of_one_pass(tmp_path: Path, monkeypatch, kind: str):
    lines = ledger_lines()
    path = tmp_path / "rb.jsonl"
    monkeypatch.setenv("RUNBOOK_CHECKS_CACHE_DIR", "off")
    monkeypatch.setattr(parts, "PART_BYTES", 1)
    spawned = []
    spawn = parts._spawn
    monkeypatch.setattr(parts, "_spawn", lambda python, job: spawned.append(job) or spawn(python, job))
    for i in (1, 4, 6):
        path.write_bytes(b"".join(KINDS[kind](lines, i)))
        monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0})
        expected = [verified_records(path, validate_schema=True)[0][:], verify_ledger(path), verify_ledger(path, file_sha256=True)]
        monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2})
        records, verification = verified_records(path, validate_schema=True)
        got = [records[:], verify_ledger(path), verify_ledger(path, file_sha256=True)]
        assert [[r.to_dict() for r in expected[0]], *expected[1:]] == [[r.to_dict() for r in got[0]], *got[1:]], (kind, i)
        assert verification == dataclasses.replace(expected[1], hashes=verification.hashes)
    assert spawned  # the parts were checked by workers


def mixed_lines() -> list[bytes]:
    """``LINES`` chained records whose (environment, mode) pairs first appear in another order in every part."""
    pairs = [("staging", "execute"), ("production", "check"), ("staging", "check"), ("production", "execute")]
    records = [
        run_record(
            f"r{i}",
            (block_result("b0", "passed"),),
            attempt=f"A{i // 2}",
            environment=pairs[(LINES - i) % 4][0],
            mode=pairs[(LINES - i) % 4][1],
        )
        for i in range(LINES)
    ]
    return chain_lines(records)[0]


@pytest.mark.parametrize("kind", KINDS)
def test_the_lines_the_parts_take_are_those_one_pass_takes(tmp_path: Path, kind: str):
    lines = mixed_lines()
    path = tmp_path / "rb.jsonl"
    for i in range(LINES):
        path.write_bytes(b"".join(KINDS[kind](lines, i)))
        expected = LazyRecords(path, streamed=True)
        verification = scan(path, keep_hashes=False, records=expected)
        for cores in (2, 3):
            got = LazyRecords(path, streamed=True)
            if parts.verify_in_parts(path, part_bytes=1, cores=cores, records=got) is None:
                assert not parts._bounds(path, path.stat().st_size, cores), (kind, i, cores)
                continue
            assert len(got) == verification.records, (kind, i, cores)
            assert [bytes(b) for b in got.to_bytes()] == [bytes(b) for b in expected.to_bytes()], (kind, i, cores)


def test_a_large_ledger_read_for_its_records_is_read_once(tmp_path: Path, monkeypatch):
    path = tmp_path / "rb.jsonl"
    path.write_bytes(b"".join(mixed_lines()))
    monkeypatch.setenv("RUNBOOK_CHECKS_CACHE_DIR", "off")
    monkeypatch.setattr(parts, "PART_BYTES", 1)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1})
    passes = []
    monkeypatch.setattr(verify_module, "scan", lambda *a, **k: passes.append(k) or scan(*a, **k))
    records, verification = verified_records(path, validate_schema=True)
    assert not passes and verification.ok and verification.records == LINES  # no pass but the parts'
    assert [r.to_dict() for r in records] == [r.to_dict() for r in verified_records(path)[0]]  # one pass, no schema
    passes.clear()
    assert verify_ledger(path, file_sha256=True).file_sha256 and len(passes) == 1  # the file's hash: one more pass


def test_parts_that_do_not_join_leave_no_line_in_the_records(tmp_path: Path, monkeypatch):
    lines = mixed_lines()
    path = tmp_path / "rb.jsonl"
    path.write_bytes(b"".join(lines))
    monkeypatch.setenv("RUNBOOK_CHECKS_CACHE_DIR", "off")
    monkeypatch.setattr(parts, "PART_BYTES", 1)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2})
    join = parts._join
    monkeypatch.setattr(parts, "_join", lambda *a: join(*a) and None)  # the last part's lines taken, then no join
    taken = LazyRecords(path, streamed=True)
    assert parts.verify_in_parts(path, records=taken) is None and len(taken) == 0 and len(taken.headers()) == 0
    records, verification = verified_records(path, validate_schema=True)
    assert verification.ok and len(records) == LINES and [r.run_id for r in records] == [f"r{i}" for i in range(LINES)]


@pytest.mark.parametrize("payload", [b"", b"\0" * 40, b"\0" * 400 + b"[]\n"])
def test_a_worker_that_writes_fewer_lines_than_it_announces_does_not_answer(tmp_path: Path, payload: bytes):
    announced = json.dumps({"seed": None, "lines": 3}).encode() + b"\n"
    script = f"import sys; sys.stdout.buffer.write({announced + payload!r})"
    worker = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE)
    assert parts._answer(worker, LazyRecords(tmp_path / "rb.jsonl", streamed=True)) is None


def test_headers_extended_are_those_appended_one_by_one():
    rows = [("s", "A", "x"), ("p", "B", "y"), ("s", "C", "y"), ("q", "D", "x"), ("p", "E", "y"), ("s", "F", "x")]
    for cut in range(len(rows) + 1):
        whole, head, tail = Headers(), Headers(), Headers()
        for row in rows:
            whole.append(*row)
        for row in rows[:cut]:
            head.append(*row)
        for row in rows[cut:]:
            tail.append(*row)
        head.extend(tail)
        assert (head.pairs, head.pair_of, head.keys) == (whole.pairs, whole.pair_of, whole.keys), cut


def test_an_interrupted_check_ends_its_workers(tmp_path: Path, monkeypatch):
    path = tmp_path / "rb.jsonl"
    path.write_bytes(b"".join(ledger_lines()))
    workers: list[subprocess.Popen] = []
    spawn = parts._spawn
    monkeypatch.setattr(parts, "_spawn", lambda python, job: workers.append(spawn(python, job)) or workers[-1])

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(parts, "scan", interrupted)
    with pytest.raises(KeyboardInterrupt):
        parts.verify_in_parts(path, part_bytes=1, cores=3)
    assert len(workers) == 2 and all(w.returncode is not None for w in workers)


def test_a_worker_ends_when_the_process_that_started_it_ends(tmp_path: Path):
    script = (
        "import os, subprocess, sys\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import os, signal; from runbook_checks.proctree import die_with_parent; "
        "die_with_parent(os.getppid()); print(os.getpid(), flush=True); signal.pause()'], stdout=subprocess.PIPE, text=True)\n"
        "print(child.stdout.readline().strip(), flush=True)\n"
        "child.wait()\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, cwd=Path(__file__).parent.parent)
    worker = int(parent.stdout.readline())
    assert alive(worker)
    parent.kill()
    parent.wait()
    deadline = time.monotonic() + 30
    while alive(worker) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not alive(worker)


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, dead but not yet reaped, does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"


def test_a_worker_imports_nothing_from_the_folder_the_ledger_is_verified_in(tmp_path: Path, monkeypatch):
    path = tmp_path / "rb.jsonl"
    path.write_bytes(b"".join(ledger_lines()))
    (tmp_path / "json.py").write_text(f"open({str(tmp_path / 'ran')!r}, 'w').close()\nraise SystemExit(3)\n")
    monkeypatch.chdir(tmp_path)
    assert parts.verify_in_parts(path, part_bytes=1, cores=3) == one_pass(path, [])
    assert not (tmp_path / "ran").exists()


def test_a_worker_running_other_code_than_this_process_does_not_answer(tmp_path: Path, monkeypatch):
    path = tmp_path / "rb.jsonl"
    path.write_bytes(b"".join(ledger_lines()))
    monkeypatch.setattr(parts, "_CODE", "/another/runbook_checks/ledger/parts.py")
    assert parts.verify_in_parts(path, part_bytes=1, cores=2) is None


def test_no_interpreter_to_start_leaves_it_to_one_pass(tmp_path: Path):
    path = tmp_path / "rb.jsonl"
    path.write_bytes(b"".join(ledger_lines()))
    assert parts.verify_in_parts(path, part_bytes=1, cores=2, python=None) is None


def test_a_long_last_line_without_a_newline_leaves_fewer_parts_with_the_same_answer(tmp_path: Path):
    path = tmp_path / "rb.jsonl"
    path.write_bytes(b"".join(ledger_lines()) + b"x" * 300_000)
    bounds = parts._bounds(path, path.stat().st_size, 4)
    assert len(bounds) <= 1
    got = parts.verify_in_parts(path, part_bytes=1, cores=4)
    assert got is None and not bounds or got == one_pass(path, [])
    assert one_pass(path, []).bad_line == LINES + 1


@pytest.mark.parametrize(
    ("cpu_max", "cap"), [("max 100000\n", None), ("150000 100000\n", 1), ("50000 100000", 1), ("", None), ("x y", None)]
)
def test_the_cores_used_are_at_most_the_cgroups_quota(tmp_path: Path, cpu_max: str, cap: int | None):
    quota = tmp_path / "cpu.max"
    quota.write_text(cpu_max)
    free = parts._cores(tmp_path / "none")
    assert parts._cores(quota) == (free if cap is None else min(free, cap))
