"""The verified-prefix cache of ``verify_ledger``: the schema of records checked before is
left out only when the chain proves they are those records; everything else is checked."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from runbook_checks import cachedir
from runbook_checks.ledger import LazyRecords, sealed_line, verify_ledger
from runbook_checks.model.headers import Headers, attempt_key

from .test_record_schema import fixture_records  # noqa: F401  (a fixture: real records)


def chain(records: list[dict[str, Any]]) -> bytes:
    """``records`` re-sealed and re-chained as runbook-checks writes them."""
    out, prev = b"", None
    for record in records:
        record = copy.deepcopy(record)
        record.pop("hash", None)
        record["prev"] = prev
        out += sealed_line(record)
        prev = record["hash"]
    return out


def off_schema(record: dict[str, Any]) -> dict[str, Any]:
    record = copy.deepcopy(record)
    record["blocks"][0]["status"] = "mostly"
    return record


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(cachedir.ENV, str(tmp_path / "cache"))
    return tmp_path / "cache"


def entries(cache: Path, kind: str = "verified-prefix") -> list[Any]:
    return [json.loads(p.read_text()) for p in (cache / kind).glob("*.json")]


def test_a_verified_ledger_is_remembered_and_verifies_the_same(fixture_records, cache: Path, tmp_path: Path) -> None:
    ledger = tmp_path / "rb.jsonl"
    ledger.write_bytes(chain(fixture_records * 3))
    first = verify_ledger(ledger)
    assert first.ok and entries(cache) == [[first.records, first.head]]
    assert not (cache / "verified-headers").exists()  # no streamed reader: no headers
    again = verify_ledger(ledger)
    assert (again.ok, again.records, again.head, again.hashes) == (True, first.records, first.head, first.hashes)


def test_records_appended_after_the_remembered_ones_get_their_schema_checked(fixture_records, cache: Path, tmp_path: Path) -> None:
    ledger = tmp_path / "rb.jsonl"
    ledger.write_bytes(chain(fixture_records))
    assert verify_ledger(ledger).ok
    ledger.write_bytes(chain([*fixture_records, off_schema(fixture_records[0])]))
    v = verify_ledger(ledger)
    assert v.bad_line == len(fixture_records) + 1 and "record schema at blocks/0/status" in v.problem


def test_a_rewritten_prefix_is_checked_again_in_full(fixture_records, cache: Path, tmp_path: Path) -> None:
    """A chain rebuilt with a record the schema refuses, at a line before the remembered one:
    the remembered record is not there any more, so every schema is checked."""
    ledger = tmp_path / "rb.jsonl"
    ledger.write_bytes(chain(fixture_records * 2))
    assert verify_ledger(ledger).ok
    rebuilt = [off_schema(fixture_records[0]), *fixture_records[1:], *fixture_records]
    ledger.write_bytes(chain(rebuilt))
    v = verify_ledger(ledger)
    assert v.bad_line == 1 and "record schema" in v.problem


@pytest.mark.parametrize("cut", [1, 2])
def test_a_shorter_or_edited_file_is_checked_in_full(fixture_records, cache: Path, tmp_path: Path, cut: int) -> None:
    ledger = tmp_path / "rb.jsonl"
    ledger.write_bytes(chain(fixture_records))
    assert verify_ledger(ledger).ok
    shorter = chain([off_schema(fixture_records[0]), *fixture_records[1:-cut]])
    ledger.write_bytes(shorter)
    assert verify_ledger(ledger).bad_line == 1
    ledger.write_bytes(chain(fixture_records))
    assert verify_ledger(ledger).ok
    lines = chain(fixture_records).split(b"\n")
    lines[0] = lines[0].replace(b'"status":"passed"', b'"status":"failed"', 1)  # edited, hash no longer holds
    ledger.write_bytes(b"\n".join(lines))
    assert verify_ledger(ledger).bad_line == 1


def test_lazy_records_filled_on_a_second_pass_hold_each_line_once(fixture_records, cache: Path, tmp_path: Path) -> None:
    ledger = tmp_path / "rb.jsonl"
    ledger.write_bytes(chain(fixture_records * 2))
    assert verify_ledger(ledger).ok
    ledger.write_bytes(chain(fixture_records[::-1] * 2))  # same length, other chain: verified twice
    records = LazyRecords(ledger, streamed=True)
    v = verify_ledger(ledger, records=records, keep_hashes=False)
    assert v.ok and len(records) == v.records == 2 * len(fixture_records)
    assert [r.run_id for r in records] == [r["run_id"] for r in fixture_records[::-1] * 2]


def headers(ledger: Path) -> list[tuple[str, bytes, str]]:
    """Each line's ``(environment, attempt key, mode)`` as a streamed ``LazyRecords`` gives them after ``verify_ledger``."""
    records = LazyRecords(ledger, streamed=True)
    assert verify_ledger(ledger, records=records, keep_hashes=False).ok
    h = records.headers()
    assert len(h) == len(records)
    return [(h.environment(i), h.key(i), h.mode(i)) for i in range(len(h))]


