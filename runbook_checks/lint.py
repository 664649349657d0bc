"""Runbook -> problems: everything ``parse`` reports plus checks across the whole runbook.

``parse`` checks each piece as its spec row reads it; lint adds what needs the whole
runbook (a step without ``runbook.confirm``, a check that runs a mutating command, a
declared secret no block uses, missing paths) and what the published page shows
(``page_disagreements``, through ``oracle``). Front-matter lines come from the parsed
runbook's source map (``Runbook.key_lines``), not from reading the file again.
"""

from __future__ import annotations

import re
from pathlib import Path

from .errors import Problem, RunbookInvalid
from .model import Block, Runbook
from .oracle import PageBlock, SiteConfigError, available, rendered_blocks, site_config, site_extensions
from .parse import is_runbook, mentions_fence, page_body, parse_runbook, read_lines
from .status import Kind

#: Commands that change a database, which a ``.check`` (run on every ``run`` and by the
#: scheduled CI checks) must not run: (what the problem names, pattern). SQL words match in
#: any case; a line whose first word is ``#`` (a comment) is not read. The labels are listed
#: in docs/reference/runbook-format.md, "Checks that would change the database".
MUTATING_COMMANDS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (label, re.compile(pattern))
    for label, pattern in (
        ("prisma migrate deploy", r"\bmigrate\s+deploy\b"),
        ("prisma migrate reset", r"\bmigrate\s+reset\b"),
        ("prisma migrate dev", r"\bmigrate\s+dev\b"),
        ("prisma migrate resolve", r"\bmigrate\s+resolve\b"),
        ("prisma db push", r"\bdb\s+push\b"),
        ("prisma db seed", r"\bdb\s+seed\b"),
        ("prisma db execute", r"\bdb\s+execute\b"),
        ("psql --file", r"\bpsql\b.*\s(?:-f\s*\S|--file[=\s])"),
        (
            "DROP",
            r"(?i)\bdrop\s+(?:table|schema|database|index|view|materialized|column|constraint|type|function|"
            r"procedure|sequence|role|user|extension|trigger|owned|policy|domain|rule|publication|subscription|"
            r"aggregate|operator|server|statistics|tablespace|collation|conversion|cast|event|foreign|language|group)\b",
        ),
        ("TRUNCATE", r"(?i)\btruncate\s+(?:table\s+)?(?:only\s+)?[\"A-Za-z_]"),
        ("DELETE FROM", r"(?i)\bdelete\s+from\b"),
        (
            "ALTER",
            r"(?i)\balter\s+(?:table|schema|database|index|view|materialized|type|function|procedure|sequence|"
            r"role|user|extension|default|system)\b",
        ),
        ("INSERT INTO", r"(?i)\binsert\s+into\b"),
        ("UPDATE … SET", r"(?i)\bupdate\s+(?:only\s+)?(?:\"[^\"]+\"|[\w.]+)\s+set\b"),
        (
            "CREATE",
            r"(?i)\bcreate\s+(?:or\s+replace\s+)?(?:table|schema|database|index|unique|view|materialized|type|"
            r"function|procedure|sequence|role|user|extension|trigger)\b",
        ),
        ("GRANT/REVOKE", r"(?i)\b(?:grant|revoke)\s+[\w, ]+\s+on\b"),
        ("dropdb/createdb/pg_restore", r"(?:^|[\s;&|(])(?:dropdb|createdb|pg_restore)\b"),
    )
)


#: any of ``MUTATING_COMMANDS``: code it does not match holds none of them on any line
_ANY_MUTATING = re.compile(
    "|".join(
        f"(?:{pattern.pattern.replace('(?i)', '(?i:', 1) + ')' if pattern.pattern.startswith('(?i)') else pattern.pattern})"
        for _, pattern in MUTATING_COMMANDS
    )
)


def mutating_commands(block: Block) -> list[tuple[int, str]]:
    """``(line, label)`` of each line of ``block``'s code that names a command of
    ``MUTATING_COMMANDS`` (first match per line; ``line`` is the file's line)."""
    if _ANY_MUTATING.search(block.code) is None:  # most blocks: one search instead of one per line and pattern
        return []
    found = []
    for n, text in enumerate(block.code.split("\n")):
        if text.lstrip().startswith("#"):
            continue
        label = next((label for label, pattern in MUTATING_COMMANDS if pattern.search(text)), None)
        if label is not None:
            found.append((block.line + 1 + n, label))
    return found


