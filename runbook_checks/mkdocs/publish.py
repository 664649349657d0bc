"""Publishing each ledger into the site, as this build read and verified it, on a background thread while the pages build.

The audit page links to ``runbook-results/<id>.jsonl`` beside the site so an auditor can
verify the ledger themselves. The bytes written are those the build verified (not the
file read again), and they are written while the pages build; the build waits for them
before it ends, and nothing is written into the site after it ends.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from mkdocs.exceptions import PluginError

#: where in the site the ledgers are published (the audit page links there)
PUBLISHED_DIR = "runbook-results"


def published_path(runbook_id: str) -> str:
    """The site-relative path of a runbook's published ledger: ``runbook-results/<id>.jsonl``."""
    return f"{PUBLISHED_DIR}/{runbook_id}.jsonl"


class Publisher:
    """Writes ledgers into ``site_dir`` on one background thread, each runbook's at most once a build."""

    def __init__(self, site_dir: Path) -> None:
        """A publisher for the site built into ``site_dir``; its thread starts with the first ledger."""
        self.site_dir = site_dir
        self._pool: ThreadPoolExecutor | None = None
        #: runbook id -> the write of its ledger
        self.published: dict[str, Future[None]] = {}

    def publish(self, runbook_id: str, data: bytes) -> None:
        """Write ``data`` (the ledger's bytes as verified) to ``runbook-results/<runbook_id>.jsonl``
        in the site, in the background; a runbook already published this build is skipped."""
        if runbook_id in self.published:
            return
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="runbook-checks-publish")
        self.published[runbook_id] = self._pool.submit(_write, self.site_dir / published_path(runbook_id), data)

    def stop(self) -> None:
        """Wait for the writes under way and end the thread (a failed build calls this too)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def finish(self) -> None:
        """Wait for every write; raises ``PluginError`` naming the first that failed."""
        self.stop()
        for future in self.published.values():
            if (error := future.exception()) is not None:
                raise PluginError(f"runbook-checks: could not publish the ledgers into the site: {error}")


def _write(target: Path, data: bytes) -> None:
    """Write ``data`` to ``target``, making its folder (on the publishing thread)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
