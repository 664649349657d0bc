"""The spec rows: every block attribute, entry attribute and front-matter key, declared once.

A row names what is written, the model field it fills, the converter that reads it, its
help text (Markdown), its default and a valid and an invalid example. Parsing (``blocks``,
``entries``, ``frontmatter``), the help dicts (``BLOCK_ATTRIBUTES``, ``ENTRY_ATTRIBUTES``,
``RUNBOOK_KEYS``) and the tables of ``docs/reference/runbook-format.md`` all come from these
rows (markdown-exec's one validator per option; mkdocs-material's declared options).
Regenerate the doc's tables with ``python -m runbook_checks.parse --write``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import fleet, keys, values


@dataclass(frozen=True)
class Row:
    """One thing a runbook may write: a block or entry attribute, or a ``runbook.`` key."""

    #: as written: ``retry-delay`` (``retry-delay=5s``), ``secrets`` (``runbook.secrets``)
    name: str
    #: the model field it fills, ``Class.field`` (``Block.retry_delay_s``)
    field: str
    #: reads the value: ``values.X(Given)`` for attributes, ``keys.X(raw, At)`` for keys; raises ``values.Invalid``
    convert: Callable[..., Any]
    #: what it means (Markdown: the reference table and the help dicts)
    help: str
    #: the field's value when it is not written (``None`` where the parser derives it)
    default: Any = None
    #: the default for readers (empty: none)
    default_doc: str = ""
    #: a valid value as written after ``name=`` (attributes) or ``name: `` (keys, YAML flow style)
    example: str = ""
    #: a value it refuses, written the same way
    bad: str = ""
    #: a block attribute's check against the blocks before it: the problem's text or ``None``
    relate: Callable[..., str | None] | None = None

    @property
    def attr(self) -> str:
        """The field's name without its class: ``retry_delay_s``."""
        return self.field.split(".", 1)[1]


BLOCK_ROWS: tuple[Row, ...] = (
    Row("phase", "Block.phase", values.phase,
        "the timeline phase (declared in the front matter) whose duration this block counts towards",
        example="validate", bad="nope"),
    Row("criterion", "Block.criterion", values.text,
        "the success criterion this block is evidence for; several blocks may share one",
        example='"Migration status is clean"', bad='""'),
    Row("exit", "Block.exit_codes", values.exit_codes,
        "exit code(s) that count as success, comma-separated",
        default=(0,), default_doc="`0`", example='"0,1"', bad="300"),
    Row("expect", "Block.expect", values.text,
        "text that must appear in the (redacted) output",
        example='"Database schema is up to date!"', bad='""'),
    Row("expect-regex", "Block.expect_regex", values.pattern,
        "regular expression that must match a line of the output ([`regex`](https://pypi.org/project/regex/) syntax, "
        "a superset of Python's `re`). One search may take 2 s. A pattern that backtracks past that fails the "
        "expectation with *gave up*, and does not hang the run.",
        example='"^ok \\d+$"', bad='"(unclosed"'),
    Row("forbid", "Block.forbid", values.text,
        "text that must not appear in the output",
        example='"Error"', bad='""'),
    Row("timeout", "Block.timeout_s", values.timeout_s,
        "time limit: `120`, `90s`, `2min`, at most 7 days",
        default_doc="`runbook.timeout`, else 300 s", example="120", bad="soon"),
    Row("retries", "Block.retries", values.retries,
        "extra attempts after a failure or timeout, 0–10",
        default=0, default_doc="`0`", example="2", bad="many"),
    Row("retry-delay", "Block.retry_delay_s", values.retry_delay_s,
        "pause between attempts, at most 1 h",
        default=1.0, default_doc="1 s", example="5s", bad="2h"),
    Row("needs", "Block.needs", values.text,
        "id of an earlier block that must have passed in the same run; otherwise this block is skipped "
        "(e.g. a check that reads back what a step wrote)",
        example="diag-reachable", bad="nope", relate=values.earlier_block),
    Row("after", "Block.after", values.text,
        "id of a step whose result this check verifies (e.g. `after=migrate-deploy` on `migrate status`): when that "
        "step has not run (passed or failed) in this attempt and the attempt's latest `pending-exit` check reported "
        "pending migrations, the check is `skipped` with that reason instead of failing; otherwise it runs",
        example="migrate-deploy", bad="nope", relate=values.earlier_step),
    Row("pending-exit", "Block.pending_exit", values.pending_exit,
        "on a `.check`: the exit code with which it reports pending migrations; the check then passes, and "
        "`after=` checks wait for their step. Must differ from `exit=`",
        example="3", bad="0", relate=values.pending_on_check),
    Row("read-only", "Block.read_only", values.text,
        "on a `.check` whose code names a command that changes the database (see below): why it only reads; "
        "lint then accepts it. Not allowed on a `.step`",
        example='"pg_restore --list only reads the archive"', bad='""'),
    Row("rehearse-db", "Block.rehearse_db", values.database_kinds,
        "the database kinds a rehearsal runs this block on, comma-separated: `pglite`, `postgres` "
        "(`rehearse --database-url` counts as `postgres`). On another kind the block is `skipped` with that reason, "
        "e.g. on a check that runs `pg_dump` 15, which cannot read PGlite's PostgreSQL 18. `run` ignores it",
        default=(), default_doc="both", example="postgres", bad="mysql"),
    Row("preview", "Block.preview", values.yes_no,
        "`yes` on a read-only `.check` that is safe to run before anything is decided: it also runs in "
        "`run --dry-run` (when every declared secret is set), which shows its output — e.g. the target's pending "
        "migrations with their SQL, a lint of them. `no` leaves it out of dry runs. On a `.step` it is a problem "
        "(`path:line`): a mutating block never runs in a dry run. See [`run --dry-run`](cli.md#dry-run-a-preview)",
        default=False, default_doc="`no`", example="yes", bad="maybe", relate=values.preview_on_check),
)  # fmt: skip

