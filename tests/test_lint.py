"""`runbook-checks lint`: every problem as path:line: message, exit 2; clean runbooks exit 0."""

from __future__ import annotations

import json

import pytest

from .conftest import FIXTURES, clean_env, fence, front

CASES = [
    # (runbook text, expected "line: message" lines)
    (
        "---\nrunbook:\n  id: x\n  secrets: [A, B\n---\n" + fence("a", "check", "true"),
        ["4: front matter is not valid YAML: expected ',' or ']', but got '<stream end>'"],
    ),
    ("---\nrunbook:\n  id: x\n", ["1: front matter is not closed: add a '---' line after it"]),
    (front(fence("a", "check", "true") + fence("a", "check", "false")), ["11: duplicate block id 'a' (first used at line 8)"]),
    (front(fence("a", "chek", "true")), ["8: unknown kind '.chek' (did you mean 'check'?): use .check (read-only) or .step (mutating)"]),
    (front(fence("a", "check", "true", "timout=5")), ["8: block 'a': unknown attribute 'timout' (did you mean 'timeout'?)"]),
    (
        front(fence("a", "check", "true", "phase=deploy")),
        ["8: block 'a': phase='deploy' is not a phase declared in the front matter (declared: none)"],
    ),
    (
        front(
            fence("a", "check", "true", "timeout=soon")
            + fence("b", "check", "true", "retries=many")
            + fence("c", "check", "true", "exit=300")
        ),
        [
            "8: block 'a': timeout='soon' is not a duration (e.g. 120, 90s, 2min)",
            "11: block 'b': retries='many' must be a whole number from 0 to 10",
            "14: block 'c': exit='300' must be exit codes 0-255, comma-separated",
        ],
    ),
    (
        front(fence("a", "check", "true", 'expect-regex="(unclosed"')),
        ["8: block 'a': expect-regex='(unclosed' is not a valid regular expression: missing ) at position 9"],
    ),
    (front("```bash {#a .check}\necho never closed\n"), ["8: unterminated code fence: add a closing ``` line"]),
    (front(fence("a", "step", "true"), confirm=None), ["7: block 'a' is a .step but the runbook declares no 'runbook.confirm' token"]),
    (
        front(fence("a", "check", "echo $USED ${ALSO}"), secrets="[USED, ALSO, UNUSED]"),
        ["6: secret 'UNUSED' is declared but no block references $UNUSED"],
    ),
    (
        front(fence("a", "check", "true"), extra="  confrim: X\n  phases:\n    - {id: p, name: P, estimate: whenever}"),
        [
            "7: unknown front-matter key 'runbook.confrim' (did you mean 'confirm'?)",
            "9: phase 'p': estimate 'whenever' is not a duration range (e.g. '1-2 min', '30 s')",
        ],
    ),
    (front(fence("a", "check", "true"), extra="  workdir: no/such/dir"), ["7: workdir {workdir} does not exist"]),
    (front("```python {#a .check}\nprint(1)\n```\n"), ["8: block 'a': language 'python' cannot run; tagged blocks are bash, sh, shell"]),
    (front("```bash {#a .check .step}\ntrue\n```\n"), ["8: a block is either .check or .step, not both"]),
    (front("```bash {.check}\ntrue\n```\n"), ["8: tagged block has no id: add {#some-id ...}"]),
    (
        front("```bash {#a .check} trailing\ntrue\n```\n"),
        ["8: unexpected text after the attributes: 'trailing'; the page then shows no tagged block"],
    ),
    (front("# nothing tagged\n"), ["1: no tagged blocks: tag a fence with {#id .check} or {#id .step}"]),
    (
        front("```bash {#a .check timeout==5}\ntrue\n```\n"),
        [
            "8: attribute text the site does not read: '==5' (write key=value, key=\"a b\" or key='a b')",
            "8: block 'a': timeout needs a value (timeout=...)",
        ],
    ),
    (front("```bash {#a .check expect}\ntrue\n```\n"), ["8: block 'a': expect needs a value (expect=...)"]),
    (
        front(fence("a", "check", "true") + "\n## Down {#down .troubleshoot match}\n\nRestart it.\n"),
        ["12: entry 'down' explains nothing: give it match=, exit= and/or blocks=", "12: entry 'down': match needs a value (match=...)"],
    ),
]


