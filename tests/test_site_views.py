"""The site's one reading of a runbook's attempts (``mkdocs.views``), its records read and
not kept (``ReadOnce``), pieces filled into slots, and the record's fast ``from_dict``: each
gives exactly what the direct path gives — the built pages hold, byte for byte, the HTML
composed straight from the ledger's records, as the plugin composed it before."""

from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path

import pytest

from runbook_checks.errors import LedgerError
from runbook_checks.evidence import Attempts
from runbook_checks.ledger import LazyRecords, sealed_line, verify_ledger
from runbook_checks.lint import load_runbook
from runbook_checks.mkdocs.cells import e
from runbook_checks.mkdocs.html import Slots
from runbook_checks.mkdocs.tables import attempt_details, history_rows, history_table
from runbook_checks.mkdocs.views import ReadOnce, views
from runbook_checks.model import BlockResult, Expectation, RunRecord
from runbook_checks.model.record import _BLOCK_FIELDS, _RECORD_FIELDS
from runbook_checks.report import build_report

from .fleet_ledgers import write_ledger
from .test_site import build, mkdocs_yml, page

RUNBOOK = """\
---
title: Views runbook
runbook:
  id: views
  environment: staging
  confirm: V-OK
  phases:
    - {id: prep, name: Preparation, estimate: 1-2 min}
---
# Views runbook

```bash {#first .check phase=prep criterion="First & foremost"}
echo first
```

```bash {#apply .step phase=prep criterion="Applied"}
echo apply
```

## History

<!-- runbook-checks: history -->
"""


def record(runbook, n: int, attempt: str, mode: str, environment: str = "staging", failed: bool = False) -> RunRecord:
    """Run ``n`` of ``runbook`` in ``attempt``: every block ran, with output needing escapes and not ASCII."""
    blocks = tuple(
        BlockResult(
            id=b.id,
            kind=b.kind,
            status="failed" if failed and b.id == "apply" else "passed",
            line=b.line,
            sha256=b.sha256,
            phase=b.phase,
            criterion=b.criterion,
            exit_code=1 if failed and b.id == "apply" else 0,
            started_at=f"2026-11-2{n % 10}T08:00:00.000Z",
            duration_s=1.25 + n,
            attempts=1,
            expectations=(Expectation("exit", "0", not failed, None if not failed else "1"),),
            output=f'<b>{b.id}</b> & "run {n}" — ✅\n',
            output_bytes=30,
        )
        for b in runbook.blocks
        if mode != "check" or b.kind == "check"
    )
    return RunRecord(
        run_id=f"r{n}",
        runbook_id=runbook.id,
        runbook_path="docs/rb.md",
        runbook_sha256=runbook.sha256,
        environment=environment,
        mode=mode,
        status="failed" if failed else "passed",
        exit_code=1 if failed else 0,
        started_at=f"2026-11-2{n % 10}T08:00:00.000Z",
        finished_at=f"2026-11-2{n % 10}T08:0{n % 10}:00.000Z",
        duration_s=2.5 + n,
        actor=f"op<{n}>",
        host="h",
        git={"commit": f"{n:02d}" * 20, "dirty": False},
        ci={"provider": "github-actions", "run_url": f"https://example.invalid/runs/{n}?a=1&b=2"} if n % 2 else None,
        blocks=blocks,
        attempt_id=attempt,
    )


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, list[RunRecord]]:
    """A site whose runbook's page shows a migration older than the two newest attempts the
    audit page lists (so it lists it besides them), with a resumed attempt, a failure, a
    rehearsal and another environment's run; built by ``mkdocs build``."""
    site = tmp_path_factory.mktemp("views")
    docs = site / "docs"
    docs.mkdir()
    (site / "mkdocs.yml").write_text(mkdocs_yml(results_dir="runbook-results", history_limit="3", audit_runs="2"))
    (docs / "index.md").write_text("# Home\n")
    (docs / "audit.md").write_text("# Audit\n\n<!-- runbook-checks: audit -->\n")
    (docs / "rb.md").write_text(RUNBOOK)
    runbook = load_runbook(docs / "rb.md")
    records = [
        record(runbook, 0, "mig-1", "execute", failed=True),
        record(runbook, 1, "mig-1", "execute"),  # the resume: one attempt of two runs
        record(runbook, 2, "reh-1", "rehearsal", environment="rehearsal"),
        record(runbook, 3, "chk-1", "check"),
        record(runbook, 4, "chk-2", "check", environment="production"),
        record(runbook, 5, "chk-3", "check"),
        record(runbook, 6, "chk-4", "check"),
    ]
    write_ledger(site / "runbook-results" / "views.jsonl", records)
    result = build(site)
    assert result.returncode == 0, result.stderr
    return site, records


