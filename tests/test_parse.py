"""Parsing: front matter, tagged blocks (also in lists, quotes, admonitions, tabs), attributes."""

from __future__ import annotations

from pathlib import Path

import pytest

from runbook_checks.errors import RunbookInvalid
from runbook_checks.lint import load_runbook
from runbook_checks.parse import parse_runbook
from runbook_checks.units import parse_duration

from .conftest import FIXTURES, fence, front


def test_demo_fixture_blocks_found_in_every_container():
    rb = load_runbook(FIXTURES / "demo.md")
    assert rb.id == "demo" and rb.environment == "staging" and rb.confirm == "DEMO-OK"
    assert rb.secrets == ("DEMO_DB_URL",)
    assert [(b.id, b.kind, b.line) for b in rb.blocks] == [
        ("verify-secret", "check", 17),  # top level
        ("deploy", "step", 23),  # inside a list item
        ("status", "check", 30),  # inside a block quote
        ("validate", "check", 36),  # inside an admonition
    ]
    assert rb.blocks[1].code == 'echo "applying to $DEMO_DB_URL"\necho applied > "$RUNBOOK_RESULTS_MARK"\n'
    assert [p.id for p in rb.phases] == ["setup", "migrate", "validate"]
    assert rb.phases[0].estimate_s == (60, 120)
    assert rb.title == "Demo migration"


def test_content_tabs_and_nested_admonitions(write):
    path = write(
        front("""
        === "Command line"

            ```bash {#in-tab .check}
            echo tab
            ```

        ??? tip "Nested"

            !!! warning

                ```bash {#nested .check}
                echo nested
                ```
        """)
    )
    rb = load_runbook(path)
    assert [(b.id, b.line, b.code) for b in rb.blocks] == [("in-tab", 11, "echo tab\n"), ("nested", 19, "echo nested\n")]


@pytest.mark.parametrize(
    "attrs, field, value",
    [
        ("phase=p1", "phase", "p1"),
        ('criterion="Schema is valid"', "criterion", "Schema is valid"),
        ("exit=3", "exit_codes", (3,)),
        ('exit="0,1"', "exit_codes", (0, 1)),
        ('expect="up to date!"', "expect", "up to date!"),
        ('expect-regex="^ok \\d+$"', "expect_regex", "^ok \\d+$"),
        ('forbid="Error"', "forbid", "Error"),
        ("timeout=120", "timeout_s", 120.0),
        ("timeout=90s", "timeout_s", 90.0),
        ("timeout=2min", "timeout_s", 120.0),
        ("retries=2", "retries", 2),
        ('retry-delay="0.5"', "retry_delay_s", 0.5),
    ],
)
def test_attribute_values(write, attrs, field, value):
    path = write(front(fence("b", "check", "true", attrs), extra="  phases:\n    - {id: p1, name: One, estimate: 1 min}"))
    block = load_runbook(path).blocks[0]
    assert getattr(block, field) == value


def test_defaults_and_untagged_blocks_are_prose(write):
    path = write(
        front(
            '```bash\necho prose\n```\n\n```python {linenums="1"}\nprint()\n```\n\n' + fence("b", "check", "true"), extra="  timeout: 45s"
        )
    )
    rb = load_runbook(path)
    assert [b.id for b in rb.blocks] == ["b"]
    b = rb.blocks[0]
    assert (b.exit_codes, b.timeout_s, b.retries, b.expect, b.phase) == ((0,), 45.0, 0, None, None)


def test_block_digest_changes_with_code_and_attributes(write, tmp_path: Path):
    a = load_runbook(write(front(fence("b", "check", "echo 1")), "a.md")).blocks[0]
    b = load_runbook(write(front(fence("b", "check", "echo 2")), "b.md")).blocks[0]
    c = load_runbook(write(front(fence("b", "check", "echo 1", 'expect="x"')), "c.md")).blocks[0]
    d = load_runbook(write(front(fence("b", "check", "echo 1")), "d.md")).blocks[0]
    assert len({a.sha256, b.sha256, c.sha256}) == 3
    assert a.sha256 == d.sha256


def test_defaults_without_front_matter(write):
    rb = load_runbook(write(fence("only", "check", "true"), "My-Runbook.md"))
    assert (rb.id, rb.environment, rb.confirm, rb.secrets) == ("my-runbook", "local", None, ())
    assert rb.workdir == rb.path.parent.resolve()


def test_workdir_is_relative_to_repository_root(tmp_path: Path, write):
    (tmp_path / ".git").mkdir()
    (tmp_path / "app").mkdir()
    rb = load_runbook(write(front(fence("b", "check", "true"), extra="  workdir: app"), "docs/ops/rb.md"))
    assert rb.root == tmp_path.resolve()
    assert rb.workdir == (tmp_path / "app").resolve()