def regrouped(records: list[dict[str, Any]], tag: str) -> list[dict[str, Any]]:
    """``records`` with attempt ids and environments of their own (``tag``), two runs per attempt."""
    out = copy.deepcopy(records)
    for i, record in enumerate(out):
        record["attempt_id"] = f"{tag}-{i // 2}"
        record["environment"] = f"env-{tag}-{i % 3}"
    return out


def test_the_headers_of_a_streamed_pass_are_remembered_and_given_back_the_same(
    fixture_records, cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ledger = tmp_path / "rb.jsonl"
    ledger.write_bytes(chain(regrouped(fixture_records * 3, "a")))
    monkeypatch.setenv(cachedir.ENV, "off")
    uncached = headers(ledger)
    monkeypatch.setenv(cachedir.ENV, str(cache))
    assert headers(ledger) == uncached
    [(prefix, kept)] = remembered_headers(cache)
    assert prefix == entries(cache)[0] and len(kept) == len(uncached)
    assert headers(ledger) == uncached  # from the cache this time
    # appended lines: the remembered headers for the prefix, read off the bytes after it
    ledger.write_bytes(chain(regrouped(fixture_records * 3, "a") + regrouped(fixture_records, "b")))
    monkeypatch.setenv(cachedir.ENV, "off")
    uncached = headers(ledger)
    monkeypatch.setenv(cachedir.ENV, str(cache))
    assert headers(ledger) == uncached
    # a chain rebuilt with other attempts, same length: nothing remembered is used
    rebuilt = regrouped(fixture_records * 3, "c") + regrouped(fixture_records, "d")
    ledger.write_bytes(chain(rebuilt))
    monkeypatch.setenv(cachedir.ENV, "off")
    uncached = headers(ledger)
    monkeypatch.setenv(cachedir.ENV, str(cache))
    assert headers(ledger) == uncached == [(r["environment"], attempt_key(r["environment"], r["attempt_id"]), r["mode"]) for r in rebuilt]


def test_headers_of_another_prefix_are_not_used(fixture_records, cache: Path, tmp_path: Path) -> None:
    """``verify`` without records remembers a longer prefix but no headers: the headers kept
    for the shorter one are not used, every line's is read again and remembered anew."""
    ledger = tmp_path / "rb.jsonl"
    ledger.write_bytes(chain(regrouped(fixture_records, "a")))
    first = headers(ledger)
    ledger.write_bytes(chain(regrouped(fixture_records, "a") + regrouped(fixture_records, "b")))
    assert verify_ledger(ledger).ok
    [prefix], [(kept_for, _)] = entries(cache), remembered_headers(cache)
    assert prefix[0] == 2 * len(fixture_records) and kept_for[0] == len(first)
    again = headers(ledger)
    assert again[: len(first)] == first and len(again) == 2 * len(fixture_records)
    [(kept_for, kept)] = remembered_headers(cache)
    assert kept_for == entries(cache)[0] and len(kept) == len(again)


def test_remembered_headers_stand_for_the_lines_they_cover(fixture_records, cache: Path, tmp_path: Path) -> None:
    """What the cache trusts (docs/reference/ledger.md): the headers it holds for the lines the
    chain proves unchanged are used as they are; lines after them are read off their bytes."""
    ledger = tmp_path / "rb.jsonl"
    ledger.write_bytes(chain(regrouped(fixture_records, "a")))
    expected = headers(ledger)
    [entry] = (cache / "verified-headers").glob("*.bin")
    prefix_line = entry.read_bytes().split(b"\n")[0]
    remembered = Headers()
    remembered.append("remembered", "r-1", "check")
    entry.write_bytes(b"".join([prefix_line, b"\n", *remembered.to_bytes()]))
    assert headers(ledger) == [("remembered", attempt_key("remembered", "r-1"), "check"), *expected[1:]]


def remembered_headers(cache: Path) -> list[tuple[list[Any], Headers]]:
    """The ``verified-headers`` entries: the prefix each was kept for, and its headers."""
    found = []
    for path in (cache / "verified-headers").glob("*.bin"):
        data = bytearray(path.read_bytes())
        prefix = json.loads(data[: data.index(b"\n")])
        kept = Headers.from_bytes(data, data.index(b"\n") + 1, prefix[0])
        assert kept is not None
        found.append((prefix, kept))
    return found


ONE = bytes(16) + bytes(4)  # one line: a key and pair 0


@pytest.mark.parametrize(
    "kept",
    [
        b"nope\n" + ONE,
        b'[["e","m"]]' + ONE,  # no line end after the pairs
        b'[["e","m"]]\n' + ONE[:-1],  # not whole lines
        b'[["e","m"]]\n' + bytes(16) + (1).to_bytes(4, "little"),  # a pair that is not there
        b'[["e",2]]\n' + ONE,
        b'{"e":"m"}\n' + ONE,
        b'[["e","m"],["e","m"]]\n' + ONE,  # a pair twice
        b'[["e","m"]]\n' + ONE * 99999,  # more lines than the prefix
        b"[" * 100000 + b"\n" + ONE,  # nested too deeply to read
        b"",
    ],
)
def test_hostile_remembered_headers_are_not_used(fixture_records, cache: Path, tmp_path: Path, kept: bytes) -> None:
    ledger = tmp_path / "rb.jsonl"
    ledger.write_bytes(chain(regrouped(fixture_records, "a")))
    expected = headers(ledger)
    [entry] = (cache / "verified-headers").glob("*.bin")
    prefix_line = entry.read_bytes().split(b"\n")[0]
    entry.write_bytes(prefix_line + b"\n" + kept)
    assert headers(ledger) == expected
    entry.write_bytes(kept)  # no prefix line
    assert headers(ledger) == expected


@pytest.mark.parametrize("hostile", ["[1]", '["x", "y"]', "{}", "[3, null]", "nope"])
def test_a_broken_cache_entry_means_a_full_check(fixture_records, cache: Path, tmp_path: Path, hostile: str) -> None:
    ledger = tmp_path / "rb.jsonl"
    ledger.write_bytes(chain([off_schema(fixture_records[0])]))
    assert verify_ledger(ledger).bad_line == 1
    ledger.write_bytes(chain(fixture_records))
    assert verify_ledger(ledger).ok
    [entry] = (cache / "verified-prefix").glob("*.json")
    entry.write_text(hostile)
    ledger.write_bytes(chain([off_schema(fixture_records[0])]))
    assert verify_ledger(ledger).bad_line == 1


def test_without_the_schema_nothing_is_remembered(fixture_records, cache: Path, tmp_path: Path) -> None:
    ledger = tmp_path / "rb.jsonl"
    ledger.write_bytes(chain(fixture_records))
    assert verify_ledger(ledger, validate_schema=False).ok
    assert not (cache / "verified-prefix").exists()


@pytest.mark.parametrize("how", ["resealed", "edited", "reformatted-edited"])
def test_a_line_changed_after_verification_is_refused_when_read(fixture_records, tmp_path: Path, how: str) -> None:
    """Streamed records are read again from the file: a line must still be the record verified,
    whether it is in the written form (its hash kept) or not (its bytes' SHA-256 kept)."""
    from runbook_checks.errors import LedgerError

    ledger = tmp_path / "rb.jsonl"
    lines = chain(fixture_records).split(b"\n")[:-1]
    if how == "reformatted-edited":  # the first line parsed and written another way: verified by parsing
        lines[0] = json.dumps(json.loads(lines[0]), indent=None, separators=(", ", ": ")).encode()
    ledger.write_bytes(b"\n".join(lines) + b"\n")
    records = LazyRecords(ledger, streamed=True)
    assert verify_ledger(ledger, records=records, validate_schema=False).ok
    assert records[1].run_id == fixture_records[1]["run_id"]  # unchanged: read as verified
    other = copy.deepcopy(fixture_records[0])
    other["run_id"] = other["run_id"][:-1] + ("x" if other["run_id"][-1] != "x" else "y")  # same length
    if how == "resealed":
        changed = chain([other]).split(b"\n")[0]
    else:
        changed = lines[0].replace(fixture_records[0]["run_id"].encode(), other["run_id"].encode(), 1)
    assert len(changed) == len(lines[0]) and changed != lines[0]
    ledger.write_bytes(b"\n".join([changed, *lines[1:]]) + b"\n")
    with pytest.raises(LedgerError, match=r"rb.jsonl:1: changed since it was verified"):
        records[0]
