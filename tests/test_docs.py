"""The site documents every command, option, front-matter key, block attribute, status and exit code."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest

from runbook_checks import errors
from runbook_checks.cli import main
from runbook_checks.parse import BLOCK_ATTRIBUTES, RUNBOOK_KEYS
from runbook_checks.status import BlockStatus, Kind

DOCS = Path(__file__).parent.parent / "docs" / "reference"
CLI_DOC = (DOCS / "cli.md").read_text()
FORMAT_DOC = (DOCS / "runbook-format.md").read_text()
EXIT_DOC = (DOCS / "exit-codes.md").read_text()


def sections() -> dict[str, str]:
    parts = re.split(r"^## `runbook-checks ([\w-]+)", CLI_DOC, flags=re.M)
    return dict(zip(parts[1::2], parts[2::2]))


@pytest.mark.parametrize("name", sorted(main.commands))
def test_every_command_and_option_is_documented(name):
    doc = sections()
    assert name in doc, f"docs/reference/cli.md has no section for `runbook-checks {name}`"
    for param in main.commands[name].params:
        if isinstance(param, click.Option) and param.name != "help":
            assert any(f"`{opt}" in doc[name] for opt in param.opts), f"option {param.opts} of `{name}` is undocumented"


def test_every_front_matter_key_and_block_attribute_is_documented():
    for key in RUNBOOK_KEYS:
        assert f"| `runbook.{key}` |" in FORMAT_DOC, key
    for attr in BLOCK_ATTRIBUTES:
        assert f"| `{attr}` |" in FORMAT_DOC, attr
    for kind in Kind:
        assert f"| `.{kind}` |" in FORMAT_DOC, kind
    for status in BlockStatus:
        assert f"| `{status}` |" in FORMAT_DOC, status


def test_every_exit_code_is_documented_in_the_site_and_in_help():
    codes = {v for k, v in vars(errors).items() if k.startswith("EXIT_")}
    help_text = main.get_help(click.Context(main))
    for code in codes:
        assert f"| `{code}` |" in EXIT_DOC, code
        assert re.search(rf"^\s+{code}\s", help_text, re.M), code


def test_every_plugin_option_and_marker_is_documented():
    from runbook_checks.mkdocs.config import RunbookChecksConfig
    from runbook_checks.mkdocs.markers import MARKERS

    site_doc = (DOCS / "site.md").read_text()
    for name in dict(RunbookChecksConfig._schema):
        assert f"| `{name}` |" in site_doc, name
    for marker in MARKERS:
        assert f"<!-- runbook-checks: {marker}" in site_doc, marker


def test_every_pytest_option_ini_key_and_marker_is_documented(pytestconfig):
    doc = (DOCS / "pytest.md").read_text()
    group = pytestconfig._parser.getgroup("runbook-checks")
    for option in group.options:
        for name in option.names():
            if name.startswith("--"):
                assert f"| `{name}" in doc, name
    for key in ("runbooks", "runbooks_results"):
        assert f"| `{key}` |" in doc, key
    for marker in ("runbook", "check", "step", "phase_<id>"):
        assert f"`{marker}`" in doc, marker


def test_every_troubleshooting_attribute_is_documented():
    from runbook_checks.parse import ENTRY_ATTRIBUTES

    for attr in ENTRY_ATTRIBUTES:
        assert f"| `{attr}` |" in FORMAT_DOC, attr
    assert "| `.troubleshoot` |" in FORMAT_DOC


def test_every_environment_variable_the_package_reads_is_documented():
    """Each ``RUNBOOK_CHECKS_*`` variable named in the package's source appears in docs/."""
    source = "\n".join(p.read_text() for p in (DOCS.parent.parent / "runbook_checks").rglob("*.py"))
    names = set(re.findall(r"\bRUNBOOK_CHECKS_[A-Z_]+\b", source))
    assert "RUNBOOK_CHECKS_CACHE_DIR" in names
    docs = "\n".join(p.read_text() for p in DOCS.parent.rglob("*.md"))
    assert not {n for n in names if n not in docs}
