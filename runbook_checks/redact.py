"""Secrets -> a redactor used by everything that prints or writes.

The contract (docs/reference/runbook-format.md, "Secrets"): a declared secret's value is
masked as ``***`` in the shapes programs print it in, not just as written.

- **Pieces** searched for: the whole value and the value trimmed; each line of a
  multi-line value (LF, CRLF or CR line ends) with at least ``MIN_PIECE`` characters,
  as it is and trimmed; the password of a URL (as written and percent-decoded) and a
  ``password=`` query parameter, when at least ``MIN_PIECE`` characters.
- **Characters** of a piece may each appear as themselves or as any escape of them
  that URL encoding, JSON (ASCII-only or not, ``\\/``, HTML-safe, nested once), shells
  (``printf %q``, ``declare -p``, ``set -x``), C/Python literals and HTML use.
- **Base64** (standard and URL-safe, padded or not, wrapped over lines) of the value, the
  trimmed value and the password, with and without the newline ``echo`` adds, and inside
  longer base64 text (``user:secret`` in HTTP Basic auth): there the characters that
  encode only the secret's bits, for each of the three byte alignments. **Hex** of the
  same (either case, as ``xxd -p`` wraps it).

``StreamRedactor`` reads a process's output as a terminal shows it: UTF-8 (invalid bytes
as U+FFFD), a line redrawn with carriage returns kept as its last frame, escapes and
control characters removed; it passes text on when it cannot be the start of a secret
that more output would complete.
"""

from __future__ import annotations

import base64
import bisect
import codecs
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

MASK = "***"
#: a line of a multi-line value, or a URL's password, shorter than this is not masked on its own
MIN_PIECE = 4
#: a value shorter than this is masked, with a warning: its text is likely to appear where it is not the secret
SHORT_SECRET = 8
#: inside longer base64 text, only runs of at least this many characters are masked (all alignments of values of 5 bytes or more)
MIN_BASE64_CORE = 6
#: an unfinished line longer than this is passed on without waiting for its end
LINE_CAP = 65536

# CSI (colours, cursor moves), OSC (titles, hyperlinks) and two-byte escapes.
_ANSI_RE = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")
# Control characters other than tab and newline (carriage returns included).
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
# A move of the cursor to the first column: a carriage return by another name.
_COLUMN_ONE_RE = re.compile(r"\x1b\[[01]?G")

