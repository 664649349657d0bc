"""Reading a ledger file: in chunks of ``CHUNK`` bytes (from its path, or an open file with
``pread``), and the lines of those chunks, read in place without copying a chunk.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

#: how much of a ledger file is read at a time when it is streamed
CHUNK = 1 << 20


def lines(chunks: Iterable[bytes]) -> Iterator[tuple[bytes, int, int, int]]:
    """Each line of the file read as ``chunks``: ``(buffer, start, end, at)``, the line being
    ``buffer[start:end]`` (without its newline) and starting at byte ``at`` of the file. A
    line within a chunk is given in place, no chunk is copied: only a line that spans chunks
    is joined, into a buffer of its own. A last line without a newline comes with ``end``
    -1 (``buffer`` holds what there is of it)."""
    pieces: list[bytes] = []  # a line not yet ended
    line_at = position = 0  # where that line starts in the file, and where the chunk does
    for chunk in chunks:
        start = 0
        if pieces:
            cut = chunk.find(b"\n")
            if cut < 0:
                pieces.append(chunk)
                position += len(chunk)
                continue
            pieces.append(chunk[:cut])
            line = b"".join(pieces)
            pieces = []
            yield line, 0, len(line), line_at
            start = cut + 1
        while (end := chunk.find(b"\n", start)) >= 0:
            yield chunk, start, end, position + start
            start = end + 1
        if start < len(chunk):
            pieces.append(chunk[start:])
            line_at = position + start
        position += len(chunk)
    if pieces:
        line = b"".join(pieces)
        yield line, 0, -1, line_at


def chunks(path: Path, fd: int | None = None, offset: int = 0) -> Iterator[bytes]:
    """The bytes of the file ``path`` (or of the open file ``fd``, with ``pread``) from byte
    ``offset`` on, a chunk at a time."""
    if fd is not None:
        while chunk := os.pread(fd, CHUNK, offset):
            yield chunk
            offset += len(chunk)
        return
    with open(path, "rb") as f:
        f.seek(offset)
        while chunk := f.read(CHUNK):
            yield chunk


def hashed(chunks: Iterable[bytes], whole: Any) -> Iterator[bytes]:
    """``chunks``, each added to the hash ``whole`` as it passes."""
    for chunk in chunks:
        whole.update(chunk)
        yield chunk


def raw_lines(path: Path, fd: int | None) -> Iterator[bytes]:
    """The lines of the file ``path`` or ``fd`` (without newlines, a last one without its
    newline too), each as bytes of its own, read a chunk at a time (``lines``)."""
    for buffer, start, end, _ in lines(chunks(path, fd)):
        yield buffer[start : end if end >= 0 else None]