def test_history_and_audit_pages_hold_the_html_composed_straight_from_the_records(built):
    site, written = built
    runbook = load_runbook(site / "docs" / "rb.md")
    lines = (site / "runbook-results" / "views.jsonl").read_bytes().splitlines()
    records = [RunRecord.from_dict(json.loads(line)) for line in lines]  # a plain list: no lazy reading
    assert records == written
    attempts = Attempts(records)
    report = build_report(runbook, records)
    assert report.attempt is not None and report.attempt.id == "mig-1"  # older than the two the audit lists
    assert history_table(history_rows(attempts, 3), "../audit/") in page(site, "rb")
    shown = attempts[-2:]  # the audit part as the plugin composed it before
    banner = attempts.find("staging", "mig-1")
    assert banner not in shown
    also = ", and attempt <code>mig-1</code>, which the runbook page shows"
    full = (
        f"<p>Latest 2 of {len(attempts)} attempts{also}. The whole ledger, to verify yourself: "
        f'<a href="../runbook-results/views.jsonl"><code>views.jsonl</code></a></p>'
    )
    shown = [banner, *shown]
    expected = (
        f'<div class="rbc-audit-runs">{full}'
        + history_table(history_rows(shown), "")
        + "".join(attempt_details(a) for a in reversed(shown))
        + "</div>"
    )
    audit = page(site, "audit")
    assert expected in audit
    assert e('<b>apply</b> & "run 0" — ✅') in audit and "— ✅" in audit  # escaped, and not ASCII


def test_views_of_lazily_read_records_are_those_of_a_plain_list(built):
    site, written = built
    runbook = load_runbook(site / "docs" / "rb.md")
    path = site / "runbook-results" / "views.jsonl"
    lazy = LazyRecords(path, streamed=True)
    assert verify_ledger(path, validate_schema=False, records=lazy, keep_hashes=False, file_sha256=True).ok
    banner = build_report(runbook, written).attempt
    for limit, runs in ((3, 2), (0, 0), (1, None), (10, 10)):
        assert views(ReadOnce(lazy), banner, limit, runs) == views(written, banner, limit, runs)


def test_read_once_reads_what_lazy_records_read_and_keeps_nothing(built, tmp_path):
    site, written = built
    path = site / "runbook-results" / "views.jsonl"
    lazy = LazyRecords(path, streamed=True)
    verify_ledger(path, validate_schema=False, records=lazy, keep_hashes=False)
    once = ReadOnce(LazyRecords(path, streamed=True))
    verify_ledger(path, validate_schema=False, records=once.lines, keep_hashes=False)
    assert len(once) == len(written) and list(once) == written == list(lazy) and once[-1] == written[-1] and once[1:3] == written[1:3]
    assert once.headers() is once.lines.headers() and once.headers().keys == lazy.headers().keys
    assert once.headers().pairs == lazy.headers().pairs and once.headers().pair_of == lazy.headers().pair_of
    assert once[0] is not once[0]  # made afresh: nothing kept
    with pytest.raises(IndexError):
        once[len(written)]
    bad = tmp_path / "bad.jsonl"  # a line that verifies (hash and chain) but is no run record
    bad.write_bytes(sealed_line({"prev": None, "run_id": "x"}))
    theirs, mine = LazyRecords(bad), ReadOnce(LazyRecords(bad, streamed=True))
    verify_ledger(bad, validate_schema=False, records=theirs)
    verify_ledger(bad, validate_schema=False, records=mine.lines)
    with pytest.raises(LedgerError) as lazy_error:
        theirs[0]
    with pytest.raises(LedgerError) as once_error:
        mine[0]
    assert str(once_error.value) == str(lazy_error.value) and f"{bad}:1: not a run record" in str(once_error.value)


def test_a_slot_of_pieces_is_filled_with_them_joined_and_other_numbers_are_left_alone():
    slots = Slots()
    one = slots.slot("p.md", "<a>", "—", "</a>")
    two = slots.defer("p.md", "x")
    stray = slots.pattern.pattern.replace("(\\d+)", "7")
    assert slots.fill("p.md", f"[{one}|{two.strip()}|{stray}]") == f"[<a>—</a>|x|{stray}]"
    assert slots.fill("p.md", one) == one  # filled once: the page's slots are forgotten


