"""Secrets in the shapes other programs give them: line by line, CRLF, base64, JSON, URL,
shell and HTML encodings, bytes that are not UTF-8 — through real runs of the CLI (and the
real pytest plugin), checked on the terminal, in the ledger, JUnit, the step summary and
--format json. And masking never breaks the syntax of what the product writes."""

from __future__ import annotations

import base64
import json
import math
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from runbook_checks.errors import EXIT_NOT_RECORDED
from runbook_checks.redact import Redactor

from .conftest import clean_env, fence, front
from .test_ledger_edges import Mounts

PEM = "\n".join(
    [
        "-----BEGIN PRIVATE KEY-----",
        "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj",
        "MIIBVgIBADANBgkqhkiG9w0BAQEFAASCAUAwggE8AgEAAkEAq7BFUpkGp3+XQx1q",
        "hkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0t",
        "Zm9vYmFy",
        "-----END PRIVATE KEY-----",
    ]
)
TOKEN = "tok_live_9fK2mQ7xW3zR8pL1vB6n"
LONG_TOKEN = "ghp_" + "A1b2C3d4E5f6G7h8I9j0" * 4 + "KLMNOPQRST"  # 94 characters: its base64 is wrapped by base64(1)


def run_everywhere(cli, write, tmp_path: Path, body: str, secrets: dict[str, str]) -> tuple[dict[str, str], list[dict], dict]:
    """Run ``body`` twice (text with JUnit and a step summary, then --format json); return
    every text the product wrote, by where, the ledger's records and the JSON output."""
    path = write(front(body, secrets="[" + ", ".join(secrets) + "]"))
    summary = tmp_path / "summary.md"
    env = clean_env(GITHUB_STEP_SUMMARY=str(summary), **secrets)
    text = cli("run", path, "--junit", tmp_path / "junit.xml", env=env)
    as_json = cli("run", path, "--format", "json", env=env)
    assert "Traceback" not in text.stderr + as_json.stderr, text.stderr + as_json.stderr
    ledger = (tmp_path / "runbook-results" / "rb.jsonl").read_text()
    texts = {
        "terminal": text.stdout + text.stderr,
        "json run": as_json.stdout + as_json.stderr,
        "ledger": ledger,
        "junit": (tmp_path / "junit.xml").read_text(),
        "summary": summary.read_text(),
    }
    ET.fromstring(texts["junit"])  # still XML
    return texts, [json.loads(line) for line in ledger.splitlines()], json.loads(as_json.stdout)  # still JSON


def outputs(record: dict) -> dict[str, str]:
    return {b["id"]: b["output"] for b in record["blocks"]}


def assert_nowhere(texts: dict[str, str], pieces: list[str]) -> None:
    for where, text in texts.items():
        for piece in pieces:
            assert piece not in text, f"{piece!r} leaked into {where}"


