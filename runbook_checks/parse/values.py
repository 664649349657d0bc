"""Attribute values: how each value of a block or troubleshooting-entry attribute is read.

Every converter takes the attribute as written (a ``Given``) and returns the value the
model holds, or raises ``Invalid`` with the problem's text. The spec rows (``spec``) name
these converters; nothing else reads an attribute's value.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, NoReturn

from ..model import Block
from ..status import Kind
from ..units import format_duration, parse_duration

#: ids of blocks, entries, phases and runbooks (they name anchors and ledger files)
ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
#: an environment variable name (POSIX)
ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
#: the database kinds ``rehearse-db=`` names (``sandbox.DB_KINDS``; ``--database-url`` counts as postgres)
REHEARSE_DBS = ("pglite", "postgres")
#: a block's time limit when neither ``timeout=`` nor ``runbook.timeout`` gives one, in seconds
DEFAULT_TIMEOUT_S = 300.0
#: the longest ``timeout=`` of a block, in seconds (7 days)
MAX_TIMEOUT_S = 7 * 86400
#: the longest ``retry-delay=``, in seconds (1 h)
MAX_RETRY_DELAY_S = 3600


class Invalid(ValueError):
    """A value a converter refuses; ``str()`` is the problem's text (without ``path:line:``
    and without the ``block 'x': `` that the parser puts before it)."""


def shown(text: str, limit: int = 80) -> str:
    """``text`` quoted for a problem message, cut to ``limit`` characters."""
    return repr(text) if len(text) <= limit else repr(text[:limit]) + f"… ({len(text)} characters)"


def suggest(word: str, choices: Iterable[Any]) -> str:
    """`` (did you mean 'x'?)`` for the choice closest to ``word`` (difflib's ratio ≥ 0.6), else ``""``."""
    close = difflib.get_close_matches(word, [str(c) for c in choices], n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


@dataclass
class Given:
    """One attribute as written on a fence or heading, and what reading it may need."""

    #: the attribute's name, e.g. ``retry-delay``
    name: str
    #: its value as written (the attr_list scanner has removed the quotes)
    raw: str
    #: the phases the front matter declares (for ``phase=``)
    phase_ids: tuple[str, ...] = ()
    #: the runbook's block ids (for ``blocks=``)
    block_ids: tuple[str, ...] = ()
    #: problems that do not stop the value being kept (the converter appends their text)
    also: list[str] = field(default_factory=list)

    def refuse(self, reason: str) -> NoReturn:
        """Raise ``Invalid``: ``name='raw' reason``."""
        raise Invalid(f"{self.name}={self.raw!r} {reason}")


def text(given: Given) -> str:
    """A non-empty text, kept as written."""
    if not given.raw.strip():
        given.refuse("must not be empty")
    return given.raw


def phase(given: Given) -> str:
    """The id of a phase the front matter declares (``runbook.phases``)."""
    if given.raw not in given.phase_ids:
        declared = ", ".join(given.phase_ids) or "none"
        given.refuse(f"is not a phase declared in the front matter (declared: {declared})" + suggest(given.raw, given.phase_ids))
    return given.raw


def pattern(given: Given) -> str:
    """A regular expression in the syntax of the ``regex`` package, kept as written."""
    import regex  # only for a runbook that has one

    try:
        regex.compile(given.raw)
    except regex.error as exc:
        given.refuse(f"is not a valid regular expression: {exc}")
    return given.raw


def exit_codes(given: Given) -> tuple[int, ...]:
    """Exit codes 0-255, comma-separated, as a tuple of ints."""
    try:
        codes = tuple(int(x) for x in given.raw.split(","))
    except ValueError:
        codes = ()
    if not codes or any(not 0 <= c <= 255 for c in codes):
        given.refuse("must be exit codes 0-255, comma-separated")
    return codes


def pending_exit(given: Given) -> int:
    """One exit code from 1 to 255 (0 is success, so it cannot mean "pending")."""
    if not given.raw.isdigit() or not 1 <= int(given.raw) <= 255:
        given.refuse("must be an exit code from 1 to 255")
    return int(given.raw)


def database_kinds(given: Given) -> tuple[str, ...]:
    """Database kinds of ``REHEARSE_DBS``, comma-separated, as a tuple."""
    kinds = tuple(k.strip() for k in given.raw.split(","))
    if not all(k in REHEARSE_DBS for k in kinds):
        given.refuse(f"must name database kinds, comma-separated: {', '.join(REHEARSE_DBS)}")
    return kinds


def yes_no(given: Given) -> bool:
    """``yes`` (True) or ``no`` (False), nothing else (markdown-exec's strict booleans)."""
    if given.raw not in ("yes", "no"):
        given.refuse("must be yes or no")
    return given.raw == "yes"


def retries(given: Given) -> int:
    """A whole number from 0 to 10."""
    if not given.raw.isdigit() or int(given.raw) > 10:
        given.refuse("must be a whole number from 0 to 10")
    return int(given.raw)


def _duration_s(given: Given, limit_s: float, *, positive: bool) -> float:
    """One duration (``120``, ``90s``, ``2min``; not a range) in seconds, at most ``limit_s``."""
    rng = parse_duration(given.raw)
    if rng is None or rng[0] != rng[1] or (positive and rng[0] <= 0):
        given.refuse("is not a duration (e.g. 120, 90s, 2min)")
    if rng[0] > limit_s:
        given.refuse(f"is longer than {format_duration(limit_s)}")
    return rng[0]


def timeout_s(given: Given) -> float:
    """A block's time limit in seconds: more than 0, at most ``MAX_TIMEOUT_S``."""
    return _duration_s(given, MAX_TIMEOUT_S, positive=True)


def retry_delay_s(given: Given) -> float:
    """The pause between attempts in seconds: 0 or more, at most ``MAX_RETRY_DELAY_S``."""
    return _duration_s(given, MAX_RETRY_DELAY_S, positive=False)


def block_ids(given: Given) -> tuple[str, ...]:
    """Block ids, comma-separated; each id that is not a block of the runbook is a problem
    (the value is kept)."""
    listed = tuple(x.strip() for x in given.raw.split(",") if x.strip())
    for ref in listed:
        if ref not in given.block_ids:
            given.also.append(f"{given.name}= names {ref!r}, which is not a block of this runbook" + suggest(ref, given.block_ids))
    return listed


# -- what a value means next to the blocks before it (checked once the block is read) ------------
def earlier_block(block: Block, earlier: list[Block]) -> str | None:
    """``needs=``: the id of an earlier block, else the problem's text."""
    if block.needs is None:  # most blocks: no list of earlier ids to build (it made lint quadratic)
        return None
    ids = [b.id for b in earlier]
    if block.needs not in ids:
        return f"needs={block.needs!r} is not the id of an earlier block" + suggest(block.needs, ids)
    return None


def earlier_step(block: Block, earlier: list[Block]) -> str | None:
    """``after=``: the id of an earlier ``.step``, else the problem's text."""
    if block.after is None:
        return None
    steps = [b.id for b in earlier if b.kind == Kind.STEP]
    if block.after not in steps:
        return f"after={block.after!r} is not the id of an earlier .step" + suggest(block.after, steps)
    return None


def pending_on_check(block: Block, earlier: list[Block]) -> str | None:
    """``pending-exit=``: only on a ``.check``, with a code ``exit=`` does not also accept."""
    if block.pending_exit is not None and (block.kind != Kind.CHECK or block.pending_exit in block.exit_codes):
        return "pending-exit belongs on a .check, with a code that is not also in exit="
    return None


def preview_on_check(block: Block, earlier: list[Block]) -> str | None:
    """``preview=yes``: only on a ``.check`` (a ``.step`` never runs in a dry run)."""
    if block.preview and block.kind != Kind.CHECK:
        return (
            "preview=yes marks a read-only .check that also runs in a dry run; a .step "
            "changes things and never runs in a dry run: remove preview=yes or make the block a .check"
        )
    return None
