"""The record schema: the shipped JSON Schema (the contract), and the msgspec types derived
from it that check a ledger line while it is decoded.

``schema()`` is ``runbook_checks/schema/run-record.schema.json``, the only statement of
what a record holds. ``line_problem`` asks the types first: a line they accept follows the
schema, and nothing more is done. A line they refuse (a bad record, or a good one in a
form they are stricter about, such as ``1.0`` for an integer) is parsed and asked of the
contract, ``jsonschema``, which decides and words the problem. The types are made from the
schema when first needed (``_Types``); a keyword they cannot say exactly leaves the
contract alone to decide. ``tests/test_record_schema.py`` proves the types never accept a
record the contract refuses, on every fixture and on mutated records and lines.
"""

from __future__ import annotations

import functools
import json
import keyword
from importlib import resources
from typing import TYPE_CHECKING, Annotated, Any, Literal, Union

from ..model.record import too_deep
from .lines import LONE_SURROGATE, TOO_DEEP, canonical, loads, not_json
from .patterns import Patterns

if TYPE_CHECKING:
    import msgspec

#: keywords that say nothing about which records are valid (``$defs`` is read through ``$ref``)
_NOTES = frozenset({"$schema", "$id", "$defs", "$comment", "title", "description", "examples", "default", "deprecated"})
#: the keywords that apply to each JSON type (``type`` itself aside)
_KEYWORDS = {
    "string": {"pattern", "minLength", "maxLength"},
    "integer": {"minimum", "maximum"},
    "number": {"minimum", "maximum"},
    "array": {"items", "minItems", "maxItems"},
    "object": {"properties", "required", "additionalProperties", "allOf"},
    "boolean": set(),
    "null": set(),
}
#: msgspec's name for each keyword's bound
_META = {"pattern": "pattern", "minLength": "min_length", "maxLength": "max_length", "minimum": "ge", "maximum": "le"}
_META |= {"minItems": "min_length", "maxItems": "max_length"}


