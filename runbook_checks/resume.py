"""Which attempt a run belongs to, and which run a ``--from`` resume continues.

An attempt is one try at migrating one target (DESIGN.md, "Runs, attempts and the
evidence policy"): all runs of one GitHub workflow run, or those sharing ``--attempt``,
or a ``--from`` resume and the run it resumes. Verdicts are read from ``evidence``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from . import evidence
from .errors import UsageProblem
from .model import RunRecord
from .status import EvidenceStatus, Mode

#: environment variable that sets the attempt id where ``--attempt`` cannot be passed
ATTEMPT_ENV = "RUNBOOK_CHECKS_ATTEMPT"
_ATTEMPT_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:/@+-]{0,199}")


def attempt_id(explicit: str | None, environ: Mapping[str, str], resumes: RunRecord | None, run_id: str) -> str:
    """The attempt a new run belongs to, first match wins: ``explicit`` (``--attempt``),
    ``$RUNBOOK_CHECKS_ATTEMPT``, the attempt of the run a ``--from`` resume continues, the
    GitHub workflow run (``github-<GITHUB_RUN_ID>-<GITHUB_RUN_ATTEMPT>``, GitHub's default
    variables; a missing run attempt counts as 1), else the run's own id.

    Raises ``UsageProblem`` (exit 2) for an id (from any of these) that is empty, longer
    than 200 characters or holds characters other than letters, digits and ``_.:/@+-``;
    an empty ``$RUNBOOK_CHECKS_ATTEMPT`` counts as unset.
    """
    candidates = [
        (explicit, "--attempt"),
        (environ.get(ATTEMPT_ENV) or None, f"${ATTEMPT_ENV}"),
        (resumes.attempt if resumes is not None else None, "the resumed run's attempt id"),
    ]
    if environ.get("GITHUB_RUN_ID"):
        candidates.append(
            (f"github-{environ['GITHUB_RUN_ID']}-{environ.get('GITHUB_RUN_ATTEMPT') or '1'}", "$GITHUB_RUN_ID/$GITHUB_RUN_ATTEMPT")
        )
    for value, where in candidates:
        if value is not None:
            if not _ATTEMPT_RE.fullmatch(value):
                raise UsageProblem(
                    f"{where} {value!r}: an attempt id is 1-200 letters, digits and _.:/@+- (starting with a letter or digit)"
                )
            return value
    return run_id


def resumed_run(records: Sequence[RunRecord], environment: str, mode: str) -> RunRecord | None:
    """The run a ``--from`` resume continues: the last run of the environment's newest
    attempt of the same kind — a migration for an ``--execute`` resume (``mode`` is
    ``Mode.EXECUTE``), else read-only checks — when that attempt did not pass; ``None``
    otherwise (the resume is then an attempt of its own). ``records``: the ledger's runs,
    oldest first."""
    kind = Mode.EXECUTE if mode == Mode.EXECUTE else Mode.CHECK
    newest = next(evidence.Attempts(records).newest(environment, kind), None)
    return newest.last if newest is not None and newest.verdict != EvidenceStatus.PASSED else None


__all__ = ["ATTEMPT_ENV", "attempt_id", "resumed_run"]
