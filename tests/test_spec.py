"""The spec rows: each row reads its documented example, refuses its bad value at ``path:line``, and is documented."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from runbook_checks import model
from runbook_checks.parse import parse_runbook
from runbook_checks.parse.spec import (
    BLOCK_ATTRIBUTES,
    BLOCK_ROWS,
    ENTRY_ATTRIBUTES,
    ENTRY_ROWS,
    KEY_ROWS,
    REFERENCE,
    RUNBOOK_KEYS,
    reference_markdown,
    reference_tables,
)

# blocks the examples refer to: the phase ``validate``, the step ``migrate-deploy``, the check ``diag-reachable``
HEAD = """---
runbook:
  confirm: GO
  phases:
    - {id: validate, name: Validation, estimate: 1 min}
---

```bash {#migrate-deploy .step}
true
```

```bash {#diag-reachable .check}
true
```

"""
LINE = HEAD.count("\n") + 1  # the line of what the test adds after HEAD


def parsed(tmp_path: Path, text: str) -> tuple[model.Runbook, list[str]]:
    path = tmp_path / "rb.md"
    path.write_text(text, encoding="utf-8")
    runbook, problems = parse_runbook(path)
    assert runbook is not None
    return runbook, [str(p).replace(str(path), "rb.md") for p in problems]


@pytest.mark.parametrize("row", BLOCK_ROWS, ids=lambda r: r.name)
def test_block_row_reads_its_example(tmp_path, row):
    runbook, problems = parsed(tmp_path, HEAD + f"```bash {{#b .check {row.name}={row.example}}}\ntrue\n```\n")
    assert problems == []
    value = getattr(runbook.block("b"), row.attr)
    assert value not in (None, row.default), value


@pytest.mark.parametrize("row", BLOCK_ROWS, ids=lambda r: r.name)
def test_block_row_refuses_its_bad_value(tmp_path, row):
    _, problems = parsed(tmp_path, HEAD + f"```bash {{#b .check {row.name}={row.bad}}}\ntrue\n```\n")
    assert any(p.startswith(f"rb.md:{LINE}: block 'b': {row.name}=") for p in problems), problems


@pytest.mark.parametrize("row", ENTRY_ROWS, ids=lambda r: r.name)
def test_entry_row_reads_its_example(tmp_path, row):
    runbook, problems = parsed(tmp_path, HEAD + f"### When it fails {{#x .troubleshoot {row.name}={row.example}}}\n\nAdvice.\n")
    assert problems == []
    assert getattr(runbook.entries[0], row.attr) not in (None, row.default)


@pytest.mark.parametrize("row", ENTRY_ROWS, ids=lambda r: r.name)
def test_entry_row_refuses_its_bad_value(tmp_path, row):
    _, problems = parsed(tmp_path, HEAD + f"### When it fails {{#x .troubleshoot {row.name}={row.bad}}}\n\nAdvice.\n")
    assert any(p.startswith(f"rb.md:{LINE}: entry 'x': {row.name}=") for p in problems), problems


def _front(key: str, value: str) -> str:
    return f"---\nrunbook:\n  {key}: {value}\n---\n\n```bash {{#b .check}}\ntrue\n```\n"


@pytest.mark.parametrize("row", KEY_ROWS, ids=lambda r: r.name)
def test_key_row_reads_its_example(tmp_path, row):
    runbook, problems = parsed(tmp_path, _front(row.name, row.example))
    assert problems == []
    owner = runbook.blocks[0] if row.field.startswith("Block.") else runbook
    assert getattr(owner, row.attr) not in (None, row.default, ())
    assert runbook.key_lines[f"runbook.{row.name}"] == 3


@pytest.mark.parametrize("row", KEY_ROWS, ids=lambda r: r.name)
def test_key_row_refuses_its_bad_value(tmp_path, row):
    _, problems = parsed(tmp_path, _front(row.name, row.bad))
    assert any(p.startswith("rb.md:3: ") for p in problems), problems


@pytest.mark.parametrize("row", BLOCK_ROWS + ENTRY_ROWS + KEY_ROWS, ids=lambda r: r.field)
def test_every_row_fills_a_model_field(row):
    owner, attr = row.field.split(".")
    assert attr in {f.name for f in dataclasses.fields(getattr(model, owner))}


def test_the_help_dicts_are_the_rows():
    assert list(BLOCK_ATTRIBUTES) == [r.name for r in BLOCK_ROWS]
    assert list(ENTRY_ATTRIBUTES) == [r.name for r in ENTRY_ROWS]
    assert list(RUNBOOK_KEYS) == [r.name for r in KEY_ROWS]


def test_the_reference_tables_are_what_the_rows_generate():
    doc = REFERENCE.read_text(encoding="utf-8")
    assert reference_markdown(doc) == doc, (
        "the tables of docs/reference/runbook-format.md differ: run `python -m runbook_checks.parse --write`"
    )
    tables = reference_tables()
    for row in KEY_ROWS:
        assert f"| `runbook.{row.name}` |" in tables["runbook-keys"]
    for row in BLOCK_ROWS:
        assert f"| `{row.name}` |" in tables["block-attributes"]
    for row in ENTRY_ROWS:
        assert f"| `{row.name}` |" in tables["entry-attributes"]


def test_a_region_without_a_table_is_refused():
    with pytest.raises(ValueError, match="no generated table"):
        reference_markdown("<!-- generated: nope -->\n<!-- end generated -->")