_JSON_SHORT = {'"': '\\"', "\\": "\\\\", "/": "\\/", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
_HTML_NAMED = {"&": ("&amp;",), "<": ("&lt;",), ">": ("&gt;",), '"': ("&quot;",), "'": ("&#39;", "&apos;")}
_URLSAFE = str.maketrans("+/", "-_")
# The line end of a full line of wrapped base64 or hex (base64(1) wraps at 76 columns, openssl and PEM at 64, xxd -p at 60)
_FULL_LINE_RE = re.compile(r"[A-Za-z0-9+/=_-]{76}|[A-Za-z0-9+/=_-]{64}|[0-9a-fA-F]{60}")
_WRAP_RE = re.compile(r"(?m)^(?:[A-Za-z0-9+/=_-]{76}|[A-Za-z0-9+/=_-]{64}|[0-9a-fA-F]{60})(\n)(?=[A-Za-z0-9+/=_-]|\Z)")


# -- output as a terminal shows it ---------------------------------------------------------


def last_frame(line: str) -> str:
    """What a terminal keeps of one line redrawn with carriage returns (or moves to the
    first column): the text after the last one. A carriage return ending the line is a
    line end (CRLF), not a redraw."""
    line = _COLUMN_ONE_RE.sub("\r", line).rstrip("\r")
    return line[line.rfind("\r") + 1 :]


def _backspaced(text: str) -> str:
    out: list[str] = []
    for ch in text:
        if ch == "\b":
            if out:
                out.pop()
        else:
            out.append(ch)
    return "".join(out)


def _strip_escapes(text: str) -> str:
    """Terminal escapes removed, backspaces applied (each takes back the character before
    it: a spinner or a counter redrawn in place), other control characters removed."""
    text = _ANSI_RE.sub("", text)
    return _CONTROL_RE.sub("", _backspaced(text) if "\b" in text else text)


def clean(text: str) -> str:
    """Text as a terminal shows it, without its escapes: the last frame of each line,
    backspaces applied, terminal escapes and control characters other than tab and
    newline removed."""
    return "\n".join(_strip_escapes(last_frame(line)) for line in text.split("\n"))


# -- what a secret looks like --------------------------------------------------------------


def _json_escapes(ch: str) -> set[str]:
    cp = ord(ch)
    units = [cp] if cp <= 0xFFFF else [0xD800 + ((cp - 0x10000) >> 10), 0xDC00 + ((cp - 0x10000) & 0x3FF)]
    out = {"".join(f"\\u{u:04x}" for u in units), "".join(f"\\u{u:04X}" for u in units)}
    if ch in _JSON_SHORT:
        out.add(_JSON_SHORT[ch])
    return out


def alternatives(ch: str) -> set[str]:
    """Every way one character of a secret shows up in what programs print: itself, or
    an escape of it. ASCII letters and digits are never escaped by encoders."""
    if ch.isascii() and ch.isalnum():
        return {ch}
    cp = ord(ch)
    utf8 = ch.encode("utf-8", "replace")
    control = cp < 0x20 or cp == 0x7F
    out = {ch}
    json_escapes = _json_escapes(ch)
    out |= json_escapes
    out |= {e.replace("\\", "\\\\").replace('"', '\\"') for e in json_escapes}  # a JSON string inside a JSON string
    for hexfmt in ("%02x", "%02X"):
        out.add("".join("%" + hexfmt % b for b in utf8))  # URL encoding
        out.add("".join("%25" + hexfmt % b for b in utf8))  # URL encoding twice (a URL inside a URL)
    out |= {f"&#{cp};", f"&#x{cp:x};", f"&#x{cp:X};"}
    out |= set(_HTML_NAMED.get(ch, ()))
    if ch.isascii() and not control:  # punctuation and space
        out.add("\\" + ch)  # shell quoting (printf %q, declare -p), C and Python literals
    if cp >= 0x80 or control:
        out |= {"".join(f"\\x{b:02x}" for b in utf8), "".join(f"\\x{b:02X}" for b in utf8), "".join(f"\\{b:03o}" for b in utf8)}
        out |= {f"\\U{cp:08x}", f"\\U{cp:08X}"}
        if cp < 0x100:
            out |= {f"\\x{cp:02x}", f"\\x{cp:02X}"}
    if ch == " ":
        out.add("+")  # form encoding
    if ch == "'":
        out |= {"'\\''", "'\"'\"'", "''"}  # bash (set -x, ${v@Q}), shlex, SQL and YAML quoting
    if ch == '"':
        out.add('""')  # CSV quoting
    if ch in "\t\n":
        out.add(" ")  # an unquoted expansion is split into words
    if ch == "\n":
        out |= {"\r\n", ""}
    if control and ch not in "\t\n":
        out.add("")  # terminal output drops it
    return out


def _urls(value: str) -> list[str]:
    """The password of a URL as written and percent-decoded, and a ``password=`` query parameter."""
    try:
        parts = urlsplit(value.strip())
        password = parts.password
        query = parse_qs(parts.query)
    except ValueError:
        return []
    found = [password, unquote(password)] if password else []
    return found + query.get("password", [])


def _lines(value: str) -> list[str]:
    lines = re.split(r"\r\n|\r|\n", value)
    return lines if len(lines) > 1 else []


@dataclass
class _Secret:
    #: texts masked whatever their length
    whole: set[str]
    #: texts masked when at least MIN_PIECE characters long (trimmed)
    parts: set[str]
    #: texts masked only as written (forms that flexible characters cannot express)
    literal: set[str]
    #: bytes whose base64 and hex are masked
    data: set[bytes]
    #: what the warnings name: lines and a password too short to be masked on their own
    short_lines: set[str] = field(default_factory=set)
    short_password: bool = False


def _secret(value: str) -> _Secret:
    try:
        raw = value.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a lone surrogate that no byte became
        raw = value.encode("utf-8", "surrogatepass")
    try:
        raw.decode("utf-8")
        texts = [value]
        literal: set[str] = set()
    except UnicodeDecodeError:
        # not UTF-8 (os.environ keeps such bytes as surrogates): as the output decoder shows
        # it, as Latin-1 and Windows-1252 would read it, Python's JSON of it, percent-encoded
        texts = [raw.decode("utf-8", "replace"), raw.decode("latin-1"), raw.decode("cp1252", "replace")]
        literal = {json.dumps(value)[1:-1], quote(raw, safe="")}
        literal |= {re.sub("%[0-9A-F]{2}", lambda m: m.group().lower(), f) for f in literal}
    s = _Secret(set(), set(), literal, {raw, raw.strip()})
    for text in texts:
        s.whole |= {text, text.strip()}
        for line in _lines(text):
            s.parts |= {line, line.strip()}
            if 0 < len(line.strip()) < MIN_PIECE:
                s.short_lines.add(line.strip())
        for password in _urls(text):
            s.parts.add(password)
            if len(password.strip()) < MIN_PIECE:
                s.short_password = True
            elif text is value:
                s.data.add(password.encode("utf-8", "surrogateescape"))
    s.whole.discard("")
    s.parts = {p for p in s.parts if len(p.strip()) >= MIN_PIECE} - s.whole
    s.data = {d for d in s.data if d.strip()}
    return s


def base64_forms(data: bytes) -> set[str]:
    """Base64 and base64url of ``data`` (and of ``data`` with the newline ``echo`` adds),
    padded or not, and for data inside longer base64 text, at each of the three byte
    alignments, the characters that encode only bits of ``data``."""
    forms: set[str] = set()
    for whole in (data, data + b"\n"):
        for enc in (base64.b64encode(whole).decode(), base64.urlsafe_b64encode(whole).decode()):
            forms |= {enc, enc.rstrip("=")}
    n = len(data)
    for a in range(3):
        enc = base64.b64encode(b"\0" * a + data + b"\0\0").decode()
        # character j holds bits 6j..6j+5; those of ``data`` are 8a..8(a+n)-1
        core = enc[-(-8 * a // 6) : 8 * (a + n) // 6]
        if len(core) >= MIN_BASE64_CORE:
            forms |= {core, core.translate(_URLSAFE)}
    return {f for f in forms if len(f) >= MIN_PIECE}


# -- matching ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Entry:
    """One way a match can start: its first character and a pattern for the rest."""

    first: str
    rest: str
    size: int
    longest: int


def _group(alts: set[str]) -> str:
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


#: how programs write the line ends of a multi-line value: as they are, joined (an unquoted
#: expansion, tr -d), escaped for JSON (also nested), C, URLs and HTML
_LINE_ENDS = (
    "\n",
    "\r\n",
    " ",
    "",
    "\\n",
    "\\r\\n",
    "\\\\n",
    "\\\\r\\\\n",
    "%0A",
    "%0a",
    "%0D%0A",
    "%0d%0a",
    "\\u000a",
    "\\u000A",
    "\\u000d\\u000a",
    "\\u000D\\u000A",
    "\\012",
    "\\015\\012",
    "\\x0a",
    "\\x0d\\x0a",
    "&#10;",
    "&#xa;",
    "&#xA;",
    "&#13;&#10;",
)


def line_end_variants(text: str) -> set[str]:
    """A multi-line ``text`` with its line ends (LF, CRLF or CR) written each way programs write them."""
    lines = re.split(r"\r\n|\r|\n", text)
    return {sep.join(lines) for sep in _LINE_ENDS}


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


def non_utf8(value: str) -> bool:
    """Whether an environment value is not valid UTF-8 (``os.environ`` keeps such bytes as surrogates)."""
    return any("\udc80" <= ch <= "\udcff" for ch in value)


class Redactor:
    """Replaces every shape of the given secret values with ``***`` (see the module docstring)."""

    def __init__(self, values: Iterable[str] = ()):
        entries: list[_Entry] = []  # single-line pieces, any character escaped: one regular expression
        encoded: set[str] = set()  # base64, hex and the forms of a non-UTF-8 value: found as written, wrapped lines joined
        lines: set[str] = set()  # a multi-line value with its line ends written one way: found as written
        fixed: set[str] = set()
        for v in values:
            if not v or not v.strip():
                continue
            s = _secret(v)
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
        names = list(names)
        self = cls(environ.get(n, "") for n in names)
        self.notes = secret_notes(names, environ)
        return self

    @property
    def _active(self) -> bool:
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
        return StreamRedactor(self)


def secret_notes(names: Iterable[str], environ: Mapping[str, str]) -> list[str]:
    """Warnings about declared secrets whose values cannot be masked well (never the value)."""
    notes = []
    for name in names:
        value = environ.get(name, "")
        if not value.strip():
            continue
        s = _secret(value)
        if non_utf8(value):
            notes.append(
                f"secret {name} is not valid UTF-8; it is masked as bytes (as shown, percent-encoded, base64, read as Latin-1), "
                "but a program may print it in other ways"
            )
        if len(value.strip()) < SHORT_SECRET:
            notes.append(
                f"secret {name} is shorter than {SHORT_SECRET} characters: that text is masked wherever it appears, also where it "
                "is not the secret, and *** then shows where it is; use a longer value"
            )
        if s.short_lines:
            notes.append(
                f"secret {name} has {len(s.short_lines)} line(s) shorter than {MIN_PIECE} characters; they are not masked on their own "
                "(only as part of the whole value)"
            )
        if s.short_password:
            notes.append(
                f"the password in secret {name} is shorter than {MIN_PIECE} characters; it is not masked on its own "
                "(only as part of the whole value)"
            )
    return notes


def redact_record(record: Any, redact: Callable[[str], str]) -> Any:
    """A copy of a run record whose free text (blocks' output, reasons, expectations'
    actual values) is masked; ids, hashes, times, numbers and statuses stay as they are.
    JSON, JUnit and the step summary are built from it: masking a serialized document
    could mask its syntax (a secret ``false`` or ``testcase``)."""

    def block(b: Any) -> Any:
        expectations = tuple(replace(e, actual=redact(e.actual)) if e.actual else e for e in b.expectations)
        return replace(b, output=redact(b.output), reason=redact(b.reason) if b.reason else b.reason, expectations=expectations)

    return replace(record, blocks=tuple(block(b) for b in record.blocks))


class StreamRedactor:
    """Decodes bytes read in pieces, keeps what a terminal shows, redacts it, and emits safe text.

    ``feed(bytes)`` returns the text that can be shown now; ``flush()`` the rest. Invalid
    UTF-8 becomes U+FFFD; a line is passed on when it ends (its last frame: a carriage
    return or a move to column 1 starts the line again; CRLF is a line end), or in pieces
    when it grows past ``LINE_CAP``; escapes are removed even when split; text that may be
    the start of a secret's shape is held until more output completes or rules it out.
    """

    def __init__(self, redactor: Redactor):
        self.redactor = redactor
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._line = ""  # the unfinished line, raw: its latest frame only
        self._ready = ""  # clean text not emitted yet

    def feed(self, data: bytes) -> str:
        self._add(self._decoder.decode(data))
        return self._emit(final=False)

    def flush(self) -> str:
        self._add(self._decoder.decode(b"", final=True))
        self._ready += _strip_escapes(last_frame(self._line))
        self._line = ""
        return self._emit(final=True)

    def _add(self, text: str) -> None:
        text = self._line + text
        if "\n" in text:
            lines = text.split("\n")
            text = lines.pop()
            self._ready += "".join(_strip_escapes(last_frame(line)) + "\n" for line in lines)
        # only the latest frame of the unfinished line can still be shown
        text = _COLUMN_ONE_RE.sub("\r", text)
        text = text[text.rstrip("\r").rfind("\r") + 1 :]
        if len(text) > LINE_CAP:  # a line with no end in sight: pass most of it on (no escape cut in two)
            cut = len(text) - 128  # the end may be an escape or a redraw still arriving
            esc = text.rfind("\x1b", cut - 64, cut)
            cut = esc if esc >= 0 else cut
            self._ready += _strip_escapes(text[:cut])
            text = text[cut:]
        self._line = text

    def _emit(self, final: bool) -> str:
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
