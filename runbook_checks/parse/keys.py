"""Front-matter values: how each key of the ``runbook:`` mapping is read.

Every converter takes the value YAML gave and an ``At`` (the key's place: its lines and
where problems go) and returns the value the model holds. A single problem is raised as
``Invalid`` (reported at the key's line); a list whose items can each be wrong reports
each at its item's line and keeps the good ones. The spec rows (``spec``) name these.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..model import Acknowledgement, Phase, Requirement
from ..target import variable
from ..units import parse_duration
from .values import ENV_NAME_RE, ID_RE, Invalid, suggest

REQUIRE_KEYS = ("runbook", "environment", "same", "path", "target")
#: what a requirement's ``target`` may say: the required runbook's wave-0 targets
CANARY = "canary"
ACKNOWLEDGE_KEYS = ("migration", "rule", "by", "reason")
PHASE_KEYS = ("id", "name", "estimate")
#: a squawk rule name, e.g. ``ban-drop-column``
_RULE_RE = re.compile(r"^[a-z][a-z0-9-]*$")


@dataclass
class At:
    """A front-matter key's place: its dotted path, the source map and the problems found."""

    #: the dotted key, e.g. ``runbook.secrets``
    key: str
    #: the source map: dotted key path -> 1-based line (``runbook.secrets.0`` for a list item)
    key_lines: dict[str, int]
    #: the line of the ``runbook:`` key, where a key without a line of its own is reported
    where: int
    #: ``(line, message)`` of each problem found
    problems: list[tuple[int, str]] = field(default_factory=list)

    def line(self, sub: str = "", default: int | None = None) -> int:
        """The line of ``key.sub`` (of ``key`` when ``sub`` is empty); else ``default``, else
        the key's line, else the ``runbook:`` line."""
        fallback = default if default is not None else self.key_lines.get(self.key, self.where)
        return self.key_lines.get(f"{self.key}.{sub}" if sub else self.key, fallback)

    def problem(self, line: int, message: str) -> None:
        """Record a problem at ``line`` (1-based in the file)."""
        self.problems.append((line, message))


def non_empty(raw: Any, at: At) -> str:
    """A non-empty string."""
    if not isinstance(raw, str) or not raw.strip():
        raise Invalid(f"'{at.key}' must be a non-empty string")
    return raw


def an_id(raw: Any, at: At) -> str:
    """A non-empty string of letters, digits, ``.``, ``_`` and ``-`` (it names files)."""
    value = non_empty(raw, at)
    if not ID_RE.match(value):
        raise Invalid(f"'{at.key}' {value!r} may hold only letters, digits, '.', '_' and '-'")
    return value


def target(raw: Any, at: At) -> str:
    """A non-empty string naming exactly one variable (``${DATABASE_URL_STAGING}``)."""
    value = non_empty(raw, at)
    if variable(value) is None:
        raise Invalid(f"'{at.key}' {value!r} must name one variable, e.g. ${{DATABASE_URL_STAGING}}")
    return value


def duration_s(raw: Any, at: At) -> float:
    """One duration in seconds, more than 0 (``300``, ``90s``, ``5min``)."""
    t = parse_duration(raw)
    if t is None or t[0] <= 0:
        raise Invalid(f"'{at.key}' {raw!r} is not a duration (e.g. 300, 90s, 5min)")
    return t[0]


def secrets(raw: Any, at: At) -> tuple[str, ...]:
    """Environment variable names, each once (one name alone may be written as a string)."""
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list):
        raise Invalid(f"'{at.key}' must be a list of environment variable names")
    good: list[str] = []
    for i, name in enumerate(raw):
        if not isinstance(name, str) or not ENV_NAME_RE.match(name):
            at.problem(at.line(str(i), at.where), f"secret {name!r} is not an environment variable name")
        elif name in good:
            at.problem(at.line(str(i), at.where), f"secret {name!r} is declared twice")
        else:
            good.append(name)
    return tuple(good)


def env(raw: Any, at: At) -> tuple[tuple[str, str], ...]:
    """A mapping of variable names to strings (numbers are written as text), as ``(name, value)`` pairs."""
    if not isinstance(raw, dict):
        raise Invalid(f"'{at.key}' must be a mapping of variable names to values")
    out = []
    for name, value in raw.items():
        line = at.line(str(name))
        if not isinstance(name, str) or not ENV_NAME_RE.match(name):
            at.problem(line, f"'{at.key}': {name!r} is not an environment variable name")
        elif not isinstance(value, (str, int, float)) or isinstance(value, bool):
            at.problem(line, f"'{at.key}.{name}' must be a string")
        else:
            out.append((name, str(value)))
    return tuple(out)


def summary(raw: Any, at: At) -> tuple[tuple[str, str], ...]:
    """A mapping of labels to short texts (numbers allowed), as ``(label, text)`` pairs."""
    if not isinstance(raw, dict) or not all(isinstance(v, (str, int, float)) for v in raw.values()):
        raise Invalid(f"'{at.key}' must be a mapping of labels to short texts")
    return tuple((str(k), str(v)) for k, v in raw.items())


def paths(raw: Any, at: At) -> tuple[str, ...]:
    """Non-empty path strings (one path alone may be written as a string)."""
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list) or not all(isinstance(x, str) and x.strip() for x in raw):
        raise Invalid(f"'{at.key}' must be a list of paths")
    return tuple(raw)


