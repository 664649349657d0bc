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

One job per module:

- ``terminal``: output as a terminal shows it (``clean``, ``last_frame``);
- ``forms``: what a secret looks like (its pieces, character escapes, base64 and hex) and
  the warnings about values that cannot be masked well (``secret_notes``);
- ``matcher``: the ``Redactor``, which finds every shape in a text and masks it;
- ``stream``: the ``StreamRedactor``, for output read in pieces;
- ``record``: a run record with its free text masked (``redact_record``).

The names below are the package's interface; import them from ``runbook_checks.redact``.
"""

from __future__ import annotations

from .forms import MIN_PIECE, SHORT_SECRET, alternatives, base64_forms, line_end_variants, non_utf8, secret_notes
from .matcher import MASK, Redactor
from .record import redact_record
from .stream import LINE_CAP, StreamRedactor
from .terminal import clean, last_frame

__all__ = [
    "LINE_CAP",
    "MASK",
    "MIN_PIECE",
    "SHORT_SECRET",
    "Redactor",
    "StreamRedactor",
    "alternatives",
    "base64_forms",
    "clean",
    "last_frame",
    "line_end_variants",
    "non_utf8",
    "redact_record",
    "secret_notes",
]
