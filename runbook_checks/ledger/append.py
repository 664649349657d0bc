"""Appending a record to a ledger: whole or not at all.

Under the ledger's lock (``<ledger>.lock``), the ledger — never opened through a symbolic
link, nor its lock file — is read and verified, the record is chained to its last hash,
written in one ``write`` loop and fsync'd. A failed write is truncated away (a ledger the
append created is removed), so the ledger still verifies. ``last_hash`` asks the same
questions before anything runs, so a run whose record could not be kept never starts.

A verification is a pass over the whole file: the append after a run does not make it
again when the file is the one ``last_hash`` verified in this process, unchanged
(``_identity``, ``_SETTLED_NS``).
"""

from __future__ import annotations

import errno
import os
import stat
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from ..errors import LedgerError, LedgerRefused, NotRecorded
from ..model import RunRecord
from ..redact import redact_record
from .lazy import LazyRecords
from .lines import sealed_line
from .paths import record_ledger_path
from .scan import Verification
from .verify import verify_ledger

#: what ``O_NOFOLLOW`` makes ``open`` fail with when the last component is a symbolic link
_LINK_ERRNOS = (errno.ELOOP, errno.EMLINK)

#: per ledger path, the last check before a run (``last_hash``) in this process that found
#: it intact: the file's ``_identity`` then, its newest hash and its number of records
_verified: dict[str, tuple[tuple[int, ...], str | None, int]] = {}
#: how long before the check a file must have last changed to be remembered (ns): a write
#: after the check then moves its change time, however coarse the file system's clock
#: (a tick of up to a few ms on Linux, before 6.13: a write in the same tick keeps the time)
_SETTLED_NS = 2 * 10**9


def _identity(fd: int) -> tuple[int, ...]:
    """What tells an open file unchanged: its device, inode, size, and modification and
    change times (``ctime`` moves with every write to the next tick of the file system's
    clock, and no program sets it)."""
    st = os.fstat(fd)
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def _verify(path: Path, fd: int, records: LazyRecords | None = None) -> Verification:
    """``verify_ledger`` (hashes and chain) of the ledger open as ``fd``, under its lock, the
    lines verified added to ``records``; an intact one is remembered (``_verified``) when
    it did not change while it was read and had last changed ``_SETTLED_NS`` before."""
    now, before = time.time_ns(), _identity(fd)
    v = verify_ledger(path, validate_schema=False, keep_hashes=False, fd=fd, records=records)
    if v.ok and _identity(fd) == before and before[4] <= now - _SETTLED_NS:
        _verified[str(path)] = (before, v.head, v.records)
    return v


def _link_refusal(path: Path) -> str:
    """Why ``path``, a symbolic link, is not written through."""
    return (
        f"{path}: is a symbolic link; runbook-checks does not write a ledger through a link (a planted link could send "
        f"the record anywhere). Remove the link and put the ledger file itself there"
    )


