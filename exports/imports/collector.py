"""Fewer cyclic garbage collections while an import runs, for processes that only import.

An import allocates a few container objects per value and keeps a batch of them alive, so at
Python's default first-generation threshold (700) the collector walks the live batch every
few rows: a sixth of the time of a million-row import. Reference counting still frees every
row as usual; only the search for cycles runs less often.

The threshold is process-wide, so :func:`fewer_collections` is for a process that does
nothing else meanwhile: ``manage.py importdata`` (and a worker running one import job). The
web process serving admin imports does not use it: raising the threshold there would delay
cycle collection for every request the process serves, for the length of an upload.
"""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Iterator

GC_THRESHOLD = 20_000
_gc_lock = threading.Lock()
_gc_users = 0
_gc_saved: tuple[int, int, int] | None = None


@contextlib.contextmanager
def fewer_collections() -> Iterator[None]:
    """Raise gc's first threshold to GC_THRESHOLD while at least one import runs."""
    global _gc_users, _gc_saved
    with _gc_lock:
        if _gc_users == 0:
            _gc_saved = gc.get_threshold()
            if _gc_saved[0] and _gc_saved[0] < GC_THRESHOLD:  # 0: the caller disabled it
                gc.set_threshold(GC_THRESHOLD, *_gc_saved[1:])
        _gc_users += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_users -= 1
            if _gc_users == 0 and _gc_saved is not None:
                gc.set_threshold(*_gc_saved)
                _gc_saved = None
