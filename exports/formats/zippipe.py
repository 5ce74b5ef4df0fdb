"""A ZIP archive written member by member as its bytes arrive: stream-zip, driven by pushes.

stream-zip builds the archive as a generator that *pulls* each member's bytes from an
iterable; a :class:`~exports.formats.base.Writer` is *pushed* one batch at a time and must hand
back the bytes for that batch at once. :class:`ZipPipe` joins the two without a thread or a
temporary file: each push appends to the open member's queue, then pulls the archive generator
just far enough to compress what was queued. The member's iterable ends every push with two
empty marker chunks that only this module's compressor knows: the first makes it return a
``Z_SYNC_FLUSH`` of the deflate stream (so what was pushed is complete on the wire and the block
to yield is never empty), the second returns stream-zip's own flush sentinel, on which its
generator yields everything it holds (the same sentinel stream-zip yields after each local
header). The generator is never asked for bytes that are not queued yet, so it never runs dry.
Memory is one batch's bytes, whatever the archive's size.

A member is stored as Zip32 while it starts below 4 GiB (less a margin for bytes stream-zip has
produced but not yet handed over), else as Zip64; stream-zip switches the central directory to
Zip64 only when a Zip64 member is in it. A Zip32 member's data must stay under 4 GiB: the
caller (the XLSX writer) starts a new member before that.
"""

from __future__ import annotations

import stat
import types
import zlib
from collections import deque
from collections.abc import Iterator
from datetime import datetime
from typing import Any, cast

from stream_zip import ZIP_32, ZIP_64, stream_zip

try:  # stream-zip's flush sentinel (a private name; tests/formats/test_xlsx.py relies on it)
    from stream_zip import _flush as FLUSH
except ImportError:  # pragma: no cover - an incompatible stream-zip
    raise ImportError("exports.formats.zippipe needs stream-zip's _flush sentinel") from None

# A fixed time for every member: the same rows give the same bytes, whatever the engine or day.
MODIFIED_AT = datetime(1980, 1, 1)
MODE = stat.S_IFREG | 0o644
ZIP32_LIMIT = 0xFFFFFFFF
# stream-zip may hold bytes not yet handed over when it asks for the next member (the end of
# the previous member and its data descriptor, or a small member): far less than this.
OFFSET_MARGIN = 16 * 1024 * 1024
# Deflate with ISA-L (the isal package) where it is installed, else zlib. On 50,000 demo orders'
# sheet XML (22.7 MB, sync-flushed every 5,000 rows): isal level 1 0.04 s -> 3.95 MB; zlib
# level 3 0.20 s -> 3.74 MB (level 1: 0.16 s -> 4.18 MB, level 6: 0.37 s -> 3.20 MB).
deflate: types.ModuleType
try:
    from isal import isal_zlib as deflate

    LEVEL = 1
except ImportError:  # pragma: no cover - a platform without isal's wheels
    deflate = zlib
    LEVEL = 3
# stream-zip cuts its output into blocks of this size; larger than anything pushed at once, so
# every block ends at a flush and the pipe hands it over at once.
UNBOUNDED = 1 << 62


class _Marker(bytes):
    """An empty chunk recognised by identity: it adds nothing to the CRC or the sizes."""


SYNC = _Marker()
PAUSE = _Marker()


class _Compressor:
    def __init__(self, pipe: ZipPipe, level: int) -> None:
        self._pipe = pipe
        self._deflate = deflate.compressobj(level, deflate.DEFLATED, -zlib.MAX_WBITS)

    def compress(self, data: bytes) -> bytes:
        if data is SYNC:
            return self._deflate.flush(deflate.Z_SYNC_FLUSH)
        if data is PAUSE:
            self._pipe._paused = True
            return FLUSH
        return self._deflate.compress(data)

    def flush(self) -> bytes:
        return self._deflate.flush()


class ZipPipe:
    """Push member bytes in, get the archive's bytes out, one push at a time.

    ``start(name, data)`` opens a member streamed over several pushes (closing the one open
    before it), ``write(data)`` adds to it, ``finish(members)`` closes it, adds whole small
    members and the central directory. Each returns the archive bytes produced so far.
    """

    def __init__(self, *, level: int | None = None) -> None:
        level = LEVEL if level is None else level
        self._members: deque[tuple[str, bytes | _Stream]] = deque()
        self._stream: _Stream | None = None
        self._paused = False
        self.offset = 0
        self._archive = iter(
            stream_zip(
                self._files(),
                chunk_size=UNBOUNDED,
                # A duck-typed compressor: compress() and flush() as zlib's.
                get_compressobj=lambda: cast(Any, _Compressor(self, level)),
                extended_timestamps=False,
            )
        )

    def start(self, name: str, data: bytes, *, before: bytes = b"") -> bytes:
        """Close the open member (after ``before``, its last bytes) and open ``name``."""
        self._close(before)
        self._stream = _Stream(data)
        self._members.append((name, self._stream))
        return self._pull()

    def write(self, data: bytes) -> bytes:
        assert self._stream is not None, "write() before start()"
        self._stream.queue.append(data)
        return self._pull()

    def finish(self, members: list[tuple[str, bytes]], *, before: bytes = b"") -> bytes:
        """Close the open member (after ``before``), add ``members`` whole, end the archive."""
        self._close(before)
        self._members.extend(members)
        tail = b"".join(self._archive)
        self.offset += len(tail)
        return tail

    def add(self, members: list[tuple[str, bytes]]) -> None:
        """Queue whole members, written ahead of the next streamed one."""
        self._members.extend(members)

    def _close(self, data: bytes) -> None:
        if self._stream is not None:
            if data:
                self._stream.queue.append(data)
            self._stream.closed = True
            self._stream = None

    def _pull(self) -> bytes:
        blocks = []
        while True:
            block = next(self._archive)
            blocks.append(block)
            self.offset += len(block)
            if self._paused:
                self._paused = False
                return b"".join(blocks)

    def _files(self) -> Iterator[tuple]:
        while self._members:
            name, data = self._members.popleft()
            method = ZIP_64 if self.offset > ZIP32_LIMIT - OFFSET_MARGIN else ZIP_32
            chunks = data.chunks() if isinstance(data, _Stream) else (data,)
            yield name, MODIFIED_AT, MODE, method, chunks


class _Stream:
    """A member's queued bytes; its chunks pause the archive whenever the queue runs dry."""

    def __init__(self, data: bytes) -> None:
        self.queue: deque[bytes] = deque([data])
        self.closed = False

    def chunks(self) -> Iterator[bytes]:
        queue = self.queue
        while True:
            while queue:
                yield queue.popleft()
            if self.closed:
                return
            yield SYNC
            yield PAUSE
