"""Where bytes come from, and how they become text.

:func:`open_source` opens a path, ``-``-style binary stream or uploaded file, counts the bytes
read (for progress), undoes gzip on the fly (up to ``max_decompressed`` bytes when given), and
refuses files that are clearly not text before any row is read. :func:`iter_text` decodes
incrementally: an undecodable byte is an :class:`~exports.imports.errors.ImportFileError`
naming its line and byte offset.

Only character sets are accepted as encodings: Python's codec registry also holds
bytes-to-bytes transforms (``base64``, ``hex``, ``zlib_codec``, ``uu``, ``rot13``) and
encodings of names or escapes (``punycode``, ``idna``, ``unicode_escape``), and a file
"decoded" with those fails in ways no file error describes (:func:`text_encoding`).
"""

from __future__ import annotations

import codecs
import contextlib
import gzip
import hashlib
import io
import os
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, BinaryIO, cast

from .errors import (
    BAD_ENCODING,
    BINARY_FILE,
    DECODE_ERROR,
    DECODE_FAILED,
    DECOMPRESSED_TOO_LARGE,
    EMPTY_FILE,
    GZIP_ERROR,
    INPUT_NOT_FOUND,
    NOT_TEXT_ENCODING,
    UTF16_WITHOUT_OPTION,
    ImportFileError,
)

READ_SIZE = 256 * 1024
SNIFF_SIZE = 8192
UTF8_BOM = codecs.BOM_UTF8

# Signatures of files people rename to .csv by mistake, with what to call them.
MAGIC = (
    (b"PK\x03\x04", "a ZIP archive (an Excel .xlsx or OpenDocument file?)"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old Excel .xls (OLE2) file"),
    (b"%PDF-", "a PDF document"),
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"SQLite format 3\x00", "an SQLite database"),
    (b"\x7fELF", "an executable program"),
    (b"BZh", "a bzip2 archive"),
    (b"\xfd7zXZ\x00", "an xz archive"),
    (b"PAR1", "a Parquet file"),
)
UTF16_BOMS = (
    (codecs.BOM_UTF32_LE, "UTF-32"),
    (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF16_LE, "UTF-16"),
    (codecs.BOM_UTF16_BE, "UTF-16"),
)
# Text codecs (by canonical name) that are not character sets a file is written in.
NOT_CHARSETS = frozenset(
    {"punycode", "idna", "undefined", "unicode-escape", "raw-unicode-escape", "mbcs", "oem"}
)
_CONTROL = bytes(b for b in range(32) if b not in b"\t\n\r\x0b\x0c\x1b")


class CountingReader(io.RawIOBase):
    """The raw side of the source's buffer: reads ``raw`` and counts the bytes (for progress;
    the compressed bytes of a gzip input)."""

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw = raw
        self.bytes_read = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.raw.read(len(buffer))
        size = len(data)
        buffer[:size] = data
        self.bytes_read += size
        return size


@dataclass
class OpenedSource:
    """An opened input: its name for messages, its size if known, the content's stream."""

    name: str
    size: int | None
    counter: CountingReader
    stream: io.BufferedReader[Any]

    def iter_bytes(self, read_size: int = READ_SIZE) -> Iterator[bytes]:
        """The content (decompressed), from the start: the first bytes were only peeked at.

        ``read1``: the peeked bytes come first, as a chunk of their own (the header is read
        before a later problem, such as the decompressed-size bound, stops the import), then
        one read of the source per chunk.
        """
        read = self.stream.read1
        try:
            while chunk := read(read_size):
                yield chunk
        except (OSError, EOFError, zlib.error) as exc:
            raise ImportFileError(GZIP_ERROR.format(error=exc)) from None


def text_encoding(name: str) -> str:
    """The canonical name of ``name`` if it is a character set; else an ImportFileError."""
    try:
        info = codecs.lookup(name)
    except (LookupError, TypeError, ValueError):
        raise ImportFileError(BAD_ENCODING.format(encoding=name)) from None
    canonical = info.name.replace("_", "-")
    if not getattr(info, "_is_text_encoding", True) or canonical in NOT_CHARSETS:
        raise ImportFileError(NOT_TEXT_ENCODING.format(encoding=name))
    return info.name


class LimitedReader(io.RawIOBase):
    """Read through ``stream``; past ``limit`` bytes, raise the decompressed-size error."""

    def __init__(self, stream: io.BufferedIOBase, limit: int) -> None:
        self.stream = stream
        self.limit = limit
        self.bytes_read = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        room = self.limit - self.bytes_read + 1  # one byte more tells "over" from "exactly"
        data = self.stream.read(min(len(buffer), room))
        size = len(data)
        self.bytes_read += size
        if self.bytes_read > self.limit:
            raise ImportFileError(DECOMPRESSED_TOO_LARGE.format(limit=self.limit))
        buffer[:size] = data
        return size


