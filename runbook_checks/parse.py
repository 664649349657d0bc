"""Markdown runbook -> ``Runbook``: front matter, tagged fenced blocks, source lines.

Parsing knows nothing about processes. Every problem it finds is a ``Problem``
(``path:line: message``); ``parse_runbook`` collects them all, and
``lint.load_runbook`` refuses a runbook that has any (or any whole-runbook problem).
"""

from __future__ import annotations

import difflib
import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import regex
import yaml
from markdown.extensions import attr_list
from markdown_it import MarkdownIt

from .context import find_root, sha256_text
from .errors import Problem
from .model import CHECK, KINDS, STEP, Acknowledgement, Block, Phase, Requirement, Runbook, TroubleshootingEntry
from .target import variable
from .units import format_duration, parse_duration

#: Attributes a tagged block may carry (besides ``#id`` and the kind class).
BLOCK_ATTRIBUTES = {
    "phase": "the timeline phase (declared in the front matter) whose duration this block counts towards",
    "criterion": "the success criterion this block is evidence for",
    "exit": "exit code(s) that count as success, comma-separated (default 0)",
    "expect": "text that must appear in the output",
    "expect-regex": "regular expression that must match a line of the output",
    "forbid": "text that must not appear in the output",
    "timeout": "time limit, e.g. 120, 90s, 2min (default: the runbook's timeout, else 300 s)",
    "retries": "extra attempts after a failure or timeout (default 0)",
    "retry-delay": "pause between attempts (default 1 s)",
    "needs": "id of an earlier block that must have passed in the same run, else this block is skipped",
    "after": "id of a step whose result this check verifies: when that step has not run in this attempt and a pending-exit check reported pending migrations, this check is skipped",
    "pending-exit": "exit code with which this check reports pending migrations; the check then passes, and after= checks wait for their step",
    "read-only": 'on a .check whose code names a mutating command (lint\'s mutating-check rule): why it only reads, e.g. read-only="prints the SQL, runs nothing"',
    "rehearse-db": "database kinds a rehearsal runs this block on, comma-separated: pglite, postgres (default: both); on another it is skipped",
    "preview": "yes on a read-only .check: it also runs in run --dry-run (a safe preview: the target's pending migrations, a lint...); never on a .step",
}
#: the database kinds ``rehearse-db=`` names (``sandbox.DB_KINDS``; ``--database-url`` counts as postgres)
REHEARSE_DBS = ("pglite", "postgres")
#: Keys of the ``runbook:`` mapping in the front matter.
RUNBOOK_KEYS = {
    "id": "runbook id, used for the ledger file name (default: the file name, lower-cased)",
    "environment": "the environment the runbook operates on, e.g. staging (default: local)",
    "confirm": "the exact token that --confirm must match before any .step runs",
    "secrets": "environment variables that must be set; their values are redacted everywhere",
    "workdir": "directory the blocks run in, relative to the repository root (default: the runbook's folder)",
    "phases": "timeline rows in order: {id, name, estimate}",
    "timeout": "default time limit for every block (default 300 s)",
    "env": "non-secret variables for every block; ${VAR} expands from the environment",
    "fingerprint": "paths (relative to workdir) whose content hash every run records",
    "requires": "runs of other runbooks that --execute needs: {runbook, environment, same, path}",
    "summary": "label: text pairs describing the runbook (risk, backup, impact...), compared across runbooks",
    "target": "the database the runbook operates on, e.g. ${DATABASE_URL_STAGING}; runs record a digest of its host, port and database name",
    "acknowledge": "destructive or blocking findings of lint-migrations accepted per migration and rule: {migration, rule, by, reason}; runs record them",
}
REQUIRE_KEYS = ("runbook", "environment", "same", "path")
ACKNOWLEDGE_KEYS = ("migration", "rule", "by", "reason")
_RULE_RE = re.compile(r"^[a-z][a-z0-9-]*$")
#: Attributes of a troubleshooting heading (besides ``#id`` and ``.troubleshoot``).
ENTRY_ATTRIBUTES = {
    "match": "regular expression searched (multi-line) in a failed block's redacted output and reason",
    "exit": "exit code(s) the entry explains, comma-separated",
    "blocks": "ids of the blocks the entry covers, comma-separated (default: any block)",
}
ENTRY_CLASS = "troubleshoot"
PHASE_KEYS = ("id", "name", "estimate")
SHELLS = ("bash", "sh", "shell")

_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
#: a container header as the site's extensions read one (the header patterns of Python-Markdown's
#: admonition and pymdownx.details / pymdownx.tabbed, one line each): ``!!!note`` and
#: ``===! "T"`` are headers, a bare ``!!!`` is not; after the site expands tabs, so a tab is a space
_CONTAINER_RE = re.compile(
    r'^( *)(?:!!! ?[\w-]+(?: +[\w-]+)*(?: +".*?")?'
    r'|\?{3}\+? ?(?:(?:[\w-]+(?: +[\w-]+)*?)?(?: +".*?")|[\w-]+(?: +[\w-]+)*?)'
    r'|={3}(?:\+|\+!|!\+|!)? +".*?") *$'
)
_FENCE_PREFIX_RE = re.compile(r"^[ \t>]*")
#: block-quote markers as Python-Markdown strips them (up to 3 spaces, ``>``, one optional space)
_QUOTE_RE = re.compile(r"^(?: {0,3}> ?)*")
_FENCE_OPEN_RE = re.compile(r"^(`{3,}|~{3,})")
_DELIMITER_RE = re.compile(r"(?:-{3}|\.{3})[ \t]*")
#: a fence's info string as the site's pymdownx.superfences reads it: an optional language (a
#: leading dot allowed) followed by a space or the attributes' ``{``, then one attribute block
#: that runs to the line's last ``}``
_FENCE_INFO_RE = re.compile(r"^[ \t]*+(?:\.?(?P<lang>[\w#.+-]++)(?=[\t ]|$)[ \t]*+)?\{(?P<attrs>.*)\}[ \t]*+$")
DEFAULT_TIMEOUT_S = 300.0