def test_a_slot_of_bytes_is_filled_in_the_written_page_or_in_the_page_when_it_is_not_written_as_is(tmp_path):
    written = tmp_path / "page.html"
    slots = Slots()
    text, later = slots.slot("p.md", "<a>"), slots.slot("p.md", "<b>", "✅ \ud800".encode("utf-8", "xmlcharrefreplace"), "</b>")
    output = slots.fill("p.md", f"[{text}|{later}]", written)
    assert output == f"[<a>|{later}]"  # the bytes wait for the written file
    written.write_bytes(output.encode())
    written.chmod(0o640)
    slots.splice()
    assert written.read_text() == "[<a>|<b>✅ &#55296;</b>]" and written.stat().st_mode & 0o777 == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["page.html"]  # written in place
    twice = Slots()  # a template that shows the content twice (a print copy), or leaves it out
    shown, hidden = twice.slot("p.md", b"<i>runs</i>"), twice.slot("p.md", b"<i>other</i>")
    written.write_text(twice.fill("p.md", f"{shown}|{shown}", written))
    twice.splice()
    assert written.read_text() == "<i>runs</i>|<i>runs</i>" and hidden not in written.read_text()
    again = Slots()  # nothing rewrites the page after: filled in it, as MkDocs will write it
    assert again.fill("p.md", again.slot("p.md", "<b>", "✅".encode(), "</b>")) == "<b>✅</b>"


def test_a_slot_gone_from_the_written_page_ends_the_splice(tmp_path):
    written = tmp_path / "page.html"
    slots = Slots()
    written.write_text(slots.fill("p.md", slots.slot("p.md", b"<b>runs</b>"), written).replace("<!--", "<!"))  # a minifier's doing
    with pytest.raises(ValueError, match="gone from the written page"):
        slots.splice()
    assert [p.name for p in tmp_path.iterdir()] == ["page.html"]


def slow(cls, values):
    """What the dataclass's own ``__init__`` makes of ``values``."""
    return cls(**values)


def test_from_dict_makes_what_the_dataclass_constructor_makes(built):
    site, _ = built
    for line in (site / "runbook-results" / "views.jsonl").read_bytes().splitlines():
        data = json.loads(line)
        fast = RunRecord.from_dict(data)
        blocks = tuple(
            slow(
                BlockResult,
                {
                    **{k: v for k, v in b.items() if k in _BLOCK_FIELDS},
                    "expectations": tuple(slow(Expectation, x) for x in b["expectations"]),
                    "troubleshooting": tuple(b.get("troubleshooting", ())),
                },
            )
            for b in data["blocks"]
        )
        values = {k: v for k, v in data.items() if k in _RECORD_FIELDS}
        expected = slow(RunRecord, {**values, "blocks": blocks, "not_rerun": tuple(data["not_rerun"]), "acknowledgements": ()})
        assert fast == expected and repr(fast) == repr(expected) and fast.to_dict() == expected.to_dict()
        assert list(vars(fast)) == [f.name for f in fields(RunRecord)] == list(vars(expected))
    minimal = {"id": "b", "kind": "check", "status": "passed", "line": 1, "sha256": "s"}
    assert BlockResult.from_dict(minimal) == BlockResult(**minimal)
    bare = {k: v for k, v in json.loads(line).items() if k not in ("options", "fingerprints", "attempt_id", "blocks")}
    one, two = RunRecord.from_dict(bare), RunRecord.from_dict(bare)
    assert one.options == {} and one.options is not two.options and one.attempt_id is None  # defaults, a fresh one from each factory
    with pytest.raises(TypeError, match="missing"):
        RunRecord.from_dict({"run_id": "x"})
    with pytest.raises(TypeError, match="unexpected keyword|missing"):
        BlockResult.from_dict({**minimal, "expectations": [{"name": "exit", "nope": 1}]})


def test_a_block_tag_is_found_as_the_pattern_finds_it_in_any_html():
    """``html._block_tag`` finds a block's tag from its ``id="..."`` text: the same name,
    start and end as the pattern tried at every tag, on random pages of tags, attributes
    (``data-id``, ``xid``, a non-ASCII letter before ``id``), quotes and closing ``>``."""
    import random
    import re

    from runbook_checks.mkdocs.html import _block_tag

    def searched(html: str, block_id: str) -> tuple[str, int, int] | None:
        m = re.search(r'<(div|pre|code)\b[^>]*\bid="' + re.escape(block_id) + r'"', html)
        return None if m is None else (m.group(1), m.start(), m.end())

    pieces = ["<div", "<pre", "<code", "<codex", "<prefix", "<div-x", " ", ">", '"', 'id="a"', 'id="b"', 'data-id="a"', 'xid="a"']
    pieces += ['_id="a"', 'éid="a"', 'id="a" ', ' class="x"', "</pre>", "</div>", "<p>", "text", 'id="ab"', 'id="a', '<span id="a">']
    pieces += ["\n", '<pre id="a">', '<code id="b">']
    rng = random.Random(5)
    for _ in range(30_000):
        html = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 14)))
        for block_id in ("a", "b", "ab"):
            assert _block_tag(html, block_id) == searched(html, block_id), (html, block_id)
