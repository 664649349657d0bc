"""A run as recorded: each block's result and the run record, one ledger line (without
``prev``/``hash``), with their JSON forms; the ledger seals ``RunRecord.to_dict()``, so
its field order and its omissions are the records' bytes."""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable
from dataclasses import MISSING, dataclass, field, fields
from typing import Any, TypeVar

T = TypeVar("T")
#: a field with no plain default (it has none, or a factory)
_MISSING = object()

#: 2 added ``attempt_id`` and ``target``; records of version 1 still read and verify
SCHEMA_VERSION = 2


@dataclass(frozen=True)
class Expectation:
    """One expectation of a block and whether the run met it."""

    #: which attribute it comes from: ``expect``, ``expect-regex``, ``forbid`` or ``exit``
    name: str
    #: what was expected, as written
    expected: str
    #: whether the run met it
    met: bool
    #: what the run showed instead (redacted), when it did not
    actual: str | None = None


@dataclass(frozen=True)
class BlockResult:
    """What happened to one block in one run (an element of a record's ``blocks``)."""

    #: the block id, kind (a ``status.Kind``) and outcome (a ``status.BlockStatus``)
    id: str
    kind: str
    status: str
    #: 1-based line of the block's opening fence when it ran
    line: int
    #: ``Block.sha256`` when it ran: a different current hash makes this result stale
    sha256: str
    #: the block's ``phase`` and ``criterion`` when it ran
    phase: str | None = None
    criterion: str | None = None
    #: the exit code of the last attempt (``None``: no process ran, or it was killed)
    exit_code: int | None = None
    #: when the first attempt started (UTC ISO), and the seconds all attempts took
    started_at: str | None = None
    duration_s: float = 0.0
    #: how many times the block ran (1 + the retries used; 0 when it did not run)
    attempts: int = 0
    #: each expectation and whether it was met
    expectations: tuple[Expectation, ...] = ()
    #: redacted output, head and tail kept when long
    output: str = ""
    #: size of the whole (redacted) output in bytes, and whether ``output`` is cut
    output_bytes: int = 0
    output_truncated: bool = False
    #: why a block was skipped or not run, or what failed
    reason: str | None = None
    #: the block ran after an earlier block had failed
    after_failure: bool = False
    #: ids of the troubleshooting entries that explain this failure
    troubleshooting: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The result as JSON values, as ``dataclasses.asdict`` makes them (tuples stay
        tuples, which JSON writes as arrays), fields in declaration order; built field by
        field (``asdict`` recurses through every value and costs more than the block's spawn)."""
        data = {name: getattr(self, name) for name in _BLOCK_NAMES}
        data["expectations"] = tuple({"name": e.name, "expected": e.expected, "met": e.met, "actual": e.actual} for e in self.expectations)
        data["troubleshooting"] = tuple(self.troubleshooting)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BlockResult:
        """The result of a record's ``blocks[]`` element; unknown keys are left out, of its
        expectations too, and an integer ``duration_s`` is read as a float. Raises
        ``TypeError`` (a required field missing) or ``AttributeError``/``TypeError`` for a
        bad expectation."""
        values = {k: v for k, v in data.items() if k in _BLOCK_FIELDS}
        values["expectations"] = tuple(
            _made(Expectation, {k: v for k, v in e.items() if k in _EXPECTATION_FIELDS}) for e in data.get("expectations", ())
        )
        values["troubleshooting"] = tuple(data.get("troubleshooting", ()))
        return _made(cls, _as_float(values))


@dataclass(frozen=True)
class RunRecord:
    """One run of one runbook: a line of the ledger (without ``prev``/``hash``)."""

    #: the run's id: UTC time and 6 random hex digits, e.g. ``20261130T120000Z-1a2b3c`` (``context.new_run_id``)
    run_id: str
    #: the runbook's id, its path as given (relative to the project root) and its file's SHA-256
    runbook_id: str
    runbook_path: str
    runbook_sha256: str
    #: the environment the run is recorded under
    environment: str
    #: a ``status.Mode``: ``check`` (read-only checks), ``execute`` (steps allowed), ``rehearsal``
    mode: str
    #: a ``status.RunStatus``, and the process exit code it gave (0 passed, 1 failed, 130 interrupted...)
    status: str
    exit_code: int
    #: UTC ISO times, and the seconds between them
    started_at: str
    finished_at: str
    duration_s: float
    #: who ran it (the CI actor, else the login name) and on which host
    actor: str
    host: str
    #: ``{"commit": sha, "dirty": bool}`` of the repository (``None`` outside git; ``context.git_info``)
    git: dict[str, Any] | None
    #: the CI run (``{"provider": "github-actions", "run_id", "run_url", ...}``; ``None`` outside CI; ``context.ci_context``)
    ci: dict[str, Any] | None
    #: each block's result, in document order
    blocks: tuple[BlockResult, ...]
    #: the run this one resumes (``--from``), and the blocks it did not re-run
    resumes: str | None = None
    not_rerun: tuple[str, ...] = ()
    #: the record's shape (``SCHEMA_VERSION`` when written by this version)
    schema_version: int = SCHEMA_VERSION
    #: how the run was made: ``{"runner", "execute", "from", "ran": [block ids executed], "database"?}``
    options: dict[str, Any] = field(default_factory=dict)
    #: content hashes of the runbook's ``fingerprint`` paths at the time of the run
    fingerprints: dict[str, str] = field(default_factory=dict)
    #: the migration attempt this run belongs to (``None`` in version-1 records: the run is its own)
    attempt_id: str | None = None
    #: ``{"from": VAR, "digest": SHA-256 of host, port and database}`` (see ``target.py``), or ``None``
    target: dict[str, Any] | None = None
    #: the runbook's ``acknowledge`` entries in force for this run, as ``{migration, rule, by,
    #: reason}``; left out of the record when empty, so records without any keep their bytes
    acknowledgements: tuple[dict[str, str], ...] = ()

    @property
    def attempt(self) -> str:
        """The attempt id; a version-1 record is an attempt of its own."""
        return self.attempt_id or self.run_id

    def to_dict(self) -> dict[str, Any]:
        """The record as JSON values, as the ledger seals it: fields in declaration order,
        ``blocks`` and ``not_rerun`` as lists, ``acknowledgements`` left out when empty (so
        records without any keep the bytes they had before the field existed). The mappings
        are copies, as ``dataclasses.asdict`` made them."""
        data = {name: getattr(self, name) for name in _RECORD_NAMES}
        for name in _RECORD_MAPPINGS:
            data[name] = copy.deepcopy(data[name])
        data["blocks"] = [b.to_dict() for b in self.blocks]
        data["not_rerun"] = list(self.not_rerun)
        if self.acknowledgements:
            data["acknowledgements"] = [dict(a) for a in self.acknowledgements]
        else:
            del data["acknowledgements"]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunRecord:
        """The record of a ledger line's JSON (``prev``, ``hash`` and unknown keys left out;
        version-1 records read; an integer ``duration_s`` read as a float). Raises
        ``TypeError`` when a required field is missing, and what ``BlockResult.from_dict`` raises."""
        values = {k: v for k, v in data.items() if k in _RECORD_FIELDS}
        values["blocks"] = tuple(BlockResult.from_dict(b) for b in data.get("blocks", ()))
        values["not_rerun"] = tuple(data.get("not_rerun", ()))
        values["acknowledgements"] = tuple(dict(a) for a in data.get("acknowledgements", ()))
        return _made(cls, _as_float(values))

    def result(self, block_id: str) -> BlockResult | None:
        """The result of block ``block_id`` in this run (``None``: the run has none)."""
        for b in self.blocks:
            if b.id == block_id:
                return b
        return None


#: how deep a value of any shape (``options``, ``ci``) may nest for msgspec's reading of a
#: line to stand for ``json.loads``'s: their nesting limits differ (``json``'s is Python's
#: recursion limit, less its caller's depth), and this is far below both
OPEN_DEPTH = 100
#: ``json.loads`` refuses an integer of more digits (``sys.get_int_max_str_digits``)
_DIGITS = 4300
#: every byte as ``b"0"`` when a digit, else as a space: where long runs of digits are
_DIGIT_RUNS = bytes(48 if 48 <= b <= 57 else 32 for b in range(256))


def too_deep(value: Any, limit: int = OPEN_DEPTH) -> bool:
    """Whether the decoded JSON ``value`` nests lists and objects more than ``limit`` levels
    deep (``OPEN_DEPTH``). Iterative: any depth msgspec decoded is measured."""
    level = [(value, 0)]
    while level:
        item, depth = level.pop()
        if isinstance(item, dict | list):
            if depth >= limit:
                return True
            level.extend((v, depth + 1) for v in (item.values() if isinstance(item, dict) else item))
    return False


def decode_record(raw: bytes) -> RunRecord | None:
    """The record of a ledger line's bytes (``raw``: UTF-8 JSON), decoded straight into
    these dataclasses by msgspec, as ``RunRecord.from_dict`` of its JSON makes it (unknown
    keys left out, version-1 records read, arrays as tuples, an integer ``duration_s`` as a
    float), four times faster; ``None`` for a line where a value is not of its field's
    declared type (``from_dict`` keeps any value as it is: the caller then reads the line
    that way), that is no record, or that ``json.loads`` might read otherwise (bytes that
    are not UTF-8 or a run of digits too long for it, in a value msgspec skips unchecked;
    more brackets than ``OPEN_DEPTH``).
    ``tests/test_record_schema.py`` compares both readings, value and type, field by field."""
    import msgspec  # about 6 ms to import: only when a record is read

    # a value msgspec skips (``prev``, ``hash``, an unknown key) is not checked by it, so the
    # line's bytes are: UTF-8, no run of digits json refuses, and (counting every bracket) no
    # nesting deeper than OPEN_DEPTH; any other line is left to json.loads
    if not (raw.isascii() or _utf8(raw)) or raw.count(b"[") + raw.count(b"{") > OPEN_DEPTH:
        return None
    if len(raw) > _DIGITS and b"0" * (_DIGITS + 1) in raw.translate(_DIGIT_RUNS):
        return None
    try:
        return _decoder().decode(raw)
    except (msgspec.DecodeError, RecursionError):
        return None


def _utf8(raw: bytes) -> bool:
    """Whether ``raw`` is UTF-8 throughout (strictly: no surrogates, which ``json.loads`` would read)."""
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


@functools.cache
def _decoder() -> Any:
    """msgspec's JSON decoder of ``RunRecord`` (made once: it reads the dataclasses' fields and types)."""
    import msgspec

    return msgspec.json.Decoder(RunRecord)


def _as_float(values: dict[str, Any]) -> dict[str, Any]:
    """``values`` with an integer ``duration_s`` as the float it stands for (as msgspec reads
    it for the field's declared type); a value too large for a float is left as it is."""
    if type(values.get("duration_s")) is int:
        try:
            values["duration_s"] = float(values["duration_s"])
        except OverflowError:
            pass
    return values


def _defaults(cls: type) -> tuple[dict[str, Any], dict[str, Callable[[], Any]], frozenset[str]]:
    """A dataclass's fields, in order, with their defaults (``_MISSING`` for a field without
    one or with a factory), its fields' factories, and its fields without a default. Raises
    ``TypeError`` for a class with a ``__post_init__``, which ``_made`` would not call."""
    if hasattr(cls, "__post_init__"):
        raise TypeError(f"{cls.__name__} has a __post_init__: _made would skip it")
    defaults = {f.name: f.default if f.default is not MISSING else _MISSING for f in fields(cls)}
    factories = {f.name: f.default_factory for f in fields(cls) if f.default_factory is not MISSING}
    required = frozenset(f.name for f in fields(cls) if f.default is MISSING and f.default_factory is MISSING)
    return defaults, factories, required


def _made(cls: type[T], values: dict[str, Any]) -> T:
    """``cls(**values)`` for one of this module's frozen dataclasses, made without its
    generated ``__init__`` (which sets each field through ``object.__setattr__``, most of the
    cost of reading a ledger line): the same fields, in the same order, with the same
    defaults (a fresh one from each factory). Anything the ``__init__`` would refuse (a
    field missing, an unknown one) goes through it, so it raises the same ``TypeError``."""
    defaults, factories, required = _SHAPES[cls]
    if not required <= values.keys() or not values.keys() <= defaults.keys():
        return cls(**values)
    state = {**defaults, **values}
    for name, factory in factories.items():
        if name not in values:
            state[name] = factory()
    made = object.__new__(cls)
    made.__dict__.update(state)
    return made


#: ``_defaults`` of each dataclass ``_made`` makes
_SHAPES: dict[type, tuple[dict[str, Any], dict[str, Callable[[], Any]], frozenset[str]]] = {
    cls: _defaults(cls) for cls in (Expectation, BlockResult, RunRecord)
}
_BLOCK_NAMES = tuple(f.name for f in fields(BlockResult))
_RECORD_NAMES = tuple(f.name for f in fields(RunRecord))
_BLOCK_FIELDS = frozenset(_BLOCK_NAMES)
_EXPECTATION_FIELDS = frozenset(f.name for f in fields(Expectation))
_RECORD_FIELDS = frozenset(_RECORD_NAMES)
#: a record's fields that hold JSON mappings (copied by ``to_dict``)
_RECORD_MAPPINGS = ("git", "ci", "options", "fingerprints", "target")
