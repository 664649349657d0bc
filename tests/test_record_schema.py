"""The msgspec types made from the record schema (``ledger.record_schema``) never accept a
record the shipped JSON Schema refuses, as ``jsonschema`` reads it: on every record the
fixtures write, on mutated records (wrong types, missing keys, extra keys, bad enum
values, bad patterns) and on malformed lines; the contract decides and words what they
refuse. A record decoded off its bytes (``model.decode_record``) is the one
``RunRecord.from_dict`` makes of its JSON."""

from __future__ import annotations

import copy
import dataclasses
import json
import random
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from runbook_checks.ledger import schema, verify_ledger
from runbook_checks.ledger.record_schema import Unsupported, _Types, accepts, line_problem
from runbook_checks.model import RunRecord, decode_record

from .conftest import clean_env, fence, front

#: values put where a record's values were
VALUES: list[Any] = [None, True, False, 0, -1, 7, 1.5, -0.5, 2**70, "", "x", "passed", "execute", "staging", "a" * 64, "A" * 64]
VALUES += ["2026-11-24T08:00:00Z", "2026-11-24T08:00:00.123Z", "2026-11-24 08:00:00", "a" * 64 + "\n", [], ["x"], {}, {"k": "v"}]
VALUES += [1.0, 2.0, 1e300, -0.0, "\ud800", "é", "tenant-acme", "Tenant Acme", [{}], {"from": None, "digest": None}]


@pytest.fixture(scope="module")
def fixture_records(tmp_path_factory) -> list[dict[str, Any]]:
    """Real records: checks and a migration that pass, and runs that fail, one matching a troubleshooting entry."""
    import subprocess
    import sys
    import textwrap

    tmp = tmp_path_factory.mktemp("records")
    (tmp / ".git").mkdir()
    body = fence("a", "check", "echo one", 'criterion="A works"') + fence("b", "step", "echo two") + fence("c", "check", "exit 3")
    body += "\n## Troubleshooting\n\n### Exit three {#exit-three .troubleshoot exit=3}\n\nThe tool exits 3.\n"
    (tmp / "runbook.md").write_text(textwrap.dedent(front(body)).lstrip("\n"))
    for args in ([], ["--execute", "--confirm", "GO-OK"], ["--attempt", "again"]):
        argv = [sys.executable, "-m", "runbook_checks", "run", "runbook.md", *args]
        subprocess.run(argv, cwd=tmp, capture_output=True, timeout=120, env=clean_env(), stdin=subprocess.DEVNULL)
    ledger = tmp / "runbook-results" / "rb.jsonl"
    assert verify_ledger(ledger).ok
    return [json.loads(line) for line in ledger.read_text().splitlines()]