def split_lines(raw: bytes) -> list[str]:
    """A Markdown file's lines as MkDocs reads them: UTF-8 (a byte-order mark dropped) with
    universal newlines — CRLF and a lone CR are line ends, as LF is — and nothing else
    (not splitlines(): U+2028, form feeds... belong to the code)."""
    return raw.decode("utf-8-sig").replace("\r\n", "\n").replace("\r", "\n").split("\n")


def read_lines(path: Path) -> list[str]:
    return split_lines(path.read_bytes())


def opens_front_matter(lines: list[str]) -> bool:
    """Whether the first line opens front matter as MkDocs reads it: ``---`` with only
    spaces or tabs after (mkdocs.utils.meta.YAML_RE; ``---`` and a no-break space is text)."""
    return bool(lines) and _DELIMITER_RE.fullmatch(lines[0]) is not None and lines[0].startswith("---")


def front_matter_end(lines: list[str]) -> int | None:
    """Index of the ``---``/``...`` line that closes the front matter, as MkDocs finds it
    (mkdocs.utils.meta.YAML_RE: at least one line of content, only spaces or tabs after
    the delimiter, a line end after it); ``None`` when the file has no front matter or it
    is never closed."""
    if not opens_front_matter(lines):
        return None
    return next((i for i in range(2, len(lines) - 1) if _DELIMITER_RE.fullmatch(lines[i])), None)


def read_attributes(text: str, *, heading: bool = False) -> tuple[dict[str, str | None], list[str], str]:
    """An attribute block's text (between its braces) read as the site reads it: with
    Python-Markdown's ``attr_list`` scanner, which ``pymdownx.superfences`` uses for fences
    and ``attr_list`` for headings (tabs count as 4 spaces). Returns ``(attributes,
    classes, unread)``; on a ``heading`` a leading ``:`` (attr_list's ``{: #x}``) is allowed, on a
    fence a lone ``:`` word is dropped as the site drops it. ``#x`` and ``id=x`` give ``attributes["id"]``, a later value
    replacing an earlier one; a bare word's value is ``None``; ``unread`` is the text
    from where the scanner stopped (the site drops it)."""
    text = text.replace("\t", "    ").lstrip()
    if heading and text.startswith(":"):  # attr_list's "{: ...}" spelling; on a fence superfences keeps ":" as a word
        text = text[1:]
    tokens, unread = attr_list._scanner.scan(text)  # the function the site calls hides what it drops
    attributes: dict[str, str | None] = {}
    classes: list[str] = []
    for key, value in tokens:
        if key == ".":
            classes.append(value)
        elif key != ":":  # "{: #x}" on a fence: superfences passes ":" on as an attribute no one reads
            attributes[key] = value
    return attributes, classes, unread.strip()


def _shown(text: str, limit: int = 80) -> str:
    """``text`` quoted for a problem message, cut to ``limit`` characters."""
    return repr(text) if len(text) <= limit else repr(text[:limit]) + f"… ({len(text)} characters)"


