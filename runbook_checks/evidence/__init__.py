"""The evidence policy: what the verified records of a runbook say, in one place.

Every view asks this package — ``report`` (Markdown, JSON), the site (banner, badges,
criteria, timeline, history, audit), the GitHub step summary, JUnit and the
``requires`` gate — so they cannot disagree. It is pure: records in, answers out.

The rules (documented in ``docs/reference/evidence.md``):

- An **attempt** is one try at migrating one target: the runs of one environment that
  share an attempt id (one GitHub workflow run, ``--attempt ID``, a ``--from`` resume
  and the run it resumes). Attempts are ordered by their first run.
- Within an attempt, a block's result is its **latest executed** result (passed,
  failed, timed out or interrupted) over the attempt's runs, so a resumed block
  replaces its failure.
- An attempt's **verdict**: ``failed`` when any block's result failed or timed out;
  else ``interrupted`` when any was interrupted (or its last run was); else
  ``incomplete`` when nothing executed, when its runs recorded different target
  digests or fingerprinted content, or — for migrations and rehearsals — unless every
  step and every criterion block recorded in it passed; else ``passed``.
- Its **mode**: ``execute`` when any run of it was an ``--execute`` run (a migration),
  else ``rehearsal``, else ``check``. Only ``execute`` attempts are migrations: a
  rehearsal or a checks-only attempt never counts as a migration pass and never
  gives the timeline of one.
- What a page or report **shows** for an environment: its latest migration attempt;
  with none, the latest rehearsal (labelled as practice), else its latest checks-only
  attempt.
- The **timeline** sums, per phase, the durations of every block of the shown attempt
  that ran to its end (passed, failed or timed out; an interrupted block's time is not
  a measurement), over all its runs; a phase with no measured block is ``not
  measured`` and the total is then ``incomplete``.
- A criterion is ``stale`` when the block that proves it changed since (its SHA-256
  differs), ``never-run`` when the shown attempt has no executed result for it.
  A criterion proven by several blocks is ``never-run`` when any of them is, ``passed``
  when all passed, ``stale`` when they passed but one changed since, else the status
  of its first block that neither passed nor is stale (document order).
- A **block's evidence** (its badge) is its latest executed result among the
  environment's attempts of any mode, newest attempt first, else in the latest
  rehearsal; ``stale`` when the block changed since, ``never-run`` with none.
- A pass older than a page's ``max-age`` is ``overdue`` (``overdue``; the site asks).

One job per module: ``attempts`` groups runs into attempts, gives each its mode and
verdict, and picks what an environment shows (``State``, ``headline``); ``rows`` turns
that into each block's evidence, the criteria rows and the timeline rows.

The names below are the package's interface; import them from ``runbook_checks.evidence``.
The statuses it answers with are ``status.EvidenceStatus`` members.
"""

from __future__ import annotations

from .attempts import Attempt, Attempts, State, headline, state, utc_text, verdict
from .rows import CriterionRow, Evidence, TimelineRow, block_evidence, criteria, estimate_s, overdue, range_verdict, timeline

__all__ = [
    "Attempt",
    "Attempts",
    "CriterionRow",
    "Evidence",
    "State",
    "TimelineRow",
    "block_evidence",
    "criteria",
    "estimate_s",
    "headline",
    "overdue",
    "range_verdict",
    "state",
    "timeline",
    "utc_text",
    "verdict",
]