def discover(paths: list[str]) -> tuple[list[Path], list[Problem]]:
    """The runbook files under ``paths``: a file named is a runbook; a directory is searched
    (recursively, sorted) for ``*.md`` files with ``runbook:`` front matter
    (``parse.is_runbook``). Returns ``(files, problems)``: a path that does not exist is a
    problem at line 0."""
    found: list[Path] = []
    problems: list[Problem] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found.extend(p for p in sorted(path.rglob("*.md")) if is_runbook(p))
        elif path.is_file():
            found.append(path)
        else:
            problems.append(Problem(raw, 0, "no such file or directory"))
    return found, problems


def _key_line(runbook: Runbook, *keys: str) -> int:
    """The line of the first of ``keys`` (dotted front-matter paths, ``runbook.workdir``) the
    front matter holds, from the parser's source map (``Runbook.key_lines``); 1 if none."""
    return next((runbook.key_lines[key] for key in keys if key in runbook.key_lines), 1)


def check_runbook(runbook: Runbook, display: str, parsed_cleanly: bool = True) -> list[Problem]:
    """The problems that need the whole ``runbook`` (``parse`` has already checked each
    piece), named ``display``. When the parse had problems (``parsed_cleanly`` false) the
    page comparison is left out, so a broken fence is reported once. Never raises."""
    problems: list[Problem] = []
    if not runbook.blocks and parsed_cleanly:
        problems.append(Problem(display, 1, "no tagged blocks: tag a fence with {#id .check} or {#id .step}"))
    if runbook.confirm is None:
        for block in runbook.steps:
            problems.append(
                Problem(display, block.line, f"block {block.id!r} is a .step but the runbook declares no 'runbook.confirm' token")
            )
    for block in runbook.blocks:
        if block.kind == Kind.STEP and block.read_only is not None:
            problems.append(Problem(display, block.line, f"block {block.id!r}: read-only= belongs on a .check (a .step may change things)"))
        elif block.kind == Kind.CHECK and block.read_only is None:
            for line, label in mutating_commands(block):
                problems.append(
                    Problem(
                        display,
                        line,
                        f"block {block.id!r} is a .check but runs {label}, which changes the database; "
                        "checks run on every run and in scheduled CI: make it a .step, or say why it "
                        'only reads with read-only="..."',
                    )
                )
    for name in runbook.secrets:
        ref = re.compile(r"\$\{?" + re.escape(name) + r"\b")
        if not any(ref.search(text) for text in [b.code for b in runbook.blocks] + [v for _, v in runbook.env] + [runbook.target or ""]):
            line = _key_line(runbook, f"runbook.secrets.{name}", "runbook.secrets")
            problems.append(Problem(display, line, f"secret {name!r} is declared but no block references ${name}"))
    for path in runbook.fingerprint:
        if runbook.workdir.is_dir() and not (runbook.workdir / path).exists():
            problems.append(
                Problem(
                    display,
                    _key_line(runbook, "runbook.fingerprint"),
                    f"fingerprint path {path!r} does not exist in {runbook.workdir}",
                )
            )
    for req in runbook.requires:
        for path in req.same:
            if path not in runbook.fingerprint:
                problems.append(
                    Problem(
                        display,
                        req.line,
                        f"requirement on {req.runbook!r}: 'same' path {path!r} is not in this runbook's 'fingerprint' list",
                    )
                )
    if not runbook.workdir.is_dir():
        line = _key_line(runbook, "runbook.workdir")
        problems.append(Problem(display, line, f"workdir {runbook.workdir} does not exist"))
    return problems + (page_disagreements(runbook, display) if parsed_cleanly else [])  # a broken fence is reported once