ENTRY_ROWS: tuple[Row, ...] = (
    Row("match", "TroubleshootingEntry.match", values.pattern,
        "regular expression searched (multi-line) in a failed block's redacted output and reason; also in a refused "
        "gate's message when the entry has no `exit`/`blocks`. A search that takes over 1 s counts as no match.",
        example='"Can\'t reach database server"', bad='"(unclosed"'),
    Row("exit", "TroubleshootingEntry.exit_codes", values.exit_codes,
        "exit code(s) the entry explains, comma-separated",
        default=(), default_doc="any", example="1", bad="300"),
    Row("blocks", "TroubleshootingEntry.blocks", values.block_ids,
        "ids of the blocks the entry covers, comma-separated",
        default=(), default_doc="any block", example="migrate-deploy", bad="nope"),
)  # fmt: skip

KEY_ROWS: tuple[Row, ...] = (
    Row("id", "Runbook.id", keys.an_id,
        "id used for the ledger file `<results>/<id>.jsonl`; letters, digits, `.`, `_`, `-`",
        default_doc="the file name, lower-cased", example="db-migration-staging", bad="a/b"),
    Row("environment", "Runbook.environment", keys.an_id,
        "the environment it operates on; one run per runbook and environment at a time",
        default="local", default_doc="`local`", example="staging", bad='""'),
    Row("confirm", "Runbook.confirm", keys.non_empty,
        "the exact token `--confirm` must match before any `.step` runs; a runbook with steps must declare it",
        example="DIXIS-STAGING-OK", bad='""'),
    Row("secrets", "Runbook.secrets", keys.secrets,
        "environment variables that must be set (and be valid UTF-8) before anything runs; their values are "
        "masked as `***` in every shape listed under [Secrets](#secrets)",
        default=(), example="[DATABASE_URL_STAGING]", bad="[not-a-name]"),
    Row("workdir", "Runbook.workdir", keys.non_empty,
        "where blocks run, relative to the project root (the nearest folder above the runbook holding `.git`, "
        "else `mkdocs.yml`)",
        default_doc="the runbook's folder", example="examples/dixis", bad='""'),
    Row("timeout", "Block.timeout_s", keys.duration_s,
        "default time limit of every block",
        default=values.DEFAULT_TIMEOUT_S, default_doc="300 s", example="10min", bad="soon"),
    Row("phases", "Runbook.phases", keys.phases,
        "the timeline rows in order: `id`, `name`, `estimate` (`1-2 min`, `30 s`, `1 h`; a bare number means minutes)",
        default=(), example="[{id: setup, name: Setup + Install, estimate: 1-2 min}]", bad="[{id: p, estimate: whenever}]"),
    Row("env", "Runbook.env", keys.env,
        "non-secret variables set for every block; `${VAR}` in a value expands from the environment, "
        "`RUNBOOK_WORKDIR` included. Every block also gets `RUNBOOK_ID`, `RUNBOOK_ENVIRONMENT`, `RUNBOOK_WORKDIR`, "
        "`RUNBOOK_PATH` (the runbook file, absolute), `RUNBOOK_RUN_ID`, `RUNBOOK_ATTEMPT_ID` and `RUNBOOK_BLOCK_ID`; "
        "the folder of the running `runbook-checks` (and of `squawk`) is appended to `PATH` when missing, so a block "
        "can call `runbook-checks`",
        default=(), example="{DATABASE_URL: \"${DATABASE_URL_STAGING}\"}", bad="[DATABASE_URL]"),
    Row("fingerprint", "Runbook.fingerprint", keys.paths,
        "paths relative to `workdir` (files or directories) whose content hash every run records",
        default=(), example="[prisma/migrations]", bad='[""]'),
    Row("requires", "Runbook.requires", keys.requires,
        "gates on `--execute`: each `{runbook, environment, same, path, target}` needs a passing `--execute` attempt of that "
        "runbook in its verified ledger, whose recorded fingerprints of the `same` paths equal the current content, "
        "with no later failed attempt and against another database (see [the gate rules](evidence.md#the-requires-gate)); "
        "`path` names that runbook for the refusal message. In a [fleet](#fleets-targets) run the ledger read is the "
        "required runbook's target of the same name, or with `target: canary` each of its wave-0 targets (`path` required)",
        default=(), example="[{runbook: db-migration-local, environment: local, same: [prisma/migrations]}]", bad="[{environment: local}]"),
    Row("summary", "Runbook.summary", keys.summary,
        "`label: text` pairs that describe the runbook (e.g. `Risk: Medium`, `Backup: Required`); "
        "`runbook-checks compare` and the site's comparison table put them side by side",
        default=(), example="{Risk: Medium, Backup: Required}", bad="[Risk]"),
    Row("target", "Runbook.target", keys.target,
        "the database the runbook operates on, as one variable; every run records a digest of its host, port and "
        "database name, never the password (see [the target digest](evidence.md#the-target-digest))",
        example="${DATABASE_URL_STAGING}", bad="postgres://db"),
    Row("targets", "Runbook.targets", fleet.targets,
        "the fleet: databases one run selects with `--target NAME`, each `{name, secret, labels}` — `name` lower-case "
        "letters, digits, `.`, `_`, `-`, unique; `secret` the variable holding its database URL; `labels` strings or "
        "integers, `wave` an integer ≥ 0 (lower waves go first, `0` is the canary wave, default `1`). Or the name of a "
        "YAML targets file holding that list, relative to the runbook's folder. See [Fleets](#fleets-targets)",
        default=(), example="[{name: tenant-acme, secret: DATABASE_URL_TENANT_ACME, labels: {wave: 0, region: eu}}]",
        bad="[{name: Tenant Acme, secret: DATABASE_URL_TENANT_ACME}]"),
    Row("acknowledge", "Runbook.acknowledge", keys.acknowledge,
        "destructive or blocking findings of [`lint-migrations`](cli.md#runbook-checks-lint-migrations) that the runbook "
        "accepts, one entry per migration and rule: `{migration, rule, by, reason}` (`by`: who accepted it, `reason`: "
        "why it is safe), every key a non-empty string; see [Acknowledgements](#acknowledgements)",
        default=(), example="[{migration: 20261001090000_drop_legacy, rule: ban-drop-column, by: Jane Ops, reason: unused since v3}]",
        bad="[{migration: 20261001090000_drop_legacy}]"),
)  # fmt: skip

