"""Output as a terminal shows it: the last frame of a line redrawn with carriage returns,
backspaces applied, terminal escapes and control characters removed.

The rules are those of a terminal (VT100/xterm): a carriage return, or a move of the
cursor to the first column (``ESC[G``, ``ESC[1G``), starts the line again; a backspace
takes back the character before it; CSI, OSC and two-byte escapes draw nothing.
"""

from __future__ import annotations

import re

# CSI (colours, cursor moves), OSC (titles, hyperlinks) and two-byte escapes.
_ANSI_RE = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")
# Control characters other than tab and newline (carriage returns included).
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
# A move of the cursor to the first column: a carriage return by another name.
COLUMN_ONE_RE = re.compile(r"\x1b\[[01]?G")


def last_frame(line: str) -> str:
    """What a terminal keeps of one line redrawn with carriage returns (or moves to the
    first column): the text after the last one. A carriage return ending the line is a
    line end (CRLF), not a redraw."""
    line = COLUMN_ONE_RE.sub("\r", line).rstrip("\r")
    return line[line.rfind("\r") + 1 :]


def _backspaced(text: str) -> str:
    """``text`` with each backspace taking back the character before it."""
    out: list[str] = []
    for ch in text:
        if ch == "\b":
            if out:
                out.pop()
        else:
            out.append(ch)
    return "".join(out)


def strip_escapes(text: str) -> str:
    """Terminal escapes removed, backspaces applied (each takes back the character before
    it: a spinner or a counter redrawn in place), other control characters removed."""
    text = _ANSI_RE.sub("", text)
    return _CONTROL_RE.sub("", _backspaced(text) if "\b" in text else text)


def clean(text: str) -> str:
    """Text as a terminal shows it, without its escapes: the last frame of each line,
    backspaces applied, terminal escapes and control characters other than tab and
    newline removed."""
    return "\n".join(strip_escapes(last_frame(line)) for line in text.split("\n"))