def test_load_refuses_a_runbook_with_problems(write):
    path = write(front(fence("b", "chek", "true")))
    with pytest.raises(RunbookInvalid) as err:
        load_runbook(path)
    assert str(err.value) == f"{path}:8: unknown kind '.chek' (did you mean 'check'?): use .check (read-only) or .step (mutating)"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("1-2 min", (60, 120)),
        ("4–8 min", (240, 480)),
        ("30 s", (30, 30)),
        ("1 h", (3600, 3600)),
        ("90", (90, 90)),
        ("soon", None),
        ("5-2 min", None),
    ],
)
def test_parse_duration(text, expected):
    assert parse_duration(text) == expected


def test_missing_file_is_a_problem(tmp_path: Path):
    rb, problems = parse_runbook(tmp_path / "nope.md")
    assert rb is None and [p.message for p in problems] == ["no such file"]


def test_code_inside_fences_is_kept_exactly(write):
    code = 'cat <<EOF\n=== Summary\n    indented\n!!! not an admonition\nEOF\necho "a\u2028b\x0cc"\n'
    rb = load_runbook(write(front("```bash {#heredoc .check}\n" + code + "```\n")))
    assert rb.blocks[0].code == code


def test_default_id_from_an_awkward_file_name(write):
    rb = load_runbook(write(fence("b", "check", "true"), "My Runbook (v2).md"))
    assert rb.id == "my-runbook-v2"


def test_a_runbooks_code_lines_are_those_of_its_page_body():
    """The site takes a runbook page's code lines from the runbook's parse (Runbook.code_lines)
    instead of parsing the page again: for every runbook here, they are the lines
    parse.code_lines finds in the body MkDocs hands over, shifted by the front matter."""
    from runbook_checks.parse import body_start, code_lines, parse_runbook, read_lines

    root = Path(__file__).resolve().parent.parent
    paths = [p for p in [*root.glob("docs/**/*.md"), *root.glob("tests/**/*.md")] if "runbook:" in p.read_text(errors="replace")]
    assert len(paths) >= 5
    for path in paths:
        runbook, _ = parse_runbook(path)
        if runbook is None:
            continue
        lines = read_lines(path)
        start = body_start(lines)
        assert {i - start for i in runbook.code_lines if i >= start} == set(code_lines(lines[start:])), path


def test_block_digest_is_the_json_of_kind_language_code_and_attributes(write):
    """The digest old results are compared with (``Block.sha256``): SHA-256 of the JSON of the
    block's kind, language, code and attributes, keys sorted, as ``json.dumps`` writes it (a
    change to how it is written would make every recorded result stale)."""
    import hashlib
    import json

    path = write(front('```bash {#b .check expect="héllo ✓" timeout=30 needs-not}\necho "ünï"\n\n\n```\n'))
    runbook, problems = parse_runbook(path)  # an unknown attribute is a problem, and still part of the digest
    assert runbook is not None and [p.message for p in problems] == ["block 'b': unknown attribute 'needs-not' (did you mean 'needs'?)"]
    block = runbook.blocks[0]
    attrs = {"expect": "héllo ✓", "timeout": "30", "needs-not": None}
    text = json.dumps({"kind": "check", "lang": "bash", "code": 'echo "ünï"\n', "attrs": attrs}, sort_keys=True)
    assert block.sha256 == hashlib.sha256(text.encode("utf-8")).hexdigest()


def test_fence_scanner_reads_past_indentation_and_quote_markers_only():
    """``fence_opening`` and ``closes_fence`` read a line after its spaces, tabs and ``>``
    markers, and nothing else (CommonMark's fence, as the unwrapping and lint read it)."""
    import itertools
    import re

    from runbook_checks.parse.source import closes_fence, fence_opening

    prefixes = ["", " ", "\t", "> ", ">>\t ", "\u00a0", "- ", " >\u3000"]
    bodies = ["```", "````", "~~~", "``` bash", "```` ", "``", "~~~~~~", "`~`", "```x```", "text"]
    for prefix, body in itertools.product(prefixes, bodies):
        line = prefix + body
        bare = re.sub(r"^[ \t>]*", "", line)
        opened = re.match(r"^(`{3,}|~{3,})", bare)
        assert fence_opening(line) == (opened.group(1) if opened else None), line
        for markup in ("```", "````", "~~~"):
            closing = bare.rstrip()
            expected = closing.startswith(markup) and set(closing) == {markup[0]}
            assert closes_fence(line, markup) == expected, (line, markup)