@pytest.mark.parametrize("text, expected", CASES, ids=[f"case{i}" for i in range(len(CASES))])
def test_lint_reports_each_problem_with_path_and_line(cli, write, tmp_path, text, expected):
    path = write(text)
    result = cli("lint", path)
    expected = [f"{path}:{e.replace('{workdir}', str(tmp_path / 'no/such/dir'))}" for e in expected]
    assert result.stdout.splitlines() == expected
    assert result.returncode == 2
    assert "Traceback" not in result.stderr


def test_clean_runbook_and_directory_discovery(cli, tmp_path, write):
    write(front(fence("a", "check", "true")), "docs/ok.md")
    write("# Just prose\n\n```bash\nls\n```\n", "docs/prose.md")
    result = cli("lint", tmp_path / "docs")
    assert (result.returncode, result.stdout) == (0, "")
    assert "1 runbook(s) checked, 0 problem(s)" in result.stderr


def test_directory_with_a_bad_runbook_fails(cli, tmp_path, write):
    write(front(fence("a", "check", "true")), "docs/ok.md")
    bad = write(front(fence("a", "check", "true", "color=red")), "docs/sub/bad.md")
    result = cli("lint", tmp_path / "docs")
    assert result.returncode == 2
    assert result.stdout == f"{bad}:8: block 'a': unknown attribute 'color'\n"


def test_missing_path(cli, tmp_path):
    result = cli("lint", "nowhere.md")
    assert result.returncode == 2 and result.stdout == "nowhere.md:0: no such file or directory\n"


def test_demo_fixture_is_clean(cli):
    result = cli("lint", FIXTURES / "demo.md")
    assert result.returncode == 0, result.stdout


# -- hostile or ambiguous front matter (each is refused with path:line, exit 2, before anything runs) --