def requires(raw: Any, at: At) -> tuple[Requirement, ...]:
    """``{runbook, environment, same, path, target}`` items; ``runbook`` is required and an id;
    ``target``, when written, is ``canary`` and needs ``path``."""
    if not isinstance(raw, list):
        raise Invalid(f"'{at.key}' must be a list of {{runbook, environment, same, path}}")
    out = []
    for i, item in enumerate(raw):
        line = at.line(str(i), at.where)
        if not isinstance(item, dict) or not isinstance(item.get("runbook"), str):
            at.problem(line, "a requirement needs at least 'runbook: <id>'")
            continue
        if not ID_RE.match(item["runbook"]):  # it names a ledger file: no paths
            at.problem(line, f"requirement runbook id {item['runbook']!r} may hold only letters, digits, '.', '_' and '-'")
            continue
        for key in item:
            if key not in REQUIRE_KEYS:
                at.problem(line, f"unknown requirement key {key!r}" + suggest(str(key), REQUIRE_KEYS))
        same_at = At(f"{at.key}.{i}.same", at.key_lines, line, at.problems)
        try:
            same = paths(item.get("same", []), same_at)
        except Invalid as exc:
            at.problem(same_at.line(), str(exc))
            same = ()
        environment, path, target = item.get("environment"), item.get("path"), item.get("target")
        if target is not None and target != CANARY:
            at.problem(
                line,
                f"requirement target {target!r}: the only value is {CANARY!r} (its wave-0 targets); leave it out for the target of the same name",
            )
            target = None
        elif target == CANARY and not path:
            at.problem(
                line,
                f"requirement 'target: {CANARY}' needs 'path' naming runbook {item['runbook']!r}, where its canary targets are declared",
            )
            target = None
        out.append(Requirement(item["runbook"], str(environment) if environment else None, same, str(path) if path else None, line, target))
    return tuple(out)


def mappings(raw: list[Any], at: At, noun: str, keys: Sequence[str]) -> Iterator[tuple[int, int, dict[Any, Any], bool]]:
    """``(index, line, item, has_unknown_keys)`` for each item of ``raw`` (a YAML list at
    ``at``; item lines at ``at.key.<i>``) that is a mapping; an item that is not one is a
    problem at its line and left out, and each key not in ``keys`` a problem at its own
    line (``noun`` names an item: "a target", "an acknowledgement")."""
    for i, item in enumerate(raw):
        line = at.line(str(i), at.where)
        if not isinstance(item, dict):
            at.problem(line, f"{noun} must be a mapping {{{', '.join(keys)}}}, not {item!r}")
            continue
        unknown = [key for key in item if key not in keys]
        for key in unknown:
            at.problem(at.line(f"{i}.{key}", line), f"unknown {noun.split()[-1]} key {key!r}" + suggest(str(key), keys))
        yield i, line, item, bool(unknown)


def acknowledge(raw: Any, at: At) -> tuple[Acknowledgement, ...]:
    """``{migration, rule, by, reason}`` items, every key a non-empty string, one per
    (migration, rule); each bad item is a problem at its line and is left out."""
    if not isinstance(raw, list):
        raise Invalid(f"'{at.key}' must be a list of {{migration, rule, by, reason}}")
    out: list[Acknowledgement] = []
    for i, line, item, bad in mappings(raw, at, "an acknowledgement", ACKNOWLEDGE_KEYS):
        values: dict[str, str] = {}
        for key in ACKNOWLEDGE_KEYS:
            value = item.get(key)
            if not isinstance(value, str) or not value.strip():
                what = "missing" if value is None else f"{value!r}, not a non-empty string"
                at.problem(
                    at.line(f"{i}.{key}", line),
                    f"acknowledgement: '{key}' is {what}; every entry needs migration, rule, by (who) and reason",
                )
                bad = True
            else:
                values[key] = value.strip()
        if "migration" in values and not ID_RE.match(values["migration"]):
            at.problem(
                at.line(f"{i}.migration", line),
                f"acknowledgement: migration {values['migration']!r} is not a migration directory name (e.g. 20261001090000_drop_legacy)",
            )
            bad = True
        if "rule" in values and not _RULE_RE.match(values["rule"]):
            at.problem(
                at.line(f"{i}.rule", line), f"acknowledgement: rule {values['rule']!r} is not a squawk rule name (e.g. ban-drop-column)"
            )
            bad = True
        if bad:
            continue
        twin = next((a for a in out if (a.migration, a.rule) == (values["migration"], values["rule"])), None)
        if twin is not None:
            at.problem(line, f"acknowledgement of {values['rule']} in {values['migration']} is given twice (first at line {twin.line})")
            continue
        out.append(Acknowledgement(values["migration"], values["rule"], values["by"], values["reason"], line))
    return tuple(out)


def phases(raw: Any, at: At) -> tuple[Phase, ...]:
    """``{id, name, estimate}`` items in timeline order; ``estimate`` is a duration range
    (a bare number means minutes)."""
    if not isinstance(raw, list):
        raise Invalid(f"'{at.key}' must be a list of {{id, name, estimate}}")
    out: list[Phase] = []
    for i, item in enumerate(raw):
        line = at.line(str(i), at.where)
        if not isinstance(item, dict):
            at.problem(line, "a phase must be a mapping {id, name, estimate}")
            continue
        for key in item:
            if key not in PHASE_KEYS:
                at.problem(line, f"unknown phase key {key!r}" + suggest(str(key), PHASE_KEYS))
        pid, name, estimate = item.get("id"), item.get("name"), item.get("estimate")
        if not isinstance(pid, str) or not ID_RE.match(pid):
            at.problem(line, f"phase id {pid!r} is missing or not a valid id")
            continue
        if any(p.id == pid for p in out):
            at.problem(line, f"phase {pid!r} is declared twice")
            continue
        rng = parse_duration(estimate, default_unit="min") if estimate is not None else None
        if rng is None:
            at.problem(line, f"phase {pid!r}: estimate {estimate!r} is not a duration range (e.g. '1-2 min', '30 s')")
            continue
        out.append(Phase(pid, str(name) if name else pid, str(estimate), rng, line))
    return tuple(out)
