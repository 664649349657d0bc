"""Secrets never reach stdout, stderr, the ledger, JUnit, the step summary or JSON output."""

from __future__ import annotations

import json
import re
from urllib.parse import quote, quote_plus, unquote

import pytest

from runbook_checks.redact import Redactor

from .conftest import DB_URL, SECRET, clean_env, fence, front

PASSWORD_AS_WRITTEN = "p%40ss%2Fw0rd-XyZ"
PASSWORD_DECODED = unquote(PASSWORD_AS_WRITTEN)


def forms_that_must_not_appear() -> list[str]:
    return [SECRET, quote(SECRET, safe=""), quote_plus(SECRET), DB_URL, PASSWORD_AS_WRITTEN, PASSWORD_DECODED, quote(DB_URL, safe="")]


def test_url_encoded_forms_and_the_database_password_are_masked():
    redact = Redactor([DB_URL])
    lower_hex = re.sub("%[0-9A-F]{2}", lambda m: m.group().lower(), PASSWORD_AS_WRITTEN)
    for form in (DB_URL, PASSWORD_AS_WRITTEN, PASSWORD_DECODED, quote(DB_URL, safe=""), quote_plus(DB_URL), lower_hex):
        assert redact(f"x {form} y") == "x *** y", form


@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 64])
def test_stream_redactor_catches_secrets_split_across_reads(chunk):
    data = f"start {SECRET} mid {PASSWORD_DECODED} {quote(SECRET, safe='')} end\n".encode()
    stream = Redactor([SECRET, DB_URL]).stream()
    out = "".join(stream.feed(data[i : i + chunk]) for i in range(0, len(data), chunk)) + stream.flush()
    assert out == "start *** mid *** *** end\n"


def test_overlapping_secrets_are_masked_as_a_whole():
    assert Redactor(["abc", "xxabcyy"])("1 xxabcyy 2") == "1 *** 2"
    assert Redactor(["ab", "bcdef"])("abcdef!") == "***!"


LEAKY = (
    fence("stdout", "check", 'echo "raw: $APP_SECRET url: $DATABASE_URL_STAGING"')
    + fence("stderr", "check", 'echo "to stderr: $APP_SECRET" >&2')
    + fence(
        "encoded",
        "check",
        'python3 -c \'import os,urllib.parse as u; print(u.quote(os.environ["APP_SECRET"], safe=""), u.quote_plus(os.environ["APP_SECRET"]))\'',
    )
    + fence(
        "password",
        "check",
        "python3 -c 'import os,urllib.parse as u; p=u.urlsplit(os.environ[\"DATABASE_URL_STAGING\"]).password; print(p, u.unquote(p))'",
    )
    + fence("two-pieces", "check", 'printf "%s" "${APP_SECRET:0:5}"; sleep 0.2; printf "%s\\n" "${APP_SECRET:5}"')
    + fence("failing", "check", 'echo "connecting with $DATABASE_URL_STAGING" >&2; exit 1', 'criterion="Reaches the database"')
    + fence("traced", "check", 'set -x; : "$APP_SECRET"')
)


def test_secrets_never_leak_from_a_real_run(cli, write, tmp_path):
    path = write(front(LEAKY, secrets="[APP_SECRET, DATABASE_URL_STAGING]"))
    summary = tmp_path / "summary.md"
    env = clean_env(APP_SECRET=SECRET, DATABASE_URL_STAGING=DB_URL, GITHUB_STEP_SUMMARY=str(summary))
    runs = [
        cli("run", path, "--junit", tmp_path / "junit.xml", env=env),
        cli("run", path, "--format", "json", "--quiet", env=env),
        cli("run", path, "--dry-run", env=env),
        cli("report", path, env=env),
    ]
    assert [r.returncode for r in runs] == [1, 1, 0, 0]
    ledger_text = (tmp_path / "runbook-results" / "rb.jsonl").read_text()
    texts = {
        "stdout": "".join(r.stdout for r in runs),
        "stderr": "".join(r.stderr for r in runs),
        "ledger": ledger_text,
        "junit": (tmp_path / "junit.xml").read_text(),
        "summary": summary.read_text(),
    }
    for where, text in texts.items():
        for form in forms_that_must_not_appear():
            assert form not in text, f"secret form {form!r} leaked into {where}"
    # the redacted output is still useful
    assert "raw: *** url: ***" in ledger_text and "to stderr: ***" in ledger_text
    assert "connecting with ***" in texts["junit"] and "connecting with ***" in texts["summary"]
    assert "*** ***" in ledger_text  # the encoded and the password forms


def test_runbook_with_a_byte_order_mark_keeps_its_secrets(cli, write, tmp_path):
    path = write(front(fence("c", "check", 'echo "tok=$TOK"'), secrets="[TOK]"))
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    result = cli("run", path, env=clean_env(TOK="sekret123"))
    assert result.returncode == 0
    assert "sekret123" not in result.stdout + (tmp_path / "runbook-results" / "rb.jsonl").read_text()
    assert "tok=***" in result.stdout


@pytest.mark.parametrize(
    "value, code",
    [
        ("  spaced-secret-value \n", "echo $TOK"),  # unquoted: the shell drops the surrounding whitespace
        ('pa"ss\\word', 'python3 -c \'import json,sys; print(json.dumps({"t": sys.argv[1]}))\' "$TOK"'),  # JSON-escaped
    ],
)
def test_trimmed_and_json_escaped_forms_are_masked(cli, write, tmp_path, value, code):
    result = cli("run", write(front(fence("c", "check", code), secrets="[TOK]")), env=clean_env(TOK=value))
    ledger_text = (tmp_path / "runbook-results" / "rb.jsonl").read_text()
    for form in {value.strip(), json.dumps(value)[1:-1]}:
        assert form not in result.stdout and form not in ledger_text


def test_a_short_secret_does_not_corrupt_the_record(cli, write, tmp_path):
    result = cli("run", write(front(fence("c", "check", 'echo "year $TOK"'), secrets="[TOK]")), env=clean_env(TOK="2026"))
    assert result.returncode == 0
    record = json.loads((tmp_path / "runbook-results" / "rb.jsonl").read_text())
    assert record["blocks"][0]["output"] == "year ***\n"
    assert record["started_at"].startswith("20")  # ids, hashes and times are not redacted
    assert cli("verify").returncode == 0
