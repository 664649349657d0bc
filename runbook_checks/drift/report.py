"""Drift, the report: the outcome of one check as text lines, JSON and an exit code."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from ..errors import EXIT_FAILED, EXIT_OK
from .compare import Difference
from .connect import Target
from .history import Migrations


@dataclass
class DriftReport:
    """The outcome of ``check_drift``: the target, the server versions of the target and
    of the throwaway reference (``server_version`` strings, e.g. ``15.4``), the migrations
    against the target's history, the differing objects, and ``duration_s``: seconds the
    whole check took (the throwaway cluster's start included)."""

    target: Target
    target_version: str
    reference_version: str
    migrations: Migrations
    differences: list[Difference]
    duration_s: float

    @property
    def drifted(self) -> bool:
        """Differences, or migration problems (failed, modified, unknown); pending
        migrations are not drift."""
        return bool(self.differences or self.migrations.problems)

    @property
    def exit_code(self) -> int:
        """``errors.EXIT_OK`` (0) no drift (pending migrations allowed), ``errors.EXIT_FAILED`` (1) drift."""
        return EXIT_FAILED if self.drifted else EXIT_OK

    def lines(self) -> list[str]:
        """The report as text lines: a header, a note when the two servers' major versions
        differ (pg_dump may then write a definition differently), the pending migrations,
        the migration problems, one ``drift:`` line per difference, a verdict."""
        m = self.migrations
        out = [
            f"Drift check: {self.target} on PostgreSQL {self.target_version} against its {len(m.applied)} applied "
            f"migration(s) replayed on a throwaway PostgreSQL {self.reference_version}"
        ]
        if self.target_version.split(".")[0] != self.reference_version.split(".")[0]:
            out.append(
                "note: the target and the throwaway run different PostgreSQL major versions; pg_dump may write some definitions differently"
            )
        out += [f'pending: migration "{n}": in the migrations folder, not applied on the target (pending, not drift)' for n in m.pending]
        out += m.problems
        out += [str(d) for d in self.differences]
        pending = f"; {len(m.pending)} pending migration(s), not applied yet" if m.pending else ""
        if self.drifted:
            problems = f" and {len(m.problems)} migration problem(s)" if m.problems else ""
            out.append(
                f"DRIFT: {len(self.differences)} difference(s){problems} between the live schema and the applied "
                f"migrations{pending} ({self.duration_s:.1f} s)"
            )
        else:
            out.append(f"No drift: the live schema matches the {len(m.applied)} applied migration(s){pending} ({self.duration_s:.1f} s)")
        return out

    def to_dict(self) -> dict:
        """The report as ``--format json`` writes it: ``target``, ``target_version``,
        ``reference_version``, ``drift`` (bool), ``migrations`` (the lists and ``problems``),
        ``differences`` (each field plus its ``line``), ``duration_s`` (rounded to ms)."""
        return {
            "target": asdict(self.target),
            "target_version": self.target_version,
            "reference_version": self.reference_version,
            "drift": self.drifted,
            "migrations": {**asdict(self.migrations), "problems": self.migrations.problems},
            "differences": [{**asdict(d), "line": str(d)} for d in self.differences],
            "duration_s": round(self.duration_s, 3),
        }


__all__ = ["DriftReport"]