def paths(value: Any, at: tuple = ()) -> list[tuple]:
    """Every place in ``value`` (keys and indexes), outermost first."""
    found = [at]
    if isinstance(value, dict):
        for k, v in value.items():
            found += paths(v, at + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found += paths(v, at + (i,))
    return found


def mutated(record: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """``record`` with one or two changes at random places."""
    out = copy.deepcopy(record)
    for _ in range(rng.choice((1, 1, 2))):
        where = rng.choice(paths(out)[1:])
        parent = out
        for step in where[:-1]:
            parent = parent[step]
        how = rng.random()
        if how < 0.2 and isinstance(parent, dict):
            del parent[where[-1]]  # a missing key
        elif how < 0.35 and isinstance(parent, dict):
            parent[rng.choice(["extra", "zz", "hash2", where[-1] + "_"])] = rng.choice(VALUES)  # an extra key
        else:
            parent[where[-1]] = copy.deepcopy(rng.choice(VALUES))
    return out


def agree(record: Any, contract: Draft202012Validator) -> bool:
    """Whether ``line_problem`` says what the contract says of ``record`` written as a line
    (and refuses a lone surrogate the contract allows); the types never accept a record the
    contract refuses."""
    raw = json.dumps(record).encode()
    valid = contract.is_valid(record)
    assert not accepts(raw) or valid, f"the types accepted a record the schema refuses: {raw[:400]!r}"
    return (line_problem(raw) is None) == (valid and utf8(record))


def utf8(record: Any) -> bool:
    """Whether every string of ``record`` is UTF-8 (no lone surrogate)."""
    try:
        json.dumps(record, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def test_fixture_records_pass_both_and_take_the_typed_path(fixture_records):
    contract = Draft202012Validator(schema())
    assert {b["status"] for r in fixture_records for b in r["blocks"]} >= {"passed", "failed"}
    for record in fixture_records:
        assert contract.is_valid(record)
        assert accepts(json.dumps(record).encode())  # the fast path holds: no fallback to jsonschema
        assert line_problem(json.dumps(record, separators=(",", ":")).encode() + b"\n") is None


def test_mutated_records_get_the_same_answer(fixture_records):
    contract = Draft202012Validator(schema())
    rng = random.Random(17)
    verdicts = []
    for n in range(2000):
        record = mutated(fixture_records[n % len(fixture_records)], rng)
        assert agree(record, contract), json.dumps(record)[:400]
        verdicts.append(contract.is_valid(record))
    assert 100 < sum(verdicts) < len(verdicts) - 100  # both valid and invalid records were tried


#: strings put in place of every string of a record: each pattern's near misses, and what they accept
STRINGS = ["x", "", "g" * 64, "a" * 63, "a" * 65, "A" * 64, "a" * 64 + "\n", "a" * 64 + "\n\n", "\u0661" * 64, "0" * 64]
STRINGS += [
    "2026-11-24T08:00:00Z",
    "2026-11-24T08:00:00.Z",
    "2026-11-24T08:00:00.5Z\n",
    "2026-11-24 08:00:00Z",
    "\u0662026-11-24T08:00:00Z",
]
STRINGS += ["tenant-acme", "-tenant", "Tenant", "a" * 201, "r1:a/b@c+d", " r1"]


def test_every_string_of_a_record_in_every_near_miss_gets_the_contracts_answer(fixture_records):
    """The patterns are checked after decoding (``ledger.patterns``), their matches
    remembered: at every place a record holds a string, each near miss of each pattern is
    refused as the contract refuses it, also once the same place held a string that matched."""
    contract = Draft202012Validator(schema())
    tried = refused = 0
    for record in fixture_records:
        for where in paths(record)[1:]:
            parent = record
            for step in where[:-1]:
                parent = parent[step]
            if not isinstance(parent[where[-1]], str):
                continue
            for value in STRINGS:
                changed = copy.deepcopy(record)
                target = changed
                for step in where[:-1]:
                    target = target[step]
                target[where[-1]] = value
                assert accepts(json.dumps(record).encode())  # the string that matched there is remembered
                assert agree(changed, contract), (where, value)
                tried, refused = tried + 1, refused + (not contract.is_valid(changed))
    assert refused > 200 and tried - refused > 200  # near misses refused, and strings that match taken


def same(a: Any, b: Any) -> bool:
    """``a == b`` with the same types all the way down (``1 == 1.0`` is not the same)."""
    if type(a) is not type(b):
        return False
    if dataclasses.is_dataclass(a):
        return all(same(getattr(a, f.name), getattr(b, f.name)) for f in dataclasses.fields(a))
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return a == b


def test_a_record_decoded_off_its_bytes_is_the_one_from_dict_makes(fixture_records):
    rng = random.Random(29)
    decoded = 0
    for n in range(2000):
        record = fixture_records[n] if n < len(fixture_records) else mutated(fixture_records[n % len(fixture_records)], rng)
        made = decode_record(json.dumps(record).encode())
        try:
            expected: RunRecord | None = RunRecord.from_dict(record)
        except (TypeError, KeyError, ValueError, AttributeError):  # what LazyRecords reports as no run record
            expected = None
        assert n >= len(fixture_records) or made is not None  # a record as written takes the fast path
        if made is not None:
            assert same(made, expected), json.dumps(record)[:400]
            decoded += 1
    assert 300 < decoded < 2000  # records of both kinds were tried


@pytest.mark.parametrize("value", [[], "x", 3, None, {"hash": "0" * 64, "prev": None}])
def test_not_even_an_object(value):
    assert agree(value, Draft202012Validator(schema()))


@pytest.mark.parametrize(
    "where, value, typed",
    [
        ("exit_code", 2**70, True),
        ("duration_s", 1e300, True),
        ("exit_code", 1.0, False),
        ("schema_version", 2.0, False),
    ],
)
def test_a_valid_record_in_a_form_the_types_are_stricter_about_is_valid(fixture_records, where, value, typed):
    record = {**fixture_records[0], where: value}
    raw = json.dumps(record).encode()
    assert Draft202012Validator(schema()).is_valid(record)
    assert accepts(raw) == typed  # refused by the types: the contract decides
    assert line_problem(raw) is None


def test_schema_version_2_needs_attempt_id_and_target(fixture_records):
    for key in ("attempt_id", "target"):
        record = {k: v for k, v in fixture_records[0].items() if k != key}
        assert "is a required property" in (line_problem(json.dumps(record).encode()) or "")
        old = {**record, "schema_version": 1}
        old.pop("attempt_id", None), old.pop("target", None)
        assert accepts(json.dumps(old).encode())  # a version 1 record lacks both


def edited(record: dict[str, Any], old: bytes, new: bytes) -> bytes:
    """``record`` as compact JSON with its first ``old`` replaced by ``new``."""
    raw = json.dumps(record, separators=(",", ":")).encode()
    assert old in raw
    return raw.replace(old, new, 1)


def json_reads(raw: bytes) -> bool:
    try:
        json.loads(raw)
    except (ValueError, RecursionError):
        return False
    return True


@pytest.mark.parametrize(
    "old, new",
    [
        (b'"git":{', b'"git":{"zz":"\xff",'),  # a value msgspec would skip: bad UTF-8
        (b'"git":{', b'"git":{"\xff":1,'),
        (b'"git":{', b'"git":{"zz":"\xc0\x80",'),
        (b'"git":{', b'"git":{"zz":' + b"7" * 5000 + b","),  # more digits than json.loads turns into an int
        (b'"options":{', b'"options":{"zz":"\xed\xa0\x80",'),  # a surrogate in UTF-8: json reads it, msgspec not
        (b'"actor":"', b'"zz":"\xff","actor":"'),  # an unknown top-level key: no run record for either reading
        (b'"actor":"', b'"zz":' + b"7" * 5000 + b',"actor":"'),
    ],
    ids=["bad-utf8-value", "bad-utf8-key", "overlong-utf8", "5000-digits", "utf8-surrogate", "top-level-bad-utf8", "top-level-5000-digits"],
)
def test_a_value_msgspec_would_not_read_is_not_taken_on_its_word(fixture_records, old, new):
    raw = edited({**fixture_records[0], "git": {"commit": "0" * 40, "dirty": False}}, old, new)
    if accepts(raw):
        assert json_reads(raw) and Draft202012Validator(schema()).is_valid(json.loads(raw))
    made = decode_record(raw)
    assert made is None or (json_reads(raw) and same(made, RunRecord.from_dict(json.loads(raw))))
    assert line_problem(raw) is not None or Draft202012Validator(schema()).is_valid(json.loads(raw))


def test_nesting_near_pythons_limit_is_left_to_json(fixture_records):
    for n in range(900, 1010, 3):
        raw = edited(fixture_records[0], b'"options":{', b'"options":{"zz":' + b"[" * n + b"]" * n + b",")
        assert not accepts(raw) or json_reads(raw), n
        assert decode_record(raw) is None or json_reads(raw), n
        unknown = edited(fixture_records[0], b'"actor":', b'"zz":' + b"[" * n + b"]" * n + b',"actor":')  # a key msgspec skips
        assert decode_record(unknown) is None or json_reads(unknown), n
    shallow = edited(fixture_records[0], b'"options":{', b'"options":{"zz":' + b"[" * 90 + b"]" * 90 + b",")
    assert accepts(shallow)  # well within reach: the types alone decide
    assert decode_record(shallow) is None  # more brackets than OPEN_DEPTH: json.loads reads it


def test_an_integer_duration_is_a_float_in_both_readings(fixture_records):
    for duration in (b"1", b"0", b"-0", b"1180591620717411303425"):
        raw = edited(fixture_records[0], b'"duration_s":', b'"duration_s":' + duration + b',"zz_":0,"duration_s":')
        raw = edited(json.loads(raw), b'"zz_":0,', b"")  # the last duplicate wins: the integer, written as such
        record = json.loads(raw)
        assert same(decode_record(raw), RunRecord.from_dict(record)) and type(RunRecord.from_dict(record).duration_s) is float


#: lines JSON parsers disagree about: none may be accepted unless ``json.loads`` reads it
MALFORMED = [b'"x\ty"', b'"\xff"', b'"\xed\xa0\x80"', b'"\\ud800"', b"01", b"1.", b"+1", b"NaN", b"Infinity", b"1e999", b"'x'"]
MALFORMED += [b'"\\u00"', b'"\\x"', b'"\x00"', b'"\xc0\x80"', b'"\xf4\x90\x80\x80"', b".5", b"tru", b"[1,]", b'"\x7f"']


@pytest.mark.parametrize("value", MALFORMED)
def test_a_malformed_value_is_accepted_only_when_json_reads_it(fixture_records, value: bytes):
    for key in (b"runbook_path", b"actor"):  # a string field, and any other
        raw = json.dumps(fixture_records[0], separators=(",", ":")).encode()
        at = raw.index(b'"' + key + b'":') + len(key) + 3
        end = raw.index(b'","', at) + 1
        line = raw[:at] + value + raw[end:]
        if accepts(line):
            assert Draft202012Validator(schema()).is_valid(json.loads(line)), line[:200]


def test_byte_edits_of_a_line_are_never_accepted_unless_valid(fixture_records):
    contract = Draft202012Validator(schema())
    rng = random.Random(23)
    raws = [json.dumps(r, separators=(",", ":"), ensure_ascii=False).encode() for r in fixture_records]
    for n in range(1500):
        raw = bytearray(raws[n % len(raws)])
        for _ in range(rng.choice((1, 2, 3))):
            at = rng.randrange(len(raw))
            raw[at : at + rng.choice((0, 1, 2))] = bytes([rng.choice(b'{}[]",:01 e.-\\tnux\x00\xc3\xff')])
        if accepts(bytes(raw)):
            assert contract.is_valid(json.loads(bytes(raw))), bytes(raw)[:300]


@pytest.mark.parametrize(
    "node",
    [
        {"type": "integer", "exclusiveMinimum": 0},
        {"oneOf": [{"type": "number"}, {"type": "integer"}]},
        {"oneOf": [{"minimum": 1}, {"type": "null"}]},
        {"enum": ["a", 1]},
        {"type": "object", "properties": {"a": {}}, "additionalProperties": {"type": "string"}},
        {"type": "object", "required": ["b"], "properties": {"a": {}}},
        {"$ref": "#/$defs/missing"},
        {"type": "object", "properties": {"a": {}}, "allOf": [{"if": {"required": ["a"]}, "then": {}}]},
        {"type": "string", "format": "date-time"},
        {"not": {"type": "null"}},
        {"type": "object", "properties": {"from": {"type": "string"}, "field_0": {"type": "integer"}}},  # one attribute for two keys
        {
            "type": "object",
            "properties": {"p": {}, "q": {}},
            "allOf": [{"if": {"properties": {"p": {"const": {"a": 1}}}}, "then": {"required": ["q"]}}],
        },
        {"$ref": "#/$defs/node", "$defs": {"node": {"type": "array", "items": {"$ref": "#/$defs/node"}}}},  # recursive
    ],
)
def test_a_schema_the_types_cannot_say_is_left_to_the_contract(node):
    with pytest.raises(Unsupported):
        _Types(node)


def test_made_types_follow_a_small_schema():
    import msgspec

    small = {
        "type": "object",
        "required": ["from", "n"],
        "additionalProperties": False,
        "properties": {
            "from": {"type": ["string", "null"], "minLength": 2},
            "n": {"type": "integer", "minimum": 1},
            "m": {"$ref": "#/$defs/m"},
        },
        "$defs": {"m": {"type": "array", "items": {"enum": ["x", "y"]}, "minItems": 1}},
    }
    decode = msgspec.json.Decoder(_Types(small).record).decode
    contract = Draft202012Validator(small)
    for text in ['{"from":"ab","n":1}', '{"from":null,"n":3,"m":["y"]}', '{"from":"a","n":1}', '{"from":"ab","n":0}', '{"n":1}']:
        for extra in ("", ',"m":[]', ',"m":["z"]', ',"o":1'):
            line = text[:-1] + extra + "}"
            try:
                decode(line)
                typed = True
            except msgspec.ValidationError:
                typed = False
            assert typed == contract.is_valid(json.loads(line)), line


def test_a_schema_problem_is_reported_in_jsonschemas_words(fixture_records, tmp_path: Path):
    from runbook_checks.ledger import sealed_line

    record = copy.deepcopy(fixture_records[0])
    record["blocks"][0]["status"] = "mostly"
    del record["hash"]
    (tmp_path / "rb.jsonl").write_bytes(sealed_line(record))
    v = verify_ledger(tmp_path / "rb.jsonl")
    assert v.bad_line == 1 and v.problem == "does not match the record schema at blocks/0/status: 'mostly' is not one of " + repr(
        ["passed", "failed", "timed-out", "skipped", "not-run", "interrupted"]
    )


@pytest.mark.parametrize("at", [("actor",), ("options", "runner"), ("blocks", 0, "output")])
def test_a_lone_surrogate_the_contract_allows_is_still_a_line_problem(fixture_records, at):
    record = copy.deepcopy(fixture_records[0])
    holder = record
    for key in at[:-1]:
        holder = holder[key]
    holder[at[-1]] = "\udfff"
    raw = json.dumps(record).encode()  # ASCII escapes: the bytes are UTF-8, the string is not
    assert Draft202012Validator(schema()).is_valid(record) and not accepts(raw)
    assert line_problem(raw) == "not a run record (a string holds a lone surrogate escape, which no run writes and no hash covers)"
