"""Redacting a process's output as it arrives: bytes in pieces -> safe text.

``StreamRedactor`` decodes UTF-8 incrementally (invalid bytes as U+FFFD), keeps what a
terminal shows (``terminal``), and passes text on only when it cannot be the start of a
secret that more output would complete (``Redactor.held_from``).
"""

from __future__ import annotations

import codecs
from typing import TYPE_CHECKING

from .terminal import COLUMN_ONE_RE, last_frame, strip_escapes

if TYPE_CHECKING:
    from .matcher import Redactor

#: an unfinished line longer than this is passed on without waiting for its end
LINE_CAP = 65536


class StreamRedactor:
    """Decodes bytes read in pieces, keeps what a terminal shows, redacts it, and emits safe text.

    ``feed(bytes)`` returns the text that can be shown now; ``flush()`` the rest. Invalid
    UTF-8 becomes U+FFFD; a line is passed on when it ends (its last frame: a carriage
    return or a move to column 1 starts the line again; CRLF is a line end), or in pieces
    when it grows past ``LINE_CAP``; escapes are removed even when split; text that may be
    the start of a secret's shape is held until more output completes or rules it out.
    """

    def __init__(self, redactor: Redactor):
        """A stream masking with ``redactor``; nothing read yet."""
        self.redactor = redactor
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._line = ""  # the unfinished line, raw: its latest frame only
        self._ready = ""  # clean text not emitted yet

    def feed(self, data: bytes) -> str:
        """Read ``data`` (any piece of the output, a UTF-8 sequence may be split); returns the
        redacted text that can be shown now (possibly ``""``)."""
        self._add(self._decoder.decode(data))
        return self._emit(final=False)

    def flush(self) -> str:
        """The output has ended: returns the rest, redacted (an unfinished line as its last frame)."""
        self._add(self._decoder.decode(b"", final=True))
        self._ready += strip_escapes(last_frame(self._line))
        self._line = ""
        return self._emit(final=True)

    def _add(self, text: str) -> None:
        """Add decoded ``text``: complete lines go to ``_ready`` cleaned; the unfinished line
        keeps its latest frame (passed on in pieces past ``LINE_CAP``)."""
        text = self._line + text
        if "\n" in text:
            lines = text.split("\n")
            text = lines.pop()
            self._ready += "".join(strip_escapes(last_frame(line)) + "\n" for line in lines)
        # only the latest frame of the unfinished line can still be shown
        text = COLUMN_ONE_RE.sub("\r", text)
        text = text[text.rstrip("\r").rfind("\r") + 1 :]
        if len(text) > LINE_CAP:  # a line with no end in sight: pass most of it on (no escape cut in two)
            cut = len(text) - 128  # the end may be an escape or a redraw still arriving
            esc = text.rfind("\x1b", cut - 64, cut)
            cut = esc if esc >= 0 else cut
            self._ready += strip_escapes(text[:cut])
            text = text[cut:]
        self._line = text

    def _emit(self, final: bool) -> str:
        """The ready text that no more output can change, masked; the rest is held (all of it
        is emitted when ``final``)."""
        text = self._ready
        if not text:
            return ""
        spans = self.redactor.spans(text)
        cut = len(text) if final else self.redactor.held_from(text)
        if not final and not text.endswith("\n"):  # a piece of a line with no end in sight
            cut = min(cut, max(0, len(text) - self.redactor.longest))
        for start, end in spans:  # a shape across the cut is held whole
            if start < cut < end:
                cut = start
                break
        self._ready = text[cut:]
        return self.redactor.mask(text[:cut], [s for s in spans if s[1] <= cut])
