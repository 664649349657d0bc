"""pytest plugin, collection: a runbook file and its tagged blocks as pytest items.

A runbook is loaded as the CLI loads it (``lint.load_runbook``: whatever lint reports
refuses it). Each tagged block is one item named by its id, in document order, marked
``runbook``, its kind (``check``/``step``), ``phase_<id>`` and ``xdist_group(<runbook
id>)`` (with ``--dist loadgroup`` one worker runs a runbook's blocks in order).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from ..errors import RunbookChecksError, RunbookInvalid
from ..failure import failure_report
from ..lint import load_runbook
from ..model import Block, BlockResult, Runbook
from ..status import BlockStatus
from ..streams import visible
from .reprs import BlockFailureRepr, RefusalRepr

if TYPE_CHECKING:
    from .session import RunbookSession


class RunbookFile(pytest.File):
    """A runbook collected by ``--runbooks``; ``plugin``: the session's plugin object."""

    runbook: Runbook

    def __init__(self, *, plugin: RunbookSession, **kw: Any) -> None:
        super().__init__(**kw)
        self.plugin = plugin

    def collect(self) -> Iterator[RunbookItem]:
        """One :class:`RunbookItem` per tagged block, in document order (pytest's
        ``Collector.collect``). Raises ``pytest.UsageError`` listing the runbook's problems
        when lint rejects it, as the CLI refuses to run it. A fleet runbook is collected with
        the session's target selected (``RunbookSession.select``, ``--runbooks-target``)."""
        try:
            runbook = load_runbook(self.path)
        except RunbookInvalid as exc:  # whatever lint reports, as the CLI refuses it
            raise pytest.UsageError(visible("runbook has problems:\n" + "\n".join(str(p) for p in exc.problems))) from None
        self.runbook = runbook = self.plugin.select(runbook)
        # the marks are made once per runbook (and each phase's marker declared once), not per item
        group = pytest.mark.xdist_group(runbook.id)  # with --dist loadgroup, one worker runs a runbook in order
        marks = {name: getattr(pytest.mark, name) for name in ("runbook", *{b.kind for b in runbook.blocks})}
        for phase in dict.fromkeys(b.phase for b in runbook.blocks if b.phase):
            self.config.addinivalue_line("markers", f"phase_{phase}: blocks of the {phase} phase")
            marks[f"phase_{phase}"] = getattr(pytest.mark, f"phase_{phase}")
        for block in runbook.blocks:
            item = RunbookItem.from_parent(self, name=block.id, block=block)
            item.add_marker(marks["runbook"])
            item.add_marker(marks[block.kind])
            item.add_marker(group)
            if block.phase:
                item.add_marker(marks[f"phase_{block.phase}"])
            yield item


class BlockFailed(Exception):
    """A block failed or timed out; ``result``: its ``BlockResult`` (also ``args[0]``)."""

    def __init__(self, result: BlockResult) -> None:
        super().__init__(result)
        self.result = result


class RunbookItem(pytest.Item):
    """One tagged block as a test: it runs in its runbook's run (``run.RunbookRun``), under
    the CLI's rules; its ``user_properties`` carry ``runbook``, ``block``, ``line``, the
    redacted ``output`` and each ``troubleshooting`` entry id (``--junitxml`` writes them)."""

    def __init__(self, *, block: Block, **kw: Any) -> None:
        super().__init__(**kw)
        self.block = block

    @property
    def runbook(self) -> Runbook:
        """The runbook the block belongs to (its file's)."""
        return self.parent.runbook  # type: ignore[attr-defined]

    @property
    def plugin(self) -> RunbookSession:
        """The session's plugin object (its file's)."""
        return self.parent.plugin  # type: ignore[attr-defined]

    def reportinfo(self) -> tuple[Path, int, str]:
        """``(path, 0-based fence line, block id)``: where pytest reports the item."""
        return self.path, self.block.line - 1, self.block.id

    def runtest(self) -> None:
        """Run the block in its runbook's run (started on the runbook's first item).

        Raises ``KeyboardInterrupt`` when the block was interrupted (the session stops,
        as the CLI does), ``pytest.skip.Exception`` with the reason when it was skipped or
        not run, :class:`BlockFailed` when it failed or timed out; a refused gate or a held
        lock raises its ``RunbookChecksError``."""
        run = self.plugin.run_of(self.runbook)
        result = run.run(self.block)
        if result.status == BlockStatus.INTERRUPTED:  # Ctrl-C stopped the block: stop the session, as the CLI does
            raise KeyboardInterrupt
        self.user_properties += [
            ("runbook", self.runbook.id),
            ("block", self.block.id),
            ("line", self.block.line),
            ("output", result.output),
        ]
        self.user_properties += [("troubleshooting", entry_id) for entry_id in result.troubleshooting]
        if result.status in (BlockStatus.SKIPPED, BlockStatus.NOT_RUN):
            raise pytest.skip.Exception(visible(result.reason or result.status), _use_item_location=True)
        if result.status != BlockStatus.PASSED:
            raise BlockFailed(result)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        """pytest's ``Item.repr_failure``: a :class:`BlockFailureRepr` for a failed block, a
        :class:`RefusalRepr` for a ``RunbookChecksError`` (no traceback into the plugin);
        anything else as pytest shows it."""
        if isinstance(excinfo.value, RunbookChecksError):  # a refused gate or a held lock: the message, no traceback
            return RefusalRepr(f"{self.path}:{self.block.line}", str(excinfo.value))
        if not isinstance(excinfo.value, BlockFailed):
            return super().repr_failure(excinfo)
        run = self.plugin.runs[self.runbook.id]
        report = failure_report(
            self.runbook,
            excinfo.value.result,
            path=str(self.path),
            mode=run.session.mode,
            redact=run.redactor,
            first_failure=run.session.failed_at,
        )
        return BlockFailureRepr(report)


__all__ = ["BlockFailed", "RunbookFile", "RunbookItem"]
