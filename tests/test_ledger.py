"""The ledger: hash chain, schema, tamper and truncation detection by `verify`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from runbook_checks.ledger import LazyRecords, canonical, record_hash, verify_ledger
from runbook_checks.model.headers import attempt_key

from .conftest import fence, front


@pytest.fixture
def three_runs(cli, write, tmp_path) -> Path:
    path = write(front(fence("a", "check", "echo one", 'criterion="A works"') + fence("b", "step", "echo two")))
    for args in ([], ["--execute", "--confirm", "GO-OK"], []):
        assert cli("run", path, *args).returncode == 0
    return tmp_path / "runbook-results" / "rb.jsonl"


def lines(path: Path) -> list[str]:
    return path.read_text().splitlines(keepends=True)


def test_records_are_chained_and_schema_valid(three_runs, cli):
    records = [json.loads(line) for line in lines(three_runs)]
    assert records[0]["prev"] is None
    assert [r["prev"] for r in records[1:]] == [r["hash"] for r in records[:-1]]
    assert all(record_hash(r) == r["hash"] for r in records)
    r = records[1]
    assert r["schema_version"] == 2 and r["mode"] == "execute" and r["attempt_id"] == r["run_id"] and r["target"] is None
    for key in ("run_id", "runbook_sha256", "started_at", "finished_at", "duration_s", "actor", "host", "git", "ci"):
        assert key in r
    block = r["blocks"][0]
    assert len(block["sha256"]) == 64 and block["expectations"][0] == {"name": "exit", "expected": "0", "met": True, "actual": "0"}
    result = cli("verify", three_runs)
    assert result.returncode == 0 and result.stdout == f"{three_runs}: ok, 3 record(s), chain intact\n"


@pytest.mark.parametrize("line_no", [1, 2, 3])
def test_an_edit_to_any_line_is_caught_at_that_line(three_runs, cli, line_no):
    content = lines(three_runs)
    record = json.loads(content[line_no - 1])
    record["blocks"][0]["status"] = "failed" if record["blocks"][0]["status"] == "passed" else "passed"
    content[line_no - 1] = json.dumps(record, sort_keys=True) + "\n"
    three_runs.write_text("".join(content))
    result = cli("verify", three_runs)
    assert result.returncode == 1
    assert result.stdout == f"{three_runs}:{line_no}: hash mismatch: the record was edited after it was written\n"


def test_a_rehashed_edit_breaks_the_chain_at_the_next_line(three_runs, cli):
    content = lines(three_runs)
    record = json.loads(content[0])
    record["actor"] = "mallory"
    record["hash"] = record_hash(record)
    content[0] = json.dumps(record) + "\n"
    three_runs.write_text("".join(content))
    result = cli("verify", three_runs)
    assert result.returncode == 1 and result.stdout.startswith(f"{three_runs}:2: chain broken")


def test_removed_first_line_and_reordered_lines(three_runs, cli):
    content = lines(three_runs)
    three_runs.write_text("".join(content[1:]))
    assert cli("verify", three_runs).stdout.startswith(f"{three_runs}:1: chain broken")
    three_runs.write_text(content[0] + content[2] + content[1])
    assert cli("verify", three_runs).stdout.startswith(f"{three_runs}:2: chain broken")


def test_cut_or_half_written_last_line(three_runs, cli):
    content = three_runs.read_text()
    three_runs.write_text(content[:-40])
    result = cli("verify", three_runs)
    assert result.returncode == 1
    assert result.stdout == f"{three_runs}:3: the last line is cut or half-written (no newline at its end)\n"
    three_runs.write_text(content[:-1])  # only the newline is missing
    assert cli("verify", three_runs).stdout.startswith(f"{three_runs}:3: the last line is cut")


def test_schema_violations_and_garbage(three_runs, cli):
    content = lines(three_runs)
    record = json.loads(content[1])
    record["blocks"][0]["status"] = "great"
    record["hash"] = record_hash(record)
    three_runs.write_text(content[0] + json.dumps(record) + "\n")
    result = cli("verify", three_runs)
    assert result.stdout.startswith(f"{three_runs}:2: does not match the record schema at blocks/0/status: 'great' is not one of")
    three_runs.write_text(content[0] + "not json\n")
    assert cli("verify", three_runs).stdout.startswith(f"{three_runs}:2: not valid JSON")


def test_a_run_refuses_to_append_after_a_cut_line(three_runs, cli, tmp_path):
    three_runs.write_text(three_runs.read_text()[:-10])
    result = cli("run", tmp_path / "runbook.md")
    assert result.returncode == 2  # refused before anything ran
    assert result.stderr.startswith(
        "Error: runbook-results/rb.jsonl:3: the last line is cut or half-written (no newline at its end) — "
        "this run's record could not be chained to it, so nothing was executed."
    )
    assert "▶" not in result.stdout and verify_ledger(three_runs).bad_line == 3


def test_verify_directory_and_missing_paths(three_runs, cli, tmp_path):
    result = cli("verify")  # default: runbook-results/
    assert result.returncode == 0 and "chain intact" in result.stdout
    assert cli("verify", tmp_path / "nope").returncode == 2
    (tmp_path / "empty").mkdir()
    assert cli("verify", tmp_path / "empty").returncode == 2


def test_schema_command_prints_the_shipped_schema(cli):
    result = cli("schema")
    schema = json.loads(result.stdout)
    assert schema["title"] == "runbook-checks ledger record" and "hash" in schema["required"]


def test_anchor_catches_a_wholesale_rewrite_and_a_dropped_tail(three_runs, cli):
    records = [json.loads(line) for line in lines(three_runs)]
    head = records[-1]["hash"]
    assert cli("verify", three_runs, "--anchor", head).returncode == 0
    # rewrite every record with fresh hashes: the chain verifies, the anchor does not
    prev = None
    for r in records:
        r["actor"] = "mallory"
        r["prev"] = prev
        r["hash"] = prev = record_hash(r)
    three_runs.write_text("".join(json.dumps(r) + "\n" for r in records))
    result = cli("verify", three_runs, "--anchor", head)
    assert result.returncode == 1 and "chain intact" in result.stdout and f"anchor {head}: not in the verified chain" in result.stdout


def test_verify_refuses_a_file_that_is_not_a_ledger(cli, tmp_path):
    (tmp_path / "notes.md").write_text("# not a ledger\n")
    result = cli("verify", tmp_path / "notes.md")
    assert result.returncode == 2 and "not a ledger" in result.stderr


def test_lines_are_the_hash_then_the_canonical_json_byte_for_byte(three_runs):
    for line in lines(three_runs):
        record = json.loads(line)
        assert line == f'{{"hash":"{record["hash"]}",' + canonical(record).decode()[1:] + "\n"


def site_check(path: Path) -> tuple[int | None, str | None, list[bool]]:
    """The site build's verification (hashes over the bytes as written, no schema)."""
    records = LazyRecords(path)
    result = verify_ledger(path, validate_schema=False, records=records)
    return result.bad_line, result.problem, [sealed for _, _, sealed in records.spans]


