"""The data model: small frozen dataclasses with explicit ``to_dict``/``from_dict``.

``Runbook``/``Block``/``Phase`` come from parsing; ``BlockResult``/``RunRecord`` from
running. What is persisted (a ``RunRecord``) carries ``SCHEMA_VERSION``; its shape is
``runbook_checks/schema/run-record.schema.json``. ``from_dict`` is tolerant (keys it does
not know are left out, so newer records read); ``to_dict`` gives the fields in
declaration order, which the ledger's canonical JSON then sorts.

Kinds, modes and statuses are ``StrEnum`` values of ``status`` (a field typed ``str``
holds a member, or the plain string read back from a record: they compare equal).
Durations are in seconds (``_s``), times are UTC ISO 8601 strings (``2026-11-30T06:30:00Z``),
hashes are SHA-256 in lowercase hex, lines are 1-based.

One job per module: ``runbook`` is the runbook as parsed, ``record`` the run as recorded.
The names below are the package's interface; import them from ``runbook_checks.model``.
"""

from __future__ import annotations

from .record import SCHEMA_VERSION, BlockResult, Expectation, RunRecord, decode_record
from .runbook import Acknowledgement, Block, Phase, Requirement, Runbook, Target, TroubleshootingEntry

__all__ = [
    "decode_record",
    "SCHEMA_VERSION",
    "Acknowledgement",
    "Block",
    "BlockResult",
    "Expectation",
    "Phase",
    "Requirement",
    "RunRecord",
    "Runbook",
    "Target",
    "TroubleshootingEntry",
]