def _open_ledger(path: Path, create: bool) -> tuple[int | None, bool]:
    """The ledger opened for reading and appending, never through a symbolic link, and
    whether this call created it; ``(None, False)`` when it does not exist and ``create``
    is false. Raises ``_Unusable`` saying why the ledger cannot take a record."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        st = None
    if st is not None and stat.S_ISLNK(st.st_mode):
        raise _Unusable(_link_refusal(path))
    if st is not None and not stat.S_ISREG(st.st_mode):
        raise _Unusable(f"{path}: is not a regular file, so it cannot be a ledger; move it away")
    if st is None and not create:
        return None, False
    flags = os.O_RDWR | os.O_APPEND | os.O_NOFOLLOW | os.O_CLOEXEC | (os.O_CREAT | os.O_EXCL if st is None else 0)
    try:
        fd = os.open(path, flags, 0o644)
    except OSError as exc:
        if exc.errno in _LINK_ERRNOS:
            raise _Unusable(_link_refusal(path)) from None
        raise _Unusable(f"{path}: the ledger cannot be written ({exc.strerror or exc})") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise _Unusable(f"{path}: is not a regular file, so it cannot be a ledger; move it away")
    return fd, st is None


class _Unusable(Exception):
    """Why a ledger cannot take a record (a sentence starting with the path)."""


@contextmanager
def _ledger_lock(path: Path) -> Iterator[None]:
    """The lock every append holds (``<ledger>.lock``, never followed through a link)."""
    lock_path = Path(f"{path}.lock")
    if lock_path.is_symlink():
        raise _Unusable(f"{lock_path}: is a symbolic link; runbook-checks does not open the ledger's lock file through a link. Remove it")
    lock = FileLock(str(lock_path), timeout=60)
    try:
        lock.acquire()
    except Timeout:
        raise _Unusable(f"{lock_path}: another process has held the ledger's lock for 60 s") from None
    except OSError as exc:
        if exc.errno in _LINK_ERRNOS:
            raise _Unusable(
                f"{lock_path}: is a symbolic link; runbook-checks does not open the ledger's lock file through a link. Remove it"
            ) from None
        raise _Unusable(f"{lock_path}: the ledger's lock file cannot be opened ({exc.strerror or exc})") from None
    try:
        yield
    finally:
        lock.release()


def _repair_hint(path: Path, v: Verification) -> str:
    """What to do about a ledger that failed ``v``, for the refusal's message."""
    if v.bad_line is not None and v.problem and v.problem.startswith("the last line is cut"):
        return (
            f"a cut last line is what an append interrupted by a crash or a full disk leaves behind: check with "
            f"'runbook-checks verify {path}', then remove that line (or restore the ledger from its published copy)"
        )
    if not v.ledger:
        return f"move that file away (or restore the ledger from its published copy); 'runbook-checks verify {path}' says the same"
    return f"run 'runbook-checks verify {path}' and restore the ledger from its published copy before recording more runs"


def last_hash(path: Path, records: LazyRecords | None = None) -> str | None:
    """The hash a new record must chain to (``None`` when the ledger does not exist yet),
    once the ledger is known to be able to take one: it is not a symbolic link (nor is
    its lock file), it verifies (hashes and chain, checked on its bytes as the site
    does), and it can be opened for writing. Callers ask before anything runs.
    ``records`` (an empty ``LazyRecords(path, streamed=True)``): the records verified are
    added to it in the same pass, what ``verified_records`` would read (a run whose blocks
    read earlier records).

    Raises ``LedgerRefused`` (exit 2), naming ``path:N`` for the first bad line (or, read
    for ``records``, a line that is no record) or the path that cannot be used, and what
    to do; nothing may run, since its record could not be kept.
    """
    path = Path(path)
    if not path.parent.is_dir():
        return None  # the first append makes the directory and the ledger
    try:
        with _ledger_lock(path):
            fd, _ = _open_ledger(path, create=False)
            if fd is None:
                if not os.access(path.parent, os.W_OK | os.X_OK):
                    raise _Unusable(f"{path.parent}: the results directory cannot be written, so the ledger {path.name} cannot be created")
                return None
            try:
                v = _verify(path, fd, records)
            except LedgerError as exc:  # read for ``records``: a line whose hash holds but which is no record (a forgery)
                raise LedgerRefused(f"{exc}. Nothing was executed.") from None
            finally:
                os.close(fd)
    except _Unusable as exc:
        raise LedgerRefused(f"{exc}. This run's record could not be kept, so nothing was executed.") from None
    if not v.ok:
        raise LedgerRefused(
            f"{v} — this run's record could not be chained to it, so nothing was executed. To go on: {_repair_hint(path, v)}."
        )
    return v.head


