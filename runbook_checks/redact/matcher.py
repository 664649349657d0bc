"""The redactor: every shape of the given secret values in a text, found and replaced
with ``***``.

Single-line pieces, any of whose characters may be escaped (``forms.alternatives``), are
found by one regular expression whose branches each start with a literal character;
base64, hex and a multi-line value's line-end variants are found as written, wrapped
base64 and hex lines joined first (``base64`` wraps at 76 columns, openssl and PEM at
64, ``xxd -p`` at 60).
"""

from __future__ import annotations

import bisect
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import quote

from .forms import MIN_PIECE, alternatives, base64_forms, line_end_variants, secret_forms, secret_notes

if TYPE_CHECKING:
    from .stream import StreamRedactor

MASK = "***"
# The line end of a full line of wrapped base64 or hex (base64(1) wraps at 76 columns, openssl and PEM at 64, xxd -p at 60)
_FULL_LINE_RE = re.compile(r"[A-Za-z0-9+/=_-]{76}|[A-Za-z0-9+/=_-]{64}|[0-9a-fA-F]{60}")
_WRAP_RE = re.compile(r"(?m)^(?:[A-Za-z0-9+/=_-]{76}|[A-Za-z0-9+/=_-]{64}|[0-9a-fA-F]{60})(\n)(?=[A-Za-z0-9+/=_-]|\Z)")


@dataclass(frozen=True)
class _Entry:
    """One way a match can start: its first character and a pattern for the rest."""

    first: str
    rest: str
    size: int
    longest: int


def _group(alts: set[str]) -> str:
    """A regular expression matching any of ``alts``, longer alternatives first."""
    if len(alts) == 1:
        return re.escape(next(iter(alts)))
    return "(?:" + "|".join(re.escape(a) for a in sorted(alts, key=lambda a: (-len(a), a))) + ")"


def _text_entries(text: str) -> list[_Entry]:
    """Entries for a single-line ``text`` any of whose characters may be escaped."""
    atoms = [alternatives(ch) for ch in text]
    for i in range(1, len(text)):
        if text[i].isspace() and text[i - 1].isspace():  # an unquoted expansion squeezes a run of white space into one space
            atoms[i] = atoms[i] | {""}
    out: list[_Entry] = []
    if len(atoms) > 1 and "" in atoms[0]:  # the first character may be dropped: also match from the second
        out += _text_entries(text[1:])
    rest = "".join(_group(a) for a in atoms[1:])
    longest = sum(max(map(len, a)) for a in atoms[1:])
    for first in atoms[0] - {""}:
        out.append(_Entry(first[0], re.escape(first[1:]) + rest, len(text), len(first) + longest))
    return out


def _pattern(entries: Iterable[_Entry]) -> str:
    """One alternation whose branches each start with a literal character (so the regular
    expression engine skips ahead to characters a secret can start with), longer forms first."""
    groups: dict[str, list[str]] = {}
    for e in sorted(set(entries), key=lambda e: (-e.size, -e.longest, e.rest)):
        rests = groups.setdefault(e.first, [])
        if e.rest not in rests:
            rests.append(e.rest)
    return "|".join(re.escape(first) + (rests[0] if len(rests) == 1 else "(?:" + "|".join(rests) + ")") for first, rests in groups.items())


def _unwrapped(text: str) -> tuple[str, Callable[[int, int], tuple[int, int]]]:
    """``text`` with wrapped base64 joined (the line ends after its full lines removed), and
    a function from a span of that view to the span of ``text``."""
    removed = [m.start(1) for m in _WRAP_RE.finditer(text)]
    if not removed:
        return text, lambda start, end: (start, end)
    view = "".join(text[a + 1 : b] for a, b in zip([-1] + removed, removed + [len(text)]))
    shifted = [r - i for i, r in enumerate(removed)]  # where the text after each removed line end starts in the view

    def where(start: int, end: int) -> tuple[int, int]:
        return start + bisect.bisect_right(shifted, start), end + bisect.bisect_left(shifted, end)

    return view, where


