"""The compiled record validator (``ledger.lines.schema_problem``) agrees with the shipped
JSON Schema as ``jsonschema`` reads it: on every record the fixtures write, and on
mutated records (wrong types, missing keys, extra keys, bad enum values, bad patterns)."""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from runbook_checks.ledger import schema, verify_ledger
from runbook_checks.ledger.lines import compiled_validator, schema_problem

from .conftest import clean_env, fence, front

#: values put where a record's values were
VALUES: list[Any] = [None, True, False, 0, -1, 7, 1.5, -0.5, 2**70, "", "x", "passed", "execute", "staging", "a" * 64, "A" * 64]
VALUES += ["2026-11-24T08:00:00Z", "2026-11-24T08:00:00.123Z", "2026-11-24 08:00:00", "a" * 64 + "\n", [], ["x"], {}, {"k": "v"}]


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
    """Whether the validator says what the contract says; the compiled one never passes a
    record the contract refuses."""
    valid = contract.is_valid(record)
    try:
        compiled_validator()(record)
        compiled = True
    except Exception:  # any refusal counts
        compiled = False
    assert not compiled or valid, f"compiled validator passed a record the schema refuses: {record!r:.400}"
    return (schema_problem(record) is None) == valid


def test_fixture_records_pass_both_and_take_the_compiled_path(fixture_records):
    contract = Draft202012Validator(schema())
    assert {b["status"] for r in fixture_records for b in r["blocks"]} >= {"passed", "failed"}
    for record in fixture_records:
        assert contract.is_valid(record)
        compiled_validator()(record)  # the fast path holds: no fallback to jsonschema
        assert schema_problem(record) is None


def test_mutated_records_get_the_same_answer(fixture_records):
    contract = Draft202012Validator(schema())
    rng = random.Random(17)
    verdicts = []
    for n in range(1500):
        record = mutated(fixture_records[n % len(fixture_records)], rng)
        assert agree(record, contract), json.dumps(record)[:400]
        verdicts.append(contract.is_valid(record))
    assert 100 < sum(verdicts) < len(verdicts) - 100  # both valid and invalid records were tried


@pytest.mark.parametrize("value", [[], "x", 3, None, {"hash": "0" * 64, "prev": None}])
def test_not_even_an_object(value):
    assert agree(value, Draft202012Validator(schema()))


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