@contextlib.contextmanager
def open_source(
    source: str | os.PathLike[str] | BinaryIO,
    *,
    encoding: str,
    format_name: str,
    empty_ok: bool = False,
    max_decompressed: int | None = None,
) -> Iterator[OpenedSource]:
    """Open ``source`` (a path or a binary file object) and check its first bytes.

    ``empty_ok``: an empty file is no error (a format without a header line, whose empty file
    holds no rows). ``max_decompressed`` bounds what a gzip input may expand to (plain input
    is not counted).
    """
    encoding = text_encoding(encoding)
    with contextlib.ExitStack() as stack:
        if isinstance(source, str | os.PathLike):
            path = Path(source)
            try:
                raw: IO[bytes] = stack.enter_context(path.open("rb"))
                size: int | None = os.fstat(raw.fileno()).st_size
            except OSError as exc:
                raise ImportFileError(
                    INPUT_NOT_FOUND.format(path=path, error=exc.strerror or exc)
                ) from None
            name = str(path)
        else:
            raw = source
            name = getattr(source, "name", None) or "<stream>"
            size = _stream_size(source)
        counter = CountingReader(raw)
        # The first bytes are peeked at, not consumed: the readers start from byte 0. A buffer
        # of SNIFF_SIZE: the peek reads no more than the check needs (a pipe's first bytes,
        # a bounded gzip's first expansion); larger reads go past the buffer.
        stream = io.BufferedReader(counter, buffer_size=SNIFF_SIZE)
        head = stream.peek(SNIFF_SIZE)[:SNIFF_SIZE]
        if head[:2] == b"\x1f\x8b":
            unpacked = stack.enter_context(gzip.GzipFile(fileobj=stream, mode="rb"))
            bounded: io.RawIOBase | io.BufferedIOBase = (
                LimitedReader(unpacked, max_decompressed)
                if max_decompressed is not None
                else unpacked
            )
            stream = io.BufferedReader(cast(Any, bounded), buffer_size=SNIFF_SIZE)
            try:
                head = stream.peek(SNIFF_SIZE)[:SNIFF_SIZE]
            except (OSError, EOFError, zlib.error) as exc:
                raise ImportFileError(GZIP_ERROR.format(error=exc)) from None
        check_head(head, encoding=encoding, format_name=format_name, empty_ok=empty_ok)
        yield OpenedSource(name=name, size=size, counter=counter, stream=stream)


def _stream_size(stream: BinaryIO) -> int | None:
    try:
        return os.fstat(stream.fileno()).st_size or None
    except (AttributeError, OSError, ValueError):
        return getattr(stream, "size", None)


def check_head(head: bytes, *, encoding: str, format_name: str, empty_ok: bool = False) -> None:
    """Refuse an empty file (unless ``empty_ok``), a binary file, or UTF-16/32 read as
    something else."""
    if not head:
        if empty_ok:
            return
        raise ImportFileError(EMPTY_FILE)
    is_wide = encoding.startswith(("utf-16", "utf-32"))
    if not is_wide:
        for bom, label in UTF16_BOMS:
            if head.startswith(bom):
                raise ImportFileError(UTF16_WITHOUT_OPTION.format(bom=label, encoding=encoding))
    for magic, what in MAGIC:
        if head.startswith(magic):
            raise ImportFileError(BINARY_FILE.format(what=what, format=format_name))
    if not is_wide:
        controls = len(head) - len(head.translate(None, _CONTROL))
        if controls >= 8 and controls * 20 >= len(head):
            what = (
                "UTF-16 text without a byte order mark or binary data"
                if head.count(0) * 4 >= len(head)
                else "binary data"
            )
            raise ImportFileError(BINARY_FILE.format(what=what, format=format_name))


def iter_text(chunks: Iterator[bytes], *, encoding: str) -> Iterator[str]:
    """Decode byte chunks incrementally; a UTF-8 BOM at the start is dropped silently."""
    encoding = text_encoding(encoding)
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    offset = 0
    lines = 1
    first = True
    for chunk in chunks:
        if first and encoding == "utf-8" and chunk.startswith(UTF8_BOM):
            chunk = chunk[len(UTF8_BOM) :]
            offset = len(UTF8_BOM)
        first = False
        pending = decoder.getstate()[0]
        try:
            text = decoder.decode(chunk)
        except UnicodeDecodeError as exc:
            data = pending + chunk
            if not 0 <= exc.start < len(data):
                raise _decode_failed(lines, encoding, exc) from None
            good = data[: exc.start].decode(encoding, errors="replace")
            error = ImportFileError(
                DECODE_ERROR.format(
                    line=lines + _count_lines(good),
                    offset=offset - len(pending) + exc.start,
                    byte=data[exc.start],
                    encoding=encoding,
                )
            )
            if good:
                # The records before the bad byte are read (and reported) first.
                yield good
            raise error from None
        except UnicodeError as exc:  # a codec's own check, with no byte position
            raise _decode_failed(lines, encoding, exc) from None
        offset += len(chunk)
        lines += _count_lines(text)
        if text:
            yield text
    pending = decoder.getstate()[0]
    try:
        tail = decoder.decode(b"", final=True)
    except UnicodeError as exc:
        if not pending:
            raise _decode_failed(lines, encoding, exc) from None
        raise ImportFileError(
            DECODE_ERROR.format(
                line=lines, offset=offset - len(pending), byte=pending[0], encoding=encoding
            )
        ) from None
    if tail:
        yield tail


def _decode_failed(line: int, encoding: str, exc: UnicodeError) -> ImportFileError:
    reason = getattr(exc, "reason", None) or str(exc)
    return ImportFileError(DECODE_FAILED.format(line=line, encoding=encoding, error=reason))


def _count_lines(text: str) -> int:
    return text.count("\n") + text.count("\r") - text.count("\r\n")


def fingerprint(path: str | os.PathLike[str]) -> tuple[int, str]:
    """The size and SHA-256 of a file, to tie a checkpoint to its input."""
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(1024 * 1024):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()
