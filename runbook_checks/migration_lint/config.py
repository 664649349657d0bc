"""Migration lint, the config: which squawk findings a production run refuses.

Which rules *run* is squawk's own config file in the app (``.squawk.toml``:
``excluded_rules``, ``pg_version``, ``assume_in_transaction`` …). Which findings are
*destructive or blocking* is the list ``refuse`` in that same file's
``[runbook-checks]`` table (squawk ignores tables it does not know); without the table,
:data:`DEFAULT_REFUSE`.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from ..errors import UsageProblem

#: what the production policy refuses when the squawk config has no ``[runbook-checks] refuse``:
#: rules whose statements lose data, break clients that still run the old code, or hold
#: a lock that blocks reads or writes while a table is scanned or rewritten
DEFAULT_REFUSE: tuple[str, ...] = (
    "adding-field-with-default",
    "adding-foreign-key-constraint",
    "adding-not-nullable-field",
    "adding-required-field",
    "adding-serial-primary-key-field",
    "ban-concurrent-index-creation-in-transaction",
    "ban-drop-column",
    "ban-drop-database",
    "ban-drop-not-null",
    "ban-drop-table",
    "ban-truncate-cascade",
    "changing-column-type",
    "constraint-missing-not-valid",
    "disallowed-unique-constraint",
    "renaming-column",
    "renaming-table",
    "require-concurrent-index-creation",
    "require-concurrent-index-deletion",
)
#: the table of the squawk config that this package reads (squawk itself ignores it)
CONFIG_TABLE = "runbook-checks"


@dataclass(frozen=True)
class LintConfig:
    """The app's squawk config file and the rules (squawk rule names) a production run refuses."""

    path: Path
    refuse: frozenset[str]
    #: where ``refuse`` came from, for messages: the config's table or the built-in list
    refuse_source: str


def load_config(path: Path) -> LintConfig:
    """Read the squawk config at ``path`` for its ``[runbook-checks] refuse`` list (rule names).

    Raises ``UsageProblem`` (exit 2) when the file is missing, is not TOML, or ``refuse``
    is not a list of rule names."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageProblem(
            f"{path}: no squawk config here; the rules the lint applies come from it "
            f"(see docs/reference/cli.md#runbook-checks-lint-migrations), or pass --config"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageProblem(f"{path}: cannot read the squawk config ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageProblem(f"{path}: the squawk config is not valid TOML: {exc}") from None
    table = data.get(CONFIG_TABLE)
    if table is None:
        return LintConfig(path, frozenset(DEFAULT_REFUSE), "runbook-checks' default list")
    refuse = table.get("refuse") if isinstance(table, dict) else None
    if not isinstance(refuse, list) or not all(isinstance(r, str) and r.strip() for r in refuse):
        raise UsageProblem(f'{path}: [{CONFIG_TABLE}] refuse must be a list of squawk rule names, e.g. refuse = ["ban-drop-column"]')
    return LintConfig(path, frozenset(r.strip() for r in refuse), f"[{CONFIG_TABLE}] refuse in {path}")


__all__ = ["CONFIG_TABLE", "DEFAULT_REFUSE", "LintConfig", "load_config"]