def base64_fragments(data: bytes, size: int = 8) -> set[str]:
    """Every ``size``-character run of base64 (and base64url) that encodes only bits of
    ``data``, at each of the three byte alignments it can have inside longer base64."""
    out = set()
    for a in range(3):
        enc = base64.b64encode(b"\0" * a + data + b"\0\0").decode()
        core = enc[-(-8 * a // 6) : 8 * (a + len(data)) // 6]
        for alphabet in (core, core.translate(str.maketrans("+/", "-_"))):
            out |= {alphabet[i : i + size] for i in range(len(alphabet) - size + 1)}
    return out


def test_a_multi_line_secret_printed_line_by_line_whole_or_joined_is_masked_line_by_line(cli, write, tmp_path):
    body = (
        fence("lines", "check", 'while read -r l; do echo "line: $l"; done <<< "$PEM_KEY"')
        + fence("whole", "check", 'printf "%s\\n" "$PEM_KEY"')
        + fence("joined", "check", "echo $PEM_KEY")  # unquoted: the shell joins the lines with spaces
        + fence("as-json", "check", "jq -n --arg k \"$PEM_KEY\" '{key: $k}'")
        + fence("encoded", "check", 'base64 <<< "$PEM_KEY"')
    )  # wrapped at 76 columns
    texts, records, _ = run_everywhere(cli, write, tmp_path, body, {"PEM_KEY": PEM})
    out = outputs(records[0])
    assert out["lines"] == "line: ***\n" * 6
    assert out["whole"] == "***\n" * 6
    assert out["joined"] == "***\n"
    assert out["as-json"] == '{\n  "key": "***"\n}\n'
    assert out["encoded"] == "***\n" * math.ceil(len(base64.b64encode(PEM.encode() + b"\n")) / 76)
    assert_nowhere(texts, PEM.split("\n") + [PEM.replace("\n", "\\n")] + sorted(base64_fragments(PEM.encode())))


def test_a_secret_with_crlf_line_ends_is_masked_printed_whole_or_line_by_line(cli, write, tmp_path):
    value = "crlf-first-line-1\r\ncrlf-second-line-2"
    body = (
        fence("whole", "check", 'printf "%s\\n" "$TOK"')
        + fence("lines", "check", 'while IFS= read -r l; do echo "got $l"; done <<< "$TOK"')
        + fence("repr", "check", "python3 -c 'import sys; print(repr(sys.argv[1]))' \"$TOK\"")
    )
    texts, records, _ = run_everywhere(cli, write, tmp_path, body, {"TOK": value})
    assert outputs(records[0]) == {"whole": "***\n***\n", "lines": "got ***\ngot ***\n", "repr": "'***'\n"}
    assert_nowhere(texts, ["crlf-first-line-1", "crlf-second-line-2", "line-1\\r\\ncrlf"])


def test_base64_and_base64url_of_a_secret_are_masked_also_inside_basic_auth(cli, write, tmp_path):
    body = (
        fence("echoed", "check", 'echo "$API_TOKEN" | base64')  # echo adds a newline before encoding
        + fence("printed", "check", 'printf %s "$API_TOKEN" | base64')
        + fence("basic", "check", 'printf "Authorization: Basic %s\\n" "$(printf "deploy:%s" "$API_TOKEN" | base64 -w0)"')
        + fence(
            "urlsafe",
            "check",
            'python3 -c \'import base64,sys; print(base64.urlsafe_b64encode(sys.argv[1].encode()).decode().rstrip("="))\' "$API_TOKEN"',
        )
        + fence("wrapped", "check", 'echo "$LONG_TOKEN" | base64')
        + fence("wrapped-basic", "check", 'printf "deploy:%s" "$LONG_TOKEN" | base64')
    )
    texts, records, _ = run_everywhere(cli, write, tmp_path, body, {"API_TOKEN": TOKEN, "LONG_TOKEN": LONG_TOKEN})
    out = outputs(records[0])
    assert out["echoed"] == out["printed"] == out["urlsafe"] == "***\n"
    assert out["wrapped"] == "***\n***\n"
    # "deploy:" encodes as ZGVwbG95O; at each end one character mixes the token's bits with others
    assert out["basic"].startswith("Authorization: Basic ZGVwbG95O") and "***" in out["basic"]
    visible = out["basic"].removeprefix("Authorization: Basic ZGVwbG95O").strip().split("***")
    assert len(visible) == 2 and len(visible[0]) <= 1 and len(visible[1].rstrip("=")) <= 1, out["basic"]
    assert "***" in out["wrapped-basic"] and out["wrapped-basic"].count("\n") == 2
    assert_nowhere(texts, [TOKEN, LONG_TOKEN] + sorted(base64_fragments(TOKEN.encode()) | base64_fragments(LONG_TOKEN.encode())))


JSON_VALUE = 'pässwörd-"quoted"-€/back\\slash<&>'


def test_json_with_non_ascii_kept_or_escaped_quotes_slashes_and_nesting_is_masked(cli, write, tmp_path):
    py = 'python3 -c \'import json,sys; print(json.dumps({{"t": sys.argv[1]}}, ensure_ascii={}){})\' "$TOK"'
    body = (
        fence("ascii", "check", py.format("True", ""))
        + fence("utf8", "check", py.format("False", ""))
        + fence("slashes", "check", py.format("True", '.replace("/", "\\\\/")'))  # PHP escapes / as \/
        + fence("go-style", "check", py.format("False", '.replace("<", "\\\\u003c").replace(">", "\\\\u003e").replace("&", "\\\\u0026")'))
        + fence("jq", "check", "jq -cn --arg t \"$TOK\" '{t: $t}'")
        + fence("node", "check", "TOK=\"$TOK\" node -e 'console.log(JSON.stringify({t: process.env.TOK}))'")
        + fence("nested", "check", "jq -cn --arg t \"$TOK\" '{payload: ({t: $t} | tojson)}'")
    )
    texts, records, _ = run_everywhere(cli, write, tmp_path, body, {"TOK": JSON_VALUE})
    out = outputs(records[0])
    assert out == {
        "ascii": '{"t": "***"}\n',
        "utf8": '{"t": "***"}\n',
        "slashes": '{"t": "***"}\n',
        "go-style": '{"t": "***"}\n',
        "jq": '{"t":"***"}\n',
        "node": '{"t":"***"}\n',
        "nested": '{"payload":"{\\"t\\":\\"***\\"}"}\n',
    }
    assert_nowhere(texts, ["sswörd", "ss\\u00f6rd", "quoted", "back\\"])


def test_url_html_and_shell_encodings_are_masked(cli, write, tmp_path):
    value = "it's a $ecret `value` & <more>/ü"
    body = (
        fence("uri", "check", "jq -rn --arg t \"$TOK\" '$t | @uri'")
        + fence("component", "check", "TOK=\"$TOK\" node -e 'console.log(encodeURIComponent(process.env.TOK))'")
        + fence("form", "check", 'python3 -c \'import sys,urllib.parse as u; print(u.urlencode({"t": sys.argv[1]}))\' "$TOK"')
        + fence("html", "check", "python3 -c 'import html,sys; print(html.escape(sys.argv[1]))' \"$TOK\"")
        + fence("quoted", "check", 'printf "%q\\n" "$TOK"')
        + fence("declared", "check", "declare -p TOK")
        + fence("shlex", "check", "python3 -c 'import shlex,sys; print(shlex.quote(sys.argv[1]))' \"$TOK\"")
        + fence("traced", "check", 'set -x; : "$TOK"')
    )
    texts, records, _ = run_everywhere(cli, write, tmp_path, body, {"TOK": value})
    out = outputs(records[0])
    assert out["uri"] == out["component"] == out["html"] == "***\n" and out["form"] == "t=***\n"
    assert out["shlex"] == out["traced"].removeprefix("+ : ") == "'***'\n" and out["declared"] == 'declare -x TOK="***"\n'
    assert out["quoted"] in ("***\n", "$'***'\n")  # printf %q quotes with $'...' where the locale cannot print a character
    assert_nowhere(texts, ["ecret", "`value`", "\\`value\\`", "<more>", "&lt;more"])


def test_a_secret_that_is_not_utf8_is_refused_before_anything_runs(cli, write, tmp_path):
    path = write(front(fence("c", "check", f'touch {tmp_path}/ran; echo "pw: $DB_PASSWORD"'), secrets="[DB_PASSWORD]"))
    for args in (["run", path], ["run", path, "--format", "json"], ["run", path, "--execute", "--confirm", "GO-OK", "--dry-run"]):
        result = cli(*args, env=clean_env(DB_PASSWORD="p\udce4ssw\udcf6rd-latin1"))
        assert result.returncode == 2, result.stderr
        assert "DB_PASSWORD" in result.stderr and "not valid UTF-8" in result.stderr and "Nothing was executed" in result.stderr
        assert "Traceback" not in result.stderr + result.stdout and "ssw" not in result.stderr + result.stdout
    assert not (tmp_path / "ran").exists() and not (tmp_path / "runbook-results" / "rb.jsonl").exists()


def test_the_pytest_plugin_refuses_a_secret_that_is_not_utf8_as_the_cli_does(pytester, monkeypatch):
    monkeypatch.setenv("DB_PASSWORD", "p\udce4ssw\udcf6rd-latin1")  # the bytes p\xe4ssw\xf6rd-latin1
    marks = pytester.path / "ran"
    path = pytester.makefile(".md", RB=front(fence("c", "check", f'touch {marks}; echo "pw: $DB_PASSWORD"'), secrets="[DB_PASSWORD]"))
    result = pytester.runpytest("--runbooks", str(path))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    text = "\n".join(result.outlines + result.errlines)
    assert "DB_PASSWORD" in text and "not valid UTF-8" in text and "Nothing was executed" in text and "ssw" not in text
    assert not marks.exists() and not (pytester.path / "runbook-results" / "rb.jsonl").exists()


def test_the_pytest_plugin_warns_of_a_short_secret_as_the_cli_does(pytester, monkeypatch):
    monkeypatch.setenv("TOK", "abc")
    path = pytester.makefile(".md", RB=front(fence("c", "check", 'echo "tok: $TOK"'), secrets="[TOK]"))
    result = pytester.runpytest("--runbooks", str(path))
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*runbook-checks: warning: *RB.md: secret TOK is shorter than 8 characters*"])


@pytest.mark.parametrize("value", ["false", "1", "null", "testcase", "failure", "details", "summary", "code"])
def test_a_secret_equal_to_a_word_of_json_xml_or_markdown_leaves_them_intact(cli, write, tmp_path, value):
    body = fence("says", "check", 'echo "it says $WORD here"; exit 1', 'criterion="Says it"') + fence("after", "check", "echo done")
    texts, records, data = run_everywhere(cli, write, tmp_path, body, {"WORD": value})
    assert outputs(records[0]) == {"says": "it says *** here\n", "after": "done\n"}
    assert_nowhere(texts, [f"says {value} here"])
    assert [b["after_failure"] for b in data["blocks"]] == [False, True] and data["exit_code"] == 1
    assert [b["exit_code"] for b in data["blocks"]] == [1, 0] and data["hash"] == records[1]["hash"]
    suite = ET.fromstring(texts["junit"]).find("testsuite")
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases] == ["says", "after"] and [c.get("line") for c in cases] == ["8", "11"]
    assert "it says *** here" in cases[0].find("failure").text and cases[0].find("failure").get("type") == "failed"
    assert cases[0].find("system-out").text == "it says *** here\n" and suite.get("failures") == "1"
    assert {p.get("name"): p.get("value") for p in suite.iter("property")}["run-id"] == records[0]["run_id"]
    summary = texts["summary"]
    assert summary.count("<details>") == summary.count("</details>") == 2 and summary.count("<summary>") == 2  # one a run
    assert "| `says` | check | ❌ failed | 1 |" in summary and "it says *** here" in summary


def test_a_short_secret_is_masked_with_a_warning(cli, write, tmp_path):
    path = write(front(fence("c", "check", 'echo "pin $PIN"'), secrets="[PIN]"))
    result = cli("run", path, env=clean_env(PIN="4711"))
    assert result.returncode == 0 and "pin ***" in result.stdout and "4711" not in result.stdout
    assert "warning: secret PIN is shorter than 8 characters" in result.stderr and "4711" not in result.stderr


@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 64])
def test_every_shape_is_caught_when_the_output_arrives_in_pieces(chunk):
    value = "line-one-of-it\nline-two-of-it"
    shapes = [value, json.dumps(value)[1:-1], base64.b64encode(LONG_TOKEN.encode() + b"\n").decode(), "line-two-of-it"]
    wrapped = "\n".join(shapes[2][i : i + 76] for i in range(0, len(shapes[2]), 76))
    data = f'a {shapes[0]} b\n"{shapes[1]}"\n{wrapped}\nc {shapes[3]}\nend\n'.encode()
    stream = Redactor([value, LONG_TOKEN]).stream()
    out = "".join(stream.feed(data[i : i + chunk]) for i in range(0, len(data), chunk)) + stream.flush()
    assert out == 'a ***\n*** b\n"***"\n***\n***\nc ***\nend\n'