#: help for each block attribute (besides ``#id`` and the kind class), from ``BLOCK_ROWS``
BLOCK_ATTRIBUTES: dict[str, str] = {row.name: row.help for row in BLOCK_ROWS}
#: help for each attribute of a troubleshooting heading (besides ``#id`` and ``.troubleshoot``), from ``ENTRY_ROWS``
ENTRY_ATTRIBUTES: dict[str, str] = {row.name: row.help for row in ENTRY_ROWS}
#: help for each key of the front matter's ``runbook:`` mapping, from ``KEY_ROWS``
RUNBOOK_KEYS: dict[str, str] = {row.name: row.help for row in KEY_ROWS}

# what is written but is no row (ids, classes, the page title): documented beside the rows
_KEY_SYNTAX = (("title", "the runbook's title", "its first `#` heading", "title: Staging database migration"),)
_BLOCK_SYNTAX = (
    ("#id", "required; letters, digits, `.`, `_`, `-`; unique in the runbook", "", "#migrate-status"),
    (".check", "kind: read-only, runs on every `run`", "", ".check"),
    (".step", "kind: mutating, runs only with `--execute --confirm TOKEN`", "", ".step"),
)
_ENTRY_SYNTAX = (
    ("#id", "required; the site anchor of the entry (unique among block and entry ids)", "", "#db-unreachable"),
    (".troubleshoot", "marks the heading as an entry", "", ".troubleshoot"),
)


