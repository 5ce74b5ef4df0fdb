"""Where bytes go: a file written under a temporary name and renamed only when complete."""

from __future__ import annotations

import contextlib
import gzip
import os
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import BinaryIO


def write_atomic(
    path: str | os.PathLike[str],
    chunks: Iterable[bytes],
    *,
    compress: bool | None = None,
    on_chunk: Callable[[bytes], None] | None = None,
) -> int:
    """Write ``chunks`` to ``path`` atomically; return the number of bytes written (uncompressed).

    The data goes to a hidden temporary file in the same directory, is flushed and fsynced,
    then renamed over ``path``. On any error (or KeyboardInterrupt) the temporary file is
    removed and ``path`` is left as it was. ``compress`` defaults to ``path`` ending in ``.gz``.
    """
    target = Path(path)
    if compress is None:
        compress = target.name.lower().endswith(".gz")
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    written = 0
    try:
        with os.fdopen(fd, "wb") as raw:
            out: BinaryIO
            with _maybe_gzip(raw, compress, target.name) as out:
                for chunk in chunks:
                    out.write(chunk)
                    written += len(chunk)
                    if on_chunk is not None:
                        on_chunk(chunk)
            raw.flush()
            os.fsync(raw.fileno())
        os.chmod(tmp_name, 0o666 & ~_umask())
        os.replace(tmp_name, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise
    return written


@contextlib.contextmanager
def _maybe_gzip(raw: BinaryIO, compress: bool, name: str):
    if not compress:
        yield raw
        return
    # mtime=0 and the bare name keep the compressed bytes reproducible.
    inner = name[:-3] if name.lower().endswith(".gz") else name
    with gzip.GzipFile(filename=inner, mode="wb", fileobj=raw, mtime=0) as gz:
        yield gz


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
