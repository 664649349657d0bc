"""What a secret looks like: the pieces of a value searched for, the escapes each of
their characters may appear as, and their base64 and hex forms; and the warnings about
values that cannot be masked well.

The contract is ``docs/reference/runbook-format.md``, "Secrets" (its table names the
program behind each form: ``jq``, ``printf %q``, ``set -x``, ``base64``, ``xxd -p``...).
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qs, quote, unquote, urlsplit

#: a line of a multi-line value, or a URL's password, shorter than this is not masked on its own
MIN_PIECE = 4
#: a value shorter than this is masked, with a warning: its text is likely to appear where it is not the secret
SHORT_SECRET = 8
#: inside longer base64 text, only runs of at least this many characters are masked (all alignments of values of 5 bytes or more)
MIN_BASE64_CORE = 6

_JSON_SHORT = {'"': '\\"', "\\": "\\\\", "/": "\\/", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
_HTML_NAMED = {"&": ("&amp;",), "<": ("&lt;",), ">": ("&gt;",), '"': ("&quot;",), "'": ("&#39;", "&apos;")}
_URLSAFE = str.maketrans("+/", "-_")


def _json_escapes(ch: str) -> set[str]:
    """The JSON escapes of ``ch``: ``\\uXXXX`` in either case (a surrogate pair above
    U+FFFF), and its short escape (``\\n``, ``\\"``...) where JSON has one (RFC 8259, section 7)."""
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
    """The lines of a multi-line ``value`` (LF, CRLF or CR line ends); ``[]`` for a single line."""
    lines = re.split(r"\r\n|\r|\n", value)
    return lines if len(lines) > 1 else []


@dataclass
class SecretForms:
    """The texts and bytes one secret value is searched as (``secret_forms``)."""

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


def secret_forms(value: str) -> SecretForms:
    """What ``value`` is searched as: the pieces of the module docstring, and the bytes whose
    base64 and hex are masked. A value that is not valid UTF-8 (``os.environ`` keeps such
    bytes as surrogates) is searched as the output decoder shows it, as Latin-1 and
    Windows-1252 read it, and literally as Python's JSON and percent-encoding write it:
    the run gates refuse such a secret (``gates.check_secret_encoding``), but ``check-drift``
    and a dry run's ``::add-mask::`` build a redactor before any gate."""
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
    s = SecretForms(set(), set(), literal, {raw, raw.strip()})
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


def non_utf8(value: str) -> bool:
    """Whether an environment value is not valid UTF-8 (``os.environ`` keeps such bytes as surrogates)."""
    return any("\udc80" <= ch <= "\udcff" for ch in value)


def secret_notes(names: Iterable[str], environ: Mapping[str, str]) -> list[str]:
    """Warnings about declared secrets whose values cannot be masked well (never the value)."""
    notes = []
    for name in names:
        value = environ.get(name, "")
        if not value.strip():
            continue
        s = secret_forms(value)
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