def test_the_byte_level_check_catches_what_the_full_check_catches(three_runs):
    content = lines(three_runs)
    assert site_check(three_runs) == (None, None, [True, True, True])  # every line checked on its bytes
    edited = content[1].replace('"actor":"', '"actor":"x', 1)
    for case, tampered, line, problem in [
        ("edited", content[0] + edited + content[2], 2, "hash mismatch"),
        ("removed", content[0] + content[2], 2, "chain broken"),
        ("reordered", content[1] + content[0] + content[2], 1, "chain broken"),
        ("cut", content[0] + content[1] + content[2][:-30], 3, "the last line is cut"),
        ("relinked", content[0] + content[1].replace('"prev":"', '"prev":"0', 1), 2, "chain broken"),
    ]:
        three_runs.write_text(tampered)
        bad_line, found, _ = site_check(three_runs)
        assert bad_line == line and found.startswith(problem), case
        assert verify_ledger(three_runs).bad_line == line, case


def test_a_reformatted_but_unchanged_ledger_still_verifies(three_runs):
    pretty = [json.dumps(json.loads(line), indent=None, sort_keys=False) + "\n" for line in lines(three_runs)]
    three_runs.write_text("".join(pretty))
    assert site_check(three_runs) == (None, None, [False, False, False])  # parsed and re-encoded instead
    assert verify_ledger(three_runs).ok