@pytest.fixture
def small_results(tmp_path):
    """Results on a real 256 KiB filesystem (root only; skipped elsewhere)."""
    mounts = Mounts()
    results = tmp_path / "runbook-results"
    results.mkdir()
    mounts.mount("-t", "tmpfs", "-o", "size=256k", "tmpfs", target=results)
    yield results
    mounts.close()


def test_the_json_of_a_run_that_could_not_be_recorded_keeps_its_syntax(cli, write, tmp_path, small_results):
    body = (
        fence("says", "check", 'echo "flag is $FLAG"')
        + fence("fill", "check", f"cat /dev/zero > {small_results}/filler 2>/dev/null || true")
        + fence("talk", "check", "python3 -c \"print('x' * 9000)\"")
    )
    result = cli("run", write(front(body, secrets="[FLAG]")), "--format", "json", env=clean_env(FLAG="false"))
    assert result.returncode == EXIT_NOT_RECORDED, result.stderr
    summary = json.loads(result.stdout)
    assert summary["recorded"] is False and summary["hash"] is None and [b["after_failure"] for b in summary["blocks"]] == [False] * 3


def test_hex_sql_csv_squeezed_and_twice_url_encoded_shapes_are_masked(cli, write, tmp_path):
    value = 'it\'s  a "quoted"  $ecret/with:more-bytes'
    body = (
        fence("xxd", "check", 'printf %s "$TOK" | xxd -p')  # wrapped at 60 columns
        + fence("hex", "check", "python3 -c 'import sys; print(sys.argv[1].encode().hex().upper())' \"$TOK\"")
        + fence(
            "sql",
            "check",
            'python3 -c \'import sys; print("VALUES (" + chr(39) + sys.argv[1].replace(chr(39), 2 * chr(39)) + chr(39) + ")")\' "$TOK"',
        )
        + fence("csv", "check", 'python3 -c \'import csv,sys; csv.writer(sys.stdout).writerow(["t", sys.argv[1]])\' "$TOK"')
        + fence("squeezed", "check", "echo $TOK")  # unquoted: runs of spaces become one
        + fence(
            "twice",
            "check",
            'python3 -c \'import sys,urllib.parse as u; print("next=" + u.quote(u.quote(sys.argv[1], safe=""), safe=""))\' "$TOK"',
        )
    )
    texts, records, _ = run_everywhere(cli, write, tmp_path, body, {"TOK": value})
    out = outputs(records[0])
    assert out["xxd"] == "***\n***\n" and out["hex"] == out["squeezed"] == "***\n"
    assert out["sql"] == "VALUES ('***')\n" and out["csv"] == 't,"***"\n' and out["twice"] == "next=***\n"  # csv's CRLF is a line end
    hexed = value.encode().hex()
    assert_nowhere(texts, ["quoted", "ecret", "more-bytes", hexed[:40], hexed[40:], hexed.upper()[20:60], "%2524ecret"])
