"""Secrets -> a redactor used by everything that prints or writes.

For every declared secret the redactor hides its value, its URL-encoded forms and,
when the value is a URL with a password (a database URL), that password as written
and percent-decoded. ``StreamRedactor`` does the same for a stream read in pieces:
it holds back just enough text that a secret split across two reads is still caught.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Iterable, Mapping
from urllib.parse import quote, quote_plus, unquote, urlsplit

MASK = "***"
# CSI (colours, cursor moves), OSC (titles, hyperlinks) and two-byte escapes.
_ANSI_RE = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")
# Control characters other than tab and newline (carriage returns included).
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
# An escape sequence that may still be incomplete at the end of a buffer.
_PARTIAL_ESC_RE = re.compile(r"\x1b[^\x07]{0,64}$")


def secret_forms(value: str) -> set[str]:
    """Every form of a secret value that must never be shown."""
    forms = {value, value.strip(), quote(value, safe=""), quote_plus(value, safe=""), quote(value), json.dumps(value)[1:-1]}
    try:
        parts = urlsplit(value)
        password = parts.password
    except ValueError:
        password = None
    if password:
        forms |= {password, unquote(password), quote(unquote(password), safe="")}
    return {f for f in forms if f.strip()}


def clean(text: str) -> str:
    """Strip terminal escapes and control characters; keep text, tabs and newlines."""
    return _CONTROL_RE.sub("", _ANSI_RE.sub("", text.replace("\r\n", "\n")))


class Redactor:
    """Replaces every form of the given secret values with ``***``."""

    def __init__(self, values: Iterable[str] = ()):
        forms: set[str] = set()
        for v in values:
            if v:
                forms |= secret_forms(v)
        self.forms = sorted(forms, key=len, reverse=True)
        # A lookahead finds, at every position, the longest form starting there, so
        # overlapping secrets are masked as the union of their spans.
        self._re = re.compile("(?=(" + "|".join(re.escape(f) for f in self.forms) + "))") if self.forms else None
        self.longest = len(self.forms[0]) if self.forms else 0

    @classmethod
    def for_secrets(cls, names: Iterable[str], environ: Mapping[str, str]) -> "Redactor":
        return cls(environ.get(n, "") for n in names)

    def spans(self, text: str) -> list[tuple[int, int]]:
        """Merged (start, end) spans of every secret form in ``text``."""
        merged: list[tuple[int, int]] = []
        if self._re is None:
            return merged
        for m in self._re.finditer(text):
            start, end = m.start(), m.start() + len(m.group(1))
            if merged and start <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
            else:
                merged.append((start, end))
        return merged

    def mask(self, text: str, spans: list[tuple[int, int]]) -> str:
        parts, pos = [], 0
        for start, end in spans:
            parts += [text[pos:start], MASK]
            pos = end
        parts.append(text[pos:])
        return "".join(parts)

    def __call__(self, text: str) -> str:
        return self.mask(text, self.spans(text)) if self._re else text

    def stream(self) -> "StreamRedactor":
        return StreamRedactor(self)


class StreamRedactor:
    """Decodes bytes read in pieces, cleans and redacts them, and emits safe text.

    ``feed(bytes)`` returns the text that can be shown now; ``flush()`` the rest.
    Invalid UTF-8 becomes U+FFFD; escape sequences are removed even when split.
    """

    def __init__(self, redactor: Redactor):
        self.redactor = redactor
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._pending = ""

    def feed(self, data: bytes) -> str:
        self._pending += self._decoder.decode(data)
        return self._emit(final=False)

    def flush(self) -> str:
        self._pending += self._decoder.decode(b"", final=True)
        return self._emit(final=True)

    def _emit(self, final: bool) -> str:
        text = self._pending.replace("\r\n", "\n")
        hold = 0
        if not final:
            if text.endswith("\r"):
                hold = 1
            partial = _PARTIAL_ESC_RE.search(text)
            if partial and not _ANSI_RE.match(text, partial.start()):
                hold = max(hold, len(text) - partial.start())
        head, tail = (text[: len(text) - hold], text[len(text) - hold :]) if hold else (text, "")
        head = clean(head)
        # Emit only up to where every secret starting before the cut is wholly visible;
        # a secret spanning the cut moves the cut to its end.
        cut = len(head) if final else max(0, len(head) - max(0, self.redactor.longest - 1))
        spans = []
        for start, end in self.redactor.spans(head):
            if start >= cut:
                break
            spans.append((start, end))
            cut = max(cut, end)
        self._pending = head[cut:] + tail
        return self.redactor.mask(head[:cut], spans)