def alias_bomb(levels: int = 9) -> str:
    lines = ["  a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    for n in range(1, levels):
        lines.append(f"  a{n}: &a{n} [" + ", ".join([f"*a{n - 1}"] * 9) + "]")
    return "\n".join(lines)


def test_a_yaml_alias_bomb_is_refused_at_once(cli, write, tmp_path):
    path = write("---\nbomb:\n" + alias_bomb() + "\nrunbook:\n  id: rb\n---\n" + fence("c", "check", f"touch {tmp_path}/ran"))
    for command in ("lint", "run"):
        result = cli(command, path, timeout=20)
        assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
        assert (
            f"{path}:" in result.stdout + result.stderr
            and "expand this to more than 10,000 values beyond what is written" in result.stdout + result.stderr
        )
    assert not (tmp_path / "ran").exists()


def test_a_long_plain_front_matter_is_no_alias_bomb(cli, write):
    """The limit is on what aliases add: 20,000 values written out plainly are read."""
    plain = "---\nrunbook:\n  id: rb\n  summary:\n" + "".join(f"    k{i}: v{i}\n" for i in range(10_000)) + "---\n"
    result = cli("lint", write(plain + fence("c", "check", "true")))
    assert "alias" not in result.stdout + result.stderr, result.stdout


def test_recursive_aliases_and_deep_nesting_are_refused(cli, write):
    recursive = write("---\nrunbook: &r\n  id: rb\n  loop: *r\n---\n" + fence("c", "check", "true"), "recursive.md")
    deep = write("---\nx: " + "[" * 5000 + "]" * 5000 + "\nrunbook: {id: rb}\n---\n" + fence("c", "check", "true"), "deep.md")
    for path, message in ((recursive, "refers to itself"), (deep, "nests too deeply")):
        result = cli("lint", path)
        assert result.returncode == 2 and message in result.stdout and "Traceback" not in result.stderr, result.stdout + result.stderr


def test_a_duplicate_key_is_a_problem_not_a_silent_merge(cli, write, tmp_path):
    path = write(
        "---\nrunbook:\n  id: rb\n  secrets: [TOK]\n  confirm: GO\n  secrets: []\n---\n"
        + fence("c", "check", f'echo "$TOK" > {tmp_path}/out')
    )
    result = cli("run", path, env=clean_env(TOK="s3cret-value"))
    assert result.returncode == 2 and f"{path}:6: duplicate key 'secrets' (first at line 4)" in result.stderr
    assert not (tmp_path / "out").exists() and not (tmp_path / "runbook-results").exists()


def test_run_refuses_what_lint_reports(cli, write, tmp_path):
    path = write(front(fence("c", "check", f"touch {tmp_path}/ran"), extra="  workdir: no/such/dir"))
    assert cli("lint", path).returncode == 2
    result = cli("run", path)
    assert result.returncode == 2 and "workdir" in result.stderr and "does not exist" in result.stderr
    assert not (tmp_path / "ran").exists() and not (tmp_path / "runbook-results").exists()


@pytest.mark.parametrize("bad", ["../outside/forged", "/etc/passwd", "a/b", ".hidden"])
def test_a_required_runbook_id_cannot_name_a_path(cli, write, bad):
    path = write(front(fence("s", "step", "true"), extra=f"  requires:\n    - {{runbook: '{bad}'}}"))
    result = cli("lint", path)
    assert result.returncode == 2 and f"requirement runbook id {bad!r} may hold only letters" in result.stdout


@pytest.mark.parametrize("container", ['=== "T"', "!!! note", "???+ note"])
def test_a_tab_indented_container_body_is_found(cli, write, container):
    path = write(front(f"{container}\n\t```bash {{#x .check}}\n\techo in-a-tab\n\t```\n"))
    listed = json.loads(cli("list", path, "--format", "json").stdout)
    assert [b["id"] for b in listed["blocks"]] == ["x"]


def test_a_fence_the_site_does_not_read_as_tagged_is_a_problem_at_its_line(cli, write):
    """pymdownx.superfences needs a space between the language and the attributes."""
    path = write(front("```bash{#x .check}\necho no space\n```\n"))
    linted = cli("lint", path)
    assert linted.returncode == 2
    assert linted.stdout.startswith(f"{path}:8: the site does not read 'bash{{#x .check}}' as a language and attributes")


@pytest.mark.parametrize(
    "fence_text",
    [
        "* ```bash {#x .check}\n  echo on a list marker\n  ```\n",
        "```bash {#x .check}\necho closed longer\n````\n",
        "```bash {#x .check}\necho closed indented\n ```\n",
    ],
)
def test_a_block_the_page_does_not_show_as_tagged_is_a_problem_and_never_runs(cli, write, tmp_path, fence_text):
    path = write(front(fence_text.replace("echo", f"touch {tmp_path}/ran; echo", 1)))
    linted = cli("lint", path)
    assert linted.returncode == 2 and f"{path}:8: block 'x': the published page does not show this fence as a tagged block" in linted.stdout
    assert cli("run", path).returncode == 2 and not (tmp_path / "ran").exists()


def test_the_page_and_the_checker_agree_on_the_shipped_runbooks(cli):
    from runbook_checks.lint import load_runbook, page_disagreements
    from runbook_checks.oracle import rendered_blocks, site_config, site_extensions

    root = FIXTURES.parent.parent
    for path in sorted((root / "docs" / "OPS" / "RUNBOOKS").glob("*.md")):
        runbook = load_runbook(path)
        assert page_disagreements(runbook, str(path)) == []
        shown = rendered_blocks(path.read_text().split("\n---\n", 1)[1], site_extensions(site_config(path.parent, root)))
        assert sorted(b.id for b in shown) == sorted(b.id for b in runbook.blocks)


def test_files_are_read_as_mkdocs_reads_them_lone_cr_line_ends_included(cli, tmp_path):
    cr = tmp_path / "cr.md"
    cr.write_bytes(b"---\rrunbook:\r  id: t\r---\r```bash {#x .check}\recho hi\r```\r")
    listed = cli("list", cr, "--format", "json")
    assert listed.returncode == 0 and [b["id"] for b in json.loads(listed.stdout)["blocks"]] == ["x"]
    broken = tmp_path / "broken.md"
    broken.write_bytes(b"```\r\r")
    result = cli("lint", broken)
    assert result.returncode == 2 and "Traceback" not in result.stderr and f"{broken}:1: unterminated code fence" in result.stdout


MUTATING = {  # an instance of each kind lint's mutating-check rule names, and its label
    "pnpm exec prisma migrate deploy": "prisma migrate deploy",
    "npx prisma migrate reset --force": "prisma migrate reset",
    "prisma migrate dev --name x": "prisma migrate dev",
    "pnpm exec prisma migrate resolve --rolled-back 2026_x": "prisma migrate resolve",
    "prisma db push --accept-data-loss": "prisma db push",
    "pnpm prisma db seed": "prisma db seed",
    "psql \"$URL\" -c 'drop table producers'": "DROP",
    "psql -c 'TRUNCATE orders CASCADE'": "TRUNCATE",
    "psql -c 'DELETE FROM orders WHERE true'": "DELETE FROM",
    "psql -c 'DROP POLICY p ON t'": "DROP",
    "psql -c 'ALTER TABLE orders DROP DEFAULT'": "ALTER",
    'psql -c "INSERT INTO audit VALUES (1)"': "INSERT INTO",
    "psql -c 'update only \"my producers\" set name = 1'": "UPDATE … SET",
    "psql -c 'CREATE INDEX i ON t (c)'": "CREATE",
    "psql -c 'GRANT SELECT ON t TO app'": "GRANT/REVOKE",
    "dropdb staging": "dropdb/createdb/pg_restore",
    "pnpm exec prisma db execute --file fix.sql": "prisma db execute",
    'psql "$DATABASE_URL" -f fix.sql': "psql --file",
}


@pytest.mark.parametrize("command", sorted(MUTATING))
def test_a_check_that_names_a_mutating_command_is_a_problem_at_its_line(cli, write, command):
    path = write(front(fence("c", "check", f"echo before\n{command}")))
    linted = cli("lint", path)
    assert linted.returncode == 2
    assert linted.stdout.startswith(f"{path}:10: block 'c' is a .check but runs {MUTATING[command]}, which changes the database")


@pytest.mark.parametrize(
    "code",
    [
        "# prisma migrate deploy runs in the step below",  # a comment
        "truncate -s 0 /tmp/scratch.log",  # the file command, not SQL
        "pnpm exec prisma migrate status",
        "psql -c 'SELECT count(*) FROM orders'",
    ],
)
def test_reading_commands_and_comments_are_not_mutating(cli, write, code):
    assert cli("lint", write(front(fence("c", "check", code)))).returncode == 0


def test_read_only_accepts_a_check_and_is_refused_on_a_step(cli, write):
    ok = write(front(fence("c", "check", "pg_restore --list backup.dump", 'read-only="only lists the archive"')), "ok.md")
    assert cli("lint", ok).returncode == 0
    step = write(front(fence("s", "step", "pnpm exec prisma migrate deploy", 'read-only="no"')), "step.md")
    linted = cli("lint", step)
    assert linted.returncode == 2 and f"{step}:8: block 's': read-only= belongs on a .check" in linted.stdout


def test_every_mutating_label_is_documented():
    from runbook_checks.lint import MUTATING_COMMANDS

    doc = (FIXTURES.parent.parent / "docs" / "reference" / "runbook-format.md").read_text()
    section = doc[doc.index("### Checks that would change the database") : doc.index("## Troubleshooting entries")]
    assert {label for label, _ in MUTATING_COMMANDS} == set(MUTATING.values())
    for label, _ in MUTATING_COMMANDS:
        assert f"`{label}`" in section, label


def test_front_matter_lines_come_from_the_parsed_runbook(write, tmp_path):
    """Whole-runbook problems sit at their key's line as the parser found it (``Runbook.key_lines``):
    a listed secret at its own item's line; the file is not read again."""
    from runbook_checks.lint import check_runbook
    from runbook_checks.parse import parse_runbook

    path = write(front(fence("a", "check", "echo $USED"), secrets="\n    - USED\n    - UNUSED", extra="  fingerprint: [no/such/file]"))
    runbook, problems = parse_runbook(path)
    assert problems == [] and runbook.key_lines["runbook.secrets.UNUSED"] == 8
    path.write_text("changed after parsing\n")
    found = [f"{p.line}: {p.message}" for p in check_runbook(runbook, "rb.md", parsed_cleanly=False)]
    assert found == [
        "8: secret 'UNUSED' is declared but no block references $UNUSED",
        f"9: fingerprint path 'no/such/file' does not exist in {runbook.workdir}",
    ]


def test_list_shows_runbook_text_as_written_not_as_rich_markup(cli, write) -> None:
    """Titles are free text: ``[/x]`` is not a closing tag to rich (it raised MarkupError)."""
    body = "# T [/x] [bold]b\n\n" + fence("a", "check", "true")
    body += '\n## Troubleshooting\n\n### [/y] broken [b]x {#t-a .troubleshoot match="boom"}\n\nRead this.\n'
    path = write(front(body))
    listed = cli("list", path)
    assert listed.returncode == 0, listed.stderr
    assert "[/x] [bold]b" in listed.stdout and "[/y] broken [b]x" in listed.stdout