@functools.lru_cache(maxsize=1)
def schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a ledger record, shipped as
    ``runbook_checks/schema/run-record.schema.json``; read once."""
    text = resources.files("runbook_checks").joinpath("schema/run-record.schema.json").read_text(encoding="utf-8")
    return json.loads(text)


class Unsupported(Exception):
    """A part of the schema the msgspec types cannot say exactly (``_Types``)."""


class _Types:
    """The msgspec type of the schema ``root`` (``record``), and the ``if``/``then`` rules
    of its top level that a type cannot say (``conditions``: ``(attribute, value, required
    attributes)`` of the record's struct: when the attribute is absent or equal to
    ``value``, the others must be there).

    Raises ``Unsupported`` for a keyword or shape other than those the shipped schema uses
    (types, ``enum`` of strings or of integers, ``properties``/``required``/
    ``additionalProperties`` (``false`` or absent), ``items``, bounds, ``$ref`` into
    ``$defs`` (not recursive), ``oneOf``/``anyOf`` of branches of distinct JSON types,
    conditions on a scalar ``const``). Every type is as strict as the schema or stricter,
    never looser: an integer is an ``int`` (``1.0`` is refused), and every object refuses a
    key its ``properties`` do not name, even where the schema allows other keys (msgspec
    would skip such a value unread: neither its UTF-8 nor its numbers checked). A refused
    record goes to the contract."""

    def __init__(self, root: dict[str, Any], patterns: bool = True) -> None:
        self.root = root
        self.patterns = patterns  # false: no string carries its pattern (``patterns.Patterns`` checks them)
        self.defs: dict[str, Any] = {}
        self.making: set[str] = set()  # the $defs being made: a $ref to one of them is recursive
        self.level, self.field = 0, ""  # how many structs deep the type being made is, and the field of the record
        #: the record's fields whose values may take any shape (``options``): how deep they nest is measured after decoding
        self.open_values: set[str] = set()
        self.conditions: list[tuple[str, Any, tuple[str, ...]]] = []
        self.record = self.of(root, "Record", top=True)

    def of(self, node: Any, name: str, top: bool = False) -> Any:
        """The type of the schema ``node`` (``name``: a struct's name)."""
        if node is True or node == {}:
            if self.level != 1:
                raise Unsupported(f"{name}: a value of any shape below the record's own fields")
            self.open_values.add(self.field)
            return Any
        if not isinstance(node, dict):
            raise Unsupported(f"{name}: {node!r}")
        words = set(node) - _NOTES
        if "$ref" in node:
            if words != {"$ref"} or not str(node["$ref"]).startswith("#/$defs/"):
                raise Unsupported(f"{name}: $ref with other keywords")
            return self.ref(node["$ref"][len("#/$defs/") :])
        for union in ("oneOf", "anyOf"):
            if union in node:
                if words != {union}:
                    raise Unsupported(f"{name}: {union} with other keywords")
                return self.union([self.of(b, f"{name}{i}") for i, b in enumerate(node[union])], node[union])
        if "enum" in node:
            values = node["enum"]
            same = all(type(v) is str for v in values) or all(type(v) is int for v in values)
            if words != {"enum"} or not values or not same:
                raise Unsupported(f"{name}: enum")
            return Literal[tuple(values)]
        kinds = node.get("type")
        kinds = [kinds] if isinstance(kinds, str) else kinds
        if not isinstance(kinds, list) or not kinds or any(k not in _KEYWORDS for k in kinds):
            raise Unsupported(f"{name}: type {kinds!r}")
        if words - {"type"} - set().union(*(_KEYWORDS[k] for k in kinds)):
            raise Unsupported(f"{name}: keywords {sorted(words)}")
        if "allOf" in words and not top:
            raise Unsupported(f"{name}: allOf below the top level")
        return self.union([self.single(k, node, name) for k in kinds], None)

    def ref(self, name: str) -> Any:
        """The type of ``$defs/name``, made once."""
        if name not in self.defs:
            target = self.root.get("$defs", {}).get(name)
            if target is None or name in self.making:
                raise Unsupported(f"$ref to a missing or recursive $defs/{name}")
            self.making.add(name)
            self.defs[name] = self.of(target, name.title().replace("_", ""))
            self.making.discard(name)
        return self.defs[name]

    def union(self, types: list[Any], branches: list[Any] | None) -> Any:
        """The union of ``types``; for ``oneOf``/``anyOf`` ``branches``, only when each
        branch holds JSON values of its own type (no value can match two)."""
        if branches is not None:
            kinds = [_json_types(b, self.root) for b in branches]
            if not all(kinds) or sum(map(len, kinds)) != len(set().union(*kinds)):
                raise Unsupported("oneOf/anyOf of branches whose JSON types overlap")
        return types[0] if len(types) == 1 else Union[tuple(types)]  # noqa: UP007 (a runtime union of types)

    def single(self, kind: str, node: dict[str, Any], name: str) -> Any:
        """The type of ``node``'s keywords that apply to the JSON type ``kind``."""
        import msgspec  # about 6 ms to import (here and below): only when a record's schema is checked

        meta = {_META[k]: v for k, v in node.items() if k in _KEYWORDS[kind] and k in _META and (self.patterns or k != "pattern")}
        if kind == "array":
            base: Any = list[self.of(node.get("items", True), f"{name}Item")]  # type: ignore[misc]
        elif kind == "object":
            base = self.struct(node, name)
        else:
            base = {"string": str, "integer": int, "number": float, "boolean": bool, "null": None}[kind]
        return Annotated[base, msgspec.Meta(**meta)] if meta else base

    def struct(self, node: dict[str, Any], name: str) -> Any:
        """A ``properties`` object as a struct (no other key: see the class), a map of
        ``additionalProperties`` values, or any object."""
        import msgspec

        props, required, extra = node.get("properties"), node.get("required", []), node.get("additionalProperties", True)
        if props is None:
            if "required" in node or "allOf" in node:
                raise Unsupported(f"{name}: required without properties")
            return dict[str, self.of(extra, f"{name}Value")]  # type: ignore[misc]
        if extra not in (True, False) or not set(required) <= set(props):
            raise Unsupported(f"{name}: additionalProperties, or a required key not in properties")
        fields, rename = [], {}
        self.level += 1
        for i, (key, sub) in enumerate(props.items()):
            attr = key if key.isidentifier() and not keyword.iskeyword(key) and not key.startswith("_") else f"field_{i}"
            if attr in rename:
                raise Unsupported(f"{name}: two keys named {attr!r} as attributes")
            rename[attr] = key
            self.field = attr
            kind = self.of(sub, name + key.title().replace("_", ""))
            fields.append((attr, kind) if key in required else (attr, Union[kind, msgspec.UnsetType], msgspec.UNSET))  # noqa: UP007
        self.level -= 1
        attr_of = {key: attr for attr, key in rename.items()}
        for rule in node.get("allOf", []):
            key, value, need = _condition(rule, props)
            self.conditions.append((attr_of[key], value, tuple(attr_of[n] for n in need)))
        # every other key refused (see the class); gc=False: a decoded record holds no cycle, and
        # tracking its structs cost a third of decoding
        return msgspec.defstruct(name, fields, kw_only=True, rename=rename, forbid_unknown_fields=True, gc=False)


def _condition(rule: Any, props: dict[str, Any]) -> tuple[str, Any, tuple[str, ...]]:
    """An ``allOf`` item ``{"if": {"properties": {K: {"const": V}}}, "then": {"required": [...]}}``
    as ``(K, V, required)``; raises ``Unsupported`` for any other."""
    try:
        ((key, test),) = rule["if"]["properties"].items()
        need = tuple(rule["then"]["required"])
        ok = set(rule) == {"if", "then"} and set(rule["if"]) == {"properties"} and set(rule["then"]) == {"required"}
        scalar = isinstance(test.get("const"), str | int | float | bool | None)  # compared with ==, as JSON compares it
        if ok and set(test) == {"const"} and scalar and key in props and set(need) <= set(props):
            return key, test["const"], need
    except (AttributeError, KeyError, TypeError, ValueError):
        pass
    raise Unsupported(f"allOf item {rule!r:.80}")


def _json_types(branch: Any, root: dict[str, Any]) -> set[str]:
    """The JSON types a ``oneOf``/``anyOf`` branch can accept (``set()``: not known; a
    ``number`` counts as ``integer`` too, which it overlaps)."""
    if isinstance(branch, dict) and set(branch) - _NOTES == {"$ref"}:
        branch = root.get("$defs", {}).get(str(branch["$ref"]).removeprefix("#/$defs/"))
    if not isinstance(branch, dict) or "type" not in branch:
        return set()
    kinds = {branch["type"]} if isinstance(branch["type"], str) else set(branch["type"])
    return kinds | {"integer"} if "number" in kinds else kinds


@functools.lru_cache(maxsize=1)
def _typed() -> tuple[msgspec.json.Decoder, tuple[tuple[str, Any, tuple[str, ...]], ...], tuple[str, ...], Patterns] | None:
    """The decoder of the schema's types made without their string patterns, its top-level
    conditions, the record's fields of any shape (``_Types``) and the patterns, checked
    after decoding (``patterns.Patterns``, read off the same types made with them); ``None``
    when the schema says something they cannot (``Unsupported``): the contract then decides alone."""
    import msgspec

    try:
        types = _Types(schema(), patterns=False)
        decoder = msgspec.json.Decoder(types.record)
        patterns = Patterns(_Types(schema()).record)
    except (Unsupported, TypeError, RecursionError):  # TypeError: a union msgspec cannot decode
        return None
    return decoder, tuple(types.conditions), tuple(sorted(types.open_values)), patterns


def accepts(raw: bytes) -> bool:
    """Whether the line ``raw`` (UTF-8 JSON) certainly follows the record schema: decoded by
    the schema's types (which read every value: no key is skipped unchecked), meeting its
    conditions and string patterns (``patterns``), and with its values of any shape nested no deeper than ``json.loads``
    surely reaches (``model.record.too_deep``). ``False`` says only that the contract must
    decide (``line_problem``)."""
    import msgspec

    typed = _typed()
    if typed is None:
        return False
    decoder, conditions, open_values, patterns = typed
    try:
        record = decoder.decode(raw)
    except (msgspec.DecodeError, RecursionError):
        return False
    for attr, value, need in conditions:
        found = getattr(record, attr)
        if (found is msgspec.UNSET or found == value) and any(getattr(record, n) is msgspec.UNSET for n in need):
            return False
    return patterns.holds(record) and not any(too_deep(getattr(record, attr)) for attr in open_values)


def line_problem(raw: bytes) -> str | None:
    """What is wrong with the ledger line ``raw`` as a run record: not JSON, or not what the
    record schema says (``schema_problem``), or a string no run writes (``LONE_SURROGATE``:
    the schema allows it, but a reader could not print it); ``None`` when nothing is."""
    if accepts(raw):
        return None
    try:
        record = loads(raw)
        problem = schema_problem(record)
        if problem is None:
            canonical(record)  # the types refuse a lone surrogate; a sealed line's hash is on its bytes
        return problem
    except UnicodeEncodeError:
        return LONE_SURROGATE
    except ValueError as exc:
        return not_json(exc)
    except RecursionError:
        return TOO_DEEP


@functools.lru_cache(maxsize=1)
def _contract() -> Any:
    """The shipped schema interpreted by ``jsonschema`` (draft 2020-12): the contract, and
    the words of every schema problem reported."""
    from jsonschema import Draft202012Validator  # a tenth of a second to import: only when a line is refused

    return Draft202012Validator(schema())


def schema_problem(record: Any) -> str | None:
    """What is wrong with the parsed ``record`` against the record schema, in ``jsonschema``'s
    words (the first error by path), or ``None``."""
    validator = _contract()
    if validator.is_valid(record):
        return None
    error = min(validator.iter_errors(record), key=lambda e: list(e.path))
    where = "/".join(str(p) for p in error.absolute_path) or "record"
    message = error.message if len(error.message) <= 200 else error.message[:199] + "…"
    return f"does not match the record schema at {where}: {message}"


__all__ = ["Unsupported", "accepts", "line_problem", "schema", "schema_problem"]
