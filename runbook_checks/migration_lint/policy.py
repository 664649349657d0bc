"""Migration lint, the policy: what the findings mean for this run, and the report (pure).

A finding whose rule the config refuses (see ``config``), or squawk's ``syntax-error``
(a migration PostgreSQL cannot parse fails the deploy halfway), is destructive or
blocking. Under ``warn`` (staging) every finding is shown and the check passes; under
``refuse`` (production) it fails while such a finding is not acknowledged: the
runbook's ``runbook.acknowledge`` names its migration and rule, with who and why
(``model.Acknowledgement``). A syntax error cannot be acknowledged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from ..errors import UsageProblem
from ..model import Acknowledgement
from .config import LintConfig
from .squawk import SYNTAX_ERROR, Finding


class Policy(StrEnum):
    """What a destructive or blocking finding does: ``warn`` shows it, ``refuse`` fails on it
    unless acknowledged (``lint-migrations --policy``)."""

    WARN = "warn"
    REFUSE = "refuse"


WARN, REFUSE = Policy.WARN, Policy.REFUSE
POLICIES = tuple(Policy)


@dataclass
class Verdict:
    """The findings sorted by what the policy makes of them; ``migrations``: the names linted."""

    policy: str
    migrations: tuple[str, ...]
    #: destructive or blocking, not acknowledged: the ``refuse`` policy fails on these
    refused: list[Finding] = field(default_factory=list)
    #: destructive or blocking, acknowledged: (finding, who and why)
    acknowledged: list[tuple[Finding, Acknowledgement]] = field(default_factory=list)
    #: everything else squawk reported
    warnings: list[Finding] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """Whether the check passes: always under ``warn``; under ``refuse`` when nothing is refused."""
        return self.policy == WARN or not self.refused


def judge(
    findings: Sequence[Finding],
    *,
    config: LintConfig,
    acknowledgements: Sequence[Acknowledgement],
    policy: str,
    migrations: Sequence[str] = (),
) -> Verdict:
    """Sort ``findings`` into refused, acknowledged and warnings: a finding whose rule is in
    ``config.refuse`` (or is a syntax error) is destructive or blocking; it is acknowledged
    when an entry names its migration and rule. Pure. Raises ``UsageProblem`` (exit 2) for
    a ``policy`` that is not a :class:`Policy`."""
    if policy not in POLICIES:
        raise UsageProblem(f"policy {policy!r}: choose one of {', '.join(POLICIES)}")
    acks = {(a.migration, a.rule): a for a in acknowledgements}
    verdict = Verdict(policy, tuple(migrations))
    for f in findings:
        if f.rule in config.refuse or f.rule == SYNTAX_ERROR:
            ack = acks.get((f.migration, f.rule)) if f.rule != SYNTAX_ERROR else None
            if ack is not None:
                verdict.acknowledged.append((f, ack))
            else:
                verdict.refused.append(f)
        else:
            verdict.warnings.append(f)
    return verdict


def report_lines(verdict: Verdict, *, findings: Sequence[Finding], config: LintConfig, runbook: str | None) -> list[str]:
    """What the command prints: each finding as ``path:line: rule: message`` in file and line
    order, with indented lines for squawk's help and what the policy made of it; then a
    summary and, when something is refused, what to do (the ``runbook.acknowledge`` entries
    to add, in the runbook's front-matter syntax). ``runbook``: its path, for that advice."""
    acked = {id(f): a for f, a in verdict.acknowledged}
    refused = {id(f) for f in verdict.refused}
    lines = []
    for f in findings:
        lines.append(str(f))
        if f.help:
            lines.append(f"  help: {f.help}")
        if id(f) in acked:
            a = acked[id(f)]
            lines.append(f"  acknowledged by {a.by}: {a.reason}")
        elif id(f) in refused:
            lines.append(
                "  destructive or blocking: "
                + ("refused, not acknowledged" if verdict.policy == REFUSE else "production refuses it unless acknowledged")
            )
    n = len(verdict.migrations)
    lines.append(
        f"{len(findings)} finding(s) in {n} pending migration(s): {len(verdict.refused)} destructive or blocking and "
        f"not acknowledged, {len(verdict.acknowledged)} acknowledged, {len(verdict.warnings)} warning(s)"
    )
    if verdict.refused:
        where = f"runbook.acknowledge in {runbook}" if runbook else "runbook.acknowledge in the runbook's front matter"
        if verdict.policy == REFUSE:
            lines.append(f"refused: review the destructive or blocking findings above; to go on, fix the migration or add to {where}:")
        else:
            lines.append(f"warn only ({WARN} policy): production refuses these unless {where} lists them:")
        seen = set()
        for f in verdict.refused:
            if f.rule == SYNTAX_ERROR:
                if verdict.policy == REFUSE and (f.migration, f.rule) not in seen:
                    lines.append(f"  (a syntax-error in {f.migration} cannot be acknowledged: fix the SQL)")
                seen.add((f.migration, f.rule))
                continue
            if (f.migration, f.rule) not in seen:
                seen.add((f.migration, f.rule))
                lines.append(f'  - {{migration: {f.migration}, rule: {f.rule}, by: "<who>", reason: "<why it is safe>"}}')
        lines.append(f"(destructive or blocking rules: {config.refuse_source})")
    return lines


__all__ = ["POLICIES", "REFUSE", "WARN", "Policy", "Verdict", "judge", "report_lines"]