def _suggest(word: str, choices: Any) -> str:
    close = difflib.get_close_matches(word, [str(c) for c in choices], n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def unwrap_containers(lines: list[str]) -> list[str]:
    """Dedent admonition (``!!!``, ``???``) and content-tab (``===``) bodies in place.

    With the commonmark preset their 4-space indented bodies would be paragraphs or
    indented code; unwrapping them lets fences inside be found. A container inside a block
    quote is read after the quote's markers, which are kept. Line numbers are kept: the
    header line becomes blank (its quote markers only) and no line is added or removed.
    """
    out = list(lines)
    fence: str | None = None
    i = 0
    while i < len(out):
        bare = _FENCE_PREFIX_RE.sub("", out[i]).rstrip()
        opening = _FENCE_OPEN_RE.match(bare)
        if fence is not None:  # inside a code block: nothing here is a container header
            if bare.startswith(fence) and set(bare) == {fence[0]}:
                fence = None
            i += 1
            continue
        if opening:
            fence = opening.group(1)
            i += 1
            continue
        quote = _QUOTE_RE.match(out[i]).group()  # a container in a block quote: read after its markers
        m = _CONTAINER_RE.match(out[i][len(quote) :].expandtabs(4))
        if m:
            indent, depth = len(m.group(1)), quote.count(">")
            out[i] = quote.rstrip()  # a blank line would end the quote
            j = i + 1
            while j < len(out):
                marks = _QUOTE_RE.match(out[j]).group()
                rest = out[j][len(marks) :]
                if marks.count(">") != depth or (rest.strip() and (body := _dedent_columns(rest, indent)) is None):
                    break
                out[j] = marks + body if rest.strip() else marks.rstrip()
                j += 1
        i += 1
    return out


def _dedent_columns(line: str, indent: int) -> str | None:
    """``line`` without the 4 columns of indentation after its first ``indent`` spaces
    (a tab reaches the next multiple of 4, as in Python-Markdown and CommonMark), or
    ``None`` when it is not indented that far."""
    if not line.startswith(" " * indent):
        return None
    col, pos = indent, indent
    while col < indent + 4 and pos < len(line) and line[pos] in " \t":
        col = col + 1 if line[pos] == " " else (col // 4 + 1) * 4
        pos += 1
    if col < indent + 4:
        return None
    return " " * (col - indent - 4) + line[:indent] + line[pos:] if col > indent + 4 else line[:indent] + line[pos:]


# libyaml's loader when PyYAML has it: a site build parses every runbook's front matter
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@cache
def _markdown() -> MarkdownIt:
    """One CommonMark parser for every runbook (parsing keeps no state in it). Only block
    structure matters (fences, headings, paragraphs: their ``content`` is the raw text),
    so inline parsing is left out."""
    return MarkdownIt("commonmark").disable("inline")


#: the most values front matter may expand to (aliases counted each time they are used)
MAX_FRONT_MATTER_VALUES = 10_000


def parse_markdown(lines: list[str]) -> list[Any]:
    """markdown-it tokens of a page's lines, container bodies unwrapped (``unwrap_containers``):
    the one reading of a page's block structure, for the checker and the site plugin alike."""
    return _markdown().parse("\n".join(unwrap_containers(lines)))


class _FrontMatterProblem(Exception):
    def __init__(self, line: int, message: str):
        super().__init__(message)
        self.line, self.message = line, message


def _check_node(node: Any) -> None:
    """Refuse, before anything is built from it, front matter that would expand past
    ``MAX_FRONT_MATTER_VALUES`` values (an alias bomb), refers to itself, or repeats a
    key in one mapping (YAML would keep the last value silently). Lines are 1-based in
    the file (the ``---`` line is line 1)."""
    sizes: dict[int, int] = {}
    busy: set[int] = set()

    def size(n: Any) -> int:
        if id(n) in sizes:
            return sizes[id(n)]
        if id(n) in busy:
            raise _FrontMatterProblem(n.start_mark.line + 2, "front matter refers to itself (a recursive YAML alias)")
        busy.add(id(n))
        total = 1
        if isinstance(n, yaml.MappingNode):
            seen: dict[str, int] = {}
            for k, v in n.value:
                if isinstance(k, yaml.ScalarNode) and k.tag != "tag:yaml.org,2002:merge":
                    if k.value in seen:
                        raise _FrontMatterProblem(
                            k.start_mark.line + 2,
                            f"duplicate key {k.value!r} (first at line {seen[k.value]}): "
                            "YAML would keep only the last one; remove one of them",
                        )
                    seen[k.value] = k.start_mark.line + 2
                total += size(k) + size(v)
        elif isinstance(n, yaml.SequenceNode):
            total += sum(size(item) for item in n.value)
        busy.discard(id(n))
        sizes[id(n)] = total
        if total > MAX_FRONT_MATTER_VALUES:
            raise _FrontMatterProblem(
                n.start_mark.line + 2,
                f"front matter expands to more than {MAX_FRONT_MATTER_VALUES:,} values "
                "(YAML aliases used over and over?); write it out plainly",
            )
        return total

    size(node)


def _load_yaml(text: str, loader_class: Any) -> tuple[Any, Any]:
    """The document's node (for key lines) and its data; raises ``_FrontMatterProblem``
    for front matter ``_check_node`` refuses, or that nests too deeply to read."""
    loader = loader_class(text)
    try:
        try:
            node = loader.get_single_node()
            if node is None:
                return None, {}
            _check_node(node)
            return node, loader.construct_document(node)
        except RecursionError:
            raise _FrontMatterProblem(2, "front matter nests too deeply to read") from None
    finally:
        loader.dispose()


class _Parser:
    def __init__(self, path: Path, display: str):
        self.path = path
        self.display = display
        self.problems: list[Problem] = []

    def problem(self, line: int, message: str) -> None:
        self.problems.append(Problem(self.display, line, message))

    # -- front matter ---------------------------------------------------------------
    def front_matter(self, lines: list[str]) -> tuple[dict[str, Any], dict[str, int], int]:
        """Returns (data, key -> line, number of front-matter lines)."""
        if not opens_front_matter(lines):
            return {}, {}, 0
        end = front_matter_end(lines)
        if end is None:
            self.problem(1, "front matter is not closed: add a '---' line after it")
            return {}, {}, 0
        text = "\n".join(lines[1:end])
        try:
            try:
                node, data = _load_yaml(text, _YAML_LOADER)
            except yaml.YAMLError as exc:  # the pure-Python loader words the problem and its line better
                _load_yaml(text, yaml.SafeLoader)
                # MkDocs reads front matter with libyaml too: what only PyYAML reads, the site shows as text
                mark = getattr(exc, "problem_mark", None)
                raise _FrontMatterProblem(
                    mark.line + 2 if mark is not None else 1,
                    "front matter is not valid YAML for the site "
                    f"(libyaml), so the page would show it as text: {getattr(exc, 'problem', None) or exc}",
                ) from None
            except ValueError as exc:  # a value YAML's types refuse (date: 2024-02-30)
                raise _FrontMatterProblem(1, f"front matter is not valid YAML: a value cannot be read: {exc}") from None
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
            line = mark.line + 2 if mark is not None else 1
            reason = getattr(exc, "problem", None) or str(exc).splitlines()[0]
            self.problem(line, f"front matter is not valid YAML: {reason}")
            return {}, {}, end + 1
        except _FrontMatterProblem as exc:
            self.problem(exc.line, exc.message)
            return {}, {}, end + 1
        if not isinstance(data, dict):
            self.problem(2, "front matter must be a mapping of keys to values")
            return {}, {}, end + 1
        key_lines: dict[str, int] = {}
        self._collect_lines(node, "", key_lines)
        return data, key_lines, end + 1

    def _collect_lines(self, node: Any, prefix: str, out: dict[str, int]) -> None:
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                key = f"{prefix}{k.value}"
                out[key] = k.start_mark.line + 2
                self._collect_lines(v, key + ".", out)
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                out[f"{prefix}{i}"] = item.start_mark.line + 2
                self._collect_lines(item, f"{prefix}{i}.", out)

    def runbook_meta(self, data: dict[str, Any], key_lines: dict[str, int]) -> dict[str, Any]:
        meta = data.get("runbook")
        where = key_lines.get("runbook", 1)
        if meta is None:
            return {}
        if not isinstance(meta, dict):
            self.problem(where, "'runbook' must be a mapping (id, environment, confirm, secrets, workdir, phases)")
            return {}
        for key in meta:
            if key not in RUNBOOK_KEYS:
                self.problem(
                    key_lines.get(f"runbook.{key}", where), f"unknown front-matter key 'runbook.{key}'" + _suggest(str(key), RUNBOOK_KEYS)
                )
        out: dict[str, Any] = {}
        for key in ("id", "environment", "confirm", "workdir", "target"):
            if key in meta:
                value = meta[key]
                if not isinstance(value, str) or not value.strip():
                    self.problem(key_lines.get(f"runbook.{key}", where), f"'runbook.{key}' must be a non-empty string")
                elif key in ("id", "environment") and not _ID_RE.match(value):
                    self.problem(
                        key_lines.get(f"runbook.{key}", where), f"'runbook.{key}' {value!r} may hold only letters, digits, '.', '_' and '-'"
                    )
                else:
                    out[key] = value
        secrets = meta.get("secrets", [])
        if isinstance(secrets, str):
            secrets = [secrets]
        if not isinstance(secrets, list):
            self.problem(key_lines.get("runbook.secrets", where), "'runbook.secrets' must be a list of environment variable names")
            secrets = []
        good = []
        for i, name in enumerate(secrets):
            if not isinstance(name, str) or not _ENV_NAME_RE.match(name):
                self.problem(key_lines.get(f"runbook.secrets.{i}", where), f"secret {name!r} is not an environment variable name")
            elif name in good:
                self.problem(key_lines.get(f"runbook.secrets.{i}", where), f"secret {name!r} is declared twice")
            else:
                good.append(name)
        out["secrets"] = tuple(good)
        if "timeout" in meta:
            t = parse_duration(meta["timeout"])
            if t is None or t[0] <= 0:
                self.problem(
                    key_lines.get("runbook.timeout", where),
                    f"'runbook.timeout' {meta['timeout']!r} is not a duration (e.g. 300, 90s, 5min)",
                )
            else:
                out["timeout"] = t[0]
        out["phases"] = self.phases(meta.get("phases", []), key_lines, where)
        out["env"] = self.env(meta.get("env", {}), key_lines, where)
        summary = meta.get("summary", {})
        if not isinstance(summary, dict) or not all(isinstance(v, (str, int, float)) for v in summary.values()):
            self.problem(key_lines.get("runbook.summary", where), "'runbook.summary' must be a mapping of labels to short texts")
            summary = {}
        out["summary"] = tuple((str(k), str(v)) for k, v in summary.items())
        out["fingerprint"] = self.strings(meta.get("fingerprint", []), "runbook.fingerprint", key_lines, where)
        out["requires"] = self.requires(meta.get("requires", []), key_lines, where)
        out["acknowledge"] = self.acknowledge(meta.get("acknowledge", []), key_lines, where)
        if "target" in out and variable(out["target"]) is None:
            self.problem(
                key_lines.get("runbook.target", where),
                f"'runbook.target' {out['target']!r} must name one variable, e.g. ${{DATABASE_URL_STAGING}}",
            )
            del out["target"]
        return out

    def env(self, raw: Any, key_lines: dict[str, int], where: int) -> tuple[tuple[str, str], ...]:
        line = key_lines.get("runbook.env", where)
        if not isinstance(raw, dict):
            self.problem(line, "'runbook.env' must be a mapping of variable names to values")
            return ()
        out = []
        for name, value in raw.items():
            at = key_lines.get(f"runbook.env.{name}", line)
            if not isinstance(name, str) or not _ENV_NAME_RE.match(name):
                self.problem(at, f"'runbook.env': {name!r} is not an environment variable name")
            elif not isinstance(value, (str, int, float)) or isinstance(value, bool):
                self.problem(at, f"'runbook.env.{name}' must be a string")
            else:
                out.append((name, str(value)))
        return tuple(out)

    def strings(self, raw: Any, key: str, key_lines: dict[str, int], where: int) -> tuple[str, ...]:
        if isinstance(raw, str):
            raw = [raw]
        if not isinstance(raw, list) or not all(isinstance(x, str) and x.strip() for x in raw):
            self.problem(key_lines.get(key, where), f"'{key}' must be a list of paths")
            return ()
        return tuple(raw)

    def requires(self, raw: Any, key_lines: dict[str, int], where: int) -> tuple[Requirement, ...]:
        if not isinstance(raw, list):
            self.problem(
                key_lines.get("runbook.requires", where), "'runbook.requires' must be a list of {runbook, environment, same, path}"
            )
            return ()
        out = []
        for i, item in enumerate(raw):
            line = key_lines.get(f"runbook.requires.{i}", where)
            if not isinstance(item, dict) or not isinstance(item.get("runbook"), str):
                self.problem(line, "a requirement needs at least 'runbook: <id>'")
                continue
            if not _ID_RE.match(item["runbook"]):  # it names a ledger file: no paths
                self.problem(line, f"requirement runbook id {item['runbook']!r} may hold only letters, digits, '.', '_' and '-'")
                continue
            for key in item:
                if key not in REQUIRE_KEYS:
                    self.problem(line, f"unknown requirement key {key!r}" + _suggest(str(key), REQUIRE_KEYS))
            same = self.strings(item.get("same", []), f"runbook.requires.{i}.same", key_lines, line)
            env, path = item.get("environment"), item.get("path")
            out.append(Requirement(item["runbook"], str(env) if env else None, same, str(path) if path else None, line))
        return tuple(out)

    def acknowledge(self, raw: Any, key_lines: dict[str, int], where: int) -> tuple[Acknowledgement, ...]:
        """``runbook.acknowledge``: a list of ``{migration, rule, by, reason}``, every key a
        non-empty string, one entry per (migration, rule); each bad entry is a problem at its line."""
        shape = "'runbook.acknowledge' must be a list of {migration, rule, by, reason}"
        if not isinstance(raw, list):
            self.problem(key_lines.get("runbook.acknowledge", where), shape)
            return ()
        out: list[Acknowledgement] = []
        for i, item in enumerate(raw):
            line = key_lines.get(f"runbook.acknowledge.{i}", where)
            if not isinstance(item, dict):
                self.problem(line, f"an acknowledgement must be a mapping {{migration, rule, by, reason}}, not {item!r}")
                continue
            bad = False
            for key in item:
                if key not in ACKNOWLEDGE_KEYS:
                    self.problem(
                        key_lines.get(f"runbook.acknowledge.{i}.{key}", line),
                        f"unknown acknowledgement key {key!r}" + _suggest(str(key), ACKNOWLEDGE_KEYS),
                    )
                    bad = True
            values: dict[str, str] = {}
            for key in ACKNOWLEDGE_KEYS:
                value = item.get(key)
                at = key_lines.get(f"runbook.acknowledge.{i}.{key}", line)
                if not isinstance(value, str) or not value.strip():
                    what = "missing" if value is None else f"{value!r}, not a non-empty string"
                    self.problem(at, f"acknowledgement: '{key}' is {what}; every entry needs migration, rule, by (who) and reason")
                    bad = True
                else:
                    values[key] = value.strip()
            if "migration" in values and not _ID_RE.match(values["migration"]):
                self.problem(
                    key_lines.get(f"runbook.acknowledge.{i}.migration", line),
                    f"acknowledgement: migration {values['migration']!r} is not a migration directory name (e.g. 20261001090000_drop_legacy)",
                )
                bad = True
            if "rule" in values and not _RULE_RE.match(values["rule"]):
                self.problem(
                    key_lines.get(f"runbook.acknowledge.{i}.rule", line),
                    f"acknowledgement: rule {values['rule']!r} is not a squawk rule name (e.g. ban-drop-column)",
                )
                bad = True
            if bad:
                continue
            twin = next((a for a in out if (a.migration, a.rule) == (values["migration"], values["rule"])), None)
            if twin is not None:
                self.problem(
                    line, f"acknowledgement of {values['rule']} in {values['migration']} is given twice (first at line {twin.line})"
                )
                continue
            out.append(Acknowledgement(values["migration"], values["rule"], values["by"], values["reason"], line))
        return tuple(out)

    def phases(self, raw: Any, key_lines: dict[str, int], where: int) -> tuple[Phase, ...]:
        if not isinstance(raw, list):
            self.problem(key_lines.get("runbook.phases", where), "'runbook.phases' must be a list of {id, name, estimate}")
            return ()
        phases: list[Phase] = []
        for i, item in enumerate(raw):
            line = key_lines.get(f"runbook.phases.{i}", where)
            if not isinstance(item, dict):
                self.problem(line, "a phase must be a mapping {id, name, estimate}")
                continue
            for key in item:
                if key not in PHASE_KEYS:
                    self.problem(line, f"unknown phase key {key!r}" + _suggest(str(key), PHASE_KEYS))
            pid, name, estimate = item.get("id"), item.get("name"), item.get("estimate")
            if not isinstance(pid, str) or not _ID_RE.match(pid):
                self.problem(line, f"phase id {pid!r} is missing or not a valid id")
                continue
            if any(p.id == pid for p in phases):
                self.problem(line, f"phase {pid!r} is declared twice")
                continue
            rng = parse_duration(estimate, default_unit="min") if estimate is not None else None
            if rng is None:
                self.problem(line, f"phase {pid!r}: estimate {estimate!r} is not a duration range (e.g. '1-2 min', '30 s')")
                continue
            phases.append(Phase(pid, str(name) if name else pid, str(estimate), rng, line))
        return tuple(phases)

    # -- blocks ---------------------------------------------------------------------
    def blocks(self, lines: list[str], meta: dict[str, Any]) -> tuple[Block, ...]:
        tokens = parse_markdown(lines)
        self.tokens = tokens
        phase_ids = [p.id for p in meta.get("phases", ())]
        default_timeout = meta.get("timeout", DEFAULT_TIMEOUT_S)
        blocks: list[Block] = []
        seen: dict[str, int] = {}
        for tok in tokens:
            if tok.type != "fence" or tok.map is None:
                continue
            line = tok.map[0] + 1
            self._check_terminated(tok, lines)
            block = self._block(tok, line, lines, phase_ids, default_timeout)
            if block is None:
                continue
            if block.id in seen:
                self.problem(line, f"duplicate block id {block.id!r} (first used at line {seen[block.id]})")
                continue
            if block.needs is not None and block.needs not in seen:
                self.problem(
                    line, f"block {block.id!r}: needs={block.needs!r} is not the id of an earlier block" + _suggest(block.needs, seen)
                )
            steps = [b.id for b in blocks if b.kind == STEP]
            if block.after is not None and block.after not in steps:
                self.problem(
                    line, f"block {block.id!r}: after={block.after!r} is not the id of an earlier .step" + _suggest(block.after, steps)
                )
            if block.pending_exit is not None and (block.kind != CHECK or block.pending_exit in block.exit_codes):
                self.problem(line, f"block {block.id!r}: pending-exit belongs on a .check, with a code that is not also in exit=")
            if block.preview and block.kind != CHECK:
                self.problem(
                    line,
                    f"block {block.id!r}: preview=yes marks a read-only .check that also runs in a dry run; a .step "
                    "changes things and never runs in a dry run: remove preview=yes or make the block a .check",
                )
            seen[block.id] = line
            blocks.append(block)
        return tuple(blocks)

    def _check_terminated(self, tok: Any, lines: list[str]) -> None:
        start, end = tok.map
        closing = _FENCE_PREFIX_RE.sub("", lines[end - 1]).rstrip() if end - 1 > start else ""
        ch = tok.markup[0]
        if not (closing.startswith(tok.markup) and set(closing) == {ch}):
            self.problem(start + 1, f"unterminated code fence: add a closing {tok.markup} line")

    def _block(self, tok: Any, line: int, lines: list[str], phase_ids: list[str], default_timeout: float) -> Block | None:
        opening = lines[line - 1]
        info = opening[opening.index(tok.markup) + len(tok.markup) :]  # as written: no CommonMark unescaping
        m = _FENCE_INFO_RE.match(info)
        if m is None:
            if "{" in info and re.search(r"\.(check|step)\b", info):
                after = info[info.rfind("}") + 1 :].strip() if "}" in info else ""
                if "}" not in info:
                    self.problem(line, "the attribute block is not closed: add '}' at the end of the line")
                    return None
                self.problem(
                    line,
                    f"unexpected text after the attributes: {_shown(after)}; the page then shows no tagged block"
                    if after
                    else f"the site does not read {info.strip()!r} as a language and attributes, so the page shows "
                    "no tagged block: write ```bash {#id .check}, with a space before '{'",
                )
            return None
        attrs, classes, unread = read_attributes(m.group("attrs"))
        lang = m.group("lang")
        if lang is None:  # the site takes the first class as the language
            if classes and classes[0] in KINDS:
                self.problem(
                    line,
                    f"the fence has no language, so the site takes '.{classes[0]}' as its language and shows no "
                    f"{classes[0]}: write ```bash {{{m.group('attrs').strip()}}}",
                )
                return None
            lang = classes.pop(0) if classes else ""
        if unread and re.search(r"\.(check|step)\b", info):
            self.problem(line, f"attribute text the site does not read: {_shown(unread)} (write key=value, key=\"a b\" or key='a b')")
        kinds = [c for c in classes if c in KINDS]
        others = [c for c in classes if c not in KINDS]
        ours = set(attrs) & set(BLOCK_ATTRIBUTES)
        kind_like = [c for c in others if difflib.get_close_matches(c, KINDS, n=1, cutoff=0.6)]
        if not kinds:
            if ours or kind_like:
                bad = kind_like[0] if kind_like else None
                hint = f"unknown kind '.{bad}'" + _suggest(bad, KINDS) if bad else "tagged block has no kind"
                self.problem(line, f"{hint}: use .check (read-only) or .step (mutating)")
            return None
        if len(kinds) > 1:
            self.problem(line, "a block is either .check or .step, not both")
        for c in others:
            self.problem(line, f"unknown class '.{c}': the kind is .check or .step")
        block_id = attrs.pop("id", None)
        if not block_id:
            self.problem(line, "tagged block has no id: add {#some-id ...}")
            return None
        if not _ID_RE.match(block_id):
            self.problem(line, f"block id {block_id!r} may hold only letters, digits, '.', '_' and '-'")
        if lang not in SHELLS:
            self.problem(line, f"block {block_id!r}: language {lang or '(none)'!r} cannot run; tagged blocks are {', '.join(SHELLS)}")
        values: dict[str, Any] = {}
        for key, raw in attrs.items():
            if key not in BLOCK_ATTRIBUTES:
                self.problem(line, f"block {block_id!r}: unknown attribute {_shown(key)}" + _suggest(key, BLOCK_ATTRIBUTES))
                continue
            if raw is None:
                self.problem(line, f"block {block_id!r}: {key} needs a value ({key}=...)")
                continue
            value = self._value(key, raw, block_id, line, phase_ids)
            if value is not None:
                values[key] = value
        code = re.sub(r"\n\n+\Z", "\n", tok.content)  # the page never shows trailing blank lines, so they do not run
        digest_src = json.dumps({"kind": kinds[0], "lang": lang, "code": code, "attrs": attrs}, sort_keys=True)
        return Block(
            id=block_id,
            kind=kinds[0],
            lang=lang,
            code=code,
            path=self.path,
            line=line,
            phase=values.get("phase"),
            criterion=values.get("criterion"),
            exit_codes=values.get("exit", (0,)),
            expect=values.get("expect"),
            expect_regex=values.get("expect-regex"),
            forbid=values.get("forbid"),
            timeout_s=values.get("timeout", default_timeout),
            retries=values.get("retries", 0),
            retry_delay_s=values.get("retry-delay", 1.0),
            needs=values.get("needs"),
            after=values.get("after"),
            pending_exit=values.get("pending-exit"),
            read_only=values.get("read-only"),
            rehearse_db=values.get("rehearse-db", ()),
            preview=values.get("preview", False),
            sha256=sha256_text(digest_src),
        )

    def _value(self, key: str, raw: str, block_id: str, line: int, phase_ids: list[str]) -> Any:
        where = f"block {block_id!r}: {key}={raw!r}"
        if key == "phase":
            if raw not in phase_ids:
                declared = ", ".join(phase_ids) or "none"
                self.problem(line, f"{where} is not a phase declared in the front matter (declared: {declared})" + _suggest(raw, phase_ids))
                return None
            return raw
        if key in ("criterion", "expect", "forbid", "needs", "after", "read-only"):
            if not raw.strip():
                self.problem(line, f"{where} must not be empty")
                return None
            return raw
        if key == "expect-regex":
            try:
                regex.compile(raw)
            except regex.error as exc:
                self.problem(line, f"{where} is not a valid regular expression: {exc}")
                return None
            return raw
        if key == "exit":
            try:
                codes = tuple(int(x) for x in raw.split(","))
            except ValueError:
                codes = ()
            if not codes or any(not 0 <= c <= 255 for c in codes):
                self.problem(line, f"{where} must be exit codes 0-255, comma-separated")
                return None
            return codes
        if key == "rehearse-db":
            kinds = tuple(k.strip() for k in raw.split(","))
            if not all(k in REHEARSE_DBS for k in kinds):
                self.problem(line, f"{where} must name database kinds, comma-separated: {', '.join(REHEARSE_DBS)}")
                return None
            return kinds
        if key == "pending-exit":
            if not raw.isdigit() or not 1 <= int(raw) <= 255:
                self.problem(line, f"{where} must be an exit code from 1 to 255")
                return None
            return int(raw)
        if key == "preview":
            if raw not in ("yes", "no"):
                self.problem(line, f"{where} must be yes or no")
                return None
            return raw == "yes"
        if key == "retries":
            if not raw.isdigit() or int(raw) > 10:
                self.problem(line, f"{where} must be a whole number from 0 to 10")
                return None
            return int(raw)
        rng = parse_duration(raw)  # timeout, retry-delay
        limit = 7 * 86400 if key == "timeout" else 3600
        if rng is None or rng[0] != rng[1] or (key == "timeout" and rng[0] <= 0):
            self.problem(line, f"{where} is not a duration (e.g. 120, 90s, 2min)")
            return None
        if rng[0] > limit:
            self.problem(line, f"{where} is longer than {format_duration(limit)}")
            return None
        return rng[0]

    def entries(self, blocks: tuple[Block, ...]) -> tuple[TroubleshootingEntry, ...]:
        """Headings tagged ``{#id .troubleshoot ...}`` and the sections under them."""
        tokens = self.tokens
        headings = [(i, t) for i, t in enumerate(tokens) if t.type == "heading_open" and t.map]
        ids = {b.id for b in blocks}
        out: list[TroubleshootingEntry] = []
        for n, (i, tok) in enumerate(headings):
            content = tokens[i + 1].content.rstrip()
            if not content.endswith("}") or "{" not in content:
                continue
            brace = content.rindex("{")
            attrs, classes, _ = read_attributes(content[brace + 1 : -1], heading=True)
            if ENTRY_CLASS not in classes:
                continue
            line, level = tok.map[0] + 1, int(tok.tag[1])
            entry_id = attrs.pop("id", None)
            if not entry_id or not _ID_RE.match(entry_id):
                self.problem(line, "troubleshooting entry needs an id: {#some-id .troubleshoot ...}")
                continue
            values: dict[str, Any] = {}
            for key, raw in attrs.items():
                if key not in ENTRY_ATTRIBUTES:
                    self.problem(line, f"entry {entry_id!r}: unknown attribute {key!r}" + _suggest(key, ENTRY_ATTRIBUTES))
                elif raw is None:
                    self.problem(line, f"entry {entry_id!r}: {key} needs a value ({key}=...)")
                elif key == "match":
                    try:
                        regex.compile(raw)
                        values["match"] = raw
                    except regex.error as exc:
                        self.problem(line, f"entry {entry_id!r}: match={raw!r} is not a valid regular expression: {exc}")
                elif key == "exit":
                    codes = self._value("exit", raw, entry_id, line, [])
                    if codes is not None:
                        values["exit"] = codes
                else:
                    listed = tuple(x.strip() for x in raw.split(",") if x.strip())
                    for ref in listed:
                        if ref not in ids:
                            self.problem(
                                line,
                                f"entry {entry_id!r}: blocks= names {ref!r}, which is not a block of this runbook" + _suggest(ref, ids),
                            )
                    values["blocks"] = listed
            if not values:
                self.problem(line, f"entry {entry_id!r} explains nothing: give it match=, exit= and/or blocks=")
            end_line = next((t.map[0] + 1 for _, t in headings[n + 1 :] if int(t.tag[1]) <= level), 10**9)
            advice = next(
                (
                    tokens[j + 1].content
                    for j in range(i + 3, len(tokens))
                    if tokens[j].type == "paragraph_open" and tokens[j].map and tokens[j].map[0] + 1 < end_line
                ),
                "",
            )
            diagnostics = tuple(b.id for b in blocks if line < b.line < end_line and b.kind == "check")
            recovery = tuple(b.id for b in blocks if line < b.line < end_line and b.kind == STEP)
            out.append(
                TroubleshootingEntry(
                    entry_id,
                    content[:brace].strip(),
                    line,
                    level,
                    values.get("match"),
                    values.get("exit", ()),
                    values.get("blocks", ()),
                    " ".join(advice.split()),
                    diagnostics,
                    recovery,
                )
            )
        seen: dict[str, int] = {b.id: b.line for b in blocks}
        patterns: dict[str, str] = {}
        for entry in out:
            if entry.id in seen:
                self.problem(entry.line, f"duplicate id {entry.id!r} (also used at line {seen[entry.id]})")
            seen[entry.id] = entry.line
            if entry.match and entry.match in patterns:
                self.problem(entry.line, f"entry {entry.id!r} has the same match= pattern as entry {patterns[entry.match]!r}")
            elif entry.match:
                patterns[entry.match] = entry.id
        return tuple(out)


def _title(data: dict[str, Any], lines: list[str], path: Path) -> str:
    if isinstance(data.get("title"), str):
        return data["title"]
    for line in lines:
        if line.startswith("# "):
            return line[2:].strip()
    return path.stem


def parse_runbook(path: str | Path, display: str | None = None, data: bytes | None = None) -> tuple[Runbook | None, list[Problem]]:
    """Parse a runbook file (``data``: its bytes, already read); returns the runbook (None
    if unreadable) and every problem found."""
    path = Path(path)
    display = display or str(path)
    p = _Parser(path, display)
    try:
        raw = path.read_bytes() if data is None else data
        lines = split_lines(raw)
    except FileNotFoundError:
        return None, [Problem(display, 0, "no such file")]
    except (OSError, UnicodeDecodeError) as exc:
        return None, [Problem(display, 0, f"cannot read runbook: {exc}")]
    data, key_lines, fm_len = p.front_matter(lines)
    meta = p.runbook_meta(data, key_lines)
    body = [""] * fm_len + lines[fm_len:]
    blocks = p.blocks(body, meta)
    entries = p.entries(blocks)
    root = find_root(path.parent)
    workdir = (root / meta["workdir"]) if "workdir" in meta else path.parent
    runbook = Runbook(
        path=path,
        id=meta.get("id", re.sub(r"[^a-z0-9_.-]+", "-", path.stem.lower()).strip("-.") or "runbook"),
        title=_title(data, body, path),
        environment=meta.get("environment", "local"),
        confirm=meta.get("confirm"),
        secrets=meta.get("secrets", ()),
        workdir=workdir.resolve(),
        phases=meta.get("phases", ()),
        blocks=blocks,
        sha256=sha256_text(raw),
        root=root,
        env=meta.get("env", ()),
        fingerprint=meta.get("fingerprint", ()),
        requires=meta.get("requires", ()),
        summary=meta.get("summary", ()),
        entries=entries,
        target=meta.get("target"),
        acknowledge=meta.get("acknowledge", ()),
    )
    return runbook, sorted(p.problems)


def is_runbook(path: Path) -> bool:
    """Whether a Markdown file is a runbook: front matter with a ``runbook:`` key."""
    try:
        with open(path, encoding="utf-8-sig", errors="replace") as fh:
            lines = fh.read(65536).splitlines()
    except OSError:
        return False
    if not opens_front_matter(lines):
        return False
    end = front_matter_end(lines) or len(lines)  # an unclosed front matter is still a runbook, to be reported
    return any(line.startswith("runbook:") for line in lines[1:end])