def append_record(
    results_dir: Path, record: RunRecord, redact: Callable[[str], str] | None = None, records: LazyRecords | None = None
) -> dict[str, Any]:
    """Append ``record`` to its runbook's ledger, whole or not at all; returns the sealed
    dict as written.

    Under the ledger's lock: the ledger (never followed through a symbolic link) is read
    and verified, the record chained to its last hash and written in one ``write`` loop,
    then fsync'd. When anything fails (a full disk, a read-only or vanished file, an I/O
    error on fsync), the ledger is truncated back to its length before the write (a
    ledger this append created is removed) and ``NotRecorded`` (exit 4) says so: the
    ledger still verifies and the next run can be recorded.

    ``redact`` (a ``redact.Redactor``) masks the record's free text first
    (``redact.redact_record``: output, reasons, expectations' actual values).

    ``records``: what the check before the run (``last_hash(path, records)``) took. When
    the ledger is still the file that check read (or there was none, and this append made
    it), the line written is added, so ``records`` holds the whole ledger; otherwise it is
    cleared (empty: read the ledger again, ``verified_records``).
    """
    results_dir = Path(results_dir)
    path = record_ledger_path(results_dir, record)
    run = f"run {record.run_id} ({record.status}, exit {record.exit_code})"

    def not_recorded(why: str) -> NotRecorded:
        return NotRecorded(f"{why}. The {run} executed but is NOT recorded: fix the cause and run it again")

    data = (redact_record(record, redact) if redact is not None else record).to_dict()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with _ledger_lock(path):
            fd, created = _open_ledger(path, create=True)
            assert fd is not None
            try:
                count = 0
                data["prev"] = None
                known = _verified.pop(str(path), None)
                unchanged = known is not None and not created and known[0] == _identity(fd)
                if unchanged:
                    data["prev"], count = known[1], known[2]  # the file verified before the run, unchanged since
                elif not created:
                    v = verify_ledger(path, validate_schema=False, keep_hashes=False, fd=fd)
                    if not v.ok:
                        raise _Unusable(
                            f"{v} — the record cannot be chained to a ledger that fails verification; the ledger was left as it was"
                        )
                    data["prev"], count = v.head, v.records
                try:
                    line = sealed_line(data)
                except UnicodeEncodeError as exc:  # a string no UTF-8 holds (a name that was not UTF-8): no line can keep it
                    raise _Unusable(
                        f"the record holds text that is not UTF-8 ({exc.object[exc.start : exc.end]!r}), which no ledger line can keep"
                    ) from None
                size = os.fstat(fd).st_size
                try:
                    written = 0
                    while written < len(line):
                        written += os.write(fd, line[written:])
                    os.fsync(fd)
                    if created:
                        _fsync_dir(path.parent)
                except BaseException as exc:  # a full disk, EIO on fsync, Ctrl-C in the middle: all or nothing
                    undone = _roll_back(path, fd, size, created, count, exc)
                    if isinstance(exc, OSError):
                        raise _Unusable(undone) from None
                    raise
            except BaseException:
                if created and path.exists() and not path.stat().st_size:
                    path.unlink()  # nothing of this append may stay behind, not even an empty file
                raise
            finally:
                os.close(fd)
    except _Unusable as exc:
        raise not_recorded(str(exc)) from None
    except OSError as exc:  # the results directory cannot be made
        raise not_recorded(f"{exc.filename or results_dir}: {exc.strerror or exc}") from None
    if records is not None:
        if records.path == path and (unchanged or (created and not len(records))):
            records.add(line, 0, len(line) - 1, size, data["hash"])
        else:
            records.clear()  # the ledger changed since the check: what it took is not the whole file
    return data


def _fsync_dir(directory: Path) -> None:
    """fsync ``directory``, so a ledger created in it survives a crash."""
    dir_fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _roll_back(path: Path, fd: int, size: int, created: bool, records: int, exc: BaseException) -> str:
    """Undo a failed append: truncate the ledger to ``size`` (remove it when this append
    created it); returns what happened, for the message."""
    why = f"{path}: writing the record failed ({getattr(exc, 'strerror', None) or exc or type(exc).__name__})"
    try:
        if created:
            os.unlink(path)
            return f"{why}; the ledger this run would have created was removed again"
        os.ftruncate(fd, size)
        os.fsync(fd)
    except OSError as undo:
        return (
            f"{why}, and rolling the ledger back to its {size} bytes failed too ({undo.strerror or undo}): its last line may be cut. "
            f"Run 'runbook-checks verify {path}' and remove what follows byte {size}"
        )
    return f"{why}; the ledger was rolled back to its {records} record(s) ({size} bytes) and still verifies"
