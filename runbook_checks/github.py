"""GitHub Actions workflow commands: what runbook-checks tells the runner when it runs in a
workflow (``GITHUB_ACTIONS=true``).

- ``::add-mask::`` for every form of every declared secret that ``redact.Redactor``
  masks as a fixed text, before anything else is printed, so the runner's own log masking
  covers what our redaction covers (the URL-encoded value, a URL's password, base64…);
- ``::group::``/``::endgroup::`` around each block's output;
- ``::error``/``::warning`` annotations with ``file`` and ``line`` for failed blocks,
  refused runbooks and lint problems, so they show on the run's summary and the changed
  files;
- step outputs (``verdict``, ``attempt-id``, ``ledger-head``…) appended to ``$GITHUB_OUTPUT``.

Data and property values are escaped as GitHub documents for workflow commands
(``%`` ``\\r`` ``\\n`` in both; ``:`` and ``,`` in properties too).
Reference: docs.github.com, "Workflow commands for GitHub Actions".
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import IO, TYPE_CHECKING

from .errors import Problem
from .streams import visible

if TYPE_CHECKING:
    from .failure import FailureReport


def enabled(environ: Mapping[str, str]) -> bool:
    """Whether this process runs in a GitHub Actions job."""
    return environ.get("GITHUB_ACTIONS") == "true"


def escape_data(text: str) -> str:
    """A workflow command's message, escaped: ``%`` ``\\r`` ``\\n``."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """A workflow command's property value, escaped: as data, and ``:`` ``,`` too."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command(name: str, message: str = "", **properties: str | int | None) -> str:
    """One workflow command line (no line end): ``::name k=v,…::message``; properties
    whose value is ``None`` are left out. A control character left after the escaping is
    shown as its escape (``streams.visible``: the runner writes annotations to the log),
    but in ``add-mask``, whose value must be the secret's very text."""
    shown = (lambda text: text) if name == "add-mask" else visible
    props = ",".join(f"{k}={shown(escape_property(str(v)))}" for k, v in properties.items() if v is not None)
    return f"::{name}{' ' + props if props else ''}::{shown(escape_data(message))}"


def annotation(
    level: str,
    message: str,
    *,
    file: str | None = None,
    line: int | None = None,
    title: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> str:
    """An ``error``/``warning``/``notice`` annotation; ``file`` relative to the workspace
    (``$GITHUB_WORKSPACE`` in ``environ``, default ``os.environ``; the runner links it to
    the repository's file), ``line`` 1-based (0 is left out)."""
    where = _workspace_relative(file, os.environ if environ is None else environ) if file else None
    return command(level, message, file=where, line=line or None, title=title)


def problem_annotation(problem: Problem, level: str = "error") -> str:
    """The annotation of a runbook problem (``path:line: message``)."""
    return annotation(level, problem.message, file=problem.path, line=problem.line)


def failure_annotation(report: FailureReport, environ: Mapping[str, str] | None = None) -> str:
    """The error annotation of a failed block (``failure.FailureReport``): on the block's
    fence line, titled with the block, with its reason, explaining entries and next command
    (``environ``: as for ``annotation``)."""
    after = f"next: {report.next_command}" if report.next_command else f"ran after block {report.first_failure!r} failed"
    message = "\n".join([f"{report.status}: {report.reason}", *report.entries, after])
    return annotation("error", message, file=report.path, line=report.line, title=f"block {report.block_id}", environ=environ)


def mask_commands(forms: Iterable[str]) -> list[str]:
    """``::add-mask::`` lines for each form (longest first; empty and duplicate forms left out)."""
    return [command("add-mask", form) for form in sorted({f for f in forms if f.strip()}, key=lambda f: (-len(f), f))]


def write_outputs(outputs: Mapping[str, str], environ: Mapping[str, str]) -> None:
    """Append ``outputs`` to ``$GITHUB_OUTPUT`` (nothing when it is not set), each as a
    ``name<<DELIMITER`` block so a value may hold any text. Raises ``OSError`` when the
    file cannot be written."""
    path = environ.get("GITHUB_OUTPUT")
    if not path:
        return
    with open(path, "a", encoding="utf-8") as fh:
        for name, value in outputs.items():
            delimiter = f"ghadelimiter_{secrets.token_hex(8)}"
            fh.write(f"{name}<<{delimiter}\n{value}\n{delimiter}\n")


def _workspace_relative(path: str, environ: Mapping[str, str]) -> str:
    """``path`` relative to ``$GITHUB_WORKSPACE`` (else the current folder) when inside it."""
    base = Path(environ.get("GITHUB_WORKSPACE") or os.getcwd()).resolve()
    try:
        return Path(path).resolve().relative_to(base).as_posix()
    except (ValueError, OSError):
        return path


def emit(lines: Iterable[str], stream: IO[str]) -> None:
    """Write workflow command lines (``command``: what they show escaped already), each on
    its own line, as they are (past a ``streams.KeptStream``'s escaping), and flush."""
    out = getattr(stream, "styled", stream)
    for line in lines:
        out.write(line + "\n")
    out.flush()


__all__ = [
    "annotation",
    "command",
    "emit",
    "enabled",
    "escape_data",
    "escape_property",
    "failure_annotation",
    "mask_commands",
    "problem_annotation",
    "write_outputs",
]
