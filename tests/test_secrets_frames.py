"""Output as a terminal shows it: a line redrawn with carriage returns keeps its final
frame for expectations, the ledger, the terminal and the site (real CLI runs, the real
pytest plugin, a real pty and a real mkdocs build); CRLF line ends are just line ends;
secrets stay masked whatever a redraw does."""

from __future__ import annotations

import json
import re

import pytest

from runbook_checks.redact import Redactor

from .conftest import clean_env, fence, front
from .test_run import ledger
from .test_site import build, mkdocs_yml
from .test_terminal import run_in_pty

REDRAW = "for i in 1 2 3; do printf '\\rCopying table %d/3…' \"$i\"; done; printf '\\rCopied 3 tables\\n'"


def test_a_redrawn_line_keeps_its_final_frame_for_expectations_the_ledger_and_the_terminal(cli, write, tmp_path):
    body = (
        fence("copy", "check", REDRAW, 'expect-regex="^Copied 3 tables$"')
        + fence("cleared", "check", "printf 'Copying… 50%%\\r\\033[KCopying… 100%%\\r\\033[KDone\\n'", 'expect-regex="^Done$"')
        + fence("column-one", "check", "printf 'working…\\033[1GFinished\\n'", 'expect-regex="^Finished$"')
        + fence("crlf", "check", "printf 'first\\r\\nsecond\\r\\n'", 'expect-regex="^second$"')
        + fence(
            "spinner",
            "check",
            "printf 'Working |'; for c in / - '|' /; do printf '\\b%s' \"$c\"; done; printf '\\bdone\\n'",
            'expect-regex="^Working done$"',
        )
        + fence("unfinished", "check", "printf 'step 1\\rstep 2'")
    )
    result = cli("run", write(front(body)))
    assert result.returncode == 0, result.stdout
    outputs = {b["id"]: b["output"] for b in ledger(tmp_path)[0]["blocks"]}
    assert outputs == {
        "copy": "Copied 3 tables\n",
        "cleared": "Done\n",
        "column-one": "Finished\n",
        "crlf": "first\nsecond\n",
        "spinner": "Working done\n",
        "unfinished": "step 2",
    }
    assert "Copied 3 tables\n" in result.stdout and "Copying" not in result.stdout and "working" not in result.stdout


def test_an_intermediate_frame_is_not_output(cli, write, tmp_path):
    result = cli("run", write(front(fence("copy", "check", REDRAW, 'expect="Copying table 2/3"'))))
    assert result.returncode == 1
    [block] = ledger(tmp_path)[0]["blocks"]
    assert block["reason"] == "output does not contain 'Copying table 2/3'" and block["output"] == "Copied 3 tables\n"


def test_a_terminal_shows_the_final_frame(write, tmp_path):
    code, out = run_in_pty(["run", write(front(fence("copy", "check", REDRAW)))], tmp_path, clean_env(TERM="xterm"))
    assert code == 0 and "│ Copied 3 tables" in out and "Copying" not in out, out


def test_the_pytest_plugin_matches_and_records_the_final_frame(pytester):
    path = pytester.makefile(".md", RB=front(fence("copy", "check", REDRAW, 'expect-regex="^Copied 3 tables$"')))
    pytester.runpytest("--runbooks", str(path)).assert_outcomes(passed=1)
    [record] = [json.loads(line) for line in (pytester.path / "runbook-results" / "rb.jsonl").read_text().splitlines()]
    assert record["blocks"][0]["output"] == "Copied 3 tables\n"


def test_the_site_shows_the_final_frame(cli, tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (tmp_path / "mkdocs.yml").write_text(mkdocs_yml(results_dir="runbook-results"))
    runbook = docs / "rb.md"
    runbook.write_text(front("# Copy\n\n" + fence("copy", "check", REDRAW)))
    assert cli("run", runbook).returncode == 0
    assert build(tmp_path).returncode == 0
    html = (tmp_path / "site" / "rb" / "index.html").read_text()
    evidence = re.search(r'<details class="rbc-evidence" id="evidence-copy">.*?<pre><code>(.*?)</code></pre>', html, re.S)
    assert evidence is not None and evidence.group(1) == "Copied 3 tables\n", html


def test_secrets_stay_masked_whatever_a_redraw_does(cli, write, tmp_path):
    code = 'printf "token %s\\r" "$TOK"; printf "using %s\\n" "$TOK"; printf "%s\\rpartly redrawn\\n" "$TOK"'
    result = cli("run", write(front(fence("c", "check", code), secrets="[TOK]")), env=clean_env(TOK="redrawn-s3cret-value"))
    assert result.returncode == 0
    assert ledger(tmp_path)[0]["blocks"][0]["output"] == "using ***\npartly redrawn\n"
    assert "s3cret" not in result.stdout + (tmp_path / "runbook-results" / "rb.jsonl").read_text()


@pytest.mark.parametrize("chunk", [1, 2, 5, 64])
def test_frames_and_escapes_split_across_reads(chunk):
    data = b"\rCopying 1/2\rCopying 2/2\r\033[KCopied\r\nnext \033[31mred\033[0m\n\033]0;title\007done\rDONE"
    stream = Redactor(["never-printed"]).stream()
    out = "".join(stream.feed(data[i : i + chunk]) for i in range(0, len(data), chunk)) + stream.flush()
    assert out == "Copied\nnext red\nDONE"