def page_disagreements(runbook: Runbook, display: str) -> list[Problem]:
    """Where the published page (``oracle.rendered_blocks``: the site's own renderer, with
    the extensions of the site's ``mkdocs.yml``) and the checker read the runbook's tagged
    blocks differently: a block the page shows as tagged that the checker does not see,
    one the checker would run that the page does not show as tagged, an id the page shows
    twice, another kind, or other code. A block runs only if the page renders it as
    tagged. Nothing is compared where the site's renderer is not installed; a site
    configuration that cannot be read is a problem (the page cannot be checked)."""
    if not available():
        return []
    lines = page_body(read_lines(runbook.path))  # the page the site renders: its own text, as MkDocs reads it
    try:
        config = site_config(runbook.path.parent, runbook.root)
        rendered = rendered_blocks("\n".join(lines), site_extensions(config), config.parent if config is not None else None)
    except SiteConfigError as exc:
        return [Problem(display, 1, f"cannot render the page as the site does, so what it shows cannot be checked: {exc}")]
    if rendered is None:
        return []
    problems = []
    checked = {b.id: b for b in runbook.blocks}
    shown: dict[str, list[PageBlock]] = {}
    for page_block in rendered:
        shown.setdefault(page_block.id, []).append(page_block)

    def line_of(block_id: str) -> int:
        mention = re.compile(r"#" + re.escape(block_id) + r"(?=[\s}])")
        return next((i + 1 for i, text in enumerate(lines) if mention.search(text) and mentions_fence(text)), 1)

    for block_id, found in shown.items():
        if len(found) > 1:
            problems.append(
                Problem(
                    display,
                    checked[block_id].line if block_id in checked else line_of(block_id),
                    f"the page shows {len(found)} tagged blocks with id {block_id!r}; the checker runs at most one: give each its own id",
                )
            )
    for block in runbook.blocks:
        if block.id not in shown:
            problems.append(
                Problem(
                    display,
                    block.line,
                    f"block {block.id!r}: the published page does not show this fence as a tagged block "
                    "(it renders as text or untagged code, or inside a comment or hidden element), "
                    "so it would run unseen; fix its fence or indentation",
                )
            )
            continue
        page_block = shown[block.id][0]
        if page_block.kind != block.kind:
            problems.append(
                Problem(
                    display, block.line, f"block {block.id!r}: the page shows it as .{page_block.kind}, the checker reads .{block.kind}"
                )
            )
        elif page_block.code.rstrip("\n") != block.code.rstrip("\n"):
            problems.append(_other_code(display, block, page_block.code))
    for block_id, found in shown.items():
        if block_id not in checked:
            problems.append(
                Problem(
                    display,
                    line_of(block_id),
                    f"the page shows a tagged .{found[0].kind} block #{block_id} that the checker does not see "
                    "(so it never runs); write it as a fence the checker reads, see the runbook format",
                )
            )
    return problems


def _other_code(display: str, block: Block, shown: str) -> Problem:
    """The problem for a block whose code the page shows otherwise, at the first line that differs."""
    ran, seen = block.code.rstrip("\n").split("\n"), shown.rstrip("\n").split("\n")
    n = next((i for i, (a, b) in enumerate(zip(ran, seen)) if a != b), min(len(ran), len(seen)))
    where = block.line + 1 + n
    if "\t" in (ran[n] if n < len(ran) else "") and ran[n].expandtabs(4) == (seen[n] if n < len(seen) else None):
        return Problem(
            display,
            where,
            f"block {block.id!r}: the page shows this line's tab as spaces (the site expands tabs), "
            "so it would run other code than it shows: write spaces, or $'\\t' / printf '\\t' for a tab",
        )
    return Problem(
        display,
        where,
        f"block {block.id!r}: the page shows other code on this line than the checker would run (indentation or quote markers differ)",
    )


def _lint(path: str | Path, display: str | None = None) -> tuple[Runbook | None, list[Problem]]:
    display = display or str(path)
    runbook, problems = parse_runbook(path, display)
    if runbook is not None:
        problems += check_runbook(runbook, display, parsed_cleanly=not problems)
    return runbook, sorted(problems)


def lint_runbook(path: Path, display: str | None = None) -> list[Problem]:
    """Every problem of the runbook at ``path`` (named ``display``, default ``path``): the
    parser's and the whole-runbook checks, sorted by line."""
    return _lint(path, display)[1]


def load_runbook(path: str | Path, display: str | None = None) -> Runbook:
    """The runbook at ``path``; raises ``RunbookInvalid`` (exit 2) with every problem
    ``lint`` would report, so no command runs (or reports on) a runbook lint rejects."""
    runbook, problems = _lint(path, display)
    if problems or runbook is None:
        raise RunbookInvalid(problems)
    return runbook


def lint_paths(paths: list[str]) -> tuple[list[Path], list[Problem]]:
    """Lint every runbook under ``paths`` (``discover``); returns ``(files linted, problems)``."""
    files, problems = discover(paths)
    for f in files:
        problems += lint_runbook(f)
    return files, problems