def _table(head: str, rows: list[tuple[str, str, str, str]]) -> str:
    """A Markdown table: ``head`` (the first column's title), then meaning, default, example."""
    lines = [f"| {head} | meaning | default | example |", "|---|---|---|---|"]
    lines += [f"| `{name}` | {meaning} | {default or '—'} | `{example}` |" for name, meaning, default, example in rows]
    return "\n".join(lines)


def reference_tables() -> dict[str, str]:
    """The reference tables, by the name of their region in ``docs/reference/runbook-format.md``:
    ``runbook-keys``, ``block-attributes``, ``entry-attributes``."""
    return {
        "runbook-keys": _table(
            "key", [*_KEY_SYNTAX, *((f"runbook.{r.name}", r.help, r.default_doc, f"{r.name}: {r.example}") for r in KEY_ROWS)]
        ),
        "block-attributes": _table(
            "attribute", [*_BLOCK_SYNTAX, *((r.name, r.help, r.default_doc, f"{r.name}={r.example}") for r in BLOCK_ROWS)]
        ),
        "entry-attributes": _table(
            "attribute", [*_ENTRY_SYNTAX, *((r.name, r.help, r.default_doc, f"{r.name}={r.example}") for r in ENTRY_ROWS)]
        ),
    }


#: the reference page whose marked regions hold the tables (in a source checkout)
REFERENCE = Path(__file__).resolve().parents[2] / "docs" / "reference" / "runbook-format.md"


def reference_markdown(doc: str) -> str:
    """``doc`` with each region between ``<!-- generated: NAME -->`` and ``<!-- end generated -->``
    replaced by ``reference_tables()[NAME]``. Raises ``ValueError`` for a region with no table,
    or a table whose region is missing."""
    tables, out, name = reference_tables(), [], None
    seen: set[str] = set()
    for line in doc.split("\n"):
        if name is None and line.startswith("<!-- generated: "):
            name = line.removeprefix("<!-- generated: ").removesuffix(" -->").strip()
            if name not in tables:
                raise ValueError(f"no generated table is called {name!r}; known: {', '.join(tables)}")
            out += [line, "", tables[name], ""]  # blank lines: Python-Markdown ends an HTML comment block only there
        elif name is not None and line == "<!-- end generated -->":
            out.append(line)
            seen.add(name)
            name = None
        elif name is None:
            out.append(line)
    if set(tables) - seen:
        raise ValueError(f"the page has no region for: {', '.join(sorted(set(tables) - seen))}")
    return "\n".join(out)


def main(argv: list[str]) -> int:
    """``python -m runbook_checks.parse [--write [PATH]]``: print the tables, or rewrite
    the reference page's generated regions in place (``PATH``, default ``REFERENCE``). Returns the exit code."""
    if argv[:1] == ["--write"]:
        path = Path(argv[1]) if len(argv) > 1 else REFERENCE
        path.write_text(reference_markdown(path.read_text(encoding="utf-8")), encoding="utf-8")
        return 0
    print("\n\n".join(f"<!-- generated: {name} -->\n\n{table}\n\n<!-- end generated -->" for name, table in reference_tables().items()))
    return 0