@pytest.mark.parametrize("reformat", [False, True])
def test_records_of_one_environment_are_found_newest_first(three_runs, reformat):
    content = [json.loads(line) for line in lines(three_runs)]
    if reformat:
        three_runs.write_text("".join(json.dumps(r) + "\n" for r in content))
    records = LazyRecords(three_runs)
    assert verify_ledger(three_runs, validate_schema=False, records=records).ok
    mine = records.where("environment", "test")
    assert [r.run_id for r in reversed(mine)] == [r["run_id"] for r in reversed(content)]
    assert mine[-1].run_id == content[-1]["run_id"] and [r.run_id for r in mine[-2:]] == [r["run_id"] for r in content[-2:]]
    assert len(mine) == 3 and bool(mine) and mine[0].run_id == content[0]["run_id"] and mine.index(mine[1]) == 1
    with pytest.raises(IndexError):
        mine[3]
    assert not records.where("environment", "production") and len(records.where("environment", "production")) == 0


def test_a_nested_prev_key_does_not_stand_in_for_the_records_own(cli, write, tmp_path):
    """A fingerprinted file named ``prev`` puts a ``"prev":"<hash>"`` inside the record,
    before the record's own ``prev``: the chain still follows the record's own."""
    (tmp_path / "prev").write_text("a file called prev\n")
    path = write(front(fence("a", "check", "true"), extra="  fingerprint: [prev]"))
    for _ in range(3):
        assert cli("run", path).returncode == 0
    ledger = tmp_path / "runbook-results" / "rb.jsonl"
    content = lines(ledger)
    assert all('"fingerprints":{"prev":"' in line for line in content)
    assert site_check(ledger) == (None, None, [True, True, True])
    ledger.write_text(content[0] + content[2])
    assert site_check(ledger)[:2] == (
        2,
        "chain broken: 'prev' is not the hash of the previous record (a record was removed, reordered or edited)",
    )


def test_header_reads_environment_attempt_and_mode_off_the_bytes_as_parsing_would(tmp_path):
    """LazyRecords.header (the site groups attempts without parsing records) agrees with
    the parsed record, whatever the record holds."""
    from runbook_checks.ledger import LazyRecords, sealed_line, verify_ledger

    base = {
        "schema_version": 2,
        "run_id": "r1",
        "environment": "staging",
        "mode": "execute",
        "attempt_id": "a1",
        "target": None,
        "ci": None,
        "fingerprints": {},
        "options": {},
        "blocks": [],
    }
    variants = [
        base,
        {**base, "schema_version": 1, "attempt_id": None, "ci": {"run_id": "9001"}},  # version 1: the run is its own attempt
        {**{k: v for k, v in base.items() if k not in ("attempt_id", "target")}, "schema_version": 1},
        {**base, "fingerprints": {"mode": "x" * 64, "environment": "y" * 64, "attempt_id": "z" * 64}},  # keys that are paths
        {**base, "environment": 'quo"te', "attempt_id": "back\\slash"},  # values with escapes (a forger's record)
        {**base, "options": {"mode": "check"}, "ci": {"run_id": "1", "environment": "other"}},
    ]
    path, prev, lines = tmp_path / "x.jsonl", None, []
    for v in variants:
        record = {**v, "prev": prev}
        lines.append(sealed_line(record))
        prev = record["hash"]
    path.write_bytes(b"".join(lines))
    records = LazyRecords(path)
    assert verify_ledger(path, validate_schema=False, records=records).ok
    headers = records.headers()
    for i, v in enumerate(variants):
        attempt = v.get("attempt_id") or v["run_id"]
        assert (headers.environment(i), headers.key(i), headers.mode(i)) == (
            v["environment"],
            attempt_key(v["environment"], attempt),
            v["mode"],
        ), i
