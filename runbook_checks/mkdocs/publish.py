"""Publishing each ledger into the site, as this build read and verified it, on a background thread while the pages build.

The audit page links to ``runbook-results/<id>.jsonl`` beside the site so an auditor can
verify the ledger themselves. The ledger is copied a chunk at a time (memory does not grow
with it), and the copy's SHA-256 must be that of the bytes the build verified: a ledger
changed while the site was built fails the build instead of publishing bytes no page was
made from. The copies are made while the pages build; the build waits for them before it
ends, and nothing is written into the site after it ends.
"""

from __future__ import annotations

import hashlib
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from mkdocs.exceptions import PluginError

#: how much of a ledger is copied at a time
CHUNK = 1 << 20
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

    def publish(self, runbook_id: str, source: Path, sha256: str) -> None:
        """Copy the ledger ``source`` to ``runbook-results/<runbook_id>.jsonl`` in the site, in
        the background, checking the copy's SHA-256 is ``sha256`` (what the build verified); a
        runbook already published this build is skipped."""
        if runbook_id in self.published:
            return
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="runbook-checks-publish")
        self.published[runbook_id] = self._pool.submit(_copy, source, self.site_dir / published_path(runbook_id), sha256)

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


def _copy(source: Path, target: Path, sha256: str) -> None:
    """Copy ``source`` to ``target`` a chunk at a time (on the publishing thread), making its
    folder. Raises ``ValueError`` when the bytes copied are not those with hash ``sha256``
    (the ledger changed since the build verified it)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    copied = hashlib.sha256()
    with open(source, "rb") as src, open(target, "wb") as dst:
        while chunk := src.read(CHUNK):
            copied.update(chunk)
            dst.write(chunk)
    if copied.hexdigest() != sha256:
        target.unlink(missing_ok=True)
        raise ValueError(f"{source} changed while the site was built (it is not the ledger the pages were made from); build again")