class Redactor:
    """Replaces every shape of the given secret values with ``***`` (see the module docstring)."""

    def __init__(self, values: Iterable[str] = ()):
        """A redactor of ``values`` (secret values; empty and blank ones are left out)."""
        entries: list[_Entry] = []  # single-line pieces, any character escaped: one regular expression
        encoded: set[str] = set()  # base64, hex and the forms of a non-UTF-8 value: found as written, wrapped lines joined
        lines: set[str] = set()  # a multi-line value with its line ends written one way: found as written
        fixed: set[str] = set()
        for v in values:
            if not v or not v.strip():
                continue
            s = secret_forms(v)
            for text in s.whole | s.parts:
                if "\n" in text or "\r" in text:
                    lines |= line_end_variants(text)
                else:
                    entries += _text_entries(text)
                    fixed |= {text, quote(text, safe=""), json.dumps(text)[1:-1], json.dumps(text, ensure_ascii=False)[1:-1]}
            fixed |= s.literal
            encoded |= s.literal
            for data in s.data:
                encoded |= base64_forms(data) | {data.hex(), data.hex().upper()}
        self._encoded = sorted((f for f in encoded if len(f) >= MIN_PIECE), key=len, reverse=True)
        #: single-line texts this redactor masks as written, for a log masker that takes fixed
        #: strings (GitHub's ``::add-mask::``): each value and line, a URL's password, their
        #: URL-encoded and JSON-escaped forms, base64 and hex
        self.fixed_forms: frozenset[str] = frozenset(f for f in fixed | set(self._encoded) if f.strip() and "\n" not in f)
        self._lines = sorted((f for f in lines if f.strip()), key=len, reverse=True)
        self._spanning = [f for f in self._lines if "\n" in f]  # printed as they are: more lines may complete them
        self._scan = re.compile(_pattern(entries)) if entries else None
        self._scan_longest = max((e.longest for e in entries), default=0)
        #: the longest text one shape can match
        self.longest = max([self._scan_longest] + [len(f) for f in self._encoded + self._lines])
        #: what to warn about, by secret name (set by ``for_secrets``)
        self.notes: list[str] = []

    @classmethod
    def for_secrets(cls, names: Iterable[str], environ: Mapping[str, str]) -> Redactor:
        """A redactor of the values of the secrets ``names`` in ``environ`` (unset ones are
        left out), its ``notes`` the warnings ``forms.secret_notes`` gives about them."""
        names = list(names)
        self = cls(environ.get(n, "") for n in names)
        self.notes = secret_notes(names, environ)
        return self

    @property
    def _active(self) -> bool:
        """Whether there is anything to mask."""
        return bool(self._scan is not None or self._encoded or self._lines)

    def spans(self, text: str) -> list[tuple[int, int]]:
        """Merged (start, end) spans of every secret shape in ``text``."""
        if not self._active or not text:
            return []
        found: list[tuple[int, int]] = []
        view, where = _unwrapped(text)
        if self._scan is not None:
            search, pos = self._scan.search, 0
            while (m := search(view, pos)) is not None:  # the longest piece starting at each position
                found.append(where(m.start(), m.end()))
                # a piece starting further back than its longest shape before this end cannot go past it
                pos = max(m.start() + 1, m.end() - self._scan_longest + 1)
        for forms, within, to_text in ((self._encoded, view, where), (self._lines, text, None)):
            for form in forms:
                i = within.find(form)
                while i != -1:
                    found.append(to_text(i, i + len(form)) if to_text else (i, i + len(form)))
                    i = within.find(form, i + 1)
        merged: list[tuple[int, int]] = []
        for start, end in sorted(found):
            if merged and start <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
            else:
                merged.append((start, end))
        return merged

    def held_from(self, text: str) -> int:
        """Where the earliest shape that more output could still complete starts, in text
        that ends with a complete line; ``len(text)`` if none."""
        cut = len(text)
        for form in self._spanning:  # a multi-line value whose first lines are there so far
            head = form[: form.index("\n") + 1]
            i = text.find(head, max(0, len(text) - len(form) + 1))
            while i != -1 and i < cut:
                if form.startswith(text[i:]):
                    cut = i
                    break
                i = text.find(head, i + 1)
        if self._encoded and text.endswith("\n"):  # wrapped base64 or hex may still be arriving: hold its full lines so far
            window, end = max(0, len(text) - 2 * len(self._encoded[0])), len(text)
            while end > window:
                start = text.rfind("\n", 0, end - 1) + 1
                if not _FULL_LINE_RE.fullmatch(text, start, end - 1):
                    break
                cut = min(cut, start)
                end = start
        return cut

    @staticmethod
    def mask(text: str, spans: list[tuple[int, int]]) -> str:
        """``***`` for each span; a span over several lines is masked line by line, its line ends kept."""
        parts, pos = [], 0
        for start, end in spans:
            covered = text[start:end]
            parts += [text[pos:start], "\n".join(MASK if piece else "" for piece in covered.split("\n"))]
            pos = end
        parts.append(text[pos:])
        return "".join(parts)

    def __call__(self, text: str) -> str:
        return self.mask(text, self.spans(text)) if self._active and text else text

    def stream(self) -> StreamRedactor:
        """A ``StreamRedactor`` that masks with this redactor, for output read in pieces."""
        from .stream import StreamRedactor

        return StreamRedactor(self)
